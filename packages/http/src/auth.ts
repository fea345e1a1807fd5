import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import type { TenantId } from "@ingest/domain"
import { HttpServerRequest } from "effect/http"
import * as jose from "jose"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import * as path from "node:path"
import type { Principal } from "./api/index.ts"
import { ApiForbidden, ApiUnauthorized, Authentication, CurrentPrincipal, CurrentTenant, TenantAccess } from "./api/index.ts"
import { requestPath } from "./error-mapping.ts"

export const READ_PERMISSION = "data:ingestion:read"
export const MANAGE_PERMISSION = "data:ingestion:manage"

/** Asymmetric algorithms only: `none` and shared-secret HMAC tokens are refused. */
const allowedAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
const devAlgorithm = "ES256"
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export interface AuthSettings {
  /** URL of a JWKS document, or a path to a local JWKS file; undefined = dev mode. */
  readonly jwksUrl: string | undefined
  readonly issuer: string | undefined
  readonly audience: string | undefined
  readonly dataDir: string
}

export const AuthSettingsConfig = (dataDir: Config.Config<string>) =>
  Config.all({
    jwksUrl: Config.String("INGEST_AUTH_JWKS_URL").pipe(Config.option, Config.map(Option.getOrUndefined)),
    issuer: Config.String("INGEST_AUTH_ISSUER").pipe(Config.option, Config.map(Option.getOrUndefined)),
    audience: Config.String("INGEST_AUTH_AUDIENCE").pipe(Config.option, Config.map(Option.getOrUndefined)),
    dataDir
  })

/** Dev mode: one EC key pair kept under the data dir, so tokens survive restarts. */
export const devKeyPair = async (dataDir: string) => {
  const dir = path.join(dataDir, "auth")
  const privatePath = path.join(dir, "dev-signing-key.jwk.json")
  try {
    const jwk = JSON.parse(await readFile(privatePath, "utf8")) as jose.JWK
    const { d: _d, ...publicJwk } = jwk
    return { privateKey: await jose.importJWK(jwk, devAlgorithm), publicJwk: publicJwk as jose.JWK, kid: jwk.kid ?? "dev" }
  } catch {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const { privateKey, publicKey } = await jose.generateKeyPair(devAlgorithm, { extractable: true })
    const kid = `dev-${crypto.randomUUID().slice(0, 8)}`
    const privateJwk = { ...(await jose.exportJWK(privateKey)), kid, alg: devAlgorithm }
    await writeFile(privatePath, JSON.stringify(privateJwk), { mode: 0o600 })
    return { privateKey, publicJwk: { ...(await jose.exportJWK(publicKey)), kid, alg: devAlgorithm }, kid }
  }
}

export interface MintOptions {
  readonly subject?: string | undefined
  readonly tenants: ReadonlyArray<string>
  readonly permissions?: ReadonlyArray<string> | undefined
  readonly expiresIn?: string | undefined
  readonly issuer?: string | undefined
  readonly audience?: string | undefined
}

/** Signs a token with the dev key (the `ingest token` command). */
export const mintDevToken = async (dataDir: string, options: MintOptions) => {
  const { kid, privateKey } = await devKeyPair(dataDir)
  let jwt = new jose.SignJWT({ tenants: [...options.tenants], permissions: [...(options.permissions ?? [MANAGE_PERMISSION])] })
    .setProtectedHeader({ alg: devAlgorithm, kid })
    .setSubject(options.subject ?? "dev-user")
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? "12h")
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer)
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience)
  return jwt.sign(privateKey)
}

type KeySet = (protectedHeader: jose.JWSHeaderParameters, token: jose.FlattenedJWSInput) => Promise<jose.CryptoKey>

const loadKeySet = async (settings: AuthSettings): Promise<{ keys: KeySet; mode: string }> => {
  if (settings.jwksUrl === undefined) {
    const { publicJwk } = await devKeyPair(settings.dataDir)
    return { keys: jose.createLocalJWKSet({ keys: [publicJwk] }) as KeySet, mode: "dev" }
  }
  if (/^https?:\/\//i.test(settings.jwksUrl)) {
    return { keys: jose.createRemoteJWKSet(new URL(settings.jwksUrl)) as KeySet, mode: `jwks ${settings.jwksUrl}` }
  }
  const file = settings.jwksUrl.replace(/^file:\/\//, "")
  const jwks = JSON.parse(await readFile(file, "utf8")) as jose.JSONWebKeySet
  return { keys: jose.createLocalJWKSet(jwks) as KeySet, mode: `jwks file ${file}` }
}

const describeFailure = (error: unknown): string => {
  if (error instanceof jose.errors.JWTExpired) return "Token expired"
  if (error instanceof jose.errors.JWSSignatureVerificationFailed) return "Token signature is invalid"
  if (error instanceof jose.errors.JWTClaimValidationFailed) return `Token claim "${error.claim}" is invalid: ${error.reason}`
  if (error instanceof jose.errors.JOSEAlgNotAllowed) return "Token algorithm is not allowed"
  if (error instanceof jose.errors.JWKSNoMatchingKey) return "Token was not signed by a known key"
  if (error instanceof jose.errors.JWSInvalid || error instanceof jose.errors.JWTInvalid) return "Token is malformed"
  if (error instanceof jose.errors.JWKSTimeout) return "Token keys could not be fetched in time"
  return "Token is invalid"
}

const stringList = (value: unknown): Array<string> =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []

/**
 * A token whose signature and claims were checked is remembered (by its exact text) until it
 * expires, for at most this long, so that a client's calls in a row do not verify the same
 * signature again each time. A key withdrawn from the JWKS stops being trusted within this time.
 */
const verifiedForMillis = 60_000
/** Tokens remembered at most (the oldest is forgotten first). */
const verifiedTokens = 10_000

const principalOf = (payload: jose.JWTPayload): Principal => {
  const tenants = typeof payload["tenant_id"] === "string"
    ? [payload["tenant_id"], ...stringList(payload["tenants"])]
    : stringList(payload["tenants"])
  const permissions = typeof payload["scope"] === "string"
    ? [...payload["scope"].split(" ").filter((s) => s !== ""), ...stringList(payload["permissions"])]
    : stringList(payload["permissions"])
  return { subject: payload.sub ?? "", tenants: tenants.map((t) => t.toLowerCase()), permissions }
}

/** Verifies bearer tokens: signature, expiry, optional issuer/audience. */
export class TokenVerifier extends Context.Service<TokenVerifier, {
  readonly mode: string
  verify(token: string): Effect.Effect<Principal, string>
}>()("ingest/http/TokenVerifier") {
  static readonly layer = (settings: AuthSettings) =>
    Layer.effect(
      TokenVerifier,
      Effect.gen(function*() {
        const { keys, mode } = yield* Effect.promise(() => loadKeySet(settings))
        if (mode === "dev") {
          yield* Effect.logWarning(
            "AUTH DEV MODE: INGEST_AUTH_JWKS_URL is not set; tokens are checked against a key pair under the data dir. " +
              "Mint one with `npm run ingest -- token --tenant <uuid>`. Never run like this in production."
          )
        }
        const verified = new Map<string, { readonly principal: Principal; readonly until: number }>()
        const check = (token: string) =>
          Effect.tryPromise({
            try: () =>
              jose.jwtVerify(token, keys, {
                algorithms: allowedAlgorithms,
                ...(settings.issuer !== undefined ? { issuer: settings.issuer } : {}),
                ...(settings.audience !== undefined ? { audience: settings.audience } : {})
              }),
            catch: describeFailure
          }).pipe(
            Effect.map(({ payload }) => {
              const principal = principalOf(payload)
              const now = Date.now()
              const until = Math.min(now + verifiedForMillis, typeof payload.exp === "number" ? payload.exp * 1000 : Infinity)
              if (until > now) {
                if (verified.size >= verifiedTokens) verified.delete(verified.keys().next().value!)
                verified.set(token, { principal, until })
              }
              return principal
            })
          )
        return TokenVerifier.of({
          mode,
          verify: (token) =>
            Effect.suspend(() => {
              const known = verified.get(token)
              if (known !== undefined) {
                if (known.until > Date.now()) return Effect.succeed(known.principal)
                verified.delete(token)
              }
              return check(token)
            })
        })
      })
    )
}

/** Bearer authentication: the token's signature, expiry, issuer and audience (401 otherwise). */
export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const verifier = yield* TokenVerifier
    return Authentication.of({
      bearer: Effect.fn("Authentication.bearer")(function*(httpEffect, { credential }) {
        const token = Redacted.value(credential)
        if (token === "") return yield* Effect.fail(ApiUnauthorized.create("Missing bearer token (Authorization: Bearer <JWT>)", yield* requestPath))
        const principal = yield* verifier.verify(token).pipe(
          Effect.catch((reason) => Effect.flatMap(requestPath, (path) => Effect.fail(ApiUnauthorized.create(reason, path))))
        )
        return yield* Effect.provideService(httpEffect, CurrentPrincipal, principal)
      })
    })
  })
)

/**
 * Tenancy and permission: a well-formed X-Tenant-Id the token does not grant is 403, as is a
 * method the token's permissions do not allow; the granted tenant is provided to the handlers.
 */
export const TenantAccessLive = Layer.succeed(
  TenantAccess,
  Effect.fn("TenantAccess")(function*(httpEffect) {
    const request = yield* HttpServerRequest.HttpServerRequest
    const principal = yield* CurrentPrincipal
    const tenant = request.headers["x-tenant-id"]
    const wellFormed = tenant !== undefined && uuidPattern.test(tenant)
    if (wellFormed && !principal.tenants.includes(tenant.toLowerCase())) {
      return yield* Effect.fail(ApiForbidden.create(`The token does not grant access to tenant ${tenant}`, yield* requestPath))
    }
    const reading = request.method === "GET" || request.method === "HEAD"
    const allowed = principal.permissions.includes(MANAGE_PERMISSION) ||
      (reading && principal.permissions.includes(READ_PERMISSION))
    if (!allowed) {
      return yield* Effect.fail(ApiForbidden.create(
        `Missing permission ${reading ? `${READ_PERMISSION} or ${MANAGE_PERMISSION}` : MANAGE_PERMISSION}`,
        yield* requestPath
      ))
    }
    // A missing or malformed header never reaches a handler: every tenant-scoped endpoint declares
    // the header with the TenantId schema, whose decoding refuses it (400, after the path
    // parameters). So the value handlers read here is always the decoded, granted tenant.
    return yield* Effect.provideService(httpEffect, CurrentTenant, (tenant ?? "") as TenantId)
  })
)
