import { Duration, Effect, Layer, Metric, Option } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { JobLeases } from "@ingest/adapters/jobs/leases"
import {
  initializeCounters,
  jobsQueued,
  jobsRunning,
  oldestQueuedJobAge,
  processMetricsText,
  startProcessMetrics
} from "@ingest/adapters/observability/index"

// GET /metrics: the Prometheus text format, unauthenticated, outside /api/v1. The queue gauges
// are read from the queue at scrape time (they describe every process); a queue that does not
// answer within a second leaves them at their last value rather than failing the scrape.

const refreshQueueGauges = (leases: JobLeases["Service"]) =>
  Effect.gen(function*() {
    const depth = yield* leases.depth().pipe(Effect.timeoutOption(Duration.seconds(1)))
    if (Option.isNone(depth)) return
    for (const kind of ["import", "sync"] as const) {
      yield* Metric.update(Metric.withAttributes(jobsQueued, { kind }), depth.value.queued[kind])
      yield* Metric.update(Metric.withAttributes(jobsRunning, { kind }), depth.value.running[kind])
    }
    yield* Metric.update(oldestQueuedJobAge, depth.value.oldestQueuedSeconds)
  })

/** The /metrics route (on the API's router, and alone on INGEST_METRICS_PORT when set). */
export const MetricsRoute = Layer.unwrap(Effect.gen(function*() {
  const leases = yield* JobLeases
  yield* initializeCounters
  startProcessMetrics()
  const scrape = Effect.gen(function*() {
    yield* refreshQueueGauges(leases)
    const service = yield* PrometheusMetrics.format()
    const process = yield* Effect.promise(processMetricsText)
    return HttpServerResponse.text(`${service}${process}`, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
  })
  return HttpRouter.add("GET", "/metrics", scrape)
}))
