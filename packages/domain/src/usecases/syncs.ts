import { Context, DateTime, Effect, Layer, Metric, Option } from "effect"
import type { Connection } from "../connection.ts"
import { Conflict, NotFound } from "../errors.ts"
import type { ConnectionId, SyncId, TenantId } from "../ids.ts"
import { syncsTotal } from "../metrics.ts"
import { SyncId as SyncIdSchema } from "../ids.ts"
import type { JobState } from "../ports/connector-engine.ts"
import { ConnectorEngine } from "../ports/connector-engine.ts"
import { ConnectionRepo, SyncRepo } from "../ports/repositories.ts"
import { nextRun, parseSchedule } from "../schedule.ts"
import type { Sync, SyncPageRequest } from "../sync.ts"
import { isActiveSync } from "../sync.ts"
import { ConnectionService } from "./connections.ts"
import { SourceService } from "./sources.ts"

/** A sync as shown to users: with the name of its connection. */
export interface SyncView {
  readonly sync: Sync
  readonly connectionName: string
}

export class SyncService extends Context.Service<SyncService>()("ingest/SyncService", {
  make: Effect.gen(function*() {
    const syncs = yield* SyncRepo
    const connectionsRepo = yield* ConnectionRepo
    const connections = yield* ConnectionService
    const sources = yield* SourceService
    const engine = yield* ConnectorEngine

    const find = Effect.fn("SyncService.find")(function*(tenantId: TenantId, id: SyncId) {
      const found = yield* syncs.find(tenantId, id)
      if (Option.isNone(found)) return yield* new NotFound({ entity: "Sync", id })
      return found.value
    })

    const view = (sync: Sync) =>
      connectionsRepo.find(sync.tenantId, sync.connectionId).pipe(
        Effect.map((c): SyncView => ({ sync, connectionName: Option.match(c, { onNone: () => "", onSome: (x) => x.name }) }))
      )

    /** Records the outcome on the connection: first success → ACTIVE, failure → ERROR. */
    const settleConnection = Effect.fn("SyncService.settleConnection")(function*(sync: Sync) {
      if (sync.status !== "SUCCEEDED" && sync.status !== "FAILED") return
      const found = yield* connectionsRepo.find(sync.tenantId, sync.connectionId)
      if (Option.isNone(found)) return
      const connection = found.value
      yield* connectionsRepo.update({
        ...connection,
        status: connection.status === "PAUSED" ? "PAUSED" : sync.status === "SUCCEEDED" ? "ACTIVE" : "ERROR",
        lastSyncAt: sync.completedAt ?? connection.lastSyncAt,
        updatedAt: yield* DateTime.now
      })
    })

    /** Applies what the engine reports about a job; a finished job gets its completion fields. */
    const applyJobState = Effect.fn("SyncService.applyJobState")(function*(sync: Sync, state: JobState) {
      const finished = !isActiveSync(state.status)
      const now = yield* DateTime.now
      const completedAt = finished ? (sync.completedAt ?? now) : null
      const next: Sync = {
        ...sync,
        status: state.status,
        recordsSynced: state.recordsSynced ?? sync.recordsSynced,
        bytesSynced: state.bytesSynced ?? sync.bytesSynced,
        completedAt,
        durationMs: finished
          ? (state.durationMs ?? DateTime.toEpochMillis(completedAt!) - DateTime.toEpochMillis(sync.startedAt))
          : null,
        error: state.status === "FAILED" ? (state.error ?? "The sync failed") : null
      }
      yield* syncs.update(next)
      if (finished) yield* settleConnection(next)
      if (finished && isActiveSync(sync.status)) {
        yield* Metric.update(Metric.withAttributes(syncsTotal, { outcome: state.status.toLowerCase() }), 1)
      }
      return next
    })

    /** Brings an active sync up to date with its engine job (a no-op for finished syncs). */
    const refresh = Effect.fn("SyncService.refresh")(function*(sync: Sync) {
      if (!isActiveSync(sync.status) || sync.engineJobId === null) return sync
      const state = yield* engine.jobState(sync)
      const unchanged = state.status === sync.status && state.recordsSynced === sync.recordsSynced &&
        state.bytesSynced === sync.bytesSynced
      return unchanged ? sync : yield* applyJobState(sync, state)
    })

    const start = Effect.fn("SyncService.start")(
      function*(connection: Connection, trigger: Sync["trigger"]) {
        const source = yield* sources.get(connection.tenantId, connection.sourceId)
        const draft: Sync = {
          id: SyncIdSchema.make(crypto.randomUUID()),
          tenantId: connection.tenantId,
          connectionId: connection.id,
          status: "RUNNING",
          recordsSynced: null,
          bytesSynced: null,
          startedAt: yield* DateTime.now,
          completedAt: null,
          durationMs: null,
          error: null,
          engineJobId: null,
          trigger
        }
        // The unique active-sync rule lives in the repository, so concurrent triggers cannot both win.
        yield* syncs.insert(draft)
        const jobId = yield* engine.startJob(draft, connection, source).pipe(
          Effect.tapError((e) =>
            applyJobState(draft, { status: "FAILED", recordsSynced: null, bytesSynced: null, durationMs: null, error: e.message })
          )
        )
        // Only the job id: the job may have reported progress (or finished) already.
        yield* syncs.attachEngineJob(draft.tenantId, draft.id, jobId)
        const sync = { ...draft, engineJobId: jobId }
        return { sync, connectionName: connection.name } satisfies SyncView
      }
    )

    const trigger = Effect.fn("SyncService.trigger")(function*(tenantId: TenantId, connectionId: ConnectionId) {
      const connection = yield* connections.find(tenantId, connectionId)
      const active = yield* syncs.findActive(tenantId, connectionId)
      if (Option.isSome(active)) {
        return yield* new Conflict({ reason: `Connection ${connectionId} already has a sync ${active.value.status} (${active.value.id})` })
      }
      return yield* start(connection, "manual")
    })

    const cancel = Effect.fn("SyncService.cancel")(function*(tenantId: TenantId, id: SyncId) {
      const sync = yield* refresh(yield* find(tenantId, id))
      if (!isActiveSync(sync.status)) {
        return yield* new Conflict({ reason: `Sync ${id} is ${sync.status}; only a PENDING or RUNNING sync can be cancelled` })
      }
      yield* engine.cancelJob(sync)
      yield* applyJobState(sync, { status: "CANCELLED", recordsSynced: null, bytesSynced: null, durationMs: null, error: null })
    })

    const get = Effect.fn("SyncService.get")(function*(tenantId: TenantId, id: SyncId) {
      const sync = yield* find(tenantId, id)
      const fresh = yield* refresh(sync).pipe(Effect.catch(() => Effect.succeed(sync)))
      return yield* view(fresh)
    })

    const history = Effect.fn("SyncService.history")(function*(tenantId: TenantId, request: SyncPageRequest) {
      if (request.connectionId !== undefined) yield* connections.find(tenantId, request.connectionId)
      const page = yield* syncs.page(tenantId, request)
      const names = new Map((yield* connectionsRepo.list(tenantId)).map((c) => [c.id as string, c.name]))
      return {
        ...page,
        content: page.content.map((sync): SyncView => ({ sync, connectionName: names.get(sync.connectionId) ?? "" }))
      }
    })

    /** Follows every active sync of every tenant once (the background refresher calls this). */
    const refreshActive = Effect.fn("SyncService.refreshActive")(function*() {
      const active = yield* syncs.listActive(500)
      yield* Effect.forEach(active, (sync) => refresh(sync).pipe(Effect.ignore), { concurrency: 4, discard: true })
    })

    /**
     * Starts every scheduled connection that is due. Each due time is claimed with a
     * compare-and-set on the connection's next run, so across any number of processes exactly
     * one starts it. A time missed while no process ran starts once, then the schedule resumes
     * from now.
     */
    const runDue = Effect.fn("SyncService.runDue")(function*() {
      const now = yield* DateTime.now
      const due = yield* connectionsRepo.listDue(now, 100)
      let started = 0
      for (const connection of due) {
        if (connection.nextRunAt === null || connection.syncSchedule === null) continue
        const cron = parseSchedule(connection.syncSchedule)
        const next = cron._tag === "Success" ? nextRun(cron.success, now) : null
        const won = yield* connectionsRepo.advanceSchedule(connection.tenantId, connection.id, connection.nextRunAt, next)
        if (!won) continue
        const active = yield* syncs.findActive(connection.tenantId, connection.id)
        if (Option.isSome(active)) continue
        // One connection that cannot start (engine down, unreadable source) must not hold up the others.
        const ok = yield* start(connection, "schedule").pipe(
          Effect.as(true),
          Effect.catchCause((cause) =>
            Effect.logWarning(`Scheduled sync of connection ${connection.id} did not start`, cause).pipe(Effect.as(false))
          )
        )
        if (ok) started++
      }
      return started
    })

    /** Progress and completion reported by a runner that executes the job in this service (local engine). */
    const reportProgress = Effect.fn("SyncService.reportProgress")(
      function*(tenantId: TenantId, id: SyncId, records: number, bytes: number) {
        const sync = yield* find(tenantId, id)
        if (!isActiveSync(sync.status)) return sync
        const next = { ...sync, recordsSynced: records, bytesSynced: bytes }
        yield* syncs.update(next)
        return next
      }
    )

    const complete = Effect.fn("SyncService.complete")(function*(tenantId: TenantId, id: SyncId, state: JobState) {
      const sync = yield* find(tenantId, id)
      if (!isActiveSync(sync.status)) return sync
      return yield* applyJobState(sync, state)
    })

    return { find, get, trigger, cancel, history, refresh, refreshActive, runDue, reportProgress, complete }
  })
}) {
  static readonly layer = Layer.effect(this, this.make)
}
