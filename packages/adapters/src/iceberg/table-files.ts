import { InfrastructureError } from "@ingest/domain"
import type { ObjectStore } from "@ingest/domain"
import { Effect } from "effect"
import { keyOfUri } from "./locations.ts"
import { tableName } from "./schema.ts"
import type { LoadedTable } from "./table-catalog.ts"

// Where a table's files go and how the writer reaches them: data files under one URI prefix,
// manifests and manifest lists under another, each URI mapped to a key of an object store.
// With the SQL catalog every table lies in the service's warehouse; a REST catalog assigns
// locations (and may vend credentials) per table.

export interface TableFiles {
  readonly store: ObjectStore
  /** Key prefix of data files, ending in `/`. */
  readonly dataKeyPrefix: string
  /** URI prefix matching `dataKeyPrefix`: what manifests record. */
  readonly dataUriPrefix: string
  /** Key of a metadata file (manifest, manifest list) of this table. */
  readonly metadataKey: (name: string) => string
  /** URI of a metadata file of this table. */
  readonly metadataUri: (name: string) => string
  /** Reads a file the table references by URI (a parent snapshot's manifest list). */
  readonly read: (uri: string) => Effect.Effect<Uint8Array, InfrastructureError>
}

/** A table's files, from its loaded state. */
export type TableStorage = (table: LoadedTable) => Effect.Effect<TableFiles, InfrastructureError>

/** Data and metadata directories of a table: `write.data.path` / `write.metadata.path`, else under its location. */
export const tableDirectories = (table: LoadedTable): { readonly data: string; readonly metadata: string } => {
  const location = table.metadata.location.replace(/\/+$/, "")
  const property = (key: string) => {
    const value = table.metadata.properties[key]?.trim()
    return value === undefined || value === "" ? undefined : value.replace(/\/+$/, "")
  }
  return {
    data: property("write.data.path") ?? `${location}/data`,
    metadata: property("write.metadata.path") ?? `${location}/metadata`
  }
}

/** The files of `table` in `store`: every URI must lie inside it. */
export const tableFilesIn = (store: ObjectStore, table: LoadedTable): Effect.Effect<TableFiles, InfrastructureError> => {
  const dirs = tableDirectories(table)
  const dataKey = keyOfUri(store, `${dirs.data}/x`)
  const metadataKey = keyOfUri(store, `${dirs.metadata}/x`)
  if (dataKey === undefined || metadataKey === undefined) {
    return Effect.fail(
      new InfrastructureError({
        reason: `table ${tableName(table.ident)} is located at ${table.metadata.location}, outside the warehouse`
      })
    )
  }
  const dataKeyPrefix = dataKey.slice(0, -1)
  const metadataKeyPrefix = metadataKey.slice(0, -1)
  return Effect.succeed({
    store,
    dataKeyPrefix,
    dataUriPrefix: `${dirs.data}/`,
    metadataKey: (name) => `${metadataKeyPrefix}${name}`,
    metadataUri: (name) => `${dirs.metadata}/${name}`,
    read: (uri) => {
      const key = keyOfUri(store, uri)
      return key === undefined
        ? Effect.fail(new InfrastructureError({ reason: `${uri} is outside the warehouse` }))
        : store.getBytes(key)
    }
  })
}

/** Every table in one warehouse (the SQL catalog's). */
export const warehouseTableStorage = (warehouse: ObjectStore): TableStorage => (table) => tableFilesIn(warehouse, table)
