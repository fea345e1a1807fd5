// Entry of the service's worker threads (parsers, Parquet encoders) and child processes (the
// embedded database's initdb): the module to run is the thread's `workerData.entry`, or a
// process's first argument. The sources are TypeScript with erasable syntax only: Node loads them
// itself where it strips types (22.18 and later), which starts a thread in a fraction of the time
// and memory tsx's loader takes; elsewhere tsx's loader is registered first.
import { workerData } from "node:worker_threads"

if (!process.features.typescript) {
  const { register } = await import("tsx/esm/api")
  register()
}
await import(workerData?.entry ?? process.argv[2])
