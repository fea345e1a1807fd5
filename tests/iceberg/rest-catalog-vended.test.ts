import type { Column, WriteRequest } from "@ingest/domain"
import { Effect, Option, Redacted, Stream } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parseIcebergJson, stringifyIcebergJson } from "../../packages/adapters/src/iceberg/json.ts"
import { makeRestCatalog } from "../../packages/adapters/src/iceberg/rest-catalog/index.ts"
import { makeIcebergTableWriter } from "../../packages/adapters/src/iceberg/table-writer.ts"
import { makeS3ObjectStore } from "../../packages/adapters/src/storage/s3.ts"
import type { CatalogProxy } from "../support/catalog-proxy.ts"
import { startCatalogProxy } from "../support/catalog-proxy.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { startS3rver } from "../support/s3rver.ts"
import type { RunningService } from "../support/server.ts"
import { ISSUER, MANAGE, startService } from "../support/server.ts"
import { readTable } from "./support.ts"

// Vended credentials: the catalog's tables live on S3 (s3rver); this process has no AWS
// credentials of its own. The catalog (the service's endpoint, behind a stand-in that vends) hands
// out credentials about to expire with the load result; the writer renews them through
// `…/credentials` and writes the table's files with what it got.

const catalogTenant = "3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a"
const namespace = ["t_4e5f6a7b8c9d4e0f8a1b2c3d4e5f6a7b", "vended"]

let s3: Awaited<ReturnType<typeof startS3rver>>
let catalogDb: ReturnType<typeof createTestDatabase>
let catalogService: RunningService
let standIn: CatalogProxy
let tempDir: string
const saved = { ...process.env }

beforeAll(async () => {
  s3 = await startS3rver("lake")
  catalogDb = createTestDatabase()
  tempDir = mkdtempSync(path.join(tmpdir(), "rest-vended-"))
  // The catalog service reaches the bucket with these; they are gone before the client runs.
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_S3: s3.endpoint })
  catalogService = await startService({ DATABASE_URL: catalogDb.url, INGEST_WAREHOUSE_URL: "s3://lake/warehouse" })
  for (const key of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"]) delete process.env[key]
  const catalogToken = await catalogService.keys.sign({ tenants: [catalogTenant], permissions: [MANAGE] }, { issuer: ISSUER, expiresIn: "1h" })
  standIn = await startCatalogProxy({
    upstream: `${catalogService.baseUrl}/api/v1/iceberg`,
    // The service's endpoint vends nothing: the stand-in does, and keeps the request plain.
    upstreamHeaders: () => ({ authorization: `Bearer ${catalogToken}`, "x-iceberg-access-delegation": undefined }),
    handle: (call) =>
      call.method === "GET" && call.path.endsWith("/credentials")
        ? {
          status: 200,
          body: {
            "storage-credentials": [{
              prefix: "s3://lake/",
              config: {
                "s3.access-key-id": "S3RVER",
                "s3.secret-access-key": "S3RVER",
                "s3.session-token-expires-at-ms": String(Date.now() + 3_600_000)
              }
            }]
          }
        }
        : undefined,
    rewrite: (call, status, body) => {
      if (status !== 200 || !call.path.includes("/tables") || call.headers["x-iceberg-access-delegation"] !== "vended-credentials") return body
      const json = parseIcebergJson(body) as { config?: Record<string, string> }
      // About to expire (within the SDK's five-minute window), and not accepted by the bucket.
      json.config = {
        ...json.config,
        "s3.access-key-id": "EXPIRING",
        "s3.secret-access-key": "EXPIRING",
        "s3.session-token": "expiring-session",
        "s3.session-token-expires-at-ms": String(Date.now() + 60_000)
      }
      return stringifyIcebergJson(json)
    }
  })
}, 180_000)

afterAll(async () => {
  process.env = saved
  await standIn?.stop()
  await catalogService?.stop()
  catalogDb?.drop()
  await s3?.stop()
  rmSync(tempDir, { recursive: true, force: true })
})

describe("vended credentials", () => {
  it("asks for them, renews them before they expire, and writes the table's files with them", async () => {
    const client = makeRestCatalog({
      uri: standIn.url,
      templates: { warehouse: catalogTenant, namespace: "{tenant_ns}.{schema}" },
      auth: { kind: "token", token: Redacted.make("stand-in-swaps-it") },
      headers: {},
      vendedCredentials: true,
      timeoutMs: 5000
    }, { tempDir })
    const columns: ReadonlyArray<Column> = [{ name: "id", type: "INTEGER", nullable: false }]
    const request: WriteRequest<never> = {
      table: { namespace, name: "events" },
      columns,
      mode: "append",
      commitId: "vended-1",
      batches: Stream.make({ length: 3, columns: [[1, 2, 3]] })
    }
    const result = await Effect.runPromise(makeIcebergTableWriter({ catalog: client.catalog, parquetEncoding: "inline" }).write(request))
    expect(result.recordsWritten).toBe(3)
    const loads = standIn.calls.filter((c) => c.path.includes("/tables"))
    expect(loads.filter((c) => c.method !== "POST" || !c.body.includes("add-snapshot")).every((c) =>
      c.path.endsWith("/credentials") || c.headers["x-iceberg-access-delegation"] === "vended-credentials"
    )).toBe(true)
    expect(standIn.calls.some((c) => c.method === "GET" && c.path.endsWith("/tables/events/credentials"))).toBe(true)
    const loaded = Option.getOrThrow(await Effect.runPromise(client.catalog.loadTable(request.table)))
    expect(loaded.metadata.location.startsWith("s3://lake/warehouse/")).toBe(true)
    const table = await Effect.runPromise(readTable(makeS3ObjectStore({ bucket: "lake", prefix: "", client: s3.client }), loaded, "id"))
    expect(table.rows.map((r) => r["id"])).toEqual(["1", "2", "3"])
    expect(table.dataFiles.every((f) => f.filePath.startsWith(`${loaded.metadata.location}/data/`))).toBe(true)
  })
})
