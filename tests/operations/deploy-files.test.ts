import { assert, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readdirSync, readFileSync, statSync } from "node:fs"
import * as path from "node:path"
import { parse } from "yaml"
import { checkConfigOf } from "@ingest/adapters/config"

// The container files cannot run here (no container engine): what can be checked is. The
// compose file parses; every variable it gives the service is one the service reads, and the
// service's own startup check accepts them; the replicas share state; the Dockerfile keeps the
// npm scripts' memory settings, runs node as PID 1 as a non-root user and checks liveness.

const root = path.resolve(import.meta.dirname, "../..")
const read = (file: string) => readFileSync(path.join(root, file), "utf8")

const sourceFiles = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name)
    return statSync(full).isDirectory() ? sourceFiles(full) : name.endsWith(".ts") ? [full] : []
  })

/** Every variable name the service's code names (as a literal), or reads by a prefix. */
const serviceSources = ["domain", "adapters", "http"].flatMap((p) => sourceFiles(path.join(root, "packages", p, "src")))
  .map((file) => readFileSync(file, "utf8")).join("\n")
const readByService = (name: string) =>
  new RegExp(`["'\`]${name}["'\`]`).test(serviceSources) || (name.startsWith("INGEST_CATALOG_HEADER_") && serviceSources.includes("INGEST_CATALOG_HEADER_"))

/** Compose's `${NAME:?message}` / `${NAME:-default}` with a value a deployer would give. */
const interpolate = (value: string, given: Record<string, string>) =>
  value.replace(/\$\{([A-Z0-9_]+)(?::[?-][^}]*)?\}/g, (_, name: string) => given[name] ?? "")

describe("compose.yaml", () => {
  const compose = parse(read("compose.yaml"), { merge: true }) as {
    services: Record<string, { build?: string; environment?: Record<string, string>; ports?: Array<string> }>
  }
  const replicas = Object.entries(compose.services).filter(([, service]) => service.build === ".")

  it("runs two replicas of the service beside PostgreSQL, MinIO and a REST catalog", () => {
    expect(replicas.map(([name]) => name)).toEqual(["ingest-1", "ingest-2"])
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(["postgres", "minio", "lakekeeper"]))
    const [first, second] = replicas.map(([, service]) => service.environment!)
    expect(second).toEqual(first)
  })

  it("sets only variables the service reads, and the service's startup check accepts them", () =>
    Effect.gen(function*() {
      const env = replicas[0]![1].environment!
      const unread = Object.keys(env).filter((name) => !readByService(name))
      assert.deepStrictEqual(unread, [])
      const given = { INGEST_SECRET_KEY: Buffer.alloc(32, 7).toString("base64"), INGEST_AUTH_JWKS_URL: "https://idp.example/jwks.json" }
      const resolved = Object.fromEntries(Object.entries(env).map(([name, value]) => [name, interpolate(String(value), given)]))
      const config = yield* checkConfigOf(resolved)
      assert.strictEqual(config.catalog, "rest:http://lakekeeper:8181/catalog")
      assert.strictEqual(config.logFormat, "json")
      assert.strictEqual(config.metricsPort, 9464)
    }))

  it("refuses to start without the shared secret key and the identity provider", () => {
    const text = read("compose.yaml")
    expect(text).toMatch(/INGEST_SECRET_KEY: \$\{INGEST_SECRET_KEY:\?/)
    expect(text).toMatch(/INGEST_AUTH_JWKS_URL: \$\{INGEST_AUTH_JWKS_URL:\?/)
  })
})

describe("Dockerfile", () => {
  const dockerfile = read("Dockerfile")
  const scripts = JSON.parse(read("package.json")).scripts as Record<string, string>

  it("is multi-stage on Node 22 with production dependencies only", () => {
    const stages = dockerfile.match(/^FROM .*$/gm) ?? []
    expect(stages.length).toBeGreaterThanOrEqual(2)
    for (const stage of stages) expect(stage).toMatch(/^FROM node:22[-.]/)
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m)
  })

  it("runs as a non-root user with node as PID 1 and the npm scripts' memory settings", () => {
    expect(dockerfile).toMatch(/^USER node$/m)
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as Array<string>
    expect(entrypoint[0]).toBe("node")
    expect(entrypoint.at(-1)).toBe("packages/http/src/main.ts")
    // `npm start`: MALLOC_* variables, then node with its flags.
    const start = scripts["start"]!
    for (const [, name, value] of start.matchAll(/(MALLOC_[A-Z_]+)=(\d+)/g)) {
      expect(dockerfile).toMatch(new RegExp(`${name}=${value}\\b`))
    }
    for (const flag of start.match(/--[a-z-]+=\d+/g) ?? []) expect(entrypoint).toContain(flag)
  })

  it("checks liveness on /health/live", () => {
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/health\/live/m)
  })
})
