import type { Column, ColumnType } from "@ingest/domain"

/**
 * A source column as the catalog describes it, after resolving domains to their base type.
 * `typeName` is the base type's `pg_type.typname` (`int4`, `numeric`, `_text` …).
 */
export interface PgColumn {
  readonly name: string
  readonly typeName: string
  /** `pg_type.typcategory`: `A` array, `E` enum, `U` user-defined … */
  readonly typeCategory: string
  /** `atttypmod` of the column (or of the domain): precision/scale of numeric, -1 when free. */
  readonly typeModifier: number
  readonly notNull: boolean
}

export interface MappedType {
  readonly type: ColumnType
  readonly precision?: number
  readonly scale?: number
}

/**
 * Numeric without precision holds up to 131072 digits before the point; we store it as
 * DECIMAL(38, 9), Iceberg's widest decimal with a scale that keeps money and ratios exact.
 * Reads round to 9 decimals; a value with more than 29 integer digits fails the sync with a
 * message naming the column (it cannot be stored as a decimal at all).
 */
export const unconstrainedNumeric = { precision: 38, scale: 9 } as const

/** Iceberg decimals have at most 38 digits. */
const maxDecimalPrecision = 38

const integerTypes = new Set(["int2", "int4", "int8"])
const doubleTypes = new Set(["float4", "float8"])
/** Text types the driver already returns as strings: read without a cast. */
export const plainTextTypes = new Set(["text", "varchar", "bpchar", "name", "citext"])

const numericType = (typeModifier: number): MappedType => {
  if (typeModifier < 4) return { type: "DECIMAL", ...unconstrainedNumeric }
  const precision = ((typeModifier - 4) >> 16) & 0xffff
  // PostgreSQL 15 stores the scale as an 11-bit signed number (numeric(5,-2) is allowed).
  const rawScale = (typeModifier - 4) & 0x7ff
  const scale = rawScale > 1023 ? rawScale - 2048 : rawScale
  const digits = scale < 0 ? precision - scale : Math.max(precision, scale)
  if (digits > maxDecimalPrecision) return { type: "STRING" }
  return { type: "DECIMAL", precision: digits, scale: Math.max(scale, 0) }
}

export const mapPgType = (column: Pick<PgColumn, "typeName" | "typeCategory" | "typeModifier">): MappedType => {
  if (column.typeCategory === "A") return { type: "STRING" }
  const name = column.typeName
  if (integerTypes.has(name)) return { type: "INTEGER" }
  if (doubleTypes.has(name)) return { type: "DOUBLE" }
  switch (name) {
    case "numeric":
      return numericType(column.typeModifier)
    case "bool":
      return { type: "BOOLEAN" }
    case "date":
      return { type: "DATE" }
    case "timestamp":
      return { type: "TIMESTAMP" }
    case "timestamptz":
      return { type: "TIMESTAMP_TZ" }
    case "bytea":
      return { type: "BINARY" }
    default:
      // uuid, json(b), enums, interval, time(tz), inet, money, geometric, composite …
      return { type: "STRING" }
  }
}

const quote = (identifier: string): string => `"${identifier.replaceAll("\"", "\"\"")}"`
export const quoteIdentifier = quote
export const quoteQualified = (schema: string, table: string): string => `${quote(schema)}.${quote(table)}`

/**
 * The select-list expression that makes the server send a value we can turn into the canonical
 * cell value cheaply: text for everything mapped to STRING (arrays and json as JSON text) and
 * for decimals (free numerics rounded to the scale we store), the binary value otherwise.
 */
/** A Postgres column as a column of the lattice. */
export const columnOfPg = (column: Pick<PgColumn, "name" | "notNull" | "typeName" | "typeCategory" | "typeModifier">): Column => {
  const mapped = mapPgType(column)
  return {
    name: column.name,
    type: mapped.type,
    nullable: !column.notNull,
    ...(mapped.precision === undefined ? {} : { precision: mapped.precision }),
    ...(mapped.scale === undefined ? {} : { scale: mapped.scale })
  }
}

export const selectExpression = (column: Pick<PgColumn, "name" | "typeName" | "typeCategory" | "typeModifier">): string => {
  const ref = quote(column.name)
  const mapped = mapPgType(column)
  if (mapped.type === "STRING") {
    if (column.typeCategory === "A") return `to_json(${ref})::text`
    if (plainTextTypes.has(column.typeName)) return ref
    return `${ref}::text`
  }
  // Decimals travel as text: the server formats them exactly, the reader keeps the string.
  if (mapped.type === "DECIMAL") {
    return column.typeModifier < 4 ? `round(${ref}, ${unconstrainedNumeric.scale})::text` : `${ref}::text`
  }
  // Domains are sent in their base type's binary format.
  return ref
}

const cursorNamePatterns: ReadonlyArray<RegExp> = [
  /^updated_?at$/,
  /^modified_?at$/,
  /^last_?modified(_?at|_?date|_?time)?$/,
  /^last_?updated(_?at|_?on|_?date|_?time)?$/,
  /^(updated|modified)_?(on|date|time|timestamp|ts)$/,
  /^(date|time)_?(updated|modified)$/,
  /^(updated|modified|changed_?at|last_?change(d)?(_?at)?)$/
]

/**
 * The column an incremental sync follows: an `updated_at`-like timestamp column (the first
 * pattern that matches wins), else a single-column integer primary key (insert-only tables).
 */
export const chooseCursor = (
  columns: ReadonlyArray<{ readonly name: string; readonly type: ColumnType }>,
  primaryKey: ReadonlyArray<string>
): string | undefined => {
  const timestamps = columns.filter((c) => c.type === "TIMESTAMP" || c.type === "TIMESTAMP_TZ")
  for (const pattern of cursorNamePatterns) {
    const found = timestamps.find((c) => pattern.test(c.name.toLowerCase()))
    if (found !== undefined) return found.name
  }
  if (primaryKey.length === 1) {
    const key = columns.find((c) => c.name === primaryKey[0])
    if (key !== undefined && key.type === "INTEGER") return key.name
  }
  return undefined
}
