import { ConfigProvider, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { OtlpSerialization, OtlpTracer } from "effect/observability"

/**
 * OTLP/HTTP export of spans when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the standard OTEL_*
 * variables apply: headers, compression, OTEL_SDK_DISABLED, …); otherwise no tracer is installed
 * and spans cost next to nothing. Spans: one per request (its parent taken from the caller's
 * `traceparent`), one per use case, one per import stage; outgoing HTTP calls (Airbyte, a REST
 * catalog) carry `traceparent` on.
 */
export const tracingLayer = (options: { readonly endpoint: string | undefined; readonly serviceName: string }) =>
  options.endpoint === undefined
    ? Layer.empty
    : OtlpTracer.layerFromConfig({ resource: { serviceName: options.serviceName, serviceVersion: "0.1.0" } }).pipe(
      Layer.provide(OtlpSerialization.layerJson),
      Layer.provide(FetchHttpClient.layer),
      // OpenTelemetry's default exporter is otlp; Effect's reader wants it named.
      Layer.provide(ConfigProvider.layerAdd(ConfigProvider.fromUnknown({ OTEL_TRACES_EXPORTER: "otlp" })))
    )
