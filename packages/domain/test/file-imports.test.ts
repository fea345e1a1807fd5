import { assert, describe, it as plainIt, layer } from "@effect/vitest"
import { JobLeases } from "@ingest/adapters/jobs/leases"
import {
  canAppend,
  FileId,
  FileImportRepo,
  FileImportService,
  FileStorage,
  targetColumns,
  TableWriter,
  tenantNamespace,
  TenantId
} from "@ingest/domain"
import type { Column, FileImport, Job } from "@ingest/domain"
import { Duration, Effect, Option, Stream } from "effect"
import { TestClock } from "effect/testing"
import { at, attempts, failureOf, makeWorld, millis, newTenant, uploadText } from "./support.ts"

const csv = "Order ID,Amount,Name,Crème\n1,10.50,apple,x\n2,3.25,pear,\n3,7,plum,z\n"

const jobFor = (file: FileImport, attempt = 1): Job => ({
  id: crypto.randomUUID(),
  kind: "import",
  tenantId: file.tenantId,
  refId: file.id,
  attempt
})

const storedKeys = (tenant: TenantId) =>
  FileStorage.pipe(Effect.flatMap((storage) => storage.list(`${tenant}/`)), Effect.map((infos) => infos.map((i) => i.key)))

const world = makeWorld()

layer(world.layer)("FileImportService: upload", (it) => {
  it.effect("stores the file under the tenant and records its profile, UPLOADED", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(millis("2024-07-01T09:00:00Z"))
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "orders.csv", csv)
      assert.strictEqual(file.status, "UPLOADED")
      assert.strictEqual(file.fileFormat, "csv")
      assert.strictEqual(file.fileSize, new TextEncoder().encode(csv).length)
      assert.strictEqual(file.storagePath, `${tenant}/uploads/${file.id}/orders.csv`)
      assert.deepStrictEqual(file.profile.columns.map((c) => [c.name, c.type]), [
        ["order_id", "INTEGER"],
        ["amount", "DECIMAL"],
        ["name", "STRING"],
        ["creme", "STRING"]
      ])
      assert.deepStrictEqual(file.profile.sourceLabels, ["Order ID", "Amount", "Name", "Crème"])
      assert.strictEqual(file.profile.totalRows, 3)
      assert.deepStrictEqual(file.createdAt, at("2024-07-01T09:00:00Z"))
      assert.deepStrictEqual(yield* storedKeys(tenant), [file.storagePath])
      assert.deepStrictEqual((yield* (yield* FileImportService).get(tenant, file.id)).profile, file.profile)
    }))

  it.effect("a path in the file name is dropped from the storage key", () =>
    Effect.gen(function*() {
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "../../etc/orders.csv", csv)
      assert.strictEqual(file.fileName, "orders.csv")
      assert.strictEqual(file.storagePath, `${tenant}/uploads/${file.id}/orders.csv`)
    }))

  it.effect("too large: UnreadableFile too-large, and nothing left in storage or in the repository", () =>
    Effect.gen(function*() {
      const tenant = newTenant()
      const error = yield* failureOf(uploadText(tenant, "orders.csv", csv, 20))
      assert.strictEqual(error._tag, "UnreadableFile")
      if (error._tag === "UnreadableFile") {
        assert.strictEqual(error.kind, "too-large")
        assert.include(error.reason, "20 bytes")
      }
      assert.deepStrictEqual(yield* storedKeys(tenant), [])
      assert.deepStrictEqual(yield* (yield* FileImportService).list(tenant), [])
    }))

  it.effect("exactly the limit is accepted", () =>
    Effect.gen(function*() {
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "orders.csv", csv, new TextEncoder().encode(csv).length)
      assert.strictEqual(file.status, "UPLOADED")
    }))

  it.effect("an empty or unrecognisable file is UnreadableFile unsupported, leaving nothing behind", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const tenant = newTenant()
      const empty = yield* failureOf(files.upload(tenant, "empty.csv", Stream.empty, { maxBytes: 100 }))
      assert.strictEqual(empty._tag === "UnreadableFile" ? empty.kind : empty._tag, "unsupported")
      const binary = yield* failureOf(
        files.upload(tenant, "blob.bin", Stream.make(new Uint8Array([0, 1, 2, 3, 255, 254])), { maxBytes: 100 })
      )
      assert.strictEqual(binary._tag === "UnreadableFile" ? binary.kind : binary._tag, "unsupported")
      assert.deepStrictEqual(yield* storedKeys(tenant), [])
      assert.deepStrictEqual(yield* files.list(tenant), [])
    }))

  it.effect("another tenant's file is NotFound", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "orders.csv", csv)
      const stranger = newTenant()
      for (
        const attempt of attempts(
          files.get(stranger, file.id),
          files.updateSchema(stranger, file.id, { targetTableName: "t" }),
          files.execute(stranger, file.id),
          files.get(tenant, FileId.make(crypto.randomUUID()))
        )
      ) {
        assert.strictEqual((yield* failureOf(attempt))._tag, "NotFound")
      }
      assert.strictEqual((yield* files.get(tenant, file.id)).status, "UPLOADED")
    }))
})

layer(makeWorld().layer)("FileImportService: updateSchema", (it) => {
  it.effect("sanitises the table and schema names; the schema defaults to `default`", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "orders.csv", csv)
      const configured = yield* files.updateSchema(tenant, file.id, { targetTableName: "Sales 2024!" })
      assert.strictEqual(configured.status, "CONFIGURED")
      assert.strictEqual(configured.targetTableName, "sales_2024")
      assert.strictEqual(configured.targetSchema, "default")
      const again = yield* files.updateSchema(tenant, file.id, { targetTableName: "2024 Sales", targetSchema: "Finance Team" })
      assert.strictEqual(again.targetTableName, "_2024_sales")
      assert.strictEqual(again.targetSchema, "finance_team")
      assert.deepStrictEqual(files.tableOf(again), { namespace: [tenantNamespace(tenant), "finance_team"], name: "_2024_sales" })
    }))

  it.effect("names nothing usable: Invalid on targetTableName / targetSchema", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "orders.csv", csv)
      const table = yield* failureOf(files.updateSchema(tenant, file.id, { targetTableName: "!!!" }))
      assert.strictEqual(table._tag === "Invalid" ? table.field : table._tag, "targetTableName")
      const schema = yield* failureOf(files.updateSchema(tenant, file.id, { targetTableName: "t", targetSchema: "???" }))
      assert.strictEqual(schema._tag === "Invalid" ? schema.field : schema._tag, "targetSchema")
      assert.strictEqual((yield* files.get(tenant, file.id)).status, "UPLOADED")
    }))

  it.effect("maps columns by their label in the file or by their sanitised name; targets are sanitised", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "orders.csv", csv)
      const configured = yield* files.updateSchema(tenant, file.id, {
        targetTableName: "orders",
        columnMappings: { "Order ID": "id", amount: "Total (EUR)", Crème: null }
      })
      assert.deepStrictEqual(configured.columnMappings, { order_id: "id", amount: "total_eur", creme: null })
      assert.strictEqual(configured.dropUnmapped, false)
      // null and unmapped columns keep their own name
      assert.deepStrictEqual(targetColumns(configured).map((c) => [c.source, c.column.name]), [
        ["order_id", "id"],
        ["amount", "total_eur"],
        ["name", "name"],
        ["creme", "creme"]
      ])
      const stored = yield* files.get(tenant, file.id)
      assert.deepStrictEqual(stored.columnMappings, configured.columnMappings)
    }))

  it.effect("dropUnmapped keeps only the mapped columns (null drops too)", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "orders.csv", csv)
      const configured = yield* files.updateSchema(tenant, file.id, {
        targetTableName: "orders",
        columnMappings: { "Order ID": "id", Name: "name", amount: null },
        dropUnmapped: true
      })
      assert.deepStrictEqual(targetColumns(configured).map((c) => c.column.name), ["id", "name"])
      const none = yield* failureOf(files.updateSchema(tenant, file.id, {
        targetTableName: "orders",
        columnMappings: { amount: null },
        dropUnmapped: true
      }))
      assert.strictEqual(none._tag, "Invalid")
      assert.include(none.message, "no column")
    }))

  it.effect("an unknown column, an unusable target or duplicate targets are Invalid on columnMappings", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "orders.csv", csv)
      const cases: ReadonlyArray<[Record<string, string | null>, string]> = [
        [{ "Order Number": "id" }, `unknown column "Order Number"`],
        [{ amount: "???" }, "not a valid column name"],
        [{ "Order ID": "name" }, `duplicate target column "name"`],
        [{ amount: "Total", Name: "total" }, `duplicate target column "total"`]
      ]
      for (const [columnMappings, message] of cases) {
        const error = yield* failureOf(files.updateSchema(tenant, file.id, { targetTableName: "orders", columnMappings }))
        assert.strictEqual(error._tag === "Invalid" ? error.field : error._tag, "columnMappings")
        assert.include(error.message, message)
      }
      // nothing of the refused updates was kept
      const stored = yield* files.get(tenant, file.id)
      assert.strictEqual(stored.status, "UPLOADED")
      assert.strictEqual(stored.columnMappings, null)
    }))

  it.effect("a mapping key like __proto__ is an unknown column, not a prototype trick", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "orders.csv", csv)
      const mappings = JSON.parse(`{"__proto__": "x"}`) as Record<string, string>
      const error = yield* failureOf(files.updateSchema(tenant, file.id, { targetTableName: "orders", columnMappings: mappings }))
      assert.strictEqual(error._tag, "Invalid")
    }))

  it.effect("a column labelled __proto__ maps and imports like any other", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "odd.csv", "__proto__,constructor\n1,2\n")
      assert.deepStrictEqual(file.profile.columns.map((c) => c.name), ["__proto__", "constructor"])
      const mappings = JSON.parse(`{"__proto__": "proto_value"}`) as Record<string, string>
      const configured = yield* files.updateSchema(tenant, file.id, { targetTableName: "odd", columnMappings: mappings })
      assert.deepStrictEqual(targetColumns(configured).map((c) => c.column.name), ["proto_value", "constructor"])
      yield* files.execute(tenant, file.id)
      yield* files.runImport(jobFor(file))
      assert.strictEqual((yield* files.get(tenant, file.id)).recordsImported, 1)
    }))

  it.effect("is a Conflict once the import runs or has completed", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "orders.csv", csv)
      yield* files.execute(tenant, file.id)
      const importing = yield* failureOf(files.updateSchema(tenant, file.id, { targetTableName: "other" }))
      assert.strictEqual(importing._tag, "Conflict")
      assert.include(importing.message, "IMPORTING")
      yield* files.runImport(jobFor(file))
      const completed = yield* failureOf(files.updateSchema(tenant, file.id, { targetTableName: "other" }))
      assert.strictEqual(completed._tag, "Conflict")
      assert.include(completed.message, "COMPLETED")
    }))
})

layer(world.layer)("FileImportService: execute and runImport", (it) => {
  const claimImport = (file: FileImport) =>
    JobLeases.pipe(
      Effect.flatMap((leases) => leases.claim("test", 100, Duration.minutes(1))),
      Effect.map((jobs) => jobs.filter((j) => j.refId === file.id))
    )

  it.effect("execute without a schema: the table is named after the file, IMPORTING, one job queued", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(millis("2024-07-02T10:00:00Z"))
      const files = yield* FileImportService
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "Q1 Sales Report.final.csv", csv)
      const importing = yield* files.execute(tenant, file.id)
      assert.strictEqual(importing.status, "IMPORTING")
      assert.strictEqual(importing.targetTableName, "q1_sales_report_final")
      assert.strictEqual(importing.targetSchema, "default")
      assert.strictEqual(importing.recordsImported, 0)
      const jobs = yield* claimImport(file)
      assert.strictEqual(jobs.length, 1)
      assert.strictEqual(jobs[0]!.kind, "import")
      assert.strictEqual(jobs[0]!.tenantId, tenant)

      const again = yield* failureOf(files.execute(tenant, file.id))
      assert.strictEqual(again._tag, "Conflict")
      assert.strictEqual((yield* claimImport(file)).length, 0)
    }))

  it.effect("runImport writes the mapped rows in one commit and completes with the record count", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(millis("2024-07-03T10:00:00Z"))
      const files = yield* FileImportService
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "orders.csv", csv)
      yield* files.updateSchema(tenant, file.id, {
        targetTableName: "orders",
        columnMappings: { "Order ID": "id", Name: "fruit" },
        dropUnmapped: true
      })
      yield* files.execute(tenant, file.id)
      yield* TestClock.adjust("2 seconds")
      yield* files.runImport(jobFor(file))
      const done = yield* files.get(tenant, file.id)
      assert.strictEqual(done.status, "COMPLETED")
      assert.strictEqual(done.recordsImported, 3)
      assert.strictEqual(done.bytesRead, file.fileSize)
      assert.strictEqual(done.error, null)
      assert.deepStrictEqual(done.completedAt, at("2024-07-03T10:00:02Z"))

      const table = world.writer.table([tenantNamespace(tenant), "default"], "orders")!
      assert.deepStrictEqual(table.columns.map((c) => [c.name, c.type]), [["id", "INTEGER"], ["fruit", "STRING"]])
      assert.deepStrictEqual(table.rows, [[1, "apple"], [2, "pear"], [3, "plum"]])
      assert.deepStrictEqual(table.commits, [{ commitId: `import:${file.id}`, mode: "append", rows: 3 }])

      // a repeated job for a finished import does nothing
      yield* files.runImport(jobFor(file, 2))
      assert.strictEqual(table.commits.length, 1)
      const completed = yield* failureOf(files.execute(tenant, file.id))
      assert.strictEqual(completed._tag, "Conflict")
    }))

  it.effect("a second file appends to the same table", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const tenant = newTenant()
      for (const text of [csv, "Order ID,Amount,Name,Crème\n4,1.00,fig,q\n"]) {
        const file = yield* uploadText(tenant, "orders.csv", text)
        yield* files.updateSchema(tenant, file.id, { targetTableName: "orders" })
        yield* files.execute(tenant, file.id)
        yield* files.runImport(jobFor(file))
        assert.strictEqual((yield* files.get(tenant, file.id)).status, "COMPLETED")
      }
      const table = world.writer.table([tenantNamespace(tenant), "default"], "orders")!
      assert.deepStrictEqual(table.rows.map((r) => r[2]), ["apple", "pear", "plum", "fig"])
    }))

  it.effect("execute refuses a file whose column cannot go into the existing table (Invalid), queuing nothing", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const writer = yield* TableWriter
      const tenant = newTenant()
      const existing: ReadonlyArray<Column> = [{ name: "amount", type: "BOOLEAN", nullable: true }]
      yield* writer.write({
        table: { namespace: [tenantNamespace(tenant), "default"], name: "orders" },
        columns: existing,
        mode: "append",
        commitId: "setup",
        batches: Stream.empty
      })
      const file = yield* uploadText(tenant, "orders.csv", csv)
      const error = yield* failureOf(files.execute(tenant, file.id))
      assert.strictEqual(error._tag === "Invalid" ? error.field : error._tag, "columnMappings")
      assert.include(error.message, `Column "amount" is BOOLEAN`)
      assert.include(error.message, "DECIMAL(4,2)")
      assert.strictEqual((yield* files.get(tenant, file.id)).status, "UPLOADED")
      assert.strictEqual((yield* claimImport(file)).length, 0)

      // renamed away from the clash, the same file imports, and the table gains its columns
      yield* files.updateSchema(tenant, file.id, { targetTableName: "orders", columnMappings: { amount: "price" } })
      yield* files.execute(tenant, file.id)
      yield* files.runImport(jobFor(file))
      assert.strictEqual((yield* files.get(tenant, file.id)).status, "COMPLETED")
      const table = world.writer.table([tenantNamespace(tenant), "default"], "orders")!
      assert.deepStrictEqual(table.columns.map((c) => c.name), ["amount", "order_id", "price", "name", "creme"])
      assert.deepStrictEqual(table.rows[0], [null, 1, "10.50", "apple", "x"])
    }))

  it.effect("a reader that fails: FAILED with its reason, nothing committed", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "orders.csv", csv)
      yield* files.execute(tenant, file.id)
      world.failReads("row 2, column amount: \"x\" is not a decimal")
      yield* files.runImport(jobFor(file)).pipe(Effect.ensuring(Effect.sync(() => world.failReads(null))))
      const failed = yield* files.get(tenant, file.id)
      assert.strictEqual(failed.status, "FAILED")
      assert.strictEqual(failed.error, "row 2, column amount: \"x\" is not a decimal")
      assert.isNotNull(failed.completedAt)
      assert.isUndefined(world.writer.table([tenantNamespace(tenant), "default"], "orders"))
      // a failed import may be configured and run again
      yield* files.execute(tenant, file.id)
      yield* files.runImport(jobFor(file))
      assert.strictEqual((yield* files.get(tenant, file.id)).status, "COMPLETED")
    }))

  it.effect("a job claimed more than 3 times (the process kept dying) ends FAILED, writing nothing", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "orders.csv", csv)
      yield* files.execute(tenant, file.id)
      yield* files.runImport(jobFor(file, 4))
      const failed = yield* files.get(tenant, file.id)
      assert.strictEqual(failed.status, "FAILED")
      assert.include(failed.error ?? "", "interrupted 3 times")
      assert.isUndefined(world.writer.table([tenantNamespace(tenant), "default"], "orders"))
    }))

  it.effect("the third attempt still runs", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "orders.csv", csv)
      yield* files.execute(tenant, file.id)
      yield* files.runImport(jobFor(file, 3))
      assert.strictEqual((yield* files.get(tenant, file.id)).status, "COMPLETED")
    }))

  it.effect("runImport ignores files that are not IMPORTING and unknown ids", () =>
    Effect.gen(function*() {
      const files = yield* FileImportService
      const repo = yield* FileImportRepo
      const tenant = newTenant()
      const file = yield* uploadText(tenant, "orders.csv", csv)
      yield* files.runImport(jobFor(file))
      assert.strictEqual((yield* files.get(tenant, file.id)).status, "UPLOADED")
      yield* files.runImport({ ...jobFor(file), refId: crypto.randomUUID() })
      assert.isTrue(Option.isSome(yield* repo.find(tenant, file.id)))
    }))
})

describe("canAppend", () => {
  const col = (type: Column["type"], precision?: number, scale?: number): Column => ({
    name: "c",
    type,
    nullable: true,
    ...(precision === undefined ? {} : { precision }),
    ...(scale === undefined ? {} : { scale })
  })

  plainIt("same type is fine; a DECIMAL needs the same scale and enough precision", () => {
    for (const type of ["BOOLEAN", "INTEGER", "DOUBLE", "DATE", "TIMESTAMP", "TIMESTAMP_TZ", "STRING", "BINARY"] as const) {
      assert.isTrue(canAppend(col(type), col(type)), type)
    }
    assert.isTrue(canAppend(col("DECIMAL", 10, 2), col("DECIMAL", 8, 2)))
    assert.isTrue(canAppend(col("DECIMAL", 10, 2), col("DECIMAL", 10, 2)))
    assert.isFalse(canAppend(col("DECIMAL", 8, 2), col("DECIMAL", 10, 2)))
    assert.isFalse(canAppend(col("DECIMAL", 10, 2), col("DECIMAL", 10, 3)))
    // unspecified precision is 38, unspecified scale 0
    assert.isTrue(canAppend(col("DECIMAL"), col("DECIMAL", 38, 0)))
    assert.isFalse(canAppend(col("DECIMAL", 10, 0), col("DECIMAL")))
  })

  plainIt("widening that loses nothing is allowed", () => {
    for (const type of ["BOOLEAN", "INTEGER", "DECIMAL", "DOUBLE", "DATE", "TIMESTAMP", "TIMESTAMP_TZ", "BINARY"] as const) {
      assert.isTrue(canAppend(col("STRING"), col(type)), `${type} into STRING`)
    }
    assert.isTrue(canAppend(col("DOUBLE"), col("INTEGER")))
    assert.isTrue(canAppend(col("DECIMAL", 20, 2), col("INTEGER")))
    assert.isTrue(canAppend(col("TIMESTAMP"), col("DATE")))
    assert.isTrue(canAppend(col("TIMESTAMP_TZ"), col("DATE")))
  })

  plainIt("everything else is refused", () => {
    assert.isFalse(canAppend(col("INTEGER"), col("STRING")))
    assert.isFalse(canAppend(col("INTEGER"), col("DOUBLE")))
    assert.isFalse(canAppend(col("INTEGER"), col("DECIMAL", 10, 2)))
    assert.isFalse(canAppend(col("DOUBLE"), col("DECIMAL", 10, 2)))
    assert.isFalse(canAppend(col("BOOLEAN"), col("INTEGER")))
    assert.isFalse(canAppend(col("DATE"), col("TIMESTAMP")))
    assert.isFalse(canAppend(col("TIMESTAMP"), col("TIMESTAMP_TZ")))
    assert.isFalse(canAppend(col("TIMESTAMP_TZ"), col("TIMESTAMP")))
    assert.isFalse(canAppend(col("BINARY"), col("STRING")))
  })
})

describe("tenantNamespace", () => {
  plainIt("is t_ and the uuid's hex digits in lower case", () => {
    assert.strictEqual(
      tenantNamespace(TenantId.make("7A1F0C52-3F0E-4A57-9A3C-0E5B3F1D2C41")),
      "t_7a1f0c523f0e4a579a3c0e5b3f1d2c41"
    )
    const tenant = newTenant()
    assert.match(tenantNamespace(tenant), /^t_[0-9a-f]{32}$/)
  })
})
