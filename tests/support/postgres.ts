import { execFileSync } from "node:child_process"

/** The machine's PostgreSQL (trust auth), where the real-database suites run. */
export const pgHost = process.env.PGHOST_TEST ?? "127.0.0.1"
export const pgPort = Number(process.env.PGPORT_TEST ?? 5432)
export const pgUser = process.env.PGUSER_TEST ?? "postgres"

const psql = (database: string, sql: string) =>
  execFileSync("psql", ["-h", pgHost, "-p", String(pgPort), "-U", pgUser, "-d", database, "-v", "ON_ERROR_STOP=1", "-qtAc", sql], {
    encoding: "utf8"
  })

/** Creates an empty database for one test file; returns its URL and a function that drops it. */
export const createTestDatabase = (prefix = "ingest_t") => {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  psql("postgres", `CREATE DATABASE ${name}`)
  return {
    name,
    url: `postgres://${pgUser}@${pgHost}:${pgPort}/${name}`,
    /** Runs SQL in the test database (fixtures for source tables). */
    exec: (sql: string) => psql(name, sql),
    drop: () => {
      psql("postgres", `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`)
      psql("postgres", `DROP DATABASE IF EXISTS ${name}`)
    }
  }
}
