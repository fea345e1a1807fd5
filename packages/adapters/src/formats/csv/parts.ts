import type { CsvReadOptions, CsvSplit } from "../read-options.ts"
import { PREVIEW_ROWS } from "../limits.ts"
import type { ProfileScan } from "../table/profile.ts"
import { hasByteOffsets, type TextEncoding } from "../text-encoding.ts"
import { rowWarnings } from "./report.ts"
import type { CsvPart } from "../types.ts"
import { ColumnInference } from "../values/inference.ts"

/**
 * Large CSV files in parts: a first reading notes record boundaries near each eighth of the file
 * (split points, kept in the read options), so that an import can read parts side by side; and
 * a large file is profiled in parts whose scans are merged here.
 */

/** Files below this size are read in one part. */
const MIN_SPLIT_BYTES = 32 * 1024 * 1024
/** Split points noted per file: at 1/8, 2/8, … of it, so that 2, 4 or 8 parts come out even. */
const SPLIT_EIGHTHS = 8

/**
 * Keeps the first record boundary at or after each eighth of the file (from `start` on, when
 * only a part of the file is read); undefined when the file is not split.
 */
export const splitPlanner = (size: number, encoding: TextEncoding, start: number) => {
  if (!hasByteOffsets(encoding) || size < MIN_SPLIT_BYTES) return undefined
  const points: Array<CsvSplit> = []
  /** Eighths at or before `start`: a part has no split points of its own there. */
  const skipped = Math.floor((start * SPLIT_EIGHTHS) / size)
  return {
    points,
    offer: (byte: number, rows: number, line: number) => {
      const eighth = skipped + points.length + 1
      const next = Math.ceil((size * eighth) / SPLIT_EIGHTHS)
      if (eighth < SPLIT_EIGHTHS && byte >= next && byte < size) points.push({ byte, rows, line })
    }
  }
}

/**
 * Parts to read a profiled CSV in, side by side: at most `count`, at split points noted while
 * profiling; none (read it whole) when none were noted.
 */
export const csvParts = (options: CsvReadOptions, size: number, count: number): Array<CsvPart> => {
  const splits = options.splits
  if (count < 2 || splits === undefined || splits.length === 0) return []
  const valid = splits.filter((s) => s.byte > 0 && s.byte < size)
  const chosen: Array<CsvSplit> = []
  for (let k = 1; k < count; k++) {
    const target = (size * k) / count
    let best: CsvSplit | undefined
    for (const s of valid) if (best === undefined || Math.abs(s.byte - target) < Math.abs(best.byte - target)) best = s
    if (best !== undefined && (chosen.length === 0 || best.byte > chosen.at(-1)!.byte)) chosen.push(best)
  }
  if (chosen.length === 0) return []
  const starts = [{ byte: 0, rows: 0, line: 1 }, ...chosen]
  return starts.map((s, i) => ({ start: s.byte, end: starts[i + 1]?.byte ?? size, rows: s.rows, line: s.line }))
}

const sameReading = (a: CsvReadOptions, b: CsvReadOptions): boolean =>
  a.encoding === b.encoding && a.delimiter === b.delimiter && a.quote === b.quote && a.escape === b.escape &&
  a.newline === b.newline && a.header === b.header && a.columns === b.columns && a.headerRows === b.headerRows &&
  a.skipRecords === b.skipRecords && a.skipInitialSpace === b.skipInitialSpace

/**
 * One scan from two scans of consecutive parts of a CSV file, the second starting where the first
 * ends; undefined when they cannot be merged (the first part did not end at a record boundary, so
 * the second started inside a quoted field, or the parts were read differently).
 */
export const mergeCsvScans = (first: ProfileScan, second: ProfileScan): ProfileScan | undefined => {
  const a = first.readOptions as CsvReadOptions
  const b = second.readOptions as CsvReadOptions
  const end = first.rangeEnd
  if (end === undefined || !end.endsAtRecord) return undefined
  if (!hasByteOffsets(a.encoding) || !sameReading(a, b)) return undefined
  // A file whose end is not all data (a trailer, a further table) is profiled whole.
  if (a.dataRows !== undefined || b.dataRows !== undefined) return undefined
  if (first.columns.length !== second.columns.length) return undefined
  const linesBefore = end.nextLine - 1
  const { firstLineWithExtraFields: _first, splits: _splits, ...common } = a
  const later = (b.splits ?? []).map((s) => ({ byte: s.byte, rows: s.rows + first.rows, line: s.line + linesBefore }))
  const splits = [...(a.splits ?? []), ...later]
  const firstLineWithExtraFields = a.firstLineWithExtraFields ??
    (b.firstLineWithExtraFields !== undefined ? b.firstLineWithExtraFields + linesBefore : undefined)
  const readOptions: CsvReadOptions = {
    ...common,
    rowsWithExtraFields: (a.rowsWithExtraFields ?? 0) + (b.rowsWithExtraFields ?? 0),
    ...(firstLineWithExtraFields !== undefined ? { firstLineWithExtraFields } : {}),
    rowsWithMissingFields: (a.rowsWithMissingFields ?? 0) + (b.rowsWithMissingFields ?? 0),
    ...(splits.length > 0 ? { splits } : {})
  }
  return {
    labels: first.labels,
    textValues: first.textValues,
    columns: first.columns.map((state, j) => {
      const merged = ColumnInference.fromState(state)
      merged.absorb(second.columns[j]!)
      return merged.state()
    }),
    preview: [...first.preview, ...second.preview].slice(0, PREVIEW_ROWS),
    rows: first.rows + second.rows,
    readOptions,
    report: first.report ?? second.report
  }
}

/** The scan of a whole file from the merge of all its parts: the report gains what the rows of every part showed. */
export const mergedFileScan = (merged: ProfileScan): ProfileScan =>
  merged.report === undefined ? merged : {
    ...merged,
    report: {
      dialect: merged.report.dialect,
      warnings: [...merged.report.warnings, ...rowWarnings(merged.readOptions as CsvReadOptions, undefined)]
    }
  }
