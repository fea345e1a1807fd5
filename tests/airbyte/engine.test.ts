import { makeAirbyteTenantStateMemory } from "@ingest/adapters/airbyte/tenant-state"
import type { DiscoveredStream } from "@ingest/domain"
import { Effect, Logger, References } from "effect"
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { hasAirbyteContracts } from "../support/prism.ts"
import { FakeAirbyte } from "./support/fake-airbyte.ts"
import {
  buildEngine,
  connectionFixture,
  type Engine,
  engineConfig,
  failureOf,
  run,
  runId,
  sourceFixture,
  syncFixture,
  tenantA,
  tenantB
} from "./support/fixtures.ts"

if (!hasAirbyteContracts) console.warn("tests/airbyte/engine.test.ts skipped: ../shared/contracts/airbyte is missing")

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!hasAirbyteContracts)("Airbyte engine against a stateful fake Airbyte", () => {
  let fake: FakeAirbyte
  let engine: Engine

  beforeAll(async () => {
    // Loading and compiling Airbyte's specs takes a moment; do it once.
    fake = await new FakeAirbyte().start()
  })
  afterAll(async () => {
    await fake?.close()
  })

  beforeEach(async () => {
    fake.requests.length = 0
    fake.tokens.length = 0
    fake.violations.length = 0
    fake.unauthorized.length = 0
    fake.injections.length = 0
    fake.tokenTtlSeconds = 3600
    fake.jobScript = ["pending", "running", "succeeded"]
    fake.checkResult = { status: "succeeded", message: "ok" }
    for (const map of [fake.workspaces, fake.destinations, fake.sources, fake.connections, fake.jobs]) map.clear()
    engine = await buildEngine(engineConfig(fake.apiUrl, fake.clientId, fake.clientSecret))
  })

  afterEach(() => {
    // Every body exchanged must match Airbyte's own schemas, and no call may go out unauthenticated.
    expect(fake.violations).toEqual([])
    expect(fake.unauthorized).toEqual([])
  })

  describe("tenancy", () => {
    it("creates one workspace and one Iceberg destination per tenant on first use and remembers them", async () => {
      const first = await runId(engine.saveSource(sourceFixture()))
      const second = await runId(engine.saveSource(sourceFixture()))
      const other = await runId(engine.saveSource(sourceFixture({ tenantId: tenantB })))
      expect(new Set([first, second, other]).size).toBe(3)

      expect(fake.calls("/workspaces", "POST").map((r) => (r.body as { name: string }).name)).toEqual([
        `ingest-${tenantA}`,
        `ingest-${tenantB}`
      ])
      expect(fake.calls("/destinations", "POST")).toHaveLength(2)
      const [destinationA] = fake.calls("/destinations", "POST").map((r) => r.body as Record<string, any>)
      expect(destinationA!.configuration).toEqual({
        destinationType: "s3-data-lake",
        s3_bucket_name: "lake",
        s3_bucket_region: "us-east-1",
        s3_endpoint: "http://minio.internal:9000",
        access_key_id: "lake-access-key",
        secret_access_key: "lake-secret-key",
        warehouse_location: "s3://lake/warehouse",
        main_branch_name: "main",
        catalog_type: {
          catalog_type: "REST",
          server_uri: "http://catalog.internal:8181/catalog",
          namespace: `t_${tenantA.replaceAll("-", "")}`
        }
      })
      const sourceA = fake.sources.get(first)!
      const workspaceA = [...fake.workspaces.values()].find((w) => w["name"] === `ingest-${tenantA}`)!
      expect(sourceA["workspaceId"]).toBe(workspaceA["workspaceId"])
      expect(sourceA["configuration"]).toMatchObject({ sourceType: "postgres", host: "db.internal" })
    })

    it("finds a workspace and destination it created before instead of creating them again", async () => {
      await runId(engine.saveSource(sourceFixture()))
      // A fresh process with an empty store (e.g. the store was lost after Airbyte answered).
      const restarted = await buildEngine(engineConfig(fake.apiUrl, fake.clientId, fake.clientSecret))
      await runId(restarted.saveSource(sourceFixture()))
      expect(fake.workspaces.size).toBe(1)
      expect(fake.destinations.size).toBe(1)
    })

    it("uses AIRBYTE_WORKSPACE_ID for every tenant when set, still one destination per tenant", async () => {
      const shared = crypto.randomUUID()
      fake.sharedWorkspaces.add(shared)
      const sharedEngine = await buildEngine(engineConfig(fake.apiUrl, fake.clientId, fake.clientSecret, { workspaceId: shared }))
      await runId(sharedEngine.saveSource(sourceFixture()))
      await runId(sharedEngine.saveSource(sourceFixture({ tenantId: tenantB })))
      expect(fake.calls("/workspaces", "POST")).toHaveLength(0)
      expect([...fake.destinations.values()].map((d) => d["workspaceId"])).toEqual([shared, shared])
      expect([...fake.sources.values()].map((s) => s["workspaceId"])).toEqual([shared, shared])
    })

    it("keeps one workspace when two first uses of a tenant race", async () => {
      const state = makeAirbyteTenantStateMemory()
      const one = await buildEngine(engineConfig(fake.apiUrl, fake.clientId, fake.clientSecret), { state })
      const two = await buildEngine(engineConfig(fake.apiUrl, fake.clientId, fake.clientSecret), { state })
      await Promise.all([run(one.saveSource(sourceFixture())), run(two.saveSource(sourceFixture()))])
      const sourceWorkspaces = new Set([...fake.sources.values()].map((s) => s["workspaceId"]))
      expect(sourceWorkspaces.size).toBe(1)
      // The loser's extra workspace and destination were deleted again.
      expect(fake.workspaces.size).toBe(1)
      expect(fake.destinations.size).toBe(1)
    })
  })

  describe("sources", () => {
    it("creates, updates (PATCH) and deletes the Airbyte twin", async () => {
      const source = sourceFixture()
      const sourceId = await runId(engine.saveSource(source))
      const renamed = { ...source, name: "Orders replica", connectionConfig: { ...source.connectionConfig, host: "replica" }, engineRef: sourceId }
      expect(await runId(engine.saveSource(renamed))).toBe(sourceId)
      expect(fake.calls(`/sources/${sourceId}`, "PATCH")).toHaveLength(1)
      expect(fake.sources.get(sourceId)!["configuration"]).toMatchObject({ host: "replica", sourceType: "postgres" })
      expect(fake.sources.get(sourceId)!["name"]).toBe("Orders replica")

      await run(engine.deleteSource(renamed))
      expect(fake.sources.has(sourceId)).toBe(false)
      // Deleting again is fine: the twin is already gone.
      await run(engine.deleteSource(renamed))
    })

    it("recreates a twin that was deleted on the Airbyte side", async () => {
      const source = sourceFixture({ engineRef: crypto.randomUUID() })
      const sourceId = await runId(engine.saveSource(source))
      expect(sourceId).not.toBe(source.engineRef)
      expect(fake.sources.has(sourceId)).toBe(true)
    })

    it("maps Airbyte connector names that differ from ours", async () => {
      const sourceId = await runId(engine.saveSource(sourceFixture({ connectorType: "zendesk", connectionConfig: { subdomain: "acme" } })))
      expect(fake.sources.get(sourceId)!["configuration"]).toEqual({ subdomain: "acme", sourceType: "zendesk-support" })
    })

    it("reports a successful and a failed check (HTTP 200 with status failed)", async () => {
      const sourceId = await runId(engine.saveSource(sourceFixture()))
      const source = sourceFixture({ engineRef: sourceId })
      expect(await run(engine.check(source))).toEqual({ ok: true, message: "ok" })

      fake.checkResult = { status: "failed", message: "password authentication failed for user \"reader\"" }
      expect(await run(engine.check(source))).toEqual({ ok: false, message: "password authentication failed for user \"reader\"" })
      expect(fake.calls("/sources/check_connection", "POST").map((r) => r.body)).toEqual([{ sourceId }, { sourceId }])
    })

    it("discovers streams with namespaces, column types, keys, cursors and CDC", async () => {
      fake.catalog = {
        streams: [{
          stream: {
            name: "orders",
            namespace: "public",
            jsonSchema: {
              type: "object",
              properties: {
                id: { type: "number", airbyte_type: "integer" },
                total: { type: ["null", "number"] },
                placed_on: { type: "string", format: "date" },
                updated_at: { type: "string", format: "date-time", airbyte_type: "timestamp_with_timezone" },
                local_time: { type: "string", format: "date-time", airbyte_type: "timestamp_without_timezone" },
                paid: { type: "boolean" },
                tags: { type: "array", items: { type: "string" } }
              }
            },
            supportedSyncModes: ["full_refresh", "incremental"],
            sourceDefinedPrimaryKey: [["id"]],
            defaultCursorField: ["updated_at"]
          },
          config: { syncMode: "incremental", destinationSyncMode: "append_dedup" }
        }]
      }
      const cdcConfig = {
        host: "db.internal",
        password: "pg-secret-pass",
        replication_method: { method: "CDC", replication_slot: "slot", publication: "pub" }
      }
      const sourceId = await runId(engine.saveSource(sourceFixture({ connectionConfig: cdcConfig })))
      const streams = await run(engine.discover(sourceFixture({ engineRef: sourceId, connectionConfig: cdcConfig })))
      expect(streams).toEqual([{
        name: "public.orders",
        columns: [
          { name: "id", type: "INTEGER", nullable: false, sampleValues: [] },
          { name: "total", type: "DOUBLE", nullable: true, sampleValues: [] },
          { name: "placed_on", type: "DATE", nullable: false, sampleValues: [] },
          { name: "updated_at", type: "TIMESTAMP_TZ", nullable: false, sampleValues: [] },
          { name: "local_time", type: "TIMESTAMP", nullable: false, sampleValues: [] },
          { name: "paid", type: "BOOLEAN", nullable: false, sampleValues: [] },
          { name: "tags", type: "STRING", nullable: false, sampleValues: [] }
        ],
        supportedSyncModes: ["FULL_REFRESH", "INCREMENTAL", "CDC"],
        primaryKey: ["id"],
        defaultCursorField: "updated_at"
      }])
      expect(fake.calls("/sources/discover_schema", "POST")[0]!.body).toEqual({ sourceId, disable_cache: true })
    })

    it("never lets a source secret through in an error Airbyte echoes back", async () => {
      const error = await failureOf(engine.saveSource(sourceFixture({ connectionConfig: { host: "db", password: "rejected-password" } })))
      expect(error._tag).toBe("EngineUnsupported")
      expect(error.message).toContain("HTTP 400")
      expect(error.message).not.toContain("rejected-password")
      expect(error.message).toContain("***")
    })
  })

  describe("connections", () => {
    const orders: DiscoveredStream = {
      name: "public.orders",
      columns: [],
      supportedSyncModes: ["FULL_REFRESH", "INCREMENTAL"],
      primaryKey: ["id"],
      defaultCursorField: "updated_at"
    }
    const events: DiscoveredStream = { name: "events", columns: [], supportedSyncModes: ["FULL_REFRESH", "INCREMENTAL"] }

    const savedSource = async (config?: Record<string, unknown>) => {
      const source = sourceFixture(config === undefined ? {} : { connectionConfig: config })
      return { ...source, engineRef: await runId(engine.saveSource(source)) }
    }

    it("creates a connection with a Quartz schedule and the selected streams, then updates it with PATCH", async () => {
      const source = await savedSource()
      const connection = connectionFixture(source, { syncSchedule: "30 6 * * 1-5", syncMode: "INCREMENTAL" })
      const connectionId = await runId(engine.saveConnection(connection, source, [orders, events]))
      const created = fake.calls("/connections", "POST")[0]!.body as Record<string, any>
      expect(created).toMatchObject({
        name: "Orders to lake",
        sourceId: source.engineRef,
        schedule: { scheduleType: "cron", cronExpression: "0 30 6 ? * MON-FRI" },
        namespaceDefinition: "destination",
        status: "active",
        configurations: {
          streams: [
            { name: "orders", namespace: "public", syncMode: "incremental_append", cursorField: ["updated_at"] },
            { name: "events", syncMode: "incremental_append" }
          ]
        }
      })
      expect(fake.destinations.has(created["destinationId"])).toBe(true)

      const manual = { ...connection, engineRef: connectionId, syncSchedule: null, syncMode: "FULL_REFRESH" as const }
      expect(await runId(engine.saveConnection(manual, source, [events]))).toBe(connectionId)
      expect(fake.calls(`/connections/${connectionId}`, "PATCH")[0]!.body).toMatchObject({
        schedule: { scheduleType: "manual" },
        configurations: { streams: [{ name: "events", syncMode: "full_refresh_overwrite" }] }
      })
      expect(fake.connections.get(connectionId)!["schedule"]).toEqual({ scheduleType: "manual" })

      await run(engine.deleteConnection(manual))
      expect(fake.connections.has(connectionId)).toBe(false)
    })

    it("deduplicates incremental streams with a key when configured to", async () => {
      const dedup = await buildEngine(engineConfig(fake.apiUrl, fake.clientId, fake.clientSecret, { dedupIncremental: true }))
      const source = sourceFixture()
      const saved = { ...source, engineRef: await runId(dedup.saveSource(source)) }
      await runId(dedup.saveConnection(connectionFixture(saved, { syncMode: "INCREMENTAL" }), saved, [orders, events]))
      expect((fake.calls("/connections", "POST")[0]!.body as any).configurations.streams).toEqual([
        { name: "orders", namespace: "public", syncMode: "incremental_deduped_history", cursorField: ["updated_at"], primaryKey: [["id"]] },
        { name: "events", syncMode: "incremental_append" }
      ])
    })

    it("runs CDC as incremental on a CDC source and refuses it on others", async () => {
      const cdcSource = await savedSource({ host: "db", replication_method: { method: "CDC", replication_slot: "s", publication: "p" } })
      await runId(engine.saveConnection(connectionFixture(cdcSource, { syncMode: "CDC" }), cdcSource, [orders]))
      expect((fake.calls("/connections", "POST")[0]!.body as any).configurations.streams[0].syncMode).toBe("incremental_deduped_history")

      const plain = await savedSource()
      const error = await failureOf(engine.saveConnection(connectionFixture(plain, { syncMode: "CDC" }), plain, [orders]))
      expect(error).toMatchObject({ _tag: "Invalid", field: "syncMode" })
    })

    it("refuses a schedule Airbyte cannot run before calling Airbyte", async () => {
      const source = await savedSource()
      const before = fake.requests.length
      const error = await failureOf(engine.saveConnection(connectionFixture(source, { syncSchedule: "*/5 * * * *" }), source, [events]))
      expect(error).toMatchObject({ _tag: "Invalid", field: "syncSchedule" })
      expect(error.message).toMatch(/at most once an hour/)
      expect(fake.requests.length).toBe(before)
    })
  })

  describe("jobs", () => {
    const startedConnection = async () => {
      const source = sourceFixture()
      const saved = { ...source, engineRef: await runId(engine.saveSource(source)) }
      const connection = connectionFixture(saved)
      return { ...connection, engineRef: await runId(engine.saveConnection(connection, saved, [])) }
    }

    it("starts a job and follows it pending → running → succeeded", async () => {
      const connection = await startedConnection()
      const jobId = await run(engine.startJob(syncFixture(connection, null), connection, sourceFixture()))
      expect(jobId).toMatch(/^\d+$/)
      expect(fake.calls("/jobs", "POST")[0]!.body).toEqual({ connectionId: connection.engineRef, jobType: "sync" })

      const sync = syncFixture(connection, jobId)
      const states = [await run(engine.jobState(sync)), await run(engine.jobState(sync)), await run(engine.jobState(sync))]
      expect(states.map((s) => s.status)).toEqual(["RUNNING", "RUNNING", "SUCCEEDED"])
      expect(states[2]).toEqual({ status: "SUCCEEDED", recordsSynced: 1234, bytesSynced: 56789, durationMs: 210_000, error: null })
    })

    it("reports why a job failed", async () => {
      const job = fake.addJob(["running", "failed"], { failure: "Source credentials were rejected" })
      const connection = await startedConnection()
      const sync = syncFixture(connection, String(job.jobId))
      expect((await run(engine.jobState(sync))).status).toBe("RUNNING")
      expect(await run(engine.jobState(sync))).toMatchObject({ status: "FAILED", error: "Source credentials were rejected" })
      expect(fake.calls("/jobs/get_without_logs", "POST")[0]!.body).toEqual({ id: job.jobId })
    })

    it("cancels a running job and answers Conflict when Airbyte says 409", async () => {
      const running = fake.addJob(["running"])
      const connection = await startedConnection()
      await run(engine.cancelJob(syncFixture(connection, String(running.jobId))))
      expect((await run(engine.jobState(syncFixture(connection, String(running.jobId))))).status).toBe("CANCELLED")

      const done = fake.addJob(["succeeded"])
      const error = await failureOf(engine.cancelJob(syncFixture(connection, String(done.jobId))))
      expect(error._tag).toBe("Conflict")
      expect(fake.calls(`/jobs/${done.jobId}`, "DELETE")).toHaveLength(1)
    })
  })

  describe("failures", () => {
    it("retries idempotent reads after 5xx and succeeds", async () => {
      const job = fake.addJob(["running"])
      fake.inject({ method: "GET", path: `/jobs/${job.jobId}`, status: 503, times: 2 })
      const connection = connectionFixture(sourceFixture())
      expect((await run(engine.jobState(syncFixture(connection, String(job.jobId))))).status).toBe("RUNNING")
      expect(fake.calls(`/jobs/${job.jobId}`, "GET").map((r) => r.status)).toEqual([503, 503, 200])
    })

    it("gives up after the retries with EngineUnavailable", async () => {
      const job = fake.addJob(["running"])
      fake.inject({ method: "GET", path: `/jobs/${job.jobId}`, status: 500, times: 10 })
      const error = await failureOf(engine.jobState(syncFixture(connectionFixture(sourceFixture()), String(job.jobId))))
      expect(error._tag).toBe("EngineUnavailable")
      expect(error.message).toMatch(/^Airbyte API unreachable: /)
      expect(error.message).toContain("HTTP 500")
      // One attempt plus maxRetries (2).
      expect(fake.calls(`/jobs/${job.jobId}`, "GET")).toHaveLength(3)
    })

    it("never retries a create: a 5xx on POST /jobs fails after one attempt", async () => {
      const source = sourceFixture()
      const saved = { ...source, engineRef: await runId(engine.saveSource(source)) }
      const connection = connectionFixture(saved)
      const withRef = { ...connection, engineRef: await runId(engine.saveConnection(connection, saved, [])) }
      fake.inject({ method: "POST", path: "/jobs", status: 502, times: 5 })
      const error = await failureOf(engine.startJob(syncFixture(withRef, null), withRef, saved))
      expect(error._tag).toBe("EngineUnavailable")
      expect(fake.calls("/jobs", "POST")).toHaveLength(1)
      expect(fake.jobs.size).toBe(0)
    })

    it("times out slow calls: reads are retried, creates are not", async () => {
      const quick = await buildEngine(engineConfig(fake.apiUrl, fake.clientId, fake.clientSecret, { timeoutMs: 200 }))
      const job = fake.addJob(["running"])
      fake.inject({ method: "GET", path: `/jobs/${job.jobId}`, delayMs: 1_000, times: 1 })
      // First attempt times out, the retry answers.
      expect((await run(quick.jobState(syncFixture(connectionFixture(sourceFixture()), String(job.jobId))))).status).toBe("RUNNING")

      fake.inject({ method: "POST", path: "/sources", delayMs: 1_000, times: 3 })
      const error = await failureOf(quick.saveSource(sourceFixture()))
      expect(error._tag).toBe("EngineUnavailable")
      expect(error.message).toMatch(/^Airbyte API unreachable: POST \/sources timed out/)
      // Let the delayed request finish so the fake records it before counting.
      await sleep(1_200)
      expect(fake.calls("/sources", "POST")).toHaveLength(1)
    })

    it("answers EngineUnavailable when Airbyte cannot be reached at all", async () => {
      const closed = await new FakeAirbyte().start()
      const apiUrl = closed.apiUrl
      await closed.close()
      const offline = await buildEngine(engineConfig(apiUrl, "id", "secret"))
      const error = await failureOf(offline.deleteSource(sourceFixture({ engineRef: crypto.randomUUID() })))
      expect(error._tag).toBe("EngineUnavailable")
      expect(error.message).toMatch(/^Airbyte API unreachable: /)
    })

    it("answers EngineUnavailable, without the secret, when the client credentials are refused", async () => {
      const wrong = await buildEngine(engineConfig(fake.apiUrl, fake.clientId, "wrong-secret-value"))
      const error = await failureOf(wrong.saveSource(sourceFixture()))
      expect(error._tag).toBe("EngineUnavailable")
      expect(error.message).toContain("token request rejected (HTTP 401)")
      expect(error.message).not.toContain("wrong-secret-value")
    })
  })

  describe("access token", () => {
    it("asks for a new token before the JWT expires (not by expires_in) and reuses it until then", async () => {
      fake.tokenTtlSeconds = 4
      const job = fake.addJob(["running"])
      const sync = syncFixture(connectionFixture(sourceFixture()), String(job.jobId))
      await run(engine.jobState(sync))
      await run(engine.jobState(sync))
      expect(fake.tokens).toHaveLength(1)
      // Past the halfway mark of a 3-4 s token (renewal point when the life is shorter than 2 × 60 s).
      await sleep(2_200)
      await run(engine.jobState(sync))
      expect(fake.tokens).toHaveLength(2)
      expect(fake.tokens[1]!.issuedAt).toBeLessThan(fake.tokens[0]!.exp * 1000)
    })

    it("fetches a fresh token once when Airbyte refuses the current one", async () => {
      const job = fake.addJob(["running"])
      const sync = syncFixture(connectionFixture(sourceFixture()), String(job.jobId))
      await run(engine.jobState(sync))
      fake.inject({ method: "GET", path: `/jobs/${job.jobId}`, status: 401, times: 1 })
      expect((await run(engine.jobState(sync))).status).toBe("RUNNING")
      expect(fake.tokens).toHaveLength(2)
    })

    it("logs neither the client secret, the token nor source secrets", async () => {
      const lines: Array<string> = []
      const capture = Logger.make(({ message }) => {
        lines.push(JSON.stringify(message))
      })
      const job = fake.addJob(["running"])
      fake.inject({ method: "GET", path: `/jobs/${job.jobId}`, status: 503, times: 1 })
      const source = sourceFixture()
      const program = Effect.gen(function*() {
        const sourceId = yield* engine.saveSource(source)
        yield* engine.check({ ...source, engineRef: sourceId })
        yield* engine.jobState(syncFixture(connectionFixture(source), String(job.jobId)))
      }).pipe(Effect.provide(Logger.layer([capture])), Effect.provideService(References.MinimumLogLevel, "All"))
      await Effect.runPromise(program)
      expect(lines.length).toBeGreaterThan(0)
      const text = lines.join("\n")
      expect(text).not.toContain(fake.clientSecret)
      expect(text).not.toContain("pg-secret-pass")
      expect(text).not.toContain("eyJ")
    })
  })
})
