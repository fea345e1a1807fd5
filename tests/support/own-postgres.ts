import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir, userInfo } from "node:os"
import * as path from "node:path"

// A PostgreSQL server of a test's own (initdb + pg_ctl on a free port in a temp dir), for tests
// that stop and start the database under a running service. As root it runs as `postgres`.

const binDir = (() => {
  const versions = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a))
  return path.join("/usr/lib/postgresql", versions[0]!, "bin")
})()

const asRoot = userInfo().uid === 0

const run = (command: string, args: ReadonlyArray<string>) =>
  execFileSync(asRoot ? "runuser" : path.join(binDir, command), asRoot ? ["-u", "postgres", "--", path.join(binDir, command), ...args] : [...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"]
  })

export interface OwnPostgres {
  readonly url: string
  start(): void
  stop(): void
  remove(): void
}

export const startOwnPostgres = (port: number): OwnPostgres => {
  const dir = mkdtempSync(path.join(tmpdir(), "ingest-own-pg-"))
  if (asRoot) execFileSync("chown", ["postgres:postgres", dir])
  const data = path.join(dir, "data")
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
  const log = path.join(dir, "server.log")
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`
  const start = () => {
    run("pg_ctl", ["-D", data, "-l", log, "-o", options, "-w", "start"])
  }
  start()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop: () => {
      run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
    },
    remove: () => {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

