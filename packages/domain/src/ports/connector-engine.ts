import type { Effect } from "effect"
import { Context } from "effect"
import type { DiscoveredStream } from "../columns.ts"
import type { Connection } from "../connection.ts"
import type { Conflict, EngineUnavailable, EngineUnsupported, Invalid } from "../errors.ts"
import type { Source } from "../source.ts"
import type { Sync, SyncStatus } from "../sync.ts"

export type EngineError = EngineUnavailable | EngineUnsupported

export interface CheckResult {
  readonly ok: boolean
  /** Why the check failed (shown to users), or a short success note. */
  readonly message: string
}

export interface JobState {
  readonly status: SyncStatus
  readonly recordsSynced: number | null
  readonly bytesSynced: number | null
  readonly durationMs: number | null
  readonly error: string | null
}

/**
 * Runs connectors: registers sources and connections where the engine keeps its own copy
 * (Airbyte), checks and discovers sources, and starts, follows and cancels sync jobs.
 */
export class ConnectorEngine extends Context.Service<ConnectorEngine, {
  readonly name: string
  /** Creates or updates the engine's twin of the source; returns the engine's id (or null). */
  saveSource(source: Source): Effect.Effect<string | null, EngineError>
  deleteSource(source: Source): Effect.Effect<void, EngineError>
  check(source: Source): Effect.Effect<CheckResult, EngineError>
  discover(source: Source): Effect.Effect<ReadonlyArray<DiscoveredStream>, EngineError>
  /** Creates or updates the engine's twin of the connection; returns the engine's id (or null). */
  saveConnection(
    connection: Connection,
    source: Source,
    streams: ReadonlyArray<DiscoveredStream>
  ): Effect.Effect<string | null, EngineError | Invalid>
  deleteConnection(connection: Connection): Effect.Effect<void, EngineError>
  /** Starts a job for the sync; returns the engine's job id. */
  startJob(sync: Sync, connection: Connection, source: Source): Effect.Effect<string, EngineError>
  jobState(sync: Sync): Effect.Effect<JobState, EngineError>
  /** Fails with Conflict when the engine says the job is no longer running. */
  cancelJob(sync: Sync): Effect.Effect<void, EngineError | Conflict>
}>()("ingest/ConnectorEngine") {}
