import { PGlite } from "@electric-sql/pglite"
import { embeddedOptions } from "./embedded-options.ts"

// Child process that creates a new embedded database directory (PGlite's initdb) and exits: the
// memory initdb takes (its own WebAssembly instance, a few hundred MiB) goes with the process
// instead of staying with the service for as long as it runs. Run by worker-bootstrap.mjs with
// the directory as its last argument; exit code 0 when it is created. It stops when its stdin
// closes (the service is gone) as soon as initdb lets it. See client.ts startEmbedded.

const pgDir = process.argv.at(-1)
if (pgDir === undefined || pgDir === "") throw new Error("usage: embedded-initdb.ts PG_DIR")
process.stdin.on("end", () => process.exit(1)).resume()
const db = await PGlite.create(pgDir, embeddedOptions)
await db.close()
process.exit(0)
