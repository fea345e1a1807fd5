import { createServer, type IncomingHttpHeaders, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually } from "../support/lake.ts"
import { createTestDatabase } from "../support/postgres.ts"
import type { RunningService } from "../support/server.ts"
import { ISSUER, MANAGE, startService } from "../support/server.ts"

// Traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, spans go to an OTLP/HTTP collector (here a
// loopback receiver reading what the real exporter posts): a span per request, continuing the
// gateway's W3C traceparent; use-case spans and import stages inside it; and the trace context
// passed on to Airbyte.

const tenant = "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e"
const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
const gatewaySpanId = "00f067aa0ba902b7"

interface Span {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
  readonly attributes: ReadonlyArray<{ key: string; value: Record<string, unknown> }>
}

const listen = (server: Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)))

describe("traces over OTLP", () => {
  const spans: Array<Span> = []
  const airbyteCalls: Array<{ url: string; headers: IncomingHttpHeaders }> = []
  let collector: Server
  let airbyte: Server
  let stateDb: ReturnType<typeof createTestDatabase>
  let service: RunningService
  let token: string

  beforeAll(async () => {
    collector = createServer((req, res) => {
      let body = ""
      req.on("data", (chunk) => (body += String(chunk)))
      req.on("end", () => {
        if (req.url === "/v1/traces") {
          for (const resource of JSON.parse(body).resourceSpans ?? []) {
            for (const scope of resource.scopeSpans ?? []) spans.push(...scope.spans)
          }
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    // Stands in for Airbyte's health endpoint (what readiness calls) and records what arrives.
    airbyte = createServer((req, res) => {
      airbyteCalls.push({ url: req.url ?? "", headers: req.headers })
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ available: true }))
    })
    const collectorPort = await listen(collector)
    const airbytePort = await listen(airbyte)
    stateDb = createTestDatabase()
    service = await startService({
      DATABASE_URL: stateDb.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collectorPort}`,
      OTEL_BSP_SCHEDULE_DELAY: "100",
      INGEST_ENGINE: "airbyte",
      AIRBYTE_API_URL: `http://127.0.0.1:${airbytePort}/api/public/v1`,
      AIRBYTE_CLIENT_ID: "client",
      AIRBYTE_CLIENT_SECRET: "secret",
      AIRBYTE_ICEBERG_WAREHOUSE: "s3://lake/warehouse",
      AIRBYTE_ICEBERG_CATALOG_URI: "http://127.0.0.1:1/catalog"
    })
    token = await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER })
  }, 180_000)
  afterAll(async () => {
    await service?.stop()
    collector?.close()
    airbyte?.close()
    stateDb?.drop()
  })

  const traceparent = `00-${traceId}-${gatewaySpanId}-01`

  it("continues the gateway's trace and passes it on to Airbyte", async () => {
    const ready = await fetch(`${service.baseUrl}/health/ready`, { headers: { traceparent } })
    expect(ready.status).toBe(200)
    const health = airbyteCalls.filter((c) => c.url === "/api/public/v1/health" && String(c.headers.traceparent).includes(traceId))
    expect(health).toHaveLength(1)
    const [, , parent, flags] = String(health[0]!.headers.traceparent).split("-")
    expect(parent).not.toBe(gatewaySpanId)
    expect(flags).toBe("01")

    const server = await eventually(
      async () => spans.filter((s) => s.traceId === traceId && s.parentSpanId === gatewaySpanId),
      (found) => found.length > 0
    )
    expect(server).toHaveLength(1)
    expect(server[0]!.kind).toBe(2) // SERVER
    expect(server[0]!.attributes).toContainEqual({ key: "http.route", value: { stringValue: "/health/ready" } })
    // The Airbyte call is a client span inside the request's span, and its id is what Airbyte got.
    const client = await eventually(async () => spans.find((s) => s.spanId === parent), (s) => s !== undefined)
    expect(client!.traceId).toBe(traceId)
    expect(client!.kind).toBe(3) // CLIENT
  })

  it("has use-case spans and the import stages", async () => {
    const uploadTrace = "aaaabbbbccccddddeeeeffff00001111"
    const form = new FormData()
    form.append("file", new Blob(["id,name\n1,a\n2,b\n"]), "traced.csv")
    const uploaded = await fetch(`${service.baseUrl}/api/v1/files/upload`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "x-tenant-id": tenant, traceparent: `00-${uploadTrace}-${gatewaySpanId}-01` },
      body: form
    })
    expect(uploaded.status).toBe(201)
    const id = ((await uploaded.json()) as { id: string }).id
    const inUpload = await eventually(
      async () => spans.filter((s) => s.traceId === uploadTrace).map((s) => s.name),
      (names) => names.includes("import.profile")
    )
    expect(inUpload).toEqual(expect.arrayContaining(["FileImportService.upload", "import.upload", "import.profile"]))

    const started = await fetch(`${service.baseUrl}/api/v1/files/${id}/import`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "x-tenant-id": tenant }
    })
    expect(started.status).toBe(202)
    const job = await eventually(
      async () => {
        const run = spans.find((s) => s.name === "FileImportService.runImport")
        return run === undefined ? [] : spans.filter((s) => s.traceId === run.traceId).map((s) => s.name)
      },
      (names) => names.includes("write.commit")
    )
    expect(job).toEqual(expect.arrayContaining(["FileImportService.runImport", "write.read", "write.encode", "write.commit"]))
  })
})
