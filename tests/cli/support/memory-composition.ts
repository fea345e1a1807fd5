import { Context, Effect, Layer, ManagedRuntime } from "effect"
import {
  ConnectionService,
  ConnectorEngine,
  FileImportService,
  FileStorage,
  JobHandlers,
  SourceService,
  SyncService,
  TableWriter
} from "@ingest/domain"
import { makeLocalEngine } from "@ingest/adapters/engine/index"
import { formatReaderLayer } from "@ingest/adapters/formats/index"
import { MemoryRepositories } from "@ingest/adapters/memory/index"
import { runWorker } from "@ingest/adapters/jobs/worker"
import { makeFsObjectStore } from "@ingest/adapters/storage/index"
import type { AppServices, Composition } from "@ingest/cli"
import { BackgroundWork } from "@ingest/cli"
import { makeMemoryWriter } from "../../engine/support/memory-writer.ts"

/**
 * The use cases over memory repositories and queue, files on a temp directory, the real format
 * readers and an in-memory table writer. Built once and shared by every command run of a test
 * file, so state survives from one `ingest` invocation to the next as it would in a database.
 */
export const startMemoryApp = async (storageDir: string) => {
  const memoryWriter = makeMemoryWriter()
  const ports = Layer.mergeAll(
    MemoryRepositories,
    Layer.succeed(FileStorage, makeFsObjectStore(storageDir)),
    Layer.succeed(TableWriter, memoryWriter.writer),
    Layer.succeed(ConnectorEngine, makeLocalEngine()),
    formatReaderLayer({ maxWorkers: 1 })
  )
  const useCases = Layer.mergeAll(SyncService.layer, FileImportService.layer).pipe(
    Layer.provideMerge(ConnectionService.layer),
    Layer.provideMerge(SourceService.layer),
    Layer.provideMerge(ports)
  )
  const jobHandlers = Layer.effect(
    JobHandlers,
    Effect.gen(function*() {
      const files = yield* FileImportService
      return JobHandlers.of({
        run: (job) => (job.kind === "import" ? files.runImport(job) : Effect.logWarning(`no handler for ${job.kind} jobs`))
      })
    })
  )
  const background = Layer.effect(
    BackgroundWork,
    Effect.gen(function*() {
      const context = yield* Effect.context<Layer.Success<typeof useCases> | JobHandlers>()
      return BackgroundWork.of({ run: runWorker({ pollInterval: "20 millis" }).pipe(Effect.provideContext(context)) })
    })
  ).pipe(Layer.provideMerge(jobHandlers))
  const runtime = ManagedRuntime.make(background.pipe(Layer.provideMerge(useCases)))
  const context: Context.Context<AppServices> = await runtime.context()
  const composition: Composition = {
    app: () => Layer.succeedContext(context),
    server: () => Layer.effectDiscard(Effect.die(new Error("serve is not part of the memory composition")))
  }
  return { composition, tables: memoryWriter, dispose: () => runtime.dispose() }
}
