/**
 * Values as they travel from readers to the table writer, column-major for speed.
 *
 * Canonical values per column type (after coercion to the target schema):
 * BOOLEAN boolean · INTEGER number (safe integer) or bigint · DECIMAL string (plain decimal text,
 * e.g. "-12.30") · DOUBLE number · DATE number (days since 1970-01-01) · TIMESTAMP and
 * TIMESTAMP_TZ bigint (microseconds since 1970-01-01T00:00:00, UTC for TIMESTAMP_TZ) ·
 * STRING string · BINARY Uint8Array · null for a missing value.
 */
export type CellValue = null | boolean | number | bigint | string | Uint8Array

export interface ColumnBatch {
  readonly length: number
  /** One column per field, each `length` long, in the order of the schema the batch belongs to. */
  readonly columns: ReadonlyArray<BatchColumn>
}

/**
 * A column in packed form: the canonical values of one column type in typed arrays, laid out as
 * Arrow lays them out (little-endian), so a writer stores them without visiting each value and
 * they move between threads without being copied. A packed column handed to a writer belongs to
 * it from then on.
 *
 * INTEGER is `int64`, TIMESTAMP and TIMESTAMP_TZ `timestamp` (64-bit microseconds) · DECIMAL is
 * `decimal128` (the unscaled value at the column's scale, two's complement, four 32-bit words per
 * row, least significant first) · DATE is `date32` · DOUBLE `float64` · BOOLEAN `boolean` (one bit
 * per row) · STRING `utf8` and BINARY `binary` (row i is `bytes[offsets[i]..offsets[i + 1]]`).
 */
export interface PackedColumn {
  readonly _tag: "PackedColumn"
  readonly length: number
  /** Bit i (least significant first) is set when row i has a value; absent when no row is null. */
  readonly validity: Uint8Array | undefined
  readonly nullCount: number
  readonly data: PackedData
}

export type PackedData =
  | { readonly kind: "boolean"; readonly bits: Uint8Array }
  | { readonly kind: "int64" | "timestamp"; readonly values: BigInt64Array }
  | { readonly kind: "float64"; readonly values: Float64Array }
  | { readonly kind: "date32"; readonly values: Int32Array }
  | { readonly kind: "decimal128"; readonly words: Uint32Array; readonly precision: number; readonly scale: number }
  | { readonly kind: "utf8" | "binary"; readonly offsets: Int32Array; readonly bytes: Uint8Array }

/** A column of a batch: one value per row, or packed. */
export type BatchColumn = ReadonlyArray<CellValue> | PackedColumn

export const isPackedColumn = (column: BatchColumn): column is PackedColumn =>
  (column as Partial<PackedColumn>)._tag === "PackedColumn"

const utf8Decoder = new TextDecoder()

/** Canonical DECIMAL text of an unscaled value: `-12.30` for (-1230, 2); a negative scale adds zeros. */
export const decimalText = (unscaled: bigint, scale: number): string => {
  const negative = unscaled < 0n
  let digits = (negative ? -unscaled : unscaled).toString()
  if (scale > 0) {
    digits = digits.padStart(scale + 1, "0")
    digits = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`
  } else if (scale < 0) {
    digits = digits + "0".repeat(-scale)
  }
  return negative ? `-${digits}` : digits
}

const packedValue = (data: PackedData, row: number): Exclude<CellValue, null> => {
  switch (data.kind) {
    case "boolean":
      return (data.bits[row >> 3]! & (1 << (row & 7))) !== 0
    case "int64": {
      const value = data.values[row]!
      return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : value
    }
    case "timestamp":
      return data.values[row]!
    case "float64":
    case "date32":
      return data.values[row]!
    case "decimal128": {
      let unscaled = 0n
      for (let k = 3; k >= 0; k--) unscaled = (unscaled << 32n) | BigInt(data.words[row * 4 + k]!)
      return decimalText(BigInt.asIntN(128, unscaled), data.scale)
    }
    case "utf8":
      return utf8Decoder.decode(data.bytes.subarray(data.offsets[row]!, data.offsets[row + 1]!))
    case "binary":
      return data.bytes.slice(data.offsets[row]!, data.offsets[row + 1]!)
  }
}

/**
 * The values of a column one per row (canonical values as above; INTEGER as a number when it is
 * a safe integer). For consumers that look at single values: it visits and allocates per row.
 */
export const cellsOf = (column: BatchColumn): ReadonlyArray<CellValue> => {
  if (!isPackedColumn(column)) return column
  const cells: Array<CellValue> = new Array(column.length)
  const validity = column.validity
  for (let row = 0; row < column.length; row++) {
    cells[row] = validity !== undefined && (validity[row >> 3]! & (1 << (row & 7))) === 0
      ? null
      : packedValue(column.data, row)
  }
  return cells
}
