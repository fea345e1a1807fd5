import type { FileFormat } from "@ingest/domain"
import { openCsv } from "../csv/reader.ts"
import { FileReadError } from "../errors.ts"
import { openJson } from "../json/reader.ts"
import type { OpenRequest, RawReader, RawTable, TableSource } from "../types.ts"

/**
 * FileFormat → table. CSV and JSON have their own streaming, column-major readers; spreadsheets,
 * Parquet and Avro go through a RawReader (types.ts) loaded on first use, so a missing or broken
 * module only affects its own format, with a clear message.
 */
type Opener = (path: string, request: OpenRequest) => Promise<TableSource>

const rawModules: Record<"xlsx" | "parquet" | "avro", { readonly file: string; readonly exportName: string }> = {
  xlsx: { file: "../spreadsheet/reader.ts", exportName: "readXlsx" },
  parquet: { file: "../parquet/reader.ts", exportName: "readParquet" },
  avro: { file: "../avro/reader.ts", exportName: "readAvro" }
}

const loaded = new Map<string, Promise<RawReader>>()

/** Loads a raw reader module by path (not a literal import: the module may be absent). */
const loadRawReader = (kind: keyof typeof rawModules): Promise<RawReader> => {
  let reader = loaded.get(kind)
  if (reader === undefined) {
    const { file, exportName } = rawModules[kind]
    const specifier = new URL(file, import.meta.url).href
    reader = import(/* @vite-ignore */ specifier).then(
      (module: Record<string, unknown>) => {
        const fn = module[exportName]
        if (typeof fn !== "function") throw new FileReadError("unsupported", `the ${kind} reader is not available`)
        return fn as RawReader
      },
      (error: unknown) => {
        loaded.delete(kind)
        throw new FileReadError("unsupported", `the ${kind} reader is not available (${String(error)})`)
      }
    )
    loaded.set(kind, reader)
  }
  return reader
}

/** Adapts a row-major RawTable (spreadsheets, parquet, avro) to a TableSource. */
export const fromRawTable = (raw: RawTable): TableSource => ({
  labels: raw.labels,
  declaredTypes: raw.declaredTypes,
  readOptions: raw.readOptions,
  report: () => raw.report,
  textValues: false,
  batches: (async function*() {
    for await (const rows of raw.batches) {
      const width = raw.labels.length
      const columns: Array<Array<unknown>> = []
      for (let j = 0; j < width; j++) columns.push(new Array(rows.length))
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r]!
        for (let j = 0; j < width; j++) columns[j]![r] = row[j] ?? null
      }
      yield { length: rows.length, columns }
    }
  })()
})

const viaRawReader = (kind: keyof typeof rawModules): Opener => async (path, request) =>
  fromRawTable(
    await (await loadRawReader(kind))(path, {
      sheet: request.sheet,
      batchRows: request.batchRows,
      dialect: request.dialect,
      again: request.again
    })
  )

const openers: Record<FileFormat, Opener> = {
  csv: openCsv,
  json: openJson,
  jsonl: openJson,
  xlsx: viaRawReader("xlsx"),
  xls: viaRawReader("xlsx"),
  parquet: viaRawReader("parquet"),
  avro: viaRawReader("avro")
}

export const openTable = (format: FileFormat, path: string, request: OpenRequest): Promise<TableSource> =>
  openers[format](path, request)
