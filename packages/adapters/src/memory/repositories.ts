import {
  activeSyncConflict,
  ConnectionRepo,
  FileImportRepo,
  isActiveSync,
  clampPage,
  makePage,
  normalizePageRequest,
  SourceRepo,
  SyncRepo,
  syncComparator
} from "@ingest/domain"
import type { Connection, FileImport, FileImportSummary, Source, Sync } from "@ingest/domain"
import { DateTime, Effect, Layer, Option, Ref } from "effect"

// In-memory twins of the SQL repositories, for use-case tests and quick local runs. They follow
// the same contract (tests/persistence runs one suite against both): ids are kept in canonical
// lower case as PostgreSQL prints uuids, an update changes neither the owner nor the creation
// time nor (for a sync) the connection, an id used twice is a defect like a primary-key
// violation, and at most one PENDING/RUNNING sync exists per connection.

interface Entity {
  readonly id: string
  readonly tenantId: string
  readonly createdAt: DateTime.Utc
}

const key = (id: string) => id.toLowerCase()

const byCreation = (a: Entity, b: Entity) =>
  DateTime.toEpochMillis(a.createdAt) - DateTime.toEpochMillis(b.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

const limitOf = (limit: number, max = 10_000): number => Math.min(max, Math.max(1, Math.trunc(Number.isFinite(limit) ? limit : 1)))

/** A tenant-scoped table of entities in a Ref; each operation is one atomic Ref step. */
const makeTable = <A extends Entity>(entity: string, canonical: (value: A) => A) =>
  Effect.gen(function*() {
    const rows = yield* Ref.make(new Map<string, A>())
    const owned = (value: A | undefined, tenantId: string): value is A => value !== undefined && value.tenantId === key(tenantId)

    return {
      rows,
      insert: (value: A) =>
        Ref.modify(rows, (map): readonly [boolean, Map<string, A>] => {
          if (map.has(key(value.id))) return [false, map]
          return [true, new Map(map).set(key(value.id), canonical(value))]
        }).pipe(
          Effect.flatMap((inserted) => inserted ? Effect.void : Effect.die(new Error(`duplicate ${entity} id ${value.id}`)))
        ),
      /** Replaces the stored value, keeping what an SQL update does not touch (`keep`). */
      update: (value: A, keep: (stored: A, next: A) => A = (stored, next) => ({ ...next, createdAt: stored.createdAt })) =>
        Ref.update(rows, (map) => {
          const stored = map.get(key(value.id))
          if (!owned(stored, value.tenantId)) return map
          return new Map(map).set(stored.id, keep(stored, canonical({ ...value, id: stored.id, tenantId: stored.tenantId })))
        }),
      find: (tenantId: string, id: string) =>
        Ref.get(rows).pipe(Effect.map((map) => {
          const stored = map.get(key(id))
          return owned(stored, tenantId) ? Option.some(stored) : Option.none<A>()
        })),
      list: (tenantId: string) =>
        Ref.get(rows).pipe(Effect.map((map) => [...map.values()].filter((v) => v.tenantId === key(tenantId)).sort(byCreation))),
      remove: (tenantId: string, id: string) =>
        Ref.modify(rows, (map): readonly [boolean, Map<string, A>] => {
          if (!owned(map.get(key(id)), tenantId)) return [false, map]
          const next = new Map(map)
          next.delete(key(id))
          return [true, next]
        })
    }
  })

export const SourceRepoMemory = Layer.effect(
  SourceRepo,
  Effect.gen(function*() {
    const table = yield* makeTable<Source>("source", (s) => ({ ...s, id: key(s.id) as Source["id"], tenantId: key(s.tenantId) as Source["tenantId"] }))
    return SourceRepo.of({
      insert: table.insert,
      update: (source) => table.update(source),
      find: table.find,
      list: (tenantId) =>
        table.list(tenantId).pipe(
          Effect.map((all) => all.map(({ connectionConfig: _config, discovered: _discovered, ...summary }) => summary))
        ),
      remove: table.remove
    })
  })
)

const canonicalConnection = (c: Connection): Connection => ({
  ...c,
  id: key(c.id) as Connection["id"],
  tenantId: key(c.tenantId) as Connection["tenantId"],
  sourceId: key(c.sourceId) as Connection["sourceId"]
})

export const ConnectionRepoMemory = Layer.effect(
  ConnectionRepo,
  Effect.gen(function*() {
    const table = yield* makeTable<Connection>("connection", canonicalConnection)
    return ConnectionRepo.of({
      insert: table.insert,
      update: (connection) => table.update(connection),
      find: table.find,
      list: table.list,
      remove: table.remove,
      countBySource: (tenantId, sourceId) =>
        table.list(tenantId).pipe(Effect.map((all) => all.filter((c) => c.sourceId === key(sourceId)).length)),
      listDue: (now, limit) =>
        Ref.get(table.rows).pipe(Effect.map((map) =>
          [...map.values()]
            .filter((c) => c.nextRunAt !== null && DateTime.toEpochMillis(c.nextRunAt) <= DateTime.toEpochMillis(now))
            .sort((a, b) =>
              DateTime.toEpochMillis(a.nextRunAt!) - DateTime.toEpochMillis(b.nextRunAt!) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
            )
            .slice(0, limitOf(limit))
        )),
      advanceSchedule: (tenantId, id, expected, next) =>
        Ref.modify(table.rows, (map): readonly [boolean, Map<string, Connection>] => {
          const stored = map.get(key(id))
          if (
            stored === undefined || stored.tenantId !== key(tenantId) || stored.nextRunAt === null ||
            DateTime.toEpochMillis(stored.nextRunAt) !== DateTime.toEpochMillis(expected)
          ) return [false, map]
          return [true, new Map(map).set(stored.id, { ...stored, nextRunAt: next })]
        })
    })
  })
)

const canonicalSync = (s: Sync): Sync => ({
  ...s,
  id: key(s.id) as Sync["id"],
  tenantId: key(s.tenantId) as Sync["tenantId"],
  connectionId: key(s.connectionId) as Sync["connectionId"]
})

export const SyncRepoMemory = Layer.effect(
  SyncRepo,
  Effect.gen(function*() {
    const rows = yield* Ref.make(new Map<string, Sync>())
    const activeFor = (map: Map<string, Sync>, connectionId: string, except?: string) =>
      [...map.values()].find((s) => s.connectionId === key(connectionId) && isActiveSync(s.status) && s.id !== except)
    const scoped = (tenantId: string) =>
      Ref.get(rows).pipe(Effect.map((map) => [...map.values()].filter((s) => s.tenantId === key(tenantId))))

    return SyncRepo.of({
      insert: (sync) =>
        Ref.modify(rows, (map): readonly ["ok" | "duplicate" | "active", Map<string, Sync>] => {
          if (map.has(key(sync.id))) return ["duplicate", map]
          if (isActiveSync(sync.status) && activeFor(map, sync.connectionId) !== undefined) return ["active", map]
          return ["ok", new Map(map).set(key(sync.id), canonicalSync(sync))]
        }).pipe(Effect.flatMap((outcome) =>
          outcome === "ok"
            ? Effect.void
            : outcome === "active"
            ? Effect.fail(activeSyncConflict(sync.connectionId))
            : Effect.die(new Error(`duplicate sync id ${sync.id}`))
        )),
      update: (sync) =>
        Ref.modify(rows, (map): readonly [boolean, Map<string, Sync>] => {
          const stored = map.get(key(sync.id))
          if (stored === undefined || stored.tenantId !== key(sync.tenantId) || !isActiveSync(stored.status)) return [true, map]
          const next: Sync = {
            ...canonicalSync(sync),
            id: stored.id,
            tenantId: stored.tenantId,
            connectionId: stored.connectionId,
            engineJobId: sync.engineJobId ?? stored.engineJobId
          }
          if (isActiveSync(next.status) && activeFor(map, next.connectionId, next.id) !== undefined) return [false, map]
          return [true, new Map(map).set(stored.id, next)]
        }).pipe(Effect.flatMap((ok) =>
          ok ? Effect.void : Effect.die(new Error(`sync ${sync.id}: connection ${sync.connectionId} already has an active sync`))
        )),
      attachEngineJob: (tenantId, id, engineJobId) =>
        Ref.update(rows, (map) => {
          const stored = map.get(key(id))
          return stored === undefined || stored.tenantId !== key(tenantId) ? map : new Map(map).set(stored.id, { ...stored, engineJobId })
        }),
      find: (tenantId, id) =>
        Ref.get(rows).pipe(Effect.map((map) => {
          const stored = map.get(key(id))
          return stored !== undefined && stored.tenantId === key(tenantId) ? Option.some(stored) : Option.none<Sync>()
        })),
      page: (tenantId, request) =>
        scoped(tenantId).pipe(Effect.map((all) => {
          const normalized = normalizePageRequest(request)
          const matching = normalized.connectionId === undefined
            ? all
            : all.filter((s) => s.connectionId === key(normalized.connectionId!))
          const sorted = [...matching].sort(syncComparator(normalized.sort))
          return makePage(sorted.slice(normalized.offset, normalized.offset + normalized.size), matching.length, normalized)
        })),
      findActive: (tenantId, connectionId) =>
        scoped(tenantId).pipe(Effect.map((all) =>
          Option.fromNullishOr(all.find((s) => s.connectionId === key(connectionId) && isActiveSync(s.status)))
        )),
      listActive: (limit) =>
        Ref.get(rows).pipe(Effect.map((map) =>
          [...map.values()]
            .filter((s) => isActiveSync(s.status))
            .sort((a, b) =>
              DateTime.toEpochMillis(a.startedAt) - DateTime.toEpochMillis(b.startedAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
            )
            .slice(0, limitOf(limit))
        ))
    })
  })
)

const summaryOfFile = ({ profile: _profile, ...summary }: FileImport): FileImportSummary => summary

export const FileImportRepoMemory = Layer.effect(
  FileImportRepo,
  Effect.gen(function*() {
    const table = yield* makeTable<FileImport>("file import", (f) => ({
      ...f,
      id: key(f.id) as FileImport["id"],
      tenantId: key(f.tenantId) as FileImport["tenantId"]
    }))
    return FileImportRepo.of({
      insert: table.insert,
      update: (file) => table.update(file),
      find: table.find,
      findSummary: (tenantId, id) => table.find(tenantId, id).pipe(Effect.map(Option.map(summaryOfFile))),
      list: table.list,
      page: (tenantId, request) =>
        table.list(tenantId).pipe(Effect.map((all) => {
          const clamped = clampPage(request)
          const newestFirst = [...all].reverse()
          return makePage(newestFirst.slice(clamped.offset, clamped.offset + clamped.size).map(summaryOfFile), all.length, clamped)
        }))
    })
  })
)
