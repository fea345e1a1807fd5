import type { CheckResult, DiscoveredStream, Source } from "@ingest/domain"
import { EngineUnavailable } from "@ingest/domain"
import { Duration, Effect, Result } from "effect"
import { describeSqlError, openPgClient } from "./client.ts"
import { parsePostgresConfig, type PostgresSourceConfig } from "./config.ts"
import { loadRelations, toDiscoveredStream } from "./discover.ts"

/** Bounds a whole check or discovery, so a server that accepts and then hangs cannot stall a request. */
const operationTimeout = Duration.seconds(60)

export const checkPostgres = (source: Source): Effect.Effect<CheckResult> => {
  const parsed = parsePostgresConfig(source.connectionConfig)
  if (Result.isFailure(parsed)) return Effect.succeed({ ok: false, message: parsed.failure })
  const config = parsed.success
  return Effect.scoped(
    Effect.gen(function*() {
      const sql = yield* openPgClient(config)
      yield* sql`SELECT 1`
      return {
        ok: true,
        message: `Connected to ${config.host}:${config.port}/${config.database} as ${config.username}`
      } satisfies CheckResult
    })
  ).pipe(
    Effect.timeoutOrElse({
      duration: operationTimeout,
      orElse: () => Effect.succeed({ ok: false, message: `No answer from ${config.host}:${config.port} within 60 s` })
    }),
    Effect.catch((error) => Effect.succeed({ ok: false, message: describeSqlError(error, config) }))
  )
}

const unreachable = (config: PostgresSourceConfig | undefined, message: string) =>
  new EngineUnavailable({
    reason: config === undefined
      ? `Cannot discover the source: ${message}`
      : `Cannot discover ${config.host}:${config.port}/${config.database}: ${message}`
  })

/**
 * Every readable table and view, typed. A source that cannot be reached fails with
 * EngineUnavailable (the port has no other error for it), carrying the reason.
 */
export const discoverPostgres = (source: Source): Effect.Effect<ReadonlyArray<DiscoveredStream>, EngineUnavailable> => {
  const parsed = parsePostgresConfig(source.connectionConfig)
  if (Result.isFailure(parsed)) return Effect.fail(unreachable(undefined, parsed.failure))
  const config = parsed.success
  return Effect.scoped(
    Effect.gen(function*() {
      const sql = yield* openPgClient(config)
      // The local engine cannot run CDC yet, so it never offers it, whatever the server's wal_level.
      const relations = yield* loadRelations(sql, config.schemas)
      return relations.map((relation) => toDiscoveredStream(relation, false))
    })
  ).pipe(
    Effect.mapError((error) => unreachable(config, describeSqlError(error, config))),
    Effect.timeoutOrElse({
      duration: operationTimeout,
      orElse: () => Effect.fail(unreachable(config, "no answer within 60 s"))
    })
  )
}
