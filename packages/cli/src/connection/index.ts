// How a command reaches the service. Every data command talks to the HTTP API through a client
// derived from the server's own contract, whichever way it goes:
//   --url / $INGEST_URL / a profile  → that service, with --token / $INGEST_TOKEN / the profile's token;
//   a service holding this data dir  → that service (it records its address next to the database
//                                       lock), with a dev token minted here in dev auth mode;
//   otherwise                        → the service's own routes in this process, over the same
//                                       configuration (database, storage, warehouse) as the service.
import { Config, Context, Effect, Layer, Option } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { Flag } from "effect/cli"
import type { TenantId } from "@ingest/domain"
import { AppConfig } from "@ingest/adapters/config"
import { MANAGE_PERMISSION, mintDevToken, TokenVerifier } from "@ingest/http/auth"
import { readServiceAddress } from "@ingest/http/service-address"
import { UploadSettings } from "@ingest/http/settings"
import type { Composition } from "../composition.ts"
import { BackgroundWork } from "../composition.ts"
import { usageError } from "../flags.ts"
import { IngestApi, makeClient } from "./client.ts"
import { selectProfile } from "./profiles.ts"

export { IngestApi } from "./client.ts"
export type { Connection, IngestClient } from "./client.ts"

/** The flags every command that talks to the service takes. */
export const connectionFlags = {
  url: Flag.String("url").pipe(
    Flag.withDescription("The service to talk to, e.g. https://ingest.example.com (default: $INGEST_URL, the profile, else this data dir's)"),
    Flag.optional
  ),
  token: Flag.String("token").pipe(
    Flag.withDescription("Bearer token for --url (default: $INGEST_TOKEN, else the profile's)"),
    Flag.optional
  ),
  profile: Flag.String("profile").pipe(
    Flag.withDescription("A connection saved with `ingest profile add` (default: $INGEST_PROFILE, else the current one)"),
    Flag.optional
  )
}

export interface ConnectionOptions {
  readonly url: Option.Option<string>
  readonly token: Option.Option<string>
  readonly profile: Option.Option<string>
  readonly tenant?: TenantId | undefined
}

export type Target =
  | { readonly kind: "remote"; readonly url: string; readonly token: string | undefined; readonly via: string }
  | { readonly kind: "local-service"; readonly url: string; readonly token: string | undefined }
  | { readonly kind: "in-process" }

const optionalEnv = (name: string) =>
  Config.String(name).pipe(Config.option, Config.map(Option.filter((v) => v.trim() !== "")))

/** `https://host/`, `https://host/api/v1` → `https://host`. */
export const serviceBaseUrl = (url: string) =>
  Effect.gen(function*() {
    const parsed = yield* Effect.try({
      try: () => new URL(url),
      catch: () => usageError(`--url "${url}" is not a URL (e.g. https://ingest.example.com)`)
    })
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      return yield* usageError(`--url "${url}" must be an http:// or https:// URL`)
    }
    return `${parsed.origin}${parsed.pathname.replace(/\/+$/, "").replace(/\/api\/v1$/, "")}`
  })

/** Where the command goes, without connecting yet. */
export const resolveTarget = (options: ConnectionOptions) =>
  Effect.gen(function*() {
    const token = Option.getOrUndefined(options.token) ?? Option.getOrUndefined(yield* optionalEnv("INGEST_TOKEN"))
    if (Option.isSome(options.url)) {
      return { kind: "remote", url: yield* serviceBaseUrl(options.url.value), token, via: "--url" } satisfies Target
    }
    const profileName = Option.isSome(options.profile) ? options.profile : yield* optionalEnv("INGEST_PROFILE")
    const envUrl = yield* optionalEnv("INGEST_URL")
    if (Option.isSome(envUrl) && Option.isNone(options.profile)) {
      return { kind: "remote", url: yield* serviceBaseUrl(envUrl.value), token, via: "INGEST_URL" } satisfies Target
    }
    const profile = yield* selectProfile(Option.getOrUndefined(profileName))
    if (profile !== undefined) {
      return {
        kind: "remote",
        url: yield* serviceBaseUrl(profile.url),
        token: token ?? profile.token,
        via: `profile ${profile.name}`
      } satisfies Target
    }
    const config = yield* AppConfig
    if (config.databaseUrl === undefined) {
      const address = yield* Effect.promise(() => readServiceAddress(config.dataDir))
      if (address !== undefined) {
        const minted = token === undefined && address.auth === "dev" && options.tenant !== undefined
          ? yield* Effect.promise(() =>
            mintDevToken(config.dataDir, {
              subject: "ingest-cli",
              tenants: [options.tenant!],
              expiresIn: "1h",
              issuer: address.issuer,
              audience: address.audience
            })
          )
          : undefined
        return { kind: "local-service", url: address.url, token: token ?? minted } satisfies Target
      }
    }
    return { kind: "in-process" } satisfies Target
  })

/**
 * The in-process service: the app from `composition` (use cases and the adapters under them)
 * under the API's own routes, called through `fetch` without a socket. The token is this
 * process's own: whoever runs the CLI in process already holds the database.
 */
const inProcess = (composition: Composition, tenant: TenantId | undefined) =>
  Effect.gen(function*() {
    const config = yield* AppConfig
    // The routes (and the adapters under them) load only when a command runs in process.
    const { ApiRoutes } = yield* Effect.promise(() => import("@ingest/http/server"))
    const app = yield* Layer.build(composition.app(config))
    const secret = crypto.randomUUID()
    const verifier = Layer.succeed(TokenVerifier, TokenVerifier.of({
      mode: "in-process",
      verify: (token) =>
        token === secret
          ? Effect.succeed({ subject: "ingest-cli", tenants: tenant === undefined ? [] : [tenant.toLowerCase()], permissions: [MANAGE_PERMISSION] })
          : Effect.fail("Token is invalid")
    }))
    const routes = ApiRoutes.pipe(
      Layer.provide([verifier, Layer.succeed(UploadSettings, UploadSettings.of({ maxUploadBytes: config.maxUploadBytes }))]),
      Layer.provide(Layer.succeedContext(app)),
      Layer.provide(HttpServer.layerServices)
    )
    const { dispose, handler } = HttpRouter.toWebHandler(routes, { disableLogger: true })
    yield* Effect.addFinalizer(() => Effect.promise(dispose))
    const client = yield* makeClient({
      baseUrl: "http://in-process",
      token: secret,
      fetch: ((input: string | URL | Request, init?: RequestInit) => handler(new Request(input, init))) as typeof globalThis.fetch
    })
    return IngestApi.of({
      client,
      mode: "in-process",
      target: `the data dir ${config.dataDir} (in process)`,
      background: Context.get(app, BackgroundWork).run
    })
  })

/** The connection of one command run, built when the command runs and closed when it ends. */
export const connectionLayer = (composition: Composition, options: ConnectionOptions) =>
  Layer.effect(
    IngestApi,
    Effect.gen(function*() {
      const target = yield* resolveTarget(options)
      if (target.kind === "in-process") return yield* inProcess(composition, options.tenant)
      const client = yield* makeClient({ baseUrl: target.url, token: target.token })
      return IngestApi.of({
        client,
        mode: target.kind,
        target: target.kind === "remote" ? `${target.url} (${target.via})` : `the service at ${target.url}`,
        background: Effect.void
      })
    })
  )
