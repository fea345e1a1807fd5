import { assert, expect, layer } from "@effect/vitest"
import type { CellValue, Column } from "@ingest/domain"
import { DuckDBInstance } from "@duckdb/node-api"
import { Effect, Layer, Option, Stream } from "effect"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { makeSqlCatalog } from "../../packages/adapters/src/iceberg/sql-catalog.ts"
import { makeIcebergTableWriter } from "../../packages/adapters/src/iceberg/table-writer.ts"
import { embeddedPgClient } from "../../packages/adapters/src/sql/client.ts"
import { makeFsObjectStore } from "../../packages/adapters/src/storage/fs.ts"
import { makeS3ObjectStore } from "../../packages/adapters/src/storage/s3.ts"
import { startS3rver } from "../support/s3rver.ts"
import { readTable, uniqueName } from "./support.ts"

// The same writer with an S3 warehouse (s3rver on loopback) and the catalog in the embedded
// database (PGlite behind pglite-socket, one connection), as the service runs by default.

const columns: ReadonlyArray<Column> = [
  { name: "id", type: "INTEGER", nullable: false },
  { name: "label", type: "STRING", nullable: true },
  { name: "amount", type: "DECIMAL", nullable: true, precision: 9, scale: 3 },
  { name: "seen_at", type: "TIMESTAMP_TZ", nullable: true },
  { name: "ok", type: "BOOLEAN", nullable: true }
]
const rows: ReadonlyArray<ReadonlyArray<CellValue>> = [
  [1, "ünïcødé ✓", "1.250", 1700000000000000n, true],
  [2, null, "-999999.999", null, false],
  [3, "three", null, 0n, null]
]
const batch = { length: rows.length, columns: columns.map((_, c) => rows.map((r) => r[c]!)) }

const EmbeddedDb = Layer.unwrap(
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.promise(() => mkdtemp(path.join(tmpdir(), "iceberg-pglite-"))),
      (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
    )
    return embeddedPgClient(dir)
  })
)

const S3 = Effect.acquireRelease(Effect.promise(() => startS3rver("lake")), (s) => Effect.promise(() => s.stop()))

layer(EmbeddedDb, { timeout: "120 seconds", excludeTestServices: true })("Iceberg writer: S3 warehouse, embedded catalog", (it) => {
  it.effect("writes to s3rver through the PGlite catalog and reads back", () =>
    Effect.gen(function*() {
      const s3 = yield* S3
      const store = makeS3ObjectStore({ bucket: s3.bucket, prefix: "warehouse", client: s3.client })
      const catalog = yield* makeSqlCatalog({ warehouse: store, catalogName: uniqueName("s3") })
      const writer = makeIcebergTableWriter({ catalog, warehouse: store })
      const table = { namespace: ["tenant_a", "sales"], name: "orders" }
      const write = (commitId: string) =>
        writer.write({ table, columns, mode: "append", commitId, batches: Stream.make(batch) })
      const first = yield* write("s3-1")
      assert.strictEqual(first.recordsWritten, 3)
      const again = yield* write("s3-1")
      assert.isTrue(again.alreadyCommitted)
      yield* write("s3-2")

      const loaded = Option.getOrThrow(yield* catalog.loadTable(table))
      assert.strictEqual(loaded.metadata.location, "s3://lake/warehouse/tenant_a/sales/orders")
      assert.match(loaded.metadataLocation, /^s3:\/\/lake\/warehouse\/tenant_a\/sales\/orders\/metadata\/00002-/)
      const back = yield* readTable(store, loaded, "id")
      assert.strictEqual(back.dataFiles.length, 2)
      for (const file of back.dataFiles) {
        assert.match(file.filePath, /^s3:\/\/lake\/warehouse\/tenant_a\/sales\/orders\/data\/.+\.parquet$/)
        const info = Option.getOrThrow(yield* store.stat(file.filePath.replace("s3://lake/warehouse/", "")))
        assert.strictEqual(Number(file.fileSizeInBytes), info.size)
      }
      expect(back.rows).toEqual([1, 1, 2, 2, 3, 3].map((id) => ({
        id: String(id),
        label: id === 1 ? "ünïcødé ✓" : id === 3 ? "three" : null,
        amount: id === 1 ? "1.250" : id === 2 ? "-999999.999" : null,
        seen_at: id === 1 ? "2023-11-14 22:13:20+00" : id === 3 ? "1970-01-01 00:00:00+00" : null,
        ok: id === 1 ? "true" : id === 2 ? "false" : null
      })))
      assert.strictEqual(back.snapshot!.summary["total-records"], "6")
      assert.isTrue(yield* catalog.namespaceExists(["tenant_a", "sales"]))
      expect((yield* catalog.listTables(["tenant_a", "sales"])).map((t) => t.name)).toEqual(["orders"])
    }))

  it.effect("DuckDB's iceberg extension reads the table when it is installed locally", () =>
    Effect.gen(function*() {
      const instance = yield* Effect.promise(() => DuckDBInstance.create(":memory:"))
      const db = yield* Effect.promise(() => instance.connect())
      const available = yield* Effect.promise(async () => {
        await db.run("SET autoinstall_known_extensions = false")
        await db.run("SET autoload_known_extensions = false")
        return db.run("LOAD iceberg").then(() => true, () => false)
      })
      if (!available) {
        console.warn("skipping the DuckDB iceberg_scan check: the iceberg extension is not installed (no download offline)")
        db.closeSync()
        instance.closeSync()
        return
      }
      const dir = yield* Effect.promise(() => mkdtemp(path.join(tmpdir(), "iceberg-ext-")))
      const store = makeFsObjectStore(dir)
      const catalog = yield* makeSqlCatalog({ warehouse: store, catalogName: uniqueName("ext") })
      const writer = makeIcebergTableWriter({ catalog, warehouse: store })
      const table = { namespace: ["ext"], name: "t" }
      yield* writer.write({ table, columns, mode: "append", commitId: "x", batches: Stream.make(batch) })
      const loaded = Option.getOrThrow(yield* catalog.loadTable(table))
      const count = yield* Effect.promise(async () => {
        const reader = await db.runAndReadAll(
          `SELECT count(*)::INTEGER AS n FROM iceberg_scan('${fileURLToPath(loaded.metadataLocation)}')`
        )
        return Number(reader.getRowObjectsJson()[0]!["n"])
      })
      assert.strictEqual(count, 3)
      db.closeSync()
      instance.closeSync()
      yield* Effect.promise(() => rm(dir, { recursive: true, force: true }))
    }))
})
