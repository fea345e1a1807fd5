/**
 * The DuckDB peer of the import benchmark, in a process of its own (so that its memory never
 * counts in the import's RSS and each run starts alike): converts a CSV to zstd Parquet and
 * prints `{"ms": …, "rows": …, "bytes": …}`, timing the COPY statement only.
 *
 *   node tests/bench/support/duckdb-copy.ts <csv> <out.parquet> <threads>
 */
import { DuckDBInstance } from "@duckdb/node-api"
import { rmSync, statSync } from "node:fs"

const [csv, out, threads] = process.argv.slice(2)
if (csv === undefined || out === undefined || !/^\d+$/.test(threads ?? "")) {
  throw new Error("usage: duckdb-copy.ts <csv> <out.parquet> <threads>")
}
const quote = (s: string) => `'${s.replaceAll("'", "''")}'`
const instance = await DuckDBInstance.create(":memory:")
const connection = await instance.connect()
try {
  await connection.run(`SET threads = ${threads}`)
  const started = performance.now()
  await connection.run(`COPY (SELECT * FROM read_csv_auto(${quote(csv)})) TO ${quote(out)} (FORMAT parquet, COMPRESSION zstd)`)
  const ms = performance.now() - started
  const counted = await connection.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet(${quote(out)})`)
  const rows = Number((counted.getRowObjectsJson()[0] as { n: unknown }).n)
  const bytes = statSync(out).size
  console.log(JSON.stringify({ ms, rows, bytes }))
} finally {
  connection.closeSync()
  instance.closeSync()
  rmSync(out, { force: true })
}
