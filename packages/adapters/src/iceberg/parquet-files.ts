import { InfrastructureError } from "@ingest/domain"
import type { ObjectStore } from "@ingest/domain"
import * as A from "apache-arrow"
import { Effect, Exit, Fiber, Stream } from "effect"
import type { Scope } from "effect"
import * as Parquet from "parquet-wasm"
import type { DataFile } from "./manifest.ts"
import type { WritableType } from "./schema.ts"
import type { ColumnMetrics, MetricsAccumulator } from "./stats.ts"
import { makeAccumulator } from "./stats.ts"

// Streams Arrow record batches into zstd Parquet data files through parquet-wasm's streaming
// writer: batches go in as they come, Parquet bytes flow straight to the object store, so memory
// stays bounded by one row group. A new file starts once the current one reaches the target size.

export interface DataFileWriterOptions {
  readonly store: ObjectStore
  /** Key prefix of the table's data directory, ending in `/`. */
  readonly dataKeyPrefix: string
  /** Absolute URI prefix matching `dataKeyPrefix` (what the manifest records). */
  readonly dataUriPrefix: string
  /** Unique per write: part of every file name. */
  readonly writeId: string
  /** Field id and type of every Arrow column, in order. */
  readonly fields: ReadonlyArray<{ readonly id: number; readonly type: WritableType }>
  /** Table schema JSON stored in the Parquet footer (`iceberg.schema`), as Java does. */
  readonly icebergSchemaJson: string
  readonly targetFileBytes?: number | undefined
  readonly rowGroupRows?: number | undefined
}

export interface DataFileWriter {
  write(batch: A.RecordBatch): Effect.Effect<void, InfrastructureError>
  /** Closes the open file and returns every file written. */
  readonly finish: Effect.Effect<ReadonlyArray<DataFile>, InfrastructureError>
  /** Rows accepted and Parquet bytes produced so far. */
  progress(): { readonly records: number; readonly bytes: number }
}

export const defaultTargetFileBytes = 128 * 1024 * 1024
/** Rows per Parquet row group: bounds the writer's buffer (wasm memory never shrinks). */
export const defaultRowGroupRows = 256 * 1024

/** First guess of Parquet bytes per Arrow byte, refined after each file. */
const initialCompressionRatio = 0.3

interface OpenFile {
  readonly key: string
  readonly uri: string
  readonly controller: ReadableStreamDefaultController<unknown>
  readonly wakeups: Array<() => void>
  readonly put: Fiber.Fiber<{ readonly size: number }, InfrastructureError>
  readonly accumulators: ReadonlyArray<MetricsAccumulator>
  /** Parquet bytes that have left the writer. */
  bytesOut: number
  arrowBytes: number
  rows: number
  done: boolean
}

const failure = (what: string) => (cause: unknown) =>
  new InfrastructureError({ reason: `${what}: ${cause instanceof Error ? cause.message : String(cause)}` })

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

/** Arrow JS batch → parquet-wasm batches (through Arrow IPC, the bridge into wasm memory). */
const toWasmBatches = (batch: A.RecordBatch): Array<Parquet.RecordBatch> => {
  const ipc = A.tableToIPC(new A.Table([batch]), "stream")
  const table = Parquet.Table.fromIPCStream(ipc)
  try {
    return table.recordBatches()
  } finally {
    table.free()
  }
}

export const makeDataFileWriter = (
  options: DataFileWriterOptions
): Effect.Effect<DataFileWriter, never, Scope.Scope> =>
  Effect.gen(function*() {
    const target = options.targetFileBytes ?? defaultTargetFileBytes
    const rowGroupRows = options.rowGroupRows ?? defaultRowGroupRows
    const written: Array<DataFile> = []
    let fileNumber = 0
    let ratio = initialCompressionRatio
    let open: OpenFile | undefined
    let closedRows = 0
    let closedBytes = 0

    const properties = () =>
      new Parquet.WriterPropertiesBuilder()
        .setCompression(Parquet.Compression.ZSTD)
        .setMaxRowGroupSize(rowGroupRows)
        .setCreatedBy("ingest iceberg writer")
        .setKeyValueMetadata(new Map([["iceberg.schema", options.icebergSchemaJson]]))
        .build()

    const wake = (file: OpenFile) => {
      for (const resume of file.wakeups.splice(0)) resume()
    }

    const startFile = (first: ReadonlyArray<Parquet.RecordBatch>) =>
      Effect.gen(function*() {
        const name = `00000-${fileNumber}-${options.writeId}-${String(fileNumber).padStart(5, "0")}.parquet`
        fileNumber++
        const wakeups: Array<() => void> = []
        let controller!: ReadableStreamDefaultController<unknown>
        const input = new ReadableStream<unknown>({
          start: (c) => {
            controller = c
          },
          pull: () => {
            for (const resume of wakeups.splice(0)) resume()
          }
        }, { highWaterMark: 2 })
        for (const batch of first) controller.enqueue(batch)
        // The writer reads the first batch (for the schema) before it hands out its output.
        const output = yield* Effect.tryPromise({
          try: () => Parquet.transformParquetStream(input, properties()),
          catch: failure("cannot start the Parquet writer")
        })
        const state: { file?: OpenFile } = {}
        const body = Stream.fromReadableStream<Uint8Array, InfrastructureError>({
          evaluate: () => output as ReadableStream<Uint8Array>,
          onError: failure("Parquet encoding failed")
        }).pipe(Stream.tap((chunk) =>
          Effect.sync(() => {
            if (state.file !== undefined) state.file.bytesOut += chunk.byteLength
          })
        ))
        const key = `${options.dataKeyPrefix}${name}`
        const put = yield* options.store.put(key, body).pipe(
          Effect.ensuring(Effect.sync(() => {
            if (state.file !== undefined) {
              state.file.done = true
              wake(state.file)
            }
          })),
          Effect.forkDetach
        )
        const file: OpenFile = {
          key,
          uri: `${options.dataUriPrefix}${name}`,
          controller,
          wakeups,
          put,
          accumulators: options.fields.map((f) => makeAccumulator(f.type)),
          bytesOut: 0,
          arrowBytes: 0,
          rows: 0,
          done: false
        }
        state.file = file
        return file
      })

    /** Waits until the Parquet writer wants more input (or has stopped). */
    const awaitCapacity = (file: OpenFile): Effect.Effect<void, InfrastructureError> =>
      Effect.gen(function*() {
        while (!file.done && (file.controller.desiredSize ?? 1) <= 0) {
          yield* Effect.callback<void>((resume) => {
            file.wakeups.push(() => resume(Effect.void))
          })
        }
        if (file.done) {
          // The upload ended before the input did: surface its error.
          yield* Fiber.join(file.put)
          return yield* new InfrastructureError({ reason: `Parquet writer for ${file.key} stopped early` })
        }
      })

    const closeFile = (file: OpenFile) =>
      Effect.gen(function*() {
        open = undefined
        file.controller.close()
        const { size } = yield* Fiber.join(file.put)
        if (size !== file.bytesOut) {
          return yield* new InfrastructureError({
            reason: `data file ${file.key}: stored ${size} bytes, wrote ${file.bytesOut}`
          })
        }
        const metrics = new Map<number, ColumnMetrics>()
        options.fields.forEach((f, index) => metrics.set(f.id, file.accumulators[index]!.result()))
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
        try {
          file.controller.error(new Error("write aborted"))
        } catch {
          // already closed
        }
        yield* Fiber.interrupt(file.put)
      })
    )

    const write = (batch: A.RecordBatch): Effect.Effect<void, InfrastructureError> =>
      Effect.gen(function*() {
        if (batch.numRows === 0) return
        if (batch.numCols !== options.fields.length) {
          return yield* new InfrastructureError({
            reason: `record batch has ${batch.numCols} columns, the table write expects ${options.fields.length}`
          })
        }
        const wasmBatches = yield* Effect.try({
          try: () => toWasmBatches(batch),
          catch: failure("cannot hand the record batch to the Parquet writer")
        })
        let file = open
        if (file === undefined) {
          file = yield* startFile(wasmBatches)
          open = file
        } else {
          for (const b of wasmBatches) file.controller.enqueue(b)
        }
        file.rows += batch.numRows
        file.arrowBytes += arrowByteSize(batch)
        batch.data.children.forEach((child, index) => file.accumulators[index]!.add(child))
        yield* awaitCapacity(file)
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
