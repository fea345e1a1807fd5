/** Rows per ColumnBatch: big enough for columnar encoding to pay off, small enough to stay bounded. */
export const defaultBatchRows = 10_000
