import type { ColumnWithSamples, FileProfile } from "@ingest/domain"
import { columnNames, nullPrototypeRow, storableText } from "../column-names.ts"
import { FileReadError } from "../errors.ts"
import { PREVIEW_ROWS } from "../limits.ts"
import type { ColumnHint, FormatReadOptions, ReadOptions } from "../read-options.ts"
import type { DeclaredType, RangeEnd, ReadingReport, TableSource } from "../types.ts"
import { makeCoercer, previewValue } from "../values/coercion.ts"
import { ColumnInference, type InferenceState } from "../values/inference.ts"
import { detachString } from "../values/raw-cells.ts"
import { type CsvFields, MISSING_FIELD } from "../csv/byte-tokenizer.ts"
import { fieldText } from "../values/byte-grammar.ts"

/**
 * Profiling: one pass over a table (TableSource) infers every column's type over all its values
 * (values/inference.ts), keeps samples and the first rows, and counts the rows; the profile turns
 * that into column names, types and preview rows coerced to those types.
 */

const MAX_PREVIEW_RAW_TEXT = 65_536

/**
 * What one pass over a table (or a part of a CSV file) saw: per column what inference needs,
 * the first raw rows and the row count. Plain data: parts profiled on other threads are merged.
 */
export interface ProfileScan {
  readonly labels: ReadonlyArray<string>
  readonly declaredTypes?: ReadonlyArray<DeclaredType | undefined> | undefined
  readonly textValues: boolean
  readonly columns: ReadonlyArray<InferenceState>
  readonly preview: ReadonlyArray<ReadonlyArray<unknown>>
  readonly rows: number
  readonly readOptions: FormatReadOptions
  /** A scan of a byte range: how the range ended. */
  readonly rangeEnd?: RangeEnd | undefined
  /** How the table was read (the preview's dialect and warnings). */
  readonly report?: ReadingReport | undefined
}

/** The text of row `r` of column `j` of CSV fields (null when the record was short), cut for a preview. */
const previewText = (fields: CsvFields, j: number, r: number): string | null => {
  const at = j * fields.capacity + r
  const start = fields.starts[at]!
  if (start === MISSING_FIELD) return null
  const buf = start >= 0 ? fields.bytes : fields.unescaped
  const s = start >= 0 ? start : -start - 2
  // A character takes at most 4 bytes: the cut text is at least MAX_PREVIEW_RAW_TEXT characters.
  const e = Math.min(fields.ends[at]!, s + 4 * MAX_PREVIEW_RAW_TEXT)
  const text = fieldText(buf, s, e)
  return detachString(text.length > MAX_PREVIEW_RAW_TEXT ? text.slice(0, MAX_PREVIEW_RAW_TEXT) : text)
}

/** One pass over the whole source: types, nullability, samples, first rows, row count. */
export const scanSource = async (source: TableSource): Promise<ProfileScan> => {
  const inference: Array<ColumnInference> = []
  const preview: Array<Array<unknown>> = []
  let rows = 0
  for await (const fields of source.fields ?? []) {
    const labels = source.labels
    while (inference.length < labels.length) inference.push(new ColumnInference(true, rows))
    for (let j = 0; j < inference.length; j++) inference[j]!.observeFields(fields, j)
    for (let r = 0; r < fields.length && preview.length < PREVIEW_ROWS; r++) {
      const row: Array<string | null> = []
      for (let j = 0; j < inference.length; j++) row.push(previewText(fields, j, r))
      preview.push(row)
    }
    rows += fields.length
  }
  for await (const batch of source.batches) {
    const labels = source.labels
    while (inference.length < labels.length) {
      inference.push(new ColumnInference(source.textValues, rows, source.declaredTypes?.[inference.length]))
    }
    const n = batch.length
    for (let j = 0; j < inference.length; j++) inference[j]!.observeAll(batch.columns[j], n)
    for (let r = 0; r < n && preview.length < PREVIEW_ROWS; r++) {
      const row: Array<unknown> = []
      for (let j = 0; j < inference.length; j++) {
        const v = batch.columns[j]?.[r] ?? null
        row.push(typeof v === "string" ? detachString(v.length > MAX_PREVIEW_RAW_TEXT ? v.slice(0, MAX_PREVIEW_RAW_TEXT) : v) : v)
      }
      preview.push(row)
    }
    rows += n
  }
  const labels = source.labels
  while (inference.length < labels.length) inference.push(new ColumnInference(source.textValues, rows, source.declaredTypes?.[inference.length]))
  return {
    labels: [...labels],
    declaredTypes: source.declaredTypes,
    textValues: source.textValues,
    columns: inference.map((column) => column.state()),
    preview,
    rows,
    readOptions: source.readOptions,
    rangeEnd: source.rangeEnd?.(),
    report: source.report?.()
  }
}

/** The profile a scan (or merged scans) gives: column names, types, samples and preview rows. */
export const finishProfile = (scan: ProfileScan): FileProfile => {
  const { labels, rows } = scan
  if (labels.length === 0) throw new FileReadError("corrupt", "the file has no columns")
  const names = columnNames(labels)
  const parseHints: Record<string, ColumnHint> = Object.create(null)
  const columns: Array<ColumnWithSamples> = scan.columns.map((state, j) => {
    const inferred = ColumnInference.fromState(state).result(rows)
    if (inferred.hint !== undefined) parseHints[names[j]!] = inferred.hint
    return {
      name: names[j]!,
      type: inferred.type,
      nullable: inferred.nullable,
      ...(inferred.precision !== undefined ? { precision: inferred.precision } : {}),
      ...(inferred.scale !== undefined ? { scale: inferred.scale } : {}),
      ...(inferred.bitWidth !== undefined ? { bitWidth: inferred.bitWidth } : {}),
      sampleValues: inferred.sampleValues.map(storableText)
    }
  })
  const coercers = columns.map((c) => makeCoercer({ ...c, nullable: true }, parseHints[c.name], scan.textValues))
  const previewRows = scan.preview.slice(0, PREVIEW_ROWS).map((raw) => {
    const row = nullPrototypeRow()
    for (let j = 0; j < columns.length; j++) {
      const column = columns[j]!
      let value: unknown
      try {
        value = previewValue(coercers[j]!(raw[j] ?? null), column.type)
      } catch {
        value = raw[j] === null || raw[j] === undefined ? null : String(raw[j])
      }
      row[column.name] = typeof value === "string" ? storableText(value) : value
    }
    return row
  })
  return {
    columns,
    sourceLabels: labels.map(storableText),
    previewRows,
    totalRows: rows,
    readOptions: { ...scan.readOptions, parseHints: { ...parseHints } } satisfies ReadOptions,
    ...(scan.report !== undefined ? { dialect: scan.report.dialect, warnings: [...scan.report.warnings] } : {})
  }
}

/** One pass over the whole table: types, nullability, samples, first rows, row count. */
export const profileSource = async (source: TableSource): Promise<FileProfile> => finishProfile(await scanSource(source))
