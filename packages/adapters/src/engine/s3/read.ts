import type { CellValue, Column, ColumnBatch, DiscoveredStream } from "@ingest/domain"
import { Effect, Option, Stream } from "effect"
import * as FsPromises from "node:fs/promises"
import type { FormatReaderService } from "../local-engine.ts"
import type { ReadMode, StreamRead, StreamReader } from "../stream-reader.ts"
import { SyncFailure } from "../stream-reader.ts"
import { listObjects, s3Client, scratchDirectory, type SourceObject } from "./client.ts"
import type { S3SourceConfig } from "./config.ts"
import { fetchAndProfile } from "./objects.ts"

/** What an incremental S3 stream remembers: the newest modification time read, and the keys that had it. */
export interface S3ObjectsState {
  readonly lastModified: number
  readonly keys: ReadonlyArray<string>
}

const isObjectsState = (state: unknown): state is S3ObjectsState =>
  typeof state === "object" && state !== null &&
  typeof (state as S3ObjectsState).lastModified === "number" &&
  Array.isArray((state as S3ObjectsState).keys)

/** Objects not read yet: newer than the state, or as new but under another key. */
export const newerThan = (objects: ReadonlyArray<SourceObject>, state: S3ObjectsState): ReadonlyArray<SourceObject> => {
  const seen = new Set(state.keys)
  return objects.filter((o) => o.lastModified > state.lastModified || (o.lastModified === state.lastModified && !seen.has(o.key)))
}

/**
 * Listings report modification times to the second, so several objects share the newest time;
 * their keys are kept (merged with the previous state's when the time did not move) so the next
 * read skips exactly those. Past `maxTiedKeys` only the time is kept and later objects of that
 * same second would be missed: a deliberate bound on the state's size.
 */
export const maxTiedKeys = 10_000

const stateAfter = (
  objects: ReadonlyArray<SourceObject>,
  previous: S3ObjectsState | undefined
): S3ObjectsState | undefined => {
  if (objects.length === 0) return undefined
  let lastModified = 0
  for (const o of objects) if (o.lastModified > lastModified) lastModified = o.lastModified
  const keys = new Set(objects.filter((o) => o.lastModified === lastModified).map((o) => o.key))
  if (previous !== undefined && previous.lastModified === lastModified) for (const key of previous.keys) keys.add(key)
  return { lastModified, keys: keys.size > maxTiedKeys ? [] : [...keys] }
}

export interface S3ReaderOptions {
  readonly batchRows?: number | undefined
}

/**
 * Reads the objects of an S3 source as one stream: each object is downloaded to a scratch file,
 * profiled and read by the format reader, coerced to the discovered columns (a column an object
 * lacks is null; columns discovery did not see are left out).
 */
export const makeS3Reader = (config: S3SourceConfig, reader: FormatReaderService, _options: S3ReaderOptions = {}): StreamReader => ({
  read: (stream: DiscoveredStream, mode: ReadMode) =>
    Effect.gen(function*() {
      const fail = (reason: string) => new SyncFailure({ reason, stream: stream.name })
      const client = yield* s3Client(config)
      const all = yield* listObjects(client, config).pipe(Effect.mapError(fail))
      const previous = mode._tag === "incremental" ? Option.filter(mode.state, isObjectsState) : Option.none<S3ObjectsState>()
      const objects = Option.isSome(previous) ? newerThan(all, previous.value) : all
      const directory = yield* scratchDirectory.pipe(Effect.mapError(fail))
      const columns: ReadonlyArray<Column> = stream.columns.map(({ sampleValues: _, ...column }) => column)
      const meter = { bytes: 0 }

      const readObject = (object: SourceObject): Stream.Stream<ColumnBatch, SyncFailure> =>
        Stream.unwrap(Effect.gen(function*() {
          const fetched = yield* fetchAndProfile(client, config, reader, object.key, directory).pipe(Effect.mapError(fail))
          const available = new Set(fetched.profile.columns.map((c) => c.name))
          const target = columns.filter((c) => available.has(c.name))
          if (target.length === 0) {
            return yield* fail(`${object.key} has none of the discovered columns (${columns.map((c) => c.name).join(", ")})`)
          }
          const positions = columns.map((c) => target.findIndex((t) => t.name === c.name))
          return reader.read(fetched.file, fetched.format, fetched.profile, target).pipe(
            Stream.map((batch): ColumnBatch => ({
              length: batch.length,
              columns: positions.map((p) =>
                p === -1 ? new Array<CellValue>(batch.length).fill(null) : batch.columns[p]!
              )
            })),
            Stream.mapError((error) => fail(`${object.key}: ${error.reason}`)),
            Stream.onEnd(Effect.sync(() => {
              meter.bytes += object.size
            })),
            Stream.ensuring(Effect.promise(() => FsPromises.rm(fetched.file, { force: true })))
          )
        }))

      const read: StreamRead = {
        columns,
        mode: Option.isSome(previous) ? "append" : "overwrite",
        batches: Stream.fromIterable(objects).pipe(Stream.flatMap(readObject)),
        bytesRead: () => meter.bytes,
        nextState: () => {
          const next = stateAfter(objects, Option.getOrUndefined(previous))
          if (next !== undefined) return next
          return Option.isSome(previous) ? undefined : null
        }
      }
      return read
    })
})
