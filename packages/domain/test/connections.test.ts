import { assert, describe, expect, it, layer } from "@effect/vitest"
import { MemoryEngineControl } from "@ingest/adapters/memory/connector-engine"
import { defaultMemoryStreams } from "@ingest/adapters/memory/connector-engine"
import { ConnectionRepo, ConnectionService, SourceService, SyncService, validateStreams } from "@ingest/domain"
import type { DiscoveredStream } from "@ingest/domain"
import { Effect, Result } from "effect"
import { TestClock } from "effect/testing"
import { at, attempts, failureOf, makeWorld, newTenant, postgresConfig } from "./support.ts"

const streams: ReadonlyArray<DiscoveredStream> = defaultMemoryStreams

const invalidOf = <A>(result: Result.Result<A, { readonly field: string; readonly reason: string }>) => {
  if (Result.isSuccess(result)) throw new Error("expected Invalid")
  return result.failure
}

describe("validateStreams", () => {
  it("null selects every stream", () => {
    const chosen = validateStreams(streams, null, "FULL_REFRESH")
    assert.deepStrictEqual(Result.getOrThrow(chosen).map((s) => s.name), ["public.orders", "public.customers"])
  })

  it("returns the selected streams in the order given", () => {
    const chosen = validateStreams(streams, ["public.customers", "public.orders"], "FULL_REFRESH")
    assert.deepStrictEqual(Result.getOrThrow(chosen).map((s) => s.name), ["public.customers", "public.orders"])
  })

  it("an unknown stream is Invalid on selectedStreams and lists what the source offers", () => {
    const error = invalidOf(validateStreams(streams, ["public.orders", "public.nope"], "FULL_REFRESH"))
    assert.strictEqual(error.field, "selectedStreams")
    expect(error.reason).toContain(`"public.nope"`)
    expect(error.reason).toContain("public.orders, public.customers")
    expect(invalidOf(validateStreams([], ["a"], "FULL_REFRESH")).reason).toContain("no streams")
  })

  it("a mode a selected stream does not support is Invalid on syncMode", () => {
    assert.isTrue(Result.isSuccess(validateStreams(streams, ["public.orders"], "INCREMENTAL")))
    const error = invalidOf(validateStreams(streams, ["public.orders", "public.customers"], "INCREMENTAL"))
    assert.strictEqual(error.field, "syncMode")
    expect(error.reason).toContain(`"public.customers"`)
    // null means every stream, so one stream without the mode is enough to refuse
    assert.strictEqual(invalidOf(validateStreams(streams, null, "INCREMENTAL")).field, "syncMode")
    assert.strictEqual(invalidOf(validateStreams(streams, ["public.orders"], "CDC")).field, "syncMode")
  })

  it("an empty list is Invalid on selectedStreams", () => {
    const error = invalidOf(validateStreams(streams, [], "FULL_REFRESH"))
    assert.strictEqual(error.field, "selectedStreams")
    expect(error.reason).toContain("at least one")
  })
})

const world = makeWorld()

layer(world.layer)("ConnectionService", (it) => {
  const newSource = (tenant = newTenant()) =>
    SourceService.pipe(
      Effect.flatMap((sources) =>
        sources.create(tenant, { name: "shop", connectorType: "postgres", connectionConfig: postgresConfig })
      ),
      Effect.map((source) => ({ tenant, source }))
    )

  it.effect("defaults: iceberg, FULL_REFRESH, every stream, manual, PENDING, with the source's name", () =>
    Effect.gen(function*() {
      const connections = yield* ConnectionService
      const engine = yield* MemoryEngineControl
      const { source, tenant } = yield* newSource()
      const view = yield* connections.create(tenant, { sourceId: source.id, name: "all of it" })
      const c = view.connection
      assert.strictEqual(view.sourceName, "shop")
      assert.strictEqual(c.destinationType, "iceberg")
      assert.strictEqual(c.syncMode, "FULL_REFRESH")
      assert.strictEqual(c.selectedStreams, null)
      assert.strictEqual(c.syncSchedule, null)
      assert.strictEqual(c.nextRunAt, null)
      assert.strictEqual(c.status, "PENDING")
      assert.strictEqual(c.lastSyncAt, null)
      // the engine got both streams, and the connection carries the engine's id
      assert.deepStrictEqual(engine.connections.get(c.engineRef!)?.streams.map((s) => s.name), ["public.orders", "public.customers"])
      // creating discovered the source on the way
      assert.isNotNull((yield* (yield* SourceService).get(tenant, source.id)).discovered)
      assert.deepStrictEqual((yield* connections.get(tenant, c.id)).connection, c)
    }))

  it.effect("a destination other than iceberg is Invalid", () =>
    Effect.gen(function*() {
      const connections = yield* ConnectionService
      const { source, tenant } = yield* newSource()
      const error = yield* failureOf(connections.create(tenant, { sourceId: source.id, name: "c", destinationType: "s3" }))
      assert.strictEqual(error._tag, "Invalid")
      if (error._tag === "Invalid") assert.strictEqual(error.field, "destinationType")
    }))

  it.effect("unknown stream, unsupported mode and empty list are refused and nothing is stored", () =>
    Effect.gen(function*() {
      const connections = yield* ConnectionService
      const { source, tenant } = yield* newSource()
      const inputs = [
        { selectedStreams: ["public.nope"], field: "selectedStreams" },
        { selectedStreams: ["public.customers"], syncMode: "INCREMENTAL" as const, field: "syncMode" },
        { selectedStreams: [], field: "selectedStreams" }
      ]
      for (const { field, ...input } of inputs) {
        const error = yield* failureOf(connections.create(tenant, { sourceId: source.id, name: "c", ...input }))
        assert.strictEqual(error._tag, "Invalid")
        if (error._tag === "Invalid") assert.strictEqual(error.field, field)
      }
      assert.deepStrictEqual(yield* connections.list(tenant), [])
    }))

  it.effect("an invalid cron (6 fields, garbage, impossible date) is Invalid on syncSchedule", () =>
    Effect.gen(function*() {
      const connections = yield* ConnectionService
      const { source, tenant } = yield* newSource()
      for (const syncSchedule of ["0 0 * * * *", "every hour", "99 * * * *", "0 0 30 2 *"]) {
        const error = yield* failureOf(connections.create(tenant, { sourceId: source.id, name: "c", syncSchedule }))
        assert.strictEqual(error._tag, "Invalid", syncSchedule)
        if (error._tag === "Invalid") assert.strictEqual(error.field, "syncSchedule")
      }
      assert.deepStrictEqual(yield* connections.list(tenant), [])
    }))

  it.effect("nextRunAt is the next due time in UTC after the clock's now; a blank schedule is manual", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2024-03-10T10:20:00Z"))
      const connections = yield* ConnectionService
      const { source, tenant } = yield* newSource()
      const hourly = yield* connections.create(tenant, { sourceId: source.id, name: "h", syncSchedule: " 0 * * * * " })
      assert.strictEqual(hourly.connection.syncSchedule, "0 * * * *")
      assert.deepStrictEqual(hourly.connection.nextRunAt, at("2024-03-10T11:00:00Z"))
      const nightly = yield* connections.create(tenant, { sourceId: source.id, name: "n", syncSchedule: "30 2 * * *" })
      assert.deepStrictEqual(nightly.connection.nextRunAt, at("2024-03-11T02:30:00Z"))
      const manual = yield* connections.create(tenant, { sourceId: source.id, name: "m", syncSchedule: "   " })
      assert.strictEqual(manual.connection.syncSchedule, null)
      assert.strictEqual(manual.connection.nextRunAt, null)
    }))

  it.effect("update re-validates everything and recomputes nextRunAt from now", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2024-06-01T00:10:00Z"))
      const connections = yield* ConnectionService
      const repo = yield* ConnectionRepo
      const { source, tenant } = yield* newSource()
      const created = yield* connections.create(tenant, {
        sourceId: source.id,
        name: "orders",
        selectedStreams: ["public.orders"],
        syncMode: "INCREMENTAL",
        syncSchedule: "0 * * * *"
      })
      const id = created.connection.id
      assert.deepStrictEqual(created.connection.nextRunAt, at("2024-06-01T01:00:00Z"))

      for (
        const bad of [
          { selectedStreams: ["public.nope"] },
          { selectedStreams: ["public.customers"], syncMode: "INCREMENTAL" as const },
          { syncSchedule: "0 0 0 * * *" }
        ]
      ) {
        const error = yield* failureOf(connections.update(tenant, id, { sourceId: source.id, name: "orders", ...bad }))
        assert.strictEqual(error._tag, "Invalid")
      }
      const unchanged = yield* repo.find(tenant, id)
      assert.deepStrictEqual(unchanged._tag === "Some" ? unchanged.value : undefined, created.connection)

      yield* TestClock.adjust("3 hours")
      const updated = yield* connections.update(tenant, id, {
        sourceId: source.id,
        name: "renamed",
        selectedStreams: ["public.customers"],
        syncSchedule: "15 * * * *"
      })
      assert.strictEqual(updated.connection.name, "renamed")
      // a PUT replaces: what is left out falls back to the defaults
      assert.strictEqual(updated.connection.syncMode, "FULL_REFRESH")
      assert.deepStrictEqual(updated.connection.nextRunAt, at("2024-06-01T03:15:00Z"))
      assert.strictEqual(updated.connection.engineRef, created.connection.engineRef)
      assert.deepStrictEqual(updated.connection.createdAt, created.connection.createdAt)
      assert.deepStrictEqual(updated.connection.updatedAt, at("2024-06-01T03:10:00Z"))

      const manual = yield* connections.update(tenant, id, { sourceId: source.id, name: "renamed", syncSchedule: null })
      assert.strictEqual(manual.connection.nextRunAt, null)
    }))

  it.effect("engine down: create fails with EngineUnavailable and stores nothing", () =>
    Effect.gen(function*() {
      const connections = yield* ConnectionService
      const engine = yield* MemoryEngineControl
      const { source, tenant } = yield* newSource()
      yield* engine.setDown(true)
      const error = yield* failureOf(connections.create(tenant, { sourceId: source.id, name: "c" })).pipe(
        Effect.ensuring(engine.setDown(false))
      )
      assert.strictEqual(error._tag, "EngineUnavailable")
      assert.deepStrictEqual(yield* connections.list(tenant), [])
    }))

  it.effect("delete: Conflict while a sync runs; after it is cancelled the connection goes, here and in the engine", () =>
    Effect.gen(function*() {
      const connections = yield* ConnectionService
      const syncs = yield* SyncService
      const engine = yield* MemoryEngineControl
      const { source, tenant } = yield* newSource()
      const { connection } = yield* connections.create(tenant, { sourceId: source.id, name: "c" })
      const { sync } = yield* syncs.trigger(tenant, connection.id)
      const error = yield* failureOf(connections.remove(tenant, connection.id))
      assert.strictEqual(error._tag, "Conflict")
      assert.strictEqual((yield* connections.find(tenant, connection.id)).id, connection.id)

      yield* syncs.cancel(tenant, sync.id)
      yield* connections.remove(tenant, connection.id)
      assert.strictEqual((yield* failureOf(connections.find(tenant, connection.id)))._tag, "NotFound")
      assert.isFalse(engine.connections.has(connection.engineRef!))
    }))

  it.effect("another tenant's connection or source is NotFound", () =>
    Effect.gen(function*() {
      const connections = yield* ConnectionService
      const { source, tenant } = yield* newSource()
      const { connection } = yield* connections.create(tenant, { sourceId: source.id, name: "c" })
      const stranger = newTenant()
      const input = { sourceId: source.id, name: "x" }
      for (
        const attempt of attempts(
          connections.get(stranger, connection.id),
          connections.update(stranger, connection.id, input),
          connections.remove(stranger, connection.id),
          connections.create(stranger, input)
        )
      ) {
        assert.strictEqual((yield* failureOf(attempt))._tag, "NotFound")
      }
      assert.deepStrictEqual(yield* connections.list(stranger), [])
      // nor can a connection be moved onto another tenant's source
      const other = yield* newSource(stranger)
      const moved = yield* failureOf(connections.update(tenant, connection.id, { sourceId: other.source.id, name: "c" }))
      assert.strictEqual(moved._tag, "NotFound")
    }))

  it.effect("list names each connection's source", () =>
    Effect.gen(function*() {
      const connections = yield* ConnectionService
      const { source, tenant } = yield* newSource()
      yield* connections.create(tenant, { sourceId: source.id, name: "a" })
      // oldest first: a later creation time keeps the order known
      yield* TestClock.adjust("1 second")
      yield* connections.create(tenant, { sourceId: source.id, name: "b" })
      const all = yield* connections.list(tenant)
      assert.deepStrictEqual(all.map((v) => [v.connection.name, v.sourceName]), [["a", "shop"], ["b", "shop"]])
    }))
})
