import type { Scope } from "effect"
import { Context, Effect, Layer } from "effect"
import { FetchHttpClient, HttpClientRequest } from "effect/http"
import type { HttpApiClient } from "effect/http-api"
import { HttpApiClient as Client, HttpApiMiddleware } from "effect/http-api"
import { Api, Authentication } from "@ingest/http/api"
import { streamFormData } from "./upload-progress.ts"

export type IngestClient = HttpApiClient.ForApi<typeof Api>

/** How a command reaches the service, and what it talks to. */
export interface Connection {
  /** The API, typed by the same contract the server implements. */
  readonly client: IngestClient
  readonly mode: "remote" | "local-service" | "in-process"
  /** Where the commands go, for messages: a URL or the data dir. */
  readonly target: string
  /**
   * This process's share of background work (queued imports, sync jobs) while a command waits:
   * the workers in process, nothing when a service does the work.
   */
  readonly background: Effect.Effect<void, unknown>
}

export class IngestApi extends Context.Service<IngestApi, Connection>()("ingest/cli/IngestApi") {}

/**
 * The typed client over `fetch` (the network, or the service's routes in process) with the
 * bearer token on every authenticated call.
 */
export const makeClient = (options: {
  readonly baseUrl: string
  readonly token: string | undefined
  readonly fetch?: typeof globalThis.fetch | undefined
}): Effect.Effect<IngestClient, never, Scope.Scope> =>
  Client.make(Api, { baseUrl: options.baseUrl, transformClient: streamFormData }).pipe(
    Effect.provide(
      Layer.mergeAll(
        HttpApiMiddleware.layerClient(Authentication, ({ next, request }) =>
          next(options.token === undefined ? request : HttpClientRequest.bearerToken(request, options.token))),
        options.fetch === undefined
          ? FetchHttpClient.layer
          : FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, options.fetch)))
      )
    )
  )
