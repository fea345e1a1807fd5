import { once } from "node:events"
import { createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import * as Path from "node:path"

/**
 * A deterministic CSV for import benchmarks: the same seed and size always give the same bytes,
 * so a file generated once is reused (a JSON sidecar records what it holds).
 *
 * Columns cover what inference and coercion must handle: integers, DECIMAL(12,2), DATE, naive and
 * zoned timestamps, booleans, low- and high-cardinality strings, quoted fields holding commas,
 * escaped quotes (`""`) and line breaks, and empty fields (nulls) in several columns.
 */

/** Bumped whenever the generated content changes, so older cached files are not reused. */
const generatorVersion = 2

export const fixtureHeader = [
  "id", "quantity", "amount", "discount", "order_date", "created_at", "updated_at", "active", "country",
  "customer", "note"
] as const

export interface CsvFixture {
  readonly path: string
  readonly bytes: number
  readonly rows: number
  readonly seed: number
  readonly targetBytes: number
  readonly reused: boolean
  readonly generateMs: number
}

/** mulberry32: a small, fast, seeded PRNG returning uint32. */
export const makeRandom = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

const firstNames = ["Anna", "Bob", "Chloé", "Dmitri", "Eve", "François", "Grace", "Hiro", "Inès", "José", "Kai", "Léa"]
const lastNames = ["Smith", "O'Brien", "Müller", "García", "Nguyen", "Kowalski", "Rossi", "Dubois", "Tanaka", "Silva"]
const countries = ["US", "FR", "DE", "JP", "BR", "IN", "GB", "ES", "IT", "CA", "MX", "NL"]
const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"]

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n))

/** ISO-8601 UTC text (`YYYY-MM-DDTHH:MM:SS.mmmZ`) of epoch milliseconds; cut to a date or a naive timestamp where needed. */
const isoOf = (ms: number) => new Date(ms).toISOString()

const row = (id: number, next: () => number): string => {
  const r = next
  const nullIf = (percent: number) => r() % 100 < percent
  const quantity = nullIf(5) ? "" : String(r() % 10_000)
  // DECIMAL(12,2): up to 10 integer digits, always two decimals, some negative.
  const whole = (r() % 100_000) * 100_000 + (r() % 100_000)
  const cents = r() % 100
  const amount = nullIf(4) ? "" : `${r() % 10 === 0 ? "-" : ""}${whole}.${pad2(cents)}`
  const discount = nullIf(30) ? "" : `0.${pad2(r() % 100)}`
  const base = Date.UTC(2015, 0, 1) + (r() % 3_650) * 86_400_000
  const orderDate = nullIf(6) ? "" : isoOf(base).slice(0, 10)
  const createdMs = base + (r() % 86_400) * 1000
  const createdIso = isoOf(createdMs)
  const createdAt = nullIf(3) ? "" : r() % 4 === 0 ? `${createdIso.slice(0, 10)} ${createdIso.slice(11, 19)}.${String(r() % 1_000_000).padStart(6, "0")}` : `${createdIso.slice(0, 10)} ${createdIso.slice(11, 19)}`
  const updatedAt = nullIf(10) ? "" : isoOf(createdMs + (r() % 1_000_000) * 1000)
  const active = nullIf(2) ? "" : r() % 2 === 0 ? "true" : "false"
  const country = countries[r() % countries.length]!
  const first = firstNames[r() % firstNames.length]!
  const last = lastNames[r() % lastNames.length]!
  // Quoted with a comma inside; one in eight also holds an escaped quote (a nickname).
  const customer = r() % 8 === 0 ? `"${last}, ${first} ""${first.slice(0, 2)}${id % 97}"""` : `"${last}, ${first}"`
  let note: string
  const noteKind = r() % 20
  if (noteKind < 3) note = ""
  else if (noteKind === 3) note = `"multi-line note ${id}\nsecond line, with comma"`
  else {
    const n = 2 + (r() % 6)
    const parts: Array<string> = []
    for (let i = 0; i < n; i++) parts.push(words[r() % words.length]!)
    note = `${parts.join(" ")} #${(r() % 0xffffff).toString(16)}`
  }
  return `${id},${quantity},${amount},${discount},${orderDate},${createdAt},${updatedAt},${active},${country},${customer},${note}\n`
}

/** Writes (or reuses) the CSV in `dir`; `targetBytes` is reached by whole rows, header included. */
export const ensureCsvFixture = async (dir: string, targetBytes: number, seed: number): Promise<CsvFixture> => {
  if (!Number.isSafeInteger(targetBytes) || targetBytes < 1024 || targetBytes > 64 * 1024 ** 3) {
    throw new Error(`CSV size must be between 1 KiB and 64 GiB, got ${targetBytes} bytes`)
  }
  const base = Path.join(dir, `ingest-import-bench-v${generatorVersion}-${targetBytes}b-seed${seed}`)
  const path = `${base}.csv`
  const metaPath = `${base}.json`
  if (existsSync(path) && existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, "utf8")) as { bytes: number; rows: number }
    if (statSync(path).size === meta.bytes) return { path, bytes: meta.bytes, rows: meta.rows, seed, targetBytes, reused: true, generateMs: 0 }
  }
  const started = performance.now()
  const partial = `${path}.partial`
  const out = createWriteStream(partial)
  const next = makeRandom(seed)
  let bytes = 0
  let rows = 0
  let pending = `${fixtureHeader.join(",")}\n`
  let pendingBytes = Buffer.byteLength(pending)
  try {
    while (bytes + pendingBytes < targetBytes) {
      rows += 1
      const line = row(rows, next)
      pending += line
      pendingBytes += Buffer.byteLength(line)
      if (pendingBytes >= 1 << 20) {
        if (!out.write(pending)) await once(out, "drain")
        bytes += pendingBytes
        pending = ""
        pendingBytes = 0
      }
    }
    bytes += pendingBytes
    out.end(pending)
    await once(out, "finish")
  } catch (error) {
    out.destroy()
    rmSync(partial, { force: true })
    throw error
  }
  renameSync(partial, path)
  writeFileSync(metaPath, JSON.stringify({ bytes, rows, seed, generatorVersion }))
  return { path, bytes, rows, seed, targetBytes, reused: false, generateMs: performance.now() - started }
}
