import { Sha256 } from "@smithy/core/checksum"
import { SignatureV4 } from "@smithy/signature-v4"
import { Effect, Redacted } from "effect"
import { createServer } from "node:http"
import type { IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { checkConfigOf } from "../../packages/adapters/src/config.ts"
import { makeRestCatalog } from "../../packages/adapters/src/iceberg/rest-catalog/index.ts"
import {
  headersFromEnv,
  placeTable,
  refreshAt,
  restCatalogSettings
} from "../../packages/adapters/src/iceberg/rest-catalog/index.ts"
import type { RestCatalogEnv } from "../../packages/adapters/src/iceberg/rest-catalog/index.ts"

// The REST catalog client's configuration, placement templates, token expiry rule, extra headers
// and SigV4 signatures (checked by recomputing them from the request as the server received it).

const env = (overrides: Partial<RestCatalogEnv> = {}): RestCatalogEnv => ({
  warehouse: undefined,
  namespace: "{tenant_ns}.{schema}",
  token: undefined,
  credential: undefined,
  oauth2ServerUri: undefined,
  scope: "catalog",
  sigv4: false,
  sigv4Region: undefined,
  sigv4SigningName: "glue",
  accessDelegation: undefined,
  timeoutSeconds: 30,
  ...overrides
})

const tenantNs = "t_6b1f0c2a3d4e4f5a8b6c7d8e9f0a1b2c"
const tenantId = "6b1f0c2a-3d4e-4f5a-8b6c-7d8e9f0a1b2c"

describe("placement templates", () => {
  it("default: the tenant's namespace with the schema below it", () => {
    expect(placeTable({ warehouse: undefined, namespace: "{tenant_ns}.{schema}" }, { namespace: [tenantNs, "sales"], name: "orders" }))
      .toEqual({ warehouse: undefined, namespace: [tenantNs, "sales"], name: "orders" })
  })

  it("one warehouse per tenant; one-level namespaces for Glue and S3 Tables", () => {
    expect(placeTable({ warehouse: "lake_{tenant}", namespace: "{schema}" }, { namespace: [tenantNs, "sales"], name: "orders" }))
      .toEqual({ warehouse: `lake_${tenantId}`, namespace: ["sales"], name: "orders" })
    expect(placeTable({ warehouse: "123456789012", namespace: "{tenant_ns}_{schema}" }, { namespace: [tenantNs, "sales"], name: "orders" }))
      .toEqual({ warehouse: "123456789012", namespace: [`${tenantNs}_sales`], name: "orders" })
  })

  it("a table that does not fit is refused with its name", () => {
    expect(placeTable({ warehouse: "lake_{tenant}", namespace: "{schema}" }, { namespace: ["itest", "x"], name: "t" }))
      .toMatch(/itest\.x\.t does not fit/)
  })
})

describe("settings", () => {
  it("reads the OAuth2 credential, defaults the token endpoint to the catalog's", () => {
    const settings = restCatalogSettings("rest:https://polaris.example.com/api/catalog/", env({ credential: Redacted.make("id:se:cret") }), {}, undefined)
    expect(settings).toMatchObject({
      uri: "https://polaris.example.com/api/catalog",
      auth: { kind: "oauth2", clientId: "id", serverUri: "https://polaris.example.com/api/catalog/v1/oauth/tokens", scope: "catalog" }
    })
    if (typeof settings !== "string" && settings.auth.kind === "oauth2") expect(Redacted.value(settings.auth.clientSecret)).toBe("se:cret")
  })

  it("refuses what cannot work, naming the variable and never the secret", () => {
    const twoWays = restCatalogSettings("rest:https://c.example.com", env({ token: Redacted.make("tok-secret"), sigv4: true, sigv4Region: "eu-west-1" }), {}, undefined)
    expect(twoWays).toMatch(/exclude each other/)
    expect(twoWays).not.toContain("tok-secret")
    expect(restCatalogSettings("rest:https://c.example.com", env({ credential: Redacted.make("no-colon-secret") }), {}, undefined))
      .toBe("INGEST_CATALOG_CREDENTIAL must be client_id:client_secret")
    expect(restCatalogSettings("rest:https://c.example.com", env({ sigv4: true }), {}, undefined)).toMatch(/INGEST_CATALOG_SIGV4_REGION/)
    expect(restCatalogSettings("rest:https://c.example.com", env({ namespace: "{tenant}.{table}" }), {}, undefined)).toMatch(/unknown placeholder \{table\}/)
    expect(restCatalogSettings("rest:https://c.example.com", env({ accessDelegation: "remote-signing" }), {}, undefined)).toMatch(/vended-credentials/)
  })

  it("the startup check lists a REST catalog setting that cannot work, without its secret", async () => {
    const problems = await Effect.runPromise(Effect.flip(checkConfigOf({
      INGEST_CATALOG: "rest:https://catalog.example.com/api/catalog",
      INGEST_CATALOG_CREDENTIAL: "only-a-secret-value",
      INGEST_CATALOG_NAMESPACE: "{tenant}.{nope}"
    })))
    expect(problems.problems).toEqual([
      "INGEST_CATALOG_NAMESPACE: unknown placeholder {nope} (use {tenant}, {tenant_ns}, {schema})",
      "INGEST_CATALOG_CREDENTIAL must be client_id:client_secret"
    ])
    const secretOnly = await Effect.runPromise(Effect.flip(checkConfigOf({
      INGEST_CATALOG: "rest:https://catalog.example.com/api/catalog",
      INGEST_CATALOG_CREDENTIAL: "only-a-secret-value"
    })))
    expect(secretOnly.problems).toEqual(["INGEST_CATALOG_CREDENTIAL must be client_id:client_secret"])
    expect(secretOnly.message).not.toContain("only-a-secret-value")
  })

  it("INGEST_CATALOG_HEADER_<NAME> becomes a header", () => {
    expect(headersFromEnv({ INGEST_CATALOG_HEADER_X_IRIS_TEAM: "data", INGEST_CATALOG_TOKEN: "x", INGEST_CATALOG_HEADER_EMPTY: "" }))
      .toEqual({ "x-iris-team": "data" })
  })

  it("renews a token at the earlier of exp and expires_in, a tenth of its life early", () => {
    const now = 1_700_000_000_000
    const jwt = (exp: number) => `h.${Buffer.from(JSON.stringify({ exp })).toString("base64url")}.s`
    expect(refreshAt(now, jwt(now / 1000 + 100), 3600)).toBe(now + 100_000 - 10_000)
    expect(refreshAt(now, jwt(now / 1000 + 7200), 60)).toBe(now + 60_000 - 6_000)
    expect(refreshAt(now, "opaque", 7200)).toBe(now + 7_200_000 - 60_000)
    expect(refreshAt(now, "opaque", undefined)).toBeUndefined()
  })
})

describe("SigV4 and extra headers on the wire", () => {
  const received: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = []
  let url: string
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() })
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ defaults: {}, overrides: {} }))
    })
  })
  const saved = { id: process.env["AWS_ACCESS_KEY_ID"], secret: process.env["AWS_SECRET_ACCESS_KEY"], token: process.env["AWS_SESSION_TOKEN"] }

  beforeAll(async () => {
    process.env["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
    process.env["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    delete process.env["AWS_SESSION_TOKEN"]
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    for (const [key, value] of [["AWS_ACCESS_KEY_ID", saved.id], ["AWS_SECRET_ACCESS_KEY", saved.secret], ["AWS_SESSION_TOKEN", saved.token]] as const) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it("signs each request as received, with the extra headers signed too", async () => {
    const settings = restCatalogSettings(
      `rest:${url}/iceberg`,
      env({ sigv4: true, sigv4Region: "eu-west-1", warehouse: "123456789012" }),
      { "x-iris-team": "data" },
      undefined
    )
    if (typeof settings === "string") throw new Error(settings)
    const catalog = makeRestCatalog(settings, { tempDir: "/tmp" })
    await Effect.runPromise(catalog.ready)
    const request = received.at(-1)!
    expect(request.url).toBe("/iceberg/v1/config?warehouse=123456789012")
    expect(request.headers["x-iris-team"]).toBe("data")
    const authorization = String(request.headers["authorization"])
    const match = /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/(\d{8})\/eu-west-1\/glue\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(authorization)
    expect(match).not.toBeNull()
    const signed = match![2]!.split(";")
    expect(signed).toContain("x-iris-team")
    expect(signed).toContain("host")
    // Recompute the signature from the request as it arrived.
    const signer = new SignatureV4({
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
      region: "eu-west-1",
      service: "glue",
      sha256: Sha256
    })
    const amzDate = String(request.headers["x-amz-date"])
    const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`)
    const parsed = new URL(request.url, url)
    const headers = Object.fromEntries(signed.map((name) => [name, String(request.headers[name])]))
    const again = await signer.sign({
      method: request.method,
      protocol: "http:",
      hostname: parsed.hostname,
      port: Number(new URL(url).port),
      path: parsed.pathname,
      query: Object.fromEntries(parsed.searchParams),
      headers
    }, { signingDate })
    expect(again.headers["authorization"]).toBe(authorization)
  })
})

describe("readiness", () => {
  const settingsFor = (uri: string) => {
    const settings = restCatalogSettings(`rest:${uri}`, env({ token: Redacted.make("readiness-token") }), {}, undefined)
    if (typeof settings === "string") throw new Error(settings)
    return settings
  }

  it("fails, naming why without internals (path, socket codes), when the catalog does not answer in time or refuses the connection", async () => {
    const silent = createServer(() => {
      // never answers
    })
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
    const port = (silent.address() as AddressInfo).port
    try {
      const timedOut = await Effect.runPromise(Effect.flip(makeRestCatalog(settingsFor(`http://127.0.0.1:${port}`), { tempDir: "/tmp" }).ready))
      expect(timedOut).toBe("no answer in time")
    } finally {
      silent.closeAllConnections()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
    const refused = await Effect.runPromise(Effect.flip(makeRestCatalog(settingsFor(`http://127.0.0.1:${port}`), { tempDir: "/tmp" }).ready))
    expect(refused).toBe("unreachable")
    expect(refused).not.toContain("readiness-token")
  })
})
