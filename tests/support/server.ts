import { ConfigProvider, Effect, Exit, Fiber, Layer } from "effect"
import * as jose from "jose"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { AppConfig } from "@ingest/adapters/config"
import { makeServerLayer } from "@ingest/http/main"

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

export interface TestKeys {
  readonly jwksPath: string
  readonly sign: (claims: Record<string, unknown>, options?: { expiresIn?: string; issuer?: string; audience?: string }) => Promise<string>
  readonly signWithOtherKey: (claims: Record<string, unknown>) => Promise<string>
}

/** A key pair whose public half is served to the service as a JWKS file. */
export const makeTestKeys = async (dir: string): Promise<TestKeys> => {
  const { privateKey, publicKey } = await jose.generateKeyPair("RS256", { extractable: true })
  const other = await jose.generateKeyPair("RS256", { extractable: true })
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: "test-key", alg: "RS256", use: "sig" }
  const jwksPath = path.join(dir, "jwks.json")
  writeFileSync(jwksPath, JSON.stringify({ keys: [jwk] }))
  const signWith = (key: jose.CryptoKey, kid: string) =>
    async (claims: Record<string, unknown>, options: { expiresIn?: string; issuer?: string; audience?: string } = {}) => {
      let jwt = new jose.SignJWT(claims).setProtectedHeader({ alg: "RS256", kid }).setSubject("test-user").setIssuedAt()
        .setExpirationTime(options.expiresIn ?? "10m")
      if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer)
      if (options.audience !== undefined) jwt = jwt.setAudience(options.audience)
      return jwt.sign(key)
    }
  return {
    jwksPath,
    sign: signWith(privateKey, "test-key"),
    signWithOtherKey: (claims) => signWith(other.privateKey, "test-key")(claims)
  }
}

export interface RunningService {
  readonly baseUrl: string
  readonly dataDir: string
  readonly keys: TestKeys
  stop(): Promise<void>
}

/**
 * Starts the real service (HTTP server, background workers) on a random loopback port with a
 * temp data dir and the given environment (e.g. DATABASE_URL). Tokens are checked against
 * `keys` (a JWKS file), as in production, unless `devAuth` runs it in dev auth mode.
 */
export const startService = async (
  env: Record<string, string> = {},
  options: { readonly devAuth?: boolean } = {}
): Promise<RunningService> => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "ingest-test-"))
  const keys = await makeTestKeys(dataDir)
  const port = await freePort()
  const provider = ConfigProvider.fromUnknown({
    INGEST_PORT: String(port),
    INGEST_HOST: "127.0.0.1",
    INGEST_DATA_DIR: dataDir,
    // dev auth mode: no JWKS, tokens signed by the key pair under the data dir
    ...(options.devAuth === true ? {} : { INGEST_AUTH_JWKS_URL: keys.jwksPath, INGEST_AUTH_ISSUER: "https://idp.test" }),
    INGEST_LOG_LEVEL: process.env.INGEST_LOG_LEVEL ?? "Warn",
    ...env
  })
  const config = await Effect.runPromise(
    Effect.gen(function*() {
      return yield* AppConfig
    }).pipe(Effect.provide(ConfigProvider.layer(provider)))
  )
  const fiber = Effect.runFork(
    Layer.launch(makeServerLayer(config)).pipe(Effect.provide(ConfigProvider.layer(provider)))
  )
  const baseUrl = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) {
      throw new Error(`The service stopped while starting: ${Exit.isFailure(exit) ? String(exit.cause) : "exited"}`)
    }
    try {
      // A request that arrives while the server is still binding can be dropped: bound each try.
      const res = await fetch(`${baseUrl}/health/ready`, { signal: AbortSignal.timeout(2000) })
      if (res.status === 200) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("The service did not become ready within 60 s")
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    baseUrl,
    dataDir,
    keys,
    stop: async () => {
      await Effect.runPromise(Fiber.interrupt(fiber))
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

/** A small fetch wrapper: JSON in, status + JSON out. */
export const api = (service: RunningService, token: string | undefined, tenant: string | undefined) =>
  async (method: string, url: string, body?: unknown, extraHeaders: Record<string, string> = {}) => {
    const headers: Record<string, string> = { ...extraHeaders }
    if (token !== undefined) headers["authorization"] = `Bearer ${token}`
    if (tenant !== undefined) headers["x-tenant-id"] = tenant
    if (body !== undefined) headers["content-type"] = "application/json"
    const res = await fetch(`${service.baseUrl}${url}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {})
    })
    const text = await res.text()
    let json: any = undefined
    try {
      json = text === "" ? undefined : JSON.parse(text)
    } catch {
      json = text
    }
    return { status: res.status, body: json, headers: res.headers }
  }

export const ISSUER = "https://idp.test"
export const MANAGE = "data:ingestion:manage"
export const READ = "data:ingestion:read"
