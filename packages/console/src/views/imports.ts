// The history of file imports: newest first, with status, target table, records and errors.
import { useContext, useState } from "preact/hooks"
import { StatusBadge, useLoad, usePolling } from "../components/common.ts"
import { Problem } from "../components/problem.ts"
import { SessionContext } from "../components/session-context.ts"
import { formatBytes, formatCount, formatTime } from "../format.ts"
import { html } from "../html.ts"
import { hrefOf, onLinkClick } from "../router.ts"

const pageSize = 20

export const ImportsView = () => {
  const { client } = useContext(SessionContext)!
  const [page, setPage] = useState(0)
  const imports = useLoad(() => client.files.page({ page, size: pageSize }), [page])
  const rows = imports.data?.content ?? []
  usePolling(rows.some((r) => r.status === "IMPORTING"), 1000, imports.reload)
  return html`<section aria-labelledby="imports-heading">
    <h1 id="imports-heading">Import history</h1>
    <p class="lede">Every uploaded file of this tenant, newest first. <a href=${hrefOf("import")} onClick=${onLinkClick("import")}>Import more files</a>.</p>
    <${Problem} error=${imports.error} action="load the import history" />
    ${imports.data === undefined
      ? html`<p role="status">Loading…</p>`
      : imports.data.totalElements === 0
      ? html`<p>No files uploaded yet.</p>`
      : html`<div class="scroll" role="region" aria-label="Import history" tabindex="0"><table data-testid="import-history">
          <caption>Files ${page * pageSize + 1}–${page * pageSize + rows.length} of ${imports.data.totalElements}</caption>
          <thead><tr><th scope="col">File</th><th scope="col">Uploaded</th><th scope="col">Status</th><th scope="col">Table</th>
            <th scope="col">Records</th><th scope="col">Completed</th><th scope="col">Error</th></tr></thead>
          <tbody>${rows.map((r) => html`<tr>
            <th scope="row">${r.fileName} <span class="muted">${r.fileFormat}, ${formatBytes(r.fileSize)}</span></th>
            <td class="time">${formatTime(r.createdAt)}</td><td><${StatusBadge} status=${r.status} /></td>
            <td>${r.targetTableName === null ? "—" : html`<code>${r.targetSchema ?? "default"}.${r.targetTableName}</code>`}</td>
            <td class="num">${formatCount(r.recordsImported)}</td><td class="time">${formatTime(r.completedAt)}</td>
            <td class="error-text">${r.error ?? ""}</td>
          </tr>`)}</tbody>
        </table></div>
        <nav class="pager" aria-label="Import history pages">
          <button type="button" class="secondary" disabled=${page === 0} onClick=${() => setPage(page - 1)}>Newer</button>
          <span>Page ${page + 1} of ${Math.max(1, imports.data.totalPages)}</span>
          <button type="button" class="secondary" disabled=${page + 1 >= imports.data.totalPages} onClick=${() => setPage(page + 1)}>Older</button>
        </nav>`}
  </section>`
}
