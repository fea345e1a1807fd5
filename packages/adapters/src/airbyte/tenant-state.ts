import type { TenantId } from "@ingest/domain"
import { InfrastructureError } from "@ingest/domain"
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"

/** What the engine remembers per tenant about its Airbyte side. */
export interface AirbyteTenantRecord {
  readonly workspaceId: string | null
  readonly destinationId: string | null
}

/**
 * Remembers each tenant's Airbyte workspace and Iceberg destination. The `claim*` methods are
 * first-writer-wins: they record the id unless one is already recorded and return the recorded
 * one, so two processes that create a workspace for the same tenant at once agree on one.
 */
export class AirbyteTenantState extends Context.Service<AirbyteTenantState, {
  get(tenantId: TenantId): Effect.Effect<Option.Option<AirbyteTenantRecord>, InfrastructureError>
  claimWorkspace(tenantId: TenantId, workspaceId: string): Effect.Effect<string, InfrastructureError>
  claimDestination(tenantId: TenantId, destinationId: string): Effect.Effect<string, InfrastructureError>
}>()("ingest/AirbyteTenantState") {}

export const makeAirbyteTenantStateMemory = (): typeof AirbyteTenantState.Service => {
  const records = new Map<string, AirbyteTenantRecord>()
  const claim = (tenantId: TenantId, field: keyof AirbyteTenantRecord, id: string) =>
    Effect.sync(() => {
      const current = records.get(tenantId) ?? { workspaceId: null, destinationId: null }
      const recorded = current[field]
      if (recorded !== null) return recorded
      records.set(tenantId, { ...current, [field]: id })
      return id
    })
  return AirbyteTenantState.of({
    get: (tenantId) => Effect.sync(() => Option.fromNullishOr(records.get(tenantId))),
    claimWorkspace: (tenantId, workspaceId) => claim(tenantId, "workspaceId", workspaceId),
    claimDestination: (tenantId, destinationId) => claim(tenantId, "destinationId", destinationId)
  })
}

export const AirbyteTenantStateMemory = Layer.sync(AirbyteTenantState, makeAirbyteTenantStateMemory)

const failure = (operation: string) => (error: unknown) =>
  new InfrastructureError({
    reason: `Airbyte tenant state: ${operation} failed: ${error instanceof Error ? error.message : String(error)}`
  })

/** The table is created on first use; safe to run from several processes at once. */
export const makeAirbyteTenantStateSql = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const createTable = sql`CREATE TABLE IF NOT EXISTS airbyte_tenants (
    tenant_id text PRIMARY KEY,
    workspace_id text,
    destination_id text
  )`
  // Two processes creating the table at the same moment can collide in the catalog; the loser
  // finds the table on its second try.
  yield* createTable.pipe(Effect.retry({ times: 2 }), Effect.mapError(failure("creating table airbyte_tenants")))

  interface Row {
    readonly workspace_id: string | null
    readonly destination_id: string | null
  }

  const get = (tenantId: TenantId) =>
    sql<Row>`SELECT workspace_id, destination_id FROM airbyte_tenants WHERE tenant_id = ${tenantId}`.pipe(
      Effect.map((rows) =>
        Option.map(Option.fromNullishOr(rows[0]), (row) => ({ workspaceId: row.workspace_id, destinationId: row.destination_id }))
      ),
      Effect.mapError(failure("read"))
    )

  const claimWorkspace = (tenantId: TenantId, workspaceId: string) =>
    sql<{ readonly workspace_id: string }>`
      INSERT INTO airbyte_tenants (tenant_id, workspace_id) VALUES (${tenantId}, ${workspaceId})
      ON CONFLICT (tenant_id) DO UPDATE SET workspace_id = COALESCE(airbyte_tenants.workspace_id, EXCLUDED.workspace_id)
      RETURNING workspace_id`.pipe(
      Effect.map((rows) => rows[0]?.workspace_id ?? workspaceId),
      Effect.mapError(failure("recording workspace"))
    )

  const claimDestination = (tenantId: TenantId, destinationId: string) =>
    sql<{ readonly destination_id: string }>`
      INSERT INTO airbyte_tenants (tenant_id, destination_id) VALUES (${tenantId}, ${destinationId})
      ON CONFLICT (tenant_id) DO UPDATE SET destination_id = COALESCE(airbyte_tenants.destination_id, EXCLUDED.destination_id)
      RETURNING destination_id`.pipe(
      Effect.map((rows) => rows[0]?.destination_id ?? destinationId),
      Effect.mapError(failure("recording destination"))
    )

  return AirbyteTenantState.of({ get, claimWorkspace, claimDestination })
})

export const AirbyteTenantStateSql: Layer.Layer<AirbyteTenantState, InfrastructureError, SqlClient.SqlClient> = Layer.effect(
  AirbyteTenantState,
  makeAirbyteTenantStateSql
)
