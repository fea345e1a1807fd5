import type { LocalSyncInput, SyncStateStore } from "@ingest/adapters/engine/index"
import {
  ensureSyncStateTable,
  makeLocalEngine,
  makeMemorySyncStateStore,
  makeSqlSyncStateStore,
  runLocalSync
} from "@ingest/adapters/engine/index"
import { PgClient } from "@effect/sql-pg"
import type { Connection, DiscoveredStream, Source, SyncMode } from "@ingest/domain"
import { ConnectionId, InfrastructureError } from "@ingest/domain"
import { Deferred, Effect, Exit, Fiber, Option, Redacted } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPasswordRejectingServer } from "./support/fake-pg-auth.ts"
import { localPg, makeConnection, makeSource, makeSync, runStatements, tenantId, uniqueSchema } from "./support/fixtures.ts"
import { makeMemoryWriter } from "./support/memory-writer.ts"

const schema = uniqueSchema("engine_sync")
const s = `"${schema}"`
const namespace = ["t_test", "conn"]
const engine = makeLocalEngine()
const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

const source: Source = makeSource("postgres", { ...localPg, ssl_mode: "disable", schemas: [schema] })
let streams: ReadonlyArray<DiscoveredStream> = []

beforeAll(async () => {
  await runStatements([
    `CREATE SCHEMA ${s}`,
    `CREATE TABLE ${s}.items (
      id serial PRIMARY KEY,
      name text NOT NULL,
      amount numeric(10,2),
      free numeric,
      price double precision,
      ok boolean,
      born date,
      updated_at timestamptz NOT NULL,
      local_ts timestamp,
      tags text[],
      doc jsonb,
      payload bytea
    )`,
    `INSERT INTO ${s}.items (name, amount, free, price, ok, born, updated_at, local_ts, tags, doc, payload) VALUES
      ('apple', 12.30, 1.0000000004, 1.5, true, '2024-01-02', '2024-03-15 10:05:00.123456+00', '2024-03-15 10:05:00.5', '{a,"b c"}', '{"k": [1, 2]}', '\\x00ff10'),
      ('pear', NULL, NULL, NULL, NULL, NULL, '2024-03-15 11:00:00+00', NULL, NULL, NULL, NULL),
      ('plum', -0.50, 'NaN', -2.25, false, '1969-12-31', '2024-03-15 12:00:00+00', '1960-01-01 00:00:00', '{}', '[]', '\\x')`,
    `CREATE TABLE ${s}.events (id bigint PRIMARY KEY, label text)`,
    `CREATE TYPE ${s}.mood AS ENUM ('happy', 'sad')`,
    `CREATE DOMAIN ${s}.positive_int AS integer CHECK (VALUE > 0)`,
    `CREATE DOMAIN ${s}.stamp AS timestamptz`,
    `CREATE TABLE ${s}.odd_types (
      feeling ${s}.mood, dom ${s}.positive_int, stamp ${s}.stamp, span interval, at_time time, ip inet,
      uid uuid, matrix int[][], flag char(3), cash money, small smallint, ratio real, wide numeric(50,10),
      scaled numeric(5,-2), infinite timestamptz, infinite_date date
    )`,
    `INSERT INTO ${s}.odd_types VALUES (
      'sad', 7, '2000-01-01 00:00:00+00', '1 day 02:00:00', '13:45:00', '10.0.0.1/32',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{{1,2},{3,4}}', 'ab', 12.5, -3, 0.5, 12345678901234567890123456789.0123456789,
      12345, 'infinity', '-infinity'
    )`,
    `INSERT INTO ${s}.events SELECT g, 'event ' || g FROM generate_series(1, 25) g`,
    `CREATE TABLE ${s}.many (id bigint PRIMARY KEY, label text)`,
    `INSERT INTO ${s}.many SELECT g, repeat('x', 40) || g FROM generate_series(1, 300000) g`
  ])
  streams = await run(engine.discover(source))
})

afterAll(async () => {
  await runStatements([`DROP SCHEMA IF EXISTS ${s} CASCADE`])
})

const setup = (syncMode: SyncMode, selected: ReadonlyArray<string> | null = null) => {
  const connection = makeConnection(source, syncMode, selected)
  return { connection, memory: makeMemoryWriter(), state: makeMemorySyncStateStore() }
}

const input = (
  connection: Connection,
  writer: ReturnType<typeof makeMemoryWriter>["writer"],
  state: SyncStateStore,
  extra: Partial<LocalSyncInput> = {}
): LocalSyncInput => ({
  sync: makeSync(connection),
  connection,
  source,
  streams,
  state,
  writer,
  namespace,
  onProgress: () => Effect.void,
  ...extra
})

const items = `${schema}.items`
const events = `${schema}.events`
const itemsTable = `${schema}_items`
const eventsTable = `${schema}_events`

describe("local engine: postgres full refresh", () => {
  it("writes every selected stream with canonical values, then replaces it on the next run", async () => {
    const { connection, memory, state } = setup("FULL_REFRESH", [items, events, `${schema}.odd_types`])
    const progress: Array<[number, number]> = []
    const first = input(connection, memory.writer, state, {
      onProgress: (records, bytes) => Effect.sync(() => void progress.push([records, bytes]))
    })
    const result = await run(runLocalSync(first))
    expect(result.recordsSynced).toBe(29)
    expect(result.bytesSynced).toBeGreaterThan(0)
    expect(progress.at(-1)).toEqual([29, result.bytesSynced])

    const table = memory.table(namespace, itemsTable)!
    expect(table.commits).toEqual([{ commitId: `${first.sync.id}:${items}`, mode: "overwrite", rows: 3 }])
    expect(table.columns.map((c) => [c.name, c.type, c.nullable])).toEqual([
      ["id", "INTEGER", false],
      ["name", "STRING", false],
      ["amount", "DECIMAL", true],
      ["free", "DECIMAL", true],
      ["price", "DOUBLE", true],
      ["ok", "BOOLEAN", true],
      ["born", "DATE", true],
      ["updated_at", "TIMESTAMP_TZ", false],
      ["local_ts", "TIMESTAMP", true],
      ["tags", "STRING", true],
      ["doc", "STRING", true],
      ["payload", "BINARY", true]
    ])
    const rows = [...table.rows].sort((a, b) => Number(a[0]) - Number(b[0]))
    expect(rows[0]).toEqual([
      1, "apple", "12.30", "1.000000000", 1.5, true, 19724, 1710497100123456n, 1710497100500000n,
      "[\"a\",\"b c\"]", "{\"k\": [1, 2]}", new Uint8Array([0, 255, 16])
    ])
    expect(rows[1]).toEqual([2, "pear", null, null, null, null, null, 1710500400000000n, null, null, null, null])
    // NaN has no decimal form: it arrives as null. Dates and timestamps before 1970 are negative.
    expect(rows[2]).toEqual([
      3, "plum", "-0.50", null, -2.25, false, -1, 1710504000000000n, -315619200000000n, "[]", "[]", new Uint8Array([])
    ])
    expect(memory.table(namespace, eventsTable)!.rows).toHaveLength(25)

    await runStatements([
      `DELETE FROM ${s}.items WHERE name = 'pear'`,
      `INSERT INTO ${s}.items (name, updated_at) VALUES ('fig', '2024-03-16 00:00:00+00')`
    ])
    try {
      const second = input(connection, memory.writer, state)
      await run(runLocalSync(second))
      const after = memory.table(namespace, itemsTable)!
      expect(after.commits.map((c) => c.mode)).toEqual(["overwrite", "overwrite"])
      expect(after.commits[1]!.commitId).toBe(`${second.sync.id}:${items}`)
      expect(after.rows.map((r) => r[1]).sort()).toEqual(["apple", "fig", "plum"])
    } finally {
      await runStatements([
        `DELETE FROM ${s}.items WHERE name = 'fig'`,
        `INSERT INTO ${s}.items (id, name, updated_at) VALUES (2, 'pear', '2024-03-15 11:00:00+00')`
      ])
    }
  })

  it("reads every type discovery maps, domains and enums included", async () => {
    const { connection, memory, state } = setup("FULL_REFRESH", [`${schema}.odd_types`])
    await run(runLocalSync(input(connection, memory.writer, state)))
    const table = memory.table(namespace, `${schema}_odd_types`)!
    expect(table.columns.map((c) => c.type)).toEqual([
      "STRING", "INTEGER", "TIMESTAMP_TZ", "STRING", "STRING", "STRING", "STRING", "STRING", "STRING", "STRING",
      "INTEGER", "DOUBLE", "STRING", "DECIMAL", "TIMESTAMP_TZ", "DATE"
    ])
    expect(table.columns[13]).toMatchObject({ precision: 7, scale: 0 })
    expect(table.rows).toEqual([[
      "sad", 7, 946684800000000n, "1 day 02:00:00", "13:45:00", "10.0.0.1/32", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      "[[1,2],[3,4]]", "ab ", "$12.50", -3, 0.5, "12345678901234567890123456789.0123456789", "12300", null, null
    ]])
  })

  it("syncs only the selected streams and refuses an unknown one", async () => {
    const { connection, memory, state } = setup("FULL_REFRESH", [events])
    await run(runLocalSync(input(connection, memory.writer, state)))
    expect([...memory.tables.keys()]).toEqual([`${namespace.join(".")}.${eventsTable}`])

    const unknown = setup("FULL_REFRESH", [`${schema}.nope`])
    const error = await run(Effect.flip(runLocalSync(input(unknown.connection, unknown.memory.writer, unknown.state))))
    expect(error.message).toContain(`Stream "${schema}.nope" is not offered by the source`)
  })
})

describe("local engine: postgres incremental", () => {
  it("loads everything first, then appends only rows past the cursor; state moves after the commit", async () => {
    const { connection, memory, state } = setup("INCREMENTAL", [items, events])
    const key = (stream: string) => ({ tenantId, connectionId: connection.id, stream })

    const first = input(connection, memory.writer, state)
    expect((await run(runLocalSync(first))).recordsSynced).toBe(28)
    expect(memory.table(namespace, itemsTable)!.commits[0]!.mode).toBe("overwrite")
    expect(await run(state.get(key(items)))).toEqual(Option.some({ cursorField: "updated_at", value: "1710504000000000" }))
    expect(await run(state.get(key(events)))).toEqual(Option.some({ cursorField: "id", value: "25" }))

    await runStatements([
      // One microsecond past the stored cursor must be picked up: the bound is exact.
      `UPDATE ${s}.items SET name = 'pear v2', updated_at = '2024-03-15 12:00:00.000001+00' WHERE name = 'pear'`,
      `INSERT INTO ${s}.items (name, updated_at) VALUES ('kiwi', '2024-03-17 00:00:00+00')`,
      `INSERT INTO ${s}.events VALUES (26, 'event 26'), (27, 'event 27')`
    ])
    try {
      const second = input(connection, memory.writer, state)
      const result = await run(runLocalSync(second))
      expect(result.recordsSynced).toBe(4)
      const table = memory.table(namespace, itemsTable)!
      expect(table.commits[1]).toEqual({ commitId: `${second.sync.id}:${items}`, mode: "append", rows: 2 })
      expect(table.rows.map((r) => r[1])).toEqual(expect.arrayContaining(["pear v2", "kiwi"]))
      expect(table.rows).toHaveLength(5)
      expect(memory.table(namespace, eventsTable)!.rows.slice(25).map((r) => r[0])).toEqual([26, 27])
      expect(await run(state.get(key(items)))).toEqual(Option.some({ cursorField: "updated_at", value: "1710633600000000" }))
      expect(await run(state.get(key(events)))).toEqual(Option.some({ cursorField: "id", value: "27" }))

      // Nothing new: an empty append, the state stays where it was.
      const third = await run(runLocalSync(input(connection, memory.writer, state)))
      expect(third.recordsSynced).toBe(0)
      expect(await run(state.get(key(events)))).toEqual(Option.some({ cursorField: "id", value: "27" }))
    } finally {
      await runStatements([
        `DELETE FROM ${s}.items WHERE name = 'kiwi'`,
        `UPDATE ${s}.items SET name = 'pear', updated_at = '2024-03-15 11:00:00+00' WHERE name = 'pear v2'`,
        `DELETE FROM ${s}.events WHERE id > 25`
      ])
    }
  })

  it("does not move the state when the commit fails", async () => {
    const { connection, memory, state } = setup("INCREMENTAL", [events])
    const failing = {
      ...memory.writer,
      write: () => Effect.die(new Error("disk full"))
    } as typeof memory.writer
    const exit = await Effect.runPromiseExit(runLocalSync(input(connection, failing, state)))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(await run(state.get({ tenantId, connectionId: connection.id, stream: events }))).toEqual(Option.none())
  })

  it("keeps state in the service database through the SQL store", async () => {
    const program = Effect.gen(function*() {
      const sql = yield* PgClient.makeClient({
        ...localPg,
        password: Redacted.make(""),
        ssl: false,
        startupOptions: `-c search_path=${schema}`
      })
      const provide = Effect.provideService(SqlClient.SqlClient, sql)
      yield* ensureSyncStateTable.pipe(provide)
      yield* ensureSyncStateTable.pipe(provide) // idempotent
      const store = yield* makeSqlSyncStateStore.pipe(provide)
      const connectionId = ConnectionId.make(crypto.randomUUID())
      const key = { tenantId, connectionId, stream: "public.orders" }
      expect(yield* store.get(key)).toEqual(Option.none())
      yield* store.put(key, { cursorField: "id", value: "9007199254740993" })
      yield* store.put(key, { cursorField: "id", value: "9007199254740995" })
      expect(yield* store.get(key)).toEqual(Option.some({ cursorField: "id", value: "9007199254740995" }))
      yield* store.clear(tenantId, connectionId)
      expect(yield* store.get(key)).toEqual(Option.none())
    })
    await run(Effect.scoped(program).pipe(Effect.provide(Reactivity.layer)))
  })
})

describe("local engine: postgres sync failures and cancellation", () => {
  it("an interruption mid-sync commits nothing more: the stream being read stays uncommitted", async () => {
    const { connection, memory, state } = setup("INCREMENTAL", [items, events])
    const reading = await run(Deferred.make<void>())
    const sync = input(connection, memory.writer, state, {
      batchRows: 5,
      // Blocks inside the second stream, after its first batch: the test interrupts there.
      onProgress: (records) => records > 3 ? Deferred.succeed(reading, undefined).pipe(Effect.andThen(Effect.never)) : Effect.void
    })
    const fiber = Effect.runFork(runLocalSync(sync))
    await run(Deferred.await(reading))
    const exit = await run(Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber))))
    expect(Exit.hasInterrupts(exit)).toBe(true)

    expect(memory.table(namespace, itemsTable)!.commits).toEqual([{ commitId: `${sync.sync.id}:${items}`, mode: "overwrite", rows: 3 }])
    expect(memory.table(namespace, eventsTable)).toBeUndefined()
    expect(await run(state.get({ tenantId, connectionId: connection.id, stream: events }))).toEqual(Option.none())
    expect(Option.isSome(await run(state.get({ tenantId, connectionId: connection.id, stream: items })))).toBe(true)
  })

  it("cancelling during a large read closes the source connection and its query", async () => {
    const { connection, memory, state } = setup("FULL_REFRESH", [`${schema}.many`])
    const reading = await run(Deferred.make<void>())
    const sync = input(connection, memory.writer, state, {
      batchRows: 1000,
      onProgress: () => Deferred.succeed(reading, undefined).pipe(Effect.andThen(Effect.never))
    })
    const fiber = Effect.runFork(runLocalSync(sync))
    // Either the first batch arrives or the sync ended early (which fails the test below).
    await run(Effect.raceFirst(Deferred.await(reading), Effect.asVoid(Fiber.await(fiber))))
    const exit = await run(Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber))))
    expect(Exit.hasInterrupts(exit)).toBe(true)
    expect(memory.tables.size).toBe(0)

    const copies = () =>
      run(Effect.scoped(Effect.gen(function*() {
        const sql = yield* PgClient.makeClient({ ...localPg, password: Redacted.make(""), ssl: false })
        const rows = yield* sql<{ readonly n: number }>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE application_name = 'ingest-local-engine' AND query LIKE ${`COPY%${schema}%many%`}`
        return rows[0]!.n
      })).pipe(Effect.provide(Reactivity.layer)))
    // The server notices the closed socket at its next write; give it a moment.
    let open = await copies()
    for (let attempt = 0; open > 0 && attempt < 50; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      open = await copies()
    }
    expect(open).toBe(0)
  })

  it("a storage or catalog outage while writing fails the sync naming the dependency, nothing internal", async () => {
    const { connection, memory, state } = setup("FULL_REFRESH", [items])
    const failingWith = (error: InfrastructureError) => ({ ...memory.writer, write: () => Effect.fail(error) })
    const outage = new InfrastructureError({ reason: "PUT http://10.0.0.9:9000/bucket/key: ECONNREFUSED", unreachable: "object storage" })
    const stopped = await run(Effect.flip(runLocalSync(input(connection, failingWith(outage), state))))
    expect(stopped.message).toBe(`${items}: Object storage was unreachable, so the sync could not finish; run it again once object storage is back`)
    const catalogDown = new InfrastructureError({ reason: "POST http://10.0.0.9:8181/v1/tables: 503", unreachable: "catalog" })
    const noCatalog = await run(Effect.flip(runLocalSync(input(connection, failingWith(catalogDown), state))))
    expect(noCatalog.message).toBe(`${items}: The Iceberg catalog was unreachable, so the sync could not finish; run it again once the catalog is back`)
    // Any other failure of the writer is described.
    const broken = new InfrastructureError({ reason: "data file x.parquet: stored 10 bytes, wrote 12" })
    const failed = await run(Effect.flip(runLocalSync(input(connection, failingWith(broken), state))))
    expect(failed.message).toBe(`${items}: writing the table failed: data file x.parquet: stored 10 bytes, wrote 12`)
  })

  it("fails with the reason when a table was dropped after discovery", async () => {
    await runStatements([`CREATE TABLE ${s}.doomed (id int PRIMARY KEY)`])
    const withDoomed = await run(engine.discover(source))
    await runStatements([`DROP TABLE ${s}.doomed`])
    const { connection, memory, state } = setup("FULL_REFRESH", [`${schema}.doomed`])
    const error = await run(Effect.flip(runLocalSync({ ...input(connection, memory.writer, state), streams: withDoomed })))
    expect(error._tag).toBe("SyncFailure")
    expect(error.message).toBe(`${schema}.doomed: the table or view no longer exists in the source, or cannot be read by this user`)
    expect(memory.tables.size).toBe(0)
  })

  it("fails with the reason when the password is rejected", async () => {
    const server = await startPasswordRejectingServer()
    try {
      const { connection, memory, state } = setup("FULL_REFRESH", [items])
      const badSource = makeSource("postgres", { ...localPg, port: server.port, password: "wrong", ssl_mode: "disable" })
      const error = await run(Effect.flip(runLocalSync({ ...input(connection, memory.writer, state), source: badSource })))
      expect(error.message).toBe(`${items}: Authentication failed: password authentication failed for user "postgres"`)
    } finally {
      await server.close()
    }
  })

  it("says clearly that CDC is not supported yet", async () => {
    const { connection, memory, state } = setup("CDC")
    const error = await run(Effect.flip(runLocalSync(input(connection, memory.writer, state))))
    expect(error.message).toBe("CDC is not supported by the local engine yet")
  })
})
