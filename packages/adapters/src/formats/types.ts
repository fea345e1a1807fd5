import type { ColumnType } from "@ingest/domain"
import type { ErrorKind } from "./worker/protocol.ts"

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
  /** CSV, first reading: only these bytes, which start at a line start (a half of a large file being profiled). */
  readonly range?: CsvRange | undefined
}

/**
 * A part of a CSV file that starts at a record boundary found while profiling: bytes
 * `start..end-1`, whose first record is on line `line` with `rows` data rows before it. Parts
 * of a large file are read side by side.
 */
export interface CsvPart extends CsvRange {
  readonly rows: number
  readonly line: number
}

/** Bytes `start..end-1` of a file. */
export interface CsvRange {
  readonly start: number
  readonly end: number
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

/** Every failure as a kind and a message a user can act on. */
export const describeError = (error: unknown): { kind: ErrorKind; message: string } => {
  if (error instanceof RawReadError) return { kind: error.kind, message: error.message }
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return { kind: "corrupt", message: "the file is nested too deeply to be read" }
  }
  const message = error instanceof Error ? error.message : String(error)
  return { kind: "corrupt", message: `the file could not be read: ${message}` }
}
