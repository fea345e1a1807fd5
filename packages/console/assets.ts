// Where the built console lives: the static route in @ingest/http serves these files.
import { fileURLToPath } from "node:url"

/** The committed Vite build of the console (index.html and hashed assets). */
export const consoleDistDir = fileURLToPath(new URL("./dist", import.meta.url))
