import { Result } from "effect"
import type { ConnectionConfig } from "@ingest/domain"

/** libpq's sslmode values, with libpq's meaning (prefer/allow/require do not verify certificates). */
export const sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const
export type SslMode = (typeof sslModes)[number]

export interface PostgresSourceConfig {
  readonly host: string
  readonly port: number
  readonly database: string
  readonly username: string
  /** Empty when the server needs none (trust, peer). Never logged or put in a message. */
  readonly password: string
  readonly sslMode: SslMode
  /** PEM bundle trusted for verify-ca / verify-full; the system roots when absent. */
  readonly sslRootCert: string | undefined
  /** Schemas to discover and read; every non-system schema when absent. */
  readonly schemas: ReadonlyArray<string> | undefined
}

const text = (config: ConnectionConfig, key: string): string | undefined => {
  const value = config[key]
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined
}

/**
 * Reads a `postgres` connectionConfig. Accepts a few spellings Airbyte users bring along
 * (`user`, `dbname`, `sslmode`, `ssl_mode: { mode }`), so an existing config moves over as is.
 * Returns a message naming the bad field; it never contains the password.
 */
export const parsePostgresConfig = (config: ConnectionConfig): Result.Result<PostgresSourceConfig, string> => {
  const host = text(config, "host")
  if (host === undefined) return Result.fail("connectionConfig.host is required")
  if (host.length > 255) return Result.fail("connectionConfig.host is too long")
  const rawPort = config.port ?? 5432
  const port = typeof rawPort === "string" ? Number(rawPort) : rawPort
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    return Result.fail("connectionConfig.port must be an integer between 1 and 65535")
  }
  const database = text(config, "database") ?? text(config, "dbname")
  if (database === undefined) return Result.fail("connectionConfig.database is required")
  const username = text(config, "username") ?? text(config, "user")
  if (username === undefined) return Result.fail("connectionConfig.username is required")
  const password = config.password ?? ""
  if (typeof password !== "string") return Result.fail("connectionConfig.password must be a string")

  const rawSsl = config.ssl_mode ?? config.sslmode ?? config.sslMode ?? "prefer"
  const ssl = typeof rawSsl === "object" && rawSsl !== null && "mode" in rawSsl ? (rawSsl as { mode: unknown }).mode : rawSsl
  if (typeof ssl !== "string" || !(sslModes as ReadonlyArray<string>).includes(ssl)) {
    return Result.fail(`connectionConfig.ssl_mode must be one of ${sslModes.join(", ")}`)
  }
  const sslRootCert = text(config, "ssl_root_cert")

  let schemas: ReadonlyArray<string> | undefined
  if (config.schemas !== undefined && config.schemas !== null) {
    const list = config.schemas
    if (!Array.isArray(list) || list.some((s) => typeof s !== "string" || s.length === 0 || s.length > 63)) {
      return Result.fail("connectionConfig.schemas must be an array of schema names")
    }
    if (list.length > 1000) return Result.fail("connectionConfig.schemas lists too many schemas")
    schemas = list.length === 0 ? undefined : (list as Array<string>)
  }
  return Result.succeed({ host, port, database, username, password, sslMode: ssl as SslMode, sslRootCert, schemas })
}
