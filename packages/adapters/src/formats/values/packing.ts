import type { Column, PackedColumn, PackedData } from "@ingest/domain"
import { Utf8Builder } from "../../columnar/utf8-builder.ts"
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
} from "./coercion.ts"
import {
  fieldText,
  isNullField,
  OUT_OF_RANGE,
  plainBooleanOfField,
  plainDateOfField,
  plainInt64OfField,
  plainIntegerOfField,
  plainTimestampOfField,
  plainUnscaledOfField
} from "./byte-grammar.ts"
import { type CsvFields, MISSING_FIELD } from "../csv/byte-tokenizer.ts"
import type { ColumnHint } from "../read-options.ts"
import { isNullToken, ORDER_YMD, orderBit, timestampMicrosFromText, unscaledFromText } from "./text-grammar.ts"

// Coercion of raw cells straight into packed columns (PackedColumn of batch.ts): the same rules as
// coercion.ts's makeCoercer, but each value lands in a typed array as it is read, with no canonical
// value in between. Packed batches leave the parser worker without being copied, and the table
// writer stores their buffers as they are. CSV fields are read from their UTF-8 bytes
// (appendFields), with no string made for most of them.

/** Appends raw cells of one column; `take` hands over what was appended and starts afresh. */
export interface ColumnPacker {
  /**
   * Appends `values[0..n)` (n nulls when `values` is undefined). A value that does not fit the
   * column throws a PackError with its index.
   */
  appendAll(values: ReadonlyArray<unknown> | undefined, n: number): void
  /** Appends the fields of `column` of the records in `fields` (text with null tokens); throws as appendAll. */
  appendFields(fields: CsvFields, column: number): void
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
  /** Marks row `row` null (or refuses it in a required column). */
  const markNull = (row: number, index: number): void => {
    if (required) throw new PackError(index, "missing value in a column that does not allow nulls")
    if (validity === undefined) validity = new Uint8Array(Math.max(initialRows, (row + 1) * 2) >> 3).fill(0xff)
    if (row >> 3 >= validity.length) validity = grow(validity, Math.max((row >> 3) + 1, validity.length * 2), 0xff)
    validity[row >> 3]! &= ~(1 << (row & 7))
    nullCount++
  }
  /** Whether `value` is missing; marks row `row` null (or refuses it in a required column). */
  const isNull = (value: unknown, row: number, index: number): boolean => {
    if (value === null || value === undefined || (textValues && typeof value === "string" && isNullToken(value))) {
      markNull(row, index)
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

  // Each type has two loops, over raw values (appendAll) and over CSV fields (appendFields). A
  // field is read from `fieldBytes[fieldStart..fieldEnd)`, set by `locate`, which also marks
  // missing fields and null tokens null.
  let fieldBytes: Uint8Array = new Uint8Array(0)
  let fieldStart = 0
  let fieldEnd = 0
  /** Finds field `i` of `column`; false when it is null (marked so). */
  const locate = (fields: CsvFields, at: number, row: number, index: number): boolean => {
    const start = fields.starts[at]!
    if (start === MISSING_FIELD) {
      markNull(row, index)
      return false
    }
    if (start >= 0) {
      fieldBytes = fields.bytes
      fieldStart = start
    } else {
      fieldBytes = fields.unescaped
      fieldStart = -start - 2
    }
    fieldEnd = fields.ends[at]!
    if (isNullField(fieldBytes, fieldStart, fieldEnd)) {
      markNull(row, index)
      return false
    }
    return true
  }
  const fieldString = () => fieldText(fieldBytes, fieldStart, fieldEnd)

  switch (target.type) {
    case "INTEGER":
    case "TIMESTAMP":
    case "TIMESTAMP_TZ": {
      const integer = target.type === "INTEGER"
      const zoned = target.type === "TIMESTAMP_TZ"
      let words = new Uint32Array(initialRows * 2)
      const reserve = (n: number) => {
        if ((rows + n) * 2 > words.length) words = grow(words, Math.max(rows + n, words.length) * 2)
        reserveValidity(n)
      }
      const put = (value: number | bigint | undefined, index: number, raw: unknown) => {
        if (value === undefined || (typeof value === "bigint" && (value < INT64_MIN || value > INT64_MAX))) {
          return refuseAt(index, raw, target.type)
        }
        setWords(words, rows * 2, 2, value)
      }
      return {
        appendAll: (values, n) => {
          reserve(n)
          for (let i = 0; i < n; i++, rows++) {
            const v = values?.[i]
            if (isNull(v, rows, i)) {
              words[rows * 2] = 0
              words[rows * 2 + 1] = 0
              continue
            }
            put(
              integer ? integerOf(v) : typeof v === "string" ? timestampMicrosFromText(v, order, zoned) : timestampOf(v, order, zoned),
              i,
              v
            )
          }
        },
        appendFields: (fields, column) => {
          const n = fields.length
          reserve(n)
          const base = column * fields.capacity
          for (let i = 0; i < n; i++, rows++) {
            // A null's words stay as allocated: zero.
            if (!locate(fields, base + i, rows, i)) continue
            const plain = integer
              ? plainIntegerOfField(fieldBytes, fieldStart, fieldEnd)
              : plainTimestampOfField(fieldBytes, fieldStart, fieldEnd, order, zoned)
            if (plain !== undefined) {
              words[rows * 2] = plain >>> 0
              words[rows * 2 + 1] = Math.floor(plain / twoPow32) >>> 0
              continue
            }
            if (integer && plainInt64OfField(fieldBytes, fieldStart, fieldEnd, words, rows * 2)) continue
            const v = fieldString()
            put(integer ? integerOf(v) : timestampMicrosFromText(v, order, zoned), i, v)
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
      const reserve = (n: number) => {
        if ((rows + n) * 4 > words.length) words = grow(words, Math.max(rows + n, words.length / 2) * 4)
        reserveValidity(n)
      }
      const put = (text: string | undefined, index: number, raw: unknown) => {
        const unscaled = text === undefined ? undefined : unscaledFromText(text, precision, scale)
        if (unscaled === undefined) return refuseAt(index, raw, type)
        setWords(words, rows * 4, 4, unscaled)
      }
      return {
        appendAll: (values, n) => {
          reserve(n)
          for (let i = 0; i < n; i++, rows++) {
            const v = values?.[i]
            if (isNull(v, rows, i)) {
              words.fill(0, rows * 4, rows * 4 + 4)
              continue
            }
            put(typeof v === "string" ? v : decimalOf(v, precision, scale), i, v)
          }
        },
        appendFields: (fields, column) => {
          const n = fields.length
          reserve(n)
          const base = column * fields.capacity
          for (let i = 0; i < n; i++, rows++) {
            // A null's words stay as allocated: zero.
            if (!locate(fields, base + i, rows, i)) continue
            const plain = plainUnscaledOfField(fieldBytes, fieldStart, fieldEnd, precision, scale)
            if (plain === OUT_OF_RANGE) return refuseAt(i, fieldString(), type)
            if (plain !== undefined) {
              setWords(words, rows * 4, 4, plain)
              continue
            }
            const v = fieldString()
            put(v, i, v)
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
      const reserve = (n: number) => {
        if (rows + n > values.length) values = grow(values, Math.max(rows + n, values.length * 2))
        reserveValidity(n)
      }
      const put = (v: unknown, index: number) => {
        if (date) {
          const days = dateOf(v, order)
          if (days === undefined || days < -2147483648 || days > 2147483647) return refuseAt(index, v, "DATE")
          values[rows] = days
        } else {
          const number = doubleOf(v)
          if (number === undefined) return refuseAt(index, v, "DOUBLE")
          values[rows] = number
        }
      }
      return {
        appendAll: (cells, n) => {
          reserve(n)
          for (let i = 0; i < n; i++, rows++) {
            const v = cells?.[i]
            if (isNull(v, rows, i)) {
              values[rows] = 0
              continue
            }
            put(v, i)
          }
        },
        appendFields: (fields, column) => {
          const n = fields.length
          reserve(n)
          const base = column * fields.capacity
          for (let i = 0; i < n; i++, rows++) {
            if (!locate(fields, base + i, rows, i)) {
              values[rows] = 0
              continue
            }
            const days = date ? plainDateOfField(fieldBytes, fieldStart, fieldEnd, order) : undefined
            if (days !== undefined) values[rows] = days
            else put(fieldString(), i)
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
      const reserve = (n: number) => {
        if ((rows + n + 7) >> 3 > bits.length) bits = grow(bits, Math.max((rows + n + 7) >> 3, bits.length * 2))
        reserveValidity(n)
      }
      const put = (b: boolean | undefined, index: number, raw: unknown) => {
        if (b === undefined) return refuseAt(index, raw, "BOOLEAN")
        if (b) bits[rows >> 3]! |= 1 << (rows & 7)
      }
      return {
        appendAll: (values, n) => {
          reserve(n)
          for (let i = 0; i < n; i++, rows++) {
            const v = values?.[i]
            if (!isNull(v, rows, i)) put(booleanOf(v), i, v)
          }
        },
        appendFields: (fields, column) => {
          const n = fields.length
          reserve(n)
          const base = column * fields.capacity
          for (let i = 0; i < n; i++, rows++) {
            if (!locate(fields, base + i, rows, i)) continue
            const plain = plainBooleanOfField(fieldBytes, fieldStart, fieldEnd)
            if (plain !== undefined) put(plain, i, undefined)
            else {
              const v = fieldString()
              put(booleanOf(v), i, v)
            }
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
      const reserve = (n: number) => {
        if (rows + n + 1 > offsets.length) offsets = grow(offsets, Math.max(rows + n + 1, offsets.length * 2))
        reserveValidity(n)
      }
      const checkSize = (index: number) => {
        if (text.length > maxColumnBytes) throw new PackError(index, "the batch holds more than 2 GiB of text")
      }
      return {
        appendAll: (values, n) => {
          reserve(n)
          for (let i = 0; i < n; i++, rows++) {
            const v = values?.[i]
            if (!isNull(v, rows, i)) {
              if (binary) text.appendBytes(binaryOf(v) ?? refuseAt(i, v, "BINARY"))
              else text.append(typeof v === "string" ? v : stringOf(v))
              checkSize(i)
            }
            offsets[rows + 1] = text.length
          }
        },
        // Fields are valid UTF-8 (csv/byte-tokenizer.ts checks): text and its bytes (BINARY) are the bytes as they are.
        appendFields: (fields, column) => {
          const n = fields.length
          reserve(n)
          const base = column * fields.capacity
          for (let i = 0; i < n; i++, rows++) {
            if (locate(fields, base + i, rows, i)) {
              text.appendRange(fieldBytes, fieldStart, fieldEnd)
              checkSize(i)
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
