import type { TableIdent } from "@ingest/domain"

// Where a tenant's tables go in the REST catalog. The service names a table by the tenant's root
// namespace (`t_<tenant id without dashes>`), the target schema and the table name; two
// templates place it in the company's catalog:
//   INGEST_CATALOG_WAREHOUSE  the warehouse asked for in /v1/config (default: none)
//   INGEST_CATALOG_NAMESPACE  the namespace, levels separated by "." (default `{tenant_ns}.{schema}`)
// with `{tenant}` (the tenant id), `{tenant_ns}` (its root namespace) and `{schema}` (the target
// schema). One warehouse per tenant: `INGEST_CATALOG_WAREHOUSE=lake_{tenant}` and
// `INGEST_CATALOG_NAMESPACE={schema}`.

export const defaultNamespaceTemplate = "{tenant_ns}.{schema}"

const placeholders = ["{tenant}", "{tenant_ns}", "{schema}"] as const
const tenantRoot = /^t_([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/

export interface Placement {
  /** The warehouse named to /v1/config; undefined: none. */
  readonly warehouse: string | undefined
  readonly namespace: ReadonlyArray<string>
  readonly name: string
}

export interface PlacementTemplates {
  readonly warehouse: string | undefined
  readonly namespace: string
}

/** Checks the templates at startup: only known placeholders, and a namespace that cannot come out empty. */
export const validateTemplates = (templates: PlacementTemplates): string | undefined => {
  for (const [what, template] of [["INGEST_CATALOG_WAREHOUSE", templates.warehouse], ["INGEST_CATALOG_NAMESPACE", templates.namespace]] as const) {
    if (template === undefined) continue
    const unknown = template.match(/\{[^}]*\}/g)?.find((p) => !(placeholders as ReadonlyArray<string>).includes(p))
    if (unknown !== undefined) return `${what}: unknown placeholder ${unknown} (use ${placeholders.join(", ")})`
  }
  return undefined
}

/** The catalog placement of a table the service names; an error message when it cannot be placed. */
export const placeTable = (templates: PlacementTemplates, table: TableIdent): Placement | string => {
  const root = table.namespace[0]
  if (root === undefined) return `table ${table.name} has no namespace`
  const match = tenantRoot.exec(root)
  const tenant = match === null ? undefined : match.slice(1, 6).join("-")
  const schema = table.namespace.slice(1).join(".")
  const fill = (template: string): string | undefined => {
    if (template.includes("{tenant}") && tenant === undefined) return undefined
    return template.replaceAll("{tenant_ns}", root).replaceAll("{tenant}", tenant ?? "").replaceAll("{schema}", schema)
  }
  const warehouse = templates.warehouse === undefined ? undefined : fill(templates.warehouse)
  const namespace = fill(templates.namespace)
  const levels = namespace?.split(".").filter((level) => level !== "") ?? []
  if ((templates.warehouse !== undefined && (warehouse === undefined || warehouse === "")) || levels.length === 0) {
    return `table ${[...table.namespace, table.name].join(".")} does not fit the catalog placement templates`
  }
  return { warehouse, namespace: levels, name: table.name }
}
