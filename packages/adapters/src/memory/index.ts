import { Layer } from "effect"
import { JobQueueMemory } from "./job-queue.ts"
import { ConnectionRepoMemory, FileImportRepoMemory, SourceRepoMemory, SyncRepoMemory } from "./repositories.ts"

export {
  ConnectorEngineMemory,
  defaultCheck,
  defaultMemoryStreams,
  layerMemoryEngine,
  makeMemoryEngine,
  MemoryEngineControl
} from "./connector-engine.ts"
export type { MemoryEngine, MemoryEngineOptions, MemoryJob } from "./connector-engine.ts"
export { JobQueueMemory } from "./job-queue.ts"
export { FileStorageMemory, layerMemoryFileStorage, makeMemoryObjectStore } from "./object-store.ts"
export type { MemoryObjectStore, MemoryObjectStoreOptions } from "./object-store.ts"
export { ConnectionRepoMemory, FileImportRepoMemory, SourceRepoMemory, SyncRepoMemory } from "./repositories.ts"
export { makeMemoryTableWriter, TableWriterMemory } from "./table-writer.ts"
export type { MemoryTableWriter, RecordedCommit, RecordedTable } from "./table-writer.ts"

/** Every persistence port in memory: the four repositories, `JobQueue` and `JobLeases`. */
export const MemoryRepositories = Layer.mergeAll(
  SourceRepoMemory,
  ConnectionRepoMemory,
  SyncRepoMemory,
  FileImportRepoMemory,
  JobQueueMemory
)
