import { type CsvFields, readCsvFields } from "./byte-tokenizer.ts"
import { sniffCsv } from "./dialect.ts"
import { type CsvDialect, type CsvLimits, CsvTokenizer } from "./text-tokenizer.ts"
import {
  byteLengthOf,
  decodeHead,
  detectEncoding,
  hasByteOffsets,
  readHead,
  readTextChunks,
  type TextEncoding
} from "../text-encoding.ts"
import { type CsvPart, RawReadError, type RawReadOptions } from "../types.ts"
import { ColumnInference } from "../values/inference.ts"
import { type ColumnarBatch, PREVIEW_ROWS, type ProfileScan, type TableSource } from "../table/profile.ts"

/**
 * CSV/TSV reader. Parser choice, by measurement (tests/bench/csv-parsers.bench.ts on a generated
 * 101 MB, 10-column file, this machine): profiling tokenizes decoded text with the hand-written
 * tokenizer of csv-tokenizer.ts (0.88 s, writing column-major batches of strings, which inference
 * needs), ahead of papaparse (1.44 s) and csv-parse (about 3.8 times slower than papaparse);
 * imports read field positions in the UTF-8 bytes with csv-bytes.ts (0.23 s), and the packers
 * parse values from the bytes without a string per field.
 */

export interface TextLimits extends CsvLimits {
  /** Deepest JSON nesting. */
  readonly maxDepth: number
}

export const defaultTextLimits: TextLimits = {
  maxFieldChars: 16 * (1 << 20),
  maxRecordChars: 32 * (1 << 20),
  maxDepth: 64
}

const SNIFF_CHARS = 512 * 1024
const DEFAULT_BATCH = 8192

/** What a re-read needs, as stored in the profile's readOptions. */
export interface CsvReadOptions {
  readonly encoding: TextEncoding
  readonly encodingGuessed: boolean
  readonly delimiter: string
  readonly quote: string
  readonly escape: string
  readonly newline: "\n" | "\r"
  readonly header: boolean
  readonly columns: number
}

const knownOptions = (options: Record<string, unknown> | undefined): CsvReadOptions | undefined => {
  if (options === undefined) return undefined
  const { encoding, delimiter, quote, escape, newline, header, columns } = options
  if (
    typeof encoding !== "string" || typeof delimiter !== "string" || typeof quote !== "string" ||
    typeof escape !== "string" || (newline !== "\n" && newline !== "\r") || typeof header !== "boolean" ||
    typeof columns !== "number"
  ) return undefined
  if (delimiter.length !== 1 || quote.length > 1 || escape.length > 1 || !Number.isSafeInteger(columns) || columns < 1) {
    throw new RawReadError("unsupported", "invalid CSV read options")
  }
  return {
    encoding: encoding as TextEncoding,
    encodingGuessed: options["encodingGuessed"] === true,
    delimiter,
    quote,
    escape,
    newline,
    header,
    columns
  }
}

/** Files below this size are read in one part. */
const MIN_SPLIT_BYTES = 32 * 1024 * 1024
/** Split points noted per file: at 1/8, 2/8, … of it, so that 2, 4 or 8 parts come out even. */
const SPLIT_EIGHTHS = 8

export interface CsvSplit {
  readonly byte: number
  readonly rows: number
  readonly line: number
}

/**
 * Keeps the first record boundary at or after each eighth of the file (from `start` on, when
 * only a part of the file is read).
 */
const splitPlanner = (size: number, encoding: TextEncoding, start: number) => {
  if (!hasByteOffsets(encoding) || size < MIN_SPLIT_BYTES) return undefined
  const points: Array<CsvSplit> = []
  /** Eighths at or before `start`: a part has no split points of its own there. */
  const skipped = Math.floor((start * SPLIT_EIGHTHS) / size)
  return {
    points,
    offer: (byte: number, rows: number, line: number) => {
      const eighth = skipped + points.length + 1
      const next = Math.ceil((size * eighth) / SPLIT_EIGHTHS)
      if (eighth < SPLIT_EIGHTHS && byte >= next && byte < size) points.push({ byte, rows, line })
    }
  }
}

/**
 * Parts to read a profiled CSV in, side by side: at most `count`, at split points noted while
 * profiling; a single part when none were noted.
 */
export const csvParts = (readOptions: Record<string, unknown>, size: number, count: number): Array<CsvPart> => {
  const splits = readOptions["splits"]
  if (count < 2 || !Array.isArray(splits) || splits.length === 0) return []
  const valid = (splits as Array<Partial<CsvSplit>>).filter((s): s is CsvSplit =>
    Number.isSafeInteger(s.byte) && Number.isSafeInteger(s.rows) && Number.isSafeInteger(s.line) && s.byte! > 0 && s.byte! < size
  )
  const chosen: Array<CsvSplit> = []
  for (let k = 1; k < count; k++) {
    const target = (size * k) / count
    let best: CsvSplit | undefined
    for (const s of valid) if (best === undefined || Math.abs(s.byte - target) < Math.abs(best.byte - target)) best = s
    if (best !== undefined && (chosen.length === 0 || best.byte > chosen.at(-1)!.byte)) chosen.push(best)
  }
  if (chosen.length === 0) return []
  const starts = [{ byte: 0, rows: 0, line: 1 }, ...chosen]
  return starts.map((s, i) => ({ start: s.byte, end: starts[i + 1]?.byte ?? size, rows: s.rows, line: s.line }))
}

/**
 * Reads a profiled CSV (or a part of it) as field positions in UTF-8 bytes, for imports:
 * see csv-bytes.ts.
 */
export const openCsvFields = (
  path: string,
  readOptions: Record<string, unknown>,
  part: CsvPart | undefined,
  limits: TextLimits = defaultTextLimits,
  recordsPerBatch = DEFAULT_BATCH
): AsyncGenerator<CsvFields> => {
  const csv = knownOptions(readOptions)
  if (csv === undefined) throw new RawReadError("unsupported", "the file's CSV read options are missing")
  const dialect: CsvDialect = { delimiter: csv.delimiter, quote: csv.quote, escape: csv.escape, newline: csv.newline }
  return readCsvFields(path, csv.encoding, dialect, csv.columns, csv.header, limits, part, recordsPerBatch)
}

const PART_ENDS_AT_RECORD = "partEndsAtRecord"
const PART_NEXT_LINE = "partNextLine"

/**
 * One scan from two scans of consecutive parts of a CSV file, the second starting where the first
 * ends; undefined when they cannot be merged (the first part did not end at a record boundary, so
 * the second started inside a quoted field, or the parts were read differently).
 */
export const mergeCsvScans = (first: ProfileScan, second: ProfileScan): ProfileScan | undefined => {
  const a = first.readOptions
  const b = second.readOptions
  if (a[PART_ENDS_AT_RECORD] !== true || typeof a[PART_NEXT_LINE] !== "number") return undefined
  const settings = knownOptions(a)
  if (settings === undefined || !hasByteOffsets(settings.encoding)) return undefined
  for (const key of ["encoding", "delimiter", "quote", "escape", "newline", "header", "columns"]) if (a[key] !== b[key]) return undefined
  if (first.columns.length !== second.columns.length) return undefined
  const linesBefore = a[PART_NEXT_LINE] - 1
  const count = (options: Record<string, unknown>, key: string) => (typeof options[key] === "number" ? options[key] : 0)
  const { [PART_ENDS_AT_RECORD]: _ends, [PART_NEXT_LINE]: _line, ...readOptions } = a
  readOptions["rowsWithExtraFields"] = count(a, "rowsWithExtraFields") + count(b, "rowsWithExtraFields")
  readOptions["rowsWithMissingFields"] = count(a, "rowsWithMissingFields") + count(b, "rowsWithMissingFields")
  if (a["firstLineWithExtraFields"] === undefined && typeof b["firstLineWithExtraFields"] === "number") {
    readOptions["firstLineWithExtraFields"] = b["firstLineWithExtraFields"] + linesBefore
  }
  const later = Array.isArray(b["splits"])
    ? (b["splits"] as Array<CsvSplit>).map((s) => ({ byte: s.byte, rows: s.rows + first.rows, line: s.line + linesBefore }))
    : []
  const splits = [...(Array.isArray(a["splits"]) ? (a["splits"] as Array<CsvSplit>) : []), ...later]
  if (splits.length > 0) readOptions["splits"] = splits
  return {
    labels: first.labels,
    textValues: first.textValues,
    columns: first.columns.map((state, j) => {
      const merged = ColumnInference.fromState(state)
      merged.absorb(second.columns[j]!)
      return merged.state()
    }),
    preview: [...first.preview, ...second.preview].slice(0, PREVIEW_ROWS),
    rows: first.rows + second.rows,
    readOptions
  }
}

export const openCsv = async (
  path: string,
  options: RawReadOptions,
  limits: TextLimits = defaultTextLimits
): Promise<TableSource> => {
  let settings = knownOptions(options.readOptions)
  /** Size of the file on a first reading (the profile), which notes where a later read may split it. */
  let firstReadingSize: number | undefined
  if (settings === undefined) {
    const { head, size } = await readHead(path)
    firstReadingSize = size
    if (size === 0) throw new RawReadError("corrupt", "the file is empty")
    const wholeFile = head.length === size
    const forced = options.readOptions?.["encoding"]
    const guess = typeof forced === "string"
      ? { encoding: forced as TextEncoding, guessed: false }
      : detectEncoding(head, wholeFile)
    const text = decodeHead(head, guess.encoding)
    const sample = text.length > SNIFF_CHARS ? text.slice(0, SNIFF_CHARS) : text
    if (sample.trim().length === 0 && wholeFile) throw new RawReadError("corrupt", "the file has no data")
    const sniffed = sniffCsv(sample, wholeFile && sample.length === text.length)
    settings = {
      encoding: guess.encoding,
      encodingGuessed: guess.guessed,
      ...sniffed.dialect,
      header: sniffed.hasHeader,
      columns: sniffed.width
    }
  }
  const csv = settings
  const dialect: CsvDialect = { delimiter: csv.delimiter, quote: csv.quote, escape: csv.escape, newline: csv.newline }
  const range = options.range
  const labels: Array<string> = []
  // A range after the file's start has no header row: its columns are known from the start (by position).
  if (!csv.header || (range?.start ?? 0) > 0) for (let j = 0; j < csv.columns; j++) labels.push("")
  const readOptions: Record<string, unknown> = { ...csv }
  const batchSize = options.batchSize ?? DEFAULT_BATCH
  const splits = firstReadingSize === undefined ? undefined : splitPlanner(firstReadingSize, csv.encoding, range?.start ?? 0)
  const batches = async function*(): AsyncGenerator<ColumnarBatch> {
    const tokenizer = new CsvTokenizer(dialect, csv.columns, batchSize, limits, csv.header && (range?.start ?? 0) === 0)
    const out: Array<ColumnarBatch> = []
    const takeHeader = () => {
      if (csv.header && labels.length === 0 && tokenizer.header !== undefined) {
        for (let j = 0; j < csv.columns; j++) labels.push(tokenizer.header[j] ?? "")
      }
    }
    for await (const { text, end } of readTextChunks(path, csv.encoding, range)) {
      tokenizer.feed(text, out)
      takeHeader()
      if (splits !== undefined) {
        const boundary = tokenizer.boundary()
        if (boundary !== undefined) splits.offer(end - byteLengthOf(boundary.pending, csv.encoding), boundary.rows, boundary.line)
      }
      if (out.length > 0) {
        yield* out
        out.length = 0
      }
    }
    if (range !== undefined) {
      // Whether the range ends exactly where a record does: only then may the next range start there.
      const boundary = tokenizer.boundary()
      readOptions[PART_ENDS_AT_RECORD] = boundary !== undefined && boundary.pending === ""
      readOptions[PART_NEXT_LINE] = tokenizer.line
    }
    tokenizer.end(out)
    takeHeader()
    if (csv.header && labels.length === 0) for (let j = 0; j < csv.columns; j++) labels.push("")
    yield* out
    readOptions["rowsWithExtraFields"] = tokenizer.rowsWithExtraFields
    if (tokenizer.rowsWithExtraFields > 0) readOptions["firstLineWithExtraFields"] = tokenizer.firstExtraFieldsLine
    readOptions["rowsWithMissingFields"] = tokenizer.rowsWithMissingFields
    if (splits !== undefined && splits.points.length > 0) readOptions["splits"] = splits.points
  }
  return { labels, readOptions, textValues: true, batches: batches() }
}
