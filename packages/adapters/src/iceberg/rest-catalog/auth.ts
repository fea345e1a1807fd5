import { defaultProvider } from "@aws-sdk/credential-provider-node"
import { Sha256 } from "@smithy/core/checksum"
import { SignatureV4 } from "@smithy/signature-v4"
import { InfrastructureError } from "@ingest/domain"
import { Effect, Redacted, Semaphore } from "effect"

// How requests to the REST catalog authenticate: a static bearer token, an OAuth2 client
// credentials token (fetched, cached, refreshed before it expires and once after a 401), or AWS
// SigV4 (Glue, S3 Tables) signed with the AWS SDK's signer and credential chain. Secrets stay
// Redacted and never reach a message or a log line.

export type CatalogAuth =
  | { readonly kind: "none" }
  | { readonly kind: "token"; readonly token: Redacted.Redacted<string> }
  | {
    readonly kind: "oauth2"
    readonly clientId: string
    readonly clientSecret: Redacted.Redacted<string>
    /** The token endpoint (default: the catalog's `/v1/oauth/tokens`). */
    readonly serverUri: string
    readonly scope: string
  }
  | { readonly kind: "sigv4"; readonly region: string; readonly signingName: string }

export interface SignableRequest {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
}

export interface Authenticator {
  /** The headers that authenticate this request. */
  headers(request: SignableRequest): Effect.Effect<Record<string, string>, InfrastructureError>
  /** After a 401: forgets the token. True when a new one may help (OAuth2). */
  readonly rejected: Effect.Effect<boolean>
  /** How many tokens were fetched (OAuth2), for operators and tests. */
  readonly tokensFetched: () => number
}

/** Seconds since the epoch of a JWT's `exp`, when the token is a JWT that has one. */
export const jwtExpiry = (token: string): number | undefined => {
  const parts = token.split(".")
  if (parts.length !== 3) return undefined
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as { exp?: unknown }
    return typeof payload.exp === "number" && Number.isFinite(payload.exp) ? payload.exp : undefined
  } catch {
    return undefined
  }
}

/**
 * When a token must be replaced: the earlier of its `exp` claim and `expires_in` (catalogs
 * disagree on which is right), less a margin of a tenth of its life, at most a minute.
 * Undefined: it carries no expiry, and is replaced only after a 401.
 */
export const refreshAt = (nowMs: number, accessToken: string, expiresInSeconds: number | undefined): number | undefined => {
  const candidates: Array<number> = []
  if (expiresInSeconds !== undefined && expiresInSeconds > 0) candidates.push(nowMs + expiresInSeconds * 1000)
  const exp = jwtExpiry(accessToken)
  if (exp !== undefined) candidates.push(exp * 1000)
  if (candidates.length === 0) return undefined
  const expiresAt = Math.min(...candidates)
  const margin = Math.min(60_000, Math.max(0, (expiresAt - nowMs) / 10))
  return expiresAt - margin
}

const oauth2 = (
  auth: Extract<CatalogAuth, { kind: "oauth2" }>,
  timeoutMs: number,
  extraHeaders: Readonly<Record<string, string>>
): Authenticator => {
  let current: { readonly token: string; readonly refreshAt: number | undefined } | undefined
  let fetched = 0
  const lock = Semaphore.makeUnsafe(1)

  const fetchToken = Effect.tryPromise({
    try: async (signal) => {
      const body = new URLSearchParams({
        grant_type: "client_credentials",
        client_id: auth.clientId,
        client_secret: Redacted.value(auth.clientSecret),
        scope: auth.scope
      })
      const response = await fetch(auth.serverUri, {
        method: "POST",
        headers: { ...extraHeaders, "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: body.toString(),
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])
      })
      const text = await response.text()
      if (response.status !== 200) {
        throw new Error(`the token endpoint answered ${response.status}${oauthError(text)}`)
      }
      const json = JSON.parse(text) as { access_token?: unknown; expires_in?: unknown }
      if (typeof json.access_token !== "string" || json.access_token === "") throw new Error("the token response has no access_token")
      const expiresIn = typeof json.expires_in === "number" ? json.expires_in : Number(json.expires_in ?? Number.NaN)
      return { token: json.access_token, refreshAt: refreshAt(Date.now(), json.access_token, Number.isFinite(expiresIn) ? expiresIn : undefined) }
    },
    catch: (error) =>
      new InfrastructureError({
        reason: `cannot get an OAuth2 token for the Iceberg catalog from ${auth.serverUri}: ${error instanceof Error ? error.message : String(error)}`,
        // fetch fails with a TypeError when the endpoint does not answer (refused, reset), or times out
        ...(error instanceof TypeError || (error instanceof Error && error.name === "TimeoutError") ? { unreachable: "catalog" as const } : {})
      })
  })

  const token = lock.withPermit(Effect.gen(function*() {
    if (current !== undefined && (current.refreshAt === undefined || Date.now() < current.refreshAt)) return current.token
    const next = yield* fetchToken
    fetched++
    current = next
    return next.token
  }))

  return {
    headers: () => Effect.map(token, (value) => ({ authorization: `Bearer ${value}` })),
    rejected: Effect.sync(() => {
      current = undefined
      return true
    }),
    tokensFetched: () => fetched
  }
}

/** The OAuth2 error code of a token endpoint's answer (never its whole body). */
const oauthError = (text: string): string => {
  try {
    const json = JSON.parse(text) as { error?: unknown }
    return typeof json.error === "string" ? ` (${json.error.slice(0, 100)})` : ""
  } catch {
    return ""
  }
}

const sigv4 = (auth: Extract<CatalogAuth, { kind: "sigv4" }>): Authenticator => {
  const signer = new SignatureV4({
    credentials: defaultProvider(),
    region: auth.region,
    service: auth.signingName,
    sha256: Sha256
  })
  return {
    headers: (request) =>
      Effect.tryPromise({
        try: async () => {
          const query: Record<string, string> = {}
          request.url.searchParams.forEach((value, key) => {
            query[key] = value
          })
          const signed = await signer.sign({
            method: request.method,
            protocol: request.url.protocol,
            hostname: request.url.hostname,
            ...(request.url.port === "" ? {} : { port: Number(request.url.port) }),
            path: request.url.pathname,
            query,
            headers: { ...request.headers, host: request.url.host },
            ...(request.body === undefined ? {} : { body: request.body })
          })
          const headers: Record<string, string> = {}
          for (const [key, value] of Object.entries(signed.headers)) {
            if (key.toLowerCase() !== "host") headers[key] = value
          }
          return headers
        },
        catch: (error) =>
          new InfrastructureError({
            reason: `cannot sign the Iceberg catalog request with SigV4: ${error instanceof Error ? error.message : String(error)}`
          })
      }),
    rejected: Effect.succeed(false),
    tokensFetched: () => 0
  }
}

export const makeAuthenticator = (
  auth: CatalogAuth,
  options: { readonly timeoutMs: number; readonly extraHeaders: Readonly<Record<string, string>> }
): Authenticator => {
  switch (auth.kind) {
    case "none":
      return { headers: () => Effect.succeed({}), rejected: Effect.succeed(false), tokensFetched: () => 0 }
    case "token":
      return {
        headers: () => Effect.succeed({ authorization: `Bearer ${Redacted.value(auth.token)}` }),
        rejected: Effect.succeed(false),
        tokensFetched: () => 0
      }
    case "oauth2":
      return oauth2(auth, options.timeoutMs, options.extraHeaders)
    case "sigv4":
      return sigv4(auth)
  }
}
