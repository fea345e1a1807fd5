import type { Connection, DiscoveredStream, Source, Sync } from "@ingest/domain"
import { outageReason, sanitizeIdentifier, TableWriter, uniqueIdentifiers } from "@ingest/domain"
import { Effect, Result, Stream } from "effect"
import type { FormatReaderService } from "./local-engine.ts"
import { parsePostgresConfig } from "./postgres/config.ts"
import { makePostgresReader } from "./postgres/read.ts"
import { makeS3Reader } from "./s3/read.ts"
import { parseS3Config } from "./s3/config.ts"
import type { ReadMode, StreamReader } from "./stream-reader.ts"
import { SyncFailure } from "./stream-reader.ts"
import type { SyncStateStore } from "./sync-state.ts"

export type TableWriterService = typeof TableWriter.Service

export interface LocalSyncInput {
  readonly sync: Sync
  readonly connection: Connection
  readonly source: Source
  /** The source's discovered streams; the connection's `selectedStreams` picks among them. */
  readonly streams: ReadonlyArray<DiscoveredStream>
  readonly state: SyncStateStore
  readonly writer: TableWriterService
  /** Where the tables go (tenant root + connection name, already sanitised). */
  readonly namespace: ReadonlyArray<string>
  /** Running totals over the whole sync, after every batch. */
  readonly onProgress: (records: number, bytes: number) => Effect.Effect<void>
  /** Needed for S3 sources only. */
  readonly formatReader?: FormatReaderService | undefined
  /** Rows per batch handed to the writer (default 10 000). */
  readonly batchRows?: number | undefined
}

export interface LocalSyncResult {
  readonly recordsSynced: number
  readonly bytesSynced: number
}

/** Batches read ahead of the writer (bounded: at most this many batches wait in memory). */
const readAheadBatches = 4

/** The table a stream lands in: `public.orders` → `public_orders`. */
export const tableNameOf = (stream: string): string => sanitizeIdentifier(stream, "stream")

const readerFor = (input: LocalSyncInput): Result.Result<StreamReader, string> => {
  const { source } = input
  switch (source.connectorType) {
    case "postgres":
      return Result.map(parsePostgresConfig(source.connectionConfig), (config) =>
        makePostgresReader(config, { batchRows: input.batchRows }))
    case "s3": {
      if (input.formatReader === undefined) return Result.fail("S3 sources need a file format reader")
      const reader = input.formatReader
      return Result.map(parseS3Config(source.connectionConfig), (config) =>
        makeS3Reader(config, reader, { batchRows: input.batchRows }))
    }
    default:
      return Result.fail(`Connector type "${source.connectorType}" needs the Airbyte engine (set INGEST_ENGINE=airbyte)`)
  }
}

const chooseStreams = (input: LocalSyncInput): Result.Result<ReadonlyArray<DiscoveredStream>, string> => {
  const selected = input.connection.selectedStreams
  if (selected === null) return Result.succeed(input.streams)
  const chosen: Array<DiscoveredStream> = []
  for (const name of selected) {
    const stream = input.streams.find((s) => s.name === name)
    if (stream === undefined) return Result.fail(`Stream "${name}" is not offered by the source (discover it again?)`)
    chosen.push(stream)
  }
  return Result.succeed(chosen)
}

/**
 * Runs one sync of a connection through the local engine: each selected stream is read and
 * committed as one snapshot (`overwrite` for a full read, `append` for an incremental one,
 * commit id `<sync id>:<stream>`), one stream after the other. Interrupting the fiber stops the
 * current read; a stream whose commit has not happened yet stays uncommitted, and nothing
 * after it starts. An incremental stream's state moves only after its commit succeeded.
 */
export const runLocalSync = (input: LocalSyncInput): Effect.Effect<LocalSyncResult, SyncFailure> =>
  Effect.gen(function*() {
    const { sync, connection, writer, state } = input
    if (connection.syncMode === "CDC") {
      return yield* new SyncFailure({ reason: "CDC is not supported by the local engine yet" })
    }
    const reader = readerFor(input)
    if (Result.isFailure(reader)) return yield* new SyncFailure({ reason: reader.failure })
    const streams = chooseStreams(input)
    if (Result.isFailure(streams)) return yield* new SyncFailure({ reason: streams.failure })

    const tables = new Map<string, string>()
    for (const stream of streams.success) {
      const table = tableNameOf(stream.name)
      const other = tables.get(table)
      if (other !== undefined) {
        return yield* new SyncFailure({ reason: `Streams "${other}" and "${stream.name}" would both be written to table ${table}` })
      }
      tables.set(table, stream.name)
    }

    let records = 0
    let bytes = 0
    for (const stream of streams.success) {
      const key = { tenantId: sync.tenantId, connectionId: connection.id, stream: stream.name }
      const failure = (reason: string) => new SyncFailure({ reason, stream: stream.name })
      const mode: ReadMode = connection.syncMode === "INCREMENTAL"
        ? { _tag: "incremental", state: yield* state.get(key).pipe(Effect.mapError((e) => failure(e.reason))) }
        : { _tag: "full" }

      yield* Effect.scoped(Effect.gen(function*() {
        const read = yield* reader.success.read(stream, mode)
        const names = uniqueIdentifiers(read.columns.map((c) => c.name))
        const columns = read.columns.map((column, i) => ({ ...column, name: names[i]! }))
        const startRecords = records
        const startBytes = bytes
        let streamRecords = 0
        const batches = read.batches.pipe(
          // A few batches of read-ahead: the source keeps streaming while the writer encodes.
          Stream.buffer({ capacity: readAheadBatches }),
          Stream.tap((batch) => {
            streamRecords += batch.length
            records = startRecords + streamRecords
            bytes = startBytes + read.bytesRead()
            return input.onProgress(records, bytes)
          })
        )
        return yield* Effect.uninterruptibleMask((restore) =>
          Effect.gen(function*() {
            const result = yield* restore(writer.write({
              table: { namespace: input.namespace, name: tableNameOf(stream.name) },
              columns,
              mode: read.mode,
              commitId: `${sync.id}:${stream.name}`,
              batches
            }))
            // A retried commit may have read other rows than the first attempt: keep the old
            // state (a re-read duplicates rows; moving it could skip some).
            const next = read.nextState()
            if (!result.alreadyCommitted && next !== undefined) {
              yield* state.put(key, next).pipe(
                Effect.mapError((e) => failure(`committed, but the sync state could not be saved: ${e.reason}`))
              )
            }
            return result
          })
        )
      })).pipe(
        Effect.catchTags({
          Invalid: (e) => Effect.fail(failure(e.reason)),
          // An outage is named, not described: its reason may hold hosts, keys and SDK errors.
          InfrastructureError: (e) =>
            Effect.fail(failure(e.unreachable !== undefined ? outageReason(e.unreachable, "sync") : `writing the table failed: ${e.reason}`))
        })
      )
    }
    return { recordsSynced: records, bytesSynced: bytes }
  })
