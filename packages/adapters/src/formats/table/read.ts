import type { Column, ColumnBatch } from "@ingest/domain"
import type { CsvFields } from "../csv/byte-tokenizer.ts"
import { FileReadError } from "../errors.ts"
import { PACKED_BATCH_BYTES, PACKED_BATCH_ROWS } from "../limits.ts"
import type { ColumnHint } from "../read-options.ts"
import type { ReadRequest, TableSource } from "../types.ts"
import { type ColumnPacker, makeColumnPacker, PackError } from "../values/packing.ts"

/**
 * Reading: a profiled table's values coerced straight into packed columns (values/packing.ts),
 * batches cut at PACKED_BATCH_ROWS rows or PACKED_BATCH_BYTES bytes.
 */

/** Where a target column's values come from: its index in the profile (= the source). */
const sourceIndexes = (columns: ReadonlyArray<string>, target: ReadonlyArray<Column>): Array<number> =>
  target.map((column) => {
    const index = columns.indexOf(column.name)
    if (index === -1) throw new FileReadError("unsupported", `column "${column.name}" is not in the file`)
    return index
  })

/**
 * Streams the table coerced to `target` as batches of packed columns (PackedColumn of batch.ts);
 * a value that does not fit fails naming row and column.
 */
export const readSource = (source: TableSource, request: ReadRequest): AsyncGenerator<ColumnBatch> =>
  pack(source.batches, (packer, batch, column) => packer.appendAll(batch.columns[column], batch.length), {
    request,
    textValues: source.textValues,
    rowsBefore: 0
  })

/** readSource for CSV records read as bytes (csv/byte-tokenizer.ts), from the request's part on. */
export const readCsvFieldSource = (fields: AsyncIterable<CsvFields>, request: ReadRequest): AsyncGenerator<ColumnBatch> =>
  pack(fields, (packer, batch, column) => packer.appendFields(batch, column), {
    request,
    textValues: true,
    rowsBefore: request.part?.rows ?? 0
  })

async function* pack<B extends { readonly length: number }>(
  batches: AsyncIterable<B>,
  append: (packer: ColumnPacker, batch: B, column: number) => void,
  options: {
    readonly request: ReadRequest
    readonly textValues: boolean
    /** Data rows of the file before the first of these batches (a part of a file). */
    readonly rowsBefore: number
  }
): AsyncGenerator<ColumnBatch> {
  const { columns, target } = options.request
  let rowsBefore = options.rowsBefore
  const indexes = sourceIndexes(columns, target)
  const hints: Record<string, ColumnHint | undefined> = options.request.options.parseHints ?? {}
  const packers = target.map((column, i) => makeColumnPacker(column, hints[columns[indexes[i]!]!], options.textValues))
  const take = (): ColumnBatch => {
    const columns = packers.map((packer) => packer.take())
    return { length: columns[0]?.length ?? 0, columns }
  }
  let pending = 0
  for await (const batch of batches) {
    const n = batch.length
    for (let i = 0; i < target.length; i++) {
      try {
        append(packers[i]!, batch, indexes[i]!)
      } catch (error) {
        if (!(error instanceof PackError)) throw error
        throw new FileReadError("corrupt", `row ${rowsBefore + error.index + 1}, column "${target[i]!.name}": ${error.message}`)
      }
    }
    rowsBefore += n
    pending += n
    let bytes = 0
    for (const packer of packers) bytes += packer.bytes
    if (pending >= PACKED_BATCH_ROWS || bytes >= PACKED_BATCH_BYTES) {
      yield take()
      pending = 0
    }
  }
  if (pending > 0) yield take()
}
