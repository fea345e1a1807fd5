import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually } from "../support/lake.ts"
import type { OwnPostgres } from "../support/own-postgres.ts"
import { startOwnPostgres } from "../support/own-postgres.ts"
import type { RunningService } from "../support/server.ts"
import { api, freePort, ISSUER, MANAGE, startService } from "../support/server.ts"

// A database outage under a running service: requests answer the standard error body (500, as
// the reference says for a database connection failure) naming the database and nothing
// internal; readiness answers 503 naming it; once the database is back everything answers again.

const tenant = "0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a"

describe("a database outage", () => {
  let pg: OwnPostgres
  let service: RunningService
  let call: ReturnType<typeof api>

  beforeAll(async () => {
    pg = startOwnPostgres(await freePort())
    service = await startService({ DATABASE_URL: pg.url, DB_MAX_CONNECTIONS: "2" })
    const token = await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER })
    call = api(service, token, tenant)
  }, 180_000)
  afterAll(async () => {
    await service?.stop()
    pg?.remove()
  })

  it("answers the standard body naming the database, readiness 503, and recovers when it is back", async () => {
    expect((await call("GET", "/api/v1/sources")).status).toBe(200)

    pg.stop()
    const down = await call("GET", "/api/v1/sources", undefined, { "x-request-id": "outage-1" })
    expect(down.status).toBe(500)
    expect(down.headers.get("content-type")).toBe("application/json")
    expect(down.headers.get("x-request-id")).toBe("outage-1")
    expect(Object.keys(down.body).sort()).toEqual(["error", "message", "path", "status", "timestamp"])
    expect(down.body).toMatchObject({
      status: 500,
      error: "Internal Server Error",
      message: "The database is unreachable, so the request could not be completed. Try again shortly.",
      path: "/api/v1/sources"
    })
    const created = await call("POST", "/api/v1/sources", {
      name: "while-down",
      connectorType: "postgres",
      connectionConfig: { host: "127.0.0.1", port: 1, database: "x", username: "u", password: "p" }
    })
    expect(created.status).toBe(500)
    expect(created.body.message).toBe("The database is unreachable, so the request could not be completed. Try again shortly.")

    const ready = await fetch(`${service.baseUrl}/health/ready`)
    expect(ready.status).toBe(503)
    expect(await ready.json()).toEqual({ status: "DOWN", reason: "database: unreachable" })
    expect((await fetch(`${service.baseUrl}/health/live`)).status).toBe(200)

    pg.start()
    await eventually(() => fetch(`${service.baseUrl}/health/ready`).then((r) => r.status), (status) => status === 200)
    const back = await call("GET", "/api/v1/sources")
    expect(back.status).toBe(200)
    expect(back.body).toEqual([])
  }, 120_000)
})
