/**
 * Sync benchmark: a 1 M-row postgres table synced FULL_REFRESH by the local engine into an
 * Iceberg table, against `psql … COPY (SELECT …) TO STDOUT > /dev/null` on the same table.
 *
 *   npx tsx tests/bench/sync.bench.ts            (ROWS=… to change the size;
 *                                                  BENCH_WRITER=drain to time the read side alone)
 *
 * Bar: the sync reaches ≥ 20 % of COPY's rows/s; goal ≥ 50 %. The Iceberg catalog lives in a
 * scratch database (dropped afterwards), the warehouse in a temp directory.
 * Uses the machine's PostgreSQL (127.0.0.1:5432, user postgres, database test); the table
 * `ingest_bench.sync_<rows>` is created once and reused.
 */
import type { LocalSyncInput, TableWriterService } from "@ingest/adapters/engine/index"
import { makeLocalEngine, makeMemorySyncStateStore, runLocalSync } from "@ingest/adapters/engine/index"
import type { Connection, Source, Sync } from "@ingest/domain"
import { ConnectionId, SourceId, SyncId, TenantId } from "@ingest/domain"
import { DateTime, Effect, Option, Stream } from "effect"
import { execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as FsPromises from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { makeIcebergWriter } from "../engine/support/iceberg.ts"
import { createTestDatabase } from "../support/postgres.ts"

const rows = Number(process.env.ROWS ?? 1_000_000)
if (!Number.isInteger(rows) || rows < 1 || rows > 100_000_000) throw new Error("ROWS must be an integer 1..100000000")
const pg = { host: "127.0.0.1", port: 5432, user: "postgres", database: "test" }
const schema = "ingest_bench"
const table = `sync_${rows}`
const qualified = `${schema}.${table}`

const psql = (sql: string) =>
  execFileSync("psql", ["-h", pg.host, "-p", String(pg.port), "-U", pg.user, "-d", pg.database, "-v", "ON_ERROR_STOP=1", "-qtAc", sql], {
    encoding: "utf8"
  }).trim()

const ensureTable = () => {
  psql(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
  const exists = psql(`SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = '${schema}' AND c.relname = '${table}'`) === "1"
  if (exists && Number(psql(`SELECT count(*) FROM ${qualified}`)) === rows) return "reused"
  psql(`DROP TABLE IF EXISTS ${qualified}`)
  psql(`CREATE TABLE ${qualified} AS
    SELECT g::bigint AS id,
           (g % 1000)::int AS quantity,
           round((g * 1.37)::numeric % 100000, 2)::numeric(12,2) AS amount,
           (g * 0.001)::float8 AS price,
           'customer ' || g AS name,
           md5(g::text) AS note,
           timestamp '2024-01-01' + g * interval '1 second' AS created_at,
           timestamptz '2024-01-01 00:00:00+00' + g * interval '1 millisecond' AS updated_at
    FROM generate_series(1, ${rows}) g`)
  psql(`ALTER TABLE ${qualified} ADD PRIMARY KEY (id)`)
  psql(`VACUUM ANALYZE ${qualified}`)
  return "created"
}

/** Wall time of psql's COPY of the whole table, its text output thrown away. */
const timeCopy = () =>
  new Promise<number>((resolve, reject) => {
    const devNull = Fs.openSync("/dev/null", "w")
    const started = performance.now()
    const child = spawn("psql", ["-h", pg.host, "-p", String(pg.port), "-U", pg.user, "-d", pg.database, "-c",
      `COPY (SELECT * FROM ${qualified}) TO STDOUT`], { stdio: ["ignore", devNull, "inherit"] })
    child.on("error", reject)
    child.on("exit", (code) => {
      Fs.closeSync(devNull)
      if (code === 0) resolve(performance.now() - started)
      else reject(new Error(`psql exited with ${code}`))
    })
  })

/** Drains the batches without writing: `BENCH_WRITER=drain` measures the read side alone. */
const drainingWriter: TableWriterService = {
  write: (request) =>
    Stream.runFold(request.batches, () => 0, (n, batch) => n + batch.length).pipe(
      Effect.map((records) => ({ recordsWritten: records, bytesWritten: 0, snapshotId: "0", alreadyCommitted: false }))
    ),
  describe: () => Effect.succeed(Option.none())
}

/** The real Iceberg writer over a SQL catalog (in a scratch database) and a temp warehouse. */
const makeWriter = async (warehouse: string) => {
  if (process.env.BENCH_WRITER === "drain") {
    return { writer: drainingWriter, label: "draining writer (BENCH_WRITER=drain: read side only)", close: async () => {} }
  }
  const catalogDb = createTestDatabase("ingest_bench_catalog")
  const iceberg = await makeIcebergWriter(catalogDb.url, warehouse)
  return {
    writer: iceberg.writer,
    label: "Iceberg writer (SQL catalog, local warehouse)",
    close: async () => {
      await iceberg.close()
      catalogDb.drop()
    }
  }
}

const directoryBytes = async (dir: string, suffix: string): Promise<number> => {
  let total = 0
  for (const entry of await FsPromises.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(suffix)) total += (await FsPromises.stat(Path.join(entry.parentPath, entry.name))).size
  }
  return total
}

const main = async () => {
  const state = ensureTable()
  console.log(`table ${qualified}: ${rows.toLocaleString("en")} rows (${state})`)

  const now = DateTime.makeUnsafe(Date.now())
  const tenantId = TenantId.make(crypto.randomUUID())
  const source: Source = {
    id: SourceId.make(crypto.randomUUID()), tenantId, name: "bench", description: null, connectorType: "postgres",
    connectionConfig: { host: pg.host, port: pg.port, database: pg.database, username: pg.user, ssl_mode: "disable", schemas: [schema] },
    status: "ACTIVE", lastTestedAt: null, lastError: null, engineRef: null, discovered: null, createdAt: now, updatedAt: now
  }
  const connection: Connection = {
    id: ConnectionId.make(crypto.randomUUID()), tenantId, sourceId: source.id, name: "bench", destinationType: "iceberg",
    syncSchedule: null, selectedStreams: [qualified], syncMode: "FULL_REFRESH", status: "ACTIVE", lastSyncAt: null,
    engineRef: null, nextRunAt: null, createdAt: now, updatedAt: now
  }
  const sync: Sync = {
    id: SyncId.make(crypto.randomUUID()), tenantId, connectionId: connection.id, status: "RUNNING", recordsSynced: null,
    bytesSynced: null, startedAt: now, completedAt: null, durationMs: null, error: null, engineJobId: null, trigger: "manual"
  }
  const streams = await Effect.runPromise(makeLocalEngine().discover(source))

  const copyBefore = await timeCopy()

  const warehouse = await FsPromises.mkdtemp(Path.join(Os.tmpdir(), "ingest-bench-warehouse-"))
  const { writer, label, close } = await makeWriter(warehouse)
  const input: LocalSyncInput = {
    sync, connection, source, streams, state: makeMemorySyncStateStore(), writer,
    namespace: ["bench"], onProgress: () => Effect.void,
    ...(process.env.BATCH_ROWS === undefined ? {} : { batchRows: Number(process.env.BATCH_ROWS) })
  }
  let result: { recordsSynced: number; bytesSynced: number }
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  try {
    result = await Effect.runPromise(runLocalSync(input))
  } finally {
    await close()
  }
  const syncMs = performance.now() - started
  const cpu = process.cpuUsage(cpuBefore)
  const parquetBytes = await directoryBytes(warehouse, ".parquet")
  await FsPromises.rm(warehouse, { recursive: true, force: true })

  const copyAfter = await timeCopy()
  const copyMs = Math.min(copyBefore, copyAfter)
  if (result.recordsSynced !== rows) throw new Error(`synced ${result.recordsSynced} rows, expected ${rows}`)

  const rate = (ms: number) => Math.round(rows / (ms / 1000))
  const ratio = rate(syncMs) / rate(copyMs)
  console.log(`writer: ${label}`)
  console.log(`psql COPY:  ${(copyMs / 1000).toFixed(2)} s  ${rate(copyMs).toLocaleString("en")} rows/s  (runs: ${(copyBefore / 1000).toFixed(2)} s, ${(copyAfter / 1000).toFixed(2)} s)`)
  console.log(`local sync: ${(syncMs / 1000).toFixed(2)} s  ${rate(syncMs).toLocaleString("en")} rows/s  (${(result.bytesSynced / 1e6).toFixed(1)} MB read, ${(parquetBytes / 1e6).toFixed(1)} MB Parquet written)`)
  console.log(`local sync CPU in this process: ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s (machine load average now: ${Os.loadavg()[0]!.toFixed(1)} on ${Os.cpus().length} CPUs)`)
  console.log(`ratio: ${(ratio * 100).toFixed(1)} % of COPY's rows/s (bar 20 %, goal 50 %) — ${ratio >= 0.5 ? "goal met" : ratio >= 0.2 ? "bar met" : "below the bar"}`)
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
