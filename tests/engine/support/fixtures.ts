import { PgClient } from "@effect/sql-pg"
import type { Connection, ConnectionConfig, ConnectorType, Source, Sync, SyncMode } from "@ingest/domain"
import { ConnectionId, SourceId, SyncId, TenantId } from "@ingest/domain"
import { DateTime, Effect, Redacted } from "effect"
import { Reactivity } from "effect/reactivity"

/** The machine's PostgreSQL (trust auth), as the suites are told to use it. */
export const localPg = { host: "127.0.0.1", port: 5432, database: "test", username: "postgres" } as const

export const tenantId = TenantId.make("7a1f0c52-3f0e-4a57-9a3c-0e5b3f1d2c41")

export const makeSource = (connectorType: ConnectorType, connectionConfig: ConnectionConfig): Source => {
  const now = DateTime.makeUnsafe(Date.now())
  return {
    id: SourceId.make(crypto.randomUUID()),
    tenantId,
    name: `${connectorType} source`,
    description: null,
    connectorType,
    connectionConfig,
    status: "INACTIVE",
    lastTestedAt: null,
    lastError: null,
    engineRef: null,
    discovered: null,
    createdAt: now,
    updatedAt: now
  }
}

export const makeConnection = (source: Source, syncMode: SyncMode, selectedStreams: ReadonlyArray<string> | null): Connection => {
  const now = DateTime.makeUnsafe(Date.now())
  return {
    id: ConnectionId.make(crypto.randomUUID()),
    tenantId,
    sourceId: source.id,
    name: "test connection",
    destinationType: "iceberg",
    syncSchedule: null,
    selectedStreams,
    syncMode,
    status: "PENDING",
    lastSyncAt: null,
    engineRef: null,
    nextRunAt: null,
    createdAt: now,
    updatedAt: now
  }
}

export const makeSync = (connection: Connection): Sync => ({
  id: SyncId.make(crypto.randomUUID()),
  tenantId,
  connectionId: connection.id,
  status: "RUNNING",
  recordsSynced: null,
  bytesSynced: null,
  startedAt: DateTime.makeUnsafe(Date.now()),
  completedAt: null,
  durationMs: null,
  error: null,
  engineJobId: null,
  trigger: "manual"
})

/** Runs statements one by one against the local test database (setup and teardown of fixtures). */
export const runStatements = (statements: ReadonlyArray<string>): Promise<void> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const sql = yield* PgClient.makeClient({ ...localPg, password: Redacted.make(""), ssl: false })
        for (const statement of statements) yield* sql.unsafe(statement)
      })
    ).pipe(Effect.provide(Reactivity.layer))
  )

/** A schema name no other suite uses, so parallel runs and leftovers never collide. */
export const uniqueSchema = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`
