import { DuckDBInstance } from "@duckdb/node-api"
import { makeLocalEngine, makeMemorySyncStateStore, runLocalSync } from "@ingest/adapters/engine/index"
import type { LocalSyncInput, SyncStateStore } from "@ingest/adapters/engine/index"
import type { Connection, DiscoveredStream, Source, SyncMode } from "@ingest/domain"
import { Effect } from "effect"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase } from "../support/postgres.ts"
import { makeConnection, makeSource, makeSync } from "./support/fixtures.ts"
import { liveDataFiles, makeIcebergWriter } from "./support/iceberg.ts"

// End to end: a postgres table synced by the local engine into a real Iceberg table (SQL catalog,
// local warehouse), read back by DuckDB from the Parquet files of the current snapshot.

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
const database = createTestDatabase("ingest_engine")
const namespace = ["t_engine", "shop"]
let warehouseDir: string
let iceberg: Awaited<ReturnType<typeof makeIcebergWriter>>
let source: Source
let streams: ReadonlyArray<DiscoveredStream>

beforeAll(async () => {
  database.exec(`
    CREATE TABLE public.orders (
      id bigint PRIMARY KEY,
      customer text NOT NULL,
      amount numeric(12,2),
      ratio double precision,
      paid boolean,
      ordered_on date,
      updated_at timestamptz NOT NULL,
      tags text[]
    );
    INSERT INTO public.orders
    SELECT g, 'customer ' || g, g * 1.25, g / 4.0, g % 2 = 0, date '2024-01-01' + g,
           timestamptz '2024-03-01 00:00:00+00' + g * interval '1 minute', ARRAY['t' || g]
    FROM generate_series(1, 2500) g;`)
  warehouseDir = await mkdtemp(path.join(tmpdir(), "engine-warehouse-"))
  iceberg = await makeIcebergWriter(database.url, warehouseDir)
  source = makeSource("postgres", {
    host: "127.0.0.1",
    database: database.name,
    username: "postgres",
    ssl_mode: "disable",
    schemas: ["public"]
  })
  streams = (await run(makeLocalEngine().discover(source))).filter((s) => s.name === "public.orders")
})

afterAll(async () => {
  await iceberg?.close()
  database.drop()
  if (warehouseDir !== undefined) await rm(warehouseDir, { recursive: true, force: true })
})

const syncOnce = (connection: Connection, state: SyncStateStore) => {
  const input: LocalSyncInput = {
    sync: makeSync(connection),
    connection,
    source,
    streams,
    state,
    writer: iceberg.writer,
    namespace,
    onProgress: () => Effect.void,
    batchRows: 1000
  }
  return run(runLocalSync(input))
}

const query = async (sql: string) => {
  const files = await liveDataFiles(iceberg.catalog, iceberg.warehouse, { namespace, name: "public_orders" })
  expect(files.length).toBeGreaterThan(0)
  const instance = await DuckDBInstance.create(":memory:")
  const connection = await instance.connect()
  try {
    const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(", ")
    const reader = await connection.runAndReadAll(sql.replace("ORDERS", `read_parquet([${list}])`))
    return reader.getRowObjectsJson()
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

describe("local engine → Iceberg (postgres source)", () => {
  const connect = (mode: SyncMode) => makeConnection(source, mode, ["public.orders"])

  it("full refresh lands every row with its values, and a second run replaces the table", async () => {
    const connection = connect("FULL_REFRESH")
    const state = makeMemorySyncStateStore()
    expect((await syncOnce(connection, state)).recordsSynced).toBe(2500)

    const [summary] = await query(`
      SELECT count(*) AS n, sum(amount) AS total, min(ordered_on) AS first_day, max(updated_at) AS last_update,
             count(*) FILTER (WHERE paid) AS paid
      FROM ORDERS`)
    expect(summary).toEqual({
      n: "2500",
      total: "3907812.50",
      first_day: "2024-01-02",
      last_update: "2024-03-02 17:40:00+00",
      paid: "1250"
    })
    const [first] = await query(`SELECT id, customer, amount, ratio, tags FROM ORDERS WHERE id = 7`)
    expect(first).toEqual({ id: "7", customer: "customer 7", amount: "8.75", ratio: 1.75, tags: "[\"t7\"]" })

    database.exec(`DELETE FROM public.orders WHERE id > 2000`)
    try {
      await syncOnce(connection, state)
      const [after] = await query(`SELECT count(*) AS n, max(id) AS top FROM ORDERS`)
      expect(after).toEqual({ n: "2000", top: "2000" })
    } finally {
      database.exec(`
        INSERT INTO public.orders
        SELECT g, 'customer ' || g, g * 1.25, g / 4.0, g % 2 = 0, date '2024-01-01' + g,
               timestamptz '2024-03-01 00:00:00+00' + g * interval '1 minute', ARRAY['t' || g]
        FROM generate_series(2001, 2500) g`)
    }
  })

  it("incremental appends only changed rows to the Iceberg table", async () => {
    const connection = connect("INCREMENTAL")
    const state = makeMemorySyncStateStore()
    await syncOnce(connection, state)
    database.exec(`
      UPDATE public.orders SET customer = 'renamed', updated_at = timestamptz '2024-04-01 00:00:00+00' WHERE id = 3;
      INSERT INTO public.orders VALUES (2501, 'late', 1, 1, true, '2024-05-01', '2024-04-02 00:00:00+00', '{}')`)
    const result = await syncOnce(connection, state)
    expect(result.recordsSynced).toBe(2)
    const [counts] = await query(`SELECT count(*) AS n, count(*) FILTER (WHERE id = 3) AS versions_of_3 FROM ORDERS`)
    expect(counts).toEqual({ n: "2502", versions_of_3: "2" })
  })
})
