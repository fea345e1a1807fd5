import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import { AppConfig } from "@ingest/adapters/config"
import type { Composition } from "../composition.ts"

/** Runs the service in the foreground, exactly as `npm start` does, until interrupted. */
export const serveCommand = (composition: Composition) =>
  Command.make("serve", {}, () =>
    Effect.gen(function*() {
      const config = yield* AppConfig
      yield* Effect.logInfo(
        `Ingestion Service listening on http://${config.host}:${config.port}/api/v1 (data dir ${config.dataDir})`
      )
      return yield* Layer.launch(composition.server(config))
    })).pipe(Command.withDescription("Run the service: HTTP API and background workers (as npm start)"))
