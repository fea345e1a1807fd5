import { ColumnInference } from "./values/inference.ts"
import { isNullToken, NUM_NONE, parseBooleanText, parseDoubleText, scanNumber, scanTemporal, TEMPORAL_NONE } from "./values/text-grammar.ts"

/**
 * Where the table is among the rows of a file, for CSV files (on a sample of their head and tail)
 * and spreadsheets (on the whole grid):
 * - a preamble: title, notes or blank rows before the header, i.e. rows of text that are blank or
 *   at most half as wide as the table, before its first wide row;
 * - header rows: the first wide row is a header when one of its values does not fit the type of
 *   its column below (or it is all text over text columns: see `isHeaderRow`); the rows under it
 *   that are all text where the columns below are typed are header rows too (a group row over a
 *   name row), joined as "Group Name";
 * - a further table: after a blank row, a row that is narrow text (a title) or all text where the
 *   data so far is typed starts another table; only the first is read;
 * - a trailer: at the end, a block of narrow rows of text (footnotes, "Source: …") after a blank
 *   row or each marked as a note (CSV), and a last "Total" row of numbers that is a summary and
 *   not a row (see `isSummary`).
 * Each finding is shown in the preview and can be overridden.
 */

/** A row as the sample saw it: its cells, its first line, and whether the reader skips it as blank. */
export interface LayoutRow {
  readonly cells: ReadonlyArray<unknown>
  /** 1-based line (CSV) or row (spreadsheet) where the row starts. */
  readonly line: number
  /** A blank line the reader drops: it is not a row at all. */
  readonly dropped: boolean
}

const EMPTY = 0
const TEXT = 1
const TYPED = 2

export const isTypedText = (s: string): boolean =>
  !isNullToken(s) && (parseBooleanText(s) !== undefined || scanNumber(s) !== NUM_NONE || scanTemporal(s) !== TEMPORAL_NONE)

const kindOf = (cell: unknown): number => {
  if (cell === null || cell === undefined) return EMPTY
  if (typeof cell === "string") return isNullToken(cell) ? EMPTY : isTypedText(cell) ? TYPED : TEXT
  if (typeof cell === "number" || typeof cell === "bigint" || typeof cell === "boolean" || cell instanceof Date) return TYPED
  return TEXT
}

/** Cells up to the last non-empty one. */
const filled = (row: LayoutRow): number => {
  for (let j = row.cells.length - 1; j >= 0; j--) if (kindOf(row.cells[j]) !== EMPTY) return j + 1
  return 0
}
const countOf = (row: LayoutRow, kind: number): number => row.cells.reduce<number>((n, c) => n + (kindOf(c) === kind ? 1 : 0), 0)
const narrow = (row: LayoutRow, width: number) => filled(row) <= Math.max(1, Math.floor(width / 2))
const firstText = (row: LayoutRow): string | undefined => {
  for (const cell of row.cells) {
    const kind = kindOf(cell)
    if (kind === TEXT) return String(cell).trim()
    if (kind === TYPED) return undefined
  }
  return undefined
}

const NOTE = /^(sources?|notes?|footnotes?|remarks?|comments?|disclaimer|\*|†|‡|¹|²|³|\(\d+\)|\d+\)|\[\d+\])/i
const TOTAL = /^(grand\s+|sub-?)?totals?\b|^sum\b|^summe\b|^gesamt|^totaal\b|^totale?\b|^итого/i

/** Text the type inference reads: spreadsheet values as they are, CSV text as text. */
const observe = (column: ColumnInference, cell: unknown) => {
  if (typeof cell === "string") column.observeText(cell)
  else column.observe(cell ?? null)
}

/** The type of each column over `rows` (STRING where nothing typed is seen). */
const columnTypes = (rows: ReadonlyArray<LayoutRow>, width: number): Array<string> => {
  const types: Array<string> = []
  for (let j = 0; j < width; j++) {
    const column = new ColumnInference(true)
    for (const row of rows) observe(column, row.cells[j])
    types.push(column.nonNull === 0 ? "STRING" : column.result(rows.length).type)
  }
  return types
}

/** Columns where `row`'s value breaks the column's type below (`header`), and where it fits a typed column (`data`). */
const evidence = (row: LayoutRow, below: ReadonlyArray<LayoutRow>, width: number): { header: number; data: number } => {
  let header = 0
  let data = 0
  const types = columnTypes(below, width)
  for (let j = 0; j < width; j++) {
    const value = row.cells[j]
    if (kindOf(value) === EMPTY || types[j] === "STRING") continue
    const withRow = new ColumnInference(true)
    observe(withRow, value)
    for (const r of below) observe(withRow, r.cells[j])
    if (withRow.result(below.length + 1).type === "STRING") header++
    else data++
  }
  return { header, data }
}

/**
 * Whether `row` is a header over `below`: a value that does not fit its column's type, or, when
 * no column has a type but text, no value of its own that looks like a number, date or boolean.
 * An all-empty row is a header (of unnamed columns).
 */
export const isHeaderRow = (row: LayoutRow, below: ReadonlyArray<LayoutRow>, width: number): boolean => {
  if (filled(row) === 0) return true
  const { header, data } = evidence(row, below, width)
  if (header > 0) return true
  if (data > 0) return false
  return countOf(row, TYPED) === 0
}

export interface Leading {
  /** Rows before the header rows (a preamble). */
  readonly skip: number
  readonly headerRows: number
}

/** Rows compared when telling headers from data. */
const HEADER_SAMPLE = 1000
/** Rows looked at for a preamble, and the most rows of text it may hold. */
const MAX_PREAMBLE = 50
const MAX_PREAMBLE_LINES = 15
/** Header rows at most. */
const MAX_HEADER_ROWS = 3

/**
 * Preamble and header rows of `rows` (blank lines included, marked dropped), given overrides. A
 * preamble is up to 15 narrow rows of text (and blank rows) before the first wide row; a table
 * two columns wide needs a blank line after its preamble.
 */
export const findLeading = (
  all: ReadonlyArray<LayoutRow>,
  width: number,
  given: { readonly skip?: number | undefined; readonly headerRows?: number | undefined } = {}
): Leading => {
  const rows = all.filter((r) => !r.dropped)
  let skip = given.skip ?? 0
  if (given.skip === undefined && width >= 2) {
    let h = 0
    while (h < all.length && h < MAX_PREAMBLE && (all[h]!.dropped || filled(all[h]!) === 0 || narrow(all[h]!, width))) h++
    const prefix = all.slice(0, h).filter((r) => !r.dropped)
    const blankBefore = h > 0 && (all[h - 1]!.dropped || filled(all[h - 1]!) === 0)
    const lines = prefix.filter((r) => filled(r) > 0)
    if (h < all.length && lines.length > 0 && lines.length <= MAX_PREAMBLE_LINES && (width >= 3 || blankBefore)) {
      const at = prefix.length
      const textOnly = lines.every((r) => countOf(r, TYPED) === 0)
      const below = rows.slice(at + 1, at + 1 + HEADER_SAMPLE).filter((r) => filled(r) > 0)
      if (textOnly && below.length > 0) skip = at
    }
  }
  if (given.headerRows !== undefined) return { skip, headerRows: given.headerRows }
  const first = rows[skip]
  if (first === undefined) return { skip, headerRows: 0 }
  const dataOf = (from: number) => rows.slice(from, from + HEADER_SAMPLE).filter((r) => filled(r) > 0)
  if (!isHeaderRow(first, dataOf(skip + 1), width)) return { skip, headerRows: 0 }
  let headerRows = 1
  while (headerRows < MAX_HEADER_ROWS && width >= 2) {
    const row = rows[skip + headerRows]
    const next = rows[skip + headerRows + 1]
    const below = dataOf(skip + headerRows + 1)
    if (row === undefined || next === undefined || below.length === 0 || filled(row) === 0 || filled(next) === 0) break
    if (countOf(row, TYPED) > 0) break
    // Header rows over one another leave cells empty (a group spans columns; the name row has
    // nothing under a single-row label): two full rows of text are a header and a row of data.
    const above = rows[skip + headerRows - 1]!
    if (countOf(above, TEXT) >= width && countOf(row, TEXT) >= width) break
    const { header, data } = evidence(row, below, width)
    if (header === 0 || data > 0) break
    headerRows++
  }
  return { skip, headerRows }
}

/**
 * Labels of several header rows joined top-down as "Group Name"; a group written once over the
 * columns it spans (merged cells) is carried to the right until the next group.
 */
export const joinHeaderRows = (rows: ReadonlyArray<ReadonlyArray<string>>, width: number): Array<string> => {
  if (rows.length === 1) return Array.from({ length: width }, (_, j) => rows[0]![j] ?? "")
  const carried = rows.map((row, i) => {
    if (i === rows.length - 1) return row
    const out: Array<string> = []
    let group = ""
    for (let j = 0; j < width; j++) {
      const value = (row[j] ?? "").trim()
      if (value !== "") group = value
      out.push(group)
    }
    return out
  })
  return Array.from({ length: width }, (_, j) => {
    const parts: Array<string> = []
    for (const row of carried) {
      const value = (row[j] ?? "").trim()
      if (value !== "" && parts.at(-1) !== value) parts.push(value)
    }
    return parts.join(" ")
  })
}

/**
 * Where a further table starts after the data that begins at `start` (blank-row separated):
 * the number of data rows before it and the line it starts on; undefined when there is none in
 * these rows.
 */
export const findFurtherTable = (
  rows: ReadonlyArray<LayoutRow>,
  start: number,
  width: number
): { readonly dataRows: number; readonly line: number } | undefined => {
  if (width < 2) return undefined
  let gapAt = -1
  let sawBlank = false
  for (let i = start; i < rows.length; i++) {
    const row = rows[i]!
    if (row.dropped || filled(row) === 0) {
      if (i > start && !sawBlank) {
        sawBlank = true
        gapAt = i
      }
      continue
    }
    if (sawBlank) {
      const data = rows.slice(start, gapAt).filter((r) => !r.dropped && filled(r) > 0)
      const title = narrow(row, width) && countOf(row, TYPED) === 0
      const header = countOf(row, TYPED) === 0 && filled(row) >= 2 && data.length > 0 && evidence(row, data, width).header > 0
      // A table follows when wide rows do (notes after the data are a trailer, not a table).
      const table = rows.slice(i + 1).some((r) => !r.dropped && filled(r) >= 2 && !narrow(r, width))
      if ((title || header) && table) return { dataRows: rows.slice(start, gapAt).filter((r) => !r.dropped).length, line: row.line }
      sawBlank = false
    }
  }
  return undefined
}

const numberOf = (cell: unknown): number | undefined =>
  typeof cell === "number" ? cell : typeof cell === "string" ? parseDoubleText(cell) : undefined

/** Whether each number of `row` (one at least) is the sum of its column over `above`. */
const sumsOf = (row: LayoutRow, above: ReadonlyArray<LayoutRow>, width: number): boolean => {
  let sums = 0
  for (let j = 0; j < width; j++) {
    const value = numberOf(row.cells[j])
    if (value === undefined) continue
    let sum = 0
    for (const r of above) sum += numberOf(r.cells[j]) ?? 0
    if (Math.abs(sum - value) > 1e-9 * Math.max(1, Math.abs(value))) return false
    sums++
  }
  return sums > 0
}

/**
 * Whether `row`, labelled as a total, is a summary of the data rows `above` rather than a row of
 * its own. It is when keeping it would break the table: its shape (another number of fields than
 * the rows above, or a value missing where every row above has one), or its columns' types (a
 * value that does not fit its column, such as "Total" under dates or counts under booleans); or
 * when its numbers are the sums of their columns above. A total that fits as a row ("Grand Total"
 * in a column of text, over numbers in number columns that are not those sums) is kept.
 */
const isSummary = (row: LayoutRow, above: ReadonlyArray<LayoutRow>, width: number): boolean => {
  if (above.length === 0) return false
  const fields = new Map<number, number>()
  for (const r of above) fields.set(r.cells.length, (fields.get(r.cells.length) ?? 0) + 1)
  if (!fields.has(row.cells.length)) return true
  for (let j = 0; j < width; j++) {
    if (kindOf(row.cells[j]) === EMPTY && above.every((r) => kindOf(r.cells[j]) !== EMPTY)) return true
  }
  return evidence(row, above, width).header > 0 || sumsOf(row, above, width)
}

/**
 * Rows at the end of `rows` that are not data: footnotes (narrow rows of text after a blank row,
 * or each marked as a note) and a last totals row that is a summary (`isSummary`). Counts rows as
 * the reader does (dropped blank lines are not rows); undefined when there are none.
 */
export const findTrailer = (
  rows: ReadonlyArray<LayoutRow>,
  width: number,
  options: { readonly notes: boolean } = { notes: true }
): { readonly rows: number; readonly line: number; readonly total: boolean; readonly notes: number } | undefined => {
  if (width < 2) return undefined
  let i = rows.length - 1
  let counted = 0
  let pending = 0
  let notes = 0
  let firstLine = -1
  // Footnotes: a run of narrow rows of text (and blank rows), read from the end.
  let end = i
  while (end >= 0 && (rows[end]!.dropped || filled(rows[end]!) === 0 || (narrow(rows[end]!, width) && firstText(rows[end]!) !== undefined))) end--
  const block = rows.slice(end + 1)
  const noteRows = block.filter((r) => !r.dropped && filled(r) > 0)
  if (noteRows.length > 0 && options.notes) {
    const separated = block.findIndex((r) => !r.dropped && filled(r) > 0) > 0 &&
      (block[0]!.dropped || filled(block[0]!) === 0)
    const marked = noteRows.every((r) => NOTE.test(firstText(r) ?? ""))
    if (end >= 0 && (separated || marked)) {
      // The blank rows between data and notes go with the notes.
      counted = block.filter((r) => !r.dropped).length
      notes = noteRows.length
      firstLine = noteRows[0]!.line
      i = end
    }
  }
  // Blank rows, then a totals row.
  while (i >= 0 && (rows[i]!.dropped || filled(rows[i]!) === 0)) {
    if (!rows[i]!.dropped) pending++
    i--
  }
  let total = false
  const last = rows[i]
  if (
    i > 0 && last !== undefined && TOTAL.test(firstText(last) ?? "") && countOf(last, TYPED) > 0 && countOf(last, TEXT) === 1 &&
    isSummary(last, rows.slice(0, i).filter((r) => !r.dropped && filled(r) > 0), width)
  ) {
    counted += pending + 1
    firstLine = last.line
    total = true
  }
  return counted > 0 ? { rows: counted, line: firstLine, total, notes } : undefined
}
