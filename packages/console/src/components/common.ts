// Small pieces shared by the views: status badges, copy buttons, data loading.
import { useCallback, useEffect, useRef, useState } from "preact/hooks"
import { html } from "../html.ts"

const tones: Record<string, string> = {
  ACTIVE: "good",
  SUCCEEDED: "good",
  COMPLETED: "good",
  UPLOADED: "neutral",
  CONFIGURED: "neutral",
  INACTIVE: "neutral",
  PENDING: "busy",
  RUNNING: "busy",
  IMPORTING: "busy",
  PAUSED: "neutral",
  CANCELLED: "neutral",
  FAILED: "bad",
  ERROR: "bad"
}

export const StatusBadge = ({ status }: { status: string }) =>
  html`<span class=${`badge ${tones[status] ?? "neutral"}`}>${status}</span>`

export const CopyButton = ({ text, label }: { text: string; label: string }) => {
  const [done, setDone] = useState<string | undefined>(undefined)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text)
      setDone("Copied")
    } catch {
      setDone("Copy failed: select the text and copy it")
    }
  }
  return html`<span class="copy">
    <button type="button" class="secondary" onClick=${copy}>${label}</button>
    <span role="status" class="muted">${done ?? ""}</span>
  </span>`
}

export interface Loaded<A> {
  readonly data: A | undefined
  readonly error: unknown
  readonly loading: boolean
  readonly reload: () => void
}

/** Runs `load` when `deps` change (and on reload); the last answer wins. */
export const useLoad = <A>(load: () => Promise<A>, deps: ReadonlyArray<unknown>): Loaded<A> => {
  const [state, setState] = useState<{ data: A | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true
  })
  const [tick, setTick] = useState(0)
  const latest = useRef(0)
  useEffect(() => {
    const call = ++latest.current
    setState((s) => ({ ...s, loading: true }))
    load().then(
      (data) => call === latest.current && setState({ data, error: undefined, loading: false }),
      (error: unknown) => call === latest.current && setState((s) => ({ data: s.data, error, loading: false }))
    )
  }, [...deps, tick])
  const reload = useCallback(() => setTick((t) => t + 1), [])
  return { ...state, reload }
}

/** Calls `tick` every `ms` while `active`, and once at once. */
export const usePolling = (active: boolean, ms: number, tick: () => void) => {
  const saved = useRef(tick)
  saved.current = tick
  useEffect(() => {
    if (!active) return
    const id = setInterval(() => saved.current(), ms)
    return () => clearInterval(id)
  }, [active, ms])
}
