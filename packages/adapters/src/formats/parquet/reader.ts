import { createRequire } from "node:module"
import { open, stat, type FileHandle } from "node:fs/promises"
import * as arrow from "apache-arrow"
import type * as ParquetWasm from "parquet-wasm"
import type { ColumnType } from "@ingest/domain"
import { decimalText } from "@ingest/domain/batch"
import { FileReadError } from "../errors.ts"
import { PARSE_BATCH_ROWS } from "../limits.ts"
import type { DeclaredType, RawReader } from "../types.ts"
import { nestedJsonText } from "../values/raw-cells.ts"
import { field, i64Field, i64Of, listOf, structList, T, type ThriftStruct, ThriftReader, ThriftWriter, without } from "./thrift.ts"

/**
 * Parquet reader on parquet-wasm (arrow-rs) + apache-arrow, one row group at a time.
 *
 * The footer is parsed here (Thrift compact protocol) so that sizes can be checked before any
 * decoding, and each row group is handed to parquet-wasm's synchronous reader as a small
 * stand-alone Parquet file: the row group's column chunks plus a rewritten footer that lists only
 * them. Memory therefore stays bounded by one row group, and decoding errors surface as ordinary
 * exceptions (parquet-wasm's async reader turns them into uncatchable WebAssembly traps).
 *
 * Values handed out: int8–int32/uint8–uint32 → number, int64 → bigint, uint64 → decimal text
 * (declared DECIMAL(20,0)), floats → number, decimal → plain decimal text, date → days since epoch
 * (number), timestamp → bigint microseconds since epoch (UTC for zoned ones; INT96 and
 * nanosecond values are truncated to microseconds), time → "HH:MM:SS[.ffffff]", string → string,
 * binary → Uint8Array, bool → boolean, list/struct/map → JSON text.
 */

export const parquetLimits = {
  maxFooterBytes: 64 * 1024 * 1024,
  /** Largest row group, by the uncompressed size its column chunks declare. */
  maxRowGroupBytes: 1024 * 1024 * 1024
}

const corrupt = (why: string) => new FileReadError("corrupt", `The Parquet file is corrupt: ${why}.`)
const encrypted = () =>
  new FileReadError("unsupported", "The Parquet file is encrypted (Parquet modular encryption); encrypted Parquet files are not supported.")

// ---------------------------------------------------------------------------------------------
// Footer and row-group extraction

// Field ids from parquet.thrift.
const FileMetaData = { schema: 2, numRows: 3, rowGroups: 4, encryptionAlgorithm: 8 }
const RowGroup = { columns: 1, totalByteSize: 2, numRows: 3, fileOffset: 5, totalCompressedSize: 6 }
const ColumnChunk = { filePath: 1, fileOffset: 2, metaData: 3, offsetIndex: [4, 5], columnIndex: [6, 7], crypto: 8, encryptedMeta: 9 }
const ColumnMetaData = { uncompressed: 6, compressed: 7, dataPage: 9, indexPage: 10, dictionaryPage: 11, bloomFilter: [14, 15] }

interface ChunkRange {
  readonly start: number
  readonly length: number
}

interface RowGroupPlan {
  readonly index: number
  readonly numRows: number
  readonly uncompressedBytes: number
  readonly source: ThriftStruct
  readonly chunks: ReadonlyArray<ChunkRange>
}

interface Footer {
  readonly metadata: ThriftStruct
  readonly rowGroups: ReadonlyArray<RowGroupPlan>
  readonly dataEnd: number
}

const MAGIC = "PAR1"

const readAt = async (handle: FileHandle, position: number, length: number): Promise<Buffer> => {
  const buf = Buffer.alloc(length)
  const { bytesRead } = await handle.read(buf, 0, length, position)
  if (bytesRead !== length) throw corrupt("the file is shorter than its footer says")
  return buf
}

const toSafeNumber = (value: bigint | undefined, what: string): number => {
  if (value === undefined || value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`${what} is missing or invalid`)
  return Number(value)
}

const planRowGroup = (source: ThriftStruct, index: number, dataEnd: number): RowGroupPlan => {
  const numRows = toSafeNumber(i64Of(source, RowGroup.numRows), `row group ${index}'s row count`)
  const chunks: Array<ChunkRange> = []
  let uncompressedBytes = 0
  for (const item of listOf(source, RowGroup.columns) ?? []) {
    const chunk = item as ThriftStruct
    if (field(chunk, ColumnChunk.crypto) || field(chunk, ColumnChunk.encryptedMeta)) throw encrypted()
    if (field(chunk, ColumnChunk.filePath)) {
      throw new FileReadError("unsupported", "The Parquet file keeps column data in other files (file_path); only self-contained files are supported.")
    }
    const meta = field(chunk, ColumnChunk.metaData)?.value as ThriftStruct | undefined
    if (meta === undefined) throw corrupt(`a column chunk of row group ${index} has no metadata`)
    const dataPage = toSafeNumber(i64Of(meta, ColumnMetaData.dataPage), "a data page offset")
    const dictionaryPage = i64Of(meta, ColumnMetaData.dictionaryPage)
    // Same start rule as arrow-rs: the dictionary page when there is one, else the first data page.
    const start = dictionaryPage !== undefined && dictionaryPage > 0n ? toSafeNumber(dictionaryPage, "a dictionary page offset") : dataPage
    const length = toSafeNumber(i64Of(meta, ColumnMetaData.compressed), "a column chunk size")
    if (start < 4 || start + length > dataEnd) throw corrupt(`a column chunk of row group ${index} lies outside the data area`)
    uncompressedBytes += toSafeNumber(i64Of(meta, ColumnMetaData.uncompressed), "a column chunk's uncompressed size")
    chunks.push({ start, length })
  }
  return { index, numRows, uncompressedBytes, source, chunks }
}

const readFooter = async (handle: FileHandle, size: number): Promise<Footer> => {
  if (size < 12) throw new FileReadError("unsupported", "The file is not a Parquet file (too short).")
  const head = (await readAt(handle, 0, 4)).toString("latin1")
  const tail = await readAt(handle, size - 8, 8)
  const tailMagic = tail.toString("latin1", 4)
  if (head === "PARE" || tailMagic === "PARE") throw encrypted()
  if (head !== MAGIC || tailMagic !== MAGIC) throw new FileReadError("unsupported", "The file is not a Parquet file (missing the PAR1 magic).")
  const footerLength = tail.readUInt32LE(0)
  if (footerLength > size - 12) throw corrupt(`the footer claims ${footerLength} bytes but the file has only ${size - 12}`)
  if (footerLength > parquetLimits.maxFooterBytes) {
    throw new FileReadError("too-large", `The Parquet footer is ${footerLength} bytes; the limit is ${parquetLimits.maxFooterBytes}.`)
  }
  const dataEnd = size - 8 - footerLength
  const metadata = new ThriftReader(await readAt(handle, dataEnd, footerLength)).struct()
  if (field(metadata, FileMetaData.encryptionAlgorithm)) throw encrypted()
  if (listOf(metadata, FileMetaData.schema) === undefined) throw corrupt("the footer has no schema")
  const rowGroups = (listOf(metadata, FileMetaData.rowGroups) ?? []).map((rg, i) => planRowGroup(rg as ThriftStruct, i, dataEnd))
  return { metadata, rowGroups, dataEnd }
}

/** A Parquet file holding only `plan`'s column chunks (or no row group), with offsets rewritten. */
const standaloneFile = (
  footer: Footer,
  plan: RowGroupPlan | undefined,
  chunkBytes: ReadonlyArray<Uint8Array>
): Uint8Array => {
  let position = 4
  const rowGroups: Array<ThriftStruct> = []
  if (plan !== undefined) {
    const columns = (listOf(plan.source, RowGroup.columns) ?? []).map((item, i) => {
      const chunk = item as ThriftStruct
      const range = plan.chunks[i]!
      const shift = (offset: bigint | undefined) => (offset === undefined ? undefined : offset - BigInt(range.start) + BigInt(position))
      const meta = field(chunk, ColumnChunk.metaData)!.value as ThriftStruct
      const length = chunkBytes[i]!.length
      const newMeta: ThriftStruct = without(
        meta,
        ColumnMetaData.compressed,
        ColumnMetaData.dataPage,
        ColumnMetaData.indexPage,
        ColumnMetaData.dictionaryPage,
        ...ColumnMetaData.bloomFilter
      )
      newMeta.push(i64Field(ColumnMetaData.compressed, BigInt(length)))
      newMeta.push(i64Field(ColumnMetaData.dataPage, shift(i64Of(meta, ColumnMetaData.dataPage))!))
      const dictionary = i64Of(meta, ColumnMetaData.dictionaryPage)
      if (dictionary !== undefined && dictionary > 0n) newMeta.push(i64Field(ColumnMetaData.dictionaryPage, shift(dictionary)!))
      const newChunk: ThriftStruct = without(chunk, ColumnChunk.fileOffset, ColumnChunk.metaData, ...ColumnChunk.offsetIndex, ...ColumnChunk.columnIndex)
      newChunk.push(i64Field(ColumnChunk.fileOffset, BigInt(position)))
      newChunk.push({ id: ColumnChunk.metaData, type: T.STRUCT, value: newMeta })
      position += length
      return newChunk
    })
    const group: ThriftStruct = without(plan.source, RowGroup.columns, RowGroup.fileOffset)
    group.push(structList(RowGroup.columns, columns))
    if (columns.length > 0) group.push(i64Field(RowGroup.fileOffset, 4n))
    rowGroups.push(group)
  }
  const metadata: ThriftStruct = without(footer.metadata, FileMetaData.numRows, FileMetaData.rowGroups)
  metadata.push(i64Field(FileMetaData.numRows, BigInt(plan?.numRows ?? 0)))
  metadata.push(structList(FileMetaData.rowGroups, rowGroups))
  const writer = new ThriftWriter()
  writer.struct(metadata)
  const footerBytes = writer.finish()
  const out = new Uint8Array(position + footerBytes.length + 8)
  const magic = new TextEncoder().encode(MAGIC)
  out.set(magic, 0)
  let at = 4
  for (const bytes of chunkBytes) {
    out.set(bytes, at)
    at += bytes.length
  }
  out.set(footerBytes, at)
  new DataView(out.buffer).setUint32(at + footerBytes.length, footerBytes.length, true)
  out.set(magic, at + footerBytes.length + 4)
  return out
}

// ---------------------------------------------------------------------------------------------
// parquet-wasm instance management

const requireFromHere = createRequire(import.meta.url)
let wasmModule: typeof ParquetWasm | undefined

/**
 * The node build of parquet-wasm instantiates its WebAssembly module when required. A trap leaves
 * that instance in an unknown state and its linear memory never shrinks, so after a trap or a
 * very large row group the module is dropped from the require cache and loaded afresh.
 */
const parquetWasm = (): typeof ParquetWasm => (wasmModule ??= requireFromHere("parquet-wasm") as typeof ParquetWasm)

const discardWasmInstance = (): void => {
  const resolved = requireFromHere.resolve("parquet-wasm")
  delete requireFromHere.cache[resolved]
  wasmModule = undefined
}

const decodeStandalone = (bytes: Uint8Array, what: string): arrow.Table => {
  let ipc: Uint8Array
  try {
    ipc = parquetWasm().readParquet(bytes).intoIPCStream()
  } catch (error) {
    // A WebAssembly trap (RuntimeError) rather than a Parquet error: the instance is suspect.
    const trapped = error instanceof Error && error.name === "RuntimeError"
    if (trapped) discardWasmInstance()
    const message = trapped
      ? "the decoder failed internally, e.g. out of memory"
      : error instanceof Error
        ? error.message
        : String(error)
    if (/Parquet file has an encrypted footer|encrypt/i.test(message)) throw encrypted()
    throw corrupt(`${what} cannot be decoded (${message.replace(/^Error: /, "")})`)
  }
  return arrow.tableFromIPC(ipc)
}

// ---------------------------------------------------------------------------------------------
// Arrow → declared types and JS values

type Convert = (value: unknown) => unknown

const pad = (n: number | bigint, width = 2) => String(n).padStart(width, "0")

const floorDiv = (v: bigint, d: bigint) => v / d - (v % d < 0n ? 1n : 0n)

const timeText = (micros: bigint): string => {
  const seconds = micros / 1_000_000n
  const fraction = micros % 1_000_000n
  const clock = `${pad(seconds / 3600n)}:${pad((seconds / 60n) % 60n)}:${pad(seconds % 60n)}`
  return fraction === 0n ? clock : `${clock}.${pad(fraction, 6)}`
}

/** Arrow JS hands decimals out as a BigNum view; its toString is the unscaled integer. */
const unscaledOf = (value: unknown): bigint => BigInt(String(value))

const bigOf = (value: unknown): bigint => (typeof value === "bigint" ? value : BigInt(Math.trunc(Number(value))))

const microsOf = (unit: arrow.TimeUnit, value: bigint): bigint => {
  switch (unit) {
    case arrow.TimeUnit.SECOND:
      return value * 1_000_000n
    case arrow.TimeUnit.MILLISECOND:
      return value * 1000n
    case arrow.TimeUnit.MICROSECOND:
      return value
    default:
      return floorDiv(value, 1000n)
  }
}

const declaredOf = (type: arrow.DataType, nullable: boolean): DeclaredType => {
  const make = (t: ColumnType, extra: Omit<DeclaredType, "type" | "nullable"> = {}): DeclaredType => ({ type: t, nullable, ...extra })
  if (arrow.DataType.isDictionary(type)) return declaredOf(type.dictionary, nullable)
  if (arrow.DataType.isInt(type)) {
    if (type.bitWidth === 64 && !type.isSigned) return make("DECIMAL", { precision: 20, scale: 0 })
    // INT8/16/32 (and UINT8/16) fit Iceberg's 32-bit int; UINT32 and INT64 need a long.
    return type.bitWidth < 32 || (type.bitWidth === 32 && type.isSigned) ? make("INTEGER", { bitWidth: 32 }) : make("INTEGER")
  }
  if (arrow.DataType.isFloat(type)) return type.precision === arrow.Precision.DOUBLE ? make("DOUBLE") : make("DOUBLE", { bitWidth: 32 })
  if (arrow.DataType.isDecimal(type)) return make("DECIMAL", { precision: type.precision, scale: type.scale })
  if (arrow.DataType.isDate(type)) return make("DATE")
  if (arrow.DataType.isTimestamp(type)) return make(type.timezone ? "TIMESTAMP_TZ" : "TIMESTAMP")
  if (arrow.DataType.isBool(type)) return make("BOOLEAN")
  if (arrow.DataType.isBinary(type) || arrow.DataType.isLargeBinary(type) || arrow.DataType.isFixedSizeBinary(type)) return make("BINARY")
  return make("STRING")
}

/** How a value of `type` appears inside JSON text (nested columns). */
const jsonValueOf = (type: arrow.DataType): Convert => {
  if (arrow.DataType.isDictionary(type)) return jsonValueOf(type.dictionary)
  if (arrow.DataType.isDecimal(type)) {
    const scale = type.scale
    return (v) => (v == null ? null : decimalText(unscaledOf(v), scale))
  }
  if (arrow.DataType.isTimestamp(type)) return (v) => (v == null ? null : new Date(Number(v)).toISOString())
  if (arrow.DataType.isDate(type)) return (v) => (v == null ? null : new Date(Number(v)).toISOString().slice(0, 10))
  if (arrow.DataType.isList(type) || arrow.DataType.isFixedSizeList(type)) {
    const child = jsonValueOf(type.children[0]!.type)
    return (v) => (v == null ? null : Array.from(v as Iterable<unknown>, child))
  }
  if (arrow.DataType.isMap(type)) {
    const entry = type.children[0]!.type as arrow.Struct
    const key = jsonValueOf(entry.children[0]!.type)
    const value = entry.children[1] ? jsonValueOf(entry.children[1].type) : () => null
    return (v) => {
      if (v == null) return null
      const out = new Map<string, unknown>()
      for (const [k, x] of v as Iterable<[unknown, unknown]>) {
        const keyText = key(k)
        out.set(typeof keyText === "string" ? keyText : nestedJsonText(keyText), value(x))
      }
      return out
    }
  }
  if (arrow.DataType.isStruct(type)) {
    const children = type.children.map((f) => ({ name: f.name, convert: jsonValueOf(f.type) }))
    return (v) => {
      if (v == null) return null
      const row = v as Record<string, unknown>
      const out = new Map<string, unknown>()
      for (const child of children) out.set(child.name, child.convert(row[child.name]))
      return out
    }
  }
  if (arrow.DataType.isUnion(type)) return (v) => (v == null ? null : v)
  if (arrow.DataType.isFloat(type)) return (v) => (v == null || Number.isFinite(v) ? v : String(v))
  return (v) => (v === undefined ? null : v)
}

/** Converts a value from `vector.get` into the value handed out for a top-level column. */
const columnValueOf = (type: arrow.DataType): Convert => {
  if (arrow.DataType.isDictionary(type)) return columnValueOf(type.dictionary)
  if (arrow.DataType.isInt(type)) {
    if (type.bitWidth === 64) return type.isSigned ? (v) => v : (v) => (v == null ? null : String(v))
    return (v) => v
  }
  if (arrow.DataType.isDecimal(type)) {
    const scale = type.scale
    return (v) => (v == null ? null : decimalText(unscaledOf(v), scale))
  }
  if (arrow.DataType.isDate(type)) return (v) => (v == null ? null : Math.floor(Number(v) / 86_400_000))
  if (arrow.DataType.isTime(type)) {
    const unit = type.unit
    return (v) => (v == null ? null : timeText(microsOf(unit, bigOf(v))))
  }
  if (arrow.DataType.isBinary(type) || arrow.DataType.isLargeBinary(type) || arrow.DataType.isFixedSizeBinary(type)) {
    return (v) => (v == null ? null : (v as Uint8Array).slice())
  }
  if (arrow.DataType.isUtf8(type) || arrow.DataType.isLargeUtf8(type) || arrow.DataType.isBool(type) || arrow.DataType.isFloat(type)) {
    return (v) => (v === undefined ? null : v)
  }
  if (arrow.DataType.isNull(type)) return () => null
  if (arrow.DataType.isTimestamp(type)) return () => null // read from the raw values, see `columnReader`
  const json = jsonValueOf(type)
  return (v) => {
    if (v == null) return null
    const plain = json(v)
    return typeof plain === "string" ? plain : nestedJsonText(plain)
  }
}

/**
 * Reads row `i` of a column. Timestamps come from the raw int64 values because Arrow JS's `get`
 * rounds them to milliseconds.
 */
const columnReader = (vector: arrow.Vector): ((i: number) => unknown) => {
  const type = vector.type as arrow.DataType
  if (arrow.DataType.isTimestamp(type)) {
    const unit = type.unit
    const chunks = vector.data.map((data) => ({ data, values: data.values as unknown as BigInt64Array | Int32Array }))
    const starts: Array<number> = []
    let total = 0
    for (const c of chunks) {
      starts.push(total)
      total += c.data.length
    }
    return (i) => {
      let k = chunks.length - 1
      while (k > 0 && starts[k]! > i) k--
      const { data, values } = chunks[k]!
      const local = i - starts[k]!
      if (!data.getValid(local)) return null
      return microsOf(unit, bigOf(values[data.offset + local]))
    }
  }
  const convert = columnValueOf(type)
  return (i) => (vector.isValid(i) ? convert(vector.get(i)) : null)
}

// ---------------------------------------------------------------------------------------------
// Reader

interface ParquetLayout {
  readonly labels: ReadonlyArray<string>
  readonly declaredTypes: ReadonlyArray<DeclaredType>
}

const layoutOf = (schema: arrow.Schema): ParquetLayout => ({
  labels: schema.fields.map((f) => f.name),
  declaredTypes: schema.fields.map((f) => declaredOf(f.type, f.nullable))
})

export const readParquet: RawReader = async (path, options) => {
  const { size } = await stat(path)
  const handle = await open(path, "r")
  let footer: Footer
  try {
    footer = await readFooter(handle, size)
  } finally {
    await handle.close()
  }
  for (const plan of footer.rowGroups) {
    if (plan.uncompressedBytes > parquetLimits.maxRowGroupBytes) {
      throw new FileReadError(
        "too-large",
        `Row group ${plan.index} of the Parquet file declares ${plan.uncompressedBytes} bytes uncompressed; the limit is ${parquetLimits.maxRowGroupBytes} bytes.`
      )
    }
  }
  const schemaTable = decodeStandalone(standaloneFile(footer, undefined, []), "The schema")
  const layout = layoutOf(schemaTable.schema)
  const batchSize = Math.max(1, options.batchRows ?? PARSE_BATCH_ROWS)
  return {
    labels: layout.labels,
    declaredTypes: layout.declaredTypes,
    readOptions: {},
    batches: parquetBatches(path, footer, batchSize)
  }
}

// PageHeader field ids from parquet.thrift.
const PageHeader = { uncompressedSize: 2, compressedSize: 3 }

/**
 * Adds up the uncompressed sizes the page headers of a column chunk declare. The decoder sizes its
 * buffers from these headers, so this is what bounds its memory (the footer's totals may lie).
 * Stops quietly where the chunk is malformed; the decoder reports that with its own message.
 */
const declaredPageBytes = (chunk: Uint8Array): number => {
  let total = 0
  let at = 0
  while (at < chunk.length) {
    const reader = new ThriftReader(chunk.subarray(at))
    let header: ThriftStruct
    try {
      header = reader.struct()
    } catch {
      break
    }
    const uncompressed = field(header, PageHeader.uncompressedSize)?.value
    const compressed = field(header, PageHeader.compressedSize)?.value
    if (typeof uncompressed !== "number" || typeof compressed !== "number" || uncompressed < 0 || compressed < 0) break
    total += uncompressed
    at += reader.pos + compressed
  }
  return total
}

const decodeRowGroup = async (handle: FileHandle, footer: Footer, plan: RowGroupPlan): Promise<arrow.Table> => {
  const chunkBytes: Array<Uint8Array> = []
  let pageBytes = 0
  for (const range of plan.chunks) {
    const bytes = await readAt(handle, range.start, range.length)
    pageBytes += declaredPageBytes(bytes)
    if (pageBytes > parquetLimits.maxRowGroupBytes) {
      throw new FileReadError(
        "too-large",
        `Row group ${plan.index} of the Parquet file holds pages of more than ${parquetLimits.maxRowGroupBytes} bytes uncompressed; it looks like a decompression bomb.`
      )
    }
    chunkBytes.push(bytes)
  }
  return decodeStandalone(standaloneFile(footer, plan, chunkBytes), `Row group ${plan.index}`)
}

async function* parquetBatches(path: string, footer: Footer, batchSize: number): AsyncGenerator<ReadonlyArray<ReadonlyArray<unknown>>> {
  const handle = await open(path, "r")
  try {
    let batch: Array<ReadonlyArray<unknown>> = []
    for (const plan of footer.rowGroups) {
      if (plan.numRows === 0) continue
      const table = await decodeRowGroup(handle, footer, plan)
      if (table.numRows !== plan.numRows) {
        throw corrupt(`row group ${plan.index} declares ${plan.numRows} rows but holds ${table.numRows}`)
      }
      const readers = table.schema.fields.map((_, c) => columnReader(table.getChildAt(c)!))
      for (let r = 0; r < table.numRows; r++) {
        const row = new Array<unknown>(readers.length)
        for (let c = 0; c < readers.length; c++) row[c] = readers[c]!(r)
        batch.push(row)
        if (batch.length >= batchSize) {
          yield batch
          batch = []
        }
      }
      // Large row groups grow the WebAssembly memory for good; start the next file on a fresh one.
      if (plan.uncompressedBytes > 256 * 1024 * 1024) discardWasmInstance()
    }
    if (batch.length > 0) yield batch
  } finally {
    await handle.close()
  }
}
