import * as XLSX from "@e965/xlsx"
import { readFile, stat } from "node:fs/promises"
import { createInflateRaw } from "node:zlib"
import { type RawReader, RawReadError, type RawReadOptions, type RawTable } from "../types.ts"

/**
 * Spreadsheet reader (xlsx, xlsm, xls) on SheetJS. SheetJS needs the whole workbook in memory,
 * so the file size is capped, zip containers are checked for bombs before SheetJS inflates them,
 * and the sheet's real used range is computed from its cells (a declared `<dimension>` is not
 * trusted). Header = first non-empty row; interior blank rows are kept, trailing ones dropped.
 */

export const spreadsheetLimits = {
  /** Largest workbook file accepted. */
  maxFileBytes: 200 * 1024 * 1024,
  /** Largest total size of all zip entries once inflated. */
  maxInflatedBytes: 512 * 1024 * 1024,
  /** Largest inflated/compressed ratio of one zip entry bigger than `ratioFloorBytes`. */
  maxCompressionRatio: 1000,
  ratioFloorBytes: 16 * 1024 * 1024,
  maxZipEntries: 65_536,
  /** Largest grid (rows × columns, header included) a sheet may span. */
  maxCells: 20_000_000
}

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
// Zip bomb guard

interface ZipEntry {
  readonly name: string
  readonly method: number
  readonly flags: number
  readonly compressedSize: number
  readonly uncompressedSize: number
  readonly localHeaderOffset: number
}

const corruptZip = (why: string) => new RawReadError("corrupt", `The workbook is not a valid zip container: ${why}.`)

const findEndOfCentralDirectory = (buf: Buffer): number => {
  const lowest = Math.max(0, buf.length - 22 - 0xffff)
  for (let at = buf.length - 22; at >= lowest; at--) {
    if (buf.readUInt32LE(at) === 0x06054b50) return at
  }
  throw corruptZip("no end-of-central-directory record")
}

const readBigOffset = (buf: Buffer, at: number): number => {
  const value = buf.readBigUInt64LE(at)
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw corruptZip("a zip64 offset is out of range")
  return Number(value)
}

/** Lists the central directory, including zip64 sizes and offsets. */
export const listZipEntries = (buf: Buffer): Array<ZipEntry> => {
  if (buf.length < 22) throw corruptZip("file too short")
  const eocd = findEndOfCentralDirectory(buf)
  let entryCount = buf.readUInt16LE(eocd + 10)
  let directoryOffset = buf.readUInt32LE(eocd + 16)
  if (entryCount === 0xffff || directoryOffset === 0xffffffff) {
    const locator = eocd - 20
    if (locator < 0 || buf.readUInt32LE(locator) !== 0x07064b50) throw corruptZip("zip64 locator missing")
    const record = readBigOffset(buf, locator + 8)
    if (record + 56 > buf.length || buf.readUInt32LE(record) !== 0x06064b50) throw corruptZip("zip64 record missing")
    entryCount = readBigOffset(buf, record + 32)
    directoryOffset = readBigOffset(buf, record + 48)
  }
  if (entryCount > spreadsheetLimits.maxZipEntries) {
    throw new RawReadError("too-large", `The workbook holds ${entryCount} zip entries (limit ${spreadsheetLimits.maxZipEntries}).`)
  }
  const entries: Array<ZipEntry> = []
  let at = directoryOffset
  for (let i = 0; i < entryCount; i++) {
    if (at + 46 > buf.length || buf.readUInt32LE(at) !== 0x02014b50) throw corruptZip("central directory is truncated")
    const nameLength = buf.readUInt16LE(at + 28)
    const extraLength = buf.readUInt16LE(at + 30)
    const commentLength = buf.readUInt16LE(at + 32)
    const end = at + 46 + nameLength + extraLength + commentLength
    if (end > buf.length) throw corruptZip("central directory is truncated")
    let uncompressedSize = buf.readUInt32LE(at + 24)
    let compressedSize = buf.readUInt32LE(at + 20)
    let localHeaderOffset = buf.readUInt32LE(at + 42)
    // Zip64 extra field: the 64-bit values follow in this order, only for fields set to 0xffffffff.
    let extra = at + 46 + nameLength
    const extraEnd = extra + extraLength
    while (extra + 4 <= extraEnd) {
      const id = buf.readUInt16LE(extra)
      const size = buf.readUInt16LE(extra + 2)
      if (id === 0x0001) {
        let field = extra + 4
        const take = () => {
          if (field + 8 > extra + 4 + size) throw corruptZip("zip64 extra field is truncated")
          const value = readBigOffset(buf, field)
          field += 8
          return value
        }
        if (uncompressedSize === 0xffffffff) uncompressedSize = take()
        if (compressedSize === 0xffffffff) compressedSize = take()
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take()
      }
      extra += 4 + size
    }
    entries.push({
      name: buf.toString("utf8", at + 46, at + 46 + nameLength),
      method: buf.readUInt16LE(at + 10),
      flags: buf.readUInt16LE(at + 8),
      compressedSize,
      uncompressedSize,
      localHeaderOffset
    })
    at = end
  }
  return entries
}

/** Inflates `data` only to count the bytes it yields; stops as soon as `limit` is passed. */
const inflatedSize = (data: Buffer, limit: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const inflater = createInflateRaw({ chunkSize: 256 * 1024 })
    let total = 0
    let settled = false
    inflater.on("data", (chunk: Buffer) => {
      total += chunk.length
      if (total > limit && !settled) {
        settled = true
        inflater.destroy()
        resolve(total)
      }
    })
    inflater.on("end", () => {
      if (!settled) resolve(total)
    })
    inflater.on("error", (error) => {
      if (!settled) reject(error)
    })
    inflater.end(data)
  })

/**
 * Refuses zip bombs before SheetJS inflates anything: checks the declared sizes and ratios,
 * then inflates every entry into a counter (nothing kept) so that lying size fields are caught.
 */
export const checkZipBomb = async (buf: Buffer): Promise<void> => {
  const limits = spreadsheetLimits
  const entries = listZipEntries(buf)
  const tooLarge = (detail: string) =>
    new RawReadError("too-large", `The workbook inflates beyond the allowed size (${detail}); it looks like a zip bomb.`)
  let declared = 0
  for (const entry of entries) {
    if ((entry.flags & 0x1) !== 0) throw new RawReadError("unsupported", "The workbook is an encrypted zip; encrypted workbooks are not supported.")
    declared += entry.uncompressedSize
    if (declared > limits.maxInflatedBytes) throw tooLarge(`declared ${declared} bytes, limit ${limits.maxInflatedBytes}`)
    if (
      entry.uncompressedSize > limits.ratioFloorBytes &&
      entry.uncompressedSize > limits.maxCompressionRatio * Math.max(1, entry.compressedSize)
    ) {
      throw tooLarge(`entry ${entry.name} compresses ${Math.round(entry.uncompressedSize / Math.max(1, entry.compressedSize))}:1`)
    }
  }
  let actual = 0
  for (const entry of entries) {
    const local = entry.localHeaderOffset
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) throw corruptZip(`local header of ${entry.name} is missing`)
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28)
    const end = start + entry.compressedSize
    if (end > buf.length) throw corruptZip(`entry ${entry.name} runs past the end of the file`)
    let size: number
    if (entry.method === 0) size = entry.compressedSize
    else if (entry.method === 8) {
      try {
        size = await inflatedSize(buf.subarray(start, end), limits.maxInflatedBytes - actual)
      } catch {
        throw corruptZip(`entry ${entry.name} does not inflate`)
      }
    } else {
      throw new RawReadError("unsupported", `The workbook uses zip compression method ${entry.method}, which is not supported.`)
    }
    if (size > entry.uncompressedSize) {
      throw tooLarge(`entry ${entry.name} declares ${entry.uncompressedSize} bytes but inflates to more`)
    }
    actual += size
    if (actual > limits.maxInflatedBytes) throw tooLarge(`more than ${limits.maxInflatedBytes} bytes`)
  }
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
}

/** Scans the cells themselves; the sheet's declared range (`!ref`) may be a lie. */
const usedGrid = (rows: ReadonlyArray<ReadonlyArray<Cell> | undefined>): UsedGrid => {
  let headerRow = -1
  let lastRow = -1
  let width = 0
  // forEach skips holes, so a sparse array declared 1,048,576 rows long costs only its real rows.
  rows.forEach((row, r) => {
    if (row === undefined) return
    let last = -1
    row.forEach((cell, c) => {
      if (c > last && isOccupied(cell)) last = c
    })
    if (last < 0) return
    if (headerRow < 0) headerRow = r
    lastRow = r
    if (last + 1 > width) width = last + 1
  })
  return { headerRow, lastRow, width }
}

// ---------------------------------------------------------------------------------------------
// Reader

const describeSheetJsError = (error: unknown): RawReadError => {
  const message = error instanceof Error ? error.message : String(error)
  if (/password|encrypt/i.test(message)) {
    return new RawReadError("unsupported", "The workbook is encrypted (password protected); encrypted workbooks are not supported.")
  }
  return new RawReadError("corrupt", `The workbook cannot be read: ${message}`)
}

const requestedSheet = (options: RawReadOptions): string | undefined => {
  if (options.sheet !== undefined) return options.sheet
  const again = options.readOptions?.["sheet"]
  return typeof again === "string" ? again : undefined
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
    throw new RawReadError("too-large", `The workbook is ${info.size} bytes; the limit for spreadsheets is ${spreadsheetLimits.maxFileBytes} bytes.`)
  }
  const buf = await readFile(path)
  const kind = sniffWorkbook(buf.subarray(0, 8))
  if (kind === undefined) {
    throw new RawReadError("unsupported", "The file is not an Excel workbook (expected xlsx, xlsm or xls content).")
  }
  if (kind === "zip") await checkZipBomb(buf)
  // Office encrypts xlsx files by wrapping the package in a compound file.
  if (kind === "cfb" && hasCfbStream(buf, "EncryptedPackage")) {
    throw new RawReadError("unsupported", "The workbook is encrypted (password protected); encrypted workbooks are not supported.")
  }

  const wanted = requestedSheet(options)
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
    throw new RawReadError(
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
    throw new RawReadError(
      "too-large",
      `Sheet "${sheetName}" spans ${height} rows × ${grid.width} columns; the limit is ${spreadsheetLimits.maxCells} cells.`
    )
  }
  const header = rows[grid.headerRow] ?? []
  const labels = Array.from({ length: grid.width }, (_, c) => cellLabel(header[c]))
  const batchSize = Math.max(1, options.batchSize ?? 8192)
  return { labels, readOptions, batches: sheetBatches(rows, grid, batchSize) } satisfies RawTable
}

async function* emptyBatches(): AsyncGenerator<ReadonlyArray<ReadonlyArray<unknown>>> {}

async function* sheetBatches(
  rows: ReadonlyArray<ReadonlyArray<Cell> | undefined>,
  grid: UsedGrid,
  batchSize: number
): AsyncGenerator<ReadonlyArray<ReadonlyArray<unknown>>> {
  let batch: Array<ReadonlyArray<unknown>> = []
  for (let r = grid.headerRow + 1; r <= grid.lastRow; r++) {
    const row = rows[r]
    const values = new Array<unknown>(grid.width)
    for (let c = 0; c < grid.width; c++) values[c] = row === undefined ? null : cellValue(row[c])
    batch.push(values)
    if (batch.length >= batchSize) {
      yield batch
      batch = []
    }
  }
  if (batch.length > 0) yield batch
}
