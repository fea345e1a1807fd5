import { spawn } from "node:child_process"
import * as path from "node:path"

// The CLI and the service as users run them: the launcher, or the service's main, in a child
// process on the pinned Node, with stdout and stderr as pipes (no TTY).

export const repoRoot = path.resolve(import.meta.dirname, "../../..")
export const node = path.join(repoRoot, "node_modules/.bin/node")
const launcher = path.join(repoRoot, "packages/cli/bin/ingest.mjs")

export interface Spawned {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `ingest <args>` in `cwd` with `env` (plus PATH) as its whole environment. */
export const spawnIngest = (args: ReadonlyArray<string>, options: { readonly cwd: string; readonly env: Record<string, string> }) =>
  new Promise<Spawned>((resolve, reject) => {
    const child = spawn(node, [launcher, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env["PATH"] ?? "", ...options.env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })
