import { describe, expect, it } from "@effect/vitest"
import { nextRun, parseSchedule } from "@ingest/domain"
import { DateTime, Result } from "effect"

const next = (expression: string, after: string) => {
  const parsed = parseSchedule(expression)
  if (Result.isFailure(parsed)) throw new Error(parsed.failure.reason)
  return DateTime.formatIso(nextRun(parsed.success, DateTime.makeUnsafe(after)))
}

const refusal = (expression: string) => {
  const parsed = parseSchedule(expression)
  if (Result.isSuccess(parsed)) throw new Error(`"${expression}" was accepted`)
  return parsed.failure
}

describe("parseSchedule", () => {
  it("accepts 5-field Unix cron, with extra blanks around and between fields", () => {
    for (const expression of ["0 * * * *", "*/15 9-17 * * 1-5", "30 2 1 1,7 *", "0 12 * * MON", "  0   *  * * *  "]) {
      expect(Result.isSuccess(parseSchedule(expression)), expression).toBe(true)
    }
  })

  it("refuses other field counts (seconds, Quartz) as Invalid on syncSchedule", () => {
    for (const expression of ["0 0 * * * *", "0 0 12 * * ? 2024", "* * * *", "garbage", ""]) {
      const error = refusal(expression)
      expect(error._tag).toBe("Invalid")
      expect(error.field).toBe("syncSchedule")
      expect(error.reason).toContain("5-field")
    }
  })

  it("refuses bad field values with the parser's reason", () => {
    expect(refusal("61 * * * *").reason).toMatch(/Invalid cron expression "61 \* \* \* \*": .*0 and 59/)
    expect(refusal("a b c d e").field).toBe("syncSchedule")
    expect(refusal("0 25 * * *").field).toBe("syncSchedule")
    expect(refusal("0 0 0 * *").field).toBe("syncSchedule")
  })

  it("refuses a schedule no date matches instead of failing later", () => {
    expect(refusal("0 0 30 2 *").reason).toContain("never runs")
    expect(refusal("0 0 31 4 *").reason).toContain("never runs")
    // February 29th does come, every four years
    expect(next("0 0 29 2 *", "2024-03-01T00:00:00Z")).toBe("2028-02-29T00:00:00.000Z")
  })
})

describe("nextRun", () => {
  it("is strictly after the given time, in UTC", () => {
    expect(next("0 * * * *", "2024-03-10T10:00:00.000Z")).toBe("2024-03-10T11:00:00.000Z")
    expect(next("0 * * * *", "2024-03-10T09:59:59.999Z")).toBe("2024-03-10T10:00:00.000Z")
    expect(next("0 * * * *", "2024-03-10T10:00:00.001Z")).toBe("2024-03-10T11:00:00.000Z")
    expect(next("30 2 * * *", "2024-03-10T10:00:00Z")).toBe("2024-03-11T02:30:00.000Z")
  })

  it("crosses days, months and years", () => {
    expect(next("0 0 1 1 *", "2024-12-31T23:59:00Z")).toBe("2025-01-01T00:00:00.000Z")
    expect(next("0 0 31 * *", "2024-04-01T00:00:00Z")).toBe("2024-05-31T00:00:00.000Z")
    // 2024-03-09 is a Saturday: the next weekday slot is Monday midnight
    expect(next("*/15 * * * 1-5", "2024-03-09T10:07:00Z")).toBe("2024-03-11T00:00:00.000Z")
    expect(next("*/15 * * * 1-5", "2024-03-11T10:07:00Z")).toBe("2024-03-11T10:15:00.000Z")
  })

  it("does not follow daylight saving time (02:30 exists every day in UTC)", () => {
    // 2024-03-31 is the switch to summer time in Europe, 2024-03-10 in the US
    expect(next("30 2 * * *", "2024-03-31T00:00:00Z")).toBe("2024-03-31T02:30:00.000Z")
    expect(next("30 2 * * *", "2024-03-10T00:00:00Z")).toBe("2024-03-10T02:30:00.000Z")
  })
})
