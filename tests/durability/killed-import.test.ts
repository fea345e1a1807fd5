import type { ChildProcess } from "node:child_process"
import { rmSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually, readLakeTable, tenantNamespaceOf } from "../support/lake.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { prepareServiceProcess, startServiceProcess } from "../support/process.ts"

// A service process killed (SIGKILL) in the middle of an import: no rows may become visible,
// and once a process runs again the import is resumed and completes with every row exactly once.

const tenant = "4a3b2c1d-0e9f-4a8b-9c7d-6e5f4a3b2c1d"
const rows = 1_000_000

let stateDb: ReturnType<typeof createTestDatabase>
let dir: string
let port: number
let child: ChildProcess | undefined
let env: Record<string, string>
let token: string

const startProcess = () => startServiceProcess(env, port)

const call = async (method: string, url: string, body?: FormData) => {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "x-tenant-id": tenant },
    ...(body !== undefined ? { body } : {})
  })
  return { status: res.status, body: await res.json() as any }
}

beforeAll(async () => {
  stateDb = createTestDatabase()
  ;({ dir, port, env, token } = await prepareServiceProcess({
    prefix: "ingest-kill-",
    databaseUrl: stateDb.url,
    tenant,
    env: {
      INGEST_JOB_LEASE_SECONDS: "3",
      INGEST_LOG_LEVEL: "Error"
    }
  }))
  const lines = ["id,name,amount"]
  for (let i = 1; i <= rows; i++) lines.push(`${i},name ${i},${(i % 1000) + 0.25}`)
  writeFileSync(path.join(dir, "big.csv"), lines.join("\n") + "\n")
  child = await startProcess()
}, 180_000)

afterAll(async () => {
  child?.kill("SIGKILL")
  stateDb?.drop()
  rmSync(dir, { recursive: true, force: true })
})

describe("an import interrupted by a killed process", () => {
  it("shows no rows while dead and completes exactly once after a restart", async () => {
    const form = new FormData()
    form.append("file", new Blob([await import("node:fs/promises").then((fs) => fs.readFile(path.join(dir, "big.csv")))]), "big.csv")
    const uploaded = await call("POST", "/api/v1/files/upload", form)
    expect(uploaded.status).toBe(201)
    const id = uploaded.body.id
    expect((await call("POST", `/api/v1/files/${id}/import`)).status).toBe(202)
    // Kill while the import is running: it has started reading but has not committed.
    const running = await eventually(() => call("GET", `/api/v1/files/${id}/status`), (r) => r.body.status !== "IMPORTING" || (r.body.recordsImported ?? 0) > 0, 60_000)
    expect(running.body.status).toBe("IMPORTING")
    child!.kill("SIGKILL")
    await new Promise((resolve) => child!.once("exit", resolve))

    const whileDead = await readLakeTable(stateDb.url, env.INGEST_DATA_DIR!, [tenantNamespaceOf(tenant), "default"], "big")
    expect(whileDead === undefined || whileDead.rows.length === 0).toBe(true)
    expect(stateDb.exec(`SELECT status FROM file_imports WHERE id = '${id}'`).trim()).toBe("IMPORTING")

    child = await startProcess()
    const done = await eventually(() => call("GET", `/api/v1/files/${id}/status`), (r) => r.body.status !== "IMPORTING", 150_000)
    expect(done.body).toMatchObject({ status: "COMPLETED", recordsImported: rows, error: null })
    const table = await readLakeTable(stateDb.url, env.INGEST_DATA_DIR!, [tenantNamespaceOf(tenant), "default"], "big")
    expect(table?.rows).toHaveLength(rows)
    expect(new Set(table?.rows.map((r) => r["id"])).size).toBe(rows)
    expect(stateDb.exec(`SELECT attempt FROM jobs WHERE ref_id = '${id}'`).trim()).toBe("2")
  }, 300_000)
})
