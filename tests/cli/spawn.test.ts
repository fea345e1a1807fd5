import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { spawnIngest } from "./support/spawn-cli.ts"

// The CLI as users run it: the launcher in a child process, in process over the production
// composition (embedded Postgres, files and warehouse under a temp INGEST_DATA_DIR).

const tenant = "2f1c6e1e-8a51-4d59-9a43-3f8d2c1b7a10"

let dir: string

const ingest = (args: ReadonlyArray<string>) =>
  spawnIngest(args, { cwd: dir, env: { HOME: dir, INGEST_DATA_DIR: path.join(dir, "data"), INGEST_TENANT_ID: tenant } })

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "ingest-cli-spawn-"))
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe("ingest (spawned, production composition)", () => {
  it("imports a CSV end to end with --wait, and a second process reads its status", async () => {
    const csv = path.join(dir, "sales.csv")
    writeFileSync(csv, "order_id,Customer Name,amount\n1001,Alice,150.00\n1002,Bob,299.50\n1003,,12.25\n")
    const imported = await ingest(["import", csv, "--table", "sales", "--schema", "raw", "--map", "Customer Name=customer", "--wait", "--json"])
    expect(imported.code, imported.stderr).toBe(0)
    const status = JSON.parse(imported.stdout)
    expect(status).toMatchObject({
      fileName: "sales.csv",
      status: "COMPLETED",
      recordsImported: 3,
      targetTableName: "sales",
      targetSchema: "raw",
      error: null
    })

    const again = await ingest(["files", "status", status.id, "--json"])
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toEqual(status)
  }, 300_000)

  it("answers a missing resource with the service's message and exit code 5", async () => {
    const result = await ingest(["syncs", "get", "5f1c6e1e-8a51-4d59-9a43-3f8d2c1b7a10"])
    expect(result.code).toBe(5)
    expect(result.stdout).toBe("")
    expect(result.stderr).toContain("Sync 5f1c6e1e-8a51-4d59-9a43-3f8d2c1b7a10 not found")
    expect(result.stderr).not.toMatch(/\n\s+at /)
  }, 300_000)
})
