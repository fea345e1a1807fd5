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
  /** One array per column, each `length` long, in the order of the schema the batch belongs to. */
  readonly columns: ReadonlyArray<ReadonlyArray<CellValue>>
}
