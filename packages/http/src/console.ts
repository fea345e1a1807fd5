// The web console at /console: the built page and its hashed assets (@ingest/console, read once
// at start) under a strict Content-Security-Policy; any other /console/<view> path answers the
// page (the console routes on the client). In dev auth mode, and only for a request made on this
// machine to a loopback address, /console/dev-token mints a token for the sign-in page.
import { Context, Effect, Layer, Option } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { createHash } from "node:crypto"
import { readdir, readFile } from "node:fs/promises"
import * as path from "node:path"
import { consoleDistDir } from "@ingest/console/assets"
import { errorBody } from "./api/errors.ts"

export const consoleBasePath = "/console"

/** Mints dev tokens for one tenant; absent unless the service runs in dev auth mode. */
export class ConsoleDevTokens extends Context.Service<ConsoleDevTokens, {
  readonly mint: Option.Option<(tenantId: string) => Promise<string>>
}>()("ingest/http/ConsoleDevTokens") {}

/** Scripts, styles, images and API calls from this origin only; no inline code, no framing. */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'"
].join("; ")

const securityHeaders = {
  "content-security-policy": contentSecurityPolicy,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()"
}

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8"
}

interface Asset {
  readonly body: Uint8Array
  readonly contentType: string
  readonly etag: string
  /** Hashed file names never change content: cache them for a year. */
  readonly immutable: boolean
}

const loadAssets = async (dir: string): Promise<Map<string, Asset>> => {
  const assets = new Map<string, Asset>()
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath, entry.name)
    const relative = path.relative(dir, file).split(path.sep).join("/")
    const body = new Uint8Array(await readFile(file))
    assets.set(`${consoleBasePath}/${relative}`, {
      body,
      contentType: contentTypes[path.extname(file)] ?? "application/octet-stream",
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`,
      immutable: relative.startsWith("assets/")
    })
  }
  return assets
}

const pathOf = (url: string) => new URL(url, "http://localhost").pathname

const notFound = (path: string) => HttpServerResponse.jsonUnsafe(errorBody(404, `No console file at ${path}`, path), { status: 404 })

const serveAsset = (request: HttpServerRequest.HttpServerRequest, asset: Asset) => {
  const headers = {
    ...securityHeaders,
    etag: asset.etag,
    "cache-control": asset.immutable ? "public, max-age=31536000, immutable" : "no-cache"
  }
  return request.headers["if-none-match"] === asset.etag
    ? HttpServerResponse.empty({ status: 304, headers })
    : HttpServerResponse.uint8Array(asset.body, { headers, contentType: asset.contentType })
}

const loopbackAddress = (address: string) =>
  /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || address === "::1" || /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i.test(address)

/** The Host a browser on this machine sends: a loopback name or address (a DNS-rebound name is not). */
const loopbackHost = (host: string | undefined) =>
  host !== undefined && /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/i.test(host)

const forwardedHeaders = ["forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip"]

/**
 * Why a dev token is refused for this request, or undefined when it may have one: dev mode, a
 * direct connection from loopback (no proxy in between), to a loopback host, from this origin.
 */
export const devTokenRefusal = (
  request: HttpServerRequest.HttpServerRequest,
  devMode: boolean
): string | undefined => {
  if (!devMode) return "Dev tokens exist only in dev auth mode (INGEST_AUTH_JWKS_URL unset)"
  const peer = Option.getOrUndefined(request.peerAddress)
  if (peer === undefined || !loopbackAddress(peer)) return "Dev tokens are handed out only to requests from this machine"
  if (forwardedHeaders.some((name) => request.headers[name] !== undefined)) {
    return "Dev tokens are not handed out through a proxy"
  }
  if (!loopbackHost(request.headers["host"])) return "Dev tokens are handed out only on a loopback address (localhost, 127.0.0.1, [::1])"
  const site = request.headers["sec-fetch-site"]
  if (site !== undefined && site !== "same-origin" && site !== "none") return "Dev tokens are handed out only to the console's own page"
  return undefined
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const jsonError = (status: number, message: string, path: string) =>
  HttpServerResponse.jsonUnsafe(errorBody(status, message, path), { status, headers: { "cache-control": "no-store" } })

/** The console's routes; needs ConsoleDevTokens. */
export const ConsoleRoutes = Layer.unwrap(
  Effect.gen(function*() {
    const { mint } = yield* ConsoleDevTokens
    const assets = yield* Effect.promise(() => loadAssets(consoleDistDir))
    const index = assets.get(`${consoleBasePath}/index.html`)
    if (index === undefined) {
      yield* Effect.logWarning(`The console is not built (no ${consoleDistDir}/index.html): run npm run build:console`)
    }
    const devTokenPath = `${consoleBasePath}/dev-token`

    const page = (request: HttpServerRequest.HttpServerRequest) => {
      const urlPath = pathOf(request.url)
      const asset = assets.get(urlPath)
      if (asset !== undefined) return serveAsset(request, asset)
      // a file name (with an extension) that is not in the build: 404, not the page
      if (urlPath.startsWith(`${consoleBasePath}/assets/`) || /\.[a-z0-9]+$/i.test(urlPath)) return notFound(urlPath)
      if (index === undefined) return jsonError(503, "The console is not built: run npm run build:console", urlPath)
      return serveAsset(request, index)
    }

    const devTokenAvailable = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const refusal = devTokenRefusal(request, Option.isSome(mint))
      return refusal === undefined
        ? HttpServerResponse.jsonUnsafe({ available: true }, { headers: { "cache-control": "no-store" } })
        : jsonError(404, refusal, devTokenPath)
    })

    const devToken = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const refusal = devTokenRefusal(request, Option.isSome(mint))
      if (refusal !== undefined || Option.isNone(mint)) return jsonError(403, refusal ?? "Not in dev auth mode", devTokenPath)
      if (!(request.headers["content-type"] ?? "").startsWith("application/json")) {
        return jsonError(415, "Send {\"tenantId\": \"<uuid>\"} as application/json", devTokenPath)
      }
      const text = yield* request.text.pipe(Effect.orElseSucceed(() => ""))
      let tenantId: unknown
      try {
        tenantId = text.length <= 1024 ? (JSON.parse(text) as { tenantId?: unknown }).tenantId : undefined
      } catch {
        tenantId = undefined
      }
      if (typeof tenantId !== "string" || !uuidPattern.test(tenantId)) {
        return jsonError(400, "tenantId must be a tenant UUID", devTokenPath)
      }
      const token = yield* Effect.promise(() => mint.value(tenantId.toLowerCase()))
      yield* Effect.logInfo(`Dev token minted for tenant ${tenantId.toLowerCase()} (console, loopback)`)
      return HttpServerResponse.jsonUnsafe({ token, tenantId: tenantId.toLowerCase() }, { headers: { "cache-control": "no-store" } })
    })

    return Layer.mergeAll(
      HttpRouter.add("GET", devTokenPath, devTokenAvailable),
      HttpRouter.add("POST", devTokenPath, devToken),
      // also answers /console and /console/
      HttpRouter.add("GET", `${consoleBasePath}/*`, (request) => Effect.succeed(page(request)))
    )
  })
)
