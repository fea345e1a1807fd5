// Connections: the list, and for the chosen one its settings, a trigger button and its syncs.
import { useContext, useState } from "preact/hooks"
import type { Client } from "../api/client.ts"
import type { Connection } from "../api/types.ts"
import { StatusBadge, useLoad } from "../components/common.ts"
import { Problem } from "../components/problem.ts"
import { SessionContext } from "../components/session-context.ts"
import { SyncHistory } from "../components/sync-history.ts"
import { formatTime } from "../format.ts"
import { html } from "../html.ts"
import { hrefOf, idInAddress, onLinkClick } from "../router.ts"
import { nextRuns } from "../schedule.ts"

export const ConnectionsView = () => {
  const { client } = useContext(SessionContext)!
  const connections = useLoad(() => client.connections.list(), [])
  const [selected, setSelected] = useState<string | undefined>(idInAddress)
  const connection = connections.data?.find((c) => c.id === selected)
  return html`<section aria-labelledby="connections-heading">
    <h1 id="connections-heading">Connections</h1>
    <p class="lede">Which streams of a source go to Iceberg, how, and when. Create one from a discovered <a href=${hrefOf("sources")} onClick=${onLinkClick("sources")}>source</a>.</p>
    <${Problem} error=${connections.error} action="list the connections" />
    ${connections.data === undefined
      ? html`<p role="status">Loading…</p>`
      : connections.data.length === 0
      ? html`<p>No connections yet.</p>`
      : html`<div class="scroll" role="region" aria-label="Connections" tabindex="0"><table>
        <caption class="visually-hidden">Connections</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Source</th><th scope="col">Mode</th><th scope="col">Schedule</th>
          <th scope="col">Status</th><th scope="col">Last sync</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>${connections.data.map((c) => html`<tr class=${c.id === selected ? "selected" : ""}>
          <th scope="row">${c.name}</th><td>${c.sourceName}</td><td>${c.syncMode}</td><td><code>${c.syncSchedule ?? "manual"}</code></td>
          <td><${StatusBadge} status=${c.status} /></td><td>${formatTime(c.lastSyncAt)}</td>
          <td><button type="button" class="secondary" aria-pressed=${c.id === selected} onClick=${() => setSelected(c.id)}>Open ${c.name}</button></td>
        </tr>`)}</tbody>
      </table></div>`}
    ${connection === undefined ? null : html`<${ConnectionDetail} key=${connection.id} client=${client} connection=${connection} onChange=${connections.reload} />`}
  </section>`
}

const ConnectionDetail = ({ client, connection, onChange }: { client: Client; connection: Connection; onChange: () => void }) => {
  const [error, setError] = useState<unknown>(undefined)
  const [busy, setBusy] = useState(false)
  const [refresh, setRefresh] = useState(0)
  const runs = connection.syncSchedule === null ? undefined : nextRuns(connection.syncSchedule)

  const trigger = async () => {
    setBusy(true)
    setError(undefined)
    try {
      await client.syncs.trigger(connection.id)
      onChange()
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
      setRefresh((n) => n + 1)
    }
  }

  return html`<section class="card" aria-labelledby="connection-detail-heading">
    <h2 id="connection-detail-heading">${connection.name}</h2>
    <dl class="facts">
      <dt>Source</dt><dd>${connection.sourceName}</dd>
      <dt>Streams</dt><dd>${connection.selectedStreams === null ? "all discovered streams" : connection.selectedStreams.join(", ")}</dd>
      <dt>Sync mode</dt><dd>${connection.syncMode}</dd>
      <dt>Status</dt><dd><${StatusBadge} status=${connection.status} /></dd>
      <dt>Schedule</dt><dd>${connection.syncSchedule === null ? "manual only" : html`<code>${connection.syncSchedule}</code> (UTC)`}</dd>
      ${runs !== undefined && runs.ok
        ? html`<dt>Next runs</dt><dd><ol class="runs">${runs.times.map((t) => html`<li>${formatTime(t.toISOString())}</li>`)}</ol></dd>`
        : null}
    </dl>
    <div class="actions"><button type="button" onClick=${trigger} disabled=${busy}>${busy ? "Starting…" : "Trigger sync"}</button></div>
    <${Problem} error=${error} need="manage" action="trigger a sync" />
    <h3>Syncs</h3>
    <${SyncHistory} client=${client} connectionId=${connection.id} refreshKey=${refresh} />
  </section>`
}

export const SyncsView = () => {
  const { client } = useContext(SessionContext)!
  return html`<section aria-labelledby="syncs-heading">
    <h1 id="syncs-heading">Syncs</h1>
    <p class="lede">Every sync run of every connection, newest first.</p>
    <${SyncHistory} client=${client} />
  </section>`
}
