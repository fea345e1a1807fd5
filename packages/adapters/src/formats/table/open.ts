import type { FileFormat } from "@ingest/domain"
import { defaultTextLimits, openCsv, type TextLimits } from "../csv/reader.ts"
import { openJson } from "../json/reader.ts"
import { RawReadError, type RawReader, type RawReadOptions } from "../types.ts"
import { fromRawTable, type TableSource } from "./profile.ts"

/**
 * FileFormat → reader. CSV and JSON have their own streaming, column-major readers; spreadsheets,
 * Parquet and Avro go through a RawReader (raw.ts) loaded on first use, so a missing or broken
 * module only affects its own format, with a clear message.
 */
type Opener = (path: string, options: RawReadOptions, limits: TextLimits) => Promise<TableSource>

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
        if (typeof fn !== "function") throw new RawReadError("unsupported", `the ${kind} reader is not available`)
        return fn as RawReader
      },
      (error: unknown) => {
        loaded.delete(kind)
        throw new RawReadError("unsupported", `the ${kind} reader is not available (${String(error)})`)
      }
    )
    loaded.set(kind, reader)
  }
  return reader
}

const viaRawReader = (kind: keyof typeof rawModules): Opener => async (path, options) =>
  fromRawTable(await (await loadRawReader(kind))(path, options))

export const openers: Record<FileFormat, Opener> = {
  csv: openCsv,
  json: openJson,
  jsonl: openJson,
  xlsx: viaRawReader("xlsx"),
  xls: viaRawReader("xlsx"),
  parquet: viaRawReader("parquet"),
  avro: viaRawReader("avro")
}

export const openTable = (
  format: FileFormat,
  path: string,
  options: RawReadOptions,
  limits: TextLimits = defaultTextLimits
): Promise<TableSource> => openers[format](path, options, limits)
