import { Effect, Exit, Layer, Logger } from "effect"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { stoppedServer } from "@ingest/http/startup"
import { runIngest } from "./cli.ts"
import type { Composition } from "./composition.ts"

// The adapters (database, storage, Iceberg, AWS SDK, …) load only when a command needs the app,
// so `--help`, `token` and `connector-types` start fast.
const live = Effect.promise(() => import("./composition-live.ts")).pipe(Effect.map((m) => m.LiveComposition))
const LazyLiveComposition: Composition = {
  app: (config) => Layer.unwrap(Effect.map(live, (c) => c.app(config))),
  server: (config) => Layer.unwrap(Effect.map(live, (c) => c.server(config)))
}

// Logs go to stderr so that stdout carries only results (and clean JSON with --json).
const program = runIngest(LazyLiveComposition, process.argv.slice(2)).pipe(
  Effect.provide(NodeServices.layer),
  Effect.provideService(Logger.LogToStderr, true)
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  teardown: (exit, onExit) => {
    // `ingest serve` stopped by SIGTERM or SIGINT has drained: a clean exit, as for `npm start`.
    const code = Exit.isSuccess(exit)
      ? (typeof exit.value === "number" ? exit.value : 0)
      : stoppedServer(exit) ? 0 : Exit.hasInterrupts(exit) ? 130 : 1
    onExit(code)
    // A finished command ends the process even if a library left a timer or socket open.
    process.exit(code)
  }
})
