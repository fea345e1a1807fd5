import { Schema } from "effect"
import { ColumnWithSamples } from "./columns.ts"
import { FileId, TenantId } from "./ids.ts"

export const fileFormats = ["csv", "xlsx", "xls", "parquet", "json", "jsonl", "avro"] as const
export const FileFormat = Schema.Literals(fileFormats)
export type FileFormat = typeof FileFormat.Type

export const FileImportStatus = Schema.Literals(["UPLOADED", "CONFIGURED", "IMPORTING", "COMPLETED", "FAILED"])
export type FileImportStatus = typeof FileImportStatus.Type

/** What profiling the whole file found: stored at upload so a preview is a database read. */
export const FileProfile = Schema.Struct({
  /** Columns in file order, names already sanitised and unique. */
  columns: Schema.Array(ColumnWithSamples),
  /** The labels as they appear in the file (same order as `columns`). */
  sourceLabels: Schema.Array(Schema.String),
  previewRows: Schema.Array(Schema.Record(Schema.String, Schema.Unknown)),
  totalRows: Schema.Number,
  /** Format details a re-read must reproduce (CSV dialect, sheet name, …). */
  readOptions: Schema.Record(Schema.String, Schema.Unknown)
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
