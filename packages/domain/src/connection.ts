import { Schema } from "effect"
import { SyncMode } from "./columns.ts"
import { ConnectionId, SourceId, TenantId } from "./ids.ts"

export const ConnectionStatus = Schema.Literals(["PENDING", "ACTIVE", "PAUSED", "ERROR"])
export type ConnectionStatus = typeof ConnectionStatus.Type

export const Connection = Schema.Struct({
  id: ConnectionId,
  tenantId: TenantId,
  sourceId: SourceId,
  name: Schema.String,
  destinationType: Schema.Literal("iceberg"),
  /** 5-field Unix cron, evaluated in UTC; null = manual only. */
  syncSchedule: Schema.NullOr(Schema.String),
  /** null = every discovered stream. */
  selectedStreams: Schema.NullOr(Schema.Array(Schema.String)),
  syncMode: SyncMode,
  status: ConnectionStatus,
  lastSyncAt: Schema.NullOr(Schema.DateTimeUtc),
  /** The engine's own id for this connection (e.g. Airbyte's connectionId). */
  engineRef: Schema.NullOr(Schema.String),
  /** Next scheduled run (UTC), derived from syncSchedule; null when manual. */
  nextRunAt: Schema.NullOr(Schema.DateTimeUtc),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
})
export type Connection = typeof Connection.Type
