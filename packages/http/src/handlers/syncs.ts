import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { SyncService } from "@ingest/domain"
import { ApiBadRequest, Api, CurrentTenant, parseSort, sortFields, SyncPageResponse } from "../api/index.ts"
import { handled, refuse } from "../error-mapping.ts"
import { syncView } from "../views.ts"
import { jsonAnswer } from "./json-answer.ts"

export const SyncsHandlers = HttpApiBuilder.group(Api, "syncs", Effect.fn(function*(handlers) {
  const syncs = yield* SyncService
  return handlers
    .handle("trigger", ({ params }) =>
      CurrentTenant.use((tenant) => syncs.trigger(tenant, params.connectionId).pipe(Effect.map(syncView), handled)))
    .handle("cancel", ({ params }) => CurrentTenant.use((tenant) => syncs.cancel(tenant, params.syncId).pipe(Effect.asVoid, handled)))
    .handle("get", ({ params }) => CurrentTenant.use((tenant) => syncs.get(tenant, params.syncId).pipe(Effect.map(syncView), handled)))
    .handle("list", ({ query }) =>
      Effect.gen(function*() {
        const sort = parseSort(query.sort)
        if (sort === undefined) {
          return yield* refuse(
            ApiBadRequest.create,
            `sort must be "field" or "field,asc|desc" with field one of ${sortFields.join(", ")}; got "${query.sort}"`
          )
        }
        const page = yield* syncs.history(yield* CurrentTenant, {
          connectionId: query.connectionId,
          page: query.page ?? 0,
          size: query.size ?? 20,
          sort
        }).pipe(handled)
        return jsonAnswer(SyncPageResponse, { ...page, content: page.content.map(syncView) })
      }))
}))
