import { Effect, Layer } from "effect"
import {
  ConnectionRepo,
  FileImportService,
  FormatReader,
  JobHandlers,
  SourceService,
  SyncRepo,
  SyncService,
  TableWriter
} from "@ingest/domain"
import { ensureSyncStateTable, makeSqlSyncStateStore } from "../engine/index.ts"
import { runLocalSyncJob } from "./sync-job.ts"

/** Runs what the worker claims: imports through the file-import use case, local syncs through `runLocalSyncJob`. */
export const JobHandlersLive = Layer.effect(
  JobHandlers,
  Effect.gen(function*() {
    const files = yield* FileImportService
    yield* ensureSyncStateTable.pipe(Effect.orDie)
    const state = yield* makeSqlSyncStateStore
    // What a local sync job needs, captured once so each job runs with the same services.
    const context = yield* Effect.context<
      SyncRepo | SyncService | SourceService | ConnectionRepo | TableWriter | FormatReader
    >()
    return JobHandlers.of({
      run: (job) =>
        (job.kind === "import" ? files.runImport(job) : runLocalSyncJob(job, state)).pipe(
          Effect.provide(context),
          Effect.catchCause((cause) => Effect.logError(`Job ${job.id} (${job.kind} ${job.refId}) failed`, cause))
        )
    })
  })
)
