import { assert, layer } from "@effect/vitest"
import { MemoryEngineControl } from "@ingest/adapters/memory/connector-engine"
import { ConnectionId, ConnectionRepo, ConnectionService, SyncId, SyncService } from "@ingest/domain"
import type { SyncPageRequest, TenantId } from "@ingest/domain"
import { Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { at, attempts, failureOf, makeWorld, millis, newTenant, sourceAndConnection } from "./support.ts"

const connectionStatus = (tenant: TenantId, id: ConnectionId) =>
  ConnectionService.pipe(Effect.flatMap((c) => c.find(tenant, id)))

layer(makeWorld().layer)("SyncService: trigger, refresh, cancel", (it) => {
  it.effect("trigger starts a RUNNING sync carrying the engine's job id", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(millis("2024-04-01T12:00:00Z"))
      const syncs = yield* SyncService
      const engine = yield* MemoryEngineControl
      const tenant = newTenant()
      const { connection } = yield* sourceAndConnection(tenant)
      const view = yield* syncs.trigger(tenant, connection.id)
      assert.strictEqual(view.connectionName, "orders to lake")
      assert.strictEqual(view.sync.status, "RUNNING")
      assert.strictEqual(view.sync.trigger, "manual")
      assert.deepStrictEqual(view.sync.startedAt, at("2024-04-01T12:00:00Z"))
      assert.strictEqual(view.sync.completedAt, null)
      const job = engine.job(view.sync.engineJobId!)
      assert.isTrue(Option.isSome(job))
      assert.strictEqual(Option.getOrThrow(job).syncId, view.sync.id)
      assert.strictEqual(Option.getOrThrow(job).connectionId, connection.id)
      assert.deepStrictEqual((yield* syncs.get(tenant, view.sync.id)).sync, view.sync)
    }))

  it.effect("a second trigger while one runs is a Conflict and starts no job", () =>
    Effect.gen(function*() {
      const syncs = yield* SyncService
      const engine = yield* MemoryEngineControl
      const tenant = newTenant()
      const { connection } = yield* sourceAndConnection(tenant)
      const first = yield* syncs.trigger(tenant, connection.id)
      const jobsBefore = engine.jobs().length
      const error = yield* failureOf(syncs.trigger(tenant, connection.id))
      assert.strictEqual(error._tag, "Conflict")
      assert.include(error.message, first.sync.id)
      assert.strictEqual(engine.jobs().length, jobsBefore)
    }))

  it.effect("engine down on trigger: EngineUnavailable, the sync is recorded FAILED, the connection ERROR", () =>
    Effect.gen(function*() {
      const syncs = yield* SyncService
      const engine = yield* MemoryEngineControl
      const tenant = newTenant()
      const { connection } = yield* sourceAndConnection(tenant)
      yield* engine.setDown(true)
      const error = yield* failureOf(syncs.trigger(tenant, connection.id)).pipe(Effect.ensuring(engine.setDown(false)))
      assert.strictEqual(error._tag, "EngineUnavailable")
      const page = yield* syncs.history(tenant, request({ connectionId: connection.id }))
      assert.strictEqual(page.totalElements, 1)
      const failed = page.content[0]!.sync
      assert.strictEqual(failed.status, "FAILED")
      assert.strictEqual(failed.error, error.message)
      assert.strictEqual(failed.engineJobId, null)
      assert.isNotNull(failed.completedAt)
      assert.strictEqual((yield* connectionStatus(tenant, connection.id)).status, "ERROR")
      // nothing is left running: the next trigger works once the engine is back
      const retry = yield* syncs.trigger(tenant, connection.id)
      assert.strictEqual(retry.sync.status, "RUNNING")
    }))

  it.effect("refresh applies the job's progress and completion; the connection follows the outcome", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(millis("2024-04-02T08:00:00Z"))
      const syncs = yield* SyncService
      const engine = yield* MemoryEngineControl
      const tenant = newTenant()
      const { connection } = yield* sourceAndConnection(tenant)
      assert.strictEqual(connection.status, "PENDING")

      // 1. success: progress, then completion with the duration measured by the service
      const { sync } = yield* syncs.trigger(tenant, connection.id)
      yield* engine.advance(sync.engineJobId!, { recordsSynced: 10, bytesSynced: 100 })
      const progressing = (yield* syncs.get(tenant, sync.id)).sync
      assert.strictEqual(progressing.status, "RUNNING")
      assert.strictEqual(progressing.recordsSynced, 10)
      assert.strictEqual(progressing.completedAt, null)
      assert.strictEqual(progressing.durationMs, null)

      yield* TestClock.adjust("90 seconds")
      yield* engine.advance(sync.engineJobId!, { status: "SUCCEEDED", recordsSynced: 42, bytesSynced: 4200 })
      const done = (yield* syncs.get(tenant, sync.id)).sync
      assert.strictEqual(done.status, "SUCCEEDED")
      assert.strictEqual(done.recordsSynced, 42)
      assert.strictEqual(done.bytesSynced, 4200)
      assert.deepStrictEqual(done.completedAt, at("2024-04-02T08:01:30Z"))
      assert.strictEqual(done.durationMs, 90_000)
      assert.strictEqual(done.error, null)
      const afterSuccess = yield* connectionStatus(tenant, connection.id)
      assert.strictEqual(afterSuccess.status, "ACTIVE")
      assert.deepStrictEqual(afterSuccess.lastSyncAt, at("2024-04-02T08:01:30Z"))

      // 2. failure: the engine's reason and duration are kept; the connection turns ERROR
      yield* TestClock.adjust("1 hour")
      const second = (yield* syncs.trigger(tenant, connection.id)).sync
      yield* engine.advance(second.engineJobId!, { status: "FAILED", error: "source refused the query", durationMs: 1234 })
      const failed = yield* syncs.refresh(second)
      assert.strictEqual(failed.status, "FAILED")
      assert.strictEqual(failed.error, "source refused the query")
      assert.strictEqual(failed.durationMs, 1234)
      assert.strictEqual(failed.recordsSynced, null)
      assert.strictEqual((yield* connectionStatus(tenant, connection.id)).status, "ERROR")

      // 3. a later success makes it ACTIVE again
      yield* TestClock.adjust("1 hour")
      const third = (yield* syncs.trigger(tenant, connection.id)).sync
      yield* engine.advance(third.engineJobId!, { status: "SUCCEEDED", recordsSynced: 0, bytesSynced: 0 })
      yield* syncs.refreshActive()
      assert.strictEqual((yield* syncs.find(tenant, third.id)).status, "SUCCEEDED")
      const recovered = yield* connectionStatus(tenant, connection.id)
      assert.strictEqual(recovered.status, "ACTIVE")
      assert.deepStrictEqual(recovered.lastSyncAt, at("2024-04-02T10:01:30Z"))

      // a finished sync is not asked about again
      yield* engine.advance(third.engineJobId!, { status: "FAILED", error: "late news" })
      assert.strictEqual((yield* syncs.get(tenant, third.id)).sync.status, "SUCCEEDED")
    }))

  it.effect("get still answers with the stored sync while the engine is down", () =>
    Effect.gen(function*() {
      const syncs = yield* SyncService
      const engine = yield* MemoryEngineControl
      const tenant = newTenant()
      const { connection } = yield* sourceAndConnection(tenant)
      const { sync } = yield* syncs.trigger(tenant, connection.id)
      yield* engine.setDown(true)
      const view = yield* syncs.get(tenant, sync.id).pipe(Effect.ensuring(engine.setDown(false)))
      assert.strictEqual(view.sync.status, "RUNNING")
    }))

  it.effect("cancel: CANCELLED here and in the engine; a second cancel is a Conflict", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(millis("2024-04-03T08:00:00Z"))
      const syncs = yield* SyncService
      const engine = yield* MemoryEngineControl
      const tenant = newTenant()
      const { connection } = yield* sourceAndConnection(tenant)
      const { sync } = yield* syncs.trigger(tenant, connection.id)
      yield* TestClock.adjust("5 seconds")
      yield* syncs.cancel(tenant, sync.id)
      const cancelled = yield* syncs.find(tenant, sync.id)
      assert.strictEqual(cancelled.status, "CANCELLED")
      assert.deepStrictEqual(cancelled.completedAt, at("2024-04-03T08:00:05Z"))
      assert.strictEqual(cancelled.durationMs, 5000)
      assert.strictEqual(Option.getOrThrow(engine.job(sync.engineJobId!)).state.status, "CANCELLED")
      // a cancelled sync does not mark the connection as failed
      assert.strictEqual((yield* connectionStatus(tenant, connection.id)).status, "PENDING")

      const again = yield* failureOf(syncs.cancel(tenant, sync.id))
      assert.strictEqual(again._tag, "Conflict")
      assert.include(again.message, "CANCELLED")
    }))

  it.effect("cancel of a sync the engine already finished is a Conflict, and records the outcome", () =>
    Effect.gen(function*() {
      const syncs = yield* SyncService
      const engine = yield* MemoryEngineControl
      const tenant = newTenant()
      const { connection } = yield* sourceAndConnection(tenant)
      const { sync } = yield* syncs.trigger(tenant, connection.id)
      yield* engine.advance(sync.engineJobId!, { status: "SUCCEEDED", recordsSynced: 7 })
      const error = yield* failureOf(syncs.cancel(tenant, sync.id))
      assert.strictEqual(error._tag, "Conflict")
      assert.include(error.message, "SUCCEEDED")
      const stored = yield* syncs.find(tenant, sync.id)
      assert.strictEqual(stored.status, "SUCCEEDED")
      assert.strictEqual(stored.recordsSynced, 7)
    }))

  it.effect("another tenant's syncs and connections are NotFound", () =>
    Effect.gen(function*() {
      const syncs = yield* SyncService
      const tenant = newTenant()
      const { connection } = yield* sourceAndConnection(tenant)
      const { sync } = yield* syncs.trigger(tenant, connection.id)
      const stranger = newTenant()
      for (
        const attempt of attempts(
          syncs.get(stranger, sync.id),
          syncs.cancel(stranger, sync.id),
          syncs.trigger(stranger, connection.id),
          syncs.history(stranger, request({ connectionId: connection.id })),
          syncs.get(tenant, SyncId.make(crypto.randomUUID()))
        )
      ) {
        assert.strictEqual((yield* failureOf(attempt))._tag, "NotFound")
      }
      assert.strictEqual((yield* syncs.history(stranger, request({}))).totalElements, 0)
      assert.strictEqual((yield* syncs.find(tenant, sync.id)).status, "RUNNING")
    }))
})

const request = (overrides: Partial<SyncPageRequest>): SyncPageRequest => ({
  connectionId: undefined,
  page: 0,
  size: 20,
  sort: { field: "startedAt", direction: "desc" },
  ...overrides
})

layer(makeWorld().layer)("SyncService: history", (it) => {
  it.effect("pages and sorts a connection's syncs, with the connection's name", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(millis("2024-05-01T00:00:00Z"))
      const syncs = yield* SyncService
      const engine = yield* MemoryEngineControl
      const tenant = newTenant()
      const { connection } = yield* sourceAndConnection(tenant)
      const other = yield* sourceAndConnection(tenant)
      // five finished syncs an hour apart, alternating outcome, then one still running
      const outcomes = ["SUCCEEDED", "FAILED", "SUCCEEDED", "FAILED", "SUCCEEDED"] as const
      const ids: Array<string> = []
      for (const status of outcomes) {
        const { sync } = yield* syncs.trigger(tenant, connection.id)
        ids.push(sync.id)
        yield* TestClock.adjust("10 minutes")
        yield* engine.advance(sync.engineJobId!, { status })
        yield* syncs.refresh(sync)
        yield* TestClock.adjust("50 minutes")
      }
      const running = (yield* syncs.trigger(tenant, connection.id)).sync
      ids.push(running.id)
      yield* syncs.trigger(tenant, other.connection.id)

      const first = yield* syncs.history(tenant, request({ connectionId: connection.id, size: 4 }))
      assert.strictEqual(first.totalElements, 6)
      assert.strictEqual(first.totalPages, 2)
      assert.strictEqual(first.number, 0)
      assert.strictEqual(first.size, 4)
      assert.deepStrictEqual(first.content.map((v) => v.sync.id), [...ids].reverse().slice(0, 4))
      assert.isTrue(first.content.every((v) => v.connectionName === "orders to lake"))
      const second = yield* syncs.history(tenant, request({ connectionId: connection.id, size: 4, page: 1 }))
      assert.deepStrictEqual(second.content.map((v) => v.sync.id), [ids[1], ids[0]])
      const beyond = yield* syncs.history(tenant, request({ connectionId: connection.id, size: 4, page: 5 }))
      assert.deepStrictEqual(beyond.content, [])
      assert.strictEqual(beyond.totalElements, 6)

      const oldestFirst = yield* syncs.history(tenant, request({ connectionId: connection.id, sort: { field: "startedAt", direction: "asc" } }))
      assert.deepStrictEqual(oldestFirst.content.map((v) => v.sync.id), ids)

      // completedAt: the running sync (no completion) comes last in both directions
      const byCompletion = yield* syncs.history(tenant, request({ connectionId: connection.id, sort: { field: "completedAt", direction: "desc" } }))
      assert.deepStrictEqual(byCompletion.content.map((v) => v.sync.id), [ids[4], ids[3], ids[2], ids[1], ids[0], ids[5]])

      const byStatus = yield* syncs.history(tenant, request({ connectionId: connection.id, sort: { field: "status", direction: "asc" } }))
      assert.deepStrictEqual(byStatus.content.map((v) => v.sync.status), ["FAILED", "FAILED", "RUNNING", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"])

      const everything = yield* syncs.history(tenant, request({}))
      assert.strictEqual(everything.totalElements, 7)
      assert.strictEqual(everything.content[0]!.connectionName, "orders to lake")
    }))

  it.effect("history of an unknown connection is NotFound", () =>
    Effect.gen(function*() {
      const syncs = yield* SyncService
      const error = yield* failureOf(syncs.history(newTenant(), request({ connectionId: ConnectionId.make(crypto.randomUUID()) })))
      assert.strictEqual(error._tag, "NotFound")
    }))
})

// The scheduler sees every tenant's connections, so each scenario has a world of its own.

layer(makeWorld().layer)("SyncService.runDue: an hourly schedule", (it) => {
  it.effect("starts exactly once when the clock passes the hour, not before; a missed time starts once", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(millis("2024-03-10T10:20:00Z"))
      const syncs = yield* SyncService
      const repo = yield* ConnectionRepo
      const engine = yield* MemoryEngineControl
      const tenant = newTenant()
      const { connection } = yield* sourceAndConnection(tenant, { syncSchedule: "0 * * * *" })
      assert.deepStrictEqual(connection.nextRunAt, at("2024-03-10T11:00:00Z"))
      const nextRunAt = () => repo.find(tenant, connection.id).pipe(Effect.map((c) => Option.getOrThrow(c).nextRunAt))

      assert.strictEqual(yield* syncs.runDue(), 0)
      yield* TestClock.setTime(millis("2024-03-10T10:59:59.999Z"))
      assert.strictEqual(yield* syncs.runDue(), 0)
      assert.strictEqual(engine.jobs().length, 0)

      yield* TestClock.setTime(millis("2024-03-10T11:00:00Z"))
      assert.strictEqual(yield* syncs.runDue(), 1)
      assert.strictEqual(yield* syncs.runDue(), 0)
      assert.strictEqual(engine.jobs().length, 1)
      assert.deepStrictEqual(yield* nextRunAt(), at("2024-03-10T12:00:00Z"))
      const page = yield* syncs.history(tenant, request({ connectionId: connection.id }))
      assert.strictEqual(page.totalElements, 1)
      assert.strictEqual(page.content[0]!.sync.trigger, "schedule")
      assert.deepStrictEqual(page.content[0]!.sync.startedAt, at("2024-03-10T11:00:00Z"))
      yield* engine.advance(page.content[0]!.sync.engineJobId!, { status: "SUCCEEDED" })
      yield* syncs.refreshActive()

      // nobody ran the scheduler for five hours: the missed times start one sync, not five
      yield* TestClock.adjust("5 hours")
      assert.strictEqual(yield* syncs.runDue(), 1)
      assert.strictEqual(yield* syncs.runDue(), 0)
      assert.strictEqual(engine.jobs().length, 2)
      // and the schedule resumes from now
      assert.deepStrictEqual(yield* nextRunAt(), at("2024-03-10T17:00:00Z"))
    }))
})

layer(makeWorld().layer)("SyncService.runDue: busy and broken connections", (it) => {
  it.effect("a due connection with a sync still running is skipped, its due time consumed", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(millis("2024-03-11T09:30:00Z"))
      const syncs = yield* SyncService
      const engine = yield* MemoryEngineControl
      const repo = yield* ConnectionRepo
      const tenant = newTenant()
      const { connection } = yield* sourceAndConnection(tenant, { syncSchedule: "0 * * * *" })
      const manual = yield* syncs.trigger(tenant, connection.id)
      yield* TestClock.setTime(millis("2024-03-11T10:00:00Z"))
      assert.strictEqual(yield* syncs.runDue(), 0)
      assert.strictEqual(engine.jobs().length, 1)
      assert.deepStrictEqual(Option.getOrThrow(yield* repo.find(tenant, connection.id)).nextRunAt, at("2024-03-11T11:00:00Z"))
      yield* syncs.cancel(tenant, manual.sync.id)
    }))

  it.effect("with the engine down a due sync is recorded FAILED and the others still start", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(millis("2024-03-12T09:30:00Z"))
      const syncs = yield* SyncService
      const engine = yield* MemoryEngineControl
      const tenant = newTenant()
      const a = yield* sourceAndConnection(tenant, { syncSchedule: "0 10 * * *" })
      yield* TestClock.setTime(millis("2024-03-12T10:00:00Z"))
      yield* engine.setDown(true)
      const started = yield* syncs.runDue().pipe(Effect.ensuring(engine.setDown(false)))
      assert.strictEqual(started, 0)
      const failed = yield* syncs.history(tenant, request({ connectionId: a.connection.id }))
      assert.deepStrictEqual(failed.content.map((v) => v.sync.status), ["FAILED"])

      const b = yield* sourceAndConnection(tenant, { syncSchedule: "30 10 * * *" })
      yield* TestClock.setTime(millis("2024-03-12T10:30:00Z"))
      assert.strictEqual(yield* syncs.runDue(), 1)
      const ok = yield* syncs.history(tenant, request({ connectionId: b.connection.id }))
      assert.deepStrictEqual(ok.content.map((v) => v.sync.status), ["RUNNING"])
    }))
})
