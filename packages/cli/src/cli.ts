import { Cause, Console, Effect, Option } from "effect"
import { CliError, CliOutput, Command } from "effect/cli"
import { appLayerOf } from "./app.ts"
import { connectionsCommand } from "./commands/connections.ts"
import { filesCommand } from "./commands/files.ts"
import { importCommand } from "./commands/import.ts"
import { serveCommand } from "./commands/serve.ts"
import { connectorTypesCommand, sourcesCommand } from "./commands/sources.ts"
import { syncsCommand } from "./commands/syncs.ts"
import { tokenCommand } from "./commands/token.ts"
import type { Composition } from "./composition.ts"

export const cliVersion = "0.1.0"

/** The `ingest` command tree; data commands build the app from `composition` when they run. */
export const makeIngestCommand = (composition: Composition) => {
  const app = appLayerOf(composition)
  return Command.make("ingest").pipe(
    Command.withDescription(
      "Admin CLI of the Ingestion Service: sources, connections, syncs and file imports, in process " +
        "against the same configuration as the service (INGEST_DATA_DIR, DATABASE_URL, …)"
    ),
    Command.withSubcommands([
      serveCommand(composition),
      tokenCommand,
      sourcesCommand(app),
      connectorTypesCommand,
      connectionsCommand(app),
      syncsCommand(app),
      filesCommand(app),
      importCommand(app)
    ])
  )
}

const messageOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const user = CliError.getUserMessage(error)
    if (user !== undefined) return user
    if ("message" in error && typeof error.message === "string" && error.message !== "") return error.message
    if ("_tag" in error && typeof error._tag === "string") return error._tag
  }
  return String(error)
}

/** Whether the framework already showed this failure (help, parse errors, user messages). */
const alreadyShown = (error: unknown): boolean =>
  CliError.isCliError(error) || (typeof error === "object" && error !== null && CliError.getUserMessage(error) !== undefined)

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
 * Runs the CLI on `args` and answers the process exit code: 0 ok, 1 failure (with a message on
 * stderr: a domain error shows its message, never a stack trace), 130 when interrupted.
 */
export const runIngest = (composition: Composition, args: ReadonlyArray<string>) =>
  Command.runWith(makeIngestCommand(composition), { version: cliVersion })(args).pipe(
    Effect.provideService(CliOutput.Presenter, presenter),
    Effect.as(0),
    Effect.catchCause((cause) =>
      Effect.gen(function*() {
        if (Cause.hasInterruptsOnly(cause)) return 130
        const failure = Cause.findErrorOption(cause)
        if (Option.isSome(failure)) {
          const error = failure.value
          // Help shown because no subcommand was given is not a failure.
          if (CliError.isCliError(error) && error._tag === "ShowHelp" && error.errors.length === 0) return 0
          if (!alreadyShown(error)) yield* showError(messageOf(error))
          return 1
        }
        // A defect is a bug or a broken dependency: say what it was; the trace only when asked.
        yield* showError(`Unexpected error: ${messageOf(Cause.squash(cause))}`)
        if (process.env["INGEST_DEBUG"] !== undefined) yield* Console.error(Cause.pretty(cause))
        else yield* Console.error("(set INGEST_DEBUG=1 for the details)")
        return 1
      })
    )
  )
