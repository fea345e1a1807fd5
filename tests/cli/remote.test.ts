import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import type { RunningService } from "../support/server.ts"
import { createTestDatabase, pgHost, pgPort, pgUser } from "../support/postgres.ts"
import { freePort, ISSUER, MANAGE, startService } from "../support/server.ts"
import type { Composition } from "@ingest/cli"
import { runCli } from "./support/run-cli.ts"
import { node, repoRoot, spawnIngest } from "./support/spawn-cli.ts"

// The CLI against a real running service, as scripts use it. Remote from another data dir
// (--url, --token, profiles): spawned where the process matters (stdout and stderr as pipes, no
// TTY), else run in this process with its own environment (faster, same code and exit codes).
// Beside a service started like `npm start` on the same data dir: spawned, both of them.

/** Remote commands never build the app: using it would be a bug. */
const noLocalApp: Composition = {
  app: () => {
    throw new Error("a remote command built the local app")
  },
  server: () => {
    throw new Error("a remote command started a server")
  }
}

const tenant = "2f1c6e1e-8a51-4d59-9a43-3f8d2c1b7a10"
const salesCsv = "order_id,Customer Name,amount\n1001,Alice,150.00\n1002,Bob,299.50\n1003,,12.25\n"

let dir: string

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "ingest-cli-remote-"))
  writeFileSync(path.join(dir, "sales.csv"), salesCsv)
  mkdirSync(path.join(dir, "parts"))
  writeFileSync(path.join(dir, "parts", "p1.csv"), "id,amount\n1,1.50\n2,2.50\n")
  writeFileSync(path.join(dir, "parts", "p2.csv"), "id,amount\n3,3.50\n")
  writeFileSync(path.join(dir, "bad.bin"), Buffer.from([0, 1, 2, 3, 255, 254, 0, 7]))
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe("ingest --url: a deployed service, from another data dir", () => {
  let service: RunningService
  let token: string
  const elsewhere = () => path.join(dir, "elsewhere")
  const envOf = (env: Record<string, string>) => ({
    HOME: dir,
    INGEST_DATA_DIR: elsewhere(),
    INGEST_TENANT_ID: tenant,
    INGEST_URL: service.baseUrl,
    INGEST_TOKEN: token,
    ...env
  })
  /** `ingest` as a child process (the working directory is `dir`). */
  const spawned = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => spawnIngest(args, { cwd: dir, env: envOf(env) })
  /** `ingest` in this process, on files named by their absolute paths. */
  const remote = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => runCli(noLocalApp, args, envOf(env))
  const at = (file: string) => path.join(dir, file)

  beforeAll(async () => {
    service = await startService()
    token = await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER })
  }, 120_000)

  afterAll(async () => {
    await service?.stop()
  })

  it("imports with --wait: the result on stdout, one line per state on stderr, no progress bar; nothing opened locally", async () => {
    const result = await spawned(["import", "sales.csv", "--table", "sales", "--schema", "raw", "--map", "Customer Name=customer", "--wait"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^Imported 3 rows into raw\.sales in [\d.]+ (ms|s)\n$/)
    const lines = result.stderr.trim().split("\n")
    expect(lines[0]).toMatch(/^uploading sales\.csv: /)
    expect(lines).toContainEqual(expect.stringMatching(/^Uploaded sales\.csv \(csv, \d+ B\) as [0-9a-f-]{36}$/))
    expect(lines.at(-1)).toBe("sales.csv: COMPLETED, 3 records")
    expect(new Set(lines).size).toBe(lines.length)
    expect(result.stderr).not.toContain("\r")
    expect(result.stderr).not.toMatch(/\[#*\.*\]/)
    expect(existsSync(path.join(elsewhere(), "pg"))).toBe(false)
  }, 120_000)

  it("--json: only the API's JSON on stdout, for a script to parse", async () => {
    const imported = await remote(["import", at("sales.csv"), "--table", "sales", "--schema", "raw", "--wait", "--json",
      "--url", `${service.baseUrl}/api/v1/`, "--token", token])
    expect(imported.code, imported.stderr).toBe(0)
    expect(imported.stderr).toBe("")
    const status = JSON.parse(imported.stdout)
    expect(status).toMatchObject({ fileName: "sales.csv", status: "COMPLETED", recordsImported: 3, targetSchema: "raw", targetTableName: "sales", error: null })
    const again = await remote(["files", "status", status.id, "--json"])
    expect(JSON.parse(again.stdout)).toEqual(status)
    const history = JSON.parse((await remote(["files", "list", "--json", "--size", "1"])).stdout)
    expect(history).toMatchObject({ size: 1, content: [{ id: status.id, status: "COMPLETED", fileFormat: "csv" }] })
    const types = await remote(["connector-types", "--json"])
    expect(JSON.parse(types.stdout)).toContain("postgres")
  }, 120_000)

  it("exit codes carry the service's message: auth 4, not found 5, refused 3, usage 2; stdout stays empty", async () => {
    const badToken = await remote(["sources", "list"], { INGEST_TOKEN: "not.a.jwt" })
    expect(badToken.code).toBe(4)
    expect(badToken.stderr).toContain("Token is malformed (HTTP 401)")
    const otherTenant = await remote(["sources", "list", "--tenant", "7d0c9a52-3b1e-4f6a-8c2d-5e4f3a2b1c0d"])
    expect(otherTenant.code).toBe(4)
    expect(otherTenant.stderr).toContain("The token does not grant access to tenant 7d0c9a52-3b1e-4f6a-8c2d-5e4f3a2b1c0d (HTTP 403)")
    const missing = await remote(["syncs", "get", "5f1c6e1e-8a51-4d59-9a43-3f8d2c1b7a10"])
    expect(missing.code).toBe(5)
    expect(missing.stderr).toContain("Sync 5f1c6e1e-8a51-4d59-9a43-3f8d2c1b7a10 not found (HTTP 404)")
    const refused = await remote(["files", "upload", at("bad.bin"), "--json"])
    expect(refused.code).toBe(3)
    expect(refused.stderr).toContain("Cannot detect the format of \"bad.bin\"")
    const usage = await remote(["sources", "list", "--url", "ftp://example"])
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain("must be an http:// or https:// URL")
    const unreachable = await remote(["sources", "list"], { INGEST_URL: `http://127.0.0.1:${await freePort()}` })
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toContain("Cannot reach the service at http://127.0.0.1:")
    for (const r of [badToken, otherTenant, missing, refused, usage, unreachable]) {
      expect(r.stdout).toBe("")
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
  }, 120_000)

  it("many files and a pattern into one table: a JSON summary and an exit naming the file that did not import", async () => {
    const result = await spawned(["import", "parts/*.csv", "bad.bin", "--table", "orders", "--wait", "--json", "--concurrency", "2"])
    expect(result.code).toBe(3)
    const summary = JSON.parse(result.stdout) as Array<Record<string, unknown>>
    expect(summary.map((s) => [s["file"], s["status"], s["recordsImported"]])).toEqual([
      ["parts/p1.csv", "COMPLETED", 2],
      ["parts/p2.csv", "COMPLETED", 1],
      ["bad.bin", "REFUSED", null]
    ])
    expect(summary[2]!["error"]).toContain("Cannot detect the format")
    expect(result.stderr).toContain("1 of 3 files did not import: bad.bin")

    const human = await remote(["import", at("parts/p1.csv"), at("parts/p2.csv"), "--table", "orders", "--wait"])
    expect(human.code, human.stderr).toBe(0)
    const [header, ...rows] = human.stdout.trim().split("\n")
    expect(header).toMatch(/^FILE\s+STATUS\s+ROWS\s+TABLE\s+ERROR$/)
    expect(rows).toEqual([
      expect.stringMatching(/\/parts\/p1\.csv\s+COMPLETED\s+2\s+default\.orders\s+-$/),
      expect.stringMatching(/\/parts\/p2\.csv\s+COMPLETED\s+1\s+default\.orders\s+-$/)
    ])
    // Without a TTY each file's states are lines of their own, never repeated.
    const lines = human.stderr.trim().split("\n")
    expect(new Set(lines).size).toBe(lines.length)
    expect(lines).toContain("p1.csv: COMPLETED, 2 records")
    expect(lines).toContain("p2.csv: COMPLETED, 1 records")
  }, 120_000)

  it("a connector end to end: source, discover, connection, then syncs trigger --wait with one line per state", async () => {
    const sourceDb = createTestDatabase("ingest_cli_src")
    try {
      sourceDb.exec("CREATE TABLE public.items (id bigint PRIMARY KEY, name text); INSERT INTO public.items SELECT i, 'item ' || i FROM generate_series(1, 100) AS i;")
      const config = { host: pgHost, port: pgPort, database: sourceDb.name, username: pgUser, password: "x", ssl_mode: "disable" }
      const source = JSON.parse((await remote(["sources", "create", "--name", "shop", "--type", "postgres", "--config", JSON.stringify(config), "--json"])).stdout)
      const streams = JSON.parse((await remote(["sources", "discover", source.id, "--json"])).stdout).streams as Array<{ name: string }>
      expect(streams.map((s) => s.name)).toEqual(["public.items"])
      const connection = JSON.parse((await remote(["connections", "create", "--source", source.id, "--name", "items", "--json"])).stdout)
      const sync = await remote(["syncs", "trigger", connection.id, "--wait"])
      expect(sync.code, sync.stderr).toBe(0)
      expect(sync.stdout).toMatch(/^status:\s+SUCCEEDED$/m)
      expect(sync.stdout).toMatch(/^recordsSynced:\s+100$/m)
      const lines = sync.stderr.trim().split("\n")
      expect(lines[0]).toMatch(/^Started sync [0-9a-f-]{36}$/)
      expect(lines.at(-2)).toMatch(/^sync of items: SUCCEEDED, 100 records, /)
      expect(lines.at(-1)).toMatch(/^Synced 100 records of items in /)
      expect(new Set(lines).size).toBe(lines.length)
    } finally {
      sourceDb.drop()
    }
  }, 120_000)

  it("profiles: kept in a file only the user can read, used by every command, tokens never printed", async () => {
    const home = path.join(dir, "profile-home")
    mkdirSync(home)
    const withProfile = (args: ReadonlyArray<string>) =>
      runCli(noLocalApp, args, { HOME: home, INGEST_DATA_DIR: elsewhere(), INGEST_TENANT_ID: tenant })
    const added = await withProfile(["profile", "add", "staging", "--url", service.baseUrl, "--token", token])
    expect(added.code, added.stderr).toBe(0)
    const file = path.join(home, ".config", "ingest", "config.json")
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const listed = await withProfile(["profile", "list", "--json"])
    expect(JSON.parse(listed.stdout)).toEqual([{ name: "staging", url: service.baseUrl, token: true, current: true }])
    expect(listed.stdout).not.toContain(token)
    const sources = await withProfile(["sources", "list", "--json"])
    expect(sources.code, sources.stderr).toBe(0)
    expect(JSON.parse(sources.stdout)).toEqual(JSON.parse((await remote(["sources", "list", "--json"])).stdout))
    chmodSync(file, 0o644)
    const exposed = await withProfile(["sources", "list"])
    expect(exposed.code).toBe(2)
    expect(exposed.stderr).toContain(`chmod 600 ${file}`)
  }, 120_000)
})

describe("ingest beside a service started like npm start on the same data dir", () => {
  let server: ChildProcess
  let baseUrl: string
  let data: string
  let serverLog = ""

  beforeAll(async () => {
    data = path.join(dir, "shared-data")
    const port = await freePort()
    baseUrl = `http://127.0.0.1:${port}`
    server = spawn(node, ["--max-semi-space-size=4", "--heap-growing-percent=20", path.join(repoRoot, "packages/http/src/main.ts")], {
      cwd: dir,
      env: { PATH: process.env["PATH"] ?? "", HOME: dir, INGEST_DATA_DIR: data, INGEST_PORT: String(port), INGEST_HOST: "127.0.0.1", INGEST_LOG_LEVEL: "Warn" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    server.stdout!.on("data", (chunk) => (serverLog += chunk))
    server.stderr!.on("data", (chunk) => (serverLog += chunk))
    const deadline = Date.now() + 90_000
    for (;;) {
      if (server.exitCode !== null) throw new Error(`The service exited while starting:\n${serverLog}`)
      const ready = await fetch(`${baseUrl}/health/ready`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status === 200, () => false)
      if (ready && existsSync(path.join(data, "service.json"))) break
      if (Date.now() > deadline) throw new Error(`The service did not become ready:\n${serverLog}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }, 120_000)

  afterAll(async () => {
    if (server !== undefined && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once("exit", resolve))
      server.kill("SIGTERM")
      await exited
    }
  }, 60_000)

  it("the README's import works as written while the service runs: through its API, with a minted dev token", async () => {
    const address = JSON.parse(readFileSync(path.join(data, "service.json"), "utf8"))
    expect(address).toEqual({ pid: server.pid, url: baseUrl, auth: "dev" })
    expect(statSync(path.join(data, "service.json")).mode & 0o777).toBe(0o600)

    const env = { HOME: dir, INGEST_DATA_DIR: data }
    const human = await spawnIngest(
      ["import", "sales.csv", "--table", "sales", "--schema", "raw", "--map", "Customer Name=customer", "--wait", "--tenant", tenant],
      { cwd: dir, env }
    )
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toMatch(/^Imported 3 rows into raw\.sales in /)
    expect(human.stderr).not.toContain("in use")

    const json = await spawnIngest(["import", "sales.csv", "--table", "sales", "--schema", "raw", "--wait", "--json", "--tenant", tenant], { cwd: dir, env })
    expect(json.code, json.stderr).toBe(0)
    const status = JSON.parse(json.stdout)
    expect(status).toMatchObject({ status: "COMPLETED", recordsImported: 3 })
    // The service itself answers for that import: it ran there.
    const token = (await spawnIngest(["token", "--tenant", tenant], { cwd: dir, env })).stdout.trim()
    const answer = await fetch(`${baseUrl}/api/v1/files/${status.id}/status`, {
      headers: { authorization: `Bearer ${token}`, "x-tenant-id": tenant }
    })
    expect(await answer.json()).toEqual(status)

    const refused = await spawnIngest(["files", "upload", "bad.bin", "--tenant", tenant], { cwd: dir, env })
    expect(refused.code).toBe(3)
    expect(refused.stderr).toContain("Cannot detect the format")
  }, 180_000)
})
