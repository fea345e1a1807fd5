/**
 * File-import benchmark through the HTTP API, as a user meets it: the real service runs as a child
 * process (started like `npm start`), a CSV on disk is uploaded by a streaming multipart POST,
 * then its import is configured, started and polled like a client would. DuckDB converts the same
 * file (CSV → Parquet zstd, 2 threads, in a child process) right after each import: the paired
 * runs' ratios, their medians, and the peak resident memory of the service's whole process tree
 * (sampled from /proc every 50 ms) are printed with every input. Asserts nothing, but stops on a
 * failed import or a row count that does not match.
 *
 *   npm run bench:import
 *
 * Environment:
 *   BENCH_CSV_MB      size of each generated CSV in MB (1e6 bytes; default 150)
 *   BENCH_SHAPES      data shapes (default orders7,wide,sparse,numeric; also orders11; see support/shapes.ts)
 *   BENCH_DBS         service databases: postgres (the machine's, 127.0.0.1:5432), embedded (PGlite) (default both)
 *   BENCH_RUNS        paired runs per shape and database (default 3; medians are reported)
 *   BENCH_CONCURRENT  n > 0: afterwards, n imports of the first shape's file at once on one service (default 0)
 *   BENCH_DUCKDB      0 skips the DuckDB peer
 *   BENCH_SEED        PRNG seed of the generators (default 42); BENCH_CSV_DIR where files are kept (default the OS temp dir)
 */
import { execFile } from "node:child_process"
import * as FsPromises from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { createTestDatabase } from "../support/postgres.ts"
import { call, type Caller, uploadClient, uploadFile, waitImported } from "./support/http-client.ts"
import { fmt, mb, mib, percentile } from "./support/measure.ts"
import { ensureShapeFile, type ShapeFile, type ShapeName, shapeNames } from "./support/shapes.ts"
import { loadAverage, sampleTreeRss, type ServiceProcess, startCommand, startServiceProcess } from "./support/service-process.ts"

const csvMb = Number(process.env.BENCH_CSV_MB ?? 150)
if (!Number.isFinite(csvMb) || csvMb < 0.01 || csvMb > 65_536) throw new Error("BENCH_CSV_MB must be a number of MB in 0.01..65536")
const shapes = (process.env.BENCH_SHAPES ?? "orders7,wide,sparse,numeric").split(",").map((s) => s.trim()).filter((s) => s !== "")
for (const s of shapes) if (!shapeNames.includes(s as ShapeName)) throw new Error(`BENCH_SHAPES: unknown shape ${s} (known: ${shapeNames.join(", ")})`)
const dbs = (process.env.BENCH_DBS ?? "postgres,embedded").split(",").map((s) => s.trim()).filter((s) => s !== "")
for (const d of dbs) if (d !== "postgres" && d !== "embedded") throw new Error(`BENCH_DBS: unknown database ${d} (postgres, embedded)`)
const runs = Number(process.env.BENCH_RUNS ?? 3)
if (!Number.isSafeInteger(runs) || runs < 1 || runs > 20) throw new Error("BENCH_RUNS must be an integer 1..20")
const concurrent = Number(process.env.BENCH_CONCURRENT ?? 0)
if (!Number.isSafeInteger(concurrent) || concurrent < 0 || concurrent > 16) throw new Error("BENCH_CONCURRENT must be an integer 0..16")
const withDuckDb = process.env.BENCH_DUCKDB !== "0"
const seed = Number(process.env.BENCH_SEED ?? 42)
if (!Number.isSafeInteger(seed)) throw new Error("BENCH_SEED must be an integer")
const csvDir = process.env.BENCH_CSV_DIR ?? Os.tmpdir()
const previewCalls = 200

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const s = (ms: number) => `${fmt(ms / 1000)} s`

/** One DuckDB conversion of `csv` (CSV → Parquet zstd) in a child process, with that process's peak RSS. */
const duckDbCopy = (csv: string, out: string, threads: number) =>
  new Promise<{ ms: number; rows: number; bytes: number; peakRss: number }>((resolve, reject) => {
    const script = new URL("./support/duckdb-copy.ts", import.meta.url).pathname
    const child = execFile(process.execPath, [script, csv, out, String(threads)], { maxBuffer: 1 << 20 }, (error, stdout) => {
      const peakRss = sampler.stop()
      if (error) return reject(error)
      resolve({ ...(JSON.parse(stdout.trim().split("\n").at(-1)!) as { ms: number; rows: number; bytes: number }), peakRss })
    })
    const sampler = sampleTreeRss(child.pid!)
  })

/** Rows in the Parquet files of one table, read by DuckDB (an independent reader). */
const parquetRows = async (warehouse: string, tenant: string, table: string) => {
  const files: Array<string> = []
  const namespace = `t_${tenant.replace(/-/g, "")}`
  for (const entry of await FsPromises.readdir(warehouse, { recursive: true, withFileTypes: true })) {
    const path = Path.join(entry.parentPath, entry.name)
    if (entry.isFile() && entry.name.endsWith(".parquet") && path.includes(`/${namespace}/`) && path.includes(`/${table}/`)) files.push(path)
  }
  if (files.length === 0) return { rows: 0, files: 0 }
  const { DuckDBInstance } = await import("@duckdb/node-api")
  const instance = await DuckDBInstance.create(":memory:")
  const connection = await instance.connect()
  try {
    const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(", ")
    const result = await connection.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet([${list}])`)
    return { rows: Number((result.getRowObjectsJson()[0] as { n: unknown }).n), files: files.length }
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

interface Run {
  readonly uploadMs: number
  readonly importMs: number
  readonly totalMs: number
  readonly peakRss: number
  readonly duck?: { ms: number; peakRss: number }
}

/** Upload → schema → execute → poll until done, for one tenant; checks the outcome. */
const importOnce = async (caller: Caller, file: ShapeFile, table: string) => {
  const started = performance.now()
  const uploaded = await uploadFile(caller, file.path)
  const uploadMs = performance.now() - started
  if (uploaded.status < 200 || uploaded.status > 299) throw new Error(`upload answered ${uploaded.status}: ${JSON.stringify(uploaded.body)}`)
  const id = uploaded.body.id as string
  // The same work as the peer: the file read as the columns it has (the generator knows them).
  const preview = await call(caller, "GET", `/api/v1/files/${id}/preview`)
  const detected = (preview.body?.columns ?? []) as ReadonlyArray<unknown>
  if (detected.length !== file.columns) throw new Error(`upload of ${file.shape} found ${detected.length} columns, the file has ${file.columns}`)
  const schema = await call(caller, "PUT", `/api/v1/files/${id}/schema`, { targetTableName: table, targetSchema: "bench" })
  if (schema.status !== 200) throw new Error(`PUT schema answered ${schema.status}: ${JSON.stringify(schema.body)}`)
  const importStarted = performance.now()
  const executed = await call(caller, "POST", `/api/v1/files/${id}/import`)
  if (executed.status < 200 || executed.status > 299) throw new Error(`POST import answered ${executed.status}: ${JSON.stringify(executed.body)}`)
  const done = await waitImported(caller, id)
  const ended = performance.now()
  const importMs = ended - importStarted
  if (done.status !== "COMPLETED") throw new Error(`import of ${file.shape} ended ${done.status}: ${done.error ?? "(no reason)"}`)
  if (done.recordsImported !== file.rows) throw new Error(`import of ${file.shape}: ${done.recordsImported} records imported, the file has ${file.rows}`)
  return { id, uploadMs, importMs, totalMs: ended - started }
}

const latencies = async (calls: number, run: () => Promise<void>) => {
  for (let i = 0; i < 10; i++) await run()
  const times: Array<number> = []
  for (let i = 0; i < calls; i++) {
    const started = performance.now()
    await run()
    times.push(performance.now() - started)
  }
  return { p50: percentile(times, 50), p95: percentile(times, 95) }
}

interface Row {
  readonly db: string
  readonly file: ShapeFile
  readonly runs: ReadonlyArray<Run>
  readonly preview: { p50: number; p95: number }
  readonly readBack: { rows: number; files: number }
}

const benchShape = async (service: ServiceProcess, db: string, file: ShapeFile, outDir: string): Promise<Row> => {
  const results: Array<Run> = []
  let first: { caller: Caller; id: string; table: string } | undefined
  for (let run = 0; run < runs; run++) {
    const tenant = crypto.randomUUID()
    const caller = { baseUrl: service.baseUrl, tenant, token: await service.token(tenant) }
    const table = `${file.shape}_${run}`
    const sampler = sampleTreeRss(service.pid)
    const r = await importOnce(caller, file, table)
    const peakRss = sampler.stop()
    first ??= { caller, id: r.id, table }
    // The peer right after, on the same file: both see the machine in the same state.
    const duck = withDuckDb ? await duckDbCopy(file.path, Path.join(outDir, "duckdb-out.parquet"), 2) : undefined
    results.push({ uploadMs: r.uploadMs, importMs: r.importMs, totalMs: r.totalMs, peakRss, ...(duck === undefined ? {} : { duck }) })
    console.log(`  ${db} ${file.shape} run ${run + 1}/${runs}: upload + profile ${s(r.uploadMs)}, import ${s(r.importMs)}, ` +
      `total ${s(r.totalMs)}, service peak RSS ${fmt(mib(peakRss), 0)} MiB` +
      (duck === undefined ? "" : `; DuckDB ${s(duck.ms)} (peak RSS ${fmt(mib(duck.peakRss), 0)} MiB): import ${fmt(r.importMs / duck.ms)}×, total ${fmt(r.totalMs / duck.ms)}×`))
  }
  const { caller, id, table } = first!
  const preview = await latencies(previewCalls, async () => {
    const res = await fetch(`${caller.baseUrl}/api/v1/files/${id}/preview`, { headers: { authorization: `Bearer ${caller.token}`, "x-tenant-id": caller.tenant } })
    await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`GET preview answered ${res.status}`)
  })
  const readBack = await parquetRows(Path.join(service.dataDir, "data", "warehouse"), caller.tenant, table)
  if (readBack.rows !== file.rows) throw new Error(`${file.shape}: DuckDB reads ${readBack.rows} rows back from the table's Parquet files, the file has ${file.rows}`)
  return { db, file, runs: results, preview, readBack }
}

const benchConcurrent = async (service: ServiceProcess, file: ShapeFile, n: number) => {
  const sampler = sampleTreeRss(service.pid)
  const started = performance.now()
  const each = await Promise.all(Array.from({ length: n }, async (_, i) => {
    const tenant = crypto.randomUUID()
    const caller = { baseUrl: service.baseUrl, tenant, token: await service.token(tenant) }
    return importOnce(caller, file, `concurrent_${i}`)
  }))
  const totalMs = performance.now() - started
  return { totalMs, peakRss: sampler.stop(), each }
}

const main = async () => {
  const { env, nodeFlags } = startCommand()
  console.log(`load average at start: ${loadAverage()}`)
  console.log(`machine: ${Os.cpus().length} CPUs (${Os.cpus()[0]?.model ?? "?"}), ${fmt(Os.totalmem() / 1024 ** 3, 1)} GiB RAM, node ${process.version}`)
  console.log(`service: node ${nodeFlags.join(" ")} packages/http/src/main.ts with ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ")} (as npm start), ` +
    `one child process per database and shape; RSS = its whole process tree, sampled every 50 ms`)
  console.log(`upload client: ${uploadClient}`)
  console.log(`peer: DuckDB ${withDuckDb ? "COPY (SELECT * FROM read_csv_auto(file)) TO parquet (COMPRESSION zstd), SET threads = 2, in a child process, right after each import" : "skipped"}`)
  const files: Array<ShapeFile> = []
  for (const shape of shapes) {
    const f = await ensureShapeFile(csvDir, shape as ShapeName, Math.round(csvMb * 1e6), seed)
    files.push(f)
    console.log(`input ${shape}: ${f.path}, ${fmt(mb(f.bytes), 1)} MB, ${f.rows.toLocaleString("en")} rows × ${f.columns} columns` +
      (f.reused ? " (reused)" : ` (generated in ${s(f.generateMs)})`))
  }
  const outDir = await FsPromises.mkdtemp(Path.join(Os.tmpdir(), "ingest-bench-duckdb-"))
  const rows: Array<Row> = []
  let concurrentResult: Awaited<ReturnType<typeof benchConcurrent>> | undefined
  try {
    for (const db of dbs) {
      const database = db === "postgres" ? createTestDatabase("bench") : undefined
      try {
        // A fresh service per shape: its peak RSS is that shape's own, not what an earlier one left
        // (heaps and wasm memories keep their high-water marks).
        for (const file of files) {
          const service = await startServiceProcess(database === undefined ? {} : { DATABASE_URL: database.url })
          console.log(`\n${db}, ${file.shape}: service pid ${service.pid} on ${service.baseUrl}` +
            (database === undefined ? " (embedded PGlite under its data dir)" : ` (database ${database.name}, dropped afterwards)`))
          try {
            rows.push(await benchShape(service, db, file, outDir))
            if (concurrent > 0 && db === dbs[0] && file === files[0]) concurrentResult = await benchConcurrent(service, file, concurrent)
          } finally {
            await service.stop()
          }
        }
      } finally {
        database?.drop()
      }
    }
  } finally {
    await FsPromises.rm(outDir, { recursive: true, force: true })
  }

  const line = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`
  console.log(`\n=== import through HTTP: medians of ${runs} paired run(s) (each import followed by DuckDB on the same file) ===`)
  console.log(line(["db", "shape", "file", "rows × cols", "upload + profile", "import", "total", "DuckDB", "import ÷ DuckDB", "total ÷ DuckDB", "service peak RSS (max of runs)", "preview p50 / p95"]))
  console.log(line(Array(12).fill("---")))
  for (const r of rows) {
    const duck = r.runs[0]!.duck === undefined ? undefined : r.runs.map((x) => x.duck!.ms)
    console.log(line([
      r.db,
      r.file.shape,
      `${fmt(mb(r.file.bytes), 0)} MB`,
      `${r.file.rows.toLocaleString("en")} × ${r.file.columns}`,
      s(median(r.runs.map((x) => x.uploadMs))),
      s(median(r.runs.map((x) => x.importMs))),
      s(median(r.runs.map((x) => x.totalMs))),
      duck === undefined ? "–" : s(median(duck)),
      duck === undefined ? "–" : `${fmt(median(r.runs.map((x) => x.importMs / x.duck!.ms)))}×`,
      duck === undefined ? "–" : `${fmt(median(r.runs.map((x) => x.totalMs / x.duck!.ms)))}×`,
      `${fmt(mib(Math.max(...r.runs.map((x) => x.peakRss))), 0)} MiB`,
      `${fmt(r.preview.p50, 1)} / ${fmt(r.preview.p95, 1)} ms`
    ]))
  }
  console.log(`ratios: the median of the runs' own ratios; read back: every table's Parquet files counted by DuckDB = the file's rows (checked).`)
  console.log(`bars: import ÷ DuckDB ≤ 2×, total ÷ DuckDB ≤ 3×, peak RSS importing 2 GB ≤ 448 MiB, preview p50 ≤ 20 ms`)
  if (concurrentResult !== undefined) {
    const f = files[0]!
    console.log(`\n=== ${concurrent} imports of ${f.shape} ${fmt(mb(f.bytes), 0)} MB at once on one ${dbs[0]} service (INGEST_WORKER_CONCURRENCY default) ===`)
    console.log(`all done in ${s(concurrentResult.totalMs)} (${fmt(mb(f.bytes * concurrent) / (concurrentResult.totalMs / 1000), 1)} MB/s); ` +
      `service peak RSS ${fmt(mib(concurrentResult.peakRss), 0)} MiB; each: ` +
      concurrentResult.each.map((e) => `upload ${s(e.uploadMs)} + import ${s(e.importMs)}`).join("; "))
  }
  console.log(`\nload average at end: ${loadAverage()}`)
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
