import { FileReadError } from "../errors.ts"
import { mib, refuseBeyondHeap } from "../limits.ts"
import type { ColumnarBatch, CsvDialect, CsvLimits } from "../types.ts"

const CR = 13


/** Heap an unfinished record may take per character: up to 2 bytes each, twice while a chunk joins it, and room to spare. */
const BYTES_PER_HELD_CHAR = 8

/**
 * Streaming CSV tokenizer over decoded text chunks, writing fields straight into column-major
 * batch arrays (no per-row arrays). Unquoted fields are found with `indexOf` on the delimiter and
 * the newline (positions cached across fields), quoted fields with `indexOf` on the quote.
 * A record cut by the end of a chunk is kept and re-tokenized with the next chunk.
 *
 * Records: a blank line is skipped when the table has more than one column; a record with fewer
 * fields than the table gets nulls; fields beyond the table's width are dropped and counted
 * (`rowsWithExtraFields`) unless they are empty (a trailing delimiter). A quote closing a field
 * must be followed by a delimiter or a newline; text after it is kept as part of the field.
 */
export class CsvTokenizer {
  private pending = ""
  private readonly delimiter: string
  private readonly newline: string
  private readonly quoteCode: number
  private readonly escapeCode: number
  private readonly backslashEscape: boolean
  private columns: Array<Array<string | null>>
  private rows = 0
  /** Records still to skip before the data: leading ones, then the header rows. */
  private skipPending: number
  private readonly headerRecords: number
  private readonly skipSpaces: boolean
  /** The header rows, once read (the last `headerRecords` of the records skipped). */
  readonly headerRows: Array<Array<string>> = []
  /** 1-based physical line where the next record starts. */
  line = 1
  /** Data rows emitted so far. */
  rowsEmitted = 0
  rowsWithExtraFields = 0
  firstExtraFieldsLine = 0
  rowsWithMissingFields = 0
  /** Whether a quoted field contained a newline. */
  quotedNewlines = false
  private quotedEnd = 0
  private readonly width: number
  private readonly batchSize: number
  private readonly limits: CsvLimits

  /**
   * @param headerRecords header rows (a boolean: one or none), kept in `headerRows`
   * @param skipRecords records before the header rows, skipped (a preamble)
   */
  constructor(
    dialect: CsvDialect,
    width: number,
    batchSize: number,
    limits: CsvLimits,
    headerRecords: number | boolean,
    skipRecords = 0
  ) {
    this.width = width
    this.batchSize = batchSize
    this.limits = limits
    this.delimiter = dialect.delimiter
    this.newline = dialect.newline
    this.quoteCode = dialect.quote === "" ? -1 : dialect.quote.charCodeAt(0)
    this.escapeCode = dialect.escape === "" ? -1 : dialect.escape.charCodeAt(0)
    this.backslashEscape = dialect.escape === "\\" && dialect.quote !== "\\"
    this.headerRecords = Number(headerRecords)
    this.skipPending = skipRecords + this.headerRecords
    this.skipSpaces = dialect.skipInitialSpace === true
    this.columns = this.newColumns()
  }

  private newColumns(): Array<Array<string | null>> {
    const columns: Array<Array<string | null>> = []
    for (let j = 0; j < this.width; j++) columns.push(new Array<string | null>(this.batchSize))
    return columns
  }

  /**
   * Where the next record starts: the text held back for it (the unfinished record at the end of
   * the input so far), the data rows before it and its line. Undefined until the header row is read.
   */
  boundary(): { readonly pending: string; readonly rows: number; readonly line: number } | undefined {
    if (this.skipPending > 0) return undefined
    return { pending: this.pending, rows: this.rowsEmitted + this.rows, line: this.line }
  }

  /** Tokenizes a chunk; returns the batches it completed. */
  feed(text: string, out: Array<ColumnarBatch>): void {
    const buf = this.pending.length > 0 ? this.pending + text : text
    this.pending = ""
    this.parse(buf, false, out)
  }

  /** Ends the input; returns the last batches. */
  end(out: Array<ColumnarBatch>): void {
    const buf = this.pending
    this.pending = ""
    if (buf.length > 0) this.parse(buf, true, out)
    if (this.rows > 0) this.flush(out)
  }

  private flush(out: Array<ColumnarBatch>): void {
    const n = this.rows
    const columns = this.columns
    if (n < this.batchSize) for (const column of columns) column.length = n
    out.push({ length: n, columns })
    this.rowsEmitted += n
    this.rows = 0
    this.columns = this.newColumns()
  }

  private fail(kind: "corrupt" | "too-large", message: string): never {
    throw new FileReadError(kind, message)
  }

  private parse(buf: string, last: boolean, out: Array<ColumnarBatch>): void {
    const n = buf.length
    const D = this.delimiter
    const NL = this.newline
    const dCode = D.charCodeAt(0)
    const qCode = this.quoteCode
    const width = this.width
    const maxField = this.limits.maxFieldChars
    let nextDelim = buf.indexOf(D)
    let nextNl = buf.indexOf(NL)
    let pos = 0
    while (pos < n) {
      const recordStart = pos
      const row = this.rows
      const columns = this.columns
      let col = 0
      let extra = false
      let quotedAny = false
      let lastEmpty = false
      let lines = 1
      for (;;) {
        let value: string
        let term: number // 0 delimiter, 1 newline, 2 end of input
        if (this.skipSpaces) while (pos < n && buf.charCodeAt(pos) === 32) pos++
        if (qCode !== -1 && pos < n && buf.charCodeAt(pos) === qCode) {
          const quoted = this.quoted(buf, pos, last)
          if (quoted === undefined) {
            this.keep(buf, recordStart)
            return
          }
          value = quoted
          quotedAny = true
          pos = this.quotedEnd
          if (value.length > maxField) this.fieldTooLarge()
          if (this.quotedNewlines) lines += countNewlines(value, NL)
          if (pos >= n) term = 2
          else term = buf.charCodeAt(pos) === dCode ? 0 : 1
          if (nextDelim !== -1 && nextDelim < pos) nextDelim = buf.indexOf(D, pos)
          if (nextNl !== -1 && nextNl < pos) nextNl = buf.indexOf(NL, pos)
        } else {
          if (nextDelim !== -1 && nextDelim < pos) nextDelim = buf.indexOf(D, pos)
          let end: number
          if (nextDelim !== -1 && (nextDelim < nextNl || nextNl === -1)) {
            end = nextDelim
            term = 0
          } else if (nextNl !== -1) {
            end = nextNl
            term = 1
          } else if (!last) {
            this.keep(buf, recordStart)
            return
          } else {
            end = n
            term = 2
          }
          if (end - pos > maxField) this.fieldTooLarge()
          const valueEnd = term === 1 && end > pos && buf.charCodeAt(end - 1) === CR ? end - 1 : end
          value = buf.slice(pos, valueEnd)
          pos = end
        }
        if (col < width) columns[col]![row] = value
        else if (value.length > 0) extra = true
        col++
        if (term === 0) {
          pos++
          continue
        }
        lastEmpty = value.length === 0
        if (term === 1) {
          pos++
          if (nextNl < pos) nextNl = buf.indexOf(NL, pos)
        }
        break
      }
      this.line += lines
      if (col === 1 && lastEmpty && !quotedAny && width > 1) continue
      if (this.skipPending > 0) {
        if (this.skipPending-- <= this.headerRecords) {
          const header: Array<string> = []
          for (let j = 0; j < Math.min(col, width); j++) header.push(columns[j]![row] as string)
          this.headerRows.push(header)
        }
        continue
      }
      if (col < width) {
        for (let j = col; j < width; j++) columns[j]![row] = null
        this.rowsWithMissingFields++
      }
      if (extra) {
        if (this.rowsWithExtraFields === 0) this.firstExtraFieldsLine = this.line - lines
        this.rowsWithExtraFields++
      }
      this.rows = row + 1
      if (this.rows === this.batchSize) this.flush(out)
    }
  }

  private fieldTooLarge(): never {
    this.fail("too-large", `a field on line ${this.line} is larger than ${mib(this.limits.maxFieldChars)}`)
  }

  /** Keeps an unfinished record for the next chunk. */
  private keep(buf: string, recordStart: number): void {
    const rest = buf.length - recordStart
    if (rest > this.limits.maxRecordChars) {
      this.fail("too-large", `the record starting on line ${this.line} is larger than ${mib(this.limits.maxRecordChars)}`)
    }
    // The unfinished record is copied whole each time a chunk joins it: it may hold a fraction of the heap at most.
    refuseBeyondHeap(rest * BYTES_PER_HELD_CHAR)
    this.pending = recordStart === 0 ? buf : buf.slice(recordStart)
  }

  /**
   * Reads the quoted field starting at `pos`; sets `quotedEnd` to the index of its terminator.
   * Undefined when the chunk ends inside it.
   */
  private quoted(buf: string, pos: number, last: boolean): string | undefined {
    const n = buf.length
    const qCode = this.quoteCode
    const quote = String.fromCharCode(qCode)
    const backslash = this.backslashEscape
    let p = pos + 1
    let value = ""
    for (;;) {
      const q = buf.indexOf(quote, p)
      const b = backslash ? buf.indexOf("\\", p) : -1
      if (b !== -1 && (q === -1 || b < q)) {
        if (b + 1 >= n) {
          if (!last) return undefined
          this.fail("corrupt", `unterminated quoted field starting on line ${this.line}`)
        }
        value += buf.slice(p, b) + buf[b + 1]
        p = b + 2
        if (value.length > this.limits.maxFieldChars) this.fieldTooLarge()
        continue
      }
      if (q === -1) {
        if (!last) return undefined
        this.fail("corrupt", `unterminated quoted field starting on line ${this.line}`)
      }
      if (q + 1 >= n && !last) return undefined
      if (!backslash && this.escapeCode === qCode && buf.charCodeAt(q + 1) === qCode) {
        value += buf.slice(p, q + 1)
        p = q + 2
        if (value.length > this.limits.maxFieldChars) this.fieldTooLarge()
        continue
      }
      value += buf.slice(p, q)
      p = q + 1
      break
    }
    if (!this.quotedNewlines && value.indexOf(this.newline) !== -1) this.quotedNewlines = true
    // After the closing quote: a delimiter, a newline (maybe after \r) or the end.
    if (p >= n) {
      if (!last) return undefined
      this.quotedEnd = p
      return value
    }
    let c = buf.charCodeAt(p)
    const dCode = this.delimiter.charCodeAt(0)
    const nlCode = this.newline.charCodeAt(0)
    if (c === CR && nlCode !== CR) {
      if (p + 1 >= n && !last) return undefined
      if (p + 1 >= n || buf.charCodeAt(p + 1) === nlCode) {
        this.quotedEnd = p + 1
        return value
      }
    }
    if (c === dCode || c === nlCode) {
      this.quotedEnd = p
      return value
    }
    // Text after the closing quote belongs to the field (lenient reading of malformed quoting).
    let k = p
    while (k < n) {
      c = buf.charCodeAt(k)
      if (c === dCode || c === nlCode) break
      k++
    }
    if (k >= n && !last) return undefined
    const endText = k > p && buf.charCodeAt(k - 1) === CR && c === nlCode ? k - 1 : k
    this.quotedEnd = k
    return value + quote + buf.slice(p, endText)
  }
}

const countNewlines = (s: string, nl: string): number => {
  let count = 0
  let i = s.indexOf(nl)
  while (i !== -1) {
    count++
    i = s.indexOf(nl, i + 1)
  }
  return count
}
