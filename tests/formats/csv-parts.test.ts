import { cellsOf } from "@ingest/domain"
import { Effect, Stream } from "effect"
import { statSync } from "node:fs"
import { afterAll, describe, expect, it } from "vitest"
import type { FileProfile } from "@ingest/domain"
import { readFileSync } from "node:fs"
import { CsvTokenizer } from "../../packages/adapters/src/formats/csv/text-tokenizer.ts"
import { csvParts, mergeCsvScans, mergedFileScan } from "../../packages/adapters/src/formats/csv/parts.ts"
import { profileFile, scanCsvRange } from "../../packages/adapters/src/formats/file-jobs.ts"
import { finishProfile } from "../../packages/adapters/src/formats/table/profile.ts"
import { defaultTextLimits } from "../../packages/adapters/src/formats/limits.ts"
import { decodeReadOptions } from "../../packages/adapters/src/formats/read-options.ts"
import type { ColumnarBatch } from "../../packages/adapters/src/formats/types.ts"
import { makeFormatReader } from "../../packages/adapters/src/formats/index.ts"
import { failureOf, profileOf, scratchDir } from "./profile-helpers.ts"

// A large CSV is profiled in two halves side by side and read in parts on two workers at record
// boundaries noted while profiling. The profile must be the one a single worker makes, rows
// must come out exactly once, quoted newlines must not be taken for record ends, and an error
// in a later part must name the row's number in the whole file.

const dir = scratchDir("csv-parts")
// Files of a few tens of MB stand in for large ones: halves are profiled from 1 MiB on.
const reader = makeFormatReader({ maxWorkers: 2, maxPartsPerRead: 2, minParallelProfileBytes: 1 << 20 })
const oneWorker = makeFormatReader({ maxWorkers: 1, maxPartsPerRead: 1 })
afterAll(async () => {
  await reader.close()
  await oneWorker.close()
  dir.cleanup()
})

/** The profile without its split points (which depend on where reading chunks happened to end). */
const withoutSplits = (profile: FileProfile) => {
  const { splits: _splits, ...readOptions } = profile.readOptions
  return { ...profile, readOptions }
}

/** Data rows and the line after them in the first `bytes` bytes of a CSV with a header (text tokenizer). */
const recordsBefore = (content: Buffer, bytes: number) => {
  const tokenizer = new CsvTokenizer({ delimiter: ",", quote: "\"", escape: "\"", newline: "\n" }, 4, 8192, defaultTextLimits, true)
  const out: Array<ColumnarBatch> = []
  tokenizer.feed(content.subarray(0, bytes).toString("utf8"), out)
  const boundary = tokenizer.boundary()!
  return { pending: boundary.pending, rows: boundary.rows, line: boundary.line }
}

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

  it("merges the scans of a file's parts into the profile of the whole file, with its dialect and warnings", async () => {
    // Two lines before the header, long and short records in both parts: the merged profile says
    // what the whole file's does (the dialect of the first part, the rows of both).
    const lines = ["Export of orders", "generated today", "id,code,amount,note"]
    for (let r = 1; r <= 20_000; r++) {
      const extra = r % 5_000 === 0 ? ",surplus" : ""
      lines.push(r % 4_000 === 0 ? `${r},${r % 10}` : `${r},${r % 10},${r}.5,plain note ${r}${extra}`)
    }
    const content = Buffer.from(lines.join("\n") + "\n")
    const csv = dir.file("layout.csv", content)
    const cut = content.indexOf("\n", content.length >> 1) + 1
    const settings = { limits: defaultTextLimits, batchRows: 1000 }
    const first = await scanCsvRange({ ...settings, path: csv, range: { start: 0, end: cut } })
    const second = await scanCsvRange({ ...settings, path: csv, range: { start: cut, end: content.length } })
    const merged = mergeCsvScans(first, second)
    expect(merged).toBeDefined()
    const whole = await profileFile({ ...settings, path: csv, format: "csv", sheet: undefined })
    expect(whole.dialect?.skipLeadingRows).toBe(2)
    expect(whole.warnings).toEqual([
      "skipped 2 lines before the header (lines 1–2)",
      "3 rows had more fields than the header (first at line 5003): the extra fields are not imported",
      "5 rows had fewer fields than the header: the missing fields are empty"
    ])
    expect(withoutSplits(finishProfile(mergedFileScan(merged!)))).toEqual(withoutSplits(whole))
  })

  // This file's middle lies inside a quoted field, so its halves are not merged: the test holds
  // the parallel path to the single worker's result whichever way it goes (the merge itself is
  // checked above, in process).
  it("profiles a large file with quoted line breaks as one worker does, with split points at record boundaries", async () => {
    const profile = await profileOf(reader, file, "csv")
    const whole = await profileOf(oneWorker, file, "csv")
    expect(withoutSplits(profile)).toEqual(withoutSplits(whole))
    const splits = profile.readOptions["splits"] as Array<{ byte: number; rows: number; line: number }>
    expect(splits).toHaveLength(7)
    const content = readFileSync(file)
    for (const split of splits) expect(recordsBefore(content, split.byte)).toEqual({ pending: "", rows: split.rows, line: split.line })
  }, 60_000)

  it("profiles the whole file on one worker when the middle of it lies inside a quoted field", async () => {
    // One quoted value of many short lines around the middle: the first line feed after it is data.
    const lines = ["id,code,amount,note"]
    for (let r = 1; r <= 20_000; r++) lines.push(`${r},${r % 10},${r}.5,plain`)
    lines.push(`20001,1,1.5,"${"a quoted line\n".repeat(100_000)}end"`)
    for (let r = 20_002; r <= 40_000; r++) lines.push(`${r},${r % 10},${r}.5,plain`)
    const quoted = dir.file("quoted-middle.csv", lines.join("\n") + "\n")
    const profile = await profileOf(reader, quoted, "csv")
    expect(profile.totalRows).toBe(40_000)
    expect(profile).toEqual(await profileOf(oneWorker, quoted, "csv"))
  }, 60_000)

  it("notes split points while profiling and reads every row exactly once across the parts", async () => {
    const profile = await profileOf(reader, file, "csv")
    expect(profile.totalRows).toBe(ROWS)
    const parts = csvParts(decodeReadOptions("csv", profile.readOptions), statSync(file).size, 2)
    expect(parts).toHaveLength(2)
    expect(parts[0]!.start).toBe(0)
    expect(parts[1]!.start).toBe(parts[0]!.end)
    expect(parts[1]!.rows).toBeGreaterThan(ROWS / 3)

    let rows = 0
    let idSum = 0
    let multiline = 0
    const seen = new Uint8Array(ROWS + 1)
    await Effect.runPromise(Stream.runForEach(reader.read(file, "csv", profile, profile.columns), (batch) =>
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
    expect(csvParts(decodeReadOptions("csv", profile.readOptions), statSync(latin).size, 2)).toHaveLength(2)
    let rows = 0
    let idSum = 0
    let accented = 0
    await Effect.runPromise(Stream.runForEach(reader.read(latin, "csv", profile, profile.columns), (batch) =>
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
    expect(csvParts(decodeReadOptions("csv", profile.readOptions), statSync(file).size, 2)).toHaveLength(2)
    const failure = await failureOf(Stream.runDrain(reader.read(file, "csv", profile, [
      { name: "id", type: "INTEGER", nullable: false },
      { name: "code", type: "INTEGER", nullable: true }
    ])))
    expect(failure.reason).toBe(`row ${lastRow}, column "code": "oops" is not a valid INTEGER`)
  }, 60_000)
})
