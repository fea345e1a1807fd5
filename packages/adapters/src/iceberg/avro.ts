import avro from "avsc"
import { randomBytes } from "node:crypto"
import { deflateRawSync, inflateRawSync } from "node:zlib"

// Avro object container files for manifests and manifest lists. Written by hand on top of avsc's
// record encoding because Iceberg needs two things avsc's BlockEncoder cannot combine: the header
// schema verbatim (with `field-id` attributes, which avsc drops from parsed types) and a long type
// that holds 63-bit snapshot ids exactly (bigint instead of a rounded JS number).

const toBigInt = (n: unknown): bigint => (typeof n === "bigint" ? n : BigInt(n as number))

/** Avro long as bigint on read; accepts bigint or safe-integer numbers on write. */
const bigintLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: unknown) => {
    const buf = Buffer.alloc(8)
    buf.writeBigInt64LE(toBigInt(n))
    return buf
  },
  fromJSON: (n: unknown) => toBigInt(n),
  toJSON: (n: unknown) => Number(n),
  isValid: (n: unknown) => typeof n === "bigint" || (typeof n === "number" && Number.isSafeInteger(n)),
  compare: (a: unknown, b: unknown) => {
    const x = toBigInt(a)
    const y = toBigInt(b)
    return x === y ? 0 : x < y ? -1 : 1
  }
})

/** An avsc type for an Iceberg Avro schema (longs as bigint, unknown logical types ignored). */
export const avroType = (schema: object): avro.Type =>
  avro.Type.forSchema(schema as avro.Schema, { registry: { long: bigintLong }, wrapUnions: "auto" })

const headerType = avro.Type.forSchema({
  type: "record",
  name: "org.apache.avro.file.Header",
  fields: [
    { name: "magic", type: { type: "fixed", name: "Magic", size: 4 } },
    { name: "meta", type: { type: "map", values: "bytes" } },
    { name: "sync", type: { type: "fixed", name: "Sync", size: 16 } }
  ]
})
const plainLong = avro.Type.forSchema("long")
const magic = Buffer.from([0x4f, 0x62, 0x6a, 0x01]) // "Obj" 1

const blockTargetBytes = 1 << 20

/**
 * Encodes records into an Avro container file: header with the raw schema JSON and the given
 * key/value metadata, deflate-compressed blocks.
 */
export const writeAvroContainer = (
  schema: object,
  records: Iterable<unknown>,
  metadata: Readonly<Record<string, string>>,
  codec: "deflate" | "null" = "deflate"
): Uint8Array => {
  const type = avroType(schema)
  const sync = randomBytes(16)
  const meta: Record<string, Buffer> = {}
  for (const [key, value] of Object.entries(metadata)) meta[key] = Buffer.from(value, "utf8")
  meta["avro.schema"] = Buffer.from(JSON.stringify(schema), "utf8")
  meta["avro.codec"] = Buffer.from(codec, "utf8")
  const parts: Array<Buffer> = [headerType.toBuffer({ magic, meta, sync })]

  let pending: Array<Buffer> = []
  let pendingBytes = 0
  const flush = () => {
    if (pending.length === 0) return
    const raw = Buffer.concat(pending)
    const body = codec === "deflate" ? deflateRawSync(raw) : raw
    parts.push(plainLong.toBuffer(pending.length), plainLong.toBuffer(body.length), body, sync)
    pending = []
    pendingBytes = 0
  }
  for (const record of records) {
    const encoded = type.toBuffer(record)
    pending.push(encoded)
    pendingBytes += encoded.length
    if (pendingBytes >= blockTargetBytes) flush()
  }
  flush()
  return new Uint8Array(Buffer.concat(parts))
}

export interface AvroContainer {
  /** The writer schema as stored in the header (field ids included). */
  readonly schema: unknown
  readonly metadata: Readonly<Record<string, string>>
  readonly records: ReadonlyArray<Record<string, unknown>>
}

/** Decodes a whole Avro container file (null or deflate codec). */
export const readAvroContainer = (bytes: Uint8Array): AvroContainer => {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.length < 4 || !buf.subarray(0, 4).equals(magic)) throw new Error("not an Avro container file")
  const header = headerType.decode(buf, 0)
  if (header.offset < 0) throw new Error("truncated Avro header")
  const { meta, sync } = header.value as { meta: Record<string, Buffer>; sync: Buffer }
  const metadata: Record<string, string> = {}
  for (const [key, value] of Object.entries(meta)) metadata[key] = value.toString("utf8")
  const schemaText = metadata["avro.schema"]
  if (schemaText === undefined) throw new Error("Avro header has no schema")
  const schema = JSON.parse(schemaText) as object
  const codec = metadata["avro.codec"] ?? "null"
  if (codec !== "null" && codec !== "deflate") throw new Error(`unsupported Avro codec ${codec}`)
  const type = avroType(schema)
  const records: Array<Record<string, unknown>> = []
  let pos = header.offset
  while (pos < buf.length) {
    const count = plainLong.decode(buf, pos)
    if (count.offset < 0) throw new Error("truncated Avro block")
    const size = plainLong.decode(buf, count.offset)
    if (size.offset < 0) throw new Error("truncated Avro block")
    const start = size.offset
    const end = start + (size.value as number)
    if (end + 16 > buf.length) throw new Error("truncated Avro block")
    const body = codec === "deflate" ? inflateRawSync(buf.subarray(start, end)) : buf.subarray(start, end)
    if (!buf.subarray(end, end + 16).equals(sync)) throw new Error("Avro sync marker mismatch")
    let at = 0
    for (let k = 0; k < (count.value as number); k++) {
      const decoded = type.decode(body, at)
      if (decoded.offset < 0) throw new Error("truncated Avro record")
      records.push(decoded.value as Record<string, unknown>)
      at = decoded.offset
    }
    pos = end + 16
  }
  return { schema, metadata, records }
}
