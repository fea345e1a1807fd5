import { EngineUnavailable } from "@ingest/domain"
import { Cause, Clock, Effect, Exit, Metric, Option, Redacted, Ref, Schedule, Schema, Semaphore } from "effect"
import { airbyteCallsTotal } from "../observability/metrics.ts"
import { HttpClient, HttpClientRequest } from "effect/http"
import { parse as parseLosslessJson } from "lossless-json"
import type { AirbyteConfig } from "./config.ts"
import { tokenRefreshAt } from "./token.ts"

export type AirbyteApi = "public" | "config"

export interface AirbyteRequest {
  readonly api: AirbyteApi
  readonly method: "GET" | "POST" | "PATCH" | "DELETE"
  /** Path below the API base, e.g. `/sources/<id>`. */
  readonly path: string
  /** JSON body; use `rawJson` instead when exact 64-bit integers must go out. */
  readonly body?: unknown
  readonly rawJson?: string
  readonly urlParams?: Readonly<Record<string, string>>
  /**
   * Safe to send again after a 5xx, a network error or a timeout (reads, updates that set a
   * full state, deletes). Creates are never retried: a lost answer may hide a created resource.
   */
  readonly idempotent: boolean
  readonly timeoutMs?: number
  /** What the call does, for error messages (`create source`). */
  readonly operation: string
  /** Values (e.g. source secrets) to blank out of any error detail Airbyte echoes back. */
  readonly secrets?: ReadonlyArray<string>
}

export interface AirbyteResponse {
  readonly status: number
  readonly body: unknown
}

/** Airbyte understood the call and refused it (4xx other than an expired token). */
export class AirbyteRejected extends Schema.TaggedError<AirbyteRejected>()("AirbyteRejected", {
  status: Schema.Number,
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `Airbyte rejected ${this.operation} (HTTP ${this.status})${this.detail === "" ? "" : `: ${this.detail}`}`
  }
}

/** A failure worth trying again: network error, timeout or 5xx. */
class Transient {
  readonly _tag = "Transient"
  readonly detail: string
  constructor(detail: string) {
    this.detail = detail
  }
}

class Unauthorized {
  readonly _tag = "Unauthorized"
  readonly detail: string
  constructor(detail: string) {
    this.detail = detail
  }
}

const maxDetailLength = 300

/** Numbers beyond 2^53 (Airbyte's int64 job ids) stay exact as digit strings. */
const parseJson = (text: string): unknown =>
  parseLosslessJson(text, null, (value) => {
    const number = Number(value)
    return Number.isSafeInteger(number) || (!/^-?\d+$/.test(value) && Number.isFinite(number)) ? number : value
  })

/** A short, secret-free description of an error body (RFC 9457 problem or Airbyte's own shapes). */
export const describeErrorBody = (text: string, secrets: ReadonlyArray<string> = []): string => {
  let detail = text.trim()
  try {
    const body = JSON.parse(text) as Record<string, unknown>
    const parts = [body["title"], body["detail"], body["message"], body["exceptionMessage"]]
      .filter((part): part is string => typeof part === "string" && part.length > 0)
    detail = [...new Set(parts)].join(": ") || detail
  } catch {
    // not JSON: keep the text
  }
  for (const secret of secrets) {
    if (secret.length >= 4) detail = detail.split(secret).join("***")
  }
  return detail.length > maxDetailLength ? `${detail.slice(0, maxDetailLength)}…` : detail
}

const isTimeout = (error: unknown) =>
  typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "TimeoutError"

export interface AirbyteClient {
  readonly call: (request: AirbyteRequest) => Effect.Effect<AirbyteResponse, EngineUnavailable | AirbyteRejected>
  /** Forgets the cached access token (the next call fetches a new one). */
  readonly invalidateToken: Effect.Effect<void>
}

interface CachedToken {
  readonly token: Redacted.Redacted<string>
  readonly refreshAt: number
}

/**
 * HTTP access to both Airbyte APIs: client-credentials token (renewed before the JWT's own
 * `exp`), per-attempt timeout, exponential retries of idempotent calls, and one error vocabulary:
 * unreachable / 5xx → `EngineUnavailable`, other 4xx → `AirbyteRejected`.
 * Bodies, tokens and secrets are never logged.
 */
export const makeAirbyteClient = (config: AirbyteConfig) =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    const cached = yield* Ref.make(Option.none<CachedToken>())
    const refreshLock = yield* Semaphore.make(1)

    const baseOf = (api: AirbyteApi) => (api === "public" ? config.apiUrl : config.configApiUrl)

    const unavailable = (detail: string) => new EngineUnavailable({ reason: `Airbyte API unreachable: ${detail}` })

    const retrySchedule = Schedule.exponential(config.retryBaseDelayMs).pipe(Schedule.jittered)

    /** One HTTP exchange: status and body text, or why there is none. */
    const exchange = (request: HttpClientRequest.HttpClientRequest, timeoutMs: number, label: string) =>
      http.execute(request).pipe(
        Effect.flatMap((response) => Effect.map(response.text, (text) => ({ status: response.status, text }))),
        Effect.timeout(timeoutMs),
        Effect.mapError((error) =>
          isTimeout(error)
            ? new Transient(`${label} timed out after ${Math.round(timeoutMs / 1000)} s`)
            : new Transient(`${label}: ${(error as { message?: string }).message ?? String(error)}`)
        )
      )

    const fetchToken = Effect.gen(function*() {
      const label = "POST /applications/token"
      const request = HttpClientRequest.post(`${config.apiUrl}/applications/token`, { acceptJson: true }).pipe(
        HttpClientRequest.bodyJsonUnsafe({
          grant_type: "client_credentials",
          client_id: config.clientId,
          client_secret: Redacted.value(config.clientSecret)
        })
      )
      const answer = yield* exchange(request, config.timeoutMs, label).pipe(
        Effect.flatMap((answer) =>
          answer.status >= 500 ? Effect.fail(new Transient(`${label} answered HTTP ${answer.status}`)) : Effect.succeed(answer)
        ),
        Effect.retry({ schedule: retrySchedule, times: config.maxRetries }),
        Effect.mapError((transient) => unavailable(transient.detail))
      )
      if (answer.status < 200 || answer.status >= 300) {
        return yield* unavailable(
          `token request rejected (HTTP ${answer.status}): ${describeErrorBody(answer.text, [Redacted.value(config.clientSecret)])}`
        )
      }
      const body = yield* Effect.try({ try: () => JSON.parse(answer.text) as unknown, catch: () => unavailable("token response is not JSON") })
      const token = (body as { access_token?: unknown }).access_token
      if (typeof token !== "string" || token.length === 0) return yield* unavailable("token response has no access_token")
      const expiresIn = (body as { expires_in?: unknown }).expires_in
      const now = yield* Clock.currentTimeMillis
      const refreshAt = tokenRefreshAt(token, now, config.tokenRefreshSkewMs, typeof expiresIn === "number" ? expiresIn : undefined)
      const fresh: CachedToken = { token: Redacted.make(token), refreshAt }
      yield* Ref.set(cached, Option.some(fresh))
      return fresh.token
    })

    const usable = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      return Option.filter(yield* Ref.get(cached), (token) => now < token.refreshAt)
    })

    /** The current token; one fetch at a time, callers waiting on it reuse its result. */
    const token = usable.pipe(
      Effect.flatMap((current) =>
        Option.isSome(current)
          ? Effect.succeed(current.value.token)
          : refreshLock.withPermit(
            usable.pipe(
              Effect.flatMap((again) => (Option.isSome(again) ? Effect.succeed(again.value.token) : fetchToken))
            )
          )
      )
    )

    const invalidateToken = Ref.set(cached, Option.none())

    const call = (request: AirbyteRequest): Effect.Effect<AirbyteResponse, EngineUnavailable | AirbyteRejected> => {
      const label = `${request.method} ${request.path}`
      const timeoutMs = request.timeoutMs ?? config.timeoutMs
      const attempt = Effect.gen(function*() {
        const bearer = yield* token
        let httpRequest = HttpClientRequest.make(request.method)(`${baseOf(request.api)}${request.path}`, {
          acceptJson: true,
          ...(request.urlParams === undefined ? {} : { urlParams: request.urlParams })
        }).pipe(HttpClientRequest.bearerToken(Redacted.value(bearer)))
        if (request.rawJson !== undefined) {
          httpRequest = HttpClientRequest.bodyText(httpRequest, request.rawJson, "application/json")
        } else if (request.body !== undefined) {
          httpRequest = HttpClientRequest.bodyJsonUnsafe(httpRequest, request.body)
        }
        const answer = yield* exchange(httpRequest, timeoutMs, label)
        if (answer.status >= 500) {
          return yield* Effect.fail(
            new Transient(`${label} answered HTTP ${answer.status}${answer.text === "" ? "" : `: ${describeErrorBody(answer.text, request.secrets)}`}`)
          )
        }
        if (answer.status === 401) return yield* Effect.fail(new Unauthorized(describeErrorBody(answer.text, request.secrets)))
        if (answer.status < 200 || answer.status >= 300) {
          return yield* new AirbyteRejected({
            status: answer.status,
            operation: request.operation,
            detail: describeErrorBody(answer.text, request.secrets)
          })
        }
        const body = answer.text.trim() === "" ? null : yield* Effect.try({
          try: () => parseJson(answer.text),
          catch: () => new Transient(`${label} answered a body that is not JSON`)
        })
        return { status: answer.status, body }
      })

      const withRetries = request.idempotent
        ? attempt.pipe(
          Effect.tapError((error) =>
            error._tag === "Transient" ? Effect.logDebug(`Airbyte call failed, will retry: ${error.detail}`) : Effect.void
          ),
          Effect.retry({
            schedule: retrySchedule,
            times: config.maxRetries,
            while: (error) => error._tag === "Transient"
          })
        )
        : attempt

      // A 401 means the token was revoked or expired early: fetch a new one and try once more.
      const withFreshToken = withRetries.pipe(
        Effect.catchIf(
          (error): error is Unauthorized => error._tag === "Unauthorized",
          () => Effect.andThen(invalidateToken, withRetries)
        )
      )

      return withFreshToken.pipe(
        Effect.catch((error) => {
          switch (error._tag) {
            case "Transient":
              return Effect.fail(unavailable(error.detail))
            case "Unauthorized":
              return Effect.fail(unavailable(`${label} was refused with HTTP 401 even with a fresh token: ${error.detail}`))
            default:
              return Effect.fail(error)
          }
        }),
        Effect.onExit((exit) => {
          const outcome = Exit.isSuccess(exit)
            ? "ok"
            : Cause.hasInterruptsOnly(exit.cause)
            ? "interrupted"
            : Option.exists(Cause.findErrorOption(exit.cause), (error) => error._tag === "AirbyteRejected")
            ? "rejected"
            : "unavailable"
          return Metric.update(Metric.withAttributes(airbyteCallsTotal, { outcome }), 1)
        })
      )
    }

    return { call, invalidateToken } satisfies AirbyteClient
  })
