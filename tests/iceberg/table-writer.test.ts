import { assert, describe, expect, it, layer } from "@effect/vitest"
import type { CellValue, Column, ColumnBatch, TableIdent, WriteRequest } from "@ingest/domain"
import { TableCatalog } from "../../packages/adapters/src/iceberg/table-catalog.ts"
import * as A from "apache-arrow"
import { Effect, Option, Stream } from "effect"
import { readdirSync, readFileSync, statSync } from "node:fs"
import path from "node:path"
import { makeColumnPacker } from "../../packages/adapters/src/formats/values/packing.ts"
import { parseIcebergJson } from "../../packages/adapters/src/iceberg/json.ts"
import { keyOfUri } from "../../packages/adapters/src/iceberg/locations.ts"
import { currentSchema, currentSnapshot } from "../../packages/adapters/src/iceberg/metadata.ts"
import { commitIdKey } from "../../packages/adapters/src/iceberg/snapshot-production.ts"
import {
  countRows,
  hasSharedContracts,
  IcebergEnv,
  icebergContractDir,
  icebergEnvLayer,
  mustKeysFromContract,
  parquetFieldIds,
  readTable,
  uniqueName
} from "./support.ts"

// The Iceberg writer against the SQL catalog on the machine's PostgreSQL (database `test`, one
// catalog_name per run, removed afterwards) and a temp-dir warehouse; read back independently.

const col = (name: string, type: Column["type"], extra: Partial<Column> = {}): Column => ({
  name,
  type,
  nullable: true,
  ...extra
})

const request = (
  table: TableIdent,
  columns: ReadonlyArray<Column>,
  rows: ReadonlyArray<ReadonlyArray<CellValue>>,
  extra: Partial<WriteRequest<never>> = {}
): WriteRequest<never> => ({
  table,
  columns,
  mode: "append",
  commitId: uniqueName("commit"),
  // column-major, as readers hand it over
  batches: rows.length === 0 ? Stream.empty : Stream.make({
    length: rows.length,
    columns: columns.map((_, c) => rows.map((row) => row[c]!))
  }),
  ...extra
})

const load = (table: TableIdent) =>
  Effect.gen(function*() {
    const { catalog } = yield* IcebergEnv
    const loaded = yield* catalog.loadTable(table)
    assert.isTrue(Option.isSome(loaded), `table ${table.name} exists`)
    return Option.getOrThrow(loaded)
  })

const readBack = (table: TableIdent, orderBy = "id") =>
  Effect.gen(function*() {
    const { store } = yield* IcebergEnv
    return yield* readTable(store, yield* load(table), orderBy)
  })

const hex = (bytes: unknown) => Buffer.from(bytes as Uint8Array).toString("hex")
const metric = (raw: Record<string, unknown>, name: string, fieldId: number) =>
  (raw[name] as Array<{ key: number; value: unknown }> | null)?.find((e) => e.key === fieldId)?.value

const allTypes: ReadonlyArray<Column> = [
  col("id", "INTEGER", { nullable: false }),
  col("flag", "BOOLEAN"),
  col("amount", "DECIMAL", { precision: 12, scale: 2 }),
  col("big", "DECIMAL", { scale: 6 }),
  col("ratio", "DOUBLE"),
  col("day", "DATE"),
  col("at", "TIMESTAMP"),
  col("at_tz", "TIMESTAMP_TZ"),
  col("name", "STRING"),
  col("payload", "BINARY")
]
const longText = "日本語テキストとても長い文字列です、十六文字以上"
const allTypeRows: ReadonlyArray<ReadonlyArray<CellValue>> = [
  [1, true, "12.30", "12345678901234567890.123456", 1.5, 0, 0n, 1700000000000000n, "héllo wörld", Uint8Array.of(0, 255)],
  [2, false, "-0.01", "-1", Number.NaN, 19723, 1704067200123456n, -1000000n, longText, new Uint8Array(0)],
  [3, null, null, null, null, null, null, null, null, null],
  [4n, true, "9999999999.99", "0.000001", -2.25, -1, 86400000000n, 0n, "emoji 🎉 party time and more", Uint8Array.of(1, 2, 3)]
]

layer(icebergEnvLayer("iceberg-wh"), { timeout: "60 seconds", excludeTestServices: true })("Iceberg table writer (SQL catalog on PostgreSQL)", (it) => {
  it.effect("writes every column type; DuckDB reads it back by field id", () =>
    Effect.gen(function*() {
      const { writer, store } = yield* IcebergEnv
      const table = { namespace: ["itest", "types"], name: "all_types" }
      const result = yield* writer().write(request(table, allTypes, allTypeRows))
      assert.strictEqual(result.recordsWritten, 4)
      assert.isFalse(result.alreadyCommitted)

      const back = yield* readBack(table)
      expect(back.rows).toEqual([
        {
          id: "1", flag: "true", amount: "12.30", big: "12345678901234567890.123456", ratio: "1.5",
          day: "1970-01-01", at: "1970-01-01 00:00:00", at_tz: "2023-11-14 22:13:20+00", name: "héllo wörld",
          payload: "\\x00\\xFF"
        },
        {
          id: "2", flag: "false", amount: "-0.01", big: "-1.000000", ratio: "nan", day: "2024-01-01",
          at: "2024-01-01 00:00:00.123456", at_tz: "1969-12-31 23:59:59+00", name: longText, payload: ""
        },
        {
          id: "3", flag: null, amount: null, big: null, ratio: null, day: null, at: null, at_tz: null, name: null,
          payload: null
        },
        {
          id: "4", flag: "true", amount: "9999999999.99", big: "0.000001", ratio: "-2.25", day: "1969-12-31",
          at: "1970-01-02 00:00:00", at_tz: "1970-01-01 00:00:00+00", name: "emoji 🎉 party time and more",
          payload: "\\x01\\x02\\x03"
        }
      ])

      // Table schema: ids 1..n, only the non-nullable column required, decimal defaults.
      const loaded = yield* load(table)
      const schema = currentSchema(loaded.metadata)
      expect(schema.fields.map((f) => [f.id, f.name, f.type, f.required])).toEqual([
        [1, "id", "long", true],
        [2, "flag", "boolean", false],
        [3, "amount", "decimal(12,2)", false],
        [4, "big", "decimal(38,6)", false],
        [5, "ratio", "double", false],
        [6, "day", "date", false],
        [7, "at", "timestamp", false],
        [8, "at_tz", "timestamptz", false],
        [9, "name", "string", false],
        [10, "payload", "binary", false]
      ])

      // Data files: field ids in the Parquet schema, exact record counts and sizes.
      assert.strictEqual(back.dataFiles.length, 1)
      const file = back.dataFiles[0]!
      expect(yield* Effect.promise(() => parquetFieldIds(file.localPath))).toEqual(
        Object.fromEntries(schema.fields.map((f) => [f.name, f.id]))
      )
      assert.strictEqual(Number(file.recordCount), 4)
      assert.strictEqual(Number(file.recordCount), yield* Effect.promise(() => countRows(file.localPath)))
      assert.strictEqual(Number(file.fileSizeInBytes), statSync(file.localPath).size)
      assert.strictEqual(file.fileFormat, "PARQUET")
      assert.isTrue(file.localPath.startsWith(path.join((yield* IcebergEnv).warehouseDir, "itest", "types", "all_types", "data")))

      // Column metrics.
      const raw = file.raw
      assert.strictEqual(metric(raw, "value_counts", 1), 4n)
      assert.strictEqual(metric(raw, "null_value_counts", 1), 0n)
      assert.strictEqual(metric(raw, "null_value_counts", 9), 1n)
      assert.strictEqual(metric(raw, "nan_value_counts", 5), 1n)
      assert.strictEqual(metric(raw, "nan_value_counts", 1), undefined)
      assert.strictEqual(hex(metric(raw, "lower_bounds", 1)), "0100000000000000")
      assert.strictEqual(hex(metric(raw, "upper_bounds", 1)), "0400000000000000")
      assert.strictEqual(hex(metric(raw, "lower_bounds", 2)), "00")
      assert.strictEqual(hex(metric(raw, "upper_bounds", 2)), "01")
      assert.strictEqual(hex(metric(raw, "lower_bounds", 3)), "ff") // -0.01 → unscaled -1
      assert.strictEqual(hex(metric(raw, "upper_bounds", 3)), "00e8d4a50fff") // 999999999999
      assert.strictEqual(hex(metric(raw, "lower_bounds", 5)), Buffer.from(new Float64Array([-2.25]).buffer).toString("hex"))
      assert.strictEqual(hex(metric(raw, "lower_bounds", 6)), "ffffffff")
      assert.strictEqual(hex(metric(raw, "upper_bounds", 8)), "00401e18240a0600") // the spec's example value
      assert.strictEqual(Buffer.from(metric(raw, "lower_bounds", 9) as Uint8Array).toString("utf8"), "emoji 🎉 party ti")
      // Truncated to 16 code points, the last one incremented so it stays an upper bound.
      assert.strictEqual(Buffer.from(metric(raw, "upper_bounds", 9) as Uint8Array).toString("utf8"), "日本語テキストとても長い文字列と")
      assert.strictEqual(hex(metric(raw, "lower_bounds", 10)), "")
      assert.strictEqual(hex(metric(raw, "upper_bounds", 10)), "010203")

      // Manifest list and manifest headers.
      const list = back.manifests
      assert.strictEqual(list.length, 1)
      assert.strictEqual(list[0]!.added_snapshot_id, BigInt(result.snapshotId))
      assert.strictEqual(list[0]!.sequence_number, 1n)
      assert.strictEqual(list[0]!.added_rows_count, 4n)
      expect(back.listMetadata).toMatchObject({
        "snapshot-id": result.snapshotId,
        "parent-snapshot-id": "null",
        "sequence-number": "1",
        "format-version": "2",
        "avro.codec": "deflate"
      })
      const listSchema = JSON.parse(back.listMetadata["avro.schema"]!) as { fields: Array<Record<string, unknown>> }
      assert.isTrue(listSchema.fields.every((f) => typeof f["field-id"] === "number"))
      const manifest = back.manifestFiles[0]!
      expect(Object.keys(manifest.metadata)).toEqual(
        expect.arrayContaining(["schema", "schema-id", "partition-spec", "partition-spec-id", "format-version", "content"])
      )
      assert.strictEqual(manifest.metadata["content"], "data")
      assert.strictEqual(manifest.metadata["partition-spec"], "[]")
      assert.strictEqual(manifest.entries[0]!.status, 1)
      assert.strictEqual(manifest.entries[0]!.snapshotId, BigInt(result.snapshotId))
      assert.strictEqual(manifest.entries[0]!.sequenceNumber, null)

      // The metadata file itself: 63-bit ids exact, keys as the contract requires.
      const text = new TextDecoder().decode(yield* store.getBytes(keyOfUri(store, loaded.metadataLocation)!))
      assert.match(loaded.metadataLocation, /\/metadata\/00001-[0-9a-f-]{36}\.metadata\.json$/)
      assert.include(text, `"snapshot-id":${result.snapshotId}`)
      const json = parseIcebergJson(text) as Record<string, unknown>
      assert.strictEqual(json["current-snapshot-id"], BigInt(result.snapshotId))
      expect(json["refs"]).toEqual({ main: { "snapshot-id": BigInt(result.snapshotId), type: "branch" } })
      assert.isUndefined(json["schema"])
      assert.isUndefined(json["partition-spec"])
      const snapshot = (json["snapshots"] as Array<Record<string, unknown>>)[0]!
      for (const key of ["snapshot-id", "sequence-number", "timestamp-ms", "manifest-list", "summary"]) {
        assert.property(snapshot, key)
      }
      assert.notProperty(snapshot, "parent-snapshot-id")
      assert.notProperty(snapshot, "manifests")
      const summary = snapshot["summary"] as Record<string, unknown>
      assert.isTrue(Object.values(summary).every((v) => typeof v === "string"))
      expect(summary).toMatchObject({ operation: "append", "added-records": "4", "total-records": "4", [commitIdKey]: expect.any(String) })
      assert.strictEqual(json["last-partition-id"], 999)
      expect(json["partition-specs"]).toEqual([{ "spec-id": 0, fields: [] }])
      expect(json["sort-orders"]).toEqual([{ "order-id": 0, fields: [] }])
    }))

  it.effect.skipIf(!hasSharedContracts)("metadata has every key WRITING-V2 marks as must", () =>
    Effect.gen(function*() {
      const { writer, store } = yield* IcebergEnv
      const table = { namespace: ["itest"], name: "contract_keys" }
      yield* writer().write(request(table, [col("id", "INTEGER")], [[1]]))
      const loaded = yield* load(table)
      const json = parseIcebergJson(
        new TextDecoder().decode(yield* store.getBytes(keyOfUri(store, loaded.metadataLocation)!))
      ) as Record<string, unknown>
      const must = mustKeysFromContract(readFileSync(path.join(icebergContractDir, "WRITING-V2.md"), "utf8"))
      assert.isAtLeast(must.length, 13)
      for (const key of must) assert.property(json, key, `metadata has "${key}"`)
      assert.strictEqual(json["format-version"], 2)
    }))

  it.effect("appends twice → two snapshots; overwrite keeps only the new rows", () =>
    Effect.gen(function*() {
      const { writer } = yield* IcebergEnv
      const table = { namespace: ["itest"], name: "appends" }
      const columns = [col("id", "INTEGER"), col("name", "STRING")]
      const first = yield* writer().write(request(table, columns, [[1, "a"], [2, "b"]]))
      const second = yield* writer().write(request(table, columns, [[3, "c"]]))
      let back = yield* readBack(table)
      expect(back.rows.map((r) => r["id"])).toEqual(["1", "2", "3"])
      let metadata = (yield* load(table)).metadata
      assert.strictEqual(metadata.snapshots.length, 2)
      assert.strictEqual(metadata["last-sequence-number"], 2n)
      assert.strictEqual(metadata.snapshots[1]!["parent-snapshot-id"], BigInt(first.snapshotId))
      expect(back.snapshot!.summary).toMatchObject({
        "added-records": "1",
        "total-records": "3",
        "total-data-files": "2",
        "manifests-kept": "1"
      })
      assert.strictEqual(back.manifests.length, 2)
      assert.strictEqual(back.manifests[0]!.added_snapshot_id, BigInt(second.snapshotId))
      assert.strictEqual(back.manifests[1]!.added_snapshot_id, BigInt(first.snapshotId))
      assert.strictEqual(back.manifests[1]!.sequence_number, 1n) // carried over unchanged
      assert.strictEqual(metadata["snapshot-log"].length, 2)
      assert.strictEqual(metadata["metadata-log"].length, 2)

      const overwrite = yield* writer().write(request(table, columns, [[10, "x"], [11, "y"]], { mode: "overwrite" }))
      back = yield* readBack(table)
      expect(back.rows.map((r) => [r["id"], r["name"]])).toEqual([["10", "x"], ["11", "y"]])
      expect(back.snapshot!.summary).toMatchObject({
        operation: "overwrite",
        "added-records": "2",
        "deleted-records": "3",
        "deleted-data-files": "2",
        "total-records": "2",
        "total-data-files": "1"
      })
      assert.strictEqual(back.snapshot!["snapshot-id"], BigInt(overwrite.snapshotId))
      metadata = (yield* load(table)).metadata
      assert.strictEqual(metadata.snapshots.length, 3)

      // Empty append: nothing to commit. Empty overwrite: the table is emptied.
      const empty = yield* writer().write(request(table, columns, []))
      assert.strictEqual(empty.recordsWritten, 0)
      assert.strictEqual(empty.snapshotId, overwrite.snapshotId)
      assert.strictEqual((yield* load(table)).metadata.snapshots.length, 3)
      yield* writer().write(request(table, columns, [], { mode: "overwrite" }))
      back = yield* readBack(table)
      assert.strictEqual(back.rows.length, 0)
      assert.strictEqual(back.snapshot!.summary["total-records"], "0")
    }))

  it.effect("zero rows still create the table, with no snapshot", () =>
    Effect.gen(function*() {
      const { writer } = yield* IcebergEnv
      const table = { namespace: ["itest", "empty"], name: "nothing" }
      const result = yield* writer().write(request(table, [col("id", "INTEGER")], []))
      expect(result).toEqual({ recordsWritten: 0, bytesWritten: 0, snapshotId: "", alreadyCommitted: false })
      const loaded = yield* load(table)
      assert.strictEqual(loaded.metadata.snapshots.length, 0)
      assert.isUndefined(currentSnapshot(loaded.metadata))
      expect(Option.getOrThrow(yield* writer().describe(table))).toEqual([col("id", "INTEGER")])
      assert.isTrue(yield* (yield* IcebergEnv).catalog.namespaceExists(["itest", "empty"]))
      assert.isTrue(yield* (yield* IcebergEnv).catalog.namespaceExists(["itest"]))
    }))

  it.effect("schema evolution adds columns; old rows read null; incompatible types are Invalid", () =>
    Effect.gen(function*() {
      const { writer } = yield* IcebergEnv
      const table = { namespace: ["itest"], name: "evolving" }
      yield* writer().write(request(table, [col("id", "INTEGER"), col("price", "DECIMAL", { precision: 10, scale: 2 })], [[1, "1.50"]]))
      // Different column order, one new column, decimal widened into the table's (10,2), a dropped column absent.
      yield* writer().write(request(table, [col("extra", "STRING"), col("id", "INTEGER")], [["new", 2]]))
      yield* writer().write(request(table, [col("id", "INTEGER"), col("price", "DECIMAL", { precision: 5, scale: 1 })], [[3, "2.5"]]))
      const back = yield* readBack(table)
      expect(back.rows).toEqual([
        { id: "1", price: "1.50", extra: null },
        { id: "2", price: null, extra: "new" },
        { id: "3", price: "2.50", extra: null }
      ])
      const metadata = (yield* load(table)).metadata
      assert.strictEqual(metadata.schemas.length, 2)
      assert.strictEqual(metadata["current-schema-id"], 1)
      assert.strictEqual(metadata["last-column-id"], 3)
      expect(currentSchema(metadata).fields.map((f) => [f.id, f.name, f.required])).toEqual([
        [1, "id", false],
        [2, "price", false],
        [3, "extra", false]
      ])
      // The snapshot after the evolution records the schema its files were written with.
      assert.strictEqual(metadata.snapshots[1]!["schema-id"], 1)

      const before = metadata.snapshots.length
      const error = yield* writer().write(request(table, [col("id", "INTEGER"), col("price", "STRING")], [[4, "x"]])).pipe(Effect.flip)
      assert.strictEqual(error._tag, "Invalid")
      assert.include(error.message, `"price"`)
      assert.include(error.message, "decimal(10,2)")
      assert.include(error.message, "STRING")
      const narrower = yield* writer().write(
        request(table, [col("id", "INTEGER"), col("price", "DECIMAL", { precision: 20, scale: 4 })], [[4, "1"]])
      ).pipe(Effect.flip)
      assert.strictEqual(narrower._tag, "Invalid")
      const textIntoNumber = yield* writer().write(request(table, [col("extra", "INTEGER")], [[5]])).pipe(Effect.flip)
      assert.include(textIntoNumber.message, "string")
      assert.strictEqual((yield* load(table)).metadata.snapshots.length, before)
    }))

  it.effect("a bad cell value fails with Invalid naming the column; nothing is committed", () =>
    Effect.gen(function*() {
      const { writer } = yield* IcebergEnv
      const table = { namespace: ["itest"], name: "bad_cells" }
      const columns = [col("id", "INTEGER"), col("amount", "DECIMAL", { precision: 4, scale: 1 })]
      const overflow = yield* writer().write(request(table, columns, [[1, "1.0"], [2, "12345.0"]])).pipe(Effect.flip)
      assert.strictEqual(overflow._tag, "Invalid")
      assert.include(overflow.message, `"amount"`)
      const wrongType = yield* writer().write(request(table, columns, [["one", "1.0"]])).pipe(Effect.flip)
      assert.include(wrongType.message, `"id"`)
      assert.strictEqual((yield* load(table)).metadata.snapshots.length, 0)
    }))

  it.effect("two writers committing at once: one retries on the conflict, no row is lost", () =>
    Effect.gen(function*() {
      const { writer, catalog } = yield* IcebergEnv
      const table = { namespace: ["itest"], name: "concurrent" }
      const columns = [col("id", "INTEGER")]
      yield* writer().write(request(table, columns, [[0]]))
      // Writer A's first snapshot commit waits until writer B has committed: A must see the conflict.
      let commits = 0
      let conflictsSeen = 0
      const racing: typeof TableCatalog.Service = {
        ...catalog,
        commit: (ident, requirements, updates) =>
          Effect.gen(function*() {
            if (updates.some((u) => u.action === "add-snapshot") && commits++ === 0) {
              yield* writer().write(request(table, columns, [[100], [101]])).pipe(Effect.orDie)
            }
            return yield* catalog.commit(ident, requirements, updates).pipe(
              Effect.tapError((e) => Effect.sync(() => e._tag === "CommitConflict" && conflictsSeen++))
            )
          })
      }
      const a = yield* writer({ catalog: racing }).write(request(table, columns, [[1], [2], [3]]))
      assert.isFalse(a.alreadyCommitted)
      assert.strictEqual(conflictsSeen, 1)
      const back = yield* readBack(table)
      expect(back.rows.map((r) => r["id"])).toEqual(["0", "1", "2", "3", "100", "101"])
      const metadata = (yield* load(table)).metadata
      assert.strictEqual(metadata.snapshots.length, 3)
      const last = metadata.snapshots[2]!
      assert.strictEqual(last["snapshot-id"], BigInt(a.snapshotId))
      assert.strictEqual(last["sequence-number"], 3n)
      assert.strictEqual(last["parent-snapshot-id"], metadata.snapshots[1]!["snapshot-id"])
      assert.strictEqual(last.summary["total-records"], "6")
      assert.match(last["manifest-list"], /snap-\d+-2-/) // the second attempt's manifest list

      // Many writers in parallel.
      yield* Effect.all(
        Array.from({ length: 5 }, (_, k) => writer().write(request(table, columns, [[1000 + k], [2000 + k]]))),
        { concurrency: "unbounded" }
      )
      const after = yield* readBack(table)
      assert.strictEqual(after.rows.length, 16)
      assert.strictEqual(after.snapshot!.summary["total-records"], "16")
      assert.strictEqual(new Set(after.rows.map((r) => r["id"])).size, 16)
    }))

  it.effect("the SQL catalog's compare-and-swap rejects a commit on a stale base", () =>
    Effect.gen(function*() {
      const { writer, catalog } = yield* IcebergEnv
      const table = { namespace: ["itest"], name: "cas" }
      yield* writer().write(request(table, [col("id", "INTEGER")], [[1]]))
      const base = yield* load(table)
      const props = (value: string) => [{ action: "set-properties" as const, updates: { marker: value } }]
      yield* catalog.commit(table, [], props("first"))
      // Same requirements, base already moved: the swap must not apply blindly.
      const stale = yield* catalog.commit(table, [{ type: "assert-table-uuid", uuid: base.metadata["table-uuid"] }, {
        type: "assert-ref-snapshot-id",
        ref: "main",
        "snapshot-id": 12345n
      }], props("second")).pipe(Effect.flip)
      assert.strictEqual(stale._tag, "CommitConflict")
      assert.strictEqual((yield* load(table)).metadata.properties["marker"], "first")
      const duplicate = yield* catalog.createTable(table, { schema: currentSchema(base.metadata) }).pipe(Effect.flip)
      assert.strictEqual(duplicate._tag, "TableAlreadyExists")
    }))

  it.effect("the same commit id twice: the second write is reported as already committed", () =>
    Effect.gen(function*() {
      const { writer, catalog } = yield* IcebergEnv
      const table = { namespace: ["itest"], name: "idempotent" }
      const columns = [col("id", "INTEGER")]
      const first = yield* writer().write(request(table, columns, [[1], [2]], { commitId: "import-42" }))
      const again = yield* writer().write(request(table, columns, [[1], [2]], { commitId: "import-42" }))
      expect(again).toEqual({ ...first, alreadyCommitted: true })
      assert.strictEqual((yield* readBack(table)).rows.length, 2)

      // A duplicate that lands while this write is committing: found again on the retry.
      let fired = false
      const racing: typeof TableCatalog.Service = {
        ...catalog,
        commit: (ident, requirements, updates) =>
          Effect.gen(function*() {
            if (!fired && updates.some((u) => u.action === "add-snapshot")) {
              fired = true
              yield* writer().write(request(table, columns, [[7]], { commitId: "import-43" })).pipe(Effect.orDie)
            }
            return yield* catalog.commit(ident, requirements, updates)
          })
      }
      const raced = yield* writer({ catalog: racing }).write(request(table, columns, [[7]], { commitId: "import-43" }))
      assert.isTrue(raced.alreadyCommitted)
      assert.strictEqual(raced.recordsWritten, 1)
      expect((yield* readBack(table)).rows.map((r) => r["id"])).toEqual(["1", "2", "7"])
    }))

  it.effect("rolls over to new data files at the target size; progress is reported", () =>
    Effect.gen(function*() {
      const { writer } = yield* IcebergEnv
      const table = { namespace: ["itest"], name: "rollover" }
      const n = 5000
      const ids = Array.from({ length: n }, (_, i) => i)
      const names = ids.map((i) => `row ${i} ${"x".repeat(i % 50)}`)
      const progress: Array<number> = []
      const result = yield* writer({ targetFileBytes: 8 * 1024, batchRows: 1000 }).write({
        ...request(table, [col("id", "INTEGER"), col("name", "STRING")], []),
        // several reader batches of odd sizes, re-cut into Arrow batches of 1000 rows
        batches: Stream.fromIterable([0, 1700, 1701, 4000, n].slice(1).map((end, k, ends) => {
          const start = k === 0 ? 0 : ends[k - 1]!
          return { length: end - start, columns: [ids.slice(start, end), names.slice(start, end)] }
        })),
        onProgress: ({ records }) => Effect.sync(() => progress.push(records))
      })
      assert.strictEqual(result.recordsWritten, n)
      expect(progress).toEqual([1700, 1701, 4000, 5000])
      const back = yield* readBack(table)
      assert.isAtLeast(back.dataFiles.length, 3)
      assert.strictEqual(back.dataFiles.reduce((sum, f) => sum + Number(f.recordCount), 0), n)
      for (const file of back.dataFiles) {
        assert.strictEqual(Number(file.fileSizeInBytes), statSync(file.localPath).size)
        assert.strictEqual(Number(file.recordCount), yield* Effect.promise(() => countRows(file.localPath)))
      }
      assert.strictEqual(back.rows.length, n)
      assert.isTrue(back.rows.every((r, i) => r["id"] === String(i) && r["name"] === names[i]))
      assert.strictEqual(result.bytesWritten, back.dataFiles.reduce((sum, f) => sum + Number(f.fileSizeInBytes), 0))
    }))

  it.effect("stores packed batches as they are (same rows and metrics as cell batches) and converts narrower ones", () =>
    Effect.gen(function*() {
      const { writer } = yield* IcebergEnv
      const packed = (columns: ReadonlyArray<Column>, rows: ReadonlyArray<ReadonlyArray<CellValue>>): ColumnBatch => ({
        length: rows.length,
        columns: columns.map((column, c) => {
          const packer = makeColumnPacker(column, undefined, false)
          packer.appendAll(rows.map((row) => row[c]), rows.length)
          return packer.take()
        })
      })
      const fromCells = { namespace: ["itest", "packed"], name: "from_cells" }
      const fromPacked = { namespace: ["itest", "packed"], name: "from_packed" }
      yield* writer().write(request(fromCells, allTypes, allTypeRows))
      yield* writer().write({ ...request(fromPacked, allTypes, []), batches: Stream.make(packed(allTypes, allTypeRows)) })
      const cells = yield* readBack(fromCells)
      const direct = yield* readBack(fromPacked)
      expect(direct.rows).toEqual(cells.rows)
      const metrics = (raw: Record<string, unknown>) =>
        ["value_counts", "null_value_counts", "nan_value_counts", "lower_bounds", "upper_bounds"].map((key) => raw[key])
      expect(metrics(direct.dataFiles[0]!.raw)).toEqual(metrics(cells.dataFiles[0]!.raw))

      // Packed values of a narrower type than the table's column are converted, not copied.
      const widened = { namespace: ["itest", "packed"], name: "widened" }
      const tableColumns = [col("id", "INTEGER", { nullable: false }), col("ratio", "DOUBLE"), col("amount", "DECIMAL", { precision: 12, scale: 4 })]
      yield* writer().write(request(widened, tableColumns, [[1, 0.5, "1.0000"]]))
      const narrower = [col("id", "INTEGER", { nullable: false }), col("ratio", "INTEGER"), col("amount", "DECIMAL", { precision: 10, scale: 2 })]
      yield* writer().write({ ...request(widened, narrower, []), batches: Stream.make(packed(narrower, [[2, 7, "-1.25"], [3, null, null]])) })
      expect((yield* readBack(widened)).rows).toEqual([
        { id: "1", ratio: "0.5", amount: "1.0000" },
        { id: "2", ratio: "7.0", amount: "-1.2500" },
        { id: "3", ratio: null, amount: null }
      ])
    }))

  it.effect("takes Arrow record batches built by the caller", () =>
    Effect.gen(function*() {
      const { writer } = yield* IcebergEnv
      const table = { namespace: ["itest"], name: "from_arrow" }
      const arrow = new A.Table({
        id: A.vectorFromArray([5n, 6n], new A.Int64()),
        score: A.vectorFromArray([0.5, 0.25], new A.Float64()),
        label: A.vectorFromArray(["five", "six"], new A.Utf8())
      })
      const result = yield* writer().writeArrow({
        table,
        columns: [col("id", "INTEGER"), col("score", "DOUBLE"), col("label", "STRING")],
        mode: "append",
        commitId: "arrow-1",
        batches: Stream.fromIterable(arrow.batches)
      })
      assert.strictEqual(result.recordsWritten, 2)
      const back = yield* readBack(table)
      expect(back.rows).toEqual([{ id: "5", score: "0.5", label: "five" }, { id: "6", score: "0.25", label: "six" }])
      const wrong = yield* writer().writeArrow({
        table,
        columns: [col("id", "INTEGER"), col("score", "DOUBLE"), col("label", "STRING")],
        mode: "append",
        commitId: "arrow-2",
        batches: Stream.fromIterable(A.tableFromArrays({ id: Int32Array.from([1]), score: [1], label: ["x"] }).batches)
      }).pipe(Effect.flip)
      assert.strictEqual(wrong._tag, "Invalid")
      assert.include(wrong.message, `"id"`)
    }))

  it.effect("leaves only referenced files after a failed write (no rows visible)", () =>
    Effect.gen(function*() {
      const { writer, warehouseDir } = yield* IcebergEnv
      const table = { namespace: ["itest"], name: "failing" }
      const failing = Stream.make({ length: 1, columns: [[1]] }).pipe(
        Stream.concat(Stream.fail("source broke" as const))
      )
      const error = yield* writer().write({ ...request(table, [col("id", "INTEGER")], []), batches: failing }).pipe(
        Effect.flip
      )
      assert.strictEqual(error, "source broke")
      assert.strictEqual((yield* load(table)).metadata.snapshots.length, 0)
      const dataDir = path.join(warehouseDir, "itest", "failing", "data")
      const leftovers = (() => {
        try {
          return readdirSync(dataDir)
        } catch {
          return []
        }
      })()
      // A partial file may exist as a temp file at most, never as a data file.
      assert.isTrue(leftovers.every((f) => !f.endsWith(".parquet")))
    }))
})

if (!hasSharedContracts) {
  console.warn(`skipping the Iceberg contract checks: ${icebergContractDir} not found`)
}

describe.skipIf(!hasSharedContracts)("Iceberg metadata fixtures", () => {
  const fixture = (name: string) => readFileSync(path.join(icebergContractDir, "fixtures", name), "utf8")

  it.effect("parses the valid v2 fixtures with ids intact; rejects the incomplete ones", () =>
      Effect.gen(function*() {
        const { parseMetadata } = yield* Effect.promise(() => import("../../packages/adapters/src/iceberg/metadata.ts"))
        const valid = parseMetadata(fixture("TableMetadataV2Valid.json"))
        assert.strictEqual(valid["format-version"], 2)
        const raw = parseIcebergJson(fixture("TableMetadataV2Valid.json")) as { "current-snapshot-id": bigint }
        assert.strictEqual(typeof raw["current-snapshot-id"], "bigint")
        assert.strictEqual(valid["current-snapshot-id"], raw["current-snapshot-id"])
        parseMetadata(fixture("TableMetadataV2ValidMinimal.json"))
        for (const bad of ["TableMetadataV2MissingSchemas.json", "TableMetadataV2MissingPartitionSpecs.json",
          "TableMetadataV2MissingLastPartitionId.json", "TableMetadataV2MissingSortOrder.json",
          "TableMetadataV2CurrentSchemaNotFound.json"]) {
          assert.throws(() => parseMetadata(fixture(bad)), /lacks|not among/, bad)
        }
      }))
})
