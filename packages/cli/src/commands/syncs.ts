import { Console, DateTime, Effect, Option } from "effect"
import type { Layer } from "effect"
import { Command, Flag } from "effect/cli"
import type { SyncView, TenantId } from "@ingest/domain"
import { ConnectionId, isActiveSync, SyncService } from "@ingest/domain"
import { parseSort } from "@ingest/http/api"
import { syncView } from "@ingest/http/views"
import { withApp } from "../app.ts"
import type { AppServices } from "../composition.ts"
import { BackgroundWork } from "../composition.ts"
import { connectionIdArg, jsonFlag, syncIdArg, tenantFlag, usageError, waitFlag } from "../flags.ts"
import { emit, formatBytes, formatCount, formatDuration, printJson, printRecord, printTable } from "../output.ts"
import { makeProgressDisplay, pollUntilDone, whileWorking } from "../progress.ts"

type SyncJson = ReturnType<typeof syncView>

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

const describeSync = ({ connectionName, sync }: SyncView) => {
  const elapsed = Date.now() - DateTime.toEpochMillis(sync.startedAt)
  const parts = [
    `sync of ${connectionName || sync.connectionId}: ${sync.status}`,
    `${formatCount(sync.recordsSynced ?? 0)} records`,
    ...(sync.bytesSynced !== null ? [formatBytes(sync.bytesSynced)] : []),
    formatDuration(Math.max(0, elapsed))
  ]
  return { text: parts.join(", ") }
}

/** Follows a sync until it ends, running this process's share of background work meanwhile. */
const waitForSync = (tenant: TenantId, started: SyncView, json: boolean) =>
  Effect.gen(function*() {
    const syncs = yield* SyncService
    const background = yield* BackgroundWork
    const display = yield* makeProgressDisplay({ quiet: json })
    const final = yield* whileWorking(
      pollUntilDone({
        observe: syncs.get(tenant, started.sync.id),
        isDone: (view) => !isActiveSync(view.sync.status),
        describe: describeSync,
        display,
        interval: "500 millis"
      }),
      background.run
    )
    yield* emit(json, syncView(final), printSync)
    if (final.sync.status !== "SUCCEEDED") {
      return yield* usageError(
        `Sync ${final.sync.id} ${final.sync.status}${final.sync.error !== null ? `: ${final.sync.error}` : ""}`
      )
    }
  })

const list = Command.make("list", {
  tenant: tenantFlag,
  json: jsonFlag,
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
    const order = parseSort(sort)
    if (order === undefined) {
      return yield* usageError(`--sort must be "field" or "field,asc|desc" with field one of startedAt, completedAt, status; got "${sort}"`)
    }
    const result = yield* (yield* SyncService).history(tenant, {
      connectionId: Option.getOrUndefined(connection),
      page,
      size,
      sort: order
    })
    const body = { ...result, content: result.content.map(syncView) }
    yield* emit(json, body, (b) =>
      Effect.gen(function*() {
        yield* printSyncs(b.content)
        if (b.totalElements > 0) {
          yield* Console.log(`\npage ${b.number + 1} of ${Math.max(1, b.totalPages)} (${b.totalElements} syncs)`)
        }
      }))
  })).pipe(Command.withDescription("Sync history, newest first, one page at a time"), Command.withAlias("ls"))

const get = Command.make("get", { tenant: tenantFlag, json: jsonFlag, id: syncIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    const view = yield* (yield* SyncService).get(tenant, id)
    yield* emit(json, syncView(view), printSync)
  })).pipe(Command.withDescription("Show one sync, refreshed from the engine"))

const trigger = Command.make("trigger", {
  tenant: tenantFlag,
  json: jsonFlag,
  wait: waitFlag,
  connection: connectionIdArg
}, ({ connection, json, tenant, wait }) =>
  Effect.gen(function*() {
    const started = yield* (yield* SyncService).trigger(tenant, connection)
    if (!wait) return yield* emit(json, syncView(started), printSync)
    if (!json) yield* Console.error(`Started sync ${started.sync.id}`)
    yield* waitForSync(tenant, started, json)
  })).pipe(Command.withDescription("Start a sync of a connection now (--wait: follow it to the end)"))

const cancel = Command.make("cancel", { tenant: tenantFlag, json: jsonFlag, id: syncIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    yield* (yield* SyncService).cancel(tenant, id)
    yield* json ? printJson({ id, cancelled: true }) : Console.log(`Cancelled sync ${id}`)
  })).pipe(Command.withDescription("Cancel a PENDING or RUNNING sync"))

export const syncsCommand = (app: Layer.Layer<AppServices, unknown>) => {
  const provide = withApp(app)
  return Command.make("syncs").pipe(
    Command.withDescription("Run syncs and read their history"),
    Command.withSubcommands([provide(list), provide(get), provide(trigger), provide(cancel)])
  )
}
