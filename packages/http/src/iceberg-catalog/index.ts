// The Iceberg REST catalog endpoint at /api/v1/iceberg: an engine's request → bearer token and
// permission → the tenant (tenancy.ts) → the body decoded losslessly and checked (requests.ts) →
// the served catalog, under the tenant's root namespace → the protocol's JSON, or an
// IcebergErrorResponse (errors.ts). Imports and syncs commit to the same catalog.
import type { InfrastructureError, TableIdent } from "@ingest/domain"
import type {
  CommitConflict,
  CommitStateUnknown,
  CreateTableRequest,
  LoadedTable,
  TableAlreadyExists,
  TableRequirement,
  TableUpdate
} from "@ingest/adapters/iceberg/table-catalog"
import type {
  InvalidCommit,
  NamespaceAlreadyExists,
  NamespaceNotEmpty,
  NoSuchNamespace,
  NoSuchTable
} from "@ingest/adapters/iceberg/served-catalog"
import { ServedCatalog } from "@ingest/adapters/iceberg/served-catalog"
import { parseIcebergJson, stringifyIcebergJson } from "@ingest/adapters/iceberg/json"
import { Effect, Layer, Schema, SchemaIssue } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { Principal } from "../api/index.ts"
import { MANAGE_PERMISSION, READ_PERMISSION, TokenVerifier } from "../auth.ts"
import { pathOf } from "../error-mapping.ts"
import { IcebergError, icebergErrorResponse } from "./errors.ts"
import { catalogBasePath } from "./paths.ts"
import {
  CommitTableBody,
  CreateNamespaceBody,
  CreateTableBody,
  RenameTableBody,
  requirementTypes,
  TableRequirementBody,
  TableUpdateBody,
  updateActions,
  UpdateNamespacePropertiesBody
} from "./requests.ts"
import {
  externalNamespace,
  internalNamespace,
  namespaceParam,
  resolveTenant,
  tableNameParam,
  type TenantCatalog,
  tenantMessage
} from "./tenancy.ts"


/** Bodies above this are refused (a commit carries metadata updates, not data). */
const maxBodyBytes = 8 * 1024 * 1024
const maxPageSize = 1000

type CatalogFailure =
  | IcebergError
  | NoSuchNamespace
  | NamespaceAlreadyExists
  | NamespaceNotEmpty
  | NoSuchTable
  | TableAlreadyExists
  | CommitConflict
  | CommitStateUnknown
  | InvalidCommit
  | InfrastructureError

interface Call {
  readonly request: HttpServerRequest.HttpServerRequest
  readonly params: Readonly<Record<string, string | undefined>>
  readonly query: URLSearchParams
  readonly tenant: TenantCatalog
  readonly catalog: typeof ServedCatalog.Service
}

type Handler = (call: Call) => Effect.Effect<HttpServerResponse.HttpServerResponse, CatalogFailure>

const json = (body: unknown, status = 200) =>
  HttpServerResponse.text(stringifyIcebergJson(body), { status, contentType: "application/json" })

const noContent = HttpServerResponse.empty({ status: 204 })

const bad = (message: string) => new IcebergError(400, "BadRequestException", message)

/** Reads and decodes a JSON body: 63-bit numbers stay exact, the shape is checked by `schema`. */
const body = <S extends Schema.Constraint>(call: Call, schema: S) =>
  Effect.gen(function*() {
    const declared = Number(call.request.headers["content-length"] ?? "0")
    if (declared > maxBodyBytes) return yield* Effect.fail(new IcebergError(413, "BadRequestException", "Request body too large"))
    const text = yield* call.request.text.pipe(Effect.mapError(() => bad("The request body could not be read")))
    if (text.length > maxBodyBytes) return yield* Effect.fail(new IcebergError(413, "BadRequestException", "Request body too large"))
    const parsed = yield* Effect.try({
      try: () => parseIcebergJson(text),
      catch: () => bad("The request body is not valid JSON")
    })
    return yield* decode(schema, parsed, "request body")
  })

const decode = <S extends Schema.Constraint>(schema: S, value: unknown, what: string) =>
  Schema.decodeUnknownEffect(schema)(value).pipe(
    Effect.mapError((error) =>
      bad(`Invalid ${what}: ${SchemaIssue.makeFormatterDefault()(error.issue).replace(/\s+/g, " ").trim().slice(0, 500)}`)
    )
  ) as Effect.Effect<S["Type"], IcebergError, never>

// ---------------------------------------------------------------------------------------------
// paging: the token is the last name of the previous page

const page = <A>(call: Call, items: ReadonlyArray<A>, keyOf: (item: A) => string) => {
  const sizeText = call.query.get("pageSize")
  const size = sizeText === null ? maxPageSize : Number(sizeText)
  if (!Number.isInteger(size) || size < 1) throw bad("pageSize must be a positive integer")
  const token = call.query.get("pageToken")
  let after: string | undefined
  if (token !== null && token !== "") {
    try {
      after = Buffer.from(token, "base64url").toString("utf8")
    } catch {
      throw bad("Malformed pageToken")
    }
  }
  const rest = after === undefined ? items : items.filter((item) => keyOf(item) > after)
  const slice = rest.slice(0, Math.min(size, maxPageSize))
  const more = rest.length > slice.length
  return {
    items: slice,
    next: more ? Buffer.from(keyOf(slice[slice.length - 1]!), "utf8").toString("base64url") : undefined
  }
}

// ---------------------------------------------------------------------------------------------
// results

const metadataJson = (loaded: LoadedTable) => {
  const metadata: Record<string, unknown> = { ...loaded.metadata }
  if (metadata["current-snapshot-id"] === undefined) delete metadata["current-snapshot-id"]
  return metadata
}

const loadResult = (call: Call, loaded: LoadedTable) => ({
  "metadata-location": loaded.metadataLocation,
  metadata: metadataJson(loaded),
  config: call.catalog.readerConfig
})

const tableOf = (call: Call): TableIdent => ({
  namespace: internalNamespace(call.tenant, namespaceParam(call.params["namespace"])),
  name: tableNameParam(call.params["table"])
})

/** Where a tenant's files may live: its own part of the warehouse. */
const tenantArea = (call: Call) => `${call.catalog.warehouseRoot}${call.tenant.root}/`

const checkLocation = (call: Call, what: string, location: string) => {
  if (!location.startsWith(tenantArea(call)) || location.includes("/../")) {
    throw bad(`${what} ${location} lies outside this tenant's part of the warehouse (${tenantArea(call)})`)
  }
}

/**
 * Engines may ask for vended credentials (DuckDB does by default). A local warehouse needs none:
 * its files are read by path. This catalog vends none for S3, so there the request is refused
 * rather than answered with a config that looks complete and fails on the first read.
 */
const checkDelegation = (call: Call) => {
  const asked = call.request.headers["x-iceberg-access-delegation"]?.trim()
  if (asked !== undefined && asked !== "" && !call.catalog.warehouseRoot.startsWith("file:")) {
    throw bad(
      `This catalog does not vend storage credentials (X-Iceberg-Access-Delegation: ${asked.slice(0, 100)}): ` +
        "read the warehouse with the engine's own credentials and send no access delegation (DuckDB: ACCESS_DELEGATION_MODE 'none')"
    )
  }
}

// ---------------------------------------------------------------------------------------------
// handlers

const config: Handler = (call) =>
  Effect.succeed(json({
    defaults: {},
    overrides: { prefix: call.tenant.tenant },
    endpoints: [
      "GET /v1/{prefix}/namespaces",
      "POST /v1/{prefix}/namespaces",
      "GET /v1/{prefix}/namespaces/{namespace}",
      "HEAD /v1/{prefix}/namespaces/{namespace}",
      "DELETE /v1/{prefix}/namespaces/{namespace}",
      "POST /v1/{prefix}/namespaces/{namespace}/properties",
      "GET /v1/{prefix}/namespaces/{namespace}/tables",
      "POST /v1/{prefix}/namespaces/{namespace}/tables",
      "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
      "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
      "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}",
      "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}",
      "POST /v1/{prefix}/tables/rename"
    ]
  }))

const listNamespaces: Handler = (call) =>
  Effect.gen(function*() {
    const parentText = call.query.get("parent")
    const parent = parentText === null || parentText === ""
      ? [call.tenant.root]
      : internalNamespace(call.tenant, parentText.split("\u001f"))
    const all = yield* call.catalog.listNamespaces(parent).pipe(
      // A tenant that has nothing yet has no root namespace either.
      Effect.catchTag("NoSuchNamespace", (error) => parent.length === 1 ? Effect.succeed([]) : Effect.fail(error))
    )
    const { items, next } = page(call, all.map((ns) => externalNamespace(call.tenant, ns)), (ns) => ns.join("\u001f"))
    return json({ namespaces: items, ...(next === undefined ? {} : { "next-page-token": next }) })
  })

const createNamespace: Handler = (call) =>
  Effect.gen(function*() {
    const request = yield* body(call, CreateNamespaceBody)
    const namespace = internalNamespace(call.tenant, request.namespace)
    yield* call.catalog.createNamespace(namespace, request.properties ?? {})
    const properties = yield* call.catalog.loadNamespace(namespace)
    return json({ namespace: request.namespace, properties })
  })

const loadNamespace: Handler = (call) =>
  Effect.gen(function*() {
    const levels = namespaceParam(call.params["namespace"])
    const properties = yield* call.catalog.loadNamespace(internalNamespace(call.tenant, levels))
    return call.request.method === "HEAD" ? noContent : json({ namespace: levels, properties })
  })

const dropNamespace: Handler = (call) =>
  call.catalog.dropNamespace(internalNamespace(call.tenant, namespaceParam(call.params["namespace"]))).pipe(
    Effect.as(noContent)
  )

const updateNamespaceProperties: Handler = (call) =>
  Effect.gen(function*() {
    const request = yield* body(call, UpdateNamespacePropertiesBody)
    const removals = request.removals ?? []
    const updates = request.updates ?? {}
    const both = removals.filter((key) => key in updates)
    if (both.length > 0) {
      return yield* Effect.fail(
        new IcebergError(422, "UnprocessableEntityException", `Keys both removed and updated: ${both.join(", ")}`)
      )
    }
    const result = yield* call.catalog.updateNamespaceProperties(
      internalNamespace(call.tenant, namespaceParam(call.params["namespace"])),
      removals,
      updates
    )
    return json(result)
  })

const listTables: Handler = (call) =>
  Effect.gen(function*() {
    const levels = namespaceParam(call.params["namespace"])
    const names = yield* call.catalog.listTables(internalNamespace(call.tenant, levels))
    const { items, next } = page(call, names, (name) => name)
    return json({
      identifiers: items.map((name) => ({ namespace: levels, name })),
      ...(next === undefined ? {} : { "next-page-token": next })
    })
  })

const createTable: Handler = (call) =>
  Effect.gen(function*() {
    checkDelegation(call)
    const request = yield* body(call, CreateTableBody)
    if (request["stage-create"] === true) {
      return yield* Effect.fail(bad("Staged table creation (stage-create) is not supported by this catalog"))
    }
    if (request.location !== undefined) checkLocation(call, "Table location", request.location)
    const namespace = internalNamespace(call.tenant, namespaceParam(call.params["namespace"]))
    const create: CreateTableRequest = {
      schema: { ...request.schema, "schema-id": request.schema["schema-id"] ?? 0 },
      location: request.location,
      properties: request.properties,
      partitionSpec: request["partition-spec"],
      sortOrder: request["write-order"]
    }
    const loaded = yield* call.catalog.createTable({ namespace, name: tableNameParam(request.name) }, create)
    return json(loadResult(call, loaded))
  })

const loadTable: Handler = (call) =>
  Effect.gen(function*() {
    checkDelegation(call)
    const loaded = yield* call.catalog.loadTable(tableOf(call))
    return call.request.method === "HEAD" ? noContent : json(loadResult(call, loaded))
  })

const commitTable: Handler = (call) =>
  Effect.gen(function*() {
    const table = tableOf(call)
    const request = yield* body(call, CommitTableBody)
    const requirements: Array<TableRequirement> = []
    for (const [index, raw] of request.requirements.entries()) {
      const type = (raw as { type?: unknown } | null)?.type
      if (typeof type !== "string" || !(requirementTypes as ReadonlyArray<string>).includes(type)) {
        return yield* Effect.fail(bad(`Unsupported requirement type ${JSON.stringify(type ?? null)} at requirements[${index}]`))
      }
      requirements.push(yield* decode(TableRequirementBody, raw, `requirements[${index}]`) as Effect.Effect<TableRequirement, IcebergError>)
    }
    const updates: Array<TableUpdate> = []
    for (const [index, raw] of request.updates.entries()) {
      const action = (raw as { action?: unknown } | null)?.action
      if (typeof action !== "string" || !(updateActions as ReadonlyArray<string>).includes(action)) {
        return yield* Effect.fail(bad(`Unsupported table update ${JSON.stringify(action ?? null)} at updates[${index}]`))
      }
      const update = yield* decode(TableUpdateBody, raw, `updates[${index}]`)
      updates.push(normalizeUpdate(update))
      if (update.action === "set-location") checkLocation(call, "Table location", update.location)
      if (update.action === "add-snapshot") checkLocation(call, "Manifest list", update.snapshot["manifest-list"])
    }
    const committed = yield* call.catalog.commitTable(table, requirements, updates)
    return json({ "metadata-location": committed.metadataLocation, metadata: metadataJson(committed) })
  })

/** Wire values → the catalog's update shape (bigint ids, snapshot defaults). */
const normalizeUpdate = (update: typeof TableUpdateBody.Type): TableUpdate => {
  switch (update.action) {
    case "add-snapshot": {
      const { "parent-snapshot-id": parent, "sequence-number": sequence, ...snapshot } = update.snapshot
      return {
        action: "add-snapshot",
        snapshot: {
          ...snapshot,
          "snapshot-id": BigInt(update.snapshot["snapshot-id"]),
          "timestamp-ms": BigInt(update.snapshot["timestamp-ms"]),
          "sequence-number": BigInt(sequence ?? 0),
          ...(parent === undefined || parent === null ? {} : { "parent-snapshot-id": BigInt(parent) })
        }
      }
    }
    case "set-snapshot-ref":
      return { ...update, "snapshot-id": BigInt(update["snapshot-id"]) }
    case "remove-snapshots":
      return { ...update, "snapshot-ids": update["snapshot-ids"].map((id) => BigInt(id)) }
    case "add-schema":
      return { ...update, schema: { ...update.schema, "schema-id": update.schema["schema-id"] ?? -1 } }
    default:
      return update as TableUpdate
  }
}

const dropTable: Handler = (call) =>
  call.catalog.dropTable(tableOf(call), call.query.get("purgeRequested") === "true").pipe(Effect.as(noContent))

const renameTable: Handler = (call) =>
  Effect.gen(function*() {
    const request = yield* body(call, RenameTableBody)
    yield* call.catalog.renameTable(
      { namespace: internalNamespace(call.tenant, request.source.namespace), name: request.source.name },
      { namespace: internalNamespace(call.tenant, request.destination.namespace), name: request.destination.name }
    )
    return noContent
  })

// ---------------------------------------------------------------------------------------------
// auth, errors, routes

const bearerOf = (request: HttpServerRequest.HttpServerRequest): string | undefined => {
  const header = request.headers["authorization"]
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1]
}

const failureResponse = (tenant: TenantCatalog | undefined, error: CatalogFailure) => {
  const say = (message: string) => tenant === undefined ? message : tenantMessage(tenant, message)
  if (error instanceof IcebergError) return icebergErrorResponse(error.status, error.type, say(error.message))
  switch (error._tag) {
    case "NoSuchNamespace":
      return icebergErrorResponse(404, "NoSuchNamespaceException", say(error.message))
    case "NamespaceAlreadyExists":
      return icebergErrorResponse(409, "AlreadyExistsException", say(error.message))
    case "NamespaceNotEmpty":
      return icebergErrorResponse(409, "NamespaceNotEmptyException", say(error.message))
    case "NoSuchTable":
      return icebergErrorResponse(404, "NoSuchTableException", say(error.message))
    case "TableAlreadyExists":
      return icebergErrorResponse(409, "AlreadyExistsException", say(`Table already exists: ${error.table}`))
    case "CommitConflict":
      return icebergErrorResponse(409, "CommitFailedException", say(`Commit failed: ${error.reason}`))
    case "InvalidCommit":
      return icebergErrorResponse(400, "BadRequestException", say(error.reason))
    case "CommitStateUnknown":
      return icebergErrorResponse(500, "CommitStateUnknownException", "The commit may or may not have been applied")
    case "InfrastructureError":
      break
  }
  return icebergErrorResponse(503, "ServiceUnavailableException", "The catalog's storage is unavailable; try again")
}

interface Services {
  readonly verifier: typeof TokenVerifier.Service
  readonly catalog: typeof ServedCatalog.Service
}

const serve = (
  { catalog, verifier }: Services,
  handlers: Partial<Record<"GET" | "POST" | "DELETE", Handler>>,
  prefixed: boolean
) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* HttpRouter.params
    const method = request.method === "HEAD" ? "GET" : request.method
    const handler = handlers[method as "GET" | "POST" | "DELETE"]
    let tenant: TenantCatalog | undefined
    const run = Effect.gen(function*() {
      if (handler === undefined) {
        return yield* Effect.fail(new IcebergError(405, "MethodNotAllowedException", `Method ${request.method} is not allowed here`))
      }
      const token = bearerOf(request)
      if (token === undefined) {
        return yield* Effect.fail(new IcebergError(401, "NotAuthorizedException", "Missing bearer token (Authorization: Bearer <JWT>)"))
      }
      const principal: Principal = yield* verifier.verify(token).pipe(
        Effect.mapError((reason) => new IcebergError(401, "NotAuthorizedException", reason))
      )
      const reading = method === "GET"
      if (!principal.permissions.includes(MANAGE_PERMISSION) && !(reading && principal.permissions.includes(READ_PERMISSION))) {
        return yield* Effect.fail(
          new IcebergError(403, "ForbiddenException", `Missing permission ${reading ? READ_PERMISSION : MANAGE_PERMISSION}`)
        )
      }
      if (!catalog.available) {
        return yield* Effect.fail(new IcebergError(
          501,
          "NotImplementedException",
          "This service commits to an external REST catalog (INGEST_CATALOG=rest:…); point engines at that catalog"
        ))
      }
      const query = new URL(request.url, "http://localhost").searchParams
      tenant = yield* Effect.try({
        try: () =>
          resolveTenant(principal, {
            prefix: prefixed ? params["prefix"] : undefined,
            warehouse: query.get("warehouse") ?? undefined,
            header: request.headers["x-tenant-id"]
          }),
        catch: (error) => error as IcebergError
      })
      const call: Call = { request, params, query, tenant, catalog }
      return yield* Effect.suspend(() => handler(call)).pipe(
        Effect.catchDefect((defect) => defect instanceof IcebergError ? Effect.fail(defect) : Effect.die(defect))
      )
    })
    return yield* run.pipe(
      Effect.tapError((error: CatalogFailure) =>
        error instanceof IcebergError || error._tag !== "InfrastructureError"
          ? Effect.void
          : Effect.logWarning(`Iceberg catalog ${request.method} ${pathOf(request.url)}: ${error.reason}`)
      ),
      Effect.catch((error: CatalogFailure) => {
        const response = failureResponse(tenant, error)
        // A HEAD answer has no body: its status says it all (and a length without bytes breaks clients).
        return Effect.succeed(request.method === "HEAD" ? HttpServerResponse.empty({ status: response.status }) : response)
      }),
      Effect.catchDefect((defect) =>
        Effect.logError("Iceberg catalog request failed", defect).pipe(
          Effect.as(icebergErrorResponse(500, "InternalServerError", "Internal server error"))
        ))
    )
  })

/** Registers a route with and without the `{prefix}` segment (engines use the one /v1/config answered). */
const route = (services: Services, path: string, handlers: Partial<Record<"GET" | "POST" | "DELETE", Handler>>) =>
  Layer.mergeAll(
    HttpRouter.add("*", `${catalogBasePath}/v1/:prefix${path}`, serve(services, handlers, true)),
    HttpRouter.add("*", `${catalogBasePath}/v1${path}`, serve(services, handlers, false))
  )

/** Every route of the catalog endpoint; needs TokenVerifier and ServedCatalog. */
export const IcebergCatalogRoutes = Layer.unwrap(
  Effect.gen(function*() {
    const services: Services = { verifier: yield* TokenVerifier, catalog: yield* ServedCatalog }
    return Layer.mergeAll(
      HttpRouter.add("*", `${catalogBasePath}/v1/config`, serve(services, { GET: config }, false)),
      route(services, "/namespaces", { GET: listNamespaces, POST: createNamespace }),
      route(services, "/namespaces/:namespace", { GET: loadNamespace, DELETE: dropNamespace }),
      route(services, "/namespaces/:namespace/properties", { POST: updateNamespaceProperties }),
      route(services, "/namespaces/:namespace/tables", { GET: listTables, POST: createTable }),
      route(services, "/namespaces/:namespace/tables/:table", { GET: loadTable, POST: commitTable, DELETE: dropTable }),
      route(services, "/tables/rename", { POST: renameTable }),
      HttpRouter.add("*", `${catalogBasePath}/*`, (request) =>
        Effect.succeed(icebergErrorResponse(
          404,
          "NoSuchEndpointException",
          `This catalog does not serve ${request.method} ${pathOf(request.url)}`
        )))
    )
  })
)
