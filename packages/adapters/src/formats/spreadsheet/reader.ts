import * as XLSX from "@e965/xlsx"
import { readFile, stat } from "node:fs/promises"
import { FileReadError } from "../errors.ts"
import { PARSE_BATCH_ROWS } from "../limits.ts"
import type { DialectOverride } from "@ingest/domain"
import { findLeading, findTrailer, joinHeaderRows, type LayoutRow } from "../layout.ts"
import type { SpreadsheetReadOptions } from "../read-options.ts"
import type { RawReader, RawTable, ReadingReport } from "../types.ts"
import { checkZipBomb, spreadsheetLimits } from "./zip-guard.ts"

export { spreadsheetLimits } from "./zip-guard.ts"

/**
 * Spreadsheet reader (xlsx, xlsm, xls) on SheetJS. SheetJS needs the whole workbook in memory,
 * so the file size is capped, zip containers are checked for bombs before SheetJS inflates them,
 * and the sheet's real used range is computed from its cells (a declared `<dimension>` is not
 * trusted). Header = first non-empty row; interior blank rows are kept, trailing ones dropped.
 */

type WorkbookKind = "zip" | "cfb" | "biff"

const sniffWorkbook = (head: Uint8Array): WorkbookKind | undefined => {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return "zip"
  const cfb = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]
  if (head.length >= 8 && cfb.every((byte, i) => head[i] === byte)) return "cfb"
  // Pre-BIFF8 workbooks (Excel 2.x–4.x) are a bare BIFF stream starting with a BOF record.
  if (head.length >= 4 && head[1] !== undefined && head[0] === 0x09 && [0x00, 0x02, 0x04, 0x08].includes(head[1])) {
    return "biff"
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Cells

type Cell = XLSX.CellObject

/** A cell that holds something: a value or an error (errors read as null but still occupy the cell). */
const isOccupied = (cell: Cell | undefined): boolean => {
  if (cell === undefined || cell === null) return false
  switch (cell.t) {
    case "z":
      return false
    case "s":
      return typeof cell.v === "string" && cell.v !== ""
    case "e":
      return true
    default:
      return cell.v !== undefined && cell.v !== null
  }
}

const cellValue = (cell: Cell | undefined): unknown => {
  if (!isOccupied(cell)) return null
  const value = cell!.v
  switch (cell!.t) {
    case "n":
      return typeof value === "number" ? value : null
    case "b":
      return typeof value === "boolean" ? value : null
    case "d":
      return value instanceof Date && !Number.isNaN(value.getTime()) ? value : null
    case "s":
      return typeof value === "string" ? value : String(value)
    default:
      return null
  }
}

const pad = (n: number) => String(n).padStart(2, "0")

/** Header text for a cell: strings as is, numbers in JS notation, dates as ISO (wall clock, UTC fields). */
const cellLabel = (cell: Cell | undefined): string => {
  const value = cellValue(cell)
  if (value === null) return ""
  if (value instanceof Date) {
    const date = `${value.getUTCFullYear()}-${pad(value.getUTCMonth() + 1)}-${pad(value.getUTCDate())}`
    const h = value.getUTCHours(), m = value.getUTCMinutes(), s = value.getUTCSeconds()
    return h === 0 && m === 0 && s === 0 ? date : `${date} ${pad(h)}:${pad(m)}:${pad(s)}`
  }
  if (typeof value === "boolean") return value ? "TRUE" : "FALSE"
  return String(value)
}

interface UsedGrid {
  /** Index of the header row (first non-empty row), or -1 for an empty sheet. */
  readonly headerRow: number
  /** Index of the last non-empty row. */
  readonly lastRow: number
  /** Column count, from column A to the last occupied column. */
  readonly width: number
  /** Index of the first occupied column. */
  readonly firstColumn: number
}

/** Scans the cells themselves; the sheet's declared range (`!ref`) may be a lie. */
const usedGrid = (rows: ReadonlyArray<ReadonlyArray<Cell> | undefined>): UsedGrid => {
  let headerRow = -1
  let lastRow = -1
  let width = 0
  let firstColumn = Number.MAX_SAFE_INTEGER
  // forEach skips holes, so a sparse array declared 1,048,576 rows long costs only its real rows.
  rows.forEach((row, r) => {
    if (row === undefined) return
    let last = -1
    let first = -1
    row.forEach((cell, c) => {
      if (c > last && isOccupied(cell)) {
        last = c
        if (first < 0) first = c
      }
    })
    if (last < 0) return
    if (headerRow < 0) headerRow = r
    lastRow = r
    if (last + 1 > width) width = last + 1
    if (first < firstColumn) firstColumn = first
  })
  return { headerRow, lastRow, width, firstColumn: headerRow < 0 ? 0 : firstColumn }
}

// ---------------------------------------------------------------------------------------------
// Reader

const describeSheetJsError = (error: unknown): FileReadError => {
  const message = error instanceof Error ? error.message : String(error)
  if (/password|encrypt/i.test(message)) {
    return new FileReadError("unsupported", "The workbook is encrypted (password protected); encrypted workbooks are not supported.")
  }
  return new FileReadError("corrupt", `The workbook cannot be read: ${message}`)
}

const hasCfbStream = (buf: Buffer, name: string): boolean => {
  try {
    const container = XLSX.CFB.read(buf, { type: "buffer" })
    return XLSX.CFB.find(container, name) != null
  } catch {
    return false
  }
}

export const readXlsx: RawReader = async (path, options) => {
  const info = await stat(path)
  if (info.size > spreadsheetLimits.maxFileBytes) {
    throw new FileReadError("too-large", `The workbook is ${info.size} bytes; the limit for spreadsheets is ${spreadsheetLimits.maxFileBytes} bytes.`)
  }
  const buf = await readFile(path)
  const kind = sniffWorkbook(buf.subarray(0, 8))
  if (kind === undefined) {
    throw new FileReadError("unsupported", "The file is not an Excel workbook (expected xlsx, xlsm or xls content).")
  }
  if (kind === "zip") await checkZipBomb(buf)
  // Office encrypts xlsx files by wrapping the package in a compound file.
  if (kind === "cfb" && hasCfbStream(buf, "EncryptedPackage")) {
    throw new FileReadError("unsupported", "The workbook is encrypted (password protected); encrypted workbooks are not supported.")
  }

  const wanted = options.sheet
  let workbook: XLSX.WorkBook
  try {
    workbook = XLSX.read(buf, {
      type: "buffer",
      dense: true,
      cellDates: true,
      cellFormula: false,
      cellHTML: false,
      cellText: false,
      cellNF: false,
      cellStyles: false,
      sheetStubs: false,
      bookVBA: false,
      // Only the chosen sheet is parsed; formulas are never evaluated, their cached values are used.
      sheets: wanted ?? 0
    })
  } catch (error) {
    throw describeSheetJsError(error)
  }

  const sheetName = wanted ?? workbook.SheetNames[0]
  if (wanted !== undefined && !workbook.SheetNames.includes(wanted)) {
    throw new FileReadError(
      "unsupported",
      `The workbook has no sheet named "${wanted}". Sheets: ${workbook.SheetNames.map((n) => `"${n}"`).join(", ")}.`
    )
  }
  const sheet = sheetName === undefined ? undefined : workbook.Sheets[sheetName]
  const rows: ReadonlyArray<ReadonlyArray<Cell> | undefined> = sheet?.["!data"] ?? []
  const grid = usedGrid(rows)
  const readOptions = sheetName === undefined ? {} : { sheet: sheetName }
  if (grid.headerRow < 0) {
    return { labels: [], readOptions, batches: emptyBatches() }
  }
  const height = grid.lastRow - grid.headerRow + 1
  if (height * grid.width > spreadsheetLimits.maxCells) {
    throw new FileReadError(
      "too-large",
      `Sheet "${sheetName}" spans ${height} rows × ${grid.width} columns; the limit is ${spreadsheetLimits.maxCells} cells.`
    )
  }
  const batchSize = Math.max(1, options.batchRows ?? PARSE_BATCH_ROWS)
  const again = options.again as SpreadsheetReadOptions | undefined
  const found = again !== undefined ? { window: windowOf(again, grid), totalsRow: false } : findWindow(rows, grid, options.dialect)
  const window = found.window
  const labels = joinHeaderRows(
    Array.from({ length: window.headerRows }, (_, k) => {
      const header = rows[window.headerRow + k] ?? []
      return Array.from({ length: window.columns }, (_, c) => cellLabel(header[window.firstColumn + c]))
    }),
    window.columns
  )
  return {
    labels,
    readOptions: { ...readOptions, ...window },
    batches: sheetBatches(rows, window, batchSize),
    report: again === undefined ? reportOf(sheetName ?? null, window, grid, found.totalsRow) : undefined
  } satisfies RawTable
}

type Window = Required<Omit<SpreadsheetReadOptions, "sheet">>

/** Where an older profile read the table: the first non-empty row as header, every column from A. */
const windowOf = (again: SpreadsheetReadOptions, grid: UsedGrid): Window => {
  const headerRow = again.headerRow ?? grid.headerRow
  const headerRows = again.headerRows ?? 1
  return {
    headerRow,
    headerRows,
    firstRow: again.firstRow ?? headerRow + headerRows,
    lastRow: again.lastRow ?? grid.lastRow,
    firstColumn: again.firstColumn ?? 0,
    columns: again.columns ?? grid.width
  }
}

/** Rows the layout looks at from the top, and from the bottom. */
const LAYOUT_ROWS = 5000
const TRAILER_ROWS = 400

/**
 * Where the table is on the sheet (layout.ts): blank columns on the left dropped, a title block
 * above the header, header rows, a totals row at the bottom; each as a user set it instead, when
 * they did. `totalsRow`: the rows skipped at the bottom end with a totals row.
 */
const findWindow = (
  rows: ReadonlyArray<ReadonlyArray<Cell> | undefined>,
  grid: UsedGrid,
  dialect: DialectOverride | undefined
): { readonly window: Window; readonly totalsRow: boolean } => {
  const firstColumn = grid.firstColumn
  const columns = grid.width - firstColumn
  const rowOf = (r: number): LayoutRow => {
    const row = rows[r]
    return {
      cells: Array.from({ length: columns }, (_, c) => (row === undefined ? null : cellValue(row[firstColumn + c]))),
      line: r + 1,
      dropped: false
    }
  }
  const top = grid.headerRow
  const given = dialect?.skipLeadingRows
  const headRows: Array<LayoutRow> = []
  for (let r = top; r <= Math.min(grid.lastRow, top + LAYOUT_ROWS - 1); r++) headRows.push(rowOf(r))
  const leading = findLeading(headRows, columns, {
    skip: given === undefined ? undefined : Math.max(0, given - top),
    headerRows: dialect?.headerRows
  })
  // A sheet's first row of the table names its columns unless a user says otherwise.
  const headerRows = dialect?.headerRows ?? Math.max(1, leading.headerRows)
  const headerRow = top + leading.skip
  const firstRow = headerRow + headerRows
  let lastRow = grid.lastRow
  let totalsRow = false
  const trailing = dialect?.skipTrailingRows
  if (trailing !== undefined) lastRow = grid.lastRow - trailing
  else {
    const from = Math.max(firstRow, grid.lastRow - TRAILER_ROWS + 1)
    const tail: Array<LayoutRow> = []
    for (let r = from; r <= grid.lastRow; r++) tail.push(rowOf(r))
    const trailer = findTrailer(tail, columns, { notes: false })
    if (trailer !== undefined) {
      lastRow = grid.lastRow - trailer.rows
      totalsRow = trailer.total
    }
  }
  if (lastRow < firstRow && (given !== undefined || dialect?.headerRows !== undefined || trailing !== undefined)) {
    throw new FileReadError("unsupported", "no data rows are left after the rows skipped and the header rows")
  }
  return { window: { headerRow, headerRows, firstRow, lastRow, firstColumn, columns }, totalsRow }
}

const columnName = (index: number): string => {
  let name = ""
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name
  return name
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`
const span = (from: number, to: number) => (from === to ? `row ${from}` : `rows ${from}–${to}`)

/** The preview's dialect and warnings of a sheet reading (rows and columns as the spreadsheet numbers them). */
const reportOf = (sheet: string | null, window: Window, grid: UsedGrid, totalsRow: boolean): ReadingReport => {
  const warnings: Array<string> = []
  const before = window.headerRow
  const title = before > grid.headerRow
  if (title) warnings.push(`skipped ${plural(before, "row")} before the header (${span(1, before)})`)
  if (window.firstColumn > 0) {
    const cols = window.firstColumn === 1 ? "column A" : `columns A–${columnName(window.firstColumn - 1)}`
    warnings.push(`skipped ${plural(window.firstColumn, "empty column")} before the table (${cols})`)
  }
  if (window.headerRows > 1) {
    warnings.push(`read ${window.headerRows} header rows (${span(window.headerRow + 1, window.headerRow + window.headerRows)}) as one, joining their labels as "Group Name"`)
  }
  const after = grid.lastRow - window.lastRow
  if (after > 0) {
    warnings.push(`skipped ${plural(after, "row")} after the data (${span(window.lastRow + 2, grid.lastRow + 1)})${totalsRow ? ": a totals row" : ""}`)
  }
  return {
    dialect: {
      encoding: null,
      delimiter: null,
      quote: null,
      escape: null,
      sheet,
      headerRows: window.headerRows,
      skipLeadingRows: before,
      leadingLines: before > 0 ? { from: 1, to: before } : null,
      skipTrailingRows: Math.max(0, after),
      trailingLines: after > 0 ? { from: window.lastRow + 2, to: grid.lastRow + 1 } : null
    },
    warnings
  }
}

async function* emptyBatches(): AsyncGenerator<ReadonlyArray<ReadonlyArray<unknown>>> {}

async function* sheetBatches(
  rows: ReadonlyArray<ReadonlyArray<Cell> | undefined>,
  window: Window,
  batchSize: number
): AsyncGenerator<ReadonlyArray<ReadonlyArray<unknown>>> {
  let batch: Array<ReadonlyArray<unknown>> = []
  const { firstColumn, columns } = window
  for (let r = window.firstRow; r <= window.lastRow; r++) {
    const row = rows[r]
    const values = new Array<unknown>(columns)
    for (let c = 0; c < columns; c++) values[c] = row === undefined ? null : cellValue(row[firstColumn + c])
    batch.push(values)
    if (batch.length >= batchSize) {
      yield batch
      batch = []
    }
  }
  if (batch.length > 0) yield batch
}
