// Sources: the list; a new source (connector type, a JSON editor for connectionConfig whose
// secrets are masked once saved); for the chosen source: test the connection, discover its
// streams, and create a connection from them.
import { useContext, useState } from "preact/hooks"
import type { Client } from "../api/client.ts"
import type { Discovery, Source } from "../api/types.ts"
import { StatusBadge, useLoad } from "../components/common.ts"
import { ConnectionForm } from "../components/connection-form.ts"
import { Problem } from "../components/problem.ts"
import { SessionContext } from "../components/session-context.ts"
import { formatTime } from "../format.ts"
import { html } from "../html.ts"
import { navigate } from "../router.ts"

const templates: Record<string, Record<string, unknown>> = {
  postgres: { host: "127.0.0.1", port: 5432, database: "", username: "", password: "", ssl_mode: "prefer" },
  s3: { bucket: "", path_pattern: "**/*.csv", region: "", aws_access_key_id: "", aws_secret_access_key: "" }
}

const secretKey = /pass|secret|token|key|credential|private/i

/** The config as saved, with the value of every secret-looking key replaced. */
export const maskSecrets = (value: unknown, key = ""): unknown => {
  if (secretKey.test(key) && value !== null && typeof value !== "object") return "********"
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, key))
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]))
  }
  return value
}

type Parsed = { ok: true; value: Record<string, unknown> } | { ok: false; reason: string }

const parseConfig = (text: string): Parsed => {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, reason: "connectionConfig must be a JSON object" }
    return { ok: true, value: value as Record<string, unknown> }
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : "Invalid JSON" }
  }
}

export const SourcesView = () => {
  const { client } = useContext(SessionContext)!
  const sources = useLoad(() => client.sources.list(), [])
  const [selected, setSelected] = useState<string | undefined>(undefined)
  const [saved, setSaved] = useState<{ id: string; masked: string } | undefined>(undefined)
  const source = sources.data?.find((s) => s.id === selected)
  return html`<section aria-labelledby="sources-heading">
    <h1 id="sources-heading">Sources</h1>
    <p class="lede">External systems to sync from. Test a source, discover its streams, then create a connection.</p>
    <${Problem} error=${sources.error} action="list the sources" />
    ${sources.data === undefined
      ? html`<p role="status">Loading…</p>`
      : sources.data.length === 0
      ? html`<p>No sources yet.</p>`
      : html`<div class="scroll" role="region" aria-label="Sources" tabindex="0"><table>
        <caption class="visually-hidden">Sources</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Last tested</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>${sources.data.map((s) => html`<tr class=${s.id === selected ? "selected" : ""}>
          <th scope="row">${s.name}</th><td>${s.connectorType}</td><td><${StatusBadge} status=${s.status} /></td>
          <td>${formatTime(s.lastTestedAt)}</td>
          <td><button type="button" class="secondary" aria-pressed=${s.id === selected} onClick=${() => setSelected(s.id)}>Open ${s.name}</button></td>
        </tr>`)}</tbody>
      </table></div>`}
    ${source === undefined
      ? null
      : html`<${SourceDetail} key=${source.id} client=${client} source=${source} masked=${saved?.id === source.id ? saved.masked : undefined}
        onChange=${sources.reload} />`}
    <${NewSource} client=${client} onCreated=${(s: Source, masked: string) => {
      setSaved({ id: s.id, masked })
      setSelected(s.id)
      sources.reload()
    }} />
  </section>`
}

const NewSource = ({ client, onCreated }: { client: Client; onCreated: (source: Source, masked: string) => void }) => {
  const types = useLoad(() => client.connectorTypes(), [])
  const [name, setName] = useState("")
  const [description, setDescription] = useState("")
  const [type, setType] = useState("postgres")
  const [config, setConfig] = useState(() => JSON.stringify(templates["postgres"], null, 2))
  const [touched, setTouched] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const [busy, setBusy] = useState(false)
  const parsed = parseConfig(config)

  const chooseType = (next: string) => {
    setType(next)
    if (!touched) setConfig(JSON.stringify(templates[next] ?? {}, null, 2))
  }

  const submit = async (event: Event) => {
    event.preventDefault()
    if (!parsed.ok || name.trim() === "") return
    setBusy(true)
    setError(undefined)
    try {
      const created = await client.sources.create({
        name: name.trim(),
        description: description.trim() === "" ? null : description.trim(),
        connectorType: type,
        connectionConfig: parsed.value
      })
      const masked = JSON.stringify(maskSecrets(parsed.value), null, 2)
      setName("")
      setDescription("")
      setTouched(false)
      setConfig(JSON.stringify(templates[type] ?? {}, null, 2))
      onCreated(created, masked)
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }

  return html`<form class="card" onSubmit=${submit} aria-labelledby="new-source-heading">
    <h2 id="new-source-heading">New source</h2>
    <div class="target">
      <div class="field">
        <label for="source-name">Name</label>
        <input id="source-name" value=${name} required autocomplete="off" onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} />
      </div>
      <div class="field">
        <label for="source-type">Connector type</label>
        <select id="source-type" value=${type} onChange=${(e: Event) => chooseType((e.target as HTMLSelectElement).value)}>
          ${(types.data ?? ["postgres", "s3"]).map((t) => html`<option value=${t}>${t}</option>`)}
        </select>
      </div>
    </div>
    <label for="source-description">Description (optional)</label>
    <input id="source-description" value=${description} autocomplete="off" onInput=${(e: Event) => setDescription((e.target as HTMLInputElement).value)} />
    <label for="source-config">Connection configuration (JSON)</label>
    <textarea id="source-config" class="code" rows="10" spellcheck=${false} autocomplete="off" aria-describedby="config-help config-check"
      aria-invalid=${!parsed.ok} value=${config}
      onInput=${(e: Event) => { setTouched(true); setConfig((e.target as HTMLTextAreaElement).value) }}></textarea>
    <p id="config-help" class="help">Stored encrypted. Passwords and keys are never shown again once saved.</p>
    <p id="config-check" class=${parsed.ok ? "help" : "problem-inline"} aria-live="polite">${parsed.ok ? "Valid JSON" : `Not valid yet: ${parsed.reason}`}</p>
    <${Problem} error=${error} need="manage" action="create the source" />
    <div class="actions"><button type="submit" disabled=${busy || !parsed.ok || name.trim() === ""}>Create source</button></div>
  </form>`
}

const SourceDetail = ({ client, source, masked, onChange }: { client: Client; source: Source; masked: string | undefined; onChange: () => void }) => {
  const [busy, setBusy] = useState<"test" | "discover" | undefined>(undefined)
  const [error, setError] = useState<{ error: unknown; action: string } | undefined>(undefined)
  const [tested, setTested] = useState<Source | undefined>(undefined)
  const [discovery, setDiscovery] = useState<Discovery | undefined>(undefined)
  const current = tested ?? source

  const act = async (kind: "test" | "discover") => {
    setBusy(kind)
    setError(undefined)
    try {
      if (kind === "test") {
        setTested(await client.sources.test(source.id))
        onChange()
      } else setDiscovery(await client.sources.discover(source.id))
    } catch (e) {
      setError({ error: e, action: kind === "test" ? "test the connection" : "discover the streams" })
    } finally {
      setBusy(undefined)
    }
  }

  return html`<section class="card" aria-labelledby="source-heading">
    <h2 id="source-heading">${current.name}</h2>
    <dl class="facts">
      <dt>Type</dt><dd>${current.connectorType}</dd>
      <dt>Status</dt><dd data-testid="source-status"><${StatusBadge} status=${current.status} /></dd>
      <dt>Last tested</dt><dd>${formatTime(current.lastTestedAt)}</dd>
      ${current.lastError === null || current.lastError === undefined ? null : html`<dt>Error</dt><dd class="problem-inline">${current.lastError}</dd>`}
      ${current.description === null ? null : html`<dt>Description</dt><dd>${current.description}</dd>`}
    </dl>
    ${masked === undefined ? null : html`<details><summary>Saved configuration (secrets masked)</summary><pre tabindex="0">${masked}</pre></details>`}
    <div class="actions">
      <button type="button" onClick=${() => act("test")} disabled=${busy !== undefined}>${busy === "test" ? "Testing…" : "Test connection"}</button>
      <button type="button" onClick=${() => act("discover")} disabled=${busy !== undefined}>${busy === "discover" ? "Discovering…" : "Discover streams"}</button>
    </div>
    <div aria-live="polite">${tested === undefined ? null : html`<p role="status">Test finished: ${tested.status}${tested.lastError ? ` (${tested.lastError})` : ""}.</p>`}</div>
    <${Problem} error=${error?.error} need="manage" action=${error?.action} />
    ${discovery === undefined
      ? null
      : html`<h3>Streams (${discovery.streams.length})</h3>
        <div class="streams">${discovery.streams.map((s) => html`<details>
          <summary>${s.name} <span class="muted">${s.columns.length} columns; ${s.supportedSyncModes.join(", ")}</span></summary>
          <div class="scroll" role="region" aria-label=${`Columns of ${s.name}`} tabindex="0"><table>
            <thead><tr><th scope="col">Column</th><th scope="col">Type</th><th scope="col">Nulls</th></tr></thead>
            <tbody>${s.columns.map((c) => html`<tr><th scope="row">${c.name}</th><td>${c.type}</td><td>${c.nullable ? "nullable" : "required"}</td></tr>`)}</tbody>
          </table></div>
        </details>`)}</div>
        ${discovery.streams.length === 0
          ? null
          : html`<${ConnectionForm} client=${client} source=${current} streams=${discovery.streams}
            onCreated=${(c: { id: string }) => navigate("connections", c.id)} />`}`}
  </section>`
}
