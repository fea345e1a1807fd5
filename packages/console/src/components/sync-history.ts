// Sync runs, newest first and paged, with a small chart of records per run; a running sync is
// followed until it ends and can be cancelled.
import { useState } from "preact/hooks"
import type { Client } from "../api/client.ts"
import type { Sync } from "../api/types.ts"
import { formatBytes, formatCount, formatDuration, formatTime } from "../format.ts"
import { html } from "../html.ts"
import { StatusBadge, useLoad, usePolling } from "./common.ts"
import { Problem } from "./problem.ts"

const pageSize = 10
const active = (s: Sync) => s.status === "RUNNING" || s.status === "PENDING"

/** Records per run as bars, oldest on the left; the table below carries the same numbers. */
const RecordsChart = ({ runs }: { runs: ReadonlyArray<Sync> }) => {
  const shown = [...runs].reverse()
  const max = Math.max(1, ...shown.map((s) => s.recordsSynced ?? 0))
  const width = 24
  const gap = 6
  const height = 80
  const total = shown.length * (width + gap)
  const summary = shown.map((s) => `${formatTime(s.startedAt)}: ${formatCount(s.recordsSynced)} records`).join("; ")
  return html`<figure class="chart">
    <svg viewBox=${`0 0 ${Math.max(total, 1)} ${height + 2}`} width=${total} height=${height + 2} role="img"
      aria-label=${`Records per run, oldest first: ${summary}`}>
      ${shown.map((s, i) => {
        const h = Math.max(s.recordsSynced ? 2 : 0, Math.round(((s.recordsSynced ?? 0) / max) * height))
        return html`<rect x=${i * (width + gap)} y=${height - h} width=${width} height=${h} class=${`bar ${s.status.toLowerCase()}`}>
          <title>${formatTime(s.startedAt)}: ${formatCount(s.recordsSynced)} records (${s.status})</title>
        </rect>`
      })}
      <line x1="0" x2=${total} y1=${height + 1} y2=${height + 1} class="axis" />
    </svg>
    <figcaption>Records per run on this page, oldest on the left (largest: ${formatCount(max)})</figcaption>
  </figure>`
}

export const SyncHistory = ({ client, connectionId, refreshKey }: { client: Client; connectionId?: string | undefined; refreshKey?: number }) => {
  const [page, setPage] = useState(0)
  const history = useLoad(() => client.syncs.page({ connectionId, page, size: pageSize }), [connectionId, page, refreshKey])
  const [error, setError] = useState<unknown>(undefined)
  const runs = history.data?.content ?? []
  usePolling(runs.some(active), 1000, history.reload)

  const cancel = async (sync: Sync) => {
    setError(undefined)
    try {
      await client.syncs.cancel(sync.id)
    } catch (e) {
      setError(e)
    }
    history.reload()
  }

  return html`<div class="history">
    <${Problem} error=${history.error} action="load the sync history" />
    <${Problem} error=${error} need="manage" action="cancel the sync" />
    ${history.data === undefined
      ? html`<p role="status">Loading…</p>`
      : history.data.totalElements === 0
      ? html`<p>No syncs yet.</p>`
      : html`
        ${runs.length > 1 ? html`<${RecordsChart} runs=${runs} />` : null}
        <div class="scroll" role="region" aria-label="Sync history" tabindex="0"><table data-testid="sync-history">
          <caption>Runs ${page * pageSize + 1}–${page * pageSize + runs.length} of ${history.data.totalElements}, newest first</caption>
          <thead><tr>
            ${connectionId === undefined ? html`<th scope="col">Connection</th>` : null}
            <th scope="col">Started</th><th scope="col">Status</th><th scope="col">Records</th><th scope="col">Bytes</th>
            <th scope="col">Duration</th><th scope="col">Error</th><th scope="col"><span class="visually-hidden">Actions</span></th>
          </tr></thead>
          <tbody>${runs.map((s) => html`<tr>
            ${connectionId === undefined ? html`<td>${s.connectionName}</td>` : null}
            <td class="time">${formatTime(s.startedAt)}</td><td><${StatusBadge} status=${s.status} /></td>
            <td class="num">${formatCount(s.recordsSynced)}</td><td class="num">${formatBytes(s.bytesSynced)}</td>
            <td class="num">${formatDuration(s.durationMs)}</td><td class="error-text">${s.error ?? ""}</td>
            <td>${active(s) ? html`<button type="button" class="danger" onClick=${() => cancel(s)}>Cancel sync</button>` : null}</td>
          </tr>`)}</tbody>
        </table></div>
        <nav class="pager" aria-label="Sync history pages">
          <button type="button" class="secondary" disabled=${page === 0} onClick=${() => setPage(page - 1)}>Newer</button>
          <span>Page ${page + 1} of ${Math.max(1, history.data.totalPages)}</span>
          <button type="button" class="secondary" disabled=${page + 1 >= history.data.totalPages} onClick=${() => setPage(page + 1)}>Older</button>
        </nav>`}
  </div>`
}
