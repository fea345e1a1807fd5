import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { ConnectorType, SourceId, SourceStatus, SyncMode } from "@ingest/domain"
import { CommonErrors } from "./errors.ts"
import { Authentication, TenantAccess, TenantHeader } from "./security.ts"
import { ColumnResponse, Description, Name, NullableTimestamp, Timestamp } from "./wire.ts"

const Config = Schema.Record(Schema.String, Schema.Unknown)

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
export const SourceListResponse = Schema.Array(SourceResponse)
export const DiscoverResponse = Schema.Struct({
  streams: Schema.Array(Schema.Struct({
    name: Schema.String,
    columns: Schema.Array(ColumnResponse),
    supportedSyncModes: Schema.Array(SyncMode),
    primaryKey: Schema.optional(Schema.Array(Schema.String)),
    defaultCursorField: Schema.optional(Schema.String)
  }))
})

/** The largest `connectionConfig` the API takes, as JSON text. */
export const maxConnectionConfigChars = 64 * 1024

const params = { sourceId: SourceId }

export class SourcesGroup extends HttpApiGroup.make("sources")
  .add(
    HttpApiEndpoint.post("create", "/", {
      headers: TenantHeader,
      payload: CreateSourceRequest,
      success: SourceResponse.pipe(HttpApiSchema.status(201)),
      error: CommonErrors
    }),
    HttpApiEndpoint.get("list", "/", { headers: TenantHeader, success: SourceListResponse, error: CommonErrors }),
    HttpApiEndpoint.get("get", "/:sourceId", { params, headers: TenantHeader, success: SourceResponse, error: CommonErrors }),
    HttpApiEndpoint.put("update", "/:sourceId", {
      params,
      headers: TenantHeader,
      payload: UpdateSourceRequest,
      success: SourceResponse,
      error: CommonErrors
    }),
    HttpApiEndpoint.delete("remove", "/:sourceId", { params, headers: TenantHeader, success: HttpApiSchema.NoContent, error: CommonErrors }),
    HttpApiEndpoint.post("test", "/:sourceId/test", { params, headers: TenantHeader, success: SourceResponse, error: CommonErrors }),
    HttpApiEndpoint.post("discover", "/:sourceId/discover", { params, headers: TenantHeader, success: DiscoverResponse, error: CommonErrors })
  )
  .prefix("/sources")
  .middleware(TenantAccess)
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Sources", description: "External systems to ingest from" })) {}
