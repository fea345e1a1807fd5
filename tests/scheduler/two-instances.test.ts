import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, pgHost, pgPort, pgUser } from "../support/postgres.ts"
import type { RunningService } from "../support/server.ts"
import { api, ISSUER, MANAGE, startService } from "../support/server.ts"

// Two service processes share one database; each runs the cron scheduler every second. A due
// time must start exactly one sync, however many schedulers see it.

const tenant = "8c7b6a59-4d3e-4f2a-9b1c-0d9e8f7a6b5c"

let stateDb: ReturnType<typeof createTestDatabase>
let sourceDb: ReturnType<typeof createTestDatabase>
let first: RunningService
let second: RunningService
let call: ReturnType<typeof api>
let connectionId: string
let shared: string

beforeAll(async () => {
  stateDb = createTestDatabase()
  sourceDb = createTestDatabase("ingest_src")
  sourceDb.exec("CREATE TABLE public.items (id int PRIMARY KEY, name text); INSERT INTO public.items VALUES (1, 'a'), (2, 'b');")
  // Replicas share the database, the file storage, the warehouse and the key that encrypts
  // connector secrets (in production: one PostgreSQL, S3, one INGEST_SECRET_KEY).
  shared = mkdtempSync(path.join(tmpdir(), "ingest-shared-"))
  const env = {
    DATABASE_URL: stateDb.url,
    INGEST_STORAGE_URL: `file://${shared}/storage`,
    INGEST_WAREHOUSE_URL: `file://${shared}/warehouse`,
    INGEST_SCHEDULER_INTERVAL_SECONDS: "1",
    INGEST_SECRET_KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")
  }
  first = await startService(env)
  second = await startService(env)
  // Both processes must trust the same tokens: sign with the first one's key, served to both.
  const token = await first.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER })
  call = api(first, token, tenant)
  const source = await call("POST", "/api/v1/sources", {
    name: "items",
    connectorType: "postgres",
    connectionConfig: { host: pgHost, port: pgPort, database: sourceDb.name, username: pgUser, password: "x", ssl_mode: "disable" }
  })
  const connection = await call("POST", "/api/v1/connections", {
    sourceId: source.body.id,
    name: "items-hourly",
    syncSchedule: "0 * * * *"
  })
  expect(connection.status).toBe(201)
  expect(connection.body.nextRunAt).toMatch(/:00:00(\.000)?Z$/)
  connectionId = connection.body.id
}, 240_000)
afterAll(async () => {
  await first?.stop()
  await second?.stop()
  stateDb?.drop()
  sourceDb?.drop()
  if (shared !== undefined) rmSync(shared, { recursive: true, force: true })
})

const syncCount = () => Number(stateDb.exec(`SELECT count(*) FROM syncs WHERE connection_id = '${connectionId}'`).trim())
const settle = async () => {
  // Let every scheduler tick a few times and the syncs finish.
  await new Promise((r) => setTimeout(r, 4000))
  for (let i = 0; i < 100 && Number(stateDb.exec(`SELECT count(*) FROM syncs WHERE status IN ('RUNNING','PENDING')`).trim()) > 0; i++) {
    await new Promise((r) => setTimeout(r, 200))
  }
}

describe("cron scheduler across processes", () => {
  it("nothing runs before the due time", async () => {
    await new Promise((r) => setTimeout(r, 2500))
    expect(syncCount()).toBe(0)
  })

  it("a due time starts exactly one sync, each time it comes", async () => {
    stateDb.exec(`UPDATE connections SET next_run_at = now() - interval '1 second' WHERE id = '${connectionId}'`)
    await settle()
    expect(syncCount()).toBe(1)
    stateDb.exec(`UPDATE connections SET next_run_at = now() - interval '1 second' WHERE id = '${connectionId}'`)
    await settle()
    expect(syncCount()).toBe(2)
    const history = await call("GET", `/api/v1/syncs?connectionId=${connectionId}`)
    expect(history.body.content.map((s: any) => [s.status, s.error])).toEqual([["SUCCEEDED", null], ["SUCCEEDED", null]])
  })

  it("times missed while no process ran start once, then the schedule resumes in the future", async () => {
    stateDb.exec(`UPDATE connections SET next_run_at = now() - interval '5 hours' WHERE id = '${connectionId}'`)
    await settle()
    expect(syncCount()).toBe(3)
    const next = new Date(stateDb.exec(`SELECT next_run_at AT TIME ZONE 'UTC' FROM connections WHERE id = '${connectionId}'`).trim() + "Z")
    expect(next.getTime()).toBeGreaterThan(Date.now())
    expect(next.getUTCMinutes()).toBe(0)
  })
})
