import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ConnectionService } from "@ingest/domain"
import { Api, ConnectionListResponse, CurrentTenant } from "../api/index.ts"
import { handled } from "../error-mapping.ts"
import { connectionView } from "../views.ts"
import { jsonAnswer } from "./json-answer.ts"

export const ConnectionsHandlers = HttpApiBuilder.group(Api, "connections", Effect.fn(function*(handlers) {
  const connections = yield* ConnectionService
  return handlers
    .handle("create", ({ payload }) =>
      CurrentTenant.use((tenant) => connections.create(tenant, payload).pipe(Effect.map(connectionView), handled)))
    .handle("list", () =>
      CurrentTenant.use((tenant) => connections.list(tenant).pipe(
        Effect.map((all) => jsonAnswer(ConnectionListResponse, all.map(connectionView))),
        handled
      )))
    .handle("get", ({ params }) =>
      CurrentTenant.use((tenant) => connections.get(tenant, params.connectionId).pipe(Effect.map(connectionView), handled)))
    .handle("update", ({ params, payload }) =>
      CurrentTenant.use((tenant) => connections.update(tenant, params.connectionId, payload).pipe(Effect.map(connectionView), handled)))
    .handle("remove", ({ params }) =>
      CurrentTenant.use((tenant) => connections.remove(tenant, params.connectionId).pipe(Effect.asVoid, handled)))
}))
