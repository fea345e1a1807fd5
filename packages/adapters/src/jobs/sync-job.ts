import { Cause, Duration, Effect, Exit, Fiber, Option, Schedule } from "effect"
import type { Job } from "@ingest/domain"
import {
  FormatReader,
  isActiveSync,
  sanitizeIdentifier,
  SourceService,
  SyncId,
  SyncRepo,
  SyncService,
  TableWriter,
  tenantNamespace,
  ConnectionRepo
} from "@ingest/domain"
import type { SyncStateStore } from "../engine/index.ts"
import { runLocalSync } from "../engine/index.ts"

/** A sync whose job was re-claimed this many times (the process died each time) is failed. */
const maxSyncAttempts = 3

/**
 * Runs a local-engine sync job: reads the selected streams, writes them, and records progress and
 * the outcome on the sync. A cancel (the sync turning CANCELLED in the database, from any
 * process) interrupts the run; whatever was not committed by then stays invisible.
 */
export const runLocalSyncJob = (job: Job, state: SyncStateStore) =>
  Effect.gen(function*() {
    const syncRepo = yield* SyncRepo
    const syncs = yield* SyncService
    const sources = yield* SourceService
    const connections = yield* ConnectionRepo
    const writer = yield* TableWriter
    const formatReader = yield* FormatReader
    const syncId = SyncId.make(job.refId)
    const found = yield* syncRepo.find(job.tenantId, syncId)
    if (Option.isNone(found) || !isActiveSync(found.value.status)) return
    const sync = found.value
    const fail = (error: string) =>
      syncs.complete(job.tenantId, syncId, { status: "FAILED", recordsSynced: null, bytesSynced: null, durationMs: null, error })
    if (job.attempt > maxSyncAttempts) {
      return yield* fail(`The sync was interrupted ${job.attempt - 1} times (the service stopped while syncing)`).pipe(Effect.asVoid)
    }
    const connection = yield* connections.find(job.tenantId, sync.connectionId)
    if (Option.isNone(connection)) return yield* fail("The connection was deleted").pipe(Effect.asVoid)
    const source = yield* sources.get(job.tenantId, connection.value.sourceId).pipe(Effect.option)
    if (Option.isNone(source)) return yield* fail("The source was deleted").pipe(Effect.asVoid)
    const streams = yield* sources.streamsOf(source.value).pipe(Effect.result)
    if (streams._tag === "Failure") return yield* fail(`Discovering the source failed: ${streams.failure.message}`).pipe(Effect.asVoid)

    const run = yield* runLocalSync({
      sync,
      connection: connection.value,
      source: source.value,
      streams: streams.success,
      state,
      writer,
      formatReader,
      namespace: [tenantNamespace(job.tenantId), sanitizeIdentifier(connection.value.name, "connection")],
      onProgress: (records, bytes) => syncs.reportProgress(job.tenantId, syncId, records, bytes).pipe(Effect.ignore)
    }).pipe(Effect.result, Effect.forkChild)

    // Watch for a cancel made by any process; interrupting the run commits nothing more.
    const watcher = yield* syncRepo.find(job.tenantId, syncId).pipe(
      Effect.flatMap((current) =>
        Option.isSome(current) && !isActiveSync(current.value.status) ? Fiber.interrupt(run).pipe(Effect.as(true)) : Effect.succeed(false)
      ),
      Effect.repeat({ until: (stopped) => stopped, schedule: Schedule.spaced(Duration.millis(500)) }),
      Effect.forkChild
    )
    const exit = yield* Fiber.await(run)
    yield* Fiber.interrupt(watcher)
    if (Exit.isFailure(exit)) {
      // Interrupted by a cancel (already recorded as CANCELLED), or a defect in the run.
      if (!Cause.hasInterruptsOnly(exit.cause)) yield* fail(`The sync failed unexpectedly: ${Cause.pretty(exit.cause).split("\n")[0]}`)
      return
    }
    const result = exit.value
    if (result._tag === "Failure") {
      yield* fail(result.failure.message)
      return
    }
    yield* syncs.complete(job.tenantId, syncId, {
      status: "SUCCEEDED",
      recordsSynced: result.success.recordsSynced,
      bytesSynced: result.success.bytesSynced,
      durationMs: null,
      error: null
    })
  })
