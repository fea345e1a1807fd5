import { PGlite } from "@electric-sql/pglite"
import { parentPort, workerData } from "node:worker_threads"
import { embeddedOptions } from "./embedded-options.ts"

// Worker thread that creates a new embedded database directory (PGlite's initdb) and exits: the
// memory initdb takes (its own WebAssembly instance, about 200 MiB) goes with the thread instead
// of staying with the service for as long as it runs. See client.ts startEmbedded.

const { pgDir } = workerData as { readonly pgDir: string }
const db = await PGlite.create(pgDir, embeddedOptions)
await db.close()
parentPort?.postMessage("created")
