import { assert, describe, it } from "@effect/vitest"
import { JobQueue, SourceRepo, SyncRepo } from "@ingest/domain"
import { Effect, Exit, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { makeSqlClientLayer, makeSqlLive } from "../../packages/adapters/src/sql/client.ts"
import { JobQueueSql } from "../../packages/adapters/src/sql/job-queue.ts"
import { JobLeases } from "../../packages/adapters/src/jobs/leases.ts"
import { runMigrations } from "../../packages/adapters/src/sql/migrations.ts"
import { SqlRepositories } from "../../packages/adapters/src/sql/repositories.ts"
import { secretCipherLayer } from "../../packages/adapters/src/sql/secrets.ts"
import { EmptyConfig, makeConnection, makeSource, makeSync, newTenant, plain, tempDir } from "./support.ts"

// The embedded database as the service runs it: PGlite under <dataDir>/pg behind a loopback
// socket, the key file under <dataDir>; everything must be there again after a restart.

const appLayer = (dataDir: string) =>
  Layer.mergeAll(SqlRepositories, JobQueueSql).pipe(
    Layer.provideMerge(secretCipherLayer({ dataDir })),
    Layer.provideMerge(makeSqlLive({ databaseUrl: undefined, dataDir })),
    Layer.provide(EmptyConfig)
  )

describe("embedded PostgreSQL (PGlite)", () => {
  it.live("data written before a restart is read back after it (same data dir, same key file)", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir("ingest-embedded-")
      const tenant = newTenant()
      const source = makeSource(tenant)
      const connection = makeConnection(tenant, source.id)
      const sync = makeSync(tenant, connection.id, { status: "RUNNING", completedAt: null })

      const jobId = yield* Effect.gen(function*() {
        yield* (yield* SourceRepo).insert(source)
        yield* (yield* SyncRepo).insert(sync)
        return yield* (yield* JobQueue).enqueue("sync", tenant, sync.id)
      }).pipe(Effect.provide(appLayer(dataDir)))

      const entries = yield* Effect.promise(() => fs.readdir(dataDir))
      assert.includeMembers(entries, ["pg", "secret.key"])
      assert.notInclude(entries, "pg.lock")

      yield* Effect.gen(function*() {
        assert.deepStrictEqual(plain(Option.getOrThrow(yield* (yield* SourceRepo).find(tenant, source.id))), plain(source))
        assert.deepStrictEqual(plain(Option.getOrThrow(yield* (yield* SyncRepo).findActive(tenant, connection.id))), plain(sync))
        const job = Option.getOrThrow(yield* (yield* JobLeases).get(jobId))
        assert.strictEqual(job.status, "queued")
        // Migrations already applied: nothing to do on the second start.
        assert.deepStrictEqual(yield* runMigrations, [])
      }).pipe(Effect.provide(appLayer(dataDir)))
    }), { timeout: 180_000 })

  it.live("a data dir in use is refused with a clear error; the lock goes when the database closes", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir("ingest-embedded-")
      const second = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        assert.deepStrictEqual(yield* sql`SELECT 1 AS one`, [{ one: 1 }])
        return yield* Effect.exit(Layer.build(makeSqlClientLayer({ databaseUrl: undefined, dataDir })).pipe(Effect.scoped))
      }).pipe(Effect.provide(makeSqlClientLayer({ databaseUrl: undefined, dataDir })))
      assert.isTrue(Exit.isFailure(second))
      assert.include(String(Exit.isFailure(second) ? second.cause : ""), `in use by process ${process.pid}`)
      assert.notInclude(yield* Effect.promise(() => fs.readdir(dataDir)), "pg.lock")

      // A lock left by a process that is gone is taken over.
      yield* Effect.promise(() => fs.writeFile(path.join(dataDir, "pg.lock"), "999999999"))
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        assert.deepStrictEqual(yield* sql`SELECT 2 AS two`, [{ two: 2 }])
      }).pipe(Effect.provide(makeSqlClientLayer({ databaseUrl: undefined, dataDir })))
    }), { timeout: 180_000 })
})
