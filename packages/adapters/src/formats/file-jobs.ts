import type { ColumnBatch, FileProfile } from "@ingest/domain"
import { type CsvFields, readCsvFields } from "./csv/byte-tokenizer.ts"
import { openTable } from "./table/open.ts"
import { type ProfileScan, profileSource, scanSource } from "./table/profile.ts"
import { readCsvFieldSource, readSource } from "./table/read.ts"
import { InvalidText } from "./text-encoding.ts"
import type { ProfileRequest, ReadRequest, ScanRequest } from "./types.ts"

/**
 * The three jobs a parser runs on a file, in a worker thread (worker/entry.ts) or in process:
 * profile it, scan a byte range of a CSV file, read it as packed batches.
 */

/** Profiles a file. A CSV whose guessed encoding turns out wrong later in the file is re-read as windows-1252. */
export const profileFile = async (request: ProfileRequest): Promise<FileProfile> => {
  const { path, format } = request
  try {
    return await profileSource(await openTable(format, path, request))
  } catch (error) {
    if (format !== "csv" || !(error instanceof InvalidText) || request.dialect?.encoding !== undefined) throw error
    return profileSource(await openTable("csv", path, { ...request, encoding: "windows-1252" }))
  }
}

/**
 * Scans a byte range of a CSV file that has not been profiled yet (a part of a large file,
 * profiled side by side with the others; see csv/parts.ts mergeCsvScans).
 */
export const scanCsvRange = async (request: ScanRequest): Promise<ProfileScan> =>
  scanSource(await openTable("csv", request.path, request))

/** The first `count` records of a CSV reading (the data, when a trailer or a further table follows). */
async function* firstRecords(fields: AsyncGenerator<CsvFields>, count: number): AsyncGenerator<CsvFields> {
  let left = count
  for await (const batch of fields) {
    if (left <= 0) return
    if (batch.length > left) {
      yield { ...batch, length: left }
      return
    }
    left -= batch.length
    yield batch
  }
}

/** Reads a profiled file as batches coerced to `request.target`. */
export async function* readFile(request: ReadRequest): AsyncGenerator<ColumnBatch> {
  if (request.format === "csv") {
    const fields = readCsvFields(request.path, request.options, request.part, request)
    const { dataRows } = request.options
    yield* readCsvFieldSource(dataRows === undefined ? fields : firstRecords(fields, dataRows - (request.part?.rows ?? 0)), request)
    return
  }
  const sheet = request.format === "xlsx" || request.format === "xls" ? request.options.sheet : undefined
  const source = await openTable(request.format, request.path, { ...request, sheet, again: request.options })
  yield* readSource(source, request)
}
