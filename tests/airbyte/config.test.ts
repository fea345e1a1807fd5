import { AirbyteConfigSchema } from "@ingest/adapters/airbyte/config"
import { AirbyteEngineLive } from "@ingest/adapters/airbyte/engine"
import { AirbyteTenantStateMemory } from "@ingest/adapters/airbyte/tenant-state"
import { ConnectorEngine } from "@ingest/domain"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import { FetchHttpClient } from "effect/http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hasAirbyteContracts } from "../support/prism.ts"
import { FakeAirbyte } from "./support/fake-airbyte.ts"
import { sourceFixture } from "./support/fixtures.ts"

const baseEnv = {
  AIRBYTE_API_URL: "http://airbyte.internal:8000/api/public/v1/",
  AIRBYTE_CLIENT_ID: "client",
  AIRBYTE_CLIENT_SECRET: "very-secret",
  AIRBYTE_ICEBERG_CATALOG_URI: "http://catalog:8181/catalog",
  AIRBYTE_ICEBERG_WAREHOUSE: "s3://lake/warehouse"
}

const load = (env: Record<string, string>) =>
  Effect.runPromise(
    Effect.gen(function*() {
      return yield* AirbyteConfigSchema
    }).pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env))))
  )

const loadError = (env: Record<string, string>) =>
  Effect.runPromise(
    Effect.gen(function*() {
      return yield* AirbyteConfigSchema
    }).pipe(Effect.flip, Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env))))
  )

describe("Airbyte configuration from the environment", () => {
  it("reads the minimum and derives the rest", async () => {
    const config = await load(baseEnv)
    expect(config).toMatchObject({
      apiUrl: "http://airbyte.internal:8000/api/public/v1",
      configApiUrl: "http://airbyte.internal:8000/api/v1",
      clientId: "client",
      workspaceId: undefined,
      timeoutMs: 30_000,
      maxRetries: 3,
      dedupIncremental: false,
      destination: { catalogType: "REST", s3Bucket: "lake", s3Region: "us-east-1", branch: "main", warehouse: "s3://lake/warehouse" }
    })
    expect(Redacted.value(config.clientSecret)).toBe("very-secret")
    // The secret does not show when the config is printed.
    expect(JSON.stringify(config)).not.toContain("very-secret")
  })

  it("takes explicit settings over derived ones", async () => {
    const config = await load({
      ...baseEnv,
      AIRBYTE_CONFIG_API_URL: "http://config.internal/api/v1",
      AIRBYTE_WORKSPACE_ID: "5d2a4b7e-1c3f-4e5a-9b8c-7d6e5f4a3b2c",
      AIRBYTE_TIMEOUT_SECONDS: "5",
      AIRBYTE_DEDUP_INCREMENTAL: "true",
      AIRBYTE_ICEBERG_S3_BUCKET: "other-bucket",
      AIRBYTE_ICEBERG_S3_REGION: "eu-central-1"
    })
    expect(config).toMatchObject({
      configApiUrl: "http://config.internal/api/v1",
      workspaceId: "5d2a4b7e-1c3f-4e5a-9b8c-7d6e5f4a3b2c",
      timeoutMs: 5_000,
      dedupIncremental: true,
      destination: { s3Bucket: "other-bucket", s3Region: "eu-central-1" }
    })
  })

  it("refuses incomplete or contradictory settings", async () => {
    const { AIRBYTE_CLIENT_SECRET: _, ...noSecret } = baseEnv
    expect((await loadError(noSecret)).message).toContain("AIRBYTE_CLIENT_SECRET")
    expect((await loadError({ ...baseEnv, AIRBYTE_ICEBERG_WAREHOUSE: "/local/dir" })).message).toContain("AIRBYTE_ICEBERG_S3_BUCKET")
    expect((await loadError({ ...baseEnv, AIRBYTE_ICEBERG_CATALOG_TYPE: "POLARIS" })).message).toContain("AIRBYTE_ICEBERG_CATALOG_NAME")
    expect((await loadError({ ...baseEnv, AIRBYTE_ICEBERG_CATALOG_TYPE: "GLUE" })).message).toContain("AIRBYTE_ICEBERG_GLUE_ACCOUNT_ID")
    expect((await loadError({ ...baseEnv, AIRBYTE_API_URL: "airbyte:8000" })).message).toContain("http(s) URL")
  })
})

describe.skipIf(!hasAirbyteContracts)("AirbyteEngineLive", () => {
  let fake: FakeAirbyte
  beforeAll(async () => {
    fake = await new FakeAirbyte().start()
  })
  afterAll(async () => {
    await fake?.close()
  })

  it("builds the engine from the environment and reaches the derived configuration API", async () => {
    const env = { ...baseEnv, AIRBYTE_API_URL: fake.apiUrl, AIRBYTE_CLIENT_ID: fake.clientId, AIRBYTE_CLIENT_SECRET: fake.clientSecret }
    const layer = AirbyteEngineLive.pipe(
      Layer.provide(Layer.mergeAll(FetchHttpClient.layer, AirbyteTenantStateMemory)),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))
    )
    const result = await Effect.runPromise(
      Effect.gen(function*() {
        const engine = yield* ConnectorEngine
        const source = sourceFixture()
        const sourceId = yield* engine.saveSource(source)
        return { name: engine.name, check: yield* engine.check({ ...source, engineRef: sourceId }) }
      }).pipe(Effect.provide(layer))
    )
    expect(result).toEqual({ name: "airbyte", check: { ok: true, message: "ok" } })
    expect(fake.calls("/sources/check_connection", "POST")).toHaveLength(1)
    expect(fake.violations).toEqual([])
  })
})
