import { assert, layer } from "@effect/vitest"
import { ConnectionRepo, FileImportRepo, SourceRepo, SyncId, SyncRepo } from "@ingest/domain"
import type { Sync, SyncPageRequest } from "@ingest/domain"
import { Cause, DateTime, Effect, Exit, Layer, Option } from "effect"
import { at, makeConnection, makeFileImport, makeSource, makeSync, newTenant, plain } from "./support.ts"

export type Repositories = SourceRepo | ConnectionRepo | SyncRepo | FileImportRepo

const isDefect = <A, E>(exit: Exit.Exit<A, E>) => Exit.isFailure(exit) && Cause.hasDies(exit.cause)

/** Ids in a fixed order so that a tie on the sort field has a known outcome. */
const orderedIds = (n: number): Array<SyncId> =>
  Array.from({ length: n }, () => crypto.randomUUID()).sort().map((id) => SyncId.make(id))

/**
 * The persistence contract every adapter must meet. Runs against one Layer; all tests share
 * that layer (and its store), so each test uses tenants of its own and schedule times that no
 * other test uses.
 */
export const repositoryContract = <E>(name: string, repositories: Layer.Layer<Repositories, E>) =>
  layer(repositories, { timeout: "180 seconds", excludeTestServices: true })(name, (it) => {
    it.effect("source: insert and find round trip, including the secret config and discovered streams", () =>
      Effect.gen(function*() {
        const sources = yield* SourceRepo
        const tenant = newTenant()
        const source = makeSource(tenant, {
          lastTestedAt: at("2024-01-01T11:00:00.123Z"),
          discovered: [{
            name: "public.orders",
            columns: [{ name: "id", type: "INTEGER", nullable: false, sampleValues: ["1"] }],
            supportedSyncModes: ["FULL_REFRESH", "INCREMENTAL"],
            primaryKey: ["id"],
            defaultCursorField: "updated_at"
          }]
        })
        yield* sources.insert(source)
        const found = yield* sources.find(tenant, source.id)
        assert.isTrue(Option.isSome(found))
        assert.deepStrictEqual(plain(Option.getOrThrow(found)), plain(source))
        // A list holds the summary: everything but the secret config and the discovered streams.
        const { connectionConfig: _config, discovered: _discovered, ...summary } = source
        assert.deepStrictEqual((yield* sources.list(tenant)).map(plain), [plain(summary)])
      }))

    it.effect("tenant isolation: another tenant sees nothing and changes nothing", () =>
      Effect.gen(function*() {
        const sources = yield* SourceRepo
        const connections = yield* ConnectionRepo
        const syncs = yield* SyncRepo
        const files = yield* FileImportRepo
        const owner = newTenant()
        const stranger = newTenant()
        const source = makeSource(owner)
        const connection = makeConnection(owner, source.id, { nextRunAt: at("2150-01-01T00:00:00.000Z") })
        const sync = makeSync(owner, connection.id, { status: "RUNNING", completedAt: null })
        const file = makeFileImport(owner)
        yield* sources.insert(source)
        yield* connections.insert(connection)
        yield* syncs.insert(sync)
        yield* files.insert(file)

        assert.isTrue(Option.isNone(yield* sources.find(stranger, source.id)))
        assert.isTrue(Option.isNone(yield* connections.find(stranger, connection.id)))
        assert.isTrue(Option.isNone(yield* syncs.find(stranger, sync.id)))
        assert.isTrue(Option.isNone(yield* syncs.findActive(stranger, connection.id)))
        assert.isTrue(Option.isNone(yield* files.find(stranger, file.id)))
        assert.isTrue(Option.isNone(yield* files.findSummary(stranger, file.id)))
        assert.deepStrictEqual(yield* sources.list(stranger), [])
        assert.deepStrictEqual(yield* connections.list(stranger), [])
        assert.deepStrictEqual(yield* files.list(stranger), [])
        assert.strictEqual((yield* files.page(stranger, { page: 0, size: 10 })).totalElements, 0)
        assert.strictEqual(yield* connections.countBySource(stranger, source.id), 0)
        const page = yield* syncs.page(stranger, { connectionId: connection.id, page: 0, size: 10, sort: { field: "startedAt", direction: "desc" } })
        assert.strictEqual(page.totalElements, 0)
        assert.strictEqual(
          yield* connections.advanceSchedule(stranger, connection.id, connection.nextRunAt!, at("2150-01-02T00:00:00.000Z")),
          false
        )

        // Writes naming the stranger as tenant do not touch the owner's rows.
        assert.isFalse(yield* sources.remove(stranger, source.id))
        assert.isFalse(yield* connections.remove(stranger, connection.id))
        yield* sources.update({ ...source, tenantId: stranger, name: "hijacked" })
        yield* connections.update({ ...connection, tenantId: stranger, name: "hijacked" })
        yield* syncs.update({ ...sync, tenantId: stranger, status: "CANCELLED" })
        yield* files.update({ ...file, tenantId: stranger, status: "FAILED" })
        assert.strictEqual(Option.getOrThrow(yield* sources.find(owner, source.id)).name, source.name)
        assert.strictEqual(Option.getOrThrow(yield* connections.find(owner, connection.id)).name, connection.name)
        assert.strictEqual(Option.getOrThrow(yield* syncs.find(owner, sync.id)).status, "RUNNING")
        assert.strictEqual(Option.getOrThrow(yield* files.find(owner, file.id)).status, "UPLOADED")
        assert.deepStrictEqual(plain(Option.getOrThrow(yield* connections.find(owner, connection.id))), plain(connection))
      }))

    it.effect("update replaces the mutable fields and keeps the creation time", () =>
      Effect.gen(function*() {
        const sources = yield* SourceRepo
        const connections = yield* ConnectionRepo
        const tenant = newTenant()
        const source = makeSource(tenant)
        yield* sources.insert(source)
        const changed = {
          ...source,
          name: "orders-db-renamed",
          description: null,
          connectionConfig: { host: "replica.internal", password: "rotated" },
          status: "ERROR" as const,
          lastError: "connection refused",
          engineRef: "airbyte-source-9",
          updatedAt: at("2024-05-01T00:00:00.000Z")
        }
        yield* sources.update({ ...changed, createdAt: at("1999-01-01T00:00:00.000Z") })
        assert.deepStrictEqual(plain(Option.getOrThrow(yield* sources.find(tenant, source.id))), plain(changed))

        const connection = makeConnection(tenant, source.id)
        yield* connections.insert(connection)
        const other = makeSource(tenant)
        yield* sources.insert(other)
        const moved = {
          ...connection,
          sourceId: other.id,
          selectedStreams: null,
          syncSchedule: "0 * * * *",
          nextRunAt: at("2160-01-01T00:00:00.000Z"),
          status: "PAUSED" as const,
          lastSyncAt: at("2024-05-02T00:00:00.000Z"),
          updatedAt: at("2024-05-02T00:00:00.000Z")
        }
        yield* connections.update(moved)
        assert.deepStrictEqual(plain(Option.getOrThrow(yield* connections.find(tenant, connection.id))), plain(moved))
      }))

    it.effect("remove deletes once; a second remove and find report nothing", () =>
      Effect.gen(function*() {
        const sources = yield* SourceRepo
        const connections = yield* ConnectionRepo
        const tenant = newTenant()
        const source = makeSource(tenant)
        const connection = makeConnection(tenant, source.id)
        yield* sources.insert(source)
        yield* connections.insert(connection)
        assert.isTrue(yield* connections.remove(tenant, connection.id))
        assert.isFalse(yield* connections.remove(tenant, connection.id))
        assert.isTrue(Option.isNone(yield* connections.find(tenant, connection.id)))
        assert.isTrue(yield* sources.remove(tenant, source.id))
        assert.isFalse(yield* sources.remove(tenant, source.id))
        assert.deepStrictEqual(yield* sources.list(tenant), [])
      }))

    it.effect("an id inserted twice is a defect", () =>
      Effect.gen(function*() {
        const sources = yield* SourceRepo
        const tenant = newTenant()
        const source = makeSource(tenant)
        yield* sources.insert(source)
        assert.isTrue(isDefect(yield* Effect.exit(sources.insert({ ...source, name: "again" }))))
      }))

    it.effect("list is ordered by creation; countBySource counts the tenant's connections of a source", () =>
      Effect.gen(function*() {
        const sources = yield* SourceRepo
        const connections = yield* ConnectionRepo
        const tenant = newTenant()
        const a = makeSource(tenant, { name: "a", createdAt: at("2024-01-03T00:00:00.000Z") })
        const b = makeSource(tenant, { name: "b", createdAt: at("2024-01-01T00:00:00.000Z") })
        yield* sources.insert(a)
        yield* sources.insert(b)
        assert.deepStrictEqual((yield* sources.list(tenant)).map((s) => s.name), ["b", "a"])
        for (let i = 0; i < 2; i++) yield* connections.insert(makeConnection(tenant, a.id))
        yield* connections.insert(makeConnection(tenant, b.id))
        // A connection of another tenant pointing at the same source id does not count.
        yield* connections.insert(makeConnection(newTenant(), a.id))
        assert.strictEqual(yield* connections.countBySource(tenant, a.id), 2)
        assert.strictEqual(yield* connections.countBySource(tenant, b.id), 1)
        assert.strictEqual((yield* connections.list(tenant)).length, 3)
      }))

    it.effect("sync paging: totals, sorting by startedAt/completedAt/status both ways, stable ties", () =>
      Effect.gen(function*() {
        const syncs = yield* SyncRepo
        const tenant = newTenant()
        const connection = makeConnection(tenant, makeSource(tenant).id)
        const otherConnection = makeConnection(tenant, makeSource(tenant).id)
        const ids = orderedIds(5)
        const rows: Record<string, Sync> = {
          s1: makeSync(tenant, connection.id, { id: ids[0]!, status: "SUCCEEDED", startedAt: at("2024-02-01T00:00:00.000Z"), completedAt: at("2024-02-01T01:00:00.000Z") }),
          s2: makeSync(tenant, connection.id, { id: ids[1]!, status: "FAILED", startedAt: at("2024-02-03T00:00:00.000Z"), completedAt: at("2024-02-03T00:10:00.000Z"), error: "boom" }),
          s3: makeSync(tenant, connection.id, { id: ids[2]!, status: "RUNNING", startedAt: at("2024-02-04T00:00:00.000Z"), completedAt: null, recordsSynced: null, bytesSynced: null, durationMs: null }),
          // s4 ties s2 on startedAt: the id decides (ids[1] < ids[3]).
          s4: makeSync(tenant, connection.id, { id: ids[3]!, status: "CANCELLED", startedAt: at("2024-02-03T00:00:00.000Z"), completedAt: at("2024-02-05T00:00:00.000Z") }),
          s5: makeSync(tenant, connection.id, { id: ids[4]!, status: "SUCCEEDED", startedAt: at("2024-02-02T00:00:00.000Z"), completedAt: at("2024-02-02T00:30:00.000Z"), trigger: "schedule" })
        }
        for (const sync of Object.values(rows)) yield* syncs.insert(sync)
        yield* syncs.insert(makeSync(tenant, otherConnection.id, { startedAt: at("2024-01-01T00:00:00.000Z") }))
        yield* syncs.insert(makeSync(tenant, otherConnection.id, { startedAt: at("2024-03-01T00:00:00.000Z") }))
        const nameOf = new Map(Object.entries(rows).map(([name, s]) => [s.id as string, name]))

        const order = (field: SyncPageRequest["sort"]["field"], direction: "asc" | "desc") =>
          syncs.page(tenant, { connectionId: connection.id, page: 0, size: 100, sort: { field, direction } }).pipe(
            Effect.map((page) => page.content.map((s) => nameOf.get(s.id)))
          )
        assert.deepStrictEqual(yield* order("startedAt", "asc"), ["s1", "s5", "s2", "s4", "s3"])
        assert.deepStrictEqual(yield* order("startedAt", "desc"), ["s3", "s2", "s4", "s5", "s1"])
        // A sync that has not completed sorts last in both directions.
        assert.deepStrictEqual(yield* order("completedAt", "asc"), ["s1", "s5", "s2", "s4", "s3"])
        assert.deepStrictEqual(yield* order("completedAt", "desc"), ["s4", "s2", "s5", "s1", "s3"])
        assert.deepStrictEqual(yield* order("status", "asc"), ["s4", "s2", "s3", "s1", "s5"])
        assert.deepStrictEqual(yield* order("status", "desc"), ["s1", "s5", "s3", "s2", "s4"])

        const first = yield* syncs.page(tenant, { connectionId: connection.id, page: 0, size: 2, sort: { field: "startedAt", direction: "desc" } })
        const last = yield* syncs.page(tenant, { connectionId: connection.id, page: 2, size: 2, sort: { field: "startedAt", direction: "desc" } })
        const beyond = yield* syncs.page(tenant, { connectionId: connection.id, page: 9, size: 2, sort: { field: "startedAt", direction: "desc" } })
        assert.deepStrictEqual(first.content.map((s) => nameOf.get(s.id)), ["s3", "s2"])
        assert.deepStrictEqual({ ...first, content: [] }, { content: [], totalElements: 5, totalPages: 3, number: 0, size: 2 })
        assert.deepStrictEqual(last.content.map((s) => nameOf.get(s.id)), ["s1"])
        assert.strictEqual(last.number, 2)
        assert.deepStrictEqual(beyond.content, [])
        assert.strictEqual(beyond.totalElements, 5)

        const all = yield* syncs.page(tenant, { connectionId: undefined, page: 0, size: 3, sort: { field: "startedAt", direction: "asc" } })
        assert.strictEqual(all.totalElements, 7)
        assert.strictEqual(all.totalPages, 3)
        assert.strictEqual(all.content.length, 3)
        assert.deepStrictEqual(plain(all.content[1]), plain(rows.s1))
      }))

    it.effect("one active sync per connection: two concurrent inserts give exactly one Conflict", () =>
      Effect.gen(function*() {
        const syncs = yield* SyncRepo
        const tenant = newTenant()
        const connection = makeConnection(tenant, makeSource(tenant).id)
        const a = makeSync(tenant, connection.id, { status: "PENDING", completedAt: null, startedAt: at("2024-04-01T00:00:00.000Z") })
        const b = makeSync(tenant, connection.id, { status: "RUNNING", completedAt: null, startedAt: at("2024-04-01T00:00:00.000Z") })
        const outcomes = yield* Effect.all([Effect.exit(syncs.insert(a)), Effect.exit(syncs.insert(b))], { concurrency: "unbounded" })
        const failures = outcomes.filter(Exit.isFailure)
        assert.strictEqual(outcomes.filter(Exit.isSuccess).length, 1)
        assert.strictEqual(failures.length, 1)
        const error = Cause.findErrorOption(failures[0]!.cause)
        assert.isTrue(Option.isSome(error))
        const conflict = Option.getOrThrow(error)
        assert.strictEqual(conflict._tag, "Conflict")
        assert.strictEqual(conflict.message, `A sync is already running for connection ${connection.id}`)

        const winner = Exit.isSuccess(outcomes[0]!) ? a : b
        assert.strictEqual(Option.getOrThrow(yield* syncs.findActive(tenant, connection.id)).id, winner.id)
        assert.isTrue((yield* syncs.listActive(10_000)).some((s) => s.id === winner.id))

        // Finished syncs do not block; once the active one completes a new one may start.
        yield* syncs.insert(makeSync(tenant, connection.id, { status: "FAILED" }))
        const completed = { ...winner, status: "SUCCEEDED" as const, completedAt: at("2024-04-01T00:01:00.000Z"), durationMs: 60_000 }
        yield* syncs.update(completed)
        assert.deepStrictEqual(plain(Option.getOrThrow(yield* syncs.find(tenant, winner.id))), plain(completed))
        assert.isTrue(Option.isNone(yield* syncs.findActive(tenant, connection.id)))
        assert.isFalse((yield* syncs.listActive(10_000)).some((s) => s.id === winner.id))
        // A finished sync is final: a late update (a progress report read before it finished) changes nothing.
        yield* syncs.update({ ...winner, status: "RUNNING", recordsSynced: 99 })
        assert.deepStrictEqual(plain(Option.getOrThrow(yield* syncs.find(tenant, winner.id))), plain(completed))
        const next = makeSync(tenant, connection.id, { status: "RUNNING", completedAt: null })
        yield* syncs.insert(next)
        assert.strictEqual(Option.getOrThrow(yield* syncs.findActive(tenant, connection.id)).id, next.id)
      }))

    it.effect("the engine job id of a sync: attached alone, and kept by updates read before it was known", () =>
      Effect.gen(function*() {
        const syncs = yield* SyncRepo
        const tenant = newTenant()
        const connection = makeConnection(tenant, makeSource(tenant).id)
        const started = makeSync(tenant, connection.id, { status: "RUNNING", completedAt: null, engineJobId: null })
        yield* syncs.insert(started)
        // The job reports progress before its starter records the job's id: the progress stays.
        yield* syncs.update({ ...started, recordsSynced: 5, bytesSynced: 50 })
        yield* syncs.attachEngineJob(tenant, started.id, "job-1")
        const attached = Option.getOrThrow(yield* syncs.find(tenant, started.id))
        assert.deepStrictEqual([attached.engineJobId, attached.recordsSynced, attached.bytesSynced], ["job-1", 5, 50])
        // A progress report read before the id was attached does not drop it.
        yield* syncs.update({ ...started, recordsSynced: 7, bytesSynced: 70 })
        const progressed = Option.getOrThrow(yield* syncs.find(tenant, started.id))
        assert.deepStrictEqual([progressed.engineJobId, progressed.recordsSynced], ["job-1", 7])
        // Another tenant cannot attach a job to it.
        yield* syncs.attachEngineJob(newTenant(), started.id, "job-2")
        assert.strictEqual(Option.getOrThrow(yield* syncs.find(tenant, started.id)).engineJobId, "job-1")
      }))

    it.effect("listDue and advanceSchedule: due connections oldest first; concurrent advances, exactly one wins", () =>
      Effect.gen(function*() {
        const connections = yield* ConnectionRepo
        const tenant = newTenant()
        const sourceId = makeSource(tenant).id
        // 1970s: no other test schedules anything this early, so the store holds only these as due.
        const early = makeConnection(tenant, sourceId, { syncSchedule: "0 * * * *", nextRunAt: at("1971-01-01T00:00:00.000Z") })
        const later = makeConnection(tenant, sourceId, { syncSchedule: "0 * * * *", nextRunAt: at("1971-01-01T01:00:00.000Z") })
        const future = makeConnection(tenant, sourceId, { syncSchedule: "0 * * * *", nextRunAt: at("1971-06-01T00:00:00.000Z") })
        const manual = makeConnection(tenant, sourceId, { nextRunAt: null })
        for (const c of [future, later, manual, early]) yield* connections.insert(c)

        const now = at("1971-01-01T01:00:00.000Z")
        assert.deepStrictEqual((yield* connections.listDue(now, 100)).map((c) => c.id), [early.id, later.id])
        assert.deepStrictEqual((yield* connections.listDue(now, 1)).map((c) => c.id), [early.id])

        const next = at("1971-01-01T02:00:00.000Z")
        const results = yield* Effect.all(
          Array.from({ length: 4 }, () => connections.advanceSchedule(tenant, early.id, early.nextRunAt!, next)),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(results.filter((won) => won).length, 1)
        const stored = Option.getOrThrow(yield* connections.find(tenant, early.id))
        assert.strictEqual(DateTime.toEpochMillis(stored.nextRunAt!), DateTime.toEpochMillis(next))
        // A scheduler holding the old due time loses.
        assert.isFalse(yield* connections.advanceSchedule(tenant, early.id, early.nextRunAt!, next))
        assert.deepStrictEqual((yield* connections.listDue(now, 100)).map((c) => c.id), [later.id])

        // Advancing to null takes a connection off the schedule.
        assert.isTrue(yield* connections.advanceSchedule(tenant, later.id, later.nextRunAt!, null))
        assert.deepStrictEqual(yield* connections.listDue(now, 100), [])
        assert.isNull(Option.getOrThrow(yield* connections.find(tenant, later.id)).nextRunAt)
        assert.isFalse(yield* connections.advanceSchedule(tenant, manual.id, now, next))
      }))

    it.effect("file imports page newest first, with the page shape of the sync history", () =>
      Effect.gen(function*() {
        const files = yield* FileImportRepo
        const tenant = newTenant()
        const made = [0, 1, 2, 3, 4].map((i) => makeFileImport(tenant, { createdAt: at(`2024-03-0${i + 1}T08:00:00.000Z`) }))
        for (const file of [made[2]!, made[0]!, made[4]!, made[1]!, made[3]!]) yield* files.insert(file)
        yield* files.insert(makeFileImport(newTenant()))
        const first = yield* files.page(tenant, { page: 0, size: 2 })
        assert.deepStrictEqual(first.content.map((f) => f.id), [made[4]!.id, made[3]!.id])
        assert.deepStrictEqual({ ...first, content: [] }, { content: [], totalElements: 5, totalPages: 3, number: 0, size: 2 })
        const last = yield* files.page(tenant, { page: 2, size: 2 })
        assert.deepStrictEqual(last.content.map((f) => f.id), [made[0]!.id])
        // A page holds summaries: everything but the profile (its preview rows grow with the file's width).
        const { profile: _profile, ...summary } = made[0]!
        assert.deepStrictEqual(plain(last.content[0]!), plain(summary))
        assert.notProperty(last.content[0]!, "profile")
        assert.deepStrictEqual((yield* files.page(tenant, { page: 9, size: 2 })).content, [])
      }))

    it.effect("file import round trip keeps the profile (including the column order of preview rows)", () =>
      Effect.gen(function*() {
        const files = yield* FileImportRepo
        const tenant = newTenant()
        const file = makeFileImport(tenant)
        yield* files.insert(file)
        const found = Option.getOrThrow(yield* files.find(tenant, file.id))
        assert.deepStrictEqual(plain(found), plain(file))
        assert.deepStrictEqual(Object.keys(found.profile.previewRows[0]!), ["zeta", "alpha", "mid"])
        assert.deepStrictEqual(Object.keys(found.profile.readOptions), ["delimiter", "quote", "header"])

        const configured = {
          ...file,
          status: "COMPLETED" as const,
          targetTableName: "sales_q1",
          targetSchema: "default",
          columnMappings: { zeta: "z_name", alpha: null, mid: "middle" },
          dropUnmapped: true,
          recordsImported: 2,
          bytesRead: 10_485_760,
          updatedAt: at("2024-03-01T08:05:00.000Z"),
          completedAt: at("2024-03-01T08:05:00.000Z")
        }
        yield* files.update(configured)
        const updated = Option.getOrThrow(yield* files.find(tenant, file.id))
        assert.deepStrictEqual(plain(updated), plain(configured))
        // Its status read alone: everything but the profile.
        const { profile: _profile, ...summary } = configured
        const status = Option.getOrThrow(yield* files.findSummary(tenant, file.id))
        assert.deepStrictEqual(plain(status), plain(summary))
        assert.notProperty(status, "profile")
        assert.isTrue(Option.isNone(yield* files.findSummary(tenant, makeFileImport(tenant).id)))
        assert.deepStrictEqual(Object.keys(updated.columnMappings!), ["zeta", "alpha", "mid"])
        yield* files.insert(makeFileImport(tenant, { createdAt: at("2024-03-02T00:00:00.000Z") }))
        assert.deepStrictEqual((yield* files.list(tenant)).map((f) => f.id)[0], file.id)
        assert.strictEqual((yield* files.list(tenant)).length, 2)
      }))
  })
