import type { CellValue, Column, TableIdent, WriteRequest, WriteResult } from "@ingest/domain"
import type { TableWriterService } from "@ingest/adapters/engine/index"
import { Effect, Option, Stream } from "effect"

export interface RecordedTable {
  columns: ReadonlyArray<Column>
  rows: Array<ReadonlyArray<CellValue>>
  commits: Array<{ readonly commitId: string; readonly mode: "append" | "overwrite"; readonly rows: number }>
}

/**
 * A TableWriter that keeps tables in memory: reads the whole batch stream, then commits in one
 * step (as the real writer does), honouring commit ids and overwrite/append.
 */
export const makeMemoryWriter = () => {
  const tables = new Map<string, RecordedTable>()
  const committedIds = new Set<string>()
  const keyOf = (table: TableIdent) => [...table.namespace, table.name].join(".")
  const writer: TableWriterService = {
    write: <E>(request: WriteRequest<E>) =>
      Effect.gen(function*() {
        if (committedIds.has(request.commitId)) {
          return { recordsWritten: 0, bytesWritten: 0, snapshotId: "0", alreadyCommitted: true } satisfies WriteResult
        }
        const rows: Array<ReadonlyArray<CellValue>> = []
        yield* Stream.runForEach(request.batches, (batch) =>
          Effect.sync(() => {
            if (batch.columns.length !== request.columns.length) throw new Error("batch width differs from columns")
            for (let r = 0; r < batch.length; r++) rows.push(batch.columns.map((column) => column[r]!))
          }))
        const key = keyOf(request.table)
        const table = tables.get(key) ?? { columns: request.columns, rows: [], commits: [] }
        table.columns = request.columns
        table.rows = request.mode === "overwrite" ? rows : [...table.rows, ...rows]
        table.commits.push({ commitId: request.commitId, mode: request.mode, rows: rows.length })
        tables.set(key, table)
        committedIds.add(request.commitId)
        return { recordsWritten: rows.length, bytesWritten: 0, snapshotId: String(table.commits.length), alreadyCommitted: false } satisfies WriteResult
      }),
    describe: (table) => Effect.succeed(Option.fromNullishOr(tables.get(keyOf(table))?.columns))
  }
  return { writer, tables, table: (namespace: ReadonlyArray<string>, name: string) => tables.get([...namespace, name].join(".")) }
}
