import { Console, Effect, Option } from "effect"
import type { Layer } from "effect"
import { Command, Flag } from "effect/cli"
import type { ConnectionInput } from "@ingest/domain"
import { ConnectionService, SourceId } from "@ingest/domain"
import { ConnectionRequest } from "@ingest/http/api"
import { connectionView } from "@ingest/http/views"
import { withApp } from "../app.ts"
import type { AppServices } from "../composition.ts"
import { connectionIdArg, decodeRequest, jsonFlag, tenantFlag, usageError } from "../flags.ts"
import { emit, printJson, printRecord, printTable } from "../output.ts"

type ConnectionJson = ReturnType<typeof connectionView>

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

const list = Command.make("list", { tenant: tenantFlag, json: jsonFlag }, ({ json, tenant }) =>
  Effect.gen(function*() {
    const connections = yield* (yield* ConnectionService).list(tenant)
    yield* emit(json, connections.map(connectionView), printConnections)
  })).pipe(Command.withDescription("List the tenant's connections"), Command.withAlias("ls"))

const get = Command.make("get", { tenant: tenantFlag, json: jsonFlag, id: connectionIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    const view = yield* (yield* ConnectionService).get(tenant, id)
    yield* emit(json, connectionView(view), printConnection)
  })).pipe(Command.withDescription("Show one connection"))

const create = Command.make("create", {
  tenant: tenantFlag,
  json: jsonFlag,
  source: Flag.String("source").pipe(Flag.withDescription("Source UUID"), Flag.withSchema(SourceId)),
  name: Flag.String("name").pipe(Flag.withDescription("Connection name")),
  ...settingsFlags
}, ({ json, mode, name, schedule, source, streams, tenant }) =>
  Effect.gen(function*() {
    const request = yield* decodeRequest(ConnectionRequest, "connection")({
      sourceId: source,
      name,
      syncSchedule: Option.isSome(schedule) ? scheduleOf(schedule.value) : null,
      selectedStreams: streams.length === 0 ? null : streams,
      syncMode: Option.getOrElse(mode, () => "FULL_REFRESH" as const)
    })
    const view = yield* (yield* ConnectionService).create(tenant, request)
    yield* emit(json, connectionView(view), printConnection)
  })).pipe(Command.withDescription("Create a connection: which streams of a source go to Iceberg, how and when"))

const update = Command.make("update", {
  tenant: tenantFlag,
  json: jsonFlag,
  id: connectionIdArg,
  source: Flag.String("source").pipe(Flag.withDescription("Move to another source"), Flag.withSchema(SourceId), Flag.optional),
  name: Flag.String("name").pipe(Flag.withDescription("New name"), Flag.optional),
  allStreams: Flag.Boolean("all-streams").pipe(Flag.withDescription("Sync every discovered stream"), Flag.withDefault(false)),
  ...settingsFlags
}, ({ allStreams, id, json, mode, name, schedule, source, streams, tenant }) =>
  Effect.gen(function*() {
    if (allStreams && streams.length > 0) return yield* usageError("Give --stream or --all-streams, not both")
    const connections = yield* ConnectionService
    // The API replaces the whole connection; the CLI fills what was not given from the current one.
    const { connection: current } = yield* connections.get(tenant, id)
    const input: ConnectionInput = yield* decodeRequest(ConnectionRequest, "connection")({
      sourceId: Option.getOrElse(source, () => current.sourceId),
      name: Option.getOrElse(name, () => current.name),
      syncSchedule: Option.isSome(schedule) ? scheduleOf(schedule.value) : current.syncSchedule,
      selectedStreams: allStreams ? null : streams.length > 0 ? streams : current.selectedStreams,
      syncMode: Option.getOrElse(mode, () => current.syncMode)
    })
    const view = yield* connections.update(tenant, id, input)
    yield* emit(json, connectionView(view), printConnection)
  })).pipe(Command.withDescription("Change a connection; omitted settings keep their value"))

const remove = Command.make("delete", { tenant: tenantFlag, json: jsonFlag, id: connectionIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    yield* (yield* ConnectionService).remove(tenant, id)
    yield* json ? printJson({ id, deleted: true }) : Console.log(`Deleted connection ${id}`)
  })).pipe(Command.withDescription("Delete a connection that has no sync running"), Command.withAlias("rm"))

export const connectionsCommand = (app: Layer.Layer<AppServices, unknown>) => {
  const provide = withApp(app)
  return Command.make("connections").pipe(
    Command.withDescription("Manage connections: what to sync from a source into Iceberg"),
    Command.withSubcommands([provide(list), provide(get), provide(create), provide(update), provide(remove)])
  )
}
