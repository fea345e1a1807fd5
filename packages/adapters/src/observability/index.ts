// Observability of a process: metrics (Effect metrics for the service, prom-client for the
// process) scraped at /metrics, logs in text or JSON carrying the request id, and traces exported
// over OTLP when a collector is configured.

export * from "./logging.ts"
export * from "./metrics.ts"
export * from "./process-metrics.ts"
export * from "./tracing.ts"
