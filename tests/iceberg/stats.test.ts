import * as A from "apache-arrow"
import * as Parquet from "parquet-wasm"
import { describe, expect, it } from "vitest"
import { chunkStatisticsOf, chunkStatisticsOfTail } from "../../packages/adapters/src/iceberg/parquet-footer.ts"
import { columnMetrics, makeCounter } from "../../packages/adapters/src/iceberg/stats.ts"

// Column bounds (from the statistics of the Parquet column chunks) of string columns against a
// plain sort of the same values (byte order of UTF-8).

const randomText = (random: () => number): string => {
  const alphabet = ["", "a", "b", "z", "A", "0", "é", "ß", "漢", "😀", " ", "~"]
  let text = ""
  const length = Math.floor(random() * 6)
  for (let k = 0; k < length; k++) text += alphabet[Math.floor(random() * alphabet.length)]
  return text
}

const seeded = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  return seed / 2_147_483_648
}

describe("string column bounds", () => {
  it("are the byte-wise smallest and largest values, across batches and nulls", () => {
    const random = seeded(7)
    const batches = Array.from({ length: 5 }, () =>
      Array.from({ length: 2000 }, () => (random() < 0.1 ? null : randomText(random)))
    )
    const counter = makeCounter({ kind: "string" })
    const arrow = new A.Table({ s: A.vectorFromArray(batches.flat(), new A.Utf8()) })
    for (const data of arrow.getChild("s")!.data) counter.add(data)
    // Row groups of 1500 rows: each has its own bounds.
    const file = Parquet.writeParquet(
      Parquet.Table.fromIPCStream(A.tableToIPC(arrow, "stream")),
      new Parquet.WriterPropertiesBuilder().setMaxRowGroupSize(1500).setStatisticsEnabled(Parquet.EnabledStatistics.Chunk).build()
    )
    const groups = chunkStatisticsOf(file)!
    expect(groups.length).toBe(Math.ceil(10_000 / 1500))
    // The same from the file streamed in small chunks (the footer spans many), and from too few of them.
    const chunks = Array.from({ length: Math.ceil(file.length / 100) }, (_, k) => file.subarray(k * 100, (k + 1) * 100))
    expect(chunkStatisticsOfTail(chunks)).toEqual(groups)
    expect(chunkStatisticsOfTail(chunks.slice(-3))).toBeUndefined()
    const present = batches.flat().filter((v): v is string => v !== null).map((v) => Buffer.from(v, "utf8"))
    present.sort(Buffer.compare)
    // Values of at most 5 code points: no bound is truncated.
    const metrics = columnMetrics({ kind: "string" }, counter, groups.map((columns) => columns[0]!))
    expect(Buffer.from(metrics.lower!).equals(present[0]!)).toBe(true)
    expect(Buffer.from(metrics.upper!).equals(present.at(-1)!)).toBe(true)
    expect(metrics.nullCount).toBe(batches.flat().filter((v) => v === null).length)
  })
})
