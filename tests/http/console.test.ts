import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase } from "../support/postgres.ts"
import type { RunningService } from "../support/server.ts"
import { api, ISSUER, MANAGE, startService } from "../support/server.ts"
import { contentSecurityPolicy } from "@ingest/http/console"

// The console's static route (page, hashed assets, cache and security headers), the dev-token
// endpoint's refusals, and the import history (GET /api/v1/files) it lists.

const tenant = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
const other = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"

describe("console route", () => {
  let database: ReturnType<typeof createTestDatabase>
  let service: RunningService
  let token: string

  beforeAll(async () => {
    database = createTestDatabase()
    service = await startService({ DATABASE_URL: database.url })
    token = await service.keys.sign({ tenants: [tenant, other], permissions: [MANAGE] }, { issuer: ISSUER })
  }, 120_000)
  afterAll(async () => {
    await service?.stop()
    database?.drop()
  })

  it("serves the page under a strict CSP, without inline script or style, at every view path", async () => {
    for (const path of ["/console", "/console/", "/console/sources", "/console/connections?id=x"]) {
      const res = await fetch(`${service.baseUrl}${path}`)
      expect(res.status, path).toBe(200)
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8")
      expect(res.headers.get("content-security-policy")).toBe(contentSecurityPolicy)
      expect(res.headers.get("cache-control")).toBe("no-cache")
      expect(res.headers.get("x-content-type-options")).toBe("nosniff")
      expect(res.headers.get("x-frame-options")).toBe("DENY")
      const html = await res.text()
      expect(html).toContain(`<div id="app"></div>`)
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
      expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i)
      expect(html).not.toMatch(/https?:\/\//)
    }
    expect(contentSecurityPolicy).toContain("script-src 'self'")
    expect(contentSecurityPolicy).not.toContain("unsafe")
  })

  it("serves hashed assets for a year, answers 304 to a matching ETag and 404 to unknown files", async () => {
    const html = await (await fetch(`${service.baseUrl}/console/`)).text()
    const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!)
    expect(assets.some((a) => a.endsWith(".js"))).toBe(true)
    expect(assets.some((a) => a.endsWith(".css"))).toBe(true)
    for (const asset of assets) {
      const res = await fetch(`${service.baseUrl}${asset}`)
      expect(res.status).toBe(200)
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
      expect(res.headers.get("content-type")).toMatch(asset.endsWith(".js") ? /^text\/javascript/ : /^text\/css/)
      const etag = res.headers.get("etag")!
      const again = await fetch(`${service.baseUrl}${asset}`, { headers: { "if-none-match": etag } })
      expect(again.status).toBe(304)
      const body = await res.text()
      expect(body).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z]/i)
    }
    const missing = await fetch(`${service.baseUrl}/console/assets/nope-123.js`)
    expect(missing.status).toBe(404)
    expect(await missing.json() as object).toMatchObject({ status: 404, path: "/console/assets/nope-123.js" })
  })

  it("offers no dev token when the service checks tokens against a JWKS", async () => {
    const offer = await fetch(`${service.baseUrl}/console/dev-token`)
    expect(offer.status).toBe(404)
    const mint = await fetch(`${service.baseUrl}/console/dev-token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tenantId: tenant })
    })
    expect(mint.status).toBe(403)
    expect((await mint.json() as { message: string }).message).toContain("dev auth mode")
  })

  it("lists the tenant's imports newest first, paged, and nobody else's", async () => {
    const call = api(service, token, tenant)
    const upload = async (name: string, forTenant = tenant) => {
      const form = new FormData()
      form.append("file", new Blob(["id,name\n1,a\n"]), name)
      const res = await fetch(`${service.baseUrl}/api/v1/files/upload`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "x-tenant-id": forTenant },
        body: form
      })
      expect(res.status).toBe(201)
      return (await res.json() as { id: string }).id
    }
    const first = await upload("first.csv")
    const second = await upload("second.csv")
    const third = await upload("third.csv")
    await upload("elsewhere.csv", other)
    const page = await call("GET", "/api/v1/files?page=0&size=2")
    expect(page.status).toBe(200)
    expect(page.body).toMatchObject({ totalElements: 3, totalPages: 2, number: 0, size: 2 })
    expect(page.body.content.map((f: { id: string }) => f.id)).toEqual([third, second])
    expect(page.body.content[0]).toMatchObject({
      fileName: "third.csv",
      fileFormat: "csv",
      fileSize: 12,
      status: "UPLOADED",
      recordsImported: null,
      error: null,
      targetTableName: null
    })
    expect(page.body.content[0].createdAt).toMatch(/Z$/)
    const last = await call("GET", "/api/v1/files?page=1&size=2")
    expect(last.body.content.map((f: { id: string }) => f.id)).toEqual([first])
    expect((await call("GET", "/api/v1/files?size=0")).status).toBe(400)
    expect((await api(service, undefined, tenant)("GET", "/api/v1/files")).status).toBe(401)
  })
})

describe("dev tokens for the console", () => {
  let database: ReturnType<typeof createTestDatabase>
  let service: RunningService
  const mint = (headers: Record<string, string>, body: unknown = { tenantId: tenant }) =>
    fetch(`${service.baseUrl}/console/dev-token`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body)
    })

  beforeAll(async () => {
    database = createTestDatabase()
    service = await startService({ DATABASE_URL: database.url }, { devAuth: true })
  }, 120_000)
  afterAll(async () => {
    await service?.stop()
    database?.drop()
  })

  it("mints a token for one tenant to a loopback request in dev mode; it works for that tenant only", async () => {
    expect((await fetch(`${service.baseUrl}/console/dev-token`)).status).toBe(200)
    const res = await mint({})
    expect(res.status).toBe(200)
    expect(res.headers.get("cache-control")).toBe("no-store")
    const { token } = await res.json() as { token: string }
    expect((await api(service, token, tenant)("GET", "/api/v1/sources")).status).toBe(200)
    expect((await api(service, token, other)("GET", "/api/v1/sources")).status).toBe(403)
  })

  it("refuses proxied, cross-site, rebound-host and malformed requests", async () => {
    const refused = async (res: Response, status: number, text: string) => {
      expect(res.status).toBe(status)
      expect((await res.json() as { message: string }).message).toContain(text)
    }
    await refused(await mint({ "x-forwarded-for": "203.0.113.9" }), 403, "proxy")
    await refused(await mint({ forwarded: "for=203.0.113.9" }), 403, "proxy")
    await refused(await mint({ "sec-fetch-site": "cross-site" }), 403, "console's own page")
    await refused(await mint({}, { tenantId: "not-a-uuid" }), 400, "tenantId")
    await refused(await mint({}, "{"), 400, "tenantId")
    const plain = await fetch(`${service.baseUrl}/console/dev-token`, { method: "POST", body: JSON.stringify({ tenantId: tenant }) })
    expect(plain.status).toBe(415)
    // A DNS name that resolves to 127.0.0.1 (rebinding) is not a loopback host.
    const { request } = await import("node:http")
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${service.baseUrl}/console/dev-token`, { method: "POST", headers: { host: "evil.example:80", "content-type": "application/json" } }, (r) => {
        r.resume()
        resolve(r.statusCode ?? 0)
      })
      req.on("error", reject)
      req.end(JSON.stringify({ tenantId: tenant }))
    })
    expect(status).toBe(403)
  })
})
