/**
 * CSV parser candidates on a generated file; prints rows/s and MB/s.
 *
 *   npx tsx tests/bench/csv-parsers.bench.ts [megabytes=100]
 *
 * Candidates: papaparse (string chunks, row arrays), a byte-level tokenizer over Buffers
 * (per-field UTF-8 decoding), csv-parse when installed, the string tokenizer of
 * packages/adapters/src/formats/csv/text-tokenizer.ts (column-major batches, what profiles use) and
 * the byte tokenizer of csv/byte-tokenizer.ts (field positions, no strings; what imports use). Then the real
 * pipeline: profile (tokenize + infer) and read (tokenize + coerce), in process and through the
 * worker pool (batches cross to the main thread).
 */
import { createReadStream, createWriteStream, existsSync, statSync } from "node:fs"
import { once } from "node:events"
import { tmpdir } from "node:os"
import path from "node:path"
import Papa from "papaparse"
import { Effect, Stream } from "effect"
import { readCsvFields } from "../../packages/adapters/src/formats/csv/byte-tokenizer.ts"
import { CsvTokenizer } from "../../packages/adapters/src/formats/csv/text-tokenizer.ts"
import { defaultTextLimits } from "../../packages/adapters/src/formats/limits.ts"
import { readText } from "../../packages/adapters/src/formats/text-encoding.ts"
import { makeFormatReader } from "../../packages/adapters/src/formats/index.ts"
import type { ColumnarBatch } from "../../packages/adapters/src/formats/types.ts"

const megabytes = Number(process.argv[2] ?? 100)
const file = path.join(tmpdir(), `ingest-csv-bench-${megabytes}mb.csv`)

/** Deterministic rows (LCG), ~100 bytes each, some quoted fields with commas and quotes. */
const generate = async () => {
  if (existsSync(file) && statSync(file).size >= megabytes * 1e6) return
  const out = createWriteStream(file)
  let seed = 42
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
  const cities = ["Berlin", "Paris", "\"Rome, Italy\"", "Zürich", "São Paulo", "\"New \"\"York\"\"\"", "Oslo"]
  out.write("id,name,amount,ratio,day,at,active,city,qty,note\n")
  let written = 0
  let id = 0
  while (written < megabytes * 1e6) {
    let chunk = ""
    for (let k = 0; k < 10_000; k++) {
      id++
      const day = 1 + Math.floor(rand() * 28)
      const line = `${id},name_${Math.floor(rand() * 100000)},${(rand() * 10000).toFixed(2)},${(rand() * 1e6).toExponential(4)},` +
        `2024-03-${day < 10 ? "0" + day : day},2024-03-${day < 10 ? "0" + day : day} 12:${10 + Math.floor(rand() * 49)}:00,` +
        `${rand() < 0.5 ? "true" : "false"},${cities[Math.floor(rand() * cities.length)]},${Math.floor(rand() * 1000)},` +
        `${rand() < 0.1 ? "" : "some free text " + Math.floor(rand() * 1e6)}\n`
      chunk += line
    }
    written += Buffer.byteLength(chunk)
    if (!out.write(chunk)) await once(out, "drain")
  }
  out.end()
  await once(out, "finish")
}

const time = async (name: string, run: () => Promise<number>) => {
  if (global.gc) global.gc()
  const start = performance.now()
  const rows = await run()
  const seconds = (performance.now() - start) / 1000
  const mb = statSync(file).size / 1e6
  console.log(
    `${name.padEnd(42)} ${String(rows).padStart(9)} rows  ${seconds.toFixed(2).padStart(6)} s  ` +
      `${Math.round(rows / seconds).toLocaleString("en").padStart(11)} rows/s  ${(mb / seconds).toFixed(0).padStart(4)} MB/s`
  )
}

const papaparse = () =>
  new Promise<number>((resolve, reject) => {
    let rows = 0
    Papa.parse(createReadStream(file, { encoding: "utf8", highWaterMark: 1 << 20 }) as unknown as File, {
      chunk: (results: Papa.ParseResult<Array<string>>) => {
        rows += results.data.length
      },
      complete: () => resolve(rows - 1),
      error: reject
    })
  })

/** Byte-level tokenizer: scans bytes, decodes each field with Buffer#toString. */
const byteTokenizer = async () => {
  let rows = 0
  let carry: Buffer = Buffer.alloc(0)
  const fields: Array<string> = []
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk
    let pos = 0
    let recordStart = 0
    const n = buf.length
    outer: while (pos < n) {
      recordStart = pos
      fields.length = 0
      for (;;) {
        if (buf[pos] === 34) {
          let p = pos + 1
          let value = ""
          for (;;) {
            const q = buf.indexOf(34, p)
            if (q === -1 || q + 1 >= n) break outer
            if (buf[q + 1] === 34) {
              value += buf.toString("utf8", p, q + 1)
              p = q + 2
              continue
            }
            value += buf.toString("utf8", p, q)
            pos = q + 1
            break
          }
          fields.push(value)
        } else {
          let e = pos
          while (e < n && buf[e] !== 44 && buf[e] !== 10) e++
          if (e >= n) break outer
          fields.push(buf.toString("utf8", pos, e))
          pos = e
        }
        if (buf[pos] === 44) {
          pos++
          continue
        }
        pos++
        break
      }
      rows++
      recordStart = pos
    }
    carry = buf.subarray(recordStart)
  }
  return rows - 1
}

const csvParseSpecifier = "csv-parse"
const csvParseModule = (await import(csvParseSpecifier).catch(() => undefined)) as
  | { parse: (options: object) => NodeJS.ReadWriteStream }
  | undefined

const csvParse = async (): Promise<number> => {
  let rows = 0
  const parser = createReadStream(file).pipe(csvParseModule!.parse({}))
  for await (const _ of parser as AsyncIterable<unknown>) rows++
  return rows - 1
}

const stringTokenizer = async () => {
  const dialect = { delimiter: ",", quote: '"', escape: '"', newline: "\n" as const }
  const tokenizer = new CsvTokenizer(dialect, 10, 8192, defaultTextLimits, true)
  const out: Array<ColumnarBatch> = []
  let rows = 0
  for await (const text of readText(file, "utf-8")) {
    tokenizer.feed(text, out)
    for (const b of out) rows += b.length
    out.length = 0
  }
  tokenizer.end(out)
  for (const b of out) rows += b.length
  return rows
}

const fieldPositions = async () => {
  const csv = { encoding: "utf-8", encodingGuessed: true, delimiter: ",", quote: '"', escape: '"', newline: "\n", header: true, columns: 10 } as const
  let rows = 0
  for await (const fields of readCsvFields(file, csv, undefined, { limits: defaultTextLimits, batchRows: 8192 })) rows += fields.length
  return rows
}

const pipeline = async (inProcess: boolean) => {
  const reader = makeFormatReader({ inProcess })
  const label = inProcess ? "in process" : "workers"
  let profile: Awaited<ReturnType<typeof Effect.runPromise<import("@ingest/domain").FileProfile, unknown>>> | undefined
  await time(`profile (${label})`, async () => {
    profile = await Effect.runPromise(reader.profile(file, "csv", {}))
    return profile.totalRows
  })
  console.log("  inferred:", profile!.columns.map((c) => `${c.name}:${c.type}${c.type === "DECIMAL" ? `(${c.precision},${c.scale})` : ""}`).join(" "))
  await time(`read, inferred types (${label})`, async () => {
    let rows = 0
    await Effect.runPromise(Stream.runForEach(reader.read(file, "csv", profile!, profile!.columns), (b) => Effect.sync(() => (rows += b.length))))
    return rows
  })
  await reader.close()
}

await generate()
console.log(`file: ${file} (${(statSync(file).size / 1e6).toFixed(0)} MB)`)
await time("papaparse (string chunks, row arrays)", papaparse)
await time("byte tokenizer (Buffer, per-field decode)", byteTokenizer)
if (csvParseModule === undefined) console.log("csv-parse: not installed, skipped")
else await time("csv-parse", csvParse)
await time("string tokenizer (csv/text-tokenizer.ts)", stringTokenizer)
await time("byte tokenizer (csv/byte-tokenizer.ts, positions)", fieldPositions)
await pipeline(true)
await pipeline(false)
