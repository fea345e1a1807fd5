// The next run times of a 5-field cron expression in UTC, computed with the same cron library
// (Effect's Cron) the service's scheduler uses, so the page and the scheduler agree.
import * as Cron from "effect/Cron"
import * as Result from "effect/Result"

export type NextRuns = { readonly ok: true; readonly times: ReadonlyArray<Date> } | { readonly ok: false; readonly reason: string }

export const nextRuns = (expression: string, count = 5, from = new Date()): NextRuns => {
  const fields = expression.trim().split(/\s+/)
  if (fields.length !== 5 || fields[0] === "") {
    return { ok: false, reason: "A schedule has 5 fields: minute hour day-of-month month day-of-week (UTC)" }
  }
  const parsed = Cron.parse(fields.join(" "), "UTC")
  if (Result.isFailure(parsed)) return { ok: false, reason: parsed.failure.message }
  try {
    const times: Array<Date> = []
    const sequence = Cron.sequence(parsed.success, from)
    for (const time of sequence) {
      times.push(time)
      if (times.length >= count) break
    }
    return { ok: true, times }
  } catch {
    return { ok: false, reason: "No date matches this schedule" }
  }
}
