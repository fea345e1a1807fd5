import type { Effect, Option, Stream } from "effect"
import { Context } from "effect"
import type { ColumnBatch } from "../batch.ts"
import type { Column } from "../columns.ts"
import type { UnreadableFile } from "../errors.ts"
import type { DialectOverride, FileFormat, FileProfile } from "../file-import.ts"

export interface ProfileOptions {
  /** Spreadsheets: the sheet to read (default: the first). */
  readonly sheet?: string | undefined
  /** Decisions to take instead of detecting them (delimiter, header rows, rows to skip, …). */
  readonly dialect?: DialectOverride | undefined
}

/**
 * Reads tabular files of every supported format from a local file. Implementations isolate
 * parsing (worker threads with memory and time caps): hostile input ends as UnreadableFile.
 */
export class FormatReader extends Context.Service<FormatReader, {
  /** Format from magic bytes, then the file name's extension. */
  detect(head: Uint8Array, fileName: string): Option.Option<FileFormat>
  /** Readies what a profile needs (parser threads) without waiting for it: an upload has started. */
  readonly prepare: Effect.Effect<void>
  /** One pass over the whole file: columns, inferred types, samples, first rows, row count. */
  profile(localFile: string, format: FileFormat, options: ProfileOptions): Effect.Effect<FileProfile, UnreadableFile>
  /**
   * Streams a file of `format` as `profile` read it, as batches coerced to `target`:
   * `target[i].name` is a profile column name (`profile.columns[*].name`) and `target[i].type` the
   * type to coerce to (canonical values of batch.ts). A value that cannot be coerced fails the
   * stream with a message naming row and column.
   */
  read(
    localFile: string,
    format: FileFormat,
    profile: FileProfile,
    target: ReadonlyArray<Column>
  ): Stream.Stream<ColumnBatch, UnreadableFile>
}>()("ingest/FormatReader") {}
