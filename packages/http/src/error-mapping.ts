import { Effect } from "effect"
import { HttpServerRequest } from "effect/http"
import type { Dependency } from "@ingest/adapters/outages"
import type {
  Conflict,
  EngineUnavailable,
  EngineUnsupported,
  InfrastructureError,
  Invalid,
  NotFound,
  UnreadableFile
} from "@ingest/domain"
import {
  ApiBadGateway,
  ApiBadRequest,
  ApiConflict,
  ApiInternal,
  ApiNotFound,
  ApiPayloadTooLarge,
  ApiServiceUnavailable,
  ApiUnprocessable
} from "./api/errors.ts"

// Failures become the standard error body; its `path` is the request's, read here once.

/** The path of a request URL, without the query. */
export const pathOf = (url: string) => new URL(url, "http://localhost").pathname

/** The path of the request being served. */
export const requestPath = HttpServerRequest.HttpServerRequest.useSync((request) => pathOf(request.url))

/** Fails with the API error `create` makes for the request being served. */
export const refuse = <E>(create: (message: string, path: string) => E, message: string) =>
  Effect.flatMap(requestPath, (path) => Effect.fail(create(message, path)))

/**
 * The answer to a request that a dependency's outage failed: the standard body naming what is
 * unreachable, never internals (hosts, keys, SDK errors). 503 for object storage and the catalog,
 * with Retry-After; 500 for the database, as the reference says for "database connection failure".
 */
export const outageAnswer = (dependency: Dependency): { readonly status: 500 | 503; readonly message: string } => ({
  status: dependency === "database" ? 500 : 503,
  message: `${dependencyName[dependency]} is unreachable, so the request could not be completed. Try again shortly.`
})

/** How answers and logs name a dependency. */
export const dependencyName: Record<Dependency, string> = {
  database: "The database",
  "object storage": "Object storage",
  catalog: "The Iceberg catalog"
}

/** Seconds a client is asked to wait (Retry-After) before trying a request that answered 503 again. */
export const retryAfterSeconds = 5

export type DomainError = NotFound | Invalid | Conflict | EngineUnavailable | EngineUnsupported | UnreadableFile | InfrastructureError

/** Maps a domain failure to the API error that reports it. */
export const toApiError = (error: DomainError, path: string) => {
  switch (error._tag) {
    case "NotFound":
      return ApiNotFound.create(error.message, path)
    case "Invalid":
      return ApiBadRequest.create(error.message, path)
    case "Conflict":
      return ApiConflict.create(error.message, path)
    case "EngineUnavailable":
      return ApiBadGateway.create(error.message, path)
    case "EngineUnsupported":
      return ApiBadRequest.create(error.message, path)
    case "UnreadableFile":
      return error.kind === "too-large"
        ? ApiPayloadTooLarge.create(error.message, path)
        : error.kind === "corrupt"
        ? ApiUnprocessable.create(error.message, path)
        : ApiBadRequest.create(error.message, path)
    case "InfrastructureError":
      return error.unreachable === undefined
        ? ApiInternal.create(error.message, path)
        : ApiServiceUnavailable.create(outageAnswer(error.unreachable).message, path)
  }
}

/**
 * Runs a use case and reports its domain failures as API errors for the request being served; an
 * outage's details, which the answer leaves out, go to the log.
 */
export const handled = <A, R>(effect: Effect.Effect<A, DomainError, R>) =>
  Effect.catch(effect, (error) =>
    Effect.gen(function*() {
      if (error._tag === "InfrastructureError" && error.unreachable !== undefined) {
        yield* Effect.logWarning(`${dependencyName[error.unreachable]} is unreachable: ${error.reason}`)
      }
      return yield* Effect.fail(toApiError(error, yield* requestPath))
    }))
