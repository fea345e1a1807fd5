/**
 * Sync benchmark: a 1 M-row postgres table synced FULL_REFRESH by the local engine into an
 * Iceberg table, against `psql … COPY (SELECT …) TO STDOUT > /dev/null` on the same table.
 *
 *   npm run bench:sync        (ROWS=… to change the size; BENCH_RUNS=… pairs, default 3;
 *                              BENCH_WRITER=drain to time the read side alone)
 *
 * Bar: the sync reaches ≥ 40 % of COPY's rows/s; goal ≥ 60 %. Medians of paired runs (COPY, then the sync). The Iceberg catalog lives in a
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
import { loadAverage } from "./support/service-process.ts"

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

const runs = Number(process.env.BENCH_RUNS ?? 3)
if (!Number.isSafeInteger(runs) || runs < 1 || runs > 20) throw new Error("BENCH_RUNS must be an integer 1..20")
const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const main = async () => {
  console.log(`load average at start: ${loadAverage()}`)
  const state = ensureTable()
  console.log(`table ${qualified}: ${rows.toLocaleString("en")} rows (${state}); ${runs} paired run(s): psql COPY, then the sync`)

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
  const streams = await Effect.runPromise(makeLocalEngine().discover(source))

  const pairs: Array<{ copyMs: number; syncMs: number; cpuMs: number; bytes: number; parquetBytes: number }> = []
  let label = ""
  for (let run = 0; run < runs; run++) {
    const copyMs = await timeCopy()
    const sync: Sync = {
      id: SyncId.make(crypto.randomUUID()), tenantId, connectionId: connection.id, status: "RUNNING", recordsSynced: null,
      bytesSynced: null, startedAt: now, completedAt: null, durationMs: null, error: null, engineJobId: null, trigger: "manual"
    }
    const warehouse = await FsPromises.mkdtemp(Path.join(Os.tmpdir(), "ingest-bench-warehouse-"))
    const made = await makeWriter(warehouse)
    label = made.label
    const input: LocalSyncInput = {
      sync, connection, source, streams, state: makeMemorySyncStateStore(), writer: made.writer,
      namespace: ["bench"], onProgress: () => Effect.void,
      ...(process.env.BATCH_ROWS === undefined ? {} : { batchRows: Number(process.env.BATCH_ROWS) })
    }
    let result: { recordsSynced: number; bytesSynced: number }
    const cpuBefore = process.cpuUsage()
    const started = performance.now()
    try {
      result = await Effect.runPromise(runLocalSync(input))
    } finally {
      await made.close()
    }
    const syncMs = performance.now() - started
    const cpu = process.cpuUsage(cpuBefore)
    const parquetBytes = await directoryBytes(warehouse, ".parquet")
    await FsPromises.rm(warehouse, { recursive: true, force: true })
    if (result.recordsSynced !== rows) throw new Error(`synced ${result.recordsSynced} rows, expected ${rows}`)
    pairs.push({ copyMs, syncMs, cpuMs: (cpu.user + cpu.system) / 1000, bytes: result.bytesSynced, parquetBytes })
    console.log(`  pair ${run + 1}/${runs}: psql COPY ${(copyMs / 1000).toFixed(2)} s, local sync ${(syncMs / 1000).toFixed(2)} s ` +
      `(CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s): ${(100 * copyMs / syncMs).toFixed(1)} %`)
  }

  const rate = (ms: number) => Math.round(rows / (ms / 1000))
  const copyMs = median(pairs.map((p) => p.copyMs))
  const syncMs = median(pairs.map((p) => p.syncMs))
  const ratio = median(pairs.map((p) => p.copyMs / p.syncMs))
  console.log(`\n=== local postgres sync vs psql COPY: ${rows.toLocaleString("en")} rows × 8 columns, medians of ${runs} pair(s) ===`)
  console.log(`writer: ${label}`)
  console.log(`| what | time | rows/s |`)
  console.log(`| --- | --- | --- |`)
  console.log(`| psql COPY (SELECT *) TO STDOUT > /dev/null | ${(copyMs / 1000).toFixed(2)} s | ${rate(copyMs).toLocaleString("en")} |`)
  console.log(`| local sync FULL_REFRESH → Iceberg | ${(syncMs / 1000).toFixed(2)} s | ${rate(syncMs).toLocaleString("en")} |`)
  console.log(`read ${(pairs[0]!.bytes / 1e6).toFixed(1)} MB, wrote ${(pairs[0]!.parquetBytes / 1e6).toFixed(1)} MB Parquet; ` +
    `sync CPU in this process ${(median(pairs.map((p) => p.cpuMs)) / 1000).toFixed(2)} s on ${Os.cpus().length} CPUs`)
  console.log(`ratio: ${(ratio * 100).toFixed(1)} % of COPY's rows/s (median of the pairs' ratios; bar 40 %, goal 60 %)`)
  console.log(`\nload average at end: ${loadAverage()}`)
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
