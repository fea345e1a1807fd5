// The signed-in session: a bearer token and the tenant it acts for, kept in sessionStorage (gone
// when the tab closes, never in localStorage). The token's claims are read only to offer its
// tenants and to explain a 403; the service is what verifies it.

const tokenKey = "ingest.console.token"
const tenantKey = "ingest.console.tenant"

export interface Session {
  readonly token: string
  readonly tenant: string
}

export interface TokenClaims {
  readonly subject: string | null
  readonly tenants: ReadonlyArray<string>
  readonly permissions: ReadonlyArray<string>
  /** Expiry in epoch milliseconds, when the token says. */
  readonly expiresAt: number | null
}

export const READ = "data:ingestion:read"
export const MANAGE = "data:ingestion:manage"

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isTenantId = (value: string) => uuidPattern.test(value)

const strings = (value: unknown): Array<string> =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []

/** Reads a JWT's payload without verifying it; undefined when it is not a JWT. */
export const readClaims = (token: string): TokenClaims | undefined => {
  const parts = token.split(".")
  if (parts.length !== 3 || parts[1] === undefined || parts[1].length > 64_000) return undefined
  try {
    const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/")
    const bytes = Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")), (c) => c.charCodeAt(0))
    const payload: unknown = JSON.parse(new TextDecoder().decode(bytes))
    if (typeof payload !== "object" || payload === null) return undefined
    const claims = payload as Record<string, unknown>
    const tenants = [...(typeof claims["tenant_id"] === "string" ? [claims["tenant_id"]] : []), ...strings(claims["tenants"])]
    const permissions = [
      ...(typeof claims["scope"] === "string" ? claims["scope"].split(" ").filter((s) => s !== "") : []),
      ...strings(claims["permissions"])
    ]
    return {
      subject: typeof claims["sub"] === "string" ? claims["sub"] : null,
      tenants: [...new Set(tenants.map((t) => t.toLowerCase()))],
      permissions: [...new Set(permissions)],
      expiresAt: typeof claims["exp"] === "number" ? claims["exp"] * 1000 : null
    }
  } catch {
    return undefined
  }
}

/** What the token allows, in words: "read and manage", "read only", "nothing". */
export const describeGrant = (claims: TokenClaims | undefined): string => {
  if (claims === undefined) return "unknown (the token is not a readable JWT)"
  if (claims.permissions.includes(MANAGE)) return `read and manage (${MANAGE})`
  if (claims.permissions.includes(READ)) return `read only (${READ})`
  return `neither ${READ} nor ${MANAGE}`
}

export const loadSession = (): Session | undefined => {
  const token = sessionStorage.getItem(tokenKey)
  const tenant = sessionStorage.getItem(tenantKey)
  return token !== null && tenant !== null ? { token, tenant } : undefined
}

export const saveSession = (session: Session) => {
  sessionStorage.setItem(tokenKey, session.token)
  sessionStorage.setItem(tenantKey, session.tenant)
}

export const clearSession = () => {
  sessionStorage.removeItem(tokenKey)
  sessionStorage.removeItem(tenantKey)
}
