import type { Column, ColumnBatch, FileFormat, FileProfile } from "@ingest/domain"
import { openCsvFields, type TextLimits } from "./csv/reader.ts"
import { InvalidText } from "./text-encoding.ts"
import type { CsvPart, CsvRange } from "./types.ts"
import { openTable } from "./table/open.ts"
import { type ProfileScan, profileSource, readCsvFieldSource, readSource, scanSource } from "./table/profile.ts"

/** Profiles a file. A CSV whose guessed encoding turns out wrong later in the file is re-read as windows-1252. */
export const profileFile = async (
  path: string,
  format: FileFormat,
  sheet: string | undefined,
  limits: TextLimits,
  batchSize: number
): Promise<FileProfile> => {
  try {
    return await profileSource(await openTable(format, path, { sheet, batchSize }, limits), format)
  } catch (error) {
    if (format !== "csv" || !(error instanceof InvalidText)) throw error
    const source = await openTable("csv", path, { batchSize, readOptions: { encoding: "windows-1252" } }, limits)
    return profileSource(source, format)
  }
}

/**
 * Scans bytes `range` of a CSV file that has not been profiled yet (a part of a large file,
 * profiled side by side with the others; see csv.ts mergeCsvScans).
 */
export const scanCsvRange = async (path: string, range: CsvRange, limits: TextLimits, batchSize: number): Promise<ProfileScan> =>
  scanSource(await openTable("csv", path, { batchSize, range }, limits))

/** Reads a profiled file as batches coerced to `target`. */
export async function* readFile(
  path: string,
  format: FileFormat,
  profile: FileProfile,
  target: ReadonlyArray<Column>,
  limits: TextLimits,
  batchSize: number,
  part?: CsvPart
): AsyncGenerator<ColumnBatch> {
  if (format === "csv") {
    const fields = openCsvFields(path, profile.readOptions, part, limits, batchSize)
    yield* readCsvFieldSource(fields, profile, target, part?.rows ?? 0)
    return
  }
  const sheet = profile.readOptions["sheet"]
  const source = await openTable(
    format,
    path,
    { sheet: typeof sheet === "string" ? sheet : undefined, readOptions: profile.readOptions, batchSize },
    limits
  )
  yield* readSource(source, profile, target)
}
