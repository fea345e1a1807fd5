import { layerMemoryEngine, type MemoryEngineOptions } from "@ingest/adapters/memory/connector-engine"
import { MemoryRepositories } from "@ingest/adapters/memory/index"
import { layerMemoryFileStorage } from "@ingest/adapters/memory/object-store"
import { makeMemoryTableWriter, type MemoryTableWriter } from "@ingest/adapters/memory/table-writer"
import { formatReaderLayer } from "@ingest/adapters/formats/index"
import {
  ConnectionService,
  FileImportService,
  FormatReader,
  SourceService,
  SyncService,
  TableWriter,
  TenantId,
  UnreadableFile
} from "@ingest/domain"
import { DateTime, Effect, Exit, Layer, Stream } from "effect"

// The use cases over the memory adapters: repositories, connector engine, object storage, table
// writer, and the real format reader parsing in process (small files only).

export interface WorldOptions {
  readonly engine?: MemoryEngineOptions | undefined
}

export interface World {
  readonly layer: ReturnType<typeof worldLayer>
  readonly writer: MemoryTableWriter
  /** Makes every later read of file rows fail with this reason (null: read normally again). */
  readonly failReads: (reason: string | null) => void
}

const worldLayer = (writer: MemoryTableWriter, failure: { reason: string | null }, options: WorldOptions) => {
  const reader = Layer.effect(
    FormatReader,
    Effect.gen(function*() {
      const real = yield* FormatReader
      return FormatReader.of({
        ...real,
        read: (file, format, profile, target) =>
          Stream.suspend(() =>
            failure.reason === null
              ? real.read(file, format, profile, target)
              : Stream.fail(new UnreadableFile({ kind: "corrupt", reason: failure.reason }))
          )
      })
    })
  ).pipe(Layer.provide(formatReaderLayer({ inProcess: true })))
  const ports = Layer.mergeAll(
    MemoryRepositories,
    layerMemoryEngine(options.engine ?? {}),
    layerMemoryFileStorage({ name: "files" }),
    Layer.succeed(TableWriter, writer.writer),
    reader
  )
  const sources = SourceService.layer.pipe(Layer.provideMerge(ports))
  const connections = ConnectionService.layer.pipe(Layer.provideMerge(sources))
  return Layer.mergeAll(SyncService.layer, FileImportService.layer).pipe(Layer.provideMerge(connections))
}

/** A fresh world: use one per `layer(...)` block. */
export const makeWorld = (options: WorldOptions = {}): World => {
  const writer = makeMemoryTableWriter()
  const failure = { reason: null as string | null }
  return {
    layer: worldLayer(writer, failure, options),
    writer,
    failReads: (reason) => {
      failure.reason = reason
    }
  }
}

/** A tenant of its own per test, so tests sharing a world never see each other's data. */
export const newTenant = () => TenantId.make(crypto.randomUUID())

export const at = (iso: string) => DateTime.makeUnsafe(iso)
export const millis = (iso: string) => DateTime.toEpochMillis(at(iso))

/** The typed failure of an effect that must fail; a success or a defect fails the test. */
export const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<E, never, R> =>
  Effect.exit(effect).pipe(
    Effect.flatMap((exit) => {
      if (Exit.isSuccess(exit)) return Effect.die(new Error(`expected a failure, got ${String(exit.value)}`))
      const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
      return reason?._tag === "Fail" ? Effect.succeed(reason.error) : Effect.die(new Error(`expected a typed failure: ${String(exit.cause)}`))
    })
  )

export const postgresConfig = { host: "db.example", port: 5432, database: "shop", username: "reader", password: "secret" }

/** Creates a postgres source and a manual connection over `public.orders`. */
export const sourceAndConnection = (tenantId: TenantId, input: { readonly syncSchedule?: string | null } = {}) =>
  Effect.gen(function*() {
    const sources = yield* SourceService
    const connections = yield* ConnectionService
    const source = yield* sources.create(tenantId, { name: "shop", connectorType: "postgres", connectionConfig: postgresConfig })
    const view = yield* connections.create(tenantId, {
      sourceId: source.id,
      name: "orders to lake",
      selectedStreams: ["public.orders"],
      syncSchedule: input.syncSchedule ?? null
    })
    return { source, connection: view.connection }
  })

/** Uploads text as a file, as the HTTP upload does (a stream of chunks). */
export const uploadText = (tenantId: TenantId, fileName: string, text: string, maxBytes = 1024 * 1024) =>
  Effect.gen(function*() {
    const files = yield* FileImportService
    const bytes = new TextEncoder().encode(text)
    const chunks = [bytes.slice(0, Math.floor(bytes.length / 2)), bytes.slice(Math.floor(bytes.length / 2))]
    return yield* files.upload(tenantId, fileName, Stream.fromIterable(chunks), { maxBytes })
  })

/** Effects that must each fail (for loops over operations of mixed result types). */
export const attempts = (...effects: ReadonlyArray<Effect.Effect<unknown, { readonly _tag: string }>>) => effects
