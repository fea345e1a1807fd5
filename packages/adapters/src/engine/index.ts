/**
 * The local connector engine: runs postgres and S3 sources in process (no Airbyte).
 * `makeLocalEngine` / `LocalEngineLive` implement the ConnectorEngine port; `runLocalSync` runs
 * one sync and is what the job queue calls; `SyncStateStore` keeps incremental positions.
 */
export { jobStateOf, LocalEngineLive, localConnectorTypes, makeLocalEngine, unsupportedConnector } from "./local-engine.ts"
export type { FormatReaderService, LocalEngineDeps } from "./local-engine.ts"
export { runLocalSync, tableNameOf } from "./run-sync.ts"
export type { LocalSyncInput, LocalSyncResult, TableWriterService } from "./run-sync.ts"
export { SyncFailure } from "./stream-reader.ts"
export {
  ensureSyncStateTable,
  makeMemorySyncStateStore,
  makeSqlSyncStateStore,
  syncStateDdl
} from "./sync-state.ts"
export type { SyncStateKey, SyncStateStore } from "./sync-state.ts"
export { parsePostgresConfig } from "./postgres/config.ts"
export type { PostgresSourceConfig } from "./postgres/config.ts"
export type { PostgresCursorState } from "./postgres/read.ts"
export { parseS3Config } from "./s3/config.ts"
export type { S3SourceConfig } from "./s3/config.ts"
export type { S3ObjectsState } from "./s3/read.ts"
