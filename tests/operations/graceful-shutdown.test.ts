import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync, rmSync, writeFileSync } from "node:fs"
import { request } from "node:http"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually, readLakeTable, tenantNamespaceOf } from "../support/lake.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { prepareServiceProcess } from "../support/process.ts"

// SIGTERM to the service process while an upload is in flight and an import runs, as Kubernetes
// stops a pod: readiness turns 503 at once, the upload is still answered 201, the process exits 0
// within the grace, the import's job is finished or handed back to the queue (not left to its
// lease), and after a restart the import completes with every row exactly once.

const tenant = "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7"
const rows = 1_000_000
const graceSeconds = 3
const repoRoot = path.resolve(import.meta.dirname, "../..")

let stateDb: ReturnType<typeof createTestDatabase>
let dir: string
let port: number
let env: Record<string, string>
let token: string
let child: ChildProcess | undefined
let stdout = ""

const startProcess = async () => {
  stdout = ""
  const proc = spawn(path.join(repoRoot, "node_modules/.bin/node"), ["packages/http/src/main.ts"], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"]
  })
  proc.stdout!.on("data", (chunk) => (stdout += String(chunk)))
  await eventually(
    () => fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status, () => 0),
    (status) => status === 200,
    90_000
  )
  return proc
}

const call = async (method: string, url: string) => {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "x-tenant-id": tenant }
  })
  return { status: res.status, body: await res.json() as any }
}

/** A multipart upload whose body is written in two halves, the second when `finish` is called. */
const slowUpload = (name: string, content: string, requestId: string) => {
  const boundary = "----ingest-shutdown-test"
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/csv\r\n\r\n`
  const tail = `\r\n--${boundary}--\r\n`
  const half = Math.floor(content.length / 2)
  let resolveAnswer: (answer: { status: number; body: any }) => void = () => {}
  const answer = new Promise<{ status: number; body: any }>((resolve) => (resolveAnswer = resolve))
  const req = request({
    host: "127.0.0.1",
    port,
    method: "POST",
    path: "/api/v1/files/upload",
    headers: {
      authorization: `Bearer ${token}`,
      "x-tenant-id": tenant,
      "x-request-id": requestId,
      "content-type": `multipart/form-data; boundary=${boundary}`,
      "content-length": Buffer.byteLength(head + content + tail)
    }
  }, (res) => {
    let text = ""
    res.on("data", (chunk) => (text += String(chunk)))
    res.on("end", () => {
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {
        // not JSON: the assertion shows the text
      }
      resolveAnswer({ status: res.statusCode ?? 0, body })
    })
  })
  req.write(head + content.slice(0, half))
  return { answer, finish: () => req.end(content.slice(half) + tail) }
}

beforeAll(async () => {
  stateDb = createTestDatabase()
  ;({ dir, port, env, token } = await prepareServiceProcess({
    prefix: "ingest-sigterm-",
    databaseUrl: stateDb.url,
    tenant,
    env: {
      // A long lease: the restarted process resumes the import because it was handed back, not
      // because its lease ran out.
      INGEST_JOB_LEASE_SECONDS: "600",
      INGEST_SHUTDOWN_GRACE_SECONDS: String(graceSeconds),
      INGEST_LOG_FORMAT: "json",
      INGEST_LOG_LEVEL: "Info"
    }
  }))
  const lines = ["id,name,amount"]
  for (let i = 1; i <= rows; i++) lines.push(`${i},name ${i},${(i % 1000) + 0.25}`)
  writeFileSync(path.join(dir, "big.csv"), lines.join("\n") + "\n")
  child = await startProcess()
}, 180_000)

afterAll(async () => {
  child?.kill("SIGKILL")
  stateDb?.drop()
  rmSync(dir, { recursive: true, force: true })
})

describe("SIGTERM during an upload and an import", () => {
  it("answers the upload, exits 0 within the grace, and the import completes exactly once after a restart", async () => {
    const form = new FormData()
    form.append("file", new Blob([readFileSync(path.join(dir, "big.csv"))]), "big.csv")
    const uploaded = await fetch(`http://127.0.0.1:${port}/api/v1/files/upload`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "x-tenant-id": tenant },
      body: form
    })
    expect(uploaded.status).toBe(201)
    const id = ((await uploaded.json()) as { id: string }).id
    expect((await call("POST", `/api/v1/files/${id}/import`)).status).toBe(202)
    await eventually(() => call("GET", `/api/v1/files/${id}/status`), (r) => (r.body.recordsImported ?? 0) > 0 || r.body.status !== "IMPORTING")

    const upload = slowUpload("late.csv", "a,b\n1,2\n3,4\n", "upload-during-shutdown")
    // The first half has reached the server once readiness still answers (same connection order).
    expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200)

    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      child!.once("exit", (code) => resolve({ code, at: performance.now() }))
    )
    const signalledAt = performance.now()
    child!.kill("SIGTERM")

    const ready = await eventually(
      () => fetch(`http://127.0.0.1:${port}/health/ready`).then(async (r) => ({ status: r.status, body: await r.json() }), () => undefined),
      (r) => r === undefined || r.status === 503
    )
    expect(ready).toEqual({ status: 503, body: { status: "DOWN", reason: "shutting down" } })

    upload.finish()
    const answer = await upload.answer
    const answeredAt = performance.now()
    expect(answer.status).toBe(201)
    expect(answer.body).toMatchObject({ fileName: "late.csv", status: "UPLOADED" })

    const { code, at } = await exited
    const exitSeconds = (at - signalledAt) / 1000
    console.log(
      `SIGTERM → upload answered ${((answeredAt - signalledAt) / 1000).toFixed(2)} s, process exited ${exitSeconds.toFixed(2)} s (grace ${graceSeconds} s)`
    )
    expect(code).toBe(0)
    expect(exitSeconds).toBeLessThan(graceSeconds + 5)

    // Every log line of the upload carries its request id (JSON logs).
    const uploadLines = stdout.split("\n").filter((l) => l.includes("upload-during-shutdown")).map((l) => JSON.parse(l))
    expect(uploadLines.map((l) => l.message)).toContainEqual(expect.stringMatching(/^POST \/api\/v1\/files\/upload 201 \d+ ms$/))
    for (const line of uploadLines) expect(line.annotations.requestId).toBe("upload-during-shutdown")

    // The import's job either finished within the grace or went back to the queue at once.
    const job = stateDb.exec(`SELECT status || ',' || attempt || ',' || coalesce(lease_owner, '-') FROM jobs WHERE ref_id = '${id}'`).trim()
    console.log(`import job after SIGTERM: ${job}`)
    expect(["done,1,-", "queued,1,-"]).toContain(job)

    child = await startProcess()
    const done = await eventually(() => call("GET", `/api/v1/files/${id}/status`), (r) => r.body.status !== "IMPORTING", 150_000)
    expect(done.body).toMatchObject({ status: "COMPLETED", recordsImported: rows, error: null })
    const table = await readLakeTable(stateDb.url, env.INGEST_DATA_DIR!, [tenantNamespaceOf(tenant), "default"], "big")
    expect(table?.rows).toHaveLength(rows)
    expect(new Set(table?.rows.map((r) => r["id"])).size).toBe(rows)
  }, 300_000)
})
