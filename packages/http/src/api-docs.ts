import { Effect, Scope } from "effect"
import { HttpRouter } from "effect/http"
import { HttpApiScalar } from "effect/http-api"
import { Api } from "./api/index.ts"

// The API reference page (Scalar, over the service's OpenAPI document) at /api/v1/docs. Scalar's
// script, served inline so that the page needs no CDN, is a 6 MB module that stays in the heap
// once loaded (about 12 MiB, its source and its string): it loads on the first request for the
// page instead of with the service, which most services never serve it to.

const docsPath = "/api/v1/docs"

export const ApiDocsRoute = HttpRouter.use(Effect.fnUntraced(function*(router) {
  const scope = yield* Effect.scope
  // Built once, on first use, in the layer's scope: a router with Scalar's page on it.
  const page = yield* Effect.cached(
    HttpRouter.toHttpEffect(HttpApiScalar.layer(Api, { path: docsPath })).pipe(Scope.provide(scope))
  )
  yield* router.add("GET", docsPath, Effect.flatten(page))
}))
