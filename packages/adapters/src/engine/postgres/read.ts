import { isPackedColumn } from "@ingest/domain"
import type { BatchColumn, Column, ColumnBatch, DiscoveredStream } from "@ingest/domain"
import { Effect, Option, Stream } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { defaultBatchRows } from "../batching.ts"
import type { ReadMode, StreamRead, StreamReader } from "../stream-reader.ts"
import { SyncFailure } from "../stream-reader.ts"
import { describeFailure, describeSqlError, openPgClient } from "./client.ts"
import type { PostgresSourceConfig } from "./config.ts"
import { BinaryCopyDecoder, type WireField, type WireKind } from "./copy-decoder.ts"
import { loadRelations } from "./discover.ts"
import { columnOfPg, quoteIdentifier, quoteQualified, selectExpression } from "./types.ts"
import { CopyOutFramer, encodeQuery, openWireSession, PgWireError, wireErrorFrom } from "./wire.ts"

/** What an incremental postgres stream remembers: the cursor column and the largest value read. */
export interface PostgresCursorState {
  readonly cursorField: string
  /** INTEGER: the integer; DATE: days since 1970; TIMESTAMP(_TZ): microseconds since 1970 (UTC). */
  readonly value: string
}

const isCursorState = (state: unknown): state is PostgresCursorState =>
  typeof state === "object" && state !== null &&
  typeof (state as PostgresCursorState).cursorField === "string" &&
  typeof (state as PostgresCursorState).value === "string" &&
  /^-?\d{1,20}$/.test((state as PostgresCursorState).value)

/**
 * The cursor bound as an expression of the stored canonical value (an integer literal), exact to
 * the microsecond and indexable: the comparison is column > constant.
 */
const cursorBound: Partial<Record<Column["type"], (value: string) => string>> = {
  INTEGER: (value) => `'${value}'::int8`,
  DATE: (value) => `('epoch'::date + '${value}'::int4)`,
  TIMESTAMP: (value) => `('epoch'::timestamp + '${value}'::int8 * interval '1 microsecond')`,
  TIMESTAMP_TZ: (value) => `('epoch'::timestamptz + '${value}'::int8 * interval '1 microsecond')`
}

const wireKinds: Record<Column["type"], WireKind> = {
  BOOLEAN: "boolean",
  INTEGER: "integer",
  DECIMAL: "decimal",
  DOUBLE: "double",
  DATE: "date",
  TIMESTAMP: "micros",
  TIMESTAMP_TZ: "micros",
  STRING: "text",
  BINARY: "bytes"
}

/**
 * `COPY (query) TO STDOUT (FORMAT binary)` as column batches, over a connection of its own.
 * COPY streams rows as fast as the server produces them and the binary format decodes without
 * parsing text; the socket's backpressure keeps memory to about one batch.
 */
const copyBatches = (
  config: PostgresSourceConfig,
  query: string,
  fields: ReadonlyArray<WireField>,
  batchRows: number,
  meter: { bytes: number },
  signal: AbortSignal
): AsyncIterable<ColumnBatch> => ({
  async *[Symbol.asyncIterator]() {
    const reader = await openWireSession(config, signal)
    try {
      reader.socket.write(encodeQuery(`COPY (${query}) TO STDOUT (FORMAT binary)`))
      const decoder = new BinaryCopyDecoder(fields, batchRows)
      // Rows arrive one CopyData message each: they go to the decoder as ranges of the received
      // bytes, without a message object per row.
      const framer = new CopyOutFramer()
      let ready: Array<ColumnBatch> = []
      const onCopyData = (chunk: Uint8Array, start: number, end: number) => decoder.pushRange(chunk, start, end, ready)
      let failure: PgWireError | undefined
      for (;;) {
        ready = []
        let finished = false
        for (const message of framer.push(await reader.nextChunk(), onCopyData)) {
          switch (message._tag) {
            case "CopyOutResponse":
              if (message.format !== 1) throw new PgWireError("The server did not answer COPY in binary format")
              break
            case "CopyDone":
            case "CommandComplete":
            case "NoticeResponse":
            case "ParameterStatus":
              break
            case "ErrorResponse":
              failure = wireErrorFrom(message.fields)
              break
            case "ReadyForQuery":
              finished = true
              break
            default:
              throw new PgWireError(`Unexpected ${message._tag} during COPY`)
          }
        }
        meter.bytes = decoder.bytes
        yield* ready
        if (finished) {
          if (failure !== undefined) throw failure
          if (!decoder.done) throw new PgWireError("COPY ended without its trailer")
          const rest = decoder.flush()
          if (rest !== undefined) yield rest
          return
        }
      }
    } finally {
      reader.close()
    }
  }
})

const describeWireError = (error: unknown, config: PostgresSourceConfig): string => {
  if (error instanceof PgWireError) {
    return describeFailure({ code: error.code, detail: error.message, summary: error.message, duringConnect: false }, config)
  }
  return `Reading failed: ${error instanceof Error ? error.message : String(error)}`
}

/**
 * The largest cursor value of a batch column (integers and microseconds alike), read from the
 * packed values without making a value per row.
 */
const maxOf = (column: BatchColumn, start: number | bigint | undefined): number | bigint | undefined => {
  if (!isPackedColumn(column)) {
    let max = start
    for (const value of column) {
      if ((typeof value === "number" || typeof value === "bigint") && (max === undefined || value > max)) max = value
    }
    return max
  }
  const { data, validity } = column
  if (data.kind !== "int64" && data.kind !== "timestamp" && data.kind !== "date32") return start
  const present = (row: number) => validity === undefined || (validity[row >> 3]! & (1 << (row & 7))) !== 0
  let best = -1
  if (data.kind === "date32") {
    for (let row = 0; row < column.length; row++) {
      if (present(row) && (best < 0 || data.values[row]! > data.values[best]!)) best = row
    }
    if (best < 0) return start
    const value = data.values[best]!
    return start === undefined || value > start ? value : start
  }
  // 64-bit values compared by their words: high (signed), then low (unsigned).
  const words = new Int32Array(data.values.buffer, data.values.byteOffset, data.values.length * 2)
  for (let row = 0; row < column.length; row++) {
    if (!present(row)) continue
    if (best < 0) {
      best = row
      continue
    }
    const high = words[row * 2 + 1]!
    const bestHigh = words[best * 2 + 1]!
    if (high > bestHigh || (high === bestHigh && words[row * 2]! >>> 0 > words[best * 2]! >>> 0)) best = row
  }
  if (best < 0) return start
  const value = data.values[best]!
  return start === undefined || value > start ? value : start
}

export interface PostgresReaderOptions {
  readonly batchRows?: number | undefined
}

/** Reads postgres tables and views as column batches over one short-lived connection per stream. */
export const makePostgresReader = (config: PostgresSourceConfig, options: PostgresReaderOptions = {}): StreamReader => ({
  read: (stream: DiscoveredStream, mode: ReadMode) =>
    Effect.gen(function*() {
      const fail = (error: SqlError) => new SyncFailure({ reason: describeSqlError(error, config), stream: stream.name })
      // The catalog lookup uses its own short connection, closed before the COPY opens another.
      const relations = yield* Effect.scoped(
        openPgClient(config).pipe(Effect.flatMap((sql) => loadRelations(sql, config.schemas, { name: stream.name })))
      ).pipe(Effect.mapError(fail))
      const relation = relations[0]
      if (relation === undefined) {
        return yield* new SyncFailure({
          reason: "the table or view no longer exists in the source, or cannot be read by this user",
          stream: stream.name
        })
      }
      const columns = relation.columns.map(columnOfPg)

      // The cursor is followed in both modes, so a full refresh also tells a later incremental
      // sync where to continue. Only incremental reads filter on it.
      const incremental = mode._tag === "incremental"
      const cursorField = stream.defaultCursorField
      const found = cursorField === undefined ? -1 : columns.findIndex((c) => c.name === cursorField)
      const cursorColumn = found === -1 ? undefined : columns[found]!
      const bound = cursorColumn === undefined ? undefined : cursorBound[cursorColumn.type]
      if (incremental && cursorField !== undefined && cursorColumn === undefined) {
        return yield* new SyncFailure({ reason: `cursor column "${cursorField}" no longer exists`, stream: stream.name })
      }
      if (incremental && cursorColumn !== undefined && bound === undefined) {
        return yield* new SyncFailure({
          reason: `cursor column "${cursorColumn.name}" has type ${cursorColumn.type}; an integer, date or timestamp is needed`,
          stream: stream.name
        })
      }
      const tracked = bound === undefined ? undefined : cursorColumn
      const previous = incremental && tracked !== undefined
        ? Option.filter(mode.state, (s): s is PostgresCursorState => isCursorState(s) && s.cursorField === tracked.name)
        : Option.none<PostgresCursorState>()

      const select = relation.columns.map((column, i) => `${selectExpression(column)} AS c${i}`).join(", ")
      let query = `SELECT ${select} FROM ${quoteQualified(relation.schema, relation.table)}`
      if (tracked !== undefined && Option.isSome(previous)) {
        // COPY takes no parameters; the value is a validated integer literal (isCursorState).
        query += ` WHERE ${quoteIdentifier(tracked.name)} > ${bound!(previous.value.value)}`
      }

      let max: number | bigint | undefined
      const meter = { bytes: 0 }
      const fields = columns.map((c): WireField =>
        c.type === "DECIMAL" ? { kind: "decimal", precision: c.precision ?? 38, scale: c.scale ?? 0 } : { kind: wireKinds[c.type] as Exclude<WireKind, "decimal"> }
      )
      const cursorIndex = tracked === undefined ? undefined : found
      const batches = Stream.suspend(() => {
        const abort = new AbortController()
        return Stream.fromAsyncIterable(
          copyBatches(config, query, fields, options.batchRows ?? defaultBatchRows, meter, abort.signal),
          (error) => new SyncFailure({ reason: describeWireError(error, config), stream: stream.name })
        ).pipe(
          Stream.tap((batch) =>
            Effect.sync(() => {
              if (cursorIndex !== undefined) max = maxOf(batch.columns[cursorIndex]!, max)
            })
          ),
          // Interruption must not wait for the next packet: cut the connection at once.
          Stream.ensuring(Effect.sync(() => abort.abort()))
        )
      })
      const append = Option.isSome(previous)
      const read: StreamRead = {
        columns,
        mode: append ? "append" : "overwrite",
        batches,
        bytesRead: () => meter.bytes,
        nextState: () => {
          if (tracked === undefined) return undefined
          if (max === undefined) return append ? undefined : null
          return { cursorField: tracked.name, value: String(max) } satisfies PostgresCursorState
        }
      }
      return read
    })
})
