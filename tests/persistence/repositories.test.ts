import { describe } from "@effect/vitest"
import { Layer } from "effect"
import { MemoryRepositories } from "../../packages/adapters/src/memory/index.ts"
import { SqlRepositories } from "../../packages/adapters/src/sql/repositories.ts"
import { repositoryContract } from "./repository-contract.ts"
import { freshEmbedded, freshSchemaPostgres, isReachable, testDatabaseUrl, TestCipher } from "./support.ts"

// One contract, three stores: memory, embedded PostgreSQL (PGlite) and the real PostgreSQL.

const postgresUp = await isReachable(testDatabaseUrl)
if (!postgresUp) console.warn(`PostgreSQL not reachable at ${testDatabaseUrl}: skipping the real-PostgreSQL repository contract`)

repositoryContract("repositories: memory", MemoryRepositories)

repositoryContract(
  "repositories: embedded PostgreSQL (PGlite)",
  SqlRepositories.pipe(Layer.provide(TestCipher), Layer.provide(freshEmbedded))
)

describe.skipIf(!postgresUp)("real PostgreSQL", () => {
  repositoryContract(
    "repositories: PostgreSQL",
    SqlRepositories.pipe(Layer.provide(TestCipher), Layer.provide(freshSchemaPostgres()))
  )
})
