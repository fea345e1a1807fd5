import { Conflict, ConnectorEngine, EngineUnavailable, EngineUnsupported, isActiveSync } from "@ingest/domain"
import type {
  CheckResult,
  Connection,
  ConnectorType,
  DiscoveredStream,
  JobState,
  Source,
  Sync
} from "@ingest/domain"
import { Context, Effect, Layer, Option } from "effect"

// A ConnectorEngine for tests: it keeps the engine's twins of sources and connections in maps,
// answers `check` from a rule and `discover` from configured streams, and lets the test drive
// each job's state. It can be switched "down", then every call fails with EngineUnavailable,
// as a real engine that cannot be reached.

export type ConnectorEngineService = typeof ConnectorEngine.Service

export interface MemoryEngineOptions {
  readonly name?: string | undefined
  /**
   * What `discover` returns per connector type. A type without an entry is one this engine
   * does not run (EngineUnsupported). Default: `defaultMemoryStreams` for postgres.
   */
  readonly streams?: Partial<Record<ConnectorType, ReadonlyArray<DiscoveredStream>>> | undefined
  /** Decides `check`; default: `defaultCheck`. */
  readonly check?: ((source: Source) => CheckResult) | undefined
  /** Whether the engine keeps twins with ids of its own (as Airbyte does; default) or answers null (as the local engine). */
  readonly keepsCopies?: boolean | undefined
  /** Start with the engine unreachable. */
  readonly down?: boolean | undefined
}

export interface MemoryJob {
  readonly id: string
  readonly syncId: string
  readonly connectionId: string
  readonly state: JobState
}

export interface MemoryEngine {
  readonly engine: ConnectorEngineService
  /** Makes every call fail with EngineUnavailable (true) or work again (false). */
  readonly setDown: (down: boolean) => Effect.Effect<void>
  /** Changes a job's reported state (fields not given keep their value). Dies for an unknown job. */
  readonly advance: (jobId: string, state: Partial<JobState>) => Effect.Effect<void>
  readonly job: (jobId: string) => Option.Option<MemoryJob>
  /** Every job started, oldest first. */
  readonly jobs: () => ReadonlyArray<MemoryJob>
  /** The engine's twins, by engine id. */
  readonly sources: ReadonlyMap<string, Source>
  readonly connections: ReadonlyMap<string, { readonly connection: Connection; readonly streams: ReadonlyArray<DiscoveredStream> }>
}

/** Two postgres tables: one that can sync incrementally, one full refresh only. */
export const defaultMemoryStreams: ReadonlyArray<DiscoveredStream> = [
  {
    name: "public.orders",
    columns: [
      { name: "id", type: "INTEGER", nullable: false, sampleValues: [] },
      { name: "amount", type: "DECIMAL", nullable: true, precision: 12, scale: 2, sampleValues: [] },
      { name: "updated_at", type: "TIMESTAMP_TZ", nullable: true, sampleValues: [] }
    ],
    supportedSyncModes: ["FULL_REFRESH", "INCREMENTAL"],
    primaryKey: ["id"],
    defaultCursorField: "updated_at"
  },
  {
    name: "public.customers",
    columns: [
      { name: "id", type: "INTEGER", nullable: false, sampleValues: [] },
      { name: "name", type: "STRING", nullable: true, sampleValues: [] }
    ],
    supportedSyncModes: ["FULL_REFRESH"],
    primaryKey: ["id"]
  }
]

/** Fails a source whose `connectionConfig.password` is "wrong"; every other one connects. */
export const defaultCheck = (source: Source): CheckResult =>
  source.connectionConfig["password"] === "wrong"
    ? { ok: false, message: "Authentication failed: wrong password" }
    : { ok: true, message: `Connected to ${source.connectorType} source ${source.name}` }

const down = () => new EngineUnavailable({ reason: "The connector engine is not reachable (memory engine is down)" })

export const makeMemoryEngine = (options: MemoryEngineOptions = {}): MemoryEngine => {
  const streamsByType = options.streams ?? { postgres: defaultMemoryStreams }
  const check = options.check ?? defaultCheck
  const keepsCopies = options.keepsCopies ?? true
  let isDown = options.down ?? false
  let counter = 0
  const sources = new Map<string, Source>()
  const connections = new Map<string, { connection: Connection; streams: ReadonlyArray<DiscoveredStream> }>()
  const jobs = new Map<string, MemoryJob>()
  const nextId = (kind: string) => `${kind}-${++counter}`

  /** Runs `f` unless the engine is down. */
  const call = <A, E>(f: () => Effect.Effect<A, E>): Effect.Effect<A, E | EngineUnavailable> =>
    Effect.suspend((): Effect.Effect<A, E | EngineUnavailable> => (isDown ? Effect.fail(down()) : f()))

  const streamsOf = (source: Source): Effect.Effect<ReadonlyArray<DiscoveredStream>, EngineUnsupported> => {
    const streams = streamsByType[source.connectorType]
    return streams === undefined
      ? Effect.fail(new EngineUnsupported({ reason: `Connector type "${source.connectorType}" is not run by the memory engine` }))
      : Effect.succeed(streams)
  }

  const jobOf = (sync: Sync): Effect.Effect<MemoryJob, EngineUnavailable> => {
    const job = sync.engineJobId === null ? undefined : jobs.get(sync.engineJobId)
    return job === undefined
      ? Effect.fail(new EngineUnavailable({ reason: `The engine knows no job ${sync.engineJobId ?? "(none)"} for sync ${sync.id}` }))
      : Effect.succeed(job)
  }

  const setState = (job: MemoryJob, state: Partial<JobState>) => {
    jobs.set(job.id, { ...job, state: { ...job.state, ...state } })
  }

  const engine = ConnectorEngine.of({
    name: options.name ?? "memory",
    saveSource: (source) =>
      call(() =>
        Effect.sync(() => {
          if (!keepsCopies) return null
          const id = source.engineRef ?? nextId("source")
          sources.set(id, { ...source, engineRef: id })
          return id
        })
      ),
    deleteSource: (source) =>
      call(() =>
        Effect.sync(() => {
          if (source.engineRef !== null) sources.delete(source.engineRef)
        })
      ),
    check: (source) =>
      call(() =>
        streamsOf(source).pipe(
          Effect.map(() => check(source)),
          Effect.catchTag("EngineUnsupported", (error) => Effect.succeed({ ok: false, message: error.reason }))
        )
      ),
    discover: (source) => call(() => streamsOf(source)),
    saveConnection: (connection, source, streams) =>
      call(() =>
        streamsOf(source).pipe(
          Effect.map(() => {
            if (!keepsCopies) return null
            const id = connection.engineRef ?? nextId("connection")
            connections.set(id, { connection: { ...connection, engineRef: id }, streams })
            return id
          })
        )
      ),
    deleteConnection: (connection) =>
      call(() =>
        Effect.sync(() => {
          if (connection.engineRef !== null) connections.delete(connection.engineRef)
        })
      ),
    startJob: (sync, connection, source) =>
      call(() =>
        streamsOf(source).pipe(
          Effect.map(() => {
            const id = nextId("job")
            jobs.set(id, {
              id,
              syncId: sync.id,
              connectionId: connection.id,
              state: { status: "RUNNING", recordsSynced: null, bytesSynced: null, durationMs: null, error: null }
            })
            return id
          })
        )
      ),
    jobState: (sync) => call(() => jobOf(sync).pipe(Effect.map((job) => job.state))),
    cancelJob: (sync) =>
      call(() =>
        jobOf(sync).pipe(
          Effect.flatMap((job) => {
            if (!isActiveSync(job.state.status)) {
              return Effect.fail(new Conflict({ reason: `Job ${job.id} is ${job.state.status}; it can no longer be cancelled` }))
            }
            setState(job, { status: "CANCELLED" })
            return Effect.void
          })
        )
      )
  })

  return {
    engine,
    setDown: (value) =>
      Effect.sync(() => {
        isDown = value
      }),
    advance: (jobId, state) =>
      Effect.suspend(() => {
        const job = jobs.get(jobId)
        if (job === undefined) return Effect.die(new Error(`memory engine: no job ${jobId}`))
        setState(job, state)
        return Effect.void
      }),
    job: (jobId) => Option.fromNullishOr(jobs.get(jobId)),
    jobs: () => [...jobs.values()],
    sources,
    connections
  }
}

/** Gives tests the memory engine behind `ConnectorEngine`, to drive jobs and switch it down. */
export class MemoryEngineControl extends Context.Service<MemoryEngineControl, MemoryEngine>()("ingest/MemoryEngineControl") {}

/** `ConnectorEngine` in memory, plus its `MemoryEngineControl`; each build starts empty. */
export const layerMemoryEngine = (options: MemoryEngineOptions = {}): Layer.Layer<ConnectorEngine | MemoryEngineControl> =>
  Layer.effectContext(
    Effect.sync(() => {
      const memory = makeMemoryEngine(options)
      return Context.add(ConnectorEngine.context(memory.engine), MemoryEngineControl, memory)
    })
  )

/** The memory engine with its defaults (postgres streams, `defaultCheck`, engine ids). */
export const ConnectorEngineMemory = layerMemoryEngine()
