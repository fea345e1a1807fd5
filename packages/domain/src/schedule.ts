import { Cron, DateTime, Result } from "effect"
import { Invalid } from "./errors.ts"

/**
 * Parses a 5-field Unix cron expression (minute hour day-of-month month day-of-week),
 * evaluated in UTC. Six-field (seconds) and Quartz forms are refused: the API speaks Unix cron.
 */
export const parseSchedule = (expression: string): Result.Result<Cron.Cron, Invalid> => {
  const fields = expression.trim().split(/\s+/)
  if (fields.length !== 5) {
    return Result.fail(
      new Invalid({
        field: "syncSchedule",
        reason: `syncSchedule must be a 5-field cron expression (minute hour day-of-month month day-of-week), got "${expression}"`
      })
    )
  }
  const parsed = Cron.parse(fields.join(" "), "UTC")
  if (Result.isFailure(parsed)) {
    return Result.fail(new Invalid({ field: "syncSchedule", reason: `Invalid cron expression "${expression}": ${parsed.failure.message}` }))
  }
  // Each field can be valid while no date matches them all (February 30th); Cron.next throws then.
  try {
    Cron.next(parsed.success, 0)
  } catch {
    return Result.fail(new Invalid({ field: "syncSchedule", reason: `syncSchedule "${expression}" never runs: no date matches it` }))
  }
  return Result.succeed(parsed.success)
}

/** The first due time strictly after `after`. */
export const nextRun = (cron: Cron.Cron, after: DateTime.Utc): DateTime.Utc =>
  DateTime.makeUnsafe(Cron.next(cron, DateTime.toDate(after)))
