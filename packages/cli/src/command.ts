import { Command } from "effect/cli"
import type { TenantId } from "@ingest/domain"
import type { Composition } from "./composition.ts"
import type { ConnectionOptions } from "./connection/index.ts"
import { connectionFlags, connectionLayer } from "./connection/index.ts"
import { jsonFlag, tenantFlag } from "./flags.ts"

// The command layer shared by every way of reaching the service: a command declares its flags
// (with `tenantScoped` for the common ones), reads `IngestApi` for the typed client, and is
// given its connection by `Connect` when it runs.

/** Flags of a command about one tenant's data: --tenant, --json, --url, --token, --profile. */
export const tenantScoped = { tenant: tenantFlag, json: jsonFlag, ...connectionFlags }

/** Gives a command the connection its flags describe, built when it runs and closed when it ends. */
export const withConnection = (composition: Composition) =>
<const Name extends string, Input extends ConnectionOptions, ContextInput, E, R>(
  self: Command.Command<Name, Input, ContextInput, E, R>
) => Command.provide(self, (input: Input) => connectionLayer(composition, input))

export type Connect = ReturnType<typeof withConnection>

/** The X-Tenant-Id header of a call. */
export const tenantHeaders = (tenant: TenantId) => ({ "x-tenant-id": tenant })
