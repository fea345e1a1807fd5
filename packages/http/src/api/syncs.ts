import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import type { SyncSortField } from "@ingest/domain"
import { ConnectionId, SyncId, SyncStatus } from "@ingest/domain"
import { CommonErrors } from "./errors.ts"
import { Authentication, TenantAccess, TenantHeader } from "./security.ts"
import { NullableTimestamp, Timestamp } from "./wire.ts"

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

export const sortFields: ReadonlyArray<SyncSortField> = ["startedAt", "completedAt", "status"]

/** `field` or `field,asc|desc` on startedAt, completedAt, status (default startedAt,desc). */
export const parseSort = (sort: string | undefined) => {
  if (sort === undefined || sort.trim() === "") return { field: "startedAt" as const, direction: "desc" as const }
  const [field, direction = "desc", ...rest] = sort.split(",").map((s) => s.trim())
  if (rest.length > 0 || !sortFields.includes(field as SyncSortField) || (direction !== "asc" && direction !== "desc")) {
    return undefined
  }
  return { field: field as SyncSortField, direction: direction as "asc" | "desc" }
}

export class SyncsGroup extends HttpApiGroup.make("syncs")
  .add(
    HttpApiEndpoint.post("trigger", "/connections/:connectionId/trigger", {
      params: { connectionId: ConnectionId },
      headers: TenantHeader,
      success: SyncResponse.pipe(HttpApiSchema.status(202)),
      error: CommonErrors
    }),
    HttpApiEndpoint.post("cancel", "/:syncId/cancel", {
      params: { syncId: SyncId },
      headers: TenantHeader,
      success: HttpApiSchema.NoContent,
      error: CommonErrors
    }),
    HttpApiEndpoint.get("get", "/:syncId", { params: { syncId: SyncId }, headers: TenantHeader, success: SyncResponse, error: CommonErrors }),
    HttpApiEndpoint.get("list", "/", {
      headers: TenantHeader,
      query: {
        connectionId: Schema.optional(ConnectionId),
        page: Schema.optional(Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))),
        size: Schema.optional(Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1), Schema.isLessThanOrEqualTo(1000)))),
        sort: Schema.optional(Schema.String.pipe(Schema.check(Schema.isMaxLength(64))))
      },
      success: SyncPageResponse,
      error: CommonErrors
    })
  )
  .prefix("/syncs")
  .middleware(TenantAccess)
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Syncs", description: "Sync jobs: trigger, cancel, status, history" })) {}
