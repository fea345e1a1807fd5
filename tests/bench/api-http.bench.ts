/**
 * API throughput benchmark: autocannon against the real service (a child process started like
 * `npm start`, on the machine's PostgreSQL) and, in the same run, against a bare node:http + pg +
 * jose twin (support/bare-twin.ts) that answers the same requests from the same database with the
 * same checks and the same JSON. Endpoints: `GET /api/v1/sources` for tenants with 0, 10 and 100
 * sources, and `GET /api/v1/sources/{id}`. Pairs alternate which side goes first; the medians of
 * the pairs' req/s and of their ratios are printed with every input.
 *
 *   npm run bench:http
 *
 * Environment:
 *   BENCH_SECONDS      duration of each measured autocannon run (default 5; each is preceded by a 1 s warm-up)
 *   BENCH_CONNECTIONS  concurrent connections (default 10)
 *   BENCH_RUNS         pairs per endpoint (default 3)
 */
import autocannon from "autocannon"
import { spawn } from "node:child_process"
import * as Os from "node:os"
import { isDeepStrictEqual } from "node:util"
import { createTestDatabase } from "../support/postgres.ts"
import { freePort, ISSUER } from "../support/server.ts"
import { fmt } from "./support/measure.ts"
import { loadAverage, processCpuMs, startCommand, startServiceProcess } from "./support/service-process.ts"

const seconds = Number(process.env.BENCH_SECONDS ?? 5)
if (!Number.isFinite(seconds) || seconds < 1 || seconds > 600) throw new Error("BENCH_SECONDS must be 1..600")
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10)
if (!Number.isSafeInteger(connections) || connections < 1 || connections > 1000) throw new Error("BENCH_CONNECTIONS must be 1..1000")
const runs = Number(process.env.BENCH_RUNS ?? 3)
if (!Number.isSafeInteger(runs) || runs < 1 || runs > 20) throw new Error("BENCH_RUNS must be an integer 1..20")

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const load = (url: string, headers: Record<string, string>, duration: number) =>
  new Promise<autocannon.Result>((resolve, reject) => {
    autocannon({ url, headers, connections, duration }, (error, result) => (error ? reject(error) : resolve(result)))
  })

/** req/s and latency seen by autocannon, and the server process's own CPU time per request (robust to a busy machine). */
const measure = async (url: string, headers: Record<string, string>, pid: number) => {
  await load(url, headers, 1)
  const cpuBefore = processCpuMs(pid)
  const r = await load(url, headers, seconds)
  const cpuMs = processCpuMs(pid) - cpuBefore
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) throw new Error(`${url}: ${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts`)
  return { rps: r.requests.average, p99: r.latency.p99, cpuUs: (cpuMs * 1000) / r.requests.total }
}
type Measured = Awaited<ReturnType<typeof measure>>

const startTwin = async (databaseUrl: string, jwksPath: string) => {
  const port = await freePort()
  const script = new URL("./support/bare-twin.ts", import.meta.url).pathname
  const child = spawn(process.execPath, [...startCommand().nodeFlags, script, databaseUrl, jwksPath, ISSUER, String(port)], {
    env: { ...process.env, ...startCommand().env },
    stdio: ["ignore", "pipe", "inherit"]
  })
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve())
    child.once("exit", (code) => reject(new Error(`the twin exited (${code})`)))
  })
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () => new Promise<void>((resolve) => {
      child.once("exit", () => resolve())
      child.kill("SIGTERM")
    })
  }
}

const main = async () => {
  console.log(`load average at start: ${loadAverage()}`)
  console.log(`machine: ${Os.cpus().length} CPUs (${Os.cpus()[0]?.model ?? "?"}), node ${process.version}; ` +
    `autocannon ${connections} connections, ${seconds} s per run after a 1 s warm-up, ${runs} pair(s) per endpoint, in this process`)
  const database = createTestDatabase("bench_http")
  const service = await startServiceProcess({ DATABASE_URL: database.url })
  const twin = await startTwin(database.url, service.keys.jwksPath)
  console.log(`service: pid ${service.pid} (as npm start, DATABASE_URL = ${database.name} on 127.0.0.1:5432, pool 10); ` +
    `twin: node:http + pg (pool 10) + jose, same database, same JWKS and checks`)
  const rows: Array<{ label: string; service: Array<Measured>; twin: Array<Measured>; ratios: Array<number> }> = []
  try {
    // Tenants with 0, 10 and 100 sources, created through the API.
    const endpoints: Array<{ label: string; path: string; tenant: string; token: string }> = []
    for (const count of [0, 10, 100]) {
      const tenant = crypto.randomUUID()
      const token = await service.token(tenant)
      let lastId = ""
      for (let i = 0; i < count; i++) {
        const res = await fetch(`${service.baseUrl}/api/v1/sources`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "x-tenant-id": tenant, "content-type": "application/json" },
          body: JSON.stringify({
            name: `orders-db-${i}`,
            description: i % 2 === 0 ? `replica ${i} of the orders database` : null,
            connectorType: "postgres",
            connectionConfig: { host: "127.0.0.1", port: 5432, database: "test", username: "postgres", password: `secret-${i}`, schemas: ["public"] }
          })
        })
        const body = (await res.json()) as { id: string }
        if (res.status !== 201 && res.status !== 200) throw new Error(`POST /sources answered ${res.status}: ${JSON.stringify(body)}`)
        lastId = body.id
      }
      endpoints.push({ label: `GET /api/v1/sources (${count} rows)`, path: "/api/v1/sources", tenant, token })
      if (count === 100) endpoints.push({ label: "GET /api/v1/sources/{id}", path: `/api/v1/sources/${lastId}`, tenant, token })
    }
    for (const e of endpoints) {
      const headers = { authorization: `Bearer ${e.token}`, "x-tenant-id": e.tenant }
      // The twin must answer exactly what the service answers.
      const [a, b] = await Promise.all([service.baseUrl, twin.baseUrl].map(async (base) => {
        const res = await fetch(`${base}${e.path}`, { headers })
        return { status: res.status, body: await res.json() }
      }))
      if (a!.status !== 200 || !isDeepStrictEqual(a, b)) throw new Error(`${e.label}: the twin's answer differs from the service's:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`)
      const row = { label: e.label, service: [] as Array<Measured>, twin: [] as Array<Measured>, ratios: [] as Array<number> }
      for (let run = 0; run < runs; run++) {
        const order = run % 2 === 0 ? ["service", "twin"] as const : ["twin", "service"] as const
        const got: Record<string, Measured> = {}
        for (const side of order) {
          got[side] = await measure(`${side === "service" ? service.baseUrl : twin.baseUrl}${e.path}`, headers, side === "service" ? service.pid : twin.pid)
        }
        row.service.push(got["service"]!)
        row.twin.push(got["twin"]!)
        row.ratios.push(got["service"]!.rps / got["twin"]!.rps)
        console.log(`  ${e.label} pair ${run + 1}/${runs}: service ${fmt(got["service"]!.rps, 0)} req/s (p99 ${got["service"]!.p99} ms, ` +
          `${fmt(got["service"]!.cpuUs, 0)} µs CPU/request), twin ${fmt(got["twin"]!.rps, 0)} req/s (p99 ${got["twin"]!.p99} ms, ` +
          `${fmt(got["twin"]!.cpuUs, 0)} µs CPU/request): ${fmt(100 * got["service"]!.rps / got["twin"]!.rps, 0)} %`)
      }
      rows.push(row)
    }
  } finally {
    await twin.stop()
    await service.stop()
    database.drop()
  }
  const line = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`
  console.log(`\n=== API throughput: medians of ${runs} pair(s), ${connections} connections, ${seconds} s each ===`)
  console.log(line(["endpoint", "service req/s", "service p99", "service CPU/request", "twin req/s", "twin p99", "twin CPU/request", "service ÷ twin (req/s)", "twin ÷ service (CPU/request)"]))
  console.log(line(Array(9).fill("---")))
  for (const r of rows) {
    console.log(line([
      r.label,
      fmt(median(r.service.map((x) => x.rps)), 0),
      `${fmt(median(r.service.map((x) => x.p99)), 0)} ms`,
      `${fmt(median(r.service.map((x) => x.cpuUs)), 0)} µs`,
      fmt(median(r.twin.map((x) => x.rps)), 0),
      `${fmt(median(r.twin.map((x) => x.p99)), 0)} ms`,
      `${fmt(median(r.twin.map((x) => x.cpuUs)), 0)} µs`,
      `${fmt(100 * median(r.ratios), 0)} %`,
      `${fmt(100 * median(r.service.map((x, i) => r.twin[i]!.cpuUs / x.cpuUs)), 0)} %`
    ]))
  }
  console.log(`CPU/request: the server process's own CPU time (all threads, from /proc) over the requests it served; ` +
    `on a busy machine it moves less than req/s.`)
  console.log(`bar: GET /api/v1/sources (100 rows) ≥ 50 % of the twin's req/s`)
  console.log(`\nload average at end: ${loadAverage()}`)
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
