import type { CellValue, Column, ColumnType } from "@ingest/domain"
import { JsonNumber, rawText } from "./raw-cells.ts"
import type { ColumnHint } from "../read-options.ts"
import {
  dateFromText,
  decimalFromText,
  formatDate,
  formatTimestamp,
  isNullToken,
  NUM_NONE,
  ORDER_YMD,
  orderBit,
  parseBooleanText,
  parseDoubleText,
  parseIntegerText,
  scanNumber,
  timestampFromText
} from "./text-grammar.ts"

/**
 * Coercion of raw cells to the canonical values of batch.ts for a target column. Accepted:
 * every value the inference put in that type, plus widening (anything → STRING, INTEGER →
 * DECIMAL/DOUBLE, DECIMAL → DOUBLE, DATE → TIMESTAMP/TIMESTAMP_TZ, naive → zoned read as UTC).
 * Anything else throws CoercionError with the reason; the caller adds row and column.
 */
export class CoercionError extends Error {
  constructor(reason: string) {
    super(reason)
    this.name = "CoercionError"
  }
}

export type Coercer = (value: unknown) => CellValue

const describe = (value: unknown): string => {
  const text = rawText(value)
  return JSON.stringify(text.length > 60 ? text.slice(0, 60) + "…" : text)
}

export const refuse = (value: unknown, type: string): never => {
  throw new CoercionError(`${describe(value)} is not a valid ${type}`)
}

const MAX_SAFE = 9007199254740991n

export const integerOf = (v: unknown): number | bigint | undefined => {
  switch (typeof v) {
    case "string":
      return parseIntegerText(v)
    case "number":
      return Number.isSafeInteger(v) ? (Object.is(v, -0) ? 0 : v) : undefined
    case "bigint":
      if (v < -9223372036854775808n || v > 9223372036854775807n) return undefined
      return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v
    default:
      return v instanceof JsonNumber ? parseIntegerText(v.text) : undefined
  }
}

export const decimalOf = (v: unknown, precision: number, scale: number): string | undefined => {
  switch (typeof v) {
    case "string":
      return decimalFromText(v, precision, scale)
    case "number":
      return Number.isFinite(v) ? decimalFromText(String(v), precision, scale) : undefined
    case "bigint":
      return decimalFromText(v.toString(), precision, scale)
    default:
      return v instanceof JsonNumber ? decimalFromText(v.text, precision, scale) : undefined
  }
}

export const doubleOf = (v: unknown): number | undefined => {
  switch (typeof v) {
    case "string":
      return parseDoubleText(v)
    case "number":
      return v
    case "bigint":
      return Number(v)
    default:
      if (v instanceof JsonNumber) return scanNumber(v.text) === NUM_NONE ? undefined : Number(v.text)
      return undefined
  }
}

const MS_PER_DAY = 86_400_000

export const dateOf = (v: unknown, order: number): number | undefined => {
  if (typeof v === "string") return dateFromText(v, order)
  if (v instanceof Date) {
    const ms = v.getTime()
    return Number.isFinite(ms) && ms % MS_PER_DAY === 0 ? ms / MS_PER_DAY : undefined
  }
  if (typeof v === "number" && Number.isSafeInteger(v)) return v
  return undefined
}

export const timestampOf = (v: unknown, order: number, zoned: boolean): bigint | undefined => {
  if (typeof v === "string") return timestampFromText(v, order, zoned)
  if (v instanceof Date) {
    const ms = v.getTime()
    return Number.isFinite(ms) ? BigInt(ms) * 1000n : undefined
  }
  if (typeof v === "bigint") return v
  return undefined
}

export const booleanOf = (v: unknown): boolean | undefined => {
  if (typeof v === "boolean") return v
  if (typeof v === "string") return parseBooleanText(v)
  return undefined
}

export const binaryOf = (v: unknown): Uint8Array | undefined => {
  // A view into a larger buffer is copied: batches cross threads, and a view would carry its whole buffer.
  if (v instanceof Uint8Array) return v.byteOffset === 0 && v.byteLength === v.buffer.byteLength ? v : v.slice()
  if (typeof v === "string") return new Uint8Array(Buffer.from(v, "utf8"))
  return undefined
}

export const stringOf = (v: unknown): string => (typeof v === "string" ? v : rawText(v))

/**
 * Builds the coercer of one target column.
 * @param textValues raw strings are text with null tokens (CSV)
 */
export const makeCoercer = (target: Column, hint: ColumnHint | undefined, textValues: boolean): Coercer => {
  const order = hint?.dateOrder !== undefined ? orderBit(hint.dateOrder) : ORDER_YMD
  const convert = converterFor(target.type, target.precision ?? 38, target.scale ?? 0, order)
  const required = !target.nullable
  return (value) => {
    if (value === null || value === undefined || (textValues && typeof value === "string" && isNullToken(value))) {
      if (required) throw new CoercionError("missing value in a column that does not allow nulls")
      return null
    }
    return convert(value)
  }
}

const converterFor = (type: ColumnType, precision: number, scale: number, order: number): Coercer => {
  switch (type) {
    case "STRING":
      return stringOf
    case "INTEGER":
      return (v) => integerOf(v) ?? refuse(v, "INTEGER")
    case "DECIMAL":
      return (v) => decimalOf(v, precision, scale) ?? refuse(v, `DECIMAL(${precision},${scale})`)
    case "DOUBLE":
      return (v) => doubleOf(v) ?? refuse(v, "DOUBLE")
    case "BOOLEAN":
      return (v) => booleanOf(v) ?? refuse(v, "BOOLEAN")
    case "DATE":
      return (v) => dateOf(v, order) ?? refuse(v, "DATE")
    case "TIMESTAMP":
      return (v) => timestampOf(v, order, false) ?? refuse(v, "TIMESTAMP")
    case "TIMESTAMP_TZ":
      return (v) => timestampOf(v, order, true) ?? refuse(v, "TIMESTAMP_TZ")
    case "BINARY":
      return (v) => binaryOf(v) ?? refuse(v, "BINARY")
  }
}

const MAX_PREVIEW_TEXT = 65_536

/** JSON-friendly preview value of a canonical value (exact numbers stay numbers, others text). */
export const previewValue = (value: CellValue, type: ColumnType): unknown => {
  if (value === null) return null
  switch (type) {
    case "INTEGER":
      return typeof value === "bigint" ? value.toString() : value
    case "DECIMAL": {
      const text = value as string
      const asNumber = Number(text)
      return text.replace(/[-.]/g, "").replace(/^0+/, "").length <= 15 ? asNumber : text
    }
    case "DOUBLE":
      return Number.isFinite(value as number) ? value : String(value)
    case "DATE":
      return formatDate(value as number)
    case "TIMESTAMP":
      return formatTimestamp(value as bigint, false)
    case "TIMESTAMP_TZ":
      return formatTimestamp(value as bigint, true)
    case "BINARY":
      return rawText(value)
    case "STRING": {
      const text = value as string
      return text.length > MAX_PREVIEW_TEXT ? text.slice(0, MAX_PREVIEW_TEXT) + "…" : text
    }
    default:
      return value
  }
}

