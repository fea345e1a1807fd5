import type { DialectOverride } from "@ingest/domain"
import { open } from "node:fs/promises"
import { FileReadError } from "../errors.ts"
import { findTrailer, joinHeaderRows, type LayoutRow } from "../layout.ts"
import { headerRowsOf } from "./header-rows.ts"
import type { CsvReadOptions } from "../read-options.ts"
import { byteLengthOf, decodeHead, detectEncoding, readHead, readTextChunks, type TextEncoding } from "../text-encoding.ts"
import type { ColumnarBatch, CsvDialect, OpenRequest, RangeEnd, ReadingReport, TableSource } from "../types.ts"
import { type DialectChoice, sniffCsv, splitRecords } from "./dialect.ts"
import { CsvByteTokenizer, type CsvFields, feedUtf8, utf8DataStart } from "./byte-tokenizer.ts"
import { splitPlanner } from "./parts.ts"
import { type Layout, reportOf } from "./report.ts"
import { CsvTokenizer } from "./text-tokenizer.ts"

/**
 * CSV/TSV reader for profiling (and for re-reading as text, which imports do not need: they read
 * field positions in the bytes with byte-tokenizer.ts). A first reading detects the encoding
 * (text-encoding.ts) and the dialect and header (dialect.ts) on the head of the file, then
 * reads the whole file, noting split points for parallel reads (parts.ts) and counting short and
 * long records: a UTF-8 file whose data runs to its end is read as field positions in its bytes
 * (byte-tokenizer.ts, and inference reads the bytes: values/inference.ts observeFields); any
 * other (another encoding, a trailer or a further table to leave out) is tokenized as text
 * (text-tokenizer.ts) into column-major batches of strings. Where the table is (layout.ts): a
 * preamble and header rows on the head, a trailer (footnotes, a totals row) on the last 64 KiB,
 * a further table on the head; what is left out is said in the report.
 *
 * Parser choice, by measurement (tests/bench/csv-parsers.bench.ts on a generated 101 MB,
 * 10-column file, this machine): field positions in the UTF-8 bytes with byte-tokenizer.ts
 * (0.23 s), then inference and the packers read values from the bytes without a string per
 * field; text is tokenized by the hand-written tokenizer of text-tokenizer.ts (0.88 s, writing
 * column-major batches of strings), ahead of papaparse (1.44 s) and csv-parse (about 3.8 times
 * slower than papaparse).
 */

const SNIFF_CHARS = 512 * 1024
/** Bytes at the end of the file where a trailer (footnotes, totals) is looked for. */
const TAIL_BYTES = 64 * 1024
/** Trailer records looked for at most. */
const MAX_TRAILER_RECORDS = 200

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const lineCount = (text: string, newline: string): number => {
  let count = 0
  for (let i = text.indexOf(newline); i !== -1; i = text.indexOf(newline, i + 1)) count++
  return text.length === 0 || text.endsWith(newline) ? count : count + 1
}

/** The records of the last bytes of the file, from its first whole line on, and the lines they span. */
const tailRecords = async (
  path: string,
  size: number,
  encoding: TextEncoding,
  dialect: CsvDialect
): Promise<{ readonly records: ReadonlyArray<LayoutRow>; readonly lines: number }> => {
  const handle = await open(path, "r")
  try {
    let from = Math.max(0, size - TAIL_BYTES)
    if ((encoding === "utf-16le" || encoding === "utf-16be") && from % 2 === 1) from++
    const bytes = Buffer.alloc(size - from)
    await handle.read(bytes, 0, bytes.length, from)
    const text = new TextDecoder(encoding).decode(bytes)
    const cut = text.indexOf(dialect.newline)
    const whole = cut === -1 ? "" : text.slice(cut + 1)
    return { records: splitRecords(whole, dialect, Number.MAX_SAFE_INTEGER, true).records, lines: lineCount(whole, dialect.newline) }
  } finally {
    await handle.close()
  }
}

/** A user's choices in the terms of the sniffer. */
const choiceOf = (dialect: DialectOverride | undefined): DialectChoice => {
  if (dialect === undefined) return {}
  const { delimiter } = dialect
  if (delimiter !== undefined && delimiter.length === 2 && delimiter !== ", ") {
    throw new FileReadError("unsupported", `the delimiter ${JSON.stringify(delimiter)} is not supported: use one character, or ", "`)
  }
  if (delimiter !== undefined && (delimiter === "\n" || delimiter === "\r" || delimiter === dialect.quote)) {
    throw new FileReadError("unsupported", `the delimiter ${JSON.stringify(delimiter)} cannot separate fields`)
  }
  return {
    ...(delimiter !== undefined
      ? { delimiter: delimiter === ", " ? "," : delimiter, skipInitialSpace: delimiter === ", " || delimiter === " " }
      : {}),
    ...(dialect.quote !== undefined ? { quote: dialect.quote } : {}),
    ...(dialect.escape !== undefined ? { escape: dialect.escape } : {}),
    ...(dialect.headerRows !== undefined ? { headerRows: dialect.headerRows } : {})
  }
}

/** A first reading: encoding, dialect and layout from the head (and tail) of the file. */
const detect = async (path: string, request: OpenRequest): Promise<Layout> => {
  const { head, size } = await readHead(path)
  if (size === 0) throw new FileReadError("corrupt", "the file is empty")
  const wholeFile = head.length === size
  const forced = request.encoding ?? request.dialect?.encoding
  const guess = forced !== undefined ? { encoding: forced, guessed: false } : detectEncoding(head, wholeFile)
  const text = decodeHead(head, guess.encoding)
  const sample = text.length > SNIFF_CHARS ? text.slice(0, SNIFF_CHARS) : text
  if (sample.trim().length === 0 && wholeFile) throw new FileReadError("corrupt", "the file has no data")
  const atEof = wholeFile && sample.length === text.length
  const given = choiceOf(request.dialect)
  let sniffed = sniffCsv(sample, atEof, given)
  const skipLines = request.dialect?.skipLeadingRows
  if (skipLines !== undefined) {
    const kept = sniffed.records.filter((r) => !r.dropped)
    const last = sniffed.records.at(-1)?.line ?? 0
    if (skipLines > 0 && skipLines >= last && !atEof) {
      throw new FileReadError("unsupported", `skipLeadingRows (${skipLines}) reaches past the first ${last} lines, which are all that is examined`)
    }
    sniffed = sniffCsv(sample, atEof, { ...given, skip: kept.filter((r) => r.line <= skipLines).length })
  }
  const { dialect, skip, headerRows, width, records } = sniffed
  const kept = records.filter((r) => !r.dropped)
  if (kept.length <= skip + headerRows && skip + headerRows > 0 && atEof) {
    throw new FileReadError("unsupported", "no data rows are left after the rows skipped and the header rows")
  }
  const headerRecord = kept[skip]
  const leadingLines = skip > 0 || (headerRecord !== undefined && headerRecord.line > 1 && skipLines !== undefined)
    ? (headerRecord?.line ?? 1) - 1
    : 0
  const headerLines = headerRows > 0 && headerRecord !== undefined
    ? { from: headerRecord.line, to: (kept[skip + headerRows]?.line ?? headerRecord.line + headerRows) - 1 }
    : undefined
  // What follows the data: a further table on the head, else a trailer on the tail.
  let holdBack = 0
  let limit: number | undefined
  let furtherTableLine: number | undefined
  let trailer: Layout["trailer"]
  const skipTrailing = request.dialect?.skipTrailingRows
  const tail = atEof
    ? { records, lines: lineCount(text, dialect.newline) }
    : await tailRecords(path, size, guess.encoding, dialect)
  const tailKept = tail.records.filter((r) => !r.dropped)
  if (skipTrailing !== undefined) {
    if (skipTrailing > 0) {
      const firstLine = tail.lines - skipTrailing + 1
      holdBack = tailKept.filter((r) => r.line >= firstLine).length
      if (skipTrailing > tail.lines) throw new FileReadError("unsupported", `skipTrailingRows (${skipTrailing}) reaches past the last ${tail.lines} lines, which are all that is examined`)
      trailer = { linesFromEnd: skipTrailing, total: false, notes: 0 }
    }
  } else if (sniffed.furtherTable !== undefined) {
    limit = sniffed.furtherTable.dataRows
    furtherTableLine = sniffed.furtherTable.line
  } else {
    const body = atEof ? tail.records.filter((r) => r.line > (kept[skip + headerRows - 1]?.line ?? 0)) : tail.records
    const found = findTrailer(body.slice(-MAX_TRAILER_RECORDS * 2), width)
    if (found !== undefined && found.rows <= MAX_TRAILER_RECORDS) {
      holdBack = found.rows
      trailer = { linesFromEnd: tail.lines - found.line + 1, total: found.total, notes: found.notes }
    }
  }
  const csv: CsvReadOptions = {
    encoding: guess.encoding,
    encodingGuessed: guess.guessed,
    delimiter: dialect.delimiter,
    quote: dialect.quote,
    escape: dialect.escape,
    newline: dialect.newline,
    header: headerRows > 0,
    ...(headerRows > 1 ? { headerRows } : {}),
    ...(skip > 0 ? { skipRecords: skip } : {}),
    ...(dialect.skipInitialSpace === true ? { skipInitialSpace: true } : {}),
    columns: width
  }
  return { csv, holdBack, limit, leadingLines, headerLines, furtherTableLine, trailer }
}

/** Rows from `from` on that were short: their last field is missing (null, where an empty field is ""). */
const shortRows = (batch: ColumnarBatch, from: number): number => {
  const last = batch.columns.at(-1)
  let count = 0
  for (let r = from; r < batch.length; r++) if (last === undefined || last[r] === null || last[r] === undefined) count++
  return count
}

/** The same rows without their last `n`. */
const withoutLast = (batch: ColumnarBatch, keep: number): ColumnarBatch => ({
  length: keep,
  columns: batch.columns.map((c) => (c === undefined || c.length <= keep ? c : c.slice(0, keep)))
})

export const openCsv = async (path: string, request: OpenRequest): Promise<TableSource> => {
  const again = request.again as CsvReadOptions | undefined
  /** Size of the file on a first reading (the profile), which notes where a later read may split it. */
  let firstReadingSize: number | undefined
  let layout: Layout | undefined
  if (again === undefined) {
    firstReadingSize = (await readHead(path, 0)).size
    layout = await detect(path, request)
  }
  const csv = again ?? layout!.csv
  const range = request.range
  const fromStart = (range?.start ?? 0) === 0
  const toEnd = range === undefined || firstReadingSize === undefined || range.end >= firstReadingSize
  const headerRows = headerRowsOf(csv)
  const labels: Array<string> = []
  // A range after the file's start has no header row: its columns are known from the start (by position).
  if (headerRows === 0 || !fromStart) for (let j = 0; j < csv.columns; j++) labels.push("")
  const readOptions: Mutable<CsvReadOptions> = { ...csv }
  let rangeEnd: RangeEnd | undefined
  let report: ReadingReport | undefined
  const holdBack = toEnd ? layout?.holdBack ?? 0 : 0
  const limit = fromStart ? layout?.limit ?? again?.dataRows : undefined
  const splits = firstReadingSize === undefined ? undefined : splitPlanner(firstReadingSize, csv.encoding, range?.start ?? 0)
  const finish = (counts: { given: number; seen: number; lines: number }) => {
    if (splits !== undefined && splits.points.length > 0) readOptions.splits = splits.points
    if (limit !== undefined || holdBack > 0) readOptions.dataRows = counts.given
    // The first part of a file read in parts reports its layout; the merge adds the rows of every part (parts.ts).
    if (layout !== undefined && fromStart) report = reportOf(readOptions, layout, counts, toEnd ? "whole" : "first")
  }
  // A first reading of UTF-8 data that runs to the end of the file: field positions in the bytes.
  if (again === undefined && csv.encoding === "utf-8" && holdBack === 0 && limit === undefined) {
    const start = range?.start ?? 0
    const fields = async function*(): AsyncGenerator<CsvFields> {
      // A byte order mark is left out: the tokenizer's offsets start after it.
      const firstByte = await utf8DataStart(path, start)
      const tokenizer = new CsvByteTokenizer(csv, csv.columns, request.batchRows, request.limits, fromStart ? csv.skipRecords ?? 0 : 0, firstByte, {
        headerRecords: fromStart ? headerRows : 0
      })
      const counts = tokenizer.counted!
      const takeHeader = () => {
        if (headerRows > 0 && labels.length === 0 && counts.headerRows.length === headerRows) {
          labels.push(...joinHeaderRows(counts.headerRows, csv.columns))
        }
      }
      let rows = 0
      for await (const _ of feedUtf8(tokenizer, path, firstByte, range?.end)) {
        for (let batch = tokenizer.next(false); batch !== undefined; batch = tokenizer.next(false)) {
          takeHeader()
          rows += batch.length
          yield batch
          splits?.offer(tokenizer.nextRecordOffset, rows, counts.line)
        }
      }
      if (range !== undefined) rangeEnd = { endsAtRecord: tokenizer.pendingBytes === 0, nextLine: counts.line }
      for (let batch = tokenizer.next(true); batch !== undefined; batch = tokenizer.next(true)) {
        takeHeader()
        rows += batch.length
        yield batch
      }
      takeHeader()
      if (labels.length === 0) for (let j = 0; j < csv.columns; j++) labels.push("")
      readOptions.rowsWithExtraFields = counts.rowsWithExtraFields
      if (counts.rowsWithExtraFields > 0) readOptions.firstLineWithExtraFields = counts.firstExtraFieldsLine
      readOptions.rowsWithMissingFields = counts.rowsWithMissingFields
      finish({ given: rows, seen: rows, lines: counts.line - 1 })
    }
    return {
      labels,
      readOptions,
      textValues: true,
      batches: (async function*() {})(),
      fields: fields(),
      rangeEnd: () => rangeEnd,
      report: () => report
    }
  }
  const batches = async function*(): AsyncGenerator<ColumnarBatch> {
    const tokenizer = new CsvTokenizer(csv, csv.columns, request.batchRows, request.limits, fromStart ? headerRows : 0, fromStart ? csv.skipRecords ?? 0 : 0)
    const out: Array<ColumnarBatch> = []
    const takeHeader = () => {
      if (headerRows > 0 && labels.length === 0 && tokenizer.headerRows.length === headerRows) {
        labels.push(...joinHeaderRows(tokenizer.headerRows, csv.columns))
      }
    }
    /** Rows handed on, rows seen, and batches kept back until it is known that they are not the trailer. */
    let given = 0
    let seen = 0
    /** Rows left out (after the data) that were short: the tokenizer counted them. */
    let shortLeftOut = 0
    const held: Array<ColumnarBatch> = []
    let heldRows = 0
    const pass = function*(batch: ColumnarBatch): Generator<ColumnarBatch> {
      seen += batch.length
      if (limit !== undefined) {
        const keep = Math.max(0, Math.min(batch.length, limit - given))
        shortLeftOut += shortRows(batch, keep)
        if (keep === 0) return
        given += keep
        yield keep === batch.length ? batch : withoutLast(batch, keep)
        return
      }
      if (holdBack === 0) {
        given += batch.length
        yield batch
        return
      }
      held.push(batch)
      heldRows += batch.length
      while (held.length > 1 && heldRows - held[0]!.length >= holdBack) {
        const first = held.shift()!
        heldRows -= first.length
        given += first.length
        yield first
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
        for (const batch of out) yield* pass(batch)
        out.length = 0
      }
    }
    if (range !== undefined) {
      const boundary = tokenizer.boundary()
      rangeEnd = { endsAtRecord: boundary !== undefined && boundary.pending === "", nextLine: tokenizer.line }
    }
    tokenizer.end(out)
    takeHeader()
    if (headerRows > 0 && labels.length === 0) for (let j = 0; j < csv.columns; j++) labels.push("")
    for (const batch of out) yield* pass(batch)
    if (held.length > 0) {
      let keep = Math.max(0, heldRows - holdBack)
      for (const batch of held) {
        const n = Math.min(batch.length, keep)
        shortLeftOut += shortRows(batch, n)
        if (n > 0) yield n === batch.length ? batch : withoutLast(batch, n)
        keep -= n
        given += n
      }
    }
    readOptions.rowsWithExtraFields = tokenizer.rowsWithExtraFields
    if (tokenizer.rowsWithExtraFields > 0) readOptions.firstLineWithExtraFields = tokenizer.firstExtraFieldsLine
    readOptions.rowsWithMissingFields = tokenizer.rowsWithMissingFields - shortLeftOut
    finish({ given, seen, lines: tokenizer.line - 1 })
  }
  return {
    labels,
    readOptions,
    textValues: true,
    batches: batches(),
    rangeEnd: () => rangeEnd,
    report: () => report
  }
}
