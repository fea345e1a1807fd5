import type { ConnectionId, TenantId } from "@ingest/domain"
import { InfrastructureError } from "@ingest/domain"
import { Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"

export interface SyncStateKey {
  readonly tenantId: TenantId
  readonly connectionId: ConnectionId
  /** The stream name as discovered (`public.orders`). */
  readonly stream: string
}

/**
 * Where incremental syncs remember how far they got, per connection and stream. The state is a
 * small JSON value owned by the reader (a cursor value, an object's modification time …).
 */
export interface SyncStateStore {
  get(key: SyncStateKey): Effect.Effect<Option.Option<unknown>, InfrastructureError>
  put(key: SyncStateKey, state: unknown): Effect.Effect<void, InfrastructureError>
  /** Forgets every stream of a connection (connection deleted, or a reset that re-reads everything). */
  clear(tenantId: TenantId, connectionId: ConnectionId): Effect.Effect<void, InfrastructureError>
}

/** States larger than this are a bug in a reader, not something to store. */
const maxStateBytes = 1024 * 1024

const encodeState = (state: unknown): Effect.Effect<string, InfrastructureError> => {
  const text = JSON.stringify(state)
  if (text === undefined) return Effect.fail(new InfrastructureError({ reason: "Sync state is not JSON" }))
  if (text.length > maxStateBytes) return Effect.fail(new InfrastructureError({ reason: "Sync state is too large" }))
  return Effect.succeed(text)
}

export const makeMemorySyncStateStore = (): SyncStateStore => {
  const states = new Map<string, string>()
  const id = (tenantId: string, connectionId: string, stream: string) => JSON.stringify([tenantId, connectionId, stream])
  return {
    get: (key) =>
      Effect.sync(() => {
        const text = states.get(id(key.tenantId, key.connectionId, key.stream))
        return text === undefined ? Option.none() : Option.some(JSON.parse(text) as unknown)
      }),
    put: (key, state) =>
      encodeState(state).pipe(Effect.map((text) => void states.set(id(key.tenantId, key.connectionId, key.stream), text))),
    clear: (tenantId, connectionId) =>
      Effect.sync(() => {
        for (const key of [...states.keys()]) {
          const [t, c] = JSON.parse(key) as [string, string, string]
          if (t === tenantId && c === connectionId) states.delete(key)
        }
      })
  }
}

/** The table the SQL store keeps state in; safe to run on every start. */
export const syncStateDdl = `CREATE TABLE IF NOT EXISTS sync_state (
  tenant_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  stream text NOT NULL,
  state jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, connection_id, stream)
)`

export const ensureSyncStateTable: Effect.Effect<void, SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(syncStateDdl)
})

const infrastructure = (what: string) => (error: SqlError) =>
  new InfrastructureError({ reason: `Sync state ${what} failed: ${error.message}` })

/** The SQL store over the service database (Postgres or embedded Postgres). */
export const makeSqlSyncStateStore: Effect.Effect<SyncStateStore, never, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return {
    get: (key) =>
      sql<{ readonly state: string }>`
        SELECT state::text AS state FROM sync_state
        WHERE tenant_id = ${key.tenantId} AND connection_id = ${key.connectionId} AND stream = ${key.stream}`.pipe(
        Effect.map((rows) => rows.length === 0 ? Option.none() : Option.some(JSON.parse(rows[0]!.state) as unknown)),
        Effect.mapError(infrastructure("read"))
      ),
    put: (key, state) =>
      encodeState(state).pipe(
        Effect.flatMap((text) =>
          sql`
            INSERT INTO sync_state (tenant_id, connection_id, stream, state, updated_at)
            VALUES (${key.tenantId}, ${key.connectionId}, ${key.stream}, ${text}::jsonb, now())
            ON CONFLICT (tenant_id, connection_id, stream)
            DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`.pipe(
            Effect.mapError(infrastructure("write"))
          )
        ),
        Effect.asVoid
      ),
    clear: (tenantId, connectionId) =>
      sql`DELETE FROM sync_state WHERE tenant_id = ${tenantId} AND connection_id = ${connectionId}`.pipe(
        Effect.mapError(infrastructure("delete")),
        Effect.asVoid
      )
  }
})
