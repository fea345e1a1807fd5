import type { Column, ColumnBatch, FileFormat, FileProfile } from "@ingest/domain"
import { FormatReader, UnreadableFile } from "@ingest/domain"
import { availableParallelism } from "node:os"
import { Effect, Layer, Option, Stream } from "effect"
import { open, stat } from "node:fs/promises"
import { csvParts, defaultTextLimits, mergeCsvScans, type TextLimits } from "./csv/reader.ts"
import { detectFormat } from "./detect-format.ts"
import { detectEncoding, hasByteOffsets, readHead } from "./text-encoding.ts"
import { WorkerPool } from "./worker/pool.ts"
import { finishProfile } from "./table/profile.ts"
import { type CsvPart, describeError, RawReadError } from "./types.ts"

export { detectFormat } from "./detect-format.ts"
export { columnNames } from "./column-names.ts"
export { RawReadError, type RawReader, type RawTable } from "./types.ts"

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
  /** Rows per batch (default 8192). */
  readonly batchSize?: number
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

const formatOf = (profile: FileProfile): FileFormat | undefined => {
  const format = profile.readOptions["format"]
  return typeof format === "string" && ["csv", "xlsx", "xls", "parquet", "json", "jsonl", "avro"].includes(format)
    ? (format as FileFormat)
    : undefined
}

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
  path: string,
  limits: TextLimits,
  batchSize: number,
  minBytes: number,
  signal: AbortSignal
): Promise<FileProfile> => {
  const whole = () => pool.profile(path, "csv", undefined, limits, batchSize, signal)
  const { head, size } = await readHead(path)
  if (size < minBytes || !hasByteOffsets(detectEncoding(head, head.length === size).encoding)) return whole()
  const cut = await lineStartAfter(path, Math.floor(size / 2))
  if (cut === undefined || cut >= size) return whole()
  const [first, second] = await Promise.allSettled([
    pool.scan(path, { start: 0, end: cut }, limits, batchSize, signal),
    pool.scan(path, { start: cut, end: size }, limits, batchSize, signal)
  ])
  if (signal.aborted) throw new RawReadError("corrupt", "profiling was interrupted")
  const merged = first.status === "fulfilled" && second.status === "fulfilled" ? mergeCsvScans(first.value, second.value) : undefined
  return merged === undefined ? whole() : finishProfile(merged, "csv")
}

// The parsers themselves (every reader and its libraries) load only where they run: in the
// worker threads, or here when asked to parse in process.
const inProcess = () => import("./file-jobs.ts")

async function* readInProcess(...args: Parameters<typeof import("./file-jobs.ts").readFile>): AsyncGenerator<ColumnBatch> {
  const { readFile } = await inProcess()
  yield* readFile(...args)
}

/** The FormatReader port over a pool of isolated parser workers. */
export const makeFormatReader = (options: FormatReaderOptions = {}): FormatReaderHandle => {
  const limits: TextLimits = {
    maxFieldChars: options.maxFieldChars ?? defaultTextLimits.maxFieldChars,
    maxRecordChars: options.maxRecordChars ?? defaultTextLimits.maxRecordChars,
    maxDepth: options.maxJsonDepth ?? defaultTextLimits.maxDepth
  }
  const batchSize = Math.max(1, Math.min(options.batchSize ?? 8192, 1 << 20))
  const maxWorkers = options.maxWorkers ?? Math.max(2, Math.min(4, availableParallelism()))
  const parallelParts = Math.min(maxWorkers, options.maxPartsPerRead ?? availableParallelism())
  const minParallelProfileBytes = Math.max(2, options.minParallelProfileBytes ?? PARALLEL_PROFILE_BYTES)
  const pool = options.inProcess === true ? undefined : new WorkerPool({
    maxWorkers,
    maxOldGenerationSizeMb: options.maxOldGenerationSizeMb ?? 256,
    maxYoungGenerationSizeMb: options.maxYoungGenerationSizeMb ?? 16,
    stackSizeMb: options.stackSizeMb ?? 4,
    profileTimeoutMs: options.profileTimeoutMs ?? 10 * 60_000,
    readTimeoutMs: options.readTimeoutMs ?? 10 * 60_000
  })

  const profile = (localFile: string, format: FileFormat, profileOptions: { readonly sheet?: string | undefined }) =>
    Effect.tryPromise({
      try: (signal) =>
        pool === undefined
          ? inProcess().then(({ profileFile }) => profileFile(localFile, format, profileOptions.sheet, limits, batchSize))
          : format === "csv" && parallelParts > 1
          ? profileCsvInParts(pool, localFile, limits, batchSize, minParallelProfileBytes, signal)
          : pool.profile(localFile, format, profileOptions.sheet, limits, batchSize, signal),
      catch: toUnreadable
    })

  const read = (localFile: string, fileProfile: FileProfile, target: ReadonlyArray<Column>): Stream.Stream<ColumnBatch, UnreadableFile> =>
    Stream.unwrap(Effect.gen(function*() {
      let format = formatOf(fileProfile)
      if (format === undefined) {
        const head = yield* Effect.tryPromise({
          try: async () => (await readHead(localFile, 4096)).head,
          catch: toUnreadable
        })
        format = detectFormat(head, localFile)
      }
      if (format === undefined) {
        return yield* new UnreadableFile({ kind: "unsupported", reason: "the format of the file cannot be determined" })
      }
      const known = format
      const readPart = (part?: CsvPart) =>
        Stream.fromAsyncIterable(
          {
            [Symbol.asyncIterator]: () =>
              (pool === undefined
                ? readInProcess(localFile, known, fileProfile, target, limits, batchSize, part)
                : pool.read(localFile, known, fileProfile, target, limits, batchSize, part))[Symbol.asyncIterator]()
          },
          toUnreadable
        )
      // A large CSV is read in parts side by side (one worker each), at record boundaries found
      // while profiling; batches of the parts interleave (a table's rows have no order). The merge
      // holds one batch: the workers' credits already keep batches coming, and each batch held
      // here is memory (mergeAll would otherwise buffer 16 per part).
      const parts = known === "csv" && pool !== undefined && parallelParts > 1
        ? csvParts(fileProfile.readOptions, yield* fileSize(localFile), parallelParts)
        : []
      return parts.length > 1 ? Stream.mergeAll(parts.map(readPart), { concurrency: "unbounded", bufferSize: 1 }) : readPart()
    }))

  return {
    detect: (head, fileName) => Option.fromNullishOr(detectFormat(head, fileName)),
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
    ).pipe(Effect.map(({ detect, profile, read }) => FormatReader.of({ detect, profile, read })))
  )

export const FormatReaderLive: Layer.Layer<FormatReader> = formatReaderLayer()
