import type { CellValue, Column } from "@ingest/domain"
import { cellsOf } from "@ingest/domain"
import { describe, expect, it } from "vitest"
import { makeCoercer } from "../../packages/adapters/src/formats/values/coercion.ts"
import type { CsvFields } from "../../packages/adapters/src/formats/csv/byte-tokenizer.ts"
import { makeColumnPacker, PackError } from "../../packages/adapters/src/formats/values/packing.ts"

// The packers coerce raw cells, or CSV fields in UTF-8 bytes, straight into typed arrays, with fast
// paths for common spellings. Whatever the path, they must accept and produce exactly what the cell
// coercer does.

const outcome = (run: () => CellValue): { value: CellValue } | { refused: string } => {
  try {
    return { value: run() }
  } catch (error) {
    return { refused: (error as Error).message }
  }
}

/** What storing a canonical value keeps: 64-bit integers have no -0, UTF-8 has no lone surrogates. */
const stored = (value: CellValue): CellValue =>
  Object.is(value, -0) ? 0 : typeof value === "string" ? Buffer.from(value, "utf8").toString("utf8") : value

const viaCoercer = (column: Column, values: ReadonlyArray<unknown>, dateOrder?: "ymd" | "dmy" | "mdy") => {
  const coerce = makeCoercer(column, dateOrder === undefined ? undefined : { dateOrder }, true)
  return values.map((v) => outcome(() => stored(coerce(v))))
}

const viaPacker = (column: Column, values: ReadonlyArray<unknown>, dateOrder?: "ymd" | "dmy" | "mdy") =>
  values.map((v) => {
    const packer = makeColumnPacker(column, dateOrder === undefined ? undefined : { dateOrder }, true)
    try {
      packer.appendAll([v], 1)
    } catch (error) {
      expect(error).toBeInstanceOf(PackError)
      return { refused: (error as Error).message }
    }
    return { value: cellsOf(packer.take())[0]! }
  })

/** The same values as CSV fields in UTF-8 bytes (csv/byte-tokenizer.ts), which imports of CSV files read. */
const viaFields = (column: Column, values: ReadonlyArray<unknown>, dateOrder?: "ymd" | "dmy" | "mdy") =>
  values.map((v) => {
    const packer = makeColumnPacker(column, dateOrder === undefined ? undefined : { dateOrder }, true)
    const bytes = Buffer.from(String(v), "utf8")
    const fields: CsvFields = {
      length: 1,
      capacity: 1,
      bytes: new Uint8Array([0x2c, ...bytes]),
      unescaped: new Uint8Array(0),
      starts: Int32Array.of(1),
      ends: Int32Array.of(1 + bytes.length)
    }
    try {
      packer.appendFields(fields, 0)
    } catch (error) {
      expect(error).toBeInstanceOf(PackError)
      return { refused: (error as Error).message }
    }
    return { value: cellsOf(packer.take())[0]! }
  })

const same = (column: Column, values: ReadonlyArray<unknown>, dateOrder?: "ymd" | "dmy" | "mdy") => {
  const expected = viaCoercer(column, values, dateOrder)
  expect(viaPacker(column, values, dateOrder)).toEqual(expected)
  // Lone surrogates cannot be in a file's UTF-8 bytes.
  const encodable = values.filter((v) => typeof v !== "string" || !/[\ud800-\udfff]/.test(v.replace(/[\ud800-\udbff][\udc00-\udfff]/g, "")))
  expect(viaFields(column, encodable, dateOrder)).toEqual(viaCoercer(column, encodable, dateOrder))
}

const integers = ["0", "7", "-7", "-0", "007", "+5", " 12", "12 ", "123456789012345", "1234567890123456",
  "9007199254740993", "1000000000000000", "-1000000000000000", "999999999999999999", "-999999999999999999",
  "123456789012345678", "-123456789012345678", "4294967296000000", "-4294967296000000", "0123456789012345678",
  "12345678901234567x", "-", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "1.0", "1e3", "", "NULL",
  "N/A", " NA ", "n/a", "Null", "x", "-", "--1", "١٢"]
const dates = ["2024-02-29", "2023-02-29", "1970-01-01", "0001-01-01", "9999-12-31", "2024-13-01", "2024-1-05",
  "05/01/2024", "2024/01/05", "2024-01-05 ", "2024-01-0x", "", "null"]
const timestamps = ["2024-01-02 03:04:05", "2024-01-02T03:04:05", "2024-01-02T03:04:05.1", "2024-01-02T03:04:05.123456",
  "2024-01-02T03:04:05.1234567", "2024-01-02T03:04:05.123456000", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.5Z",
  "2024-01-02T03:04:05+02:00", "2024-01-02 24:00:00", "2024-01-02 23:60:00", "2024-01-02 3:04:05", "2024-01-02 03:04",
  "2024-01-02 03:04:05 PM", "2024-01-02 11:04:05 PM", "2024-01-02", "9999-12-31 23:59:59", "1600-01-01 00:00:00",
  "2024-01-02T03:04:05.", "2024-01-02T03:04:05.12a", "2024-02-30 00:00:00", "x"]
const decimals = ["0", "1.5", "-1.50", "12.345", "12.340", "-0.00", "0.05", "00.5", "007", "-", "-.5", "1.2.3",
  "1234567890.12", "12345678901.5", "123456789012345.67", "9999999999.99", "99999999999", ".5", "5.", "1e2", "x", "", "+1.5", " 1.5"]

describe("column packers agree with the cell coercer", () => {
  it("INTEGER", () => same({ name: "n", type: "INTEGER", nullable: true }, integers))
  it("DATE (year first, and day first)", () => {
    same({ name: "d", type: "DATE", nullable: true }, dates)
    same({ name: "d", type: "DATE", nullable: true }, dates, "dmy")
  })
  it("TIMESTAMP and TIMESTAMP_TZ", () => {
    same({ name: "t", type: "TIMESTAMP", nullable: true }, timestamps)
    same({ name: "t", type: "TIMESTAMP_TZ", nullable: true }, timestamps)
    same({ name: "t", type: "TIMESTAMP", nullable: true }, timestamps, "mdy")
  })
  it("DECIMAL", () => {
    same({ name: "a", type: "DECIMAL", precision: 12, scale: 2, nullable: true }, decimals)
    same({ name: "a", type: "DECIMAL", precision: 38, scale: 4, nullable: true }, decimals)
    same({ name: "a", type: "DECIMAL", precision: 4, scale: 0, nullable: true }, decimals)
    same({ name: "a", type: "DECIMAL", precision: 2, scale: 2, nullable: true }, decimals)
  })
  it("BOOLEAN, DOUBLE and STRING", () => {
    same({ name: "b", type: "BOOLEAN", nullable: true }, ["true", "false", "TRUE", " False ", "yes", "1", ""])
    same({ name: "x", type: "DOUBLE", nullable: true }, ["1", "-2.5", "1e300", "NaN", "Infinity", "x", ""])
    same({ name: "s", type: "STRING", nullable: true }, ["a", "", "NA", "é漢😀", "\ud800", "  "])
  })
  it("refuses a null in a required column", () => {
    same({ name: "n", type: "INTEGER", nullable: false }, ["1", "", "NULL"])
  })
})

describe("packed batches", () => {
  it("keep nulls, values and lengths across many rows and several takes", () => {
    const packer = makeColumnPacker({ name: "n", type: "INTEGER", nullable: true }, undefined, true)
    const values = Array.from({ length: 5000 }, (_, i) => (i === 3 ? "" : String(i * 1_000_003 - 2_000_000_000)))
    packer.appendAll(values.slice(0, 2000), 2000)
    packer.appendAll(values.slice(2000), 3000)
    const first = packer.take()
    expect(first.length).toBe(5000)
    expect(first.nullCount).toBe(1)
    const cells = cellsOf(first)
    expect(cells[3]).toBeNull()
    expect(cells[4999]).toBe(4999 * 1_000_003 - 2_000_000_000)
    expect(cells.filter((c) => c === null)).toHaveLength(1)
    packer.appendAll(["1", "2"], 2)
    expect(cellsOf(packer.take())).toEqual([1, 2])
  })

  it("reports the index of the value that does not fit", () => {
    const packer = makeColumnPacker({ name: "n", type: "INTEGER", nullable: true }, undefined, true)
    expect(() => packer.appendAll(["1", "2", "three"], 3)).toThrow(expect.objectContaining({ index: 2, message: expect.stringContaining("\"three\"") }))
  })
})
