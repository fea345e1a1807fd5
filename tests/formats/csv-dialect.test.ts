import { afterAll, describe, expect, it } from "vitest"
import { CsvTokenizer } from "../../packages/adapters/src/formats/csv/text-tokenizer.ts"
import { defaultTextLimits } from "../../packages/adapters/src/formats/limits.ts"
import { makeFormatReader } from "../../packages/adapters/src/formats/index.ts"
import type { ColumnarBatch } from "../../packages/adapters/src/formats/types.ts"
import { profileOf, readRows, scratchDir } from "./profile-helpers.ts"

const dir = scratchDir("csv-dialect")
const reader = makeFormatReader({ inProcess: true })
afterAll(async () => {
  await reader.close()
  dir.cleanup()
})

const profileText = (name: string, content: string | Uint8Array) => profileOf(reader, dir.file(name, content), "csv")

describe("CSV dialect detection", () => {
  it.each([
    [",", "id,name,city\n1,Ann,Oslo\n2,Bob,Rome\n"],
    [";", "id;name;city\n1;Ann;\"Oslo; NO\"\n2;Bob;Rome\n"],
    ["\t", "id\tname\tcity\n1\tAnn\tOslo, NO\n2\tBob\tRome\n"],
    ["|", "id|name|city\n1|Ann|Oslo\n2|Bob|Rome\n"]
  ])("finds the delimiter %j", async (delimiter, content) => {
    const profile = await profileText(`d${delimiter.charCodeAt(0)}.csv`, content)
    expect(profile.readOptions["delimiter"]).toBe(delimiter)
    expect(profile.columns.map((c) => c.name)).toEqual(["id", "name", "city"])
    expect(profile.totalRows).toBe(2)
  })

  it("prefers the delimiter that splits records consistently, not a one-column reading", async () => {
    const profile = await profileText("ragged.csv", "a,b,c,d\n1,2,3,4\n1,2,3,4,5\n1,2,3\n1,2,3,4\n")
    expect(profile.readOptions["delimiter"]).toBe(",")
    expect(profile.columns.map((c) => c.name)).toEqual(["a", "b", "c", "d"])
    expect(profile.totalRows).toBe(4)
    expect(profile.readOptions["rowsWithExtraFields"]).toBe(1)
    expect(profile.readOptions["firstLineWithExtraFields"]).toBe(3)
    expect(profile.readOptions["rowsWithMissingFields"]).toBe(1)
  })

  it("detects single-quote quoting", async () => {
    const profile = await profileText("single.csv", "name,qty\n'Smith, John',1\n'Doe, Jane',2\n")
    expect(profile.readOptions["quote"]).toBe("'")
    const rows = await readRows(reader, dir.path("single.csv"), profile)
    expect(rows).toEqual([["Smith, John", 1], ["Doe, Jane", 2]])
  })

  it("keeps double-quoted fields with commas whole when no other quote opens a field", async () => {
    // A single quote never opens a field here, so its reading (9 fields in every record, as
    // consistent as the real 7) must not win on field count.
    const rows = Array.from({ length: 200 }, (_, i) => `${i + 1},"Rome, Grace",12.5,2023-02-04,"said ""foxtrot"" twice, then golf"`)
    const profile = await profileText("quoted-commas.csv", `id,customer,amount,day,comment\n${rows.join("\n")}\n`)
    expect(profile.columns.map((c) => c.name)).toEqual(["id", "customer", "amount", "day", "comment"])
    expect(profile.previewRows[0]).toMatchObject({ customer: "Rome, Grace", comment: 'said "foxtrot" twice, then golf' })
  })

  it("detects backslash-escaped quotes", async () => {
    const profile = await profileText("backslash.csv", '123|TEST7|text1\n345|TEST7|"text\\"2\\""\n567|TEST7|text3\n')
    expect(profile.readOptions["escape"]).toBe("\\")
    const rows = await readRows(reader, dir.path("backslash.csv"), profile)
    expect(rows[1]).toEqual([345, "TEST7", 'text"2"'])
  })

  it("keeps RFC 4180 doubled quotes and quoted newlines", async () => {
    const content = 'id,text\n1,"say ""hi""\nnext line"\n2,plain\n'
    const profile = await profileText("rfc.csv", content)
    expect(profile.totalRows).toBe(2)
    const rows = await readRows(reader, dir.path("rfc.csv"), profile)
    expect(rows).toEqual([[1, 'say "hi"\nnext line'], [2, "plain"]])
  })

  it.each([
    ["integers under a text label", "code,name\n1,a\n2,b\n", true],
    ["integers in the first row too", "1,a\n2,b\n3,c\n", false],
    ["all text columns: first row taken as header", "name,city\nAnn,Oslo\nBob,Rome\n", true],
    ["an all-empty first row", ",,\n1,a,b\n2,c,d\n", true],
    ["dates under a date label", "day,n\n2024-01-01,1\n2024-01-02,2\n", true],
    ["dates in the first row too", "2024-01-01,1\n2024-01-02,2\n", false]
  ])("header detection: %s", async (_label, content, header) => {
    const profile = await profileText(`h${content.length}.csv`, content)
    expect(profile.readOptions["header"]).toBe(header)
  })

  it("names columns of a file without header column_1, column_2, … with empty source labels", async () => {
    const profile = await profileText("noheader.csv", "1|x|2\n3|y|4\n")
    expect(profile.columns.map((c) => c.name)).toEqual(["column_1", "column_2", "column_3"])
    expect(profile.sourceLabels).toEqual(["", "", ""])
    expect(profile.totalRows).toBe(2)
  })

  it("skips blank lines and accepts CRLF and a missing final newline", async () => {
    const profile = await profileText("crlf.csv", "a,b\r\n1,x\r\n\r\n2,y\r\n\r\n3,z")
    expect(profile.totalRows).toBe(3)
    const rows = await readRows(reader, dir.path("crlf.csv"), profile)
    expect(rows).toEqual([[1, "x"], [2, "y"], [3, "z"]])
  })
})

describe("CSV encodings", () => {
  it("strips a UTF-8 BOM", async () => {
    const profile = await profileText("bom.csv", "\uFEFFid,name\r\n1,Mark\r\n")
    expect(profile.sourceLabels).toEqual(["id", "name"])
    expect(profile.readOptions["encoding"]).toBe("utf-8")
  })

  it("decodes UTF-16 LE and BE with a BOM", async () => {
    const text = "name,age\nJosé,30\nZoë,21\n"
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")])
    const be = Buffer.from(le)
    be.swap16()
    for (const [name, bytes, encoding] of [["le.csv", le, "utf-16le"], ["be.csv", be, "utf-16be"]] as const) {
      const profile = await profileText(name, bytes)
      expect(profile.readOptions["encoding"]).toBe(encoding)
      const rows = await readRows(reader, dir.path(name), profile)
      expect(rows).toEqual([["José", 30], ["Zoë", 21]])
    }
  })

  it("falls back to windows-1252 for latin-1 bytes", async () => {
    const profile = await profileText("latin1.csv", Buffer.from("name,age\nJos\xe9 \xc1lvarez,30\nM\xfcller,25\n", "latin1"))
    expect(profile.readOptions["encoding"]).toBe("windows-1252")
    const rows = await readRows(reader, dir.path("latin1.csv"), profile)
    expect(rows).toEqual([["José Álvarez", 30], ["Müller", 25]])
  })

  it("re-reads as windows-1252 when invalid UTF-8 appears after a valid head", async () => {
    const head = "id,name\n" + Array.from({ length: 60_000 }, (_, i) => `${i},plain ascii text ${i}\n`).join("")
    const bytes = Buffer.concat([Buffer.from(head), Buffer.from("60000,caf\xe9\n", "latin1")])
    expect(bytes.length).toBeGreaterThan(1 << 20)
    const profile = await profileText("late.csv", bytes)
    expect(profile.readOptions["encoding"]).toBe("windows-1252")
    expect(profile.totalRows).toBe(60_001)
    const rows = await readRows(reader, dir.path("late.csv"), profile)
    expect(rows.at(-1)).toEqual([60000, "café"])
  })
})

describe("CSV tokenizer", () => {
  const dialect = { delimiter: ",", quote: '"', escape: '"', newline: "\n" as const }
  const tokenize = (chunks: ReadonlyArray<string>, width: number, header: boolean) => {
    const tokenizer = new CsvTokenizer(dialect, width, 3, defaultTextLimits, header)
    const out: Array<ColumnarBatch> = []
    for (const chunk of chunks) tokenizer.feed(chunk, out)
    tokenizer.end(out)
    const rows: Array<Array<unknown>> = []
    for (const b of out) for (let r = 0; r < b.length; r++) rows.push(b.columns.map((c) => c![r]))
    return { rows, header: tokenizer.headerRows[0] }
  }

  it("gives the same records whatever the chunk boundaries", () => {
    const text = 'h1,h2\r\n"a,1","x ""q"" y"\r\nplain,"multi\r\nline"\r\n,\r\n"last",end'
    const whole = tokenize([text], 2, true)
    expect(whole.header).toEqual(["h1", "h2"])
    expect(whole.rows).toEqual([["a,1", 'x "q" y'], ["plain", "multi\r\nline"], ["", ""], ["last", "end"]])
    for (const size of [1, 2, 3, 5, 7]) {
      const chunks: Array<string> = []
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size))
      expect(tokenize(chunks, 2, true)).toEqual(whole)
    }
  })

  it("fails clearly on an unterminated quote", () => {
    expect(() => tokenize(['a,b\n1,"never closed\n2,x\n'], 2, true)).toThrow(/unterminated quoted field starting on line 2/)
  })
})
