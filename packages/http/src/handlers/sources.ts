import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { SourceService } from "@ingest/domain"
import { ApiBadRequest, Api, CurrentTenant, maxConnectionConfigChars, SourceListResponse } from "../api/index.ts"
import { handled, refuse } from "../error-mapping.ts"
import { discoverView, sourceView } from "../views.ts"
import { jsonAnswer } from "./json-answer.ts"

const configTooLarge = (config: unknown) =>
  config !== undefined && JSON.stringify(config).length > maxConnectionConfigChars
    ? refuse(ApiBadRequest.create, "connectionConfig is larger than 64 KiB")
    : Effect.void

export const SourcesHandlers = HttpApiBuilder.group(Api, "sources", Effect.fn(function*(handlers) {
  const sources = yield* SourceService
  return handlers
    .handle("create", ({ payload }) =>
      Effect.gen(function*() {
        yield* configTooLarge(payload.connectionConfig)
        return sourceView(yield* sources.create(yield* CurrentTenant, payload).pipe(handled))
      }))
    .handle("list", () =>
      CurrentTenant.use((tenant) =>
        sources.list(tenant).pipe(Effect.map((all) => jsonAnswer(SourceListResponse, all.map(sourceView))), handled)
      ))
    .handle("get", ({ params }) => CurrentTenant.use((tenant) => sources.get(tenant, params.sourceId).pipe(Effect.map(sourceView), handled)))
    .handle("update", ({ params, payload }) =>
      Effect.gen(function*() {
        yield* configTooLarge(payload.connectionConfig)
        return sourceView(yield* sources.update(yield* CurrentTenant, params.sourceId, payload).pipe(handled))
      }))
    .handle("remove", ({ params }) => CurrentTenant.use((tenant) => sources.remove(tenant, params.sourceId).pipe(Effect.asVoid, handled)))
    .handle("test", ({ params }) => CurrentTenant.use((tenant) => sources.test(tenant, params.sourceId).pipe(Effect.map(sourceView), handled)))
    .handle("discover", ({ params }) =>
      CurrentTenant.use((tenant) => sources.discover(tenant, params.sourceId).pipe(Effect.map(discoverView), handled)))
}))
