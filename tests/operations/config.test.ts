import { assert, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { createConnection } from "node:net"
import { checkConfigOf } from "@ingest/adapters/config"
import { eventually } from "../support/lake.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { freePort } from "../support/server.ts"

// Fail fast: every problem of the configuration at once, each naming its variable and what it
// needs, before the port opens; the process exits non-zero.

const problemsOf = (env: Record<string, string>) =>
  checkConfigOf(env).pipe(Effect.flip, Effect.map((error) => error.problems))

describe("configuration check", () => {
  it.effect("the embedded defaults need no variable", () =>
    Effect.gen(function*() {
      const config = yield* checkConfigOf({})
      assert.strictEqual(config.port, 8113)
      assert.strictEqual(config.engine, "local")
      assert.strictEqual(config.shutdownGraceSeconds, 30)
      assert.strictEqual(config.logFormat, "text")
    }))

  it.effect("lists every problem at once, each with the variable and what it needs", () =>
    Effect.gen(function*() {
      const problems = yield* problemsOf({
        INGEST_PORT: "http",
        INGEST_LOG_FORMAT: "xml",
        INGEST_WORKER_CONCURRENCY: "0",
        INGEST_METRICS_PORT: "8113",
        INGEST_WAREHOUSE_URL: "ftp://lake",
        INGEST_CATALOG: "hive",
        OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318",
        DATABASE_URL: "mysql://user:hunter2@db/x",
        INGEST_SECRET_KEY: "c2hvcnQ="
      })
      assert.deepStrictEqual(problems, [
        "INGEST_PORT=http is not valid: needs a TCP port, 1-65535",
        "INGEST_LOG_FORMAT=xml is not valid: needs \"text\" or \"json\"",
        "INGEST_WORKER_CONCURRENCY=0 is out of range: needs 1-1000",
        "DATABASE_URL is not a PostgreSQL URL: needs postgres://user:password@host:5432/database (or leave it unset for the embedded database)",
        "INGEST_WAREHOUSE_URL: unsupported storage URL \"ftp://lake\": use file://, s3:// or a path",
        "INGEST_CATALOG=hive: needs \"sql\" (the catalog in the service database) or \"rest:<http(s) URL>\" of an Iceberg REST catalog",
        "OTEL_EXPORTER_OTLP_ENDPOINT=collector:4318: needs an http(s) URL of an OTLP/HTTP collector, e.g. http://otel-collector:4318",
        "INGEST_SECRET_KEY decodes to 5 bytes; expected exactly 32 (e.g. `openssl rand -base64 32`)"
      ])
      assert.isFalse(problems.join("\n").includes("hunter2"), "a secret is never echoed")
    }))

  it.effect("the metrics port must differ from the API port", () =>
    Effect.gen(function*() {
      const problems = yield* problemsOf({ INGEST_PORT: "9000", INGEST_METRICS_PORT: "9000" })
      assert.deepStrictEqual(problems, [
        "INGEST_METRICS_PORT=9000 is the API port: needs another port, or leave it unset to serve /metrics on INGEST_PORT"
      ])
    }))

  it.effect("the Airbyte engine names every missing variable in one sentence", () =>
    Effect.gen(function*() {
      const problems = yield* problemsOf({ INGEST_ENGINE: "airbyte", AIRBYTE_API_URL: "http://127.0.0.1:1/api/public/v1" })
      assert.strictEqual(problems.length, 1)
      assert.match(problems[0]!, /^INGEST_ENGINE=airbyte needs AIRBYTE_CLIENT_ID, AIRBYTE_CLIENT_SECRET and AIRBYTE_ICEBERG_WAREHOUSE: /)
      assert.match(problems[0]!, /client id of an Airbyte application/)
    }))

  it.effect("a complete Airbyte configuration passes", () =>
    Effect.gen(function*() {
      const config = yield* checkConfigOf({
        INGEST_ENGINE: "airbyte",
        AIRBYTE_API_URL: "http://127.0.0.1:1/api/public/v1",
        AIRBYTE_CLIENT_ID: "id",
        AIRBYTE_CLIENT_SECRET: "secret",
        AIRBYTE_ICEBERG_WAREHOUSE: "s3://lake/warehouse",
        AIRBYTE_ICEBERG_CATALOG_URI: "http://127.0.0.1:2/catalog"
      })
      assert.strictEqual(config.engine, "airbyte")
    }))

  it("the server exits 78 before opening its port and prints every problem", async () => {
    const port = await freePort()
    const child = spawn(process.execPath, ["packages/http/src/main.ts"], {
      env: { ...process.env, INGEST_PORT: String(port), INGEST_ENGINE: "airbyte", INGEST_SHUTDOWN_GRACE_SECONDS: "-1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stderr = ""
    let stdout = ""
    child.stderr.on("data", (chunk) => (stderr += String(chunk)))
    child.stdout.on("data", (chunk) => (stdout += String(chunk)))
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve))
    assert.strictEqual(code, 78)
    assert.include(stderr, "The configuration is not valid (2 problems):")
    assert.include(stderr, "INGEST_SHUTDOWN_GRACE_SECONDS=-1 is out of range: needs 0-3600 seconds")
    assert.include(stderr, "INGEST_ENGINE=airbyte needs AIRBYTE_API_URL, AIRBYTE_CLIENT_ID, AIRBYTE_CLIENT_SECRET and AIRBYTE_ICEBERG_WAREHOUSE")
    assert.notInclude(stdout, "listening")
    const refused = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: "127.0.0.1" })
      socket.once("connect", () => (socket.destroy(), resolve(false)))
      socket.once("error", () => resolve(true))
    })
    assert.isTrue(refused, "nothing listens on the port")
  })

  it("`ingest serve` starts as `npm start` does: a bad configuration exits 78 before opening the port, listing every problem once", async () => {
    const port = await freePort()
    const child = spawn(process.execPath, ["packages/cli/src/main.ts", "serve"], {
      env: { ...process.env, INGEST_PORT: String(port), INGEST_ENGINE: "airbyte", INGEST_SHUTDOWN_GRACE_SECONDS: "-1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stderr = ""
    let stdout = ""
    child.stderr.on("data", (chunk) => (stderr += String(chunk)))
    child.stdout.on("data", (chunk) => (stdout += String(chunk)))
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve))
    assert.strictEqual(code, 78)
    assert.strictEqual(stdout, "")
    assert.strictEqual(stderr.split("The configuration is not valid (2 problems):").length, 2, `printed once:\n${stderr}`)
    assert.include(stderr, "INGEST_SHUTDOWN_GRACE_SECONDS=-1 is out of range: needs 0-3600 seconds")
    assert.include(stderr, "INGEST_ENGINE=airbyte needs AIRBYTE_API_URL, AIRBYTE_CLIENT_ID, AIRBYTE_CLIENT_SECRET and AIRBYTE_ICEBERG_WAREHOUSE")
    assert.notInclude(stderr, "listening")
    const refused = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: "127.0.0.1" })
      socket.once("connect", () => (socket.destroy(), resolve(false)))
      socket.once("error", () => resolve(true))
    })
    assert.isTrue(refused, "nothing listens on the port")
  })

  it("`ingest serve` stopped by SIGTERM drains and exits 0, as `npm start` does", async () => {
    const db = createTestDatabase()
    const dataDir = mkdtempSync(path.join(tmpdir(), "ingest-serve-"))
    try {
      const port = await freePort()
      const child = spawn(process.execPath, ["packages/cli/src/main.ts", "serve"], {
        env: { ...process.env, INGEST_PORT: String(port), INGEST_HOST: "127.0.0.1", INGEST_DATA_DIR: dataDir, DATABASE_URL: db.url, INGEST_LOG_LEVEL: "Info" },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stderr.on("data", (chunk) => (output += String(chunk)))
      child.stdout.on("data", (chunk) => (output += String(chunk)))
      const exited = new Promise<number | null>((resolve) => child.on("exit", resolve))
      await eventually(
        () => fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status, () => 0),
        (status) => status === 200,
        60_000
      )
      child.kill("SIGTERM")
      assert.strictEqual(await exited, 0, output)
      assert.include(output, "Shutting down: draining")
      assert.include(output, "Stopped: database closed")
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
      db.drop()
    }
  })

  it("`ingest config check` runs the same checks without starting anything", () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "ingest-config-"))
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ["packages/cli/src/main.ts", "config", "check"], {
        env: { ...process.env, INGEST_DATA_DIR: dataDir, ...env },
        encoding: "utf8"
      })
    const bad = run({ INGEST_ENGINE: "airbyte", INGEST_RUN_WORKERS: "sometimes" })
    expect(bad.status).toBe(78)
    expect(bad.stdout).toBe("")
    expect(bad.stderr).toContain("The configuration is not valid (2 problems):")
    expect(bad.stderr).toContain("INGEST_RUN_WORKERS=sometimes is not valid: needs true or false")
    expect(bad.stderr).toContain("INGEST_ENGINE=airbyte needs AIRBYTE_API_URL, AIRBYTE_CLIENT_ID, AIRBYTE_CLIENT_SECRET and AIRBYTE_ICEBERG_WAREHOUSE")

    const good = run({ DATABASE_URL: "postgres://ingest:s3cret@db.internal:5432/ingest" })
    expect(good.status).toBe(0)
    expect(good.stdout).toContain("The configuration is valid.")
    expect(good.stdout).toContain("database      db.internal:5432/ingest")
    expect(good.stdout).not.toContain("s3cret")
    rmSync(dataDir, { recursive: true, force: true })
  })
})
