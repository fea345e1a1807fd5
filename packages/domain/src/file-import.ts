import { Schema } from "effect"
import { ColumnWithSamples } from "./columns.ts"
import { FileId, TenantId } from "./ids.ts"

export const fileFormats = ["csv", "xlsx", "xls", "parquet", "json", "jsonl", "avro"] as const
export const FileFormat = Schema.Literals(fileFormats)
export type FileFormat = typeof FileFormat.Type

export const FileImportStatus = Schema.Literals(["UPLOADED", "CONFIGURED", "IMPORTING", "COMPLETED", "FAILED"])
export type FileImportStatus = typeof FileImportStatus.Type

/** Lines (CSV) or rows (spreadsheets) `from..to`, 1-based, both included. */
export const LineRange = Schema.Struct({ from: Schema.Number, to: Schema.Number })
export type LineRange = typeof LineRange.Type

/**
 * How a file was read, as the preview shows it. Text details are null where the format has none
 * (a spreadsheet has no delimiter); `delimiter` is one character, or `", "` (a comma and the
 * spaces after it), or `" "` (runs of spaces). Rows are records as the reader counts them:
 * blank lines of a CSV file are not rows.
 */
export const FileDialect = Schema.Struct({
  encoding: Schema.NullOr(Schema.String),
  delimiter: Schema.NullOr(Schema.String),
  quote: Schema.NullOr(Schema.String),
  escape: Schema.NullOr(Schema.String),
  sheet: Schema.NullOr(Schema.String),
  /** Rows that name the columns (0: none, the columns are column_1, column_2, …; 2: "Group Name"). */
  headerRows: Schema.Number,
  /** Rows before the header that are not read (a title, notes), and where they are. */
  skipLeadingRows: Schema.Number,
  leadingLines: Schema.NullOr(LineRange),
  /** Rows after the data that are not read (footnotes, a totals row, a further table), and where they are. */
  skipTrailingRows: Schema.Number,
  trailingLines: Schema.NullOr(LineRange)
})
export type FileDialect = typeof FileDialect.Type

const Count = (max: number) => Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(max)))

/**
 * Decisions a user makes instead of the detection (schema update `dialect`): each one given
 * replaces its detection, the others are detected again on the file.
 */
export const DialectOverride = Schema.Struct({
  encoding: Schema.optionalKey(Schema.Literals(["utf-8", "utf-16le", "utf-16be", "windows-1252", "shift_jis"])),
  delimiter: Schema.optionalKey(Schema.String.pipe(Schema.check(Schema.isBetweenLength(1, 2)))),
  quote: Schema.optionalKey(Schema.String.pipe(Schema.check(Schema.isMaxLength(1)))),
  escape: Schema.optionalKey(Schema.String.pipe(Schema.check(Schema.isMaxLength(1)))),
  sheet: Schema.optionalKey(Schema.String.pipe(Schema.check(Schema.isMinLength(1), Schema.isMaxLength(255)))),
  headerRows: Schema.optionalKey(Count(10)),
  skipLeadingRows: Schema.optionalKey(Count(1_000_000)),
  skipTrailingRows: Schema.optionalKey(Count(1_000_000))
})
export type DialectOverride = typeof DialectOverride.Type

/** What profiling the whole file found: stored at upload so a preview is a database read. */
export const FileProfile = Schema.Struct({
  /** Columns in file order, names already sanitised and unique. */
  columns: Schema.Array(ColumnWithSamples),
  /** The labels as they appear in the file (same order as `columns`). */
  sourceLabels: Schema.Array(Schema.String),
  previewRows: Schema.Array(Schema.Record(Schema.String, Schema.Unknown)),
  totalRows: Schema.Number,
  /** Format details a re-read must reproduce (CSV dialect, sheet name, …): owned by the FormatReader. */
  readOptions: Schema.Record(Schema.String, Schema.Unknown),
  /** How the file was read (absent for formats without a dialect, and in older profiles). */
  dialect: Schema.optionalKey(FileDialect),
  /** What the reading decided or met that a user should know, in plain words. */
  warnings: Schema.optionalKey(Schema.Array(Schema.String))
})
export type FileProfile = typeof FileProfile.Type

export const FileImport = Schema.Struct({
  id: FileId,
  tenantId: TenantId,
  fileName: Schema.String,
  fileSize: Schema.Number,
  fileFormat: FileFormat,
  storagePath: Schema.String,
  status: FileImportStatus,
  profile: FileProfile,
  targetTableName: Schema.NullOr(Schema.String),
  targetSchema: Schema.NullOr(Schema.String),
  /** source column (sanitised profile name) → target column name; null = keep its own name. */
  columnMappings: Schema.NullOr(Schema.Record(Schema.String, Schema.NullOr(Schema.String))),
  dropUnmapped: Schema.Boolean,
  recordsImported: Schema.NullOr(Schema.Number),
  bytesRead: Schema.NullOr(Schema.Number),
  error: Schema.NullOr(Schema.String),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc,
  completedAt: Schema.NullOr(Schema.DateTimeUtc)
})
export type FileImport = typeof FileImport.Type

/**
 * A file import as its status and the list of imports show it: without its profile (columns,
 * samples and preview rows, which only a preview returns and which grow with the file's width).
 */
export const FileImportSummary = FileImport.mapFields(({ profile: _profile, ...rest }) => rest)
export type FileImportSummary = typeof FileImportSummary.Type
