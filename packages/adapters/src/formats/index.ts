/**
 * The formats layer: the FormatReader port for csv, xlsx/xls, parquet, json, jsonl and avro files.
 *
 * Flow: format-reader.ts takes a request (profile or read a local file) and runs it as a job of
 * file-jobs.ts on a parser worker thread (worker/). A job opens the file as a table
 * (table/open.ts, with a reader per format: csv/, json/, spreadsheet/, parquet/, avro/), then
 * profiles it (table/profile.ts: type inference over every value, values/inference.ts) or reads
 * it as batches of packed columns (table/read.ts: values coerced straight into typed arrays,
 * values/packing.ts). Shared types are in types.ts, the typed read options a profile keeps for its
 * import in read-options.ts, sizes in limits.ts.
 */
export { columnNames } from "./column-names.ts"
export { detectFormat } from "./detect-format.ts"
export { FileReadError } from "./errors.ts"
export {
  type FormatReaderHandle,
  formatReaderLayer,
  FormatReaderLive,
  type FormatReaderOptions,
  type FormatReaderService,
  makeFormatReader
} from "./format-reader.ts"
export type { RawReader, RawTable } from "./types.ts"
