import type { Worker } from "node:worker_threads"

// The service's worker threads (parsers, Parquet encoders) by role, so that their memory can be
// inspected while they run: each thread has its own heap, which the main thread's figures omit.

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
