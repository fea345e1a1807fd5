import type { CellValue, ColumnBatch, FileProfile } from "@ingest/domain"
import { FormatReader, UnreadableFile } from "@ingest/domain"
import type { FormatReaderService } from "@ingest/adapters/engine/index"
import { Effect, Option, Stream } from "effect"
import { readFileSync } from "node:fs"

/**
 * A tiny FormatReader for the engine's S3 tests: comma-separated, no quoting, INTEGER when every
 * value is an integer, STRING otherwise. The real readers have their own suites.
 */
const parse = (file: string) => {
  const lines = readFileSync(file, "utf8").split("\n").filter((line) => line.length > 0)
  const header = lines[0]?.split(",") ?? []
  return { header, rows: lines.slice(1).map((line) => line.split(",")) }
}

export const csvReader: FormatReaderService = FormatReader.of({
  detect: (_head, fileName) => fileName.endsWith(".csv") ? Option.some("csv") : Option.none(),
  prepare: Effect.void,
  profile: (file) =>
    Effect.try({
      try: (): FileProfile => {
        const { header, rows } = parse(file)
        return {
          columns: header.map((name, i) => ({
            name,
            type: rows.every((row) => /^-?\d+$/.test(row[i] ?? "")) ? "INTEGER" : "STRING",
            nullable: false,
            sampleValues: rows.slice(0, 3).map((row) => row[i] ?? "")
          })),
          sourceLabels: header,
          previewRows: [],
          totalRows: rows.length,
          readOptions: {}
        }
      },
      catch: (error) => new UnreadableFile({ reason: String(error), kind: "corrupt" })
    }),
  read: (file, _format, _profile, target) =>
    Stream.suspend(() => {
      const { header, rows } = parse(file)
      const columns = target.map((column) => {
        const index = header.indexOf(column.name)
        return rows.map((row): CellValue => {
          const raw = row[index] ?? ""
          if (column.type !== "INTEGER") return raw
          if (!/^-?\d+$/.test(raw)) throw new Error(`"${raw}" is not an integer`)
          return Number(raw)
        })
      })
      const batch: ColumnBatch = { length: rows.length, columns }
      return Stream.make(batch)
    }).pipe(Stream.catchDefect((defect) => Stream.fail(new UnreadableFile({ reason: String(defect), kind: "corrupt" }))))
})
