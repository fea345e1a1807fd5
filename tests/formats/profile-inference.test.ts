import { afterAll, describe, expect, it } from "vitest"
import { makeFormatReader } from "../../packages/adapters/src/formats/index.ts"
import { profileOf, readRows, scratchDir, typeOf } from "./profile-helpers.ts"

const dir = scratchDir("profile")
const reader = makeFormatReader({ inProcess: true })
afterAll(async () => {
  await reader.close()
  dir.cleanup()
})

let counter = 0
/** Profiles a one-column CSV `v` holding `values`. */
const column = async (values: ReadonlyArray<string>) => {
  const file = dir.file(`c${counter++}.csv`, "v\n" + values.join("\n") + "\n")
  const profile = await profileOf(reader, file, "csv")
  return { profile, file, type: typeOf(profile, "v"), column: profile.columns[0]! }
}

describe("type inference", () => {
  it.each([
    [["1", "-2", "+3", "0"], "INTEGER"],
    [["9223372036854775807", "-9223372036854775808"], "INTEGER"],
    [["9223372036854775808", "1"], "DECIMAL(38,0)"],
    [["007", "12"], "STRING"],
    [["00.5"], "STRING"],
    [["1.5", "22.25", "-0.125", "3"], "DECIMAL(5,3)"],
    [["82544000000000707.52"], "DECIMAL(19,2)"],
    [["24386.670000", "0.040000"], "DECIMAL(11,6)"],
    [["1.5e3", "2", "-0.5"], "DOUBLE"],
    [["NaN", "1.5e3", "Infinity"], "DOUBLE"],
    [["1e5", "12345678901234567.5"], "STRING"],
    [['"1,5"', '"2,25"'], "STRING"],
    [[".5", "1"], "STRING"],
    [["True", "false", "TRUE"], "BOOLEAN"],
    [["yes", "no"], "STRING"],
    [["true", "1"], "STRING"],
    [["2024-01-31", "1999-12-01"], "DATE"],
    [["2024/01/31"], "DATE"],
    [["2024-02-30"], "STRING"],
    [["2023-02-29"], "STRING"],
    [["2024-02-29"], "DATE"],
    [["13-12-2004", "01-01-2000"], "DATE"],
    [["2024-01-01", "13-12-2004"], "STRING"],
    [["12:12:12", "14:15:30"], "STRING"],
    [["2024-01-01 12:00:00", "2024-01-02T13:14:15.123456"], "TIMESTAMP"],
    [["2024-01-01", "2024-01-02 10:00"], "TIMESTAMP"],
    [["2024-01-01T12:00:00Z", "2024-01-01T13:00:00+02:00", "2024-01-01 13:00:00 UTC"], "TIMESTAMP_TZ"],
    [["2024-01-01T12:00:00Z", "2024-01-01 12:00:00"], "STRING"],
    [["2024-01-01 12:00:00.1234567"], "STRING"],
    [["2024-01-01 12:00:00.123456000"], "TIMESTAMP"],
    [["01-01-2000 12:12:00 AM", "12-13-2004 03:16:00 PM"], "TIMESTAMP"],
    [["hello", "1"], "STRING"]
  ])("%j → %s", async (values, expected) => {
    expect((await column(values)).type).toBe(expected)
  })

  it("treats empty, NULL, null, NA and N/A as nulls", async () => {
    const { type, column: col, profile, file } = await column(["1", "", "NULL", "null", "NA", "N/A", "2"])
    expect(type).toBe("INTEGER")
    expect(col.nullable).toBe(true)
    expect(profile.totalRows).toBe(7)
    const rows = await readRows(reader, file, profile)
    expect(rows.map((r) => r[0])).toEqual([1, null, null, null, null, null, 2])
  })

  it("marks columns without nulls not nullable", async () => {
    expect((await column(["1", "2"])).column.nullable).toBe(false)
  })

  it("reads day-first and month-first dates consistently per column", async () => {
    const dmy = await column(["01-02-2000", "13-12-2004"])
    expect(dmy.profile.readOptions["parseHints"]).toEqual({ v: { dateOrder: "dmy" } })
    expect((await readRows(reader, dmy.file, dmy.profile)).map((r) => r[0])).toEqual([
      Date.UTC(2000, 1, 1) / 86_400_000,
      Date.UTC(2004, 11, 13) / 86_400_000
    ])
    const mdy = await column(["01-02-2000", "12-13-2004"])
    expect(mdy.profile.readOptions["parseHints"]).toEqual({ v: { dateOrder: "mdy" } })
    expect((await readRows(reader, mdy.file, mdy.profile))[0]![0]).toBe(Date.UTC(2000, 0, 2) / 86_400_000)
    // Ambiguous throughout: month-first with "/", day-first with "-" or ".".
    expect((await column(["01/02/2000"])).profile.readOptions["parseHints"]).toEqual({ v: { dateOrder: "mdy" } })
    expect((await column(["01.02.2000"])).profile.readOptions["parseHints"]).toEqual({ v: { dateOrder: "dmy" } })
  })

  it("reads timestamps to microseconds, zoned ones as UTC instants", async () => {
    const naive = await column(["2024-01-02 03:04:05.123456", "2024-01-02"])
    expect((await readRows(reader, naive.file, naive.profile)).map((r) => r[0])).toEqual([
      BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1000n + 123456n,
      BigInt(Date.UTC(2024, 0, 2)) * 1000n
    ])
    const zoned = await column(["2024-01-01T12:00:00+02:00", "2024-01-01T10:00:00Z"])
    const values = (await readRows(reader, zoned.file, zoned.profile)).map((r) => r[0])
    expect(values).toEqual([BigInt(Date.UTC(2024, 0, 1, 10)) * 1000n, BigInt(Date.UTC(2024, 0, 1, 10)) * 1000n])
    expect(zoned.profile.previewRows[0]!["v"]).toBe("2024-01-01T10:00:00Z")
  })

  it("keeps decimals exact and padded to the column scale", async () => {
    const { file, profile } = await column(["1.5", "-0.25", "82544000000000707.52", "3"])
    expect(typeOf(profile, "v")).toBe("DECIMAL(19,2)")
    expect((await readRows(reader, file, profile)).map((r) => r[0])).toEqual(["1.50", "-0.25", "82544000000000707.52", "3.00"])
    // Previews: numbers where a double holds them exactly, text otherwise.
    expect(profile.previewRows.map((r) => r["v"])).toEqual([1.5, -0.25, "82544000000000707.52", 3])
  })

  it("infers over the whole file, not a sample", async () => {
    const values = Array.from({ length: 30_000 }, (_, i) => String(i))
    values.push("not a number")
    expect((await column(values)).type).toBe("STRING")
  })

  it("keeps up to 5 distinct sample values and the first 100 rows as preview", async () => {
    const { column: col, profile } = await column(["a", "a", "b", "c", "b", "d", "e", "f", "g", ...Array(200).fill("z")])
    expect(col.sampleValues).toEqual(["a", "b", "c", "d", "e"])
    expect(profile.previewRows).toHaveLength(100)
    expect(profile.totalRows).toBe(209)
  })

  it("gives JSON-typed preview values", async () => {
    const file = dir.file("preview.csv", "i,d,b,day,ts,s,n\n1,2.5,true,2024-01-02,2024-01-02 03:04:05,x,\n")
    const profile = await profileOf(reader, file, "csv")
    expect({ ...profile.previewRows[0] }).toEqual({
      i: 1, d: 2.5, b: true, day: "2024-01-02", ts: "2024-01-02T03:04:05", s: "x", n: null
    })
  })
})

describe("column names", () => {
  it("sanitises and de-duplicates header labels (column-names.ts rules)", async () => {
    const file = dir.file("names.csv", "__proto__,constructor,Name,name,,3b, E-Mail ,Café,名前\n1,2,3,4,5,6,7,8,9\n")
    const profile = await profileOf(reader, file, "csv")
    expect(profile.columns.map((c) => c.name)).toEqual([
      "__proto__", "constructor", "name", "name_2", "column_5", "_3b", "e_mail", "cafe", "column_9"
    ])
    expect(profile.sourceLabels).toEqual(["__proto__", "constructor", "Name", "name", "", "3b", " E-Mail ", "Café", "名前"])
    const row = profile.previewRows[0]!
    expect(Object.getPrototypeOf(row)).toBeNull()
    expect(Object.hasOwn(row, "__proto__")).toBe(true)
    expect(row["__proto__"]).toBe(1)
    expect(row["constructor"]).toBe(2)
    expect(Object.keys(row)).toHaveLength(9)
  })

  it("keeps a JSON key named __proto__ as data", async () => {
    const file = dir.file("proto.jsonl", '{"__proto__": {"polluted": true}, "a": 1}\n{"__proto__": 5, "a": 2}\n')
    const profile = await profileOf(reader, file, "jsonl")
    expect(profile.sourceLabels).toEqual(["__proto__", "a"])
    expect(profile.columns.map((c) => c.name)).toEqual(["__proto__", "a"])
    expect(profile.previewRows[0]!["__proto__"]).toBe('{"polluted":true}')
    expect(profile.previewRows[1]!["__proto__"]).toBe("5")
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
  })

  it("replaces NUL in labels for storage, and drops it from the name", async () => {
    const file = dir.file("nul.csv", "col1|col\u00002\nval1|val2\n")
    const profile = await profileOf(reader, file, "csv")
    expect(profile.columns.map((c) => c.name)).toEqual(["col1", "col_2"])
    expect(profile.sourceLabels[1]).toBe("col\uFFFD2")
  })
})
