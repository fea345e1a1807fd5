import {
  activeSyncConflict,
  clampPage,
  Connection,
  ConnectionRepo,
  FileImport,
  FileImportSummary,
  FileImportRepo,
  makePage,
  normalizePageRequest,
  connectorTypes,
  Source,
  SourceRepo,
  SourceStatus,
  type SourceSummary,
  Sync,
  SyncRepo
} from "@ingest/domain"
import { Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { activeSyncIndex } from "./conflicts.ts"
import { syncOrderBy } from "./paging.ts"
import {
  canonicalId,
  dateTimeOf,
  dateTimeOrNullOf,
  jsonOf,
  jsonOrNull,
  numberOf,
  numberOrNullOf,
  type Row,
  stringOrNullOf,
  toDate,
  toDateOrNull
} from "./rows.ts"
import { SecretCipher } from "./secrets.ts"

// PostgreSQL implementations of the persistence ports. Every statement filters by tenant_id
// (except the two cross-tenant scans the ports name: listDue and listActive). Storage failures
// and rows that do not decode are defects: callers cannot handle them, the HTTP layer answers 500.

/** The shared client without name transforms: columns are written and read in snake_case. */
const plainClient = SqlClient.SqlClient.pipe(Effect.map((sql) => sql.withoutTransforms()))

const decodeWith = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S, entity: string) => {
  const decode = Schema.decodeUnknownEffect(schema)
  return (value: unknown): Effect.Effect<S["Type"]> =>
    decode(value).pipe(Effect.catch((error) => Effect.die(new Error(`stored ${entity} does not decode: ${error.message}`))))
}

/** Parses a decrypted config; the error never quotes the text (it holds secrets). */
const parseConfig = (sourceId: string, plaintext: string) =>
  Effect.try({
    try: () => JSON.parse(plaintext) as unknown,
    catch: () => new Error(`source ${sourceId}: the decrypted connectionConfig is not JSON`)
  }).pipe(Effect.orDie)

const limitOf = (limit: number, max = 10_000): number => Math.min(max, Math.max(1, Math.trunc(Number.isFinite(limit) ? limit : 1)))

// ---------------------------------------------------------------------------------------------
// sources

const knownConnectorTypes: ReadonlySet<unknown> = new Set(connectorTypes)
const knownSourceStatuses: ReadonlySet<unknown> = new Set(SourceStatus.literals)

/**
 * A list row as a summary, checked by hand rather than through the Source schema (lists are read
 * per request and per row): the column types and the status CHECK constraint already guarantee
 * what the schema checks, the connector type is checked here, and the times by dateTimeOf.
 */
const summaryOf = (row: Row): SourceSummary => {
  const id = String(row.id)
  if (typeof row.name !== "string" || !knownConnectorTypes.has(row.connector_type) || !knownSourceStatuses.has(row.status)) {
    throw new Error(`stored source ${id} does not decode: name, connector type or status is invalid`)
  }
  return {
    id: id as SourceSummary["id"],
    tenantId: String(row.tenant_id) as SourceSummary["tenantId"],
    name: row.name,
    description: stringOrNullOf(row, "description"),
    connectorType: row.connector_type as SourceSummary["connectorType"],
    status: row.status as SourceSummary["status"],
    lastTestedAt: dateTimeOrNullOf(row, "last_tested_at"),
    lastError: stringOrNullOf(row, "last_error"),
    engineRef: stringOrNullOf(row, "engine_ref"),
    createdAt: dateTimeOf(row, "created_at"),
    updatedAt: dateTimeOf(row, "updated_at")
  }
}

const sourceAad = (tenantId: string, id: string) => `source:${canonicalId(tenantId)}:${canonicalId(id)}`

export const SourceRepoSql = Layer.effect(
  SourceRepo,
  Effect.gen(function*() {
    const sql = yield* plainClient
    const cipher = yield* SecretCipher
    const decode = decodeWith(Source, "source")

    const fromRow = (row: Row) =>
      Effect.gen(function*() {
        const id = String(row.id)
        const tenantId = String(row.tenant_id)
        const plaintext = yield* cipher.decrypt(String(row.connection_config), sourceAad(tenantId, id)).pipe(
          Effect.catch((error) => Effect.die(new Error(`source ${id}: ${error.message}`)))
        )
        return yield* decode({
          id,
          tenantId,
          name: row.name,
          description: stringOrNullOf(row, "description"),
          connectorType: row.connector_type,
          connectionConfig: yield* parseConfig(id, plaintext),
          status: row.status,
          lastTestedAt: dateTimeOrNullOf(row, "last_tested_at"),
          lastError: stringOrNullOf(row, "last_error"),
          engineRef: stringOrNullOf(row, "engine_ref"),
          discovered: jsonOf(row, "discovered"),
          createdAt: dateTimeOf(row, "created_at"),
          updatedAt: dateTimeOf(row, "updated_at")
        })
      })

    const columnsOf = (source: Source) =>
      Effect.map(
        cipher.encrypt(JSON.stringify(source.connectionConfig), sourceAad(source.tenantId, source.id)),
        (encrypted) => ({
          name: source.name,
          description: source.description,
          connector_type: source.connectorType,
          connection_config: encrypted,
          status: source.status,
          last_tested_at: toDateOrNull(source.lastTestedAt),
          last_error: source.lastError,
          engine_ref: source.engineRef,
          discovered: jsonOrNull(source.discovered),
          updated_at: toDate(source.updatedAt)
        })
      )

    return SourceRepo.of({
      insert: (source) =>
        Effect.gen(function*() {
          const columns = yield* columnsOf(source)
          yield* sql`INSERT INTO sources ${
            sql.insert({
              id: canonicalId(source.id),
              tenant_id: canonicalId(source.tenantId),
              ...columns,
              created_at: toDate(source.createdAt)
            })
          }`
        }).pipe(Effect.orDie, Effect.withSpan("SourceRepoSql.insert")),
      update: (source) =>
        Effect.gen(function*() {
          const columns = yield* columnsOf(source)
          yield* sql`UPDATE sources SET ${sql.update(columns)}
            WHERE tenant_id = ${source.tenantId} AND id = ${source.id}`
        }).pipe(Effect.orDie, Effect.withSpan("SourceRepoSql.update")),
      find: (tenantId, id) =>
        sql<Row>`SELECT * FROM sources WHERE tenant_id = ${tenantId} AND id = ${id}`.pipe(
          Effect.orDie,
          Effect.flatMap((rows) => rows.length === 0 ? Effect.succeedNone : Effect.asSome(fromRow(rows[0]!))),
          Effect.withSpan("SourceRepoSql.find")
        ),
      // Only what a summary holds: the encrypted config is neither read nor decrypted.
      list: (tenantId) =>
        sql<Row>`SELECT id, tenant_id, name, description, connector_type, status, last_tested_at, last_error, engine_ref,
            created_at, updated_at
          FROM sources WHERE tenant_id = ${tenantId} ORDER BY created_at, id`.pipe(
          Effect.orDie,
          Effect.flatMap((rows) => Effect.try({ try: () => rows.map(summaryOf), catch: (error) => error }).pipe(Effect.orDie)),
          Effect.withSpan("SourceRepoSql.list")
        ),
      remove: (tenantId, id) =>
        sql`DELETE FROM sources WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING id`.pipe(
          Effect.map((rows) => rows.length > 0),
          Effect.orDie,
          Effect.withSpan("SourceRepoSql.remove")
        )
    })
  })
)

// ---------------------------------------------------------------------------------------------
// connections

export const ConnectionRepoSql = Layer.effect(
  ConnectionRepo,
  Effect.gen(function*() {
    const sql = yield* plainClient
    const decode = decodeWith(Connection, "connection")

    const fromRow = (row: Row) =>
      decode({
        id: String(row.id),
        tenantId: String(row.tenant_id),
        sourceId: String(row.source_id),
        name: row.name,
        destinationType: row.destination_type,
        syncSchedule: stringOrNullOf(row, "sync_schedule"),
        selectedStreams: jsonOf(row, "selected_streams"),
        syncMode: row.sync_mode,
        status: row.status,
        lastSyncAt: dateTimeOrNullOf(row, "last_sync_at"),
        engineRef: stringOrNullOf(row, "engine_ref"),
        nextRunAt: dateTimeOrNullOf(row, "next_run_at"),
        createdAt: dateTimeOf(row, "created_at"),
        updatedAt: dateTimeOf(row, "updated_at")
      })
    const fromRows = (rows: ReadonlyArray<Row>) => Effect.forEach(rows, fromRow)

    const columnsOf = (connection: Connection) => ({
      source_id: canonicalId(connection.sourceId),
      name: connection.name,
      destination_type: connection.destinationType,
      sync_schedule: connection.syncSchedule,
      selected_streams: jsonOrNull(connection.selectedStreams),
      sync_mode: connection.syncMode,
      status: connection.status,
      last_sync_at: toDateOrNull(connection.lastSyncAt),
      engine_ref: connection.engineRef,
      next_run_at: toDateOrNull(connection.nextRunAt),
      updated_at: toDate(connection.updatedAt)
    })

    return ConnectionRepo.of({
      insert: (connection) =>
        sql`INSERT INTO connections ${
          sql.insert({
            id: canonicalId(connection.id),
            tenant_id: canonicalId(connection.tenantId),
            ...columnsOf(connection),
            created_at: toDate(connection.createdAt)
          })
        }`.pipe(Effect.asVoid, Effect.orDie, Effect.withSpan("ConnectionRepoSql.insert")),
      update: (connection) =>
        sql`UPDATE connections SET ${sql.update(columnsOf(connection))}
          WHERE tenant_id = ${connection.tenantId} AND id = ${connection.id}`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("ConnectionRepoSql.update")
        ),
      find: (tenantId, id) =>
        sql<Row>`SELECT * FROM connections WHERE tenant_id = ${tenantId} AND id = ${id}`.pipe(
          Effect.orDie,
          Effect.flatMap((rows) => rows.length === 0 ? Effect.succeedNone : Effect.asSome(fromRow(rows[0]!))),
          Effect.withSpan("ConnectionRepoSql.find")
        ),
      list: (tenantId) =>
        sql<Row>`SELECT * FROM connections WHERE tenant_id = ${tenantId} ORDER BY created_at, id`.pipe(
          Effect.orDie,
          Effect.flatMap(fromRows),
          Effect.withSpan("ConnectionRepoSql.list")
        ),
      countBySource: (tenantId, sourceId) =>
        sql<Row>`SELECT count(*)::int AS n FROM connections WHERE tenant_id = ${tenantId} AND source_id = ${sourceId}`.pipe(
          Effect.map((rows) => numberOf(rows[0]!, "n")),
          Effect.orDie,
          Effect.withSpan("ConnectionRepoSql.countBySource")
        ),
      remove: (tenantId, id) =>
        sql`DELETE FROM connections WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING id`.pipe(
          Effect.map((rows) => rows.length > 0),
          Effect.orDie,
          Effect.withSpan("ConnectionRepoSql.remove")
        ),
      listDue: (now, limit) =>
        sql<Row>`SELECT * FROM connections
          WHERE next_run_at IS NOT NULL AND next_run_at <= ${toDate(now)}
          ORDER BY next_run_at, id
          LIMIT ${limitOf(limit)}`.pipe(Effect.orDie, Effect.flatMap(fromRows), Effect.withSpan("ConnectionRepoSql.listDue")),
      // Compare-and-set: of several schedulers that read the same due time, only the one whose
      // UPDATE still finds it moves it on; the others see zero rows. Compared at millisecond
      // precision, the precision the domain's times have.
      advanceSchedule: (tenantId, id, expected, next) =>
        sql`UPDATE connections SET next_run_at = ${toDateOrNull(next)}
          WHERE tenant_id = ${tenantId} AND id = ${id}
            AND date_trunc('milliseconds', next_run_at) = ${toDate(expected)}
          RETURNING id`.pipe(
          Effect.map((rows) => rows.length > 0),
          Effect.orDie,
          Effect.withSpan("ConnectionRepoSql.advanceSchedule")
        )
    })
  })
)

// ---------------------------------------------------------------------------------------------
// syncs

export const SyncRepoSql = Layer.effect(
  SyncRepo,
  Effect.gen(function*() {
    const sql = yield* plainClient
    const decode = decodeWith(Sync, "sync")

    const fromRow = (row: Row) =>
      decode({
        id: String(row.id),
        tenantId: String(row.tenant_id),
        connectionId: String(row.connection_id),
        status: row.status,
        recordsSynced: numberOrNullOf(row, "records_synced"),
        bytesSynced: numberOrNullOf(row, "bytes_synced"),
        startedAt: dateTimeOf(row, "started_at"),
        completedAt: dateTimeOrNullOf(row, "completed_at"),
        durationMs: numberOrNullOf(row, "duration_ms"),
        error: stringOrNullOf(row, "error"),
        engineJobId: stringOrNullOf(row, "engine_job_id"),
        trigger: row.trigger
      })
    const fromRows = (rows: ReadonlyArray<Row>) => Effect.forEach(rows, fromRow)

    const columnsOf = (sync: Sync) => ({
      status: sync.status,
      records_synced: sync.recordsSynced,
      bytes_synced: sync.bytesSynced,
      started_at: toDate(sync.startedAt),
      completed_at: toDateOrNull(sync.completedAt),
      duration_ms: sync.durationMs,
      error: sync.error,
      engine_job_id: sync.engineJobId,
      trigger: sync.trigger
    })

    return SyncRepo.of({
      insert: (sync) =>
        sql`INSERT INTO syncs ${
          sql.insert({
            id: canonicalId(sync.id),
            tenant_id: canonicalId(sync.tenantId),
            connection_id: canonicalId(sync.connectionId),
            ...columnsOf(sync)
          })
        }`.pipe(
          Effect.asVoid,
          Effect.catchReason("SqlError", "UniqueViolation", (violation) =>
            violation.constraint === activeSyncIndex
              ? Effect.fail(activeSyncConflict(sync.connectionId))
              : Effect.die(violation)),
          Effect.catchTag("SqlError", Effect.die),
          Effect.withSpan("SyncRepoSql.insert")
        ),
      update: (sync) => {
        const { engine_job_id, ...columns } = columnsOf(sync)
        return sql`UPDATE syncs SET ${sql.update(columns)}, engine_job_id = COALESCE(${engine_job_id}, engine_job_id)
          WHERE tenant_id = ${sync.tenantId} AND id = ${sync.id} AND status IN ('PENDING', 'RUNNING')`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("SyncRepoSql.update")
        )
      },
      attachEngineJob: (tenantId, id, engineJobId) =>
        sql`UPDATE syncs SET engine_job_id = ${engineJobId} WHERE tenant_id = ${tenantId} AND id = ${id}`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("SyncRepoSql.attachEngineJob")
        ),
      find: (tenantId, id) =>
        sql<Row>`SELECT * FROM syncs WHERE tenant_id = ${tenantId} AND id = ${id}`.pipe(
          Effect.orDie,
          Effect.flatMap((rows) => rows.length === 0 ? Effect.succeedNone : Effect.asSome(fromRow(rows[0]!))),
          Effect.withSpan("SyncRepoSql.find")
        ),
      page: (tenantId, request) =>
        Effect.gen(function*() {
          const normalized = normalizePageRequest(request)
          const filter = normalized.connectionId === undefined
            ? sql`tenant_id = ${tenantId}`
            : sql`tenant_id = ${tenantId} AND connection_id = ${normalized.connectionId}`
          const [counted, rows] = yield* Effect.all([
            sql<Row>`SELECT count(*)::int AS n FROM syncs WHERE ${filter}`,
            sql<Row>`SELECT * FROM syncs WHERE ${filter}
              ORDER BY ${sql.literal(syncOrderBy(normalized.sort))}
              LIMIT ${normalized.size} OFFSET ${normalized.offset}`
          ])
          return makePage(yield* fromRows(rows), numberOf(counted[0]!, "n"), normalized)
        }).pipe(Effect.orDie, Effect.withSpan("SyncRepoSql.page")),
      findActive: (tenantId, connectionId) =>
        sql<Row>`SELECT * FROM syncs
          WHERE tenant_id = ${tenantId} AND connection_id = ${connectionId} AND status IN ('PENDING', 'RUNNING')`.pipe(
          Effect.orDie,
          Effect.flatMap((rows) => rows.length === 0 ? Effect.succeedNone : Effect.asSome(fromRow(rows[0]!))),
          Effect.withSpan("SyncRepoSql.findActive")
        ),
      listActive: (limit) =>
        sql<Row>`SELECT * FROM syncs WHERE status IN ('PENDING', 'RUNNING')
          ORDER BY started_at, id LIMIT ${limitOf(limit)}`.pipe(
          Effect.orDie,
          Effect.flatMap(fromRows),
          Effect.withSpan("SyncRepoSql.listActive")
        )
    })
  })
)

// ---------------------------------------------------------------------------------------------
// file imports

/** The columns of a file import but its profile (a fixed list: no input reaches it). */
const summaryColumns = "id, tenant_id, file_name, file_size, file_format, storage_path, status, target_table_name, " +
  "target_schema, column_mappings, drop_unmapped, records_imported, bytes_read, error, created_at, updated_at, completed_at"

export const FileImportRepoSql = Layer.effect(
  FileImportRepo,
  Effect.gen(function*() {
    const sql = yield* plainClient
    const decode = decodeWith(FileImport, "file import")
    const decodeSummary = decodeWith(FileImportSummary, "file import")

    const summaryFields = (row: Row) => ({
      id: String(row.id),
      tenantId: String(row.tenant_id),
      fileName: row.file_name,
      fileSize: numberOf(row, "file_size"),
      fileFormat: row.file_format,
      storagePath: row.storage_path,
      status: row.status,
      targetTableName: stringOrNullOf(row, "target_table_name"),
      targetSchema: stringOrNullOf(row, "target_schema"),
      columnMappings: jsonOf(row, "column_mappings"),
      dropUnmapped: row.drop_unmapped === true,
      recordsImported: numberOrNullOf(row, "records_imported"),
      bytesRead: numberOrNullOf(row, "bytes_read"),
      error: stringOrNullOf(row, "error"),
      createdAt: dateTimeOf(row, "created_at"),
      updatedAt: dateTimeOf(row, "updated_at"),
      completedAt: dateTimeOrNullOf(row, "completed_at")
    })

    const fromRow = (row: Row) => decode({ ...summaryFields(row), profile: jsonOf(row, "profile") })

    const columnsOf = (file: FileImport) => ({
      file_name: file.fileName,
      file_size: file.fileSize,
      file_format: file.fileFormat,
      storage_path: file.storagePath,
      status: file.status,
      profile: JSON.stringify(file.profile),
      target_table_name: file.targetTableName,
      target_schema: file.targetSchema,
      column_mappings: jsonOrNull(file.columnMappings),
      drop_unmapped: file.dropUnmapped,
      records_imported: file.recordsImported,
      bytes_read: file.bytesRead,
      error: file.error,
      updated_at: toDate(file.updatedAt),
      completed_at: toDateOrNull(file.completedAt)
    })

    return FileImportRepo.of({
      insert: (file) =>
        sql`INSERT INTO file_imports ${
          sql.insert({
            id: canonicalId(file.id),
            tenant_id: canonicalId(file.tenantId),
            ...columnsOf(file),
            created_at: toDate(file.createdAt)
          })
        }`.pipe(Effect.asVoid, Effect.orDie, Effect.withSpan("FileImportRepoSql.insert")),
      update: (file) =>
        sql`UPDATE file_imports SET ${sql.update(columnsOf(file))}
          WHERE tenant_id = ${file.tenantId} AND id = ${file.id}`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("FileImportRepoSql.update")
        ),
      find: (tenantId, id) =>
        sql<Row>`SELECT * FROM file_imports WHERE tenant_id = ${tenantId} AND id = ${id}`.pipe(
          Effect.orDie,
          Effect.flatMap((rows) => rows.length === 0 ? Effect.succeedNone : Effect.asSome(fromRow(rows[0]!))),
          Effect.withSpan("FileImportRepoSql.find")
        ),
      // Status polls and lists: the profile (up to hundreds of KB of JSON for a wide file) is not read.
      findSummary: (tenantId, id) =>
        sql<Row>`SELECT ${sql.literal(summaryColumns)} FROM file_imports WHERE tenant_id = ${tenantId} AND id = ${id}`.pipe(
          Effect.orDie,
          Effect.flatMap((rows) => rows.length === 0 ? Effect.succeedNone : Effect.asSome(decodeSummary(summaryFields(rows[0]!)))),
          Effect.withSpan("FileImportRepoSql.findSummary")
        ),
      list: (tenantId) =>
        sql<Row>`SELECT * FROM file_imports WHERE tenant_id = ${tenantId} ORDER BY created_at, id`.pipe(
          Effect.orDie,
          Effect.flatMap((rows) => Effect.forEach(rows, fromRow)),
          Effect.withSpan("FileImportRepoSql.list")
        ),
      page: (tenantId, request) =>
        Effect.gen(function*() {
          const clamped = clampPage(request)
          const [counted, rows] = yield* Effect.all([
            sql<Row>`SELECT count(*)::int AS n FROM file_imports WHERE tenant_id = ${tenantId}`,
            sql<Row>`SELECT ${sql.literal(summaryColumns)} FROM file_imports WHERE tenant_id = ${tenantId}
              ORDER BY created_at DESC, id DESC LIMIT ${clamped.size} OFFSET ${clamped.offset}`
          ])
          const summaries = yield* Effect.forEach(rows, (row) => decodeSummary(summaryFields(row)))
          return makePage(summaries, numberOf(counted[0]!, "n"), clamped)
        }).pipe(Effect.orDie, Effect.withSpan("FileImportRepoSql.page"))
    })
  })
)

/** The four SQL repositories; needs `SqlClient` (migrated) and `SecretCipher`. */
export const SqlRepositories = Layer.mergeAll(SourceRepoSql, ConnectionRepoSql, SyncRepoSql, FileImportRepoSql)
