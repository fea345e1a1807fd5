import { InfrastructureError } from "@ingest/domain"
import type { ObjectStore, TableIdent } from "@ingest/domain"
import {
  CommitConflict,
  CommitStateUnknown,
  TableAlreadyExists,
  TableCatalog
} from "@ingest/domain/ports/table-catalog"
import type { LoadedTable, TableMetadata } from "@ingest/domain/ports/table-catalog"
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { defaultTableLocation, keyOfUri } from "./locations.ts"
import {
  applyUpdates,
  failedRequirement,
  newTableMetadata,
  nextMetadataLocation,
  parseMetadata,
  serializeMetadata
} from "./metadata.ts"
import { tableName } from "./schema.ts"

// The Iceberg "SQL"/JDBC catalog in the service database: the tables Java's JdbcCatalog and
// pyiceberg's SqlCatalog share (schema V1, with iceberg_type), so those tools see our tables.
// The client writes each metadata JSON; the commit is the compare-and-swap of metadata_location.

export interface SqlCatalogOptions {
  /** The catalog's name (`catalog_name` column); every tool must use the same to see the same tables. */
  readonly catalogName?: string | undefined
  /** Where metadata files go (the warehouse); table locations must lie inside it. */
  readonly warehouse: ObjectStore
}

export const defaultCatalogName = "ingest"

const ddl = [
  `CREATE TABLE IF NOT EXISTS iceberg_tables (
    catalog_name VARCHAR(255) NOT NULL,
    table_namespace VARCHAR(255) NOT NULL,
    table_name VARCHAR(255) NOT NULL,
    metadata_location VARCHAR(1000),
    previous_metadata_location VARCHAR(1000),
    iceberg_type VARCHAR(5),
    PRIMARY KEY (catalog_name, table_namespace, table_name))`,
  // A catalog created by Java in its "V0" layout lacks the column.
  `ALTER TABLE iceberg_tables ADD COLUMN IF NOT EXISTS iceberg_type VARCHAR(5)`,
  `CREATE TABLE IF NOT EXISTS iceberg_namespace_properties (
    catalog_name VARCHAR(255) NOT NULL,
    namespace VARCHAR(255) NOT NULL,
    property_key VARCHAR(255) NOT NULL,
    property_value VARCHAR(1000) NOT NULL,
    PRIMARY KEY (catalog_name, namespace, property_key))`
]

const infra = (what: string) => (error: SqlError | unknown) =>
  new InfrastructureError({
    reason: `${what}: ${error instanceof Error ? error.message : String(error)}`
  })

const validateNamespace = (namespace: ReadonlyArray<string>): Effect.Effect<string, InfrastructureError> =>
  namespace.length === 0 || namespace.some((level) => level.length === 0 || level.length > 128 || level.includes("."))
    ? Effect.fail(new InfrastructureError({ reason: `invalid namespace ${JSON.stringify(namespace)}` }))
    : Effect.succeed(namespace.join("."))

const validateTable = (table: TableIdent): Effect.Effect<string, InfrastructureError> =>
  Effect.flatMap(validateNamespace(table.namespace), (ns) =>
    table.name.length === 0 || table.name.length > 255 || table.name.includes("\0")
      ? Effect.fail(new InfrastructureError({ reason: `invalid table name ${JSON.stringify(table.name)}` }))
      : Effect.succeed(ns))

const isUniqueViolation = (error: SqlError): boolean => error.reason._tag === "UniqueViolation"

/** Builds the SQL catalog, creating its two tables when missing. */
export const makeSqlCatalog = (
  options: SqlCatalogOptions
): Effect.Effect<typeof TableCatalog.Service, InfrastructureError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const catalogName = options.catalogName ?? defaultCatalogName
    const store = options.warehouse

    for (const statement of ddl) {
      // Two processes creating the tables at once can collide on Postgres' type catalog: retry once.
      yield* sql.unsafe(statement).pipe(
        Effect.retry({ times: 1 }),
        Effect.mapError(infra("cannot create the Iceberg catalog tables"))
      )
    }

    const metadataKey = (uri: string): Effect.Effect<string, InfrastructureError> => {
      const key = keyOfUri(store, uri)
      return key === undefined
        ? Effect.fail(new InfrastructureError({ reason: `metadata location ${uri} is outside the warehouse` }))
        : Effect.succeed(key)
    }

    const readMetadata = (location: string): Effect.Effect<TableMetadata, InfrastructureError> =>
      Effect.gen(function*() {
        const bytes = yield* store.getBytes(yield* metadataKey(location))
        return yield* Effect.try({
          try: () => parseMetadata(new TextDecoder().decode(bytes)),
          catch: (error) => new InfrastructureError({ reason: `unreadable table metadata ${location}: ${String(error)}` })
        })
      })

    const writeMetadata = (location: string, metadata: TableMetadata) =>
      Effect.flatMap(metadataKey(location), (key) =>
        store.putBytes(key, new TextEncoder().encode(serializeMetadata(metadata))))

    const currentLocation = (ns: string, name: string) =>
      sql<{ metadata_location: string | null }>`
        SELECT metadata_location FROM iceberg_tables
         WHERE catalog_name = ${catalogName} AND table_namespace = ${ns} AND table_name = ${name}
           AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)`.pipe(
        Effect.map((rows) => Option.fromNullishOr(rows[0]?.metadata_location)),
        Effect.mapError(infra(`cannot read the catalog entry of ${ns}.${name}`))
      )

    const createNamespace = (namespace: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        yield* validateNamespace(namespace)
        for (let depth = 1; depth <= namespace.length; depth++) {
          const ns = namespace.slice(0, depth).join(".")
          yield* sql`
            INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value)
            VALUES (${catalogName}, ${ns}, 'exists', 'true')
            ON CONFLICT (catalog_name, namespace, property_key) DO NOTHING`.pipe(
            Effect.mapError(infra(`cannot create namespace ${ns}`))
          )
        }
      })

    const namespaceExists = (namespace: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const ns = yield* validateNamespace(namespace)
        const like = `${ns.replace(/[\\%_]/g, (c) => `\\${c}`)}.%`
        const rows = yield* sql<{ found: number }>`
          SELECT 1 AS found FROM iceberg_namespace_properties WHERE catalog_name = ${catalogName} AND namespace = ${ns}
          UNION ALL
          SELECT 1 AS found FROM iceberg_tables WHERE catalog_name = ${catalogName}
             AND (table_namespace = ${ns} OR table_namespace LIKE ${like})
          LIMIT 1`.pipe(Effect.mapError(infra(`cannot look up namespace ${ns}`)))
        return rows.length > 0
      })

    const listTables = (namespace: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const ns = yield* validateNamespace(namespace)
        const rows = yield* sql<{ table_name: string }>`
          SELECT table_name FROM iceberg_tables
           WHERE catalog_name = ${catalogName} AND table_namespace = ${ns}
             AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)
           ORDER BY table_name`.pipe(Effect.mapError(infra(`cannot list tables of ${ns}`)))
        return rows.map((row): TableIdent => ({ namespace: [...namespace], name: row.table_name }))
      })

    const loadTable = (table: TableIdent) =>
      Effect.gen(function*() {
        const ns = yield* validateTable(table)
        const location = yield* currentLocation(ns, table.name)
        if (Option.isNone(location)) return Option.none<LoadedTable>()
        const metadata = yield* readMetadata(location.value)
        return Option.some<LoadedTable>({ ident: table, metadataLocation: location.value, metadata })
      })

    const createTable: (typeof TableCatalog.Service)["createTable"] = (table, request) =>
      Effect.gen(function*() {
        const ns = yield* validateTable(table)
        const location = (request.location ?? defaultTableLocation(store, table.namespace, table.name)).replace(/\/+$/, "")
        const metadata = newTableMetadata({
          location,
          schema: request.schema,
          properties: request.properties,
          nowMs: Date.now()
        })
        const metadataLocation = nextMetadataLocation(location, undefined)
        yield* writeMetadata(metadataLocation, metadata)
        const inserted = yield* sql`
          INSERT INTO iceberg_tables
            (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location, iceberg_type)
          VALUES (${catalogName}, ${ns}, ${table.name}, ${metadataLocation}, NULL, 'TABLE')`.pipe(
          Effect.as(true),
          Effect.catchTag("SqlError", (error) =>
            isUniqueViolation(error) ? Effect.succeed(false) : Effect.fail(infra(`cannot create table ${ns}.${table.name}`)(error)))
        )
        if (!inserted) {
          // The metadata file was never referenced: remove it.
          yield* Effect.flatMap(metadataKey(metadataLocation), store.remove).pipe(Effect.ignore)
          return yield* new TableAlreadyExists({ table: tableName(table) })
        }
        return { ident: table, metadataLocation, metadata }
      })

    const commit: (typeof TableCatalog.Service)["commit"] = (table, requirements, updates) =>
      Effect.gen(function*() {
        const ns = yield* validateTable(table)
        const base = yield* loadTable(table)
        if (Option.isNone(base)) {
          return yield* new InfrastructureError({ reason: `table ${tableName(table)} does not exist` })
        }
        const problem = failedRequirement(base.value.metadata, requirements)
        if (problem !== undefined) return yield* new CommitConflict({ reason: problem })
        const next = yield* Effect.try({
          try: () => applyUpdates(base.value.metadata, updates, base.value.metadataLocation, Date.now()),
          catch: (error) => new CommitConflict({ reason: error instanceof Error ? error.message : String(error) })
        })
        const nextLocation = nextMetadataLocation(next.location, base.value.metadataLocation)
        yield* writeMetadata(nextLocation, next)
        const swapped = yield* sql<{ table_name: string }>`
          UPDATE iceberg_tables
             SET metadata_location = ${nextLocation}, previous_metadata_location = ${base.value.metadataLocation}
           WHERE catalog_name = ${catalogName} AND table_namespace = ${ns} AND table_name = ${table.name}
             AND metadata_location = ${base.value.metadataLocation}
             AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)
          RETURNING table_name`.pipe(
          // The statement may or may not have run: the new metadata file must stay.
          Effect.mapError((error) =>
            new CommitStateUnknown({ reason: `commit of ${tableName(table)} interrupted: ${error.message}` }))
        )
        if (swapped.length !== 1) {
          yield* Effect.flatMap(metadataKey(nextLocation), store.remove).pipe(Effect.ignore)
          return yield* new CommitConflict({ reason: `table ${tableName(table)} was changed by another writer` })
        }
        return { ident: table, metadataLocation: nextLocation, metadata: next }
      })

    const dropTable = (table: TableIdent) =>
      Effect.gen(function*() {
        const ns = yield* validateTable(table)
        const rows = yield* sql`
          DELETE FROM iceberg_tables
           WHERE catalog_name = ${catalogName} AND table_namespace = ${ns} AND table_name = ${table.name}
          RETURNING table_name`.pipe(Effect.mapError(infra(`cannot drop table ${ns}.${table.name}`)))
        return rows.length > 0
      })

    return TableCatalog.of({
      name: catalogName,
      createNamespace,
      namespaceExists,
      listTables,
      loadTable,
      createTable,
      commit,
      dropTable
    })
  })

export const sqlCatalogLayer = (options: SqlCatalogOptions): Layer.Layer<TableCatalog, InfrastructureError, SqlClient.SqlClient> =>
  Layer.effect(TableCatalog, makeSqlCatalog(options))
