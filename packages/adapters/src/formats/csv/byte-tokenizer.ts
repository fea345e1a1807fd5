import { isUtf8 } from "node:buffer"
import { fieldText } from "../values/byte-grammar.ts"
import { FileReadError } from "../errors.ts"
import { mib, refuseBeyondHeap } from "../limits.ts"
import { recordsBeforeData } from "./header-rows.ts"
import type { CsvReadOptions } from "../read-options.ts"
import { InvalidText, readHead, readRange, readTextChunks, startsWithUtf8Bom, type TextEncoding } from "../text-encoding.ts"
import type { CsvDialect, CsvLimits, CsvPart, ParserSettings } from "../types.ts"

/**
 * Field positions of up to `capacity` CSV records, found in UTF-8 bytes without making a string
 * per field: the packers of values/packing.ts parse numbers and dates from the bytes and copy text bytes
 * as they are. Column-major: the field of row `r` in column `j` is at `j * capacity + r` of
 * `starts` and `ends`. A start ≥ 0 is an offset into `bytes`; -1 marks a missing field (the
 * record was short); a start ≤ -2 is offset `-start - 2` into `unescaped`, which holds the
 * values of quoted fields that had escapes. Valid until the next batch is asked for.
 */
export interface CsvFields {
  readonly length: number
  readonly capacity: number
  readonly bytes: Uint8Array
  readonly unescaped: Uint8Array
  readonly starts: Int32Array
  readonly ends: Int32Array
}

export const MISSING_FIELD = -1

const CR = 13
const BACKSLASH = 92

/** UTF-8 takes at most 3 bytes for a UTF-16 code unit: byte limits that never refuse what the character limits allowed. */
const bytesOfChars = (chars: number) => chars * 3

/** UTF-16 code units of the UTF-8 bytes `buf[s..e)` (what a character limit counts). */
const charsOf = (buf: Uint8Array, s: number, e: number): number => {
  let chars = 0
  for (let k = s; k < e; k++) {
    const b = buf[k]!
    if ((b & 0xc0) !== 0x80) chars += b >= 0xf0 ? 2 : 1
  }
  return chars
}

/** Bytes an unfinished record may take per byte of it: the buffer doubles, and room to spare. */
const BYTES_PER_HELD_BYTE = 4

/**
 * What a first reading (a profile) also needs of the records, which an import does not: the
 * header rows, physical lines, short and long records, and limits counted in characters exactly
 * as the text tokenizer counts them (text-tokenizer.ts), with the same messages.
 */
export interface RecordCounts {
  /** Header rows (the last of the records skipped), as text. */
  readonly headerRows: Array<Array<string>>
  /** 1-based physical line where the next record starts. */
  line: number
  rowsWithExtraFields: number
  firstExtraFieldsLine: number
  rowsWithMissingFields: number
}

/**
 * The byte twin of CsvTokenizer (text-tokenizer.ts), with the same rules for records, quotes and
 * short, long and blank records: profiling reads strings with CsvTokenizer, imports read bytes
 * with this (tests/formats/csv-bytes.test.ts holds the two to the same results). Used after a
 * profile, so it does not count lines or extra fields; it stops at the same limits.
 */
export class CsvByteTokenizer {
  private buffer = new Uint8Array(1 << 20)
  /** Bytes of `buffer` in use, and where the next record starts. */
  private filled = 0
  private pos = 0
  private unescaped = new Uint8Array(1 << 16)
  private unescapedLength = 0
  private readonly starts: Int32Array
  private readonly ends: Int32Array
  private readonly delimiter: number
  private readonly newline: number
  private readonly quote: number
  private readonly doubledQuotes: boolean
  private readonly backslashEscapes: boolean
  private readonly maxFieldBytes: number
  private readonly maxRecordBytes: number
  /** Records still to skip before the data (leading ones and header rows). */
  private skipPending: number
  private readonly skipSpaces: boolean
  /** Where the terminator of the last quoted field read is, and where its value ends (see `quoted`). */
  private quotedEnd = 0
  private quotedValueEnd = 0
  /** A first reading: the newlines inside the last quoted field read (each starts a physical line). */
  private quotedNewlines = 0
  /** File offset of `buffer[0]`, for messages. */
  private offset = 0

  private readonly width: number
  private readonly capacity: number
  /** A first reading: what it counts (undefined for an import). */
  private readonly counts: RecordCounts | undefined
  private readonly headerRecords: number
  private readonly limits: CsvLimits
  /** Where the record being read starts (for messages). */
  private recordStart = 0
  /** A first reading: the unfinished record held beyond the limit in bytes (file offsets), and its characters so far. */
  private held = { start: -1, countedTo: 0, chars: 0 }

  constructor(
    dialect: CsvDialect,
    width: number,
    capacity: number,
    limits: CsvLimits,
    /** Records before the data: leading ones and header rows. */
    skipRecords: number | boolean,
    /** File offset of the first byte pushed. */
    firstByte = 0,
    /** A first reading: the last `headerRecords` of the records skipped are header rows; records are counted. */
    counting?: { readonly headerRecords: number }
  ) {
    this.offset = firstByte
    this.width = width
    this.capacity = capacity
    this.delimiter = dialect.delimiter.charCodeAt(0)
    this.newline = dialect.newline.charCodeAt(0)
    this.quote = dialect.quote === "" ? -1 : dialect.quote.charCodeAt(0)
    this.backslashEscapes = dialect.escape === "\\" && dialect.quote !== "\\"
    this.doubledQuotes = !this.backslashEscapes && dialect.escape === dialect.quote
    this.limits = limits
    this.headerRecords = counting?.headerRecords ?? 0
    this.counts = counting === undefined
      ? undefined
      : { headerRows: [], line: 1, rowsWithExtraFields: 0, firstExtraFieldsLine: 0, rowsWithMissingFields: 0 }
    // Counting: a byte count within the limit is a character count within it; beyond, the characters are counted.
    this.maxFieldBytes = counting === undefined ? bytesOfChars(limits.maxFieldChars) : limits.maxFieldChars
    this.maxRecordBytes = counting === undefined ? bytesOfChars(limits.maxRecordChars) : limits.maxRecordChars
    this.skipPending = Number(skipRecords) + this.headerRecords
    this.skipSpaces = dialect.skipInitialSpace === true
    this.starts = new Int32Array(width * capacity)
    this.ends = new Int32Array(width * capacity)
  }

  /** What a first reading counted (undefined for an import). */
  get counted(): RecordCounts | undefined {
    return this.counts
  }

  /** Bytes pushed and not yet read as records (an unfinished record). */
  get pendingBytes(): number {
    return this.filled - this.pos
  }

  /** File offset where the next record starts. */
  get nextRecordOffset(): number {
    return this.offset + this.pos
  }

  /** Adds input after what is left of the previous input (an unfinished record). */
  push(chunk: Uint8Array): void {
    this.room(chunk.length).set(chunk)
    this.added(chunk.length)
  }

  /**
   * Room for up to `bytes` more input after what is left of the previous input (an unfinished
   * record), to be filled in place (a file read straight into it), then counted with `added`.
   */
  room(bytes: number): Uint8Array {
    const rest = this.filled - this.pos
    if (rest > this.maxRecordBytes) this.recordTooLarge()
    // The unfinished record is held (and copied as the buffer grows) off the heap: it may take a
    // fraction of the worker's memory cap at most, as with the text tokenizer.
    if (this.counts !== undefined) refuseBeyondHeap(rest * BYTES_PER_HELD_BYTE)
    // One byte more than the input: `next` puts a sentinel after it.
    if (rest + bytes + 1 > this.buffer.length) {
      let size = this.buffer.length * 2
      while (size < rest + bytes + 1) size *= 2
      const grown = new Uint8Array(size)
      grown.set(this.buffer.subarray(this.pos, this.filled))
      this.buffer = grown
    } else if (this.pos > 0) {
      this.buffer.copyWithin(0, this.pos, this.filled)
    }
    this.offset += this.pos
    this.filled = rest
    this.pos = 0
    return this.buffer.subarray(rest, rest + bytes)
  }

  /** Counts `bytes` written into the room given last. */
  added(bytes: number): void {
    this.filled += bytes
  }

  /**
   * The next records, at most `capacity`; undefined when the input so far holds no whole record
   * (`last`: the input is over, and an unfinished record is one).
   */
  next(last: boolean): CsvFields | undefined {
    const buf = this.buffer
    const n = this.filled
    const D = this.delimiter
    const NL = this.newline
    const Q = this.quote
    const width = this.width
    const capacity = this.capacity
    const starts = this.starts
    const ends = this.ends
    const maxField = this.maxFieldBytes
    const batchStart = this.pos
    const counts = this.counts
    this.unescapedLength = 0
    let rows = 0
    let pos = this.pos
    /** Counting: the line where the record being read starts, and newlines inside its quoted fields. */
    let line = counts?.line ?? 0
    let quotedLines = 0
    // A newline after the input ends every scan for a delimiter or newline without a bounds check.
    buf[n] = NL
    records: while (pos < n && rows < capacity) {
      const recordStart = pos
      this.recordStart = recordStart
      const unescapedAtStart = this.unescapedLength
      let col = 0
      let quotedAny = false
      let lastEmpty = false
      let extra = false
      quotedLines = 0
      for (;;) {
        let start: number
        let end: number
        if (this.skipSpaces) while (pos < n && buf[pos] === 32) pos++
        let term: number // 0 delimiter, 1 newline, 2 end of input
        if (Q !== -1 && pos < n && buf[pos] === Q) {
          const quoted = this.quoted(buf, pos, n, last)
          if (quoted === undefined) {
            pos = recordStart
            this.unescapedLength = unescapedAtStart
            break records
          }
          start = quoted
          end = this.quotedValueEnd
          quotedAny = true
          quotedLines += this.quotedNewlines
          pos = this.quotedEnd
          term = pos >= n ? 2 : buf[pos] === D ? 0 : 1
        } else {
          let k = pos
          let c = buf[k]
          while (c !== D && c !== NL) c = buf[++k]
          if (k < n) term = c === D ? 0 : 1
          else if (!last) {
            pos = recordStart
            this.unescapedLength = unescapedAtStart
            break records
          } else term = 2
          start = pos
          end = term === 1 && k > pos && buf[k - 1] === CR ? k - 1 : k
          pos = k
        }
        const size = start >= 0 ? end - start : end - (-start - 2)
        if (size > maxField) this.fieldTooLarge(start >= 0 ? buf : this.unescaped, start >= 0 ? start : -start - 2, size)
        if (col < width) {
          starts[col * capacity + rows] = start
          ends[col * capacity + rows] = end
        } else if (size > 0) extra = true
        col++
        if (term === 0) {
          pos++
          continue
        }
        lastEmpty = size === 0
        if (term === 1) pos++
        break
      }
      // A record is a line, and one more per newline inside its quoted fields (as text-tokenizer.ts counts).
      const recordLine = line
      line += 1 + quotedLines
      if (col === 1 && lastEmpty && !quotedAny && width > 1) continue
      if (this.skipPending > 0) {
        if (this.skipPending-- <= this.headerRecords && counts !== undefined) counts.headerRows.push(this.textOfRecord(rows, Math.min(col, width)))
        continue
      }
      if (col < width) {
        for (let j = col; j < width; j++) starts[j * capacity + rows] = MISSING_FIELD
        if (counts !== undefined) counts.rowsWithMissingFields++
      }
      if (extra && counts !== undefined) {
        if (counts.rowsWithExtraFields === 0) counts.firstExtraFieldsLine = recordLine
        counts.rowsWithExtraFields++
      }
      rows++
    }
    if (counts !== undefined) counts.line = line
    this.pos = pos
    // Records end at a newline byte, which no multi-byte sequence contains: whole records are whole text.
    if (pos > batchStart && !isUtf8(buf.subarray(batchStart, pos))) throw new InvalidText("utf-8", this.offset + batchStart)
    if (rows === 0) {
      if (last && pos < n) this.unterminated()
      return undefined
    }
    return { length: rows, capacity, bytes: buf, unescaped: this.unescaped, starts, ends }
  }

  private tooLarge(what: string, bytes: number): never {
    throw new FileReadError("too-large", `${what} is larger than ${Math.round(bytes / 3 / (1 << 20))} MiB`)
  }

  /** The line of byte `at` of the buffer, counting newlines from `from`, whose line is the last counted. */
  private lineAt(from: number, at: number): number {
    let line = this.counts!.line
    const NL = this.newline
    // Buffer's indexOf searches with memchr, a typed array's byte by byte.
    const buf = Buffer.from(this.buffer.buffer, this.buffer.byteOffset, at)
    for (let k = buf.indexOf(NL, from); k !== -1; k = buf.indexOf(NL, k + 1)) line++
    return line
  }

  private fieldTooLarge(buf: Uint8Array, s: number, size: number): void {
    if (this.counts === undefined) this.tooLarge("a field", this.maxFieldBytes)
    const max = this.limits.maxFieldChars
    if (charsOf(buf, s, s + size) > max) {
      throw new FileReadError("too-large", `a field on line ${this.lineAt(this.pos, this.recordStart)} is larger than ${mib(max)}`)
    }
  }

  private recordTooLarge(): void {
    if (this.counts === undefined) this.tooLarge("a record", this.maxRecordBytes)
    const max = this.limits.maxRecordChars
    // The unfinished record only grows between calls: its characters are counted once, as they come.
    const start = this.offset + this.pos
    if (start !== this.held.start) this.held = { start, countedTo: start, chars: 0 }
    this.held.chars += charsOf(this.buffer, this.held.countedTo - this.offset, this.filled)
    this.held.countedTo = this.offset + this.filled
    if (this.held.chars > max) {
      throw new FileReadError("too-large", `the record starting on line ${this.counts.line} is larger than ${mib(max)}`)
    }
  }

  private unterminated(): never {
    if (this.counts === undefined) throw new FileReadError("corrupt", "the file ends inside a quoted field")
    throw new FileReadError("corrupt", `unterminated quoted field starting on line ${this.lineAt(this.pos, this.recordStart)}`)
  }

  /** The first `width` fields of the record just read into row `row`, as text. */
  private textOfRecord(row: number, width: number): Array<string> {
    const fields: Array<string> = []
    for (let j = 0; j < width; j++) {
      const start = this.starts[j * this.capacity + row]!
      const end = this.ends[j * this.capacity + row]!
      fields.push(start >= 0 ? fieldText(this.buffer, start, end) : fieldText(this.unescaped, -start - 2, end))
    }
    return fields
  }

  /** Appends `buf[from..to)` to the unescaped values. */
  private keep(buf: Uint8Array, from: number, to: number): void {
    const need = this.unescapedLength + (to - from)
    if (need > this.unescaped.length) {
      let size = this.unescaped.length * 2
      while (size < need) size *= 2
      const grown = new Uint8Array(size)
      grown.set(this.unescaped.subarray(0, this.unescapedLength))
      this.unescaped = grown
    }
    const out = this.unescaped
    // Most pieces are a few bytes (between doubled quotes): copied by hand, as a view per piece
    // (subarray) would put an object on the heap for each one.
    if (to - from > 64) out.set(buf.subarray(from, to), this.unescapedLength)
    else for (let k = from, at = this.unescapedLength; k < to; k++, at++) out[at] = buf[k]!
    this.unescapedLength = need
  }

  /**
   * Reads the quoted field at `pos`: returns its start (in `buf`, or ≤ -2 in `unescaped` when
   * it had escapes or text after the closing quote) and sets `quotedValueEnd` and `quotedEnd`
   * (the index of its terminator). Undefined when the input ends inside it.
   */
  private quoted(buf: Uint8Array, pos: number, n: number, last: boolean): number | undefined {
    const Q = this.quote
    const NL = this.newline
    const backslash = this.backslashEscapes
    // A first reading counts the newlines inside the value as it goes (an import does not).
    const counting = this.counts !== undefined
    let newlines = 0
    /** Where the value starts in `unescaped` once it has needed unescaping; -1 while it is a plain slice of buf. */
    let copyFrom = -1
    /** Start of the part of the value not yet copied. */
    let p = pos + 1
    let k: number
    for (;;) {
      k = p
      // A quote after the input (the sentinel of `next` meanwhile) ends the scan without a bounds check.
      buf[n] = Q
      if (!backslash && !counting) {
        while (buf[k] !== Q) k++
      } else {
        for (;;) {
          const c = buf[k]
          if (c === Q || (backslash && c === BACKSLASH)) break
          if (c === NL) newlines++
          k++
        }
      }
      buf[n] = NL
      if (k >= n) {
        if (!last) return undefined
        this.unterminated()
      }
      if (buf[k] !== Q) {
        // A backslash escape: the next byte as it is.
        if (k + 1 >= n) {
          if (!last) return undefined
          this.unterminated()
        }
        if (buf[k + 1] === NL) newlines++
        if (copyFrom === -1) copyFrom = this.unescapedLength
        this.keep(buf, p, k)
        this.keep(buf, k + 1, k + 2)
        p = k + 2
        continue
      }
      if (k + 1 >= n && !last) return undefined
      if (this.doubledQuotes && k + 1 < n && buf[k + 1] === Q) {
        if (copyFrom === -1) copyFrom = this.unescapedLength
        this.keep(buf, p, k + 1)
        p = k + 2
        continue
      }
      break
    }
    const closing = k
    const after = closing + 1
    const D = this.delimiter
    this.quotedNewlines = newlines
    // After the closing quote: a delimiter, a newline (maybe after \r) or the end.
    let terminator = -1
    if (after >= n) {
      if (!last) return undefined
      terminator = after
    } else {
      const c = buf[after]
      if (c === CR && NL !== CR) {
        if (after + 1 >= n && !last) return undefined
        if (after + 1 >= n || buf[after + 1] === NL) terminator = after + 1
      }
      if (terminator === -1 && (c === D || c === NL)) terminator = after
    }
    if (terminator !== -1) {
      this.quotedEnd = terminator
      if (copyFrom === -1) {
        this.quotedValueEnd = closing
        return pos + 1
      }
      this.keep(buf, p, closing)
      this.quotedValueEnd = this.unescapedLength
      return -copyFrom - 2
    }
    // Text after the closing quote belongs to the field (lenient reading of malformed quoting).
    let e = after
    let c = 0
    while (e < n) {
      c = buf[e]!
      if (c === D || c === NL) break
      e++
    }
    if (e >= n && !last) return undefined
    const textEnd = e > after && buf[e - 1] === CR && c === NL ? e - 1 : e
    if (copyFrom === -1) {
      copyFrom = this.unescapedLength
      this.keep(buf, pos + 1, after)
    } else {
      this.keep(buf, p, after)
    }
    this.keep(buf, after, textEnd)
    this.quotedEnd = e
    this.quotedValueEnd = this.unescapedLength
    return -copyFrom - 2
  }
}

/**
 * Reads a CSV file's records as field positions (CsvFields), `settings.batchRows` records at a
 * time, from `part` when given. UTF-8 is read as it is; other encodings are decoded and re-encoded
 * as UTF-8 on the way.
 */
export async function* readCsvFields(
  path: string,
  csv: CsvReadOptions,
  part: CsvPart | undefined,
  settings: ParserSettings
): AsyncGenerator<CsvFields> {
  const start = part?.start ?? 0
  const skip = start === 0 ? recordsBeforeData(csv) : 0
  const tokenizer = new CsvByteTokenizer(csv, csv.columns, settings.batchRows, settings.limits, skip, start)
  const input = csv.encoding === "utf-8"
    ? feedUtf8(tokenizer, path, await utf8DataStart(path, start), part?.end)
    : feedReencoded(tokenizer, path, csv.encoding, part)
  for await (const _ of input) {
    for (let fields = tokenizer.next(false); fields !== undefined; fields = tokenizer.next(false)) yield fields
  }
  for (let fields = tokenizer.next(true); fields !== undefined; fields = tokenizer.next(true)) yield fields
}

/** Bytes read from a file at a time. */
const READ_BYTES = 1 << 20

/** Where the data of a UTF-8 file read from `start` begins: after the byte order mark at the file's start. */
export const utf8DataStart = async (path: string, start: number): Promise<number> =>
  start === 0 && startsWithUtf8Bom((await readHead(path, 3)).head) ? 3 : start

/**
 * Feeds a UTF-8 file's bytes `from..end-1` (to its end when `end` is undefined) to `tokenizer`,
 * read straight into its buffer: no buffer per read to allocate and collect, and no copy.
 * Yields after each read, for the records it completed.
 */
export async function* feedUtf8(tokenizer: CsvByteTokenizer, path: string, from: number, end: number | undefined): AsyncGenerator<void> {
  for await (const bytes of readRange(path, from, end, READ_BYTES, (want) => tokenizer.room(want))) {
    tokenizer.added(bytes.length)
    yield
  }
}

/** Feeds text in another encoding, decoded (readTextChunks) and encoded as UTF-8, to `tokenizer`. */
async function* feedReencoded(tokenizer: CsvByteTokenizer, path: string, encoding: TextEncoding, part: CsvPart | undefined): AsyncGenerator<void> {
  for await (const { text } of readTextChunks(path, encoding, part)) {
    tokenizer.push(Buffer.from(text, "utf8"))
    yield
  }
}
