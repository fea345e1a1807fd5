import type { PgClient } from "@effect/sql-pg"
import type { ColumnWithSamples, DiscoveredStream, SyncMode } from "@ingest/domain"
import { Effect } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { chooseCursor, columnOfPg, type PgColumn } from "./types.ts"

/** A table or view of the source, with what reading it needs. */
export interface PgRelation {
  readonly schema: string
  readonly table: string
  /** `pg_class.relkind`: r table, p partitioned table, v view, m materialized view, f foreign table. */
  readonly kind: string
  readonly columns: ReadonlyArray<PgColumn>
  readonly primaryKey: ReadonlyArray<string>
}

export const streamName = (relation: { readonly schema: string; readonly table: string }) =>
  `${relation.schema}.${relation.table}`

/** Discovery stops here; a source with more tables needs `schemas` to narrow it down. */
export const maxDiscoveredColumns = 200_000

const systemSchemaFilter = `
  n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%'
  AND n.nspname NOT LIKE 'pg\\_temp\\_%'`

interface ColumnRow {
  readonly schema_name: string
  readonly table_name: string
  readonly kind: string
  readonly column_name: string
  readonly type_name: string
  readonly type_category: string
  readonly type_modifier: number
  readonly not_null: boolean
}

interface KeyRow {
  readonly schema_name: string
  readonly table_name: string
  readonly column_name: string
}

/**
 * Reads every readable table and view (partitions are read through their parent) with its
 * columns in ordinal order and its primary key. Domains are resolved to their base type.
 */
export const loadRelations = (
  sql: PgClient.PgClient,
  schemas: ReadonlyArray<string> | undefined,
  /** Just this stream (`schema.table`). */
  only?: { readonly name: string }
): Effect.Effect<ReadonlyArray<PgRelation>, SqlError> =>
  Effect.gen(function*() {
    const schemaFilter = schemas === undefined ? sql`TRUE` : sql`n.nspname IN ${sql.in(schemas)}`
    const relationFilter = only === undefined
      ? sql`TRUE`
      : sql`n.nspname || '.' || c.relname = ${only.name}`
    const columns = yield* sql<ColumnRow>`
      SELECT n.nspname AS schema_name, c.relname AS table_name, c.relkind::text AS kind,
             a.attname AS column_name, bt.typname AS type_name, bt.typcategory::text AS type_category,
             CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS type_modifier,
             (a.attnotnull OR (t.typtype = 'd' AND t.typnotnull)) AS not_null
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
      JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND NOT c.relispartition
        AND ${sql.unsafe(systemSchemaFilter)}
        AND ${schemaFilter}
        AND ${relationFilter}
        AND has_schema_privilege(n.oid, 'USAGE')
        AND has_table_privilege(c.oid, 'SELECT')
      ORDER BY n.nspname, c.relname, a.attnum
      LIMIT ${maxDiscoveredColumns}`
    const keys = yield* sql<KeyRow>`
      SELECT n.nspname AS schema_name, c.relname AS table_name, a.attname AS column_name
      FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE i.indisprimary
        AND ${sql.unsafe(systemSchemaFilter)}
        AND ${schemaFilter}
        AND ${relationFilter}
      ORDER BY n.nspname, c.relname, k.position`

    const keyIndex = new Map<string, Array<string>>()
    for (const key of keys) {
      const id = streamName({ schema: key.schema_name, table: key.table_name })
      const list = keyIndex.get(id) ?? []
      list.push(key.column_name)
      keyIndex.set(id, list)
    }
    const relations: Array<PgRelation> = []
    let current: { schema: string; table: string; kind: string; columns: Array<PgColumn> } | undefined
    const flush = () => {
      if (current === undefined) return
      relations.push({ ...current, primaryKey: keyIndex.get(streamName(current)) ?? [] })
    }
    for (const row of columns) {
      if (current === undefined || current.schema !== row.schema_name || current.table !== row.table_name) {
        flush()
        current = { schema: row.schema_name, table: row.table_name, kind: row.kind, columns: [] }
      }
      current.columns.push({
        name: row.column_name,
        typeName: row.type_name,
        typeCategory: row.type_category,
        typeModifier: Number(row.type_modifier),
        notNull: row.not_null
      })
    }
    flush()
    return relations
  })

/** Whether the server can stream changes (logical decoding); CDC is offered only then. */
export const logicalReplicationEnabled = (sql: PgClient.PgClient): Effect.Effect<boolean, SqlError> =>
  sql<{ readonly wal_level: string }>`SELECT current_setting('wal_level') AS wal_level`.pipe(
    Effect.map((rows) => rows[0]?.wal_level === "logical")
  )

const tableKinds = new Set(["r", "p"])

export const toDiscoveredStream = (relation: PgRelation, logical: boolean): DiscoveredStream => {
  const columns: Array<ColumnWithSamples> = relation.columns.map((column) => ({ ...columnOfPg(column), sampleValues: [] }))
  const cursor = chooseCursor(columns, relation.primaryKey)
  const modes: Array<SyncMode> = ["FULL_REFRESH"]
  if (cursor !== undefined) modes.push("INCREMENTAL")
  if (logical && relation.primaryKey.length > 0 && tableKinds.has(relation.kind)) modes.push("CDC")
  return {
    name: streamName(relation),
    columns,
    supportedSyncModes: modes,
    ...(relation.primaryKey.length > 0 ? { primaryKey: relation.primaryKey } : {}),
    ...(cursor === undefined ? {} : { defaultCursorField: cursor })
  }
}
