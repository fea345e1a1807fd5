import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { SourceId } from "@ingest/domain"
import type { ConnectionResponse } from "@ingest/http/api"
import { ConnectionRequest } from "@ingest/http/api"
import type { Connect } from "../command.ts"
import { tenantHeaders, tenantScoped } from "../command.ts"
import { IngestApi } from "../connection/index.ts"
import { connectionIdArg, decodeRequest, usageError } from "../flags.ts"
import { emit, printJson, printRecord, printTable } from "../output.ts"

type ConnectionJson = typeof ConnectionResponse.Type

const printConnections = (connections: ReadonlyArray<ConnectionJson>) =>
  printTable(connections, [
    { header: "ID", value: (c) => c.id },
    { header: "NAME", value: (c) => c.name },
    { header: "SOURCE", value: (c) => c.sourceName },
    { header: "MODE", value: (c) => c.syncMode },
    { header: "SCHEDULE", value: (c) => c.syncSchedule ?? "manual" },
    { header: "STATUS", value: (c) => c.status },
    { header: "LAST SYNC", value: (c) => c.lastSyncAt }
  ], "No connections.")

const printConnection = (c: ConnectionJson) =>
  printRecord({
    id: c.id,
    name: c.name,
    sourceId: c.sourceId,
    sourceName: c.sourceName,
    destinationType: c.destinationType,
    syncMode: c.syncMode,
    syncSchedule: c.syncSchedule ?? "manual",
    nextRunAt: c.nextRunAt,
    selectedStreams: c.selectedStreams === null ? "all" : c.selectedStreams.join(", "),
    status: c.status,
    lastSyncAt: c.lastSyncAt,
    createdAt: c.createdAt
  })

const syncModes = ["FULL_REFRESH", "INCREMENTAL", "CDC"] as const

/** `--schedule ""` or `--schedule manual` means manual only (null), as in the API. */
const scheduleOf = (schedule: string) => {
  const trimmed = schedule.trim()
  return trimmed === "" || trimmed.toLowerCase() === "manual" ? null : trimmed
}

const settingsFlags = {
  schedule: Flag.String("schedule").pipe(
    Flag.withDescription("5-field cron in UTC, e.g. \"0 * * * *\"; \"manual\" for manual syncs only"),
    Flag.optional
  ),
  streams: Flag.String("stream").pipe(
    Flag.withDescription("A stream to sync (repeat for several; default: every discovered stream)"),
    Flag.atLeast(0)
  ),
  mode: Flag.Literals("mode", syncModes).pipe(Flag.withDescription("Sync mode (default FULL_REFRESH)"), Flag.optional)
}

const list = Command.make("list", { ...tenantScoped }, ({ json, tenant }) =>
  Effect.gen(function*() {
    const connections = yield* (yield* IngestApi).client.connections.list({ headers: tenantHeaders(tenant) })
    yield* emit(json, connections, printConnections)
  })).pipe(Command.withDescription("List the tenant's connections"), Command.withAlias("ls"))

const get = Command.make("get", { ...tenantScoped, id: connectionIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    const connection = yield* (yield* IngestApi).client.connections.get({ headers: tenantHeaders(tenant), params: { connectionId: id } })
    yield* emit(json, connection, printConnection)
  })).pipe(Command.withDescription("Show one connection"))

const create = Command.make("create", {
  ...tenantScoped,
  source: Flag.String("source").pipe(Flag.withDescription("Source UUID"), Flag.withSchema(SourceId)),
  name: Flag.String("name").pipe(Flag.withDescription("Connection name")),
  ...settingsFlags
}, ({ json, mode, name, schedule, source, streams, tenant }) =>
  Effect.gen(function*() {
    const payload = yield* decodeRequest(ConnectionRequest, "connection")({
      sourceId: source,
      name,
      syncSchedule: Option.isSome(schedule) ? scheduleOf(schedule.value) : null,
      selectedStreams: streams.length === 0 ? null : streams,
      syncMode: Option.getOrElse(mode, () => "FULL_REFRESH" as const)
    })
    const connection = yield* (yield* IngestApi).client.connections.create({ headers: tenantHeaders(tenant), payload })
    yield* emit(json, connection, printConnection)
  })).pipe(Command.withDescription("Create a connection: which streams of a source go to Iceberg, how and when"))

const update = Command.make("update", {
  ...tenantScoped,
  id: connectionIdArg,
  source: Flag.String("source").pipe(Flag.withDescription("Move to another source"), Flag.withSchema(SourceId), Flag.optional),
  name: Flag.String("name").pipe(Flag.withDescription("New name"), Flag.optional),
  allStreams: Flag.Boolean("all-streams").pipe(Flag.withDescription("Sync every discovered stream"), Flag.withDefault(false)),
  ...settingsFlags
}, ({ allStreams, id, json, mode, name, schedule, source, streams, tenant }) =>
  Effect.gen(function*() {
    if (allStreams && streams.length > 0) return yield* usageError("Give --stream or --all-streams, not both")
    const { client } = yield* IngestApi
    const headers = tenantHeaders(tenant)
    // The API replaces the whole connection; the CLI fills what was not given from the current one.
    const current = yield* client.connections.get({ headers, params: { connectionId: id } })
    const payload = yield* decodeRequest(ConnectionRequest, "connection")({
      sourceId: Option.getOrElse(source, () => current.sourceId),
      name: Option.getOrElse(name, () => current.name),
      syncSchedule: Option.isSome(schedule) ? scheduleOf(schedule.value) : current.syncSchedule,
      selectedStreams: allStreams ? null : streams.length > 0 ? streams : current.selectedStreams,
      syncMode: Option.getOrElse(mode, () => current.syncMode)
    })
    const connection = yield* client.connections.update({ headers, params: { connectionId: id }, payload })
    yield* emit(json, connection, printConnection)
  })).pipe(Command.withDescription("Change a connection; omitted settings keep their value"))

const remove = Command.make("delete", { ...tenantScoped, id: connectionIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    yield* (yield* IngestApi).client.connections.remove({ headers: tenantHeaders(tenant), params: { connectionId: id } })
    yield* json ? printJson({ id, deleted: true }) : Console.log(`Deleted connection ${id}`)
  })).pipe(Command.withDescription("Delete a connection that has no sync running"), Command.withAlias("rm"))

export const connectionsCommand = (connect: Connect) =>
  Command.make("connections").pipe(
    Command.withDescription("Manage connections: what to sync from a source into Iceberg"),
    Command.withSubcommands([connect(list), connect(get), connect(create), connect(update), connect(remove)])
  )
