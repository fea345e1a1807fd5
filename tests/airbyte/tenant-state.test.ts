import { PgClient } from "@effect/sql-pg"
import {
  AirbyteTenantState,
  AirbyteTenantStateMemory,
  AirbyteTenantStateSql
} from "@ingest/adapters/airbyte/tenant-state"
import { TenantId } from "@ingest/domain"
import { Effect, Layer, Option, Redacted } from "effect"
import { Reactivity } from "effect/reactivity"
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const pg = { host: "127.0.0.1", port: 5432, database: "test", username: "postgres", password: Redacted.make(""), ssl: false } as const
const schema = `airbyte_state_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`

const postgresReachable = await new Promise<boolean>((resolve) => {
  const socket = net.connect({ host: pg.host, port: pg.port })
  socket.once("connect", () => {
    socket.destroy()
    resolve(true)
  })
  socket.once("error", () => resolve(false))
})
if (!postgresReachable) console.warn("tests/airbyte/tenant-state.test.ts: PostgreSQL on 127.0.0.1:5432 is not reachable, SQL store skipped")

const admin = (statement: string) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const sql = yield* PgClient.makeClient(pg)
    yield* sql.unsafe(statement)
  })).pipe(Effect.provide(Reactivity.layer)))

const newTenant = () => TenantId.make(crypto.randomUUID())

const sqlLayer = AirbyteTenantStateSql.pipe(
  Layer.provide(PgClient.layer({ ...pg, startupParameters: { search_path: schema }, maxConnections: 4 })),
  Layer.provide(Reactivity.layer)
)

const suites: ReadonlyArray<readonly [string, Layer.Layer<AirbyteTenantState, unknown>, boolean]> = [
  ["memory", AirbyteTenantStateMemory, true],
  ["PostgreSQL", sqlLayer, postgresReachable]
]

for (const [name, layer, enabled] of suites) {
  describe.skipIf(!enabled)(`AirbyteTenantState (${name})`, () => {
    if (name === "PostgreSQL") {
      beforeAll(() => admin(`CREATE SCHEMA ${schema}`))
      afterAll(() => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`))
    }

    const withState = <A, E>(f: (state: typeof AirbyteTenantState.Service) => Effect.Effect<A, E>) =>
      Effect.runPromise(Effect.gen(function*() {
        return yield* f(yield* AirbyteTenantState)
      }).pipe(Effect.provide(layer)) as Effect.Effect<A, unknown>)

    it("knows nothing of a new tenant", async () => {
      expect(Option.isNone(await withState((state) => state.get(newTenant())))).toBe(true)
    })

    it("records the first workspace and destination and keeps them (first writer wins)", async () => {
      const tenant = newTenant()
      const recorded = await withState((state) =>
        Effect.gen(function*() {
          const first = yield* state.claimWorkspace(tenant, "ws-1")
          const second = yield* state.claimWorkspace(tenant, "ws-2")
          const destination = yield* state.claimDestination(tenant, "dest-1")
          const again = yield* state.claimDestination(tenant, "dest-2")
          return { first, second, destination, again, record: yield* state.get(tenant) }
        })
      )
      expect(recorded).toMatchObject({ first: "ws-1", second: "ws-1", destination: "dest-1", again: "dest-1" })
      expect(Option.getOrThrow(recorded.record)).toEqual({ workspaceId: "ws-1", destinationId: "dest-1" })
    })

    it("agrees on one workspace when claims race", async () => {
      const tenant = newTenant()
      const winners = await withState((state) =>
        Effect.all(Array.from({ length: 8 }, (_, i) => state.claimWorkspace(tenant, `ws-${i}`)), { concurrency: "unbounded" })
      )
      expect(new Set(winners).size).toBe(1)
    })

    it("records a destination before any workspace (shared workspace mode)", async () => {
      const tenant = newTenant()
      const record = await withState((state) =>
        Effect.gen(function*() {
          yield* state.claimDestination(tenant, "dest-only")
          return yield* state.get(tenant)
        })
      )
      expect(Option.getOrThrow(record)).toEqual({ workspaceId: null, destinationId: "dest-only" })
    })

    if (name === "PostgreSQL") {
      it("survives a restart: a new store over the same table sees earlier claims", async () => {
        const tenant = newTenant()
        await withState((state) => state.claimWorkspace(tenant, "ws-persisted"))
        // withState builds the layer anew each time, which also re-runs CREATE TABLE IF NOT EXISTS.
        const record = await withState((state) => state.get(tenant))
        expect(Option.getOrThrow(record).workspaceId).toBe("ws-persisted")
      })
    }
  })
}
