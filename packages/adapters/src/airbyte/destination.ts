import type { TenantId } from "@ingest/domain"
import { Redacted } from "effect"
import type { AirbyteDestinationConfig } from "./config.ts"

/** The tenant's root Iceberg namespace (`t_<tenant uuid without dashes>`), as for file imports. */
export const tenantNamespace = (tenantId: TenantId): string => `t_${tenantId.replaceAll("-", "").toLowerCase()}`

export const workspaceName = (tenantId: TenantId) => `ingest-${tenantId}`
export const destinationName = (tenantId: TenantId) => `ingest-iceberg-${tenantId}`

const secret = (value: Redacted.Redacted<string> | undefined) => (value === undefined ? undefined : Redacted.value(value))

/** Drops undefined entries, so optional settings are left out instead of sent as null. */
const defined = (entries: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined))

/**
 * The configuration of Airbyte's Iceberg destination (`destination-s3-data-lake`, see
 * `public-api-sdk.yaml`) for one tenant: the shared warehouse, the tenant's own namespace.
 */
export const icebergDestinationConfiguration = (
  config: AirbyteDestinationConfig,
  tenantId: TenantId
): Record<string, unknown> => {
  const namespace = tenantNamespace(tenantId)
  const catalog = (() => {
    switch (config.catalogType) {
      case "REST":
        return { catalog_type: "REST", server_uri: config.catalogUri, namespace }
      case "NESSIE":
        return defined({ catalog_type: "NESSIE", server_uri: config.catalogUri, namespace, access_token: secret(config.catalogToken) })
      case "GLUE":
        return defined({ catalog_type: "GLUE", glue_id: config.glueAccountId, database_name: namespace, role_arn: config.glueRoleArn })
      case "POLARIS":
        return {
          catalog_type: "POLARIS",
          server_uri: config.catalogUri,
          catalog_name: config.catalogName,
          client_id: config.catalogClientId,
          client_secret: secret(config.catalogClientSecret),
          namespace
        }
    }
  })()
  return defined({
    destinationType: "s3-data-lake",
    s3_bucket_name: config.s3Bucket,
    s3_bucket_region: config.s3Region,
    s3_endpoint: config.s3Endpoint,
    access_key_id: secret(config.s3AccessKeyId),
    secret_access_key: secret(config.s3SecretAccessKey),
    warehouse_location: config.warehouse,
    main_branch_name: config.branch,
    catalog_type: catalog
  })
}
