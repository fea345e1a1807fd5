import { Console, Effect, Redacted } from "effect"
import { Command } from "effect/cli"
import { checkConfig, storageUrlOf, warehouseUrlOf } from "@ingest/adapters/config"

/** The database a URL points at, without its credentials. */
const databaseOf = (url: Redacted.Redacted<string> | undefined) => {
  if (url === undefined) return "embedded (PGlite under the data dir)"
  try {
    const parsed = new URL(Redacted.value(url))
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`
  } catch {
    return "external"
  }
}

/**
 * `ingest config check`: the server's own startup check, without starting anything. Lists every
 * problem (variable and what it needs) and fails; otherwise prints what the service would run with.
 */
const checkCommand = Command.make("check", {}, () =>
  Effect.gen(function*() {
    const config = yield* checkConfig
    yield* Console.log([
      "The configuration is valid.",
      `  listen        ${config.host}:${config.port}${config.metricsPort === undefined ? "" : ` (metrics on :${config.metricsPort})`}`,
      `  data dir      ${config.dataDir}`,
      `  database      ${databaseOf(config.databaseUrl)}`,
      `  file storage  ${storageUrlOf(config)}`,
      `  warehouse     ${warehouseUrlOf(config)}`,
      `  catalog       ${config.catalog}`,
      `  engine        ${config.engine}`,
      `  workers       ${config.runWorkers ? `${config.workerConcurrency} jobs at once` : "none (API only)"}`,
      `  auth          ${config.auth.jwksUrl ?? "dev mode (key pair under the data dir)"}`,
      `  logs          ${config.logFormat}, ${config.logLevel}`,
      `  traces        ${config.otlpEndpoint ?? "off"}`,
      `  shutdown      ${config.shutdownGraceSeconds} s grace`
    ].join("\n"))
  })).pipe(Command.withDescription("Check every setting as the server does at startup; list every problem at once"))

export const configCommand = Command.make("config").pipe(
  Command.withDescription("The service's configuration (environment variables)"),
  Command.withSubcommands([checkCommand])
)
