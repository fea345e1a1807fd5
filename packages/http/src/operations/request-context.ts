import { Cause, Clock, Effect, Exit, Metric, Option, Ref } from "effect"
import { HttpEffect, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { Lifecycle, tracked } from "@ingest/adapters/lifecycle"
import { httpRequestDuration } from "@ingest/adapters/observability/metrics"
import { unreachableDependency } from "@ingest/adapters/outages"
import { errorBody } from "../api/index.ts"
import { dependencyName, outageAnswer, pathOf, retryAfterSeconds } from "../error-mapping.ts"

// Around every request: its id (the caller's X-Request-Id when it is sane, else a new one),
// echoed on the response and carried by every log line and the request's span; the request
// counted while in flight (shutdown waits for it); one log line and one duration sample (by
// route template) when it ends; and failures that escaped the handlers answered with the
// standard error body: a dependency outage names what is unreachable (error-mapping.ts), anything
// else is an internal error, never internals. A 503 of the API asks to retry after a few seconds.

const requestIdPattern = /^[A-Za-z0-9._:@\/+=-]{1,128}$/

const requestIdOf = (header: string | undefined): string =>
  header !== undefined && requestIdPattern.test(header) ? header : crypto.randomUUID()

/** The answer for a failure no handler turned into a response (defects, outages). */
const answerFailure = (cause: Cause.Cause<unknown>, path: string) =>
  Effect.gen(function*() {
    const dependency = unreachableDependency(cause)
    if (Option.isSome(dependency)) {
      const error = Cause.squash(cause)
      yield* Effect.logError(`${dependencyName[dependency.value]} is unreachable: ${error instanceof Error ? error.message : String(error)}`)
      const { status, message } = outageAnswer(dependency.value)
      return HttpServerResponse.jsonUnsafe(errorBody(status, message, path), { status })
    }
    yield* Effect.logError("Request failed", cause)
    return HttpServerResponse.jsonUnsafe(errorBody(500, "Internal server error", path), { status: 500 })
  })

/** Whether a failure is the framework's own answer (a response carried as a failure, an abort). */
const isFrameworkAnswer = (cause: Cause.Cause<unknown>) =>
  Cause.hasInterruptsOnly(cause) ||
  cause.reasons.some((reason) =>
    (reason._tag === "Die" && HttpServerResponse.isHttpServerResponse(reason.defect)) ||
    (reason._tag === "Fail" && typeof reason.error === "object" && reason.error !== null && "_tag" in reason.error &&
      reason.error._tag === "HttpServerError")
  )

export const RequestContext = HttpRouter.middleware((httpEffect) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const requestId = requestIdOf(request.headers["x-request-id"])
    return yield* observed(httpEffect, request, requestId).pipe(Effect.annotateLogs({ requestId }))
  }), { global: true })

const observed = <E, R>(
  httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  request: HttpServerRequest.HttpServerRequest,
  requestId: string
) =>
  Effect.gen(function*() {
    const lifecycle = yield* Effect.serviceOption(Lifecycle)
    const path = pathOf(request.url)
    const started = yield* Clock.currentTimeNanos
    yield* HttpEffect.appendPreResponseHandler((_, response) =>
      Effect.gen(function*() {
        const withId = HttpServerResponse.setHeaders(response, {
          "x-request-id": requestId,
          // A dependency's outage (readiness answers 503 for other reasons: it has its own probe period).
          ...(response.status === 503 && !path.startsWith("/health/") ? { "retry-after": String(retryAfterSeconds) } : {})
        })
        // A draining process closes each connection after its answer, so that closing the
        // server does not wait for idle keep-alive connections.
        const draining = Option.isSome(lifecycle) && (yield* Ref.get(lifecycle.value.draining))
        return draining ? HttpServerResponse.setHeader(withId, "connection", "close") : withId
      })
    )
    yield* Effect.annotateCurrentSpan({ "http.request.id": requestId })
    const run = httpEffect.pipe(
      Effect.catchCause((cause) => isFrameworkAnswer(cause) ? Effect.failCause(cause) : answerFailure(cause, path))
    )
    const exit = yield* (Option.isSome(lifecycle) ? tracked(lifecycle.value.inFlightRequests)(run) : run).pipe(Effect.exit)
    // The router records the matched route for the request; unmatched ones share one label.
    const route = Option.match(yield* Effect.serviceOption(HttpRouter.RouteContext), {
      onNone: () => "unmatched",
      onSome: (context) => context.route.path
    })
    const status = Exit.isSuccess(exit) ? exit.value.status : Cause.hasInterruptsOnly(exit.cause) ? 499 : 500
    const seconds = Number((yield* Clock.currentTimeNanos) - started) / 1e9
    yield* Metric.update(
      Metric.withAttributes(httpRequestDuration, { method: request.method, route, status: String(status) }),
      seconds
    )
    yield* Effect.logInfo(`${request.method} ${path} ${status} ${Math.round(seconds * 1000)} ms`).pipe(
      Effect.annotateLogs({ "http.route": route, "http.status": status })
    )
    return yield* exit
  })
