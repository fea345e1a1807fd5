import type { ConfigError } from "effect/Config"
import { Duration, Effect, Layer, Schedule } from "effect"
import type { SqlClient } from "effect/sql"
import { FetchHttpClient } from "effect/http"
import {
  ConnectionService,
  ConnectorEngine,
  FileImportService,
  FileStorage,
  FormatReader,
  InfrastructureError,
  JobQueue,
  SourceService,
  SyncService
} from "@ingest/domain"
import * as path from "node:path"
import { AirbyteEngineLive, AirbyteTenantStateSql } from "../airbyte/index.ts"
import type { AppConfig } from "../config.ts"
import { storageUrlOf, warehouseUrlOf } from "../config.ts"
import { makeLocalEngine } from "../engine/index.ts"
import { formatReaderLayer } from "../formats/index.ts"
import {
  icebergTableWriterLayer,
  makeRestCatalog,
  readRestCatalogSettings,
  ServedCatalog,
  sqlCatalogLayer,
  sqlServedCatalogLayer,
  TableCatalog
} from "../iceberg/index.ts"
import { defaultWorkerOwner, JobHandlersLive, runWorker } from "../jobs/index.ts"
import { makeSqlLive } from "../sql/client.ts"
import { JobQueueSql } from "../sql/job-queue.ts"
import { SqlRepositories } from "../sql/repositories.ts"
import { secretCipherLayer } from "../sql/secrets.ts"
import { makeObjectStore } from "../storage/index.ts"

// The one place where configuration becomes layers. Both drivers (HTTP server, CLI) build their
// application from here, so they run the same adapters with the same settings.

const tempDirOf = (config: AppConfig) => path.join(config.dataDir, "tmp")


const sqlLayer = (config: AppConfig) =>
  makeSqlLive({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, maxConnections: config.databaseMaxConnections })

const warehouseOf = (config: AppConfig) => makeObjectStore(warehouseUrlOf(config), { tempDir: tempDirOf(config) })

/** The catalog imports and syncs commit to: the SQL catalog in the service database, or a REST catalog. */
const catalogLayer = (config: AppConfig): Layer.Layer<TableCatalog, InfrastructureError, SqlClient.SqlClient> => {
  if (config.catalog === "sql") return sqlCatalogLayer({ catalogName: config.catalogName, warehouse: warehouseOf(config) })
  return Layer.effect(
    TableCatalog,
    Effect.gen(function*() {
      if (!config.catalog.startsWith("rest:")) {
        return yield* new InfrastructureError({ reason: `INGEST_CATALOG=${config.catalog}: use "sql" or "rest:<uri>"` })
      }
      const settings = yield* readRestCatalogSettings(config.catalog)
      if (typeof settings === "string") return yield* new InfrastructureError({ reason: settings })
      return makeRestCatalog(settings, { tempDir: tempDirOf(config) }).catalog
    })
  )
}

/** What an engine reading the served catalog needs to reach the warehouse's files (never secrets). */
const readerConfigOf = (config: AppConfig): Record<string, string> => {
  if (!warehouseUrlOf(config).startsWith("s3://")) return {}
  const env = (name: string) => process.env[name]?.trim() || undefined
  const endpoint = env("AWS_ENDPOINT_URL_S3") ?? env("AWS_ENDPOINT_URL")
  return {
    "s3.region": env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? "us-east-1",
    ...(endpoint === undefined ? {} : { "s3.endpoint": endpoint, "s3.path-style-access": "true" })
  }
}

/** The catalog the REST endpoint serves: the SQL catalog; none with an external REST catalog. */
const servedCatalogLayer = (config: AppConfig) =>
  config.catalog === "sql"
    ? sqlServedCatalogLayer({ catalogName: config.catalogName, warehouse: warehouseOf(config), readerConfig: readerConfigOf(config) })
    : ServedCatalog.unavailable(`INGEST_CATALOG=${config.catalog}: engines read that catalog, not this service`)

const engineLayer = (
  config: AppConfig
): Layer.Layer<ConnectorEngine, ConfigError | InfrastructureError, SqlClient.SqlClient | FormatReader | JobQueue> =>
  config.engine === "airbyte"
    ? AirbyteEngineLive.pipe(Layer.provide([FetchHttpClient.layer, AirbyteTenantStateSql]))
    : Layer.effect(
      ConnectorEngine,
      Effect.gen(function*() {
        const queue = yield* JobQueue
        const formatReader = yield* FormatReader
        return makeLocalEngine({
          formatReader,
          // A local sync runs on the durable queue; its job id is the queue's.
          enqueue: (sync) => queue.enqueue("sync", sync.tenantId, sync.id),
          // The running job watches the sync's status and stops when it is CANCELLED.
          cancel: () => Effect.void
        })
      })
    )

/**
 * Everything the use cases need, from configuration: database (external or embedded, migrated),
 * repositories, queue, file storage, format readers, Iceberg writer + catalog, connector engine,
 * and the use-case services themselves.
 */
export const makeAppLayer = (config: AppConfig) => {
  const infrastructure = Layer.mergeAll(
    SqlRepositories.pipe(Layer.provide(secretCipherLayer({ dataDir: config.dataDir }))),
    JobQueueSql,
    icebergTableWriterLayer({ warehouse: warehouseOf(config) }).pipe(
      Layer.provideMerge(catalogLayer(config))
    ),
    servedCatalogLayer(config),
    Layer.succeed(FileStorage, makeObjectStore(storageUrlOf(config), { tempDir: tempDirOf(config) })),
    formatReaderLayer()
  )
  const withEngine = Layer.provideMerge(engineLayer(config), infrastructure)
  const sources = Layer.provideMerge(SourceService.layer, withEngine)
  const connections = Layer.provideMerge(ConnectionService.layer, sources)
  const services = Layer.mergeAll(SyncService.layer, FileImportService.layer).pipe(Layer.provideMerge(connections))
  return services.pipe(Layer.provideMerge(sqlLayer(config)))
}

const everyWhile = <A, E, R>(name: string, interval: Duration.Input, effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.catchCause((cause) => Effect.logWarning(`${name} failed; trying again`, cause)),
    Effect.repeat(Schedule.spaced(interval)),
    Effect.forkScoped
  )

/**
 * Background work of a process: the queue worker (imports, local syncs), the cron scheduler
 * (exactly one start per due time across processes), and the follower of engine jobs.
 */
export const makeBackgroundLayer = (config: AppConfig) =>
  Layer.effectDiscard(
    Effect.gen(function*() {
      const syncs = yield* SyncService
      yield* runWorker({
        owner: defaultWorkerOwner(),
        concurrency: config.workerConcurrency,
        leaseDuration: Duration.seconds(config.jobLeaseSeconds)
      }).pipe(
        Effect.provide(JobHandlersLive),
        Effect.forkScoped
      )
      yield* everyWhile("Scheduler", Duration.seconds(config.schedulerIntervalSeconds), syncs.runDue())
      if (config.engine === "airbyte") yield* everyWhile("Sync status refresh", "15 seconds", syncs.refreshActive())
    })
  )
