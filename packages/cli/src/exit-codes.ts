import { Data, Runtime } from "effect"
import { CliError } from "effect/cli"
import { HttpClientError } from "effect/http"

/** The exit codes scripts can rely on (README: "Exit codes"). */
export const ExitCode = {
  ok: 0,
  /** Anything else: the service unreachable or failing (5xx), an unexpected error. */
  error: 1,
  /** The command line is wrong: unknown command or flag, a missing or malformed value, a local file that is not there. */
  usage: 2,
  /** The service refused the input: invalid request, unreadable or too large file, conflicting state (400, 409, 413, 415, 422). */
  refused: 3,
  /** No valid token, or the token does not grant the tenant or the permission (401, 403). */
  auth: 4,
  /** What the command names does not exist for this tenant (404). */
  notFound: 5,
  /** The work ran and did not succeed: an import or sync FAILED or CANCELLED, a source test ERROR. */
  failed: 6,
  /** The configuration is not valid (`serve`, `config check`): every problem is listed (EX_CONFIG). */
  config: 78,
  interrupted: 130
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** Work that ran and ended FAILED (or CANCELLED, or a failed connection test). */
export class WorkFailed extends Data.TaggedError("WorkFailed")<{ readonly message: string }> {}

/** A failure that names its own exit code (e.g. the first failing file of many). */
export class CommandFailed extends Data.TaggedError("CommandFailed")<{ readonly message: string; readonly exitCode: ExitCode }> {}

const apiStatus = (error: object): number | undefined =>
  "_tag" in error && typeof error._tag === "string" && error._tag.startsWith("Api") && "status" in error &&
    typeof error.status === "number"
    ? error.status
    : undefined

/** The exit code that reports `error`. */
export const exitCodeOf = (error: unknown): ExitCode => {
  if (typeof error !== "object" || error === null) return ExitCode.error
  if (error instanceof WorkFailed) return ExitCode.failed
  if (error instanceof CommandFailed) return error.exitCode
  // An error that names its process exit code (the configuration's problems: 78).
  const own = (error as { readonly [Runtime.errorExitCode]?: unknown })[Runtime.errorExitCode]
  if (own === ExitCode.config) return own
  if (CliError.isCliError(error) || CliError.getUserMessage(error) !== undefined) return ExitCode.usage
  const status = apiStatus(error)
  if (status === 401 || status === 403) return ExitCode.auth
  if (status === 404) return ExitCode.notFound
  if (status !== undefined && status >= 400 && status < 500) return ExitCode.refused
  return ExitCode.error
}

/** A one-line message for `error`: the service's own message where it sent one. */
export const describeError = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const status = apiStatus(error)
    if (status !== undefined && "message" in error) return `${String(error.message)} (HTTP ${status})`
    if (HttpClientError.isHttpClientError(error)) {
      const url = error.request.url
      return error.reason._tag === "TransportError"
        ? `Cannot reach the service at ${new URL(url).origin}: ${causeText(error.reason.cause) ?? error.message}`
        : error.message
    }
    const user = CliError.getUserMessage(error)
    if (user !== undefined) return user
    if ("message" in error && typeof error.message === "string" && error.message !== "") return error.message
    if ("_tag" in error && typeof error._tag === "string") return error._tag
  }
  return String(error)
}

const causeText = (cause: unknown): string | undefined => {
  if (!(cause instanceof Error)) return undefined
  const inner = (cause as { cause?: unknown }).cause
  const code = typeof inner === "object" && inner !== null && "code" in inner ? String(inner.code) : undefined
  return code ?? cause.message
}
