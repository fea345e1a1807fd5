import type { ChildProcess } from "node:child_process"
import { rmSync } from "node:fs"
import { parseIcebergJson } from "@ingest/adapters/iceberg/json"
import { metadataOf } from "@ingest/adapters/iceberg/metadata"
import { makeFsObjectStore } from "@ingest/adapters/storage/index"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readTable } from "../iceberg/support.ts"
import type { CatalogProxy, Fault } from "../support/catalog-proxy.ts"
import { startCatalogProxy } from "../support/catalog-proxy.ts"
import { eventually, tenantNamespaceOf } from "../support/lake.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { prepareServiceProcess, startServiceProcess } from "../support/process.ts"
import type { RunningService } from "../support/server.ts"
import { ISSUER, MANAGE, startService } from "../support/server.ts"

// A service process committing to a REST catalog is killed (SIGKILL) while its commit POST is
// in flight: once after the catalog applied it (the answer never arrives), once before. After a
// restart the import completes and its rows are in the table exactly once.

const tenant = "8c7b6a59-4d3e-4f2a-9b1c-0d9e8f7a6b5c"
const catalogTenant = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
const rows = 2000

let stateDb: ReturnType<typeof createTestDatabase>
let catalogDb: ReturnType<typeof createTestDatabase>
let catalogService: RunningService
let catalogToken: string
let proxy: CatalogProxy
let dir: string
let port: number
let child: ChildProcess | undefined
let env: Record<string, string>
let token: string
let fault: () => Fault | undefined = () => undefined
let held: (() => void) | undefined

const startProcess = () => startServiceProcess(env, port)

const call = async (method: string, url: string, body?: FormData | object) => {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      "x-tenant-id": tenant,
      ...(body === undefined || body instanceof FormData ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body: body instanceof FormData ? body : JSON.stringify(body) })
  })
  return { status: res.status, body: await res.json() as any }
}

const tableRows = async (name: string) => {
  const res = await fetch(
    `${catalogService.baseUrl}/api/v1/iceberg/v1/${catalogTenant}/namespaces/${tenantNamespaceOf(tenant)}%1Fkilled/tables/${name}`,
    { headers: { authorization: `Bearer ${catalogToken}` } }
  )
  if (res.status === 404) return { rows: [], snapshots: [] as Array<{ summary: Record<string, string> }> }
  const json = parseIcebergJson(await res.text()) as any
  const metadata = metadataOf(json.metadata)
  const readback = await Effect.runPromise(readTable(makeFsObjectStore("/"), {
    ident: { namespace: [tenantNamespaceOf(tenant), "killed"], name },
    metadataLocation: json["metadata-location"],
    metadata
  }, "id"))
  return { rows: readback.rows, snapshots: metadata.snapshots }
}

const killDuringCommit = async (name: string, kind: "forward-then-hold" | "hold") => {
  const lines = ["id,label"]
  for (let i = 1; i <= rows; i++) lines.push(`${i},row ${i}`)
  const form = new FormData()
  form.append("file", new Blob([lines.join("\n") + "\n"]), `${name}.csv`)
  const uploaded = await call("POST", "/api/v1/files/upload", form)
  expect(uploaded.status).toBe(201)
  const id = uploaded.body.id as string
  expect((await call("PUT", `/api/v1/files/${id}/schema`, { targetSchema: "killed", targetTableName: name })).status).toBe(200)
  const isHeld = new Promise<void>((resolve) => {
    held = resolve
  })
  let armed = true
  fault = () => {
    if (!armed) return undefined
    armed = false
    return { kind, held: () => held?.() }
  }
  expect((await call("POST", `/api/v1/files/${id}/import`)).status).toBe(202)
  await isHeld
  child!.kill("SIGKILL")
  await new Promise((resolve) => child!.once("exit", resolve))
  const whileDead = await tableRows(name)
  expect(stateDb.exec(`SELECT status FROM file_imports WHERE id = '${id}'`).trim()).toBe("IMPORTING")
  child = await startProcess()
  const done = await eventually(() => call("GET", `/api/v1/files/${id}/status`), (r) => r.body.status !== "IMPORTING", 120_000)
  expect(done.body).toMatchObject({ status: "COMPLETED", recordsImported: rows, error: null })
  const after = await tableRows(name)
  return { id, whileDead, after }
}

beforeAll(async () => {
  stateDb = createTestDatabase()
  catalogDb = createTestDatabase()
  catalogService = await startService({ DATABASE_URL: catalogDb.url })
  catalogToken = await catalogService.keys.sign({ tenants: [catalogTenant], permissions: [MANAGE] }, { issuer: ISSUER, expiresIn: "1h" })
  proxy = await startCatalogProxy({
    upstream: `${catalogService.baseUrl}/api/v1/iceberg`,
    fault: (c) => c.method === "POST" && c.body.includes(`"add-snapshot"`) ? fault() : undefined
  })
  ;({ dir, port, env, token } = await prepareServiceProcess({
    prefix: "ingest-kill-commit-",
    databaseUrl: stateDb.url,
    tenant,
    env: {
      INGEST_JOB_LEASE_SECONDS: "3",
      INGEST_LOG_LEVEL: "Error",
      INGEST_CATALOG: `rest:${proxy.url}`,
      INGEST_CATALOG_TOKEN: catalogToken
    }
  }))
  child = await startProcess()
}, 180_000)

afterAll(async () => {
  child?.kill("SIGKILL")
  await proxy?.stop()
  await catalogService?.stop()
  stateDb?.drop()
  catalogDb?.drop()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

describe("a service killed while its commit to the REST catalog is in flight", () => {
  it("after the catalog applied it: the restarted import finds its commit and completes; rows once", async () => {
    const { id, whileDead, after } = await killDuringCommit("applied", "forward-then-hold")
    expect(whileDead.rows).toHaveLength(rows)
    expect(after.rows).toHaveLength(rows)
    expect(new Set(after.rows.map((r) => r["id"])).size).toBe(rows)
    expect(after.snapshots.filter((s) => s.summary["ingest.commit-id"] === `import:${id}`)).toHaveLength(1)
  }, 240_000)

  it("before the catalog saw it: nothing visible while dead; the restarted import commits once", async () => {
    const { id, whileDead, after } = await killDuringCommit("unsent", "hold")
    expect(whileDead.rows).toHaveLength(0)
    expect(after.rows).toHaveLength(rows)
    expect(new Set(after.rows.map((r) => r["id"])).size).toBe(rows)
    expect(after.snapshots.filter((s) => s.summary["ingest.commit-id"] === `import:${id}`)).toHaveLength(1)
  }, 240_000)
})
