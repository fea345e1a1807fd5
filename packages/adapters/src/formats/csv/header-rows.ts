import type { CsvReadOptions } from "../read-options.ts"

// Where a CSV reading's data starts. Apart from read-options.ts (its schemas load all of `effect`),
// so that the parser threads, which need these two and nothing else of it, do not load it.

/** Header rows of a CSV reading. */
export const headerRowsOf = (csv: CsvReadOptions): number => csv.headerRows ?? (csv.header ? 1 : 0)

/** Records before the data of a CSV reading: the preamble and the header rows. */
export const recordsBeforeData = (csv: CsvReadOptions): number => (csv.skipRecords ?? 0) + headerRowsOf(csv)
