import { unixCronToQuartz } from "@ingest/adapters/airbyte/cron"
import { describe, expect, it } from "vitest"

const quartz = (expression: string) => {
  const result = unixCronToQuartz(expression)
  if (!result.ok) throw new Error(`expected "${expression}" to convert, got: ${result.reason}`)
  return result.quartz
}

const refusal = (expression: string) => {
  const result = unixCronToQuartz(expression)
  if (result.ok) throw new Error(`expected "${expression}" to be refused, got ${result.quartz}`)
  return result.reason
}

describe("Unix cron → Airbyte Quartz cron", () => {
  it("adds a seconds field and puts ? in day-of-week when both day fields are *", () => {
    expect(quartz("0 0 * * *")).toBe("0 0 0 * * ?")
    expect(quartz("30 6 * * *")).toBe("0 30 6 * * ?")
    expect(quartz("15 * * * *")).toBe("0 15 * * * ?")
  })

  it("keeps hour lists, ranges and steps", () => {
    expect(quartz("0 */2 * * *")).toBe("0 0 */2 * * ?")
    expect(quartz("5 1,13 * * *")).toBe("0 5 1,13 * * ?")
    expect(quartz("0 8-18/2 * * *")).toBe("0 0 8-18/2 * * ?")
  })

  it("puts ? in day-of-week when only day-of-month is restricted", () => {
    expect(quartz("0 3 1 * *")).toBe("0 0 3 1 * ?")
    expect(quartz("0 3 1,15 * *")).toBe("0 0 3 1,15 * ?")
    expect(quartz("0 3 1 1 *")).toBe("0 0 3 1 1 ?")
  })

  it("puts ? in day-of-month and converts day-of-week numbering to names", () => {
    // Unix 1-5 is Monday to Friday; Quartz would number them 2-6.
    expect(quartz("0 9 * * 1-5")).toBe("0 0 9 ? * MON-FRI")
    expect(quartz("0 9 * * 0")).toBe("0 0 9 ? * SUN")
    expect(quartz("0 9 * * 7")).toBe("0 0 9 ? * SUN")
    expect(quartz("0 9 * * 6")).toBe("0 0 9 ? * SAT")
    expect(quartz("0 9 * * 0,6")).toBe("0 0 9 ? * SUN,SAT")
    expect(quartz("0 9 * * 1,3,5")).toBe("0 0 9 ? * MON,WED,FRI")
  })

  it("handles ranges that end on Sunday as 7 and names in any case", () => {
    expect(quartz("0 9 * * 5-7")).toBe("0 0 9 ? * SUN,FRI,SAT")
    expect(quartz("0 9 * * mon-wed")).toBe("0 0 9 ? * MON-WED")
    expect(quartz("0 9 * * */2")).toBe("0 0 9 ? * SUN,TUE,THU,SAT")
    expect(quartz("0 9 * jan-mar 1")).toBe("0 0 9 ? JAN-MAR MON")
  })

  it("treats a day-of-week that covers every day as unrestricted", () => {
    expect(quartz("0 9 * * 0-6")).toBe("0 0 9 * * ?")
    expect(quartz("0 9 * * 1-7")).toBe("0 0 9 * * ?")
  })

  it("refuses schedules that run more than once an hour", () => {
    expect(refusal("* * * * *")).toMatch(/60 times an hour/)
    expect(refusal("*/15 * * * *")).toMatch(/4 times an hour/)
    expect(refusal("0,30 * * * *")).toMatch(/2 times an hour/)
    expect(refusal("0-5 3 * * *")).toMatch(/at most once an hour/)
  })

  it("refuses both day fields restricted (Unix means either, Quartz cannot say that)", () => {
    expect(refusal("0 0 1 * 1")).toMatch(/both day-of-month and day-of-week/)
  })

  it("refuses malformed fields with a reason naming the field", () => {
    expect(refusal("0 24 * * *")).toMatch(/hour value 24/)
    expect(refusal("60 * * * *")).toMatch(/minute value 60/)
    expect(refusal("0 0 0 * *")).toMatch(/day-of-month value 0/)
    expect(refusal("0 0 * 13 *")).toMatch(/month value 13/)
    expect(refusal("0 0 * * 8")).toMatch(/day-of-week value 8/)
    expect(refusal("0 0 * * funday")).toMatch(/day-of-week value "funday"/)
    expect(refusal("0 5-1 * * *")).toMatch(/runs backwards/)
    expect(refusal("0 */0 * * *")).toMatch(/step/)
    expect(refusal("0 0 * *")).toMatch(/5-field/)
    expect(refusal("0 0 0 * * ?")).toMatch(/5-field/)
    expect(refusal("0 0 L * *")).toMatch(/day-of-month/)
  })
})
