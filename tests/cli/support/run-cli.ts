import { ConfigProvider, Console, Effect, Logger } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import type { Composition } from "@ingest/cli"
import { runIngest } from "@ingest/cli"

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const text = (args: ReadonlyArray<unknown>) => args.map((a) => (typeof a === "string" ? a : String(a))).join(" ")

/**
 * Runs `ingest <args>` in this process against `composition`, with `env` as the whole
 * environment the configuration sees; captures what the CLI prints.
 */
export const runCli = async (composition: Composition, args: ReadonlyArray<string>, env: Record<string, string>): Promise<CliResult> => {
  const stdout: Array<string> = []
  const stderr: Array<string> = []
  const console: Console.Console = Object.assign(Object.create(globalThis.console), {
    log: (...a: ReadonlyArray<unknown>) => stdout.push(text(a)),
    info: (...a: ReadonlyArray<unknown>) => stdout.push(text(a)),
    error: (...a: ReadonlyArray<unknown>) => stderr.push(text(a)),
    warn: (...a: ReadonlyArray<unknown>) => stderr.push(text(a))
  })
  const code = await Effect.runPromise(
    runIngest(composition, args).pipe(
      Effect.provide(NodeServices.layer),
      Effect.provideService(Console.Console, console),
      Effect.provideService(Logger.LogToStderr, true),
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))
    )
  )
  return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n") }
}
