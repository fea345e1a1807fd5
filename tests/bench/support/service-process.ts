import { type ChildProcess, spawn } from "node:child_process"
import { appendFileSync, readdirSync, readFileSync } from "node:fs"
import * as FsPromises from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { freePort, ISSUER, makeTestKeys, type TestKeys } from "../../support/server.ts"

/**
 * The real service as a child process, started the way `npm start` starts it (the environment
 * variables and Node flags of package.json's `start` script, then `packages/http/src/main.ts`),
 * on a loopback port, with a fresh data dir and tokens checked against a JWKS file. Also: the
 * resident memory of a whole process tree, read from /proc.
 */

const root = new URL("../../../", import.meta.url).pathname

/** `VAR=value … node FLAGS… entry.ts` of the `start` script, split into environment, Node flags and entry. */
export const startCommand = () => {
  const pkg = JSON.parse(readFileSync(Path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }
  const words = pkg.scripts["start"]!.split(/\s+/).filter((w) => w !== "")
  const env: Record<string, string> = {}
  while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) {
    const [name, ...value] = words.shift()!.split("=")
    env[name!] = value.join("=")
  }
  if (words.shift() !== "node") throw new Error(`the start script does not run node: ${pkg.scripts["start"]}`)
  const entry = words.pop()!
  return { env, nodeFlags: words, entry: Path.join(root, entry) }
}

export interface ServiceProcess {
  readonly baseUrl: string
  readonly pid: number
  readonly dataDir: string
  readonly keys: TestKeys
  /** A token for `tenant` with the manage permission. */
  token(tenant: string): Promise<string>
  stop(): Promise<void>
}

const waitReady = async (baseUrl: string, child: ChildProcess, output: () => string) => {
  const deadline = Date.now() + 120_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited (${child.exitCode}) while starting:\n${output()}`)
    try {
      const res = await fetch(`${baseUrl}/health/ready`, { signal: AbortSignal.timeout(2000) })
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the service was not ready within 120 s:\n${output()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Starts the service; `env` adds to (or overrides) the defaults, e.g. DATABASE_URL. */
export const startServiceProcess = async (env: Record<string, string> = {}): Promise<ServiceProcess> => {
  const dataDir = await FsPromises.mkdtemp(Path.join(Os.tmpdir(), "ingest-bench-service-"))
  const keys = await makeTestKeys(dataDir)
  const port = await freePort()
  const { env: scriptEnv, nodeFlags, entry } = startCommand()
  let output = ""
  // For looking inside: BENCH_SERVICE_NODE_FLAGS adds Node flags (`--cpu-prof --cpu-prof-dir=DIR`
  // profiles every thread, `--trace-gc` logs collections), BENCH_SERVICE_LOG=FILE keeps its output.
  const extraFlags = (process.env["BENCH_SERVICE_NODE_FLAGS"] ?? "").split(" ").filter((f) => f !== "")
  const log = process.env["BENCH_SERVICE_LOG"]
  const child = spawn(process.execPath, [...nodeFlags, ...extraFlags, entry], {
    cwd: root,
    env: {
      ...process.env,
      ...scriptEnv,
      INGEST_PORT: String(port),
      INGEST_HOST: "127.0.0.1",
      INGEST_DATA_DIR: Path.join(dataDir, "data"),
      INGEST_AUTH_JWKS_URL: keys.jwksPath,
      INGEST_AUTH_ISSUER: ISSUER,
      INGEST_LOG_LEVEL: "Warn",
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000)
    if (log !== undefined) appendFileSync(log, chunk)
  }
  child.stdout!.on("data", keep)
  child.stderr!.on("data", keep)
  const baseUrl = `http://127.0.0.1:${port}`
  try {
    await waitReady(baseUrl, child, () => output)
  } catch (error) {
    child.kill("SIGKILL")
    await FsPromises.rm(dataDir, { recursive: true, force: true })
    throw error
  }
  return {
    baseUrl,
    pid: child.pid!,
    dataDir,
    keys,
    token: (tenant) => keys.sign({ tenant_id: tenant, permissions: ["data:ingestion:manage"] }, { issuer: ISSUER, expiresIn: "2h" }),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve))
        child.kill("SIGTERM")
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000)
        await exited
        clearTimeout(timer)
      }
      await FsPromises.rm(dataDir, { recursive: true, force: true })
    }
  }
}

const pageBytes = 4096

/** Every process of the tree rooted at `pid` (children of all its threads, recursively). */
const treeOf = (pid: number): Array<number> => {
  const found = [pid]
  for (let i = 0; i < found.length; i++) {
    let tasks: Array<string>
    try {
      tasks = readdirSync(`/proc/${found[i]}/task`)
    } catch {
      continue
    }
    for (const task of tasks) {
      try {
        for (const child of readFileSync(`/proc/${found[i]}/task/${task}/children`, "utf8").split(" ")) {
          if (child.trim() !== "") found.push(Number(child))
        }
      } catch {
        // the task ended
      }
    }
  }
  return found
}

/** Resident memory of the whole tree rooted at `pid`, in bytes (0 once it is gone). */
export const treeRss = (pid: number): number => {
  let total = 0
  for (const p of treeOf(pid)) {
    try {
      total += Number(readFileSync(`/proc/${p}/statm`, "utf8").split(" ")[1]) * pageBytes
    } catch {
      // the process ended
    }
  }
  return total
}

/** Samples the tree's RSS every `intervalMs` until stopped; `peak()` is the highest seen. */
export const sampleTreeRss = (pid: number, intervalMs = 50) => {
  let peak = treeRss(pid)
  const timer = setInterval(() => {
    peak = Math.max(peak, treeRss(pid))
  }, intervalMs)
  return {
    peak: () => peak,
    /** Stops sampling; returns the peak, with one last sample. */
    stop: () => {
      clearInterval(timer)
      peak = Math.max(peak, treeRss(pid))
      return peak
    }
  }
}

/** CPU time (user + system, every thread) the process `pid` has used so far, in ms (Linux clock ticks are 10 ms). */
export const processCpuMs = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** `/proc/loadavg` as printed by the benchmarks at start and end (the machine may be shared). */
export const loadAverage = () => {
  try {
    return readFileSync("/proc/loadavg", "utf8").trim()
  } catch {
    return Os.loadavg().map((n) => n.toFixed(2)).join(" ")
  }
}
