// The column chunk statistics of a Parquet file, read from its footer (Thrift compact protocol):
// the writer computes each chunk's smallest and largest value anyway, so the manifest's column
// bounds are taken from there rather than by visiting every value again.

/** Smallest and largest value of one column chunk, as Parquet stores them (plain encoding). */
export interface ChunkStatistics {
  readonly min: Uint8Array | undefined
  readonly max: Uint8Array | undefined
}

type ThriftValue = number | boolean | Uint8Array | ThriftStruct | ReadonlyArray<ThriftValue> | undefined
type ThriftStruct = Map<number, ThriftValue>

const STOP = 0
const TRUE = 1
const FALSE = 2
const BYTE = 3
const I16 = 4
const I32 = 5
const I64 = 6
const DOUBLE = 7
const BINARY = 8
const LIST = 9
const SET = 10
const MAP = 11
const STRUCT = 12

/** Reads the Thrift compact encoding; integers as numbers (exact up to 2^53, all this needs). */
class CompactReader {
  private at: number
  private readonly bytes: Uint8Array
  constructor(bytes: Uint8Array, at: number) {
    this.bytes = bytes
    this.at = at
  }
  private byte(): number {
    if (this.at >= this.bytes.length) throw new Error("Parquet footer ends early")
    return this.bytes[this.at++]!
  }
  private varint(): number {
    let value = 0
    let scale = 1
    for (;;) {
      const b = this.byte()
      value += (b & 0x7f) * scale
      if ((b & 0x80) === 0) return value
      scale *= 128
      if (scale > 2 ** 63) throw new Error("Parquet footer: varint too long")
    }
  }
  private zigzag(): number {
    const v = this.varint()
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2
  }
  private value(type: number): ThriftValue {
    switch (type) {
      case TRUE:
        return true
      case FALSE:
        return false
      case BYTE:
        return this.byte()
      case I16:
      case I32:
      case I64:
        return this.zigzag()
      case DOUBLE:
        this.at += 8
        return undefined
      case BINARY: {
        const length = this.varint()
        if (this.at + length > this.bytes.length) throw new Error("Parquet footer ends early")
        const out = this.bytes.subarray(this.at, this.at + length)
        this.at += length
        return out
      }
      case LIST:
      case SET: {
        const header = this.byte()
        const size = header >> 4 === 15 ? this.varint() : header >> 4
        const element = header & 0x0f
        const items: Array<ThriftValue> = []
        for (let i = 0; i < size; i++) items.push(element === TRUE || element === FALSE ? this.byte() === TRUE : this.value(element))
        return items
      }
      case MAP: {
        const size = this.varint()
        if (size === 0) return undefined
        const kinds = this.byte()
        for (let i = 0; i < size; i++) {
          this.value(kinds >> 4)
          this.value(kinds & 0x0f)
        }
        return undefined
      }
      case STRUCT:
        return this.struct()
      default:
        throw new Error(`Parquet footer: unknown Thrift type ${type}`)
    }
  }
  struct(): ThriftStruct {
    const fields: ThriftStruct = new Map()
    let id = 0
    for (;;) {
      const header = this.byte()
      const type = header & 0x0f
      if (type === STOP) return fields
      const delta = header >> 4
      id = delta === 0 ? this.zigzag() : id + delta
      fields.set(id, this.value(type))
    }
  }
}

const structAt = (s: ThriftStruct | undefined, id: number): ThriftStruct | undefined => {
  const v = s?.get(id)
  return v instanceof Map ? v : undefined
}
const listAt = (s: ThriftStruct | undefined, id: number): ReadonlyArray<ThriftValue> => {
  const v = s?.get(id)
  return Array.isArray(v) ? v : []
}
const bytesAt = (s: ThriftStruct | undefined, id: number): Uint8Array | undefined => {
  const v = s?.get(id)
  return v instanceof Uint8Array ? v : undefined
}

/**
 * The statistics of every column chunk of a complete Parquet file's last bytes (at least its
 * footer): one array per row group, one entry per leaf column in schema order. Undefined when
 * `tail` does not hold the whole footer.
 */
export const chunkStatisticsOf = (tail: Uint8Array): Array<Array<ChunkStatistics>> | undefined => {
  const n = tail.length
  if (n < 12 || tail[n - 4] !== 0x50 || tail[n - 3] !== 0x41 || tail[n - 2] !== 0x52 || tail[n - 1] !== 0x31) {
    throw new Error("not the end of a Parquet file")
  }
  const footerLength = new DataView(tail.buffer, tail.byteOffset + n - 8, 4).getUint32(0, true)
  if (footerLength + 8 > n) return undefined
  // FileMetaData: 4 row_groups; RowGroup: 1 columns; ColumnChunk: 3 meta_data;
  // ColumnMetaData: 12 statistics; Statistics: 5 max_value, 6 min_value.
  const file = new CompactReader(tail, n - 8 - footerLength).struct()
  return listAt(file, 4).map((group) =>
    listAt(group as ThriftStruct, 1).map((chunk) => {
      const statistics = structAt(structAt(chunk as ThriftStruct, 3), 12)
      return { min: bytesAt(statistics, 6), max: bytesAt(statistics, 5) }
    })
  )
}

/**
 * chunkStatisticsOf over the last chunks of a file as it was streamed: only the footer's own bytes
 * (its length precedes the closing magic) are joined when it spans chunks. Undefined when the
 * chunks do not hold the whole footer.
 */
export const chunkStatisticsOfTail = (chunks: ReadonlyArray<Uint8Array>): Array<Array<ChunkStatistics>> | undefined => {
  const last = chunks.at(-1)
  if (last === undefined || last.byteLength < 8) return undefined
  const held = chunks.reduce((n, c) => n + c.byteLength, 0)
  const needed = new DataView(last.buffer, last.byteOffset + last.byteLength - 8, 4).getUint32(0, true) + 8
  if (needed > held) return undefined
  if (needed <= last.byteLength) return chunkStatisticsOf(last.subarray(last.byteLength - needed))
  const joined = new Uint8Array(needed)
  let end = needed
  for (let k = chunks.length - 1; k >= 0 && end > 0; k--) {
    const chunk = chunks[k]!
    const take = Math.min(end, chunk.byteLength)
    joined.set(chunk.subarray(chunk.byteLength - take), end - take)
    end -= take
  }
  return chunkStatisticsOf(joined)
}
