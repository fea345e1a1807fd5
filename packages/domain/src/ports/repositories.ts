import type { DateTime, Effect, Option } from "effect"
import { Context } from "effect"
import type { Connection } from "../connection.ts"
import type { Conflict } from "../errors.ts"
import type { FileImport, FileImportSummary } from "../file-import.ts"
import type { ConnectionId, FileId, SourceId, SyncId, TenantId } from "../ids.ts"
import type { Source, SourceSummary } from "../source.ts"
import type { Page, PageRequest, Sync, SyncPageRequest } from "../sync.ts"

// Persistence ports. Every read and write is scoped by tenant; storage failures are defects
// (the HTTP layer answers them with 500), so the error channels carry only domain outcomes.

export class SourceRepo extends Context.Service<SourceRepo, {
  insert(source: Source): Effect.Effect<void>
  update(source: Source): Effect.Effect<void>
  find(tenantId: TenantId, id: SourceId): Effect.Effect<Option.Option<Source>>
  /** The tenant's sources by creation time, without their secrets (see SourceSummary). */
  list(tenantId: TenantId): Effect.Effect<ReadonlyArray<SourceSummary>>
  remove(tenantId: TenantId, id: SourceId): Effect.Effect<boolean>
}>()("ingest/SourceRepo") {}

export class ConnectionRepo extends Context.Service<ConnectionRepo, {
  insert(connection: Connection): Effect.Effect<void>
  update(connection: Connection): Effect.Effect<void>
  find(tenantId: TenantId, id: ConnectionId): Effect.Effect<Option.Option<Connection>>
  list(tenantId: TenantId): Effect.Effect<ReadonlyArray<Connection>>
  countBySource(tenantId: TenantId, sourceId: SourceId): Effect.Effect<number>
  remove(tenantId: TenantId, id: ConnectionId): Effect.Effect<boolean>
  /** Scheduled connections (any tenant) whose next run is at or before `now`. */
  listDue(now: DateTime.Utc, limit: number): Effect.Effect<ReadonlyArray<Connection>>
  /**
   * Moves a connection's next run from `expected` to `next` only if it still is `expected`
   * (compare-and-set). Exactly one of several schedulers wins a due time.
   */
  advanceSchedule(
    tenantId: TenantId,
    id: ConnectionId,
    expected: DateTime.Utc,
    next: DateTime.Utc | null
  ): Effect.Effect<boolean>
}>()("ingest/ConnectionRepo") {}

export class SyncRepo extends Context.Service<SyncRepo, {
  /** Fails with Conflict when the connection already has a PENDING or RUNNING sync. */
  insert(sync: Sync): Effect.Effect<void, Conflict>
  /**
   * Replaces a PENDING or RUNNING sync. A finished one (SUCCEEDED, FAILED, CANCELLED) is final:
   * updating it changes nothing, so that a late progress report cannot undo a cancel. An engine
   * job id once recorded stays when the update has none (it was read before the id was known).
   */
  update(sync: Sync): Effect.Effect<void>
  /** Records the engine's job of a sync, and nothing else: what changed since the sync was read stays. */
  attachEngineJob(tenantId: TenantId, id: SyncId, engineJobId: string): Effect.Effect<void>
  find(tenantId: TenantId, id: SyncId): Effect.Effect<Option.Option<Sync>>
  page(tenantId: TenantId, request: SyncPageRequest): Effect.Effect<Page<Sync>>
  findActive(tenantId: TenantId, connectionId: ConnectionId): Effect.Effect<Option.Option<Sync>>
  /** PENDING/RUNNING syncs of every tenant: what the status refresher follows. */
  listActive(limit: number): Effect.Effect<ReadonlyArray<Sync>>
}>()("ingest/SyncRepo") {}

export class FileImportRepo extends Context.Service<FileImportRepo, {
  insert(file: FileImport): Effect.Effect<void>
  update(file: FileImport): Effect.Effect<void>
  find(tenantId: TenantId, id: FileId): Effect.Effect<Option.Option<FileImport>>
  /** The file without its profile (see FileImportSummary): its status, read without the preview rows. */
  findSummary(tenantId: TenantId, id: FileId): Effect.Effect<Option.Option<FileImportSummary>>
  list(tenantId: TenantId): Effect.Effect<ReadonlyArray<FileImport>>
  /** The tenant's files without their profiles, newest first (then id descending); see clampPage for the page rules. */
  page(tenantId: TenantId, request: PageRequest): Effect.Effect<Page<FileImportSummary>>
}>()("ingest/FileImportRepo") {}
