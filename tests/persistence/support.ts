import { PgClient } from "@effect/sql-pg"
import {
  type Connection,
  ConnectionId,
  FileId,
  type FileImport,
  type Source,
  SourceId,
  type Sync,
  SyncId,
  TenantId
} from "@ingest/domain"
import { ConfigProvider, DateTime, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { makeSqlLive } from "../../packages/adapters/src/sql/client.ts"
import { secretCipherFromKey } from "../../packages/adapters/src/sql/secrets.ts"

// Fixtures and database targets shared by the persistence suites.

export const newTenant = () => TenantId.make(crypto.randomUUID())
export const at = (iso: string) => DateTime.makeUnsafe(iso)

/** Plain data for comparisons (DateTime → ISO string). */
export const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

export const secretPassword = "hunter2-Zq8#very-secret"

export const makeSource = (tenantId: TenantId, overrides: Partial<Source> = {}): Source => ({
  id: SourceId.make(crypto.randomUUID()),
  tenantId,
  name: "orders-db",
  description: "Production orders",
  connectorType: "postgres",
  connectionConfig: { host: "db.internal", port: 5432, username: "reader", password: secretPassword, ssl: { mode: "require" } },
  status: "INACTIVE",
  lastTestedAt: null,
  lastError: null,
  engineRef: null,
  discovered: null,
  createdAt: at("2024-01-01T10:00:00.000Z"),
  updatedAt: at("2024-01-01T10:00:00.000Z"),
  ...overrides
})

export const makeConnection = (tenantId: TenantId, sourceId: SourceId, overrides: Partial<Connection> = {}): Connection => ({
  id: ConnectionId.make(crypto.randomUUID()),
  tenantId,
  sourceId,
  name: "orders-daily",
  destinationType: "iceberg",
  syncSchedule: null,
  selectedStreams: ["public.orders", "public.customers"],
  syncMode: "INCREMENTAL",
  status: "ACTIVE",
  lastSyncAt: null,
  engineRef: "engine-conn-1",
  nextRunAt: null,
  createdAt: at("2024-01-02T10:00:00.000Z"),
  updatedAt: at("2024-01-02T10:00:00.000Z"),
  ...overrides
})

export const makeSync = (tenantId: TenantId, connectionId: ConnectionId, overrides: Partial<Sync> = {}): Sync => ({
  id: SyncId.make(crypto.randomUUID()),
  tenantId,
  connectionId,
  status: "SUCCEEDED",
  recordsSynced: 145230,
  bytesSynced: 52428800,
  startedAt: at("2024-02-01T00:00:00.000Z"),
  completedAt: at("2024-02-01T00:05:00.000Z"),
  durationMs: 300000,
  error: null,
  engineJobId: "job-1",
  trigger: "manual",
  ...overrides
})

export const makeFileImport = (tenantId: TenantId, overrides: Partial<FileImport> = {}): FileImport => {
  const id = FileId.make(crypto.randomUUID())
  return {
    id,
    tenantId,
    fileName: "Sales Q1.csv",
    fileSize: 10_485_760,
    fileFormat: "csv",
    storagePath: `${tenantId}/uploads/${id}/Sales Q1.csv`,
    status: "UPLOADED",
    profile: {
      columns: [
        { name: "zeta", type: "STRING", nullable: false, sampleValues: ["a", "b"] },
        { name: "alpha", type: "DECIMAL", nullable: true, precision: 10, scale: 2, sampleValues: ["1.50"] },
        { name: "mid", type: "TIMESTAMP_TZ", nullable: true, sampleValues: [] }
      ],
      sourceLabels: ["Zeta", "Alpha €", "mid"],
      // Key order is the file's column order and must survive storage.
      previewRows: [{ zeta: "a", alpha: 1.5, mid: null }, { zeta: "b", alpha: null, mid: "2024-01-01T00:00:00Z" }],
      totalRows: 2,
      readOptions: { delimiter: ";", quote: "\"", header: true }
    },
    targetTableName: null,
    targetSchema: null,
    columnMappings: null,
    dropUnmapped: false,
    recordsImported: null,
    bytesRead: null,
    error: null,
    createdAt: at("2024-03-01T08:00:00.000Z"),
    updatedAt: at("2024-03-01T08:00:00.000Z"),
    completedAt: null,
    ...overrides
  }
}

// -------------------------------------------------------------------------------------------
// database targets

export const testDatabaseUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

/** Whether a TCP server answers at the URL's host:port (decides whether the real-Postgres runs happen). */
export const isReachable = (url: string): Promise<boolean> => {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 5432) })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(2000, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })
}

/** A fixed key for tests; the production layer reads INGEST_SECRET_KEY or the data dir. */
export const testKey = new Uint8Array(32).map((_, i) => (i * 7 + 3) & 0xff)
export const TestCipher = secretCipherFromKey(testKey)

/** No configuration from the environment of the machine running the tests. */
export const EmptyConfig = ConfigProvider.layer(ConfigProvider.fromUnknown({}))

const runAdmin = <A>(url: string, f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.gen(function*() {
    return yield* f(yield* SqlClient.SqlClient)
  }).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })),
    Effect.orDie
  )

/**
 * The real PostgreSQL with a schema of its own (created here, dropped when the layer closes),
 * migrated; so runs never see each other's rows and can be repeated.
 */
export const freshSchemaPostgres = (baseUrl = testDatabaseUrl) =>
  Layer.unwrap(
    Effect.gen(function*() {
      const schema = `persistence_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`
      yield* Effect.acquireRelease(
        runAdmin(baseUrl, (sql) => sql.unsafe(`CREATE SCHEMA "${schema}"`)),
        () => runAdmin(baseUrl, (sql) => sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
      )
      const url = new URL(baseUrl)
      url.searchParams.set("options", `-c search_path=${schema}`)
      return makeSqlLive({ databaseUrl: Redacted.make(url.toString()), dataDir: os.tmpdir(), maxConnections: 8 })
    })
  ).pipe(Layer.provide(EmptyConfig))

/** A temporary directory removed when the scope closes. */
export const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
  )

/** Embedded PGlite in a temporary data dir (removed afterwards), migrated. */
export const freshEmbedded = Layer.unwrap(
  Effect.map(tempDir("ingest-pglite-"), (dataDir) => makeSqlLive({ databaseUrl: undefined, dataDir }))
).pipe(Layer.provide(EmptyConfig))
