import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase } from "../support/postgres.ts"
import type { RunningService } from "../support/server.ts"
import { api, ISSUER, MANAGE, READ, startService } from "../support/server.ts"

// The auth matrix of DESIGN.md "Auth and tenancy", against the real server with real tokens.

const tenant = "6f1e3c1a-2b4d-4e5f-8a9b-0c1d2e3f4a5b"
const otherTenant = "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"

let db: ReturnType<typeof createTestDatabase>
let service: RunningService

beforeAll(async () => {
  db = createTestDatabase()
  service = await startService({ DATABASE_URL: db.url })
})
afterAll(async () => {
  await service?.stop()
  db?.drop()
})

const expectErrorBody = (body: any, status: number, path: string) => {
  expect(body).toEqual({
    timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/),
    status,
    error: expect.any(String),
    message: expect.any(String),
    path
  })
  expect(body.message.length).toBeGreaterThan(0)
}

const manageToken = () => service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER })

describe("authentication", () => {
  it("public endpoints need neither token nor tenant", async () => {
    const call = api(service, undefined, undefined)
    const types = await call("GET", "/api/v1/sources/connector-types")
    expect(types.status).toBe(200)
    expect(types.body).toContain("postgres")
    expect(types.body).toHaveLength(15)
    const formats = await call("GET", "/api/v1/files/formats")
    expect(formats.body).toEqual(["csv", "xlsx", "xls", "parquet", "json", "jsonl", "avro"])
  })

  it("no token → 401", async () => {
    const res = await api(service, undefined, tenant)("GET", "/api/v1/sources")
    expect(res.status).toBe(401)
    expectErrorBody(res.body, 401, "/api/v1/sources")
  })

  it("malformed token → 401", async () => {
    const res = await api(service, "not.a.jwt", tenant)("GET", "/api/v1/sources")
    expect(res.status).toBe(401)
    expectErrorBody(res.body, 401, "/api/v1/sources")
  })

  it("malformed Authorization header → 401", async () => {
    const res = await api(service, undefined, tenant)("GET", "/api/v1/sources", undefined, { authorization: "Basic Zm9vOmJhcg==" })
    expect(res.status).toBe(401)
  })

  it("bad signature → 401", async () => {
    const token = await service.keys.signWithOtherKey({ tenants: [tenant], permissions: [MANAGE], iss: ISSUER })
    const res = await api(service, token, tenant)("GET", "/api/v1/sources")
    expect(res.status).toBe(401)
    expect(res.body.message).toMatch(/signature/i)
  })

  it("expired token → 401", async () => {
    const expired = await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER, expiresIn: "1 minute ago" })
    const res = await api(service, expired, tenant)("GET", "/api/v1/sources")
    expect(res.status).toBe(401)
    expect(res.body.message).toMatch(/expired/i)
  })

  it("a token accepted before is refused once it has expired (checked tokens are remembered only until their expiry)", async () => {
    const signedAt = Date.now()
    const shortLived = await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER, expiresIn: "2s" })
    expect((await api(service, shortLived, tenant)("GET", "/api/v1/sources")).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, signedAt + 2200 - Date.now())))
    const res = await api(service, shortLived, tenant)("GET", "/api/v1/sources")
    expect(res.status).toBe(401)
    expect(res.body.message).toMatch(/expired/i)
  })

  it("alg: none → 401", async () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url")
    const token = `${b64({ alg: "none", typ: "JWT" })}.${b64({ tenants: [tenant], permissions: [MANAGE], iss: ISSUER, exp: Math.floor(Date.now() / 1000) + 600 })}.`
    const res = await api(service, token, tenant)("GET", "/api/v1/sources")
    expect(res.status).toBe(401)
  })

  it("wrong issuer → 401", async () => {
    const token = await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: "https://evil.test" })
    const res = await api(service, token, tenant)("GET", "/api/v1/sources")
    expect(res.status).toBe(401)
    expect(res.body.message).toMatch(/iss/)
  })

  it("tenant not granted → 403", async () => {
    const res = await api(service, await manageToken(), otherTenant)("GET", "/api/v1/sources")
    expect(res.status).toBe(403)
    expectErrorBody(res.body, 403, "/api/v1/sources")
  })

  it("tenant_id claim grants a single tenant", async () => {
    const token = await service.keys.sign({ tenant_id: tenant, scope: "data:ingestion:read" }, { issuer: ISSUER })
    expect((await api(service, token, tenant)("GET", "/api/v1/sources")).status).toBe(200)
  })

  it("read-only permission on a write → 403, read allowed", async () => {
    const token = await service.keys.sign({ tenants: [tenant], permissions: [READ] }, { issuer: ISSUER })
    const call = api(service, token, tenant)
    expect((await call("GET", "/api/v1/sources")).status).toBe(200)
    const res = await call("POST", "/api/v1/sources", { name: "x", connectorType: "postgres", connectionConfig: {} })
    expect(res.status).toBe(403)
    expect(res.body.message).toContain(MANAGE)
  })

  it("no permission at all → 403", async () => {
    const token = await service.keys.sign({ tenants: [tenant] }, { issuer: ISSUER })
    expect((await api(service, token, tenant)("GET", "/api/v1/sources")).status).toBe(403)
  })

  it("missing or malformed X-Tenant-Id → 400 naming the header", async () => {
    const token = await manageToken()
    const missing = await api(service, token, undefined)("GET", "/api/v1/sources")
    expect(missing.status).toBe(400)
    expect(missing.body.message).toMatch(/tenant/i)
    const bad = await api(service, token, "acme")("GET", "/api/v1/sources")
    expect(bad.status).toBe(400)
    expect(bad.body.message).toMatch(/tenant/i)
  })

  it("another tenant's resource → 404, not 403", async () => {
    const mine = await manageToken()
    const created = await api(service, mine, tenant)("POST", "/api/v1/sources", {
      name: "mine",
      connectorType: "salesforce",
      connectionConfig: { client_id: "x" }
    })
    expect(created.status).toBe(201)
    const theirs = await service.keys.sign({ tenants: [otherTenant], permissions: [MANAGE] }, { issuer: ISSUER })
    const res = await api(service, theirs, otherTenant)("GET", `/api/v1/sources/${created.body.id}`)
    expect(res.status).toBe(404)
    expectErrorBody(res.body, 404, `/api/v1/sources/${created.body.id}`)
    const del = await api(service, theirs, otherTenant)("DELETE", `/api/v1/sources/${created.body.id}`)
    expect(del.status).toBe(404)
    expect((await api(service, mine, tenant)("GET", `/api/v1/sources/${created.body.id}`)).status).toBe(200)
  })

  it("unknown route → 404 with the standard body", async () => {
    const res = await api(service, await manageToken(), tenant)("GET", "/api/v1/nothing-here")
    expect(res.status).toBe(404)
    expectErrorBody(res.body, 404, "/api/v1/nothing-here")
  })

  it("health, OpenAPI and docs are served without auth", async () => {
    const call = api(service, undefined, undefined)
    expect((await call("GET", "/health/live")).status).toBe(200)
    expect((await call("GET", "/health/ready")).status).toBe(200)
    const spec = await call("GET", "/api/v1/openapi.json")
    expect(spec.status).toBe(200)
    expect(Object.keys(spec.body.paths)).toContain("/api/v1/sources/{sourceId}")
    // The page (Scalar's script inline, loaded on the first request) is the same on every request.
    const pages = await Promise.all([1, 2].map(() => fetch(`${service.baseUrl}/api/v1/docs`)))
    const [first, second] = await Promise.all(pages.map((page) => page.text()))
    expect(pages.map((page) => [page.status, page.headers.get("content-type")])).toEqual([[200, "text/html"], [200, "text/html"]])
    expect(first).toContain("Scalar.createApiReference")
    expect(first).toContain('"/api/v1/sources/{sourceId}"')
    expect(second).toBe(first)
  })
})
