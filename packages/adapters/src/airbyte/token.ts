/**
 * When to renew an Airbyte access token. The JWT's own `exp` claim is the authority (Airbyte's
 * `expires_in` has been seen to disagree with it); the token is renewed `skewMs` before `exp`,
 * or halfway through its life when that is shorter than twice the skew.
 */

/** The `exp` claim (seconds since epoch) of a JWT, without verifying it; undefined when absent. */
export const jwtExpiry = (token: string): number | undefined => {
  const parts = token.split(".")
  if (parts.length !== 3 || parts[1]!.length > 16_384) return undefined
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as unknown
    const exp = typeof payload === "object" && payload !== null ? (payload as { exp?: unknown }).exp : undefined
    return typeof exp === "number" && Number.isFinite(exp) ? exp : undefined
  } catch {
    return undefined
  }
}

/** A token that is not a JWT is renewed after this long at most. */
export const opaqueTokenLifetimeMs = 60_000

export const tokenRefreshAt = (token: string, nowMs: number, skewMs: number, expiresInSeconds?: number): number => {
  const exp = jwtExpiry(token)
  if (exp !== undefined) {
    const lifetime = exp * 1000 - nowMs
    if (lifetime <= 0) return nowMs
    return exp * 1000 - Math.min(skewMs, lifetime / 2)
  }
  const stated = expiresInSeconds !== undefined && expiresInSeconds > 0 ? (expiresInSeconds * 1000) / 2 : opaqueTokenLifetimeMs
  return nowMs + Math.min(stated, opaqueTokenLifetimeMs)
}
