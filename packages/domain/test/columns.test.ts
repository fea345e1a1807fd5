import { describe, expect, it } from "@effect/vitest"
import { isIdentifier, sanitizeIdentifier, uniqueIdentifiers } from "@ingest/domain"

describe("sanitizeIdentifier", () => {
  it.each([
    ["Order ID", "order_id"],
    ["  Total Amount (EUR)  ", "total_amount_eur"],
    ["__proto__", "__proto__"],
    ["_id", "_id"],
    ["Crème Brûlée", "creme_brulee"],
    ["Ärger über Öl", "arger_uber_ol"],
    ["1st place", "_1st_place"],
    ["2024", "_2024"],
    ["a--b..c", "a_b_c"],
    ["UPPER_case", "upper_case"],
    ["first_name", "first_name"],
    ["e-mail!", "e_mail"]
  ])("%j → %j", (label, expected) => {
    expect(sanitizeIdentifier(label)).toBe(expected)
    expect(isIdentifier(sanitizeIdentifier(label))).toBe(true)
  })

  it("falls back when nothing is left", () => {
    expect(sanitizeIdentifier("")).toBe("column")
    expect(sanitizeIdentifier("!!!")).toBe("column")
    expect(sanitizeIdentifier("日本語")).toBe("column")
    expect(sanitizeIdentifier("", "table")).toBe("table")
    // an empty fallback lets callers detect "nothing usable"
    expect(sanitizeIdentifier("???", "")).toBe("")
  })

  it("keeps at most 128 characters", () => {
    const name = sanitizeIdentifier("x".repeat(500))
    expect(name).toHaveLength(128)
    expect(isIdentifier(name)).toBe(true)
  })
})

describe("uniqueIdentifiers", () => {
  it("numbers duplicates and names empty labels by position", () => {
    expect(uniqueIdentifiers(["Amount", "amount", "AMOUNT", "", "  ", "id"])).toEqual([
      "amount",
      "amount_2",
      "amount_3",
      "column_4",
      "column_5",
      "id"
    ])
  })

  it("skips a numbered name that a later label already takes", () => {
    expect(uniqueIdentifiers(["a", "a_2", "a"])).toEqual(["a", "a_2", "a_3"])
    expect(uniqueIdentifiers(["a", "a", "a_2"])).toEqual(["a", "a_2", "a_2_2"])
  })

  it("sanitises every label (accents, leading digit, special names)", () => {
    expect(uniqueIdentifiers(["Order ID", "__proto__", "_id", "Café", "9 lives", "?"])).toEqual([
      "order_id",
      "__proto__",
      "_id",
      "cafe",
      "_9_lives",
      "column_6"
    ])
  })

  it("always yields valid, distinct identifiers, also when long labels collide", () => {
    const labels = ["", "", "a b", "a_b", "A B", "1", "_1", "ü", "u", "x".repeat(200), "x".repeat(201)]
    const names = uniqueIdentifiers(labels)
    expect(names).toHaveLength(labels.length)
    expect(new Set(names).size).toBe(names.length)
    for (const name of names) expect(isIdentifier(name), name).toBe(true)
  })
})

describe("isIdentifier", () => {
  it("accepts [a-z_][a-z0-9_]* up to 128 characters only", () => {
    expect(isIdentifier("a")).toBe(true)
    expect(isIdentifier("_a1")).toBe(true)
    expect(isIdentifier("A")).toBe(false)
    expect(isIdentifier("1a")).toBe(false)
    expect(isIdentifier("a-b")).toBe(false)
    expect(isIdentifier("")).toBe(false)
    expect(isIdentifier("a".repeat(129))).toBe(false)
  })
})
