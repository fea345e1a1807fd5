import type * as A from "apache-arrow"
import * as Parquet from "parquet-wasm"
import { parentPort } from "node:worker_threads"
import { compressPages } from "./parquet-compression.ts"
import { writerProperties } from "./parquet-properties.ts"
import type { BatchPayload, EncoderRequest, EncoderResponse } from "./parquet-transfer.ts"
import { freeBuffer } from "../buffer-release.ts"
import { arrowSchemaOfColumns, IpcScratch, ownedBuffer, payloadToIpc } from "./parquet-transfer.ts"

/**
 * Parquet encoder thread (see parquet-encoder-pool.ts): turns the batches of each open file into
 * Parquet bytes with parquet-wasm and streams them back. Several files may be open at once.
 * Every batch is acknowledged once the Parquet writer has room for the next, which is what
 * bounds the batches in flight.
 */
const port = parentPort
if (port === null) throw new Error("parquet-encoder-worker.ts must run in a worker thread")

interface Job {
  readonly schema: A.Schema
  readonly controller: ReadableStreamDefaultController<Parquet.RecordBatch>
  /** Batches taken in but not yet acknowledged. */
  unacknowledged: number
  ended: boolean
}

const jobs = new Map<number, Job>()
/** Where each batch's IPC bytes are laid out before parquet-wasm copies them in; let go once no file is open. */
const scratch = new IpcScratch()

const send = (message: EncoderResponse, transfer: ReadonlyArray<ArrayBuffer> = []) =>
  port.postMessage(message, transfer as Array<ArrayBuffer>)

const forget = (id: number) => {
  jobs.delete(id)
  if (jobs.size === 0) scratch.release()
}

const messageOf = (error: unknown) => error instanceof Error ? error.message : String(error)

/**
 * Frees the memory of buffers moved here once their bytes are copied: left to the collector,
 * they count as external memory until the next full collection, which they bring on every few
 * batches (a many-column batch moves dozens).
 */
const release = (payload: BatchPayload) => {
  const views = payload.kind === "ipc" ? [payload.bytes] : payload.columns.flatMap((c) => [c.values, c.offsets, c.validity])
  for (const view of views) freeBuffer(view?.buffer)
}

/** Arrow IPC → parquet-wasm batches (into wasm memory). */
const wasmBatches = (payload: BatchPayload, schema: A.Schema): Array<Parquet.RecordBatch> => {
  const table = Parquet.Table.fromIPCStream(payloadToIpc(payload, schema, scratch))
  release(payload)
  try {
    return table.recordBatches()
  } finally {
    table.free()
  }
}

const acknowledge = (id: number, job: Job) => {
  while (job.unacknowledged > 0) {
    job.unacknowledged--
    send({ type: "ack", job: id })
  }
}

const fail = (id: number, error: unknown) => {
  const job = jobs.get(id)
  if (job === undefined) return
  forget(id)
  try {
    job.controller.error(error)
  } catch {
    // already closed
  }
  send({ type: "error", job: id, message: messageOf(error) })
}

const take = (id: number, job: Job, payload: BatchPayload) => {
  for (const batch of wasmBatches(payload, job.schema)) job.controller.enqueue(batch)
  job.unacknowledged++
  if ((job.controller.desiredSize ?? 1) > 0) acknowledge(id, job)
}

const open = async (request: Extract<EncoderRequest, { op: "open" }>) => {
  const id = request.job
  let controller!: ReadableStreamDefaultController<Parquet.RecordBatch>
  const input = new ReadableStream<Parquet.RecordBatch>({
    start: (c) => {
      controller = c
    },
    pull: () => {
      const job = jobs.get(id)
      if (job !== undefined) acknowledge(id, job)
    }
  }, { highWaterMark: 1 })
  const job: Job = { schema: arrowSchemaOfColumns(request.columns), controller, unacknowledged: 0, ended: false }
  jobs.set(id, job)
  try {
    take(id, job, request.first)
    // The writer reads the first batch (for the schema) before it hands out its output.
    const output = await Parquet.transformParquetStream(input, writerProperties(Parquet, request.spec)) as ReadableStream<Uint8Array>
    const reader = compressPages(output).getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!jobs.has(id)) {
        await reader.cancel().catch(() => undefined)
        return
      }
      const owned = ownedBuffer(value)
      const bytes = owned.length > 0 ? value : value.slice()
      send({ type: "chunk", job: id, bytes }, ownedBuffer(bytes))
    }
    if (!jobs.has(id)) return
    forget(id)
    send({ type: "done", job: id })
  } catch (error) {
    fail(id, error)
  }
}

port.on("message", (request: EncoderRequest) => {
  switch (request.op) {
    case "open":
      void open(request)
      return
    case "batch": {
      const job = jobs.get(request.job)
      if (job === undefined || job.ended) return
      try {
        take(request.job, job, request.batch)
      } catch (error) {
        fail(request.job, error)
      }
      return
    }
    case "end": {
      const job = jobs.get(request.job)
      if (job === undefined || job.ended) return
      job.ended = true
      try {
        job.controller.close()
      } catch (error) {
        fail(request.job, error)
      }
      return
    }
    case "abort": {
      const job = jobs.get(request.job)
      if (job === undefined) return
      forget(request.job)
      try {
        job.controller.error(new Error("write aborted"))
      } catch {
        // already closed
      }
    }
  }
})
