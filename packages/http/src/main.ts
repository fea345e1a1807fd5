import { Effect, Layer, Option } from "effect"
import { HttpRouter } from "effect/http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { createServer } from "node:http"
import type { AppConfig } from "@ingest/adapters/config"
import { makeAppLayer, makeBackgroundLayer } from "@ingest/adapters/app/layers"
import { mintDevToken, TokenVerifier } from "./auth.ts"
import { ConsoleDevTokens } from "./console.ts"
import { drain, Lifecycle } from "@ingest/adapters/lifecycle"
import { loggingLayer, tracingLayer } from "@ingest/adapters/observability/index"
import { MetricsRoute } from "./operations/metrics.ts"
import { readinessLayer } from "./operations/readiness.ts"
import { RequestContext } from "./operations/request-context.ts"
import { AppRoutes } from "./server.ts"
import { recordServiceAddress } from "./service-address.ts"
import { runServer, serverTeardown } from "./startup.ts"
import { UploadSettings } from "./settings.ts"

// The server process (startup.ts: the configuration checked first, then this layer): the app,
// the HTTP server (and /metrics, on its own port too when INGEST_METRICS_PORT is set),
// background work, logs and traces. On SIGTERM or SIGINT it drains: readiness turns 503, no job
// is claimed, requests and jobs in flight get INGEST_SHUTDOWN_GRACE_SECONDS to finish (a job
// still running then is handed back to the queue), the database closes, and the process exits 0.

/** In dev auth mode the console may mint tokens (for loopback requests only, see console.ts). */
const devTokenMinter = (config: AppConfig) =>
  config.auth.jwksUrl === undefined
    ? Option.some((tenantId: string) =>
      mintDevToken(config.dataDir, { tenants: [tenantId], issuer: config.auth.issuer, audience: config.auth.audience, expiresIn: "8h" })
    )
    : Option.none()

/** The HTTP routes with everything they need, without a listening server (tests serve them too). */
export const makeHttpLayer = (config: AppConfig) =>
  Layer.mergeAll(AppRoutes, MetricsRoute, RequestContext).pipe(
    Layer.provide([
      TokenVerifier.layer({ ...config.auth, dataDir: config.dataDir }),
      Layer.succeed(UploadSettings, UploadSettings.of({ maxUploadBytes: config.maxUploadBytes })),
      Layer.succeed(ConsoleDevTokens, ConsoleDevTokens.of({ mint: devTokenMinter(config) })),
      readinessLayer(config)
    ])
  )

/** The part of the grace kept for stopping what still runs after draining, and closing. */
const teardownMillis = (config: AppConfig) => Math.min(5000, (config.shutdownGraceSeconds * 1000) / 5)

const listen = (config: AppConfig, port: number) =>
  NodeHttpServer.layer(createServer, {
    port,
    host: config.host,
    // Requests still in flight after the drain (an upload waiting for a parser thread that a
    // stopped job just gave up) may finish while the server closes, within the grace.
    gracefulShutdownTimeout: `${Math.max(1, config.shutdownGraceSeconds)} seconds`
  })

/** On release (shutdown) and before the server and workers stop: drain within the grace. */
const Draining = (config: AppConfig) =>
  Layer.effectDiscard(Effect.addFinalizer(() =>
    Effect.gen(function*() {
      // What is left of the grace after draining stops the rest and closes the database.
      const graceMillis = config.shutdownGraceSeconds * 1000
      const drainMillis = graceMillis - teardownMillis(config)
      yield* Effect.logInfo(`Shutting down: draining for up to ${(drainMillis / 1000).toFixed(1)} s`)
      const left = yield* drain(drainMillis)
      if (left.requests > 0 || left.jobs > 0) {
        yield* Effect.logWarning(
          `Grace period over with ${left.requests} request(s) and ${left.jobs} job(s) in flight: stopping them (jobs go back to the queue)`
        )
      }
    })
  ))

/** A layer whose finalizer logs `message` once the layers built after it are released. */
const afterRelease = (message: string) => Layer.effectDiscard(Effect.addFinalizer(() => Effect.logInfo(message)))

/**
 * The whole service: HTTP server on the configured port, background workers, one app layer.
 * Built in the order app → HTTP → background work → drain, so it stops in reverse: drain, then
 * jobs still running are stopped (and handed back to the queue, freeing their threads for the
 * requests still in flight), then the HTTP server closes, then the database.
 */
export const makeServerLayer = (config: AppConfig) => {
  const app = makeAppLayer(config)
  // On the embedded database, the CLI finds this service through the address it records.
  const address = config.databaseUrl === undefined ? recordServiceAddress(config) : Layer.empty
  const http = Layer.mergeAll(HttpRouter.serve(makeHttpLayer(config), { disableLogger: true }), address).pipe(
    Layer.provide(listen(config, config.port))
  )
  const metrics = config.metricsPort === undefined
    ? Layer.empty
    : HttpRouter.serve(MetricsRoute, { disableLogger: true, disableListenLog: true }).pipe(
      Layer.provide(listen(config, config.metricsPort))
    )
  const serving = Layer.merge(http, metrics).pipe(Layer.provideMerge(afterRelease("HTTP server closed")))
  const background = config.runWorkers
    ? makeBackgroundLayer(config).pipe(Layer.provideMerge(afterRelease("Background work stopped")))
    : Layer.empty
  return Draining(config).pipe(
    Layer.provideMerge(background.pipe(Layer.provideMerge(serving))),
    Layer.provide(app),
    Layer.provide(Lifecycle.layer),
    Layer.provide(tracingLayer({ endpoint: config.otlpEndpoint, serviceName: config.serviceName })),
    Layer.provide(loggingLayer({ format: config.logFormat, level: config.logLevel }))
  )
}

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(runServer(makeServerLayer), { teardown: serverTeardown })
}
