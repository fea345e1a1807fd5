import { describe } from "@effect/vitest"
import { Layer } from "effect"
import { JobQueueMemory } from "../../packages/adapters/src/memory/job-queue.ts"
import { JobQueueSql } from "../../packages/adapters/src/sql/job-queue.ts"
import { jobQueueContract } from "./queue-contract.ts"
import { freshEmbedded, freshSchemaPostgres, isReachable, testDatabaseUrl } from "./support.ts"

// One queue contract, three stores: memory, embedded PostgreSQL (PGlite) and the real PostgreSQL.

const postgresUp = await isReachable(testDatabaseUrl)
if (!postgresUp) console.warn(`PostgreSQL not reachable at ${testDatabaseUrl}: skipping the real-PostgreSQL queue contract`)

jobQueueContract("job queue: memory", JobQueueMemory)

jobQueueContract("job queue: embedded PostgreSQL (PGlite)", JobQueueSql.pipe(Layer.provide(freshEmbedded)))

describe.skipIf(!postgresUp)("real PostgreSQL", () => {
  jobQueueContract("job queue: PostgreSQL", JobQueueSql.pipe(Layer.provide(freshSchemaPostgres())))
})
