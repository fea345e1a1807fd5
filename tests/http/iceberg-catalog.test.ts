import { makeObjectStore } from "@ingest/adapters/storage/index"
import { parseIcebergJson } from "@ingest/adapters/iceberg/json"
import type { LoadedTable } from "@ingest/adapters/iceberg/table-catalog"
import { Effect } from "effect"
import { IcebergError, IcebergRestCatalog } from "iceberg-js"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readTable } from "../iceberg/support.ts"
import { eventually } from "../support/lake.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { startS3rver } from "../support/s3rver.ts"
import type { RunningService } from "../support/server.ts"
import { api, ISSUER, MANAGE, READ, startService } from "../support/server.ts"

// The Iceberg REST catalog endpoint, used as engines use it: iceberg-js as the client, the tables
// of file imports found there under the names the API gave them, rows read back by DuckDB from
// the metadata the endpoint answered, exact 63-bit ids, tenant isolation on every route.

const tenant = "3a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
const otherTenant = "7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2910"
const base = "/api/v1/iceberg"

const ordersCsv = "id,customer,amount\n1,Alice,10.50\n2,Bob,20.00\n3,Carol,\n"

let stateDb: ReturnType<typeof createTestDatabase>
let service: RunningService
let token: string
let readToken: string
let otherToken: string
let twoTenantToken: string

const catalogOf = (bearer: string, warehouse?: string) =>
  new IcebergRestCatalog({
    baseUrl: `${service.baseUrl}${base}`,
    auth: { type: "bearer", token: bearer },
    ...(warehouse === undefined ? {} : { warehouse })
  })

/** A raw request to the endpoint, body kept as text so 63-bit numbers can be checked exactly. */
const raw = async (method: string, url: string, bearer: string | undefined, body?: string) => {
  const res = await fetch(`${service.baseUrl}${base}${url}`, {
    method,
    headers: {
      ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body })
  })
  const text = await res.text()
  return { status: res.status, text, json: text === "" ? undefined : parseIcebergJson(text) as any }
}

const importFile = async (name: string, csv: string, targetSchema: string, targetTableName: string) => {
  const call = api(service, token, tenant)
  const form = new FormData()
  form.append("file", new Blob([csv]), name)
  const up = await fetch(`${service.baseUrl}/api/v1/files/upload`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "x-tenant-id": tenant },
    body: form
  })
  const file = await up.json() as any
  expect(up.status).toBe(201)
  const schema = await call("PUT", `/api/v1/files/${file.id}/schema`, { targetSchema, targetTableName })
  expect(schema.status).toBe(200)
  expect((await call("POST", `/api/v1/files/${file.id}/import`)).status).toBe(202)
  const done = await eventually(() => call("GET", `/api/v1/files/${file.id}/status`), (r) => ["COMPLETED", "FAILED"].includes(r.body.status))
  expect(done.body).toMatchObject({ status: "COMPLETED", error: null })
  return done.body
}

/** The rows of a table as DuckDB reads them from the metadata the endpoint answered. */
const rowsThroughEndpoint = async (namespace: string, table: string, orderBy: string) => {
  const loaded = await raw("GET", `/v1/${tenant}/namespaces/${namespace}/tables/${table}`, token)
  expect(loaded.status).toBe(200)
  const warehouse = makeObjectStore(`file://${path.join(service.dataDir, "warehouse")}`, { tempDir: service.dataDir })
  const table_: LoadedTable = {
    ident: { namespace: [namespace], name: table },
    metadataLocation: loaded.json["metadata-location"],
    metadata: loaded.json.metadata
  }
  return (await Effect.runPromise(readTable(warehouse, table_, orderBy))).rows
}

beforeAll(async () => {
  stateDb = createTestDatabase()
  service = await startService({ DATABASE_URL: stateDb.url })
  token = await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER })
  readToken = await service.keys.sign({ tenants: [tenant], permissions: [READ] }, { issuer: ISSUER })
  otherToken = await service.keys.sign({ tenants: [otherTenant], permissions: [MANAGE] }, { issuer: ISSUER })
  twoTenantToken = await service.keys.sign({ tenants: [tenant, otherTenant], permissions: [MANAGE] }, { issuer: ISSUER })
  await importFile("orders.csv", ordersCsv, "raw_data", "orders")
}, 180_000)

afterAll(async () => {
  await service?.stop()
  stateDb?.drop()
})

describe("config and tenancy", () => {
  it("names the tenant as the prefix: from warehouse, or from a token of one tenant", async () => {
    const named = await raw("GET", `/v1/config?warehouse=${tenant}`, twoTenantToken)
    expect(named.status).toBe(200)
    expect(named.json.overrides).toEqual({ prefix: tenant })
    expect(named.json.defaults).toEqual({})
    const implicit = await raw("GET", "/v1/config", token)
    expect(implicit.json.overrides.prefix).toBe(tenant)
  })

  it("asks for the tenant when the token grants several; 403 for a tenant the token lacks", async () => {
    const ambiguous = await raw("GET", "/v1/config", twoTenantToken)
    expect(ambiguous.status).toBe(400)
    expect(ambiguous.json.error).toMatchObject({ type: "BadRequestException", code: 400 })
    expect(ambiguous.json.error.message).toContain("warehouse")
    const foreign = await raw("GET", `/v1/config?warehouse=${otherTenant}`, token)
    expect(foreign.status).toBe(403)
    expect(foreign.json.error.type).toBe("ForbiddenException")
    expect((await raw("GET", `/v1/${otherTenant}/namespaces`, token)).status).toBe(403)
  })

  it("401 without a token or with a bad one, as an IcebergErrorResponse", async () => {
    const none = await raw("GET", "/v1/config", undefined)
    expect(none.status).toBe(401)
    expect(none.json).toEqual({ error: { message: expect.stringContaining("bearer"), type: "NotAuthorizedException", code: 401 } })
    const forged = await service.keys.signWithOtherKey({ tenants: [tenant], permissions: [MANAGE] })
    expect((await raw("GET", `/v1/${tenant}/namespaces`, forged)).status).toBe(401)
  })

  it("read permission reads; writing needs manage", async () => {
    expect((await raw("GET", `/v1/${tenant}/namespaces`, readToken)).status).toBe(200)
    const write = await raw("POST", `/v1/${tenant}/namespaces`, readToken, JSON.stringify({ namespace: ["nope"] }))
    expect(write.status).toBe(403)
    expect(write.json.error.message).toContain(MANAGE)
  })
})

describe("an imported table, found by engines", () => {
  it("lists the namespace and table under the names the API gave them", async () => {
    const catalog = catalogOf(token, tenant)
    expect((await catalog.listNamespaces()).namespaces).toEqual([{ namespace: ["raw_data"] }])
    expect((await catalog.listTables({ namespace: ["raw_data"] })).identifiers).toEqual([{ namespace: ["raw_data"], name: "orders" }])
    expect(await catalog.tableExists({ namespace: ["raw_data"], name: "orders" })).toBe(true)
    expect(await catalog.namespaceExists({ namespace: ["raw_data"] })).toBe(true)
  })

  it("loads the table: metadata, its location and exact 63-bit snapshot ids; DuckDB reads the rows", async () => {
    const loaded = await raw("GET", `/v1/${tenant}/namespaces/raw_data/tables/orders`, token)
    expect(loaded.status).toBe(200)
    expect(loaded.json["metadata-location"]).toMatch(/^file:\/\/.*\/metadata\/\d{5}-.*\.metadata\.json$/)
    expect(loaded.json.config).toEqual({})
    const snapshotId: bigint = loaded.json.metadata["current-snapshot-id"]
    expect(typeof snapshotId).toBe("bigint")
    // The id appears digit for digit in the body (no rounding through a float).
    expect(loaded.text).toContain(`"current-snapshot-id":${snapshotId}`)
    expect(loaded.json.metadata.refs.main["snapshot-id"]).toBe(snapshotId)
    expect(await rowsThroughEndpoint("raw_data", "orders", "id")).toEqual([
      { id: "1", customer: "Alice", amount: "10.50" },
      { id: "2", customer: "Bob", amount: "20.00" },
      { id: "3", customer: "Carol", amount: null }
    ])
  })

  it("another tenant sees none of it: its own empty catalog, 404 for the same names", async () => {
    const theirs = catalogOf(otherToken)
    expect((await theirs.listNamespaces()).namespaces).toEqual([])
    const table = await raw("GET", `/v1/${otherTenant}/namespaces/raw_data/tables/orders`, otherToken)
    expect(table.status).toBe(404)
    expect(table.json.error.type).toBe("NoSuchTableException")
    const namespace = await raw("GET", `/v1/${otherTenant}/namespaces/raw_data`, otherToken)
    expect(namespace.status).toBe(404)
    expect(namespace.json.error.type).toBe("NoSuchNamespaceException")
    for (const [method, url, body] of [
      ["GET", `/v1/${otherTenant}/namespaces/raw_data/tables`, undefined],
      ["GET", `/v1/${otherTenant}/namespaces?parent=raw_data`, undefined],
      ["HEAD", `/v1/${otherTenant}/namespaces/raw_data`, undefined],
      ["HEAD", `/v1/${otherTenant}/namespaces/raw_data/tables/orders`, undefined],
      ["POST", `/v1/${otherTenant}/namespaces/raw_data/tables`, JSON.stringify({
        name: "planted",
        schema: { type: "struct", "schema-id": 0, fields: [{ id: 1, name: "id", type: "long", required: false }] }
      })],
      ["POST", `/v1/${otherTenant}/namespaces/raw_data/tables/orders`, JSON.stringify({ requirements: [], updates: [] })],
      ["DELETE", `/v1/${otherTenant}/namespaces/raw_data/tables/orders`, undefined],
      ["DELETE", `/v1/${otherTenant}/namespaces/raw_data`, undefined],
      ["POST", `/v1/${otherTenant}/namespaces/raw_data/properties`, JSON.stringify({ updates: { a: "b" } })],
      ["POST", `/v1/${otherTenant}/tables/rename`, JSON.stringify({
        source: { namespace: ["raw_data"], name: "orders" },
        destination: { namespace: ["raw_data"], name: "stolen" }
      })]
    ] as const) {
      const res = await raw(method, url, otherToken, body)
      expect(res.status, `${method} ${url}`).toBe(404)
    }
    // and the table is untouched
    expect((await raw("GET", `/v1/${tenant}/namespaces/raw_data/tables/orders`, token)).status).toBe(200)
    // The other tenant's namespace of the same name is its own.
    await theirs.createNamespace({ namespace: ["raw_data"] })
    expect((await theirs.listTables({ namespace: ["raw_data"] })).identifiers).toEqual([])
  })
})

describe("engines create and change tables", () => {
  const schema = {
    type: "struct" as const,
    "schema-id": 0,
    fields: [
      { id: 1, name: "id", type: "long" as const, required: false },
      { id: 2, name: "customer", type: "string" as const, required: false },
      { id: 3, name: "amount", type: "decimal(4,2)" as const, required: false }
    ]
  }

  it("creates a namespace and a table; an import with that targetSchema appends to it", async () => {
    const catalog = catalogOf(token, tenant)
    await catalog.createNamespace({ namespace: ["sales"] }, { properties: { owner: "finance" } })
    expect((await catalog.loadNamespaceMetadata({ namespace: ["sales"] })).properties).toMatchObject({ owner: "finance" })
    const created = await catalog.createTable({ namespace: ["sales"] }, {
      name: "orders",
      schema,
      "partition-spec": { "spec-id": 0, fields: [] },
      properties: { "created-by": "engine" }
    })
    expect(created["current-snapshot-id"]).toBeUndefined()
    const bare = await raw("GET", `/v1/${tenant}/namespaces/sales/tables/orders`, token)
    expect(bare.text).not.toContain("current-snapshot-id")
    const imported = await importFile("more.csv", "id,customer,amount\n7,Gina,1.25\n", "sales", "orders")
    expect(imported.recordsImported).toBe(1)
    expect(await rowsThroughEndpoint("sales", "orders", "id")).toEqual([{ id: "7", customer: "Gina", amount: "1.25" }])
    const after = await catalog.loadTable({ namespace: ["sales"], name: "orders" })
    expect(after.properties).toMatchObject({ "created-by": "engine" })
  })

  it("commits set-properties; a wrong assert-table-uuid answers 409 and changes nothing", async () => {
    const catalog = catalogOf(token, tenant)
    const id = { namespace: ["sales"], name: "orders" }
    const before = await catalog.loadTableResult(id)
    await catalog.updateTable(id, {
      requirements: [{ type: "assert-table-uuid", uuid: before!.metadata["table-uuid"] }],
      updates: [{ action: "set-properties", updates: { "comment": "orders from engines and files" } }]
    })
    expect((await catalog.loadTable(id)).properties).toMatchObject({ comment: "orders from engines and files" })
    const conflict = await catalog.updateTable(id, {
      requirements: [{ type: "assert-table-uuid", uuid: "00000000-0000-4000-8000-000000000000" }],
      updates: [{ action: "set-properties", updates: { comment: "lost" } }]
    }).catch((error) => error)
    expect(conflict).toBeInstanceOf(IcebergError)
    expect(conflict.status).toBe(409)
    expect(conflict.icebergType).toBe("CommitFailedException")
    const unchanged = await catalog.loadTableResult(id)
    expect(unchanged!.metadata.properties?.["comment"]).toBe("orders from engines and files")
  })

  it("answers 400 naming an update it does not support, and for staged creation", async () => {
    const res = await raw("POST", `/v1/${tenant}/namespaces/sales/tables/orders`, token, JSON.stringify({
      requirements: [],
      updates: [{ action: "add-encryption-key", "encryption-key": {} }]
    }))
    expect(res.status).toBe(400)
    expect(res.json.error.message).toContain("add-encryption-key")
    const staged = await raw("POST", `/v1/${tenant}/namespaces/sales/tables`, token, JSON.stringify({ name: "s", schema, "stage-create": true }))
    expect(staged.status).toBe(400)
    expect(staged.json.error.message).toContain("stage-create")
  })

  it("commits every kind of schema, spec, order, property and ref change", async () => {
    const catalog = catalogOf(token, tenant)
    const id = { namespace: ["sales"], name: "evolving" }
    const created = await catalog.createTableResult({ namespace: ["sales"] }, { name: "evolving", schema })
    const uuid = created.metadata["table-uuid"]
    const result = await catalog.updateTable(id, {
      requirements: [
        { type: "assert-table-uuid", uuid },
        { type: "assert-current-schema-id", "current-schema-id": 0 },
        { type: "assert-last-assigned-field-id", "last-assigned-field-id": 3 },
        { type: "assert-last-assigned-partition-id", "last-assigned-partition-id": 999 },
        { type: "assert-default-spec-id", "default-spec-id": 0 },
        { type: "assert-default-sort-order-id", "default-sort-order-id": 0 },
        { type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": null }
      ],
      updates: [
        { action: "assign-uuid", uuid },
        { action: "upgrade-format-version", "format-version": 2 },
        {
          action: "add-schema",
          schema: { ...schema, "schema-id": 1, fields: [...schema.fields, { id: 4, name: "region", type: "string", required: false }] },
          "last-column-id": 4
        },
        { action: "set-current-schema", "schema-id": -1 },
        { action: "add-spec", spec: { "spec-id": 1, fields: [{ "source-id": 4, "field-id": 1000, name: "region", transform: "identity" }] } },
        { action: "set-default-spec", "spec-id": -1 },
        {
          action: "add-sort-order",
          "sort-order": { "order-id": 1, fields: [{ "source-id": 1, transform: "identity", direction: "asc", "null-order": "nulls-first" }] }
        },
        { action: "set-default-sort-order", "sort-order-id": -1 },
        { action: "set-properties", updates: { a: "1", b: "2" } },
        { action: "remove-properties", removals: ["a"] },
        { action: "set-location", location: `${created.metadata.location}-moved` }
      ]
    })
    const m = result.metadata
    expect(m["current-schema-id"]).toBe(1)
    expect(m["last-column-id"]).toBe(4)
    expect(m["default-spec-id"]).toBe(1)
    expect(m["last-partition-id"]).toBe(1000)
    expect(m["default-sort-order-id"]).toBe(1)
    expect(m.properties).toMatchObject({ b: "2" })
    expect(m.properties?.["a"]).toBeUndefined()
    expect(m.location).toBe(`${created.metadata.location}-moved`)
    const outside = await raw("POST", `/v1/${tenant}/namespaces/sales/tables/evolving`, token, JSON.stringify({
      requirements: [],
      updates: [{ action: "set-location", location: "file:///etc/somewhere" }]
    }))
    expect(outside.status).toBe(400)
    expect(outside.json.error.message).toContain("outside")
  })

  it("commits an add-snapshot written outside the service, with an id beyond 2^53, and reads it back", async () => {
    // The manifest list of the imported orders table, committed by the engine as a new snapshot
    // of a table it created with the same schema.
    const source = await raw("GET", `/v1/${tenant}/namespaces/raw_data/tables/orders`, token)
    const current = source.json.metadata.snapshots.find((s: any) => s["snapshot-id"] === source.json.metadata["current-snapshot-id"])
    const sourceSchema = source.json.metadata.schemas.find((s: any) => s["schema-id"] === source.json.metadata["current-schema-id"])
    const created = await raw("POST", `/v1/${tenant}/namespaces/raw_data/tables`, token, JSON.stringify({ name: "orders_copy", schema: sourceSchema }))
    expect(created.status).toBe(200)
    const snapshotId = 9_007_199_254_740_993n + 123_456_789n // above 2^53: a JSON double cannot hold it
    const body = `{"requirements":[{"type":"assert-table-uuid","uuid":"${created.json.metadata["table-uuid"]}"},` +
      `{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":null}],"updates":[` +
      `{"action":"add-snapshot","snapshot":{"snapshot-id":${snapshotId},"sequence-number":1,"timestamp-ms":${Date.now()},` +
      `"manifest-list":"${current["manifest-list"]}","summary":{"operation":"append"},"schema-id":${sourceSchema["schema-id"]}}},` +
      `{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":${snapshotId}}]}`
    const committed = await raw("POST", `/v1/${tenant}/namespaces/raw_data/tables/orders_copy`, token, body)
    expect(committed.status).toBe(200)
    expect(committed.text).toContain(`"current-snapshot-id":${snapshotId}`)
    const loaded = await raw("GET", `/v1/${tenant}/namespaces/raw_data/tables/orders_copy`, token)
    expect(loaded.json.metadata["current-snapshot-id"]).toBe(snapshotId)
    expect(loaded.json.metadata["last-sequence-number"]).toBe(1n)
    expect((await rowsThroughEndpoint("raw_data", "orders_copy", "id")).map((r) => r["customer"])).toEqual(["Alice", "Bob", "Carol"])
    // A manifest list in another tenant's part of the warehouse is refused.
    const foreign = await raw("POST", `/v1/${tenant}/namespaces/raw_data/tables/orders_copy`, token, body
      .replace(`"snapshot-id":${snapshotId},"sequence`, `"snapshot-id":${snapshotId + 1n},"sequence`)
      .replace(/"manifest-list":"[^"]*"/, `"manifest-list":"file:///tmp/t_${otherTenant.replace(/-/g, "")}/x.avro"`))
    expect(foreign.status).toBe(400)
  })

  it("pages through tables with pageSize and pageToken", async () => {
    const catalog = catalogOf(token, tenant)
    await catalog.createNamespace({ namespace: ["paged"] })
    const names = ["t1", "t2", "t3", "t4", "t5"]
    for (const name of names) await catalog.createTable({ namespace: ["paged"] }, { name, schema })
    const seen: Array<string> = []
    let pageToken: string | undefined
    let pages = 0
    do {
      const page = await catalog.listTables({ namespace: ["paged"] }, { pageSize: 2, ...(pageToken === undefined ? {} : { pageToken }) })
      seen.push(...page.identifiers.map((i) => i.name))
      pageToken = page.nextPageToken ?? undefined
      pages++
    } while (pageToken !== undefined && pages < 10)
    expect(seen).toEqual(names)
    expect(pages).toBe(3)
    const namespaces = await catalog.listNamespaces({ pageSize: 1 })
    expect(namespaces.namespaces).toHaveLength(1)
    expect(namespaces.nextPageToken).toBeTruthy()
  })

  it("renames within the tenant, refuses to drop a namespace that is not empty, drops and purges", async () => {
    const catalog = catalogOf(token, tenant)
    await catalog.renameTable({ source: { namespace: ["paged"], name: "t1" }, destination: { namespace: ["sales"], name: "t1_moved" } })
    expect(await catalog.tableExists({ namespace: ["sales"], name: "t1_moved" })).toBe(true)
    expect(await catalog.tableExists({ namespace: ["paged"], name: "t1" })).toBe(false)
    const notEmpty = await raw("DELETE", `/v1/${tenant}/namespaces/paged`, token)
    expect(notEmpty.status).toBe(409)
    expect(notEmpty.json.error.type).toBe("NamespaceNotEmptyException")
    // Without purge the files stay (another engine may still read them); with purge they go.
    const locationOf = async (name: string) =>
      new URL((await catalog.loadTableResult({ namespace: ["paged"], name }))!.metadata.location!).pathname
    const kept = await locationOf("t2")
    await catalog.dropTable({ namespace: ["paged"], name: "t2" }, { purge: false })
    expect(fs.readdirSync(path.join(kept, "metadata")).length).toBeGreaterThan(0)
    const purged = await locationOf("t3")
    expect(fs.existsSync(path.join(purged, "metadata"))).toBe(true)
    await catalog.dropTable({ namespace: ["paged"], name: "t3" }, { purge: true })
    expect(fs.existsSync(purged) ? fs.readdirSync(purged, { recursive: true }).filter((f) => !fs.statSync(path.join(purged, String(f))).isDirectory()) : []).toEqual([])
    for (const name of ["t4", "t5"]) await catalog.dropTable({ namespace: ["paged"], name }, { purge: true })
    await catalog.dropNamespace({ namespace: ["paged"] })
    expect(await catalog.namespaceExists({ namespace: ["paged"] })).toBe(false)
    const props = await catalog.updateNamespaceProperties({ namespace: ["sales"] }, { removals: ["owner", "absent"], updates: { team: "b" } })
    expect(props).toMatchObject({ updated: ["team"], removed: ["owner"], missing: ["absent"] })
  })
})

describe("documentation", () => {
  it("the service's OpenAPI document and docs list the catalog routes, with IcebergErrorResponse", async () => {
    const spec = await (await fetch(`${service.baseUrl}/api/v1/openapi.json`)).json() as any
    const table = spec.paths["/api/v1/iceberg/v1/{prefix}/namespaces/{namespace}/tables/{table}"]
    expect(Object.keys(table).sort()).toEqual(["delete", "get", "head", "post"])
    expect(table.post.operationId).toBe("updateTable")
    expect(table.post.responses["409"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/IcebergErrorResponse" })
    expect(spec.paths["/api/v1/iceberg/v1/config"].get.operationId).toBe("getConfig")
    expect(spec.components.schemas.IcebergErrorResponse.required).toEqual(["error"])
    expect(spec.tags.map((t: any) => t.name)).toContain("Iceberg REST catalog")
    // The rest of the API is still there.
    expect(spec.paths["/api/v1/sources"].get).toBeDefined()
    const docs = await fetch(`${service.baseUrl}/api/v1/docs`)
    expect(docs.status).toBe(200)
    expect(await docs.text()).toContain("Iceberg REST catalog")
  })
})

describe("storage for engines", () => {
  it("a local warehouse ignores a request for vended credentials: its files are read by path", async () => {
    const res = await fetch(`${service.baseUrl}${base}/v1/${tenant}/namespaces/raw_data/tables/orders`, {
      headers: { authorization: `Bearer ${token}`, "x-iceberg-access-delegation": "vended-credentials" }
    })
    expect(res.status).toBe(200)
  })

  it("an S3 warehouse: loadTable says where the files are (endpoint, region, path style), never a secret", async () => {
    const s3 = await startS3rver("lake")
    const saved = { ...process.env }
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_SESSION_TOKEN: "session-token-never-shown",
      AWS_REGION: "eu-west-1",
      AWS_ENDPOINT_URL_S3: s3.endpoint
    })
    const db = createTestDatabase()
    const onS3 = await startService({ DATABASE_URL: db.url, INGEST_WAREHOUSE_URL: "s3://lake/warehouse" })
    try {
      const bearer = await onS3.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER })
      const catalog = new IcebergRestCatalog({ baseUrl: `${onS3.baseUrl}${base}`, auth: { type: "bearer", token: bearer } })
      await catalog.createNamespace({ namespace: ["lake"] })
      await catalog.createTable({ namespace: ["lake"] }, {
        name: "t",
        schema: { type: "struct", "schema-id": 0, fields: [{ id: 1, name: "id", type: "long", required: false }] }
      })
      const url = `${onS3.baseUrl}${base}/v1/${tenant}/namespaces/lake/tables/t`
      const res = await fetch(url, { headers: { authorization: `Bearer ${bearer}` } })
      const text = await res.text()
      expect(res.status).toBe(200)
      const loaded = JSON.parse(text)
      expect(loaded["metadata-location"]).toMatch(/^s3:\/\/lake\/warehouse\//)
      expect(loaded.config).toEqual({ "s3.endpoint": s3.endpoint, "s3.region": "eu-west-1", "s3.path-style-access": "true" })
      expect(text).not.toContain("S3RVER")
      expect(text).not.toContain("session-token-never-shown")
      const vended = await fetch(url, { headers: { authorization: `Bearer ${bearer}`, "x-iceberg-access-delegation": "vended-credentials" } })
      expect(vended.status).toBe(400)
      const refused = await vended.json() as any
      expect(refused.error).toMatchObject({ type: "BadRequestException", code: 400 })
      expect(refused.error.message).toContain("ACCESS_DELEGATION_MODE 'none'")
    } finally {
      await onS3.stop()
      db.drop()
      process.env = saved
      await s3.stop()
    }
  })
})
