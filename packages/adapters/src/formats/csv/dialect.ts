import type { CsvDialect } from "../types.ts"
import { ColumnInference } from "../values/inference.ts"
import { isNullToken, parseBooleanText, scanNumber, scanTemporal, NUM_NONE, TEMPORAL_NONE } from "../values/text-grammar.ts"

/**
 * CSV dialect detection on the head of the file.
 * - Delimiter and quote: every pair of `, ; \t |` and `" '` splits the first records; the pair
 *   whose modal field count (at least 2) covers the most records wins, then the one with more
 *   fields, then the earlier in that list. No pair with two fields → one column, `,`.
 * - Escape: RFC 4180 doubled quotes, unless a backslash-escaped reading removes every malformed
 *   closing quote (`"a\"b"`).
 * - Header: the first record is a header when one of its values does not fit the type of its
 *   column in the following records (`name` above integers), or when it is all empty; it is data
 *   when its values fit every typed column; when no column has a type but text (all STRING),
 *   it is a header unless its values are numbers, dates or booleans themselves.
 */
export interface SniffResult {
  readonly dialect: CsvDialect
  readonly hasHeader: boolean
  /** Number of columns: the header's, or the most common field count of the data. */
  readonly width: number
}

const DELIMITERS = [",", ";", "\t", "|"] as const
const QUOTES = ['"', "'"] as const
const SCORE_RECORDS = 200
const HEADER_RECORDS = 1000

interface Split {
  readonly records: Array<Array<string>>
  readonly malformed: number
}

/** Simple record splitter for samples (clarity over speed); drops a final cut record. */
const splitRecords = (text: string, dialect: CsvDialect, maxRecords: number, atEof: boolean): Split => {
  const records: Array<Array<string>> = []
  const { delimiter, quote, escape, newline } = dialect
  const n = text.length
  let malformed = 0
  let i = 0
  while (i < n && records.length < maxRecords) {
    const fields: Array<string> = []
    let field = ""
    let recordDone = false
    while (i < n) {
      const ch = text[i]!
      if (field === "" && quote !== "" && ch === quote) {
        i++
        let closed = false
        while (i < n) {
          const c = text[i]!
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
      if (ch === delimiter) {
        fields.push(field)
        field = ""
        i++
      } else if (ch === newline) {
        i++
        recordDone = true
        break
      } else {
        if (!(ch === "\r" && text[i + 1] === newline)) field += ch
        i++
      }
    }
    fields.push(field)
    if (recordDone || (atEof && i >= n)) {
      if (!(fields.length === 1 && fields[0] === "")) records.push(fields)
    }
  }
  return { records, malformed }
}

const modal = (records: Array<Array<string>>): { count: number; share: number } => {
  const counts = new Map<number, number>()
  for (const r of records) counts.set(r.length, (counts.get(r.length) ?? 0) + 1)
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

const isTypedText = (s: string): boolean =>
  !isNullToken(s) && (parseBooleanText(s) !== undefined || scanNumber(s) !== NUM_NONE || scanTemporal(s) !== TEMPORAL_NONE)

const detectHeader = (records: Array<Array<string>>, width: number): boolean => {
  const first = records[0]
  if (first === undefined) return false
  if (first.every((v) => v.trim() === "")) return true
  const rest = records.slice(1)
  let headerEvidence = 0
  let dataEvidence = 0
  for (let j = 0; j < width; j++) {
    const value = first[j]
    if (value === undefined || isNullToken(value)) continue
    const column = new ColumnInference(true)
    for (const r of rest) {
      const v = r[j]
      if (v !== undefined) column.observeText(v)
    }
    if (column.nonNull === 0) continue
    const type = column.result(rest.length).type
    if (type === "STRING") continue
    const withFirst = new ColumnInference(true)
    withFirst.observeText(value)
    for (const r of rest) {
      const v = r[j]
      if (v !== undefined) withFirst.observeText(v)
    }
    if (withFirst.result(records.length).type === "STRING") headerEvidence++
    else dataEvidence++
  }
  if (headerEvidence > 0) return true
  if (dataEvidence > 0) return false
  return !first.some(isTypedText)
}

export const sniffCsv = (sample: string, atEof: boolean): SniffResult => {
  const newline: "\n" | "\r" = sample.includes("\n") || !sample.includes("\r") ? "\n" : "\r"
  let best: { dialect: CsvDialect; count: number; share: number } | undefined
  for (const delimiter of DELIMITERS) {
    for (const quote of QUOTES) {
      const dialect: CsvDialect = { delimiter, quote, escape: quote, newline }
      const { records } = splitRecords(sample, dialect, SCORE_RECORDS, atEof)
      const { count, share } = modal(records)
      if (count < 2) continue
      const rounded = Math.round(share * 20) / 20
      if (
        best === undefined ||
        rounded > best.share ||
        (rounded === best.share && count > best.count)
      ) {
        best = { dialect, count, share: rounded }
      }
    }
  }
  let dialect: CsvDialect = best?.dialect ?? { delimiter: ",", quote: '"', escape: '"', newline }
  const plain = splitRecords(sample, dialect, HEADER_RECORDS, atEof)
  let records = plain.records
  if (plain.malformed > 0) {
    const backslash = { ...dialect, escape: "\\" }
    const escaped = splitRecords(sample, backslash, HEADER_RECORDS, atEof)
    if (escaped.malformed === 0) {
      dialect = backslash
      records = escaped.records
    }
  }
  const dataWidth = modal(records.slice(1)).count
  const firstWidth = records[0]?.length ?? 1
  const hasHeader = detectHeader(records, Math.max(firstWidth, records.length > 1 ? dataWidth : 0))
  const width = hasHeader ? Math.max(firstWidth, records.length > 1 ? dataWidth : 0) : modal(records).count
  return { dialect, hasHeader, width: Math.max(1, width) }
}
