import { Schema } from "effect"
import type { FileFormat } from "@ingest/domain"
import { FileReadError } from "./errors.ts"
import { textEncodings } from "./text-encoding.ts"

/**
 * What a profile keeps of its reading so that the import reads the file the same way: the
 * profile's `readOptions`, stored with it (the domain treats it as opaque). One schema per kind of
 * format; `format-reader.ts` decodes the stored value with the schema of the file's format before
 * a read, so everything past that point works on typed options. Older profiles also hold a
 * `format` key, which is ignored.
 */

const Count = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))
const Positive = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1)))
const OneChar = Schema.String.pipe(Schema.check(Schema.isBetweenLength(1, 1)))
const AtMostOneChar = Schema.String.pipe(Schema.check(Schema.isMaxLength(1)))

/** How a re-read parses a column's text: the date order inference settled on. */
export const ColumnHint = Schema.Struct({
  dateOrder: Schema.optionalKey(Schema.Literals(["ymd", "dmy", "mdy"]))
})
export type ColumnHint = typeof ColumnHint.Type

/** Per profile column name. */
const ParseHints = Schema.Record(Schema.String, ColumnHint)

/** A record boundary noted while profiling: byte offset, data rows before it, its line. */
export const CsvSplit = Schema.Struct({ byte: Count, rows: Count, line: Positive })
export type CsvSplit = typeof CsvSplit.Type

/** CSV: encoding, dialect, header, width, what the tokenizer counted, and split points for parallel reads. */
export const CsvReadOptions = Schema.Struct({
  encoding: Schema.Literals(textEncodings),
  /** False when a BOM decided the encoding. */
  encodingGuessed: Schema.Boolean,
  delimiter: OneChar,
  /** "" when fields are never quoted. */
  quote: AtMostOneChar,
  escape: AtMostOneChar,
  newline: Schema.Literals(["\n", "\r"]),
  /** Whether the file has header rows (older profiles only say this). */
  header: Schema.Boolean,
  /** Header rows, when not one (or none: see `header`). */
  headerRows: Schema.optionalKey(Count),
  /** Records before the header rows that are not read (a preamble). */
  skipRecords: Schema.optionalKey(Count),
  /** Spaces before a field are not part of it (the separator `", "`, or runs of spaces). */
  skipInitialSpace: Schema.optionalKey(Schema.Boolean),
  /** Data records to read, when records after them are not (a trailer, a further table). */
  dataRows: Schema.optionalKey(Count),
  columns: Positive,
  rowsWithExtraFields: Schema.optionalKey(Count),
  firstLineWithExtraFields: Schema.optionalKey(Count),
  rowsWithMissingFields: Schema.optionalKey(Count),
  splits: Schema.optionalKey(Schema.Array(CsvSplit))
})
export type CsvReadOptions = typeof CsvReadOptions.Type

/** JSON re-detects its encoding on every reading: the stored one is informative. */
export const JsonReadOptions = Schema.Struct({ encoding: Schema.optionalKey(Schema.Literals(["utf-8", "utf-16le", "utf-16be"])) })
export type JsonReadOptions = typeof JsonReadOptions.Type

/**
 * The sheet, and where the table is on it (0-based sheet rows and columns): header rows from
 * `headerRow`, data rows `firstRow..lastRow`, columns from `firstColumn`. Older profiles hold the
 * sheet alone: the header is then the first non-empty row, the data runs to the last one.
 */
export const SpreadsheetReadOptions = Schema.Struct({
  sheet: Schema.optionalKey(Schema.String),
  headerRow: Schema.optionalKey(Count),
  headerRows: Schema.optionalKey(Count),
  firstRow: Schema.optionalKey(Count),
  lastRow: Schema.optionalKey(Schema.Int),
  firstColumn: Schema.optionalKey(Count),
  columns: Schema.optionalKey(Count)
})
export type SpreadsheetReadOptions = typeof SpreadsheetReadOptions.Type

export const ParquetReadOptions = Schema.Struct({})
export type ParquetReadOptions = typeof ParquetReadOptions.Type

/** The codec is only informative: every block names its own. */
export const AvroReadOptions = Schema.Struct({ codec: Schema.optionalKey(Schema.String) })
export type AvroReadOptions = typeof AvroReadOptions.Type

/** What a reader returns about its reading, before profiling adds the parse hints. */
export type FormatReadOptions =
  | CsvReadOptions
  | JsonReadOptions
  | SpreadsheetReadOptions
  | ParquetReadOptions
  | AvroReadOptions

const withHints = <F extends Schema.Struct.Fields>(options: Schema.Struct<F>) =>
  Schema.Struct({ ...options.fields, parseHints: Schema.optionalKey(ParseHints) })

const schemas = {
  csv: withHints(CsvReadOptions),
  json: withHints(JsonReadOptions),
  jsonl: withHints(JsonReadOptions),
  xlsx: withHints(SpreadsheetReadOptions),
  xls: withHints(SpreadsheetReadOptions),
  parquet: withHints(ParquetReadOptions),
  avro: withHints(AvroReadOptions)
} satisfies Record<FileFormat, unknown>

/** The read options of a file of format F, as a profile stores them. */
export type ReadOptions<F extends FileFormat = FileFormat> = (typeof schemas)[F]["Type"]

/**
 * The stored read options of a profile, checked against its format; a profile that does not hold
 * them (written by another reader, or damaged) fails clearly instead of being guessed around.
 */
export const decodeReadOptions = <F extends FileFormat>(format: F, stored: unknown): ReadOptions<F> => {
  const result = Schema.decodeUnknownExit(schemas[format] as Schema.Codec<ReadOptions<F>, unknown>)(stored)
  if (result._tag === "Success") return result.value
  throw new FileReadError("unsupported", `the file's ${format} read options are missing or invalid`)
}
