import { InfrastructureError, Invalid, isIdentifier, isPackedColumn, TableWriter } from "@ingest/domain"
import type { Column, ColumnBatch, ObjectStore, TableIdent, WriteRequest, WriteResult } from "@ingest/domain"
import * as A from "apache-arrow"
import { Duration, Effect, Layer, Option, Stream } from "effect"
import { randomUUID } from "node:crypto"
import type { Segment } from "./arrow-batch.ts"
import { arrowSchemaOf, arrowTypeOf, buildRecordBatch, CellError } from "./arrow-batch.ts"
import { stringifyIcebergJson } from "./json.ts"
import { currentSchema, currentSnapshotId } from "./metadata.ts"
import type { DataFileWriter } from "./parquet-files.ts"
import { prewarmParquetEncoder } from "./parquet-encoder-pool.ts"
import { inlineParquetEncoder } from "./parquet-encoder.ts"
import { defaultTargetFileBytes, makeDataFileWriter } from "./parquet-files.ts"
import type { FieldPlan } from "./schema.ts"
import { columnOfField, initialSchema, tableName } from "./schema.ts"
import { settleSchema } from "./schema-evolution.ts"
import { commitSnapshot } from "./snapshot-commit.ts"
import { findCommit } from "./snapshot-production.ts"
import type { IcebergSnapshot, TableAlreadyExists } from "./table-catalog.ts"
import { TableCatalog } from "./table-catalog.ts"
import type { TableStorage } from "./table-files.ts"
import { warehouseTableStorage } from "./table-files.ts"

// The TableWriter port over Iceberg: Parquet data files + one manifest per write, then a snapshot
// committed through the catalog with optimistic concurrency. A write runs in three parts shared by
// every catalog: schema evolution (schema-evolution.ts), snapshot production (pure:
// snapshot-production.ts) and the commit through the catalog's own commit (snapshot-commit.ts).
// A write is idempotent per commit id: the id is recorded in the snapshot summary
// (`ingest.commit-id`) and a write whose id is already in the table commits nothing.

export interface IcebergTableWriterOptions {
  readonly catalog: typeof TableCatalog.Service
  /** The warehouse: where table files live (new tables at `<warehouse>/<namespace>/<table>`). */
  readonly warehouse?: ObjectStore | undefined
  /** How to reach a table's files; by default the catalog's way, else under its location inside `warehouse`. */
  readonly storage?: TableStorage | undefined
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

export const makeIcebergTableWriter = (options: IcebergTableWriterOptions): IcebergTableWriter => {
  const { catalog } = options
  const storage = options.storage ?? catalog.storage ??
    (options.warehouse === undefined ? undefined : warehouseTableStorage(options.warehouse))
  if (storage === undefined) throw new Error("an Iceberg table writer needs a warehouse or a table storage")
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
  const parts = { catalog, maxAttempts, backoff, load: mustLoad }

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
      const { table, schema, plan } = yield* settleSchema(parts, loaded, request.columns)
      const tableFiles = yield* storage(table)
      const arrowSchema = arrowSchemaOf(plan)
      const files = yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* makeDataFileWriter({
          store: tableFiles.store,
          dataKeyPrefix: tableFiles.dataKeyPrefix,
          dataUriPrefix: tableFiles.dataUriPrefix,
          writeId: randomUUID(),
          fields: plan.map((p) => ({ name: p.field.name, id: p.field.id, type: p.type, nullable: !p.field.required })),
          icebergSchemaJson: stringifyIcebergJson(schema),
          targetFileBytes: options.targetFileBytes ?? defaultTargetFileBytes,
          rowGroupRows: options.rowGroupRows,
          encoder: encodeOnThreads ? undefined : inlineParquetEncoder
        })
        // Reading and encoding overlap: "read" spans the source's batches handed to the encoder,
        // "encode" the Parquet encodes and uploads still running after the last batch.
        yield* feed({ plan, arrowSchema, writer }).pipe(Effect.withSpan("write.read"))
        return yield* writer.finish.pipe(Effect.withSpan("write.encode"))
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
      const outcome = yield* commitSnapshot(parts, fresh, {
        mode: request.mode,
        commitId: request.commitId,
        plan,
        schemaId: schema["schema-id"],
        files,
        tableFiles
      }).pipe(Effect.withSpan("write.commit", { attributes: { "iceberg.files": files.length } }))
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
