import { cellsOf } from "@ingest/domain"
import { Effect, Stream } from "effect"
import { existsSync, openSync, writeSync, closeSync } from "node:fs"
import { afterAll, describe, expect, it } from "vitest"
import { makeFormatReader } from "../../packages/adapters/src/formats/index.ts"
import { failureOf, profileOf, scratchDir } from "./profile-helpers.ts"

/**
 * Hostile inputs go through the real worker pool: each must end as UnreadableFile with a clear
 * message, and the reader (and this process) must keep working afterwards.
 */
const dir = scratchDir("hostile")
const reader = makeFormatReader({ maxWorkers: 2 })
const small = dir.file("small.csv", "a,b\n1,x\n2,y\n")
afterAll(async () => {
  await reader.close()
  dir.cleanup()
})

const stillWorks = async (r = reader) => {
  const profile = await profileOf(r, small, "csv")
  expect(profile.totalRows).toBe(2)
}

/** Writes `prefix`, then `bytes` of `fill`, then `suffix`, without holding it all in memory. */
const bigFile = (name: string, prefix: string, fill: string, bytes: number, suffix: string) => {
  const path = dir.path(name)
  const fd = openSync(path, "w")
  writeSync(fd, prefix)
  const block = Buffer.alloc(1 << 20, fill)
  for (let written = 0; written < bytes; written += block.length) writeSync(fd, block)
  writeSync(fd, suffix)
  closeSync(fd)
  return path
}

describe("hostile files", () => {
  it("refuses JSON nested deeper than 64 levels", async () => {
    const file = dir.file("deep.json", '{"a":' + "[".repeat(100_000) + "]".repeat(100_000) + "}")
    const error = await failureOf(reader.profile(file, "json", {}))
    expect(error.kind).toBe("corrupt")
    expect(error.reason).toMatch(/nesting deeper than 64 levels/)
    await stillWorks()
  })

  it("refuses a 100 MB single CSV field", async () => {
    const file = bigFile("field.csv", "a,b\n1,\"", "x", 100 << 20, "\"\n")
    const error = await failureOf(reader.profile(file, "csv", {}))
    expect(error.kind).toBe("too-large")
    expect(error.reason).toMatch(/larger than 16 MiB|larger than 32 MiB/)
    await stillWorks()
  })

  it("refuses a 100 MB line without delimiters", async () => {
    const file = bigFile("line.csv", "a\n", "y", 100 << 20, "\n")
    const error = await failureOf(reader.profile(file, "csv", {}))
    expect(error.kind).toBe("too-large")
    await stillWorks()
  })

  it("refuses truncated files", async () => {
    const json = dir.file("truncated.json", '[{"a":1},{"a":2},{"a":')
    expect((await failureOf(reader.profile(json, "json", {}))).reason).toMatch(/unexpected end of input/)
    const csv = dir.file("truncated.csv", 'a,b\n1,"open quote\n2,x\n')
    expect((await failureOf(reader.profile(csv, "csv", {}))).reason).toMatch(/unterminated quoted field/)
    await stillWorks()
  })

  it("stops a parser that outgrows its memory cap with too-large, and keeps working", async () => {
    const tight = makeFormatReader({ maxWorkers: 1, maxOldGenerationSizeMb: 64, maxFieldChars: 1 << 30, maxRecordChars: 1 << 30 })
    try {
      const file = bigFile("oom.csv", "a\n\"", "z", 300 << 20, "\"\n")
      const error = await failureOf(tight.profile(file, "csv", {}))
      expect(error.kind).toBe("too-large")
      expect(error.reason).toMatch(/memory/)
      await stillWorks(tight)
    } finally {
      await tight.close()
    }
  })

  it("ends a profile that runs over its time cap, and keeps working", async () => {
    const slow = makeFormatReader({ maxWorkers: 1, profileTimeoutMs: 100 })
    try {
      // 64 MiB of records: far more than a profile reads in 100 ms.
      const file = bigFile("slow.csv", "a,b,c\n", "1,text,2024-01-01\n", 64 << 20, "")
      const error = await failureOf(slow.profile(file, "csv", {}))
      expect(error.kind).toBe("too-large")
      expect(error.reason).toMatch(/took longer than/)
      await stillWorks(slow)
    } finally {
      await slow.close()
    }
  })

  it("reads a spreadsheet that declares a huge range from its real cells", async () => {
    const xlsxModule = new URL("../../packages/adapters/src/formats/spreadsheet/reader.ts", import.meta.url)
    if (!existsSync(xlsxModule)) {
      console.warn("hostile.test.ts: xlsx reader not present, huge-range case skipped")
      return
    }
    // A small workbook whose sheet declares the largest possible range (A1:XFD1048576).
    const XLSX = await import("@e965/xlsx")
    const book = XLSX.utils.book_new()
    XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet([["name", "n"], ["a", 1]]), "Sheet1")
    const zip = XLSX.CFB.read(XLSX.write(book, { type: "buffer", bookType: "xlsx" }) as Buffer, { type: "buffer" })
    const entry = zip.FileIndex[zip.FullPaths.findIndex((p: string) => p.endsWith("worksheets/sheet1.xml"))]!
    const xml = Buffer.from(entry.content as Uint8Array).toString("utf8")
    entry.content = Buffer.from(xml.replace(/<dimension ref="[^"]*"\/>/, '<dimension ref="A1:XFD1048576"/>'))
    const file = dir.file("huge-range.xlsx", XLSX.CFB.write(zip, { fileType: "zip", type: "buffer" }) as Buffer)
    const result = await Effect.runPromise(Effect.result(reader.profile(file, "xlsx", {})))
    if (result._tag === "Success") {
      expect(result.success.totalRows).toBe(1)
      expect(result.success.columns.map((c) => c.name)).toEqual(["name", "n"])
    } else {
      expect(result.failure.reason.length).toBeGreaterThan(0)
    }
    await stillWorks()
  })

  it("lets a consumer stop a read early and reuses the worker", async () => {
    const file = dir.file("long.csv", "n\n" + Array.from({ length: 50_000 }, (_, i) => String(i)).join("\n") + "\n")
    const profile = await profileOf(reader, file, "csv")
    const first = await Effect.runPromise(Stream.runCollect(Stream.take(reader.read(file, "csv", profile, profile.columns), 1)))
    expect(first).toHaveLength(1)
    expect(cellsOf(first[0]!.columns[0]!).slice(0, 3)).toEqual([0, 1, 2])
    let rows = 0
    await Effect.runPromise(Stream.runForEach(reader.read(file, "csv", profile, profile.columns), (b) => Effect.sync(() => (rows += b.length))))
    expect(rows).toBe(50_000)
    await stillWorks()
  })

  it("keeps a __proto__ column across the worker boundary", async () => {
    const file = dir.file("proto.csv", "__proto__,b\n1,2\n")
    const profile = await profileOf(reader, file, "csv")
    const row = profile.previewRows[0]!
    expect(Object.getPrototypeOf(row)).toBeNull()
    expect(row["__proto__"]).toBe(1)
    expect(Object.keys(row)).toEqual(["__proto__", "b"])
  })

  it("runs profiles of several files at once", async () => {
    const files = Array.from({ length: 6 }, (_, i) => dir.file(`many${i}.csv`, `a,b\n${i},x\n`))
    const profiles = await Promise.all(files.map((f) => profileOf(reader, f, "csv")))
    expect(profiles.map((p) => p.previewRows[0]!["a"])).toEqual([0, 1, 2, 3, 4, 5])
  })
})
