import { assert, describe, expect, it, layer } from "@effect/vitest"
import type { CellValue, Column, ColumnBatch, ObjectStore } from "@ingest/domain"
import { InfrastructureError } from "@ingest/domain"
import * as A from "apache-arrow"
import { Effect, Option, Stream } from "effect"
import { readdirSync } from "node:fs"
import path from "node:path"
import { arrowSchemaOf, buildRecordBatch } from "../../packages/adapters/src/iceberg/arrow-batch.ts"
import { plainColumnsOf } from "../../packages/adapters/src/iceberg/parquet-properties.ts"
import { initialSchema, resolveSchema } from "../../packages/adapters/src/iceberg/schema.ts"
import { makeIcebergTableWriter } from "../../packages/adapters/src/iceberg/table-writer.ts"
import { IcebergEnv, icebergEnvLayer, readTable, withDuckDb } from "./support.ts"

// How data files are encoded: on the encoder threads (default) or inline, with a dictionary
// only for columns that gain from one; what a failing upload does to a write in progress.

const columns: ReadonlyArray<Column> = [
  { name: "id", type: "INTEGER", nullable: false },
  { name: "status", type: "STRING", nullable: true },
  { name: "note", type: "STRING", nullable: true },
  { name: "amount", type: "DECIMAL", nullable: true, precision: 12, scale: 2 },
  { name: "day", type: "DATE", nullable: true },
  { name: "at", type: "TIMESTAMP", nullable: true }
]
const statuses = ["new", "open", "closed", "archived"]

/** Rows first+0 .. first+length-1; ids, notes and amounts are all distinct, statuses and days few. */
const rowsBatch = (first: number, length: number): ColumnBatch => {
  const cols: Array<Array<CellValue>> = columns.map(() => [])
  for (let i = first; i < first + length; i++) {
    cols[0]!.push(i)
    cols[1]!.push(i % 13 === 0 ? null : statuses[i % statuses.length]!)
    cols[2]!.push(`note ${i} ${"é".repeat(i % 7)} ${i * 7919}`)
    cols[3]!.push(i % 11 === 0 ? null : `${Math.floor(i * 1.37)}.${String(i % 100).padStart(2, "0")}`)
    cols[4]!.push(19_000 + (i % 30))
    cols[5]!.push(1_700_000_000_000_000n + BigInt(i) * 1_000_003n)
  }
  return { length, columns: cols }
}

const batchesOf = (rows: number, size: number) =>
  Stream.fromIterable(Array.from({ length: Math.ceil(rows / size) }, (_, k) => rowsBatch(k * size, Math.min(size, rows - k * size))))

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`

/** Encodings DuckDB reports per column of one Parquet file (over all row groups). */
const encodingsOf = (file: string) =>
  withDuckDb(async (db) => {
    const reader = await db.runAndReadAll(
      `SELECT path_in_schema AS name, string_agg(DISTINCT encodings, ',') AS encodings
       FROM parquet_metadata(${sqlString(file)}) GROUP BY path_in_schema`
    )
    return Object.fromEntries(reader.getRowObjectsJson().map((r) => [String(r["name"]), String(r["encodings"])]))
  })

const hasDictionary = (encodings: string | undefined) => encodings !== undefined && /DICTIONARY/.test(encodings)

layer(icebergEnvLayer("iceberg-enc"), { timeout: "120 seconds", excludeTestServices: true })("Iceberg writer: Parquet encoding", (it) => {
  it.effect("encoder threads and inline encoding write the same rows and column metrics", () =>
    Effect.gen(function*() {
      const { writer, store, catalog } = yield* IcebergEnv
      const rows = 12_345
      const results = []
      for (const parquetEncoding of ["worker", "inline"] as const) {
        const table = { namespace: ["itest_enc"], name: `same_${parquetEncoding}` }
        const result = yield* writer({ parquetEncoding, batchRows: 4000 }).write({
          table,
          columns,
          mode: "append",
          commitId: `same-${parquetEncoding}`,
          batches: batchesOf(rows, 1000)
        })
        assert.strictEqual(result.recordsWritten, rows)
        const loaded = Option.getOrThrow(yield* catalog.loadTable(table))
        results.push(yield* readTable(store, loaded, "id"))
      }
      const [threaded, inline] = results
      assert.strictEqual(threaded!.rows.length, rows)
      expect(threaded!.rows).toEqual(inline!.rows)
      assert.strictEqual(threaded!.rows[13]!["status"], null)
      assert.strictEqual(threaded!.rows[2]!["note"], `note 2 ${"é".repeat(2)} ${2 * 7919}`)
      // Same parquet-wasm, same settings: the same file, down to its size and metrics.
      const metricsOf = (back: typeof threaded) => {
        const { file_path: _path, ...rest } = back!.dataFiles[0]!.raw
        return rest
      }
      assert.strictEqual(threaded!.dataFiles.length, 1)
      expect(metricsOf(threaded)).toEqual(metricsOf(inline))
    }))

  it.effect("columns with too many distinct values are written without a dictionary", () =>
    Effect.gen(function*() {
      const { writer, store, catalog } = yield* IcebergEnv
      const table = { namespace: ["itest_enc"], name: "dictionaries" }
      yield* writer().write({ table, columns, mode: "append", commitId: "dict", batches: batchesOf(40_000, 5000) })
      const back = yield* readTable(store, Option.getOrThrow(yield* catalog.loadTable(table)), "id")
      assert.strictEqual(back.rows.length, 40_000)
      const encodings = yield* Effect.promise(() => encodingsOf(back.dataFiles[0]!.localPath))
      for (const unique of ["id", "note", "amount", "at"]) {
        assert.isFalse(hasDictionary(encodings[unique]), `${unique}: ${encodings[unique]}`)
      }
      for (const repeated of ["status", "day"]) {
        assert.isTrue(hasDictionary(encodings[repeated]), `${repeated}: ${encodings[repeated]}`)
      }
    }))

  it.effect("Arrow batches of the caller stay readable after the write", () =>
    Effect.gen(function*() {
      const { writer } = yield* IcebergEnv
      const arrow = new A.Table({
        id: A.vectorFromArray(Array.from({ length: 5000 }, (_, i) => BigInt(i)), new A.Int64()),
        label: A.vectorFromArray(Array.from({ length: 5000 }, (_, i) => `label ${i}`), new A.Utf8())
      })
      const result = yield* writer().writeArrow({
        table: { namespace: ["itest_enc"], name: "caller_arrow" },
        columns: [{ name: "id", type: "INTEGER", nullable: true }, { name: "label", type: "STRING", nullable: true }],
        mode: "append",
        commitId: "caller-arrow",
        // A slice shares its buffers with the rest of the table.
        batches: Stream.fromIterable(arrow.slice(1000, 4000).batches)
      })
      assert.strictEqual(result.recordsWritten, 3000)
      assert.strictEqual(arrow.getChild("id")!.get(4999), 4999n)
      assert.strictEqual(arrow.getChild("label")!.get(1234), "label 1234")
    }))

  it.effect("an upload failing mid-file fails the write with the store's error; nothing is committed", () =>
    Effect.gen(function*() {
      const { store, catalog, warehouseDir } = yield* IcebergEnv
      const failingStore: ObjectStore = {
        ...store,
        put: (key, body) =>
          key.endsWith(".parquet")
            ? Stream.runDrain(Stream.take(body, 1)).pipe(
              Effect.andThen(Effect.fail(new InfrastructureError({ reason: "disk quota exceeded" })))
            )
            : store.put(key, body)
      }
      for (const parquetEncoding of ["worker", "inline"] as const) {
        const table = { namespace: ["itest_enc"], name: `upload_fails_${parquetEncoding}` }
        const writer = makeIcebergTableWriter({
          catalog,
          warehouse: failingStore,
          rowGroupRows: 2000,
          batchRows: 1000,
          parquetEncoding
        })
        const error = yield* writer
          .write({ table, columns, mode: "append", commitId: "fails", batches: batchesOf(50_000, 1000) })
          .pipe(Effect.flip)
        assert.strictEqual(error._tag, "InfrastructureError")
        assert.include(error.message, "disk quota exceeded")
        const loaded = Option.getOrThrow(yield* catalog.loadTable(table))
        assert.strictEqual(loaded.metadata.snapshots.length, 0)
        const dataDir = path.join(warehouseDir, ...table.namespace, table.name, "data")
        const files = (() => {
          try {
            return readdirSync(dataDir)
          } catch {
            return []
          }
        })()
        assert.isTrue(files.every((f) => !f.endsWith(".parquet")))
      }
    }))
})

describe("dictionary choice", () => {
  const plan = (resolveSchema({ namespace: ["a"], name: "b" }, initialSchema(columns), columns.length, [0], columns) as {
    readonly plan: Parameters<typeof arrowSchemaOf>[0]
  }).plan
  const batchOf = (rows: number) =>
    buildRecordBatch(arrowSchemaOf(plan), plan, [{ batch: rowsBatch(0, rows), start: 0, end: rows }])

  it("names the columns whose values keep changing", () => {
    expect(plainColumnsOf(batchOf(10_000), 256 * 1024).sort()).toEqual(["amount", "at", "id", "note"])
  })

  it("leaves a small first batch to the writer's default", () => {
    expect(plainColumnsOf(batchOf(500), 256 * 1024)).toEqual([])
  })

  it("writes values that hardly repeat plainly even when their dictionary would fit a row group", () => {
    // 20,000-row row groups: the distinct ids, notes, amounts and times fit a dictionary page,
    // which would still hold every value once more than plain pages do; statuses and days repeat.
    expect(plainColumnsOf(batchOf(10_000), 20_000).sort()).toEqual(["amount", "at", "id", "note"])
  })

  it("keeps the dictionary of a column whose values repeat, however many rows a row group has", () => {
    // 2,000 distinct amounts over 10,000 rows: a dictionary and 11-bit indexes are far smaller.
    const repeating = (rows: number): ColumnBatch => {
      const batch = rowsBatch(0, rows)
      const amounts = Array.from({ length: rows }, (_, i): CellValue => `${i % 2000}.25`)
      return { ...batch, columns: batch.columns.map((c, j) => (j === 3 ? amounts : c)) }
    }
    const batch = buildRecordBatch(arrowSchemaOf(plan), plan, [{ batch: repeating(10_000), start: 0, end: 10_000 }])
    expect(plainColumnsOf(batch, 20_000)).not.toContain("amount")
    expect(plainColumnsOf(batch, 256 * 1024)).not.toContain("amount")
  })
})
