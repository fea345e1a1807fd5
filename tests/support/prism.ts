import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"

/** The repository root (this file lives in tests/support). */
export const repoRoot = path.resolve(import.meta.dirname, "../..")
/** Read-only reference material beside the repository; absent on machines without it. */
export const sharedDir = path.resolve(repoRoot, "../shared")
export const airbyteContractsDir = path.join(sharedDir, "contracts", "airbyte")
export const hasAirbyteContracts = fs.existsSync(path.join(airbyteContractsDir, "public-api.patched.yaml"))

const prismCli = path.join(repoRoot, "node_modules", "@stoplight", "prism-cli", "dist", "index.js")

export interface PrismServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`; spec paths go right after it. */
  readonly url: string
  readonly stop: () => Promise<void>
}

export interface PrismOptions {
  /** `-d`: answers generated from the response schemas instead of the (partly wrong) examples. */
  readonly dynamic?: boolean
  readonly startTimeoutMs?: number
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

/**
 * Starts `prism mock` on a free loopback port for one OpenAPI file and resolves once Prism says
 * it is listening. Prism validates every request against the file and answers an invalid one
 * with 400/422 and an `sl-violations` header.
 */
export const startPrism = (specFile: string, options: PrismOptions = {}): Promise<PrismServer> =>
  runPrism(["mock", ...(options.dynamic === false ? [] : ["-d"])], [specFile], options)

/**
 * Starts `prism proxy --errors` in front of `upstream`: every request and response is validated
 * against the OpenAPI file, and a violation in either direction answers an error (request: 422,
 * response: 500) with an `sl-violations` header instead of passing through. Prism re-serialises
 * JSON bodies, so integers beyond 2^53 arrive rounded: check exact ids against the upstream.
 */
export const startPrismProxy = (specFile: string, upstream: string, options: PrismOptions = {}): Promise<PrismServer> =>
  runPrism(["proxy", "--errors"], [specFile, upstream], options)

const runPrism = async (
  command: ReadonlyArray<string>,
  positional: ReadonlyArray<string>,
  options: PrismOptions
): Promise<PrismServer> => {
  const port = await freePort()
  const args = [prismCli, ...command, "-h", "127.0.0.1", "-p", String(port), ...positional]
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`Prism did not start within ${options.startTimeoutMs ?? 90_000} ms:\n${output.slice(-2000)}`))
    }, options.startTimeoutMs ?? 90_000)
    const onData = (chunk: Buffer) => {
      // Keep only the tail: Prism prints one line per route at start.
      output = (output + chunk.toString("utf8")).slice(-20_000)
      if (output.includes("Prism is listening")) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`Prism exited with code ${code} before listening:\n${output.slice(-2000)}`))
    })
  })

  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
      await exited
    }
  }
}
