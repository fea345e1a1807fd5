import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"

/** Tenant-independent lists: no token, no tenant. */
export class PublicGroup extends HttpApiGroup.make("public")
  .add(
    HttpApiEndpoint.get("connectorTypes", "/sources/connector-types", { success: Schema.Array(Schema.String) }),
    HttpApiEndpoint.get("fileFormats", "/files/formats", { success: Schema.Array(Schema.String) })
  )
  .annotateMerge(OpenApi.annotations({ title: "Catalogue", description: "Tenant-independent lists" })) {}
