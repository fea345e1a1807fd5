import { type CsvFields, readCsvFields } from "./csv-bytes.ts"
import { sniffCsv } from "./csv-dialect.ts"
import { type CsvDialect, type CsvLimits, CsvTokenizer } from "./csv-tokenizer.ts"
import {
  byteLengthOf,
  decodeHead,
  detectEncoding,
  hasByteOffsets,
  readHead,
  readTextChunks,
  type TextEncoding
} from "./encoding.ts"
import { type CsvPart, RawReadError, type RawReadOptions } from "./raw.ts"
import type { ColumnarBatch, TableSource } from "./table.ts"

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

/** Keeps the first record boundary at or after each eighth of the file. */
const splitPlanner = (size: number, encoding: TextEncoding) => {
  if (!hasByteOffsets(encoding) || size < MIN_SPLIT_BYTES) return undefined
  const points: Array<CsvSplit> = []
  return {
    points,
    offer: (byte: number, rows: number, line: number) => {
      const next = Math.ceil((size * (points.length + 1)) / SPLIT_EIGHTHS)
      if (points.length < SPLIT_EIGHTHS - 1 && byte >= next && byte < size) points.push({ byte, rows, line })
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
  const labels: Array<string> = []
  if (!csv.header) for (let j = 0; j < csv.columns; j++) labels.push("")
  const readOptions: Record<string, unknown> = { ...csv }
  const batchSize = options.batchSize ?? DEFAULT_BATCH
  const part = options.part
  const splits = firstReadingSize === undefined ? undefined : splitPlanner(firstReadingSize, csv.encoding)
  const batches = async function*(): AsyncGenerator<ColumnarBatch> {
    const tokenizer = new CsvTokenizer(dialect, csv.columns, batchSize, limits, csv.header && (part?.start ?? 0) === 0)
    if (part !== undefined) tokenizer.line = part.line
    const out: Array<ColumnarBatch> = []
    const takeHeader = () => {
      if (csv.header && labels.length === 0 && tokenizer.header !== undefined) {
        for (let j = 0; j < csv.columns; j++) labels.push(tokenizer.header[j] ?? "")
      }
    }
    for await (const { text, end } of readTextChunks(path, csv.encoding, part)) {
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
