/**
 * File-import benchmark: a generated CSV (default ~150 MB) uploaded, profiled and imported into a
 * committed Iceberg table by the real composition (`makeAppLayer`), in this process, beside DuckDB
 * converting the same file to Parquet and a plain file copy. Prints every figure with its inputs;
 * asserts nothing.
 *
 *   npm run bench:import:inprocess
 *
 * Environment:
 *   BENCH_CSV_MB   size of the generated CSV in MB (1e6 bytes; default 150). 2048 checks peak RSS on a large file.
 *   BENCH_SEED     PRNG seed of the generator (default 42); the file is reused while size and seed match.
 *   BENCH_CSV_DIR  where the CSV is kept between runs (default the OS temp dir).
 *   BENCH_RUNNER   `direct` (default: call FileImportService.runImport for the job) or `queue` (the queue
 *                  worker of makeBackgroundLayer claims the job; the import is polled every 50 ms).
 *   BENCH_HTTP     `0` skips the preview latency through the real HTTP server.
 *   BENCH_DUCKDB   `0` skips the DuckDB peer.
 *   BENCH_RUNS     uploads + imports and DuckDB conversions per figure (default 3; medians are reported).
 *
 * State: a fresh database `bench_<time>_<random>` on the machine's PostgreSQL (127.0.0.1:5432, user
 * postgres), dropped at the end; storage and warehouse in a fresh temp data dir, removed at the end.
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import { makeAppLayer, makeBackgroundLayer } from "@ingest/adapters/app/layers"
import { AppConfig } from "@ingest/adapters/config"
import type { FileImport } from "@ingest/domain"
import { FileImportService, FileStorage, TableWriter, TenantId } from "@ingest/domain"
import { ConfigProvider, Effect, Layer, ManagedRuntime, Option, References } from "effect"
import { execFile } from "node:child_process"
import { createReadStream } from "node:fs"
import * as FsPromises from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import { createTestDatabase } from "../support/postgres.ts"
import { ISSUER, READ, startService } from "../support/server.ts"
import { ensureCsvFixture } from "./support/csv-fixture.ts"
import { fmt, makeRssSampler, maxRssBytes, mb, mib, percentile, seconds } from "./support/measure.ts"

const csvMb = Number(process.env.BENCH_CSV_MB ?? 150)
if (!Number.isFinite(csvMb) || csvMb < 0.01 || csvMb > 65_536) throw new Error("BENCH_CSV_MB must be a number of MB in 0.01..65536")
const seed = Number(process.env.BENCH_SEED ?? 42)
if (!Number.isSafeInteger(seed)) throw new Error("BENCH_SEED must be an integer")
const csvDir = process.env.BENCH_CSV_DIR ?? Os.tmpdir()
const runner = process.env.BENCH_RUNNER === "queue" ? "queue" : "direct"
const withHttp = process.env.BENCH_HTTP !== "0"
const withDuckDb = process.env.BENCH_DUCKDB !== "0"
const runs = Number(process.env.BENCH_RUNS ?? 3)
if (!Number.isSafeInteger(runs) || runs < 1 || runs > 20) throw new Error("BENCH_RUNS must be an integer 1..20")
const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!
const previewCalls = 200
const previewWarmup = 10
const uploadChunkBytes = 64 * 1024

const rssSampler = makeRssSampler(50)
const execFileAsync = promisify(execFile)

/** A file on disk as the body stream of an upload, in chunks the size HTTP bodies arrive in. */
const fileBody = (file: string, onEnd?: () => void) =>
  NodeStream.fromReadable<Uint8Array, Error>({
    evaluate: () => {
      const stream = createReadStream(file, { highWaterMark: uploadChunkBytes })
      if (onEnd !== undefined) stream.once("end", onEnd)
      return stream
    },
    onError: (cause) => (cause instanceof Error ? cause : new Error(String(cause)))
  })

interface Phase {
  readonly ms: number
  readonly cpuMs: number
  readonly peakRss: number
  readonly atPeak: NodeJS.MemoryUsage
  readonly rssSamples: number
}

/** Wall time, CPU time of the whole process (every thread) and sampled peak RSS of one step. */
const measure = async <A>(run: () => Promise<A>): Promise<{ value: A } & Phase> => {
  const window = rssSampler.open()
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  try {
    const value = await run()
    const ms = performance.now() - started
    const cpu = process.cpuUsage(cpuBefore)
    window.close()
    return { value, ms, cpuMs: (cpu.user + cpu.system) / 1000, peakRss: window.peak(), atPeak: window.atPeak(), rssSamples: window.samples() }
  } finally {
    window.close()
  }
}

const directoryFiles = async (dir: string, suffix: string) => {
  const found: Array<{ path: string; size: number }> = []
  for (const entry of await FsPromises.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(suffix)) {
      const path = Path.join(entry.parentPath, entry.name)
      found.push({ path, size: (await FsPromises.stat(path)).size })
    }
  }
  return found
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`

/** One DuckDB conversion of `csv` in a child process (tests/bench/support/duckdb-copy.ts). */
const duckDbCopy = async (csv: string, out: string, threads: number): Promise<{ ms: number; rows: number; bytes: number }> => {
  const script = new URL("./support/duckdb-copy.ts", import.meta.url).pathname
  const { stdout } = await execFileAsync(process.execPath, [script, csv, out, String(threads)], { maxBuffer: 1 << 20 })
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as { ms: number; rows: number; bytes: number }
}

const withDuckDbConnection = async <A>(use: (run: (sql: string) => Promise<Array<Record<string, unknown>>>) => Promise<A>) => {
  // Loaded only when needed: the native library would otherwise count in the RSS of the import.
  const { DuckDBInstance } = await import("@duckdb/node-api")
  const instance = await DuckDBInstance.create(":memory:")
  const connection = await instance.connect()
  try {
    return await use(async (sql) => (await connection.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>)
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

const latencies = async (calls: number, call: () => Promise<unknown>) => {
  for (let i = 0; i < previewWarmup; i++) await call()
  const times: Array<number> = []
  for (let i = 0; i < calls; i++) {
    const started = performance.now()
    await call()
    times.push(performance.now() - started)
  }
  return { p50: percentile(times, 50), p95: percentile(times, 95), max: Math.max(...times) }
}

const main = async () => {
  console.log(`machine: ${Os.cpus().length} CPUs (${Os.cpus()[0]?.model ?? "?"}), ${fmt(Os.totalmem() / 1024 ** 3, 1)} GiB RAM, node ${process.version}, load ${fmt(Os.loadavg()[0]!, 1)}`)

  // 1. Input
  const rssAtStart = process.memoryUsage().rss
  const fixture = await ensureCsvFixture(csvDir, Math.round(csvMb * 1e6), seed)
  console.log(`input: ${fixture.path}`)
  console.log(`       ${fmt(mb(fixture.bytes), 1)} MB, ${fixture.rows.toLocaleString("en")} data rows, seed ${seed}, ` +
    (fixture.reused ? "reused" : `generated in ${seconds(fixture.generateMs)}`))
  const rssAfterGenerate = maxRssBytes()

  const dataDir = await FsPromises.mkdtemp(Path.join(Os.tmpdir(), "ingest-import-bench-"))
  const database = createTestDatabase("bench")
  console.log(`state: database ${database.name} on 127.0.0.1:5432 (fresh, dropped afterwards); data dir ${dataDir}`)
  console.log(`runner: ${runner === "direct" ? "FileImportService.runImport called for the job" : "queue worker (makeBackgroundLayer)"}`)

  const provider = ConfigProvider.fromUnknown({
    INGEST_DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    INGEST_LOG_LEVEL: "Warn"
  })
  const config = await Effect.runPromise(Effect.gen(function*() {
    return yield* AppConfig
  }).pipe(Effect.provide(ConfigProvider.layer(provider))))
  const app = makeAppLayer(config)
  const layer = (runner === "queue" ? Layer.provideMerge(makeBackgroundLayer(config), app) : app).pipe(
    Layer.provide(ConfigProvider.layer(provider)),
    Layer.provide(Layer.succeed(References.MinimumLogLevel, "Warn"))
  )
  const runtime = ManagedRuntime.make(layer)
  let service: Awaited<ReturnType<typeof startService>> | undefined
  try {
    const startup = await measure(() => runtime.runPromise(Effect.void))
    console.log(`app layer built (migrations, pools) in ${seconds(startup.ms)}`)

    // 5. Plain copy vs storage put, same file, same disk (the data dir)
    // The storage flushes each object to disk before renaming it into place, so the copy does too.
    const copyTarget = Path.join(dataDir, "plain-copy.csv")
    const copy = await measure(async () => {
      await FsPromises.copyFile(fixture.path, copyTarget)
      const handle = await FsPromises.open(copyTarget, "r+")
      await handle.datasync().finally(() => handle.close())
    })
    await FsPromises.rm(copyTarget)
    const putKey = "bench/put-only/input.csv"
    const put = await measure(() =>
      runtime.runPromise(Effect.gen(function*() {
        const storage = yield* FileStorage
        const { size } = yield* storage.put(putKey, fileBody(fixture.path))
        return size
      }))
    )
    await runtime.runPromise(Effect.gen(function*() {
      yield* (yield* FileStorage).remove(putKey)
    }))
    if (put.value !== fixture.bytes) throw new Error(`FileStorage.put stored ${put.value} bytes, expected ${fixture.bytes}`)

    // 2. Upload (+ profile), schema, execute, import — `runs` times, each into a table of its own
    const importOnce = async (run: number) => {
      const tenantId = TenantId.make(crypto.randomUUID())
      let bodyEndedAt = 0
      const uploadStarted = performance.now()
      const upload = await measure(() =>
        runtime.runPromise(Effect.gen(function*() {
          const files = yield* FileImportService
          return yield* files.upload(tenantId, "bench-orders.csv", fileBody(fixture.path, () => {
            bodyEndedAt = performance.now()
          }), { maxBytes: config.maxUploadBytes })
        }))
      )
      const uploaded: FileImport = upload.value
      const streamMs = bodyEndedAt - uploadStarted
      const rssAfterUpload = maxRssBytes()
      const configured = await runtime.runPromise(Effect.gen(function*() {
        const files = yield* FileImportService
        return yield* files.updateSchema(tenantId, uploaded.id, { targetTableName: `bench_orders_${run}`, targetSchema: "bench" })
      }))
      const imported = await measure(() =>
        runtime.runPromise(Effect.gen(function*() {
          const files = yield* FileImportService
          yield* files.execute(tenantId, uploaded.id)
          if (runner === "direct") {
            yield* files.runImport({ id: crypto.randomUUID(), kind: "import", tenantId, refId: uploaded.id, attempt: 1 })
          } else {
            for (;;) {
              const current = yield* files.get(tenantId, uploaded.id)
              if (current.status !== "IMPORTING") break
              yield* Effect.sleep("50 millis")
            }
          }
          return yield* files.get(tenantId, uploaded.id)
        }))
      )
      // The peer right after, on the same file: both see the machine in the same state.
      const duck = withDuckDb ? await duckDbCopy(fixture.path, Path.join(dataDir, "duckdb-out.parquet"), 2) : undefined
      console.log(`run ${run + 1}/${runs}: upload + profile ${seconds(upload.ms)}, import ${seconds(imported.ms)} ` +
        `(CPU ${fmt(imported.cpuMs / 1000)} s)` + (duck === undefined ? "" : `; DuckDB ${seconds(duck.ms)}, ratio ${fmt(imported.ms / duck.ms)}×`))
      return { tenantId, upload, uploaded, streamMs, profileMs: upload.ms - streamMs, rssAfterUpload, configured, imported, duck }
    }
    const results = []
    for (let run = 0; run < runs; run++) results.push(await importOnce(run))
    // The run with the median import time stands for all (its upload, profile and table are reported).
    const byImport = [...results].sort((a, b) => a.imported.ms - b.imported.ms)
    const { tenantId, upload, uploaded, streamMs, profileMs, configured, imported } = byImport[Math.floor((runs - 1) / 2)]!
    const rssAfterUpload = results[0]!.rssAfterUpload

    // 4. Preview latency in process (what GET /preview reads)
    const previewInProcess = await latencies(previewCalls, () =>
      runtime.runPromise(Effect.gen(function*() {
        const files = yield* FileImportService
        return yield* files.get(tenantId, uploaded.id)
      }))
    )

    const done = imported.value
    const rssAfterImport = maxRssBytes()
    if (done.status !== "COMPLETED") throw new Error(`import ended ${done.status}: ${done.error ?? "(no reason)"}`)
    const table = await runtime.runPromise(Effect.gen(function*() {
      const files = yield* FileImportService
      const writer = yield* TableWriter
      const ident = files.tableOf(done)
      return { ident, columns: Option.getOrElse(yield* writer.describe(ident), () => []) }
    }))

    const dataFiles = (await directoryFiles(Path.join(dataDir, "warehouse"), ".parquet"))
      .filter((f) => f.path.includes(`${Path.sep}${table.ident.name}${Path.sep}`))
    const committedRows = await withDuckDbConnection(async (run) => {
      if (dataFiles.length === 0) return 0
      const list = `[${dataFiles.map((f) => sqlString(f.path)).join(", ")}]`
      return Number((await run(`SELECT count(*)::BIGINT AS n FROM read_parquet(${list})`))[0]!["n"])
    })
    const parquetBytes = dataFiles.reduce((n, f) => n + f.size, 0)

    console.log(`\nprofile: ${uploaded.profile.totalRows.toLocaleString("en")} rows; columns: ${uploaded.profile.columns.map((c) =>
      `${c.name} ${c.type}${c.type === "DECIMAL" ? `(${c.precision},${c.scale})` : ""}${c.nullable ? "?" : ""}`).join(", ")}`)
    console.log(`table ${table.ident.namespace.join(".")}.${table.ident.name} (${configured.status} → ${done.status}): ` +
      `${table.columns.length} columns, ${dataFiles.length} data file(s), ${fmt(mb(parquetBytes), 1)} MB Parquet`)
    console.log(`rows: generated ${fixture.rows.toLocaleString("en")}, profiled ${uploaded.profile.totalRows.toLocaleString("en")}, ` +
      `recordsImported ${(done.recordsImported ?? 0).toLocaleString("en")}, read back from the data files by DuckDB ${committedRows.toLocaleString("en")} — ` +
      (committedRows === fixture.rows && done.recordsImported === fixture.rows ? "MATCH" : "MISMATCH"))

    // 3. DuckDB peer, same input: 2 threads after each import (above), 1 thread `runs` times here
    let duck: { both: number; one: number; ratio: number; rows: number; bytes: number } | undefined
    if (withDuckDb) {
      const paired = results.map((r) => r.duck!)
      const one: Array<number> = []
      for (let i = 0; i < runs; i++) one.push((await duckDbCopy(fixture.path, Path.join(dataDir, "duckdb-out.parquet"), 1)).ms)
      duck = {
        both: median(paired.map((d) => d.ms)),
        one: median(one),
        ratio: median(results.map((r) => r.imported.ms / r.duck!.ms)),
        rows: paired[0]!.rows,
        bytes: paired[0]!.bytes
      }
    }

    // 4. Preview latency through the real HTTP server (same database and data dir, no workers)
    let previewHttp: { p50: number; p95: number; max: number } | undefined
    if (withHttp) {
      service = await startService({ DATABASE_URL: database.url, INGEST_DATA_DIR: dataDir, INGEST_RUN_WORKERS: "false", INGEST_LOG_LEVEL: "Warn" })
      const token = await service.keys.sign({ tenant_id: tenantId, permissions: [READ] }, { issuer: ISSUER })
      const url = `${service.baseUrl}/api/v1/files/${uploaded.id}/preview`
      const headers = { authorization: `Bearer ${token}`, "x-tenant-id": tenantId }
      const first = await fetch(url, { headers })
      const body = await first.text()
      if (first.status !== 200) throw new Error(`GET preview answered ${first.status}: ${body}`)
      console.log(`HTTP preview: ${url.replace(service.baseUrl, "")} → 200, ${fmt(body.length / 1024, 1)} KiB JSON`)
      previewHttp = await latencies(previewCalls, async () => {
        const res = await fetch(url, { headers })
        await res.arrayBuffer()
        if (res.status !== 200) throw new Error(`GET preview answered ${res.status}`)
      })
    }

    // Summary
    const totalMs = upload.ms + imported.ms
    const rate = (bytes: number, ms: number) => `${fmt(mb(bytes) / (ms / 1000), 1)} MB/s`
    const rows = (ms: number) => `${Math.round(fixture.rows / (ms / 1000)).toLocaleString("en")} rows/s`
    const cores = (p: Phase) => fmt(p.cpuMs / p.ms, 2)
    const line = (label: string, value: string, note = "") => console.log(`${label.padEnd(34)} ${value.padStart(14)}  ${note}`)
    console.log(`\n=== import benchmark: ${fmt(mb(fixture.bytes), 1)} MB CSV, ${fixture.rows.toLocaleString("en")} rows, ${uploaded.profile.columns.length} columns, seed ${seed}; medians of ${runs} run(s) ===`)
    line("plain fs.copyFile + fdatasync", seconds(copy.ms), rate(fixture.bytes, copy.ms))
    line("FileStorage.put (storage only)", seconds(put.ms), `${rate(fixture.bytes, put.ms)}; copy/put = ${fmt(copy.ms / put.ms)} (put at ${fmt((copy.ms / put.ms) * 100, 0)} % of copy speed)`)
    line("upload: stream into storage", seconds(streamMs), rate(fixture.bytes, streamMs))
    line("upload: detect + profile", seconds(profileMs), `${rate(fixture.bytes, profileMs)}, ${rows(profileMs)}`)
    line("upload + profile", seconds(upload.ms), `${rate(fixture.bytes, upload.ms)}, ${rows(upload.ms)}, CPU ${fmt(upload.cpuMs / 1000)} s (${cores(upload)} cores)`)
    line("import (execute → COMPLETED)", seconds(imported.ms), `${rate(fixture.bytes, imported.ms)}, ${rows(imported.ms)}, CPU ${fmt(imported.cpuMs / 1000)} s (${cores(imported)} cores)`)
    line("total (upload + profile + import)", seconds(totalMs), `${rate(fixture.bytes, totalMs)}, ${rows(totalMs)}`)
    if (duck !== undefined) {
      line("DuckDB COPY → parquet zstd (2 thr)", seconds(duck.both), `${rate(fixture.bytes, duck.both)}, ${rows(duck.both)}; ${duck.rows.toLocaleString("en")} rows, ${fmt(mb(duck.bytes), 1)} MB`)
      line("DuckDB same, SET threads = 1", seconds(duck.one), `${rate(fixture.bytes, duck.one)}, ${rows(duck.one)}`)
      line("ratio import / DuckDB (2 thr)", `${fmt(imported.ms / duck.both)}×`, `median of the runs' own ratios ${fmt(duck.ratio)}×; vs 1 thread: ${fmt(imported.ms / duck.one)}×`)
      line("ratio total / DuckDB (2 thr)", `${fmt(totalMs / duck.both)}×`, `vs 1 thread: ${fmt(totalMs / duck.one)}×`)
    }
    line("preview in process, p50 / p95", `${fmt(previewInProcess.p50)} / ${fmt(previewInProcess.p95)} ms`, `FileImportService.get × ${previewCalls} (max ${fmt(previewInProcess.max)} ms)`)
    if (previewHttp !== undefined) {
      line("preview over HTTP, p50 / p95", `${fmt(previewHttp.p50)} / ${fmt(previewHttp.p95)} ms`, `GET /api/v1/files/{id}/preview × ${previewCalls}, JWT checked (max ${fmt(previewHttp.max)} ms)`)
    }
    const breakdown = (p: Phase) =>
      `JS heap ${fmt(mib(p.atPeak.heapUsed), 0)}, external ${fmt(mib(p.atPeak.external), 0)} (ArrayBuffers ${fmt(mib(p.atPeak.arrayBuffers), 0)}) of the main thread; ${p.rssSamples} samples`
    line("peak RSS sampled: upload+profile", `${fmt(mib(upload.peakRss), 0)} MiB`, breakdown(upload))
    line("peak RSS sampled: import", `${fmt(mib(imported.peakRss), 0)} MiB`, breakdown(imported))
    line("maxRSS (resourceUsage)", `${fmt(mib(rssAfterImport), 0)} MiB`,
      `process peak up to the end of the import (RSS at start: ${fmt(mib(rssAtStart), 0)}, maxRSS after generating: ${fmt(mib(rssAfterGenerate), 0)}, after upload: ${fmt(mib(rssAfterUpload), 0)}); goal ≤ 512 MiB`)
    line("maxRSS at the end of the run", `${fmt(mib(maxRssBytes()), 0)} MiB`,
      [withDuckDb ? "DuckDB (in process)" : "", withHttp ? "the HTTP server" : ""].filter((s) => s !== "").join(" and ").replace(/^(.+)$/, "includes $1"))
    line("row count check", committedRows === fixture.rows ? "MATCH" : "MISMATCH", `${committedRows.toLocaleString("en")} committed / ${fixture.rows.toLocaleString("en")} generated`)
  } finally {
    rssSampler.stop()
    if (service !== undefined) await service.stop().catch((e) => console.error("stopping the HTTP service:", e))
    await runtime.dispose().catch((e) => console.error("disposing the app runtime:", e))
    try {
      database.drop()
    } catch (e) {
      console.error(`dropping ${database.name}:`, e)
    }
    await FsPromises.rm(dataDir, { recursive: true, force: true })
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
