// Entry of the Parquet encoder threads: plain Node cannot load the TypeScript sources (and the
// workspace packages they import) by itself, so tsx's loader is registered first in this thread.
import { workerData } from "node:worker_threads"
import { register } from "tsx/esm/api"

register()
await import(workerData.entry)
