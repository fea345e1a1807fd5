// The file import wizard: choose or drop files (each uploads with progress) → the preview of the
// one selected → rename or drop columns → namespace and table (an existing table shows what an
// append adds and where types clash) → import with live progress → the result and a query snippet.
import { useContext, useEffect, useMemo, useRef, useState } from "preact/hooks"
import type { Client } from "../api/client.ts"
import { ApiError } from "../api/client.ts"
import type { IcebergTable, ImportStatus, Upload } from "../api/types.ts"
import { StatusBadge, useLoad, usePolling } from "../components/common.ts"
import { ColumnEditor, FileFacts, RowsGrid } from "../components/preview-grid.ts"
import { Problem } from "../components/problem.ts"
import { QuerySnippet } from "../components/query-snippet.ts"
import { SessionContext } from "../components/session-context.ts"
import { formatBytes, formatCount, formatDuration, formatPercent } from "../format.ts"
import { html } from "../html.ts"
import type { ColumnChoice } from "../schema-plan.ts"
import { appendPlan, mappingProblems, targetColumns } from "../schema-plan.ts"
import { sanitizeIdentifier } from "@ingest/domain/identifiers"

interface Item {
  readonly key: number
  readonly file: File
  readonly loaded: number
  readonly startedAt: number
  readonly bytesPerSecond: number
  readonly upload?: Upload
  readonly error?: unknown
}

const baseName = (name: string) => {
  const dot = name.lastIndexOf(".")
  return dot > 0 ? name.slice(0, dot) : name
}

/** At most this many uploads at once; the rest wait their turn. */
const parallelUploads = 2

export const ImportView = () => {
  const { client } = useContext(SessionContext)!
  const [items, setItems] = useState<Array<Item>>([])
  const [selected, setSelected] = useState<number | undefined>(undefined)
  const [dragging, setDragging] = useState(false)
  const nextKey = useRef(1)
  const queue = useRef<Array<Item>>([])
  const running = useRef(0)

  const patch = (key: number, change: Partial<Item>) => setItems((all) => all.map((i) => (i.key === key ? { ...i, ...change } : i)))

  const pump = () => {
    while (running.current < parallelUploads && queue.current.length > 0) {
      const item = queue.current.shift()!
      running.current++
      const startedAt = performance.now()
      patch(item.key, { startedAt })
      client.files.upload(item.file, ({ loaded }) => {
        const seconds = (performance.now() - startedAt) / 1000
        patch(item.key, { loaded, bytesPerSecond: seconds > 0 ? loaded / seconds : 0 })
      }).then(
        (upload) => {
          patch(item.key, { upload, loaded: item.file.size })
          setSelected((current) => current ?? item.key)
        },
        (error: unknown) => patch(item.key, { error })
      ).finally(() => {
        running.current--
        pump()
      })
    }
  }

  const add = (files: FileList | null) => {
    if (files === null || files.length === 0) return
    const added = [...files].map((file): Item => ({ key: nextKey.current++, file, loaded: 0, startedAt: 0, bytesPerSecond: 0 }))
    setItems((all) => [...all, ...added])
    queue.current.push(...added)
    pump()
  }

  const chosen = items.find((i) => i.key === selected && i.upload !== undefined)
  return html`<section aria-labelledby="import-heading">
    <h1 id="import-heading">Import files</h1>
    <p class="lede">Upload csv, xlsx, xls, parquet, json, jsonl or avro files; check how each was read; choose names and a table; import into Iceberg.</p>
    <div class=${`dropzone${dragging ? " dragging" : ""}`}
      onDragOver=${(e: DragEvent) => { e.preventDefault(); setDragging(true) }}
      onDragLeave=${() => setDragging(false)}
      onDrop=${(e: DragEvent) => { e.preventDefault(); setDragging(false); add(e.dataTransfer?.files ?? null) }}>
      <label for="file-input">Drop files here, or choose them</label>
      <input id="file-input" type="file" multiple aria-describedby="file-help"
        onChange=${(e: Event) => { const input = e.target as HTMLInputElement; add(input.files); input.value = "" }} />
      <p id="file-help" class="help">Each file is uploaded and profiled in full; the preview is ready when its upload ends.</p>
    </div>
    ${items.length === 0 ? null : html`<ul class="uploads" aria-label="Uploads">
      ${items.map((item) => html`<li class=${item.key === selected ? "selected" : ""}>
        <div class="upload-head">
          <span class="file-name">${item.file.name}</span>
          ${item.upload !== undefined
            ? html`<button type="button" class="secondary" aria-pressed=${item.key === selected}
                onClick=${() => setSelected(item.key)}>${item.key === selected ? "Shown below" : "Preview and import"}</button>`
            : null}
        </div>
        ${item.error !== undefined
          ? html`<${Problem} error=${item.error} need="manage" action=${`upload ${item.file.name}`} />`
          : html`<div class="progress-line">
            <progress max=${item.file.size || 1} value=${item.loaded} aria-label=${`Upload of ${item.file.name}`}></progress>
            <span>${item.upload !== undefined
              ? `Uploaded ${formatBytes(item.file.size)}: ${item.upload.fileFormat}`
              : item.startedAt === 0
              ? "Waiting"
              : item.loaded >= item.file.size
              ? `${formatBytes(item.file.size)} sent; profiling…`
              : `${formatBytes(item.loaded)} of ${formatBytes(item.file.size)}, ${formatPercent(item.loaded, item.file.size)}, ${formatBytes(item.bytesPerSecond)}/s`}</span>
          </div>`}
      </li>`)}
    </ul>`}
    ${chosen === undefined ? null : html`<${FileWizard} key=${chosen.key} client=${client} upload=${chosen.upload} />`}
  </section>`
}

type Phase =
  | { readonly kind: "configure" }
  | { readonly kind: "importing"; readonly since: number; readonly status?: ImportStatus }
  | { readonly kind: "done"; readonly status: ImportStatus; readonly took: number }

const FileWizard = ({ client, upload }: { client: Client; upload: Upload }) => {
  const preview = useLoad(() => client.files.preview(upload.id), [upload.id])
  const [choices, setChoices] = useState<Record<string, ColumnChoice>>({})
  const [namespace, setNamespace] = useState("default")
  const [table, setTable] = useState(() => sanitizeIdentifier(baseName(upload.fileName), "import"))
  const [phase, setPhase] = useState<Phase>({ kind: "configure" })
  const [error, setError] = useState<unknown>(undefined)
  const statusRef = useRef<HTMLDivElement>(null)

  const namespaces = useLoad(() => client.iceberg.namespaces().then((r) => r.namespaces.map((n) => n.join("."))), [])
  const ns = sanitizeIdentifier(namespace.trim() === "" ? "default" : namespace, "")
  const tables = useLoad<Array<string>>(
    () => ns === "" ? Promise.resolve([]) : client.iceberg.tables(ns).then((r) => r.identifiers.map((t) => t.name), (e: unknown) => {
      if (e instanceof ApiError && e.status === 404) return []
      throw e
    }),
    [ns]
  )
  const tableName = sanitizeIdentifier(table, "")
  const exists = tables.data?.includes(tableName) ?? false
  const existing = useLoad<IcebergTable | undefined>(
    () => exists ? client.iceberg.table(ns, tableName) : Promise.resolve(undefined),
    [exists, ns, tableName]
  )

  const targets = useMemo(() => preview.data === undefined ? [] : targetColumns(preview.data.columns, choices), [preview.data, choices])
  const problems = mappingProblems(targets)
  if (tableName === "") problems.push("Name the table.")
  if (ns === "") problems.push("Name the namespace.")
  const plan = exists && existing.data !== undefined ? appendPlan(existing.data, targets) : undefined

  usePolling(phase.kind === "importing", 500, () => {
    if (phase.kind !== "importing") return
    client.files.status(upload.id).then((status) => {
      if (status.status === "COMPLETED" || status.status === "FAILED") {
        setPhase({ kind: "done", status, took: performance.now() - phase.since })
      } else setPhase({ ...phase, status })
    }, setError)
  })
  useEffect(() => {
    if (phase.kind === "done") statusRef.current?.focus()
  }, [phase.kind])

  const run = async (event: Event) => {
    event.preventDefault()
    if (preview.data === undefined || problems.length > 0) return
    setError(undefined)
    const columnMappings: Record<string, string> = {}
    for (const t of targets) columnMappings[t.source] = t.name
    try {
      await client.files.updateSchema(upload.id, { targetTableName: tableName, targetSchema: ns, columnMappings, dropUnmapped: true })
      const since = performance.now()
      await client.files.execute(upload.id)
      setPhase({ kind: "importing", since })
    } catch (e) {
      setError(e)
    }
  }

  if (preview.error !== undefined) return html`<${Problem} error=${preview.error} action="load the preview" />`
  if (preview.data === undefined) return html`<p role="status">Loading the preview of ${upload.fileName}…</p>`
  const data = preview.data
  const locked = phase.kind !== "configure" && !(phase.kind === "done" && phase.status.status === "FAILED")
  return html`<form class="wizard" onSubmit=${run} aria-labelledby="wizard-heading">
    <h2 id="wizard-heading">${upload.fileName}</h2>
    <${FileFacts} preview=${data} fileFormat=${upload.fileFormat} />
    <h3>Columns</h3>
    <${ColumnEditor} preview=${data} choices=${choices} disabled=${locked}
      onChange=${(column: string, choice: ColumnChoice) => setChoices((all) => ({ ...all, [column]: choice }))} />
    <h3>First rows</h3>
    <${RowsGrid} preview=${data} />
    <h3>Target table</h3>
    <div class="target">
      <div class="field">
        <label for="namespace">Namespace</label>
        <input id="namespace" list="namespace-list" value=${namespace} disabled=${locked} spellcheck=${false} autocomplete="off"
          onInput=${(e: Event) => setNamespace((e.target as HTMLInputElement).value)} />
        <datalist id="namespace-list">${(namespaces.data ?? []).map((n) => html`<option value=${n}></option>`)}</datalist>
      </div>
      <div class="field">
        <label for="table">Table</label>
        <input id="table" list="table-list" value=${table} disabled=${locked} spellcheck=${false} autocomplete="off"
          onInput=${(e: Event) => setTable((e.target as HTMLInputElement).value)} />
        <datalist id="table-list">${(tables.data ?? []).map((t) => html`<option value=${t}></option>`)}</datalist>
      </div>
    </div>
    <${Problem} error=${namespaces.error ?? tables.error ?? existing.error} action="list the existing tables" />
    ${tables.data !== undefined && tables.data.length > 0
      ? html`<p class="help">Tables in ${ns}: ${tables.data.join(", ")}</p>`
      : null}
    <div class="plan" aria-live="polite" data-testid="append-plan">
      ${ns === "" || tableName === ""
        ? null
        : !exists
        ? html`<p>Creates the new table <code>${ns}.${tableName}</code> with ${targets.length} columns.</p>`
        : plan === undefined
        ? html`<p>Reading the table <code>${ns}.${tableName}</code>…</p>`
        : html`<p>Appends to the existing table <code>${ns}.${tableName}</code>: ${plan.matched} columns match${plan.missing.length > 0 ? `, ${plan.missing.length} table columns stay empty (${plan.missing.join(", ")})` : ""}.</p>
          ${plan.added.length === 0 ? null : html`<p>Adds ${plan.added.length} columns: ${plan.added.map((c) => html`<code>${c.name}</code> `)}</p>`}
          ${plan.clashes.length === 0 ? null : html`<div class="problem" role="alert"><p><strong>Types clash:</strong></p><ul>
            ${plan.clashes.map((c) => html`<li><code>${c.column.name}</code> is ${c.tableType} in the table but ${c.column.typing.type} in the file</li>`)}
          </ul><p>Rename these columns, leave them out, or choose another table.</p></div>`}`}
    </div>
    ${problems.length === 0 ? null : html`<ul class="problems" aria-label="Fix before importing">${problems.map((p) => html`<li>${p}</li>`)}</ul>`}
    <${Problem} error=${error} need="manage" action="import" />
    <div class="actions">
      <button type="submit" disabled=${locked || problems.length > 0 || (plan?.clashes.length ?? 0) > 0}>
        ${phase.kind === "done" && phase.status.status === "FAILED" ? "Import again" : "Import"}
      </button>
    </div>
    <div aria-live="polite">
      ${phase.kind === "importing" ? html`<${ImportProgress} status=${phase.status} />` : null}
    </div>
    ${phase.kind === "done"
      ? html`<div class=${`result ${phase.status.status === "COMPLETED" ? "good" : "bad"}`} tabindex="-1" ref=${statusRef} role="status" data-testid="import-result">
        <h3>Import <${StatusBadge} status=${phase.status.status} /></h3>
        ${phase.status.status === "COMPLETED"
          ? html`<dl class="facts">
              <dt>Records</dt><dd data-testid="records">${formatCount(phase.status.recordsImported)}</dd>
              <dt>Took</dt><dd>${formatDuration(phase.took)}</dd>
              <dt>Table</dt><dd><code>${phase.status.targetSchema}.${phase.status.targetTableName}</code> in the Iceberg catalog at <code>/api/v1/iceberg</code> (warehouse <code>${client.session.tenant}</code>)</dd>
            </dl>
            <${QuerySnippet} tenant=${client.session.tenant} namespace=${phase.status.targetSchema ?? ns} table=${phase.status.targetTableName ?? tableName} />`
          : html`<p class="problem">${phase.status.error ?? "The import failed"}</p>`}
      </div>`
      : null}
  </form>`
}

const ImportProgress = ({ status }: { status: ImportStatus | undefined }) => {
  const read = status?.bytesRead ?? 0
  const total = status?.totalBytes ?? 0
  return html`<div class="progress-line" role="status" data-testid="import-progress">
    <progress max=${total || 1} value=${read} aria-label="Import progress"></progress>
    <span>Importing: ${formatBytes(read)} of ${formatBytes(total)} read (${formatPercent(read, total)}), ${formatCount(status?.recordsImported ?? 0)} rows</span>
  </div>`
}
