import * as A from "apache-arrow"
import type * as ParquetWasm from "parquet-wasm"

// Writer settings of one Parquet data file, as plain data (they cross into the encoder thread),
// and the per-column choice of dictionary encoding.

export interface ParquetFileSpec {
  readonly rowGroupRows: number
  /** Table schema JSON stored in the footer (`iceberg.schema`), as Java does. */
  readonly icebergSchemaJson: string
  /** Columns written without dictionary encoding (their values are too varied to gain from it). */
  readonly plainColumns: ReadonlyArray<string>
}

/** Writer properties of a file; `Parquet` is the loaded module (only encoding threads load it). */
export const writerProperties = (Parquet: typeof ParquetWasm, spec: ParquetFileSpec): ParquetWasm.WriterProperties => {
  let builder = new Parquet.WriterPropertiesBuilder()
    // Pages are compressed with zstd after the writer (parquet-compression.ts): Node's own zstd is
    // about three times as fast as the one compiled into parquet-wasm.
    .setCompression(Parquet.Compression.UNCOMPRESSED)
    .setMaxRowGroupSize(spec.rowGroupRows)
    .setCreatedBy("ingest iceberg writer")
    .setKeyValueMetadata(new Map([["iceberg.schema", spec.icebergSchemaJson]]))
    // Min/max per column chunk (what readers prune row groups by), not per page as well:
    // page statistics cost about a tenth of the encoding time and Iceberg readers skip files by
    // the manifest's bounds first.
    .setStatisticsEnabled(Parquet.EnabledStatistics.Chunk)
  for (const column of spec.plainColumns) builder = builder.setColumnDictionaryEnabled(column, false)
  return builder.build()
}

/**
 * The Parquet writer gives up on a column's dictionary once it outgrows this (arrow-rs's default
 * dictionary page limit) and rewrites the column plainly: all the hashing before was wasted, and
 * the pages written before the fallback stay larger than plain ones.
 */
const dictionaryPageLimit = 1024 * 1024

/** Rows of the first batch looked at per column. */
const sampleRows = 8192
/** Below this many sampled rows the guess is too rough: the writer's default (dictionary) stays. */
const minSampleRows = 1024

/** Byte width of a fixed-width column's values as Parquet stores them; undefined for booleans. */
const fixedWidthOf = (type: A.DataType): number | undefined => {
  if (A.DataType.isDecimal(type)) return type.precision <= 9 ? 4 : type.precision <= 18 ? 8 : 16
  if (A.DataType.isInt(type)) return type.bitWidth / 8
  if (A.DataType.isFloat(type)) return type.precision === A.Precision.DOUBLE ? 8 : 4
  if (A.DataType.isDate(type)) return 4
  if (A.DataType.isTimestamp(type)) return 8
  return undefined
}

const isValid = (data: A.Data, i: number): boolean => {
  const bitmap = data.nullBitmap
  if (data.nullCount === 0 || bitmap === undefined || bitmap.length === 0) return true
  const bit = data.offset + i
  return (bitmap[bit >> 3]! & (1 << (bit & 7))) !== 0
}

/** A value of row `i` usable as a Set key, and its width in bytes. */
const keyReader = (data: A.Data): ((i: number) => { key: unknown; width: number }) | undefined => {
  const offsets = data.valueOffsets as Int32Array | undefined
  const values = data.values as ArrayBufferView & ArrayLike<number | bigint>
  if (offsets !== undefined) {
    const bytes = values as unknown as Uint8Array
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    return (i) => {
      const start = offsets[i]!
      const end = offsets[i + 1]!
      // Parquet BYTE_ARRAY values carry a 4-byte length.
      return { key: view.toString("latin1", start, end), width: end - start + 4 }
    }
  }
  const width = fixedWidthOf(data.type)
  if (width === undefined) return undefined
  // Arrow JS slices value buffers along with the data (only the validity bitmap keeps the offset).
  const perRow = values.length / data.length
  if (perRow === 1) return (i) => ({ key: values[i], width })
  // Decimals: several 32-bit words per value.
  return (i) => {
    let key = ""
    for (let k = 0; k < perRow; k++) key += `${String(values[i * perRow + k])},`
    return { key, width }
  }
}

/**
 * Names of the columns whose first batch shows too many distinct values for a dictionary to fit
 * a row group, or to make it smaller: distinct values are counted in the first and in the second
 * half of a sample, and the rate at which new ones keep appearing is projected over a row group.
 */
export const plainColumnsOf = (batch: A.RecordBatch, rowGroupRows: number): Array<string> => {
  const plain: Array<string> = []
  const rows = Math.min(batch.numRows, sampleRows)
  if (rows < minSampleRows) return plain
  const half = rows >> 1
  batch.schema.fields.forEach((field, index) => {
    const data = batch.data.children[index]
    if (data === undefined) return
    const read = keyReader(data)
    if (read === undefined) return
    const seen = new Set<unknown>()
    let distinctInFirstHalf = 0
    let bytes = 0
    let valid = 0
    for (let i = 0; i < rows; i++) {
      if (i === half) distinctInFirstHalf = seen.size
      if (!isValid(data, i)) continue
      const { key, width } = read(i)
      valid++
      bytes += width
      seen.add(key)
    }
    if (valid === 0) return
    const newPerRow = (seen.size - distinctInFirstHalf) / (rows - half)
    const projectedDistinct = Math.min(rowGroupRows, seen.size + newPerRow * Math.max(0, rowGroupRows - rows))
    const width = bytes / valid
    if (projectedDistinct * width > dictionaryPageLimit || !dictionaryPays(projectedDistinct, width, rowGroupRows)) plain.push(field.name)
  })
  return plain
}

/**
 * Whether a dictionary makes a row group's column chunk clearly smaller: its values once plus an
 * index per row, against every value plainly. Values that hardly repeat (measurements, amounts,
 * ids) gain nothing, and hashing each of them costs more than writing it (a numeric file of
 * mostly distinct decimals encoded in half the time without).
 */
const dictionaryPays = (distinct: number, width: number, rows: number): boolean => {
  const indexBits = Math.max(1, Math.ceil(Math.log2(Math.max(2, distinct))))
  return distinct * width + (rows * indexBits) / 8 < 0.75 * rows * width
}
