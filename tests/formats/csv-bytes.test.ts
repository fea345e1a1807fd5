import { describe, expect, it } from "vitest"
import { fieldText, plainDateOfField, plainTimestampOfField } from "../../packages/adapters/src/formats/values/byte-grammar.ts"
import { dateFromText, formatDate, ORDER_YMD, timestampMicrosFromText } from "../../packages/adapters/src/formats/values/text-grammar.ts"
import { makeRandom } from "../bench/support/csv-fixture.ts"
import { CsvByteTokenizer, type CsvFields, MISSING_FIELD } from "../../packages/adapters/src/formats/csv/byte-tokenizer.ts"
import { CsvTokenizer } from "../../packages/adapters/src/formats/csv/text-tokenizer.ts"
import type { ColumnarBatch, CsvDialect } from "../../packages/adapters/src/formats/types.ts"
import { ColumnInference } from "../../packages/adapters/src/formats/values/inference.ts"

// UTF-8 CSV is read from bytes (csv/byte-tokenizer.ts), other text from decoded text (csv/text-tokenizer.ts): both
// must see the same records and fields in every file, however the input is cut into chunks; a first reading
// counts the same lines, short and long records and header rows, and infers the same types from the bytes
// (values/inference.ts observeFields) as from the text (observeText).

const limits = { maxFieldChars: 1 << 20, maxRecordChars: 1 << 21 }

/** Records as the text tokenizer reads them (null for a missing field). */
const viaText = (text: string, dialect: CsvDialect, width: number, header: boolean) => {
  const tokenizer = new CsvTokenizer(dialect, width, 5, limits, header)
  const batches: Array<ColumnarBatch> = []
  tokenizer.feed(text, batches)
  tokenizer.end(batches)
  const rows: Array<Array<string | null>> = []
  for (const batch of batches) {
    for (let r = 0; r < batch.length; r++) rows.push(batch.columns.map((column) => (column?.[r] ?? null) as string | null))
  }
  return rows
}

const rowsOf = (fields: CsvFields, width: number) => {
  const rows: Array<Array<string | null>> = []
  for (let r = 0; r < fields.length; r++) {
    const row: Array<string | null> = []
    for (let j = 0; j < width; j++) {
      const start = fields.starts[j * fields.capacity + r]!
      const end = fields.ends[j * fields.capacity + r]!
      row.push(
        start === MISSING_FIELD ? null : start >= 0 ? fieldText(fields.bytes, start, end) : fieldText(fields.unescaped, -start - 2, end)
      )
    }
    rows.push(row)
  }
  return rows
}

/** Records as the byte tokenizer reads them, fed `chunk` bytes at a time. */
const viaBytes = (text: string, dialect: CsvDialect, width: number, header: boolean, chunk: number) => {
  const bytes = Buffer.from(text, "utf8")
  const tokenizer = new CsvByteTokenizer(dialect, width, 5, limits, header)
  const rows: Array<Array<string | null>> = []
  for (let at = 0; at < bytes.length; at += chunk) {
    tokenizer.push(bytes.subarray(at, at + chunk))
    for (let f = tokenizer.next(false); f !== undefined; f = tokenizer.next(false)) rows.push(...rowsOf(f, width))
  }
  for (let f = tokenizer.next(true); f !== undefined; f = tokenizer.next(true)) rows.push(...rowsOf(f, width))
  return rows
}

/** Seeded numbers in [0, 1). */
const random = (seed: number) => {
  const next = makeRandom(seed)
  return () => next() / 4294967296
}

const dialects: Array<{ name: string; dialect: CsvDialect; eol: ReadonlyArray<string> }> = [
  { name: "comma, doubled quotes, LF and CRLF", dialect: { delimiter: ",", quote: "\"", escape: "\"", newline: "\n" }, eol: ["\n", "\r\n"] },
  { name: "semicolon, CRLF", dialect: { delimiter: ";", quote: "\"", escape: "\"", newline: "\n" }, eol: ["\r\n"] },
  { name: "tab, backslash escapes", dialect: { delimiter: "\t", quote: "\"", escape: "\\", newline: "\n" }, eol: ["\n"] },
  { name: "pipe, single quotes", dialect: { delimiter: "|", quote: "'", escape: "'", newline: "\n" }, eol: ["\n"] },
  { name: "comma, no quoting", dialect: { delimiter: ",", quote: "", escape: "", newline: "\n" }, eol: ["\n"] },
  { name: "comma, CR line ends", dialect: { delimiter: ",", quote: "\"", escape: "\"", newline: "\r" }, eol: ["\r"] }
]

/** A file of tricky records in `dialect`: quotes, escapes, line breaks in fields, short, long and blank records, non-ASCII text. */
const trickyCsv = (seed: number, dialect: CsvDialect, eols: ReadonlyArray<string>, width: number) => {
  const r = random(seed)
  const pick = <T>(xs: ReadonlyArray<T>): T => xs[Math.floor(r() * xs.length)]!
  const q = dialect.quote
  const d = dialect.delimiter
  const field = (): string => {
    const plain = pick(["", "42", "-7", "3.14", "NULL", "N/A", " NA ", "2024-01-02", "é漢😀", "a b", "x\"y", "O'Brien", "\r"])
    if (q === "") return plain.replace(/[\r\n]/g, "")
    switch (Math.floor(r() * 8)) {
      case 0:
        return `${q}${plain}${d}${pick(eols)}more${q}`
      case 1:
        return dialect.escape === "\\" ? `${q}a\\${q}b\\\\c${q}` : `${q}a${q}${q}b${q}${q}${q}`
      case 2:
        return `${q}${q}`
      case 3:
        return `${q}quoted${q}trailing`
      default:
        return plain.replace(/[\r\n]/g, "").replaceAll(q, "")
    }
  }
  let text = ""
  for (let i = 0; i < 60; i++) {
    const kind = r()
    if (kind < 0.05) text += pick(eols)
    else {
      const count = kind < 0.15 ? 1 + Math.floor(r() * (width - 1)) : kind < 0.25 ? width + 1 + Math.floor(r() * 2) : width
      const fields: Array<string> = []
      for (let j = 0; j < count; j++) fields.push(field())
      text += fields.join(d) + pick(eols)
    }
  }
  // Sometimes the last record has no line end.
  return r() < 0.5 ? text.slice(0, text.length - (text.endsWith("\r\n") ? 2 : 1)) : text
}

describe("CSV read from bytes", () => {
  for (const { name, dialect, eol } of dialects) {
    it(`sees the same records as the text tokenizer (${name}), whatever the chunks`, () => {
      for (let seed = 1; seed <= 25; seed++) {
        const width = 2 + (seed % 4)
        const header = seed % 3 === 0
        const text = trickyCsv(seed, dialect, eol, width)
        const expected = viaText(text, dialect, width, header)
        expect(expected.length).toBeGreaterThan(10)
        for (const chunk of [1, 2, 3, 7, 64, 1 << 20]) {
          const context = `seed ${seed}, chunks of ${chunk}: ${JSON.stringify(text)}`
          let rows: ReturnType<typeof viaBytes>
          try {
            rows = viaBytes(text, dialect, width, header, chunk)
          } catch (error) {
            throw new Error(`${context}: ${(error as Error).message}`)
          }
          expect(rows, context).toEqual(expected)
        }
      }
    })
  }

  it("refuses a file that ends inside a quoted field", () => {
    const dialect = dialects[0]!.dialect
    expect(() => viaBytes("a,b\n1,\"open", dialect, 2, true, 4)).toThrow(/ends inside a quoted field/)
  })

  it("refuses a field over the limit, and text that is not UTF-8", () => {
    const dialect = dialects[0]!.dialect
    const small = { maxFieldChars: 10, maxRecordChars: 100 }
    const tokenizer = new CsvByteTokenizer(dialect, 2, 8, small, false)
    tokenizer.push(Buffer.from(`1,${"x".repeat(31)}\n`))
    expect(() => tokenizer.next(true)).toThrow(/field is larger/)
    const latin1 = new CsvByteTokenizer(dialect, 2, 8, limits, false)
    latin1.push(Buffer.from([0x61, 0x2c, 0xe9, 0x0a]))
    expect(() => latin1.next(true)).toThrow(/not valid utf-8/)
  })

  it("a first reading counts an unfinished record's characters as its bytes come, refusing it only past the limit", () => {
    const dialect = dialects[0]!.dialect
    const small = { maxFieldChars: 1000, maxRecordChars: 100 }
    // 3 bytes, 1 character each: 150 bytes of 50 characters stay within 100 characters.
    const within = new CsvByteTokenizer(dialect, 2, 8, small, false, 0, { headerRecords: 0 })
    const record = Buffer.from(`1,"${"€".repeat(48)}"\n`)
    for (let at = 0; at < record.length; at += 7) {
      within.push(record.subarray(at, at + 7))
      while (within.next(false) !== undefined);
    }
    expect(within.next(true)).toBeUndefined()
    // The same in 7-byte pieces, but 120 characters: refused once they are counted, naming its line.
    const beyond = new CsvByteTokenizer(dialect, 2, 8, small, false, 0, { headerRecords: 0 })
    const long = Buffer.from(`1,x\n2,"${"€".repeat(120)}"\n`)
    expect(() => {
      for (let at = 0; at < long.length; at += 7) {
        beyond.push(long.subarray(at, at + 7))
        while (beyond.next(false) !== undefined);
      }
    }).toThrow(/record starting on line 2 is larger than/)
  })

  it("counts the same lines, short and long records and header rows on a first reading", () => {
    for (const { name, dialect, eol } of dialects) {
      for (let seed = 1; seed <= 25; seed++) {
        const width = 2 + (seed % 4)
        const headerRecords = seed % 3
        const text = trickyCsv(seed, dialect, eol, width)
        const textual = new CsvTokenizer(dialect, width, 5, limits, headerRecords, 1)
        const out: Array<ColumnarBatch> = []
        textual.feed(text, out)
        textual.end(out)
        const expected = {
          headerRows: textual.headerRows,
          line: textual.line,
          rowsWithExtraFields: textual.rowsWithExtraFields,
          firstExtraFieldsLine: textual.firstExtraFieldsLine,
          rowsWithMissingFields: textual.rowsWithMissingFields
        }
        const bytes = Buffer.from(text, "utf8")
        for (const chunk of [3, 64, 1 << 20]) {
          const tokenizer = new CsvByteTokenizer(dialect, width, 5, limits, 1, 0, { headerRecords })
          for (let at = 0; at < bytes.length; at += chunk) {
            tokenizer.push(bytes.subarray(at, at + chunk))
            while (tokenizer.next(false) !== undefined);
          }
          while (tokenizer.next(true) !== undefined);
          expect(tokenizer.counted, `${name}, seed ${seed}, chunks of ${chunk}: ${JSON.stringify(text)}`).toEqual(expected)
        }
      }
    }
  })

  it("reads every date and timestamp from the bytes as the text grammar does, and refuses the same impossible ones", () => {
    const dateOf = (text: string) => plainDateOfField(Buffer.from(text), 0, text.length, ORDER_YMD)
    const timestampOf = (text: string) => plainTimestampOfField(Buffer.from(text), 0, text.length, ORDER_YMD, text.endsWith("Z"))
    // Every day from 1850 to 2250: leap years, centuries, both sides of 1970.
    for (let days = -43_829; days <= 102_272; days++) {
      const text = formatDate(days)
      expect(dateOf(text), text).toBe(days)
      if (days % 97 === 0) expect(timestampOf(`${text}T23:59:59.5Z`), text).toBe(days * 86_400_000_000 + 86_399_500_000)
    }
    const impossible = [
      "1900-02-29", "2100-02-29", "2199-02-29", "2023-02-29", "2024-02-30", "2024-04-31", "2024-06-31", "2024-09-31", "2024-11-31",
      "2024-00-10", "2024-13-01", "2024-01-00", "2024-01-32", "2024-99-99", "2024-1a-01", "2024-01-0x", "0000-01-01", "20x4-01-01"
    ]
    for (const text of impossible) {
      expect(dateOf(text), text).toBe(dateFromText(text, ORDER_YMD))
      expect(dateOf(text), text).toBeUndefined()
      expect(timestampOf(`${text} 00:00:00`), text).toBeUndefined()
    }
    for (const text of ["2000-02-29", "1904-02-29", "2196-02-29", "2024-12-31", "1900-01-01", "2199-12-31", "0001-01-01", "9999-12-31"]) {
      expect(dateOf(text), text).toBe(dateFromText(text, ORDER_YMD))
      // Beyond about ±285 years of 1970 the microseconds are no safe integer: the bytes leave them to the text grammar.
      const micros = timestampMicrosFromText(`${text}T00:00:00`, ORDER_YMD, false)
      expect(timestampOf(`${text}T00:00:00`), text).toBe(typeof micros === "bigint" ? undefined : micros)
    }
  })

  it("infers the same column types from the bytes as from the text", () => {
    const dialect = dialects[0]!.dialect
    const spellings = [
      "", "NULL", " null ", "NA", "N/A", "0", "-0", "7", "-42", "+3", "007", "123456789012345", "1234567890123456",
      "-999999999999999", "9223372036854775807", "9223372036854775808", "0.5", "-0.05", "0.000", "3.14", "12345678901234.5",
      "1234567890123.45678", "123456789012345678", "-100000000000000000", "1234567890123456789", "0.1234567890123456789",
      "-12345678901234567890.123456789012345", "1.", ".5", "1e5", "-2.5E-3", "NaN", "Infinity", "-Infinity", "true", "false", "TRUE", " False",
      "yes", "2024-01-02", "2024-02-30", "0000-01-01", "2024-1-2", "02/01/2024", "13.01.2024", "2024-01-02T03:04:05",
      "2024-01-02 03:04:05.123456", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.1234567", "2024-01-02T24:00:00",
      "2024-01-02T03:04:05+02:00", "2024-01-02 03:04 PM", "2024-01-02T03:04:05 UTC", "1700-01-01T00:00:00Z", "é", "漢字",
      "x\"y", "a,b", "2024-01-02x", "-", "--1", "1-2"
    ]
    const r = random(7)
    const pick = <T>(xs: ReadonlyArray<T>): T => xs[Math.floor(r() * xs.length)]!
    const quoted = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll("\"", "\"\"")}"` : v)
    for (let round = 0; round < 300; round++) {
      // Each column draws from a few spellings, so that some columns keep one type and others mix.
      const width = 4
      const choices = Array.from({ length: width }, () => Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(spellings)))
      const rows = Array.from({ length: 1 + Math.floor(r() * 12) }, () => choices.map((c) => pick(c)))
      const text = rows.map((row) => row.map(quoted).join(",")).join("\n") + "\n"
      const expected = choices.map(() => new ColumnInference(true))
      for (const row of rows) row.forEach((v, j) => expected[j]!.observeText(v))
      const actual = choices.map(() => new ColumnInference(true))
      const tokenizer = new CsvByteTokenizer(dialect, width, 5, limits, 0, 0, { headerRecords: 0 })
      tokenizer.push(Buffer.from(text, "utf8"))
      for (let f = tokenizer.next(true); f !== undefined; f = tokenizer.next(true)) actual.forEach((c, j) => c.observeFields(f, j))
      for (let j = 0; j < width; j++) {
        expect(actual[j]!.state(), `column ${JSON.stringify(rows.map((row) => row[j]))}`).toEqual(expected[j]!.state())
        expect(actual[j]!.result(rows.length), `column ${JSON.stringify(rows.map((row) => row[j]))}`).toEqual(expected[j]!.result(rows.length))
      }
    }
  })
})
