import type * as A from "apache-arrow"
import type { WritableType } from "./schema.ts"

// Per data file column metrics for the manifest: value, null and NaN counts (counted from the
// Arrow buffers, batch by batch) and lower/upper bounds in Iceberg's single-value binary encoding
// (from the statistics the Parquet writer keeps per column chunk, see parquet-footer.ts).

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

// ---- counts and bounds ----------------------------------------------------------------------

/** Value, null and NaN counts of one column of a data file, added up batch by batch. */
export interface ColumnCounter {
  add(data: A.Data): void
  readonly valueCount: number
  readonly nullCount: number
  /** Only for float/double columns. */
  readonly nanCount: number | undefined
}

class Counter implements ColumnCounter {
  valueCount = 0
  nullCount = 0
  nanCount: number | undefined
  constructor(floating: boolean) {
    this.nanCount = floating ? 0 : undefined
  }
  add(data: A.Data): void {
    this.valueCount += data.length
    this.nullCount += nullCountOf(data)
    if (this.nanCount === undefined) return
    const bitmap = nullBitsOf(data)
    const offset = data.offset
    const values = data.values as Float64Array | Float32Array
    let nans = 0
    for (let i = 0; i < data.length; i++) {
      if (bitmap !== undefined && (bitmap[(offset + i) >> 3]! & (1 << ((offset + i) & 7))) === 0) continue
      const v = values[i]!
      if (v !== v) nans++
    }
    this.nanCount += nans
  }
}

export const makeCounter = (type: WritableType): ColumnCounter =>
  new Counter(type.kind === "double" || type.kind === "float")

/** A statistics value of a Parquet column chunk (plain encoding) as something to compare, per column type. */
interface BoundCodec<V> {
  decode(bytes: Uint8Array): V
  compare(a: V, b: V): number
  encode(value: V): Uint8Array
}

const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
const compareNumbers = (a: number, b: number) => (a < b ? -1 : a > b ? 1 : 0)
const compareBigInts = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0)
/** Iceberg's order of floating point values: -0.0 below +0.0. */
const compareFloats = (a: number, b: number) => (a === 0 && b === 0 ? compareNumbers(Object.is(a, -0) ? 0 : 1, Object.is(b, -0) ? 0 : 1) : compareNumbers(a, b))

/** Decimals: 4- and 8-byte little-endian integers, longer ones big-endian two's complement (fixed length). */
const decodeDecimal = (bytes: Uint8Array): bigint => {
  if (bytes.length === 4) return BigInt(view(bytes).getInt32(0, true))
  if (bytes.length === 8) return view(bytes).getBigInt64(0, true)
  let v = 0n
  for (const b of bytes) v = (v << 8n) | BigInt(b)
  return BigInt.asIntN(bytes.length * 8, v)
}

const bytesBounds = (text: boolean) => (min: Uint8Array, max: Uint8Array): [Uint8Array | undefined, Uint8Array | undefined] => {
  if (text) {
    const lower = truncateUtf8(min, boundTruncateLength).bytes
    const upperCut = truncateUtf8(max, boundTruncateLength)
    return [lower, upperCut.truncated ? roundUpUtf8(upperCut.bytes) : upperCut.bytes]
  }
  const lower = min.slice(0, boundTruncateLength)
  const upper = max.length > boundTruncateLength ? roundUpBytes(max.slice(0, boundTruncateLength)) : max
  return [lower, upper]
}

const codec = <V>(c: BoundCodec<V>) => c as unknown as BoundCodec<unknown>

const codecOf = (type: WritableType): BoundCodec<unknown> => {
  switch (type.kind) {
    case "boolean":
      return codec<number>({ decode: (b) => (b[0] === 0 ? 0 : 1), compare: compareNumbers, encode: (v) => Uint8Array.of(v) })
    case "int":
    case "date":
      return codec<number>({ decode: (b) => view(b).getInt32(0, true), compare: compareNumbers, encode: encodeInt32 })
    case "long":
    case "timestamp":
    case "timestamptz":
      return codec<bigint>({ decode: (b) => view(b).getBigInt64(0, true), compare: compareBigInts, encode: encodeInt64 })
    case "double":
      return codec<number>({ decode: (b) => view(b).getFloat64(0, true), compare: compareFloats, encode: encodeFloat64 })
    case "float":
      return codec<number>({ decode: (b) => view(b).getFloat32(0, true), compare: compareFloats, encode: encodeFloat32 })
    case "decimal":
      return codec<bigint>({ decode: decodeDecimal, compare: compareBigInts, encode: encodeDecimal })
    case "string":
    case "binary":
      return codec<Uint8Array>({
        decode: (b) => b.slice(),
        compare: (a, b) => compareBytes(a, 0, a.length, b, 0, b.length),
        encode: (v) => v
      })
  }
}

/**
 * The metrics of one column of a data file: its counts, and as bounds the smallest minimum and
 * the largest maximum of its column chunks' statistics (chunks without statistics hold no value).
 */
export const columnMetrics = (
  type: WritableType,
  counts: ColumnCounter,
  chunks: ReadonlyArray<{ readonly min: Uint8Array | undefined; readonly max: Uint8Array | undefined }>
): ColumnMetrics => {
  const codec = codecOf(type)
  let min: unknown
  let max: unknown
  for (const chunk of chunks) {
    if (chunk.min === undefined || chunk.max === undefined) continue
    const lo = codec.decode(chunk.min)
    const hi = codec.decode(chunk.max)
    if (min === undefined || codec.compare(lo, min) < 0) min = lo
    if (max === undefined || codec.compare(hi, max) > 0) max = hi
  }
  const base = { valueCount: counts.valueCount, nullCount: counts.nullCount, nanCount: counts.nanCount }
  if (min === undefined || max === undefined) return { ...base, lower: undefined, upper: undefined }
  if (type.kind === "string" || type.kind === "binary") {
    const [lower, upper] = bytesBounds(type.kind === "string")(min as Uint8Array, max as Uint8Array)
    return { ...base, lower, upper }
  }
  return { ...base, lower: codec.encode(min), upper: codec.encode(max) }
}
