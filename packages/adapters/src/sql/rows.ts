import { DateTime } from "effect"

// Conversions between database values and domain values. Rows are read without name transforms
// (snake_case columns), so the repositories do not depend on how the shared client is configured.

export type Row = Readonly<Record<string, unknown>>

/** timestamptz parameter from a domain instant (millisecond precision, as the domain keeps it). */
export const toDate = (value: DateTime.Utc): Date => DateTime.toDate(value)

export const toDateOrNull = (value: DateTime.Utc | null): Date | null => (value === null ? null : toDate(value))

const asDate = (value: unknown, column: string): Date => {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value
  throw new Error(`column ${column}: expected a timestamp, got ${typeof value}`)
}

export const dateTimeOf = (row: Row, column: string): DateTime.Utc => DateTime.fromDateUnsafe(asDate(row[column], column))

export const dateTimeOrNullOf = (row: Row, column: string): DateTime.Utc | null =>
  row[column] === null || row[column] === undefined ? null : dateTimeOf(row, column)

/** double precision (or a bigint from an aggregate) as a JS number. */
export const numberOrNullOf = (row: Row, column: string): number | null => {
  const value = row[column]
  if (value === null || value === undefined) return null
  if (typeof value === "number") return value
  if (typeof value === "bigint") return Number(value)
  throw new Error(`column ${column}: expected a number, got ${typeof value}`)
}

export const numberOf = (row: Row, column: string): number => {
  const value = numberOrNullOf(row, column)
  if (value === null) throw new Error(`column ${column}: unexpected null`)
  return value
}

export const stringOrNullOf = (row: Row, column: string): string | null => {
  const value = row[column]
  return value === null || value === undefined ? null : String(value)
}

/** JSON text parameter for a json/jsonb column; null stays SQL NULL. */
export const jsonOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value))

/** A json/jsonb column (the driver parses it). */
export const jsonOf = (row: Row, column: string): unknown => row[column] ?? null

/** Ids are stored as uuid; PostgreSQL prints them in lower case, so the domain gets them that way too. */
export const canonicalId = <A extends string>(id: A): A => id.toLowerCase() as A
