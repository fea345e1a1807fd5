import { once } from "node:events"
import { createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import * as Path from "node:path"
import { ensureCsvFixture, makeRandom } from "./csv-fixture.ts"

/**
 * Deterministic CSV files of several shapes for the import benchmarks: the same shape, size and
 * seed always give the same bytes, so a file generated once is reused (a JSON sidecar records
 * what it holds).
 *
 * - `orders7`: 7 columns: an integer id; a quoted text holding a comma; a decimal; a date; a UTC
 *   timestamp; a status empty in 20 % of rows; a quoted text holding doubled quotes.
 * - `orders11`: the 11-column fixture of csv-fixture.ts (naive and zoned timestamps, booleans,
 *   quoted fields with line breaks).
 * - `wide`: 120 columns of integers, decimals, dates, booleans and short texts.
 * - `sparse`: 40 columns, 36 of them empty in 97 % of rows.
 * - `numeric`: 12 columns of integers (some 64-bit) and doubles, no text at all.
 */

export const shapeNames = ["orders7", "orders11", "wide", "sparse", "numeric"] as const
export type ShapeName = (typeof shapeNames)[number]

/** Bumped whenever a shape's content changes, so older cached files are not reused. */
const generatorVersion = 1

export interface ShapeFile {
  readonly shape: ShapeName
  readonly path: string
  readonly bytes: number
  readonly rows: number
  readonly columns: number
  readonly reused: boolean
  readonly generateMs: number
}

type Next = () => number

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n))
const statuses = ["NEW", "PAID", "SHIPPED", "DELIVERED", "RETURNED", "CANCELLED"]
const cities = ["Paris", "Berlin", "Tokyo", "São Paulo", "Mumbai", "London", "Madrid", "Rome", "Toronto", "Mexico"]
const names = ["Anna", "Bob", "Chloé", "Dmitri", "Eve", "François", "Grace", "Hiro", "Inès", "José", "Kai", "Léa"]
const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"]
const dayMs = 86_400_000
const epoch2015 = Date.UTC(2015, 0, 1)

const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10)

interface Generator {
  readonly header: ReadonlyArray<string>
  readonly row: (id: number, r: Next) => string
}

const orders7: Generator = {
  header: ["id", "customer", "amount", "order_date", "created_at", "status", "comment"],
  row: (id, r) => {
    const base = epoch2015 + (r() % 3650) * dayMs
    const amount = `${r() % 100_000}.${pad2(r() % 100)}`
    const status = r() % 5 === 0 ? "" : statuses[r() % statuses.length]!
    const who = names[r() % names.length]!
    return `${id},"${cities[r() % cities.length]}, ${who}",${amount},${isoDate(base)},` +
      `${new Date(base + (r() % 86_400) * 1000).toISOString()},${status},` +
      `"said ""${words[r() % words.length]}"" twice, then ${words[r() % words.length]}"\n`
  }
}

const wideColumns = 120
const wide: Generator = {
  header: Array.from({ length: wideColumns }, (_, i) => `c${String(i).padStart(3, "0")}_${["int", "dec", "date", "bool", "text"][i % 5]}`),
  row: (id, r) => {
    const cells: Array<string> = []
    for (let i = 0; i < wideColumns; i++) {
      switch (i % 5) {
        case 0:
          cells.push(i === 0 ? String(id) : String(r() % 1_000_000))
          break
        case 1:
          cells.push(`${r() % 10_000}.${pad2(r() % 100)}`)
          break
        case 2:
          cells.push(isoDate(epoch2015 + (r() % 3650) * dayMs))
          break
        case 3:
          cells.push(r() % 2 === 0 ? "true" : "false")
          break
        default:
          cells.push(words[r() % words.length]!)
      }
    }
    return `${cells.join(",")}\n`
  }
}

const sparseColumns = 40
const sparse: Generator = {
  header: ["id", "kind", "amount", "seen_at", ...Array.from({ length: sparseColumns - 4 }, (_, i) => `opt_${String(i).padStart(2, "0")}`)],
  row: (id, r) => {
    const cells = [String(id), words[r() % words.length]!, `${r() % 1000}.${pad2(r() % 100)}`, isoDate(epoch2015 + (r() % 3650) * dayMs)]
    for (let i = 4; i < sparseColumns; i++) {
      if (r() % 100 >= 3) cells.push("")
      else if (i % 3 === 0) cells.push(String(r() % 100_000))
      else if (i % 3 === 1) cells.push(`"${words[r() % words.length]}, ${words[r() % words.length]}"`)
      else cells.push(`${r() % 100}.${r() % 10}`)
    }
    return `${cells.join(",")}\n`
  }
}

const numeric: Generator = {
  header: ["id", "a", "b", "c", "d", "big", "x", "y", "z", "w", "neg", "ratio"],
  row: (id, r) => {
    const big = (BigInt(r()) << 21n) + BigInt(r() & 0x1fffff)
    return `${id},${r() % 100},${r() % 10_000},${r() % 1_000_000},${r()},${big},` +
      `${(r() / 4294967296).toFixed(6)},${(r() % 1_000_000) / 100},${r() % 1000}.${r() % 1000},` +
      `${(r() / 65536).toFixed(3)},-${r() % 100_000},${(r() % 10_000) / 10_000}\n`
  }
}

const generators: Record<Exclude<ShapeName, "orders11">, Generator> = { orders7, wide, sparse, numeric }

/** Writes (or reuses) a CSV of `shape` in `dir`; `targetBytes` is reached by whole rows, header included. */
export const ensureShapeFile = async (dir: string, shape: ShapeName, targetBytes: number, seed: number): Promise<ShapeFile> => {
  if (shape === "orders11") {
    const f = await ensureCsvFixture(dir, targetBytes, seed)
    return { shape, path: f.path, bytes: f.bytes, rows: f.rows, columns: 11, reused: f.reused, generateMs: f.generateMs }
  }
  const generator = generators[shape]
  const base = Path.join(dir, `ingest-bench-${shape}-v${generatorVersion}-${targetBytes}b-seed${seed}`)
  const path = `${base}.csv`
  const metaPath = `${base}.json`
  const columns = generator.header.length
  if (existsSync(path) && existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, "utf8")) as { bytes: number; rows: number }
    if (statSync(path).size === meta.bytes) return { shape, path, bytes: meta.bytes, rows: meta.rows, columns, reused: true, generateMs: 0 }
  }
  const started = performance.now()
  const partial = `${path}.partial`
  const out = createWriteStream(partial)
  const next = makeRandom(seed)
  let bytes = 0
  let rows = 0
  let pending = `${generator.header.join(",")}\n`
  let pendingBytes = Buffer.byteLength(pending)
  try {
    while (bytes + pendingBytes < targetBytes) {
      const line = generator.row(rows + 1, next)
      const lineBytes = Buffer.byteLength(line)
      if (bytes + pendingBytes + lineBytes > targetBytes && rows > 0) break
      rows += 1
      pending += line
      pendingBytes += lineBytes
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
  writeFileSync(metaPath, JSON.stringify({ shape, bytes, rows, seed, generatorVersion }))
  return { shape, path, bytes, rows, columns, reused: false, generateMs: performance.now() - started }
}
