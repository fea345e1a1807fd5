import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually, readLakeTable, tenantNamespaceOf } from "../support/lake.ts"
import { createTestDatabase, pgHost, pgPort, pgUser } from "../support/postgres.ts"
import type { RunningService } from "../support/server.ts"
import { api, ISSUER, MANAGE, startService } from "../support/server.ts"

// Syncs that really run through the local engine: Postgres tables → Iceberg, read back by DuckDB.

const tenant = "5d2e8f1a-7b3c-4a9d-8e6f-2c1b0a9d8e7f"

let stateDb: ReturnType<typeof createTestDatabase>
let sourceDb: ReturnType<typeof createTestDatabase>
let service: RunningService
let call: ReturnType<typeof api>
let sourceId: string

const config = () => ({ host: pgHost, port: pgPort, database: sourceDb.name, username: pgUser, password: "x", ssl_mode: "disable" })

beforeAll(async () => {
  stateDb = createTestDatabase()
  sourceDb = createTestDatabase("ingest_src")
  sourceDb.exec(`
    CREATE TABLE public.orders (order_id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2),
      placed_on date, updated_at timestamptz NOT NULL);
    INSERT INTO public.orders
      SELECT i, 'customer ' || i, i * 1.25, DATE '2024-01-01' + (i % 365), TIMESTAMPTZ '2024-01-01 00:00:00Z' + i * INTERVAL '1 minute'
      FROM generate_series(1, 5000) AS i;
    CREATE TABLE public.big (id bigint PRIMARY KEY, payload text NOT NULL);
    INSERT INTO public.big SELECT i, repeat(md5(i::text), 8) FROM generate_series(1, 400000) AS i;`)
  service = await startService({ DATABASE_URL: stateDb.url, INGEST_WORKER_CONCURRENCY: "2" })
  const token = await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER })
  call = api(service, token, tenant)
  const source = await call("POST", "/api/v1/sources", { name: "shop", connectorType: "postgres", connectionConfig: config() })
  sourceId = source.body.id
  expect((await call("POST", `/api/v1/sources/${sourceId}/discover`)).status).toBe(200)
}, 180_000)
afterAll(async () => {
  await service?.stop()
  stateDb?.drop()
  sourceDb?.drop()
})

const waitForEnd = (syncId: string) =>
  eventually(() => call("GET", `/api/v1/syncs/${syncId}`), (r) => !["RUNNING", "PENDING"].includes(r.body.status), 120_000)

const ordersTable = (connectionName: string) =>
  readLakeTable(stateDb.url, service.dataDir, [tenantNamespaceOf(tenant), connectionName], "public_orders", "order_id")

describe("syncs", () => {
  let connectionId: string

  it("full refresh: 202 RUNNING, then SUCCEEDED with counts; rows land in Iceberg", async () => {
    const conn = await call("POST", "/api/v1/connections", { sourceId, name: "Shop Full", selectedStreams: ["public.orders"] })
    expect(conn.status).toBe(201)
    connectionId = conn.body.id
    const trigger = await call("POST", `/api/v1/syncs/connections/${connectionId}/trigger`)
    expect(trigger.status).toBe(202)
    expect(trigger.body).toMatchObject({ connectionId, connectionName: "Shop Full", status: "RUNNING", completedAt: null, durationMs: null })
    const done = await waitForEnd(trigger.body.id)
    expect(done.body).toMatchObject({ status: "SUCCEEDED", recordsSynced: 5000, error: null })
    expect(done.body.bytesSynced).toBeGreaterThan(0)
    expect(done.body.completedAt).toMatch(/Z$/)
    expect(done.body.durationMs).toBeGreaterThanOrEqual(0)
    const connection = await call("GET", `/api/v1/connections/${connectionId}`)
    expect(connection.body.status).toBe("ACTIVE")
    expect(connection.body.lastSyncAt).toMatch(/Z$/)
    const table = await ordersTable("shop_full")
    expect(table?.rows).toHaveLength(5000)
    expect(table?.rows[0]).toMatchObject({ order_id: "1", customer: "customer 1", amount: "1.25", placed_on: "2024-01-02" })
  })

  it("a second full refresh replaces the rows instead of duplicating them", async () => {
    sourceDb.exec("DELETE FROM public.orders WHERE order_id > 4000; UPDATE public.orders SET customer = 'changed' WHERE order_id = 1")
    const trigger = await call("POST", `/api/v1/syncs/connections/${connectionId}/trigger`)
    const done = await waitForEnd(trigger.body.id)
    expect(done.body).toMatchObject({ status: "SUCCEEDED", recordsSynced: 4000 })
    const table = await ordersTable("shop_full")
    expect(table?.rows).toHaveLength(4000)
    expect(table?.rows[0]).toMatchObject({ order_id: "1", customer: "changed" })
    expect(table?.snapshot?.summary.operation).toBe("overwrite")
  })

  it("history is paged and sorted", async () => {
    const page = await call("GET", `/api/v1/syncs?connectionId=${connectionId}&page=0&size=1&sort=startedAt,asc`)
    expect(page.status).toBe(200)
    expect(page.body).toMatchObject({ totalElements: 2, totalPages: 2, number: 0, size: 1 })
    expect(page.body.content).toHaveLength(1)
    expect(page.body.content[0].recordsSynced).toBe(5000)
    const desc = await call("GET", `/api/v1/syncs?connectionId=${connectionId}&sort=startedAt,desc`)
    expect(desc.body.content[0].recordsSynced).toBe(4000)
    expect((await call("GET", "/api/v1/syncs?sort=name,up")).status).toBe(400)
    expect((await call("GET", "/api/v1/syncs?size=0")).status).toBe(400)
    expect((await call("GET", "/api/v1/syncs?size=1001")).status).toBe(400)
    expect((await call("GET", "/api/v1/syncs?page=-1")).status).toBe(400)
  })

  it("incremental picks up only new and changed rows", async () => {
    const conn = await call("POST", "/api/v1/connections", {
      sourceId,
      name: "shop-incremental",
      selectedStreams: ["public.orders"],
      syncMode: "INCREMENTAL"
    })
    expect(conn.status).toBe(201)
    const first = await waitForEnd((await call("POST", `/api/v1/syncs/connections/${conn.body.id}/trigger`)).body.id)
    expect(first.body).toMatchObject({ status: "SUCCEEDED", recordsSynced: 4000 })
    sourceDb.exec(`
      INSERT INTO public.orders VALUES (9001, 'new', 1, '2025-01-01', TIMESTAMPTZ '2030-01-01 00:00:00Z');
      UPDATE public.orders SET customer = 'updated', updated_at = TIMESTAMPTZ '2030-01-02 00:00:00Z' WHERE order_id = 2;`)
    const second = await waitForEnd((await call("POST", `/api/v1/syncs/connections/${conn.body.id}/trigger`)).body.id)
    expect(second.body).toMatchObject({ status: "SUCCEEDED", recordsSynced: 2 })
    const table = await ordersTable("shop_incremental")
    expect(table?.rows).toHaveLength(4002)
    expect(table?.rows.filter((r) => r["order_id"] === "2").map((r) => r["customer"]).sort()).toEqual(["customer 2", "updated"])
  })

  it("409 while a sync runs; cancel stops it: CANCELLED, nothing committed; cancel again → 409", async () => {
    const conn = await call("POST", "/api/v1/connections", { sourceId, name: "big", selectedStreams: ["public.big"] })
    const trigger = await call("POST", `/api/v1/syncs/connections/${conn.body.id}/trigger`)
    expect(trigger.status).toBe(202)
    const again = await call("POST", `/api/v1/syncs/connections/${conn.body.id}/trigger`)
    expect(again.status).toBe(409)
    expect(again.body.message).toMatch(/already/)
    const cancel = await call("POST", `/api/v1/syncs/${trigger.body.id}/cancel`)
    expect(cancel.status).toBe(204)
    const after = await call("GET", `/api/v1/syncs/${trigger.body.id}`)
    expect(after.body.status).toBe("CANCELLED")
    expect(after.body.completedAt).toMatch(/Z$/)
    expect((await call("POST", `/api/v1/syncs/${trigger.body.id}/cancel`)).status).toBe(409)
    // Give a would-be commit time to happen, then check none did.
    await new Promise((r) => setTimeout(r, 3000))
    const table = await readLakeTable(stateDb.url, service.dataDir, [tenantNamespaceOf(tenant), "big"], "public_big")
    expect(table === undefined || table.rows.length === 0).toBe(true)
    expect((await call("GET", `/api/v1/syncs/${trigger.body.id}`)).body.status).toBe("CANCELLED")
  })

  it("a failing source ends FAILED with the reason; the connection goes to ERROR", async () => {
    sourceDb.exec("CREATE TABLE public.doomed (id int PRIMARY KEY)")
    await call("POST", `/api/v1/sources/${sourceId}/discover`)
    const conn = await call("POST", "/api/v1/connections", { sourceId, name: "doomed", selectedStreams: ["public.doomed"] })
    sourceDb.exec("DROP TABLE public.doomed")
    const done = await waitForEnd((await call("POST", `/api/v1/syncs/connections/${conn.body.id}/trigger`)).body.id)
    expect(done.body.status).toBe("FAILED")
    expect(done.body.error).toMatch(/doomed/)
    expect((await call("GET", `/api/v1/connections/${conn.body.id}`)).body.status).toBe("ERROR")
  })

  it("unknown sync → 404; bad id → 400", async () => {
    expect((await call("GET", "/api/v1/syncs/00000000-0000-4000-8000-000000000000")).status).toBe(404)
    expect((await call("POST", "/api/v1/syncs/nope/cancel")).status).toBe(400)
    expect((await call("POST", "/api/v1/syncs/connections/00000000-0000-4000-8000-000000000000/trigger")).status).toBe(404)
  })
})
