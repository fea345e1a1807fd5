import type { ColumnBatch, PackedColumn, PackedData } from "@ingest/domain"
import { isUtf8 } from "node:buffer"
import { unscaledDecimal, writeDecimalWords } from "../../columnar/decimal.ts"

/**
 * How a field of `COPY … (FORMAT binary)` is read. The select list casts everything mapped to
 * STRING or DECIMAL to text, so these few wire formats are all there is.
 */
export type WireKind = "integer" | "double" | "boolean" | "date" | "micros" | "text" | "decimal" | "bytes"

/** A column of the COPY: its wire format, and for decimals the precision and scale of the column. */
export type WireField =
  | { readonly kind: Exclude<WireKind, "decimal"> }
  | { readonly kind: "decimal"; readonly precision: number; readonly scale: number }

const pgEpochDays = 10_957
const twoPow32 = 4294967296
/** 2000-01-01 − 1970-01-01 in microseconds, as high and low 32-bit words. */
const pgEpochMicros = pgEpochDays * 86_400_000_000
const epochHigh = Math.floor(pgEpochMicros / twoPow32)
const epochLow = pgEpochMicros - epochHigh * twoPow32
const decimalSpecials = new Set(["NaN", "Infinity", "-Infinity"])
const signature = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]
const utf8 = new TextDecoder()
const utf8Encoder = new TextEncoder()

/** Node's native slice decoder; `toString(encoding, start, end)` reaches it after argument checks. */
interface FastSlices {
  latin1Slice(start: number, end: number): string
}

class Incomplete {}
const incomplete = new Incomplete()

/**
 * One column of the batch being decoded, written straight into the typed arrays of a packed
 * column (Arrow's layout): no value per cell is ever made, and the batch moves to the Parquet
 * encoder without being copied.
 */
abstract class Builder {
  protected validity: Uint8Array
  nullCount = 0
  constructor(capacity: number) {
    this.validity = new Uint8Array((capacity + 7) >> 3).fill(0xff)
  }
  setNull(row: number): void {
    this.validity[row >> 3]! &= ~(1 << (row & 7))
    this.nullCount++
  }
  /** Reads one non-null field (`size` bytes at `offset`) into row `row`. */
  abstract read(b: Buffer, offset: number, size: number, row: number): void
  /** Undoes the rows from `row` on (a row cut in two is read again with the next message). */
  abstract truncate(row: number): void
  protected abstract data(rows: number): PackedData
  /** The first `rows` rows as a packed column; the builder is not used afterwards. */
  finish(rows: number): PackedColumn {
    return {
      _tag: "PackedColumn",
      length: rows,
      validity: this.nullCount === 0 ? undefined : this.validity.subarray(0, (rows + 7) >> 3),
      nullCount: this.nullCount,
      data: this.data(rows)
    }
  }
  /** A row that ended inside this column's field: its null, if it was one, is forgotten. */
  protected unsetNull(row: number): void {
    if ((this.validity[row >> 3]! & (1 << (row & 7))) === 0) {
      this.validity[row >> 3]! |= 1 << (row & 7)
      this.nullCount--
    }
  }
  truncateNulls(row: number): void {
    this.unsetNull(row)
  }
}

class Int64Builder extends Builder {
  private readonly values: BigInt64Array
  private readonly words: Int32Array
  private readonly kind: "int64" | "timestamp"
  constructor(capacity: number, kind: "int64" | "timestamp") {
    super(capacity)
    this.kind = kind
    this.values = new BigInt64Array(capacity)
    this.words = new Int32Array(this.values.buffer)
  }
  read(b: Buffer, offset: number, size: number, row: number): void {
    const w = this.words
    if (this.kind === "timestamp") {
      const high = b.readInt32BE(offset)
      const low = b.readUInt32BE(offset + 4)
      // ±infinity → null
      if ((high === 0x7fffffff && low === 0xffffffff) || (high === -0x80000000 && low === 0)) return this.setNull(row)
      const sum = low + epochLow
      const carry = sum >= twoPow32 ? 1 : 0
      w[row * 2] = sum - carry * twoPow32
      w[row * 2 + 1] = high + epochHigh + carry
      return
    }
    if (size === 8) {
      w[row * 2 + 1] = b.readInt32BE(offset)
      w[row * 2] = b.readInt32BE(offset + 4)
      return
    }
    const v = size === 4 ? b.readInt32BE(offset) : size === 2 ? b.readInt16BE(offset) : wrongSize("integer", size)
    w[row * 2] = v
    w[row * 2 + 1] = v < 0 ? -1 : 0
  }
  truncate(): void {}
  protected data(rows: number): PackedData {
    return { kind: this.kind, values: this.values.subarray(0, rows) }
  }
}

class Float64Builder extends Builder {
  private readonly values: Float64Array
  constructor(capacity: number) {
    super(capacity)
    this.values = new Float64Array(capacity)
  }
  read(b: Buffer, offset: number, size: number, row: number): void {
    this.values[row] = size === 8 ? b.readDoubleBE(offset) : size === 4 ? b.readFloatBE(offset) : wrongSize("float", size)
  }
  truncate(): void {}
  protected data(rows: number): PackedData {
    return { kind: "float64", values: this.values.subarray(0, rows) }
  }
}

class BooleanBuilder extends Builder {
  private readonly bits: Uint8Array
  constructor(capacity: number) {
    super(capacity)
    this.bits = new Uint8Array((capacity + 7) >> 3)
  }
  read(b: Buffer, offset: number, _size: number, row: number): void {
    if (b[offset] !== 0) this.bits[row >> 3]! |= 1 << (row & 7)
    else this.bits[row >> 3]! &= ~(1 << (row & 7))
  }
  truncate(): void {}
  protected data(rows: number): PackedData {
    return { kind: "boolean", bits: this.bits.subarray(0, (rows + 7) >> 3) }
  }
}

class DateBuilder extends Builder {
  private readonly values: Int32Array
  constructor(capacity: number) {
    super(capacity)
    this.values = new Int32Array(capacity)
  }
  read(b: Buffer, offset: number, _size: number, row: number): void {
    const days = b.readInt32BE(offset)
    // ±infinity → null
    if (days === 0x7fffffff || days === -0x80000000) this.setNull(row)
    else this.values[row] = days + pgEpochDays
  }
  truncate(): void {}
  protected data(rows: number): PackedData {
    return { kind: "date32", values: this.values.subarray(0, rows) }
  }
}

class DecimalBuilder extends Builder {
  private readonly words: Uint32Array
  private readonly precision: number
  private readonly scale: number
  constructor(capacity: number, precision: number, scale: number) {
    super(capacity)
    this.precision = precision
    this.scale = scale
    this.words = new Uint32Array(capacity * 4)
  }
  read(b: Buffer, offset: number, size: number, row: number): void {
    const text = (b as unknown as FastSlices).latin1Slice(offset, offset + size)
    if (decimalSpecials.has(text)) return this.setNull(row)
    const unscaled = unscaledDecimal(text, this.precision, this.scale, (problem) => {
      throw new Error(`the value ${JSON.stringify(text.slice(0, 50))} ${problem}`)
    })
    writeDecimalWords(this.words, row, unscaled)
  }
  truncate(): void {}
  protected data(rows: number): PackedData {
    return { kind: "decimal128", words: this.words.subarray(0, rows * 4), precision: this.precision, scale: this.scale }
  }
}

/** Text and bytes: one growing byte buffer and the offsets of the rows in it. */
class VariableBuilder extends Builder {
  private readonly offsets: Int32Array
  private bytes: Uint8Array
  private length = 0
  private readonly kind: "utf8" | "binary"
  constructor(capacity: number, kind: "utf8" | "binary") {
    super(capacity)
    this.kind = kind
    this.offsets = new Int32Array(capacity + 1)
    this.bytes = new Uint8Array(Math.max(1024, capacity * 16))
  }
  override setNull(row: number): void {
    super.setNull(row)
    this.offsets[row + 1] = this.length
  }
  read(b: Buffer, offset: number, size: number, row: number): void {
    if (this.length + size > this.bytes.length) {
      if (this.length + size > 0x7fffffff) throw new Error("a batch holds more than 2 GiB of text")
      let capacity = this.bytes.length * 2
      while (this.length + size > capacity) capacity *= 2
      const grown = new Uint8Array(Math.min(capacity, 0x7fffffff))
      grown.set(this.bytes.subarray(0, this.length))
      this.bytes = grown
    }
    const bytes = this.bytes
    let at = this.length
    if (size < 32) {
      for (let i = 0; i < size; i++) bytes[at++] = b[offset + i]!
    } else {
      b.copy(bytes, at, offset, offset + size)
      at += size
    }
    this.length = at
    this.offsets[row + 1] = at
  }
  truncate(row: number): void {
    this.length = this.offsets[row]!
  }
  protected data(rows: number): PackedData {
    let bytes = this.bytes.subarray(0, this.length)
    let offsets = this.offsets.subarray(0, rows + 1)
    // Text comes in the connection's encoding (UTF8); a server whose database holds bytes that
    // are not UTF-8 (SQL_ASCII) gets them replaced by U+FFFD, as a text decoder would.
    if (this.kind === "utf8" && !isUtf8(bytes)) ({ bytes, offsets } = reencode(bytes, offsets, rows))
    return { kind: this.kind, offsets, bytes }
  }
}

const reencode = (bytes: Uint8Array, offsets: Int32Array, rows: number) => {
  const parts: Array<Uint8Array> = []
  const fixed = new Int32Array(rows + 1)
  let total = 0
  for (let row = 0; row < rows; row++) {
    const part = utf8Encoder.encode(utf8.decode(bytes.subarray(offsets[row]!, offsets[row + 1]!)))
    parts.push(part)
    total += part.length
    fixed[row + 1] = total
  }
  const joined = new Uint8Array(total)
  parts.forEach((part, row) => joined.set(part, fixed[row]!))
  return { bytes: joined, offsets: fixed }
}

const wrongSize = (what: string, size: number): never => {
  throw new Error(`${what} field of ${size} bytes`)
}

const builderOf = (field: WireField, capacity: number): Builder => {
  switch (field.kind) {
    case "integer":
      return new Int64Builder(capacity, "int64")
    case "micros":
      return new Int64Builder(capacity, "timestamp")
    case "double":
      return new Float64Builder(capacity)
    case "boolean":
      return new BooleanBuilder(capacity)
    case "date":
      return new DateBuilder(capacity)
    case "decimal":
      return new DecimalBuilder(capacity, field.precision, field.scale)
    case "text":
      return new VariableBuilder(capacity, "utf8")
    case "bytes":
      return new VariableBuilder(capacity, "binary")
  }
}

/**
 * Decodes the binary COPY stream into batches of packed columns. PostgreSQL sends one row per
 * CopyData message, but nothing here relies on it: a row cut in two is carried over to the next
 * message.
 */
export class BinaryCopyDecoder {
  private builders: Array<Builder>
  private rows = 0
  private headerSeen = false
  private finished = false
  private carry: Uint8Array | undefined
  private buffer: Buffer = Buffer.alloc(0)
  private bufferSource: ArrayBufferLike | undefined
  /** Wire bytes of every field decoded so far. */
  bytes = 0

  private readonly fields: ReadonlyArray<WireField>
  private readonly batchRows: number

  constructor(fields: ReadonlyArray<WireField>, batchRows: number) {
    this.fields = fields
    this.batchRows = Math.max(1, batchRows)
    this.builders = this.newBuilders()
  }

  private newBuilders(): Array<Builder> {
    return this.fields.map((field) => builderOf(field, this.batchRows))
  }

  get done(): boolean {
    return this.finished
  }

  /** Decodes one CopyData payload; full batches go to `out`. */
  push(data: Uint8Array, out: Array<ColumnBatch>): void {
    this.pushRange(data, 0, data.length, out)
  }

  /** Decodes bytes `start..end` of `data` (the next bytes of CopyData payload); full batches go to `out`. */
  pushRange(data: Uint8Array, start: number, end: number, out: Array<ColumnBatch>): void {
    let bytes = data
    let from = start
    let to = end
    if (this.carry !== undefined) {
      const joined = new Uint8Array(this.carry.length + (end - start))
      joined.set(this.carry)
      joined.set(data.subarray(start, end), this.carry.length)
      bytes = joined
      from = 0
      to = joined.length
      this.carry = undefined
    }
    // One Buffer view per receive buffer rather than per message: the payloads are views into
    // the received chunks.
    if (bytes.buffer !== this.bufferSource) {
      this.buffer = Buffer.from(bytes.buffer, 0, bytes.buffer.byteLength)
      this.bufferSource = bytes.buffer
    }
    const last = bytes.byteOffset + to
    let offset = bytes.byteOffset + from
    if (!this.headerSeen) {
      const after = this.readHeader(offset, last)
      if (after < 0) {
        this.carry = bytes.slice(from, to)
        return
      }
      offset = after
    }
    while (offset < last && !this.finished) {
      const next = this.readRow(offset, last)
      if (next < 0) {
        this.carry = bytes.slice(offset - bytes.byteOffset, to)
        return
      }
      this.bytes += next - offset
      offset = next
      if (this.rows >= this.batchRows) out.push(this.take())
    }
  }

  flush(): ColumnBatch | undefined {
    if (this.carry !== undefined) throw new Error("COPY data ended inside a row")
    return this.rows > 0 ? this.take() : undefined
  }

  private take(): ColumnBatch {
    const rows = this.rows
    const batch = { length: rows, columns: this.builders.map((builder) => builder.finish(rows)) }
    this.builders = this.newBuilders()
    this.rows = 0
    return batch
  }

  private readHeader(offset: number, end: number): number {
    const b = this.buffer
    if (end - offset < 19) return -1
    for (let i = 0; i < signature.length; i++) {
      if (b[offset + i] !== signature[i]) throw new Error("COPY data does not start with the binary signature")
    }
    const extension = b.readInt32BE(offset + 15)
    if (end - offset < 19 + extension) return -1
    this.headerSeen = true
    return offset + 19 + extension
  }

  /** Returns the offset after the row, or -1 when the row continues in the next message. */
  private readRow(start: number, end: number): number {
    const b = this.buffer
    if (end - start < 2) return -1
    const count = (b[start]! << 8) | b[start + 1]!
    if (count === 0xffff) {
      this.finished = true
      return start + 2
    }
    const builders = this.builders
    const width = builders.length
    if (count !== width) throw new Error(`COPY row has ${count} fields, expected ${width}`)
    const row = this.rows
    let offset = start + 2
    let column = 0
    try {
      for (; column < width; column++) {
        if (end - offset < 4) throw incomplete
        const size = (b[offset]! << 24) | (b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!
        offset += 4
        if (size === -1) {
          builders[column]!.setNull(row)
          continue
        }
        if (end - offset < size) throw incomplete
        builders[column]!.read(b, offset, size, row)
        offset += size
      }
    } catch (error) {
      if (error !== incomplete) throw error
      // The row continues in the next message: forget what was written of it.
      for (let i = 0; i < column; i++) {
        builders[i]!.truncateNulls(row)
        builders[i]!.truncate(row)
      }
      return -1
    }
    this.rows++
    return offset
  }
}
