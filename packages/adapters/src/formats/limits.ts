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
