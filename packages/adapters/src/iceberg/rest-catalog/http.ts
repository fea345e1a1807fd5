import { InfrastructureError } from "@ingest/domain"
import { Duration, Effect, Schema } from "effect"
import { parseIcebergJson, stringifyIcebergJson } from "../json.ts"
import type { Authenticator } from "./auth.ts"

// The catalog's HTTP exchange: JSON bodies through the lossless Iceberg codec (63-bit ids stay
// exact both ways), the configured headers and authentication on every request, a bounded time
// per request, one more try after a 401 when a new token may help, and reads retried with
// jittered backoff on 429, 5xx and lost connections. Writes whose outcome matters (commits) are
// never retried here: the caller decides.

/** The request never got a complete answer: timeout, refused or reset connection. */
export class CatalogUnreachable extends Schema.TaggedError<CatalogUnreachable>()("CatalogUnreachable", {
  reason: Schema.String,
  /** No answer within the request's timeout (rather than a refused or lost connection). */
  timedOut: Schema.Boolean
}) {
  override get message() {
    return this.reason
  }
}

export interface CatalogResponse {
  readonly status: number
  readonly json: unknown
}

export interface CatalogRequest {
  readonly method: "GET" | "HEAD" | "POST" | "DELETE"
  /** Path below the catalog URI, starting with `/v1/`. */
  readonly path: string
  readonly query?: Readonly<Record<string, string>> | undefined
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
}

export interface CatalogHttpOptions {
  /** The catalog URI, without a trailing slash. */
  readonly baseUri: string
  readonly auth: Authenticator
  /** Sent with every request (INGEST_CATALOG_HEADER_<NAME>). */
  readonly headers: Readonly<Record<string, string>>
  readonly timeoutMs: number
  /** Tries of a read before giving up (first try included). */
  readonly readAttempts: number
}

export interface CatalogHttp {
  /** One exchange (plus one after a 401 when a new token may help). */
  send(request: CatalogRequest): Effect.Effect<CatalogResponse, CatalogUnreachable | InfrastructureError>
  /** An exchange that may be repeated: retried on 429, 5xx and lost connections. */
  read(request: CatalogRequest): Effect.Effect<CatalogResponse, InfrastructureError>
  /** Retries of reads so far. */
  readonly readRetries: () => number
}

const retryable = (status: number) => status === 429 || status === 500 || status === 502 || status === 503 || status === 504

/** The message of an IcebergErrorResponse, bounded; never the request. */
export const errorMessageOf = (response: CatalogResponse): string => {
  const error = (response.json as { error?: { message?: unknown; type?: unknown } } | undefined)?.error
  const type = typeof error?.type === "string" ? `${error.type}: ` : ""
  const message = typeof error?.message === "string" ? error.message.slice(0, 300) : ""
  return `HTTP ${response.status}${type === "" && message === "" ? "" : ` (${type}${message})`}`
}

export const backoffDelay = (attempt: number, baseMs = 100, capMs = 3000) =>
  Duration.millis(Math.round(Math.min(capMs, baseMs * 2 ** attempt) * (0.5 + Math.random() / 2)))

export const makeCatalogHttp = (options: CatalogHttpOptions): CatalogHttp => {
  let readRetries = 0

  const once = (request: CatalogRequest) =>
    Effect.gen(function*() {
      const url = new URL(`${options.baseUri}${request.path}`)
      for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value)
      const body = request.body === undefined ? undefined : stringifyIcebergJson(request.body)
      const headers: Record<string, string> = {
        ...options.headers,
        ...request.headers,
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" })
      }
      const auth = yield* options.auth.headers({ method: request.method, url, headers, body })
      return yield* Effect.tryPromise({
        try: async (signal) => {
          const response = await fetch(url, {
            method: request.method,
            headers: { ...headers, ...auth },
            ...(body === undefined ? {} : { body }),
            signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)])
          })
          const text = await response.text()
          let json: unknown = undefined
          if (text !== "") {
            try {
              json = parseIcebergJson(text)
            } catch {
              json = undefined
            }
          }
          return { status: response.status, json } satisfies CatalogResponse
        },
        catch: (error) =>
          new CatalogUnreachable({
            reason: `${request.method} ${url.pathname}: ${describeFetchError(error)}`,
            timedOut: error instanceof Error && error.name === "TimeoutError"
          })
      })
    })

  const send = (request: CatalogRequest) =>
    Effect.gen(function*() {
      const response = yield* once(request)
      if (response.status !== 401) return response
      // A rejected token was not acted on: asking again with a new one is safe, even for a commit.
      if (!(yield* options.auth.rejected)) return response
      return yield* once(request)
    })

  const read = (request: CatalogRequest) =>
    Effect.gen(function*() {
      for (let attempt = 1; ; attempt++) {
        const outcome = yield* send(request).pipe(Effect.result)
        const last = attempt >= options.readAttempts
        if (outcome._tag === "Success") {
          if (!retryable(outcome.success.status) || last) return outcome.success
        } else if (outcome.failure._tag === "InfrastructureError") {
          return yield* outcome.failure
        } else if (last) {
          return yield* new InfrastructureError({
            reason: `the Iceberg catalog did not answer after ${attempt} tries: ${outcome.failure.reason}`,
            unreachable: "catalog"
          })
        }
        readRetries++
        yield* Effect.sleep(backoffDelay(attempt - 1))
      }
    })

  return { send, read, readRetries: () => readRetries }
}

const describeFetchError = (error: unknown): string => {
  if (error instanceof Error) {
    if (error.name === "TimeoutError") return "no answer in time"
    const cause = (error as { cause?: unknown }).cause
    const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined
    return code === undefined ? error.message : `${error.message} (${code})`
  }
  return String(error)
}
