import { Context, Schema } from "effect"
import { Multipart } from "effect/http"
import { withIcebergCatalogPaths } from "./iceberg-catalog/openapi.ts"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, HttpApiSecurity, OpenApi } from "effect/http-api"
import {
  ColumnType,
  ConnectionId,
  ConnectionStatus,
  ConnectorType,
  FileFormat,
  FileId,
  FileImportStatus,
  SourceId,
  SourceStatus,
  SyncId,
  SyncMode,
  SyncStatus,
  TenantId
} from "@ingest/domain"
import {
  ApiBadGateway,
  ApiBadRequest,
  ApiConflict,
  ApiForbidden,
  ApiInternal,
  ApiNotFound,
  ApiPayloadTooLarge,
  ApiUnauthorized,
  ApiUnprocessable
} from "./errors.ts"

// ---------------------------------------------------------------------------------------------
// Security: bearer JWT + X-Tenant-Id. The middleware verifies the token and checks that it grants
// the tenant and the permission the method needs; handlers receive the tenant from the header.

export interface Principal {
  readonly subject: string
  readonly tenants: ReadonlyArray<string>
  readonly permissions: ReadonlyArray<string>
}
export class CurrentPrincipal extends Context.Service<CurrentPrincipal, Principal>()("ingest/http/CurrentPrincipal") {}

export class Authentication extends HttpApiMiddleware.Service<Authentication, { provides: CurrentPrincipal }>()(
  "ingest/http/Authentication",
  { security: { bearer: HttpApiSecurity.bearer }, error: [ApiUnauthorized, ApiForbidden], requiredForClient: true }
) {}

/** Turns request-decoding failures into the standard 400 body naming the field. */
export class RequestValidation extends HttpApiMiddleware.Service<RequestValidation>()(
  "ingest/http/RequestValidation",
  { error: ApiBadRequest }
) {}

const TenantHeader = { "x-tenant-id": TenantId }

// ---------------------------------------------------------------------------------------------
// Wire shapes (api-reference.txt). Times are ISO-8601 UTC strings; absent values are null.

const Name = Schema.String.pipe(Schema.check(Schema.isMinLength(1), Schema.isMaxLength(255)))
const Description = Schema.String.pipe(Schema.check(Schema.isMaxLength(4000)))
const Config = Schema.Record(Schema.String, Schema.Unknown)
const Timestamp = Schema.String
const NullableTimestamp = Schema.NullOr(Schema.String)

export const CreateSourceRequest = Schema.Struct({
  name: Name,
  description: Schema.optional(Schema.NullOr(Description)),
  connectorType: ConnectorType,
  connectionConfig: Config
})
export const UpdateSourceRequest = Schema.Struct({
  name: Schema.optional(Name),
  description: Schema.optional(Schema.NullOr(Description)),
  connectorType: Schema.optional(ConnectorType),
  connectionConfig: Schema.optional(Config)
})
export const SourceResponse = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  description: Schema.NullOr(Schema.String),
  connectorType: Schema.String,
  status: SourceStatus,
  lastTestedAt: NullableTimestamp,
  createdAt: Timestamp,
  lastError: Schema.optional(Schema.NullOr(Schema.String))
})

const ColumnResponse = Schema.Struct({
  name: Schema.String,
  type: ColumnType,
  nullable: Schema.Boolean,
  sampleValues: Schema.Array(Schema.String),
  precision: Schema.optional(Schema.Int),
  scale: Schema.optional(Schema.Int)
})
export const DiscoverResponse = Schema.Struct({
  streams: Schema.Array(Schema.Struct({
    name: Schema.String,
    columns: Schema.Array(ColumnResponse),
    supportedSyncModes: Schema.Array(SyncMode),
    primaryKey: Schema.optional(Schema.Array(Schema.String)),
    defaultCursorField: Schema.optional(Schema.String)
  }))
})

export const ConnectionRequest = Schema.Struct({
  sourceId: SourceId,
  name: Name,
  destinationType: Schema.optional(Schema.NullOr(Schema.String)),
  syncSchedule: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.check(Schema.isMaxLength(200))))),
  selectedStreams: Schema.optional(
    Schema.NullOr(Schema.Array(Schema.String.pipe(Schema.check(Schema.isMaxLength(1000)))).pipe(Schema.check(Schema.isMaxLength(10_000))))
  ),
  syncMode: Schema.optional(Schema.NullOr(SyncMode))
})
export const ConnectionResponse = Schema.Struct({
  id: Schema.String,
  sourceId: Schema.String,
  sourceName: Schema.String,
  name: Schema.String,
  destinationType: Schema.String,
  syncSchedule: Schema.NullOr(Schema.String),
  syncMode: SyncMode,
  status: ConnectionStatus,
  lastSyncAt: NullableTimestamp,
  createdAt: Timestamp,
  selectedStreams: Schema.NullOr(Schema.Array(Schema.String)),
  nextRunAt: NullableTimestamp
})

export const SyncResponse = Schema.Struct({
  id: Schema.String,
  connectionId: Schema.String,
  connectionName: Schema.String,
  status: SyncStatus,
  recordsSynced: Schema.NullOr(Schema.Number),
  bytesSynced: Schema.NullOr(Schema.Number),
  startedAt: Timestamp,
  completedAt: NullableTimestamp,
  durationMs: Schema.NullOr(Schema.Number),
  error: Schema.NullOr(Schema.String)
})
export const SyncPageResponse = Schema.Struct({
  content: Schema.Array(SyncResponse),
  totalElements: Schema.Number,
  totalPages: Schema.Number,
  number: Schema.Number,
  size: Schema.Number
})

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
  inferredTypes: Schema.Record(Schema.String, ColumnType)
})
export const SchemaUpdateRequest = Schema.Struct({
  targetTableName: Schema.String.pipe(Schema.check(Schema.isMinLength(1), Schema.isMaxLength(255))),
  targetSchema: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.check(Schema.isMinLength(1), Schema.isMaxLength(255))))),
  columnMappings: Schema.optional(Schema.NullOr(Schema.Record(Schema.String, Schema.NullOr(Schema.String.pipe(Schema.check(Schema.isMaxLength(255))))))),
  dropUnmapped: Schema.optional(Schema.Boolean)
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

// ---------------------------------------------------------------------------------------------
// Endpoints

// Every endpoint may answer with any of the standard errors (the body is the same for all).
const Common = [ApiBadRequest, ApiNotFound, ApiConflict, ApiPayloadTooLarge, ApiUnprocessable, ApiInternal, ApiBadGateway] as const

export class PublicGroup extends HttpApiGroup.make("public")
  .add(
    HttpApiEndpoint.get("connectorTypes", "/api/v1/sources/connector-types", { success: Schema.Array(Schema.String) }),
    HttpApiEndpoint.get("fileFormats", "/api/v1/files/formats", { success: Schema.Array(Schema.String) })
  )
  .annotateMerge(OpenApi.annotations({ title: "Catalogue", description: "Tenant-independent lists" })) {}

export class SourcesGroup extends HttpApiGroup.make("sources")
  .add(
    HttpApiEndpoint.post("create", "/api/v1/sources", {
      headers: TenantHeader,
      payload: CreateSourceRequest,
      success: SourceResponse.pipe(HttpApiSchema.status(201)),
      error: Common
    }),
    HttpApiEndpoint.get("list", "/api/v1/sources", { headers: TenantHeader, success: Schema.Array(SourceResponse), error: Common }),
    HttpApiEndpoint.get("get", "/api/v1/sources/:sourceId", {
      params: { sourceId: SourceId },
      headers: TenantHeader,
      success: SourceResponse,
      error: Common
    }),
    HttpApiEndpoint.put("update", "/api/v1/sources/:sourceId", {
      params: { sourceId: SourceId },
      headers: TenantHeader,
      payload: UpdateSourceRequest,
      success: SourceResponse,
      error: Common
    }),
    HttpApiEndpoint.delete("remove", "/api/v1/sources/:sourceId", {
      params: { sourceId: SourceId },
      headers: TenantHeader,
      success: HttpApiSchema.NoContent,
      error: Common
    }),
    HttpApiEndpoint.post("test", "/api/v1/sources/:sourceId/test", {
      params: { sourceId: SourceId },
      headers: TenantHeader,
      success: SourceResponse,
      error: Common
    }),
    HttpApiEndpoint.post("discover", "/api/v1/sources/:sourceId/discover", {
      params: { sourceId: SourceId },
      headers: TenantHeader,
      success: DiscoverResponse,
      error: Common
    })
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Sources", description: "External systems to ingest from" })) {}

export class ConnectionsGroup extends HttpApiGroup.make("connections")
  .add(
    HttpApiEndpoint.post("create", "/api/v1/connections", {
      headers: TenantHeader,
      payload: ConnectionRequest,
      success: ConnectionResponse.pipe(HttpApiSchema.status(201)),
      error: Common
    }),
    HttpApiEndpoint.get("list", "/api/v1/connections", { headers: TenantHeader, success: Schema.Array(ConnectionResponse), error: Common }),
    HttpApiEndpoint.get("get", "/api/v1/connections/:connectionId", {
      params: { connectionId: ConnectionId },
      headers: TenantHeader,
      success: ConnectionResponse,
      error: Common
    }),
    HttpApiEndpoint.put("update", "/api/v1/connections/:connectionId", {
      params: { connectionId: ConnectionId },
      headers: TenantHeader,
      payload: ConnectionRequest,
      success: ConnectionResponse,
      error: Common
    }),
    HttpApiEndpoint.delete("remove", "/api/v1/connections/:connectionId", {
      params: { connectionId: ConnectionId },
      headers: TenantHeader,
      success: HttpApiSchema.NoContent,
      error: Common
    })
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Connections", description: "Which streams of a source go to Iceberg, how and when" })) {}

export class SyncsGroup extends HttpApiGroup.make("syncs")
  .add(
    HttpApiEndpoint.post("trigger", "/api/v1/syncs/connections/:connectionId/trigger", {
      params: { connectionId: ConnectionId },
      headers: TenantHeader,
      success: SyncResponse.pipe(HttpApiSchema.status(202)),
      error: Common
    }),
    HttpApiEndpoint.post("cancel", "/api/v1/syncs/:syncId/cancel", {
      params: { syncId: SyncId },
      headers: TenantHeader,
      success: HttpApiSchema.NoContent,
      error: Common
    }),
    HttpApiEndpoint.get("get", "/api/v1/syncs/:syncId", {
      params: { syncId: SyncId },
      headers: TenantHeader,
      success: SyncResponse,
      error: Common
    }),
    HttpApiEndpoint.get("list", "/api/v1/syncs", {
      headers: TenantHeader,
      query: {
        connectionId: Schema.optional(ConnectionId),
        page: Schema.optional(Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))),
        size: Schema.optional(Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1), Schema.isLessThanOrEqualTo(1000)))),
        sort: Schema.optional(Schema.String.pipe(Schema.check(Schema.isMaxLength(64))))
      },
      success: SyncPageResponse,
      error: Common
    })
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Syncs", description: "Sync jobs: trigger, cancel, status, history" })) {}

export class FilesGroup extends HttpApiGroup.make("files")
  .add(
    HttpApiEndpoint.post("upload", "/api/v1/files/upload", {
      headers: TenantHeader,
      query: { sheet: Schema.optional(Schema.String.pipe(Schema.check(Schema.isMaxLength(255)))) },
      // The real limit is INGEST_MAX_UPLOAD_BYTES, enforced while streaming (413).
      payload: Schema.Struct({ file: Multipart.SingleFileSchema }).pipe(
        HttpApiSchema.asMultipartStream({ maxFileSize: "1 TiB", maxTotalSize: "1 TiB", maxParts: 16 })
      ),
      success: UploadResponse.pipe(HttpApiSchema.status(201)),
      error: Common
    }),
    HttpApiEndpoint.get("preview", "/api/v1/files/:fileId/preview", {
      params: { fileId: FileId },
      headers: TenantHeader,
      success: PreviewResponse,
      error: Common
    }),
    HttpApiEndpoint.put("updateSchema", "/api/v1/files/:fileId/schema", {
      params: { fileId: FileId },
      headers: TenantHeader,
      payload: SchemaUpdateRequest,
      success: FileJobResponse,
      error: Common
    }),
    HttpApiEndpoint.post("execute", "/api/v1/files/:fileId/import", {
      params: { fileId: FileId },
      headers: TenantHeader,
      success: FileJobResponse.pipe(HttpApiSchema.status(202)),
      error: Common
    }),
    HttpApiEndpoint.get("status", "/api/v1/files/:fileId/status", {
      params: { fileId: FileId },
      headers: TenantHeader,
      success: ImportStatusResponse,
      error: Common
    })
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "File import", description: "Upload → preview → mappings → Iceberg table" })) {}

export class Api extends HttpApi.make("ingestion-service")
  .add(PublicGroup)
  .add(SourcesGroup)
  .add(ConnectionsGroup)
  .add(SyncsGroup)
  .add(FilesGroup)
  .middleware(RequestValidation)
  .annotateMerge(OpenApi.annotations({
    title: "Ingestion Service API",
    version: "1.0.0",
    description: "Bring data from connectors and files into Apache Iceberg tables. Bearer JWT + X-Tenant-Id.",
    transform: withIcebergCatalogPaths
  })) {}
