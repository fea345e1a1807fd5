import { Metric } from "effect"

// What the use cases count: outcomes users care about. Adapters' metrics (HTTP, jobs, catalog,
// Airbyte, worker threads) live with the adapters; /metrics renders all of them.

const longSeconds = [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]

export const importsTotal = Metric.counter("ingest_imports_total", {
  description: "File imports that ended, by outcome (completed, failed)",
  incremental: true
})
export const importRowsTotal = Metric.counter("ingest_import_rows_total", {
  description: "Rows committed by completed file imports",
  incremental: true
})
export const importBytesTotal = Metric.counter("ingest_import_bytes_total", {
  description: "Bytes of the files of completed file imports",
  incremental: true
})
export const importDuration = Metric.histogram("ingest_import_duration_seconds", {
  description: "Time an import job ran until it completed or failed, by outcome",
  boundaries: longSeconds
})
export const syncsTotal = Metric.counter("ingest_syncs_total", {
  description: "Syncs that ended, by outcome (succeeded, failed, cancelled)",
  incremental: true
})
