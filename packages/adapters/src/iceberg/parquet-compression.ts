import { constants, zstdCompressSync } from "node:zlib"
import { field, T, type ThriftField, ThriftReader, type ThriftStruct, type ThriftValue, ThriftWriter } from "../formats/parquet/thrift.ts"
import { freeBuffer } from "../buffer-release.ts"

/**
 * Compressing the pages of a Parquet file as it streams out of the writer. parquet-wasm writes
 * the file with uncompressed pages and this rewrites each page with Node's own zstd (the same
 * level 1 the writer would use, about three times as fast as the zstd compiled into the wasm
 * module, which took most of an import's encoding time). Page headers get the new sizes; the
 * footer and the page indexes after the last page, which give page and column chunk offsets, are
 * rewritten at the end with the codec and the new offsets.
 *
 * Layout of what the writer streams: `PAR1`, the pages of every column chunk (a Thrift compact
 * PageHeader, then its body), then page indexes (ColumnIndex, OffsetIndex structs), then the
 * FileMetaData, its length and `PAR1`.
 */

const MAGIC = [0x50, 0x41, 0x52, 0x31]
const ZSTD = 6
const PageType = { DATA_PAGE: 0, DICTIONARY_PAGE: 2, DATA_PAGE_V2: 3 } as const
/** Bytes held beyond which a mostly drained buffer is let go. */
const SHRINK_ABOVE = 4 << 20
/** Bytes asked for at a time while a page header is not all there. */
const HEADER_BYTES = 256
/** Field header of a PageHeader's first two fields (type, uncompressed_page_size): both i32, ids 1 and 2. */
const I32_NEXT_FIELD = 0x15

const fail = (why: string): never => {
  throw new Error(`Parquet page compression: ${why}`)
}

const int = (value: ThriftValue | undefined): number =>
  typeof value === "bigint" ? Number(value) : typeof value === "number" ? value : fail("an integer field is missing")

const set = (struct: ThriftStruct, id: number, type: number, value: ThriftValue) => {
  const existing = field(struct, id)
  if (existing !== undefined) existing.value = value
  else struct.push({ id, type, value } satisfies ThriftField)
}

const structOf = (value: ThriftValue | undefined): ThriftStruct | undefined => (Array.isArray(value) ? value : undefined)
const structsOf = (value: ThriftValue | undefined): Array<ThriftStruct> =>
  value !== undefined && typeof value === "object" && "kind" in value && value.kind === "list" ? (value.items as Array<ThriftStruct>) : []

const encode = (struct: ThriftStruct): Uint8Array => {
  const writer = new ThriftWriter()
  writer.struct(struct)
  return writer.finish()
}

/**
 * Whether `bytes[from, to)` start a PageHeader (fields 1 and 2 both i32) rather than what follows
 * the last page: an index struct (a list first) or the FileMetaData (an i32, then a list).
 * Undefined when too few bytes are there to tell.
 */
const startsPageHeader = (bytes: Uint8Array, from: number, to: number): boolean | undefined => {
  let k = from
  if (k >= to) return undefined
  if (bytes[k] !== I32_NEXT_FIELD) return false
  k++
  while (k < to && (bytes[k]! & 0x80) !== 0) k++
  // k: the last byte of the first field's value; the next field's header follows.
  if (k + 1 >= to) return undefined
  return bytes[k + 1] === I32_NEXT_FIELD
}

/** Where a page of the uncompressed file went in the compressed one: its start, and its size with the header. */
interface Moved {
  readonly start: number
  readonly size: number
}

export class ParquetPageCompressor {
  /** The start of a page whose bytes came in more than one chunk (at most one page and a header). */
  private held = new Uint8Array(0)
  private heldLength = 0
  private state: "magic" | "pages" | "tail" = "magic"
  /** Offsets in the uncompressed file (input) and in the compressed one (output). */
  private inputAt = 0
  private outputAt = 0
  private readonly moved = new Map<number, Moved>()
  private tailStart = 0
  private readonly tail: Array<Uint8Array> = []
  private readonly level: number

  constructor(level = 1) {
    this.level = level
  }

  /**
   * The next bytes the writer produced; returns what is ready of the compressed file. Pages
   * whole in `chunk` are read where they are; `chunk` is not kept.
   */
  push(chunk: Uint8Array): Array<Uint8Array> {
    const out: Array<Uint8Array> = []
    let at = 0
    // First the page begun in earlier chunks: only its missing bytes are copied.
    while (this.heldLength > 0 && at < chunk.length && this.state !== "tail") {
      const missing = this.missingBytes()
      const take = Math.min(missing, chunk.length - at)
      this.hold(chunk.subarray(at, at + take))
      at += take
      const used = this.process(this.held, 0, this.heldLength, out)
      this.held.copyWithin(0, used, this.heldLength)
      this.heldLength -= used
    }
    if (this.heldLength === 0 && this.state !== "tail") at = this.process(chunk, at, chunk.length, out)
    if (at < chunk.length) {
      if (this.state === "tail") this.tail.push(chunk.slice(at))
      else this.hold(chunk.subarray(at))
    }
    // A row group may come in one piece: a buffer grown for it goes once drained.
    if (this.held.length > SHRINK_ABOVE && this.heldLength < this.held.length >> 2) this.held = this.held.slice(0, this.heldLength)
    return out
  }

  /** The writer is done: the rest of the compressed file (indexes and footer). */
  end(): Array<Uint8Array> {
    const out: Array<Uint8Array> = []
    if (this.state === "magic") fail("the file has no header")
    if (this.heldLength > 0) {
      const used = this.process(this.held, 0, this.heldLength, out)
      if (used < this.heldLength && this.state !== "tail") this.startTail()
      if (this.state === "tail" && used < this.heldLength) this.tail.unshift(this.held.slice(used, this.heldLength))
      this.heldLength = 0
    } else if (this.state === "pages") {
      this.startTail()
    }
    out.push(this.rewriteTail(concat(this.tail)))
    return out
  }

  /** Bytes still needed to finish the page (or the header) held. */
  private missingBytes(): number {
    if (this.state === "magic") return Math.max(1, 4 - this.heldLength)
    try {
      const reader = new ThriftReader(this.held.subarray(0, this.heldLength))
      const header = reader.struct()
      return Math.max(1, reader.pos + int(field(header, 3)?.value) - this.heldLength)
    } catch {
      return HEADER_BYTES // the header is not all here yet
    }
  }

  private hold(bytes: Uint8Array) {
    if (this.heldLength + bytes.length > this.held.length) {
      const grown = new Uint8Array(Math.max(this.held.length * 2, this.heldLength + bytes.length, 1 << 16))
      grown.set(this.held.subarray(0, this.heldLength))
      this.held = grown
    }
    this.held.set(bytes, this.heldLength)
    this.heldLength += bytes.length
  }

  private startTail() {
    this.state = "tail"
    this.tailStart = this.inputAt
  }

  /**
   * Compresses the whole pages in `bytes[from, to)`; returns where it stopped: at a page not all
   * there, or at the end of the pages (the tail, which then starts there).
   */
  private process(bytes: Uint8Array, from: number, to: number, out: Array<Uint8Array>): number {
    let at = from
    for (;;) {
      if (this.state === "magic") {
        if (to - at < 4) return at
        for (let i = 0; i < 4; i++) if (bytes[at + i] !== MAGIC[i]) fail("the file does not start with PAR1")
        out.push(Uint8Array.from(MAGIC))
        at += 4
        this.inputAt = this.outputAt = 4
        this.state = "pages"
        continue
      }
      if (this.state !== "pages") return at
      const pageHeader = startsPageHeader(bytes, at, to)
      if (pageHeader === undefined) return at
      if (!pageHeader) {
        this.startTail()
        if (at < to) this.tail.push(bytes.slice(at, to))
        return to
      }
      let header: ThriftStruct
      let headerLength: number
      try {
        const reader = new ThriftReader(bytes.subarray(at, to))
        header = reader.struct()
        headerLength = reader.pos
      } catch {
        return at // the header is not all here yet
      }
      const bodyLength = int(field(header, 3)?.value)
      if (to - at < headerLength + bodyLength) return at
      const [head, body] = this.compressPage(header, bytes.subarray(at + headerLength, at + headerLength + bodyLength))
      out.push(head, body)
      const size = head.length + body.length
      this.moved.set(this.inputAt, { start: this.outputAt, size })
      this.inputAt += headerLength + bodyLength
      this.outputAt += size
      at += headerLength + bodyLength
    }
  }

  private zstd(bytes: Uint8Array): Uint8Array {
    // Output in one piece (the default is 16 KiB pieces joined at the end: garbage per page).
    const chunkSize = Math.max(64, bytes.length + (bytes.length >> 7) + 512)
    const out = zstdCompressSync(bytes, { chunkSize, params: { [constants.ZSTD_c_compressionLevel]: this.level } })
    // Below half of Buffer.poolSize the output is a slice of Node's shared pool: left alone.
    if (chunkSize < Buffer.poolSize >>> 1 || (out.byteOffset === 0 && out.byteLength === out.buffer.byteLength)) return out
    // The output sits at the start of a buffer of its own of `chunkSize` bytes: kept to size, the rest freed now.
    const exact = new Uint8Array(out)
    freeBuffer(out.buffer)
    return exact
  }

  /** A page with its body compressed: the new header, then the body. */
  private compressPage(header: ThriftStruct, body: Uint8Array): [Uint8Array, Uint8Array] {
    const type = int(field(header, 1)?.value)
    let compressed: Uint8Array
    if (type === PageType.DATA_PAGE || type === PageType.DICTIONARY_PAGE) {
      compressed = this.zstd(body)
    } else if (type === PageType.DATA_PAGE_V2) {
      // Levels stay as they are; only the values are compressed.
      const v2 = structOf(field(header, 8)?.value) ?? fail("a v2 data page has no header")
      const levels = int(field(v2, 5)?.value) + int(field(v2, 6)?.value)
      const values = this.zstd(body.subarray(levels))
      compressed = concat([body.subarray(0, levels), values])
      set(v2, 7, T.TRUE, true)
    } else {
      return fail(`unexpected page type ${type}`)
    }
    // A checksum (field 4) covered the uncompressed body: it goes.
    const rewritten = header.filter((f) => f.id !== 4)
    set(rewritten, 3, T.I32, compressed.length)
    return [encode(rewritten), compressed]
  }

  /** The new offset of a page start (or of the tail) of the uncompressed file. */
  private offsetOf(inputOffset: number): number {
    if (inputOffset === this.tailStart) return this.outputAt
    return (this.moved.get(inputOffset) ?? fail(`no page starts at ${inputOffset}`)).start
  }

  private rewriteTail(tail: Uint8Array): Uint8Array {
    const n = tail.length
    if (n < 12 || tail[n - 4] !== 0x50 || tail[n - 3] !== 0x41 || tail[n - 2] !== 0x52 || tail[n - 1] !== 0x31) fail("the file does not end with PAR1")
    const footerLength = new DataView(tail.buffer, tail.byteOffset + n - 8, 4).getUint32(0, true)
    const footerStart = n - 8 - footerLength
    if (footerStart < 0) fail("the footer is longer than the file")
    const file = new ThriftReader(tail.subarray(footerStart, n - 8)).struct()

    // Page indexes (ColumnIndex, OffsetIndex) sit between the last page and the footer; each
    // is referenced by its column chunk. They are written again in their order.
    interface IndexRef {
      readonly chunk: ThriftStruct
      readonly kind: "offset" | "column"
      readonly at: number
      readonly length: number
    }
    const refs: Array<IndexRef> = []
    for (const group of structsOf(field(file, 4)?.value)) {
      let groupTotal = 0
      let groupStart: number | undefined
      for (const chunk of structsOf(field(group, 1)?.value)) {
        const meta = structOf(field(chunk, 3)?.value) ?? fail("a column chunk has no metadata")
        if (field(meta, 14) !== undefined) fail("bloom filters are not supported")
        const dataPage = int(field(meta, 9)?.value)
        const dictionaryPage = field(meta, 11) === undefined ? undefined : int(field(meta, 11)!.value)
        const start = dictionaryPage !== undefined && dictionaryPage > 0 ? Math.min(dictionaryPage, dataPage) : dataPage
        const end = start + int(field(meta, 7)?.value)
        const total = this.offsetOf(end) - this.offsetOf(start)
        groupTotal += total
        groupStart ??= this.offsetOf(start)
        set(meta, 4, T.I32, ZSTD)
        set(meta, 7, T.I64, BigInt(total))
        set(meta, 9, T.I64, BigInt(this.offsetOf(dataPage)))
        if (dictionaryPage !== undefined && dictionaryPage > 0) set(meta, 11, T.I64, BigInt(this.offsetOf(dictionaryPage)))
        if (field(meta, 10) !== undefined) fail("index pages are not supported")
        const fileOffset = field(chunk, 2) === undefined ? undefined : int(field(chunk, 2)!.value)
        if (fileOffset !== undefined && fileOffset > 0) set(chunk, 2, T.I64, BigInt(this.offsetOf(fileOffset)))
        if (field(chunk, 4) !== undefined) refs.push({ chunk, kind: "offset", at: int(field(chunk, 4)!.value), length: int(field(chunk, 5)?.value) })
        if (field(chunk, 6) !== undefined) refs.push({ chunk, kind: "column", at: int(field(chunk, 6)!.value), length: int(field(chunk, 7)?.value) })
      }
      if (field(group, 5) !== undefined && groupStart !== undefined) set(group, 5, T.I64, BigInt(groupStart))
      if (field(group, 6) !== undefined) set(group, 6, T.I64, BigInt(groupTotal))
    }

    const pieces: Array<Uint8Array> = []
    let cursor = 0
    let written = this.outputAt
    refs.sort((a, b) => a.at - b.at)
    for (const ref of refs) {
      const local = ref.at - this.tailStart
      if (local < cursor || local + ref.length > footerStart) fail("a page index lies outside the indexes")
      if (local > cursor) {
        pieces.push(tail.subarray(cursor, local))
        written += local - cursor
      }
      let bytes = tail.subarray(local, local + ref.length)
      if (ref.kind === "offset") {
        const index = new ThriftReader(bytes).struct()
        for (const location of structsOf(field(index, 1)?.value)) {
          const old = int(field(location, 1)?.value)
          const page = this.moved.get(old) ?? fail(`no page starts at ${old}`)
          set(location, 1, T.I64, BigInt(page.start))
          set(location, 2, T.I32, page.size)
        }
        bytes = encode(index)
        set(ref.chunk, 4, T.I64, BigInt(written))
        set(ref.chunk, 5, T.I32, bytes.length)
      } else {
        set(ref.chunk, 6, T.I64, BigInt(written))
      }
      pieces.push(bytes)
      written += bytes.length
      cursor = local + ref.length
    }
    if (cursor < footerStart) pieces.push(tail.subarray(cursor, footerStart))
    const footer = encode(file)
    const length = new Uint8Array(4)
    new DataView(length.buffer).setUint32(0, footer.length, true)
    pieces.push(footer, length, Uint8Array.from(MAGIC))
    return concat(pieces)
  }
}

const concat = (pieces: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of pieces) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** The bytes of a Parquet file written with uncompressed pages, as the same file with zstd pages. */
export const compressPages = (output: ReadableStream<Uint8Array>, level = 1): ReadableStream<Uint8Array> => {
  const compressor = new ParquetPageCompressor(level)
  return output.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform: (chunk, controller) => {
        for (const piece of compressor.push(chunk)) controller.enqueue(piece)
        // Nothing keeps the writer's chunk: its memory goes now rather than at a full collection
        // (a row group can come as one chunk of tens of MB).
        if (!Buffer.isBuffer(chunk) && chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength) freeBuffer(chunk.buffer)
      },
      flush: (controller) => {
        for (const piece of compressor.end()) controller.enqueue(piece)
      }
    })
  )
}
