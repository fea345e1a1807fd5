import * as XLSX from "@e965/xlsx"
import { readFileSync, writeFileSync } from "node:fs"
import path from "node:path"
import { deflateRawSync } from "node:zlib"
import { describe, expect, it } from "vitest"
import { allRows, corpus, haveCorpus, rejection, scratchDir, truth, warnIfNoCorpus } from "./raw-support.ts"
import { readXlsx, spreadsheetLimits } from "../../packages/adapters/src/formats/spreadsheet/reader.ts"

warnIfNoCorpus("xlsx")
const work = scratchDir("xlsx-reader-")

const spreadsheetKeys = Object.keys(truth).filter((key) => key.startsWith("xlsx/") || key.startsWith("xls/"))

describe.skipIf(!haveCorpus)("readXlsx on the conformance corpus", () => {
  const readable = spreadsheetKeys.filter((key) => truth[key]!.expect !== "error" && truth[key]!.rows !== null)

  /** Where the reader's documented policy differs from the truth (see corpus.test.ts). */
  const totalsRowDropped: Record<string, number> = {
    "xlsx/sheetjs__Attendance.xlsx": 23
  }

  it.each(readable)("%s gives the truth's row and column counts", async (key) => {
    const table = await readXlsx(path.join(corpus, key), {})
    const rows = await allRows(table)
    expect(rows.length).toBe(totalsRowDropped[key] ?? truth[key]!.rows)
    expect(table.labels.length).toBe(truth[key]!.columns!.length)
    expect(table.declaredTypes).toBeUndefined()
    for (const row of rows) expect(row.length).toBe(table.labels.length)
  })

  it("refuses the password-protected xls with a clear message", async () => {
    const error = await rejection(readXlsx(path.join(corpus, "xls/sheetjs__password_2002_40_xor_encrypted.xls"), {}))
    expect(error.kind).toBe("unsupported")
    expect(error.message).toMatch(/encrypted/)
  })

  it("uses the header row after leading blank rows and keeps header text as is", async () => {
    const table = await readXlsx(path.join(corpus, "xlsx/sheetjs__Attendance.xlsx"), {})
    expect(table.labels).toEqual(truth["xlsx/sheetjs__Attendance.xlsx"]!.columns)
    expect(table.readOptions).toMatchObject({ sheet: "Attendance - Attendance", headerRow: 1, headerRows: 1, firstRow: 2, firstColumn: 0 })
    const rows = await allRows(table)
    expect(rows[0]![0]).toEqual(new Date(Date.UTC(2020, 9, 1)))
    expect(rows[0]!.slice(1, 3)).toEqual([false, true])
  })

  it("honours the 1904 date system for xlsx and xls", async () => {
    for (const key of ["xlsx/sheetjs__1904_datesystem.xlsx", "xls/sheetjs__1904_datesystem.xls"]) {
      const table = await readXlsx(path.join(corpus, key), {})
      expect(table.labels[1]).toBe("1904-01-02")
      const rows = await allRows(table)
      expect(rows[0]).toEqual([11, new Date(Date.UTC(1904, 0, 12)), "1904-01-12", "1904-01-12"])
    }
  })

  it("reads error cells as null and formula cells as their cached values", async () => {
    const rows = await allRows(await readXlsx(path.join(corpus, "xlsx/sheetjs__ErrorTypes.xlsx"), {}))
    expect(rows[0]!.slice(0, 2)).toEqual([null, null])
    expect(rows[0]!.slice(4, 10)).toEqual([1, 1, 16, true, false, false])
  })

  it("keeps a merged value in the top-left cell only and keeps interior blank rows", async () => {
    const table = await readXlsx(path.join(corpus, "xlsx/sheetjs__merge_cells.xlsx"), {})
    expect(table.labels).toEqual(["A1:B2", "", "C1:C2", "Separate blocks"])
    const rows = await allRows(table)
    expect(rows[0]).toEqual([null, null, null, null])
    expect(rows).toHaveLength(3)
  })

  it("selects a sheet by name and lists the sheets when the name is unknown", async () => {
    const file = path.join(corpus, "xlsx/sheetjs__mixed_sheets.xlsx")
    const table = await readXlsx(file, { sheet: "choices" })
    expect(table.labels).toEqual(["list_name", "value", "label"])
    expect(await allRows(table)).toHaveLength(2)
    const again = await readXlsx(file, { sheet: (table.readOptions as { sheet?: string }).sheet })
    expect(again.labels).toEqual(["list_name", "value", "label"])
    const error = await rejection(readXlsx(file, { sheet: "nope" }))
    expect(error.kind).toBe("unsupported")
    expect(error.message).toContain('"survey", "choices", "settings"')
  })

  it("computes the used range instead of trusting a 255-column declared range (BIFF4)", async () => {
    const table = await readXlsx(path.join(corpus, "xls/xlrd__biff4_no_format_no_window2.xls"), {})
    expect(table.labels).toEqual(["ID", "TOTAL", "MAIN", "SUB"])
  })
})

// ---------------------------------------------------------------------------------------------
// Generated workbooks

const writeWorkbook = (name: string, sheets: Record<string, XLSX.WorkSheet>, bookType: XLSX.BookType = "xlsx"): string => {
  const workbook = XLSX.utils.book_new()
  for (const [sheetName, sheet] of Object.entries(sheets)) XLSX.utils.book_append_sheet(workbook, sheet, sheetName)
  const file = path.join(work, name)
  writeFileSync(file, XLSX.write(workbook, { type: "buffer", bookType, cellDates: true }) as Buffer)
  return file
}

/** Rewrites one member of an xlsx package through SheetJS's zip container support. */
const patchZipMember = (file: string, member: string, edit: (xml: string) => string): void => {
  const container = XLSX.CFB.read(readFileSync(file), { type: "buffer" })
  const entry = XLSX.CFB.find(container, `/${member}`)
  if (!entry) throw new Error(`no ${member}`)
  entry.content = Buffer.from(edit(Buffer.from(entry.content as Uint8Array).toString("utf8")))
  entry.size = entry.content.length
  writeFileSync(file, XLSX.CFB.write(container, { type: "buffer", fileType: "zip" }) as Buffer)
}

describe("readXlsx on generated workbooks", () => {
  it("reads numbers, strings, booleans and dates; keeps interior and drops trailing blank rows", async () => {
    const sheet = XLSX.utils.aoa_to_sheet(
      [
        ["id", "name", "active", "joined"],
        [1, "Ada", true, new Date(Date.UTC(2021, 4, 6, 12, 30))],
        [],
        [2.5, "Bob", false, new Date(Date.UTC(1999, 11, 31))],
        [null, null, null, null]
      ],
      // Dates are wall-clock values; UTC keeps the writer from shifting them by the local zone.
      { cellDates: true, UTC: true }
    )
    const file = writeWorkbook("types.xlsx", { Data: sheet, Other: XLSX.utils.aoa_to_sheet([["x"]]) })
    const table = await readXlsx(file, { batchRows: 1 })
    expect(table.labels).toEqual(["id", "name", "active", "joined"])
    expect(table.readOptions).toMatchObject({ sheet: "Data", headerRow: 0, headerRows: 1, firstRow: 1, firstColumn: 0, columns: 4 })
    let batches = 0
    const rows: Array<ReadonlyArray<unknown>> = []
    for await (const batch of table.batches) {
      batches++
      rows.push(...batch)
    }
    expect(batches).toBe(3)
    expect(rows).toEqual([
      [1, "Ada", true, new Date(Date.UTC(2021, 4, 6, 12, 30))],
      [null, null, null, null],
      [2.5, "Bob", false, new Date(Date.UTC(1999, 11, 31))]
    ])
  })

  it("takes a formula cell's cached value and never evaluates it", async () => {
    const sheet = XLSX.utils.aoa_to_sheet([["total"], [0]])
    sheet["A2"] = { t: "n", v: 42, f: "SUM(1,2)" }
    const rows = await allRows(await readXlsx(writeWorkbook("formula.xlsx", { S: sheet }), {}))
    expect(rows).toEqual([[42]])
  })

  it("reads a generated BIFF8 xls", async () => {
    const file = writeWorkbook("plain.xls", { S: XLSX.utils.aoa_to_sheet([["a", "b"], [1, "x"]]) }, "biff8")
    const table = await readXlsx(file, {})
    expect(table.labels).toEqual(["a", "b"])
    expect(await allRows(table)).toEqual([[1, "x"]])
  })

  it("ignores a declared dimension of the whole sheet and reads only the real cells", async () => {
    const file = writeWorkbook("dimension.xlsx", { S: XLSX.utils.aoa_to_sheet([["a"], [1], [2]]) })
    patchZipMember(file, "xl/worksheets/sheet1.xml", (xml) => {
      expect(xml).toMatch(/<dimension ref="A1:A3"\/>/)
      return xml.replace(/<dimension ref="[^"]*"\/>/, '<dimension ref="A1:XFD1048576"/>')
    })
    const table = await readXlsx(file, {})
    expect(table.labels).toEqual(["a"])
    expect(await allRows(table)).toEqual([[1], [2]])
  })

  it("refuses a sheet whose real cells span more than the cell limit", async () => {
    const file = writeWorkbook("huge-range.xlsx", { S: XLSX.utils.aoa_to_sheet([["a"], [1]]) })
    patchZipMember(file, "xl/worksheets/sheet1.xml", (xml) =>
      xml.replace("</sheetData>", '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')
    )
    const error = await rejection(readXlsx(file, {}))
    expect(error.kind).toBe("too-large")
    expect(error.message).toMatch(/1048576 rows × 16384 columns/)
  })

  it("refuses files that are not workbooks", async () => {
    const file = path.join(work, "notes.xlsx")
    writeFileSync(file, "just some text, not a workbook")
    const error = await rejection(readXlsx(file, {}))
    expect(error.kind).toBe("unsupported")
    expect(error.message).toMatch(/not an Excel workbook/)
  })
})

// ---------------------------------------------------------------------------------------------
// Zip bombs

interface ZipMember {
  readonly name: string
  readonly data: Buffer
  readonly method: 0 | 8
  readonly declaredSize: number
}

/** A minimal zip writer whose size fields say whatever the test wants them to say. */
const zipOf = (members: ReadonlyArray<ZipMember>): Buffer => {
  const locals: Array<Buffer> = []
  const centrals: Array<Buffer> = []
  let offset = 0
  for (const member of members) {
    const name = Buffer.from(member.name)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(member.method, 8)
    local.writeUInt32LE(member.data.length, 18)
    local.writeUInt32LE(member.declaredSize, 22)
    local.writeUInt16LE(name.length, 26)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(member.method, 10)
    central.writeUInt32LE(member.data.length, 20)
    central.writeUInt32LE(member.declaredSize, 24)
    central.writeUInt16LE(name.length, 28)
    central.writeUInt32LE(offset, 42)
    locals.push(local, name, member.data)
    centrals.push(central, name)
    offset += local.length + name.length + member.data.length
  }
  const directory = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(members.length, 8)
  end.writeUInt16LE(members.length, 10)
  end.writeUInt32LE(directory.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, directory, end])
}

describe("readXlsx against zip bombs", () => {
  const zeros = (bytes: number) => deflateRawSync(Buffer.alloc(bytes), { level: 9 })

  it("refuses a package whose declared sizes exceed the inflation limit", async () => {
    const file = path.join(work, "declared-bomb.xlsx")
    writeFileSync(file, zipOf([{ name: "xl/worksheets/sheet1.xml", data: zeros(1024), method: 8, declaredSize: 0xfffffff0 }]))
    const error = await rejection(readXlsx(file, {}))
    expect(error.kind).toBe("too-large")
    expect(error.message).toMatch(/zip bomb/)
  })

  it("refuses a package whose entries inflate to more than they declare", async () => {
    const file = path.join(work, "lying-bomb.xlsx")
    writeFileSync(file, zipOf([{ name: "xl/worksheets/sheet1.xml", data: zeros(8 * 1024 * 1024), method: 8, declaredSize: 1000 }]))
    const error = await rejection(readXlsx(file, {}))
    expect(error.kind).toBe("too-large")
    expect(error.message).toMatch(/declares 1000 bytes but inflates to more/)
  })

  it("stops inflating as soon as the total passes the limit", async () => {
    const saved = spreadsheetLimits.maxInflatedBytes
    spreadsheetLimits.maxInflatedBytes = 4 * 1024 * 1024
    try {
      const file = path.join(work, "honest-bomb.xlsx")
      const big = 8 * 1024 * 1024
      writeFileSync(
        file,
        zipOf([
          { name: "xl/a.xml", data: zeros(big / 2), method: 8, declaredSize: 1 },
          { name: "xl/b.xml", data: zeros(big / 2), method: 8, declaredSize: big / 2 }
        ])
      )
      const error = await rejection(readXlsx(file, {}))
      expect(error.kind).toBe("too-large")
    } finally {
      spreadsheetLimits.maxInflatedBytes = saved
    }
  })

  it("refuses a truncated zip as corrupt", async () => {
    const file = path.join(work, "truncated.xlsx")
    const whole = zipOf([{ name: "xl/workbook.xml", data: zeros(1024), method: 8, declaredSize: 1024 }])
    writeFileSync(file, whole.subarray(0, 40))
    const error = await rejection(readXlsx(file, {}))
    expect(error.kind).toBe("corrupt")
  })
})
