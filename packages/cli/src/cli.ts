import { Cause, Console, Effect, Option, Runtime } from "effect"
import { CliError, CliOutput, Command } from "effect/cli"
import { withConnection } from "./command.ts"
import { configCommand } from "./commands/config.ts"
import { connectionsCommand } from "./commands/connections.ts"
import { filesCommand } from "./commands/files.ts"
import { importCommand } from "./commands/import.ts"
import { profileCommand } from "./commands/profile.ts"
import { serveCommand } from "./commands/serve.ts"
import { connectorTypesCommand, sourcesCommand } from "./commands/sources.ts"
import { syncsCommand } from "./commands/syncs.ts"
import { tokenCommand } from "./commands/token.ts"
import type { Composition } from "./composition.ts"
import { describeError, exitCodeOf, ExitCode } from "./exit-codes.ts"

export const cliVersion = "0.1.0"

/** The `ingest` command tree; data commands connect (remote, beside a local service, or in process) when they run. */
export const makeIngestCommand = (composition: Composition) => {
  const connect = withConnection(composition)
  return Command.make("ingest").pipe(
    Command.withDescription(
      "Admin CLI of the Ingestion Service: sources, connections, syncs and file imports through the service's API — " +
        "a deployed one (--url, $INGEST_URL, a profile), the one running on this data dir, or the service's " +
        "own code in process over the same configuration (INGEST_DATA_DIR, DATABASE_URL, …). " +
        "Exit codes: 0 ok, 1 error, 2 usage, 3 refused input, 4 auth, 5 not found, 6 FAILED work."
    ),
    Command.withSubcommands([
      serveCommand(composition),
      configCommand,
      tokenCommand,
      profileCommand,
      sourcesCommand(connect),
      connectorTypesCommand,
      connectionsCommand(connect),
      syncsCommand(connect),
      filesCommand(connect),
      importCommand(connect)
    ])
  )
}

/** Whether the framework or the command already showed this failure (help, parse errors, user messages, the configuration's problems). */
const alreadyShown = (error: unknown): boolean =>
  CliError.isCliError(error) ||
  (typeof error === "object" && error !== null &&
    (CliError.getUserMessage(error) !== undefined || !Runtime.getErrorReported(error)))

const formatter = () => CliOutput.defaultFormatter({ colors: process.stderr.isTTY === true })

const showError = (message: string) =>
  Console.error(formatter().formatError(new CliError.UserError({ userMessage: message, cause: message })))

/**
 * A wrong invocation prints what was wrong and where to find the usage, all on stderr: stdout
 * stays empty for scripts that parse it.
 */
const presenter: CliOutput.Presenter = {
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Console.error(
        `${formatter().formatErrors(event.errors)}\n` +
          (event.errors.some((e) => e._tag === "MissingOption" && e.option.replace(/^-+/, "") === "tenant")
            ? "\nThe tenant comes from --tenant <uuid> or the INGEST_TENANT_ID environment variable."
            : "") +
          `\nSee \`${event.commandPath.join(" ")} --help\` for usage.`
      )
      : CliOutput.defaultPresenter.present(event)
}

/**
 * Runs the CLI on `args` and answers the process exit code (exit-codes.ts); a failure prints its
 * message on stderr (the service's own message for an API error), never a stack trace.
 */
export const runIngest = (composition: Composition, args: ReadonlyArray<string>) =>
  Command.runWith(makeIngestCommand(composition), { version: cliVersion })(args).pipe(
    Effect.provideService(CliOutput.Presenter, presenter),
    Effect.as(0),
    Effect.catchCause((cause) =>
      Effect.gen(function*() {
        if (Cause.hasInterruptsOnly(cause)) return ExitCode.interrupted
        const failure = Cause.findErrorOption(cause)
        if (Option.isSome(failure)) {
          const error = failure.value
          // Help shown because no subcommand was given is not a failure.
          if (CliError.isCliError(error) && error._tag === "ShowHelp" && error.errors.length === 0) return ExitCode.ok
          if (!alreadyShown(error)) yield* showError(describeError(error))
          return exitCodeOf(error)
        }
        // A defect is a bug or a broken dependency: say what it was; the trace only when asked.
        yield* showError(`Unexpected error: ${describeError(Cause.squash(cause))}`)
        if (process.env["INGEST_DEBUG"] !== undefined) yield* Console.error(Cause.pretty(cause))
        else yield* Console.error("(set INGEST_DEBUG=1 for the details)")
        return ExitCode.error
      })
    )
  )
