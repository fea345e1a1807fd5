import { makeFsObjectStore } from "@ingest/adapters/storage/index"
import { parseIcebergJson } from "@ingest/adapters/iceberg/json"
import { metadataOf } from "@ingest/adapters/iceberg/metadata"
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { CatalogProxy } from "../support/catalog-proxy.ts"
import { replayThrough, startCatalogProxy } from "../support/catalog-proxy.ts"
import { eventually, tenantNamespaceOf } from "../support/lake.ts"
import { createTestDatabase, pgHost, pgPort, pgUser } from "../support/postgres.ts"
import { startPrismProxy } from "../support/prism.ts"
import type { RunningService } from "../support/server.ts"
import { api, ISSUER, MANAGE, startService } from "../support/server.ts"
import { hasSharedContracts, icebergContractDir, readTable } from "./support.ts"

// Two replicas of the service with INGEST_CATALOG=rest:… commit to a REST catalog: the service's
// own endpoint (/api/v1/iceberg over its SQL catalog) in a third process, behind a proxy that
// forwards the bytes unchanged and records the traffic. Rows are read back from what the catalog
// answers, by DuckDB. The recorded traffic is then replayed through Prism against the REST spec.

const tenant = "6b1f0c2a-3d4e-4f5a-8b6c-7d8e9f0a1b2c"
const catalogTenant = "0e1d2c3b-4a59-4687-9a5b-c4d3e2f1a0b9"

let catalogDb: ReturnType<typeof createTestDatabase>
let replicaDb: ReturnType<typeof createTestDatabase>
let sourceDb: ReturnType<typeof createTestDatabase>
let catalogService: RunningService
let proxy: CatalogProxy
let replicas: Array<RunningService> = []
let calls: Array<ReturnType<typeof api>> = []
let catalogToken: string
let sharedDir: string | undefined

const tenantNs = tenantNamespaceOf(tenant)

/** The table as the catalog answers it, raw text kept for exact ids. */
const loadFromCatalog = async (schema: string, table: string) => {
  const res = await fetch(
    `${catalogService.baseUrl}/api/v1/iceberg/v1/${catalogTenant}/namespaces/${tenantNs}%1F${schema}/tables/${table}`,
    { headers: { authorization: `Bearer ${catalogToken}` } }
  )
  const text = await res.text()
  return { status: res.status, text, json: text === "" ? undefined : parseIcebergJson(text) as any }
}

const rowsOf = async (schema: string, table: string, orderBy: string) => {
  const loaded = await loadFromCatalog(schema, table)
  expect(loaded.status).toBe(200)
  const readback = await Effect.runPromise(readTable(makeFsObjectStore("/"), {
    ident: { namespace: [tenantNs, schema], name: table },
    metadataLocation: loaded.json["metadata-location"],
    metadata: metadataOf(loaded.json.metadata)
  }, orderBy))
  return { ...readback, metadata: loaded.json.metadata, text: loaded.text }
}

const importFile = async (replica: number, name: string, csv: string, targetSchema: string, targetTableName: string) => {
  const service = replicas[replica]!
  const call = calls[replica]!
  const form = new FormData()
  form.append("file", new Blob([csv]), name)
  const token = (call as unknown as { token: string }).token
  const up = await fetch(`${service.baseUrl}/api/v1/files/upload`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "x-tenant-id": tenant },
    body: form
  })
  const file = await up.json() as any
  expect(up.status).toBe(201)
  expect((await call("PUT", `/api/v1/files/${file.id}/schema`, { targetSchema, targetTableName })).status).toBe(200)
  return file.id as string
}

const startImport = async (replica: number, id: string) => {
  expect((await calls[replica]!("POST", `/api/v1/files/${id}/import`)).status).toBe(202)
}

const importDone = (replica: number, id: string) =>
  eventually(() => calls[replica]!("GET", `/api/v1/files/${id}/status`), (r) => ["COMPLETED", "FAILED"].includes(r.body.status), 120_000)

beforeAll(async () => {
  catalogDb = createTestDatabase()
  replicaDb = createTestDatabase()
  sourceDb = createTestDatabase("ingest_src")
  sourceDb.exec(`
    CREATE TABLE public.orders (order_id bigint PRIMARY KEY, customer text NOT NULL);
    INSERT INTO public.orders SELECT i, 'customer ' || i FROM generate_series(1, 300) AS i;`)
  catalogService = await startService({ DATABASE_URL: catalogDb.url })
  catalogToken = await catalogService.keys.sign({ tenants: [catalogTenant], permissions: [MANAGE] }, { issuer: ISSUER, expiresIn: "1h" })
  proxy = await startCatalogProxy({ upstream: `${catalogService.baseUrl}/api/v1/iceberg` })
  // Replicas share their database, file storage and secret key, as in production.
  sharedDir = mkdtempSync(path.join(tmpdir(), "ingest-replicas-"))
  const env = {
    DATABASE_URL: replicaDb.url,
    INGEST_STORAGE_URL: `file://${sharedDir}`,
    INGEST_SECRET_KEY: randomBytes(32).toString("base64"),
    INGEST_CATALOG: `rest:${proxy.url}`,
    INGEST_CATALOG_TOKEN: catalogToken,
    INGEST_WORKER_CONCURRENCY: "2"
  }
  replicas = [await startService(env), await startService(env)]
  calls = await Promise.all(replicas.map(async (service) => {
    const token = await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER })
    return Object.assign(api(service, token, tenant), { token })
  }))
}, 180_000)

afterAll(async () => {
  for (const replica of replicas) await replica.stop()
  await proxy?.stop()
  await catalogService?.stop()
  catalogDb?.drop()
  replicaDb?.drop()
  sourceDb?.drop()
  if (sharedDir !== undefined) rmSync(sharedDir, { recursive: true, force: true })
})

describe("imports and syncs through a REST catalog", () => {
  it("imports: the catalog assigns the location, the commit carries exact 63-bit ids, DuckDB reads the rows", async () => {
    const id = await importFile(0, "orders.csv", "id,customer,amount\n1,Alice,10.50\n2,Bob,20.00\n3,Carol,\n", "sales", "orders")
    await startImport(0, id)
    expect((await importDone(0, id)).body).toMatchObject({ status: "COMPLETED", recordsImported: 3, error: null })
    const table = await rowsOf("sales", "orders", "id")
    expect(table.rows).toEqual([
      { id: "1", customer: "Alice", amount: "10.50" },
      { id: "2", customer: "Bob", amount: "20.00" },
      { id: "3", customer: "Carol", amount: null }
    ])
    // Under the location the catalog assigned, in its warehouse: not the replica's.
    const warehouse = `file://${path.join(catalogService.dataDir, "warehouse")}`
    expect(table.metadata.location.startsWith(warehouse)).toBe(true)
    expect(table.dataFiles.every((f) => f.filePath.startsWith(`${table.metadata.location}/data/`))).toBe(true)
    expect(table.snapshot?.summary["ingest.commit-id"]).toBe(`import:${id}`)
    // The id the replica sent is the id the catalog keeps, digit for digit.
    const commit = proxy.exchanges.find((e) => e.method === "POST" && e.path.endsWith("/tables/orders") && e.requestBody.includes("add-snapshot"))
    const sent = /"snapshot-id":(\d+)/.exec(commit!.requestBody)![1]!
    expect(/"current-snapshot-id":(\d+)/.exec(table.text)![1]).toBe(sent)
    expect(BigInt(sent)).toBe(table.snapshot!["snapshot-id"])
    expect(commit!.requestBody).toContain(`"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":null`)
    expect(commit!.requestBody).toContain(`"type":"assert-table-uuid"`)
  })

  it("appends a file with a new column: schema evolution guarded by schema asserts, old rows read as null", async () => {
    const id = await importFile(1, "more.csv", "id,customer,amount,region\n4,Dan,5.00,EU\n", "sales", "orders")
    await startImport(1, id)
    expect((await importDone(1, id)).body).toMatchObject({ status: "COMPLETED", recordsImported: 1 })
    const table = await rowsOf("sales", "orders", "id")
    expect(table.rows).toHaveLength(4)
    expect(table.rows[3]).toEqual({ id: "4", customer: "Dan", amount: "5.00", region: "EU" })
    expect(table.rows[0]!["region"]).toBeNull()
    const evolution = proxy.exchanges.find((e) => e.method === "POST" && e.requestBody.includes("add-schema"))
    expect(evolution?.status).toBe(200)
    expect(evolution?.requestBody).toContain(`"type":"assert-current-schema-id","current-schema-id":0`)
    expect(evolution?.requestBody).toContain(`"type":"assert-last-assigned-field-id","last-assigned-field-id":3`)
  })

  it("4 concurrent imports into one table from 2 replicas: every row exactly once", async () => {
    const files = await Promise.all([0, 1, 2, 3].map(async (n) => {
      const lines = ["id,batch"]
      for (let i = 0; i < 500; i++) lines.push(`${n * 500 + i},${n}`)
      const replica = n % 2
      return { replica, id: await importFile(replica, `part${n}.csv`, lines.join("\n") + "\n", "events", "clicks") }
    }))
    const conflictsBefore = proxy.exchanges.filter((e) => e.status === 409).length
    await Promise.all(files.map((f) => startImport(f.replica, f.id)))
    const done = await Promise.all(files.map((f) => importDone(f.replica, f.id)))
    expect(done.map((d) => d.body.status)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED"])
    const table = await rowsOf("events", "clicks", "id")
    expect(table.rows).toHaveLength(2000)
    expect(new Set(table.rows.map((r) => r["id"])).size).toBe(2000)
    const snapshots = table.metadata.snapshots as Array<{ summary: Record<string, string> }>
    expect(new Set(snapshots.map((s) => s.summary["ingest.commit-id"])).size).toBe(4)
    const conflicts = proxy.exchanges.filter((e) => e.status === 409).length - conflictsBefore
    console.info(`4 concurrent imports from 2 replicas: ${conflicts} commit(s) answered 409 and rebuilt on the new parent`)
  })

  it("local syncs commit through the REST catalog: a full refresh overwrites instead of duplicating", async () => {
    const call = calls[0]!
    const source = await call("POST", "/api/v1/sources", {
      name: "shop",
      connectorType: "postgres",
      connectionConfig: { host: pgHost, port: pgPort, database: sourceDb.name, username: pgUser, password: "x", ssl_mode: "disable" }
    })
    expect(source.status).toBe(201)
    expect((await call("POST", `/api/v1/sources/${source.body.id}/discover`)).status).toBe(200)
    const conn = await call("POST", "/api/v1/connections", { sourceId: source.body.id, name: "shop", selectedStreams: ["public.orders"] })
    expect(conn.status).toBe(201)
    const run = async () => {
      const trigger = await call("POST", `/api/v1/syncs/connections/${conn.body.id}/trigger`)
      expect(trigger.status).toBe(202)
      return eventually(() => call("GET", `/api/v1/syncs/${trigger.body.id}`), (r) => !["RUNNING", "PENDING"].includes(r.body.status), 120_000)
    }
    expect((await run()).body).toMatchObject({ status: "SUCCEEDED", recordsSynced: 300 })
    sourceDb.exec("DELETE FROM public.orders WHERE order_id > 200")
    expect((await run()).body).toMatchObject({ status: "SUCCEEDED", recordsSynced: 200 })
    const table = await rowsOf("shop", "public_orders", "order_id")
    expect(table.rows).toHaveLength(200)
    expect(table.snapshot?.summary.operation).toBe("overwrite")
  })


  it.skipIf(!hasSharedContracts)("all the recorded traffic is valid against the Iceberg REST spec (replayed through Prism)", async () => {
    // HEAD answers have no body, which the spec's JSON error schema cannot describe: shapes are checked on the rest.
    const exchanges = proxy.exchanges.filter((e) => e.method !== "HEAD")
    expect(exchanges.length).toBeGreaterThan(20)
    const problems = await replayThrough(exchanges, (upstream) =>
      startPrismProxy(path.join(icebergContractDir, "rest-catalog-open-api.patched.yaml"), upstream))
    expect(problems).toEqual([])
    const kinds = new Set(exchanges.map((e) => `${e.method} ${e.path.replace(/\?.*$/, "").replace(/namespaces\/[^/]+/, "namespaces/{ns}").replace(/tables\/[^/]+/, "tables/{t}").replace(/\/v1\/[0-9a-f-]{36}\//, "/v1/{prefix}/")}`))
    console.info(`validated ${exchanges.length} exchanges of ${kinds.size} kinds: ${[...kinds].sort().join(", ")}`)
  }, 180_000)

  it("readiness asks the catalog: DOWN with the reason once it stops answering", async () => {
    expect((await fetch(`${replicas[0]!.baseUrl}/health/ready`)).status).toBe(200)
    await proxy.stop()
    const down = await fetch(`${replicas[0]!.baseUrl}/health/ready`)
    expect(down.status).toBe(503)
    expect(await down.json()).toMatchObject({ status: "DOWN", reason: "catalog: unreachable" })
  })
})
