import { Console, Effect, Layer, Option, References, Runtime } from "effect"
import { HttpRouter } from "effect/http"
import { SqlClient } from "effect/sql"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { createServer } from "node:http"
import type { AppConfig } from "@ingest/adapters/config"
import { checkConfig } from "@ingest/adapters/config"
import { makeAppLayer, makeBackgroundLayer } from "@ingest/adapters/app/layers"
import { TableCatalog } from "@ingest/adapters/iceberg/table-catalog"
import { mintDevToken, TokenVerifier } from "./auth.ts"
import { ConsoleDevTokens } from "./console.ts"
import { AppRoutes } from "./server.ts"
import { Readiness, UploadSettings } from "./settings.ts"

/** An external table catalog (a REST catalog) answers in time; the SQL catalog needs no check of its own. */
const catalogReadiness = Effect.map(TableCatalog, (catalog) => catalog.ready ?? Effect.void)

const ReadinessLive = Layer.effect(
  Readiness,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const catalog = yield* catalogReadiness
    return Readiness.of({
      check: sql`SELECT 1`.pipe(
        Effect.asVoid,
        Effect.timeout("2 seconds"),
        Effect.mapError(() => "database does not answer"),
        Effect.andThen(catalog)
      )
    })
  })
)

/** In dev auth mode the console may mint tokens (for loopback requests only, see console.ts). */
const devTokenMinter = (config: AppConfig) =>
  config.auth.jwksUrl === undefined
    ? Option.some((tenantId: string) =>
      mintDevToken(config.dataDir, { tenants: [tenantId], issuer: config.auth.issuer, audience: config.auth.audience, expiresIn: "8h" })
    )
    : Option.none()

/** The HTTP routes with everything they need, without a listening server (tests serve them too). */
export const makeHttpLayer = (config: AppConfig) =>
  AppRoutes.pipe(
    Layer.provide([
      TokenVerifier.layer({ ...config.auth, dataDir: config.dataDir }),
      Layer.succeed(UploadSettings, UploadSettings.of({ maxUploadBytes: config.maxUploadBytes })),
      Layer.succeed(ConsoleDevTokens, ConsoleDevTokens.of({ mint: devTokenMinter(config) })),
      ReadinessLive
    ])
  )

/** The whole service: HTTP server on the configured port, background workers, one app layer. */
export const makeServerLayer = (config: AppConfig) => {
  const app = makeAppLayer(config)
  const http = HttpRouter.serve(makeHttpLayer(config)).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port: config.port, host: config.host }))
  )
  const background = config.runWorkers ? makeBackgroundLayer(config) : Layer.empty
  return Layer.mergeAll(http, background).pipe(
    Layer.provide(app),
    Layer.provide(Layer.succeed(References.MinimumLogLevel, config.logLevel))
  )
}

if (import.meta.url === `file://${process.argv[1]}`) {
  Effect.gen(function*() {
    // Every setting is checked before anything starts: a bad configuration lists all its
    // problems and exits 78 without opening the port.
    const config = yield* checkConfig.pipe(
      Effect.tapError((problems) => Console.error(problems.message)),
      Effect.mapError((problems) => Object.assign(problems, { [Runtime.errorReported]: false }))
    )
    yield* Effect.logInfo(`Ingestion Service listening on http://${config.host}:${config.port}/api/v1 (data dir ${config.dataDir})`)
    return yield* Layer.launch(makeServerLayer(config))
  }).pipe(NodeRuntime.runMain)
}
