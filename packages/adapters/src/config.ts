import { Config, Option } from "effect"
import * as path from "node:path"

const optionalString = (name: string) => Config.String(name).pipe(Config.option, Config.map(Option.getOrUndefined))

/**
 * All configuration of the service and the CLI, read from the environment in this one place
 * (see the README's configuration table). Defaults run everything embedded under the data dir.
 */
export const AppConfig = Config.all({
  port: Config.Port("INGEST_PORT").pipe(Config.withDefault(8113)),
  host: Config.String("INGEST_HOST").pipe(Config.withDefault("0.0.0.0")),
  dataDir: Config.String("INGEST_DATA_DIR").pipe(Config.withDefault("./.ingest"), Config.map((dir) => path.resolve(dir))),
  databaseUrl: Config.Redacted("DATABASE_URL").pipe(Config.option, Config.map(Option.getOrUndefined)),
  databaseMaxConnections: Config.Int("DB_MAX_CONNECTIONS").pipe(Config.withDefault(10)),
  storageUrl: optionalString("INGEST_STORAGE_URL"),
  warehouseUrl: optionalString("INGEST_WAREHOUSE_URL"),
  catalog: Config.String("INGEST_CATALOG").pipe(Config.withDefault("sql")),
  catalogName: Config.String("INGEST_CATALOG_NAME").pipe(Config.withDefault("ingest")),
  engine: Config.Literals(["local", "airbyte"], "INGEST_ENGINE").pipe(Config.withDefault("local" as const)),
  maxUploadBytes: Config.Int("INGEST_MAX_UPLOAD_BYTES").pipe(Config.withDefault(10 * 1024 ** 3)),
  workerConcurrency: Config.Int("INGEST_WORKER_CONCURRENCY").pipe(Config.withDefault(2)),
  /** `false` runs no background workers in this process (API-only replicas). */
  runWorkers: Config.Boolean("INGEST_RUN_WORKERS").pipe(Config.withDefault(true)),
  /** How long a claimed job is held without renewal: after a crash, the time until another process resumes it. */
  jobLeaseSeconds: Config.Int("INGEST_JOB_LEASE_SECONDS").pipe(Config.withDefault(30)),
  /** How often each process looks for scheduled connections that are due. */
  schedulerIntervalSeconds: Config.Int("INGEST_SCHEDULER_INTERVAL_SECONDS").pipe(Config.withDefault(10)),
  /** Trace, Debug, Info, Warn, Error; requests are logged at Info. */
  logLevel: Config.Literals(["Trace", "Debug", "Info", "Warn", "Error"], "INGEST_LOG_LEVEL").pipe(
    Config.withDefault("Info" as const)
  ),
  auth: Config.all({
    jwksUrl: optionalString("INGEST_AUTH_JWKS_URL"),
    issuer: optionalString("INGEST_AUTH_ISSUER"),
    audience: optionalString("INGEST_AUTH_AUDIENCE")
  })
})
export type AppConfig = Config.Success<typeof AppConfig>

export const storageUrlOf = (config: AppConfig) => config.storageUrl ?? `file://${path.join(config.dataDir, "storage")}`
export const warehouseUrlOf = (config: AppConfig) => config.warehouseUrl ?? `file://${path.join(config.dataDir, "warehouse")}`
