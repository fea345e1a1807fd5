import { InfrastructureError } from "@ingest/domain"
import type { ObjectStore, TableIdent } from "@ingest/domain"
import {
  CommitConflict,
  CommitStateUnknown,
  TableAlreadyExists,
  TableCatalog
} from "./table-catalog.ts"
import type { LoadedTable, TableMetadata } from "./table-catalog.ts"
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { defaultTableLocation, keyOfUri, storeRootUri } from "./locations.ts"
import {
  applyUpdates,
  failedRequirement,
  InvalidUpdate,
  newTableMetadata,
  nextMetadataLocation,
  parseMetadata,
  serializeMetadata
} from "./metadata.ts"
import { tableName } from "./schema.ts"
import {
  InvalidCommit,
  NamespaceAlreadyExists,
  NamespaceNotEmpty,
  NoSuchNamespace,
  NoSuchTable,
  ServedCatalog
} from "./served-catalog.ts"
import type { Namespace, PropertiesUpdate } from "./served-catalog.ts"

// The Iceberg "SQL"/JDBC catalog in the service database: the tables Java's JdbcCatalog and
// pyiceberg's SqlCatalog share (schema V1, with iceberg_type), so those tools see our tables.
// The client writes each metadata JSON; the commit is the compare-and-swap of metadata_location.

export interface SqlCatalogOptions {
  /** The catalog's name (`catalog_name` column); every tool must use the same to see the same tables. */
  readonly catalogName?: string | undefined
  /** Where metadata files go (the warehouse); table locations must lie inside it. */
  readonly warehouse: ObjectStore
  /** What readers of the served catalog need to reach the warehouse's files (no secrets). */
  readonly readerConfig?: { readonly [key: string]: string } | undefined
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

/**
 * Builds the SQL catalog, creating its two tables when missing: the port the writer commits
 * through, and the full catalog the REST endpoint serves over the same tables.
 */
export const makeSqlCatalogs = (
  options: SqlCatalogOptions
): Effect.Effect<
  { readonly catalog: typeof TableCatalog.Service; readonly served: typeof ServedCatalog.Service },
  InfrastructureError,
  SqlClient.SqlClient
> =>
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
          partitionSpec: request.partitionSpec,
          sortOrder: request.sortOrder,
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

    const commitTable: (typeof ServedCatalog.Service)["commitTable"] = (table, requirements, updates) =>
      Effect.gen(function*() {
        const ns = yield* validateTable(table)
        const base = yield* loadTable(table)
        if (Option.isNone(base)) {
          return yield* new NoSuchTable({ table: tableName(table) })
        }
        const problem = failedRequirement(base.value.metadata, requirements)
        if (problem !== undefined) return yield* new CommitConflict({ reason: problem })
        const next = yield* Effect.try({
          try: () => applyUpdates(base.value.metadata, updates, base.value.metadataLocation, Date.now()),
          catch: (error) =>
            error instanceof InvalidUpdate
              ? new InvalidCommit({ reason: error.message })
              : new InvalidCommit({ reason: String(error) })
        })
        if (keyOfUri(store, `${next.location}/x`) === undefined) {
          return yield* new InvalidCommit({ reason: `location ${next.location} is outside the warehouse` })
        }
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

    const commit: (typeof TableCatalog.Service)["commit"] = (table, requirements, updates) =>
      commitTable(table, requirements, updates).pipe(
        Effect.catchTags({
          NoSuchTable: (error) => Effect.fail(new InfrastructureError({ reason: error.message })),
          InvalidCommit: (error) => Effect.fail(new CommitConflict({ reason: error.reason }))
        })
      )

    const dropTable = (table: TableIdent) =>
      Effect.gen(function*() {
        const ns = yield* validateTable(table)
        const rows = yield* sql`
          DELETE FROM iceberg_tables
           WHERE catalog_name = ${catalogName} AND table_namespace = ${ns} AND table_name = ${table.name}
          RETURNING table_name`.pipe(Effect.mapError(infra(`cannot drop table ${ns}.${table.name}`)))
        return rows.length > 0
      })

    // --- the rest of the protocol, for the served catalog ------------------------------------

    /** Every namespace name at or below `ns` (properties rows and namespaces of tables). */
    const namespacesUnder = (ns: string | undefined) => {
      const like = ns === undefined ? "%" : `${ns.replace(/[\\%_]/g, (c) => `\\${c}`)}.%`
      return sql<{ namespace: string }>`
        SELECT namespace FROM iceberg_namespace_properties
         WHERE catalog_name = ${catalogName} AND (namespace LIKE ${like} OR namespace = ${ns ?? ""})
        UNION
        SELECT table_namespace AS namespace FROM iceberg_tables
         WHERE catalog_name = ${catalogName} AND (table_namespace LIKE ${like} OR table_namespace = ${ns ?? ""})`.pipe(
        Effect.map((rows) => rows.map((row) => row.namespace)),
        Effect.mapError(infra(`cannot list namespaces`))
      )
    }

    const mustExist = (namespace: Namespace) =>
      Effect.flatMap(namespaceExists(namespace), (exists) =>
        exists ? Effect.void : Effect.fail(new NoSuchNamespace({ namespace: [...namespace] })))

    const listNamespaces: (typeof ServedCatalog.Service)["listNamespaces"] = (parent) =>
      Effect.gen(function*() {
        const ns = parent.length === 0 ? undefined : yield* validateNamespace(parent)
        if (parent.length > 0) yield* mustExist(parent)
        const names = yield* namespacesUnder(ns)
        const children = new Set<string>()
        for (const name of names) {
          const levels = name.split(".")
          if (levels.length <= parent.length) continue
          children.add(levels.slice(0, parent.length + 1).join("."))
        }
        return [...children].sort().map((name) => name.split("."))
      })

    const propertiesOf = (ns: string) =>
      sql<{ property_key: string; property_value: string }>`
        SELECT property_key, property_value FROM iceberg_namespace_properties
         WHERE catalog_name = ${catalogName} AND namespace = ${ns}
         ORDER BY property_key`.pipe(
        Effect.map((rows) => Object.fromEntries(rows.map((row) => [row.property_key, row.property_value]))),
        Effect.mapError(infra(`cannot read the properties of namespace ${ns}`))
      )

    const createServedNamespace: (typeof ServedCatalog.Service)["createNamespace"] = (namespace, properties) =>
      Effect.gen(function*() {
        const ns = yield* validateNamespace(namespace)
        if (yield* namespaceExists(namespace)) return yield* new NamespaceAlreadyExists({ namespace: [...namespace] })
        yield* sql.withTransaction(Effect.gen(function*() {
          yield* createNamespace(namespace)
          for (const [key, value] of Object.entries(properties)) {
            yield* sql`
              INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value)
              VALUES (${catalogName}, ${ns}, ${key}, ${value})
              ON CONFLICT (catalog_name, namespace, property_key) DO UPDATE SET property_value = EXCLUDED.property_value`
          }
        })).pipe(Effect.mapError(infra(`cannot create namespace ${ns}`)))
      })

    const loadNamespace: (typeof ServedCatalog.Service)["loadNamespace"] = (namespace) =>
      Effect.gen(function*() {
        const ns = yield* validateNamespace(namespace)
        yield* mustExist(namespace)
        return yield* propertiesOf(ns)
      })

    const updateNamespaceProperties: (typeof ServedCatalog.Service)["updateNamespaceProperties"] = (
      namespace,
      removals,
      updates
    ) =>
      Effect.gen(function*() {
        const ns = yield* validateNamespace(namespace)
        yield* mustExist(namespace)
        return yield* sql.withTransaction(Effect.gen(function*() {
          const before = yield* propertiesOf(ns)
          const removed: Array<string> = []
          const missing: Array<string> = []
          for (const key of removals) {
            if (key in before) {
              yield* sql`DELETE FROM iceberg_namespace_properties
                WHERE catalog_name = ${catalogName} AND namespace = ${ns} AND property_key = ${key}`
              removed.push(key)
            } else missing.push(key)
          }
          for (const [key, value] of Object.entries(updates)) {
            yield* sql`
              INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value)
              VALUES (${catalogName}, ${ns}, ${key}, ${value})
              ON CONFLICT (catalog_name, namespace, property_key) DO UPDATE SET property_value = EXCLUDED.property_value`
          }
          // A namespace whose last property went keeps existing.
          yield* createNamespace(namespace)
          return { updated: Object.keys(updates), removed, missing } satisfies PropertiesUpdate
        })).pipe(Effect.mapError(infra(`cannot update the properties of namespace ${ns}`)))
      })

    const dropNamespace: (typeof ServedCatalog.Service)["dropNamespace"] = (namespace) =>
      Effect.gen(function*() {
        const ns = yield* validateNamespace(namespace)
        yield* mustExist(namespace)
        const tables = yield* listTables(namespace)
        if (tables.length > 0) {
          return yield* new NamespaceNotEmpty({ namespace: [...namespace], reason: `it holds ${tables.length} table(s)` })
        }
        const below = (yield* namespacesUnder(ns)).filter((name) => name !== ns)
        if (below.length > 0) {
          return yield* new NamespaceNotEmpty({ namespace: [...namespace], reason: `it holds namespace ${below[0]}` })
        }
        yield* sql`DELETE FROM iceberg_namespace_properties WHERE catalog_name = ${catalogName} AND namespace = ${ns}`.pipe(
          Effect.mapError(infra(`cannot drop namespace ${ns}`))
        )
      })

    const listServedTables: (typeof ServedCatalog.Service)["listTables"] = (namespace) =>
      Effect.gen(function*() {
        yield* mustExist(namespace)
        return (yield* listTables(namespace)).map((ident) => ident.name)
      })

    const loadServedTable: (typeof ServedCatalog.Service)["loadTable"] = (table) =>
      Effect.flatMap(loadTable(table), (found) =>
        Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(new NoSuchTable({ table: tableName(table) })))

    const createServedTable: (typeof ServedCatalog.Service)["createTable"] = (table, request) =>
      Effect.gen(function*() {
        yield* mustExist(table.namespace)
        if (request.location !== undefined && keyOfUri(store, `${request.location.replace(/\/+$/, "")}/x`) === undefined) {
          return yield* new InvalidCommit({ reason: `location ${request.location} is outside the warehouse` })
        }
        return yield* createTable(table, request)
      })

    const dropServedTable: (typeof ServedCatalog.Service)["dropTable"] = (table, purge) =>
      Effect.gen(function*() {
        const found = yield* loadServedTable(table)
        const dropped = yield* dropTable(table)
        if (!dropped) return yield* new NoSuchTable({ table: tableName(table) })
        if (purge) {
          const key = keyOfUri(store, found.metadata.location)
          if (key !== undefined) yield* store.removePrefix(`${key}/`)
        }
      })

    const renameTable: (typeof ServedCatalog.Service)["renameTable"] = (from, to) =>
      Effect.gen(function*() {
        const fromNs = yield* validateTable(from)
        const toNs = yield* validateTable(to)
        yield* mustExist(to.namespace)
        const moved = yield* sql<{ table_name: string }>`
          UPDATE iceberg_tables SET table_namespace = ${toNs}, table_name = ${to.name}
           WHERE catalog_name = ${catalogName} AND table_namespace = ${fromNs} AND table_name = ${from.name}
             AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)
          RETURNING table_name`.pipe(
          Effect.map((rows) => rows.length > 0),
          Effect.catchTag("SqlError", (error): Effect.Effect<never, TableAlreadyExists | InfrastructureError> =>
            isUniqueViolation(error)
              ? Effect.fail(new TableAlreadyExists({ table: tableName(to) }))
              : Effect.fail(infra(`cannot rename table ${tableName(from)}`)(error)))
        )
        if (!moved) return yield* new NoSuchTable({ table: tableName(from) })
      })

    const catalog = TableCatalog.of({
      name: catalogName,
      createNamespace,
      namespaceExists,
      listTables,
      loadTable,
      createTable,
      commit,
      dropTable
    })
    const served = ServedCatalog.of({
      available: true,
      readerConfig: options.readerConfig ?? {},
      warehouseRoot: storeRootUri(store),
      listNamespaces,
      createNamespace: createServedNamespace,
      loadNamespace,
      updateNamespaceProperties,
      dropNamespace,
      listTables: listServedTables,
      loadTable: loadServedTable,
      createTable: createServedTable,
      commitTable,
      dropTable: dropServedTable,
      renameTable
    })
    return { catalog, served }
  })

/** Builds the SQL catalog the writer commits through, creating its two tables when missing. */
export const makeSqlCatalog = (
  options: SqlCatalogOptions
): Effect.Effect<typeof TableCatalog.Service, InfrastructureError, SqlClient.SqlClient> =>
  Effect.map(makeSqlCatalogs(options), ({ catalog }) => catalog)

/** The SQL catalog as the REST endpoint serves it. */
export const sqlServedCatalogLayer = (
  options: SqlCatalogOptions
): Layer.Layer<ServedCatalog, InfrastructureError, SqlClient.SqlClient> =>
  Layer.effect(ServedCatalog, Effect.map(makeSqlCatalogs(options), ({ served }) => served))

export const sqlCatalogLayer = (options: SqlCatalogOptions): Layer.Layer<TableCatalog, InfrastructureError, SqlClient.SqlClient> =>
  Layer.effect(TableCatalog, makeSqlCatalog(options))
