import { Effect } from "effect"
import { HttpServerRequest } from "effect/http"
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
      return ApiInternal.create(error.message, path)
  }
}

/** Runs a use case and reports its domain failures as API errors for the request being served. */
export const handled = <A, R>(effect: Effect.Effect<A, DomainError, R>) =>
  Effect.catch(effect, (error) => Effect.flatMap(requestPath, (path) => Effect.fail(toApiError(error, path))))
