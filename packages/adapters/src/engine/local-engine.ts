import type { CheckResult, Connection, DiscoveredStream, EngineError, JobState, Source, Sync } from "@ingest/domain"
import { Conflict, ConnectorEngine, EngineUnsupported, FormatReader, isActiveSync } from "@ingest/domain"
import { Effect, Layer, Option } from "effect"
import { checkPostgres, discoverPostgres } from "./postgres/connector.ts"
import { checkS3, discoverS3 } from "./s3/connector.ts"

export type FormatReaderService = typeof FormatReader.Service

export interface LocalEngineDeps {
  /** Reads files of S3 sources; without it S3 sources are unsupported. */
  readonly formatReader?: FormatReaderService | undefined
  /**
   * Hands a started sync to the durable job queue and returns its job id. Without it the job id
   * is the sync id and the caller runs the sync (`runLocalSync`) itself.
   */
  readonly enqueue?: ((sync: Sync, connection: Connection, source: Source) => Effect.Effect<string, EngineError>) | undefined
  /** Stops a running sync (the queue interrupts the fiber that runs it). */
  readonly cancel?: ((sync: Sync) => Effect.Effect<void, EngineError>) | undefined
}

/** The connectors the local engine runs itself; everything else needs Airbyte. */
export const localConnectorTypes = ["postgres", "s3"] as const

export const unsupportedConnector = (connectorType: string) =>
  new EngineUnsupported({
    reason: `Connector type "${connectorType}" needs the Airbyte engine (set INGEST_ENGINE=airbyte)`
  })

interface LocalConnector {
  check(source: Source): Effect.Effect<CheckResult>
  discover(source: Source): Effect.Effect<ReadonlyArray<DiscoveredStream>, EngineError>
}

export const makeLocalEngine = (deps: LocalEngineDeps = {}): typeof ConnectorEngine.Service => {
  const connectorFor = (source: Source): Effect.Effect<LocalConnector, EngineUnsupported> => {
    switch (source.connectorType) {
      case "postgres":
        return Effect.succeed({ check: checkPostgres, discover: discoverPostgres })
      case "s3": {
        const reader = deps.formatReader
        if (reader === undefined) {
          return Effect.fail(new EngineUnsupported({ reason: "S3 sources need a file format reader, none is configured" }))
        }
        return Effect.succeed({
          check: checkS3,
          discover: (s: Source) => discoverS3(s, reader)
        })
      }
      default:
        return Effect.fail(unsupportedConnector(source.connectorType))
    }
  }

  const requireSupported = (source: Source) => Effect.asVoid(connectorFor(source))

  return ConnectorEngine.of({
    name: "local",
    // The local engine keeps no copy of sources or connections: the service database is the truth.
    // Any connector type may be registered (e.g. ahead of a move to Airbyte); test reports
    // ERROR and discover refuses for the types this engine does not run.
    saveSource: () => Effect.succeed(null),
    deleteSource: () => Effect.void,
    check: (source) =>
      connectorFor(source).pipe(
        Effect.flatMap((connector) => connector.check(source)),
        Effect.catchTag("EngineUnsupported", (error) => Effect.succeed({ ok: false, message: error.reason }))
      ),
    discover: (source) => connectorFor(source).pipe(Effect.flatMap((connector) => connector.discover(source))),
    saveConnection: (_connection, source) => requireSupported(source).pipe(Effect.as(null)),
    deleteConnection: () => Effect.void,
    startJob: (sync, connection, source) =>
      requireSupported(source).pipe(
        Effect.andThen(deps.enqueue === undefined ? Effect.succeed<string>(sync.id) : deps.enqueue(sync, connection, source))
      ),
    // The sync record, kept up to date by whoever runs the job, is the job's state.
    jobState: (sync) => Effect.succeed(jobStateOf(sync)),
    // As for jobState, the sync record says whether the job still runs.
    cancelJob: (sync) =>
      !isActiveSync(sync.status)
        ? Effect.fail(new Conflict({ reason: `Sync ${sync.id} is ${sync.status}; its job is no longer running` }))
        : deps.cancel === undefined
        ? Effect.void
        : deps.cancel(sync)
  })
}

export const jobStateOf = (sync: Sync): JobState => ({
  status: sync.status,
  recordsSynced: sync.recordsSynced,
  bytesSynced: sync.bytesSynced,
  durationMs: sync.durationMs,
  error: sync.error
})

/** The local engine; uses the FormatReader for S3 sources when one is in the context. */
export const LocalEngineLive: Layer.Layer<ConnectorEngine> = Layer.effect(
  ConnectorEngine,
  Effect.gen(function*() {
    const reader = yield* Effect.serviceOption(FormatReader)
    return makeLocalEngine({ formatReader: Option.getOrUndefined(reader) })
  })
)
