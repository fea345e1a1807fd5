import { InfrastructureError } from "@ingest/domain"
import * as A from "apache-arrow"
import { Effect, Stream } from "effect"
import type * as ParquetWasm from "parquet-wasm"
import { compressPages } from "./parquet-compression.ts"
import type { ParquetFileSpec } from "./parquet-properties.ts"
import { writerProperties } from "./parquet-properties.ts"
import type { ColumnSpec } from "./parquet-transfer.ts"

// Turning record batches into the bytes of one Parquet file. Two ways: on an encoder thread (the
// default: the caller's thread keeps reading and converting while another core compresses) or
// inline on the calling thread.

/** One Parquet file being encoded. */
export interface EncodeJob {
  /** The file's bytes as they are produced; ends once `end` was called and the footer is out. */
  readonly output: Stream.Stream<Uint8Array, InfrastructureError>
  /**
   * Hands a batch to the encoder and completes once the encoder can take another. `movable`: the
   * batch's buffers belong to the writer alone and may be moved to another thread (the batch
   * must not be used afterwards).
   */
  write(batch: A.RecordBatch, movable: boolean): Effect.Effect<void, InfrastructureError>
  /** No more batches. */
  end(): void
  /** Stops the encoder; waiting and later writes fail. */
  abort(): void
}

export interface ParquetEncoder {
  open(
    spec: ParquetFileSpec,
    columns: ReadonlyArray<ColumnSpec>,
    first: A.RecordBatch,
    movable: boolean
  ): Effect.Effect<EncodeJob, InfrastructureError>
}

export const encodingFailure = (what: string) => (cause: unknown) =>
  cause instanceof InfrastructureError
    ? cause
    : new InfrastructureError({ reason: `${what}: ${cause instanceof Error ? cause.message : String(cause)}` })

/** Resolvable waits for "there is room again" (or "stop"), shared by both encoders. */
export class Wakeups {
  private readonly waiting: Array<() => void> = []
  wait(): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      this.waiting.push(() => resume(Effect.void))
    })
  }
  wakeAll(): void {
    for (const resume of this.waiting.splice(0)) resume()
  }
}

/** Arrow JS batch → parquet-wasm batches (through Arrow IPC, the bridge into wasm memory). */
const toWasmBatches = (Parquet: typeof ParquetWasm, batch: A.RecordBatch): Array<ParquetWasm.RecordBatch> => {
  const table = Parquet.Table.fromIPCStream(A.tableToIPC(new A.Table([batch]), "stream"))
  try {
    return table.recordBatches()
  } finally {
    table.free()
  }
}

/**
 * Encodes on the calling thread with parquet-wasm's streaming writer (loaded on first use: the
 * service's own thread does not otherwise need the wasm module).
 */
export const inlineParquetEncoder: ParquetEncoder = {
  open: (spec, _columns, first) =>
    Effect.gen(function*() {
      const Parquet = yield* Effect.tryPromise({
        try: () => import("parquet-wasm"),
        catch: encodingFailure("cannot load the Parquet writer")
      })
      const wakeups = new Wakeups()
      let stopped: InfrastructureError | undefined
      const ifStopped = () => (stopped === undefined ? Effect.void : Effect.fail(stopped))
      let controller!: ReadableStreamDefaultController<ParquetWasm.RecordBatch>
      const input = new ReadableStream<ParquetWasm.RecordBatch>({
        start: (c) => {
          controller = c
        },
        pull: () => wakeups.wakeAll()
      }, { highWaterMark: 2 })
      const enqueue = (batch: A.RecordBatch) =>
        Effect.try({
          try: () => {
            for (const b of toWasmBatches(Parquet, batch)) controller.enqueue(b)
          },
          catch: encodingFailure("cannot hand the record batch to the Parquet writer")
        })
      yield* enqueue(first)
      // The writer reads the first batch (for the schema) before it hands out its output.
      const output = yield* Effect.tryPromise({
        try: () => Parquet.transformParquetStream(input, writerProperties(Parquet, spec)),
        catch: encodingFailure("cannot start the Parquet writer")
      })
      return {
        output: Stream.fromReadableStream<Uint8Array, InfrastructureError>({
          evaluate: () => compressPages(output as ReadableStream<Uint8Array>),
          onError: encodingFailure("Parquet encoding failed")
        }),
        write: (batch) =>
          Effect.gen(function*() {
            yield* ifStopped()
            yield* enqueue(batch)
            while (stopped === undefined && (controller.desiredSize ?? 1) <= 0) yield* wakeups.wait()
            yield* ifStopped()
          }),
        end: () => {
          try {
            controller.close()
          } catch {
            // the writer failed already; its output stream reports why
          }
        },
        abort: () => {
          stopped ??= new InfrastructureError({ reason: "the Parquet writer was stopped" })
          try {
            controller.error(new Error("write aborted"))
          } catch {
            // already closed
          }
          wakeups.wakeAll()
        }
      } satisfies EncodeJob
    })
}
