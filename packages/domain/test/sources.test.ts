import { assert, describe, layer } from "@effect/vitest"
import { MemoryEngineControl } from "@ingest/adapters/memory/connector-engine"
import { ConnectionService, SourceId, SourceRepo, SourceService } from "@ingest/domain"
import { Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { at, attempts, failureOf, makeWorld, newTenant, postgresConfig } from "./support.ts"

const world = makeWorld()

layer(world.layer)("SourceService", (it) => {
  it.effect("create stores an INACTIVE source with the engine's id, never tested", () =>
    Effect.gen(function*() {
      const sources = yield* SourceService
      const engine = yield* MemoryEngineControl
      const tenant = newTenant()
      const source = yield* sources.create(tenant, {
        name: "shop",
        description: "the shop database",
        connectorType: "postgres",
        connectionConfig: postgresConfig
      })
      assert.strictEqual(source.status, "INACTIVE")
      assert.strictEqual(source.lastTestedAt, null)
      assert.strictEqual(source.lastError, null)
      assert.strictEqual(source.discovered, null)
      assert.isNotNull(source.engineRef)
      assert.isTrue(engine.sources.has(source.engineRef!))
      const stored = yield* sources.get(tenant, source.id)
      assert.deepStrictEqual(stored.connectionConfig, postgresConfig)
      assert.deepStrictEqual((yield* sources.list(tenant)).map((s) => s.id), [source.id])
    }))

  it.effect("engine down on create: nothing is stored", () =>
    Effect.gen(function*() {
      const sources = yield* SourceService
      const engine = yield* MemoryEngineControl
      const tenant = newTenant()
      yield* engine.setDown(true)
      const error = yield* failureOf(
        sources.create(tenant, { name: "x", connectorType: "postgres", connectionConfig: postgresConfig })
      ).pipe(Effect.ensuring(engine.setDown(false)))
      assert.strictEqual(error._tag, "EngineUnavailable")
      assert.deepStrictEqual(yield* sources.list(tenant), [])
    }))

  it.effect("test: ACTIVE when the check passes, ERROR with lastError when it fails, ACTIVE again after a fix", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2024-05-01T08:00:00Z"))
      const sources = yield* SourceService
      const tenant = newTenant()
      const source = yield* sources.create(tenant, {
        name: "shop",
        connectorType: "postgres",
        connectionConfig: { ...postgresConfig, password: "wrong" }
      })
      const failed = yield* sources.test(tenant, source.id)
      assert.strictEqual(failed.status, "ERROR")
      assert.strictEqual(failed.lastError, "Authentication failed: wrong password")
      assert.deepStrictEqual(failed.lastTestedAt, at("2024-05-01T08:00:00Z"))
      assert.strictEqual((yield* sources.get(tenant, source.id)).status, "ERROR")

      yield* TestClock.adjust("1 hour")
      yield* sources.update(tenant, source.id, { connectionConfig: postgresConfig })
      const passed = yield* sources.test(tenant, source.id)
      assert.strictEqual(passed.status, "ACTIVE")
      assert.strictEqual(passed.lastError, null)
      assert.deepStrictEqual(passed.lastTestedAt, at("2024-05-01T09:00:00Z"))
    }))

  it.effect("test of a connector type the engine does not run: ERROR with the reason", () =>
    Effect.gen(function*() {
      const sources = yield* SourceService
      const tenant = newTenant()
      const source = yield* sources.create(tenant, { name: "crm", connectorType: "salesforce", connectionConfig: {} })
      const tested = yield* sources.test(tenant, source.id)
      assert.strictEqual(tested.status, "ERROR")
      assert.include(tested.lastError ?? "", "salesforce")
    }))

  it.effect("update of connectionConfig: back to INACTIVE, lastError and discovery cleared", () =>
    Effect.gen(function*() {
      const sources = yield* SourceService
      const tenant = newTenant()
      const source = yield* sources.create(tenant, { name: "shop", connectorType: "postgres", connectionConfig: postgresConfig })
      yield* sources.test(tenant, source.id)
      const streams = yield* sources.discover(tenant, source.id)
      assert.isAbove(streams.length, 0)
      const ready = yield* sources.get(tenant, source.id)
      assert.strictEqual(ready.status, "ACTIVE")
      assert.isNotNull(ready.discovered)

      const moved = yield* sources.update(tenant, source.id, { connectionConfig: { ...postgresConfig, host: "db2.example" } })
      assert.strictEqual(moved.status, "INACTIVE")
      assert.strictEqual(moved.discovered, null)
      assert.strictEqual(moved.lastError, null)
      assert.strictEqual(moved.engineRef, source.engineRef)
      assert.strictEqual((yield* sources.get(tenant, source.id)).status, "INACTIVE")
    }))

  it.effect("update of name or description only keeps status and discovery", () =>
    Effect.gen(function*() {
      const sources = yield* SourceService
      const tenant = newTenant()
      const source = yield* sources.create(tenant, {
        name: "shop",
        description: "old",
        connectorType: "postgres",
        connectionConfig: postgresConfig
      })
      yield* sources.test(tenant, source.id)
      yield* sources.discover(tenant, source.id)
      // the same config with keys in another order is the same place
      const reordered = Object.fromEntries(Object.entries(postgresConfig).reverse())
      const renamed = yield* sources.update(tenant, source.id, { name: "shop v2", description: null, connectionConfig: reordered })
      assert.strictEqual(renamed.name, "shop v2")
      assert.strictEqual(renamed.description, null)
      assert.strictEqual(renamed.status, "ACTIVE")
      assert.isNotNull(renamed.discovered)
    }))

  it.effect("update with another connector type is a new place too", () =>
    Effect.gen(function*() {
      const sources = yield* SourceService
      const tenant = newTenant()
      const source = yield* sources.create(tenant, { name: "s", connectorType: "postgres", connectionConfig: postgresConfig })
      yield* sources.test(tenant, source.id)
      const changed = yield* sources.update(tenant, source.id, { connectorType: "mysql" })
      assert.strictEqual(changed.status, "INACTIVE")
      assert.strictEqual(changed.connectorType, "mysql")
    }))

  it.effect("discover caches the streams on the source; streamsOf reuses them", () =>
    Effect.gen(function*() {
      const sources = yield* SourceService
      const tenant = newTenant()
      const source = yield* sources.create(tenant, { name: "s", connectorType: "postgres", connectionConfig: postgresConfig })
      const first = yield* sources.streamsOf(source)
      assert.deepStrictEqual(first.map((s) => s.name), ["public.orders", "public.customers"])
      const stored = yield* sources.get(tenant, source.id)
      assert.deepStrictEqual(stored.discovered?.map((s) => s.name), ["public.orders", "public.customers"])
      // with the engine down, the cached discovery still answers
      const engine = yield* MemoryEngineControl
      yield* engine.setDown(true)
      const cached = yield* sources.streamsOf(stored).pipe(Effect.ensuring(engine.setDown(false)))
      assert.strictEqual(cached.length, 2)
    }))

  it.effect("remove: Conflict while connections use the source; afterwards gone here and in the engine", () =>
    Effect.gen(function*() {
      const sources = yield* SourceService
      const connections = yield* ConnectionService
      const engine = yield* MemoryEngineControl
      const tenant = newTenant()
      const source = yield* sources.create(tenant, { name: "s", connectorType: "postgres", connectionConfig: postgresConfig })
      const { connection } = yield* connections.create(tenant, { sourceId: source.id, name: "c" })
      const error = yield* failureOf(sources.remove(tenant, source.id))
      assert.strictEqual(error._tag, "Conflict")
      assert.include(error.message, "1 connection")
      assert.isTrue(Option.isSome(yield* (yield* SourceRepo).find(tenant, source.id)))

      yield* connections.remove(tenant, connection.id)
      yield* sources.remove(tenant, source.id)
      assert.strictEqual((yield* failureOf(sources.get(tenant, source.id)))._tag, "NotFound")
      assert.isFalse(engine.sources.has(source.engineRef!))
    }))

  it.effect("another tenant's source is NotFound for every operation, and stays untouched", () =>
    Effect.gen(function*() {
      const sources = yield* SourceService
      const owner = newTenant()
      const stranger = newTenant()
      const source = yield* sources.create(owner, { name: "mine", connectorType: "postgres", connectionConfig: postgresConfig })
      for (const attempt of attempts(
        sources.get(stranger, source.id),
        sources.update(stranger, source.id, { name: "stolen" }),
        sources.test(stranger, source.id),
        sources.discover(stranger, source.id),
        sources.remove(stranger, source.id)
      )) {
        const error = yield* failureOf(attempt)
        assert.strictEqual(error._tag, "NotFound")
      }
      assert.deepStrictEqual(yield* sources.list(stranger), [])
      const untouched = yield* sources.get(owner, source.id)
      assert.strictEqual(untouched.name, "mine")
      assert.strictEqual(untouched.status, "INACTIVE")
    }))

  it.effect("an unknown id is NotFound naming the entity", () =>
    Effect.gen(function*() {
      const sources = yield* SourceService
      const id = SourceId.make(crypto.randomUUID())
      const error = yield* failureOf(sources.get(newTenant(), id))
      assert.strictEqual(error._tag, "NotFound")
      assert.strictEqual(error.message, `Source ${id} not found`)
    }))
})

describe("SourceService with an engine that keeps no copies", () => {
  layer(makeWorld({ engine: { keepsCopies: false } }).layer)("local-engine-like", (it) => {
    it.effect("create stores engineRef null", () =>
      Effect.gen(function*() {
        const sources = yield* SourceService
        const source = yield* sources.create(newTenant(), { name: "s", connectorType: "postgres", connectionConfig: {} })
        assert.strictEqual(source.engineRef, null)
      }))
  })
})
