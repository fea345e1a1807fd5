import { importBytesTotal, importRowsTotal, importsTotal, syncsTotal } from "@ingest/domain"
import { Context, Effect, Metric } from "effect"

// The adapters' metrics, as Effect metrics (one registry per process; /metrics renders it in the
// Prometheus text format, with the domain's import and sync outcomes). Labels have few values
// each: route templates, never raw paths or ids.

const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

export const httpRequestDuration = Metric.histogram("ingest_http_request_duration_seconds", {
  description: "HTTP requests by route template, method and status: time until the response was sent",
  boundaries: seconds
})

export const jobsQueued = Metric.gauge("ingest_jobs_queued", {
  description: "Background jobs waiting to be claimed, by kind (all processes: read from the queue at scrape time)"
})
export const jobsRunning = Metric.gauge("ingest_jobs_running", {
  description: "Background jobs claimed and running, by kind (all processes)"
})
export const oldestQueuedJobAge = Metric.gauge("ingest_jobs_oldest_queued_age_seconds", {
  description: "Age of the oldest job waiting to be claimed (0 when none waits)"
})
export const jobReclaimsTotal = Metric.counter("ingest_job_reclaims_total", {
  description: "Jobs this process claimed again after their lease expired (the previous holder died or stalled), by kind",
  incremental: true
})
export const jobLeasesLostTotal = Metric.counter("ingest_job_leases_lost_total", {
  description: "Jobs this process stopped because another worker took over their expired lease, by kind",
  incremental: true
})

export const catalogCommitsTotal = Metric.counter("ingest_catalog_commits_total", {
  description: "Iceberg catalog commit attempts, by outcome (committed, conflict, unknown, gave_up)",
  incremental: true
})
export const catalogCommitRetriesTotal = Metric.counter("ingest_catalog_commit_retries_total", {
  description: "Iceberg commits attempted again on a newer table state after a conflict",
  incremental: true
})

export const airbyteCallsTotal = Metric.counter("ingest_airbyte_calls_total", {
  description: "Calls to the Airbyte API, by outcome (ok, rejected, unavailable)",
  incremental: true
})

export const workerRestartsTotal = Metric.counter("ingest_worker_restarts_total", {
  description: "Parser and encoder threads ended abnormally and replaced, by pool and reason (memory_cap, time_cap, crash)",
  incremental: true
})

/** Records from code outside Effect (worker pools), into the process-wide registry. */
export const countWorkerRestart = (pool: "parser" | "encoder", reason: "memory_cap" | "time_cap" | "crash") =>
  Metric.withAttributes(workerRestartsTotal, { pool, reason }).updateUnsafe(1, Context.empty())

/**
 * Starts every counter at 0 for each label value it can take, so that a series exists (and rates
 * and alerts work) before its first event.
 */
export const initializeCounters = Effect.gen(function*() {
  const zero = (counter: Metric.Counter<number>, attributes: Record<string, string> = {}) =>
    Metric.update(Metric.withAttributes(counter, attributes), 0)
  for (const outcome of ["completed", "failed"]) yield* zero(importsTotal, { outcome })
  yield* zero(importRowsTotal)
  yield* zero(importBytesTotal)
  for (const outcome of ["succeeded", "failed", "cancelled"]) yield* zero(syncsTotal, { outcome })
  for (const kind of ["import", "sync"]) {
    yield* zero(jobReclaimsTotal, { kind })
    yield* zero(jobLeasesLostTotal, { kind })
  }
  for (const outcome of ["committed", "conflict", "unknown", "gave_up"]) yield* zero(catalogCommitsTotal, { outcome })
  yield* zero(catalogCommitRetriesTotal)
  for (const outcome of ["ok", "rejected", "unavailable"]) yield* zero(airbyteCallsTotal, { outcome })
  // Parser threads have memory and time caps; encoder threads can only crash.
  for (const reason of ["memory_cap", "time_cap", "crash"]) yield* zero(workerRestartsTotal, { pool: "parser", reason })
  yield* zero(workerRestartsTotal, { pool: "encoder", reason: "crash" })
})
