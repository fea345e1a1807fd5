import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually } from "../support/lake.ts"
import { createTestDatabase } from "../support/postgres.ts"
import type { RunningService } from "../support/server.ts"
import { api, freePort, ISSUER, MANAGE, startService } from "../support/server.ts"

// What an operator sees of a running service: request ids on every answer, /metrics in the
// Prometheus text format (unauthenticated, outside /api/v1, also on its own port) covering
// requests by route template, imports, the queue, the catalog and the process; readiness.

const tenant = "6c1f0e2d-3b4a-4c5d-8e9f-0a1b2c3d4e5f"
const csv = "id,name,amount\n1,alpha,1.5\n2,beta,2.5\n3,gamma,3.5\n"

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

/**
 * The exposition's families in order: each `# HELP name text` and `# TYPE name type`, and the
 * names of the samples that follow them (a histogram's `_bucket`, `_sum` and `_count`).
 */
const familiesOf = (text: string) => {
  const families: Array<{ name: string; help?: string; type?: string; samples: Set<string> }> = []
  const orphans: Array<string> = []
  for (const line of text.split("\n")) {
    if (line === "") continue
    const comment = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
    if (comment !== null) {
      const [, kind, name, rest] = comment
      let family = families.at(-1)
      if (family?.name !== name) families.push(family = { name: name!, samples: new Set() })
      if (kind === "HELP") family.help = rest
      else family.type = rest
      continue
    }
    const name = line.replace(/[{ ].*$/, "")
    const family = families.at(-1)
    const base = family?.type === "histogram" || family?.type === "summary"
      ? name.replace(/_(bucket|sum|count)$/, "")
      : name
    if (family === undefined || family.name !== base) orphans.push(name)
    else family.samples.add(name)
  }
  return { families, orphans }
}

describe("operations: request ids, metrics, readiness", () => {
  let stateDb: ReturnType<typeof createTestDatabase>
  let service: RunningService
  let call: ReturnType<typeof api>
  let token: string
  let metricsPort: number

  beforeAll(async () => {
    stateDb = createTestDatabase()
    metricsPort = await freePort()
    service = await startService({ DATABASE_URL: stateDb.url, INGEST_METRICS_PORT: String(metricsPort) })
    token = await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER })
    call = api(service, token, tenant)
  }, 180_000)
  afterAll(async () => {
    await service?.stop()
    stateDb?.drop()
  })

  it("echoes a sane X-Request-Id and makes one otherwise, on every answer", async () => {
    const given = await call("GET", "/api/v1/sources", undefined, { "x-request-id": "gw-7f3a.42" })
    expect(given.status).toBe(200)
    expect(given.headers.get("x-request-id")).toBe("gw-7f3a.42")

    const made = await call("GET", "/api/v1/sources")
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)

    // A hostile header is not echoed: a fresh id replaces it.
    const hostile = await call("GET", "/api/v1/sources", undefined, { "x-request-id": "a b<script>" })
    expect(hostile.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)

    const unauthorized = await fetch(`${service.baseUrl}/api/v1/sources`, { headers: { "x-request-id": "r-401" } })
    expect(unauthorized.status).toBe(401)
    expect(unauthorized.headers.get("x-request-id")).toBe("r-401")
    const unknown = await fetch(`${service.baseUrl}/nowhere`, { headers: { "x-request-id": "r-404" } })
    expect(unknown.status).toBe(404)
    expect(unknown.headers.get("x-request-id")).toBe("r-404")
    expect(await unknown.json()).toMatchObject({ status: 404, error: "Not Found", path: "/nowhere" })
  })

  it("readiness names its dependencies' state; liveness is trivial", async () => {
    const ready = await fetch(`${service.baseUrl}/health/ready`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: "UP" })
    expect(await (await fetch(`${service.baseUrl}/health/live`)).json()).toEqual({ status: "UP" })
  })

  it("/metrics after an import: requests by route template, the import, the queue, the catalog, the process", async () => {
    const form = new FormData()
    form.append("file", new Blob([csv]), "metrics.csv")
    const uploaded = await fetch(`${service.baseUrl}/api/v1/files/upload`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "x-tenant-id": tenant },
      body: form
    })
    expect(uploaded.status).toBe(201)
    const file = await uploaded.json() as { id: string }
    expect((await call("POST", `/api/v1/files/${file.id}/import`)).status).toBe(202)
    const done = await eventually(() => call("GET", `/api/v1/files/${file.id}/status`), (r) => r.body.status !== "IMPORTING")
    expect(done.body.status).toBe("COMPLETED")

    const res = await fetch(`${service.baseUrl}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
    const text = await res.text()

    expect(sample(text, `ingest_imports_total{outcome="completed"}`)).toBe(1)
    expect(sample(text, "ingest_import_rows_total")).toBe(3)
    expect(sample(text, "ingest_import_bytes_total")).toBe(csv.length)
    expect(sample(text, `ingest_import_duration_seconds_count{outcome="completed"}`)).toBe(1)
    expect(sample(text, `ingest_catalog_commits_total{outcome="committed"}`)).toBe(1)
    expect(sample(text, `ingest_http_request_duration_seconds_count{method="POST",route="/api/v1/files/upload",status="201"}`)).toBe(1)
    // Route templates, never ids: one series for every file.
    expect(sample(text, `ingest_http_request_duration_seconds_count{method="POST",route="/api/v1/files/:fileId/import",status="202"}`))
      .toBe(1)
    expect(text).not.toContain(file.id)
    expect(sample(text, `ingest_jobs_queued{kind="import"}`)).toBe(0)
    expect(sample(text, `ingest_jobs_running{kind="import"}`)).toBe(0)
    expect(sample(text, "ingest_jobs_oldest_queued_age_seconds")).toBe(0)
    expect(text).toMatch(/^# TYPE ingest_http_request_duration_seconds histogram$/m)
    // Every family, the service's and the process's, says what it is: one HELP with a
    // description and one TYPE, before its samples; no sample outside a declared family.
    const { families, orphans } = familiesOf(text)
    expect(orphans).toEqual([])
    const names = families.map((f) => f.name)
    expect(new Set(names).size).toBe(names.length)
    for (const family of families) {
      expect(family.help, `HELP of ${family.name}`).toMatch(/\S{3}/)
      expect(family.type, `TYPE of ${family.name}`).toMatch(/^(counter|gauge|histogram|summary)$/)
    }
    const types = Object.fromEntries(families.map((f) => [f.name, f.type]))
    expect(types).toMatchObject({
      ingest_http_request_duration_seconds: "histogram",
      ingest_imports_total: "counter",
      ingest_import_rows_total: "counter",
      ingest_import_bytes_total: "counter",
      ingest_import_duration_seconds: "histogram",
      ingest_syncs_total: "counter",
      ingest_jobs_queued: "gauge",
      ingest_jobs_running: "gauge",
      ingest_jobs_oldest_queued_age_seconds: "gauge",
      ingest_job_reclaims_total: "counter",
      ingest_job_leases_lost_total: "counter",
      ingest_catalog_commits_total: "counter",
      ingest_catalog_commit_retries_total: "counter",
      ingest_airbyte_calls_total: "counter",
      ingest_worker_restarts_total: "counter",
      process_resident_memory_bytes: "gauge",
      process_cpu_seconds_total: "counter"
    })
    expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(0)
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m)

    // The same on the metrics port, and nothing else there.
    const alone = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    expect(alone.status).toBe(200)
    expect(sample(await alone.text(), `ingest_imports_total{outcome="completed"}`)).toBe(1)
    expect((await fetch(`http://127.0.0.1:${metricsPort}/api/v1/sources`)).status).toBe(404)
  })
})
