import { Config, Duration, Effect, Layer, Option, Ref } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import { SqlClient } from "effect/sql"
import { FileStorage } from "@ingest/domain"
import type { AppConfig } from "@ingest/adapters/config"
import { TableCatalog } from "@ingest/adapters/iceberg/table-catalog"
import { Lifecycle } from "@ingest/adapters/lifecycle"
import { Readiness } from "../settings.ts"

// Readiness: every dependency answers within a short timeout (checked side by side), and the
// process is not shutting down. The answer names each dependency that failed.

/** One dependency's check: fails with what is wrong. */
export interface ReadinessCheck {
  readonly name: string
  readonly check: Effect.Effect<void, string>
}

const timeout = Duration.seconds(2)

const bounded = (check: ReadinessCheck): Effect.Effect<Option.Option<string>> =>
  check.check.pipe(
    Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.fail(`does not answer within ${Duration.format(timeout)}`) }),
    Effect.catchDefect(() => Effect.fail("failed")),
    Effect.match({ onFailure: (reason) => Option.some(`${check.name}: ${reason}`), onSuccess: () => Option.none() })
  )

/** A `Readiness` from checks: DOWN while draining, else DOWN naming every check that failed. */
export const readinessOf = (checks: ReadonlyArray<ReadinessCheck>) =>
  Effect.gen(function*() {
    const lifecycle = yield* Effect.serviceOption(Lifecycle)
    return Readiness.of({
      check: Effect.gen(function*() {
        if (Option.isSome(lifecycle) && (yield* Ref.get(lifecycle.value.draining))) return yield* Effect.fail("shutting down")
        const failed = (yield* Effect.forEach(checks, bounded, { concurrency: "unbounded" })).flatMap(Option.toArray)
        if (failed.length > 0) return yield* Effect.fail(failed.join("; "))
      })
    })
  })

export const databaseCheck = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return { name: "database", check: sql`SELECT 1`.pipe(Effect.asVoid, Effect.mapError(() => "unreachable")) } satisfies ReadinessCheck
})

export const fileStorageCheck = Effect.gen(function*() {
  const storage = yield* FileStorage
  return {
    name: "object storage",
    check: storage.stat(".ready").pipe(Effect.asVoid, Effect.mapError(() => "unreachable"))
  } satisfies ReadinessCheck
})

/** An external table catalog (a REST catalog) answers; the SQL catalog lives in the database and has no check of its own. */
export const catalogCheck = Effect.gen(function*() {
  const catalog = yield* TableCatalog
  return catalog.ready === undefined ? undefined : { name: "catalog", check: catalog.ready } satisfies ReadinessCheck
})

/** Airbyte's public API health endpoint (when Airbyte is the engine). */
export const airbyteCheck = Effect.gen(function*() {
  const apiUrl = (yield* Effect.orDie(Effect.gen(function*() {
    return yield* Config.String("AIRBYTE_API_URL")
  }))).replace(/\/+$/, "")
  const http = yield* HttpClient.HttpClient
  return {
    name: "airbyte",
    check: http.get(`${apiUrl}/health`).pipe(
      Effect.mapError(() => "unreachable"),
      Effect.flatMap((response) => response.status < 500 ? Effect.void : Effect.fail(`answers HTTP ${response.status}`))
    )
  } satisfies ReadinessCheck
}).pipe(Effect.provide(FetchHttpClient.layer))

/** The service's readiness: database, object storage, an external catalog, and Airbyte when it is the engine. */
export const readinessLayer = (config: AppConfig) =>
  Layer.effect(
    Readiness,
    Effect.gen(function*() {
      const checks: Array<ReadinessCheck> = [yield* databaseCheck, yield* fileStorageCheck]
      const catalog = yield* catalogCheck
      if (catalog !== undefined) checks.push(catalog)
      if (config.engine === "airbyte") checks.push(yield* airbyteCheck)
      return yield* readinessOf(checks)
    })
  )
