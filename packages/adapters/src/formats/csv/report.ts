import type { FileDialect } from "@ingest/domain"
import { headerRowsOf } from "./header-rows.ts"
import type { CsvReadOptions } from "../read-options.ts"
import type { CsvDialect, ReadingReport } from "../types.ts"

/**
 * What a CSV reading tells a user (the preview's dialect and warnings): where the table is in
 * the file, as the first reading found it (Layout), and what the rows counted showed. A file
 * profiled in parts reports its first part's layout, and the rows of all parts once merged
 * (parts.ts).
 */

/** Where the table is in a CSV file: found on its head (and tail) by a first reading. */
export interface Layout {
  readonly csv: CsvReadOptions
  /** Records kept back at the end (a trailer), or a limit on data records (a further table). */
  readonly holdBack: number
  readonly limit: number | undefined
  /** What the report says once the rows are counted. */
  readonly leadingLines: number
  readonly headerLines: { readonly from: number; readonly to: number } | undefined
  readonly furtherTableLine: number | undefined
  readonly trailer: { readonly linesFromEnd: number; readonly total: boolean; readonly notes: number } | undefined
}

export interface RowCounts {
  readonly given: number
  readonly seen: number
  readonly lines: number
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`
const span = (from: number, to: number) => (from === to ? `line ${from}` : `lines ${from}–${to}`)

/** The separator as a user writes it: `", "` for a comma that spaces follow, `" "` for runs of spaces. */
const delimiterShown = (csv: CsvDialect): string => (csv.delimiter === "," && csv.skipInitialSpace === true ? ", " : csv.delimiter)

/** Warnings on the rows read (long and short records) and on the encoding; `trailingFrom`: the first line left out after the data. */
export const rowWarnings = (csv: CsvReadOptions, trailingFrom: number | undefined): Array<string> => {
  const warnings: Array<string> = []
  const extraInData = trailingFrom === undefined || (csv.firstLineWithExtraFields ?? 0) < trailingFrom
  if ((csv.rowsWithExtraFields ?? 0) > 0 && extraInData) {
    warnings.push(`${plural(csv.rowsWithExtraFields!, "row")} had more fields than the header (first at line ${csv.firstLineWithExtraFields}): the extra fields are not imported`)
  }
  if ((csv.rowsWithMissingFields ?? 0) > 0) {
    warnings.push(`${plural(csv.rowsWithMissingFields!, "row")} had fewer fields than the header: the missing fields are empty`)
  }
  if (csv.encodingGuessed && csv.encoding !== "utf-8") warnings.push(`the file is not UTF-8: it was read as ${csv.encoding}`)
  return warnings
}

/**
 * The report of a reading. `part: "first"`: of the first part of a file read in parts, which
 * says nothing of a trailer (only the last part sees it, and such parts are not merged) nor of
 * the rows (the merge adds rowWarnings of all parts).
 */
export const reportOf = (csv: CsvReadOptions, layout: Layout, counts: RowCounts, part: "whole" | "first" = "whole"): ReadingReport => {
  const warnings: Array<string> = []
  const leading = layout.leadingLines
  if (leading > 0) warnings.push(`skipped ${plural(leading, "line")} before the header (${span(1, leading)})`)
  const headerRows = headerRowsOf(csv)
  if (headerRows > 1 && layout.headerLines !== undefined) {
    warnings.push(`read ${headerRows} header rows (${span(layout.headerLines.from, layout.headerLines.to)}) as one, joining their labels as "Group Name"`)
  }
  let trailingLines: FileDialect["trailingLines"] = null
  if (layout.furtherTableLine !== undefined) {
    trailingLines = { from: layout.furtherTableLine, to: Math.max(layout.furtherTableLine, counts.lines) }
    warnings.push(`ignored a second table starting at line ${layout.furtherTableLine}: only the first table is read`)
  } else if (layout.trailer !== undefined && part === "whole") {
    const from = Math.max(1, counts.lines - layout.trailer.linesFromEnd + 1)
    trailingLines = { from, to: counts.lines }
    const what = [
      ...(layout.trailer.total ? ["a totals row"] : []),
      ...(layout.trailer.notes > 0 ? [plural(layout.trailer.notes, "note")] : [])
    ]
    warnings.push(`skipped ${plural(counts.lines - from + 1, "line")} after the data (${span(from, counts.lines)})${what.length > 0 ? `: ${what.join(" and ")}` : ""}`)
  }
  if (part === "whole") warnings.push(...rowWarnings(csv, trailingLines?.from))
  const dialect: FileDialect = {
    encoding: csv.encoding,
    delimiter: delimiterShown(csv),
    quote: csv.quote,
    escape: csv.escape,
    sheet: null,
    headerRows,
    skipLeadingRows: leading,
    leadingLines: leading > 0 ? { from: 1, to: leading } : null,
    skipTrailingRows: trailingLines === null ? 0 : trailingLines.to - trailingLines.from + 1,
    trailingLines
  }
  return { dialect, warnings }
}
