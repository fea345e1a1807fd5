import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { eventually } from "./lake.ts"

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
