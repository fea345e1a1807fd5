import { readFileSync } from "node:fs"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeS3ObjectStore } from "@ingest/adapters/storage/index"
import * as arrow from "apache-arrow"
import * as parquetWasm from "parquet-wasm"
import { eventually, readLakeSchema, readLakeTable, tenantNamespaceOf } from "../support/lake.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { startS3rver } from "../support/s3rver.ts"
import type { RunningService } from "../support/server.ts"
import { api, ISSUER, MANAGE, startService } from "../support/server.ts"

// File import end to end through HTTP: upload → preview → schema → import → status, and the
// rows read back from the Iceberg table by an independent reader (DuckDB, by Parquet field id).

const tenant = "1e2d3c4b-5a69-4788-97a6-b5c4d3e2f1a0"
const otherTenant = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"

const salesCsv = [
  "Order ID,Customer Name,Amount,Order Date,Paid,__proto__",
  "1001,Alice,150.00,2024-03-01,true,x",
  '1002,"Bob, Jr.",299.50,2024-03-02,false,y',
  '1003,"Carol ""CJ""",,2024-03-03,true,',
  "1004,Dan,12.25,2024-03-04,NULL,z"
].join("\n") + "\n"

const upload = async (service: RunningService, token: string, tenantId: string, name: string, content: string | Uint8Array) => {
  const form = new FormData()
  form.append("file", new Blob([content]), name)
  const res = await fetch(`${service.baseUrl}/api/v1/files/upload`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "x-tenant-id": tenantId },
    body: form
  })
  return { status: res.status, body: await res.json() as any }
}

const suite = (label: string, setup: () => Promise<{ env: Record<string, string>; warehouse?: () => any; cleanup: () => Promise<void> }>) =>
  describe(label, () => {
    let stateDb: ReturnType<typeof createTestDatabase>
    let service: RunningService
    let token: string
    let call: ReturnType<typeof api>
    let cleanup: () => Promise<void>
    let warehouse: (() => any) | undefined
    let fileId: string

    beforeAll(async () => {
      stateDb = createTestDatabase()
      const s = await setup()
      cleanup = s.cleanup
      warehouse = s.warehouse
      service = await startService({ DATABASE_URL: stateDb.url, INGEST_MAX_UPLOAD_BYTES: String(1024 * 1024), ...s.env })
      token = await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER })
      call = api(service, token, tenant)
    }, 180_000)
    afterAll(async () => {
      await service?.stop()
      await cleanup?.()
      stateDb?.drop()
    })

    const table = (schema: string, name: string, orderBy?: string) =>
      readLakeTable(stateDb.url, service.dataDir, [tenantNamespaceOf(tenant), schema], name, orderBy, warehouse?.())

    it("uploads: 201 with the stored file, format detected, profiled", async () => {
      const res = await upload(service, token, tenant, "sales_2024.csv", salesCsv)
      expect(res.status).toBe(201)
      expect(res.body).toMatchObject({ tenantId: tenant, fileName: "sales_2024.csv", fileFormat: "csv", status: "UPLOADED" })
      expect(res.body.fileSize).toBe(Buffer.byteLength(salesCsv))
      expect(res.body.storagePath).toBe(`/${tenant}/uploads/${res.body.id}/sales_2024.csv`)
      fileId = res.body.id
    })

    it("previews the inferred schema, sample values and typed rows", async () => {
      const res = await call("GET", `/api/v1/files/${fileId}/preview`)
      expect(res.status).toBe(200)
      expect(res.body.totalRows).toBe(4)
      expect(res.body.columns.map((c: any) => c.name)).toEqual(["order_id", "customer_name", "amount", "order_date", "paid", "__proto__"])
      expect(res.body.inferredTypes).toMatchObject({ order_id: "INTEGER", customer_name: "STRING", amount: "DECIMAL", order_date: "DATE", paid: "BOOLEAN" })
      const amount = res.body.columns.find((c: any) => c.name === "amount")
      expect(amount).toMatchObject({ nullable: true, scale: 2 })
      expect(res.body.columns[0].sampleValues).toContain("1001")
      expect(res.body.previewRows).toHaveLength(4)
      expect(res.body.previewRows[1]).toMatchObject({ order_id: 1002, customer_name: "Bob, Jr." })
      expect(Object.keys(res.body.previewRows[0])).toContain("__proto__")
    })

    it("rejects bad mappings with messages naming the problem", async () => {
      const unknown = await call("PUT", `/api/v1/files/${fileId}/schema`, { targetTableName: "t", columnMappings: { nope: "x" } })
      expect(unknown.status).toBe(400)
      expect(unknown.body.message).toContain("nope")
      const duplicate = await call("PUT", `/api/v1/files/${fileId}/schema`, {
        targetTableName: "t",
        columnMappings: { "Customer Name": "amount" }
      })
      expect(duplicate.status).toBe(400)
      expect(duplicate.body.message).toMatch(/duplicate/i)
      const noTable = await call("PUT", `/api/v1/files/${fileId}/schema`, { columnMappings: {} })
      expect(noTable.status).toBe(400)
      expect(noTable.body.message).toContain("targetTableName")
    })

    it("updates the schema: sanitised names, mappings by label or name, dropUnmapped", async () => {
      const res = await call("PUT", `/api/v1/files/${fileId}/schema`, {
        targetTableName: "Sales Orders 2024",
        targetSchema: "Raw Data",
        columnMappings: { "Customer Name": "Customer", amount: "total_amount", order_id: "order_id", order_date: null, paid: "paid", ["__proto__"]: "proto" },
        dropUnmapped: true
      })
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ targetTableName: "sales_orders_2024", targetSchema: "raw_data", status: "CONFIGURED" })
      expect(res.body.columns.map((c: any) => c.name)).toEqual(["order_id", "customer", "total_amount", "paid", "proto"])
    })

    it("imports: 202 IMPORTING, then COMPLETED; the rows are in the Iceberg table", async () => {
      const res = await call("POST", `/api/v1/files/${fileId}/import`)
      expect(res.status).toBe(202)
      expect(res.body).toMatchObject({ id: fileId, fileName: "sales_2024.csv", targetTableName: "sales_orders_2024", targetSchema: "raw_data", status: "IMPORTING" })
      const done = await eventually(() => call("GET", `/api/v1/files/${fileId}/status`), (r) => ["COMPLETED", "FAILED"].includes(r.body.status))
      expect(done.body).toMatchObject({ status: "COMPLETED", recordsImported: 4, error: null })
      expect(done.body.completedAt).toMatch(/Z$/)
      const lake = await table("raw_data", "sales_orders_2024", "order_id")
      expect(lake?.rows).toEqual([
        { order_id: "1001", customer: "Alice", total_amount: "150.00", paid: "true", proto: "x" },
        { order_id: "1002", customer: "Bob, Jr.", total_amount: "299.50", paid: "false", proto: "y" },
        { order_id: "1003", customer: 'Carol "CJ"', total_amount: null, paid: "true", proto: null },
        { order_id: "1004", customer: "Dan", total_amount: "12.25", paid: null, proto: "z" }
      ])
      expect(lake?.snapshot?.summary["ingest.commit-id"]).toBe(`import:${fileId}`)
    })

    it("a COMPLETED file cannot be imported or re-mapped again (409)", async () => {
      expect((await call("POST", `/api/v1/files/${fileId}/import`)).status).toBe(409)
      expect((await call("PUT", `/api/v1/files/${fileId}/schema`, { targetTableName: "x" })).status).toBe(409)
    })

    it("appends a second file to the same table, adding its new column", async () => {
      const csv = "order_id,customer,total_amount,channel\n2001,Eve,10.50,web\n"
      const up = await upload(service, token, tenant, "more.csv", csv)
      await call("PUT", `/api/v1/files/${up.body.id}/schema`, { targetTableName: "sales_orders_2024", targetSchema: "raw_data" })
      await call("POST", `/api/v1/files/${up.body.id}/import`)
      const done = await eventually(() => call("GET", `/api/v1/files/${up.body.id}/status`), (r) => ["COMPLETED", "FAILED"].includes(r.body.status))
      expect(done.body).toMatchObject({ status: "COMPLETED", recordsImported: 1 })
      const lake = await table("raw_data", "sales_orders_2024", "order_id")
      expect(lake?.rows).toHaveLength(5)
      expect(lake?.rows[4]).toMatchObject({ order_id: "2001", customer: "Eve", channel: "web", paid: null })
      expect(lake?.rows[0]).toMatchObject({ order_id: "1001", channel: null })
    })

    it("an incompatible column type is refused with a clear message", async () => {
      const up = await upload(service, token, tenant, "bad.csv", "order_id,customer\nnot-a-number,Zed\n")
      await call("PUT", `/api/v1/files/${up.body.id}/schema`, { targetTableName: "sales_orders_2024", targetSchema: "raw_data" })
      const res = await call("POST", `/api/v1/files/${up.body.id}/import`)
      expect(res.status).toBe(400)
      expect(res.body.message).toMatch(/order_id/)
    })

    it("imports without a schema update into a table named after the file", async () => {
      const up = await upload(service, token, tenant, "Quarterly Report.jsonl", '{"a":1,"b":"x"}\n{"a":2,"b":null}\n')
      expect(up.body.fileFormat).toBe("jsonl")
      const res = await call("POST", `/api/v1/files/${up.body.id}/import`)
      expect(res.body).toMatchObject({ targetTableName: "quarterly_report", targetSchema: "default" })
      await eventually(() => call("GET", `/api/v1/files/${up.body.id}/status`), (r) => r.body.status === "COMPLETED")
      const lake = await table("default", "quarterly_report", "a")
      expect(lake?.rows).toEqual([{ a: "1", b: "x" }, { a: "2", b: null }])
    })

    it("refuses what it cannot read: unknown format 400, empty 400, corrupt 422, too large 413", async () => {
      const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3])
      const unknown = await upload(service, token, tenant, "image.png", png)
      expect(unknown.status).toBe(400)
      expect(unknown.body.message).toMatch(/format/i)
      const empty = await upload(service, token, tenant, "empty.csv", "")
      expect(empty.status).toBe(400)
      const corrupt = await upload(service, token, tenant, "broken.parquet", new Uint8Array([0x50, 0x41, 0x52, 0x31, 9, 9, 9, 9, 0x50, 0x41, 0x52, 0x31]))
      expect(corrupt.status).toBe(422)
      expect(corrupt.body).toMatchObject({ status: 422, path: "/api/v1/files/upload" })
      const big = await upload(service, token, tenant, "big.csv", "a\n" + "1\n".repeat(600_000))
      expect(big.status).toBe(413)
      expect(big.body.message).toMatch(/limit/)
    })

    it("a messy export: the preview shows how it was read; a dialect in the schema update re-reads it, or answers 400", async () => {
      const report = readFileSync(path.join(import.meta.dirname, "../formats/fixtures/messy/spending-report.csv"))
      const up = await upload(service, token, tenant, "spending-report.csv", report)
      expect(up.status).toBe(201)
      const preview = await call("GET", `/api/v1/files/${up.body.id}/preview`)
      expect(preview.body).toMatchObject({
        totalRows: 5,
        inferredTypes: { date: "DATE", supplier: "STRING", category: "STRING", amount: "DECIMAL" },
        dialect: {
          encoding: "utf-8", delimiter: ",", quote: '"', escape: '"', sheet: null, headerRows: 1,
          skipLeadingRows: 5, leadingLines: { from: 1, to: 5 }, skipTrailingRows: 2, trailingLines: { from: 13, to: 14 }
        },
        warnings: ["skipped 5 lines before the header (lines 1–5)", "skipped 2 lines after the data (lines 13–14): 2 notes"]
      })
      const unreadable = await call("PUT", `/api/v1/files/${up.body.id}/schema`, {
        targetTableName: "spending",
        dialect: { skipLeadingRows: 40 }
      })
      expect(unreadable.status).toBe(400)
      expect(unreadable.body.message).toBe(
        "dialect: the file cannot be read this way: no data rows are left after the rows skipped and the header rows"
      )
      const invalid = await call("PUT", `/api/v1/files/${up.body.id}/schema`, { targetTableName: "spending", dialect: { headerRows: -1 } })
      expect(invalid.status).toBe(400)
      const redone = await call("PUT", `/api/v1/files/${up.body.id}/schema`, {
        targetTableName: "spending",
        dialect: { skipLeadingRows: 6, headerRows: 0, skipTrailingRows: 3 },
        columnMappings: { column_1: "day", column_4: "amount" }
      })
      expect(redone.status).toBe(200)
      expect(redone.body.columns).toEqual([
        { source: "column_1", name: "day", type: "DATE" },
        { source: "column_2", name: "column_2", type: "STRING" },
        { source: "column_3", name: "column_3", type: "STRING" },
        { source: "column_4", name: "amount", type: "DECIMAL" }
      ])
      const again = await call("GET", `/api/v1/files/${up.body.id}/preview`)
      expect(again.body).toMatchObject({ totalRows: 5, dialect: { headerRows: 0, skipLeadingRows: 6, skipTrailingRows: 3 } })
      await call("POST", `/api/v1/files/${up.body.id}/import`)
      const done = await eventually(() => call("GET", `/api/v1/files/${up.body.id}/status`), (r) => ["COMPLETED", "FAILED"].includes(r.body.status))
      expect(done.body).toMatchObject({ status: "COMPLETED", recordsImported: 5 })
      const lake = await table("default", "spending", "day")
      expect(lake?.rows.map((r: any) => [String(r.day).slice(0, 10), String(r.amount)])).toEqual([
        ["2024-01-03", "31250.00"], ["2024-01-09", "48900.50"], ["2024-01-15", "26400.00"], ["2024-01-22", "55120.75"], ["2024-01-30", "39999.99"]
      ])
    })

    it("typed files keep their types: Parquet INT32/FLOAT become Iceberg int/float; appended to long/double columns they are promoted", async () => {
      const parquet = (ints: Array<number>, floats: Array<number>) => {
        const table = arrow.tableFromArrays({ n: Int32Array.from(ints), x: Float32Array.from(floats) })
        return parquetWasm.writeParquet(parquetWasm.Table.fromIPCStream(arrow.tableToIPC(table, "stream")))
      }
      const first = await upload(service, token, tenant, "measures.parquet", parquet([1, -2147483648, 2147483647], [0.5, -1.25, 3.5]))
      expect(first.status).toBe(201)
      const preview = await call("GET", `/api/v1/files/${first.body.id}/preview`)
      expect(preview.body.columns.map((c: any) => [c.name, c.type, c.bitWidth])).toEqual([["n", "INTEGER", 32], ["x", "DOUBLE", 32]])
      await call("PUT", `/api/v1/files/${first.body.id}/schema`, { targetTableName: "measures" })
      await call("POST", `/api/v1/files/${first.body.id}/import`)
      const done = await eventually(() => call("GET", `/api/v1/files/${first.body.id}/status`), (r) => ["COMPLETED", "FAILED"].includes(r.body.status))
      expect(done.body).toMatchObject({ status: "COMPLETED", recordsImported: 3 })
      const schemaOf = (name: string) => readLakeSchema(stateDb.url, service.dataDir, [tenantNamespaceOf(tenant), "default"], name, warehouse?.())
      expect(await schemaOf("measures")).toEqual({ n: "int", x: "float" })
      expect((await table("default", "measures", "n"))?.rows).toEqual([
        { n: "-2147483648", x: "-1.25" }, { n: "1", x: "0.5" }, { n: "2147483647", x: "3.5" }
      ])
      // A table of long and double columns takes 32-bit values by promotion.
      const wide = await upload(service, token, tenant, "wide.csv", "n,x\n9007199254740993,1e-3\n")
      await call("PUT", `/api/v1/files/${wide.body.id}/schema`, { targetTableName: "wide" })
      await call("POST", `/api/v1/files/${wide.body.id}/import`)
      const wideDone = await eventually(() => call("GET", `/api/v1/files/${wide.body.id}/status`), (r) => ["COMPLETED", "FAILED"].includes(r.body.status))
      expect(wideDone.body).toMatchObject({ status: "COMPLETED", error: null })
      const narrow = await upload(service, token, tenant, "narrow.parquet", parquet([7], [2.5]))
      await call("PUT", `/api/v1/files/${narrow.body.id}/schema`, { targetTableName: "wide" })
      await call("POST", `/api/v1/files/${narrow.body.id}/import`)
      const appended = await eventually(() => call("GET", `/api/v1/files/${narrow.body.id}/status`), (r) => ["COMPLETED", "FAILED"].includes(r.body.status))
      expect(appended.body).toMatchObject({ status: "COMPLETED", recordsImported: 1, error: null })
      expect(await schemaOf("wide")).toEqual({ n: "long", x: "double" })
      expect((await table("default", "wide", "n"))?.rows).toEqual([{ n: "7", x: "2.5" }, { n: "9007199254740993", x: "0.001" }])
    }, 180_000)

    it("keeps other tenants out (404) and needs the multipart field", async () => {
      const theirs = await service.keys.sign({ tenants: [otherTenant], permissions: [MANAGE] }, { issuer: ISSUER })
      expect((await api(service, theirs, otherTenant)("GET", `/api/v1/files/${fileId}/preview`)).status).toBe(404)
      expect((await api(service, theirs, otherTenant)("GET", `/api/v1/files/${fileId}/status`)).status).toBe(404)
      const form = new FormData()
      form.append("other", new Blob(["a\n1\n"]), "x.csv")
      const res = await fetch(`${service.baseUrl}/api/v1/files/upload`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "x-tenant-id": tenant },
        body: form
      })
      expect(res.status).toBe(400)
      expect(((await res.json()) as any).message).toContain("file")
    })
  })

suite("file import (local disk)", async () => ({ env: {}, cleanup: async () => {} }))

suite("file import (S3 storage and warehouse on s3rver)", async () => {
  const s3 = await startS3rver("lake")
  const saved = { ...process.env }
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL_S3: s3.endpoint
  })
  return {
    env: { INGEST_STORAGE_URL: "s3://lake/uploads", INGEST_WAREHOUSE_URL: "s3://lake/warehouse" },
    warehouse: () => makeS3ObjectStore({ bucket: "lake", prefix: "warehouse", client: s3.client }),
    cleanup: async () => {
      process.env = saved
      await s3.stop()
    }
  }
})
