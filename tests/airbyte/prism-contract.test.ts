import type { DiscoveredStream } from "@ingest/domain"
import { Effect } from "effect"
import { HttpClient, HttpClientRequest, HttpClientResponse } from "effect/http"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { airbyteContractsDir, hasAirbyteContracts, type PrismServer, startPrism } from "../support/prism.ts"
import {
  buildEngine,
  connectionFixture,
  type Engine,
  engineConfig,
  run,
  runId,
  sourceFixture,
  syncFixture
} from "./support/fixtures.ts"

if (!hasAirbyteContracts) console.warn("tests/airbyte/prism-contract.test.ts skipped: ../shared/contracts/airbyte is missing")

interface Exchange {
  readonly method: string
  readonly url: string
  readonly status: number
  readonly violations: string | undefined
}

const exchangeOf = (response: HttpClientResponse.HttpClientResponse): Exchange => ({
  method: response.request.method,
  url: response.request.url,
  status: response.status,
  violations: response.headers["sl-violations"]
})

/** Request problems Prism reported in `sl-violations` (response problems are the mock's own). */
const requestViolations = (exchange: Exchange): ReadonlyArray<unknown> => {
  if (exchange.violations === undefined) return []
  const parsed = JSON.parse(exchange.violations) as ReadonlyArray<{ location?: ReadonlyArray<string> }>
  return parsed.filter((v) => v.location?.[0] === "request")
}

/**
 * Every request the adapter sends goes through Prism mock servers serving Airbyte's own OpenAPI
 * files; Prism answers an invalid request with 400/422 and an `sl-violations` header.
 */
describe.skipIf(!hasAirbyteContracts)("Airbyte requests validated by Prism", () => {
  let publicApi: PrismServer
  let configApi: PrismServer
  let engine: Engine
  const exchanges: Array<Exchange> = []

  beforeAll(async () => {
    ;[publicApi, configApi] = await Promise.all([
      startPrism(path.join(airbyteContractsDir, "public-api.patched.yaml"), { dynamic: false }),
      startPrism(path.join(airbyteContractsDir, "config-api.patched.yaml"), { dynamic: false })
    ])
    // Prism serves the public API's paths at its root and the config API's under /v1.
    const config = { ...engineConfig(publicApi.url, "client-id", "client-secret"), configApiUrl: `${configApi.url}/v1`, maxRetries: 0 }
    engine = await buildEngine(config, {
      wrapClient: (client) =>
        client.pipe(
          // The published JobResponse example lacks `jobId`: have Prism generate that answer from the schema.
          HttpClient.mapRequest((request) =>
            request.method === "POST" && request.url.endsWith("/jobs")
              ? HttpClientRequest.setHeader(request, "prefer", "dynamic=true")
              : request
          ),
          HttpClient.tap((response) => Effect.sync(() => exchanges.push(exchangeOf(response))))
        )
    })
  })

  afterAll(async () => {
    await Promise.all([publicApi?.stop(), configApi?.stop()])
  })

  it("accepts every call of a source → connection → job round trip", async () => {
    const source = sourceFixture({
      connectionConfig: {
        host: "db.internal",
        port: 5432,
        database: "shop",
        username: "reader",
        password: "pg-secret-pass",
        replication_method: { method: "CDC", replication_slot: "slot", publication: "pub" }
      }
    })
    // create: token, workspace lookup + create, destination lookup + create, source create
    const sourceId = await runId(engine.saveSource(source))
    expect(sourceId).toMatch(/^[0-9a-f-]{36}$/)
    const saved = { ...source, engineRef: sourceId }
    expect(await runId(engine.saveSource({ ...saved, name: "renamed" }))).toBe(sourceId)

    const check = await run(engine.check(saved))
    expect(check.ok).toBe(true)
    const streams = await run(engine.discover(saved))
    expect(streams.length).toBeGreaterThan(0)

    const stream: DiscoveredStream = {
      name: "public.orders",
      columns: [],
      supportedSyncModes: ["FULL_REFRESH", "INCREMENTAL", "CDC"],
      primaryKey: ["id"],
      defaultCursorField: "updated_at"
    }
    const connection = connectionFixture(saved, { syncSchedule: "0 6 * * 1-5", syncMode: "INCREMENTAL" })
    const connectionId = await runId(engine.saveConnection(connection, saved, [stream, ...streams]))
    const withRef = { ...connection, engineRef: connectionId }
    await runId(engine.saveConnection({ ...withRef, syncSchedule: null, syncMode: "CDC" }, saved, [stream]))
    await runId(engine.saveConnection({ ...withRef, syncSchedule: "15 */2 1 * *", syncMode: "FULL_REFRESH" }, saved, [stream]))

    const jobId = await run(engine.startJob(syncFixture(withRef, null), withRef, saved))
    expect(jobId).toMatch(/^-?\d+$/)

    const sync = syncFixture(withRef, "4711")
    const state = await run(engine.jobState(sync))
    // The published example: a running job of PT8H6M12S.
    expect(state).toMatchObject({ status: "RUNNING", durationMs: 29_172_000 })
    await run(engine.cancelJob(sync))

    await run(engine.deleteConnection(withRef))
    await run(engine.deleteSource(saved))

    const calls = exchanges.map((e) => `${e.method} ${new URL(e.url).pathname}`)
    expect(calls).toEqual([
      "POST /applications/token",
      "GET /workspaces",
      "POST /workspaces",
      "GET /destinations",
      "POST /destinations",
      "POST /sources",
      `PATCH /sources/${sourceId}`,
      "POST /v1/sources/check_connection",
      "POST /v1/sources/discover_schema",
      "POST /connections",
      `PATCH /connections/${connectionId}`,
      `PATCH /connections/${connectionId}`,
      "POST /jobs",
      "GET /jobs/4711",
      "DELETE /jobs/4711",
      `DELETE /connections/${connectionId}`,
      `DELETE /sources/${sourceId}`
    ])
    expect(exchanges.flatMap(requestViolations)).toEqual([])
    expect(exchanges.filter((e) => e.status >= 400)).toEqual([])
  })

  it("sends a failed job's failure lookup in a form the config API accepts", async () => {
    exchanges.length = 0
    // The only published GET /jobs/{id} example is a running job: present it as failed so the
    // engine goes on to ask the config API why.
    const failedJob = (response: HttpClientResponse.HttpClientResponse) =>
      HttpClientResponse.fromWeb(
        response.request,
        new Response(
          JSON.stringify({ jobId: 1, status: "failed", jobType: "sync", startTime: "2026-01-01T00:00:00Z", connectionId: crypto.randomUUID() }),
          { status: 200, headers: { "content-type": "application/json" } }
        )
      )
    const failing = await buildEngine(
      { ...engineConfig(publicApi.url, "client-id", "client-secret"), configApiUrl: `${configApi.url}/v1`, maxRetries: 0 },
      {
        wrapClient: (client) =>
          client.pipe(
            HttpClient.tap((response) => Effect.sync(() => exchanges.push(exchangeOf(response)))),
            HttpClient.transformResponse((effect) =>
              Effect.map(effect, (response) =>
                response.request.method === "GET" && /\/jobs\/\d+$/.test(response.request.url) ? failedJob(response) : response
              )
            )
          )
      }
    )
    const connection = connectionFixture(sourceFixture(), { engineRef: crypto.randomUUID() })
    // (Prism caps int64 at 2^53 - 1, so a larger id cannot be checked here.)
    const state = await run(failing.jobState(syncFixture(connection, "9007199254740991")))
    expect(state.status).toBe("FAILED")
    // The published JobInfoRead example carries a failure summary with externalMessage "string".
    expect(state.error).toEqual(expect.any(String))
    const calls = exchanges.map((e) => `${e.method} ${new URL(e.url).pathname}`)
    expect(calls).toEqual(["POST /applications/token", "GET /jobs/9007199254740991", "POST /v1/jobs/get_without_logs"])
    expect(exchanges.flatMap(requestViolations)).toEqual([])
    expect(exchanges.filter((e) => e.status >= 400)).toEqual([])
  })
})
