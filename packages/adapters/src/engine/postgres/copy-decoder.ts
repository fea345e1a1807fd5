import type { CellValue, ColumnBatch } from "@ingest/domain"

/**
 * How a field of `COPY … (FORMAT binary)` turns into a canonical cell value. The select list
 * casts everything mapped to STRING or DECIMAL to text, so these few wire formats are all there is.
 */
export type WireKind = "integer" | "double" | "boolean" | "date" | "micros" | "text" | "decimal" | "bytes"

const pgEpochDays = 10_957
const pgEpochMicrosNumber = pgEpochDays * 86_400_000_000
const pgEpochMicros = BigInt(pgEpochMicrosNumber)
const decimalSpecials = new Set(["NaN", "Infinity", "-Infinity"])
const signature = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]

/** Node's native slice decoders; `toString(encoding, start, end)` reaches them after argument checks. */
interface FastSlices {
  utf8Slice(start: number, end: number): string
  latin1Slice(start: number, end: number): string
}

class Incomplete {}
const incomplete = new Incomplete()

/**
 * Decodes the binary COPY stream into column batches. PostgreSQL sends one row per CopyData
 * message, but nothing here relies on it: a row cut in two is carried over to the next message.
 */
export class BinaryCopyDecoder {
  private columns: Array<Array<CellValue>>
  private rows = 0
  private headerSeen = false
  private finished = false
  private carry: Uint8Array | undefined
  private buffer: Buffer = Buffer.alloc(0)
  private bufferSource: ArrayBufferLike | undefined
  /** Wire bytes of every field decoded so far. */
  bytes = 0

  private readonly kinds: ReadonlyArray<WireKind>
  private readonly batchRows: number

  constructor(kinds: ReadonlyArray<WireKind>, batchRows: number) {
    this.kinds = kinds
    this.batchRows = batchRows
    this.columns = kinds.map(() => [])
  }

  get done(): boolean {
    return this.finished
  }

  /** Decodes one CopyData payload; full batches go to `out`. */
  push(data: Uint8Array, out: Array<ColumnBatch>): void {
    let bytes = data
    if (this.carry !== undefined) {
      const joined = new Uint8Array(this.carry.length + data.length)
      joined.set(this.carry)
      joined.set(data, this.carry.length)
      bytes = joined
      this.carry = undefined
    }
    // One Buffer view per receive buffer rather than per message: the payloads are views into
    // the parser's pooled buffers.
    if (bytes.buffer !== this.bufferSource) {
      this.buffer = Buffer.from(bytes.buffer, 0, bytes.buffer.byteLength)
      this.bufferSource = bytes.buffer
    }
    const end = bytes.byteOffset + bytes.length
    let offset = bytes.byteOffset
    if (!this.headerSeen) {
      offset = this.readHeader(offset, end)
      if (offset < 0) {
        this.carry = bytes.slice()
        return
      }
    }
    while (offset < end && !this.finished) {
      const next = this.readRow(offset, end)
      if (next < 0) {
        this.carry = bytes.slice(offset - bytes.byteOffset)
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
    const batch = { length: this.rows, columns: this.columns }
    this.columns = this.kinds.map(() => [])
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
    const width = this.kinds.length
    if (count !== width) throw new Error(`COPY row has ${count} fields, expected ${width}`)
    let offset = start + 2
    let column = 0
    try {
      for (; column < width; column++) {
        if (end - offset < 4) throw incomplete
        const size = (b[offset]! << 24) | (b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!
        offset += 4
        if (size === -1) {
          this.columns[column]!.push(null)
          continue
        }
        if (end - offset < size) throw incomplete
        this.columns[column]!.push(this.decode(this.kinds[column]!, b, offset, size))
        offset += size
      }
    } catch (error) {
      if (error !== incomplete) throw error
      for (let i = 0; i < column; i++) this.columns[i]!.pop()
      return -1
    }
    this.rows++
    return offset
  }

  private decode(kind: WireKind, b: Buffer, offset: number, size: number): CellValue {
    switch (kind) {
      case "text":
        return (b as unknown as FastSlices).utf8Slice(offset, offset + size)
      case "decimal": {
        const text = (b as unknown as FastSlices).latin1Slice(offset, offset + size)
        return decimalSpecials.has(text) ? null : text
      }
      case "integer":
        if (size === 4) return b.readInt32BE(offset)
        if (size === 8) return readInt64(b, offset)
        if (size === 2) return b.readInt16BE(offset)
        throw new Error(`integer field of ${size} bytes`)
      case "double":
        if (size === 8) return b.readDoubleBE(offset)
        if (size === 4) return b.readFloatBE(offset)
        throw new Error(`float field of ${size} bytes`)
      case "boolean":
        return b[offset] !== 0
      case "date": {
        const days = b.readInt32BE(offset)
        return days === 0x7fffffff || days === -0x80000000 ? null : days + pgEpochDays
      }
      case "micros":
        return readMicros(b, offset)
      case "bytes":
        return new Uint8Array(b.subarray(offset, offset + size))
    }
  }
}

const readInt64 = (b: Buffer, offset: number): bigint => {
  const high = b.readInt32BE(offset)
  const low = b.readUInt32BE(offset + 4)
  if (high > -0x200000 && high < 0x200000) return BigInt(high * 4294967296 + low)
  return (BigInt(high) << 32n) + BigInt(low)
}

/** Microseconds since 1970 from PostgreSQL's microseconds since 2000; infinities → null. */
const readMicros = (b: Buffer, offset: number): bigint | null => {
  const high = b.readInt32BE(offset)
  const low = b.readUInt32BE(offset + 4)
  if ((high === 0x7fffffff && low === 0xffffffff) || (high === -0x80000000 && low === 0)) return null
  if (high > -0x200000 && high < 0x200000) return BigInt(high * 4294967296 + low + pgEpochMicrosNumber)
  return (BigInt(high) << 32n) + BigInt(low) + pgEpochMicros
}
