import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { eventually } from "./lake.ts"
import { freePort, ISSUER, MANAGE, makeTestKeys } from "./server.ts"

// The service as its own process (`packages/http/src/main.ts`), for tests that kill it.

const repoRoot = path.resolve(import.meta.dirname, "../..")

/** Starts the service with `env` on top of this process's environment; resolves once it is ready on `port`. */
export const startServiceProcess = async (env: Readonly<Record<string, string>>, port: number): Promise<ChildProcess> => {
  const proc = spawn(path.join(repoRoot, "node_modules/.bin/node"), ["--import", "tsx", "packages/http/src/main.ts"], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"]
  })
  await eventually(
    () => fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status, () => 0),
    (status) => status === 200,
    90_000
  )
  return proc
}

/**
 * What a service process needs to start: a temp dir (data dir under it), a free port, its own
 * JWKS, and the environment naming them plus `databaseUrl` and `env`; with a manage token for `tenant`.
 */
export const prepareServiceProcess = async (options: {
  readonly prefix: string
  readonly databaseUrl: string
  readonly tenant: string
  readonly env: Readonly<Record<string, string>>
}) => {
  const dir = mkdtempSync(path.join(tmpdir(), options.prefix))
  const keys = await makeTestKeys(dir)
  const port = await freePort()
  const env: Record<string, string> = {
    DATABASE_URL: options.databaseUrl,
    INGEST_DATA_DIR: path.join(dir, "data"),
    INGEST_PORT: String(port),
    INGEST_HOST: "127.0.0.1",
    INGEST_AUTH_JWKS_URL: keys.jwksPath,
    INGEST_AUTH_ISSUER: ISSUER,
    ...options.env
  }
  const token = await keys.sign({ tenants: [options.tenant], permissions: [MANAGE] }, { issuer: ISSUER, expiresIn: "1h" })
  return { dir, port, env, token }
}
