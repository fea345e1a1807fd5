import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { ConnectionId, ConnectionStatus, SourceId, SyncMode } from "@ingest/domain"
import { CommonErrors } from "./errors.ts"
import { Authentication, TenantAccess, TenantHeader } from "./security.ts"
import { Name, NullableTimestamp, Timestamp } from "./wire.ts"

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

const params = { connectionId: ConnectionId }

export const ConnectionListResponse = Schema.Array(ConnectionResponse)

export class ConnectionsGroup extends HttpApiGroup.make("connections")
  .add(
    HttpApiEndpoint.post("create", "/", {
      headers: TenantHeader,
      payload: ConnectionRequest,
      success: ConnectionResponse.pipe(HttpApiSchema.status(201)),
      error: CommonErrors
    }),
    HttpApiEndpoint.get("list", "/", { headers: TenantHeader, success: ConnectionListResponse, error: CommonErrors }),
    HttpApiEndpoint.get("get", "/:connectionId", { params, headers: TenantHeader, success: ConnectionResponse, error: CommonErrors }),
    HttpApiEndpoint.put("update", "/:connectionId", {
      params,
      headers: TenantHeader,
      payload: ConnectionRequest,
      success: ConnectionResponse,
      error: CommonErrors
    }),
    HttpApiEndpoint.delete("remove", "/:connectionId", { params, headers: TenantHeader, success: HttpApiSchema.NoContent, error: CommonErrors })
  )
  .prefix("/connections")
  .middleware(TenantAccess)
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Connections", description: "Which streams of a source go to Iceberg, how and when" })) {}
