import { InfrastructureError } from "@ingest/domain"
import { Effect } from "effect"

/** S3's own key limit; applied to every store so keys stay portable between them. */
export const maxKeyBytes = 1024

/** Why a key (or a list prefix, which may be empty or end in "/") is unusable; undefined when it is fine. */
const keyProblem = (key: string, kind: "key" | "prefix"): string | undefined => {
  if (typeof key !== "string") return `${kind} must be a string`
  if (key.length === 0) return kind === "prefix" ? undefined : "key must not be empty"
  if (Buffer.byteLength(key, "utf8") > maxKeyBytes) return `${kind} is longer than ${maxKeyBytes} bytes`
  if (key.includes("\0")) return `${kind} must not contain NUL`
  if (key.includes("\\")) return `${kind} must not contain backslashes`
  if (key.startsWith("/")) return `${kind} must be relative (no leading /)`
  const segments = key.split("/")
  // A prefix may end with "/" (a "directory"); a key may not, as it would name no file.
  const inner = kind === "prefix" && key.endsWith("/") ? segments.slice(0, -1) : segments
  for (const segment of inner) {
    if (segment === "") return `${kind} must not contain empty segments`
    if (segment === "." || segment === "..") return `${kind} must not contain "." or ".." segments`
  }
  return undefined
}

const describe = (key: string) => JSON.stringify(String(key).slice(0, 200))

/** Fails with an InfrastructureError naming the key when it is not a safe relative key. */
export const validateKey = (key: string): Effect.Effect<string, InfrastructureError> => {
  const problem = keyProblem(key, "key")
  return problem === undefined
    ? Effect.succeed(key)
    : Effect.fail(new InfrastructureError({ reason: `invalid object key ${describe(key)}: ${problem}` }))
}

export const validatePrefix = (prefix: string): Effect.Effect<string, InfrastructureError> => {
  const problem = keyProblem(prefix, "prefix")
  return problem === undefined
    ? Effect.succeed(prefix)
    : Effect.fail(new InfrastructureError({ reason: `invalid object prefix ${describe(prefix)}: ${problem}` }))
}

/** For the synchronous `uri`: an unsafe key there is a programming error, so it throws. */
export const assertValidKey = (key: string): string => {
  const problem = keyProblem(key, "key")
  if (problem !== undefined) throw new Error(`invalid object key ${describe(key)}: ${problem}`)
  return key
}

/** Checks a byte range request; returns the error for nonsensical bounds. */
export const validateRange = (
  key: string,
  start: number,
  endExclusive: number
): Effect.Effect<void, InfrastructureError> =>
  Number.isSafeInteger(start) && Number.isSafeInteger(endExclusive) && start >= 0 && endExclusive >= start
    ? Effect.void
    : Effect.fail(
      new InfrastructureError({
        reason: `invalid byte range [${start}, ${endExclusive}) for ${describe(key)}`
      })
    )

/** Upper bound for whole-object reads into memory (getBytes); larger objects must be streamed. */
export const maxInMemoryBytes = 512 * 1024 * 1024

export const errorMessage = (cause: unknown): string =>
  cause instanceof Error ? cause.message : String(cause)
