import { Schema } from "effect"
import { Conflict } from "./errors.ts"
import { ConnectionId, SyncId, TenantId } from "./ids.ts"

export const SyncStatus = Schema.Literals(["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"])
export type SyncStatus = typeof SyncStatus.Type

export const isActiveSync = (status: SyncStatus): boolean => status === "PENDING" || status === "RUNNING"

/** What every SyncRepo answers when a connection already has a PENDING/RUNNING sync. */
export const activeSyncConflict = (connectionId: string) =>
  new Conflict({ reason: `A sync is already running for connection ${connectionId}` })

export const Sync = Schema.Struct({
  id: SyncId,
  tenantId: TenantId,
  connectionId: ConnectionId,
  status: SyncStatus,
  recordsSynced: Schema.NullOr(Schema.Number),
  bytesSynced: Schema.NullOr(Schema.Number),
  startedAt: Schema.DateTimeUtc,
  completedAt: Schema.NullOr(Schema.DateTimeUtc),
  durationMs: Schema.NullOr(Schema.Number),
  /** Why the sync failed (FAILED) — shown to users. */
  error: Schema.NullOr(Schema.String),
  /** The engine's job id (Airbyte job id, or the local queue's job id). */
  engineJobId: Schema.NullOr(Schema.String),
  /** `manual` or `schedule`. */
  trigger: Schema.Literals(["manual", "schedule"])
})
export type Sync = typeof Sync.Type

export const SyncSortField = Schema.Literals(["startedAt", "completedAt", "status"])
export type SyncSortField = typeof SyncSortField.Type

/** A zero-based page of a list and its size. */
export interface PageRequest {
  readonly page: number
  readonly size: number
}

export interface SyncPageRequest extends PageRequest {
  readonly connectionId: ConnectionId | undefined
  readonly sort: { readonly field: SyncSortField; readonly direction: "asc" | "desc" }
}

export interface Page<A> {
  readonly content: ReadonlyArray<A>
  readonly totalElements: number
  readonly totalPages: number
  readonly number: number
  readonly size: number
}
