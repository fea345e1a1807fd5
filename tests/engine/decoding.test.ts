import { BinaryCopyDecoder } from "@ingest/adapters/engine/postgres/copy-decoder"
import { CopyOutFramer } from "@ingest/adapters/engine/postgres/wire"
import { globToRegExp, literalPrefix } from "@ingest/adapters/engine/s3/glob"
import { mapPgType } from "@ingest/adapters/engine/postgres/types"
import { cellsOf, type ColumnBatch, isPackedColumn } from "@ingest/domain"
import { describe, expect, it } from "vitest"

/** A binary COPY stream of (int8, text, timestamptz, numeric-as-text) rows, as the server writes it. */
const copyStream = (rows: ReadonlyArray<readonly [bigint, string | Buffer | null, bigint, string]>): Buffer => {
  const parts: Array<Buffer> = [Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)]
  const field = (bytes: Buffer | null) => {
    const length = Buffer.alloc(4)
    length.writeInt32BE(bytes === null ? -1 : bytes.length)
    parts.push(length)
    if (bytes !== null) parts.push(bytes)
  }
  for (const [id, name, micros, amount] of rows) {
    const count = Buffer.alloc(2)
    count.writeInt16BE(4)
    parts.push(count)
    const id8 = Buffer.alloc(8)
    id8.writeBigInt64BE(id)
    field(id8)
    field(name === null ? null : typeof name === "string" ? Buffer.from(name, "utf8") : name)
    const ts = Buffer.alloc(8)
    ts.writeBigInt64BE(micros - 946_684_800_000_000n)
    field(ts)
    field(Buffer.from(amount, "latin1"))
  }
  const trailer = Buffer.alloc(2)
  trailer.writeInt16BE(-1)
  parts.push(trailer)
  return Buffer.concat(parts)
}

const rows = [
  [1n, "ä€ unicode", 1_710_497_100_123_456n, "12.30"],
  [-9_007_199_254_740_993n, null, -315_619_200_000_000n, "NaN"],
  [3n, "", 0n, "-0.01"]
] as const

const fields = [{ kind: "integer" }, { kind: "text" }, { kind: "micros" }, { kind: "decimal", precision: 12, scale: 2 }] as const

const decodeAll = (chunks: ReadonlyArray<Uint8Array>, batchRows = 2) => {
  const decoder = new BinaryCopyDecoder(fields, batchRows)
  const batches: Array<ColumnBatch> = []
  for (const chunk of chunks) decoder.push(chunk, batches)
  const rest = decoder.flush()
  if (rest !== undefined) batches.push(rest)
  expect(decoder.done).toBe(true)
  return batches.flatMap((b) => Array.from({ length: b.length }, (_, r) => b.columns.map((c) => cellsOf(c)[r])))
}

// Canonical values (batch.ts): safe integers as numbers, wider ones and timestamps as bigint.
const expected = [
  [1, "ä€ unicode", 1_710_497_100_123_456n, "12.30"],
  [-9_007_199_254_740_993n, null, -315_619_200_000_000n, null],
  [3, "", 0n, "-0.01"]
]

describe("binary COPY decoding", () => {
  it("decodes rows into canonical values and batches of the asked size", () => {
    const stream = copyStream(rows)
    const decoder = new BinaryCopyDecoder(fields, 2)
    const batches: Array<ColumnBatch> = []
    decoder.push(stream, batches)
    expect(batches.map((b) => b.length)).toEqual([2])
    expect(decoder.flush()?.length).toBe(1)
    // Packed straight into Arrow's layout: the writer stores the columns without visiting values.
    expect(batches[0]!.columns.every(isPackedColumn)).toBe(true)
    expect(decodeAll([stream])).toEqual(expected)
  })

  it("replaces bytes that are not UTF-8 in text (a SQL_ASCII database) and refuses a decimal that does not fit", () => {
    const bad = copyStream([[1n, Buffer.from([0x6f, 0x6b, 0xff, 0x6f, 0x6b]), 0n, "1.00"]])
    expect(decodeAll([bad])[0]![1]).toBe("ok\ufffdok")
    expect(() => decodeAll([copyStream([[1n, "x", 0n, "12345678901.5"]])])).toThrow("does not fit decimal(12,2)")
  })

  it("gives the same rows however the stream is cut into messages", () => {
    const stream = copyStream(rows)
    for (let cut = 1; cut < stream.length; cut++) {
      expect(decodeAll([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected)
    }
    const bytewise = Array.from(stream, (byte) => Uint8Array.of(byte))
    expect(decodeAll(bytewise, 1)).toEqual(expected)
  })

  it("refuses a stream that is not binary COPY or ends inside a row", () => {
    expect(() => decodeAll([Buffer.from("id\tname\n1\tx\n0000000000000000000")])).toThrow("binary signature")
    const stream = copyStream(rows)
    const decoder = new BinaryCopyDecoder(fields, 10)
    decoder.push(stream.subarray(0, stream.length - 10), [])
    expect(() => decoder.flush()).toThrow("ended inside a row")
  })
})

/** The backend messages of a COPY OUT answer: CopyOutResponse, the stream in CopyData messages of `rowBytes`, CopyDone, CommandComplete, ReadyForQuery. */
const copyOutAnswer = (stream: Buffer, pieces: number): Buffer => {
  const message = (type: string, body: Buffer) => {
    const head = Buffer.alloc(5)
    head[0] = type.charCodeAt(0)
    head.writeInt32BE(body.length + 4, 1)
    return Buffer.concat([head, body])
  }
  const parts = [message("H", Buffer.from([1, 0, 4, 0, 1, 0, 1, 0, 1, 0, 1]))]
  const step = Math.ceil(stream.length / pieces)
  for (let at = 0; at < stream.length; at += step) parts.push(message("d", stream.subarray(at, at + step)))
  parts.push(message("c", Buffer.alloc(0)), message("C", Buffer.from("COPY 3\0")), message("Z", Buffer.from("I")))
  return Buffer.concat(parts)
}

describe("COPY OUT framing", () => {
  it("hands CopyData payloads to the decoder and parses the other messages, however the bytes are cut", () => {
    const answer = copyOutAnswer(copyStream(rows), 5)
    for (let cut = 1; cut < answer.length; cut += 3) {
      const framer = new CopyOutFramer()
      const decoder = new BinaryCopyDecoder(fields, 2)
      const batches: Array<ColumnBatch> = []
      const tags: Array<string> = []
      for (const chunk of [answer.subarray(0, cut), answer.subarray(cut)]) {
        for (const m of framer.push(chunk, (c, start, end) => decoder.pushRange(c, start, end, batches))) tags.push(m._tag)
      }
      const rest = decoder.flush()
      if (rest !== undefined) batches.push(rest)
      expect(tags).toEqual(["CopyOutResponse", "CopyDone", "CommandComplete", "ReadyForQuery"])
      expect(batches.flatMap((b) => Array.from({ length: b.length }, (_, r) => b.columns.map((c) => cellsOf(c)[r])))).toEqual(expected)
    }
  })
})

describe("S3 globs", () => {
  it("matches keys as documented", () => {
    const csv = globToRegExp("exports/**/*.csv")
    expect(csv.test("exports/a.csv")).toBe(true)
    expect(csv.test("exports/2024/05/a.csv")).toBe(true)
    expect(csv.test("exports/a.csv.gz")).toBe(false)
    expect(csv.test("other/exports/a.csv")).toBe(false)
    const one = globToRegExp("data/*.{csv,jsonl}")
    expect(one.test("data/x.jsonl")).toBe(true)
    expect(one.test("data/sub/x.csv")).toBe(false)
    expect(globToRegExp("a+b(1)?.txt").test("a+b(1)x.txt")).toBe(true)
    expect(literalPrefix("exports/2024/*.csv")).toBe("exports/2024/")
  })
})

describe("postgres type mapping", () => {
  const numeric = (precision: number, scale: number) => ((precision << 16) | (scale & 0x7ff)) + 4
  it("maps numerics within Iceberg's 38 digits to DECIMAL and wider ones to STRING", () => {
    expect(mapPgType({ typeName: "numeric", typeCategory: "N", typeModifier: numeric(12, 2) })).toEqual({ type: "DECIMAL", precision: 12, scale: 2 })
    expect(mapPgType({ typeName: "numeric", typeCategory: "N", typeModifier: -1 })).toEqual({ type: "DECIMAL", precision: 38, scale: 9 })
    expect(mapPgType({ typeName: "numeric", typeCategory: "N", typeModifier: numeric(5, -2) })).toEqual({ type: "DECIMAL", precision: 7, scale: 0 })
    expect(mapPgType({ typeName: "numeric", typeCategory: "N", typeModifier: numeric(3, 5) })).toEqual({ type: "DECIMAL", precision: 5, scale: 5 })
    expect(mapPgType({ typeName: "numeric", typeCategory: "N", typeModifier: numeric(39, 0) })).toEqual({ type: "STRING" })
    expect(mapPgType({ typeName: "_int4", typeCategory: "A", typeModifier: -1 })).toEqual({ type: "STRING" })
  })
})
