import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"

// The CLI as users run it: the launcher in a child process, with the production composition
// (embedded Postgres, files and warehouse under a temp INGEST_DATA_DIR).

const repoRoot = path.resolve(import.meta.dirname, "../..")
const node = path.join(repoRoot, "node_modules/.bin/node")
const launcher = path.join(repoRoot, "packages/cli/bin/ingest.mjs")
const tenant = "2f1c6e1e-8a51-4d59-9a43-3f8d2c1b7a10"

let dir: string

const ingest = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(node, [launcher, ...args], {
      cwd: dir,
      env: { PATH: process.env["PATH"] ?? "", HOME: dir, INGEST_DATA_DIR: path.join(dir, "data"), INGEST_TENANT_ID: tenant },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

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
