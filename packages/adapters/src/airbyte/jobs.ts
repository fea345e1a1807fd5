import type { SyncStatus } from "@ingest/domain"

/** Airbyte's job status → ours. An `incomplete` job failed an attempt and will try again. */
export const syncStatusOf = (status: string): SyncStatus | undefined => {
  switch (status) {
    case "pending":
    case "queued":
    case "running":
    case "incomplete":
      return "RUNNING"
    case "succeeded":
      return "SUCCEEDED"
    case "failed":
      return "FAILED"
    case "cancelled":
      return "CANCELLED"
    default:
      return undefined
  }
}

const isoDuration = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/

/** ISO-8601 duration (`PT3M30S`, `P1DT2H`, `PT0.5S`) → milliseconds; null when not one. */
export const parseIsoDuration = (text: string): number | null => {
  if (text.length > 64) return null
  const match = isoDuration.exec(text.trim())
  if (match === null || text.trim() === "P" || text.trim().endsWith("T")) return null
  const [, weeks, days, hours, minutes, seconds] = match
  const n = (value: string | undefined) => (value === undefined ? 0 : Number(value))
  const ms = ((((n(weeks) * 7 + n(days)) * 24 + n(hours)) * 60 + n(minutes)) * 60 + n(seconds)) * 1000
  return Number.isFinite(ms) ? Math.round(ms) : null
}

/** A count Airbyte reports as int64 (a number, or digits when beyond 2^53); null otherwise. */
export const countOf = (value: unknown): number | null => {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value
  if (typeof value === "string" && /^\d{1,30}$/.test(value)) return Number(value)
  return null
}

/** The first user-facing failure message of the last attempt of a config-API `JobInfoRead`. */
export const failureReasonOf = (jobInfo: unknown): string | null => {
  const attempts = (jobInfo as { attempts?: unknown } | null)?.attempts
  if (!Array.isArray(attempts)) return null
  for (const info of [...attempts].reverse()) {
    const failures = (info as { attempt?: { failureSummary?: { failures?: unknown } } } | null)?.attempt?.failureSummary?.failures
    if (!Array.isArray(failures)) continue
    for (const failure of failures) {
      const reason = failure as { externalMessage?: unknown; internalMessage?: unknown } | null
      const message = typeof reason?.externalMessage === "string" && reason.externalMessage !== ""
        ? reason.externalMessage
        : typeof reason?.internalMessage === "string" && reason.internalMessage !== ""
        ? reason.internalMessage
        : undefined
      if (message !== undefined) return message.length > 1000 ? `${message.slice(0, 1000)}…` : message
    }
  }
  return null
}
