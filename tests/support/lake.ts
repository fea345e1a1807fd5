import type { ObjectStore } from "@ingest/domain"
import { Effect, Option } from "effect"
import * as path from "node:path"
import { makeIcebergWriter } from "../engine/support/iceberg.ts"
import { currentSchema } from "../../packages/adapters/src/iceberg/metadata.ts"
import { readTable } from "../iceberg/support.ts"

/**
 * Reads an Iceberg table the service wrote, independently of the service: the SQL catalog row in
 * its database → metadata → manifests → Parquet files read by DuckDB by field id.
 */
export const readLakeTable = async (
  databaseUrl: string,
  dataDir: string,
  namespace: ReadonlyArray<string>,
  name: string,
  orderBy?: string,
  warehouse?: ObjectStore
) => {
  const lake = await makeIcebergWriter(databaseUrl, path.join(dataDir, "warehouse"), warehouse)
  try {
    const loaded = await Effect.runPromise(lake.catalog.loadTable({ namespace, name }))
    if (Option.isNone(loaded)) return undefined
    return await Effect.runPromise(readTable(lake.warehouse, loaded.value, orderBy))
  } finally {
    await lake.close()
  }
}

/** The fields of a table's current schema, as the catalog holds them (name → Iceberg type). */
export const readLakeSchema = async (
  databaseUrl: string,
  dataDir: string,
  namespace: ReadonlyArray<string>,
  name: string,
  warehouse?: ObjectStore
): Promise<Record<string, unknown> | undefined> => {
  const lake = await makeIcebergWriter(databaseUrl, path.join(dataDir, "warehouse"), warehouse)
  try {
    const loaded = await Effect.runPromise(lake.catalog.loadTable({ namespace, name }))
    if (Option.isNone(loaded)) return undefined
    return Object.fromEntries(currentSchema(loaded.value.metadata).fields.map((f) => [f.name, f.type]))
  } finally {
    await lake.close()
  }
}

export const tenantNamespaceOf = (tenant: string) => `t_${tenant.replace(/-/g, "")}`

/** Polls `read` until `done` holds (or fails after `timeoutMs`). */
export const eventually = async <A>(read: () => Promise<A>, done: (a: A) => boolean, timeoutMs = 60_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline) throw new Error(`Timed out waiting; last value: ${JSON.stringify(value)}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}
