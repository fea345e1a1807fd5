import { makeLocalEngine } from "@ingest/adapters/engine/index"
import type { DiscoveredStream } from "@ingest/domain"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPasswordRejectingServer } from "./support/fake-pg-auth.ts"
import { localPg, makeSource, runStatements, uniqueSchema } from "./support/fixtures.ts"

const schema = uniqueSchema("engine_discover")
const engine = makeLocalEngine()
const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
const source = (extra: Record<string, unknown> = {}) =>
  makeSource("postgres", { ...localPg, password: "", ssl_mode: "disable", schemas: [schema], ...extra })

beforeAll(async () => {
  const s = `"${schema}"`
  await runStatements([
    `CREATE SCHEMA ${s}`,
    `CREATE TYPE ${s}.mood AS ENUM ('happy', 'sad')`,
    `CREATE DOMAIN ${s}.positive_int AS integer CHECK (VALUE > 0)`,
    `CREATE TABLE ${s}.orders (
      id bigserial PRIMARY KEY,
      small smallint NOT NULL,
      qty integer,
      amount numeric(12,2) NOT NULL,
      free_num numeric,
      wide_num numeric(50,10),
      ratio real,
      score double precision,
      active boolean,
      born date,
      created_at timestamp,
      updated_at timestamptz,
      note text,
      code varchar(10),
      flag char(1),
      uid uuid,
      doc json,
      docb jsonb,
      feeling ${s}.mood,
      span interval,
      at_time time,
      ip inet,
      tags text[],
      matrix int[][],
      payload bytea,
      dom ${s}.positive_int NOT NULL
    )`,
    `CREATE TABLE ${s}.events (id integer PRIMARY KEY, name text)`,
    `CREATE TABLE ${s}.pairs (a integer, b integer, label text, PRIMARY KEY (a, b))`,
    `CREATE TABLE ${s}.audit (id uuid PRIMARY KEY, "LastModified" timestamp NOT NULL)`,
    `CREATE VIEW ${s}.big_orders AS SELECT id, amount FROM ${s}.orders WHERE amount > 100`
  ])
})

afterAll(async () => {
  await runStatements([`DROP SCHEMA IF EXISTS "${schema}" CASCADE`])
})

const byName = (streams: ReadonlyArray<DiscoveredStream>, name: string) => {
  const stream = streams.find((s) => s.name === name)
  if (stream === undefined) throw new Error(`stream ${name} not discovered`)
  return stream
}

describe("local engine: postgres check", () => {
  it("connects to a reachable database", async () => {
    const result = await run(engine.check(source()))
    expect(result.ok).toBe(true)
    expect(result.message).toContain("127.0.0.1:5432/test")
  })

  it("falls back to plaintext under ssl_mode prefer (the default) when the server has no TLS", async () => {
    const result = await run(engine.check(makeSource("postgres", { ...localPg })))
    expect(result).toMatchObject({ ok: true })
  })

  it("fails clearly when the server refuses TLS that ssl_mode require asks for", async () => {
    const result = await run(engine.check(source({ ssl_mode: "require" })))
    expect(result.ok).toBe(false)
    expect(result.message).toContain("does not accept TLS")
  })

  it("reports a rejected password without echoing it", async () => {
    const server = await startPasswordRejectingServer()
    try {
      const result = await run(engine.check(makeSource("postgres", {
        host: "127.0.0.1",
        port: server.port,
        database: "test",
        username: "alice",
        password: "s3cret-pa55word"
      })))
      expect(result.ok).toBe(false)
      expect(result.message).toBe("Authentication failed: password authentication failed for user \"alice\"")
      expect(result.message).not.toContain("s3cret")
    } finally {
      await server.close()
    }
  })

  it("reports an unknown database, role and a closed port", async () => {
    const db = await run(engine.check(source({ database: "no_such_database_xyz" })))
    expect(db).toEqual({ ok: false, message: "Database not found: database \"no_such_database_xyz\" does not exist" })
    const role = await run(engine.check(source({ username: "no_such_role_xyz" })))
    expect(role).toEqual({ ok: false, message: "Authentication failed: role \"no_such_role_xyz\" does not exist" })
    const port = await run(engine.check(source({ port: 1 })))
    expect(port).toEqual({ ok: false, message: "Cannot connect to 127.0.0.1:1: connection refused" })
  })

  it("reports a config that misses fields or has a bad ssl_mode", async () => {
    expect(await run(engine.check(makeSource("postgres", { host: "127.0.0.1" })))).toEqual({
      ok: false,
      message: "connectionConfig.database is required"
    })
    const bad = await run(engine.check(source({ ssl_mode: "sometimes" })))
    expect(bad.ok).toBe(false)
    expect(bad.message).toContain("ssl_mode must be one of disable, allow, prefer, require, verify-ca, verify-full")
  })
})

describe("local engine: postgres discover", () => {
  it("lists every table and view of the schema with exact types, keys, cursors and modes", async () => {
    const streams = await run(engine.discover(source()))
    expect(streams.map((s) => s.name)).toEqual([
      `${schema}.audit`,
      `${schema}.big_orders`,
      `${schema}.events`,
      `${schema}.orders`,
      `${schema}.pairs`
    ])

    const orders = byName(streams, `${schema}.orders`)
    const column = (name: string, type: string, nullable: boolean, extra: object = {}) => ({
      name,
      type,
      nullable,
      ...extra,
      sampleValues: []
    })
    expect(orders.columns).toEqual([
      column("id", "INTEGER", false),
      column("small", "INTEGER", false),
      column("qty", "INTEGER", true),
      column("amount", "DECIMAL", false, { precision: 12, scale: 2 }),
      column("free_num", "DECIMAL", true, { precision: 38, scale: 9 }),
      column("wide_num", "STRING", true),
      column("ratio", "DOUBLE", true),
      column("score", "DOUBLE", true),
      column("active", "BOOLEAN", true),
      column("born", "DATE", true),
      column("created_at", "TIMESTAMP", true),
      column("updated_at", "TIMESTAMP_TZ", true),
      column("note", "STRING", true),
      column("code", "STRING", true),
      column("flag", "STRING", true),
      column("uid", "STRING", true),
      column("doc", "STRING", true),
      column("docb", "STRING", true),
      column("feeling", "STRING", true),
      column("span", "STRING", true),
      column("at_time", "STRING", true),
      column("ip", "STRING", true),
      column("tags", "STRING", true),
      column("matrix", "STRING", true),
      column("payload", "BINARY", true),
      column("dom", "INTEGER", false)
    ])
    expect(orders.primaryKey).toEqual(["id"])
    expect(orders.defaultCursorField).toBe("updated_at")
    // wal_level is `replica` on this machine: no CDC offered.
    expect(orders.supportedSyncModes).toEqual(["FULL_REFRESH", "INCREMENTAL"])

    const events = byName(streams, `${schema}.events`)
    expect(events.primaryKey).toEqual(["id"])
    expect(events.defaultCursorField).toBe("id")
    expect(events.supportedSyncModes).toEqual(["FULL_REFRESH", "INCREMENTAL"])

    const pairs = byName(streams, `${schema}.pairs`)
    expect(pairs.primaryKey).toEqual(["a", "b"])
    expect(pairs.defaultCursorField).toBeUndefined()
    expect(pairs.supportedSyncModes).toEqual(["FULL_REFRESH"])
    expect(pairs.columns.map((c) => [c.name, c.nullable])).toEqual([["a", false], ["b", false], ["label", true]])

    const audit = byName(streams, `${schema}.audit`)
    expect(audit.defaultCursorField).toBe("LastModified")

    const view = byName(streams, `${schema}.big_orders`)
    expect(view.primaryKey).toBeUndefined()
    expect(view.defaultCursorField).toBeUndefined()
    expect(view.supportedSyncModes).toEqual(["FULL_REFRESH"])
    expect(view.columns.map((c) => [c.name, c.type, c.nullable])).toEqual([["id", "INTEGER", true], ["amount", "DECIMAL", true]])
  })

  it("without a schema list covers every non-system schema and no system one", async () => {
    const streams = await run(engine.discover(makeSource("postgres", { ...localPg, ssl_mode: "disable" })))
    const names = streams.map((s) => s.name)
    expect(names).toContain(`${schema}.orders`)
    expect(names.some((n) => /^(pg_catalog|information_schema|pg_toast)\./.test(n))).toBe(false)
  })

  it("fails with the reason when the source cannot be reached", async () => {
    const error = await run(Effect.flip(engine.discover(source({ database: "no_such_database_xyz" }))))
    expect(error._tag).toBe("EngineUnavailable")
    expect(error.message).toContain("database \"no_such_database_xyz\" does not exist")
  })
})

describe("local engine: connectors it does not run", () => {
  it("answers EngineUnsupported for discover and ok:false for check", async () => {
    const salesforce = makeSource("salesforce", { client_id: "x" })
    const error = await run(Effect.flip(engine.discover(salesforce)))
    expect(error._tag).toBe("EngineUnsupported")
    expect(error.message).toBe("Connector type \"salesforce\" needs the Airbyte engine (set INGEST_ENGINE=airbyte)")
    expect(await run(engine.check(salesforce))).toEqual({
      ok: false,
      message: "Connector type \"salesforce\" needs the Airbyte engine (set INGEST_ENGINE=airbyte)"
    })
    // Registering is allowed (no twin to make); running it is what needs Airbyte.
    expect(await run(engine.saveSource(salesforce))).toBeNull()
  })

  it("keeps no twin of postgres sources and connections", async () => {
    expect(await run(engine.saveSource(source()))).toBeNull()
    await run(engine.deleteSource(source()))
  })
})
