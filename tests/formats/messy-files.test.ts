import type { DialectOverride, FileFormat, FileProfile } from "@ingest/domain"
import * as XLSX from "@e965/xlsx"
import { Effect } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { makeFormatReader } from "../../packages/adapters/src/formats/index.ts"
import { failureOf, readRows } from "./profile-helpers.ts"

/**
 * Real-world exports (fixtures/messy, made for these tests): each pattern through the real reader
 * (parser worker threads), profile and read, with the dialect and warnings the preview shows.
 */

const reader = makeFormatReader({ maxWorkers: 2 })
afterAll(() => reader.close())

const fixture = (name: string) => path.join(import.meta.dirname, "fixtures/messy", name)
const profile = (name: string, dialect?: DialectOverride, format: FileFormat = "csv"): Promise<FileProfile> =>
  Effect.runPromise(reader.profile(fixture(name), format, dialect === undefined ? {} : { dialect }))
const columnsOf = (p: FileProfile) => p.columns.map((c) => `${c.name}:${c.type}`)

describe("messy CSV files", () => {
  it("a report with a title block and footnotes: reads the table between them", async () => {
    const p = await profile("spending-report.csv")
    expect(columnsOf(p)).toEqual(["date:DATE", "supplier:STRING", "category:STRING", "amount:DECIMAL"])
    expect(p.totalRows).toBe(5)
    expect(p.dialect).toEqual({
      encoding: "utf-8",
      delimiter: ",",
      quote: '"',
      escape: '"',
      sheet: null,
      headerRows: 1,
      skipLeadingRows: 5,
      leadingLines: { from: 1, to: 5 },
      skipTrailingRows: 2,
      trailingLines: { from: 13, to: 14 }
    })
    expect(p.warnings).toEqual([
      "skipped 5 lines before the header (lines 1–5)",
      "skipped 2 lines after the data (lines 13–14): 2 notes"
    ])
    const rows = await readRows(reader, fixture("spending-report.csv"), p)
    expect(rows).toHaveLength(5)
    expect(rows[0]).toEqual([Date.UTC(2024, 0, 3) / 86_400_000, "Acme Rail Services", "Maintenance", "31250.00"])
    expect(rows.at(-1)![1]).toBe("Blue Fleet Leasing")
  })

  it("an ERP export with a totals row: the total is not a row, and the columns keep their types", async () => {
    const p = await profile("erp-export.csv")
    expect(columnsOf(p)).toEqual([
      "order_no:STRING", "customer:STRING", "order_date:DATE", "quantity:INTEGER", "net_amount:DECIMAL"
    ])
    expect(p.totalRows).toBe(5)
    expect(p.dialect?.delimiter).toBe(";")
    expect(p.dialect?.trailingLines).toEqual({ from: 7, to: 7 })
    expect(p.warnings).toEqual(["skipped 1 line after the data (line 7): a totals row"])
    const rows = await readRows(reader, fixture("erp-export.csv"), p)
    expect(rows.map((r) => r[0])).toEqual(["SO-10231", "SO-10232", "SO-10233", "SO-10234", "SO-10235"])
  })

  it("a last row named like a total that fits as a row (same shape, types kept, not the sums above) is data", async () => {
    const p = await profile("price-list.csv")
    expect(columnsOf(p)).toEqual(["product:STRING", "pack_size_ml:INTEGER", "unit_price:DECIMAL", "in_stock:BOOLEAN"])
    expect(p.totalRows).toBe(4)
    expect(p.dialect).toMatchObject({ skipTrailingRows: 0, trailingLines: null })
    expect(p.warnings).toEqual([])
    expect((await readRows(reader, fixture("price-list.csv"), p)).at(-1)).toEqual(["Total Care Shampoo", 400, "5.29", true])
  })

  it("a two-row header: a group row over a name row becomes \"Group Name\"", async () => {
    const p = await profile("two-row-header.csv")
    expect(columnsOf(p)).toEqual([
      "region:STRING", "revenue_plan:DECIMAL", "revenue_actual:DECIMAL", "cost_plan:DECIMAL", "cost_actual:DECIMAL"
    ])
    expect(p.sourceLabels).toEqual(["Region", "Revenue Plan", "Revenue Actual", "Cost Plan", "Cost Actual"])
    expect(p.dialect?.headerRows).toBe(2)
    expect(p.warnings).toEqual(['read 2 header rows (lines 1–2) as one, joining their labels as "Group Name"'])
    expect(await readRows(reader, fixture("two-row-header.csv"), p)).toHaveLength(4)
  })

  it("two tables stacked: imports the first and says so", async () => {
    const p = await profile("stacked-tables.csv")
    expect(columnsOf(p)).toEqual(["store:STRING", "date:DATE", "sales:DECIMAL"])
    expect(p.totalRows).toBe(4)
    expect(p.dialect?.trailingLines).toEqual({ from: 7, to: 10 })
    expect(p.warnings).toEqual(["ignored a second table starting at line 7: only the first table is read"])
    const rows = await readRows(reader, fixture("stacked-tables.csv"), p)
    expect(rows.map((r) => r[0])).toEqual(["Berlin", "Hamburg", "Munich", "Berlin"])
  })

  it("columns separated by runs of spaces", async () => {
    const p = await profile("space-delimited.txt")
    expect(columnsOf(p)).toEqual(["station:STRING", "date:DATE", "temp_c:DECIMAL", "rain_mm:DECIMAL"])
    expect(p.dialect?.delimiter).toBe(" ")
    const rows = await readRows(reader, fixture("space-delimited.txt"), p)
    expect(rows[3]).toEqual(["BER", Date.UTC(2024, 4, 2) / 86_400_000, "12.9", "12.1"])
  })

  it('", " as the separator, with quoted fields after the space', async () => {
    const p = await profile("comma-space.csv")
    expect(columnsOf(p)).toEqual(["id:INTEGER", "name:STRING", "city:STRING", "score:DECIMAL"])
    expect(p.dialect?.delimiter).toBe(", ")
    const rows = await readRows(reader, fixture("comma-space.csv"), p)
    expect(rows[3]).toEqual([4, "Dana O'Neil", "Cork", "6.75"])
  })

  it("a file without a header whose first row looks like data keeps that row as data", async () => {
    const p = await profile("no-header.csv")
    expect(columnsOf(p)).toEqual(["column_1:INTEGER", "column_2:DATE", "column_3:STRING", "column_4:DECIMAL"])
    expect(p.totalRows).toBe(4)
    expect(p.dialect?.headerRows).toBe(0)
    expect(p.warnings).toEqual([])
  })
})

describe("dialect overrides", () => {
  it("every decision can be overridden: no header, nothing skipped", async () => {
    const p = await profile("erp-export.csv", { headerRows: 0, skipTrailingRows: 0 })
    expect(p.totalRows).toBe(7)
    expect(p.columns.map((c) => c.name)).toEqual(["column_1", "column_2", "column_3", "column_4", "column_5"])
    expect(p.columns[3]!.type).toBe("STRING")
    expect(p.dialect).toMatchObject({ headerRows: 0, skipTrailingRows: 0, trailingLines: null })
    expect(await readRows(reader, fixture("erp-export.csv"), p)).toHaveLength(7)
  })

  it("skips the lines a user names, and reads the header after them", async () => {
    const p = await profile("spending-report.csv", { skipLeadingRows: 6, headerRows: 0, skipTrailingRows: 3 })
    expect(p.totalRows).toBe(5)
    expect(p.columns.map((c) => c.type)).toEqual(["DATE", "STRING", "STRING", "DECIMAL"])
    expect(p.dialect).toMatchObject({ headerRows: 0, skipLeadingRows: 6, leadingLines: { from: 1, to: 6 } })
  })

  it("a delimiter a user sets is used as it is", async () => {
    const p = await profile("comma-space.csv", { delimiter: "," })
    expect(p.dialect?.delimiter).toBe(",")
    expect(p.columns.map((c) => c.name)).toEqual(["id", "name", "city", "score"])
    expect(p.previewRows[0]!["name"]).toBe(' "Ana Souza"')
  })

  it("an override that leaves nothing to read fails with the reason", async () => {
    const beyond = await failureOf(reader.profile(fixture("no-header.csv"), "csv", { dialect: { skipLeadingRows: 10 } }))
    expect(beyond.reason).toBe("no data rows are left after the rows skipped and the header rows")
    const delimiter = await failureOf(reader.profile(fixture("no-header.csv"), "csv", { dialect: { delimiter: ";;" } }))
    expect(delimiter.reason).toBe('the delimiter ";;" is not supported: use one character, or ", "')
  })
})

describe("messy spreadsheets", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ingest-messy-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const workbook = (name: string, rows: Array<Array<unknown>>, edit?: (sheet: XLSX.WorkSheet) => void) => {
    const sheet = XLSX.utils.aoa_to_sheet(rows)
    edit?.(sheet)
    const book = XLSX.utils.book_new()
    XLSX.utils.book_append_sheet(book, sheet, "Report")
    const file = path.join(dir, name)
    writeFileSync(file, XLSX.write(book, { type: "buffer", bookType: "xlsx" }) as Buffer)
    return file
  }

  it("a sheet with blank leading columns, a title block and a formula totals row: the table alone, typed", async () => {
    const file = workbook("sales-report.xlsx", [
      [],
      [null, null, "Quarterly sales by region"],
      [null, null, "Prepared by Finance, all figures in EUR"],
      [],
      [null, null, "Region", "Units", "Revenue"],
      [null, null, "North", 120, 15230.5],
      [null, null, "South", 80, 9870.25],
      [null, null, "West", 45, 5120],
      [null, null, "Total", 245, 30220.75]
    ], (sheet) => {
      sheet["D9"] = { t: "n", v: 245, f: "SUM(D6:D8)" }
      sheet["E9"] = { t: "n", v: 30220.75, f: "SUM(E6:E8)" }
    })
    const p = await Effect.runPromise(reader.profile(file, "xlsx", {}))
    expect(columnsOf(p)).toEqual(["region:STRING", "units:INTEGER", "revenue:DOUBLE"])
    expect(p.totalRows).toBe(3)
    expect(p.dialect).toEqual({
      encoding: null, delimiter: null, quote: null, escape: null, sheet: "Report", headerRows: 1,
      skipLeadingRows: 4, leadingLines: { from: 1, to: 4 }, skipTrailingRows: 1, trailingLines: { from: 9, to: 9 }
    })
    expect(p.warnings).toEqual([
      "skipped 4 rows before the header (rows 1–4)",
      "skipped 2 empty columns before the table (columns A–B)",
      "skipped 1 row after the data (row 9): a totals row"
    ])
    expect(await readRows(reader, file, p)).toEqual([["North", 120, 15230.5], ["South", 80, 9870.25], ["West", 45, 5120]])
  })

  it("a formula totals row whose label would turn a date column into STRING is skipped", async () => {
    const week = (day: number) => new Date(Date.UTC(2024, 0, day))
    const file = workbook("weekly-traffic.xlsx", [
      ["Week starting", "Visitors", "Conversion rate"],
      [week(1), 1200, 0.031],
      [week(8), 1350, 0.028],
      [week(15), 980, 0.035],
      ["Total", 3530, 0.0313]
    ], (sheet) => {
      sheet["B5"] = { t: "n", v: 3530, f: "SUM(B2:B4)" }
      sheet["C5"] = { t: "n", v: 0.0313, f: "AVERAGE(C2:C4)" }
    })
    const p = await Effect.runPromise(reader.profile(file, "xlsx", {}))
    expect(columnsOf(p)).toEqual(["week_starting:DATE", "visitors:INTEGER", "conversion_rate:DOUBLE"])
    expect(p.totalRows).toBe(3)
    expect(p.dialect).toMatchObject({ skipTrailingRows: 1, trailingLines: { from: 5, to: 5 } })
    expect(p.warnings).toEqual(["skipped 1 row after the data (row 5): a totals row"])
    expect(await readRows(reader, file, p)).toHaveLength(3)
    const kept = await Effect.runPromise(reader.profile(file, "xlsx", { dialect: { skipTrailingRows: 0 } }))
    expect(kept.totalRows).toBe(4)
    expect(kept.columns[0]!.type).toBe("STRING")
  })

  it("a sheet with a two-row header over merged cells", async () => {
    const file = workbook("budget.xlsx", [
      ["Department", "FY2024", null, "FY2025", null],
      [null, "Budget", "Spent", "Budget", "Spent"],
      ["IT", 500, 480, 550, 120],
      ["HR", 200, 210, 220, 40]
    ], (sheet) => {
      sheet["!merges"] = [XLSX.utils.decode_range("B1:C1"), XLSX.utils.decode_range("D1:E1")]
    })
    const p = await Effect.runPromise(reader.profile(file, "xlsx", {}))
    expect(p.sourceLabels).toEqual(["Department", "FY2024 Budget", "FY2024 Spent", "FY2025 Budget", "FY2025 Spent"])
    expect(p.columns.map((c) => c.type)).toEqual(["STRING", "INTEGER", "INTEGER", "INTEGER", "INTEGER"])
    expect(p.dialect?.headerRows).toBe(2)
    expect(await readRows(reader, file, p)).toHaveLength(2)
    const overridden = await Effect.runPromise(reader.profile(file, "xlsx", { dialect: { headerRows: 1 } }))
    expect(overridden.totalRows).toBe(3)
    expect(overridden.columns[1]!.type).toBe("STRING")
  })
})
