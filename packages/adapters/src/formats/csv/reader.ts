import type { CsvReadOptions } from "../read-options.ts"
import { FileReadError } from "../errors.ts"
import { byteLengthOf, decodeHead, detectEncoding, readHead, readTextChunks } from "../text-encoding.ts"
import type { ColumnarBatch, OpenRequest, RangeEnd, TableSource } from "../types.ts"
import { sniffCsv } from "./dialect.ts"
import { splitPlanner } from "./parts.ts"
import { CsvTokenizer } from "./text-tokenizer.ts"

/**
 * CSV/TSV reader for profiling (and for re-reading as text, which imports do not need: they read
 * field positions in the bytes with byte-tokenizer.ts). A first reading detects the encoding
 * (text-encoding.ts) and the dialect and header (dialect.ts) on the head of the file, then
 * tokenizes the whole file (text-tokenizer.ts) into column-major batches of strings, noting split
 * points for parallel reads (parts.ts) and counting short and long records.
 *
 * Parser choice, by measurement (tests/bench/csv-parsers.bench.ts on a generated 101 MB,
 * 10-column file, this machine): profiling tokenizes decoded text with the hand-written tokenizer
 * of text-tokenizer.ts (0.88 s, writing column-major batches of strings, which inference needs),
 * ahead of papaparse (1.44 s) and csv-parse (about 3.8 times slower than papaparse); imports read
 * field positions in the UTF-8 bytes with byte-tokenizer.ts (0.23 s), and the packers parse
 * values from the bytes without a string per field.
 */

const SNIFF_CHARS = 512 * 1024

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

export const openCsv = async (path: string, request: OpenRequest): Promise<TableSource> => {
  let settings = request.again as CsvReadOptions | undefined
  /** Size of the file on a first reading (the profile), which notes where a later read may split it. */
  let firstReadingSize: number | undefined
  if (settings === undefined) {
    const { head, size } = await readHead(path)
    firstReadingSize = size
    if (size === 0) throw new FileReadError("corrupt", "the file is empty")
    const wholeFile = head.length === size
    const guess = request.encoding !== undefined
      ? { encoding: request.encoding, guessed: false }
      : detectEncoding(head, wholeFile)
    const text = decodeHead(head, guess.encoding)
    const sample = text.length > SNIFF_CHARS ? text.slice(0, SNIFF_CHARS) : text
    if (sample.trim().length === 0 && wholeFile) throw new FileReadError("corrupt", "the file has no data")
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
  const range = request.range
  const labels: Array<string> = []
  // A range after the file's start has no header row: its columns are known from the start (by position).
  if (!csv.header || (range?.start ?? 0) > 0) for (let j = 0; j < csv.columns; j++) labels.push("")
  const readOptions: Mutable<CsvReadOptions> = { ...csv }
  let rangeEnd: RangeEnd | undefined
  const splits = firstReadingSize === undefined ? undefined : splitPlanner(firstReadingSize, csv.encoding, range?.start ?? 0)
  const batches = async function*(): AsyncGenerator<ColumnarBatch> {
    const tokenizer = new CsvTokenizer(csv, csv.columns, request.batchRows, request.limits, csv.header && (range?.start ?? 0) === 0)
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
      const boundary = tokenizer.boundary()
      rangeEnd = { endsAtRecord: boundary !== undefined && boundary.pending === "", nextLine: tokenizer.line }
    }
    tokenizer.end(out)
    takeHeader()
    if (csv.header && labels.length === 0) for (let j = 0; j < csv.columns; j++) labels.push("")
    yield* out
    readOptions.rowsWithExtraFields = tokenizer.rowsWithExtraFields
    if (tokenizer.rowsWithExtraFields > 0) readOptions.firstLineWithExtraFields = tokenizer.firstExtraFieldsLine
    readOptions.rowsWithMissingFields = tokenizer.rowsWithMissingFields
    if (splits !== undefined && splits.points.length > 0) readOptions.splits = splits.points
  }
  return { labels, readOptions, textValues: true, batches: batches(), rangeEnd: () => rangeEnd }
}
