import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPasswordRejectingServer } from "../engine/support/fake-pg-auth.ts"
import { createTestDatabase, pgHost, pgPort, pgUser } from "../support/postgres.ts"
import type { RunningService } from "../support/server.ts"
import { api, ISSUER, MANAGE, startService } from "../support/server.ts"

// Sources and connections end to end through HTTP: the service's state in one real Postgres
// database, the source being another real Postgres database with a couple of tables.

const tenant = "3b8c1f2e-9d4a-4c6b-8e7f-1a2b3c4d5e6f"

let stateDb: ReturnType<typeof createTestDatabase>
let sourceDb: ReturnType<typeof createTestDatabase>
let service: RunningService
let call: ReturnType<typeof api>
let rejecting: { port: number; close: () => Promise<void> }

const sourceConfig = () => ({
  host: pgHost,
  port: pgPort,
  database: sourceDb.name,
  username: pgUser,
  password: "secret-password-123",
  ssl_mode: "disable"
})

beforeAll(async () => {
  stateDb = createTestDatabase()
  sourceDb = createTestDatabase("ingest_src")
  sourceDb.exec(`
    CREATE TABLE public.orders (order_id bigint PRIMARY KEY, customer_id integer NOT NULL, order_date date NOT NULL,
      total_amount numeric(12,2) NOT NULL, status text, updated_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE public.customers (customer_id integer PRIMARY KEY, name text NOT NULL, email varchar(200));
    INSERT INTO public.orders VALUES (1, 10, '2024-03-01', 150.00, 'new', now()), (2, 11, '2024-03-02', 299.50, NULL, now());
    INSERT INTO public.customers VALUES (10, 'Alice', 'alice@example.com'), (11, 'Bob', NULL);`)
  service = await startService({ DATABASE_URL: stateDb.url })
  const token = await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER })
  call = api(service, token, tenant)
  rejecting = await startPasswordRejectingServer()
})
afterAll(async () => {
  await service?.stop()
  await rejecting?.close()
  stateDb?.drop()
  sourceDb?.drop()
})

describe("sources", () => {
  let id: string

  it("creates a source: 201, INACTIVE, no connectionConfig in the answer", async () => {
    const res = await call("POST", "/api/v1/sources", {
      name: "production-postgres",
      description: "Orders",
      connectorType: "postgres",
      connectionConfig: sourceConfig(),
      unknownField: "ignored"
    })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({
      name: "production-postgres",
      description: "Orders",
      connectorType: "postgres",
      status: "INACTIVE",
      lastTestedAt: null
    })
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(res.body.createdAt).toMatch(/Z$/)
    expect(JSON.stringify(res.body)).not.toContain("secret-password-123")
    expect(res.body).not.toHaveProperty("connectionConfig")
    id = res.body.id
  })

  it("keeps connectionConfig encrypted at rest", () => {
    const stored = stateDb.exec("SELECT connection_config::text FROM sources")
    expect(stored).not.toContain("secret-password-123")
    expect(stored.trim().length).toBeGreaterThan(0)
  })

  it("gets and lists", async () => {
    const got = await call("GET", `/api/v1/sources/${id}`)
    expect(got.status).toBe(200)
    expect(got.body.id).toBe(id)
    const list = await call("GET", "/api/v1/sources")
    expect(list.status).toBe(200)
    expect(list.body.map((s: any) => s.id)).toContain(id)
  })

  it("tests a reachable database → ACTIVE with lastTestedAt", async () => {
    const res = await call("POST", `/api/v1/sources/${id}/test`)
    expect(res.status).toBe(200)
    expect(res.body.status).toBe("ACTIVE")
    expect(res.body.lastTestedAt).toMatch(/Z$/)
  })

  it("discovers typed streams", async () => {
    const res = await call("POST", `/api/v1/sources/${id}/discover`)
    expect(res.status).toBe(200)
    const orders = res.body.streams.find((s: any) => s.name === "public.orders")
    expect(orders.columns.map((c: any) => [c.name, c.type, c.nullable])).toEqual([
      ["order_id", "INTEGER", false],
      ["customer_id", "INTEGER", false],
      ["order_date", "DATE", false],
      ["total_amount", "DECIMAL", false],
      ["status", "STRING", true],
      ["updated_at", "TIMESTAMP_TZ", false]
    ])
    expect(orders.columns[3]).toMatchObject({ precision: 12, scale: 2, sampleValues: [] })
    expect(orders.supportedSyncModes).toEqual(expect.arrayContaining(["FULL_REFRESH", "INCREMENTAL"]))
    const customers = res.body.streams.find((s: any) => s.name === "public.customers")
    expect(customers.columns.map((c: any) => c.name)).toEqual(["customer_id", "name", "email"])
  })

  it("a changed connectionConfig makes the source INACTIVE again; other fields keep their value", async () => {
    const res = await call("PUT", `/api/v1/sources/${id}`, { connectionConfig: { ...sourceConfig(), port: rejecting.port } })
    expect(res.status).toBe(200)
    expect(res.body.status).toBe("INACTIVE")
    expect(res.body.name).toBe("production-postgres")
    expect(res.body.description).toBe("Orders")
  })

  it("a wrong password → ERROR with the reason", async () => {
    const res = await call("POST", `/api/v1/sources/${id}/test`)
    expect(res.status).toBe(200)
    expect(res.body.status).toBe("ERROR")
    expect(res.body.lastError).toMatch(/password/i)
    expect(res.body.lastError).not.toContain("secret-password-123")
  })

  it("renames without touching the status", async () => {
    await call("PUT", `/api/v1/sources/${id}`, { connectionConfig: sourceConfig() })
    await call("POST", `/api/v1/sources/${id}/test`)
    const res = await call("PUT", `/api/v1/sources/${id}`, { name: "renamed" })
    expect(res.body).toMatchObject({ name: "renamed", status: "ACTIVE" })
  })

  it("validates the body with messages that name the field", async () => {
    const noName = await call("POST", "/api/v1/sources", { connectorType: "postgres", connectionConfig: {} })
    expect(noName.status).toBe(400)
    expect(noName.body.message).toContain("name")
    expect(noName.body.path).toBe("/api/v1/sources")
    const badType = await call("POST", "/api/v1/sources", { name: "x", connectorType: "oracle-db", connectionConfig: {} })
    expect(badType.status).toBe(400)
    expect(badType.body.message).toContain("connectorType")
    const noConfig = await call("POST", "/api/v1/sources", { name: "x", connectorType: "postgres" })
    expect(noConfig.status).toBe(400)
    expect(noConfig.body.message).toContain("connectionConfig")
    const badId = await call("GET", "/api/v1/sources/not-a-uuid")
    expect(badId.status).toBe(400)
    const unknown = await call("GET", "/api/v1/sources/00000000-0000-4000-8000-000000000000")
    expect(unknown.status).toBe(404)
    const notJson = await fetch(`${service.baseUrl}/api/v1/sources`, {
      method: "POST",
      headers: { authorization: (await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER })).replace(/^/, "Bearer "), "x-tenant-id": tenant, "content-type": "application/json" },
      body: "{not json"
    })
    expect(notJson.status).toBe(400)
    expect(await notJson.json()).toMatchObject({ status: 400, path: "/api/v1/sources" })
  })

  it("a connector the local engine does not run: created, test → ERROR naming Airbyte, discover → 400", async () => {
    const created = await call("POST", "/api/v1/sources", { name: "crm", connectorType: "salesforce", connectionConfig: { client_id: "a" } })
    expect(created.status).toBe(201)
    const tested = await call("POST", `/api/v1/sources/${created.body.id}/test`)
    expect(tested.body.status).toBe("ERROR")
    expect(tested.body.lastError).toMatch(/Airbyte/)
    const discovered = await call("POST", `/api/v1/sources/${created.body.id}/discover`)
    expect(discovered.status).toBe(400)
    expect(discovered.body.message).toMatch(/Airbyte/)
    expect((await call("DELETE", `/api/v1/sources/${created.body.id}`)).status).toBe(204)
  })

  describe("connections", () => {
    let connectionId: string

    it("creates a connection validated against discovered streams", async () => {
      const res = await call("POST", "/api/v1/connections", {
        sourceId: id,
        name: "orders-daily-sync",
        syncSchedule: "0 0 * * *",
        selectedStreams: ["public.orders", "public.customers"],
        syncMode: "INCREMENTAL"
      })
      expect(res.status).toBe(201)
      expect(res.body).toMatchObject({
        sourceId: id,
        sourceName: "renamed",
        name: "orders-daily-sync",
        destinationType: "iceberg",
        syncSchedule: "0 0 * * *",
        syncMode: "INCREMENTAL",
        status: "PENDING",
        lastSyncAt: null
      })
      connectionId = res.body.id
    })

    it("applies the defaults", async () => {
      const res = await call("POST", "/api/v1/connections", { sourceId: id, name: "all-streams" })
      expect(res.status).toBe(201)
      expect(res.body).toMatchObject({ destinationType: "iceberg", syncMode: "FULL_REFRESH", syncSchedule: null, selectedStreams: null })
      expect((await call("DELETE", `/api/v1/connections/${res.body.id}`)).status).toBe(204)
    })

    it("rejects an unknown stream, an invalid cron, a bad destination, an unknown source", async () => {
      const stream = await call("POST", "/api/v1/connections", { sourceId: id, name: "x", selectedStreams: ["public.nope"] })
      expect(stream.status).toBe(400)
      expect(stream.body.message).toContain("public.nope")
      const cron = await call("POST", "/api/v1/connections", { sourceId: id, name: "x", syncSchedule: "every day" })
      expect(cron.status).toBe(400)
      expect(cron.body.message).toMatch(/syncSchedule|cron/)
      const sixFields = await call("POST", "/api/v1/connections", { sourceId: id, name: "x", syncSchedule: "0 0 0 * * ?" })
      expect(sixFields.status).toBe(400)
      const dest = await call("POST", "/api/v1/connections", { sourceId: id, name: "x", destinationType: "snowflake" })
      expect(dest.status).toBe(400)
      expect(dest.body.message).toContain("destinationType")
      const unknownSource = await call("POST", "/api/v1/connections", { sourceId: "00000000-0000-4000-8000-000000000000", name: "x" })
      expect(unknownSource.status).toBe(404)
      const mode = await call("POST", "/api/v1/connections", { sourceId: id, name: "x", syncMode: "CDC" })
      expect(mode.status).toBe(400)
      expect(mode.body.message).toContain("CDC")
    })

    it("gets, lists, updates", async () => {
      expect((await call("GET", `/api/v1/connections/${connectionId}`)).body.name).toBe("orders-daily-sync")
      const list = await call("GET", "/api/v1/connections")
      expect(list.body.map((c: any) => c.id)).toContain(connectionId)
      const updated = await call("PUT", `/api/v1/connections/${connectionId}`, {
        sourceId: id,
        name: "orders-hourly",
        syncSchedule: "15 * * * *",
        selectedStreams: ["public.orders"],
        syncMode: "FULL_REFRESH"
      })
      expect(updated.status).toBe(200)
      expect(updated.body).toMatchObject({ name: "orders-hourly", syncSchedule: "15 * * * *", syncMode: "FULL_REFRESH" })
      expect(updated.body.nextRunAt).toMatch(/:15:00(\.000)?Z$/)
    })

    it("deleting a source with connections → 409; after the connection is gone → 204", async () => {
      const conflict = await call("DELETE", `/api/v1/sources/${id}`)
      expect(conflict.status).toBe(409)
      expect(conflict.body.status).toBe(409)
      expect((await call("DELETE", `/api/v1/connections/${connectionId}`)).status).toBe(204)
      expect((await call("GET", `/api/v1/connections/${connectionId}`)).status).toBe(404)
      expect((await call("DELETE", `/api/v1/sources/${id}`)).status).toBe(204)
      expect((await call("GET", `/api/v1/sources/${id}`)).status).toBe(404)
    })
  })
})
