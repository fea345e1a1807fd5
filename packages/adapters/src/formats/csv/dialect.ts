import { findFurtherTable, findLeading, isHeaderRow, isTypedText, type LayoutRow } from "../layout.ts"
import type { CsvDialect } from "../types.ts"

/**
 * CSV dialect detection on the head of the file.
 * - Delimiter and quote: every pair of `, ; \t |` and `" '` splits the first records; the pair
 *   whose modal field count (at least 2) covers the most records wins, then the one with more
 *   fields, then the earlier in that list. No pair with two fields → one column, `,`. A comma
 *   followed by a space in nearly every field is the separator `", "`. When no pair splits at
 *   least half the records alike, runs of spaces are tried as the separator, and win when they
 *   split nearly every record alike into columns of which one holds numbers or dates.
 * - Escape: RFC 4180 doubled quotes, unless a backslash-escaped reading removes every malformed
 *   closing quote (`"a\"b"`).
 * - Header: the first record is a header when one of its values does not fit the type of its
 *   column in the following records (`name` above integers), or when it is all empty; it is data
 *   when its values fit every typed column; when no column has a type but text (all STRING),
 *   it is a header unless its values are numbers, dates or booleans themselves.
 * - Layout (layout.ts): a preamble before the header, several header rows, a further table after
 *   a blank line.
 */
export interface SniffResult {
  readonly dialect: CsvDialect
  /** Records before the header rows (a preamble). */
  readonly skip: number
  readonly headerRows: number
  /** Number of columns: the header's, or the most common field count of the data. */
  readonly width: number
  /** The sampled records, blank lines included (marked dropped), for the layout and the preview. */
  readonly records: ReadonlyArray<LayoutRow>
  /** A further table after the first, when the sample shows one. */
  readonly furtherTable: { readonly dataRows: number; readonly line: number } | undefined
}

/** What a user fixed instead of detecting it. */
export interface DialectChoice {
  readonly delimiter?: string | undefined
  readonly skipInitialSpace?: boolean | undefined
  readonly quote?: string | undefined
  readonly escape?: string | undefined
  /** Records before the header rows. */
  readonly skip?: number | undefined
  readonly headerRows?: number | undefined
}

const DELIMITERS = [",", ";", "\t", "|"] as const
const QUOTES = ['"', "'"] as const
const SCORE_RECORDS = 200
const HEADER_RECORDS = 1000
/** Records the layout looks at (preamble, header rows, a further table). */
const LAYOUT_RECORDS = 5000

interface Split {
  readonly records: Array<LayoutRow & { readonly cells: Array<string> }>
  readonly malformed: number
}

/**
 * Simple record splitter for samples (clarity over speed): up to `maxRecords` records that are
 * not blank; drops a final cut record. Blank lines are kept, marked `dropped` as the tokenizers
 * drop them.
 */
export const splitRecords = (text: string, dialect: CsvDialect, maxRecords: number, atEof: boolean): Split => {
  const records: Array<LayoutRow & { readonly cells: Array<string> }> = []
  const { delimiter, quote, escape, newline } = dialect
  const skipSpaces = dialect.skipInitialSpace === true
  const n = text.length
  let malformed = 0
  let i = 0
  let line = 1
  let count = 0
  while (i < n && count < maxRecords) {
    const fields: Array<string> = []
    const startLine = line
    let field = ""
    let quoted = false
    let recordDone = false
    let atFieldStart = true
    while (i < n) {
      const ch = text[i]!
      if (atFieldStart && skipSpaces && ch === " ") {
        i++
        continue
      }
      if (field === "" && atFieldStart && quote !== "" && ch === quote) {
        i++
        quoted = true
        atFieldStart = false
        let closed = false
        while (i < n) {
          const c = text[i]!
          if (c === newline) line++
          if (escape === "\\" && c === "\\" && i + 1 < n) {
            field += text[i + 1]
            i += 2
          } else if (c === quote) {
            if (escape === quote && text[i + 1] === quote) {
              field += quote
              i += 2
            } else {
              i++
              closed = true
              break
            }
          } else {
            field += c
            i++
          }
        }
        if (!closed) break
        if (i < n && text[i] !== delimiter && text[i] !== newline && text[i] !== "\r") malformed++
        continue
      }
      atFieldStart = false
      if (ch === delimiter) {
        fields.push(field)
        field = ""
        atFieldStart = true
        i++
      } else if (ch === newline) {
        i++
        line++
        recordDone = true
        break
      } else {
        if (!(ch === "\r" && text[i + 1] === newline)) field += ch
        i++
      }
    }
    fields.push(field)
    if (recordDone || (atEof && i >= n)) {
      const dropped = fields.length === 1 && fields[0] === "" && !quoted
      records.push({ cells: fields, line: startLine, dropped })
      if (!dropped) count++
    }
  }
  return { records, malformed }
}

const kept = <R extends LayoutRow>(records: ReadonlyArray<R>): Array<R> => records.filter((r) => !r.dropped)

const modal = (records: ReadonlyArray<LayoutRow>): { count: number; share: number } => {
  const counts = new Map<number, number>()
  for (const r of records) counts.set(r.cells.length, (counts.get(r.cells.length) ?? 0) + 1)
  let best = 1
  let bestFreq = 0
  for (const [count, freq] of counts) {
    if (freq > bestFreq || (freq === bestFreq && count > best)) {
      best = count
      bestFreq = freq
    }
  }
  return { count: best, share: records.length === 0 ? 0 : bestFreq / records.length }
}

/** Whether nearly every field after a comma starts with one space: the separator is ", ". */
const commaSpace = (records: ReadonlyArray<LayoutRow & { readonly cells: Array<string> }>): boolean => {
  let fields = 0
  let spaced = 0
  for (const r of records) {
    for (let j = 1; j < r.cells.length; j++) {
      const cell = r.cells[j]!
      if (cell === "") continue
      fields++
      if (cell.startsWith(" ") && !cell.startsWith("  ")) spaced++
    }
  }
  return fields >= 4 && spaced / fields >= 0.9
}

/** Space-separated columns: nearly every record split alike, and some column of numbers or dates. */
const spaceSeparated = (sample: string, newline: "\n" | "\r", atEof: boolean): CsvDialect | undefined => {
  const dialect: CsvDialect = { delimiter: " ", quote: '"', escape: '"', newline, skipInitialSpace: true }
  const records = kept(splitRecords(sample, dialect, SCORE_RECORDS, atEof).records)
  const { count, share } = modal(records)
  if (count < 2 || share < 0.8) return undefined
  const rows = records.filter((r) => r.cells.length === count).slice(1)
  for (let j = 0; j < count; j++) {
    const typed = rows.filter((r) => isTypedText(r.cells[j] ?? "")).length
    if (rows.length > 0 && typed / rows.length >= 0.9) return dialect
  }
  return undefined
}

/** Whether `quote` opens a field somewhere in the sample: right after a delimiter or at a line start. */
const opensFields = (sample: string, delimiter: string, quote: string): boolean => {
  for (let i = sample.indexOf(quote); i !== -1; i = sample.indexOf(quote, i + 1)) {
    const before = i === 0 ? "\n" : sample[i - 1]
    if (before === delimiter || before === "\n" || before === "\r") return true
  }
  return false
}

const chooseDialect = (sample: string, atEof: boolean, given: DialectChoice): CsvDialect => {
  const newline: "\n" | "\r" = sample.includes("\n") || !sample.includes("\r") ? "\n" : "\r"
  let best: { dialect: CsvDialect; count: number; share: number; quoting: boolean } | undefined
  const delimiters = given.delimiter !== undefined ? [given.delimiter] : DELIMITERS
  const quotes = given.quote !== undefined ? [given.quote] : QUOTES
  for (const delimiter of delimiters) {
    for (const quote of quotes) {
      const dialect: CsvDialect = {
        delimiter,
        quote,
        escape: given.escape ?? quote,
        newline,
        ...(given.skipInitialSpace === true ? { skipInitialSpace: true } : {})
      }
      const records = kept(splitRecords(sample, dialect, SCORE_RECORDS, atEof).records)
      const { count, share } = modal(records)
      if (count < 2 && given.delimiter === undefined) continue
      const rounded = Math.round(share * 20) / 20
      const quoting = quote !== "" && opensFields(sample, delimiter, quote)
      // Equally consistent readings: the one whose quote really opens fields wins (a quote that
      // never does would leave the delimiters inside quoted fields to split them), then more fields.
      if (
        best === undefined || rounded > best.share ||
        (rounded === best.share && (quoting && !best.quoting || (quoting === best.quoting && count > best.count)))
      ) {
        best = { dialect, count, share: rounded, quoting }
      }
    }
  }
  if (given.delimiter === undefined && (best === undefined || best.share < 0.5)) {
    const spaced = spaceSeparated(sample, newline, atEof)
    if (spaced !== undefined) return given.quote !== undefined ? { ...spaced, quote: given.quote, escape: given.escape ?? given.quote } : spaced
  }
  let dialect: CsvDialect = best?.dialect ?? { delimiter: ",", quote: '"', escape: '"', newline }
  if (given.skipInitialSpace === undefined && dialect.delimiter === ",") {
    if (commaSpace(kept(splitRecords(sample, dialect, SCORE_RECORDS, atEof).records))) dialect = { ...dialect, skipInitialSpace: true }
  }
  if (given.escape === undefined && dialect.quote !== "") {
    const plain = splitRecords(sample, dialect, HEADER_RECORDS, atEof)
    if (plain.malformed > 0) {
      const backslash = { ...dialect, escape: "\\" }
      if (splitRecords(sample, backslash, HEADER_RECORDS, atEof).malformed === 0) dialect = backslash
    }
  }
  return dialect
}

export const sniffCsv = (sample: string, atEof: boolean, given: DialectChoice = {}): SniffResult => {
  const dialect = chooseDialect(sample, atEof, given)
  const all = splitRecords(sample, dialect, LAYOUT_RECORDS, atEof).records
  const rows = kept(all)
  const records = rows.slice(0, HEADER_RECORDS)
  // The plain reading: a header (or none) on the first record.
  const dataWidth = modal(records.slice(1)).count
  const firstWidth = records[0]?.cells.length ?? 1
  const plainWidth = Math.max(firstWidth, records.length > 1 ? dataWidth : 0)
  const plainHeader = records.length > 0 && isHeaderRow(records[0]!, records.slice(1).filter((r) => r.cells.some((c) => c !== "")), plainWidth)
  // The layout: a preamble, several header rows.
  const tableWidth = modal(rows).count
  const leading = findLeading(all, tableWidth, { skip: given.skip, headerRows: given.headerRows })
  const skip = leading.skip
  let headerRows: number
  let width: number
  if (skip === 0 && given.headerRows === undefined && leading.headerRows <= 1) {
    headerRows = plainHeader ? 1 : 0
    width = plainHeader ? plainWidth : modal(records).count
  } else {
    headerRows = leading.headerRows
    const header = rows.slice(skip, skip + headerRows)
    const data = rows.slice(skip + headerRows, skip + headerRows + HEADER_RECORDS)
    width = Math.max(modal(data).count, ...header.map((r) => r.cells.length))
  }
  // A further table: searched from the first data record on.
  const dataStart = all.indexOf(rows[skip + headerRows]!)
  const furtherTable = dataStart === -1 ? undefined : findFurtherTable(all, dataStart, width)
  return { dialect, skip, headerRows, width: Math.max(1, width), records: all, furtherTable }
}
