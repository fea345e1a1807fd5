import type { Connection, ConnectorType, DiscoveredStream, Source, SyncMode } from "@ingest/domain"
import { columnsFromJsonSchema } from "./json-schema.ts"

/**
 * Pure translations between our model and Airbyte's: connector names, stream names, sync modes,
 * discovered catalogs.
 */

/** Airbyte names two of our connectors differently (`source-mongodb-v2`, `source-zendesk-support`). */
const airbyteSourceTypes: Partial<Record<ConnectorType, string>> = {
  mongodb: "mongodb-v2",
  zendesk: "zendesk-support"
}

export const airbyteSourceType = (connectorType: ConnectorType): string => airbyteSourceTypes[connectorType] ?? connectorType

/** The Airbyte `configuration` of a source: ours plus `sourceType`. */
export const sourceConfiguration = (source: Source): Record<string, unknown> => ({
  ...source.connectionConfig,
  sourceType: airbyteSourceType(source.connectorType)
})

/** Every string in a source's configuration that could be a secret, to scrub from error details. */
export const configurationStrings = (value: unknown, found: Array<string> = [], depth = 0): Array<string> => {
  if (depth > 8 || found.length > 200) return found
  if (typeof value === "string") found.push(value)
  else if (Array.isArray(value)) for (const item of value) configurationStrings(item, found, depth + 1)
  else if (typeof value === "object" && value !== null) {
    for (const item of Object.values(value)) configurationStrings(item, found, depth + 1)
  }
  return found
}

/**
 * A source reads changes from the database log (CDC) when its configuration says so:
 * `replication_method.method = CDC` (postgres, mysql, mssql) — MongoDB always reads change streams.
 */
export const isCdcSource = (source: Source): boolean => {
  if (source.connectorType === "mongodb") return true
  const method = (source.connectionConfig["replication_method"] as { method?: unknown } | undefined)?.method
  return typeof method === "string" && method.toUpperCase() === "CDC"
}

/** `namespace.name` when the stream has a namespace, else `name`. */
export const streamDisplayName = (name: string, namespace: string | undefined | null): string =>
  namespace === undefined || namespace === null || namespace === "" ? name : `${namespace}.${name}`

/**
 * The inverse of `streamDisplayName`: the part before the first dot is the namespace. A stream
 * without namespace whose name contains a dot cannot be told apart from a namespaced one.
 */
export const splitStreamName = (display: string): { readonly name: string; readonly namespace?: string } => {
  const dot = display.indexOf(".")
  return dot <= 0 || dot === display.length - 1
    ? { name: display }
    : { namespace: display.slice(0, dot), name: display.slice(dot + 1) }
}

const fieldPath = (path: unknown): string | undefined =>
  Array.isArray(path) && path.length > 0 && path.every((part) => typeof part === "string") ? path.join(".") : undefined

interface AirbyteStream {
  readonly name?: unknown
  readonly namespace?: unknown
  readonly jsonSchema?: unknown
  readonly supportedSyncModes?: unknown
  readonly sourceDefinedPrimaryKey?: unknown
  readonly defaultCursorField?: unknown
}

/** A config-API `AirbyteCatalog` → our discovered streams. */
export const streamsFromCatalog = (catalog: unknown, cdc: boolean): Array<DiscoveredStream> => {
  const entries = (catalog as { streams?: unknown } | null)?.streams
  if (!Array.isArray(entries)) return []
  const streams: Array<DiscoveredStream> = []
  for (const entry of entries.slice(0, 10_000)) {
    const stream = (entry as { stream?: AirbyteStream } | null)?.stream
    if (stream === undefined || typeof stream.name !== "string") continue
    const modes = Array.isArray(stream.supportedSyncModes) ? stream.supportedSyncModes : ["full_refresh"]
    const supported: Array<SyncMode> = []
    if (modes.includes("full_refresh")) supported.push("FULL_REFRESH")
    if (modes.includes("incremental")) supported.push("INCREMENTAL")
    if (cdc && modes.includes("incremental")) supported.push("CDC")
    const primaryKey = Array.isArray(stream.sourceDefinedPrimaryKey)
      ? stream.sourceDefinedPrimaryKey.map(fieldPath).filter((key): key is string => key !== undefined)
      : []
    const cursor = fieldPath(stream.defaultCursorField)
    streams.push({
      name: streamDisplayName(stream.name, typeof stream.namespace === "string" ? stream.namespace : undefined),
      columns: columnsFromJsonSchema(stream.jsonSchema),
      supportedSyncModes: supported,
      ...(primaryKey.length > 0 ? { primaryKey } : {}),
      ...(cursor === undefined ? {} : { defaultCursorField: cursor })
    })
  }
  return streams
}

export type AirbyteSyncMode = "full_refresh_overwrite" | "incremental_append" | "incremental_deduped_history"

export const airbyteSyncMode = (
  mode: SyncMode,
  stream: DiscoveredStream,
  dedupIncremental: boolean
): AirbyteSyncMode => {
  const hasKey = stream.primaryKey !== undefined && stream.primaryKey.length > 0
  switch (mode) {
    case "FULL_REFRESH":
      return "full_refresh_overwrite"
    case "INCREMENTAL":
      return dedupIncremental && hasKey ? "incremental_deduped_history" : "incremental_append"
    // Change capture replays updates and deletes: keep one row per key when there is a key.
    case "CDC":
      return hasKey ? "incremental_deduped_history" : "incremental_append"
  }
}

/** Airbyte `StreamConfiguration`s for the connection's chosen streams. */
export const streamConfigurations = (
  connection: Connection,
  streams: ReadonlyArray<DiscoveredStream>,
  dedupIncremental: boolean
): Array<Record<string, unknown>> =>
  streams.map((stream) => {
    const syncMode = airbyteSyncMode(connection.syncMode, stream, dedupIncremental)
    const { name, namespace } = splitStreamName(stream.name)
    const incremental = syncMode !== "full_refresh_overwrite"
    return {
      name,
      ...(namespace === undefined ? {} : { namespace }),
      syncMode,
      ...(incremental && stream.defaultCursorField !== undefined ? { cursorField: [stream.defaultCursorField] } : {}),
      ...(syncMode === "incremental_deduped_history" && stream.primaryKey !== undefined
        ? { primaryKey: stream.primaryKey.map((key) => [key]) }
        : {})
    }
  })
