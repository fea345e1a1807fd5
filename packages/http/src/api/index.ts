// The HTTP API contract, importable by clients without the server: one file per endpoint group
// (paths relative to the group), assembled here under /api/v1. The server implements it
// (../handlers), the CLI derives its client from it (HttpApiClient), the OpenAPI document is made from it.
import { HttpApi, OpenApi } from "effect/http-api"
import { withIcebergCatalogPaths } from "../iceberg-catalog/openapi.ts"
import { ConnectionsGroup } from "./connections.ts"
import { FilesGroup } from "./files.ts"
import { PublicGroup } from "./public.ts"
import { RequestValidation } from "./security.ts"
import { SourcesGroup } from "./sources.ts"
import { SyncsGroup } from "./syncs.ts"

export * from "./connections.ts"
export * from "./errors.ts"
export * from "./files.ts"
export * from "./public.ts"
export * from "./security.ts"
export * from "./sources.ts"
export * from "./syncs.ts"

/** Where the API is served. */
export const apiPrefix = "/api/v1"

export class Api extends HttpApi.make("ingestion-service")
  .add(PublicGroup)
  .add(SourcesGroup)
  .add(ConnectionsGroup)
  .add(SyncsGroup)
  .add(FilesGroup)
  .prefix(apiPrefix)
  .middleware(RequestValidation)
  .annotateMerge(OpenApi.annotations({
    title: "Ingestion Service API",
    version: "1.0.0",
    description: "Bring data from connectors and files into Apache Iceberg tables. Bearer JWT + X-Tenant-Id.",
    transform: withIcebergCatalogPaths
  })) {}
