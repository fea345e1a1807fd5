import { Config, ConfigProvider, Effect, Option, Redacted } from "effect"

/** Which Iceberg catalog Airbyte's Iceberg destination (`destination-s3-data-lake`) writes to. */
export const icebergCatalogTypes = ["REST", "NESSIE", "GLUE", "POLARIS"] as const
export type IcebergCatalogType = (typeof icebergCatalogTypes)[number]

export interface AirbyteDestinationConfig {
  readonly catalogType: IcebergCatalogType
  /** REST / Nessie / Polaris server URI. */
  readonly catalogUri: string | undefined
  /** Polaris catalog name. */
  readonly catalogName: string | undefined
  /** Polaris client credentials. */
  readonly catalogClientId: string | undefined
  readonly catalogClientSecret: Redacted.Redacted<string> | undefined
  /** Nessie access token. */
  readonly catalogToken: Redacted.Redacted<string> | undefined
  /** Glue: AWS account id and optional role. */
  readonly glueAccountId: string | undefined
  readonly glueRoleArn: string | undefined
  /** e.g. `s3://lake/warehouse`. */
  readonly warehouse: string
  readonly s3Bucket: string
  readonly s3Region: string
  readonly s3Endpoint: string | undefined
  readonly s3AccessKeyId: Redacted.Redacted<string> | undefined
  readonly s3SecretAccessKey: Redacted.Redacted<string> | undefined
  readonly branch: string
}

export interface AirbyteConfig {
  /** Public API base, e.g. `https://airbyte.example.com/api/public/v1`. */
  readonly apiUrl: string
  /** Configuration API base, e.g. `https://airbyte.example.com/api/v1`. */
  readonly configApiUrl: string
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  /** One shared workspace for every tenant; unset → one workspace per tenant. */
  readonly workspaceId: string | undefined
  /** Per-request timeout of ordinary calls. */
  readonly timeoutMs: number
  /** Timeout of check/discover, which run a connector synchronously inside Airbyte. */
  readonly connectorJobTimeoutMs: number
  /** Retries of idempotent calls after a 5xx, a network error or a timeout. */
  readonly maxRetries: number
  /** First retry delay; doubles on each retry. */
  readonly retryBaseDelayMs: number
  /** The access token is renewed this long before the `exp` of its JWT. */
  readonly tokenRefreshSkewMs: number
  /** INCREMENTAL streams with a primary key are deduplicated (`incremental_deduped_history`). */
  readonly dedupIncremental: boolean
  readonly destination: AirbyteDestinationConfig
}

/**
 * `<host>/api/public/v1` → `<host>/api/v1`; any other public URL → `<origin>/api/v1`
 * (the configuration API of a self-managed Airbyte lives there).
 */
export const deriveConfigApiUrl = (apiUrl: string): string => {
  const trimmed = apiUrl.replace(/\/+$/, "")
  if (/\/api\/public\/v1$/.test(trimmed)) return trimmed.replace(/\/api\/public\/v1$/, "/api/v1")
  return `${new URL(trimmed).origin}/api/v1`
}

/** `s3://bucket/path` → `bucket`. */
export const bucketOfWarehouse = (warehouse: string): string | undefined => {
  const match = /^s3a?:\/\/([^/]+)/.exec(warehouse)
  return match?.[1]
}

const invalid = (message: string) => Effect.fail(new Config.ConfigError(new ConfigProvider.SourceError({ message })))

const optional = <A>(config: Config.Config<A>) => config.pipe(Config.option, Config.map(Option.getOrUndefined))

const destinationConfig = Config.all({
  catalogType: Config.Literals(icebergCatalogTypes, "AIRBYTE_ICEBERG_CATALOG_TYPE").pipe(Config.withDefault("REST" as const)),
  catalogUri: optional(Config.String("AIRBYTE_ICEBERG_CATALOG_URI")),
  catalogName: optional(Config.String("AIRBYTE_ICEBERG_CATALOG_NAME")),
  catalogClientId: optional(Config.String("AIRBYTE_ICEBERG_CATALOG_CLIENT_ID")),
  catalogClientSecret: optional(Config.Redacted("AIRBYTE_ICEBERG_CATALOG_CLIENT_SECRET")),
  catalogToken: optional(Config.Redacted("AIRBYTE_ICEBERG_CATALOG_TOKEN")),
  glueAccountId: optional(Config.String("AIRBYTE_ICEBERG_GLUE_ACCOUNT_ID")),
  glueRoleArn: optional(Config.String("AIRBYTE_ICEBERG_GLUE_ROLE_ARN")),
  warehouse: Config.String("AIRBYTE_ICEBERG_WAREHOUSE"),
  s3Bucket: optional(Config.String("AIRBYTE_ICEBERG_S3_BUCKET")),
  s3Region: Config.String("AIRBYTE_ICEBERG_S3_REGION").pipe(Config.withDefault("us-east-1")),
  s3Endpoint: optional(Config.String("AIRBYTE_ICEBERG_S3_ENDPOINT")),
  s3AccessKeyId: optional(Config.Redacted("AIRBYTE_ICEBERG_S3_ACCESS_KEY_ID")),
  s3SecretAccessKey: optional(Config.Redacted("AIRBYTE_ICEBERG_S3_SECRET_ACCESS_KEY")),
  branch: Config.String("AIRBYTE_ICEBERG_BRANCH").pipe(Config.withDefault("main"))
}).pipe(
  Config.mapEffect((raw) => {
    const s3Bucket = raw.s3Bucket ?? bucketOfWarehouse(raw.warehouse)
    if (s3Bucket === undefined) {
      return invalid("AIRBYTE_ICEBERG_S3_BUCKET is required when AIRBYTE_ICEBERG_WAREHOUSE is not an s3:// URL")
    }
    const needsUri = raw.catalogType !== "GLUE"
    if (needsUri && raw.catalogUri === undefined) {
      return invalid(`AIRBYTE_ICEBERG_CATALOG_URI is required for catalog type ${raw.catalogType}`)
    }
    if (raw.catalogType === "GLUE" && raw.glueAccountId === undefined) {
      return invalid("AIRBYTE_ICEBERG_GLUE_ACCOUNT_ID is required for catalog type GLUE")
    }
    if (
      raw.catalogType === "POLARIS" &&
      (raw.catalogName === undefined || raw.catalogClientId === undefined || raw.catalogClientSecret === undefined)
    ) {
      return invalid(
        "AIRBYTE_ICEBERG_CATALOG_NAME, AIRBYTE_ICEBERG_CATALOG_CLIENT_ID and AIRBYTE_ICEBERG_CATALOG_CLIENT_SECRET are required for catalog type POLARIS"
      )
    }
    return Effect.succeed<AirbyteDestinationConfig>({ ...raw, s3Bucket })
  })
)

/**
 * Everything the Airbyte engine reads from the environment (documented in docs/airbyte.md).
 */
export const AirbyteConfigSchema: Config.Config<AirbyteConfig> = Config.all({
  apiUrl: Config.String("AIRBYTE_API_URL").pipe(Config.map((url) => url.replace(/\/+$/, ""))),
  configApiUrl: optional(Config.String("AIRBYTE_CONFIG_API_URL")),
  clientId: Config.String("AIRBYTE_CLIENT_ID"),
  clientSecret: Config.Redacted("AIRBYTE_CLIENT_SECRET"),
  workspaceId: optional(Config.String("AIRBYTE_WORKSPACE_ID")),
  timeoutSeconds: Config.Int("AIRBYTE_TIMEOUT_SECONDS").pipe(Config.withDefault(30)),
  connectorJobTimeoutSeconds: Config.Int("AIRBYTE_CONNECTOR_JOB_TIMEOUT_SECONDS").pipe(Config.withDefault(300)),
  maxRetries: Config.Int("AIRBYTE_MAX_RETRIES").pipe(Config.withDefault(3)),
  dedupIncremental: Config.Boolean("AIRBYTE_DEDUP_INCREMENTAL").pipe(Config.withDefault(false)),
  destination: destinationConfig
}).pipe(
  Config.mapEffect((raw) => {
    if (!/^https?:\/\//.test(raw.apiUrl)) return invalid("AIRBYTE_API_URL must be an http(s) URL")
    if (raw.timeoutSeconds < 1 || raw.connectorJobTimeoutSeconds < 1) return invalid("Airbyte timeouts must be at least 1 second")
    if (raw.maxRetries < 0 || raw.maxRetries > 10) return invalid("AIRBYTE_MAX_RETRIES must be between 0 and 10")
    return Effect.succeed<AirbyteConfig>({
      apiUrl: raw.apiUrl,
      configApiUrl: (raw.configApiUrl ?? deriveConfigApiUrl(raw.apiUrl)).replace(/\/+$/, ""),
      clientId: raw.clientId,
      clientSecret: raw.clientSecret,
      workspaceId: raw.workspaceId,
      timeoutMs: raw.timeoutSeconds * 1000,
      connectorJobTimeoutMs: raw.connectorJobTimeoutSeconds * 1000,
      maxRetries: raw.maxRetries,
      retryBaseDelayMs: 250,
      tokenRefreshSkewMs: 60_000,
      dedupIncremental: raw.dedupIncremental,
      destination: raw.destination
    })
  })
)
