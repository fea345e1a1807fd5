import { Schema } from "effect"
import { Multipart } from "effect/http"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { ColumnType, DialectOverride, FileDialect, FileFormat, FileId, FileImportStatus } from "@ingest/domain"
import { CommonErrors } from "./errors.ts"
import { Authentication, TenantAccess, TenantHeader } from "./security.ts"
import { ColumnResponse, NullableTimestamp, Timestamp } from "./wire.ts"

export const UploadResponse = Schema.Struct({
  id: Schema.String,
  tenantId: Schema.String,
  fileName: Schema.String,
  fileSize: Schema.Number,
  fileFormat: FileFormat,
  storagePath: Schema.String,
  status: FileImportStatus,
  createdAt: Timestamp
})
export const PreviewResponse = Schema.Struct({
  fileId: Schema.String,
  fileName: Schema.String,
  columns: Schema.Array(ColumnResponse),
  previewRows: Schema.Array(Schema.Record(Schema.String, Schema.Unknown)),
  totalRows: Schema.Number,
  inferredTypes: Schema.Record(Schema.String, ColumnType),
  /** How the file was read; null for formats without a dialect (parquet, avro) and older uploads. */
  dialect: Schema.NullOr(FileDialect),
  /** What the reading decided or left out, in plain words. */
  warnings: Schema.Array(Schema.String)
})
export const SchemaUpdateRequest = Schema.Struct({
  targetTableName: Schema.String.pipe(Schema.check(Schema.isMinLength(1), Schema.isMaxLength(255))),
  targetSchema: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.check(Schema.isMinLength(1), Schema.isMaxLength(255))))),
  columnMappings: Schema.optional(Schema.NullOr(Schema.Record(Schema.String, Schema.NullOr(Schema.String.pipe(Schema.check(Schema.isMaxLength(255))))))),
  dropUnmapped: Schema.optional(Schema.Boolean),
  /** How to read the file instead of what was detected; the preview is recomputed from the file. */
  dialect: Schema.optional(Schema.NullOr(DialectOverride))
})
export const FileJobResponse = Schema.Struct({
  id: Schema.String,
  fileName: Schema.String,
  targetTableName: Schema.NullOr(Schema.String),
  targetSchema: Schema.NullOr(Schema.String),
  columnMappings: Schema.NullOr(Schema.Record(Schema.String, Schema.NullOr(Schema.String))),
  dropUnmapped: Schema.Boolean,
  columns: Schema.Array(Schema.Struct({ source: Schema.String, name: Schema.String, type: ColumnType })),
  status: FileImportStatus,
  createdAt: Timestamp
})
export const ImportStatusResponse = Schema.Struct({
  id: Schema.String,
  fileName: Schema.String,
  status: FileImportStatus,
  recordsImported: Schema.NullOr(Schema.Number),
  completedAt: NullableTimestamp,
  error: Schema.NullOr(Schema.String),
  bytesRead: Schema.NullOr(Schema.Number),
  totalBytes: Schema.Number,
  targetTableName: Schema.NullOr(Schema.String),
  targetSchema: Schema.NullOr(Schema.String)
})

/** One file of the import history: its status plus what was uploaded and when. */
export const ImportSummaryResponse = Schema.Struct({
  ...ImportStatusResponse.fields,
  fileFormat: FileFormat,
  fileSize: Schema.Number,
  createdAt: Timestamp
})
export const ImportPageResponse = Schema.Struct({
  content: Schema.Array(ImportSummaryResponse),
  totalElements: Schema.Number,
  totalPages: Schema.Number,
  number: Schema.Number,
  size: Schema.Number
})

const params = { fileId: FileId }

export class FilesGroup extends HttpApiGroup.make("files")
  .add(
    HttpApiEndpoint.get("list", "/", {
      headers: TenantHeader,
      query: {
        page: Schema.optional(Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))),
        size: Schema.optional(Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1), Schema.isLessThanOrEqualTo(1000))))
      },
      success: ImportPageResponse,
      error: CommonErrors
    }),
    HttpApiEndpoint.post("upload", "/upload", {
      headers: TenantHeader,
      query: { sheet: Schema.optional(Schema.String.pipe(Schema.check(Schema.isMaxLength(255)))) },
      // The real limit is INGEST_MAX_UPLOAD_BYTES, enforced while streaming (413).
      payload: Schema.Struct({ file: Multipart.SingleFileSchema }).pipe(
        HttpApiSchema.asMultipartStream({ maxFileSize: "1 TiB", maxTotalSize: "1 TiB", maxParts: 16 })
      ),
      success: UploadResponse.pipe(HttpApiSchema.status(201)),
      error: CommonErrors
    }),
    HttpApiEndpoint.get("preview", "/:fileId/preview", { params, headers: TenantHeader, success: PreviewResponse, error: CommonErrors }),
    HttpApiEndpoint.put("updateSchema", "/:fileId/schema", {
      params,
      headers: TenantHeader,
      payload: SchemaUpdateRequest,
      success: FileJobResponse,
      error: CommonErrors
    }),
    HttpApiEndpoint.post("execute", "/:fileId/import", {
      params,
      headers: TenantHeader,
      success: FileJobResponse.pipe(HttpApiSchema.status(202)),
      error: CommonErrors
    }),
    HttpApiEndpoint.get("status", "/:fileId/status", { params, headers: TenantHeader, success: ImportStatusResponse, error: CommonErrors })
  )
  .prefix("/files")
  .middleware(TenantAccess)
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "File import", description: "Upload → preview → mappings → Iceberg table" })) {}
