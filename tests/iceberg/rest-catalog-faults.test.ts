import type { Column, TableIdent, WriteRequest } from "@ingest/domain"
import { Effect, Option, Redacted, Stream } from "effect"
import { existsSync, readdirSync } from "node:fs"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { makeRestCatalog } from "../../packages/adapters/src/iceberg/rest-catalog/index.ts"
import type { RestCatalog } from "../../packages/adapters/src/iceberg/rest-catalog/index.ts"
import { commitIdKey } from "../../packages/adapters/src/iceberg/snapshot-production.ts"
import { makeIcebergTableWriter } from "../../packages/adapters/src/iceberg/table-writer.ts"
import { makeFsObjectStore } from "../../packages/adapters/src/storage/fs.ts"
import type { CatalogProxy, Fault, IncomingCall } from "../support/catalog-proxy.ts"
import { startCatalogProxy } from "../support/catalog-proxy.ts"
import { createTestDatabase } from "../support/postgres.ts"
import type { RunningService } from "../support/server.ts"
import { ISSUER, MANAGE, startService } from "../support/server.ts"
import { readTable, uniqueName } from "./support.ts"

// The writer over the REST catalog client, against a stand-in that injects the failures real
// catalogs and networks produce: it issues OAuth2 tokens and checks them, then forwards to a real
// REST catalog (the service's own endpoint) unless the test's fault says otherwise. Rows are read
// back by DuckDB from what the catalog answers.

const catalogTenant = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
const namespace = ["t_9a8b7c6d5e4f4a3b8c2d1e0f9a8b7c6d", "faults"]

let catalogDb: ReturnType<typeof createTestDatabase>
let catalogService: RunningService
let standIn: CatalogProxy
let catalogToken: string
let tempDir: string

// --- the stand-in's OAuth2 server: tokens, their expiry, revocation -------------------------
interface Issued {
  readonly token: string
  readonly expiresAtMs: number
  revoked: boolean
}
const issued: Array<Issued> = []
let tokenLifetime: { readonly expSeconds: number; readonly expiresIn: number } = { expSeconds: 3600, expiresIn: 3600 }
let unauthorized = 0

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")
const issue = () => {
  const now = Date.now()
  const exp = Math.floor(now / 1000) + tokenLifetime.expSeconds
  const token = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: "ingest", exp, n: issued.length })}.sig`
  issued.push({ token, expiresAtMs: exp * 1000, revoked: false })
  return { access_token: token, token_type: "bearer", expires_in: tokenLifetime.expiresIn, issued_token_type: "urn:ietf:params:oauth:token-type:access_token" }
}

const authorize = (call: IncomingCall) => {
  if (call.path === "/v1/oauth/tokens") {
    const form = new URLSearchParams(call.body)
    if (form.get("grant_type") !== "client_credentials" || form.get("client_id") !== "ingest" || form.get("client_secret") !== "s3cr3t") {
      return { status: 401, body: { error: "invalid_client" } }
    }
    return { status: 200, body: issue() }
  }
  const bearer = /^Bearer (.+)$/.exec(call.headers["authorization"] ?? "")?.[1]
  const known = issued.find((t) => t.token === bearer)
  if (known === undefined || known.revoked || known.expiresAtMs <= Date.now()) {
    unauthorized++
    return { status: 401, body: { error: { message: "Not authorized", type: "NotAuthorizedException", code: 401 } } }
  }
  return undefined
}

// --- faults ----------------------------------------------------------------------------------
let fault: (call: IncomingCall) => Fault | undefined | Promise<Fault | undefined> = () => undefined

const isCommit = (call: IncomingCall, table: string) =>
  call.method === "POST" && call.path.endsWith(`/tables/${table}`) && call.body.includes(`"add-snapshot"`)
const commitsOf = (table: string, commitId: string) =>
  standIn.calls.filter((c) => isCommit(c, table) && c.body.includes(`"${commitIdKey}":"${commitId}"`))

const makeClient = (): RestCatalog =>
  makeRestCatalog({
    uri: standIn.url,
    templates: { warehouse: catalogTenant, namespace: "{tenant_ns}.{schema}" },
    auth: {
      kind: "oauth2",
      clientId: "ingest",
      clientSecret: Redacted.make("s3cr3t"),
      serverUri: `${standIn.url}/v1/oauth/tokens`,
      scope: "catalog"
    },
    headers: {},
    vendedCredentials: false,
    timeoutMs: 5000
  }, { tempDir, readAttempts: 4 })

const columns: ReadonlyArray<Column> = [
  { name: "id", type: "INTEGER", nullable: false },
  { name: "name", type: "STRING", nullable: true }
]

const request = (table: string, ids: ReadonlyArray<number>, commitId = uniqueName("commit")): WriteRequest<never> => ({
  table: { namespace, name: table },
  columns,
  mode: "append",
  commitId,
  batches: Stream.make({ length: ids.length, columns: [ids, ids.map((i) => `row ${i}`)] })
})

const write = (client: RestCatalog, req: WriteRequest<never>) =>
  Effect.runPromise(makeIcebergTableWriter({ catalog: client.catalog, parquetEncoding: "inline" }).write(req))

const readBack = async (client: RestCatalog, table: string) => {
  fault = () => undefined
  const ident: TableIdent = { namespace, name: table }
  const loaded = Option.getOrThrow(await Effect.runPromise(client.catalog.loadTable(ident)))
  return { loaded, ...(await Effect.runPromise(readTable(makeFsObjectStore("/"), loaded, "id"))) }
}

const dataFilesOnDisk = (location: string) => {
  const dir = path.join(fileURLToPath(location), "data")
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".parquet")) : []
}

beforeAll(async () => {
  catalogDb = createTestDatabase()
  tempDir = mkdtempSync(path.join(tmpdir(), "rest-faults-"))
  catalogService = await startService({ DATABASE_URL: catalogDb.url })
  catalogToken = await catalogService.keys.sign({ tenants: [catalogTenant], permissions: [MANAGE] }, { issuer: ISSUER, expiresIn: "1h" })
  standIn = await startCatalogProxy({
    upstream: `${catalogService.baseUrl}/api/v1/iceberg`,
    handle: authorize,
    fault: (call) => fault(call),
    upstreamHeaders: () => ({ authorization: `Bearer ${catalogToken}` })
  })
}, 180_000)

afterAll(async () => {
  await standIn?.stop()
  await catalogService?.stop()
  catalogDb?.drop()
  rmSync(tempDir, { recursive: true, force: true })
})

beforeEach(() => {
  fault = () => undefined
  tokenLifetime = { expSeconds: 3600, expiresIn: 3600 }
})

describe("commits against a failing catalog", () => {
  it("409 on the first commit: rebuilt on the new parent and retried; every row once", async () => {
    const client = makeClient()
    await write(client, request("conflict", [1, 2]))
    let raced = false
    const ours = request("conflict", [3, 4])
    fault = async (call) => {
      if (!raced && isCommit(call, "conflict") && call.body.includes(ours.commitId)) {
        raced = true
        // Another writer commits first: our commit then meets a real 409 from the catalog.
        await write(makeClient(), request("conflict", [5]))
      }
      return undefined
    }
    const result = await write(client, ours)
    const attempts = commitsOf("conflict", ours.commitId)
    expect(attempts).toHaveLength(2)
    expect(standIn.exchanges.some((e) => e.status === 409 && e.requestBody.includes(ours.commitId))).toBe(true)
    const table = await readBack(client, "conflict")
    expect(table.rows.map((r) => r["id"])).toEqual(["1", "2", "3", "4", "5"])
    expect(table.snapshot?.["snapshot-id"].toString()).toBe(result.snapshotId)
    // The second attempt sits on the other writer's snapshot, with a new manifest list.
    const other = table.loaded.metadata.snapshots.find((s) => s.summary["added-records"] === "1")!
    expect(table.snapshot?.["parent-snapshot-id"]).toBe(other["snapshot-id"])
    expect(table.snapshot?.["manifest-list"]).toMatch(/snap-\d+-2-/)
  })

  it("500 after the catalog applied the commit: COMPLETED without sending it again, files kept", async () => {
    const client = makeClient()
    const ours = request("applied", [1, 2, 3])
    fault = (call) => isCommit(call, "applied") ? { kind: "forward-then-respond", status: 500, body: { error: { message: "boom", type: "CommitStateUnknownException", code: 500 } } } : undefined
    const result = await write(client, ours)
    expect(result).toMatchObject({ recordsWritten: 3, alreadyCommitted: false })
    expect(commitsOf("applied", ours.commitId)).toHaveLength(1)
    const table = await readBack(client, "applied")
    expect(table.rows.map((r) => r["id"])).toEqual(["1", "2", "3"])
    expect(table.loaded.metadata.snapshots.filter((s) => s.summary[commitIdKey] === ours.commitId)).toHaveLength(1)
  })

  it("500 without applying: the reload shows it absent, a fresh attempt commits it once", async () => {
    const client = makeClient()
    const ours = request("lost", [1, 2])
    let first = true
    fault = (call) => {
      if (first && isCommit(call, "lost")) {
        first = false
        return { kind: "respond", status: 500, body: { error: { message: "internal", type: "InternalServerError", code: 500 } } }
      }
      return undefined
    }
    await write(client, ours)
    expect(commitsOf("lost", ours.commitId)).toHaveLength(2)
    const table = await readBack(client, "lost")
    expect(table.rows.map((r) => r["id"])).toEqual(["1", "2"])
  })

  it("the connection reset during the commit (after it applied): found on reload, never re-sent", async () => {
    const client = makeClient()
    const ours = request("reset", [7, 8])
    fault = (call) => isCommit(call, "reset") ? { kind: "forward-then-reset" } : undefined
    await write(client, ours)
    expect(commitsOf("reset", ours.commitId)).toHaveLength(1)
    const table = await readBack(client, "reset")
    expect(table.rows.map((r) => r["id"])).toEqual(["7", "8"])
  })

  it("still undecidable (the commit and every reload fail): FAILED 'commit state unknown', files kept", async () => {
    const client = makeClient()
    await write(client, request("unknown", [1]))
    const ours = request("unknown", [2, 3])
    let committing = false
    fault = (call) => {
      if (isCommit(call, "unknown")) {
        committing = true
        return { kind: "reset" }
      }
      return committing && call.method === "GET" && call.path.endsWith("/tables/unknown")
        ? { kind: "respond", status: 503, body: { error: { message: "down", type: "ServiceUnavailableException", code: 503 } } }
        : undefined
    }
    const failure = await write(client, ours).then(() => undefined, (error: unknown) => error)
    expect(String(failure)).toMatch(/commit state unknown/)
    expect(String(failure)).toMatch(/files are kept/)
    expect(commitsOf("unknown", ours.commitId)).toHaveLength(1)
    const table = await readBack(client, "unknown")
    expect(table.rows.map((r) => r["id"])).toEqual(["1"])
    // Nothing was deleted: the failed write's Parquet file is still beside the committed one.
    expect(dataFilesOnDisk(table.loaded.metadata.location)).toHaveLength(2)
  })

  it("503 on load: retried with backoff", async () => {
    const client = makeClient()
    await write(client, request("flaky", [1]))
    let failures = 0
    fault = (call) => {
      if (call.method === "GET" && call.path.endsWith("/tables/flaky") && failures < 2) {
        failures++
        return { kind: "respond", status: 503, body: { error: { message: "busy", type: "ServiceUnavailableException", code: 503 } } }
      }
      return undefined
    }
    await write(client, request("flaky", [2]))
    expect(failures).toBe(2)
    expect(client.stats().readRetries).toBeGreaterThanOrEqual(2)
    expect((await readBack(client, "flaky")).rows.map((r) => r["id"])).toEqual(["1", "2"])
  })
})

describe("tables the writer cannot write", () => {
  it("a partitioned table (made by another engine) is refused before any file is written", async () => {
    const client = makeClient()
    const base = `${catalogService.baseUrl}/api/v1/iceberg/v1/${catalogTenant}`
    const post = (url: string, body: unknown) =>
      fetch(`${base}${url}`, {
        method: "POST",
        headers: { authorization: `Bearer ${catalogToken}`, "content-type": "application/json" },
        body: JSON.stringify(body)
      })
    await post("/namespaces", { namespace: [namespace[0]] })
    await post("/namespaces", { namespace })
    const created = await post(`/namespaces/${namespace.join("%1F")}/tables`, {
      name: "partitioned",
      schema: { type: "struct", "schema-id": 0, fields: [{ id: 1, name: "id", required: true, type: "int" }, { id: 2, name: "name", required: false, type: "string" }] },
      "partition-spec": { "spec-id": 0, fields: [{ "source-id": 1, "field-id": 1000, name: "id_bucket", transform: "bucket[4]" }] }
    })
    expect(created.status).toBe(200)
    const location = ((await created.json()) as { metadata: { location: string } }).metadata.location
    const failure = await write(client, request("partitioned", [1])).then(() => undefined, (error: unknown) => error)
    expect(String(failure)).toMatch(/is partitioned \(id_bucket\): this service writes unpartitioned tables only/)
    expect(dataFilesOnDisk(location)).toEqual([])
  })
})

describe("OAuth2 tokens", () => {
  it("a revoked token: 401, a new token, the request once more", async () => {
    const client = makeClient()
    await write(client, request("tokens", [1]))
    const before = { fetched: client.stats().tokensFetched, unauthorized }
    for (const t of issued) t.revoked = true
    await write(client, request("tokens", [2]))
    expect(unauthorized - before.unauthorized).toBe(1)
    expect(client.stats().tokensFetched - before.fetched).toBe(1)
    expect((await readBack(client, "tokens")).rows.map((r) => r["id"])).toEqual(["1", "2"])
  })

  it("a token whose exp comes before its expires_in is renewed by exp, before the catalog refuses it", async () => {
    tokenLifetime = { expSeconds: 2, expiresIn: 3600 }
    const client = makeClient()
    await write(client, request("expiry", [1]))
    const before = { fetched: client.stats().tokensFetched, unauthorized }
    await new Promise((resolve) => setTimeout(resolve, 2100))
    await write(client, request("expiry", [2]))
    expect(unauthorized - before.unauthorized).toBe(0)
    expect(client.stats().tokensFetched - before.fetched).toBeGreaterThanOrEqual(1)
  })

  it("the client secret never appears in a failure", async () => {
    const client = makeRestCatalog({
      uri: standIn.url,
      templates: { warehouse: catalogTenant, namespace: "{tenant_ns}.{schema}" },
      auth: { kind: "oauth2", clientId: "ingest", clientSecret: Redacted.make("wrong-secret-value"), serverUri: `${standIn.url}/v1/oauth/tokens`, scope: "catalog" },
      headers: {},
      vendedCredentials: false,
      timeoutMs: 5000
    }, { tempDir, readAttempts: 1 })
    const failure = await write(client, request("denied", [1])).then(() => undefined, (error: unknown) => error)
    expect(String(failure)).toMatch(/token endpoint answered 401 \(invalid_client\)/)
    expect(JSON.stringify(failure)).not.toContain("wrong-secret-value")
    expect(String(failure)).not.toContain("wrong-secret-value")
  })
})
