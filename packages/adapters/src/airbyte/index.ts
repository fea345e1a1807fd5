export { AirbyteRejected, describeErrorBody, makeAirbyteClient } from "./client.ts"
export type { AirbyteApi, AirbyteClient, AirbyteRequest, AirbyteResponse } from "./client.ts"
export { AirbyteConfigSchema, bucketOfWarehouse, deriveConfigApiUrl, icebergCatalogTypes } from "./config.ts"
export type { AirbyteConfig, AirbyteDestinationConfig, IcebergCatalogType } from "./config.ts"
export { unixCronToQuartz } from "./cron.ts"
export type { CronConversion } from "./cron.ts"
export { icebergDestinationConfiguration, tenantNamespace } from "./destination.ts"
export { AirbyteEngineLive, makeAirbyteEngine } from "./engine.ts"
export type { AirbyteEngineRequirements } from "./engine.ts"
export { columnsFromJsonSchema, mapJsonSchemaType } from "./json-schema.ts"
export { parseIsoDuration, syncStatusOf } from "./jobs.ts"
export { airbyteSourceType, airbyteSyncMode, isCdcSource, streamConfigurations, streamsFromCatalog } from "./mapping.ts"
export {
  AirbyteTenantState,
  AirbyteTenantStateMemory,
  AirbyteTenantStateSql,
  makeAirbyteTenantStateMemory,
  makeAirbyteTenantStateSql
} from "./tenant-state.ts"
export type { AirbyteTenantRecord } from "./tenant-state.ts"
export { jwtExpiry, tokenRefreshAt } from "./token.ts"
