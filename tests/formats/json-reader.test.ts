import { afterAll, describe, expect, it } from "vitest"
import { makeFormatReader } from "../../packages/adapters/src/formats/index.ts"
import { failureOf, profileOf, readRows, scratchDir, typeOf } from "./profile-helpers.ts"

const dir = scratchDir("json")
const reader = makeFormatReader({ inProcess: true })
afterAll(async () => {
  await reader.close()
  dir.cleanup()
})

describe("JSON and JSONL reader", () => {
  it("reads JSONL with CRLF and blank lines, keys unioned in first-seen order", async () => {
    const file = dir.file("rows.jsonl", '{"id":1,"name":"a"}\r\n\r\n{"name":"b","extra":true}\r\n{"id":3}\r\n')
    const profile = await profileOf(reader, file, "jsonl")
    expect(profile.columns.map((c) => c.name)).toEqual(["id", "name", "extra"])
    expect(profile.totalRows).toBe(3)
    expect(await readRows(reader, file, profile)).toEqual([[1, "a", null], [null, "b", true], [3, null, null]])
  })

  it("streams a top-level array of objects, and reads a single object as one row", async () => {
    const array = dir.file("array.json", '[\n  {"a": 1},\n  {"a": 2, "b": [1, {"c": null}]}\n]\n')
    const profile = await profileOf(reader, array, "json")
    expect(await readRows(reader, array, profile)).toEqual([[1, null], [2, '[1,{"c":null}]']])
    const single = dir.file("single.json", '{"a": {"b": 1}, "c": "x"}')
    const one = await profileOf(reader, single, "json")
    expect(one.totalRows).toBe(1)
    expect(one.columns.map((c) => c.type)).toEqual(["STRING", "STRING"])
    expect(await readRows(reader, single, one)).toEqual([['{"b":1}', "x"]])
  })

  it("keeps numbers exact", async () => {
    const file = dir.file("numbers.jsonl", '{"big":123456789012345678901234567890,"dec":0.1,"int":9007199254740993}\n{"big":1,"dec":2.25,"int":1}\n')
    const profile = await profileOf(reader, file, "jsonl")
    expect(typeOf(profile, "big")).toBe("DECIMAL(38,0)")
    expect(typeOf(profile, "dec")).toBe("DECIMAL(3,2)")
    expect(typeOf(profile, "int")).toBe("INTEGER")
    expect((await readRows(reader, file, profile))[0]).toEqual(["123456789012345678901234567890", "0.10", 9007199254740993n])
  })

  it("types strings only as dates or timestamps; numbers in quotes stay text", async () => {
    const file = dir.file("strings.jsonl", '{"at":"2023-02-07T19:12:28Z","zip":"007","n":"12"}\n')
    const profile = await profileOf(reader, file, "jsonl")
    expect(profile.columns.map((c) => c.type)).toEqual(["TIMESTAMP_TZ", "STRING", "STRING"])
  })

  it("gives STRING to a key whose values have different JSON types", async () => {
    const file = dir.file("mixed.jsonl", '{"id":"1"}\n{"id":2}\n{"id":[3]}\n')
    const profile = await profileOf(reader, file, "jsonl")
    expect(typeOf(profile, "id")).toBe("STRING")
    expect((await readRows(reader, file, profile)).map((r) => r[0])).toEqual(["1", "2", "[3]"])
  })

  it("decodes UTF-16 with a BOM and skips a UTF-8 BOM", async () => {
    const text = '[{"name":"Zoë"}]'
    const utf16 = dir.file("u16.json", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]))
    expect((await readRows(reader, utf16, await profileOf(reader, utf16, "json")))).toEqual([["Zoë"]])
    const bom = dir.file("bom.json", "\uFEFF" + text)
    expect((await readRows(reader, bom, await profileOf(reader, bom, "json")))).toEqual([["Zoë"]])
  })

  it("keeps the last value of a key repeated in one object", async () => {
    const file = dir.file("dup.json", '{"a":"b","a":"c"}')
    const profile = await profileOf(reader, file, "json")
    expect(profile.columns.map((c) => c.name)).toEqual(["a"])
    expect(await readRows(reader, file, profile)).toEqual([["c"]])
  })

  it.each([
    ["trailing comma", '{"id":0,}', /line 1, column 9: expected a string key/],
    ["unterminated string (JSONL)", '{"a":"x"}\n{"a":"y}\n{"a":"z"}\n', /line 2, column 9: line break inside a string/],
    ["garbage after a record", '{"a":1}\n{"a":2}TRAILER\n', /line 2, column 8: .*found character "T"/],
    ["a top-level scalar", "42", /top-level value must be an object or an array of objects/],
    ["an array of numbers", "[1, 2]", /element 1 of the top-level array is not an object/],
    ["a truncated array", '[{"a":1},{"a":2', /unexpected end of input/],
    ["bad number", '{"a":01}', /leading zero/],
    ["control character", '{"a":"x\ty"}', /control character in string/],
    ["an empty array", "[]", /no columns/],
    ["whitespace only", "  \n ", /no columns/],
    ["invalid UTF-8", Buffer.from([0x5b, 0x22, 0xff, 0x22, 0x5d]), /not valid utf-8/]
  ])("refuses %s with a clear message", async (_label, content, message) => {
    const file = dir.file(`bad-${String(_label).replace(/\W/g, "")}.json`, content)
    const error = await failureOf(reader.profile(file, "json", {}))
    expect(error.reason).toMatch(message)
  })
})
