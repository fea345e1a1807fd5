import { createInflateRaw } from "node:zlib"
import { FileReadError } from "../errors.ts"

/**
 * Limits of spreadsheets, and the zip bomb guard: an xlsx file is a zip container, checked here
 * before SheetJS inflates anything.
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

interface ZipEntry {
  readonly name: string
  readonly method: number
  readonly flags: number
  readonly compressedSize: number
  readonly uncompressedSize: number
  readonly localHeaderOffset: number
}

const corruptZip = (why: string) => new FileReadError("corrupt", `The workbook is not a valid zip container: ${why}.`)

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
    throw new FileReadError("too-large", `The workbook holds ${entryCount} zip entries (limit ${spreadsheetLimits.maxZipEntries}).`)
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
    new FileReadError("too-large", `The workbook inflates beyond the allowed size (${detail}); it looks like a zip bomb.`)
  let declared = 0
  for (const entry of entries) {
    if ((entry.flags & 0x1) !== 0) throw new FileReadError("unsupported", "The workbook is an encrypted zip; encrypted workbooks are not supported.")
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
      throw new FileReadError("unsupported", `The workbook uses zip compression method ${entry.method}, which is not supported.`)
    }
    if (size > entry.uncompressedSize) {
      throw tooLarge(`entry ${entry.name} declares ${entry.uncompressedSize} bytes but inflates to more`)
    }
    actual += size
    if (actual > limits.maxInflatedBytes) throw tooLarge(`more than ${limits.maxInflatedBytes} bytes`)
  }
}
