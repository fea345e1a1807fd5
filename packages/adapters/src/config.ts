import { Config, ConfigProvider, Data, Effect, Option, Redacted, Runtime } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { AirbyteConfigSchema } from "./airbyte/config.ts"
import { restCatalogProblems } from "./iceberg/rest-catalog/config.ts"
import { parseSecretKey } from "./sql/secrets.ts"
import { parseStorageUrl } from "./storage/url.ts"

// All configuration of the service and the CLI, read from the environment in this one place (see
// the README's configuration table and docs/deploy.md). Defaults run everything embedded under the
// data dir. `checkConfig` validates every variable before anything starts and lists every problem
// at once, naming the variable and what it needs; the server and `ingest config check` call it.

const optionalString = (name: string) => Config.String(name).pipe(Config.option, Config.map(Option.getOrUndefined))

const logLevels = ["Trace", "Debug", "Info", "Warn", "Error"] as const

/**
 * Each variable with what a valid value looks like: the text of a problem when it is invalid.
 * `secret` values are never echoed back.
 */
const variables = {
  port: { name: "INGEST_PORT", needs: "a TCP port, 1-65535", config: Config.Port("INGEST_PORT").pipe(Config.withDefault(8113)) },
  host: { name: "INGEST_HOST", needs: "an interface address to listen on", config: Config.String("INGEST_HOST").pipe(Config.withDefault("0.0.0.0")) },
  dataDir: {
    name: "INGEST_DATA_DIR",
    needs: "a directory path",
    config: Config.String("INGEST_DATA_DIR").pipe(Config.withDefault("./.ingest"), Config.map((dir) => path.resolve(dir)))
  },
  databaseUrl: {
    name: "DATABASE_URL",
    needs: "a PostgreSQL URL, postgres://user:password@host:5432/database",
    secret: true,
    config: Config.Redacted("DATABASE_URL").pipe(Config.option, Config.map(Option.getOrUndefined))
  },
  databaseMaxConnections: {
    name: "DB_MAX_CONNECTIONS",
    needs: "a whole number of connections, 1-1000",
    config: Config.Int("DB_MAX_CONNECTIONS").pipe(Config.withDefault(10))
  },
  storageUrl: { name: "INGEST_STORAGE_URL", needs: "file:///dir, s3://bucket/prefix or a path", config: optionalString("INGEST_STORAGE_URL") },
  warehouseUrl: { name: "INGEST_WAREHOUSE_URL", needs: "file:///dir, s3://bucket/prefix or a path", config: optionalString("INGEST_WAREHOUSE_URL") },
  catalog: { name: "INGEST_CATALOG", needs: `"sql" or "rest:<http(s) URL>"`, config: Config.String("INGEST_CATALOG").pipe(Config.withDefault("sql")) },
  catalogName: { name: "INGEST_CATALOG_NAME", needs: "a catalog name", config: Config.String("INGEST_CATALOG_NAME").pipe(Config.withDefault("ingest")) },
  engine: {
    name: "INGEST_ENGINE",
    needs: `"local" or "airbyte"`,
    config: Config.Literals(["local", "airbyte"], "INGEST_ENGINE").pipe(Config.withDefault("local" as const))
  },
  maxUploadBytes: {
    name: "INGEST_MAX_UPLOAD_BYTES",
    needs: "a whole number of bytes, at least 1",
    config: Config.Int("INGEST_MAX_UPLOAD_BYTES").pipe(Config.withDefault(10 * 1024 ** 3))
  },
  workerConcurrency: {
    name: "INGEST_WORKER_CONCURRENCY",
    needs: "a whole number of jobs, 1-1000",
    config: Config.Int("INGEST_WORKER_CONCURRENCY").pipe(Config.withDefault(2))
  },
  /** `false` runs no background workers in this process (API-only replicas). */
  runWorkers: { name: "INGEST_RUN_WORKERS", needs: "true or false", config: Config.Boolean("INGEST_RUN_WORKERS").pipe(Config.withDefault(true)) },
  /** How long a claimed job is held without renewal: after a crash, the time until another process resumes it. */
  jobLeaseSeconds: {
    name: "INGEST_JOB_LEASE_SECONDS",
    needs: "a whole number of seconds, at least 3",
    config: Config.Int("INGEST_JOB_LEASE_SECONDS").pipe(Config.withDefault(30))
  },
  /** How often each process looks for scheduled connections that are due. */
  schedulerIntervalSeconds: {
    name: "INGEST_SCHEDULER_INTERVAL_SECONDS",
    needs: "a whole number of seconds, at least 1",
    config: Config.Int("INGEST_SCHEDULER_INTERVAL_SECONDS").pipe(Config.withDefault(10))
  },
  /** Trace, Debug, Info, Warn, Error; requests are logged at Info. */
  logLevel: {
    name: "INGEST_LOG_LEVEL",
    needs: logLevels.join(", "),
    config: Config.Literals(logLevels, "INGEST_LOG_LEVEL").pipe(Config.withDefault("Info" as const))
  },
  /** `text` (one readable line per entry) or `json` (one JSON object per line, for log shippers). */
  logFormat: {
    name: "INGEST_LOG_FORMAT",
    needs: `"text" or "json"`,
    config: Config.Literals(["text", "json"], "INGEST_LOG_FORMAT").pipe(Config.withDefault("text" as const))
  },
  /** Serves `/metrics` on this port as well (besides the API port), e.g. to keep it off the ingress. */
  metricsPort: {
    name: "INGEST_METRICS_PORT",
    needs: "a TCP port, 1-65535, other than INGEST_PORT",
    config: Config.Port("INGEST_METRICS_PORT").pipe(Config.option, Config.map(Option.getOrUndefined))
  },
  /** On SIGTERM/SIGINT: how long in-flight requests and running jobs get before the process stops them. */
  shutdownGraceSeconds: {
    name: "INGEST_SHUTDOWN_GRACE_SECONDS",
    needs: "a whole number of seconds, 0-3600",
    config: Config.Int("INGEST_SHUTDOWN_GRACE_SECONDS").pipe(Config.withDefault(30))
  },
  /** OTLP/HTTP collector base URL; unset → no traces are exported. */
  otlpEndpoint: {
    name: "OTEL_EXPORTER_OTLP_ENDPOINT",
    needs: "an http(s) URL of an OTLP/HTTP collector, e.g. http://otel-collector:4318",
    config: optionalString("OTEL_EXPORTER_OTLP_ENDPOINT")
  },
  serviceName: {
    name: "OTEL_SERVICE_NAME",
    needs: "a service name",
    config: Config.String("OTEL_SERVICE_NAME").pipe(Config.withDefault("ingestion-service"))
  },
  jwksUrl: { name: "INGEST_AUTH_JWKS_URL", needs: "an http(s) URL of a JWKS document or the path of a JWKS file", config: optionalString("INGEST_AUTH_JWKS_URL") },
  issuer: { name: "INGEST_AUTH_ISSUER", needs: "the expected `iss` of tokens", config: optionalString("INGEST_AUTH_ISSUER") },
  audience: { name: "INGEST_AUTH_AUDIENCE", needs: "the expected `aud` of tokens", config: optionalString("INGEST_AUTH_AUDIENCE") }
} as const

type Variables = typeof variables
type Values = { readonly [K in keyof Variables]: Config.Success<Variables[K]["config"]> }

const assemble = (v: Values) => ({
  port: v.port,
  host: v.host,
  dataDir: v.dataDir,
  databaseUrl: v.databaseUrl,
  databaseMaxConnections: v.databaseMaxConnections,
  storageUrl: v.storageUrl,
  warehouseUrl: v.warehouseUrl,
  catalog: v.catalog,
  catalogName: v.catalogName,
  engine: v.engine,
  maxUploadBytes: v.maxUploadBytes,
  workerConcurrency: v.workerConcurrency,
  runWorkers: v.runWorkers,
  jobLeaseSeconds: v.jobLeaseSeconds,
  schedulerIntervalSeconds: v.schedulerIntervalSeconds,
  logLevel: v.logLevel,
  logFormat: v.logFormat,
  metricsPort: v.metricsPort,
  shutdownGraceSeconds: v.shutdownGraceSeconds,
  otlpEndpoint: v.otlpEndpoint,
  serviceName: v.serviceName,
  auth: { jwksUrl: v.jwksUrl, issuer: v.issuer, audience: v.audience }
})

const configs = Object.fromEntries(Object.entries(variables).map(([key, variable]) => [key, variable.config])) as {
  readonly [K in keyof Variables]: Variables[K]["config"]
}

/** Every setting, read from the environment (defaults where unset); the first invalid one fails it. */
export const AppConfig = Config.all(configs).pipe(Config.map(assemble))
export type AppConfig = Config.Success<typeof AppConfig>

export const storageUrlOf = (config: AppConfig) => config.storageUrl ?? `file://${path.join(config.dataDir, "storage")}`
export const warehouseUrlOf = (config: AppConfig) => config.warehouseUrl ?? `file://${path.join(config.dataDir, "warehouse")}`

/** The configuration cannot run: every problem found, each naming its variable and what it needs. */
export class ConfigProblems extends Data.TaggedError("ConfigProblems")<{ readonly problems: ReadonlyArray<string> }> {
  /** A process stopped by its configuration exits 78 (EX_CONFIG). */
  override readonly [Runtime.errorExitCode] = 78
  override get message() {
    return `The configuration is not valid (${this.problems.length} problem${this.problems.length === 1 ? "" : "s"}):\n${
      this.problems.map((problem) => `  - ${problem}`).join("\n")
    }`
  }
}

const isHttpUrl = (text: string) => {
  try {
    const url = new URL(text)
    return url.protocol === "http:" || url.protocol === "https:"
  } catch {
    return false
  }
}

const describeConfigError = (error: Config.ConfigError): string =>
  error.message.replace(/^ConfigError\(|\)$/g, "").replace(/\s+/g, " ").trim()

/** Reads one setting as an effect. */
const read = <A>(config: Config.Config<A>): Effect.Effect<A, Config.ConfigError> => Effect.gen(function*() {
  return yield* config
})

/** The problems of values that parsed: ranges, URL forms, and settings that only make sense together. */
const valueChecks = (v: Partial<Values>) =>
  Effect.gen(function*() {
    const problems: Array<string> = []
    const inRange = (name: string, value: number | undefined, min: number, max: number, needs: string) => {
      if (value !== undefined && (value < min || value > max)) problems.push(`${name}=${value} is out of range: needs ${needs}`)
    }
    inRange("DB_MAX_CONNECTIONS", v.databaseMaxConnections, 1, 1000, "1-1000")
    inRange("INGEST_MAX_UPLOAD_BYTES", v.maxUploadBytes, 1, Number.MAX_SAFE_INTEGER, "at least 1 byte")
    inRange("INGEST_WORKER_CONCURRENCY", v.workerConcurrency, 1, 1000, "1-1000")
    inRange("INGEST_JOB_LEASE_SECONDS", v.jobLeaseSeconds, 3, 3600, "3-3600 seconds")
    inRange("INGEST_SCHEDULER_INTERVAL_SECONDS", v.schedulerIntervalSeconds, 1, 86_400, "1-86400 seconds")
    inRange("INGEST_SHUTDOWN_GRACE_SECONDS", v.shutdownGraceSeconds, 0, 3600, "0-3600 seconds")
    if (v.metricsPort !== undefined && v.metricsPort === v.port) {
      problems.push(`INGEST_METRICS_PORT=${v.metricsPort} is the API port: needs another port, or leave it unset to serve /metrics on INGEST_PORT`)
    }
    if (v.databaseUrl !== undefined && !/^postgres(ql)?:\/\/[^/]+/.test(Redacted.value(v.databaseUrl))) {
      problems.push(`DATABASE_URL is not a PostgreSQL URL: needs postgres://user:password@host:5432/database (or leave it unset for the embedded database)`)
    }
    for (const [name, url] of [["INGEST_STORAGE_URL", v.storageUrl], ["INGEST_WAREHOUSE_URL", v.warehouseUrl]] as const) {
      if (url === undefined) continue
      try {
        parseStorageUrl(url)
      } catch (error) {
        problems.push(`${name}: ${(error as Error).message}`)
      }
    }
    const catalog = v.catalog
    if (catalog !== undefined && catalog !== "sql" && !(catalog.startsWith("rest:") && isHttpUrl(catalog.slice("rest:".length)))) {
      problems.push(`INGEST_CATALOG=${catalog}: needs "sql" (the catalog in the service database) or "rest:<http(s) URL>" of an Iceberg REST catalog`)
    }
    if (catalog?.startsWith("rest:") === true && isHttpUrl(catalog.slice("rest:".length))) {
      problems.push(...(yield* restCatalogProblems(catalog)))
    }
    if (v.otlpEndpoint !== undefined && !isHttpUrl(v.otlpEndpoint)) {
      problems.push(`OTEL_EXPORTER_OTLP_ENDPOINT=${v.otlpEndpoint}: needs ${variables.otlpEndpoint.needs}`)
    }
    const jwks = v.jwksUrl
    if (jwks !== undefined && !isHttpUrl(jwks) && !fs.existsSync(jwks.replace(/^file:\/\//, ""))) {
      problems.push(`INGEST_AUTH_JWKS_URL=${jwks}: no such file; needs ${variables.jwksUrl.needs}`)
    }
    const secretKey = yield* read(Config.Redacted("INGEST_SECRET_KEY").pipe(Config.option)).pipe(
      Effect.orElseSucceed(() => Option.none<Redacted.Redacted<string>>())
    )
    if (Option.isSome(secretKey)) {
      const parsed = yield* parseSecretKey(Redacted.value(secretKey.value), "INGEST_SECRET_KEY").pipe(Effect.result)
      if (parsed._tag === "Failure") problems.push(parsed.failure.reason)
    }
    if (v.engine === "airbyte") problems.push(...(yield* airbyteProblems))
    return problems
  })

const airbyteRequired = [
  ["AIRBYTE_API_URL", "the URL of Airbyte's public API (e.g. https://airbyte.example.com/api/public/v1)"],
  ["AIRBYTE_CLIENT_ID", "the client id of an Airbyte application (Settings → Applications)"],
  ["AIRBYTE_CLIENT_SECRET", "that application's client secret"],
  ["AIRBYTE_ICEBERG_WAREHOUSE", "the warehouse Airbyte's Iceberg destination writes to (e.g. s3://lake/warehouse)"]
] as const

/** With the Airbyte engine: every missing variable in one sentence, then what the engine's own reading refuses. */
const airbyteProblems = Effect.gen(function*() {
  const missing: Array<readonly [string, string]> = []
  for (const entry of airbyteRequired) {
    const value = yield* read(Config.String(entry[0]).pipe(Config.option)).pipe(Effect.orElseSucceed(() => Option.none<string>()))
    if (Option.isNone(value) || value.value.trim() === "") missing.push(entry)
  }
  if (missing.length > 0) {
    const names = missing.map(([name]) => name)
    const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`
    return [`INGEST_ENGINE=airbyte needs ${list}: ${missing.map(([, what]) => `${what}`).join("; ")} (see docs/airbyte.md)`]
  }
  const airbyte = yield* Effect.result(read(AirbyteConfigSchema))
  return airbyte._tag === "Failure" ? [`Airbyte configuration: ${describeConfigError(airbyte.failure)}`] : []
})

/**
 * Reads and checks the whole configuration. Fails with every problem found, so that one start
 * (or one `ingest config check`) shows all that needs fixing.
 */
export const checkConfig: Effect.Effect<AppConfig, ConfigProblems> = Effect.gen(function*() {
  const problems: Array<string> = []
  const values: Record<string, unknown> = {}
  for (const [key, variable] of Object.entries(variables) as Array<[string, Variables[keyof Variables]]>) {
    const value = yield* Effect.result(read(variable.config as Config.Config<unknown>))
    if (value._tag === "Success") {
      values[key] = value.success
      continue
    }
    const raw = yield* read(Config.String(variable.name).pipe(Config.option)).pipe(Effect.orElseSucceed(() => Option.none<string>()))
    const shown = "secret" in variable || Option.isNone(raw) ? "" : `=${raw.value}`
    problems.push(`${variable.name}${shown} is not valid: needs ${variable.needs}`)
  }
  problems.push(...(yield* valueChecks(values as Partial<Values>)))
  if (problems.length > 0) return yield* new ConfigProblems({ problems })
  return assemble(values as unknown as Values)
})

/** `checkConfig` over an explicit environment (tests, `ingest config check --env-file`). */
export const checkConfigOf = (env: Readonly<Record<string, string>>) =>
  checkConfig.pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))
