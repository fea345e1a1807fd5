import { DuckDBInstance } from "@duckdb/node-api"
import type { DuckDBConnection } from "@duckdb/node-api"
import type { ObjectStore } from "@ingest/domain"
import type { IcebergSchema, IcebergSnapshot, LoadedTable } from "../../packages/adapters/src/iceberg/table-catalog.ts"
import { PgClient } from "@effect/sql-pg"
import { TableCatalog } from "../../packages/adapters/src/iceberg/table-catalog.ts"
import { Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { existsSync } from "node:fs"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { keyOfUri } from "../../packages/adapters/src/iceberg/locations.ts"
import type { ManifestEntry, ManifestFileEntry } from "../../packages/adapters/src/iceberg/manifest.ts"
import { decodeManifest, decodeManifestList } from "../../packages/adapters/src/iceberg/manifest.ts"
import { currentSchema, currentSnapshot } from "../../packages/adapters/src/iceberg/metadata.ts"
import { makeSqlCatalog } from "../../packages/adapters/src/iceberg/sql-catalog.ts"
import { makeIcebergTableWriter } from "../../packages/adapters/src/iceberg/table-writer.ts"
import type { IcebergTableWriterOptions } from "../../packages/adapters/src/iceberg/table-writer.ts"
import { makeFsObjectStore } from "../../packages/adapters/src/storage/fs.ts"

// An independent read path for written tables: manifests parsed with avsc, data files read by
// DuckDB projecting Parquet columns by Iceberg field id (not by name).

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
export const sharedDir = path.resolve(repoRoot, "../shared")
export const icebergContractDir = path.join(sharedDir, "contracts/iceberg")
export const hasSharedContracts = existsSync(path.join(icebergContractDir, "WRITING-V2.md"))

export const postgresUrl = process.env.ICEBERG_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

export const uniqueName = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`

const duckTypeOf = (type: unknown): string => {
  const t = String(type)
  const decimal = /^decimal\((\d+),\s*(\d+)\)$/.exec(t)
  if (decimal !== null) return `DECIMAL(${decimal[1]},${decimal[2]})`
  switch (t) {
    case "boolean":
      return "BOOLEAN"
    case "int":
      return "INTEGER"
    case "long":
      return "BIGINT"
    case "float":
      return "FLOAT"
    case "double":
      return "DOUBLE"
    case "date":
      return "DATE"
    case "timestamp":
      return "TIMESTAMP"
    case "timestamptz":
      return "TIMESTAMPTZ"
    case "string":
      return "VARCHAR"
    case "binary":
      return "BLOB"
  }
  throw new Error(`no DuckDB type for ${t}`)
}

/** A temp-dir warehouse and a SQL catalog of its own on the machine's PostgreSQL, removed afterwards. */
export class IcebergEnv extends Context.Service<IcebergEnv, {
  readonly store: ObjectStore
  readonly catalog: typeof TableCatalog.Service
  readonly warehouseDir: string
  readonly writer: (overrides?: Partial<IcebergTableWriterOptions>) => ReturnType<typeof makeIcebergTableWriter>
}>()("test/IcebergEnv") {}

/** IcebergEnv whose warehouse directory and catalog name start with `prefix`. */
export const icebergEnvLayer = (prefix: string) =>
  Layer.effect(
    IcebergEnv,
    Effect.gen(function*() {
      const warehouseDir = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(path.join(tmpdir(), `${prefix}-`))),
        (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
      )
      const store = makeFsObjectStore(warehouseDir)
      const catalogName = uniqueName(prefix.replaceAll("-", "_"))
      const catalog = yield* makeSqlCatalog({ warehouse: store, catalogName })
      const sql = yield* SqlClient.SqlClient
      yield* Effect.addFinalizer(() =>
        Effect.all([
          sql`DELETE FROM iceberg_tables WHERE catalog_name = ${catalogName}`,
          sql`DELETE FROM iceberg_namespace_properties WHERE catalog_name = ${catalogName}`
        ]).pipe(Effect.ignore)
      )
      return {
        store,
        catalog,
        warehouseDir,
        writer: (overrides = {}) => makeIcebergTableWriter({ catalog, warehouse: store, ...overrides })
      }
    })
  ).pipe(Layer.provide(PgClient.layer({ url: Redacted.make(postgresUrl), maxConnections: 4 })))

export interface TableReadback {
  readonly snapshot: IcebergSnapshot | undefined
  readonly manifests: ReadonlyArray<ManifestFileEntry>
  readonly manifestFiles: ReadonlyArray<ReturnType<typeof decodeManifest>>
  /** Live entries (status ADDED or EXISTING). */
  readonly dataFiles: ReadonlyArray<ManifestEntry & { readonly localPath: string }>
  readonly rows: ReadonlyArray<Record<string, unknown>>
  readonly listMetadata: Readonly<Record<string, string>>
}

export const withDuckDb = async <A>(use: (connection: DuckDBConnection) => Promise<A>): Promise<A> => {
  const instance = await DuckDBInstance.create(":memory:")
  const connection = await instance.connect()
  try {
    await connection.run("SET TimeZone = 'UTC'")
    return await use(connection)
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`

/** DuckDB `schema=map{…}` for `read_parquet`: columns by field id, missing ids read as NULL. */
export const fieldIdSchemaMap = (schema: IcebergSchema): string =>
  `map{${
    schema.fields.map((f) =>
      `${f.id}: {name: ${sqlString(f.name)}, type: ${sqlString(duckTypeOf(f.type))}, default_value: NULL}`
    ).join(", ")
  }}`

/**
 * Reads the current snapshot of a table: manifest list → manifests → data files (copied to a
 * temp dir when the warehouse is not local) → rows, every column cast to VARCHAR.
 */
export const readTable = (store: ObjectStore, table: LoadedTable, orderBy?: string) =>
  Effect.promise(async () => {
    const get = (uri: string) => Effect.runPromise(store.getBytes(keyOfUri(store, uri)!))
    const snapshot = currentSnapshot(table.metadata)
    if (snapshot === undefined) {
      return { snapshot, manifests: [], manifestFiles: [], dataFiles: [], rows: [], listMetadata: {} } as TableReadback
    }
    const listBytes = await get(snapshot["manifest-list"])
    const { readAvroContainer } = await import("../../packages/adapters/src/iceberg/avro.ts")
    const listMetadata = readAvroContainer(listBytes).metadata
    const manifests = decodeManifestList(listBytes)
    const manifestFiles = await Promise.all(manifests.map(async (m) => decodeManifest(await get(m.manifest_path))))
    const scratch = await mkdtemp(path.join(tmpdir(), "iceberg-read-"))
    try {
      const dataFiles: Array<ManifestEntry & { localPath: string }> = []
      for (const manifest of manifestFiles) {
        for (const entry of manifest.entries) {
          if (entry.status === 2) continue
          let localPath: string
          if (entry.filePath.startsWith("file:")) {
            localPath = fileURLToPath(entry.filePath)
          } else {
            localPath = path.join(scratch, `${dataFiles.length}.parquet`)
            await writeFile(localPath, await get(entry.filePath))
          }
          dataFiles.push({ ...entry, localPath })
        }
      }
      const schema = currentSchema(table.metadata)
      const rows = dataFiles.length === 0 ? [] : await withDuckDb(async (db) => {
        const files = `[${dataFiles.map((f) => sqlString(f.localPath)).join(", ")}]`
        const columns = schema.fields.map((f) => `CAST("${f.name}" AS VARCHAR) AS "${f.name}"`).join(", ")
        const reader = await db.runAndReadAll(
          `SELECT ${columns} FROM read_parquet(${files}, schema=${fieldIdSchemaMap(schema)}) AS t` +
            (orderBy === undefined ? "" : ` ORDER BY t."${orderBy}"`)
        )
        return reader.getRowObjectsJson() as Array<Record<string, unknown>>
      })
      return { snapshot, manifests, manifestFiles, dataFiles, rows, listMetadata } as TableReadback
    } finally {
      await rm(scratch, { recursive: true, force: true })
    }
  })

/** `parquet_schema` of one file: column name → field id. */
export const parquetFieldIds = (file: string) =>
  withDuckDb(async (db) => {
    const reader = await db.runAndReadAll(
      `SELECT name, field_id FROM parquet_schema(${sqlString(file)}) WHERE num_children IS NULL`
    )
    return Object.fromEntries(reader.getRowObjectsJson().map((r) => [String(r["name"]), r["field_id"] === null ? null : Number(r["field_id"])]))
  })

export const countRows = (file: string) =>
  withDuckDb(async (db) => {
    const reader = await db.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet(${sqlString(file)})`)
    return Number(reader.getRowObjectsJson()[0]!["n"])
  })

/**
 * The "must" keys of WRITING-V2 §2's table (rows like "| `key` | type | must | …"), so the test
 * checks the metadata against the contract text itself.
 */
export const mustKeysFromContract = (markdown: string): Array<string> => {
  const section = markdown.slice(markdown.indexOf("## 2. Table metadata JSON"), markdown.indexOf("### Schema JSON"))
  const keys: Array<string> = []
  for (const line of section.split("\n")) {
    const match = /^\|\s*`([a-z-]+)`\s*\|[^|]*\|\s*must\s*\|/.exec(line)
    if (match !== null) keys.push(match[1]!)
  }
  return keys
}
