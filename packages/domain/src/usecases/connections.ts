import { Context, DateTime, Effect, Layer, Option, Result } from "effect"
import type { DiscoveredStream, SyncMode } from "../columns.ts"
import type { Connection } from "../connection.ts"
import { Conflict, Invalid, NotFound } from "../errors.ts"
import type { ConnectionId, SourceId, TenantId } from "../ids.ts"
import { ConnectionId as ConnectionIdSchema } from "../ids.ts"
import { ConnectorEngine } from "../ports/connector-engine.ts"
import { ConnectionRepo, SyncRepo } from "../ports/repositories.ts"
import { nextRun, parseSchedule } from "../schedule.ts"
import type { Source } from "../source.ts"
import { SourceService } from "./sources.ts"

export interface ConnectionInput {
  readonly sourceId: SourceId
  readonly name: string
  readonly destinationType?: string | null | undefined
  readonly syncSchedule?: string | null | undefined
  readonly selectedStreams?: ReadonlyArray<string> | null | undefined
  readonly syncMode?: SyncMode | null | undefined
}

/** A connection as shown to users: with the name of its source. */
export interface ConnectionView {
  readonly connection: Connection
  readonly sourceName: string
}

/** Checks streams and sync mode against what the source offers; returns the streams the connection covers. */
export const validateStreams = (
  streams: ReadonlyArray<DiscoveredStream>,
  selected: ReadonlyArray<string> | null,
  syncMode: SyncMode
): Result.Result<ReadonlyArray<DiscoveredStream>, Invalid> => {
  const byName = new Map(streams.map((s) => [s.name, s]))
  const chosen: Array<DiscoveredStream> = []
  for (const name of selected ?? streams.map((s) => s.name)) {
    const stream = byName.get(name)
    if (stream === undefined) {
      const known = streams.map((s) => s.name).slice(0, 20).join(", ")
      return Result.fail(new Invalid({
        field: "selectedStreams",
        reason: `selectedStreams: unknown stream "${name}" (the source offers: ${known || "no streams"})`
      }))
    }
    if (!stream.supportedSyncModes.includes(syncMode)) {
      return Result.fail(new Invalid({
        field: "syncMode",
        reason: `syncMode ${syncMode} is not supported by stream "${name}" (supported: ${stream.supportedSyncModes.join(", ")})`
      }))
    }
    chosen.push(stream)
  }
  if (selected !== null && selected.length === 0) {
    return Result.fail(new Invalid({ field: "selectedStreams", reason: "selectedStreams must name at least one stream (or be null for all)" }))
  }
  return Result.succeed(chosen)
}

export class ConnectionService extends Context.Service<ConnectionService>()("ingest/ConnectionService", {
  make: Effect.gen(function*() {
    const connections = yield* ConnectionRepo
    const syncs = yield* SyncRepo
    const sourceService = yield* SourceService
    const engine = yield* ConnectorEngine

    const find = Effect.fn("ConnectionService.find")(function*(tenantId: TenantId, id: ConnectionId) {
      const found = yield* connections.find(tenantId, id)
      if (Option.isNone(found)) return yield* new NotFound({ entity: "Connection", id })
      return found.value
    })

    const get = Effect.fn("ConnectionService.get")(function*(tenantId: TenantId, id: ConnectionId) {
      const connection = yield* find(tenantId, id)
      const source = yield* sourceService.get(tenantId, connection.sourceId)
      return { connection, sourceName: source.name } satisfies ConnectionView
    })

    const list = Effect.fn("ConnectionService.list")(function*(tenantId: TenantId) {
      const all = yield* connections.list(tenantId)
      const names = new Map((yield* sourceService.list(tenantId)).map((s) => [s.id as string, s.name]))
      return all.map((connection): ConnectionView => ({ connection, sourceName: names.get(connection.sourceId) ?? "" }))
    })

    /** Validates an input against the source; returns the normalised fields. */
    const validate = Effect.fn("ConnectionService.validate")(function*(source: Source, input: ConnectionInput) {
      const destinationType = input.destinationType ?? "iceberg"
      if (destinationType !== "iceberg") {
        return yield* new Invalid({ field: "destinationType", reason: `destinationType must be "iceberg", got "${destinationType}"` })
      }
      const syncSchedule = input.syncSchedule === undefined || input.syncSchedule === null || input.syncSchedule.trim() === ""
        ? null
        : input.syncSchedule.trim()
      const cron = syncSchedule === null ? null : yield* Effect.fromResult(parseSchedule(syncSchedule))
      const syncMode = input.syncMode ?? "FULL_REFRESH"
      const selectedStreams = input.selectedStreams ?? null
      const streams = yield* sourceService.streamsOf(source)
      const chosen = yield* Effect.fromResult(validateStreams(streams, selectedStreams, syncMode))
      const now = yield* DateTime.now
      return {
        syncSchedule,
        syncMode,
        selectedStreams,
        chosen,
        nextRunAt: cron === null ? null : nextRun(cron, now)
      }
    })

    const create = Effect.fn("ConnectionService.create")(function*(tenantId: TenantId, input: ConnectionInput) {
      const source = yield* sourceService.get(tenantId, input.sourceId)
      const valid = yield* validate(source, input)
      const now = yield* DateTime.now
      const draft: Connection = {
        id: ConnectionIdSchema.make(crypto.randomUUID()),
        tenantId,
        sourceId: source.id,
        name: input.name,
        destinationType: "iceberg",
        syncSchedule: valid.syncSchedule,
        selectedStreams: valid.selectedStreams,
        syncMode: valid.syncMode,
        status: "PENDING",
        lastSyncAt: null,
        engineRef: null,
        nextRunAt: valid.nextRunAt,
        createdAt: now,
        updatedAt: now
      }
      const engineRef = yield* engine.saveConnection(draft, source, valid.chosen)
      const connection = { ...draft, engineRef }
      yield* connections.insert(connection)
      return { connection, sourceName: source.name } satisfies ConnectionView
    })

    const update = Effect.fn("ConnectionService.update")(
      function*(tenantId: TenantId, id: ConnectionId, input: ConnectionInput) {
        const current = yield* find(tenantId, id)
        const source = yield* sourceService.get(tenantId, input.sourceId)
        const valid = yield* validate(source, input)
        const next: Connection = {
          ...current,
          sourceId: source.id,
          name: input.name,
          syncSchedule: valid.syncSchedule,
          selectedStreams: valid.selectedStreams,
          syncMode: valid.syncMode,
          nextRunAt: valid.nextRunAt,
          updatedAt: yield* DateTime.now
        }
        const engineRef = yield* engine.saveConnection(next, source, valid.chosen)
        const connection = { ...next, engineRef }
        yield* connections.update(connection)
        return { connection, sourceName: source.name } satisfies ConnectionView
      }
    )

    const remove = Effect.fn("ConnectionService.remove")(function*(tenantId: TenantId, id: ConnectionId) {
      const connection = yield* find(tenantId, id)
      if (Option.isSome(yield* syncs.findActive(tenantId, id))) {
        return yield* new Conflict({ reason: `Connection ${id} has a sync running; cancel it before deleting the connection` })
      }
      yield* engine.deleteConnection(connection)
      yield* connections.remove(tenantId, id)
    })

    return { find, get, list, create, update, remove }
  })
}) {
  static readonly layer = Layer.effect(this, this.make)
}
