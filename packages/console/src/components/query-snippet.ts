// How to query an imported table from outside: the service's Iceberg REST catalog at
// /api/v1/iceberg, with the same token and the tenant as the warehouse.
import { useState } from "preact/hooks"
import { html } from "../html.ts"
import { CopyButton } from "./common.ts"

const snippets = (endpoint: string, tenant: string, namespace: string, table: string) => ({
  DuckDB: [
    "INSTALL iceberg; LOAD iceberg;",
    "CREATE SECRET ingest_token (TYPE iceberg, TOKEN '<your token>');",
    `ATTACH '${tenant}' AS lake (TYPE iceberg, ENDPOINT '${endpoint}',`,
    "                           SECRET ingest_token, ACCESS_DELEGATION_MODE 'none');",
    `SELECT * FROM lake.${namespace}.${table} LIMIT 10;`
  ].join("\n"),
  PyIceberg: [
    "import os",
    "from pyiceberg.catalog import load_catalog",
    "",
    `catalog = load_catalog("ingest", type="rest", uri="${endpoint}",`,
    `                       warehouse="${tenant}", token=os.environ["INGEST_TOKEN"])`,
    `print(catalog.load_table("${namespace}.${table}").scan(limit=10).to_arrow())`
  ].join("\n")
})

export const QuerySnippet = ({ tenant, namespace, table }: { tenant: string; namespace: string; table: string }) => {
  const endpoint = `${location.origin}/api/v1/iceberg`
  const all = snippets(endpoint, tenant, namespace, table)
  const [engine, setEngine] = useState<keyof typeof all>("DuckDB")
  return html`<div class="snippet">
    <fieldset class="inline">
      <legend>Query it with</legend>
      ${(Object.keys(all) as Array<keyof typeof all>).map((name) => html`<label class="choice">
        <input type="radio" name="snippet-engine" value=${name} checked=${engine === name} onChange=${() => setEngine(name)} /> ${name}
      </label>`)}
    </fieldset>
    <pre tabindex="0" aria-label=${`${engine} snippet`}><code>${all[engine]}</code></pre>
    <${CopyButton} text=${all[engine]} label=${`Copy ${engine} snippet`} />
  </div>`
}
