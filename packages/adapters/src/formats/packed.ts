import type { Column, PackedColumn, PackedData } from "@ingest/domain"
import { Utf8Builder } from "../columnar/utf8-builder.ts"
import {
  binaryOf,
  booleanOf,
  CoercionError,
  dateOf,
  decimalOf,
  doubleOf,
  integerOf,
  refuse,
  stringOf,
  timestampOf
} from "./coerce.ts"
import type { ColumnHint } from "./infer.ts"
import { isNullToken, ORDER_YMD, orderBit, timestampMicrosFromText, unscaledFromText } from "./values.ts"

// Coercion of raw cells straight into packed columns (PackedColumn of batch.ts): the same rules as
// coerce.ts's makeCoercer, but each value lands in a typed array as it is read, with no canonical
// value in between. Packed batches leave the parser worker without being copied, and the table
// writer stores their buffers as they are.

/** Appends raw cells of one column; `take` hands over what was appended and starts afresh. */
export interface ColumnPacker {
  /** Throws CoercionError naming the problem when the value does not fit the column. */
  append(value: unknown): void
  take(): PackedColumn
  /** Bytes held (to cut batches by size). */
  readonly bytes: number
}

const twoPow32 = 4294967296
const initialRows = 1024

/** Validity bitmap allocated at the first null. */
class Validity {
  bits: Uint8Array | undefined
  nullCount = 0
  setNull(row: number, capacity: number): void {
    if (this.bits === undefined) this.bits = new Uint8Array(capacity >> 3).fill(0xff)
    else if (this.bits.length < capacity >> 3) this.bits = grow(this.bits, capacity >> 3, 0xff)
    this.bits[row >> 3]! &= ~(1 << (row & 7))
    this.nullCount++
  }
  take(rows: number): { validity: Uint8Array | undefined; nullCount: number } {
    const needed = (rows + 7) >> 3
    if (this.bits !== undefined && this.bits.length < needed) this.bits = grow(this.bits, needed, 0xff)
    const taken = { validity: this.nullCount === 0 ? undefined : this.bits!.subarray(0, needed), nullCount: this.nullCount }
    this.bits = undefined
    this.nullCount = 0
    return taken
  }
}

const grow = <T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(array: T, length: number, fill = 0): T => {
  const grown = new (array.constructor as new(n: number) => T)(length)
  grown.set(array as never)
  if (fill !== 0) grown.fill(fill as never, array.length)
  return grown
}

/** Fixed-width values in 32-bit words: `width` words per row. */
class Words {
  words: Uint32Array
  readonly width: number
  constructor(width: number) {
    this.width = width
    this.words = new Uint32Array(initialRows * width)
  }
  reserve(rows: number): void {
    if (rows * this.width > this.words.length) this.words = grow(this.words, Math.max(rows, (this.words.length / this.width) * 2) * this.width)
  }
  /** A safe integer or a bigint as a two's complement integer of `width` words. */
  set(row: number, value: number | bigint): void {
    const at = row * this.width
    if (typeof value === "number") {
      this.words[at] = value >>> 0
      this.words[at + 1] = Math.floor(value / twoPow32) >>> 0
      const fill = value < 0 ? 0xffffffff : 0
      for (let k = 2; k < this.width; k++) this.words[at + k] = fill
      return
    }
    let v = BigInt.asUintN(this.width * 32, value)
    for (let k = 0; k < this.width; k++) {
      this.words[at + k] = Number(v & 0xffffffffn)
      v >>= 32n
    }
  }
  take(rows: number): Uint32Array {
    const taken = this.words.subarray(0, rows * this.width)
    this.words = new Uint32Array(Math.max(initialRows, rows) * this.width)
    return taken
  }
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/**
 * Builds the packer of one target column (the rules of makeCoercer).
 * @param textValues raw strings are text with null tokens (CSV)
 */
export const makeColumnPacker = (target: Column, hint: ColumnHint | undefined, textValues: boolean): ColumnPacker => {
  const order = hint?.dateOrder !== undefined ? orderBit(hint.dateOrder) : ORDER_YMD
  const required = !target.nullable
  const validity = new Validity()
  let rows = 0
  let capacity = initialRows
  const isNull = (value: unknown): boolean => {
    if (value === null || value === undefined || (textValues && typeof value === "string" && isNullToken(value))) {
      if (required) throw new CoercionError("missing value in a column that does not allow nulls")
      return true
    }
    return false
  }
  const packed = (data: PackedData): PackedColumn => {
    const column: PackedColumn = { _tag: "PackedColumn", length: rows, ...validity.take(rows), data }
    rows = 0
    return column
  }
  const make = (
    fixed: { reserve(rows: number): void; readonly bytes: number } | undefined,
    write: (row: number, value: unknown) => void,
    writeNull: (row: number) => void,
    take: () => PackedData
  ): ColumnPacker => ({
    append: (value) => {
      if (rows >= capacity) capacity *= 2
      fixed?.reserve(capacity)
      if (isNull(value)) {
        validity.setNull(rows, capacity)
        writeNull(rows)
      } else write(rows, value)
      rows++
    },
    take: () => {
      const data = take()
      capacity = initialRows
      return packed(data)
    },
    get bytes() {
      return fixed?.bytes ?? 0
    }
  })
  const noop = () => {}

  switch (target.type) {
    case "INTEGER":
    case "TIMESTAMP":
    case "TIMESTAMP_TZ": {
      const words = new Words(2)
      const sizes = { reserve: (n: number) => words.reserve(n), get bytes() { return rows * 8 } }
      const zoned = target.type === "TIMESTAMP_TZ"
      const valueOf: (v: unknown) => number | bigint | undefined = target.type === "INTEGER"
        ? integerOf
        : (v) => (typeof v === "string" ? timestampMicrosFromText(v, order, zoned) : timestampOf(v, order, zoned))
      return make(sizes, (row, v) => {
        const n = valueOf(v)
        if (n === undefined || (typeof n === "bigint" && (n < INT64_MIN || n > INT64_MAX))) return refuse(v, target.type)
        words.set(row, n)
      }, (row) => words.set(row, 0), () => ({
        kind: target.type === "INTEGER" ? "int64" : "timestamp",
        values: new BigInt64Array(words.take(rows).buffer, 0, rows)
      }))
    }
    case "DECIMAL": {
      const precision = target.precision ?? 38
      const scale = target.scale ?? 0
      const words = new Words(4)
      const sizes = { reserve: (n: number) => words.reserve(n), get bytes() { return rows * 16 } }
      return make(sizes, (row, v) => {
        const text = typeof v === "string" ? v : decimalOf(v, precision, scale)
        const unscaled = text === undefined ? undefined : unscaledFromText(text, precision, scale)
        if (unscaled === undefined) return refuse(v, `DECIMAL(${precision},${scale})`)
        words.set(row, unscaled)
      }, (row) => words.set(row, 0), () => ({ kind: "decimal128", words: words.take(rows), precision, scale }))
    }
    case "DOUBLE": {
      let values = new Float64Array(initialRows)
      const sizes = { reserve: (n: number) => (n > values.length ? (values = grow(values, n)) : undefined), get bytes() { return rows * 8 } }
      return make(sizes, (row, v) => {
        const n = doubleOf(v)
        if (n === undefined) return refuse(v, "DOUBLE")
        values[row] = n
      }, (row) => (values[row] = 0), () => {
        const taken = values.subarray(0, rows)
        values = new Float64Array(initialRows)
        return { kind: "float64", values: taken }
      })
    }
    case "DATE": {
      let values = new Int32Array(initialRows)
      const sizes = { reserve: (n: number) => (n > values.length ? (values = grow(values, n)) : undefined), get bytes() { return rows * 4 } }
      return make(sizes, (row, v) => {
        const days = dateOf(v, order)
        if (days === undefined || days < -2147483648 || days > 2147483647) return refuse(v, "DATE")
        values[row] = days
      }, (row) => (values[row] = 0), () => {
        const taken = values.subarray(0, rows)
        values = new Int32Array(initialRows)
        return { kind: "date32", values: taken }
      })
    }
    case "BOOLEAN": {
      let bits = new Uint8Array(initialRows >> 3)
      const sizes = { reserve: (n: number) => (n >> 3 > bits.length ? (bits = grow(bits, n >> 3)) : undefined), get bytes() { return rows >> 3 } }
      return make(sizes, (row, v) => {
        const b = booleanOf(v)
        if (b === undefined) return refuse(v, "BOOLEAN")
        if (b) bits[row >> 3]! |= 1 << (row & 7)
      }, noop, () => {
        const taken = bits.subarray(0, (rows + 7) >> 3)
        bits = new Uint8Array(initialRows >> 3)
        return { kind: "boolean", bits: taken }
      })
    }
    case "STRING":
    case "BINARY": {
      let offsets = new Int32Array(initialRows + 1)
      let text = new Utf8Builder(initialRows * 16)
      const binary = target.type === "BINARY"
      const sizes = {
        reserve: (n: number) => (n + 1 > offsets.length ? (offsets = grow(offsets, n + 1)) : undefined),
        get bytes() {
          return text.length + rows * 4
        }
      }
      return make(sizes, (row, v) => {
        if (binary) text.appendBytes(binaryOf(v) ?? refuse(v, "BINARY"))
        else text.append(stringOf(v))
        if (text.length > maxColumnBytes) throw new CoercionError("the batch holds more than 2 GiB of text")
        offsets[row + 1] = text.length
      }, (row) => (offsets[row + 1] = text.length), () => {
        const taken = { offsets: offsets.subarray(0, rows + 1), bytes: text.bytes.subarray(0, text.length) }
        offsets = new Int32Array(initialRows + 1)
        text = new Utf8Builder(Math.max(1024, taken.bytes.length))
        return { kind: binary ? "binary" : "utf8", ...taken }
      })
    }
  }
}

const maxColumnBytes = 0x7fffffff

/** The buffers of packed columns, to move them to another thread instead of copying. */
export const transferablesOf = (columns: ReadonlyArray<unknown>): Array<ArrayBuffer> => {
  const buffers = new Set<ArrayBuffer>()
  const add = (view: ArrayBufferView | undefined) => {
    if (view !== undefined && view.buffer instanceof ArrayBuffer) buffers.add(view.buffer)
  }
  for (const column of columns) {
    const packed = column as Partial<PackedColumn>
    if (packed._tag !== "PackedColumn" || packed.data === undefined) continue
    add(packed.validity)
    const data = packed.data
    switch (data.kind) {
      case "boolean":
        add(data.bits)
        break
      case "decimal128":
        add(data.words)
        break
      case "utf8":
      case "binary":
        add(data.offsets)
        add(data.bytes)
        break
      default:
        add(data.values)
    }
  }
  return [...buffers]
}
