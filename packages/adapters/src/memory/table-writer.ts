import { canAppend, cellsOf, describeType, Invalid, isIdentifier, TableWriter } from "@ingest/domain"
import type { CellValue, Column, TableIdent, WriteRequest, WriteResult } from "@ingest/domain"
import { Effect, Layer, Option, Stream } from "effect"

// A TableWriter that keeps tables in memory, for use-case and engine tests. It follows the
// Iceberg writer's rules that callers depend on: the whole batch stream is read before one
// commit (a failing stream commits nothing), a commit id already committed to the table is not
// written again, existing columns are matched by name and must accept the incoming type, new
// columns are added (earlier rows read them as null), and a required column cannot be left out.

export interface RecordedCommit {
  readonly commitId: string
  readonly mode: "append" | "overwrite"
  readonly rows: number
}

export interface RecordedTable {
  /** The table's columns: the first write's, then any column a later write added. */
  columns: ReadonlyArray<Column>
  /** Rows in the order of `columns`. */
  rows: Array<ReadonlyArray<CellValue>>
  commits: Array<RecordedCommit>
}

export type TableWriterService = typeof TableWriter.Service

export interface MemoryTableWriter {
  readonly writer: TableWriterService
  /** Tables by `namespace.name`. */
  readonly tables: Map<string, RecordedTable>
  readonly table: (namespace: ReadonlyArray<string>, name: string) => RecordedTable | undefined
}

export const tableKey = (table: TableIdent): string => [...table.namespace, table.name].join(".")

const validate = (request: WriteRequest<unknown>): Invalid | undefined => {
  const { table, columns } = request
  if (table.namespace.length === 0 || !table.namespace.every(isIdentifier)) {
    return new Invalid({ field: "namespace", reason: `Invalid namespace "${table.namespace.join(".")}"` })
  }
  if (!isIdentifier(table.name)) return new Invalid({ field: "table", reason: `Invalid table name "${table.name}"` })
  if (columns.length === 0) return new Invalid({ field: "columns", reason: "A table needs at least one column" })
  const seen = new Set<string>()
  for (const column of columns) {
    if (!isIdentifier(column.name)) return new Invalid({ field: "columns", reason: `Invalid column name "${column.name}"` })
    if (seen.has(column.name)) return new Invalid({ field: column.name, reason: `Duplicate column "${column.name}"` })
    seen.add(column.name)
  }
  if (request.commitId.length === 0 || request.commitId.length > 200) {
    return new Invalid({ field: "commitId", reason: "commitId must be 1 to 200 characters" })
  }
  return undefined
}

/**
 * The table's columns after this write: existing ones checked against the request, new ones
 * appended. Returns, for each table column, the index of the request column that feeds it.
 */
const resolveColumns = (
  key: string,
  existing: ReadonlyArray<Column> | undefined,
  incoming: ReadonlyArray<Column>
): Invalid | { readonly columns: ReadonlyArray<Column>; readonly sources: ReadonlyArray<number | undefined> } => {
  if (existing === undefined) return { columns: incoming, sources: incoming.map((_, i) => i) }
  const columns = [...existing]
  const sources: Array<number | undefined> = existing.map(() => undefined)
  for (let index = 0; index < incoming.length; index++) {
    const column = incoming[index]!
    const at = columns.findIndex((c) => c.name === column.name)
    if (at < 0) {
      columns.push({ ...column, nullable: true })
      sources.push(index)
      continue
    }
    if (!canAppend(columns[at]!, column)) {
      return new Invalid({
        field: column.name,
        reason: `Column "${column.name}" has type ${describeType(columns[at]!)} in table ${key}, but the data has type ${describeType(column)}; the types are not compatible`
      })
    }
    sources[at] = index
  }
  const missing = columns.find((c, i) => !c.nullable && sources[i] === undefined)
  if (missing !== undefined) {
    return new Invalid({ field: missing.name, reason: `Column "${missing.name}" is required in table ${key} but the data has no such column` })
  }
  return { columns, sources }
}

export const makeMemoryTableWriter = (): MemoryTableWriter => {
  const tables = new Map<string, RecordedTable>()

  const writer: TableWriterService = {
    write: <E>(request: WriteRequest<E>) =>
      Effect.gen(function*() {
        const invalid = validate(request)
        if (invalid !== undefined) return yield* invalid
        const key = tableKey(request.table)
        const current = tables.get(key)
        const done = current?.commits.findIndex((c) => c.commitId === request.commitId) ?? -1
        if (current !== undefined && done >= 0) {
          return { recordsWritten: 0, bytesWritten: 0, snapshotId: String(done + 1), alreadyCommitted: true } satisfies WriteResult
        }
        const resolved = resolveColumns(key, current?.columns, request.columns)
        if (resolved instanceof Invalid) return yield* resolved

        const rows: Array<ReadonlyArray<CellValue>> = []
        let bytes = 0
        yield* Stream.runForEach(request.batches, (batch) =>
          Effect.suspend(() => {
            if (batch.columns.length !== request.columns.length) {
              return Effect.die(new Error(`batch has ${batch.columns.length} columns, the request ${request.columns.length}`))
            }
            const columns = batch.columns.map(cellsOf)
            for (let r = 0; r < batch.length; r++) {
              const row = resolved.sources.map((source) => (source === undefined ? null : columns[source]![r] ?? null))
              rows.push(row)
              bytes += approximateBytes(row)
            }
            return request.onProgress === undefined ? Effect.void : request.onProgress({ records: rows.length, bytes })
          }))

        // The commit: one synchronous step, so a failed or interrupted stream leaves no trace.
        const widen = (row: ReadonlyArray<CellValue>) =>
          row.length === resolved.columns.length ? row : [...row, ...Array<CellValue>(resolved.columns.length - row.length).fill(null)]
        const table: RecordedTable = current ?? { columns: resolved.columns, rows: [], commits: [] }
        table.columns = resolved.columns
        table.rows = request.mode === "overwrite" ? rows : [...table.rows.map(widen), ...rows]
        table.commits.push({ commitId: request.commitId, mode: request.mode, rows: rows.length })
        tables.set(key, table)
        return {
          recordsWritten: rows.length,
          bytesWritten: bytes,
          snapshotId: String(table.commits.length),
          alreadyCommitted: false
        } satisfies WriteResult
      }),
    describe: (table) => Effect.succeed(Option.fromNullishOr(tables.get(tableKey(table))?.columns))
  }

  return {
    writer,
    tables,
    table: (namespace, name) => tables.get(tableKey({ namespace, name }))
  }
}

/** A rough size of a row, so progress reports carry a growing byte count. */
const approximateBytes = (row: ReadonlyArray<CellValue>): number => {
  let n = 0
  for (const value of row) {
    if (value === null) continue
    if (typeof value === "string") n += value.length
    else if (value instanceof Uint8Array) n += value.length
    else n += 8
  }
  return n
}

/** An in-memory `TableWriter` (each build starts with no tables). */
export const TableWriterMemory: Layer.Layer<TableWriter> = Layer.sync(TableWriter, () => makeMemoryTableWriter().writer)
