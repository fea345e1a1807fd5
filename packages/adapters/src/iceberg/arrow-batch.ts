import type { CellValue, ColumnBatch, PackedColumn } from "@ingest/domain"
import { cellsOf, isPackedColumn } from "@ingest/domain/batch"
import * as A from "apache-arrow"
import { unscaledDecimal as parseDecimal, writeDecimalWords } from "../columnar/decimal.ts"
import { Utf8Builder } from "../columnar/utf8-builder.ts"
import type { FieldPlan, WritableType } from "./schema.ts"

// Column-major canonical values (see batch.ts) → one Arrow RecordBatch whose fields carry the
// Iceberg field ids (`PARQUET:field_id`, which arrow-rs writes into the Parquet schema).
// Values go straight into typed arrays: no per-cell objects, no BigInt for safe integers.

/** A bad cell value; turned into `Invalid` by the writer. */
export class CellError extends Error {
  readonly column: string
  constructor(column: string, reason: string) {
    super(`Column "${column}": ${reason}`)
    this.column = column
  }
}

/** Rows `start..end` of one batch. Several segments make up one Arrow batch. */
export interface Segment {
  readonly batch: ColumnBatch
  readonly start: number
  readonly end: number
}

export const fieldIdKey = "PARQUET:field_id"

export const arrowTypeOf = (type: WritableType): A.DataType => {
  switch (type.kind) {
    case "boolean":
      return new A.Bool()
    case "int":
      return new A.Int32()
    case "long":
      return new A.Int64()
    case "float":
      return new A.Float32()
    case "double":
      return new A.Float64()
    case "decimal":
      return new A.Decimal(type.scale, type.precision, 128)
    case "date":
      return new A.DateDay()
    case "timestamp":
      return new A.TimestampMicrosecond()
    case "timestamptz":
      return new A.TimestampMicrosecond("UTC")
    case "string":
      return new A.Utf8()
    case "binary":
      return new A.Binary()
  }
}

export const arrowSchemaOf = (plan: ReadonlyArray<FieldPlan>): A.Schema =>
  new A.Schema(plan.map((p) =>
    new A.Field(p.field.name, arrowTypeOf(p.type), !p.field.required, new Map([[fieldIdKey, String(p.field.id)]]))
  ))

const describeValue = (value: CellValue): string => {
  if (value instanceof Uint8Array) return `binary(${value.length} bytes)`
  const text = typeof value === "string" ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : String(value)
  return `${text} (${typeof value})`
}

const twoPow32 = 4294967296
const int64Min = -(2n ** 63n)
const int64Max = 2n ** 63n - 1n

/** Validity bitmap + null count, filled as values are written. */
class Validity {
  readonly bits: Uint8Array
  nullCount = 0
  constructor(length: number) {
    this.bits = new Uint8Array((length + 7) >> 3).fill(0xff)
  }
  setNull(row: number): void {
    this.bits[row >> 3]! &= ~(1 << (row & 7))
    this.nullCount++
  }
  props(): { nullCount: number; nullBitmap?: Uint8Array } {
    return this.nullCount === 0 ? { nullCount: 0 } : { nullCount: this.nullCount, nullBitmap: this.bits }
  }
}

/** Decimal text → unscaled integer at the target scale; a bad value is a CellError of `column`. */
const unscaledDecimal = (column: string, text: string, precision: number, scale: number): number | bigint =>
  parseDecimal(text, precision, scale, (problem) => {
    throw new CellError(column, `${describeValue(text)} ${problem}`)
  })

const unscaledOfInteger = (column: string, value: number | bigint, precision: number, scale: number): number | bigint => {
  const factor = 10n ** BigInt(scale)
  const unscaled = BigInt(value) * factor
  const limit = 10n ** BigInt(precision)
  if (unscaled >= limit || unscaled <= -limit) {
    throw new CellError(column, `${String(value)} does not fit decimal(${precision},${scale})`)
  }
  return Number.isSafeInteger(Number(unscaled)) ? Number(unscaled) : unscaled
}

/** Loops over the rows of one column across segments, handing non-null values to `write`. */
const eachCell = (
  segments: ReadonlyArray<Segment>,
  source: number,
  onNull: (row: number) => void,
  write: (row: number, value: Exclude<CellValue, null>) => void
): void => {
  let row = 0
  for (const segment of segments) {
    const column = segment.batch.columns[source]
    if (column === undefined) throw new Error(`batch has no column ${source}`)
    const values = cellsOf(column)
    for (let i = segment.start; i < segment.end; i++, row++) {
      const value = values[i]
      if (value === null || value === undefined) onNull(row)
      else write(row, value)
    }
  }
}

/**
 * A packed column as Arrow data of the table column's type, sharing its buffers, when its layout
 * is the one the table column stores; undefined when its values need converting first.
 */
const packedData = (plan: FieldPlan, column: PackedColumn): A.Data | undefined => {
  if (plan.field.required && column.nullCount > 0) {
    throw new CellError(plan.field.name, "is required in the table but the data has a null value")
  }
  const { length, data } = column
  const nulls = column.nullCount > 0 && column.validity !== undefined
    ? { nullCount: column.nullCount, nullBitmap: column.validity }
    : { nullCount: 0 }
  const type = plan.type
  const arrowType = arrowTypeOf(type)
  switch (type.kind) {
    case "boolean":
      return data.kind === "boolean" ? A.makeData({ type: arrowType as A.Bool, length, data: data.bits, ...nulls }) : undefined
    case "long":
      return data.kind === "int64" ? A.makeData({ type: arrowType as A.Int64, length, data: data.values, ...nulls }) : undefined
    case "timestamp":
    case "timestamptz":
      return data.kind === "timestamp"
        ? A.makeData({ type: arrowType as A.TimestampMicrosecond, length, data: data.values, ...nulls })
        : undefined
    case "double":
      return data.kind === "float64" ? A.makeData({ type: arrowType as A.Float64, length, data: data.values, ...nulls }) : undefined
    case "float":
      // Values of a 32-bit float column (Parquet FLOAT, Avro float) are exact in 32 bits again.
      return data.kind === "float64" ? A.makeData({ type: arrowType as A.Float32, length, data: Float32Array.from(data.values), ...nulls }) : undefined
    case "date":
      return data.kind === "date32" ? A.makeData({ type: arrowType as A.DateDay, length, data: data.values, ...nulls }) : undefined
    case "decimal":
      return data.kind === "decimal128" && data.scale === type.scale && data.precision <= type.precision
        ? A.makeData({ type: arrowType as A.Decimal, length, data: data.words, ...nulls })
        : undefined
    case "string":
      return data.kind === "utf8"
        ? A.makeData({ type: arrowType as A.Utf8, length, valueOffsets: data.offsets, data: data.bytes, ...nulls })
        : undefined
    case "binary":
      return data.kind === "binary"
        ? A.makeData({ type: arrowType as A.Binary, length, valueOffsets: data.offsets, data: data.bytes, ...nulls })
        : undefined
    case "int":
      return undefined
  }
}

const buildColumn = (plan: FieldPlan, segments: ReadonlyArray<Segment>, length: number): A.Data => {
  const only = segments.length === 1 ? segments[0]! : undefined
  const whole = only?.batch.columns[plan.source]
  if (whole !== undefined && isPackedColumn(whole) && only!.start === 0 && only!.end === whole.length) {
    const shared = packedData(plan, whole)
    if (shared !== undefined) return shared
  }
  const name = plan.field.name
  const validity = new Validity(length)
  const required = plan.field.required
  const onNull = (row: number) => {
    if (required) throw new CellError(name, "is required in the table but the data has a null value")
    validity.setNull(row)
  }
  const wrong = (value: CellValue, expected: string): never => {
    throw new CellError(name, `${describeValue(value)} is not ${expected}`)
  }
  const type = plan.type
  const arrowType = arrowTypeOf(type)
  switch (type.kind) {
    case "boolean": {
      const bits = new Uint8Array((length + 7) >> 3)
      eachCell(segments, plan.source, onNull, (row, v) => {
        if (typeof v !== "boolean") wrong(v, "a boolean")
        if (v === true) bits[row >> 3]! |= 1 << (row & 7)
      })
      return A.makeData({ type: arrowType as A.Bool, length, data: bits, ...validity.props() })
    }
    case "int": {
      const data = new Int32Array(length)
      eachCell(segments, plan.source, onNull, (row, v) => {
        const n = typeof v === "bigint" ? Number(v) : v
        if (typeof n !== "number" || !Number.isInteger(n)) return wrong(v, "an integer")
        if (n < -2147483648 || n > 2147483647) {
          throw new CellError(name, `${String(v)} does not fit the table's 32-bit int column`)
        }
        data[row] = n
      })
      return A.makeData({ type: arrowType as A.Int32, length, data, ...validity.props() })
    }
    case "long":
    case "timestamp":
    case "timestamptz": {
      const data = new BigInt64Array(length)
      const words = new Int32Array(data.buffer)
      const expected = type.kind === "long" ? "an integer" : "a timestamp in microseconds"
      eachCell(segments, plan.source, onNull, (row, v) => {
        if (typeof v === "number") {
          if (!Number.isSafeInteger(v)) return wrong(v, expected)
          words[row * 2] = v | 0
          words[row * 2 + 1] = Math.floor(v / twoPow32)
        } else if (typeof v === "bigint") {
          if (v < int64Min || v > int64Max) wrong(v, "within the 64-bit range")
          data[row] = v
        } else {
          wrong(v, expected)
        }
      })
      return type.kind === "long"
        ? A.makeData({ type: arrowType as A.Int64, length, data, ...validity.props() })
        : A.makeData({ type: arrowType as A.TimestampMicrosecond, length, data, ...validity.props() })
    }
    case "float":
    case "double": {
      const data = type.kind === "float" ? new Float32Array(length) : new Float64Array(length)
      eachCell(segments, plan.source, onNull, (row, v) => {
        if (typeof v === "number") data[row] = v
        else if (typeof v === "bigint") data[row] = Number(v)
        else if (typeof v === "string") {
          // A DECIMAL column widened into a double column.
          const n = Number(v)
          if (v.trim() === "" || Number.isNaN(n)) wrong(v, "a number")
          data[row] = n
        } else wrong(v, "a number")
      })
      return type.kind === "float"
        ? A.makeData({ type: arrowType as A.Float32, length, data: data as Float32Array, ...validity.props() })
        : A.makeData({ type: arrowType as A.Float64, length, data: data as Float64Array, ...validity.props() })
    }
    case "decimal": {
      const words = new Uint32Array(length * 4)
      const { precision, scale } = type
      eachCell(segments, plan.source, onNull, (row, v) => {
        let unscaled: number | bigint
        if (typeof v === "string") unscaled = unscaledDecimal(name, v, precision, scale)
        else if (typeof v === "bigint" || (typeof v === "number" && Number.isSafeInteger(v))) {
          unscaled = unscaledOfInteger(name, v, precision, scale)
        } else return wrong(v, "a decimal")
        writeDecimalWords(words, row, unscaled)
      })
      return A.makeData({ type: arrowType as A.Decimal, length, data: words, ...validity.props() })
    }
    case "date": {
      const data = new Int32Array(length)
      eachCell(segments, plan.source, onNull, (row, v) => {
        if (typeof v !== "number" || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
          return wrong(v, "a date (days since 1970-01-01)")
        }
        data[row] = v
      })
      return A.makeData({ type: arrowType as A.DateDay, length, data, ...validity.props() })
    }
    case "string":
      return buildStrings(name, arrowType as A.Utf8, segments, plan.source, length, validity, onNull, wrong)
    case "binary": {
      const offsets = new Int32Array(length + 1)
      let total = 0
      const parts: Array<Uint8Array> = []
      eachCell(segments, plan.source, (row) => {
        onNull(row)
        offsets[row + 1] = total
      }, (row, v) => {
        if (!(v instanceof Uint8Array)) return wrong(v, "binary")
        parts.push(v)
        total += v.length
        if (total > maxBatchBytes) throw new CellError(name, "a batch holds more than 2 GiB of binary data")
        offsets[row + 1] = total
      })
      const data = new Uint8Array(total)
      let at = 0
      for (const part of parts) {
        data.set(part, at)
        at += part.length
      }
      return A.makeData({ type: arrowType as A.Binary, length, valueOffsets: offsets, data, ...validity.props() })
    }
  }
}

const maxBatchBytes = 0x7fffffff

const buildStrings = (
  name: string,
  type: A.Utf8,
  segments: ReadonlyArray<Segment>,
  source: number,
  length: number,
  validity: Validity,
  onNull: (row: number) => void,
  wrong: (value: CellValue, expected: string) => never
): A.Data => {
  const offsets = new Int32Array(length + 1)
  const builder = new Utf8Builder(length * 16)
  eachCell(segments, source, (row) => {
    onNull(row)
    offsets[row + 1] = builder.length
  }, (row, v) => {
    if (typeof v !== "string") return wrong(v, "a string")
    builder.append(v)
    if (builder.length > maxBatchBytes) throw new CellError(name, "a batch holds more than 2 GiB of text")
    offsets[row + 1] = builder.length
  })
  const data = builder.bytes.subarray(0, builder.length)
  return A.makeData({ type, length, valueOffsets: offsets, data, ...validity.props() })
}

/** Builds one Arrow RecordBatch (schema `schema`, fields per `plan`) from row segments. */
export const buildRecordBatch = (
  schema: A.Schema,
  plan: ReadonlyArray<FieldPlan>,
  segments: ReadonlyArray<Segment>
): A.RecordBatch => {
  let length = 0
  for (const segment of segments) length += segment.end - segment.start
  const children = plan.map((p) => buildColumn(p, segments, length))
  const struct = A.makeData({ type: new A.Struct(schema.fields), length, nullCount: 0, children })
  return new A.RecordBatch(schema, struct)
}
