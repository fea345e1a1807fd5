import { PgClient } from "@effect/sql-pg"
import type { PgTypes } from "@effect/sql-pg"
import { Duration, Effect, Redacted, Scope } from "effect"
import { Reactivity } from "effect/reactivity"
import type { SqlError } from "effect/sql/SqlError"
import type { ConnectionOptions } from "node:tls"
import type { PostgresSourceConfig } from "./config.ts"

export const connectTimeout = Duration.seconds(10)

export const tlsOptions = (config: PostgresSourceConfig): ConnectionOptions | false => {
  const ca = config.sslRootCert === undefined ? {} : { ca: config.sslRootCert }
  switch (config.sslMode) {
    case "disable":
      return false
    case "allow":
    case "prefer":
    case "require":
      // As libpq: these modes encrypt but do not authenticate the server.
      return { rejectUnauthorized: false }
    case "verify-ca":
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined, ...ca }
    case "verify-full":
      return { rejectUnauthorized: true, ...ca }
  }
}

const refusedTls = (error: SqlError): boolean =>
  error.reason._tag === "ConnectionError" && (error.reason.message ?? "").includes("Server refused TLS")

/**
 * Opens one short-lived connection to the user's database for the current scope. `prefer` and
 * `allow` try TLS first and fall back to plaintext when the server answers that it has none.
 */
export const openPgClient = (
  config: PostgresSourceConfig,
  types?: PgTypes.Registry
): Effect.Effect<PgClient.PgClient, SqlError, Scope.Scope> => {
  const base = {
    host: config.host,
    port: config.port,
    database: config.database,
    username: config.username,
    password: Redacted.make(config.password),
    connectTimeout,
    applicationName: "ingest-local-engine",
    // Catalog queries differ per call; a prepared-statement cache would only grow.
    prepare: false,
    ...(types === undefined ? {} : { types })
  }
  const open = (ssl: ConnectionOptions | false) =>
    PgClient.makeClient({ ...base, ssl }).pipe(Effect.provide(Reactivity.layer))
  const ssl = tlsOptions(config)
  if (config.sslMode !== "prefer" && config.sslMode !== "allow") return open(ssl)
  return open(ssl).pipe(
    Effect.catchIf(refusedTls, () => open(false))
  )
}

interface CauseLike {
  readonly message?: unknown
  readonly code?: unknown
}

const causeOf = (error: SqlError): CauseLike => {
  const cause = (error.reason as { cause?: unknown }).cause
  return typeof cause === "object" && cause !== null ? cause as CauseLike : {}
}

/** The SQLSTATE or Node error code behind a failure, when there is one. */
export const errorCode = (error: SqlError): string | undefined => {
  const code = causeOf(error).code
  return typeof code === "string" ? code : undefined
}

const scrub = (message: string, config: PostgresSourceConfig): string =>
  config.password.length >= 3 ? message.split(config.password).join("***") : message

export interface FailureFacts {
  /** SQLSTATE or Node error code. */
  readonly code: string | undefined
  /** The server's (or the socket's) own message. */
  readonly detail: string | undefined
  /** The driver's summary (`PgConnection: Failed to connect`). */
  readonly summary: string
  readonly duringConnect: boolean
}

/**
 * A message a user can act on, for a failure to connect or to run a statement. Server messages
 * (`password authentication failed for user "x"`) are passed on; the password never is.
 */
export const describeFailure = (facts: FailureFacts, config: PostgresSourceConfig): string => {
  const { code, detail, summary } = facts
  const where = `${config.host}:${config.port}`
  let message: string
  switch (code) {
    case "ECONNREFUSED":
      message = `Cannot connect to ${where}: connection refused`
      break
    case "ENOTFOUND":
    case "EAI_AGAIN":
      message = `Cannot resolve host ${config.host}`
      break
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      message = `Cannot reach ${where}: ${detail ?? code}`
      break
    case "28P01":
    case "28000":
      message = `Authentication failed: ${detail ?? "rejected by the server"}`
      break
    case "3D000":
      message = `Database not found: ${detail ?? config.database}`
      break
    default:
      if (summary.includes("Server refused TLS")) {
        message = `The server at ${where} does not accept TLS (ssl_mode ${config.sslMode} requires it)`
      } else if (detail !== undefined && detail !== summary) {
        message = facts.duringConnect ? `Cannot connect to ${where}: ${detail}` : detail
      } else {
        message = summary.replace(/^PgConnection: /, "")
      }
  }
  return scrub(message, config)
}

export const describeSqlError = (error: SqlError, config: PostgresSourceConfig): string => {
  const detail = causeOf(error).message
  const summary = error.reason.message ?? error.reason._tag
  return describeFailure({
    code: errorCode(error),
    detail: typeof detail === "string" ? detail : undefined,
    summary,
    duringConnect: summary.startsWith("PgConnection: Failed to connect") || error.reason._tag === "ConnectionError"
  }, config)
}
