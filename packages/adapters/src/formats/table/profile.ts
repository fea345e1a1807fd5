import type { Column, ColumnBatch, ColumnWithSamples, FileFormat, FileProfile } from "@ingest/domain"
import { detachString } from "../values/raw-cells.ts"
import { makeCoercer, previewValue } from "../values/coercion.ts"
import type { CsvFields } from "../csv/byte-tokenizer.ts"
import { type ColumnPacker, makeColumnPacker, PackError } from "../values/packing.ts"
import { ColumnInference, type ColumnHint, type InferenceState } from "../values/inference.ts"
import { columnNames, nullPrototypeRow, storableText } from "../column-names.ts"
import { type DeclaredType, RawReadError, type RawTable } from "../types.ts"

/** Column-major batch of raw cells; a column array may be missing (all null) or short. */
export interface ColumnarBatch {
  readonly length: number
  readonly columns: ReadonlyArray<ReadonlyArray<unknown> | undefined>
}

/** A parsed table as profiling and reading consume it. */
export interface TableSource {
  /** Labels in file order; may grow while batches are consumed (JSON keys first seen later). */
  readonly labels: ReadonlyArray<string>
  readonly declaredTypes?: ReadonlyArray<DeclaredType | undefined> | undefined
  readonly readOptions: Record<string, unknown>
  /** Strings are text with null tokens, classified fully (CSV). */
  readonly textValues: boolean
  readonly batches: AsyncIterable<ColumnarBatch>
}

/** Adapts a row-major RawTable (spreadsheets, parquet, avro) to a TableSource. */
export const fromRawTable = (raw: RawTable): TableSource => ({
  labels: raw.labels,
  declaredTypes: raw.declaredTypes,
  readOptions: raw.readOptions,
  textValues: false,
  batches: (async function*() {
    for await (const rows of raw.batches) {
      const width = raw.labels.length
      const columns: Array<Array<unknown>> = []
      for (let j = 0; j < width; j++) columns.push(new Array(rows.length))
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r]!
        for (let j = 0; j < width; j++) columns[j]![r] = row[j] ?? null
      }
      yield { length: rows.length, columns }
    }
  })()
})

export const PREVIEW_ROWS = 100
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
  readonly readOptions: Record<string, unknown>
}

/** One pass over the whole source: types, nullability, samples, first rows, row count. */
export const scanSource = async (source: TableSource): Promise<ProfileScan> => {
  const inference: Array<ColumnInference> = []
  const preview: Array<Array<unknown>> = []
  let rows = 0
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
    readOptions: source.readOptions
  }
}

/** The profile a scan (or merged scans) gives: column names, types, samples and preview rows. */
export const finishProfile = (scan: ProfileScan, format: FileFormat): FileProfile => {
  const { labels, rows } = scan
  if (labels.length === 0) throw new RawReadError("corrupt", "the file has no columns")
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
    readOptions: { ...scan.readOptions, format, parseHints: { ...parseHints } }
  }
}

/** One pass over the whole table: types, nullability, samples, first rows, row count. */
export const profileSource = async (source: TableSource, format: FileFormat): Promise<FileProfile> =>
  finishProfile(await scanSource(source), format)

/** Where a target column's values come from: its index in the profile (= the source). */
const sourceIndexes = (profile: FileProfile, target: ReadonlyArray<Column>): Array<number> =>
  target.map((column) => {
    const index = profile.columns.findIndex((c) => c.name === column.name)
    if (index === -1) throw new RawReadError("unsupported", `column "${column.name}" is not in the file`)
    return index
  })

/** Rows per packed batch, and the size at which a batch is cut earlier. */
const PACKED_BATCH_ROWS = 32_768
const PACKED_BATCH_BYTES = 16 * 1024 * 1024

/**
 * Streams the table coerced to `target` as batches of packed columns (PackedColumn of batch.ts);
 * a value that does not fit fails naming row and column.
 */
export const readSource = (
  source: TableSource,
  profile: FileProfile,
  target: ReadonlyArray<Column>
): AsyncGenerator<ColumnBatch> =>
  pack(source.batches, (packer, batch, column) => packer.appendAll(batch.columns[column], batch.length), {
    profile,
    target,
    textValues: source.textValues,
    rowsBefore: 0
  })

/** readSource for CSV records read as bytes (csv-bytes.ts). */
export const readCsvFieldSource = (
  fields: AsyncIterable<CsvFields>,
  profile: FileProfile,
  target: ReadonlyArray<Column>,
  /** Data rows of the file before the first of these records (a part of a file). */
  rowsBefore: number
): AsyncGenerator<ColumnBatch> =>
  pack(fields, (packer, batch, column) => packer.appendFields(batch, column), {
    profile,
    target,
    textValues: true,
    rowsBefore
  })

async function* pack<B extends { readonly length: number }>(
  batches: AsyncIterable<B>,
  append: (packer: ColumnPacker, batch: B, column: number) => void,
  options: {
    readonly profile: FileProfile
    readonly target: ReadonlyArray<Column>
    readonly textValues: boolean
    readonly rowsBefore: number
  }
): AsyncGenerator<ColumnBatch> {
  const { profile, target } = options
  let rowsBefore = options.rowsBefore
  const indexes = sourceIndexes(profile, target)
  const hints = (profile.readOptions["parseHints"] ?? {}) as Record<string, ColumnHint | undefined>
  const packers = target.map((column, i) => makeColumnPacker(column, hints[profile.columns[indexes[i]!]!.name], options.textValues))
  const take = (): ColumnBatch => {
    const columns = packers.map((packer) => packer.take())
    return { length: columns[0]?.length ?? 0, columns }
  }
  let pending = 0
  for await (const batch of batches) {
    const n = batch.length
    for (let i = 0; i < target.length; i++) {
      try {
        append(packers[i]!, batch, indexes[i]!)
      } catch (error) {
        if (!(error instanceof PackError)) throw error
        throw new RawReadError("corrupt", `row ${rowsBefore + error.index + 1}, column "${target[i]!.name}": ${error.message}`)
      }
    }
    rowsBefore += n
    pending += n
    let bytes = 0
    for (const packer of packers) bytes += packer.bytes
    if (pending >= PACKED_BATCH_ROWS || bytes >= PACKED_BATCH_BYTES) {
      yield take()
      pending = 0
    }
  }
  if (pending > 0) yield take()
}
