import { type FileProfile, UnreadableFile, uniqueIdentifiers } from "@ingest/domain"
import { Effect, Option, type Result, Stream } from "effect"
import { existsSync, readFileSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { makeFormatReader } from "../../packages/adapters/src/formats/index.ts"

/**
 * Conformance: every file of the shared corpus through the real FormatReader (worker threads),
 * checked against truth.json — profile (row count, column count and sanitised names), then a
 * full read() with the inferred schema (row count again). `expect: "error"` files, and files
 * whose truth has no row count, must end as UnreadableFile with a message.
 *
 * `CORPUS_STRICT=1` also prints, per file, whether the reading agrees with truth.json itself (no
 * documented policy applied: a refusal where truth expects an error, else the same row count, column
 * count and names), and the number that agree. It reuses the readings the tests make.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const corpusDir = path.resolve(repoRoot, "../shared/corpus")
const truthPath = path.join(corpusDir, "truth.json")
const available = existsSync(truthPath)
if (!available) console.warn(`tests/formats/corpus.test.ts skipped: ${truthPath} not found`)

interface Truth {
  readonly rows: number | null
  readonly columns: ReadonlyArray<string> | null
  readonly expect?: string | null
  readonly notes?: string
  readonly truth_source?: string
}

/**
 * Where our documented policy differs from truth.json, the policy is asserted instead, and why.
 * `error`: the file must be refused with a message; `either`: truth accepts a refusal or a read.
 */
type Policy =
  | { readonly error: true; readonly why: string }
  | { readonly either: true; readonly why: string }
  | { readonly rows: number; readonly columns: ReadonlyArray<string>; readonly why: string }

const noColumns = "a file without any column cannot become a table: refused with a \"no columns\" message (truth notes ask for a clear message)"

const policies: Record<string, Policy> = {
  "csv/duckdb__csv_quoted_newline_odd.csv": {
    rows: 2,
    columns: ["content", "column_2"],
    why: "header `content`, then a quoted multi-line record and `84,hello world`: the widest data record has two fields, so a second (generated) column keeps `hello world`; DuckDB's sniff skips two lines instead (truth notes call that questionable)"
  },
  "json/duckdb__empty_array.json": { error: true, why: noColumns },
  "json/duckdb__whitespace_only.json": { error: true, why: noColumns },
  "json/jsonts__i_structure_UTF-8_BOM_empty_object.json": { error: true, why: noColumns },
  "xlsx/sheetjs__BlankSheetTypes.xlsm": { error: true, why: noColumns },
  "xlsx/xlrd__sample.xlsx": { error: true, why: noColumns },
  "json/duckdb__top_level_two_arrays.json": {
    rows: 4,
    columns: ["conclusion"],
    why: "a file may hold several top-level arrays; each element of each array is a row (DuckDB makes each array one row holding a list)"
  },
  "json/jsonts__i_structure_500_nested_arrays.json": {
    error: true,
    why: "a top-level array whose elements are arrays is not a table (and nests deeper than the 64-level limit)"
  },
  "json/jsonts__y_array_heterogeneous.json": {
    error: true,
    why: "elements of the top-level array must be objects; scalars are refused as not tabular (truth notes allow rejecting)"
  },
  "json/jsonts__y_structure_lonely_int.json": {
    error: true,
    why: "a top-level scalar is not a table (truth notes expect a clear 4xx)"
  },
  "parquet/pqtest__nation.dict-malformed.parquet": {
    error: true,
    why: "a malformed dictionary page is refused as corrupt rather than guessed around (hyparquet refuses it too)"
  },
  "parquet/pqtest__large_string_map.brotli.parquet": {
    error: true,
    why: "decompression bomb: truth expects a bounded-memory failure"
  },
  "xlsx/sheetjs__Attendance.xlsx": {
    rows: 23,
    columns: ["date", "ben_ashley", "tom_brooks", "jimmy_cooney", "sue_daniels", "berlinda_fong", "terry_jones", "angelina_little", "linda_smith"],
    why: "the last row, \"Total\" over COUNTIF formulas, is a totals row that would break the column types (\"Total\" in the date column, counts under booleans): it is skipped and the preview says so, so every column keeps its type (truth keeps it as a row; its notes name it as the trap and count 23 rows without it)"
  },
  "xls/sheetjs__phpexcel_bad_cfb_dir.xls": {
    either: true,
    why: "truth notes: either answer is acceptable if deterministic"
  }
}

const truths: Array<[string, Truth]> = available
  ? Object.entries(JSON.parse(readFileSync(truthPath, "utf8")) as Record<string, Truth>)
  : []

const spreadsheet = (file: string) => file.startsWith("xls/") || file.startsWith("xlsx/")

/**
 * Truth column names come from other tools' conventions; they are mapped back to the labels they
 * stand for before our naming rules (column-names.ts) apply: DuckDB's CSV reader names empty/absent
 * headers `column0`/`column00` and repeats `a_1`; pandas names empty cells `Unnamed: 3` and
 * repeats `a.1`.
 */
const truthLabels = (file: string, columns: ReadonlyArray<string>): Array<string | undefined> => {
  const seen = new Set<string>()
  return columns.map((name) => {
    let label: string | undefined = name
    if ((file.startsWith("csv/") && /^column\d+$/.test(name)) || (spreadsheet(file) && /^Unnamed: \d+$/.test(name))) label = ""
    else {
      const dup = /^(.*)[_.](\d+)$/.exec(name)
      if (dup !== null && seen.has(dup[1]!)) label = dup[1]!
    }
    seen.add(name)
    // Spreadsheet headers that are numbers or dates are formatted differently by each tool, and
    // openpyxl shows some non-Latin text as underscores (`___` for てすと): not comparable.
    if (spreadsheet(file) && label !== undefined && label !== "" && /^([-\d.: ]+|_+)$/.test(label)) label = undefined
    return label
  })
}

const expectNames = (file: string, profile: FileProfile, columns: ReadonlyArray<string>) => {
  const labels = truthLabels(file, columns)
  const expected = uniqueIdentifiers(labels.map((l) => l ?? "?"))
  const names = profile.columns.map((c) => c.name)
  labels.forEach((label, j) => {
    if (label !== undefined) expect(names[j], `column ${j + 1} of ${file}`).toBe(expected[j])
  })
}

type Reading = Result.Result<{ readonly profile: FileProfile; readonly rows: number }, UnreadableFile>

/** Why a reading differs from truth.json taken strictly (undefined when it agrees). */
const strictDifference = (file: string, truth: Truth, result: Reading): string | undefined => {
  if (truth.expect === "error" || truth.rows === null) return result._tag === "Failure" ? undefined : "read, where truth expects an error"
  if (result._tag === "Failure") return `refused (${result.failure.kind}: ${result.failure.reason})`
  const { profile, rows } = result.success
  if (profile.totalRows !== truth.rows || rows !== truth.rows) return `${rows} rows (profile ${profile.totalRows}), truth ${truth.rows}`
  if (truth.columns === null) return undefined
  if (profile.columns.length !== truth.columns.length) return `${profile.columns.length} columns, truth ${truth.columns.length}`
  const labels = truthLabels(file, truth.columns)
  const expected = uniqueIdentifiers(labels.map((l) => l ?? "?"))
  const j = labels.findIndex((label, j) => label !== undefined && profile.columns[j]!.name !== expected[j])
  return j < 0 ? undefined : `column ${j + 1} is ${profile.columns[j]!.name}, truth ${expected[j]}`
}

describe.skipIf(!available)("corpus conformance (shared/corpus/truth.json)", () => {
  const reader = makeFormatReader()
  const strict = new Map<string, string | undefined>()
  afterAll(() => {
    reader.close()
    if (process.env["CORPUS_STRICT"] === undefined || strict.size === 0) return
    const lines = [...strict].map(([file, why]) => `${why === undefined ? "agrees " : "differs"} ${file}${why === undefined ? "" : `: ${why}`}`)
    const agree = [...strict.values()].filter((why) => why === undefined).length
    console.log(`${lines.join("\n")}\nstrict agreement with truth.json: ${agree} of ${strict.size} files`)
  })

  const run = (file: string) =>
    Effect.gen(function*() {
      const full = path.join(corpusDir, file)
      const head = readFileSync(full).subarray(0, 4096)
      const format = reader.detect(head, path.basename(file))
      if (Option.isNone(format)) {
        return yield* new UnreadableFile({ kind: "unsupported", reason: `cannot detect the format of ${file}` })
      }
      const profile = yield* reader.profile(full, format.value, {})
      let rows = 0
      yield* Stream.runForEach(reader.read(full, format.value, profile, profile.columns), (batch) =>
        Effect.sync(() => {
          expect(batch.columns.length).toBe(profile.columns.length)
          for (const column of batch.columns) expect(column.length).toBe(batch.length)
          rows += batch.length
        }))
      return { profile, rows }
    }).pipe(Effect.result, Effect.runPromise)

  for (const [file, truth] of truths) {
    const policy = policies[file]
    const mustFail = policy !== undefined ? "error" in policy : truth.expect === "error" || truth.rows === null
    it(`${file}${policy !== undefined ? " (documented policy)" : ""}`, async () => {
      const result = await run(file)
      strict.set(file, strictDifference(file, truth, result))
      if (policy !== undefined && "either" in policy) {
        if (result._tag === "Failure") expect(result.failure.reason.length).toBeGreaterThan(0)
        else expect(result.success.rows).toBe(result.success.profile.totalRows)
        return
      }
      if (mustFail) {
        expect(result._tag, `${file} must be refused`).toBe("Failure")
        if (result._tag === "Failure") {
          expect(result.failure).toBeInstanceOf(UnreadableFile)
          expect(result.failure.reason.trim().length).toBeGreaterThan(0)
        }
        return
      }
      if (result._tag === "Failure") throw new Error(`${file}: ${result.failure.kind}: ${result.failure.reason}`)
      const { profile, rows } = result.success
      if (policy !== undefined && "rows" in policy) {
        expect(profile.totalRows).toBe(policy.rows)
        expect(rows).toBe(policy.rows)
        expect(profile.columns.map((c) => c.name)).toEqual(policy.columns)
        return
      }
      expect(profile.totalRows).toBe(truth.rows)
      expect(rows).toBe(truth.rows)
      expect(profile.previewRows.length).toBe(Math.min(100, truth.rows!))
      if (truth.columns !== null) {
        expect(profile.columns.length).toBe(truth.columns.length)
        expectNames(file, profile, truth.columns)
      }
    })
  }
})
