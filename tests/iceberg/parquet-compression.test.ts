import * as A from "apache-arrow"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import * as Parquet from "parquet-wasm"
import { afterAll, describe, expect, it } from "vitest"
import { field, ThriftReader, type ThriftStruct, type ThriftValue } from "../../packages/adapters/src/formats/parquet/thrift.ts"
import { ParquetPageCompressor } from "../../packages/adapters/src/iceberg/parquet-compression.ts"
import { withDuckDb } from "./support.ts"

// Pages written uncompressed by parquet-wasm and compressed afterwards with Node's zstd: DuckDB
// reads the same rows from both files, every column chunk says ZSTD, and the page indexes point
// at the pages where they now are, however the writer's output was cut into chunks.

const dir = mkdtempSync(path.join(tmpdir(), "ingest-parquet-compression-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ROWS = 30_000
const table = () => {
  const ids = Array.from({ length: ROWS }, (_, i) => i)
  const statuses = ["new", "open", "closed", null]
  return new A.Table({
    id: A.vectorFromArray(ids, new A.Int32()),
    big: A.vectorFromArray(Array.from({ length: ROWS }, (_, i) => BigInt(i) * 1_000_003n - 7n), new A.Int64()),
    ratio: A.vectorFromArray(Array.from({ length: ROWS }, (_, i) => (i % 17 === 0 ? null : i / 7)), new A.Float64()),
    status: A.vectorFromArray(Array.from({ length: ROWS }, (_, i) => statuses[i % 4]!), new A.Utf8()),
    note: A.vectorFromArray(Array.from({ length: ROWS }, (_, i) => `note ${i} ${"é".repeat(i % 5)}`), new A.Utf8())
  })
}

const write = (version: "v1" | "v2") =>
  Parquet.writeParquet(
    Parquet.Table.fromIPCStream(A.tableToIPC(table(), "stream")),
    new Parquet.WriterPropertiesBuilder()
      .setCompression(Parquet.Compression.UNCOMPRESSED)
      .setWriterVersion(version === "v1" ? Parquet.WriterVersion.V1 : Parquet.WriterVersion.V2)
      // Several row groups and several pages per column chunk.
      .setMaxRowGroupSize(8_000)
      .setDataPageSizeLimit(8 * 1024)
      .setColumnDictionaryEnabled("note", false)
      .build()
  )

/** The compressor fed the file in pieces of the given sizes, in turn. */
const compressed = (file: Uint8Array, sizes: ReadonlyArray<number>) => {
  const compressor = new ParquetPageCompressor()
  const out: Array<Uint8Array> = []
  for (let at = 0, k = 0; at < file.length; k++) {
    const size = sizes[k % sizes.length]!
    out.push(...compressor.push(file.subarray(at, at + size)))
    at += size
  }
  out.push(...compressor.end())
  return Buffer.concat(out)
}

const items = (value: ThriftValue | undefined): Array<ThriftStruct> =>
  value !== undefined && typeof value === "object" && "kind" in value && value.kind === "list" ? value.items as Array<ThriftStruct> : []
const int = (s: ThriftStruct, id: number) => Number(field(s, id)?.value)

/** Every page an offset index names starts with a page header whose sizes add up to the location's. */
const checkOffsetIndexes = (file: Uint8Array) => {
  const footerLength = new DataView(file.buffer, file.byteOffset + file.length - 8, 4).getUint32(0, true)
  const meta = new ThriftReader(file.subarray(file.length - 8 - footerLength, file.length - 8)).struct()
  let pages = 0
  for (const group of items(field(meta, 4)?.value)) {
    for (const chunk of items(field(group, 1)?.value)) {
      expect(int(field(chunk, 3)!.value as ThriftStruct, 4)).toBe(6) // ZSTD
      const at = int(chunk, 4)
      const index = new ThriftReader(file.subarray(at, at + int(chunk, 5))).struct()
      for (const location of items(field(index, 1)?.value)) {
        const start = int(location, 1)
        const reader = new ThriftReader(file.subarray(start))
        const header = reader.struct()
        expect(reader.pos + int(header, 3)).toBe(int(location, 2))
        pages++
      }
    }
  }
  return pages
}

const rowsOf = (file: string) =>
  withDuckDb(async (db) => {
    const result = await db.runAndReadAll(`SELECT * FROM read_parquet('${file}') ORDER BY id`)
    return result.getRowsJson()
  })

const codecsOf = (file: string) =>
  withDuckDb(async (db) => {
    const result = await db.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`)
    return result.getRowsJson().flat()
  })

describe("Parquet pages compressed after the writer", () => {
  for (const version of ["v1", "v2"] as const) {
    it(`gives the same rows as the uncompressed file, with ${version} data pages, in pieces of any size`, async () => {
      const plain = write(version)
      const plainPath = path.join(dir, `plain-${version}.parquet`)
      writeFileSync(plainPath, plain)
      const expected = await rowsOf(plainPath)
      expect(expected).toHaveLength(ROWS)
      for (const sizes of [[plain.length], [5, 1, 2], [3, 1000, 7], [65_536]]) {
        const zstd = compressed(plain, sizes)
        expect(zstd.length).toBeLessThan(plain.length)
        expect(checkOffsetIndexes(zstd)).toBeGreaterThan(20)
        const zstdPath = path.join(dir, `zstd-${version}-${sizes.join("-")}.parquet`)
        writeFileSync(zstdPath, zstd)
        expect(await codecsOf(zstdPath)).toEqual(["ZSTD"])
        expect(await rowsOf(zstdPath)).toEqual(expected)
        // parquet-wasm (arrow-rs) reads it back too.
        expect(A.tableFromIPC(Parquet.readParquet(zstd).intoIPCStream()).numRows).toBe(ROWS)
      }
    }, 60_000)
  }

  it("refuses what is not a Parquet file", () => {
    const compressor = new ParquetPageCompressor()
    expect(() => compressor.push(Buffer.from("not parquet at all"))).toThrow(/does not start with PAR1/)
  })
})
