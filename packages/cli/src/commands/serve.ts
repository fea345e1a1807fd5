import { Command } from "effect/cli"
import { runServer } from "@ingest/http/startup"
import type { Composition } from "../composition.ts"

/**
 * Runs the service in the foreground through the same startup as `npm start`: every setting
 * checked first (a bad configuration lists its problems and exits 78 without opening the port),
 * then the service until SIGTERM or SIGINT, which drain it and exit 0.
 */
export const serveCommand = (composition: Composition) =>
  Command.make("serve", {}, () => runServer(composition.server)).pipe(
    Command.withDescription("Run the service: HTTP API and background workers (as npm start)")
  )
