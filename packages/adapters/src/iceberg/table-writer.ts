import { InfrastructureError, Invalid, isIdentifier, isPackedColumn, TableWriter } from "@ingest/domain"
import type { Column, ColumnBatch, ObjectStore, TableIdent, WriteRequest, WriteResult } from "@ingest/domain"
import { TableAlreadyExists, TableCatalog } from "./table-catalog.ts"
import type {
  IcebergSnapshot,
  LoadedTable,
  TableRequirement,
  TableUpdate
} from "./table-catalog.ts"
import * as A from "apache-arrow"
import { Duration, Effect, Layer, Option, Stream } from "effect"
import { randomBytes, randomUUID } from "node:crypto"
import type { Segment } from "./arrow-batch.ts"
import { arrowSchemaOf, arrowTypeOf, buildRecordBatch, CellError } from "./arrow-batch.ts"
import { stringifyIcebergJson } from "./json.ts"
import { keyOfUri } from "./locations.ts"
import type { DataFile, ManifestFileEntry } from "./manifest.ts"
import { decodeManifestList, encodeManifest, encodeManifestList } from "./manifest.ts"
import { currentSchema, currentSnapshot, currentSnapshotId } from "./metadata.ts"
import type { DataFileWriter } from "./parquet-files.ts"
import { prewarmParquetEncoder } from "./parquet-encoder-pool.ts"
import { inlineParquetEncoder } from "./parquet-encoder.ts"
import { defaultTargetFileBytes, makeDataFileWriter } from "./parquet-files.ts"
import type { FieldPlan } from "./schema.ts"
import { columnOfField, initialSchema, resolveSchema, tableName, writableTypeOfField } from "./schema.ts"

// The TableWriter port over Iceberg: Parquet data files + one manifest per write, then a snapshot
// committed through the catalog with optimistic concurrency (reload and rebuild the manifest list
// on conflict). A write is idempotent per commit id: the id is recorded in the snapshot summary
// (`ingest.commit-id`) and a write whose id is already in the table commits nothing.

export interface IcebergTableWriterOptions {
  readonly catalog: typeof TableCatalog.Service
  /** The warehouse: where table files live (new tables at `<warehouse>/<namespace>/<table>`). */
  readonly warehouse: ObjectStore
  readonly targetFileBytes?: number | undefined
  /** Rows per Arrow batch handed to the Parquet writer. */
  readonly batchRows?: number | undefined
  readonly rowGroupRows?: number | undefined
  /**
   * Where Parquet is compressed: on the shared encoder threads ("worker", the default), so that
   * reading and converting rows overlaps with encoding, or on the writing thread ("inline").
   */
  readonly parquetEncoding?: "worker" | "inline" | undefined
  readonly maxCommitAttempts?: number | undefined
  /** Extra properties of tables this writer creates. */
  readonly tableProperties?: Readonly<Record<string, string>> | undefined
}

export const commitIdKey = "ingest.commit-id"
export const defaultBatchRows = 64 * 1024
export const defaultMaxCommitAttempts = 10

/** A write whose batches are Arrow record batches already (columns in the order of `columns`). */
export interface ArrowWriteRequest<E> extends Omit<WriteRequest<E>, "batches"> {
  readonly batches: Stream.Stream<A.RecordBatch, E>
}

export interface IcebergTableWriter {
  write<E>(request: WriteRequest<E>): Effect.Effect<WriteResult, E | Invalid | InfrastructureError>
  writeArrow<E>(request: ArrowWriteRequest<E>): Effect.Effect<WriteResult, E | Invalid | InfrastructureError>
  describe(table: TableIdent): Effect.Effect<Option.Option<ReadonlyArray<Column>>, InfrastructureError>
}

const newSnapshotId = (taken: ReadonlyArray<IcebergSnapshot>): bigint => {
  for (;;) {
    const id = randomBytes(8).readBigUInt64BE() & 0x7fffffffffffffffn
    if (id !== 0n && !taken.some((s) => s["snapshot-id"] === id)) return id
  }
}

const findCommit = (table: LoadedTable, commitId: string): IcebergSnapshot | undefined =>
  table.metadata.snapshots.find((s) => s.summary[commitIdKey] === commitId)

const alreadyCommitted = (snapshot: IcebergSnapshot): WriteResult => ({
  recordsWritten: Number(snapshot.summary["added-records"] ?? 0),
  bytesWritten: Number(snapshot.summary["added-files-size"] ?? 0),
  snapshotId: snapshot["snapshot-id"].toString(),
  alreadyCommitted: true
})

const validateRequest = (request: Omit<WriteRequest<unknown>, "batches">): Effect.Effect<void, Invalid> => {
  const { table, columns } = request
  if (table.namespace.length === 0 || !table.namespace.every(isIdentifier)) {
    return Effect.fail(new Invalid({ field: "namespace", reason: `Invalid namespace "${table.namespace.join(".")}"` }))
  }
  if (!isIdentifier(table.name)) {
    return Effect.fail(new Invalid({ field: "table", reason: `Invalid table name "${table.name}"` }))
  }
  if (columns.length === 0) return Effect.fail(new Invalid({ field: "columns", reason: "A table needs at least one column" }))
  const seen = new Set<string>()
  for (const column of columns) {
    if (column.name.length === 0 || column.name.length > 255) {
      return Effect.fail(new Invalid({ field: "columns", reason: `Invalid column name "${column.name}"` }))
    }
    const folded = column.name.toLowerCase()
    if (seen.has(folded)) return Effect.fail(new Invalid({ field: column.name, reason: `Duplicate column "${column.name}"` }))
    seen.add(folded)
  }
  if (request.commitId.length === 0 || request.commitId.length > 200) {
    return Effect.fail(new Invalid({ field: "commitId", reason: "commitId must be 1 to 200 characters" }))
  }
  return Effect.void
}

/** Sum of the parent's live data files and rows, from its manifest list. */
const totalsOf = (manifests: ReadonlyArray<ManifestFileEntry>) => {
  let files = 0
  let records = 0n
  for (const m of manifests) {
    if (m.content !== 0) continue
    files += m.added_files_count + m.existing_files_count
    records += m.added_rows_count + m.existing_rows_count
  }
  return { files, records }
}

const summaryNumber = (summary: IcebergSnapshot["summary"] | undefined, key: string): bigint | undefined => {
  const value = summary?.[key]
  return value !== undefined && /^\d+$/.test(value) ? BigInt(value) : undefined
}

export const makeIcebergTableWriter = (options: IcebergTableWriterOptions): IcebergTableWriter => {
  const { catalog, warehouse } = options
  const batchRows = Math.max(1, options.batchRows ?? defaultBatchRows)
  const maxAttempts = Math.max(1, options.maxCommitAttempts ?? defaultMaxCommitAttempts)
  const encodeOnThreads = options.parquetEncoding !== "inline"
  // An encoder thread takes about half a second to start: begin now rather than at the first file.
  if (encodeOnThreads) prewarmParquetEncoder()

  const mustLoad = (table: TableIdent) =>
    Effect.flatMap(catalog.loadTable(table), (loaded) =>
      Option.isSome(loaded)
        ? Effect.succeed(loaded.value)
        : Effect.fail(new InfrastructureError({ reason: `table ${tableName(table)} disappeared during the write` })))

  const ensureTable = (table: TableIdent, columns: ReadonlyArray<Column>) =>
    Effect.gen(function*() {
      const existing = yield* catalog.loadTable(table)
      if (Option.isSome(existing)) return existing.value
      yield* catalog.createNamespace(table.namespace)
      return yield* catalog.createTable(table, { schema: initialSchema(columns), properties: options.tableProperties }).pipe(
        Effect.catchTag("TableAlreadyExists", (_: TableAlreadyExists) => mustLoad(table))
      )
    })

  const backoff = (attempt: number) =>
    Effect.sleep(Duration.millis(Math.round(Math.random() * Math.min(2000, 50 * 2 ** attempt))))

  /** Matches the columns to the table schema, committing added columns first (metadata only). */
  const prepareSchema = (start: LoadedTable, columns: ReadonlyArray<Column>) =>
    Effect.gen(function*() {
      let table = start
      for (let attempt = 0; ; attempt++) {
        const metadata = table.metadata
        const resolution = resolveSchema(
          table.ident,
          currentSchema(metadata),
          metadata["last-column-id"],
          metadata.schemas.map((s) => s["schema-id"]),
          columns
        )
        if (resolution._tag === "Invalid") {
          return yield* new Invalid({ field: resolution.field, reason: resolution.reason })
        }
        if (!resolution.evolved) return { table, schema: resolution.schema, plan: resolution.plan }
        const requirements: Array<TableRequirement> = [
          { type: "assert-table-uuid", uuid: metadata["table-uuid"] },
          { type: "assert-current-schema-id", "current-schema-id": metadata["current-schema-id"] },
          { type: "assert-last-assigned-field-id", "last-assigned-field-id": metadata["last-column-id"] }
        ]
        const updates: Array<TableUpdate> = [
          { action: "add-schema", schema: resolution.schema, "last-column-id": resolution.lastColumnId },
          { action: "set-current-schema", "schema-id": -1 }
        ]
        const committed = yield* catalog.commit(table.ident, requirements, updates).pipe(
          Effect.map(Option.some),
          Effect.catchTags({
            CommitConflict: () => Effect.succeed(Option.none<LoadedTable>()),
            CommitStateUnknown: () => Effect.succeed(Option.none<LoadedTable>())
          })
        )
        if (Option.isSome(committed)) {
          const schema = currentSchema(committed.value.metadata)
          return { table: committed.value, schema, plan: resolution.plan }
        }
        if (attempt + 1 >= maxAttempts) {
          return yield* new InfrastructureError({
            reason: `could not add columns to ${tableName(table.ident)}: too many concurrent changes`
          })
        }
        yield* backoff(attempt)
        table = yield* mustLoad(table.ident)
      }
    })

  /** The write's fields must still mean the same in the table we commit to. */
  const checkStillCompatible = (table: LoadedTable, tableUuid: string, plan: ReadonlyArray<FieldPlan>) => {
    if (table.metadata["table-uuid"] !== tableUuid) {
      return Effect.fail(
        new InfrastructureError({ reason: `table ${tableName(table.ident)} was replaced during the write` })
      )
    }
    const fields = new Map(currentSchema(table.metadata).fields.map((f) => [f.id, f]))
    for (const p of plan) {
      const field = fields.get(p.field.id)
      const type = field === undefined ? undefined : writableTypeOfField(field)
      if (type === undefined || type.kind !== p.type.kind) {
        return Effect.fail(
          new InfrastructureError({
            reason: `column "${p.field.name}" of ${tableName(table.ident)} changed during the write`
          })
        )
      }
    }
    return Effect.void
  }

  const tableKey = (table: LoadedTable) => {
    const key = keyOfUri(warehouse, table.metadata.location)
    return key === undefined
      ? Effect.fail(
        new InfrastructureError({
          reason: `table ${tableName(table.ident)} is located at ${table.metadata.location}, outside the warehouse`
        })
      )
      : Effect.succeed(key.replace(/\/+$/, ""))
  }

  const readManifestList = (location: string) =>
    Effect.gen(function*() {
      const key = keyOfUri(warehouse, location)
      if (key === undefined) {
        return yield* new InfrastructureError({ reason: `manifest list ${location} is outside the warehouse` })
      }
      const bytes = yield* warehouse.getBytes(key)
      return yield* Effect.try({
        try: () => decodeManifestList(bytes),
        catch: (error) => new InfrastructureError({ reason: `unreadable manifest list ${location}: ${String(error)}` })
      })
    })

  /**
   * Commits the written files as a new snapshot, retrying on conflicts with a manifest list
   * rebuilt on the newest table state. Returns the committed snapshot (or the one already there).
   */
  const commitSnapshot = (
    start: LoadedTable,
    request: Omit<WriteRequest<unknown>, "batches">,
    plan: ReadonlyArray<FieldPlan>,
    schemaId: number,
    files: ReadonlyArray<DataFile>
  ) =>
    Effect.gen(function*() {
      const tableUuid = start.metadata["table-uuid"]
      const baseKey = yield* tableKey(start)
      const location = start.metadata.location
      const commitUuid = randomUUID()
      const snapshotId = newSnapshotId(start.metadata.snapshots)
      const addedRecords = files.reduce((n, f) => n + f.recordCount, 0)
      const addedBytes = files.reduce((n, f) => n + f.fileSizeInBytes, 0)

      let manifest: { path: string; length: number } | undefined
      if (files.length > 0) {
        const name = `metadata/${commitUuid}-m0.avro`
        const bytes = encodeManifest({
          schema: start.metadata.schemas.find((s) => s["schema-id"] === schemaId) ?? currentSchema(start.metadata),
          snapshotId,
          files
        })
        yield* warehouse.putBytes(`${baseKey}/${name}`, bytes)
        manifest = { path: `${location}/${name}`, length: bytes.length }
      }

      let table = start
      for (let attempt = 0; ; attempt++) {
        const done = findCommit(table, request.commitId)
        if (done !== undefined) return { snapshot: done, alreadyCommitted: true }
        yield* checkStillCompatible(table, tableUuid, plan)
        const metadata = table.metadata
        const parent = currentSnapshot(metadata)
        const parentId = currentSnapshotId(metadata)
        const sequenceNumber = metadata["last-sequence-number"] + 1n
        const parentManifests = parent === undefined ? [] : yield* readManifestList(parent["manifest-list"])
        const parentTotals = totalsOf(parentManifests)
        const parentSize = summaryNumber(parent?.summary, "total-files-size")
        const kept = request.mode === "append" ? parentManifests : []
        const ours: Array<ManifestFileEntry> = manifest === undefined ? [] : [{
          manifest_path: manifest.path,
          manifest_length: BigInt(manifest.length),
          partition_spec_id: 0,
          content: 0,
          sequence_number: sequenceNumber,
          min_sequence_number: sequenceNumber,
          added_snapshot_id: snapshotId,
          added_files_count: files.length,
          existing_files_count: 0,
          deleted_files_count: 0,
          added_rows_count: BigInt(addedRecords),
          existing_rows_count: 0n,
          deleted_rows_count: 0n,
          partitions: [],
          key_metadata: null
        }]
        const listName = `metadata/snap-${snapshotId}-${attempt + 1}-${commitUuid}.avro`
        yield* warehouse.putBytes(
          `${baseKey}/${listName}`,
          encodeManifestList({ snapshotId, parentSnapshotId: parentId, sequenceNumber, manifests: [...ours, ...kept] })
        )

        const summary: Record<string, string> = {
          operation: request.mode,
          "added-data-files": String(files.length),
          "added-records": String(addedRecords),
          "added-files-size": String(addedBytes)
        }
        if (request.mode === "overwrite" && parent !== undefined) {
          summary["deleted-data-files"] = String(parentTotals.files)
          summary["deleted-records"] = String(parentTotals.records)
          if (parentSize !== undefined) summary["removed-files-size"] = String(parentSize)
        }
        const keptFiles = request.mode === "append" ? parentTotals.files : 0
        const keptRecords = request.mode === "append" ? parentTotals.records : 0n
        summary["total-data-files"] = String(keptFiles + files.length)
        summary["total-records"] = String(keptRecords + BigInt(addedRecords))
        if (request.mode === "overwrite" || parent === undefined) {
          summary["total-files-size"] = String(addedBytes)
        } else if (parentSize !== undefined) {
          summary["total-files-size"] = String(parentSize + BigInt(addedBytes))
        }
        summary["total-delete-files"] = "0"
        summary["total-position-deletes"] = "0"
        summary["total-equality-deletes"] = "0"
        summary["manifests-created"] = String(ours.length)
        summary["manifests-kept"] = String(kept.length)
        summary[commitIdKey] = request.commitId

        const snapshot: IcebergSnapshot = {
          "snapshot-id": snapshotId,
          ...(parentId === undefined ? {} : { "parent-snapshot-id": parentId }),
          "sequence-number": sequenceNumber,
          "timestamp-ms": BigInt(Math.max(Date.now(), Number(metadata["last-updated-ms"]))),
          "manifest-list": `${location}/${listName}`,
          summary: summary as IcebergSnapshot["summary"],
          "schema-id": schemaId
        }
        const requirements: Array<TableRequirement> = [
          { type: "assert-table-uuid", uuid: tableUuid },
          { type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": parentId ?? null }
        ]
        const updates: Array<TableUpdate> = [
          { action: "add-snapshot", snapshot },
          { action: "set-snapshot-ref", "ref-name": "main", type: "branch", "snapshot-id": snapshotId }
        ]
        const outcome = yield* catalog.commit(table.ident, requirements, updates).pipe(
          Effect.map((committed) => ({ _tag: "Committed" as const, committed })),
          Effect.catchTags({
            CommitConflict: () => Effect.succeed({ _tag: "Retry" as const }),
            CommitStateUnknown: () => Effect.succeed({ _tag: "Unknown" as const })
          })
        )
        if (outcome._tag === "Committed") return { snapshot, alreadyCommitted: false }
        table = yield* mustLoad(table.ident)
        if (outcome._tag === "Unknown" && table.metadata.snapshots.some((s) => s["snapshot-id"] === snapshotId)) {
          return { snapshot, alreadyCommitted: false }
        }
        if (attempt + 1 >= maxAttempts) {
          return yield* new InfrastructureError({
            reason: `could not commit to ${tableName(table.ident)} after ${maxAttempts} attempts: too many concurrent writers`
          })
        }
        yield* backoff(attempt)
        table = yield* mustLoad(table.ident)
      }
    })

  /**
   * The shared write path. `feed` pushes the caller's data as Arrow batches into the data file
   * writer; it runs after the table and schema are settled.
   */
  const writeWith = <E>(
    request: Omit<WriteRequest<E>, "batches">,
    feed: (context: {
      readonly plan: ReadonlyArray<FieldPlan>
      readonly arrowSchema: A.Schema
      readonly writer: DataFileWriter
    }) => Effect.Effect<void, E | Invalid | InfrastructureError>
  ): Effect.Effect<WriteResult, E | Invalid | InfrastructureError> =>
    Effect.gen(function*() {
      yield* validateRequest(request)
      if (encodeOnThreads) prewarmParquetEncoder()
      const loaded = yield* ensureTable(request.table, request.columns)
      const earlier = findCommit(loaded, request.commitId)
      if (earlier !== undefined) return alreadyCommitted(earlier)
      const { table, schema, plan } = yield* prepareSchema(loaded, request.columns)
      const baseKey = yield* tableKey(table)
      const arrowSchema = arrowSchemaOf(plan)
      const files = yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* makeDataFileWriter({
          store: warehouse,
          dataKeyPrefix: `${baseKey}/data/`,
          dataUriPrefix: `${table.metadata.location}/data/`,
          writeId: randomUUID(),
          fields: plan.map((p) => ({ name: p.field.name, id: p.field.id, type: p.type, nullable: !p.field.required })),
          icebergSchemaJson: stringifyIcebergJson(schema),
          targetFileBytes: options.targetFileBytes ?? defaultTargetFileBytes,
          rowGroupRows: options.rowGroupRows,
          encoder: encodeOnThreads ? undefined : inlineParquetEncoder
        })
        yield* feed({ plan, arrowSchema, writer })
        return yield* writer.finish
      }))
      const records = files.reduce((n, f) => n + f.recordCount, 0)
      // An append of nothing changes nothing; an overwrite with nothing empties the table.
      if (files.length === 0 && (request.mode === "append" || currentSnapshotId(table.metadata) === undefined)) {
        const latest = yield* mustLoad(table.ident)
        return {
          recordsWritten: 0,
          bytesWritten: 0,
          snapshotId: currentSnapshotId(latest.metadata)?.toString() ?? "",
          alreadyCommitted: false
        }
      }
      const fresh = yield* mustLoad(table.ident)
      const outcome = yield* commitSnapshot(fresh, request, plan, schema["schema-id"], files)
      if (outcome.alreadyCommitted) return alreadyCommitted(outcome.snapshot)
      return {
        recordsWritten: records,
        bytesWritten: files.reduce((n, f) => n + f.fileSizeInBytes, 0),
        snapshotId: outcome.snapshot["snapshot-id"].toString(),
        alreadyCommitted: false
      }
    })

  const reportProgress = <E>(request: Omit<WriteRequest<E>, "batches">, records: number, writer: DataFileWriter) =>
    request.onProgress === undefined
      ? Effect.void
      : request.onProgress({ records, bytes: writer.progress().bytes })

  const write = <E>(request: WriteRequest<E>) =>
    writeWith(request, ({ arrowSchema, plan, writer }) =>
      Effect.gen(function*() {
        const width = request.columns.length
        let pending: Array<Segment> = []
        let pendingRows = 0
        let accepted = 0
        const flush = (rows: number) =>
          Effect.gen(function*() {
            // Take exactly `rows` rows off the front of the pending segments.
            const take: Array<Segment> = []
            let needed = rows
            while (needed > 0) {
              const head = pending[0]!
              const size = head.end - head.start
              if (size <= needed) {
                take.push(head)
                pending.shift()
                needed -= size
              } else {
                take.push({ batch: head.batch, start: head.start, end: head.start + needed })
                pending[0] = { batch: head.batch, start: head.start + needed, end: head.end }
                needed = 0
              }
            }
            pendingRows -= rows
            const batch = yield* Effect.try({
              try: () => buildRecordBatch(arrowSchema, plan, take),
              catch: (error) =>
                error instanceof CellError
                  ? new Invalid({ field: error.column, reason: error.message })
                  : new InfrastructureError({ reason: `cannot build a record batch: ${String(error)}` })
            })
            // Built here from the caller's values: its buffers can move to the encoder thread.
            yield* writer.write(batch, true)
          })
        yield* Stream.runForEach(request.batches, (batch: ColumnBatch) =>
          Effect.gen(function*() {
            if (batch.length === 0) return
            if (batch.columns.length !== width || batch.columns.some((c) => c.length !== batch.length)) {
              return yield* new Invalid({
                field: "batches",
                reason: `a batch has ${batch.columns.length} columns of lengths ` +
                  `${[...new Set(batch.columns.map((c) => c.length))].join("/")}, expected ${width} columns of ${batch.length}`
              })
            }
            pending.push({ batch, start: 0, end: batch.length })
            pendingRows += batch.length
            accepted += batch.length
            // A packed batch (sized by its reader) is stored as it is; cells are gathered into batches.
            if (pendingRows === batch.length && batch.columns.every(isPackedColumn)) yield* flush(batch.length)
            else while (pendingRows >= batchRows) yield* flush(batchRows)
            yield* reportProgress(request, accepted, writer)
          }))
        if (pendingRows > 0) yield* flush(pendingRows)
        pending = []
      }))

  const writeArrow = <E>(request: ArrowWriteRequest<E>) =>
    writeWith(request, ({ arrowSchema, plan, writer }) => {
      let accepted = 0
      return Stream.runForEach(request.batches, (batch: A.RecordBatch) =>
        Effect.gen(function*() {
          if (batch.numRows === 0) return
          if (batch.numCols !== plan.length) {
            return yield* new Invalid({
              field: "batches",
              reason: `a record batch has ${batch.numCols} columns, expected ${plan.length}`
            })
          }
          const children: Array<A.Data> = []
          for (let i = 0; i < plan.length; i++) {
            const p = plan[i]!
            const child = batch.data.children[i]!
            const expected = arrowTypeOf(p.type)
            if (!sameArrowType(child.type, expected)) {
              return yield* new Invalid({
                field: p.field.name,
                reason: `Column "${p.field.name}" is Arrow ${String(child.type)}, the table column needs ${String(expected)}`
              })
            }
            if (p.field.required && child.nullCount > 0) {
              return yield* new Invalid({
                field: p.field.name,
                reason: `Column "${p.field.name}": is required in the table but the data has a null value`
              })
            }
            children.push(child.clone(expected))
          }
          const data = A.makeData({ type: new A.Struct(arrowSchema.fields), length: batch.numRows, nullCount: 0, children })
          yield* writer.write(new A.RecordBatch(arrowSchema, data))
          accepted += batch.numRows
          yield* reportProgress(request, accepted, writer)
        }))
    })

  const describe = (table: TableIdent) =>
    Effect.map(catalog.loadTable(table), Option.map((t) => currentSchema(t.metadata).fields.map(columnOfField)))

  return { write, writeArrow, describe }
}

const sameArrowType = (actual: A.DataType, expected: A.DataType): boolean => {
  if (actual.typeId !== expected.typeId) return false
  if (A.DataType.isDecimal(actual) && A.DataType.isDecimal(expected)) {
    return actual.precision === expected.precision && actual.scale === expected.scale && actual.bitWidth === expected.bitWidth
  }
  if (A.DataType.isTimestamp(actual) && A.DataType.isTimestamp(expected)) {
    return actual.unit === expected.unit && (actual.timezone == null) === (expected.timezone == null)
  }
  if (A.DataType.isInt(actual) && A.DataType.isInt(expected)) {
    return actual.bitWidth === expected.bitWidth && actual.isSigned === expected.isSigned
  }
  if (A.DataType.isFloat(actual) && A.DataType.isFloat(expected)) return actual.precision === expected.precision
  if (A.DataType.isDate(actual) && A.DataType.isDate(expected)) return actual.unit === expected.unit
  return true
}

/** The writer as the `TableWriter` port, over the `TableCatalog` in context. */
export const icebergTableWriterLayer = (
  options: Omit<IcebergTableWriterOptions, "catalog">
): Layer.Layer<TableWriter, never, TableCatalog> =>
  Layer.effect(
    TableWriter,
    Effect.gen(function*() {
      const catalog = yield* TableCatalog
      const writer = makeIcebergTableWriter({ ...options, catalog })
      return TableWriter.of({ write: writer.write, describe: writer.describe })
    })
  )
