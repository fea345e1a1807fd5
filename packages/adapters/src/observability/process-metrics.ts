import { collectDefaultMetrics, Registry } from "prom-client"

// Process metrics under the names Node dashboards expect (process_cpu_seconds_total,
// process_resident_memory_bytes, nodejs_eventloop_lag_seconds, nodejs_heap_size_used_bytes, GC
// durations, open file descriptors, …), collected by prom-client, which keeps them right across
// Node versions; the service's own metrics are Effect metrics (metrics.ts).

let registry: Registry | undefined

/** Starts collecting (CPU time is counted from here: call it when the process starts serving). */
export const startProcessMetrics = (): Registry => {
  if (registry === undefined) {
    registry = new Registry()
    collectDefaultMetrics({ register: registry })
  }
  return registry
}

/** The process metrics in the Prometheus text format. */
export const processMetricsText = (): Promise<string> => startProcessMetrics().metrics()
