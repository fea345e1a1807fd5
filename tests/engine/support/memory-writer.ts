/** The in-memory TableWriter lives with the other memory adapters; engine tests use it from there. */
export { makeMemoryTableWriter as makeMemoryWriter } from "@ingest/adapters/memory/table-writer"
export type { RecordedTable } from "@ingest/adapters/memory/table-writer"
