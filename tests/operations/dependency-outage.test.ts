import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { CatalogProxy, IncomingCall } from "../support/catalog-proxy.ts"
import { startCatalogProxy } from "../support/catalog-proxy.ts"
import { eventually } from "../support/lake.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { startS3rver } from "../support/s3rver.ts"
import type { RunningService } from "../support/server.ts"
import { api, ISSUER, MANAGE, startService } from "../support/server.ts"

// Object storage and a REST catalog going away under a running service: the requests that need
// them answer 503 with the standard error body naming what is unreachable (nothing internal) and
// Retry-After; readiness names it; an import job that meets the outage ends FAILED saying which
// dependency stopped it; once the dependency is back the same requests work.

const tenant = "5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c"
const catalogTenant = "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"
const csv = "id,name\n1,alpha\n2,beta\n"

const standardKeys = ["error", "message", "path", "status", "timestamp"]

/** Uploads a CSV; answers the status and body. */
const upload = async (service: RunningService, token: string, name: string, content = csv) => {
  const form = new FormData()
  form.append("file", new Blob([content]), name)
  const res = await fetch(`${service.baseUrl}/api/v1/files/upload`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "x-tenant-id": tenant, "x-request-id": `upload-${name}` },
    body: form
  })
  return { status: res.status, headers: res.headers, text: await res.text() }
}

const readiness = async (service: RunningService) => {
  const res = await fetch(`${service.baseUrl}/health/ready`)
  return { status: res.status, body: await res.json() as { status: string; reason?: string } }
}

/** Nothing internal in an outage's message: no host, port, URL, SDK or socket words, no stack. */
const expectNoInternals = (message: string) => {
  for (const internal of ["127.0.0.1", "localhost", "ECONNREFUSED", "fetch failed", "Error", "s3://", "http", "/v1/", "\n    at "]) {
    expect(message).not.toContain(internal)
  }
}

describe("an object storage outage", () => {
  let db: ReturnType<typeof createTestDatabase>
  let s3: Awaited<ReturnType<typeof startS3rver>>
  let service: RunningService
  let token: string
  let call: ReturnType<typeof api>
  const saved = { ...process.env }

  beforeAll(async () => {
    db = createTestDatabase()
    s3 = await startS3rver("lake")
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_S3: s3.endpoint
    })
    service = await startService({
      DATABASE_URL: db.url,
      INGEST_STORAGE_URL: "s3://lake/uploads",
      INGEST_WAREHOUSE_URL: "s3://lake/warehouse"
    })
    token = await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER })
    call = api(service, token, tenant)
  }, 120_000)
  afterAll(async () => {
    await service?.stop()
    process.env = saved
    await s3?.stop()
    db?.drop()
  })

  it("answers 503 naming object storage, fails the import saying so, and works again once it is back", async () => {
    const before = await upload(service, token, "before.csv")
    expect(before.status).toBe(201)
    const file = JSON.parse(before.text) as { id: string }

    await s3.pause()
    const down = await upload(service, token, "during.csv")
    expect(down.status).toBe(503)
    expect(down.headers.get("content-type")).toBe("application/json")
    expect(down.headers.get("retry-after")).toBe("5")
    expect(down.headers.get("x-request-id")).toBe("upload-during.csv")
    const body = JSON.parse(down.text)
    expect(Object.keys(body).sort()).toEqual(standardKeys)
    expect(body).toMatchObject({
      status: 503,
      error: "Service Unavailable",
      message: "Object storage is unreachable, so the request could not be completed. Try again shortly.",
      path: "/api/v1/files/upload"
    })
    expectNoInternals(body.message)

    const ready = await readiness(service)
    expect(ready).toEqual({ status: 503, body: { status: "DOWN", reason: "object storage: unreachable" } })

    // The table does not exist yet (the catalog is in the database): the import starts, and its
    // job cannot read the file.
    expect((await call("POST", `/api/v1/files/${file.id}/import`)).status).toBe(202)
    const failed = await eventually(() => call("GET", `/api/v1/files/${file.id}/status`), (r) => r.body.status !== "IMPORTING")
    expect(failed.body.status).toBe("FAILED")
    expect(failed.body.error).toBe(
      "Object storage was unreachable, so the import could not finish; run it again once object storage is back"
    )

    await s3.resume()
    await eventually(() => readiness(service), (r) => r.status === 200)
    expect((await upload(service, token, "after.csv")).status).toBe(201)
    expect((await call("POST", `/api/v1/files/${file.id}/import`)).status).toBe(202)
    const done = await eventually(() => call("GET", `/api/v1/files/${file.id}/status`), (r) => r.body.status !== "IMPORTING")
    expect(done.body).toMatchObject({ status: "COMPLETED", recordsImported: 2 })
  }, 60_000)
})

describe("a REST catalog outage", () => {
  let catalogDb: ReturnType<typeof createTestDatabase>
  let replicaDb: ReturnType<typeof createTestDatabase>
  let catalogService: RunningService
  let proxy: CatalogProxy
  let service: RunningService
  let token: string
  let call: ReturnType<typeof api>
  // While set, the catalog drops every connection but its config and the next `loads` table loads.
  let outage: { loads: number } | undefined

  const startProxy = (port?: number) =>
    startCatalogProxy({
      upstream: `${catalogService.baseUrl}/api/v1/iceberg`,
      ...(port === undefined ? {} : { port }),
      fault: (call: IncomingCall) => {
        if (outage === undefined || call.path.startsWith("/v1/config")) return undefined
        if (call.method === "GET" && /\/tables\/[^/?]+$/.test(call.path) && outage.loads-- > 0) return undefined
        return { kind: "reset" as const }
      }
    })

  const uploadConfigured = async (name: string) => {
    const up = await upload(service, token, `${name}.csv`)
    expect(up.status).toBe(201)
    const id = (JSON.parse(up.text) as { id: string }).id
    expect((await call("PUT", `/api/v1/files/${id}/schema`, { targetSchema: "outage", targetTableName: name })).status).toBe(200)
    return id
  }
  const settled = (id: string) =>
    eventually(() => call("GET", `/api/v1/files/${id}/status`), (r) => r.body.status !== "IMPORTING")

  beforeAll(async () => {
    catalogDb = createTestDatabase()
    replicaDb = createTestDatabase()
    catalogService = await startService({ DATABASE_URL: catalogDb.url })
    const catalogToken = await catalogService.keys.sign({ tenants: [catalogTenant], permissions: [MANAGE] }, {
      issuer: ISSUER,
      expiresIn: "1h"
    })
    proxy = await startProxy()
    service = await startService({
      DATABASE_URL: replicaDb.url,
      INGEST_CATALOG: `rest:${proxy.url}`,
      INGEST_CATALOG_TOKEN: catalogToken
    })
    token = await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER })
    call = api(service, token, tenant)
  }, 120_000)
  afterAll(async () => {
    await service?.stop()
    await proxy?.stop()
    await catalogService?.stop()
    catalogDb?.drop()
    replicaDb?.drop()
  })

  it("answers 503 naming the catalog when an import starts, readiness names it, and it works again once the catalog is back", async () => {
    const first = await uploadConfigured("first")
    expect((await call("POST", `/api/v1/files/${first}/import`)).status).toBe(202)
    expect((await settled(first)).body.status).toBe("COMPLETED")
    const second = await uploadConfigured("second")

    const port = Number(new URL(proxy.url).port)
    await proxy.stop()
    const down = await call("POST", `/api/v1/files/${second}/import`, undefined, { "x-request-id": "import-down" })
    expect(down.status).toBe(503)
    expect(down.headers.get("retry-after")).toBe("5")
    expect(down.headers.get("x-request-id")).toBe("import-down")
    expect(Object.keys(down.body).sort()).toEqual(standardKeys)
    expect(down.body).toMatchObject({
      status: 503,
      error: "Service Unavailable",
      message: "The Iceberg catalog is unreachable, so the request could not be completed. Try again shortly.",
      path: `/api/v1/files/${second}/import`
    })
    expectNoInternals(down.body.message)
    // Nothing started: the file is still CONFIGURED.
    expect((await call("GET", `/api/v1/files/${second}/status`)).body.status).toBe("CONFIGURED")

    const ready = await readiness(service)
    expect(ready.status).toBe(503)
    expect(ready.body.status).toBe("DOWN")
    expect(ready.body.reason).toBe("catalog: unreachable")

    proxy = await startProxy(port)
    await eventually(() => readiness(service), (r) => r.status === 200)
    expect((await call("POST", `/api/v1/files/${second}/import`)).status).toBe(202)
    expect((await settled(second)).body).toMatchObject({ status: "COMPLETED", recordsImported: 2 })
  }, 60_000)

  it("an import whose catalog goes away while it runs ends FAILED naming the catalog, and runs again once it is back", async () => {
    const id = await uploadConfigured("third")
    // The start's own look at the table gets through; everything after it finds no catalog.
    outage = { loads: 1 }
    expect((await call("POST", `/api/v1/files/${id}/import`)).status).toBe(202)
    const failed = await settled(id)
    expect(failed.body.status).toBe("FAILED")
    expect(failed.body.error).toBe(
      "The Iceberg catalog was unreachable, so the import could not finish; run it again once the catalog is back"
    )

    outage = undefined
    expect((await call("POST", `/api/v1/files/${id}/import`)).status).toBe(202)
    expect((await settled(id)).body).toMatchObject({ status: "COMPLETED", recordsImported: 2 })
  }, 60_000)
})
