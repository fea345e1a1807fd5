import type { AirbyteConfig } from "@ingest/adapters/airbyte/config"
import { deriveConfigApiUrl } from "@ingest/adapters/airbyte/config"
import { makeAirbyteEngine } from "@ingest/adapters/airbyte/engine"
import { AirbyteTenantState, makeAirbyteTenantStateMemory } from "@ingest/adapters/airbyte/tenant-state"
import type { Connection, ConnectorEngine, Source, Sync } from "@ingest/domain"
import { ConnectionId, SourceId, SyncId, TenantId } from "@ingest/domain"
import { DateTime, Effect, Layer, Redacted } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"

export const tenantA = TenantId.make("7a1f0c52-3f0e-4a57-9a3c-0e5b3f1d2c41")
export const tenantB = TenantId.make("0b6c7d3e-9f21-4c8a-8e5d-2a4b6c8d0e1f")

const epoch = DateTime.makeUnsafe(0)

export const sourceFixture = (overrides: Partial<Source> = {}): Source => ({
  id: SourceId.make(crypto.randomUUID()),
  tenantId: tenantA,
  name: "Orders DB",
  description: null,
  connectorType: "postgres",
  connectionConfig: { host: "db.internal", port: 5432, database: "shop", username: "reader", password: "pg-secret-pass" },
  status: "INACTIVE",
  lastTestedAt: null,
  lastError: null,
  engineRef: null,
  discovered: null,
  createdAt: epoch,
  updatedAt: epoch,
  ...overrides
})

export const connectionFixture = (source: Source, overrides: Partial<Connection> = {}): Connection => ({
  id: ConnectionId.make(crypto.randomUUID()),
  tenantId: source.tenantId,
  sourceId: source.id,
  name: "Orders to lake",
  destinationType: "iceberg",
  syncSchedule: null,
  selectedStreams: null,
  syncMode: "FULL_REFRESH",
  status: "PENDING",
  lastSyncAt: null,
  engineRef: null,
  nextRunAt: null,
  createdAt: epoch,
  updatedAt: epoch,
  ...overrides
})

export const syncFixture = (connection: Connection, engineJobId: string | null): Sync => ({
  id: SyncId.make(crypto.randomUUID()),
  tenantId: connection.tenantId,
  connectionId: connection.id,
  status: "RUNNING",
  recordsSynced: null,
  bytesSynced: null,
  startedAt: epoch,
  completedAt: null,
  durationMs: null,
  error: null,
  engineJobId,
  trigger: "manual"
})

export const engineConfig = (
  apiUrl: string,
  clientId: string,
  clientSecret: string,
  overrides: Partial<AirbyteConfig> = {}
): AirbyteConfig => ({
  apiUrl,
  configApiUrl: deriveConfigApiUrl(apiUrl),
  clientId,
  clientSecret: Redacted.make(clientSecret),
  workspaceId: undefined,
  timeoutMs: 5_000,
  connectorJobTimeoutMs: 5_000,
  maxRetries: 2,
  retryBaseDelayMs: 20,
  tokenRefreshSkewMs: 60_000,
  dedupIncremental: false,
  destination: {
    catalogType: "REST",
    catalogUri: "http://catalog.internal:8181/catalog",
    catalogName: undefined,
    catalogClientId: undefined,
    catalogClientSecret: undefined,
    catalogToken: undefined,
    glueAccountId: undefined,
    glueRoleArn: undefined,
    warehouse: "s3://lake/warehouse",
    s3Bucket: "lake",
    s3Region: "us-east-1",
    s3Endpoint: "http://minio.internal:9000",
    s3AccessKeyId: Redacted.make("lake-access-key"),
    s3SecretAccessKey: Redacted.make("lake-secret-key"),
    branch: "main"
  },
  ...overrides
})

export type Engine = typeof ConnectorEngine.Service

/** Builds an engine over the fetch HttpClient (optionally wrapped) and the given tenant store. */
export const buildEngine = (
  config: AirbyteConfig,
  options: {
    readonly state?: typeof AirbyteTenantState.Service
    readonly wrapClient?: (client: HttpClient.HttpClient) => HttpClient.HttpClient
  } = {}
): Promise<Engine> => {
  const httpLayer = options.wrapClient === undefined
    ? FetchHttpClient.layer
    : Layer.effect(HttpClient.HttpClient, Effect.gen(function*() {
      return options.wrapClient!(yield* HttpClient.HttpClient)
    })).pipe(
      Layer.provide(FetchHttpClient.layer)
    )
  return Effect.runPromise(
    makeAirbyteEngine(config).pipe(
      Effect.provide(httpLayer),
      Effect.provideService(AirbyteTenantState, options.state ?? makeAirbyteTenantStateMemory())
    )
  )
}

/** Runs an engine call; resolves with its value or rejects with its typed failure. */
export const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect)

/** Runs an engine call that must fail and returns the failure. */
export const failureOf = <A, E>(effect: Effect.Effect<A, E>): Promise<E> => Effect.runPromise(Effect.flip(effect))

/** Runs a save that must hand back the engine's id. */
export const runId = async <E>(effect: Effect.Effect<string | null, E>): Promise<string> => {
  const id = await Effect.runPromise(effect)
  if (id === null) throw new Error("expected the engine to return an id")
  return id
}
