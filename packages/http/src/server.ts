import { Effect, Layer, SchemaIssue } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder, HttpApiMiddleware } from "effect/http-api"
import { ApiDocsRoute } from "./api-docs.ts"
import { ApiBadRequest, Api, errorBody, RequestValidation } from "./api/index.ts"
import { AuthenticationLive, TenantAccessLive } from "./auth.ts"
import { pathOf } from "./error-mapping.ts"
import { ApiHandlers } from "./handlers/index.ts"
import { ConsoleRoutes } from "./console.ts"
import { IcebergCatalogRoutes } from "./iceberg-catalog/index.ts"
import { Readiness } from "./settings.ts"

/** Request-decoding failures become the standard 400 body, naming what was wrong. */
const RequestValidationLive = HttpApiMiddleware.layerSchemaErrorTransform(
  RequestValidation,
  Effect.fnUntraced(function*(error) {
    if (error.kind === "ResponseHeaders") return yield* Effect.fail(error)
    const request = yield* HttpServerRequest.HttpServerRequest
    const detail = SchemaIssue.makeFormatterDefault()(error.cause.issue)
    const where = error.kind === "Headers" && detail.includes("x-tenant-id")
      ? "X-Tenant-Id header must be a tenant UUID"
      : `Invalid ${error.kind.toLowerCase()}`
    return yield* Effect.fail(ApiBadRequest.create(`${where}: ${detail.replace(/\s+/g, " ").trim()}`, pathOf(request.url)))
  })
)

/**
 * Framework answers without a body (415 on a wrong content type, a 500 from a defect, …) get
 * the standard error body too.
 */
const ErrorShape = HttpRouter.middleware((httpEffect) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const response = yield* httpEffect
    const contentType = response.headers["content-type"]
    // A HEAD answer has no body: its status says it all.
    if (request.method === "HEAD") return response
    if (response.status >= 400 && (contentType === undefined || contentType.startsWith("text/plain"))) {
      const message = response.status === 415
        ? "Unsupported content type"
        : response.status === 405
        ? "Method not allowed"
        : response.status >= 500
        ? "Internal server error"
        : "Request rejected"
      return HttpServerResponse.jsonUnsafe(errorBody(response.status, message, pathOf(request.url)), { status: response.status })
    }
    return response
  }), { global: true })

/** Unknown routes: 404 with the standard body (lowest priority catch-all). */
const NotFoundRoute = HttpRouter.add("*", "/*", (request) =>
  Effect.succeed(
    HttpServerResponse.jsonUnsafe(errorBody(404, `No route for ${request.method} ${pathOf(request.url)}`, pathOf(request.url)), {
      status: 404
    })
  ))

const HealthRoutes = Layer.unwrap(
  Effect.gen(function*() {
    const readiness = yield* Readiness
    return Layer.mergeAll(
      HttpRouter.add("GET", "/health/live", Effect.succeed(HttpServerResponse.jsonUnsafe({ status: "UP" }))),
      HttpRouter.add(
        "GET",
        "/health/ready",
        readiness.check.pipe(
          Effect.as(HttpServerResponse.jsonUnsafe({ status: "UP" })),
          Effect.catch((reason) => Effect.succeed(HttpServerResponse.jsonUnsafe({ status: "DOWN", reason }, { status: 503 })))
        )
      )
    )
  })
)

/** The API's routes with the standard error bodies; needs the use-case services, TokenVerifier and UploadSettings. */
export const ApiRoutes = Layer.mergeAll(
  HttpApiBuilder.layer(Api, { openapiPath: "/api/v1/openapi.json" }).pipe(
    Layer.provide(ApiHandlers),
    Layer.provide([AuthenticationLive, TenantAccessLive, RequestValidationLive])
  ),
  ErrorShape,
  NotFoundRoute
)

/** Every route of the service; needs the use-case services, TokenVerifier, UploadSettings, Readiness and ConsoleDevTokens. */
export const AppRoutes = Layer.mergeAll(
  ApiRoutes,
  ApiDocsRoute,
  IcebergCatalogRoutes,
  ConsoleRoutes,
  HealthRoutes
)
