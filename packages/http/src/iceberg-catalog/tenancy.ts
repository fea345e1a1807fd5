import { tenantNamespace, TenantId } from "@ingest/domain"
import type { Principal } from "../api/index.ts"
import { IcebergError } from "./errors.ts"

// Who is asking and which tenant's catalog they see. Engines send a bearer token and often
// nothing else, so the tenant comes from the path prefix (what /v1/config answered), the
// `warehouse` of /v1/config, X-Tenant-Id, or a token that grants exactly one tenant.

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export interface TenantCatalog {
  readonly tenant: TenantId
  /** The tenant's root namespace inside the catalog; engines never see it. */
  readonly root: string
}

export const resolveTenant = (
  principal: Principal,
  named: { readonly prefix?: string | undefined; readonly warehouse?: string | undefined; readonly header?: string | undefined }
): TenantCatalog => {
  const explicit = [named.prefix, named.warehouse, named.header].filter((v): v is string => v !== undefined && v !== "")
  const candidate = explicit[0] ?? (principal.tenants.length === 1 ? principal.tenants[0] : undefined)
  if (candidate === undefined) {
    throw new IcebergError(
      400,
      "BadRequestException",
      "Name the tenant: pass warehouse=<tenant id> to /v1/config, send X-Tenant-Id, or use a token that grants one tenant"
    )
  }
  if (!uuidPattern.test(candidate)) {
    throw new IcebergError(400, "BadRequestException", `"${candidate.slice(0, 64)}" is not a tenant id (a UUID)`)
  }
  const tenant = candidate.toLowerCase()
  if (explicit.some((value) => value.toLowerCase() !== tenant)) {
    throw new IcebergError(400, "BadRequestException", "The path prefix, warehouse and X-Tenant-Id name different tenants")
  }
  if (!principal.tenants.includes(tenant)) {
    throw new IcebergError(403, "ForbiddenException", `The token does not grant access to tenant ${tenant}`)
  }
  const id = TenantId.make(tenant)
  return { tenant: id, root: tenantNamespace(id) }
}

const validLevel = (level: string) => level.length > 0 && level.length <= 128 && !/[.\u0000]/.test(level)

/** A namespace as the tenant names it → the catalog's namespace. */
export const internalNamespace = (tenant: TenantCatalog, levels: ReadonlyArray<string>): Array<string> => {
  if (levels.length === 0 || levels.length > 16 || !levels.every(validLevel)) {
    throw new IcebergError(
      400,
      "BadRequestException",
      `Invalid namespace ${JSON.stringify(levels).slice(0, 300)}: 1 to 16 levels of 1 to 128 characters, without "."`
    )
  }
  return [tenant.root, ...levels]
}

/** The catalog's namespace → as the tenant names it. */
export const externalNamespace = (tenant: TenantCatalog, levels: ReadonlyArray<string>): Array<string> =>
  levels[0] === tenant.root ? levels.slice(1) : [...levels]

/** The namespace path parameter: levels joined by the unit separator (0x1F). */
export const namespaceParam = (raw: string | undefined): Array<string> => {
  const text = raw === undefined ? "" : raw.includes("%") ? safeDecode(raw) : raw
  return text.split("\u001f")
}

const safeDecode = (raw: string) => {
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new IcebergError(400, "BadRequestException", "Malformed namespace in the path")
  }
}

export const tableNameParam = (raw: string | undefined): string => {
  const name = raw === undefined ? "" : raw.includes("%") ? safeDecode(raw) : raw
  if (name.length === 0 || name.length > 255 || name.includes("\u0000")) {
    throw new IcebergError(400, "BadRequestException", "Invalid table name: 1 to 255 characters")
  }
  return name
}

/** Hides the tenant's root namespace in messages that name catalog objects. */
export const tenantMessage = (tenant: TenantCatalog, message: string) => message.split(`${tenant.root}.`).join("")
