import type { ColumnType } from "@ingest/domain"

/**
 * What a format-specific parser yields before profiling and coercion: the header labels as
 * they appear in the file and batches of row-major raw values. Text formats (csv) give strings
 * (or null); typed formats give JS values (number, bigint, boolean, string, Uint8Array, Date,
 * nested objects/arrays, null).
 */
export interface RawTable {
  readonly labels: ReadonlyArray<string>
  /** Types the file itself declares (parquet, avro), by column; undefined where it declares none. */
  readonly declaredTypes?: ReadonlyArray<DeclaredType | undefined>
  /** Details a later re-read needs to reproduce this reading (CSV dialect, sheet name, …). */
  readonly readOptions: Record<string, unknown>
  readonly batches: AsyncIterable<ReadonlyArray<ReadonlyArray<unknown>>>
}

export interface DeclaredType {
  readonly type: ColumnType
  readonly nullable: boolean
  readonly precision?: number
  readonly scale?: number
}

export interface RawReadOptions {
  /** Spreadsheets: sheet name; default the first sheet. */
  readonly sheet?: string | undefined
  /** Options a previous reading returned in `readOptions`, to read the file the same way again. */
  readonly readOptions?: Record<string, unknown> | undefined
  /** Rows per batch (default 8192). */
  readonly batchSize?: number | undefined
}

/**
 * Opens a local file. Fails (rejects) with `RawReadError` for files that are not what they claim,
 * corrupt, encrypted or over a limit.
 */
export type RawReader = (path: string, options: RawReadOptions) => Promise<RawTable>

export class RawReadError extends Error {
  readonly kind: "unsupported" | "corrupt" | "too-large"
  constructor(kind: "unsupported" | "corrupt" | "too-large", message: string) {
    super(message)
    this.kind = kind
    this.name = "RawReadError"
  }
}
