import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { PgClient } from "@effect/sql-pg"
import { Config, Effect, Layer, Option, Redacted, Schema } from "effect"
import type { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { embeddedOptions } from "./embedded-options.ts"
import { MigrationsLive } from "./migrations.ts"

// The service database is either an external PostgreSQL (DATABASE_URL) or an embedded one:
// PGlite (Postgres compiled to WASM, data under the data dir) served on a loopback port by
// pglite-socket, so the very same PgClient, SQL and migrations run against both.
//
// PGlite is a single session: pglite-socket multiplexes every socket onto it at query level,
// which breaks concurrent transactions. Server and pool therefore both allow one connection;
// queries queue on it.

/** The embedded database could not be started (data dir in use, unreadable, corrupt). */
export class EmbeddedDatabaseError extends Schema.TaggedError<EmbeddedDatabaseError>()("EmbeddedDatabaseError", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

const PoolSize = Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 1, maximum: 1000 })))

const poolSize = (configured: number | undefined): Config.Config<number> =>
  configured !== undefined
    ? Config.succeed(configured).pipe(
      Config.mapEffect((n) => Schema.decodeUnknownEffect(PoolSize)(n).pipe(Effect.mapError((error) => new Config.ConfigError(error))))
    )
    : Config.schema(PoolSize, "DB_MAX_CONNECTIONS").pipe(Config.withDefault(10))

/** A pooled client for an external PostgreSQL. Pool size: `maxConnections`, else `DB_MAX_CONNECTIONS` (default 10). */
export const pgClientFromUrl = (
  url: Redacted.Redacted,
  maxConnections?: number
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, Config.ConfigError | SqlError> =>
  PgClient.layerConfig({
    url: Config.succeed(url),
    maxConnections: poolSize(maxConnections)
  })

/** `DATABASE_URL` and `DB_MAX_CONNECTIONS` from the environment. */
export const PgClientFromEnv: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, Config.ConfigError | SqlError> =
  PgClient.layerConfig({
    url: Config.Redacted("DATABASE_URL"),
    maxConnections: poolSize(undefined)
  })

const isProcessAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: unknown }).code === "EPERM"
  }
}

/**
 * Takes `<dataDir>/pg.lock` for this process: two processes opening one PGlite directory would
 * corrupt it. A lock left by a process that no longer runs is taken over.
 */
const acquireDirectoryLock = (dataDir: string) => {
  const lockFile = path.join(dataDir, "pg.lock")
  const take = async (): Promise<void> => {
    await fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
    for (let tries = 0; tries < 3; tries++) {
      try {
        await fs.writeFile(lockFile, String(process.pid), { flag: "wx", mode: 0o600 })
        return
      } catch (error) {
        if ((error as { code?: unknown }).code !== "EEXIST") throw error
      }
      const holder = Number.parseInt((await fs.readFile(lockFile, "utf8").catch(() => "")).trim(), 10)
      if (Number.isInteger(holder) && holder > 0 && isProcessAlive(holder)) {
        throw new Error(
          `the embedded database in ${dataDir} is in use by process ${holder}` +
            (holder === process.pid ? " (this process)" : "") +
            "; stop it, or point DATABASE_URL at a PostgreSQL server that both can share"
        )
      }
      await fs.rm(lockFile, { force: true })
    }
    throw new Error(`cannot take the lock ${lockFile}`)
  }
  return Effect.acquireRelease(
    Effect.tryPromise({
      try: take,
      catch: (error) => new EmbeddedDatabaseError({ reason: `Cannot open the embedded database: ${error instanceof Error ? error.message : String(error)}` })
    }),
    () => Effect.promise(() => fs.rm(lockFile, { force: true }))
  )
}

const exists = (file: string) => fs.access(file).then(() => true, () => false)

/**
 * Creates a new embedded database directory in a child process (embedded-initdb.ts), which then
 * exits: the memory initdb takes (its own WebAssembly instance, a few hundred MiB) goes with the
 * process. In a worker thread, some 50-75 MiB of it stayed with the service. The child stops
 * when its stdin closes (the service is gone) as soon as initdb lets it: within seconds.
 */
const createInChildProcess = (pgDir: string) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [
      fileURLToPath(new URL("../worker-bootstrap.mjs", import.meta.url)),
      new URL("./embedded-initdb.ts", import.meta.url).href,
      pgDir
    ], { stdio: ["pipe", "ignore", "pipe"] })
    let errors = ""
    child.stderr.setEncoding("utf8").on("data", (text: string) => {
      if (errors.length < 4096) errors += text
    })
    child.once("error", reject)
    child.once("exit", (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`creating the database directory failed (${signal ?? `exit code ${code}`})${errors === "" ? "" : `: ${errors.trim().slice(-1000)}`}`)))
  })

const startEmbedded = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const pgDir = path.join(dataDir, "pg")
        await fs.mkdir(pgDir, { recursive: true, mode: 0o700 })
        if (!(await exists(path.join(pgDir, "PG_VERSION")))) await createInChildProcess(pgDir)
        const db = await PGlite.create(pgDir, embeddedOptions)
        // Port 0: the OS picks a free loopback port; the server reports which one.
        const server = new PGLiteSocketServer({ db, port: 0, host: "127.0.0.1", maxConnections: 1 })
        try {
          await server.start()
        } catch (error) {
          await db.close().catch(() => undefined)
          throw error
        }
        const port = Number(server.getServerConn().split(":").pop())
        return { db, server, port }
      },
      catch: (error) =>
        new EmbeddedDatabaseError({
          reason: `Cannot start the embedded database under ${dataDir}: ${error instanceof Error ? error.message : String(error)}`
        })
    }),
    ({ db, server }) =>
      Effect.promise(async () => {
        await server.stop().catch(() => undefined)
        await db.close().catch(() => undefined)
      })
  )

/**
 * Embedded PostgreSQL (PGlite) with its data in `<dataDir>/pg`, served on 127.0.0.1 and stopped
 * when the layer's scope closes. Data survives restarts.
 */
export const embeddedPgClient = (
  dataDir: string
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, EmbeddedDatabaseError | SqlError> =>
  Layer.unwrap(
    Effect.gen(function*() {
      yield* acquireDirectoryLock(dataDir)
      const { port } = yield* startEmbedded(dataDir)
      return PgClient.layer({
        url: Redacted.make(`postgres://postgres@127.0.0.1:${port}/postgres`),
        maxConnections: 1
      })
    })
  )

export interface SqlClientConfig {
  /** External PostgreSQL; undefined runs the embedded database under `dataDir`. */
  readonly databaseUrl: Redacted.Redacted | undefined
  readonly dataDir: string
  /** Pool size for the external database; defaults to `DB_MAX_CONNECTIONS` (10). */
  readonly maxConnections?: number | undefined
}

export type SqlClientError = EmbeddedDatabaseError | SqlError | Config.ConfigError

/** The `SqlClient` (and `PgClient`) of the service, without migrations. */
export const makeSqlClientLayer = (
  config: SqlClientConfig
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlClientError> =>
  config.databaseUrl !== undefined
    ? pgClientFromUrl(config.databaseUrl, config.maxConnections)
    : embeddedPgClient(config.dataDir)

/** The `SqlClient` of the service with the schema migrated. */
export const makeSqlLive = (config: SqlClientConfig) => MigrationsLive.pipe(Layer.provideMerge(makeSqlClientLayer(config)))

/** `makeSqlLive` from the environment: `DATABASE_URL`, `INGEST_DATA_DIR` (default `./.ingest`), `DB_MAX_CONNECTIONS`. */
export const SqlLive = Layer.unwrap(
  Effect.gen(function*() {
    const databaseUrl = yield* Config.Redacted("DATABASE_URL").pipe(Config.option)
    const dataDir = yield* Config.String("INGEST_DATA_DIR").pipe(Config.withDefault("./.ingest"))
    return makeSqlLive({ databaseUrl: Option.getOrUndefined(databaseUrl), dataDir: path.resolve(dataDir) })
  })
)
