import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as jose from "jose"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { startMemoryApp } from "./support/memory-composition.ts"
import { runCli } from "./support/run-cli.ts"

const tenant = "2f1c6e1e-8a51-4d59-9a43-3f8d2c1b7a10"
const otherTenant = "7d0c9a52-3b1e-4f6a-8c2d-5e4f3a2b1c0d"

let dir: string
let app: Awaited<ReturnType<typeof startMemoryApp>>
let env: Record<string, string>
const ingest = (...args: Array<string>) => runCli(app.composition, args, env)

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "ingest-cli-"))
  app = await startMemoryApp(path.join(dir, "storage"))
  env = { INGEST_DATA_DIR: path.join(dir, "data") }
})

afterAll(async () => {
  await app?.dispose()
  rmSync(dir, { recursive: true, force: true })
})

describe("ingest token", () => {
  it("mints a token the dev key verifies, with the tenants and permissions asked for", async () => {
    const result = await ingest("token", "--tenant", tenant, "--tenant", otherTenant, "--permission", "data:ingestion:read",
      "--expires", "2h", "--subject", "ops", "--json")
    expect(result.code).toBe(0)
    const body = JSON.parse(result.stdout)
    expect(body).toMatchObject({ expiresIn: "2h", tenants: [tenant, otherTenant], permissions: ["data:ingestion:read"] })
    const jwk = JSON.parse(readFileSync(path.join(dir, "data", "auth", "dev-signing-key.jwk.json"), "utf8")) as jose.JWK
    const { d: _private, ...publicJwk } = jwk
    const { payload, protectedHeader } = await jose.jwtVerify(body.token, await jose.importJWK(publicJwk, "ES256"))
    expect(protectedHeader.alg).toBe("ES256")
    expect(payload.sub).toBe("ops")
    expect(payload["tenants"]).toEqual([tenant, otherTenant])
    expect(payload["permissions"]).toEqual(["data:ingestion:read"])
    expect(payload.exp! - payload.iat!).toBe(2 * 3600)
  })

  it("prints only the token by default and takes the tenant from INGEST_TENANT_ID", async () => {
    const result = await runCli(app.composition, ["token"], { ...env, INGEST_TENANT_ID: tenant })
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
    expect(jose.decodeJwt(result.stdout.trim())["tenants"]).toEqual([tenant])
    expect(jose.decodeJwt(result.stdout.trim())["permissions"]).toEqual(["data:ingestion:manage"])
  })

  it("refuses outside dev mode, and without a tenant", async () => {
    const jwks = await runCli(app.composition, ["token", "--tenant", tenant], { ...env, INGEST_AUTH_JWKS_URL: "https://idp.test/jwks.json" })
    expect(jwks.code).toBe(2)
    expect(jwks.stderr).toContain("INGEST_AUTH_JWKS_URL is set")
    expect(jwks.stdout).toBe("")
    const none = await ingest("token")
    expect(none.code).toBe(2)
    expect(none.stderr).toContain("--tenant")
    const badExpiry = await ingest("token", "--tenant", tenant, "--expires", "soon")
    expect(badExpiry.code).toBe(2)
    expect(badExpiry.stderr).toContain("--expires")
  })
})

describe("argument errors", () => {
  it("a missing --tenant is a usage error (exit 2) with a message on stderr and nothing on stdout", async () => {
    const result = await ingest("sources", "list", "--json")
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("Missing required flag: --tenant")
    expect(result.stderr).toContain("INGEST_TENANT_ID")
    expect(result.stdout).toBe("")
  })

  it("a tenant that is not a UUID is refused, from the flag or from the environment", async () => {
    const flag = await ingest("sources", "list", "--tenant", "acme")
    expect(flag.code).toBe(2)
    expect(flag.stderr).toContain("Expected a UUID")
    const fromEnv = await runCli(app.composition, ["sources", "list"], { ...env, INGEST_TENANT_ID: "acme" })
    expect(fromEnv.code).toBe(2)
    expect(fromEnv.stderr).toContain("UUID")
  })

  it("a domain error prints its message, not a stack trace", async () => {
    const result = await ingest("sources", "get", "--tenant", tenant, "5f1c6e1e-8a51-4d59-9a43-3f8d2c1b7a10")
    expect(result.code).toBe(5)
    expect(result.stderr).toContain("Source 5f1c6e1e-8a51-4d59-9a43-3f8d2c1b7a10 not found")
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it("bad JSON in --config is a clear message", async () => {
    const result = await ingest("sources", "create", "--tenant", tenant, "--name", "x", "--type", "postgres", "--config", "{host:")
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("--config is not valid JSON")
  })
})

describe("ingest sources", () => {
  it("create, list, get, update and delete, as tables and as the API's JSON", async () => {
    const created = await ingest("sources", "create", "--tenant", tenant, "--name", "orders-db", "--type", "postgres",
      "--description", "Orders", "--config", JSON.stringify({ host: "127.0.0.1", port: 5432, database: "test", username: "postgres", password: "s3cret" }),
      "--json")
    expect(created.code).toBe(0)
    const source = JSON.parse(created.stdout)
    expect(Object.keys(source).sort()).toEqual(
      ["connectorType", "createdAt", "description", "id", "lastError", "lastTestedAt", "name", "status"]
    )
    expect(source).toMatchObject({ name: "orders-db", description: "Orders", connectorType: "postgres", status: "INACTIVE", lastTestedAt: null })
    expect(created.stdout).not.toContain("s3cret")

    const table = await ingest("sources", "list", "--tenant", tenant)
    expect(table.code).toBe(0)
    const [header, row] = table.stdout.split("\n")
    expect(header).toMatch(/^ID\s+NAME\s+TYPE\s+STATUS\s+LAST TESTED\s+CREATED$/)
    expect(row).toContain(source.id)
    expect(row).toContain("orders-db")
    expect(row).toContain("INACTIVE")

    const listed = JSON.parse((await ingest("sources", "list", "--tenant", tenant, "--json")).stdout)
    expect(listed).toEqual([source])
    const elsewhere = JSON.parse((await ingest("sources", "list", "--tenant", otherTenant, "--json")).stdout)
    expect(elsewhere).toEqual([])
    const hidden = await ingest("sources", "get", "--tenant", otherTenant, source.id)
    expect(hidden.code).toBe(5)
    expect(hidden.stderr).toContain("not found")

    const configFile = path.join(dir, "source.json")
    writeFileSync(configFile, JSON.stringify({ host: "db.internal", port: 5432, database: "orders", username: "ro" }))
    const updated = await ingest("sources", "update", "--tenant", tenant, source.id, "--name", "orders", "--config-file", configFile, "--json")
    expect(updated.code).toBe(0)
    expect(JSON.parse(updated.stdout)).toMatchObject({ id: source.id, name: "orders", description: "Orders", status: "INACTIVE" })

    const shown = await ingest("sources", "get", "--tenant", tenant, source.id)
    expect(shown.stdout).toMatch(/^id:\s+/m)
    expect(shown.stdout).toMatch(/name:\s+orders$/m)

    const removed = await ingest("sources", "delete", "--tenant", tenant, source.id)
    expect(removed.code).toBe(0)
    expect(removed.stdout).toContain(`Deleted source ${source.id}`)
    expect(JSON.parse((await ingest("sources", "list", "--tenant", tenant, "--json")).stdout)).toEqual([])
  })

  it("connector-types prints the API's list", async () => {
    const result = await ingest("connector-types", "--json")
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toContain("postgres")
    expect(JSON.parse(result.stdout)).toHaveLength(15)
  })
})

describe("ingest import", () => {
  it("uploads a CSV, applies the mapping and imports it in process with --wait", async () => {
    const csv = path.join(dir, "sales 2024.csv")
    const rows = Array.from({ length: 250 }, (_, i) => `${1000 + i},Customer ${i},${(i * 1.5).toFixed(2)}`)
    writeFileSync(csv, `order_id,Customer Name,amount\n${rows.join("\n")}\n`)
    const result = await ingest("import", csv, "--tenant", tenant, "--table", "Sales", "--schema", "raw",
      "--map", "Customer Name=customer", "--wait", "--json")
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    const status = JSON.parse(result.stdout)
    expect(status).toMatchObject({ status: "COMPLETED", recordsImported: 250, targetTableName: "sales", targetSchema: "raw", error: null })
    const table = app.tables.table([`t_${tenant.replace(/-/g, "")}`, "raw"], "sales")
    expect(table?.columns.map((c) => c.name)).toEqual(["order_id", "customer", "amount"])
    expect(table?.rows).toHaveLength(250)

    const human = await ingest("import", csv, "--tenant", tenant, "--table", "sales", "--schema", "raw",
      "--map", "Customer Name=customer", "--wait")
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/^Imported 250 rows into raw\.sales in /m)
    expect(app.tables.table([`t_${tenant.replace(/-/g, "")}`, "raw"], "sales")?.rows).toHaveLength(500)

    const preview = JSON.parse((await ingest("files", "preview", "--tenant", tenant, status.id, "--json")).stdout)
    expect(preview).toMatchObject({ fileId: status.id, totalRows: 250, inferredTypes: { order_id: "INTEGER", amount: "DECIMAL" } })
  })

  it("takes the dialect from flags: a totals row kept on request, an override that leaves nothing to read refused", async () => {
    const erp = path.join(import.meta.dirname, "../formats/fixtures/messy/erp-export.csv")
    const detected = JSON.parse((await ingest("import", erp, "--tenant", tenant, "--table", "erp_a", "--wait", "--json")).stdout)
    expect(detected).toMatchObject({ status: "COMPLETED", recordsImported: 5 })
    const kept = await ingest("import", erp, "--tenant", tenant, "--table", "erp_b", "--skip-trailing-rows", "0", "--wait", "--json")
    expect(kept.code).toBe(0)
    expect(JSON.parse(kept.stdout)).toMatchObject({ status: "COMPLETED", recordsImported: 6 })
    const refused = await ingest("import", erp, "--tenant", tenant, "--table", "erp_c", "--skip-leading-rows", "40", "--wait")
    expect(refused.code).toBe(3)
    expect(refused.stderr).toContain("dialect: the file cannot be read this way: no data rows are left")
  })

  it("an import the service refuses exits 3 with its reason; a missing file is a usage error (2)", async () => {
    const csv = path.join(dir, "two.csv")
    writeFileSync(csv, "a,b\n1,x\n")
    const unknown = await ingest("import", csv, "--tenant", tenant, "--table", "t", "--map", "nope=z", "--wait")
    expect(unknown.code).toBe(3)
    expect(unknown.stderr).toContain("unknown column \"nope\"")
    const missing = await ingest("import", path.join(dir, "missing.csv"), "--tenant", tenant, "--table", "t", "--wait")
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("File not found")
  })
})
