import { cellsOf } from "@ingest/domain"
import type { CellValue, Column, FileFormat, FileProfile } from "@ingest/domain"
import { Effect, Stream } from "effect"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { detectFormat, type FormatReaderHandle } from "../../packages/adapters/src/formats/index.ts"

/** A temporary folder for generated files, removed by `cleanup`. */
export const scratchDir = (prefix: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), `ingest-${prefix}-`))
  return {
    file: (name: string, content: string | Uint8Array) => {
      const full = path.join(dir, name)
      writeFileSync(full, content)
      return full
    },
    path: (name: string) => path.join(dir, name),
    cleanup: () => rmSync(dir, { recursive: true, force: true })
  }
}

export const profileOf = (reader: FormatReaderHandle, file: string, format: FileFormat): Promise<FileProfile> =>
  Effect.runPromise(reader.profile(file, format, {}))

/** Runs profile (or read) and returns the failure, or throws when it succeeded. */
export const failureOf = async (effect: Effect.Effect<unknown, { readonly kind: string; readonly reason: string }>) => {
  const result = await Effect.runPromise(Effect.result(effect))
  if (result._tag === "Success") throw new Error("expected a failure")
  return result.failure
}

/** Reads the whole file (of the format an upload detects) into row-major arrays of canonical values. */
export const readRows = async (
  reader: FormatReaderHandle,
  file: string,
  profile: FileProfile,
  target: ReadonlyArray<Column> = profile.columns
): Promise<Array<Array<CellValue>>> => {
  const format = detectFormat(readFileSync(file).subarray(0, 4096), file)
  if (format === undefined) throw new Error(`cannot tell the format of ${file}`)
  const rows: Array<Array<CellValue>> = []
  await Effect.runPromise(
    Stream.runForEach(reader.read(file, format, profile, target), (batch) =>
      Effect.sync(() => {
        const columns = batch.columns.map(cellsOf)
        for (let r = 0; r < batch.length; r++) rows.push(columns.map((c) => c[r]!))
      }))
  )
  return rows
}

export const typeOf = (profile: FileProfile, name: string) => {
  const column = profile.columns.find((c) => c.name === name)
  if (column === undefined) throw new Error(`no column ${name} in ${profile.columns.map((c) => c.name).join(",")}`)
  return column.type === "DECIMAL" ? `DECIMAL(${column.precision},${column.scale})` : column.type
}
