import { cellsOf } from "@ingest/domain"
import { Effect, Stream } from "effect"
import { statSync } from "node:fs"
import { afterAll, describe, expect, it } from "vitest"
import { csvParts } from "../../packages/adapters/src/formats/csv.ts"
import { makeFormatReader } from "../../packages/adapters/src/formats/index.ts"
import { failureOf, profileOf, scratchDir } from "./profile-helpers.ts"

// A large CSV is read in parts on two workers at record boundaries noted while profiling. Rows
// must come out exactly once, quoted newlines must not be taken for record ends, and an error
// in a later part must name the row's number in the whole file.

const dir = scratchDir("csv-parts")
const reader = makeFormatReader({ maxWorkers: 2, maxPartsPerRead: 2 })
afterAll(async () => {
  await reader.close()
  dir.cleanup()
})

const ROWS = 400_000
const lastRow = ROWS
/** Row r (1-based): a quoted note with a newline every 7th row, a blank line every 50,000th. */
const writeCsv = (name: string, encoding: "utf-8" | "latin1" = "utf-8"): string => {
  const newline = encoding === "utf-8" ? "\n" : "\r\n"
  const text = encoding === "utf-8" ? "café 漢字 😀" : "café crème"
  const lines: Array<string> = ["id,code,amount,note"]
  for (let r = 1; r <= ROWS; r++) {
    const note = r % 7 === 0
      ? `"first line ${r}${newline}second, ""quoted"" line"`
      : `"plain note number ${r}, ${text}, with padding text to make the file large enough to be split"`
    lines.push(`${r},${r === lastRow ? "oops" : r % 1000},${(r % 100_000) / 100},${note}`)
    if (r % 50_000 === 0) lines.push("")
  }
  return dir.file(name, Buffer.from(lines.join(newline) + newline, encoding === "utf-8" ? "utf8" : "latin1"))
}

describe("CSV read in parts", () => {
  const file = writeCsv("big.csv")

  it("notes split points while profiling and reads every row exactly once across the parts", async () => {
    const profile = await profileOf(reader, file, "csv")
    expect(profile.totalRows).toBe(ROWS)
    const parts = csvParts(profile.readOptions, statSync(file).size, 2)
    expect(parts).toHaveLength(2)
    expect(parts[0]!.start).toBe(0)
    expect(parts[1]!.start).toBe(parts[0]!.end)
    expect(parts[1]!.rows).toBeGreaterThan(ROWS / 3)

    let rows = 0
    let idSum = 0
    let multiline = 0
    const seen = new Uint8Array(ROWS + 1)
    await Effect.runPromise(Stream.runForEach(reader.read(file, profile, profile.columns), (batch) =>
      Effect.sync(() => {
        const ids = cellsOf(batch.columns[0]!) as ReadonlyArray<number>
        const notes = cellsOf(batch.columns[3]!) as ReadonlyArray<string>
        for (let i = 0; i < batch.length; i++) {
          seen[ids[i]!]!++
          idSum += ids[i]!
          if (notes[i]!.includes("\n")) multiline++
        }
        rows += batch.length
      })))
    expect(rows).toBe(ROWS)
    expect(idSum).toBe((ROWS * (ROWS + 1)) / 2)
    expect(seen.subarray(1).every((n) => n === 1)).toBe(true)
    expect(multiline).toBe(Math.floor(ROWS / 7))
  }, 60_000)

  it("splits windows-1252 files with CRLF line ends at record boundaries too", async () => {
    const latin = writeCsv("latin.csv", "latin1")
    const profile = await profileOf(reader, latin, "csv")
    expect(profile.readOptions["encoding"]).toBe("windows-1252")
    expect(csvParts(profile.readOptions, statSync(latin).size, 2)).toHaveLength(2)
    let rows = 0
    let idSum = 0
    let accented = 0
    await Effect.runPromise(Stream.runForEach(reader.read(latin, profile, profile.columns), (batch) =>
      Effect.sync(() => {
        const ids = cellsOf(batch.columns[0]!) as ReadonlyArray<number>
        const notes = cellsOf(batch.columns[3]!) as ReadonlyArray<string>
        for (let i = 0; i < batch.length; i++) {
          idSum += ids[i]!
          if (notes[i]!.includes("café crème")) accented++
          // Line ends inside quotes are data; a record's own CRLF must not end up in its last value.
          if (ids[i]! % 7 !== 0 && notes[i]!.includes("\r")) throw new Error(`row ${ids[i]}: the line end was left in the value`)
        }
        rows += batch.length
      })))
    expect(rows).toBe(ROWS)
    expect(idSum).toBe((ROWS * (ROWS + 1)) / 2)
    expect(accented).toBe(ROWS - Math.floor(ROWS / 7))
  }, 60_000)

  it("names the row of a bad value in a later part by its number in the whole file", async () => {
    const profile = await profileOf(reader, file, "csv")
    expect(profile.columns[1]!.type).toBe("STRING")
    expect(csvParts(profile.readOptions, statSync(file).size, 2)).toHaveLength(2)
    const failure = await failureOf(Stream.runDrain(reader.read(file, profile, [
      { name: "id", type: "INTEGER", nullable: false },
      { name: "code", type: "INTEGER", nullable: true }
    ])))
    expect(failure.reason).toBe(`row ${lastRow}, column "code": "oops" is not a valid INTEGER`)
  }, 60_000)
})
