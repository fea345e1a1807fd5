import type { Column } from "@ingest/domain"
import { Effect, Stream } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { makeFormatReader } from "../../packages/adapters/src/formats/index.ts"
import { failureOf, profileOf, readRows, scratchDir } from "./profile-helpers.ts"

const dir = scratchDir("coercion")
const reader = makeFormatReader({ inProcess: true })
afterAll(async () => {
  await reader.close()
  dir.cleanup()
})

const csv = "id,code,amount,day,label\n1,007,2.5,2024-01-02,x\n2,012,10,2024-02-03,\n3,100,-1.25,2024-03-04,z\n"

describe("read() coerces to the target types", () => {
  it("reads the inferred schema as canonical values", async () => {
    const file = dir.file("base.csv", csv)
    const profile = await profileOf(reader, file, "csv")
    expect(profile.columns.map((c) => c.type)).toEqual(["INTEGER", "STRING", "DECIMAL", "DATE", "STRING"])
    const rows = await readRows(reader, file, profile)
    expect(rows[0]).toEqual([1, "007", "2.50", Date.UTC(2024, 0, 2) / 86_400_000, "x"])
    expect(rows[1]![4]).toBeNull()
  })

  it("widens: anything → STRING (original text), INTEGER → DECIMAL/DOUBLE, DATE → TIMESTAMP(_TZ)", async () => {
    const file = dir.file("widen.csv", csv)
    const profile = await profileOf(reader, file, "csv")
    const target: Array<Column> = [
      { name: "id", type: "STRING", nullable: true },
      { name: "amount", type: "STRING", nullable: true },
      { name: "day", type: "TIMESTAMP", nullable: true },
      { name: "day", type: "TIMESTAMP_TZ", nullable: true },
      { name: "id", type: "DECIMAL", precision: 10, scale: 2, nullable: true },
      { name: "id", type: "DOUBLE", nullable: true },
      { name: "amount", type: "DOUBLE", nullable: true }
    ]
    const rows = await readRows(reader, file, profile, target)
    const micros = BigInt(Date.UTC(2024, 0, 2)) * 1000n
    expect(rows[0]).toEqual(["1", "2.5", micros, micros, "1.00", 1, 2.5])
    expect(rows[1]).toEqual(["2", "10", BigInt(Date.UTC(2024, 1, 3)) * 1000n, BigInt(Date.UTC(2024, 1, 3)) * 1000n, "2.00", 2, 10])
  })

  it("fails an impossible coercion naming row and column", async () => {
    const file = dir.file("bad.csv", "id,label\n1,a\n2,b\n3,not-a-number\n")
    const profile = await profileOf(reader, file, "csv")
    const error = await failureOf(
      Stream.runDrain(reader.read(file, "csv", profile, [{ name: "label", type: "INTEGER", nullable: true }]))
    )
    expect(error.reason).toMatch(/row 1, column "label": "a" is not a valid INTEGER/)
  })

  it("names the row of a failure deep in the file", async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `${i},${i}`)
    lines[15_000] = "15000,x15000"
    const file = dir.file("deep.csv", "a,b\n" + lines.join("\n") + "\n")
    const profile = await profileOf(reader, file, "csv")
    expect(profile.columns[1]!.type).toBe("STRING")
    const error = await failureOf(Stream.runDrain(reader.read(file, "csv", profile, [{ name: "b", type: "INTEGER", nullable: true }])))
    expect(error.reason).toBe('row 15001, column "b": "x15000" is not a valid INTEGER')
  })

  it("refuses to narrow a DECIMAL into a smaller scale or precision", async () => {
    const file = dir.file("narrow.csv", csv)
    const profile = await profileOf(reader, file, "csv")
    const scale = await failureOf(Stream.runDrain(reader.read(file, "csv", profile, [{ name: "amount", type: "DECIMAL", precision: 5, scale: 1, nullable: true }])))
    expect(scale.reason).toMatch(/row 3, column "amount": "-1.25" is not a valid DECIMAL\(5,1\)/)
    const precision = await failureOf(Stream.runDrain(reader.read(file, "csv", profile, [{ name: "amount", type: "DECIMAL", precision: 3, scale: 2, nullable: true }])))
    expect(precision.reason).toMatch(/row 2, column "amount": "10"/)
  })

  it("fails a null in a column that does not allow nulls", async () => {
    const file = dir.file("nulls.csv", csv)
    const profile = await profileOf(reader, file, "csv")
    const error = await failureOf(Stream.runDrain(reader.read(file, "csv", profile, [{ name: "label", type: "STRING", nullable: false }])))
    expect(error.reason).toMatch(/row 2, column "label": missing value/)
  })

  it("fails a target column that is not in the file", async () => {
    const file = dir.file("missing.csv", csv)
    const profile = await profileOf(reader, file, "csv")
    const error = await failureOf(Stream.runDrain(reader.read(file, "csv", profile, [{ name: "nope", type: "STRING", nullable: true }])))
    expect(error.reason).toMatch(/column "nope" is not in the file/)
  })

  it("re-reads with the stored read options (same columns, same rows)", async () => {
    const file = dir.file("reread.csv", "a;b\n1;x\n2;y\n")
    const profile = await profileOf(reader, file, "csv")
    const stored = JSON.parse(JSON.stringify(profile)) as typeof profile
    const rows = await readRows(reader, file, stored)
    expect(rows).toEqual([[1, "x"], [2, "y"]])
    let batches = 0
    await Effect.runPromise(Stream.runForEach(reader.read(file, "csv", stored, stored.columns), () => Effect.sync(() => batches++)))
    expect(batches).toBe(1)
  })
})
