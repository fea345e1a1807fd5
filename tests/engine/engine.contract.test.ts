import { makeLocalEngine } from "@ingest/adapters/engine/index"
import { makeMemoryEngine } from "@ingest/adapters/memory/connector-engine"
import type { ConnectorEngine, ConnectorType, Source, Sync } from "@ingest/domain"
import { Conflict, DiscoveredStream, EngineUnsupported, isActiveSync } from "@ingest/domain"
import { Effect, Exit, Schema } from "effect"
import net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { localPg, makeConnection, makeSource, makeSync, runStatements, uniqueSchema } from "./support/fixtures.ts"

// What every ConnectorEngine shares, run against the memory engine (what use-case tests rely
// on) and the local engine (postgres against the machine's PostgreSQL).

type EngineService = typeof ConnectorEngine.Service

interface EngineHarness {
  readonly engine: EngineService
  /** A reachable source of a type the engine runs: check passes, discovery finds `expectedStream`. */
  readonly goodSource: () => Source
  readonly expectedStream: string
  /** Sources of that type that cannot work (bad credentials, unknown database, missing fields). */
  readonly badSources: () => ReadonlyArray<Source>
  /** A source of a connector type the engine does not run. */
  readonly unsupportedSource: () => Source
  /** Lets the engine see the sync's job as finished (SUCCEEDED); returns the sync as its caller then holds it. */
  readonly finish: (sync: Sync) => Effect.Effect<Sync>
}

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

/** The failure of an effect that must fail (the test fails if it succeeds or dies). */
const failureOf = async <A, E>(effect: Effect.Effect<A, E>): Promise<E> => {
  const exit = await Effect.runPromise(Effect.exit(effect))
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (reason?._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return reason.error
}

/** Configs no connector can make sense of; check must still answer, not fail. */
const garbageConfigs: ReadonlyArray<Record<string, unknown>> = [
  {},
  { host: 42, port: "not a port", password: 7, username: ["x"] },
  { nested: { deep: [1, null, { a: "b" }] }, ssl_mode: { mode: 3 } }
]

const engineContract = (name: string, setup: () => Promise<EngineHarness>, teardown: () => Promise<void> = async () => {}) =>
  describe(`ConnectorEngine contract: ${name}`, () => {
    let h: EngineHarness
    beforeAll(async () => {
      h = await setup()
    })
    afterAll(teardown)

    it("saveSource answers the engine's id or null, and keeps that id when saved again", async () => {
      const source = h.goodSource()
      const first = await run(h.engine.saveSource(source))
      expect(first === null || (typeof first === "string" && first.length > 0)).toBe(true)
      const again = await run(h.engine.saveSource({ ...source, engineRef: first, name: "renamed" }))
      expect(again).toBe(first)
      await run(h.engine.deleteSource({ ...source, engineRef: first }))
    })

    it("check of a good source answers ok with a message", async () => {
      const result = await run(h.engine.check(h.goodSource()))
      expect(result.ok).toBe(true)
      expect(typeof result.message).toBe("string")
    })

    it("check of a bad config answers ok:false with a reason, never an error", async () => {
      for (const source of h.badSources()) {
        const result = await run(h.engine.check(source))
        expect(result.ok, JSON.stringify(source.connectionConfig)).toBe(false)
        expect(result.message.length).toBeGreaterThan(0)
      }
    })

    it("check of garbage config still answers {ok, message}", async () => {
      const type = h.goodSource().connectorType
      for (const config of garbageConfigs) {
        const result = await run(h.engine.check(makeSource(type, config)))
        expect(typeof result.ok).toBe("boolean")
        expect(typeof result.message).toBe("string")
        if (!result.ok) expect(result.message.length).toBeGreaterThan(0)
      }
    })

    it("check of a connector type the engine does not run answers ok:false", async () => {
      const result = await run(h.engine.check(h.unsupportedSource()))
      expect(result.ok).toBe(false)
      expect(result.message.length).toBeGreaterThan(0)
    })

    it("discover gives well-formed streams with columns and sync modes", async () => {
      const streams = await run(h.engine.discover(h.goodSource()))
      expect(streams.map((s) => s.name)).toContain(h.expectedStream)
      for (const stream of streams) {
        // the schema of the domain: names, column types of the lattice, known sync modes
        expect(() => Schema.decodeUnknownSync(DiscoveredStream)(stream)).not.toThrow()
        expect(stream.columns.length).toBeGreaterThan(0)
        expect(stream.supportedSyncModes.length).toBeGreaterThan(0)
        expect(stream.supportedSyncModes).toContain("FULL_REFRESH")
        const columnNames = stream.columns.map((c) => c.name)
        expect(new Set(columnNames).size).toBe(columnNames.length)
        for (const key of stream.primaryKey ?? []) expect(columnNames).toContain(key)
        if (stream.defaultCursorField !== undefined) expect(columnNames).toContain(stream.defaultCursorField)
      }
    })

    it("what the engine does not run fails with EngineUnsupported", async () => {
      const source = h.unsupportedSource()
      const connection = makeConnection(source, "FULL_REFRESH", null)
      expect(await failureOf(h.engine.discover(source))).toBeInstanceOf(EngineUnsupported)
      expect(await failureOf(h.engine.saveConnection(connection, source, []))).toBeInstanceOf(EngineUnsupported)
      expect(await failureOf(h.engine.startJob(makeSync(connection), connection, source))).toBeInstanceOf(EngineUnsupported)
    })

    it("saveConnection of a good source answers the engine's id or null", async () => {
      const source = h.goodSource()
      const streams = (await run(h.engine.discover(source))).filter((s) => s.name === h.expectedStream)
      const connection = makeConnection(source, "FULL_REFRESH", [h.expectedStream])
      const id = await run(h.engine.saveConnection(connection, source, streams))
      expect(id === null || (typeof id === "string" && id.length > 0)).toBe(true)
      await run(h.engine.deleteConnection({ ...connection, engineRef: id }))
    })

    it("a started job is active; a finished one reports it and cannot be cancelled (Conflict)", async () => {
      const source = h.goodSource()
      const connection = makeConnection(source, "FULL_REFRESH", [h.expectedStream])
      const draft = makeSync(connection)
      const jobId = await run(h.engine.startJob(draft, connection, source))
      expect(typeof jobId).toBe("string")
      expect(jobId.length).toBeGreaterThan(0)
      const running: Sync = { ...draft, engineJobId: jobId }
      expect(isActiveSync((await run(h.engine.jobState(running))).status)).toBe(true)

      const finished = await run(h.finish(running))
      const state = await run(h.engine.jobState(finished))
      expect(state.status).toBe("SUCCEEDED")
      const error = await failureOf(h.engine.cancelJob(finished))
      expect(error).toBeInstanceOf(Conflict)
    })

    it("a running job can be cancelled", async () => {
      const source = h.goodSource()
      const connection = makeConnection(source, "FULL_REFRESH", [h.expectedStream])
      const draft = makeSync(connection)
      const jobId = await run(h.engine.startJob(draft, connection, source))
      await run(h.engine.cancelJob({ ...draft, engineJobId: jobId }))
    })
  })

const otherType = (runs: ReadonlyArray<ConnectorType>): ConnectorType => {
  const type = (["salesforce", "hubspot", "jira"] as const).find((t) => !runs.includes(t))
  if (type === undefined) throw new Error("no unsupported connector type left")
  return type
}

engineContract("memory", async () => {
  const memory = makeMemoryEngine()
  return {
    engine: memory.engine,
    goodSource: () => makeSource("postgres", { host: "db", password: "secret" }),
    expectedStream: "public.orders",
    badSources: () => [makeSource("postgres", { host: "db", password: "wrong" })],
    unsupportedSource: () => makeSource(otherType(["postgres"]), { token: "x" }),
    finish: (sync) =>
      memory.advance(sync.engineJobId!, { status: "SUCCEEDED", recordsSynced: 3, bytesSynced: 30 }).pipe(Effect.as(sync))
  }
})

describe("memory engine specifics", () => {
  it("down: every call fails with EngineUnavailable until it is up again", async () => {
    const memory = makeMemoryEngine({ down: true })
    const source = makeSource("postgres", {})
    const connection = makeConnection(source, "FULL_REFRESH", null)
    const sync = { ...makeSync(connection), engineJobId: "job-1" }
    const calls: ReadonlyArray<Effect.Effect<unknown, unknown>> = [
      memory.engine.saveSource(source),
      memory.engine.deleteSource(source),
      memory.engine.check(source),
      memory.engine.discover(source),
      memory.engine.saveConnection(connection, source, []),
      memory.engine.deleteConnection(connection),
      memory.engine.startJob(sync, connection, source),
      memory.engine.jobState(sync),
      memory.engine.cancelJob(sync)
    ]
    for (const call of calls) expect((await failureOf(call) as { _tag: string })._tag).toBe("EngineUnavailable")
    await run(memory.setDown(false))
    expect((await run(memory.engine.check(source))).ok).toBe(true)
  })

  it("answers from its configured rule and streams, and the test drives each job", async () => {
    const stream: DiscoveredStream = {
      name: "tickets",
      columns: [{ name: "id", type: "INTEGER", nullable: false, sampleValues: [] }],
      supportedSyncModes: ["FULL_REFRESH"]
    }
    const memory = makeMemoryEngine({
      streams: { zendesk: [stream] },
      check: (source) => ({ ok: source.connectionConfig["token"] === "t0k3n", message: "checked" }),
      keepsCopies: false
    })
    const good = makeSource("zendesk", { token: "t0k3n" })
    expect(await run(memory.engine.check(good))).toEqual({ ok: true, message: "checked" })
    expect((await run(memory.engine.check(makeSource("zendesk", { token: "nope" })))).ok).toBe(false)
    expect(await run(memory.engine.discover(good))).toEqual([stream])
    expect(await run(memory.engine.saveSource(good))).toBeNull()
    expect(await failureOf(memory.engine.discover(makeSource("postgres", {})))).toBeInstanceOf(EngineUnsupported)

    const connection = makeConnection(good, "FULL_REFRESH", null)
    const draft = makeSync(connection)
    const jobId = await run(memory.engine.startJob(draft, connection, good))
    const sync = { ...draft, engineJobId: jobId }
    await run(memory.advance(jobId, { recordsSynced: 5, bytesSynced: 50 }))
    expect(await run(memory.engine.jobState(sync))).toEqual({
      status: "RUNNING",
      recordsSynced: 5,
      bytesSynced: 50,
      durationMs: null,
      error: null
    })
    await run(memory.advance(jobId, { status: "FAILED", error: "boom" }))
    expect(await run(memory.engine.jobState(sync))).toMatchObject({ status: "FAILED", recordsSynced: 5, error: "boom" })
    expect(await failureOf(memory.engine.cancelJob(sync))).toBeInstanceOf(Conflict)
    expect(memory.jobs().map((j) => j.id)).toEqual([jobId])
    expect(Exit.isFailure(await Effect.runPromiseExit(memory.advance("job-404", { status: "SUCCEEDED" })))).toBe(true)
  })
})

const postgresReachable = (): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ host: localPg.host, port: localPg.port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(2000, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })

const postgresUp = await postgresReachable()
if (!postgresUp) console.warn(`PostgreSQL not reachable at ${localPg.host}:${localPg.port}: skipping the local engine contract`)

describe.skipIf(!postgresUp)("local engine", () => {
  const schema = uniqueSchema("engine_contract")
  const config = { ...localPg, password: "", ssl_mode: "disable", schemas: [schema] }
  engineContract(
    "local (postgres)",
    async () => {
      await runStatements([
        `CREATE SCHEMA "${schema}"`,
        `CREATE TABLE "${schema}".items (id integer PRIMARY KEY, name text, updated_at timestamptz)`,
        `INSERT INTO "${schema}".items VALUES (1, 'apple', now()), (2, 'pear', now())`
      ])
      return {
        engine: makeLocalEngine(),
        goodSource: () => makeSource("postgres", config),
        expectedStream: `${schema}.items`,
        badSources: () => [
          makeSource("postgres", { ...config, database: "no_such_database_xyz" }),
          makeSource("postgres", { ...config, port: 1 }),
          makeSource("postgres", { ...config, host: "" }),
          makeSource("postgres", { ...config, ssl_mode: "sometimes" })
        ],
        unsupportedSource: () => makeSource(otherType(["postgres", "s3"]), { token: "x" }),
        // The local engine's job state is the sync record, which its runner completes.
        finish: (sync) =>
          Effect.succeed({ ...sync, status: "SUCCEEDED" as const, recordsSynced: 2, bytesSynced: 20, durationMs: 5 })
      }
    },
    () => runStatements([`DROP SCHEMA IF EXISTS "${schema}" CASCADE`])
  )
})
