// The table catalog over an Iceberg REST catalog (INGEST_CATALOG=rest:<uri>): configuration
// (config.ts) → authentication (auth.ts) → the HTTP exchange (http.ts) → the protocol's
// operations with tenants placed by templates (catalog.ts, placement.ts) → the tables' files
// under the locations the catalog assigns (storage.ts). The writer commits through it exactly as
// through the SQL catalog.
import { Effect } from "effect"
import type { TableStorage } from "../table-files.ts"
import type { TableCatalog } from "../table-catalog.ts"
import { makeAuthenticator } from "./auth.ts"
import { makeRestTableCatalog } from "./catalog.ts"
import type { RestCatalogSettings } from "./config.ts"
import { makeCatalogHttp } from "./http.ts"
import { makeRestTableStorage } from "./storage.ts"

export * from "./auth.ts"
export * from "./catalog.ts"
export * from "./config.ts"
export * from "./http.ts"
export * from "./placement.ts"
export * from "./storage.ts"

/** Tries of a read (config, load, list) before it fails. */
export const defaultReadAttempts = 5
/** Readiness: how long /v1/config may take. */
export const readinessTimeoutMs = 2000

export interface RestCatalog {
  readonly catalog: typeof TableCatalog.Service
  readonly storage: TableStorage
  /** Whether the catalog answers /v1/config in time (for readiness); the reason when not. */
  readonly ready: Effect.Effect<void, string>
  /** Retries of reads so far, OAuth2 tokens fetched so far. */
  readonly stats: () => { readonly readRetries: number; readonly tokensFetched: number }
}

export const makeRestCatalog = (
  settings: RestCatalogSettings,
  options: { readonly tempDir: string; readonly readAttempts?: number | undefined }
): RestCatalog => {
  const auth = makeAuthenticator(settings.auth, { timeoutMs: settings.timeoutMs, extraHeaders: settings.headers })
  const http = makeCatalogHttp({
    baseUri: settings.uri,
    auth,
    headers: settings.headers,
    timeoutMs: settings.timeoutMs,
    readAttempts: options.readAttempts ?? defaultReadAttempts
  })
  const rest = makeRestTableCatalog({
    http,
    templates: settings.templates,
    vendedCredentials: settings.vendedCredentials,
    name: settings.uri
  })
  const probe = makeCatalogHttp({
    baseUri: settings.uri,
    auth,
    headers: settings.headers,
    timeoutMs: readinessTimeoutMs,
    readAttempts: 1
  })
  const staticWarehouse = settings.templates.warehouse?.includes("{") === true ? undefined : settings.templates.warehouse
  const ready = probe.send({
    method: "GET",
    path: "/v1/config",
    query: staticWarehouse === undefined ? undefined : { warehouse: staticWarehouse }
  }).pipe(
    // Readiness is answered to anyone: it names the outage, the details (URL, socket error) go to the debug log.
    Effect.tapError((error) => Effect.logDebug("catalog readiness", error.reason)),
    Effect.mapError((error) => error._tag === "CatalogUnreachable" && error.timedOut ? "no answer in time" : "unreachable"),
    Effect.flatMap((response) => response.status === 200 ? Effect.void : Effect.fail(`answers HTTP ${response.status}`))
  )
  const storage = makeRestTableStorage({
    tempDir: options.tempDir,
    vended: settings.vendedCredentials,
    refreshCredentials: rest.refreshCredentials
  })
  return {
    catalog: { ...rest.catalog, storage, ready },
    storage,
    ready,
    stats: () => ({ readRetries: http.readRetries(), tokensFetched: auth.tokensFetched() })
  }
}
