import type { Column, ColumnBatch, FileFormat, FileProfile, ProfileOptions } from "@ingest/domain"
import { FormatReader, UnreadableFile } from "@ingest/domain"
import { availableParallelism } from "node:os"
import { Effect, Layer, Option, Stream } from "effect"
import { open, stat } from "node:fs/promises"
import { csvParts, mergeCsvScans, mergedFileScan } from "./csv/parts.ts"
import { detectFormat } from "./detect-format.ts"
import { describeError, FileReadError } from "./errors.ts"
import { defaultTextLimits, MAX_PARSE_BATCH_ROWS, PARSE_BATCH_ROWS } from "./limits.ts"
import { decodeReadOptions } from "./read-options.ts"
import { finishProfile } from "./table/profile.ts"
import { detectEncoding, hasByteOffsets, readHead } from "./text-encoding.ts"
import type { CsvPart, ParserSettings, ProfileRequest, ReadRequest } from "./types.ts"
import { WorkerPool } from "./worker/pool.ts"

/**
 * The FormatReader port. Every job runs on a pool of parser worker threads with memory and time
 * caps (worker/pool.ts), or in this thread when asked to (`inProcess`, for debugging and
 * benchmarks of the parsers only). The paths a file takes:
 *
 * - profile: one job opens the file as a table (table/open.ts: csv/, json/, spreadsheet/,
 *   parquet/, avro/) and profiles it (table/profile.ts). A CSV file of 64 MiB or more is profiled
 *   in two halves on two workers (file-jobs.ts scanCsvRange) whose scans are merged
 *   (csv/parts.ts), or whole when the halves cannot be merged.
 * - read: the profile's stored read options are decoded (read-options.ts), then one job reads the
 *   file as batches of packed columns (table/read.ts). A CSV file is read from its UTF-8 bytes
 *   (csv/byte-tokenizer.ts), and a large one in parts side by side, one worker each, at record
 *   boundaries its profile noted (csv/parts.ts); the other formats are read as the profile read
 *   them and packed.
 */

export interface FormatReaderOptions {
  /** Parser worker threads kept at most (default: CPU count, 2 to 4). */
  readonly maxWorkers?: number
  /** Heap cap per worker (default 256 MB). */
  readonly maxOldGenerationSizeMb?: number
  readonly maxYoungGenerationSizeMb?: number
  readonly stackSizeMb?: number
  /** Wall-clock cap of a profile (default 10 minutes). */
  readonly profileTimeoutMs?: number
  /** Longest wait for the next batch of a read (default 10 minutes). */
  readonly readTimeoutMs?: number
  /** An idle parser thread ends after this long (default 2 minutes, as the Parquet encoder's). */
  readonly idleMs?: number
  /** Rows per parser batch (default PARSE_BATCH_ROWS of limits.ts). */
  readonly batchRows?: number
  /** Workers one CSV read may use side by side (default: the CPU count, at most maxWorkers). */
  readonly maxPartsPerRead?: number
  /** CSV files from this size on are profiled in two halves side by side (default 64 MiB; needs two parts per read). */
  readonly minParallelProfileBytes?: number
  /** Longest text field (default 16 MiB) and record (default 32 MiB), in characters. */
  readonly maxFieldChars?: number
  readonly maxRecordChars?: number
  /** Deepest JSON nesting (default 64). */
  readonly maxJsonDepth?: number
  /**
   * Parse in the calling thread instead of worker threads. Only for debugging and
   * benchmarks of the parsers themselves: hostile files are not contained.
   */
  readonly inProcess?: boolean
}

export type FormatReaderService = typeof FormatReader.Service

export interface FormatReaderHandle extends FormatReaderService {
  /** Stops the worker threads. */
  readonly close: () => Promise<void>
}

const toUnreadable = (error: unknown): UnreadableFile => {
  if (error instanceof UnreadableFile) return error
  const { kind, message } = describeError(error)
  return new UnreadableFile({ kind, reason: message })
}

const fileSize = (path: string) =>
  Effect.tryPromise({ try: async () => (await stat(path)).size, catch: toUnreadable })

/** CSV files from this size on are profiled in two halves side by side (see profileCsvInParts). */
const PARALLEL_PROFILE_BYTES = 64 * 1024 * 1024
const NEWLINE = 0x0a

/** The first byte after a line feed at or after `from` (within 1 MiB); undefined when there is none. */
const lineStartAfter = async (path: string, from: number): Promise<number | undefined> => {
  const handle = await open(path, "r")
  try {
    const window = Buffer.alloc(1 << 20)
    const { bytesRead } = await handle.read(window, 0, window.length, from)
    const at = window.subarray(0, bytesRead).indexOf(NEWLINE)
    return at === -1 ? undefined : from + at + 1
  } finally {
    await handle.close()
  }
}

/**
 * Profiles a large CSV in two halves on two workers, cut after a line feed near the middle, and
 * merges what they saw. The cut is only a guess (the line feed may lie inside a quoted field):
 * the merge is taken only if the first half ended exactly at a record boundary there. Otherwise,
 * and whenever a half fails (so that errors name the right line) or the file is not in an
 * encoding with byte offsets, the whole file is profiled on one worker as usual.
 */
const profileCsvInParts = async (
  pool: WorkerPool,
  request: ProfileRequest,
  minBytes: number,
  signal: AbortSignal
): Promise<FileProfile> => {
  const whole = () => pool.profile(request, signal)
  const { path } = request
  const { head, size } = await readHead(path)
  if (size < minBytes || !hasByteOffsets(detectEncoding(head, head.length === size).encoding)) return whole()
  const cut = await lineStartAfter(path, Math.floor(size / 2))
  if (cut === undefined || cut >= size) return whole()
  const settings: ParserSettings = { limits: request.limits, batchRows: request.batchRows }
  const [first, second] = await Promise.allSettled([
    pool.scan({ ...settings, path, range: { start: 0, end: cut } }, signal),
    pool.scan({ ...settings, path, range: { start: cut, end: size } }, signal)
  ])
  if (signal.aborted) throw new FileReadError("corrupt", "profiling was interrupted")
  const merged = first.status === "fulfilled" && second.status === "fulfilled" ? mergeCsvScans(first.value, second.value) : undefined
  return merged === undefined ? whole() : finishProfile(mergedFileScan(merged))
}

// The parsers themselves (every reader and its libraries) load only where they run: in the
// worker threads, or here when asked to parse in process.
const inProcess = () => import("./file-jobs.ts")

async function* readInProcess(request: ReadRequest): AsyncGenerator<ColumnBatch> {
  const { readFile } = await inProcess()
  yield* readFile(request)
}

/** The FormatReader port over a pool of isolated parser workers. */
export const makeFormatReader = (options: FormatReaderOptions = {}): FormatReaderHandle => {
  const settings: ParserSettings = {
    limits: {
      maxFieldChars: options.maxFieldChars ?? defaultTextLimits.maxFieldChars,
      maxRecordChars: options.maxRecordChars ?? defaultTextLimits.maxRecordChars,
      maxDepth: options.maxJsonDepth ?? defaultTextLimits.maxDepth
    },
    batchRows: Math.max(1, Math.min(options.batchRows ?? PARSE_BATCH_ROWS, MAX_PARSE_BATCH_ROWS))
  }
  const maxWorkers = options.maxWorkers ?? Math.max(2, Math.min(4, availableParallelism()))
  const parallelParts = Math.min(maxWorkers, options.maxPartsPerRead ?? availableParallelism())
  const minParallelProfileBytes = Math.max(2, options.minParallelProfileBytes ?? PARALLEL_PROFILE_BYTES)
  const pool = options.inProcess === true ? undefined : new WorkerPool({
    maxWorkers,
    maxOldGenerationSizeMb: options.maxOldGenerationSizeMb ?? 256,
    maxYoungGenerationSizeMb: options.maxYoungGenerationSizeMb ?? 16,
    stackSizeMb: options.stackSizeMb ?? 4,
    profileTimeoutMs: options.profileTimeoutMs ?? 10 * 60_000,
    readTimeoutMs: options.readTimeoutMs ?? 10 * 60_000,
    idleMs: options.idleMs ?? 120_000
  })

  const profile = (localFile: string, format: FileFormat, profileOptions: ProfileOptions) =>
    Effect.tryPromise({
      try: (signal) => {
        const { dialect } = profileOptions
        const request: ProfileRequest = {
          ...settings,
          path: localFile,
          format,
          sheet: dialect?.sheet ?? profileOptions.sheet,
          ...(dialect !== undefined ? { dialect } : {})
        }
        return pool === undefined
          ? inProcess().then(({ profileFile }) => profileFile(request))
          : format === "csv" && parallelParts > 1 && dialect === undefined
          ? profileCsvInParts(pool, request, minParallelProfileBytes, signal)
          : pool.profile(request, signal)
      },
      catch: toUnreadable
    })

  const read = (
    localFile: string,
    format: FileFormat,
    fileProfile: FileProfile,
    target: ReadonlyArray<Column>
  ): Stream.Stream<ColumnBatch, UnreadableFile> =>
    Stream.unwrap(Effect.gen(function*() {
      const request = yield* Effect.try({
        try: () => ({
          ...settings,
          path: localFile,
          format,
          options: decodeReadOptions(format, fileProfile.readOptions),
          columns: fileProfile.columns.map((c) => c.name),
          target,
          part: undefined
        }) as ReadRequest,
        catch: toUnreadable
      })
      const readPart = (part?: CsvPart) => {
        const partRequest: ReadRequest = part === undefined ? request : { ...request, part }
        return Stream.fromAsyncIterable(
          {
            [Symbol.asyncIterator]: () =>
              (pool === undefined ? readInProcess(partRequest) : pool.read(partRequest))[Symbol.asyncIterator]()
          },
          toUnreadable
        )
      }
      // A large CSV is read in parts side by side (one worker each), at record boundaries found
      // while profiling; batches of the parts interleave (a table's rows have no order). The merge
      // holds one batch: the workers' credits already keep batches coming, and each batch held
      // here is memory (mergeAll would otherwise buffer 16 per part).
      const parts = request.format === "csv" && pool !== undefined && parallelParts > 1
        ? csvParts(request.options, yield* fileSize(localFile), parallelParts)
        : []
      return parts.length > 1 ? Stream.mergeAll(parts.map(readPart), { concurrency: "unbounded", bufferSize: 1 }) : readPart()
    }))

  return {
    detect: (head, fileName) => Option.fromNullishOr(detectFormat(head, fileName)),
    // A large CSV is profiled in parts, one worker each: both start while the file uploads.
    prepare: Effect.sync(() => pool?.prestart(parallelParts)),
    profile,
    read,
    close: () => pool?.close() ?? Promise.resolve()
  }
}

/** FormatReader with worker isolation; the workers stop when the layer's scope closes. */
export const formatReaderLayer = (options: FormatReaderOptions = {}): Layer.Layer<FormatReader> =>
  Layer.effect(
    FormatReader,
    Effect.acquireRelease(
      Effect.sync(() => makeFormatReader(options)),
      (reader) => Effect.promise(() => reader.close())
    ).pipe(Effect.map(({ detect, prepare, profile, read }) => FormatReader.of({ detect, prepare, profile, read })))
  )

export const FormatReaderLive: Layer.Layer<FormatReader> = formatReaderLayer()
