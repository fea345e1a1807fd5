import { Schema } from "effect"
import { DiscoveredStream } from "./columns.ts"
import { SourceId, TenantId } from "./ids.ts"

/** The connector types the product offers (`GET /sources/connector-types`). */
export const connectorTypes = [
  "postgres",
  "mysql",
  "mongodb",
  "mssql",
  "oracle",
  "salesforce",
  "hubspot",
  "stripe",
  "s3",
  "gcs",
  "azure-blob-storage",
  "sftp-bulk",
  "github",
  "jira",
  "zendesk"
] as const
export const ConnectorType = Schema.Literals(connectorTypes)
export type ConnectorType = typeof ConnectorType.Type

export const SourceStatus = Schema.Literals(["INACTIVE", "ACTIVE", "ERROR"])
export type SourceStatus = typeof SourceStatus.Type

export const ConnectionConfig = Schema.Record(Schema.String, Schema.Unknown)
export type ConnectionConfig = typeof ConnectionConfig.Type

export const Source = Schema.Struct({
  id: SourceId,
  tenantId: TenantId,
  name: Schema.String,
  description: Schema.NullOr(Schema.String),
  connectorType: ConnectorType,
  /** Secret: encrypted at rest, never returned or logged. */
  connectionConfig: ConnectionConfig,
  status: SourceStatus,
  lastTestedAt: Schema.NullOr(Schema.DateTimeUtc),
  /** Why the last test failed, when status is ERROR. */
  lastError: Schema.NullOr(Schema.String),
  /** The engine's own id for this source (e.g. Airbyte's sourceId); null for the local engine. */
  engineRef: Schema.NullOr(Schema.String),
  /** Streams found by the last discovery; connections are validated against them. */
  discovered: Schema.NullOr(Schema.Array(DiscoveredStream)),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
})
export type Source = typeof Source.Type

/**
 * A source as lists show it: without its connection config (a secret, stored encrypted) and its
 * discovered streams, which no list returns; reading a list never decrypts anything.
 */
export const SourceSummary = Source.mapFields(({ connectionConfig: _config, discovered: _discovered, ...rest }) => rest)
export type SourceSummary = typeof SourceSummary.Type
