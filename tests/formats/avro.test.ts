import avro from "avsc"
import { writeFileSync } from "node:fs"
import path from "node:path"
import { crc32, deflateRawSync } from "node:zlib"
import snappy from "snappyjs"
import { describe, expect, it } from "vitest"
import { readAvro } from "../../packages/adapters/src/formats/avro/reader.ts"
import { allRows, corpus, haveCorpus, rejection, scratchDir, truth, warnIfNoCorpus } from "./raw-support.ts"

warnIfNoCorpus("avro")
const work = scratchDir("avro-reader-")

const readAll = async (file: string) => {
  const table = await readAvro(file, {})
  return { table, rows: await allRows(table) }
}

const avroKeys = Object.keys(truth).filter((key) => key.startsWith("avro/"))

describe.skipIf(!haveCorpus)("readAvro on the conformance corpus", () => {
  const readable = avroKeys.filter((key) => truth[key]!.rows !== null)
  const refused = avroKeys.filter((key) => truth[key]!.rows === null)

  it.each(readable)("%s gives the truth's rows and columns", async (key) => {
    const { table, rows } = await readAll(path.join(corpus, key))
    expect(rows.length).toBe(truth[key]!.rows)
    // A top-level type that is not a record has no column names in the truth: it reads as "value".
    expect(table.labels).toEqual(truth[key]!.columns ?? ["value"])
    expect(table.declaredTypes).toHaveLength(table.labels.length)
  })

  it.each(refused)("%s is refused with a FileReadError", async (key) => {
    const error = await rejection(readAll(path.join(corpus, key)))
    expect(error.message.length).toBeGreaterThan(20)
  })

  it("names the problem in each refusal", async () => {
    const notContainer = await rejection(readAll(path.join(corpus, "avro/avro__test.avro12_not_container.avro")))
    expect(notContainer.kind).toBe("unsupported")
    expect(notContainer.message).toMatch(/not an Avro object container file/)
    const badUnion = await rejection(readAll(path.join(corpus, "avro/avro_c__avro-1237-bad-union-discriminant.avro")))
    expect(badUnion.kind).toBe("corrupt")
    expect(badUnion.message).toMatch(/union branch index 2 is out of range/)
    const truncated = await rejection(readAll(path.join(corpus, "avro/avro_c__avro-1238-truncated.avro")))
    expect(truncated.kind).toBe("corrupt")
  })

  it("decodes every codec of the weather twins to the same rows", async () => {
    const baseline = (await readAll(path.join(corpus, "avro/avro__weather.avro"))).rows
    expect(baseline[0]).toEqual(["011990-99999", -619524000000, 0])
    for (const codec of ["deflate", "snappy", "zstd"]) {
      expect((await readAll(path.join(corpus, `avro/avro__weather-${codec}.avro`))).rows).toEqual(baseline)
    }
  })

  it("keeps 64-bit extremes exact and reads bytes as Uint8Array", async () => {
    const { table, rows } = await readAll(path.join(corpus, "avro/avro_c__avro-1279-codec_minmax.avro"))
    expect(table.declaredTypes!.map((t) => t!.type)).toEqual(["BOOLEAN", "INTEGER", "INTEGER", "DOUBLE", "DOUBLE", "BINARY", "STRING"])
    const longs = rows.map((r) => r[2])
    expect(longs).toContain(9223372036854775807n)
    expect(longs).toContain(-9223372036854775808n)
    expect(rows.map((r) => r[1])).toContain(2147483647)
    expect(rows[0]![5]).toEqual(new TextEncoder().encode("DEFAULT VALUES"))
  })

  it("maps [null, T] to a nullable T, other unions and records to text", async () => {
    const person = await readAll(path.join(corpus, "avro/avsc__person-10.avro"))
    expect(person.table.declaredTypes).toEqual([
      { type: "STRING", nullable: false },
      { type: "INTEGER", nullable: true, bitWidth: 32 },
      { type: "STRING", nullable: false },
      { type: "STRING", nullable: false }
    ])
    expect(person.rows[0]).toEqual(["r", 906, "MALE", '{"zipcode":631}'])
    const unions = await readAll(path.join(corpus, "avro/avro__schemas_withUnion_data.avro"))
    expect(unions.table.declaredTypes).toEqual([
      { type: "STRING", nullable: false },
      { type: "STRING", nullable: true }
    ])
    const top = await readAll(path.join(corpus, "avro/avro_c__avro-1237-good_union_toplevel.avro"))
    expect(top.rows).toEqual([[null], [100]])
    expect(top.table.declaredTypes).toEqual([{ type: "INTEGER", nullable: true, bitWidth: 32 }])
  })
})

// ---------------------------------------------------------------------------------------------
// Generated files

const schema = {
  type: "record",
  name: "Event",
  fields: [
    { name: "id", type: "long" },
    { name: "note", type: ["null", "string"] },
    { name: "day", type: { type: "int", logicalType: "date" } },
    { name: "at", type: { type: "long", logicalType: "timestamp-millis" } },
    { name: "local", type: { type: "long", logicalType: "local-timestamp-micros" } },
    { name: "price", type: { type: "bytes", logicalType: "decimal", precision: 9, scale: 2 } },
    { name: "tags", type: { type: "array", items: "string" } },
    { name: "attrs", type: { type: "map", values: "int" } },
    { name: "mixed", type: ["int", "string"] }
  ]
}

const eventType = avro.Type.forSchema(schema as avro.Schema)

const event = (i: number) => ({
  id: i,
  note: i % 3 === 0 ? null : `note ${i}`,
  day: 19_000 + i,
  at: 1_700_000_000_000 + i,
  local: 1_700_000_000_000_000 + i,
  price: Buffer.from(i % 2 === 0 ? [0x30, 0x39] : [0xcf, 0xc7]), // 12345 / -12345 unscaled
  tags: [`t${i}`, "x"],
  attrs: { n: i },
  mixed: i % 2 === 0 ? i : `s${i}`
})

const snappyCodec = (data: Buffer, done: (error: Error | null, out?: Buffer) => void) => {
  const checksum = Buffer.alloc(4)
  checksum.writeUInt32BE(crc32(data))
  done(null, Buffer.concat([Buffer.from(snappy.compress(new Uint8Array(data))), checksum]))
}

const codecs = {
  null: (data: Buffer, done: (error: Error | null, out?: Buffer) => void) => done(null, data),
  deflate: (data: Buffer, done: (error: Error | null, out?: Buffer) => void) => done(null, deflateRawSync(data)),
  snappy: snappyCodec
}

const writeWithAvsc = (name: string, codec: string, count: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const file = path.join(work, name)
    const encoder = avro.createFileEncoder(file, schema as avro.Schema, { codec, blockSize: 256, codecs } as never)
    encoder.on("error", reject)
    encoder.on("finish", () => setTimeout(() => resolve(file), 50))
    for (let i = 0; i < count; i++) encoder.write(event(i))
    encoder.end()
  })

/** Hand-built container so that block headers can lie. */
const container = (blocks: ReadonlyArray<{ count: bigint; size?: bigint; data: Buffer }>, blockSchema: object = schema): Buffer => {
  const long = (n: bigint) => avro.Type.forSchema("long").toBuffer(Number(n))
  const bigLong = (n: bigint) => {
    const out: Array<number> = []
    let v = n >= 0n ? n << 1n : ((-n) << 1n) - 1n
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80)
      v >>= 7n
    }
    out.push(Number(v))
    return Buffer.from(out)
  }
  const text = (s: string) => Buffer.concat([long(BigInt(Buffer.byteLength(s))), Buffer.from(s)])
  const sync = Buffer.alloc(16, 7)
  const parts = [
    Buffer.from("Obj\x01", "latin1"),
    long(2n),
    text("avro.schema"),
    text(JSON.stringify(blockSchema)),
    text("avro.codec"),
    text("null"),
    long(0n),
    sync
  ]
  for (const block of blocks) parts.push(bigLong(block.count), bigLong(block.size ?? BigInt(block.data.length)), block.data, sync)
  return Buffer.concat(parts)
}

describe("readAvro on generated files", () => {
  it.each(["null", "deflate", "snappy"])("reads an avsc-written file with codec %s", async (codec) => {
    const file = await writeWithAvsc(`events-${codec}.avro`, codec, 50)
    const table = await readAvro(file, { batchRows: 20 })
    expect(table.labels).toEqual(["id", "note", "day", "at", "local", "price", "tags", "attrs", "mixed"])
    expect(table.declaredTypes).toEqual([
      { type: "INTEGER", nullable: false },
      { type: "STRING", nullable: true },
      { type: "DATE", nullable: false },
      { type: "TIMESTAMP_TZ", nullable: false },
      { type: "TIMESTAMP", nullable: false },
      { type: "DECIMAL", nullable: false, precision: 9, scale: 2 },
      { type: "STRING", nullable: false },
      { type: "STRING", nullable: false },
      { type: "STRING", nullable: false }
    ])
    const sizes: Array<number> = []
    const rows: Array<ReadonlyArray<unknown>> = []
    for await (const batch of table.batches) {
      sizes.push(batch.length)
      rows.push(...batch)
    }
    expect(sizes).toEqual([20, 20, 10])
    expect(rows[0]).toEqual([0, null, 19_000, 1_700_000_000_000_000n, 1_700_000_000_000_000n, "123.45", '["t0","x"]', '{"n":0}', "0"])
    expect(rows[1]).toEqual([1, "note 1", 19_001, 1_700_000_000_001_000n, 1_700_000_000_000_001n, "-123.45", '["t1","x"]', '{"n":1}', "s1"])
  })

  it("refuses a block whose size is larger than the file, without allocating it", async () => {
    const file = path.join(work, "lying-size.avro")
    writeFileSync(file, container([{ count: 1n, size: 1n << 40n, data: eventType.toBuffer(event(1)) }]))
    const error = await rejection(readAll(file))
    expect(error.kind).toBe("corrupt")
    expect(error.message).toMatch(/declares 1099511627776 bytes/)
  })

  it("refuses a block whose object count cannot fit in its bytes", async () => {
    const file = path.join(work, "lying-count.avro")
    writeFileSync(file, container([{ count: 1n << 50n, data: eventType.toBuffer(event(1)) }]))
    const error = await rejection(readAll(file))
    expect(error.kind).toBe("corrupt")
    expect(error.message).toMatch(/claims 1125899906842624 objects/)
  })

  it("refuses an array that claims more items than the block holds", async () => {
    const listSchema = { type: "record", name: "L", fields: [{ name: "xs", type: { type: "array", items: "long" } }] }
    // Array block count 2^40, then nothing.
    const data = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x40])
    const file = path.join(work, "lying-array.avro")
    writeFileSync(file, container([{ count: 1n, data }], listSchema))
    const error = await rejection(readAll(file))
    expect(error.kind).toBe("corrupt")
    expect(error.message).toMatch(/claims \d+ items/)
  })

  it("refuses bytes left over in a block and a wrong sync marker", async () => {
    const extra = path.join(work, "extra-bytes.avro")
    writeFileSync(extra, container([{ count: 1n, data: Buffer.concat([eventType.toBuffer(event(1)), Buffer.from([0])]) }]))
    expect((await rejection(readAll(extra))).message).toMatch(/after its 1 objects/)

    const badSync = container([{ count: 1n, data: eventType.toBuffer(event(1)) }])
    badSync[badSync.length - 1] = 0
    const file = path.join(work, "bad-sync.avro")
    writeFileSync(file, badSync)
    expect((await rejection(readAll(file))).message).toMatch(/sync marker/)
  })

  it("refuses a deflate block that inflates to garbage and an unknown codec", async () => {
    const deflated = container([{ count: 1n, data: deflateRawSync(eventType.toBuffer(event(1))) }])
    const file = path.join(work, "codec-mismatch.avro")
    writeFileSync(file, deflated)
    expect((await rejection(readAll(file))).kind).toBe("corrupt")

    const unknown = Buffer.from(container([]).toString("latin1").replace("\x08null", "\x08lzma"), "latin1")
    const unknownFile = path.join(work, "unknown-codec.avro")
    writeFileSync(unknownFile, unknown)
    const error = await rejection(readAvro(unknownFile, {}))
    expect(error.kind).toBe("unsupported")
    expect(error.message).toMatch(/codec "lzma"/)
  })
})
