import { InfrastructureError } from "@ingest/domain"
import { Effect, Stream } from "effect"
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import { countWorkerRestart } from "../observability/metrics.ts"
import { registerThread } from "../threads.ts"
import type { EncodeJob, ParquetEncoder } from "./parquet-encoder.ts"
import { encodingFailure, Wakeups } from "./parquet-encoder.ts"
import type { EncoderRequest, EncoderResponse } from "./parquet-transfer.ts"
import { toPayload } from "./parquet-transfer.ts"

// Parquet encoding on worker threads: the writer's thread converts rows into Arrow buffers and
// moves them to an encoder thread, which compresses them into Parquet and streams the bytes
// back; the writer passes them on to ObjectStore.put as before. Memory stays bounded: at most
// `maxBatchesInFlight` batches wait at an encoder, and no new batch is sent while the file's
// bytes pile up unconsumed on this side.

const bootstrap = new URL("../worker-bootstrap.mjs", import.meta.url)
const entry = new URL("./parquet-encoder-worker.ts", import.meta.url).href

export const maxBatchesInFlight = 2
/** Parquet bytes buffered here (waiting for the object store) before the writer waits. */
const outputHighWaterBytes = 32 * 1024 * 1024
/**
 * An encoder thread with nothing to do ends after this long: starting one takes about half a
 * second (loading tsx, Arrow and compiling parquet-wasm), and its wasm memory never shrinks.
 */
const idleMillis = 120_000

interface PoolJob {
  readonly onMessage: (message: EncoderResponse) => void
  readonly onCrash: (error: InfrastructureError) => void
}

class EncoderThread {
  readonly worker: Worker
  readonly jobs = new Map<number, PoolJob>()
  private idleTimer: NodeJS.Timeout | undefined
  private readonly onGone: (thread: EncoderThread) => void
  gone = false

  constructor(onGone: (thread: EncoderThread) => void) {
    this.onGone = onGone
    this.worker = new Worker(bootstrap, { workerData: { entry }, execArgv: [] })
    registerThread(this.worker, "parquet-encoder")
    this.worker.on("message", (message: EncoderResponse) => this.jobs.get(message.job)?.onMessage(message))
    this.worker.on("error", (error) => this.retire(`the Parquet encoder thread failed: ${error.message}`))
    this.worker.on("exit", (code) => this.retire(`the Parquet encoder thread stopped (exit code ${code})`))
    this.worker.unref()
    this.startIdleTimer()
  }

  private startIdleTimer(): void {
    this.idleTimer = setTimeout(() => this.retire("idle"), idleMillis)
    this.idleTimer.unref()
  }

  /** Ends the thread; files still open on it fail with `reason`. */
  private retire(reason: string): void {
    if (this.gone) return
    this.gone = true
    if (reason !== "idle") countWorkerRestart("encoder", "crash")
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer)
    this.onGone(this)
    const error = new InfrastructureError({ reason })
    for (const job of [...this.jobs.values()]) job.onCrash(error)
    this.jobs.clear()
    void this.worker.terminate()
  }

  attach(id: number, job: PoolJob): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer)
    this.idleTimer = undefined
    // A running job keeps the process alive; an idle thread does not.
    if (this.jobs.size === 0) this.worker.ref()
    this.jobs.set(id, job)
  }

  detach(id: number): void {
    if (!this.jobs.delete(id) || this.jobs.size > 0 || this.gone) return
    this.worker.unref()
    this.startIdleTimer()
  }

  post(request: EncoderRequest, transfer: ReadonlyArray<ArrayBuffer> = []): void {
    this.worker.postMessage(request, transfer as Array<ArrayBuffer>)
  }
}

/** A few encoder threads shared by every write of the process, started on first use. */
class EncoderPool {
  private readonly threads: Array<EncoderThread> = []
  private nextJob = 1
  private readonly maxThreads: number

  constructor(maxThreads: number) {
    this.maxThreads = maxThreads
  }

  /** The thread with the fewest open files; a new one while all are busy and there is room. */
  private pick(): EncoderThread {
    let best: EncoderThread | undefined
    for (const thread of this.threads) if (best === undefined || thread.jobs.size < best.jobs.size) best = thread
    if (best !== undefined && (best.jobs.size === 0 || this.threads.length >= this.maxThreads)) return best
    const thread = new EncoderThread((gone) => {
      const at = this.threads.indexOf(gone)
      if (at >= 0) this.threads.splice(at, 1)
    })
    this.threads.push(thread)
    return thread
  }

  /** Starts a thread ahead of the first file, so that its start-up overlaps other work. */
  prewarm(): void {
    if (this.threads.length > 0) return
    try {
      this.pick()
    } catch {
      // opening the first file will report it
    }
  }

  readonly encoder: ParquetEncoder = {
    open: (spec, columns, first, movable) =>
      Effect.suspend(() => {
        const thread = Effect.try({
          try: () => this.pick(),
          catch: encodingFailure("cannot start a Parquet encoder thread")
        })
        return Effect.flatMap(thread, (thread) => Effect.sync(() => this.start(thread, spec, columns, first, movable)))
      })
  }

  private start(thread: EncoderThread, ...[spec, columns, first, movable]: Parameters<ParquetEncoder["open"]>): EncodeJob {
    const id = this.nextJob++
    const wakeups = new Wakeups()
    let inFlight = 0
    let stopped: InfrastructureError | undefined
    let outputOpen = true
    let output!: ReadableStreamDefaultController<Uint8Array>
    const stop = (error: InfrastructureError) => {
      stopped ??= error
      thread.detach(id)
      if (outputOpen) {
        outputOpen = false
        output.error(error)
      }
      wakeups.wakeAll()
    }
    const abort = (reason: string) => {
      if (stopped !== undefined) return
      if (!thread.gone) thread.post({ op: "abort", job: id })
      stop(new InfrastructureError({ reason }))
    }

    const bytes = new ReadableStream<Uint8Array>({
      start: (c) => {
        output = c
      },
      pull: () => wakeups.wakeAll(),
      // The consumer (the upload) gave up: nothing more may be enqueued, the encoder can stop.
      cancel: () => {
        outputOpen = false
        abort("the upload of the Parquet file stopped")
      }
    }, new ByteLengthQueuingStrategy({ highWaterMark: outputHighWaterBytes }))

    thread.attach(id, {
      onMessage: (message) => {
        switch (message.type) {
          case "ack":
            inFlight--
            wakeups.wakeAll()
            return
          case "chunk":
            if (outputOpen) output.enqueue(message.bytes)
            return
          case "done":
            thread.detach(id)
            if (outputOpen) {
              outputOpen = false
              output.close()
            }
            return
          case "error":
            stop(new InfrastructureError({ reason: `Parquet encoding failed: ${message.message}` }))
        }
      },
      onCrash: stop
    })

    const send = (batch: Parameters<EncodeJob["write"]>[0], canMove: boolean, make: (payload: ReturnType<typeof toPayload>["payload"]) => EncoderRequest) => {
      const { payload, transfer } = toPayload(batch, canMove)
      inFlight++
      thread.post(make(payload), transfer)
    }

    send(first, movable, (payload) => ({ op: "open", job: id, spec, columns, first: payload }))

    return {
      output: Stream.fromReadableStream<Uint8Array, InfrastructureError>({
        evaluate: () => bytes,
        onError: encodingFailure("Parquet encoding failed")
      }),
      write: (batch, canMove) =>
        Effect.gen(function*() {
          while (stopped === undefined && (inFlight >= maxBatchesInFlight || (output.desiredSize ?? 1) <= 0)) {
            yield* wakeups.wait()
          }
          if (stopped !== undefined) return yield* stopped
          yield* Effect.try({
            try: () => send(batch, canMove, (payload) => ({ op: "batch", job: id, batch: payload })),
            catch: encodingFailure("cannot hand the record batch to the Parquet encoder")
          })
        }),
      end: () => {
        if (stopped === undefined) thread.post({ op: "end", job: id })
      },
      abort: () => abort("the Parquet encoder was stopped")
    }
  }
}

let shared: EncoderPool | undefined

/** The process-wide encoder threads: one per spare core, at least one, at most four. */
const sharedPool = (): EncoderPool => {
  shared ??= new EncoderPool(Math.max(1, Math.min(4, availableParallelism() - 1)))
  return shared
}

export const workerParquetEncoder = (): ParquetEncoder => sharedPool().encoder

/** Has an encoder thread starting (or idle) so that the next write does not wait for one. */
export const prewarmParquetEncoder = (): void => sharedPool().prewarm()
