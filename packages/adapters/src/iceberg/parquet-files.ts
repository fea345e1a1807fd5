import { InfrastructureError } from "@ingest/domain"
import type { ObjectStore } from "@ingest/domain"
import type * as A from "apache-arrow"
import { Effect, Exit, Fiber, Stream } from "effect"
import type { Scope } from "effect"
import type { DataFile } from "./manifest.ts"
import type { EncodeJob, ParquetEncoder } from "./parquet-encoder.ts"
import { workerParquetEncoder } from "./parquet-encoder-pool.ts"
import { plainColumnsOf } from "./parquet-properties.ts"
import type { ColumnSpec } from "./parquet-transfer.ts"
import { chunkStatisticsOfTail } from "./parquet-footer.ts"
import type { ColumnCounter, ColumnMetrics } from "./stats.ts"
import { columnMetrics, makeCounter } from "./stats.ts"

// Streams Arrow record batches into zstd Parquet data files: batches go to a Parquet encoder (by
// default on another thread) as they come, Parquet bytes flow straight to the object store, so
// memory stays bounded by about one row group. A new file starts once the current one reaches
// the target size. Column metrics for the manifest: counts are taken here, before a batch leaves;
// bounds come from the column chunk statistics in the file's footer.

export interface DataFileWriterOptions {
  readonly store: ObjectStore
  /** Key prefix of the table's data directory, ending in `/`. */
  readonly dataKeyPrefix: string
  /** Absolute URI prefix matching `dataKeyPrefix` (what the manifest records). */
  readonly dataUriPrefix: string
  /** Unique per write: part of every file name. */
  readonly writeId: string
  /** Name, field id and type of every Arrow column, in order. */
  readonly fields: ReadonlyArray<ColumnSpec>
  /** Table schema JSON stored in the Parquet footer (`iceberg.schema`), as Java does. */
  readonly icebergSchemaJson: string
  readonly targetFileBytes?: number | undefined
  readonly rowGroupRows?: number | undefined
  /** Where Parquet is encoded; by default on the shared encoder threads. */
  readonly encoder?: ParquetEncoder | undefined
}

export interface DataFileWriter {
  /**
   * Adds a batch. `movable`: its buffers belong to the writer alone and may be moved to the
   * encoder thread instead of copied (the batch must not be used afterwards).
   */
  write(batch: A.RecordBatch, movable?: boolean): Effect.Effect<void, InfrastructureError>
  /** Closes the open file and returns every file written. */
  readonly finish: Effect.Effect<ReadonlyArray<DataFile>, InfrastructureError>
  /** Rows accepted and Parquet bytes produced so far. */
  progress(): { readonly records: number; readonly bytes: number }
}

export const defaultTargetFileBytes = 128 * 1024 * 1024
/** Rows per Parquet row group: bounds the writer's buffer (wasm memory never shrinks). */
export const defaultRowGroupRows = 128 * 1024

/** Chunks kept for the footer beyond the last one: at least this many bytes of them. */
const footerReserveBytes = 1024 * 1024

/** First guess of Parquet bytes per Arrow byte, refined after each file. */
const initialCompressionRatio = 0.3

interface OpenFile {
  readonly key: string
  readonly uri: string
  readonly job: EncodeJob
  readonly put: Fiber.Fiber<{ readonly size: number }, InfrastructureError>
  readonly counters: ReadonlyArray<ColumnCounter>
  /** The file's last chunks (the footer comes out with the last row group), kept for its statistics. */
  readonly tail: Array<Uint8Array>
  tailBytes: number
  /** Parquet bytes that have left the writer. */
  bytesOut: number
  arrowBytes: number
  rows: number
  /** The upload has ended (normally only after the last batch). */
  done: boolean
  closing: boolean
}

const arrowByteSize = (batch: A.RecordBatch): number => {
  let total = 0
  const visit = (data: A.Data) => {
    for (const buffer of [data.values, data.valueOffsets, data.nullBitmap] as Array<ArrayBufferView | undefined>) {
      if (buffer !== undefined) total += buffer.byteLength
    }
    for (const child of data.children) visit(child)
  }
  visit(batch.data)
  return total
}

export const makeDataFileWriter = (
  options: DataFileWriterOptions
): Effect.Effect<DataFileWriter, never, Scope.Scope> =>
  Effect.gen(function*() {
    const target = options.targetFileBytes ?? defaultTargetFileBytes
    const rowGroupRows = options.rowGroupRows ?? defaultRowGroupRows
    const encoder = options.encoder ?? workerParquetEncoder()
    const written: Array<DataFile> = []
    let fileNumber = 0
    let ratio = initialCompressionRatio
    let open: OpenFile | undefined
    let closedRows = 0
    let closedBytes = 0

    /** Counts and sizes of a batch, taken before the batch may move to another thread. */
    const account = (file: Pick<OpenFile, "counters" | "rows" | "arrowBytes">, batch: A.RecordBatch) => {
      file.rows += batch.numRows
      file.arrowBytes += arrowByteSize(batch)
      batch.data.children.forEach((child, index) => file.counters[index]!.add(child))
    }

    const keepTail = (file: OpenFile, chunk: Uint8Array) => {
      file.tail.push(chunk)
      file.tailBytes += chunk.byteLength
      while (file.tail.length > 1 && file.tailBytes - file.tail[0]!.byteLength - file.tail.at(-1)!.byteLength >= footerReserveBytes) {
        file.tailBytes -= file.tail.shift()!.byteLength
      }
    }

    /** Statistics of each column chunk of a finished file, by row group; none when the footer was not kept whole. */
    const footerStatistics = (file: OpenFile) => {
      try {
        return chunkStatisticsOfTail(file.tail.splice(0)) ?? []
      } catch {
        return []
      }
    }

    const startFile = (first: A.RecordBatch, movable: boolean) =>
      Effect.gen(function*() {
        const name = `00000-${fileNumber}-${options.writeId}-${String(fileNumber).padStart(5, "0")}.parquet`
        fileNumber++
        const counts = { counters: options.fields.map((f) => makeCounter(f.type)), rows: 0, arrowBytes: 0 }
        account(counts, first)
        const spec = {
          rowGroupRows,
          icebergSchemaJson: options.icebergSchemaJson,
          plainColumns: plainColumnsOf(first, rowGroupRows)
        }
        const job = yield* encoder.open(spec, options.fields, first, movable)
        const state: { file?: OpenFile } = {}
        const body = job.output.pipe(Stream.tap((chunk) =>
          Effect.sync(() => {
            if (state.file === undefined) return
            state.file.bytesOut += chunk.byteLength
            keepTail(state.file, chunk)
          })
        ))
        const key = `${options.dataKeyPrefix}${name}`
        const put = yield* options.store.put(key, body).pipe(
          Effect.ensuring(Effect.sync(() => {
            const file = state.file
            if (file === undefined) return
            file.done = true
            // The upload ended before the input did: stop the encoder, so a waiting write wakes.
            if (!file.closing) file.job.abort()
          })),
          Effect.forkDetach
        )
        const file: OpenFile = {
          key,
          uri: `${options.dataUriPrefix}${name}`,
          job,
          put,
          ...counts,
          tail: [],
          tailBytes: 0,
          bytesOut: 0,
          done: false,
          closing: false
        }
        state.file = file
        return file
      })

    /**
     * A failed hand-over reports the upload's error when the upload failed (the usual root
     * cause: the encoder stops once nobody takes its output). A stopped encoder always ends the
     * upload too, so waiting for it cannot hang.
     */
    const handOver = (file: OpenFile, batch: A.RecordBatch, movable: boolean) =>
      file.job.write(batch, movable).pipe(
        Effect.catch((error: InfrastructureError) => Fiber.join(file.put).pipe(Effect.andThen(Effect.fail(error))))
      )

    const closeFile = (file: OpenFile) =>
      Effect.gen(function*() {
        open = undefined
        file.closing = true
        file.job.end()
        const { size } = yield* Fiber.join(file.put)
        if (size !== file.bytesOut) {
          return yield* new InfrastructureError({
            reason: `data file ${file.key}: stored ${size} bytes, wrote ${file.bytesOut}`
          })
        }
        const groups = footerStatistics(file)
        const metrics = new Map<number, ColumnMetrics>()
        options.fields.forEach((f, index) => {
          const chunks = groups.map((columns) => columns[index] ?? { min: undefined, max: undefined })
          metrics.set(f.id, columnMetrics(f.type, file.counters[index]!, chunks))
        })
        written.push({ filePath: file.uri, recordCount: file.rows, fileSizeInBytes: size, metrics })
        if (file.arrowBytes > 0 && size > 0) ratio = size / file.arrowBytes
        closedRows += file.rows
        closedBytes += size
      })

    yield* Effect.addFinalizer((exit) =>
      Effect.gen(function*() {
        const file = open
        if (file === undefined || Exit.isSuccess(exit)) return
        open = undefined
        file.closing = true
        file.job.abort()
        yield* Fiber.interrupt(file.put)
      })
    )

    const write = (batch: A.RecordBatch, movable = false): Effect.Effect<void, InfrastructureError> =>
      Effect.gen(function*() {
        if (batch.numRows === 0) return
        if (batch.numCols !== options.fields.length) {
          return yield* new InfrastructureError({
            reason: `record batch has ${batch.numCols} columns, the table write expects ${options.fields.length}`
          })
        }
        let file = open
        if (file === undefined) {
          file = yield* startFile(batch, movable)
          open = file
        } else {
          account(file, batch)
          yield* handOver(file, batch, movable)
        }
        if (Math.max(file.bytesOut, file.arrowBytes * ratio) >= target) yield* closeFile(file)
      })

    return {
      write,
      finish: Effect.suspend(() => (open === undefined ? Effect.void : closeFile(open))).pipe(
        Effect.map(() => written.slice())
      ),
      progress: () => ({
        records: closedRows + (open?.rows ?? 0),
        bytes: closedBytes + (open?.bytesOut ?? 0)
      })
    }
  })
