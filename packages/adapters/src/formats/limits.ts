import { getHeapStatistics } from "node:v8"
import { resourceLimits } from "node:worker_threads"
import { FileReadError } from "./errors.ts"
import type { TextLimits } from "./types.ts"

/**
 * Sizes that more than one part of the formats layer relies on, each defined once here.
 */

/** Rows per batch a parser hands to profiling and packing (FormatReaderOptions.batchRows' default). */
export const PARSE_BATCH_ROWS = 8192
/** Most rows per parser batch a FormatReader may be configured with. */
export const MAX_PARSE_BATCH_ROWS = 1 << 20

/** Rows, and bytes, at which a batch of packed columns (what a read yields to the writer) is cut. */
export const PACKED_BATCH_ROWS = 32_768
export const PACKED_BATCH_BYTES = 16 * 1024 * 1024

/** Rows a profile keeps for the preview. */
export const PREVIEW_ROWS = 100

export const defaultTextLimits: TextLimits = {
  maxFieldChars: 16 * (1 << 20),
  maxRecordChars: 32 * (1 << 20),
  maxDepth: 64
}

/** A size in MiB, as limits are named in messages. */
export const mib = (n: number) => `${Math.round(n / (1 << 20))} MiB`

let heapLimitBytes: number | undefined
const heapLimit = () => (heapLimitBytes ??= getHeapStatistics().heap_size_limit)

/**
 * Refuses an unfinished record that would take `bytes` of memory beyond the parser thread's heap
 * cap. Running into V8's own limit instead is a race in Node that can abort the whole process
 * rather than only this worker.
 */
export const refuseBeyondHeap = (bytes: number): void => {
  if (bytes <= heapLimit()) return
  const allowed = resourceLimits.maxOldGenerationSizeMb ?? Math.round(heapLimit() / (1 << 20))
  throw new FileReadError("too-large", `reading the file needs more than the ${allowed} MB of memory allowed`)
}
