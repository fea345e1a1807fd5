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
import {
  daysFromCivil,
  isNullToken,
  ORDER_YMD,
  orderBit,
  powersOfTen,
  timestampMicrosFromText,
  unscaledFromText
} from "./values.ts"

// Coercion of raw cells straight into packed columns (PackedColumn of batch.ts): the same rules as
// coerce.ts's makeCoercer, but each value lands in a typed array as it is read, with no canonical
// value in between. Packed batches leave the parser worker without being copied, and the table
// writer stores their buffers as they are.

/** Appends raw cells of one column; `take` hands over what was appended and starts afresh. */
export interface ColumnPacker {
  /**
   * Appends `values[0..n)` (n nulls when `values` is undefined). A value that does not fit the
   * column throws a PackError with its index.
   */
  appendAll(values: ReadonlyArray<unknown> | undefined, n: number): void
  take(): PackedColumn
  /** Bytes held (to cut batches by size). */
  readonly bytes: number
}

/** A value at `index` of an appendAll call does not fit the column. */
export class PackError extends Error {
  readonly index: number
  constructor(index: number, reason: string) {
    super(reason)
    this.index = index
  }
}

const twoPow32 = 4294967296
const initialRows = 1024

const grow = <T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(array: T, length: number, fill = 0): T => {
  const grown = new (array.constructor as new(n: number) => T)(length)
  grown.set(array as never)
  if (fill !== 0) grown.fill(fill as never, array.length)
  return grown
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** Writes a safe integer or a bigint as a two's complement integer of `width` 32-bit words. */
const setWords = (words: Uint32Array, at: number, width: number, value: number | bigint): void => {
  if (typeof value === "number") {
    words[at] = value >>> 0
    words[at + 1] = Math.floor(value / twoPow32) >>> 0
    const fill = value < 0 ? 0xffffffff : 0
    for (let k = 2; k < width; k++) words[at + k] = fill
    return
  }
  let v = BigInt.asUintN(width * 32, value)
  for (let k = 0; k < width; k++) {
    words[at + k] = Number(v & 0xffffffffn)
    v >>= 32n
  }
}

// Fast paths for the commonest spellings; anything else goes through the general grammar of
// values.ts, so both accept exactly the same values.

/** Plain decimal digits with an optional minus, at most 15 digits, no leading zero. */
const integerOfText = (s: string): number | bigint | undefined => {
  const n = s.length
  if (n > 0 && n <= 15) {
    let i = s.charCodeAt(0) === 45 ? 1 : 0
    const first = s.charCodeAt(i)
    if ((i < n && first >= 49 && first <= 57) || (first === 48 && n === 1)) {
      let value = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i) - 48
        if (c < 0 || c > 9) return integerOf(s)
        value = value * 10 + c
      }
      return s.charCodeAt(0) === 45 ? (value === 0 ? 0 : -value) : value
    }
  }
  return integerOf(s)
}

/** `[-]digits[.digits]` with at most 15 digits at the column's scale, no leading zero. */
const unscaledOfText = (s: string, precision: number, scale: number): number | bigint | undefined => {
  const n = s.length
  if (n === 0 || n > 17) return unscaledFromText(s, precision, scale)
  const negative = s.charCodeAt(0) === 45
  let i = negative ? 1 : 0
  const first = s.charCodeAt(i)
  let value = 0
  let integerDigits = 0
  let fraction = -1
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48)
      if (fraction >= 0) fraction++
      else integerDigits++
    } else if (c === 46 && fraction < 0) fraction = 0
    else return unscaledFromText(s, precision, scale)
  }
  const significantInteger = first === 48 ? integerDigits - 1 : integerDigits
  if (
    integerDigits === 0 || fraction === 0 || fraction > scale || (first === 48 && integerDigits > 1) ||
    significantInteger + scale > 15
  ) return unscaledFromText(s, precision, scale)
  if (significantInteger > precision - scale) return undefined
  const unscaled = value * powersOfTen[scale - Math.max(fraction, 0)]!
  return negative && unscaled !== 0 ? -unscaled : unscaled
}

const digitsAt = (s: string, at: number, count: number): number => {
  let value = 0
  for (let k = at; k < at + count; k++) {
    const c = s.charCodeAt(k) - 48
    if (c < 0 || c > 9) return -1
    value = value * 10 + c
  }
  return value
}

const isoDays = (s: string): number | undefined => {
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return undefined
  const year = digitsAt(s, 0, 4)
  const month = digitsAt(s, 5, 2)
  const day = digitsAt(s, 8, 2)
  if (year < 1 || month < 1 || month > 12 || day < 1) return undefined
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
  const last = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
  return day <= last ? daysFromCivil(year, month, day) : undefined
}

/** `yyyy-mm-dd` (read year first). */
const dateOfText = (s: string, order: number): number | undefined =>
  (s.length === 10 && order === ORDER_YMD ? isoDays(s) : undefined) ?? dateOf(s, order)

/** `yyyy-mm-dd[T ]hh:mm:ss[.f…]` with no zone, or `Z` for an instant. */
const timestampOfText = (s: string, order: number, zoned: boolean): number | bigint | undefined => {
  let end = s.length
  if (end >= 19 && order === ORDER_YMD) {
    if (zoned && s.charCodeAt(end - 1) === 90) end--
    const t = s.charCodeAt(10)
    const days = (t === 84 || t === 32) && s.charCodeAt(13) === 58 && s.charCodeAt(16) === 58 ? isoDays(s) : undefined
    const hour = digitsAt(s, 11, 2)
    const minute = digitsAt(s, 14, 2)
    const second = digitsAt(s, 17, 2)
    if (days !== undefined && hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59) {
      let micros = 0
      let fine = end === 19
      if (end > 20 && end <= 26 && s.charCodeAt(19) === 46) {
        micros = digitsAt(s, 20, end - 20)
        for (let d = end - 20; d < 6; d++) micros *= 10
        fine = micros >= 0
      }
      const seconds = days * 86400 + hour * 3600 + minute * 60 + second
      // Within about ±285 years of 1970 the microseconds are a safe integer.
      if (fine && seconds > -9_007_199_253 && seconds < 9_007_199_253) return seconds * 1_000_000 + micros
    }
  }
  return timestampMicrosFromText(s, order, zoned)
}

const isNullText = (s: string): boolean => s.length <= 6 && isNullToken(s)

/**
 * Builds the packer of one target column (the rules of makeCoercer).
 * @param textValues raw strings are text with null tokens (CSV)
 */
export const makeColumnPacker = (target: Column, hint: ColumnHint | undefined, textValues: boolean): ColumnPacker => {
  const order = hint?.dateOrder !== undefined ? orderBit(hint.dateOrder) : ORDER_YMD
  const required = !target.nullable
  let rows = 0
  let validity: Uint8Array | undefined
  let nullCount = 0

  /** Room for `n` more rows in the validity bitmap (once there is one). */
  const reserveValidity = (n: number) => {
    if (validity !== undefined && (rows + n + 7) >> 3 > validity.length) {
      validity = grow(validity, Math.max((rows + n + 7) >> 3, validity.length * 2), 0xff)
    }
  }
  /** Whether `value` is missing; marks row `row` null (or refuses it in a required column). */
  const isNull = (value: unknown, row: number, index: number): boolean => {
    if (value === null || value === undefined || (textValues && typeof value === "string" && isNullText(value))) {
      if (required) throw new PackError(index, "missing value in a column that does not allow nulls")
      if (validity === undefined) validity = new Uint8Array(Math.max(initialRows, (row + 1) * 2) >> 3).fill(0xff)
      if (row >> 3 >= validity.length) validity = grow(validity, Math.max((row >> 3) + 1, validity.length * 2), 0xff)
      validity[row >> 3]! &= ~(1 << (row & 7))
      nullCount++
      return true
    }
    return false
  }
  const taken = (length: number, data: PackedData): PackedColumn => {
    // Rows after the last null may lie beyond the bitmap so far: they are all valid.
    if (validity !== undefined && validity.length < (length + 7) >> 3) validity = grow(validity, (length + 7) >> 3, 0xff)
    const column: PackedColumn = {
      _tag: "PackedColumn",
      length,
      validity: nullCount === 0 ? undefined : validity!.subarray(0, (length + 7) >> 3),
      nullCount,
      data
    }
    rows = 0
    validity = undefined
    nullCount = 0
    return column
  }
  const refuseAt = (index: number, value: unknown, type: string): never => {
    try {
      return refuse(value, type)
    } catch (error) {
      throw new PackError(index, error instanceof CoercionError ? error.message : String(error))
    }
  }

  switch (target.type) {
    case "INTEGER":
    case "TIMESTAMP":
    case "TIMESTAMP_TZ": {
      const integer = target.type === "INTEGER"
      const zoned = target.type === "TIMESTAMP_TZ"
      let words = new Uint32Array(initialRows * 2)
      return {
        appendAll: (values, n) => {
          if ((rows + n) * 2 > words.length) words = grow(words, Math.max(rows + n, words.length) * 2)
          reserveValidity(n)
          for (let i = 0; i < n; i++, rows++) {
            const v = values?.[i]
            if (isNull(v, rows, i)) {
              words[rows * 2] = 0
              words[rows * 2 + 1] = 0
              continue
            }
            const value = integer
              ? (typeof v === "string" ? integerOfText(v) : integerOf(v))
              : typeof v === "string"
              ? timestampOfText(v, order, zoned)
              : timestampOf(v, order, zoned)
            if (value === undefined || (typeof value === "bigint" && (value < INT64_MIN || value > INT64_MAX))) {
              return refuseAt(i, v, target.type)
            }
            setWords(words, rows * 2, 2, value)
          }
        },
        take: () => {
          const values = new BigInt64Array(words.buffer, 0, rows)
          words = new Uint32Array(Math.max(initialRows, rows) * 2)
          return taken(values.length, { kind: integer ? "int64" : "timestamp", values })
        },
        get bytes() {
          return rows * 8
        }
      }
    }
    case "DECIMAL": {
      const precision = target.precision ?? 38
      const scale = target.scale ?? 0
      const type = `DECIMAL(${precision},${scale})`
      let words = new Uint32Array(initialRows * 4)
      return {
        appendAll: (values, n) => {
          if ((rows + n) * 4 > words.length) words = grow(words, Math.max(rows + n, words.length / 2) * 4)
          reserveValidity(n)
          for (let i = 0; i < n; i++, rows++) {
            const v = values?.[i]
            if (isNull(v, rows, i)) {
              words.fill(0, rows * 4, rows * 4 + 4)
              continue
            }
            const text = typeof v === "string" ? v : decimalOf(v, precision, scale)
            const unscaled = text === undefined ? undefined : unscaledOfText(text, precision, scale)
            if (unscaled === undefined) return refuseAt(i, v, type)
            setWords(words, rows * 4, 4, unscaled)
          }
        },
        take: () => {
          const length = rows
          const data = words.subarray(0, length * 4)
          words = new Uint32Array(Math.max(initialRows, length) * 4)
          return taken(length, { kind: "decimal128", words: data, precision, scale })
        },
        get bytes() {
          return rows * 16
        }
      }
    }
    case "DOUBLE":
    case "DATE": {
      const date = target.type === "DATE"
      let values: Float64Array | Int32Array = date ? new Int32Array(initialRows) : new Float64Array(initialRows)
      return {
        appendAll: (cells, n) => {
          if (rows + n > values.length) values = grow(values, Math.max(rows + n, values.length * 2))
          reserveValidity(n)
          for (let i = 0; i < n; i++, rows++) {
            const v = cells?.[i]
            if (isNull(v, rows, i)) {
              values[rows] = 0
              continue
            }
            if (date) {
              const days = typeof v === "string" ? dateOfText(v, order) : dateOf(v, order)
              if (days === undefined || days < -2147483648 || days > 2147483647) return refuseAt(i, v, "DATE")
              values[rows] = days
            } else {
              const number = doubleOf(v)
              if (number === undefined) return refuseAt(i, v, "DOUBLE")
              values[rows] = number
            }
          }
        },
        take: () => {
          const length = rows
          const data = values.subarray(0, length)
          values = date ? new Int32Array(Math.max(initialRows, length)) : new Float64Array(Math.max(initialRows, length))
          return taken(length, date
            ? { kind: "date32", values: data as Int32Array }
            : { kind: "float64", values: data as Float64Array })
        },
        get bytes() {
          return rows * (date ? 4 : 8)
        }
      }
    }
    case "BOOLEAN": {
      let bits = new Uint8Array(initialRows >> 3)
      return {
        appendAll: (values, n) => {
          if ((rows + n + 7) >> 3 > bits.length) bits = grow(bits, Math.max((rows + n + 7) >> 3, bits.length * 2))
          reserveValidity(n)
          for (let i = 0; i < n; i++, rows++) {
            const v = values?.[i]
            if (isNull(v, rows, i)) continue
            const b = v === "true" ? true : v === "false" ? false : booleanOf(v)
            if (b === undefined) return refuseAt(i, v, "BOOLEAN")
            if (b) bits[rows >> 3]! |= 1 << (rows & 7)
          }
        },
        take: () => {
          const length = rows
          const data = bits.subarray(0, (length + 7) >> 3)
          bits = new Uint8Array(Math.max(initialRows, length) >> 3)
          return taken(length, { kind: "boolean", bits: data })
        },
        get bytes() {
          return rows >> 3
        }
      }
    }
    case "STRING":
    case "BINARY": {
      const binary = target.type === "BINARY"
      let offsets = new Int32Array(initialRows + 1)
      let text = new Utf8Builder(initialRows * 16)
      return {
        appendAll: (values, n) => {
          if (rows + n + 1 > offsets.length) offsets = grow(offsets, Math.max(rows + n + 1, offsets.length * 2))
          reserveValidity(n)
          for (let i = 0; i < n; i++, rows++) {
            const v = values?.[i]
            if (!isNull(v, rows, i)) {
              if (binary) text.appendBytes(binaryOf(v) ?? refuseAt(i, v, "BINARY"))
              else text.append(typeof v === "string" ? v : stringOf(v))
              if (text.length > maxColumnBytes) throw new PackError(i, "the batch holds more than 2 GiB of text")
            }
            offsets[rows + 1] = text.length
          }
        },
        take: () => {
          const length = rows
          const used = text.length
          // The buffer moves to other threads whole: a mostly empty one is cut to size first.
          const bytes = text.bytes.length - used > (used >> 2) + 65_536 ? text.bytes.slice(0, used) : text.bytes.subarray(0, used)
          const data = { offsets: offsets.subarray(0, length + 1), bytes }
          offsets = new Int32Array(Math.max(initialRows, length) + 1)
          text = new Utf8Builder(Math.max(1024, used + (used >> 3)))
          return taken(length, { kind: binary ? "binary" : "utf8", ...data })
        },
        get bytes() {
          return text.length + rows * 4
        }
      }
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
