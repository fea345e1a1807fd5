import { readlinkSync } from "node:fs"
import { setPriority } from "node:os"
import type { Worker } from "node:worker_threads"

// The service's worker threads (parsers, Parquet encoders) by role, so that their memory can be
// inspected while they run: each thread has its own heap, which the main thread's figures omit;
// and the lower scheduling priority of bulk work.

const threads = new Map<Worker, string>()

export const registerThread = (worker: Worker, role: string): void => {
  threads.set(worker, role)
  worker.once("exit", () => threads.delete(worker))
}

export interface ThreadMemory {
  readonly role: string
  /** V8 heap in use and reserved, and memory outside it held by the thread's objects (ArrayBuffers, wasm). */
  readonly heapUsed: number
  readonly heapTotal: number
  readonly external: number
}

/** Memory of every running worker thread (one still starting or already stopping is left out). */
export const threadMemory = async (): Promise<Array<ThreadMemory>> => {
  const memories = await Promise.all(
    [...threads].map(([worker, role]) =>
      worker.getHeapStatistics().then(
        (heap) => ({ role, heapUsed: heap.used_heap_size, heapTotal: heap.total_heap_size, external: heap.external_memory }),
        () => undefined
      )
    )
  )
  return memories.filter((memory) => memory !== undefined)
}

/** Nice value of bulk work (parser threads): below the service thread and the Parquet encoder. */
export const BULK_NICENESS = 10

/**
 * Lowers the scheduling priority of the calling thread (Linux: a thread has its own nice value,
 * set through its thread id), so that under contention for the cores the service thread (API
 * requests) and the Parquet encoder (which bounds an import) get them first; the thread still
 * takes every idle core. Elsewhere, or when refused, nothing changes.
 */
export const lowerThreadPriority = (): void => {
  if (process.platform !== "linux") return
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").at(-1))
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, BULK_NICENESS)
  } catch {
    // not permitted, or no /proc: the thread keeps its priority
  }
}
