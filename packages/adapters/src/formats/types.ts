import type { CsvFields } from "./csv/byte-tokenizer.ts"
import type { Column, ColumnType, DialectOverride, FileDialect, FileFormat } from "@ingest/domain"
import type { FormatReadOptions, ReadOptions } from "./read-options.ts"
import type { TextEncoding } from "./text-encoding.ts"

/**
 * Types the parts of the formats layer share: the requests a parser runs (profile, scan, read),
 * what readers hand to profiling and packing (TableSource, RawTable), byte ranges and parts of
 * CSV files, and size limits.
 */

// ---------------------------------------------------------------------------------------------
// Limits and dialects

export interface CsvLimits {
  /** Longest field, in characters. */
  readonly maxFieldChars: number
  /** Longest record, in characters. */
  readonly maxRecordChars: number
}

export interface TextLimits extends CsvLimits {
  /** Deepest JSON nesting. */
  readonly maxDepth: number
}

export interface CsvDialect {
  /** One character: `,` `;` tab or `|`. */
  readonly delimiter: string
  /** One character (`"` or `'`), or "" when fields are never quoted. */
  readonly quote: string
  /** The quote character itself (RFC 4180 doubling) or a backslash. */
  readonly escape: string
  /** Record terminator: `\n` (a preceding `\r` is dropped) or `\r` alone (old Mac files). */
  readonly newline: "\n" | "\r"
  /** Spaces before a field are not part of it: `", "` as a separator, or runs of spaces (delimiter " "). */
  readonly skipInitialSpace?: boolean | undefined
}

// ---------------------------------------------------------------------------------------------
// Byte ranges and parts of CSV files

/** Bytes `start..end-1` of a file. */
export interface ByteRange {
  readonly start: number
  readonly end: number
}

/**
 * A part of a CSV file that starts at a record boundary found while profiling: bytes
 * `start..end-1`, whose first record is on line `line` with `rows` data rows before it. Parts
 * of a large file are read side by side.
 */
export interface CsvPart extends ByteRange {
  readonly rows: number
  readonly line: number
}

// ---------------------------------------------------------------------------------------------
// Requests a parser runs (in a worker thread, or in process): see file-jobs.ts

/** What every parser job needs besides its file. */
export interface ParserSettings {
  readonly limits: TextLimits
  /** Rows per batch the parser hands on (limits.ts PARSE_BATCH_ROWS unless configured). */
  readonly batchRows: number
}

/** Profile a whole file: columns, inferred types, samples, first rows, row count. */
export interface ProfileRequest extends ParserSettings {
  readonly path: string
  readonly format: FileFormat
  /** Spreadsheets: the sheet (default the first). */
  readonly sheet: string | undefined
  /** Decisions taken instead of detecting them. */
  readonly dialect?: DialectOverride | undefined
}

/** Scan bytes `range` of a CSV file not profiled yet (a half of a large file, profiled side by side). */
export interface ScanRequest extends ParserSettings {
  readonly path: string
  readonly range: ByteRange
}

/** Read a profiled file as batches of packed columns coerced to `target`. */
export type ReadRequest = { readonly [F in FileFormat]: ReadRequestOf<F> }[FileFormat]

export interface ReadRequestOf<F extends FileFormat> extends ParserSettings {
  readonly path: string
  readonly format: F
  /** The profile's read options, decoded (read-options.ts). */
  readonly options: ReadOptions<F>
  /** The profile's column names, in file order. */
  readonly columns: ReadonlyArray<string>
  /** Profile column names (`target[i].name`) and the types to coerce them to. */
  readonly target: ReadonlyArray<Column>
  /** CSV: only this part of the file. */
  readonly part: CsvPart | undefined
}

// ---------------------------------------------------------------------------------------------
// What readers hand on

/** How to open a file as a table (table/open.ts). */
export interface OpenRequest extends ParserSettings {
  /** Spreadsheets: the sheet (default the first). */
  readonly sheet?: string | undefined
  /** The read options of an earlier reading, to read the file the same way again (CSV: no sniffing). */
  readonly again?: FormatReadOptions | undefined
  /** CSV, first reading: this encoding instead of a detected one. */
  readonly encoding?: TextEncoding | undefined
  /** CSV, first reading: only these bytes, which start at a line start (a half of a large file being profiled). */
  readonly range?: ByteRange | undefined
  /** First reading: decisions taken instead of detecting them. */
  readonly dialect?: DialectOverride | undefined
}

/** How a table was read and what a user should know about it (the preview's `dialect` and `warnings`). */
export interface ReadingReport {
  readonly dialect: FileDialect
  readonly warnings: ReadonlyArray<string>
}

/** Column-major batch of raw cells; a column array may be missing (all null) or short. */
export interface ColumnarBatch {
  readonly length: number
  readonly columns: ReadonlyArray<ReadonlyArray<unknown> | undefined>
}

/** Where a reading of a byte range ended (CSV halves profiled side by side). */
export interface RangeEnd {
  /** Whether the range ended exactly where a record does: only then may the next range start there. */
  readonly endsAtRecord: boolean
  /** The line the next range starts on, counted from the range's start. */
  readonly nextLine: number
}

/** A parsed table as profiling and reading consume it. */
export interface TableSource {
  /** Labels in file order; may grow while batches are consumed (JSON keys first seen later). */
  readonly labels: ReadonlyArray<string>
  readonly declaredTypes?: ReadonlyArray<DeclaredType | undefined> | undefined
  /** How the file was read; CSV completes its counts once the batches are consumed. */
  readonly readOptions: FormatReadOptions
  /** Strings are text with null tokens, classified fully (CSV). */
  readonly textValues: boolean
  readonly batches: AsyncIterable<ColumnarBatch>
  /** A CSV read as bytes: field positions, instead of the (then empty) `batches`. */
  readonly fields?: AsyncIterable<CsvFields> | undefined
  /** A reading of a byte range: how it ended, once the batches are consumed. */
  readonly rangeEnd?: () => RangeEnd | undefined
  /** How the table was read, once the batches are consumed. */
  readonly report?: () => ReadingReport | undefined
}

/**
 * What a library-backed parser (spreadsheets, Parquet, Avro) yields: the header labels as they
 * appear in the file and batches of row-major raw JS values (number, bigint, boolean, string,
 * Uint8Array, Date, nested objects/arrays, null).
 */
export interface RawTable {
  readonly labels: ReadonlyArray<string>
  /** Types the file itself declares (parquet, avro), by column; undefined where it declares none. */
  readonly declaredTypes?: ReadonlyArray<DeclaredType | undefined>
  readonly readOptions: FormatReadOptions
  readonly batches: AsyncIterable<ReadonlyArray<ReadonlyArray<unknown>>>
  readonly report?: ReadingReport | undefined
}

export interface DeclaredType {
  readonly type: ColumnType
  readonly nullable: boolean
  readonly precision?: number
  readonly scale?: number
  /** 32-bit integers and floats: kept as Iceberg int and float. */
  readonly bitWidth?: 32
}

export interface RawReadOptions {
  /** Spreadsheets: sheet name; default the first sheet. */
  readonly sheet?: string | undefined
  /** Spreadsheets, first reading: decisions taken instead of detecting them. */
  readonly dialect?: DialectOverride | undefined
  /** Spreadsheets, a re-read: the rows the profile read. */
  readonly again?: FormatReadOptions | undefined
  /** Rows per batch (default limits.ts PARSE_BATCH_ROWS). */
  readonly batchRows?: number | undefined
}

/**
 * Opens a local file. Fails (rejects) with FileReadError for files that are not what they claim,
 * corrupt, encrypted or over a limit.
 */
export type RawReader = (path: string, options: RawReadOptions) => Promise<RawTable>
