import { InfrastructureError } from "@ingest/domain"
import type { TableIdent } from "@ingest/domain"
import { Effect, Option } from "effect"
import { defaultTableProperties, metadataOf } from "../metadata.ts"
import { tableName } from "../schema.ts"
import type { LoadedTable, StorageCredential, TableAccess } from "../table-catalog.ts"
import { CommitConflict, CommitStateUnknown, TableAlreadyExists, TableCatalog } from "../table-catalog.ts"
import type { CatalogHttp, CatalogRequest, CatalogResponse } from "./http.ts"
import { errorMessageOf } from "./http.ts"
import type { Placement, PlacementTemplates } from "./placement.ts"
import { placeTable } from "./placement.ts"

// The table catalog over the Iceberg REST protocol (rest-catalog-open-api.yaml): /v1/config per
// warehouse (defaults < our warehouse < overrides; `prefix` goes into every path), namespaces
// created level by level when missing, tables loaded and created (the catalog assigns the
// location), commits POSTed with their requirements. A 409 is a conflict; a 5xx, a timeout or a
// lost connection during a commit leaves its state unknown and is never re-sent here: the writer
// reloads the table and looks for its commit id.

export interface RestCatalogOptions {
  readonly http: CatalogHttp
  readonly templates: PlacementTemplates
  /** Send `X-Iceberg-Access-Delegation: vended-credentials` when loading and creating tables. */
  readonly vendedCredentials: boolean
  /** The name reported by the port (for messages). */
  readonly name: string
}

export interface CatalogConfig {
  readonly prefix: string | undefined
  readonly separator: string
  readonly properties: Readonly<Record<string, string>>
}

const stringRecord = (value: unknown): Record<string, string> => {
  const out: Record<string, string> = {}
  if (typeof value !== "object" || value === null) return out
  for (const [key, v] of Object.entries(value)) if (typeof v === "string") out[key] = v
  return out
}

/** An answer the operation cannot use; 502, 503 and 504 (still so after the read's retries) mean the catalog is unreachable. */
const unexpected = (what: string, response: CatalogResponse) =>
  new InfrastructureError({
    reason: `${what}: the Iceberg catalog answered ${errorMessageOf(response)}`,
    ...(response.status === 502 || response.status === 503 || response.status === 504 ? { unreachable: "catalog" as const } : {})
  })

export const makeRestTableCatalog = (options: RestCatalogOptions) => {
  const { http, templates } = options
  const configs = new Map<string, CatalogConfig>()
  /** The last vended access of each table: commit answers do not repeat it. */
  const accessByTable = new Map<string, TableAccess>()

  const configOf = (warehouse: string | undefined): Effect.Effect<CatalogConfig, InfrastructureError> =>
    Effect.gen(function*() {
      const key = warehouse ?? ""
      const known = configs.get(key)
      if (known !== undefined) return known
      const response = yield* http.read({
        method: "GET",
        path: "/v1/config",
        query: warehouse === undefined ? undefined : { warehouse }
      })
      if (response.status !== 200) return yield* unexpected("GET /v1/config", response)
      const json = response.json as { defaults?: unknown; overrides?: unknown } | undefined
      const properties: Record<string, string> = {
        ...stringRecord(json?.defaults),
        ...(warehouse === undefined ? {} : { warehouse }),
        ...stringRecord(json?.overrides)
      }
      const prefix = properties["prefix"]?.replace(/^\/+|\/+$/g, "")
      const config: CatalogConfig = {
        prefix: prefix === undefined || prefix === "" ? undefined : prefix,
        separator: properties["namespace-separator"] ?? "%1F",
        properties
      }
      configs.set(key, config)
      return config
    })

  const place = (table: TableIdent): Effect.Effect<Placement, InfrastructureError> => {
    const placed = placeTable(templates, table)
    return typeof placed === "string" ? Effect.fail(new InfrastructureError({ reason: placed })) : Effect.succeed(placed)
  }

  /** The REST path of a namespace (and table) of the placement. */
  const pathOf = (config: CatalogConfig, placement: Placement, withTable: boolean) => {
    const root = config.prefix === undefined ? "/v1" : `/v1/${config.prefix.split("/").map(encodeURIComponent).join("/")}`
    const ns = placement.namespace.map(encodeURIComponent).join(config.separator)
    return `${root}/namespaces/${ns}${withTable ? `/tables/${encodeURIComponent(placement.name)}` : ""}`
  }

  const resolve = (table: TableIdent) =>
    Effect.gen(function*() {
      const placement = yield* place(table)
      const config = yield* configOf(placement.warehouse)
      return { placement, config }
    })

  const delegation = options.vendedCredentials ? { "x-iceberg-access-delegation": "vended-credentials" } : undefined

  const loaded = (table: TableIdent, response: CatalogResponse, what: string) =>
    Effect.try({
      try: (): LoadedTable => {
        const json = response.json as {
          "metadata-location"?: unknown
          metadata?: unknown
          config?: unknown
          "storage-credentials"?: unknown
        }
        const metadata = metadataOf(json.metadata)
        const key = tableName(table)
        if ("config" in json || "storage-credentials" in json) {
          const credentials: Array<StorageCredential> = Array.isArray(json["storage-credentials"])
            ? json["storage-credentials"].flatMap((c: { prefix?: unknown; config?: unknown }) =>
              typeof c?.prefix === "string" ? [{ prefix: c.prefix, config: stringRecord(c.config) }] : []
            )
            : []
          accessByTable.set(key, { config: stringRecord(json.config), credentials })
        }
        return {
          ident: table,
          metadataLocation: typeof json["metadata-location"] === "string" ? json["metadata-location"] : "",
          metadata,
          access: accessByTable.get(key)
        }
      },
      catch: (error) =>
        new InfrastructureError({
          reason: `${what}: unreadable answer of the Iceberg catalog: ${error instanceof Error ? error.message : String(error)}`
        })
    })

  const namespaceExists = (namespace: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const { placement, config } = yield* resolve({ namespace, name: "_" })
      const response = yield* http.read({ method: "HEAD", path: pathOf(config, placement, false) })
      if (response.status === 204 || response.status === 200) return true
      if (response.status === 404) return false
      return yield* unexpected(`HEAD namespace ${placement.namespace.join(".")}`, response)
    })

  const createNamespace = (namespace: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      if (yield* namespaceExists(namespace)) return
      const { placement, config } = yield* resolve({ namespace, name: "_" })
      const root = config.prefix === undefined ? "/v1" : `/v1/${config.prefix.split("/").map(encodeURIComponent).join("/")}`
      for (let depth = 1; depth <= placement.namespace.length; depth++) {
        const levels = placement.namespace.slice(0, depth)
        const response = yield* http.read({ method: "POST", path: `${root}/namespaces`, body: { namespace: levels } })
        // 409: it exists (made by another writer, or a parent that was there already).
        if (response.status !== 200 && response.status !== 409) {
          return yield* unexpected(`create namespace ${levels.join(".")}`, response)
        }
      }
    })

  const listTables = (namespace: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const { placement, config } = yield* resolve({ namespace, name: "_" })
      const names: Array<TableIdent> = []
      let pageToken: string | undefined
      for (let page = 0; page < 10_000; page++) {
        const request: CatalogRequest = {
          method: "GET",
          path: `${pathOf(config, placement, false)}/tables`,
          query: pageToken === undefined ? undefined : { pageToken }
        }
        const response = yield* http.read(request)
        if (response.status === 404) return []
        if (response.status !== 200) return yield* unexpected(`list tables of ${placement.namespace.join(".")}`, response)
        const json = response.json as { identifiers?: Array<{ name?: unknown }>; "next-page-token"?: unknown }
        for (const id of json.identifiers ?? []) if (typeof id?.name === "string") names.push({ namespace: [...namespace], name: id.name })
        const next = json["next-page-token"]
        if (typeof next !== "string" || next === "") break
        pageToken = next
      }
      return names
    })

  const loadTable = (table: TableIdent) =>
    Effect.gen(function*() {
      const { placement, config } = yield* resolve(table)
      const response = yield* http.read({ method: "GET", path: pathOf(config, placement, true), headers: delegation })
      if (response.status === 404) return Option.none<LoadedTable>()
      if (response.status !== 200) return yield* unexpected(`load table ${tableName(table)}`, response)
      return Option.some(yield* loaded(table, response, `load table ${tableName(table)}`))
    })

  const createTable: (typeof TableCatalog.Service)["createTable"] = (table, request) =>
    Effect.gen(function*() {
      const { placement, config } = yield* resolve(table)
      const response = yield* http.read({
        method: "POST",
        path: `${pathOf(config, placement, false)}/tables`,
        headers: delegation,
        body: {
          name: placement.name,
          schema: request.schema,
          ...(request.location === undefined ? {} : { location: request.location }),
          ...(request.partitionSpec === undefined ? {} : { "partition-spec": request.partitionSpec }),
          ...(request.sortOrder === undefined ? {} : { "write-order": request.sortOrder }),
          "stage-create": false,
          properties: { "format-version": "2", ...defaultTableProperties, ...request.properties }
        }
      })
      if (response.status === 409) return yield* new TableAlreadyExists({ table: tableName(table) })
      if (response.status !== 200) return yield* unexpected(`create table ${tableName(table)}`, response)
      return yield* loaded(table, response, `create table ${tableName(table)}`)
    })

  const commit: (typeof TableCatalog.Service)["commit"] = (table, requirements, updates) =>
    Effect.gen(function*() {
      const { placement, config } = yield* resolve(table)
      const what = `commit to ${tableName(table)}`
      const outcome = yield* http.send({
        method: "POST",
        path: pathOf(config, placement, true),
        body: { identifier: { namespace: placement.namespace, name: placement.name }, requirements, updates }
      }).pipe(
        Effect.catchTag("CatalogUnreachable", (error) => Effect.fail(new CommitStateUnknown({ reason: `${what}: ${error.reason}` })))
      )
      if (outcome.status === 200) {
        // Applied, whatever the body says: an unreadable answer leaves the writer to find its commit.
        return yield* loaded(table, outcome, what).pipe(
          Effect.mapError((error) => new CommitStateUnknown({ reason: error.reason }))
        )
      }
      if (outcome.status === 409) return yield* new CommitConflict({ reason: `${what}: ${errorMessageOf(outcome)}` })
      if (outcome.status >= 500) return yield* new CommitStateUnknown({ reason: `${what}: ${errorMessageOf(outcome)}` })
      return yield* unexpected(what, outcome)
    })

  const dropTable = (table: TableIdent) =>
    Effect.gen(function*() {
      const { placement, config } = yield* resolve(table)
      const response = yield* http.read({ method: "DELETE", path: pathOf(config, placement, true) })
      if (response.status === 204 || response.status === 200) return true
      if (response.status === 404) return false
      return yield* unexpected(`drop table ${tableName(table)}`, response)
    })

  /** Fresh vended credentials of a table (`GET …/credentials`). */
  const refreshCredentials = (table: TableIdent) =>
    Effect.gen(function*() {
      const { placement, config } = yield* resolve(table)
      const response = yield* http.read({ method: "GET", path: `${pathOf(config, placement, true)}/credentials` })
      if (response.status !== 200) return yield* unexpected(`renew the storage credentials of ${tableName(table)}`, response)
      const json = response.json as { "storage-credentials"?: Array<{ prefix?: unknown; config?: unknown }> }
      return (json["storage-credentials"] ?? []).flatMap((c): Array<StorageCredential> =>
        typeof c?.prefix === "string" ? [{ prefix: c.prefix, config: stringRecord(c.config) }] : []
      )
    })

  const catalog = TableCatalog.of({
    name: options.name,
    createNamespace,
    namespaceExists,
    listTables,
    loadTable,
    createTable,
    commit,
    dropTable
  })
  return { catalog, configOf, refreshCredentials }
}
