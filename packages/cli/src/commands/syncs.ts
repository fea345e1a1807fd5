import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import type { TenantId } from "@ingest/domain"
import { ConnectionId, SyncId } from "@ingest/domain"
import type { SyncResponse } from "@ingest/http/api"
import { parseSort } from "@ingest/http/api"
import type { Connect } from "../command.ts"
import { tenantHeaders, tenantScoped } from "../command.ts"
import { IngestApi } from "../connection/index.ts"
import { WorkFailed } from "../exit-codes.ts"
import { connectionIdArg, syncIdArg, usageError, waitFlag } from "../flags.ts"
import { emit, formatBytes, formatCount, formatDuration, printJson, printRecord, printTable } from "../output.ts"
import { makeProgressDisplay, pollUntilDone, whileWorking } from "../progress.ts"

type SyncJson = typeof SyncResponse.Type

const printSyncs = (syncs: ReadonlyArray<SyncJson>) =>
  printTable(syncs, [
    { header: "ID", value: (s) => s.id },
    { header: "CONNECTION", value: (s) => s.connectionName },
    { header: "STATUS", value: (s) => s.status },
    { header: "RECORDS", value: (s) => s.recordsSynced === null ? null : formatCount(s.recordsSynced) },
    { header: "BYTES", value: (s) => s.bytesSynced === null ? null : formatBytes(s.bytesSynced) },
    { header: "STARTED", value: (s) => s.startedAt },
    { header: "DURATION", value: (s) => s.durationMs === null ? null : formatDuration(s.durationMs) }
  ], "No syncs.")

const printSync = (s: SyncJson) =>
  printRecord({
    id: s.id,
    connectionId: s.connectionId,
    connectionName: s.connectionName,
    status: s.status,
    recordsSynced: s.recordsSynced,
    bytesSynced: s.bytesSynced,
    startedAt: s.startedAt,
    completedAt: s.completedAt,
    durationMs: s.durationMs,
    ...(s.error !== null ? { error: s.error } : {})
  })

const isActive = (status: SyncJson["status"]) => status === "PENDING" || status === "RUNNING"

const describeSync = (sync: SyncJson) => {
  const elapsed = sync.durationMs ?? Date.now() - Date.parse(sync.startedAt)
  const parts = [
    `sync of ${sync.connectionName || sync.connectionId}: ${sync.status}`,
    `${formatCount(sync.recordsSynced ?? 0)} records`,
    ...(sync.bytesSynced !== null ? [formatBytes(sync.bytesSynced)] : []),
    formatDuration(Math.max(0, elapsed))
  ]
  return { phase: sync.status, text: parts.join(", ") }
}

/** Follows a sync until it ends (running this process's share of background work in process). */
const waitForSync = (tenant: TenantId, started: SyncJson, json: boolean) =>
  Effect.gen(function*() {
    const { background, client } = yield* IngestApi
    const display = yield* makeProgressDisplay({ quiet: json })
    const final = yield* whileWorking(
      pollUntilDone({
        observe: client.syncs.get({ headers: tenantHeaders(tenant), params: { syncId: SyncId.make(started.id) } }),
        isDone: (sync) => !isActive(sync.status),
        describe: describeSync,
        display,
        interval: "500 millis"
      }),
      background
    )
    yield* emit(json, final, (s) =>
      Effect.gen(function*() {
        yield* printSync(s)
        if (s.status === "SUCCEEDED") {
          yield* Console.error(
            `Synced ${formatCount(s.recordsSynced ?? 0)} records of ${s.connectionName} in ${formatDuration(s.durationMs ?? 0)}`
          )
        }
      }))
    if (final.status !== "SUCCEEDED") {
      return yield* new WorkFailed({ message: `Sync ${final.id} ${final.status}${final.error !== null ? `: ${final.error}` : ""}` })
    }
  })

const list = Command.make("list", {
  ...tenantScoped,
  connection: Flag.String("connection").pipe(
    Flag.withDescription("Only syncs of this connection"),
    Flag.withSchema(ConnectionId),
    Flag.optional
  ),
  page: Flag.Int("page").pipe(Flag.withDescription("Page number, from 0"), Flag.withDefault(0)),
  size: Flag.Int("size").pipe(Flag.withDescription("Page size, 1..1000"), Flag.withDefault(20)),
  sort: Flag.String("sort").pipe(
    Flag.withDescription("field or field,asc|desc on startedAt, completedAt, status"),
    Flag.withDefault("startedAt,desc")
  )
}, ({ connection, json, page, size, sort, tenant }) =>
  Effect.gen(function*() {
    if (page < 0) return yield* usageError(`--page must be 0 or more, got ${page}`)
    if (size < 1 || size > 1000) return yield* usageError(`--size must be between 1 and 1000, got ${size}`)
    if (parseSort(sort) === undefined) {
      return yield* usageError(`--sort must be "field" or "field,asc|desc" with field one of startedAt, completedAt, status; got "${sort}"`)
    }
    const body = yield* (yield* IngestApi).client.syncs.list({
      headers: tenantHeaders(tenant),
      query: { ...(Option.isSome(connection) ? { connectionId: connection.value } : {}), page, size, sort }
    })
    yield* emit(json, body, (b) =>
      Effect.gen(function*() {
        yield* printSyncs(b.content)
        if (b.totalElements > 0) {
          yield* Console.log(`\npage ${b.number + 1} of ${Math.max(1, b.totalPages)} (${b.totalElements} syncs)`)
        }
      }))
  })).pipe(Command.withDescription("Sync history, newest first, one page at a time"), Command.withAlias("ls"))

const get = Command.make("get", { ...tenantScoped, id: syncIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    const sync = yield* (yield* IngestApi).client.syncs.get({ headers: tenantHeaders(tenant), params: { syncId: id } })
    yield* emit(json, sync, printSync)
  })).pipe(Command.withDescription("Show one sync, refreshed from the engine"))

const trigger = Command.make("trigger", { ...tenantScoped, wait: waitFlag, connection: connectionIdArg }, ({ connection, json, tenant, wait }) =>
  Effect.gen(function*() {
    const started = yield* (yield* IngestApi).client.syncs.trigger({ headers: tenantHeaders(tenant), params: { connectionId: connection } })
    if (!wait) return yield* emit(json, started, printSync)
    if (!json) yield* Console.error(`Started sync ${started.id}`)
    yield* waitForSync(tenant, started, json)
  })).pipe(Command.withDescription("Start a sync of a connection now (--wait: follow it to the end)"))

const cancel = Command.make("cancel", { ...tenantScoped, id: syncIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    yield* (yield* IngestApi).client.syncs.cancel({ headers: tenantHeaders(tenant), params: { syncId: id } })
    yield* json ? printJson({ id, cancelled: true }) : Console.log(`Cancelled sync ${id}`)
  })).pipe(Command.withDescription("Cancel a PENDING or RUNNING sync"))

export const syncsCommand = (connect: Connect) =>
  Command.make("syncs").pipe(
    Command.withDescription("Run syncs and read their history"),
    Command.withSubcommands([connect(list), connect(get), connect(trigger), connect(cancel)])
  )
