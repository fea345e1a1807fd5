import avro from "avsc"
import { open, stat, type FileHandle } from "node:fs/promises"
import { crc32, inflateRawSync, zstdDecompressSync } from "node:zlib"
import snappy from "snappyjs"
import type { ColumnType } from "@ingest/domain"
import { decimalText } from "@ingest/domain/batch"
import { FileReadError } from "../errors.ts"
import { PARSE_BATCH_ROWS } from "../limits.ts"
import type { DeclaredType, RawReader } from "../types.ts"
import { nestedJsonText } from "../values/raw-cells.ts"

/**
 * Avro object container reader. The container framing (header, blocks, sync markers) and the
 * binary values are decoded here rather than by avsc's file decoder, so that every size and
 * count is checked against the bytes that really exist before anything is allocated: a block or
 * array that claims more than the file holds is a "corrupt" error, never a huge allocation or an
 * endless loop. avsc validates the writer schema.
 *
 * Values handed out (canonical where the type is declared): int → number, long → number when
 * safe else bigint, float/double → number, bytes/fixed → Uint8Array, enum → string,
 * date → days since epoch (number), timestamp-* → bigint microseconds since epoch,
 * decimal → plain decimal text. Records, arrays, maps and mixed unions become JSON text.
 */

export const avroLimits = {
  maxHeaderBytes: 16 * 1024 * 1024,
  /** Largest block as stored in the file. */
  maxBlockBytes: 64 * 1024 * 1024,
  /** Largest block after decompression. */
  maxInflatedBlockBytes: 256 * 1024 * 1024,
  /** Most items a block or array may claim when items can be zero bytes wide (e.g. nulls). */
  maxZeroWidthItems: 1_000_000,
  maxSchemaDepth: 64
}

const MAGIC = [0x4f, 0x62, 0x6a, 0x01] // "Obj" 1
const SYNC_SIZE = 16

const corrupt = (why: string) => new FileReadError("corrupt", `The Avro file is corrupt: ${why}.`)

// ---------------------------------------------------------------------------------------------
// Binary cursor

class Cursor {
  pos: number
  readonly buf: Buffer
  readonly end: number
  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf
    this.pos = pos
    this.end = end
  }

  remaining(): number {
    return this.end - this.pos
  }

  byte(): number {
    if (this.pos >= this.end) throw new TruncatedError()
    return this.buf[this.pos++]!
  }

  /** Zigzag varint; number while safe, bigint beyond 2^53. */
  long(): number | bigint {
    let unsigned = 0
    let factor = 1
    for (let i = 0; i < 7; i++) {
      const b = this.byte()
      unsigned += (b & 0x7f) * factor
      if ((b & 0x80) === 0) return unsigned % 2 === 0 ? unsigned / 2 : -(unsigned + 1) / 2
      factor *= 128
    }
    let big = BigInt(unsigned)
    let shift = 49n
    for (let i = 7; i < 10; i++) {
      const b = this.byte()
      big |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) {
        const value = (big >> 1n) ^ -(big & 1n)
        return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value
      }
      shift += 7n
    }
    throw corrupt("a variable-length integer is longer than 10 bytes")
  }

  /** A long that must be a non-negative count or length no larger than `max`. */
  size(what: string, max: number): number {
    const value = this.long()
    if (typeof value === "bigint" || value < 0 || value > max) {
      throw corrupt(`${what} of ${value} is impossible here (at most ${max})`)
    }
    return value
  }

  int(): number {
    const value = this.long()
    if (typeof value === "bigint" || value < -2147483648 || value > 2147483647) throw corrupt(`int value ${value} out of range`)
    return value
  }

  bytes(length: number): Buffer {
    if (length > this.remaining()) throw new TruncatedError()
    const slice = this.buf.subarray(this.pos, this.pos + length)
    this.pos += length
    return slice
  }
}

/** Ran out of bytes: inside a block that is corruption, at the end of the file it may be tolerable. */
class TruncatedError extends Error {
  constructor() {
    super("unexpected end of data")
  }
}

// ---------------------------------------------------------------------------------------------
// Schema → decoders

type Json = null | boolean | number | string | Array<Json> | { [key: string]: Json }
type Decode = (cursor: Cursor) => unknown

interface Compiled {
  readonly decode: Decode
  /** Smallest encoded size; 0 for types that can take no bytes (null, empty records). */
  minWidth: number
  /** Record fields, in order (records only). */
  readonly fields?: ReadonlyArray<{ readonly name: string; readonly type: Compiled }>
  /** How a value of this type appears inside JSON text. */
  readonly toJson: (value: unknown) => unknown
  readonly declared: DeclaredType
  /** Converts a decoded value into the value handed out for a top-level column. */
  readonly toColumn: (value: unknown) => unknown
}

const PRIMITIVES = new Set(["null", "boolean", "int", "long", "float", "double", "bytes", "string"])

const declared = (type: ColumnType, nullable = false, extra: Omit<DeclaredType, "type" | "nullable"> = {}): DeclaredType => ({
  type,
  nullable,
  ...extra
})

const identity = (value: unknown) => value

const bigintOf = (value: unknown): bigint => (typeof value === "bigint" ? value : BigInt(value as number))

/** Big-endian two's complement bytes → unscaled bigint. */
const unscaledOf = (bytes: Uint8Array): bigint => {
  let value = 0n
  for (const b of bytes) value = (value << 8n) | BigInt(b)
  if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) value -= 1n << BigInt(bytes.length * 8)
  return value
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

const isoOfMicros = (micros: bigint): string => {
  const millis = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n)
  const date = new Date(Number(millis))
  return Number.isNaN(date.getTime()) ? micros.toString() : date.toISOString()
}

const isoOfDays = (days: number): string => {
  const date = new Date(days * 86_400_000)
  return Number.isNaN(date.getTime()) ? String(days) : date.toISOString().slice(0, 10)
}

const timeOfMicros = (micros: bigint): string => {
  const total = Number(micros)
  const seconds = Math.floor(total / 1_000_000)
  const fraction = total - seconds * 1_000_000
  const clock = `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`
  return fraction === 0 ? clock : `${clock}.${pad(fraction, 6)}`
}

const uuidText = (bytes: Uint8Array): string => {
  const hex = Buffer.from(bytes).toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

class SchemaCompiler {
  readonly named = new Map<string, Compiled>()
  private depth = 0

  compile(schema: Json, namespace: string | undefined): Compiled {
    if (++this.depth > avroLimits.maxSchemaDepth) throw corrupt("the schema is nested too deeply")
    try {
      return this.compileInner(schema, namespace)
    } finally {
      this.depth--
    }
  }

  private fullName(name: string, namespace: string | undefined): string {
    return name.includes(".") || !namespace ? name : `${namespace}.${name}`
  }

  private reference(name: string, namespace: string | undefined): Compiled {
    const found = this.named.get(this.fullName(name, namespace)) ?? this.named.get(name)
    if (found === undefined) throw corrupt(`the schema refers to an unknown type "${name}"`)
    return found
  }

  private compileInner(schema: Json, namespace: string | undefined): Compiled {
    if (typeof schema === "string") return PRIMITIVES.has(schema) ? this.primitive(schema) : this.reference(schema, namespace)
    if (Array.isArray(schema)) return this.union(schema.map((branch) => this.compile(branch, namespace)))
    if (schema === null || typeof schema !== "object") throw corrupt("the schema is not valid")
    const type = schema["type"]
    const logical = typeof schema["logicalType"] === "string" ? schema["logicalType"] : undefined
    if (typeof type === "string" && PRIMITIVES.has(type)) return this.logical(this.primitive(type), type, logical, schema)
    if (typeof type !== "string") return this.compile(type ?? null, namespace)
    const ownNamespace = typeof schema["namespace"] === "string" ? schema["namespace"] : namespace
    const name = typeof schema["name"] === "string" ? this.fullName(schema["name"], ownNamespace) : undefined
    const innerNamespace = name?.includes(".") ? name.slice(0, name.lastIndexOf(".")) : ownNamespace
    switch (type) {
      case "record":
      case "error":
        return this.record(schema, name, innerNamespace)
      case "enum": {
        const symbols = (schema["symbols"] as Array<string> | undefined) ?? []
        const compiled: Compiled = {
          decode: (c) => {
            const index = c.int()
            const symbol = symbols[index]
            if (symbol === undefined) throw corrupt(`enum index ${index} out of range`)
            return symbol
          },
          minWidth: 1,
          toJson: identity,
          declared: declared("STRING"),
          toColumn: identity
        }
        if (name) this.named.set(name, compiled)
        return compiled
      }
      case "fixed": {
        const size = schema["size"]
        if (typeof size !== "number" || !Number.isInteger(size) || size < 0) throw corrupt("a fixed type has no valid size")
        const base: Compiled = {
          decode: (c) => new Uint8Array(c.bytes(size)),
          minWidth: size,
          toJson: identity,
          declared: declared("BINARY"),
          toColumn: identity
        }
        const compiled = this.logical(base, "fixed", logical, schema)
        if (name) this.named.set(name, compiled)
        return compiled
      }
      case "array": {
        const items = this.compile(schema["items"] ?? null, innerNamespace)
        return this.repeated(items, false)
      }
      case "map": {
        const values = this.compile(schema["values"] ?? null, innerNamespace)
        return this.repeated(values, true)
      }
      default:
        return this.reference(type, ownNamespace)
    }
  }

  private primitive(type: string): Compiled {
    switch (type) {
      case "null":
        return { decode: () => null, minWidth: 0, toJson: identity, declared: declared("STRING", true), toColumn: identity }
      case "boolean":
        return {
          decode: (c) => {
            const b = c.byte()
            if (b > 1) throw corrupt(`boolean byte ${b}`)
            return b === 1
          },
          minWidth: 1,
          toJson: identity,
          declared: declared("BOOLEAN"),
          toColumn: identity
        }
      case "int":
        return { decode: (c) => c.int(), minWidth: 1, toJson: identity, declared: declared("INTEGER", false, { bitWidth: 32 }), toColumn: identity }
      case "long":
        return { decode: (c) => c.long(), minWidth: 1, toJson: identity, declared: declared("INTEGER"), toColumn: identity }
      case "float":
        return {
          decode: (c) => c.bytes(4).readFloatLE(0),
          minWidth: 4,
          toJson: identity,
          declared: declared("DOUBLE", false, { bitWidth: 32 }),
          toColumn: identity
        }
      case "double":
        return {
          decode: (c) => c.bytes(8).readDoubleLE(0),
          minWidth: 8,
          toJson: identity,
          declared: declared("DOUBLE"),
          toColumn: identity
        }
      case "bytes":
        return {
          decode: (c) => new Uint8Array(c.bytes(c.size("a bytes length", c.remaining()))),
          minWidth: 1,
          toJson: identity,
          declared: declared("BINARY"),
          toColumn: identity
        }
      default:
        return {
          decode: (c) => c.bytes(c.size("a string length", c.remaining())).toString("utf8"),
          minWidth: 1,
          toJson: identity,
          declared: declared("STRING"),
          toColumn: identity
        }
    }
  }

  /** Applies a logical type; per the Avro spec an annotation that does not fit is ignored. */
  private logical(base: Compiled, physical: string, logical: string | undefined, schema: { [key: string]: Json }): Compiled {
    const timestamp = (tz: boolean, toMicros: (v: bigint) => bigint): Compiled => ({
      ...base,
      declared: declared(tz ? "TIMESTAMP_TZ" : "TIMESTAMP"),
      toColumn: (v) => toMicros(bigintOf(v)),
      toJson: (v) => isoOfMicros(toMicros(bigintOf(v)))
    })
    const floorDiv = (v: bigint, d: bigint) => v / d - (v % d < 0n ? 1n : 0n)
    switch (`${physical}:${logical}`) {
      case "int:date":
        return { ...base, declared: declared("DATE"), toJson: (v) => isoOfDays(v as number) }
      case "int:time-millis":
        return { ...base, declared: declared("STRING"), toColumn: (v) => timeOfMicros(bigintOf(v) * 1000n), toJson: (v) => timeOfMicros(bigintOf(v) * 1000n) }
      case "long:time-micros":
        return { ...base, declared: declared("STRING"), toColumn: (v) => timeOfMicros(bigintOf(v)), toJson: (v) => timeOfMicros(bigintOf(v)) }
      case "long:timestamp-millis":
        return timestamp(true, (v) => v * 1000n)
      case "long:timestamp-micros":
        return timestamp(true, (v) => v)
      case "long:timestamp-nanos":
        return timestamp(true, (v) => floorDiv(v, 1000n))
      case "long:local-timestamp-millis":
        return timestamp(false, (v) => v * 1000n)
      case "long:local-timestamp-micros":
        return timestamp(false, (v) => v)
      case "long:local-timestamp-nanos":
        return timestamp(false, (v) => floorDiv(v, 1000n))
      case "fixed:uuid":
        if (schema["size"] !== 16) return base
        return { ...base, declared: declared("STRING"), toColumn: (v) => uuidText(v as Uint8Array), toJson: (v) => uuidText(v as Uint8Array) }
      case "bytes:decimal":
      case "fixed:decimal": {
        const precision = schema["precision"]
        const scale = schema["scale"] ?? 0
        if (typeof precision !== "number" || !Number.isInteger(precision) || precision < 1) return base
        if (typeof scale !== "number" || !Number.isInteger(scale) || scale < 0 || scale > precision) return base
        const text = (v: unknown) => decimalText(unscaledOf(v as Uint8Array), scale)
        return { ...base, declared: declared("DECIMAL", false, { precision, scale }), toColumn: text, toJson: text }
      }
      default:
        return base
    }
  }

  private record(schema: { [key: string]: Json }, name: string | undefined, namespace: string | undefined): Compiled {
    const fields: Array<{ name: string; type: Compiled }> = []
    const decodeFields = (c: Cursor) => fields.map((field) => field.type.decode(c))
    const compiled: Compiled = {
      decode: decodeFields,
      // Settled once the fields are known; a recursive reference meanwhile sees 0 (the safe side).
      minWidth: 0,
      fields,
      toJson: (v) => {
        const values = v as Array<unknown>
        const object: Record<string, unknown> = {}
        fields.forEach((field, i) => Object.defineProperty(object, field.name, { value: field.type.toJson(values[i]), enumerable: true }))
        return object
      },
      declared: declared("STRING"),
      toColumn: (v) => nestedJsonText(compiled.toJson(v))
    }
    // Registered before the fields so that recursive records resolve.
    if (name) this.named.set(name, compiled)
    const rawFields = schema["fields"]
    if (!Array.isArray(rawFields)) throw corrupt("a record schema has no fields")
    for (const raw of rawFields) {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw) || typeof raw["name"] !== "string") {
        throw corrupt("a record field has no name")
      }
      fields.push({ name: raw["name"], type: this.compile(raw["type"] ?? null, namespace) })
    }
    compiled.minWidth = fields.reduce((sum, field) => sum + field.type.minWidth, 0)
    return compiled
  }

  private repeated(items: Compiled, keyed: boolean): Compiled {
    const decode = (c: Cursor) => {
      const out: Array<unknown> = []
      const entries: Array<[string, unknown]> = []
      for (;;) {
        let count = c.long()
        if (count === 0) break
        if (typeof count === "bigint") throw corrupt(`an array or map block claims ${count} items`)
        if (count < 0) {
          count = -count
          c.size("an array block size", c.remaining())
        }
        const width = items.minWidth + (keyed ? 1 : 0) // read now: recursive types settle late
        const limit = width > 0 ? Math.floor(c.remaining() / width) : avroLimits.maxZeroWidthItems
        if (count > limit) throw corrupt(`an array or map block claims ${count} items but only ${c.remaining()} bytes remain`)
        for (let i = 0; i < count; i++) {
          if (keyed) {
            const key = c.bytes(c.size("a map key length", c.remaining())).toString("utf8")
            entries.push([key, items.decode(c)])
          } else out.push(items.decode(c))
        }
      }
      return keyed ? entries : out
    }
    const toJson = keyed
      ? (v: unknown) => new Map((v as Array<[string, unknown]>).map(([k, x]) => [k, items.toJson(x)]))
      : (v: unknown) => (v as Array<unknown>).map((x) => items.toJson(x))
    return { decode, minWidth: 1, toJson, declared: declared("STRING"), toColumn: (v) => nestedJsonText(toJson(v)) }
  }

  private union(branches: Array<Compiled>): Compiled {
    if (branches.length === 0) throw corrupt("a union has no branches")
    const decode = (c: Cursor) => {
      const index = c.long()
      const branch = typeof index === "number" ? branches[index] : undefined
      if (branch === undefined) throw corrupt(`union branch index ${index} is out of range for a union with ${branches.length} branches`)
      return { branch, value: branch.decode(c) }
    }
    const nonNull = branches.filter((b) => !(b.minWidth === 0 && b.declared.type === "STRING" && b.declared.nullable))
    const nullable = nonNull.length < branches.length
    const toJson = (v: unknown) => {
      const { branch, value } = v as { branch: Compiled; value: unknown }
      return branch.toJson(value)
    }
    if (nonNull.length === 1) {
      // [null, T]: T, nullable.
      const only = nonNull[0]!
      return {
        decode,
        minWidth: 1,
        toJson,
        declared: { ...only.declared, nullable: true },
        toColumn: (v) => {
          const { branch, value } = v as { branch: Compiled; value: unknown }
          return branch === only ? only.toColumn(value) : null
        }
      }
    }
    // Mixed unions become text: scalars as their plain text, structures as JSON.
    return {
      decode,
      minWidth: 1,
      toJson,
      declared: declared("STRING", nullable),
      toColumn: (v) => {
        const { branch, value } = v as { branch: Compiled; value: unknown }
        const json = branch.toJson(value)
        if (json === null || json === undefined) return null
        if (typeof json === "string") return json
        if (typeof json === "number" || typeof json === "bigint" || typeof json === "boolean") return String(json)
        return nestedJsonText(json)
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Container

interface Header {
  readonly schema: Json
  readonly codec: string
  readonly sync: Buffer
  /** Byte offset of the first block. */
  readonly dataStart: number
}

/** Sequential reader over a file handle with a growable window. */
class FileWindow {
  private buf = Buffer.alloc(0)
  private start = 0 // file offset of buf[0]
  private readonly handle: FileHandle
  readonly fileSize: number
  constructor(handle: FileHandle, fileSize: number, offset: number) {
    this.handle = handle
    this.fileSize = fileSize
    this.start = offset
  }

  get position(): number {
    return this.start
  }

  /** Makes at least `n` bytes available from the current position (fewer only at end of file). */
  async ensure(n: number): Promise<Buffer> {
    if (this.buf.length < n && this.start + this.buf.length < this.fileSize) {
      const want = Math.min(Math.max(n, 1 << 20), this.fileSize - this.start) - this.buf.length
      const more = Buffer.allocUnsafe(want)
      const { bytesRead } = await this.handle.read(more, 0, want, this.start + this.buf.length)
      this.buf = Buffer.concat([this.buf, more.subarray(0, bytesRead)])
    }
    return this.buf
  }

  consume(n: number): void {
    this.buf = this.buf.subarray(n)
    this.start += n
  }
}

const readHeader = async (window: FileWindow): Promise<Header> => {
  const head = await window.ensure(Math.min(window.fileSize, 64 * 1024))
  if (head.length < 4 || !MAGIC.every((b, i) => head[i] === b)) {
    throw new FileReadError("unsupported", "The file is not an Avro object container file (missing the \"Obj\\x01\" magic).")
  }
  let available = head
  for (;;) {
    const cursor = new Cursor(available, 4)
    try {
      const meta = new Map<string, Buffer>()
      for (;;) {
        let count = cursor.long()
        if (count === 0) break
        if (typeof count === "bigint") throw corrupt("the header metadata claims too many entries")
        if (count < 0) {
          count = -count
          cursor.long()
        }
        if (count > cursor.remaining()) throw corrupt("the header metadata claims more entries than there are bytes")
        for (let i = 0; i < count; i++) {
          const key = cursor.bytes(cursor.size("a metadata key length", avroLimits.maxHeaderBytes)).toString("utf8")
          meta.set(key, Buffer.from(cursor.bytes(cursor.size("a metadata value length", avroLimits.maxHeaderBytes))))
        }
      }
      const sync = Buffer.from(cursor.bytes(SYNC_SIZE))
      const schemaText = meta.get("avro.schema")?.toString("utf8")
      if (schemaText === undefined) throw corrupt("the header has no avro.schema")
      let schema: Json
      try {
        schema = JSON.parse(schemaText) as Json
      } catch {
        throw corrupt("the header's avro.schema is not valid JSON")
      }
      const codec = meta.get("avro.codec")?.toString("utf8") || "null"
      return { schema, codec, sync, dataStart: cursor.pos }
    } catch (error) {
      if (!(error instanceof TruncatedError)) throw error
      if (available.length >= avroLimits.maxHeaderBytes) throw new FileReadError("too-large", "The Avro header is larger than allowed.")
      if (window.position + available.length >= window.fileSize) throw corrupt("the header is truncated")
      available = await window.ensure(Math.min(available.length * 4, avroLimits.maxHeaderBytes))
    }
  }
}

const SUPPORTED_CODECS = new Set(["null", "deflate", "snappy", "zstandard"])

const inflateBlock = (codec: string, data: Buffer): Buffer => {
  const max = avroLimits.maxInflatedBlockBytes
  const tooLarge = () => new FileReadError("too-large", `An Avro block inflates beyond ${max} bytes.`)
  try {
    switch (codec) {
      case "null":
        return data
      case "deflate":
        return inflateRawSync(data, { maxOutputLength: max })
      case "zstandard":
        return zstdDecompressSync(data, { maxOutputLength: max })
      case "snappy": {
        // Avro's snappy framing: the raw snappy block followed by the big-endian CRC-32 of the result.
        if (data.length < 4) throw corrupt("a snappy block is too short")
        const body = data.subarray(0, data.length - 4)
        const out = Buffer.from(snappy.uncompress(new Uint8Array(body), max))
        if (crc32(out) !== data.readUInt32BE(data.length - 4)) throw corrupt("a snappy block fails its CRC check")
        return out
      }
    }
  } catch (error) {
    if (error instanceof FileReadError) throw error
    const message = error instanceof Error ? error.message : String(error)
    if (/too big|larger than|ERR_BUFFER_TOO_LARGE|Cannot create a Buffer/i.test(message) || (error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw tooLarge()
    }
    throw corrupt(`a ${codec} block does not decompress (${message})`)
  }
  throw new FileReadError("unsupported", `The Avro codec "${codec}" is not supported.`)
}

interface Layout {
  readonly labels: ReadonlyArray<string>
  readonly declaredTypes: ReadonlyArray<DeclaredType>
  readonly root: Compiled
  /** Turns one decoded datum into a row. */
  readonly toRow: (datum: unknown) => ReadonlyArray<unknown>
}

const layoutOf = (schema: Json): Layout => {
  try {
    avro.Type.forSchema(schema as avro.Schema, { wrapUnions: true })
  } catch (error) {
    throw corrupt(`the writer schema is invalid (${error instanceof Error ? error.message : String(error)})`)
  }
  const root = new SchemaCompiler().compile(schema, undefined)
  const fields = root.fields
  if (fields !== undefined) {
    return {
      labels: fields.map((field) => field.name),
      declaredTypes: fields.map((field) => field.type.declared),
      root,
      toRow: (datum) => (datum as Array<unknown>).map((value, i) => fields[i]!.type.toColumn(value))
    }
  }
  // A top-level type that is not a record is read as a single column.
  return { labels: ["value"], declaredTypes: [root.declared], root, toRow: (datum) => [root.toColumn(datum)] }
}

export const readAvro: RawReader = async (path, options) => {
  const { size } = await stat(path)
  const handle = await open(path, "r")
  let header: Header
  try {
    header = await readHeader(new FileWindow(handle, size, 0))
  } finally {
    await handle.close()
  }
  if (!SUPPORTED_CODECS.has(header.codec)) {
    throw new FileReadError("unsupported", `The Avro codec "${header.codec}" is not supported (supported: null, deflate, snappy, zstandard).`)
  }
  const layout = layoutOf(header.schema)
  const batchSize = Math.max(1, options.batchRows ?? PARSE_BATCH_ROWS)
  return {
    labels: layout.labels,
    declaredTypes: layout.declaredTypes,
    readOptions: { codec: header.codec },
    batches: avroBatches(path, size, header, layout, batchSize)
  }
}

async function* avroBatches(
  path: string,
  fileSize: number,
  header: Header,
  layout: Layout,
  batchSize: number
): AsyncGenerator<ReadonlyArray<ReadonlyArray<unknown>>> {
  const handle = await open(path, "r")
  try {
    const window = new FileWindow(handle, fileSize, header.dataStart)
    let batch: Array<ReadonlyArray<unknown>> = []
    while (window.position < fileSize) {
      const headBytes = await window.ensure(20)
      const head = new Cursor(headBytes)
      let count: number
      let blockSize: number
      try {
        count = head.size("a block object count", Number.MAX_SAFE_INTEGER)
        blockSize = head.size("a block size", Number.MAX_SAFE_INTEGER)
      } catch (error) {
        // Bytes after the last block that do not even form a block header are ignored
        // (some writers leave a stray byte); anything that does form one must be complete.
        if (error instanceof TruncatedError) break
        throw error
      }
      const remaining = fileSize - window.position - head.pos
      if (blockSize > remaining - SYNC_SIZE) {
        throw corrupt(`a block declares ${blockSize} bytes but the file holds only ${Math.max(0, remaining - SYNC_SIZE)} more bytes before the sync marker`)
      }
      if (blockSize > avroLimits.maxBlockBytes) {
        throw new FileReadError("too-large", `An Avro block of ${blockSize} bytes exceeds the limit of ${avroLimits.maxBlockBytes} bytes.`)
      }
      const whole = await window.ensure(head.pos + blockSize + SYNC_SIZE)
      const stored = whole.subarray(head.pos, head.pos + blockSize)
      const sync = whole.subarray(head.pos + blockSize, head.pos + blockSize + SYNC_SIZE)
      if (!sync.equals(header.sync)) throw corrupt("a block is not followed by the file's sync marker")
      const data = inflateBlock(header.codec, Buffer.from(stored))
      window.consume(head.pos + blockSize + SYNC_SIZE)
      const minWidth = layout.root.minWidth
      const maxCount = minWidth > 0 ? Math.floor(data.length / minWidth) : avroLimits.maxZeroWidthItems
      if (count > maxCount) throw corrupt(`a block claims ${count} objects but holds only ${data.length} bytes`)
      const cursor = new Cursor(data)
      for (let i = 0; i < count; i++) {
        let datum: unknown
        try {
          datum = layout.root.decode(cursor)
        } catch (error) {
          if (error instanceof TruncatedError) throw corrupt(`a block ends in the middle of object ${i + 1} of ${count}`)
          if (error instanceof FileReadError) throw error
          // e.g. a stack overflow on a schema that nests itself without end
          throw corrupt(`object ${i + 1} of a block cannot be decoded (${error instanceof Error ? error.message : String(error)})`)
        }
        batch.push(layout.toRow(datum))
        if (batch.length >= batchSize) {
          yield batch
          batch = []
        }
      }
      if (cursor.remaining() !== 0) throw corrupt(`a block holds ${cursor.remaining()} bytes after its ${count} objects`)
    }
    if (batch.length > 0) yield batch
  } finally {
    await handle.close()
  }
}
