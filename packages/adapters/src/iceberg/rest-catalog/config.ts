import { Config, Effect, Option, Redacted } from "effect"
import type { CatalogAuth } from "./auth.ts"
import type { PlacementTemplates } from "./placement.ts"
import { defaultNamespaceTemplate, validateTemplates } from "./placement.ts"

// The REST catalog's configuration (INGEST_CATALOG=rest:<uri> and the INGEST_CATALOG_* variables
// of the README), checked at startup: one way to authenticate, known placeholders, a URI.

const optional = (name: string) => Config.String(name).pipe(Config.option, Config.map(Option.getOrUndefined))
const optionalSecret = (name: string) => Config.Redacted(name).pipe(Config.option, Config.map(Option.getOrUndefined))

export const RestCatalogEnv = Config.all({
  warehouse: optional("INGEST_CATALOG_WAREHOUSE"),
  namespace: Config.String("INGEST_CATALOG_NAMESPACE").pipe(Config.withDefault(defaultNamespaceTemplate)),
  token: optionalSecret("INGEST_CATALOG_TOKEN"),
  credential: optionalSecret("INGEST_CATALOG_CREDENTIAL"),
  oauth2ServerUri: optional("INGEST_CATALOG_OAUTH2_SERVER_URI"),
  scope: Config.String("INGEST_CATALOG_SCOPE").pipe(Config.withDefault("catalog")),
  sigv4: Config.Boolean("INGEST_CATALOG_SIGV4").pipe(Config.withDefault(false)),
  sigv4Region: optional("INGEST_CATALOG_SIGV4_REGION"),
  sigv4SigningName: Config.String("INGEST_CATALOG_SIGV4_SIGNING_NAME").pipe(Config.withDefault("glue")),
  accessDelegation: optional("INGEST_CATALOG_ACCESS_DELEGATION"),
  timeoutSeconds: Config.Int("INGEST_CATALOG_TIMEOUT_SECONDS").pipe(Config.withDefault(30))
})
export type RestCatalogEnv = Config.Success<typeof RestCatalogEnv>

export interface RestCatalogSettings {
  /** The catalog URI, without a trailing slash (paths `/v1/…` go after it). */
  readonly uri: string
  readonly templates: PlacementTemplates
  readonly auth: CatalogAuth
  readonly headers: Readonly<Record<string, string>>
  readonly vendedCredentials: boolean
  readonly timeoutMs: number
}

/** `INGEST_CATALOG_HEADER_<NAME>=value`: extra headers (`_` in the name becomes `-`). */
export const headersFromEnv = (env: Readonly<Record<string, string | undefined>>): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) {
    const match = /^INGEST_CATALOG_HEADER_([A-Za-z0-9_]+)$/.exec(key)
    if (match === null || value === undefined || value === "") continue
    headers[match[1]!.toLowerCase().replaceAll("_", "-")] = value
  }
  return headers
}

/** The settings of `INGEST_CATALOG=rest:<uri>`, or every reason they are wrong (joined by "; "). */
export const restCatalogSettings = (
  catalog: string,
  env: RestCatalogEnv,
  headers: Readonly<Record<string, string>>,
  awsRegion: string | undefined
): RestCatalogSettings | string => {
  const uri = catalog.slice("rest:".length).trim().replace(/\/+$/, "")
  let parsed: URL
  try {
    parsed = new URL(uri)
  } catch {
    return `INGEST_CATALOG=${catalog}: "${uri}" is not a URL`
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return `INGEST_CATALOG: the catalog URI must be http(s), got ${parsed.protocol}`
  const templates = { warehouse: env.warehouse, namespace: env.namespace }
  const problems: Array<string> = []
  const problem = validateTemplates(templates)
  if (problem !== undefined) problems.push(problem)
  const ways = [env.token !== undefined, env.credential !== undefined, env.sigv4].filter(Boolean).length
  if (ways > 1) problems.push("INGEST_CATALOG_TOKEN, INGEST_CATALOG_CREDENTIAL and INGEST_CATALOG_SIGV4 exclude each other: set one")
  if (env.accessDelegation !== undefined && env.accessDelegation !== "vended-credentials") {
    problems.push(`INGEST_CATALOG_ACCESS_DELEGATION: only "vended-credentials" is supported, got "${env.accessDelegation}"`)
  }
  if (env.timeoutSeconds < 1 || env.timeoutSeconds > 600) problems.push("INGEST_CATALOG_TIMEOUT_SECONDS must be 1 to 600")
  let auth: CatalogAuth = { kind: "none" }
  if (env.token !== undefined) auth = { kind: "token", token: env.token }
  if (env.credential !== undefined) {
    const text = Redacted.value(env.credential)
    const colon = text.indexOf(":")
    if (colon <= 0) problems.push("INGEST_CATALOG_CREDENTIAL must be client_id:client_secret")
    auth = {
      kind: "oauth2",
      clientId: text.slice(0, colon),
      clientSecret: Redacted.make(text.slice(colon + 1)),
      serverUri: env.oauth2ServerUri ?? `${uri}/v1/oauth/tokens`,
      scope: env.scope
    }
  }
  if (env.sigv4) {
    const region = env.sigv4Region ?? awsRegion
    if (region === undefined) problems.push("INGEST_CATALOG_SIGV4=true needs INGEST_CATALOG_SIGV4_REGION (or AWS_REGION)")
    auth = { kind: "sigv4", region: region ?? "", signingName: env.sigv4SigningName }
  }
  if (problems.length > 0) return problems.join("; ")
  return {
    uri,
    templates,
    auth,
    headers,
    vendedCredentials: env.accessDelegation === "vended-credentials",
    timeoutMs: env.timeoutSeconds * 1000
  }
}

/** The settings of the catalog in the environment, or why they are wrong. */
export const readRestCatalogSettings = (catalog: string): Effect.Effect<RestCatalogSettings | string> =>
  Effect.gen(function*() {
    const env = yield* Effect.result(Effect.gen(function*() {
      return yield* RestCatalogEnv
    }))
    if (env._tag === "Failure") return `INGEST_CATALOG_*: ${env.failure.message.replace(/\s+/g, " ").trim()}`
    return restCatalogSettings(catalog, env.success, headersFromEnv(process.env), process.env["AWS_REGION"] ?? process.env["AWS_DEFAULT_REGION"])
  })

/** For the startup check: what is wrong with the REST catalog's settings, each problem apart (nothing when they work). */
export const restCatalogProblems = (catalog: string): Effect.Effect<ReadonlyArray<string>> =>
  Effect.map(readRestCatalogSettings(catalog), (settings) => typeof settings === "string" ? settings.split("; ") : [])
