import { Cause, Console, Effect, Exit, Layer, Runtime } from "effect"
import type { AppConfig } from "@ingest/adapters/config"
import { checkConfig } from "@ingest/adapters/config"
import { loggingLayer } from "@ingest/adapters/observability/logging"

// How a server process starts and stops, for `npm start` and `ingest serve` alike: every setting
// is checked before anything starts (a bad configuration lists all its problems on stderr and
// exits 78 without opening the port); then the service runs until SIGTERM or SIGINT, drains (the
// server layer's finalizers) and exits 0. This module stays light: the server layer is passed in,
// so the CLI loads the service's code only when it serves.

let launched = false

/**
 * Checks the configuration, then runs `server` with the configured logs until interrupted. Fails
 * with the configuration's problems (already printed, and exiting 78) when it cannot run.
 */
export const runServer = <E>(server: (config: AppConfig) => Layer.Layer<never, E>) =>
  Effect.gen(function*() {
    const config = yield* checkConfig.pipe(
      Effect.tapError((problems) => Console.error(problems.message)),
      // Printed here once: runners do not report it again.
      Effect.mapError((problems) => Object.assign(problems, { [Runtime.errorReported]: false }))
    )
    return yield* Effect.gen(function*() {
      yield* Effect.logInfo(`Ingestion Service listening on http://${config.host}:${config.port}/api/v1 (data dir ${config.dataDir})`)
      launched = true
      return yield* Layer.launch(server(config)).pipe(
        Effect.onInterrupt(() => Effect.logInfo("Stopped: database closed"))
      )
    }).pipe(Effect.provide(loggingLayer({ format: config.logFormat, level: config.logLevel })))
  })

/** Whether the process ran the server and was stopped by a signal (after draining): a clean exit, as an orchestrator expects. */
export const stoppedServer = (exit: Exit.Exit<unknown, unknown>) =>
  launched && Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)

/** The exit code of the server's process: 0 once stopped by a signal, else the runtime's default (78 for the configuration). */
export const serverTeardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
