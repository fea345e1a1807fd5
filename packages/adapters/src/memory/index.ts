import { Layer } from "effect"
import { JobQueueMemory } from "./job-queue.ts"
import { ConnectionRepoMemory, FileImportRepoMemory, SourceRepoMemory, SyncRepoMemory } from "./repositories.ts"

export { JobQueueMemory } from "./job-queue.ts"
export { ConnectionRepoMemory, FileImportRepoMemory, SourceRepoMemory, SyncRepoMemory } from "./repositories.ts"

/** Every persistence port in memory: the four repositories, `JobQueue` and `JobLeases`. */
export const MemoryRepositories = Layer.mergeAll(
  SourceRepoMemory,
  ConnectionRepoMemory,
  SyncRepoMemory,
  FileImportRepoMemory,
  JobQueueMemory
)
