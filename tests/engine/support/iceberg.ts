import { PgClient } from "@effect/sql-pg"
import type { TableWriterService } from "@ingest/adapters/engine/index"
import {
  currentSnapshot,
  decodeManifest,
  decodeManifestList,
  keyOfUri,
  makeIcebergTableWriter,
  makeSqlCatalog
} from "@ingest/adapters/iceberg/index"
import { makeFsObjectStore } from "@ingest/adapters/storage/index"
import type { ObjectStore, TableIdent } from "@ingest/domain"
import { Effect, Exit, Option, Redacted, Scope } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient } from "effect/sql"
import { fileURLToPath } from "node:url"

export type TableCatalogService = Effect.Success<ReturnType<typeof makeSqlCatalog>>

/**
 * The real Iceberg writer over a SQL catalog in `databaseUrl` and a warehouse directory.
 * `close` releases the catalog's database connection.
 */
export const makeIcebergWriter = async (databaseUrl: string, warehouseDir: string, warehouseStore?: ObjectStore) => {
  const scope = await Effect.runPromise(Scope.make())
  const sql = await Effect.runPromise(
    PgClient.makeClient({ url: Redacted.make(databaseUrl) }).pipe(Effect.provide(Reactivity.layer), Scope.provide(scope))
  )
  const warehouse = warehouseStore ?? makeFsObjectStore(warehouseDir)
  const catalog = await Effect.runPromise(makeSqlCatalog({ warehouse }).pipe(Effect.provideService(SqlClient.SqlClient, sql)))
  const iceberg = makeIcebergTableWriter({ catalog, warehouse })
  const writer: TableWriterService = { write: iceberg.write, describe: iceberg.describe }
  return {
    writer,
    catalog,
    warehouse,
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Local paths of the Parquet files live in the table's current snapshot. */
export const liveDataFiles = async (
  catalog: TableCatalogService,
  warehouse: ObjectStore,
  table: TableIdent
): Promise<Array<string>> =>
  Effect.runPromise(Effect.gen(function*() {
    const loaded = Option.getOrThrow(yield* catalog.loadTable(table))
    const snapshot = currentSnapshot(loaded.metadata)
    if (snapshot === undefined) return []
    const bytesOf = (uri: string) => warehouse.getBytes(keyOfUri(warehouse, uri)!)
    const files: Array<string> = []
    for (const manifest of decodeManifestList(yield* bytesOf(snapshot["manifest-list"]))) {
      for (const entry of decodeManifest(yield* bytesOf(manifest.manifest_path)).entries) {
        if (entry.status !== 2) files.push(fileURLToPath(entry.filePath))
      }
    }
    return files
  }))
