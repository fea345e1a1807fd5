/**
 * Iceberg writer benchmark: 1 M rows × (2 integers, 2 decimal(12,2), 2 strings, 1 timestamp,
 * 1 date), generated in memory as ColumnBatches while the writer pulls them, written through the
 * table writer into a temp-dir warehouse with the SQL catalog on the machine's PostgreSQL
 * (database `test`, a unique catalog name, its rows removed afterwards).
 *
 *   npx tsx tests/bench/writer.bench.ts        (ROWS=… BATCH=… to change the sizes;
 *                                               ENCODING=inline to encode Parquet on the main thread;
 *                                               WRITER_BATCH_ROWS=… rows per Arrow batch of the writer)
 *
 * Prints wall time, rows/s (also without the time spent generating rows), CPU time of the
 * process (every thread) and peak RSS.
 */
import { PgClient } from "@effect/sql-pg"
import type { Column, ColumnBatch } from "@ingest/domain"
import { Effect, Exit, Redacted, Scope, Stream } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient } from "effect/sql"
import * as FsPromises from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { makeSqlCatalog } from "../../packages/adapters/src/iceberg/sql-catalog.ts"
import { makeIcebergTableWriter } from "../../packages/adapters/src/iceberg/table-writer.ts"
import { makeFsObjectStore } from "../../packages/adapters/src/storage/fs.ts"

const rows = Number(process.env.ROWS ?? 1_000_000)
const batchRows = Number(process.env.BATCH ?? 10_000)
if (!Number.isInteger(rows) || rows < 1 || rows > 20_000_000) throw new Error("ROWS must be an integer 1..20000000")
if (!Number.isInteger(batchRows) || batchRows < 1 || batchRows > 1_000_000) throw new Error("BATCH must be 1..1000000")
const writerBatchRows = process.env.WRITER_BATCH_ROWS === undefined ? undefined : Number(process.env.WRITER_BATCH_ROWS)
const encoding = process.env.ENCODING === "inline" ? "inline" : "worker"
const databaseUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

const columns: ReadonlyArray<Column> = [
  { name: "id", type: "INTEGER", nullable: false },
  { name: "quantity", type: "INTEGER", nullable: true },
  { name: "amount", type: "DECIMAL", nullable: true, precision: 12, scale: 2 },
  { name: "price", type: "DECIMAL", nullable: true, precision: 12, scale: 2 },
  { name: "name", type: "STRING", nullable: true },
  { name: "note", type: "STRING", nullable: true },
  { name: "created_at", type: "TIMESTAMP", nullable: true },
  { name: "day", type: "DATE", nullable: true }
]

/** xorshift32: reproducible pseudo-random data without the cost of a hash per row. */
const random = (() => {
  let state = 0x9e3779b9
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return state >>> 0
  }
})()

/**
 * Text cells are cut out of a byte buffer, as the sources' decoders do: flat strings, not the
 * concatenation trees that `+` would leave behind.
 */
const scratch = Buffer.alloc(64)
const latin1 = scratch as unknown as { latin1Slice(start: number, end: number): string }
let at = 0
const put = (text: string) => {
  for (let k = 0; k < text.length; k++) scratch[at++] = text.charCodeAt(k)
}
const putDigits = (n: number, minDigits = 1) => {
  const start = at
  do {
    scratch[at++] = 48 + (n % 10)
    n = Math.floor(n / 10)
  } while (n > 0 || at - start < minDigits)
  scratch.subarray(start, at).reverse()
}
const take = () => {
  const text = latin1.latin1Slice(0, at)
  at = 0
  return text
}
const hex = [..."0123456789abcdef"].map((c) => c.charCodeAt(0))
const hex32 = () => {
  for (let k = 0; k < 4; k++) {
    const word = random()
    for (let s = 28; s >= 0; s -= 4) scratch[at++] = hex[(word >>> s) & 15]!
  }
  return take()
}
const cents = (n: number) => {
  putDigits(Math.floor(n / 100))
  put(".")
  putDigits(n % 100, 2)
  return take()
}

const timestampBase = 1_704_067_200_000_000n // 2024-01-01T00:00:00Z in microseconds

/** Rows `first+1 .. first+length`, column-major. */
const makeBatch = (first: number, length: number): ColumnBatch => {
  const cols = columns.map(() => new Array(length))
  for (let i = 0; i < length; i++) {
    const g = first + i + 1
    cols[0]![i] = g
    cols[1]![i] = g % 1000
    cols[2]![i] = cents(Math.round(g * 137) % 10_000_000)
    cols[3]![i] = g % 97 === 0 ? null : cents(random() % 100_000_000)
    put("customer ")
    putDigits(g)
    cols[4]![i] = take()
    cols[5]![i] = hex32()
    cols[6]![i] = timestampBase + BigInt(g) * 1_000_000n
    cols[7]![i] = 19_723 + (g % 3650)
  }
  return { length, columns: cols }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`

const directoryBytes = async (dir: string, suffix: string): Promise<{ files: number; bytes: number }> => {
  let files = 0
  let bytes = 0
  for (const entry of await FsPromises.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(suffix)) {
      files++
      bytes += (await FsPromises.stat(Path.join(entry.parentPath, entry.name))).size
    }
  }
  return { files, bytes }
}

const main = async () => {
  // Batches are generated as the writer pulls them (like a source): the heap holds a few batches,
  // not the whole table. The time spent generating is measured and reported apart.
  let generateMs = 0
  const batches = Stream.fromIterable({
    *[Symbol.iterator]() {
      for (let first = 0; first < rows; first += batchRows) {
        const began = performance.now()
        const batch = makeBatch(first, Math.min(batchRows, rows - first))
        generateMs += performance.now() - began
        yield batch
      }
    }
  })
  const warehouseDir = await FsPromises.mkdtemp(Path.join(Os.tmpdir(), "ingest-writer-bench-"))
  const scope = await Effect.runPromise(Scope.make())
  const catalogName = `bench_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const sql = await Effect.runPromise(
    PgClient.makeClient({ url: Redacted.make(databaseUrl) }).pipe(Effect.provide(Reactivity.layer), Scope.provide(scope))
  )
  try {
    const warehouse = makeFsObjectStore(warehouseDir)
    const catalog = await Effect.runPromise(
      makeSqlCatalog({ warehouse, catalogName }).pipe(Effect.provideService(SqlClient.SqlClient, sql))
    )
    const writer = makeIcebergTableWriter({ catalog, warehouse, parquetEncoding: encoding, batchRows: writerBatchRows })

    const cpuBefore = process.cpuUsage()
    const mainBefore = process.threadCpuUsage()
    const started = performance.now()
    const result = await Effect.runPromise(writer.write({
      table: { namespace: ["bench"], name: "writer" },
      columns,
      mode: "overwrite",
      commitId: `bench-${catalogName}`,
      batches
    }))
    const wallMs = performance.now() - started
    const cpu = process.cpuUsage(cpuBefore)
    const mainCpu = process.threadCpuUsage(mainBefore)
    if (result.recordsWritten !== rows) throw new Error(`wrote ${result.recordsWritten} rows, expected ${rows}`)

    const parquet = await directoryBytes(warehouseDir, ".parquet")
    const cpuSeconds = (cpu.user + cpu.system) / 1e6
    const rate = (ms: number) => `${Math.round(rows / (ms / 1000)).toLocaleString("en")} rows/s`
    console.log(`encoding: Parquet ${encoding === "inline" ? "on the main thread" : "on encoder threads"}`)
    console.log(`write:    ${(wallMs / 1000).toFixed(2)} s  ${rate(wallMs)}  (of which generating the rows ${(generateMs / 1000).toFixed(2)} s; ` +
      `without it ${((wallMs - generateMs) / 1000).toFixed(2)} s  ${rate(wallMs - generateMs)})`)
    const mainSeconds = (mainCpu.user + mainCpu.system) / 1e6
    console.log(`CPU:      ${cpuSeconds.toFixed(2)} s (all threads; ${(cpuSeconds / (wallMs / 1000)).toFixed(2)} cores busy on average): ` +
      `main thread ${mainSeconds.toFixed(2)} s (generating rows included), other threads ${(cpuSeconds - mainSeconds).toFixed(2)} s`)
    console.log(`peak RSS: ${mb(process.resourceUsage().maxRSS * 1024)}`)
    console.log(`parquet:  ${parquet.files} file(s), ${mb(parquet.bytes)}`)
    console.log(`machine load average now: ${Os.loadavg()[0]!.toFixed(1)} on ${Os.cpus().length} CPUs`)
  } finally {
    await Effect.runPromise(Effect.all([
      sql`DELETE FROM iceberg_tables WHERE catalog_name = ${catalogName}`,
      sql`DELETE FROM iceberg_namespace_properties WHERE catalog_name = ${catalogName}`
    ]).pipe(Effect.ignore, Effect.provideService(SqlClient.SqlClient, sql)))
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await FsPromises.rm(warehouseDir, { recursive: true, force: true })
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
