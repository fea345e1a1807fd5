// A new connection for a discovered source: which streams, which sync mode (only those every
// chosen stream supports), and a cron schedule with its next five run times (UTC).
import { useState } from "preact/hooks"
import type { Client } from "../api/client.ts"
import type { Connection, DiscoveredStream, Source } from "../api/types.ts"
import { formatTime } from "../format.ts"
import { html } from "../html.ts"
import { nextRuns } from "../schedule.ts"
import { Problem } from "./problem.ts"

const allModes = ["FULL_REFRESH", "INCREMENTAL", "CDC"] as const
type Mode = (typeof allModes)[number]

export const ConnectionForm = ({ client, source, streams, onCreated }: {
  client: Client
  source: Source
  streams: ReadonlyArray<DiscoveredStream>
  onCreated: (connection: Connection) => void
}) => {
  const [name, setName] = useState(`${source.name}-sync`)
  const [allStreams, setAllStreams] = useState(false)
  const [picked, setPicked] = useState<ReadonlySet<string>>(() => new Set(streams.slice(0, 1).map((s) => s.name)))
  const [mode, setMode] = useState<Mode>("FULL_REFRESH")
  const [scheduled, setScheduled] = useState(false)
  const [cron, setCron] = useState("0 2 * * *")
  const [error, setError] = useState<unknown>(undefined)
  const [busy, setBusy] = useState(false)

  const chosen = allStreams ? streams : streams.filter((s) => picked.has(s.name))
  const modes = allModes.filter((m) => chosen.every((s) => s.supportedSyncModes.includes(m)))
  const effectiveMode = modes.includes(mode) ? mode : modes[0]
  const runs = scheduled ? nextRuns(cron) : undefined
  const problems = [
    ...(name.trim() === "" ? ["Name the connection."] : []),
    ...(chosen.length === 0 ? ["Choose at least one stream."] : []),
    ...(effectiveMode === undefined ? ["The chosen streams share no sync mode."] : []),
    ...(runs !== undefined && !runs.ok ? [`Schedule: ${runs.reason}`] : [])
  ]

  const toggle = (stream: string, on: boolean) =>
    setPicked((current) => {
      const next = new Set(current)
      if (on) next.add(stream)
      else next.delete(stream)
      return next
    })

  const submit = async (event: Event) => {
    event.preventDefault()
    if (problems.length > 0 || effectiveMode === undefined) return
    setBusy(true)
    setError(undefined)
    try {
      onCreated(await client.connections.create({
        sourceId: source.id,
        name: name.trim(),
        selectedStreams: allStreams ? null : chosen.map((s) => s.name),
        syncMode: effectiveMode,
        syncSchedule: scheduled ? cron.trim() : null
      }))
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }

  return html`<form class="card" onSubmit=${submit} aria-labelledby="connection-heading">
    <h3 id="connection-heading">New connection from ${source.name}</h3>
    <label for="connection-name">Connection name</label>
    <input id="connection-name" value=${name} autocomplete="off" onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} />
    <fieldset>
      <legend>Streams</legend>
      <label class="choice"><input type="checkbox" checked=${allStreams}
        onChange=${(e: Event) => setAllStreams((e.target as HTMLInputElement).checked)} /> All streams, including ones discovered later</label>
      ${streams.map((s) => html`<label class="choice"><input type="checkbox" name="stream" value=${s.name}
        checked=${allStreams || picked.has(s.name)} disabled=${allStreams}
        onChange=${(e: Event) => toggle(s.name, (e.target as HTMLInputElement).checked)} /> ${s.name}
        <span class="muted">(${s.columns.length} columns; ${s.supportedSyncModes.join(", ")})</span></label>`)}
    </fieldset>
    <label for="sync-mode">Sync mode</label>
    <select id="sync-mode" value=${effectiveMode ?? ""} onChange=${(e: Event) => setMode((e.target as HTMLSelectElement).value as Mode)}>
      ${modes.map((m) => html`<option value=${m}>${m}</option>`)}
    </select>
    <fieldset>
      <legend>Schedule</legend>
      <label class="choice"><input type="radio" name="schedule" checked=${!scheduled} onChange=${() => setScheduled(false)} /> Manual only</label>
      <label class="choice"><input type="radio" name="schedule" checked=${scheduled} onChange=${() => setScheduled(true)} /> On a cron schedule (UTC)</label>
      ${scheduled
        ? html`<label for="cron">Cron expression (minute hour day-of-month month day-of-week)</label>
          <input id="cron" value=${cron} spellcheck=${false} autocomplete="off" aria-describedby="cron-runs"
            onInput=${(e: Event) => setCron((e.target as HTMLInputElement).value)} />
          <div id="cron-runs" aria-live="polite">
            ${runs !== undefined && runs.ok
              ? html`<p>Next runs:</p><ol class="runs" data-testid="next-runs">${runs.times.map((t) => html`<li>${formatTime(t.toISOString())}</li>`)}</ol>`
              : null}
          </div>`
        : null}
    </fieldset>
    ${problems.length === 0 ? null : html`<ul class="problems" aria-label="Fix before creating">${problems.map((p) => html`<li>${p}</li>`)}</ul>`}
    <${Problem} error=${error} need="manage" action="create the connection" />
    <div class="actions"><button type="submit" disabled=${busy || problems.length > 0}>Create connection</button></div>
  </form>`
}
