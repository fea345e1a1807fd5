import { Context } from "effect"
import { HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import { TenantId } from "@ingest/domain"
import { ApiBadRequest, ApiForbidden, ApiUnauthorized } from "./errors.ts"

// Security of the tenant-scoped groups: a bearer JWT (Authentication: who calls) and the
// X-Tenant-Id header (TenantAccess: which tenant, granted by the token, with the permission
// the method needs). Handlers read the tenant from CurrentTenant.

export interface Principal {
  readonly subject: string
  readonly tenants: ReadonlyArray<string>
  readonly permissions: ReadonlyArray<string>
}
export class CurrentPrincipal extends Context.Service<CurrentPrincipal, Principal>()("ingest/http/CurrentPrincipal") {}

/** The tenant of the request, granted by its token. */
export class CurrentTenant extends Context.Service<CurrentTenant, TenantId>()("ingest/http/CurrentTenant") {}

export class Authentication extends HttpApiMiddleware.Service<Authentication, { provides: CurrentPrincipal }>()(
  "ingest/http/Authentication",
  { security: { bearer: HttpApiSecurity.bearer }, error: ApiUnauthorized, requiredForClient: true }
) {}

/**
 * Checks that the token grants the X-Tenant-Id tenant and the permission the method needs, and
 * provides that tenant to the handlers.
 */
export class TenantAccess extends HttpApiMiddleware.Service<TenantAccess, { provides: CurrentTenant; requires: CurrentPrincipal }>()(
  "ingest/http/TenantAccess",
  // 403; 401 is listed first only so that the security errors keep their order in the OpenAPI document.
  { error: [ApiUnauthorized, ApiForbidden] }
) {}

/** Turns request-decoding failures into the standard 400 body naming the field. */
export class RequestValidation extends HttpApiMiddleware.Service<RequestValidation>()(
  "ingest/http/RequestValidation",
  { error: ApiBadRequest }
) {}

/** The header every tenant-scoped endpoint declares (keys are lower-case). */
export const TenantHeader = { "x-tenant-id": TenantId }
