import type { ColumnBatch, FileProfile } from "@ingest/domain"
import { Worker } from "node:worker_threads"
import { countWorkerRestart } from "../../observability/metrics.ts"
import { registerThread } from "../../threads.ts"
import { FileReadError } from "../errors.ts"
import type { ProfileScan } from "../table/profile.ts"
import type { ProfileRequest, ReadRequest, ScanRequest } from "../types.ts"
import type { WorkerRequest, WorkerResponse } from "./protocol.ts"

export interface PoolOptions {
  /** Worker threads kept at most (idle ones are reused). */
  readonly maxWorkers: number
  /** Heap cap of each worker; a parser that needs more ends as "too-large". */
  readonly maxOldGenerationSizeMb: number
  readonly maxYoungGenerationSizeMb: number
  readonly stackSizeMb: number
  /** Wall-clock cap of one profile. */
  readonly profileTimeoutMs: number
  /** Longest wait for the next batch of a read. */
  readonly readTimeoutMs: number
  /** An idle worker ends after this long (its heap goes with it); the next job starts a new one. */
  readonly idleMs: number
}

const bootstrap = new URL("../../worker-bootstrap.mjs", import.meta.url)
const entry = new URL("./entry.ts", import.meta.url).href

const formatDuration = (ms: number) => (ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`)

/** How many batches a worker may prepare ahead of the consumer. */
const READ_CREDITS = 1

const workerFailure = (error: unknown, maxOldGenerationSizeMb: number): FileReadError => {
  const code = (error as { code?: unknown } | null)?.code
  if (code === "ERR_WORKER_OUT_OF_MEMORY") {
    return new FileReadError("too-large", `reading the file needs more than the ${maxOldGenerationSizeMb} MB of memory allowed`)
  }
  const message = error instanceof Error ? error.message : String(error)
  return new FileReadError("corrupt", `the file could not be read: ${message}`)
}

/**
 * A small pool of parser worker threads with memory (resourceLimits) and time caps. A worker that
 * crashes, runs out of memory or over time is terminated and replaced on demand; the process
 * itself never sees the hostile input.
 */
export class WorkerPool {
  private readonly idle: Array<Worker> = []
  private readonly idleTimers = new Map<Worker, NodeJS.Timeout>()
  private readonly waiting: Array<{ resolve: (worker: Worker) => void; reject: (error: unknown) => void }> = []
  private live = 0
  private nextId = 1
  private closed = false
  private readonly options: PoolOptions

  constructor(options: PoolOptions) {
    this.options = options
  }

  /** Starts a worker and resolves once it has loaded its code. */
  private spawn(): Promise<Worker> {
    const { maxOldGenerationSizeMb, maxYoungGenerationSizeMb, stackSizeMb } = this.options
    this.live++
    return new Promise((resolve, reject) => {
      let worker: Worker
      try {
        worker = new Worker(bootstrap, {
          workerData: { entry },
          execArgv: [],
          resourceLimits: { maxOldGenerationSizeMb, maxYoungGenerationSizeMb, stackSizeMb }
        })
      } catch (error) {
        this.live--
        return reject(workerFailure(error, maxOldGenerationSizeMb))
      }
      registerThread(worker, "parser")
      // Errors are handled per job; this keeps an error between jobs from being unhandled.
      worker.on("error", () => {})
      const onReady = (message: WorkerResponse) => {
        if (message.type !== "ready") return
        worker.off("message", onReady)
        worker.off("exit", onExit)
        resolve(worker)
      }
      const onExit = (code: number) => {
        worker.off("message", onReady)
        this.live--
        reject(new FileReadError("corrupt", `the file reader could not start (exit code ${code})`))
      }
      worker.on("message", onReady)
      worker.once("exit", onExit)
    })
  }

  /** Starts workers, up to `count` in all, to wait idle for the next jobs (a failed start is left to the job). */
  prestart(count: number): void {
    const target = Math.min(count, this.options.maxWorkers)
    while (!this.closed && this.live < target) this.spawn().then((worker) => this.release(worker), () => {})
  }

  private acquire(): Promise<Worker> {
    if (this.closed) return Promise.reject(new FileReadError("unsupported", "the format reader is closed"))
    const worker = this.idle.pop()
    if (worker !== undefined) {
      clearTimeout(this.idleTimers.get(worker))
      this.idleTimers.delete(worker)
      worker.ref()
      return Promise.resolve(worker)
    }
    if (this.live < this.options.maxWorkers) return this.spawn()
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
  }

  private release(worker: Worker): void {
    const next = this.waiting.shift()
    if (next !== undefined) return next.resolve(worker)
    if (this.closed) {
      this.discard(worker)
      return
    }
    worker.unref()
    this.idle.push(worker)
    const timer = setTimeout(() => this.retire(worker), this.options.idleMs)
    timer.unref()
    this.idleTimers.set(worker, timer)
  }

  /** Ends a worker that stayed idle: a thread holds its heap (10-40 MiB) for as long as it runs. */
  private retire(worker: Worker): void {
    this.idleTimers.delete(worker)
    const at = this.idle.indexOf(worker)
    if (at < 0) return
    this.idle.splice(at, 1)
    this.live--
    void worker.terminate()
  }

  private discard(worker: Worker): void {
    this.live--
    void worker.terminate()
    const next = this.waiting.shift()
    if (next !== undefined && !this.closed) this.spawn().then(next.resolve, next.reject)
  }

  /** Runs `request` on a worker; `onMessage` returns true when the job is over. */
  private job(
    worker: Worker,
    timeoutMs: number,
    onMessage: (message: WorkerResponse) => void
  ): { readonly done: Promise<void>; readonly finish: (healthy: boolean) => void; readonly resetTimer: () => void } {
    let settle: ((error?: FileReadError) => void) | undefined
    let timer: NodeJS.Timeout | undefined
    let ended = false
    const done = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error))
    })
    const resetTimer = () => {
      if (ended) return
      if (timer !== undefined) clearTimeout(timer)
      timer = setTimeout(() => {
        if (!cleanup()) return
        this.discard(worker)
        countWorkerRestart("parser", "time_cap")
        settle?.(new FileReadError("too-large", `reading the file took longer than ${formatDuration(timeoutMs)}`))
      }, timeoutMs)
    }
    const onError = (error: unknown) => {
      if (!cleanup()) return
      this.discard(worker)
      const failure = workerFailure(error, this.options.maxOldGenerationSizeMb)
      countWorkerRestart("parser", failure.kind === "too-large" ? "memory_cap" : "crash")
      settle?.(failure)
    }
    const onExit = (code: number) => {
      if (!cleanup()) return
      this.live--
      countWorkerRestart("parser", "crash")
      settle?.(new FileReadError("corrupt", `the file reader stopped unexpectedly (exit code ${code})`))
    }
    /** Ends the job once; false when it had already ended. */
    const cleanup = (): boolean => {
      if (ended) return false
      ended = true
      if (timer !== undefined) clearTimeout(timer)
      worker.off("message", onMessage)
      worker.off("error", onError)
      worker.off("exit", onExit)
      return true
    }
    worker.on("message", onMessage)
    worker.on("error", onError)
    worker.on("exit", onExit)
    resetTimer()
    const finish = (healthy: boolean) => {
      if (!cleanup()) return
      if (healthy) this.release(worker)
      else this.discard(worker)
      settle?.()
    }
    return { done, finish, resetTimer }
  }

  async profile(request: ProfileRequest, signal?: AbortSignal): Promise<FileProfile> {
    const profile = await this.ask(
      (id) => ({ id, op: "profile", request }),
      (message) => (message.type === "profile" ? message.profile : undefined),
      signal
    )
    // Rows arrive as ordinary objects; they go back to null-prototype maps (`__proto__` is a plain key).
    const previewRows = profile.previewRows.map((row) => Object.assign(Object.create(null) as Record<string, unknown>, row))
    return { ...profile, previewRows }
  }

  /** Scans a byte range of a CSV file (see file-jobs.ts scanCsvRange). */
  scan(request: ScanRequest, signal?: AbortSignal): Promise<ProfileScan> {
    return this.ask(
      (id) => ({ id, op: "scan", request }),
      (message) => (message.type === "scan" ? message.scan : undefined),
      signal
    )
  }

  /** One request, one answer, under the profile time cap. */
  private async ask<A>(
    request: (id: number) => WorkerRequest,
    answer: (message: WorkerResponse) => A | undefined,
    signal: AbortSignal | undefined
  ): Promise<A> {
    const worker = await this.acquire()
    const id = this.nextId++
    let result: { value: A } | { error: FileReadError } | undefined
    const { done, finish } = this.job(worker, this.options.profileTimeoutMs, (message) => {
      if (message.id !== id) return
      const value = answer(message)
      result = value !== undefined
        ? { value }
        : message.type === "error"
        ? { error: new FileReadError(message.kind, message.message) }
        : { error: new FileReadError("corrupt", "unexpected answer from the file reader") }
      finish(true)
    })
    const abort = () => finish(false)
    signal?.addEventListener("abort", abort, { once: true })
    worker.postMessage(request(id))
    try {
      await done
    } finally {
      signal?.removeEventListener("abort", abort)
    }
    if (result === undefined) throw new FileReadError("corrupt", "profiling was interrupted")
    if ("error" in result) throw result.error
    return result.value
  }

  /** Reads a profiled file (see file-jobs.ts readFile), under the read time cap between batches. */
  async *read(request: ReadRequest): AsyncGenerator<ColumnBatch> {
    const worker = await this.acquire()
    const id = this.nextId++
    const inbox: Array<WorkerResponse> = []
    let wake: (() => void) | undefined
    let over = false
    const { done, finish, resetTimer } = this.job(worker, this.options.readTimeoutMs, (message) => {
      if (message.id !== id) return
      if (message.type === "done" || message.type === "error") over = true
      inbox.push(message)
      const w = wake
      wake = undefined
      w?.()
    })
    let failure: FileReadError | undefined
    done.catch((error: FileReadError) => {
      failure = error
      const w = wake
      wake = undefined
      w?.()
    })
    worker.postMessage({ id, op: "read", request, credits: READ_CREDITS } satisfies WorkerRequest)
    let finished = false
    try {
      for (;;) {
        while (inbox.length === 0 && failure === undefined) await new Promise<void>((resolve) => (wake = resolve))
        const message = inbox.shift()
        if (message === undefined) throw failure!
        if (message.type === "batch") {
          resetTimer()
          worker.postMessage({ id, op: "pull" } satisfies WorkerRequest)
          yield message.batch
          continue
        }
        finished = true
        finish(true)
        if (message.type === "error") throw new FileReadError(message.kind, message.message)
        return
      }
    } finally {
      if (!finished && failure === undefined) {
        // The consumer stopped early: let the worker wind down, then reuse it (or drop it if it does not answer).
        worker.postMessage({ id, op: "cancel" } satisfies WorkerRequest)
        if (over) finish(true)
        else {
          const started = Date.now()
          const poll = setInterval(() => {
            if (over || Date.now() - started > 5000) {
              clearInterval(poll)
              finish(over)
            }
          }, 10)
          poll.unref()
        }
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true
    for (const timer of this.idleTimers.values()) clearTimeout(timer)
    this.idleTimers.clear()
    const idle = this.idle.splice(0)
    this.live -= idle.length
    await Promise.all(idle.map((w) => w.terminate()))
  }
}
