import { sniffCsv } from "./csv-dialect.ts"
import { type CsvDialect, type CsvLimits, CsvTokenizer } from "./csv-tokenizer.ts"
import { decodeHead, detectEncoding, readHead, readText, type TextEncoding } from "./encoding.ts"
import { RawReadError, type RawReadOptions } from "./raw.ts"
import type { ColumnarBatch, TableSource } from "./table.ts"

/**
 * CSV/TSV reader. Parser choice, by measurement (tests/bench/csv-parsers.bench.ts on a generated
 * 10-column file, this machine): the hand-written tokenizer of csv-tokenizer.ts over decoded
 * string chunks, writing column-major batches directly, was the fastest candidate — ahead of
 * papaparse (string chunks, row arrays) and a byte-level tokenizer over Buffers (per-field
 * UTF-8 decoding costs more than one bulk decode of the chunk). See the benchmark for figures.
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

export const openCsv = async (
  path: string,
  options: RawReadOptions,
  limits: TextLimits = defaultTextLimits
): Promise<TableSource> => {
  let settings = knownOptions(options.readOptions)
  if (settings === undefined) {
    const { head, size } = await readHead(path)
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
  const batches = async function*(): AsyncGenerator<ColumnarBatch> {
    const tokenizer = new CsvTokenizer(dialect, csv.columns, batchSize, limits, csv.header)
    const out: Array<ColumnarBatch> = []
    const takeHeader = () => {
      if (csv.header && labels.length === 0 && tokenizer.header !== undefined) {
        for (let j = 0; j < csv.columns; j++) labels.push(tokenizer.header[j] ?? "")
      }
    }
    for await (const text of readText(path, csv.encoding)) {
      tokenizer.feed(text, out)
      takeHeader()
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
  }
  return { labels, readOptions, textValues: true, batches: batches() }
}
