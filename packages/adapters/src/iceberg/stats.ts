import type * as A from "apache-arrow"
import type { WritableType } from "./schema.ts"

// Per data file column metrics for the manifest: value, null and NaN counts and lower/upper
// bounds in Iceberg's single-value binary encoding. Computed from the Arrow buffers, so the same
// code serves batches built from rows and batches callers built themselves.

export interface ColumnMetrics {
  readonly valueCount: number
  readonly nullCount: number
  /** Only for float/double columns. */
  readonly nanCount: number | undefined
  readonly lower: Uint8Array | undefined
  readonly upper: Uint8Array | undefined
}

/** Bounds of strings and binary values are cut to this many characters/bytes, as Java does. */
export const boundTruncateLength = 16

/** The validity bitmap when some value is null (read once per batch, not per row). */
const nullBitsOf = (data: A.Data): Uint8Array | undefined => {
  const bitmap = data.nullBitmap
  return bitmap === undefined || bitmap.length === 0 || data.nullCount === 0 ? undefined : bitmap
}

const nullCountOf = (data: A.Data): number => {
  const bitmap = data.nullBitmap
  if (bitmap === undefined || bitmap.length === 0) return 0
  return data.nullCount
}

const compareBytes = (a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number => {
  const n = Math.min(aEnd - aStart, bEnd - bStart)
  for (let k = 0; k < n; k++) {
    const d = a[aStart + k]! - b[bStart + k]!
    if (d !== 0) return d
  }
  return (aEnd - aStart) - (bEnd - bStart)
}

// ---- single-value encoding -------------------------------------------------------------------

export const encodeInt32 = (n: number): Uint8Array => {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setInt32(0, n, true)
  return out
}

export const encodeInt64 = (n: bigint): Uint8Array => {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigInt64(0, n, true)
  return out
}

export const encodeFloat32 = (n: number): Uint8Array => {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setFloat32(0, n, true)
  return out
}

export const encodeFloat64 = (n: number): Uint8Array => {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setFloat64(0, n, true)
  return out
}

/** Two's complement, big-endian, minimum number of bytes. */
export const encodeDecimal = (unscaled: bigint): Uint8Array => {
  let bytes = 1
  while (unscaled < -(1n << BigInt(bytes * 8 - 1)) || unscaled >= 1n << BigInt(bytes * 8 - 1)) bytes++
  const out = new Uint8Array(bytes)
  let v = BigInt.asUintN(bytes * 8, unscaled)
  for (let k = bytes - 1; k >= 0; k--) {
    out[k] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

const utf8 = new TextDecoder("utf-8", { fatal: false })
const utf8Encoder = new TextEncoder()

/** First `max` code points of a UTF-8 value. */
const truncateUtf8 = (bytes: Uint8Array, max: number): { bytes: Uint8Array; truncated: boolean } => {
  const codePoints = Array.from(utf8.decode(bytes))
  if (codePoints.length <= max) return { bytes, truncated: false }
  return { bytes: utf8Encoder.encode(codePoints.slice(0, max).join("")), truncated: true }
}

/** Smallest string above every string with this prefix: increment the last code point that can be. */
const roundUpUtf8 = (prefix: Uint8Array): Uint8Array | undefined => {
  const codePoints = Array.from(utf8.decode(prefix)).map((c) => c.codePointAt(0)!)
  for (let k = codePoints.length - 1; k >= 0; k--) {
    let next = codePoints[k]! + 1
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000
    if (next <= 0x10ffff) {
      return utf8Encoder.encode(String.fromCodePoint(...codePoints.slice(0, k), next))
    }
  }
  return undefined
}

const roundUpBytes = (prefix: Uint8Array): Uint8Array | undefined => {
  for (let k = prefix.length - 1; k >= 0; k--) {
    if (prefix[k]! < 0xff) {
      const out = prefix.slice(0, k + 1)
      out[k]! += 1
      return out
    }
  }
  return undefined
}

// ---- accumulators ----------------------------------------------------------------------------

export interface MetricsAccumulator {
  add(data: A.Data): void
  result(): ColumnMetrics
}

abstract class BaseAccumulator implements MetricsAccumulator {
  protected valueCount = 0
  protected nullCount = 0
  add(data: A.Data): void {
    this.valueCount += data.length
    this.nullCount += nullCountOf(data)
    this.addValues(data)
  }
  protected abstract addValues(data: A.Data): void
  abstract result(): ColumnMetrics
  protected metrics(lower: Uint8Array | undefined, upper: Uint8Array | undefined, nanCount?: number): ColumnMetrics {
    return { valueCount: this.valueCount, nullCount: this.nullCount, nanCount, lower, upper }
  }
}

class BooleanAccumulator extends BaseAccumulator {
  private sawTrue = false
  private sawFalse = false
  protected addValues(data: A.Data): void {
    const bitmap = nullBitsOf(data)
    const offset = data.offset
    const bits = data.values as Uint8Array
    for (let i = 0; i < data.length; i++) {
      if (bitmap !== undefined && (bitmap[(offset + i) >> 3]! & (1 << ((offset + i) & 7))) === 0) continue
      const bit = data.offset + i
      if ((bits[bit >> 3]! & (1 << (bit & 7))) !== 0) this.sawTrue = true
      else this.sawFalse = true
      if (this.sawTrue && this.sawFalse) return
    }
  }
  result(): ColumnMetrics {
    if (!this.sawTrue && !this.sawFalse) return this.metrics(undefined, undefined)
    return this.metrics(Uint8Array.of(this.sawFalse ? 0 : 1), Uint8Array.of(this.sawTrue ? 1 : 0))
  }
}

class Int32Accumulator extends BaseAccumulator {
  private min = Infinity
  private max = -Infinity
  protected addValues(data: A.Data): void {
    const bitmap = nullBitsOf(data)
    const offset = data.offset
    const values = data.values as Int32Array
    let min = this.min
    let max = this.max
    for (let i = 0; i < data.length; i++) {
      if (bitmap !== undefined && (bitmap[(offset + i) >> 3]! & (1 << ((offset + i) & 7))) === 0) continue
      const v = values[i]!
      if (v < min) min = v
      if (v > max) max = v
    }
    this.min = min
    this.max = max
  }
  result(): ColumnMetrics {
    if (this.min === Infinity) return this.metrics(undefined, undefined)
    return this.metrics(encodeInt32(this.min), encodeInt32(this.max))
  }
}

/** Bounds kept as bigints (64-bit integers, decimals): each batch offers its own smallest and largest. */
abstract class BigIntBoundsAccumulator extends BaseAccumulator {
  private min: bigint | undefined
  private max: bigint | undefined
  protected offer(min: bigint, max: bigint): void {
    if (this.min === undefined || min < this.min) this.min = min
    if (this.max === undefined || max > this.max) this.max = max
  }
  protected abstract encode(value: bigint): Uint8Array
  result(): ColumnMetrics {
    if (this.min === undefined || this.max === undefined) return this.metrics(undefined, undefined)
    return this.metrics(this.encode(this.min), this.encode(this.max))
  }
}

/** int64-backed columns (long, timestamps): compares (high signed, low unsigned) word pairs. */
class Int64Accumulator extends BigIntBoundsAccumulator {
  protected encode = encodeInt64
  protected addValues(data: A.Data): void {
    const bitmap = nullBitsOf(data)
    const offset = data.offset
    const values = data.values as BigInt64Array
    const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2)
    let minAt = -1
    let maxAt = -1
    for (let i = 0; i < data.length; i++) {
      if (bitmap !== undefined && (bitmap[(offset + i) >> 3]! & (1 << ((offset + i) & 7))) === 0) continue
      if (minAt < 0) {
        minAt = maxAt = i
        continue
      }
      const hi = words[i * 2 + 1]!
      const lo = words[i * 2]! >>> 0
      const minHi = words[minAt * 2 + 1]!
      if (hi < minHi || (hi === minHi && lo < words[minAt * 2]! >>> 0)) minAt = i
      const maxHi = words[maxAt * 2 + 1]!
      if (hi > maxHi || (hi === maxHi && lo > words[maxAt * 2]! >>> 0)) maxAt = i
    }
    if (minAt >= 0) this.offer(values[minAt]!, values[maxAt]!)
  }
}

class DoubleAccumulator extends BaseAccumulator {
  /** Bounds as Iceberg stores them: 8 bytes for double, 4 for float (whose values are exact in 4). */
  private readonly encode: (n: number) => Uint8Array
  constructor(encode: (n: number) => Uint8Array) {
    super()
    this.encode = encode
  }
  private min = Infinity
  private max = -Infinity
  private seen = false
  private nanCount = 0
  protected addValues(data: A.Data): void {
    const bitmap = nullBitsOf(data)
    const offset = data.offset
    const values = data.values as Float64Array | Float32Array
    for (let i = 0; i < data.length; i++) {
      if (bitmap !== undefined && (bitmap[(offset + i) >> 3]! & (1 << ((offset + i) & 7))) === 0) continue
      const v = values[i]!
      if (v !== v) {
        this.nanCount++
        continue
      }
      this.seen = true
      // -0.0 sorts below +0.0 in Iceberg's order.
      if (v < this.min || (v === 0 && this.min === 0 && Object.is(v, -0))) this.min = v
      if (v > this.max || (v === 0 && this.max === 0 && Object.is(this.max, -0))) this.max = v
    }
  }
  result(): ColumnMetrics {
    if (!this.seen) return this.metrics(undefined, undefined, this.nanCount)
    return this.metrics(this.encode(this.min), this.encode(this.max), this.nanCount)
  }
}

/** 128-bit decimals as 4 little-endian 32-bit words: compare the top word signed, the rest unsigned. */
class DecimalAccumulator extends BigIntBoundsAccumulator {
  protected encode = encodeDecimal
  protected addValues(data: A.Data): void {
    const bitmap = nullBitsOf(data)
    const offset = data.offset
    const words = data.values as Uint32Array
    const compare = (a: number, b: number): number => {
      const ha = words[a * 4 + 3]! | 0
      const hb = words[b * 4 + 3]! | 0
      if (ha !== hb) return ha - hb
      for (let k = 2; k >= 0; k--) {
        const d = words[a * 4 + k]! - words[b * 4 + k]!
        if (d !== 0) return d
      }
      return 0
    }
    let minAt = -1
    let maxAt = -1
    for (let i = 0; i < data.length; i++) {
      if (bitmap !== undefined && (bitmap[(offset + i) >> 3]! & (1 << ((offset + i) & 7))) === 0) continue
      if (minAt < 0) {
        minAt = maxAt = i
        continue
      }
      if (compare(i, minAt) < 0) minAt = i
      if (compare(i, maxAt) > 0) maxAt = i
    }
    if (minAt < 0) return
    const toBigInt = (i: number): bigint => {
      let v = 0n
      for (let k = 3; k >= 0; k--) v = (v << 32n) | BigInt(words[i * 4 + k]!)
      return BigInt.asIntN(128, v)
    }
    this.offer(toBigInt(minAt), toBigInt(maxAt))
  }
}

/** UTF-8 strings and binary: byte-wise order (= code point order for UTF-8). */
class BytesAccumulator extends BaseAccumulator {
  private min: Uint8Array | undefined
  private max: Uint8Array | undefined
  private readonly text: boolean
  constructor(text: boolean) {
    super()
    this.text = text
  }
  protected addValues(data: A.Data): void {
    const bitmap = nullBitsOf(data)
    const offset = data.offset
    const offsets = data.valueOffsets as Int32Array
    const bytes = data.values as Uint8Array
    let minAt = -1
    let maxAt = -1
    // First bytes of the current bounds (-1: empty): a value whose first byte lies strictly
    // between them can be neither, which settles most rows without a full comparison.
    let minFirst = -1
    let maxFirst = -1
    const firstByte = (at: number) => (offsets[at]! < offsets[at + 1]! ? bytes[offsets[at]!]! : -1)
    for (let i = 0; i < data.length; i++) {
      if (bitmap !== undefined && (bitmap[(offset + i) >> 3]! & (1 << ((offset + i) & 7))) === 0) continue
      if (minAt < 0) {
        minAt = maxAt = i
        minFirst = maxFirst = firstByte(i)
        continue
      }
      const s = offsets[i]!
      const e = offsets[i + 1]!
      const first = s < e ? bytes[s]! : -1
      if (first > minFirst && first < maxFirst) continue
      if (compareBytes(bytes, s, e, bytes, offsets[minAt]!, offsets[minAt + 1]!) < 0) {
        minAt = i
        minFirst = first
      } else if (compareBytes(bytes, s, e, bytes, offsets[maxAt]!, offsets[maxAt + 1]!) > 0) {
        maxAt = i
        maxFirst = first
      }
    }
    if (minAt < 0) return
    const min = bytes.slice(offsets[minAt]!, offsets[minAt + 1]!)
    const max = bytes.slice(offsets[maxAt]!, offsets[maxAt + 1]!)
    if (this.min === undefined || compareBytes(min, 0, min.length, this.min, 0, this.min.length) < 0) this.min = min
    if (this.max === undefined || compareBytes(max, 0, max.length, this.max, 0, this.max.length) > 0) this.max = max
  }
  result(): ColumnMetrics {
    if (this.min === undefined || this.max === undefined) return this.metrics(undefined, undefined)
    if (this.text) {
      const lower = truncateUtf8(this.min, boundTruncateLength).bytes
      const upperCut = truncateUtf8(this.max, boundTruncateLength)
      return this.metrics(lower, upperCut.truncated ? roundUpUtf8(upperCut.bytes) : upperCut.bytes)
    }
    const lower = this.min.slice(0, boundTruncateLength)
    const upper = this.max.length > boundTruncateLength
      ? roundUpBytes(this.max.slice(0, boundTruncateLength))
      : this.max
    return this.metrics(lower, upper)
  }
}

export const makeAccumulator = (type: WritableType): MetricsAccumulator => {
  switch (type.kind) {
    case "boolean":
      return new BooleanAccumulator()
    case "int":
    case "date":
      return new Int32Accumulator()
    case "long":
    case "timestamp":
    case "timestamptz":
      return new Int64Accumulator()
    case "double":
      return new DoubleAccumulator(encodeFloat64)
    case "float":
      return new DoubleAccumulator(encodeFloat32)
    case "decimal":
      return new DecimalAccumulator()
    case "string":
      return new BytesAccumulator(true)
    case "binary":
      return new BytesAccumulator(false)
  }
}
