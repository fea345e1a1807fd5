import * as arrow from "apache-arrow"
import { readFileSync, writeFileSync } from "node:fs"
import path from "node:path"
import * as parquetWasm from "parquet-wasm"
import { describe, expect, it } from "vitest"
import { readParquet } from "../../packages/adapters/src/formats/parquet/reader.ts"
import { FileReadError } from "../../packages/adapters/src/formats/errors.ts"
import { allRows, corpus, haveCorpus, rejection, scratchDir, truth, warnIfNoCorpus } from "./raw-support.ts"

warnIfNoCorpus("parquet")
const work = scratchDir("parquet-reader-")

/** Opening and reading every row; a failure at either step is the file's verdict. */
const readAll = async (file: string) => {
  const table = await readParquet(file, {})
  return { table, rows: await allRows(table) }
}

const parquetKeys = Object.keys(truth).filter((key) => key.startsWith("parquet/"))

/**
 * Files the corpus marks readable that this reader refuses on purpose or cannot read:
 * - large_string_map: a decompression bomb (2 GiB declared); the truth asks for a bounded failure.
 * - nation.dict-malformed: arrow-rs rejects its malformed dictionary page ("Invalid page header").
 */
const refusedReadable: Record<string, FileReadError["kind"]> = {
  "parquet/pqtest__large_string_map.brotli.parquet": "too-large",
  "parquet/pqtest__nation.dict-malformed.parquet": "corrupt"
}

describe.skipIf(!haveCorpus)("readParquet on the conformance corpus", () => {
  const readable = parquetKeys.filter((key) => truth[key]!.expect !== "error" && truth[key]!.rows !== null && !(key in refusedReadable))
  const refused = parquetKeys.filter((key) => truth[key]!.expect === "error" || truth[key]!.rows === null)

  it.each(readable)("%s gives the truth's rows and columns", async (key) => {
    const { table, rows } = await readAll(path.join(corpus, key))
    expect(rows.length).toBe(truth[key]!.rows)
    if (truth[key]!.columns !== null) expect(table.labels).toEqual(truth[key]!.columns)
    expect(table.declaredTypes).toHaveLength(table.labels.length)
    for (const row of rows) expect(row.length).toBe(table.labels.length)
  })

  it.each(refused)("%s is refused with a FileReadError", async (key) => {
    const error = await rejection(readAll(path.join(corpus, key)))
    expect(["corrupt", "unsupported", "too-large"]).toContain(error.kind)
    expect(error.message.length).toBeGreaterThan(20)
  })

  it.each(Object.entries(refusedReadable))("%s is refused as %s", async (key, kind) => {
    const error = await rejection(readAll(path.join(corpus, key)))
    expect(error.kind).toBe(kind)
  })

  it("says clearly that an encrypted file is encrypted", async () => {
    const error = await rejection(readAll(path.join(corpus, "parquet/pqtest__uniform_encryption.parquet.encrypted")))
    expect(error.kind).toBe("unsupported")
    expect(error.message).toMatch(/encrypted/)
  })

  it("maps types and hands out canonical values", async () => {
    const plain = await readAll(path.join(corpus, "parquet/pqtest__alltypes_plain.parquet"))
    expect(plain.table.declaredTypes!.map((t) => t!.type)).toEqual([
      "INTEGER", "BOOLEAN", "INTEGER", "INTEGER", "INTEGER", "INTEGER", "DOUBLE", "DOUBLE", "BINARY", "BINARY", "TIMESTAMP"
    ])
    const first = plain.rows[0]!
    expect(first[0]).toBe(4)
    expect(first[5]).toBe(0n)
    expect(first[8]).toEqual(new TextEncoder().encode("03/01/09"))
    expect(first[10]).toBe(BigInt(Date.UTC(2009, 2, 1)) * 1000n) // INT96 → microseconds

    const decimal = await readAll(path.join(corpus, "parquet/pqtest__fixed_length_decimal.parquet"))
    expect(decimal.table.declaredTypes![0]).toEqual({ type: "DECIMAL", nullable: true, precision: 25, scale: 2 })
    expect(decimal.rows.slice(0, 2)).toEqual([["1.00"], ["2.00"]])

    const unsigned = await readAll(path.join(corpus, "parquet/pqtest__concatenated_gzip_members.parquet"))
    expect(unsigned.table.declaredTypes![0]).toMatchObject({ type: "DECIMAL", precision: 20, scale: 0 })
    expect(unsigned.rows.at(-1)).toEqual(["513"])

    const lists = await readAll(path.join(corpus, "parquet/pqtest__list_columns.parquet"))
    expect(lists.table.declaredTypes!.map((t) => t!.type)).toEqual(["STRING", "STRING"])
    expect(lists.rows[0]).toEqual(["[1,2,3]", '["abc","efg","hij"]'])

    const maps = await readAll(path.join(corpus, "parquet/pqtest__nested_maps.snappy.parquet"))
    expect(maps.rows[0]![0]).toBe('{"a":{"1":true,"2":false}}')
  })

  it("reads a file whose footer row count disagrees with its row group", async () => {
    const { rows } = await readAll(path.join(corpus, "parquet/pqtest__repeated_no_annotation.parquet"))
    expect(rows.map((r) => r[0])).toEqual([1, 2, 3, 4, 5, 6])
  })

  it("refuses a decompression bomb whose footer lies about its sizes, without inflating it", async () => {
    const bytes = Buffer.from(readFileSync(path.join(corpus, "parquet/pqtest__large_string_map.brotli.parquet")))
    // Rewrite the footer's uncompressed sizes (zigzag varints) to 100 while keeping their width.
    const varint = (n: bigint) => {
      const out: Array<number> = []
      let v = n << 1n
      while (v >= 0x80n) {
        out.push(Number(v & 0x7fn) | 0x80)
        v >>= 7n
      }
      out.push(Number(v))
      return Buffer.from(out)
    }
    for (const declared of [2147483749n, 2147483827n]) {
      const pattern = varint(declared)
      const at = bytes.lastIndexOf(pattern)
      expect(at).toBeGreaterThan(0)
      const small = Buffer.alloc(pattern.length, 0x80)
      small[0] = Number((100n << 1n) & 0x7fn) | 0x80
      small[1] = Number((100n << 1n) >> 7n) | 0x80
      small[pattern.length - 1] = 0
      small.copy(bytes, at)
    }
    const file = path.join(work, "lying-bomb.parquet")
    writeFileSync(file, bytes)
    const error = await rejection(readAll(file))
    expect(error.kind).toBe("too-large")
    expect(error.message).toMatch(/decompression bomb/)
    // The reader still works afterwards.
    expect((await readAll(path.join(corpus, "parquet/pqtest__binary.parquet"))).rows).toHaveLength(12)
  })

  it("refuses corrupt footers", async () => {
    const original = readFileSync(path.join(corpus, "parquet/pqtest__alltypes_plain.parquet"))
    const footerLength = original.readUInt32LE(original.length - 8)

    const garbage = Buffer.from(original)
    garbage.fill(0xee, garbage.length - 8 - footerLength, garbage.length - 8)
    writeFileSync(path.join(work, "garbage-footer.parquet"), garbage)
    expect((await rejection(readAll(path.join(work, "garbage-footer.parquet")))).kind).toBe("corrupt")

    const huge = Buffer.from(original)
    huge.writeUInt32LE(0x7fffffff, huge.length - 8)
    writeFileSync(path.join(work, "huge-footer.parquet"), huge)
    const hugeError = await rejection(readAll(path.join(work, "huge-footer.parquet")))
    expect(hugeError.kind).toBe("corrupt")
    expect(hugeError.message).toMatch(/footer claims/)

    writeFileSync(path.join(work, "cut.parquet"), original.subarray(0, original.length - 100))
    expect((await rejection(readAll(path.join(work, "cut.parquet")))).kind).toBe("unsupported")
  })
})

describe("readParquet on generated files", () => {
  const rowCount = 1000
  const writeGenerated = (name: string, maxRowGroupSize: number): string => {
    const table = new arrow.Table({
      id: arrow.vectorFromArray(Array.from({ length: rowCount }, (_, i) => i), new arrow.Int32()),
      big: arrow.vectorFromArray(Array.from({ length: rowCount }, (_, i) => BigInt(i) * 10_000_000_000n), new arrow.Int64()),
      name: arrow.vectorFromArray(Array.from({ length: rowCount }, (_, i) => (i % 10 === 0 ? null : `name ${i}`)), new arrow.Utf8()),
      score: arrow.vectorFromArray(Array.from({ length: rowCount }, (_, i) => i / 4), new arrow.Float64()),
      flag: arrow.vectorFromArray(Array.from({ length: rowCount }, (_, i) => i % 2 === 0), new arrow.Bool()),
      day: arrow.vectorFromArray(Array.from({ length: rowCount }, (_, i) => new Date(Date.UTC(2024, 0, 1 + i))), new arrow.DateDay()),
      at: arrow.vectorFromArray(
        Array.from({ length: rowCount }, (_, i) => Date.UTC(2024, 0, 1) + i * 1000),
        new arrow.TimestampMicrosecond("UTC")
      )
    })
    const wasmTable = parquetWasm.Table.fromIPCStream(arrow.tableToIPC(table, "stream"))
    const properties = new parquetWasm.WriterPropertiesBuilder().setMaxRowGroupSize(maxRowGroupSize).build()
    const file = path.join(work, name)
    writeFileSync(file, parquetWasm.writeParquet(wasmTable, properties))
    return file
  }

  it("reads every row group in order, in batches of the requested size", async () => {
    const file = writeGenerated("groups.parquet", 128)
    const table = await readParquet(file, { batchRows: 300 })
    expect(table.labels).toEqual(["id", "big", "name", "score", "flag", "day", "at"])
    expect(table.declaredTypes!.map((t) => t!.type)).toEqual(["INTEGER", "INTEGER", "STRING", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP_TZ"])
    const sizes: Array<number> = []
    const rows: Array<ReadonlyArray<unknown>> = []
    for await (const batch of table.batches) {
      sizes.push(batch.length)
      rows.push(...batch)
    }
    expect(sizes).toEqual([300, 300, 300, 100])
    expect(rows.map((r) => r[0])).toEqual(Array.from({ length: rowCount }, (_, i) => i))
    expect(rows[123]).toEqual([
      123,
      1_230_000_000_000n,
      "name 123",
      30.75,
      false,
      Date.UTC(2024, 0, 124) / 86_400_000,
      (BigInt(Date.UTC(2024, 0, 1)) + 123_000n) * 1000n
    ])
    expect(rows[120]![2]).toBeNull()
  })

  it("refuses files that are not Parquet", async () => {
    const file = path.join(work, "text.parquet")
    writeFileSync(file, "id,name\n1,x\n")
    const error = await rejection(readParquet(file, {}))
    expect(error.kind).toBe("unsupported")
    expect(error.message).toMatch(/not a Parquet file/)
  })
})
