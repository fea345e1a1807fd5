import { Effect, Layer } from "effect"
import { Migrator, SqlClient } from "effect/sql"

// Schema of the service database, defined in code so the embedded and the external database
// are migrated by the same binary. Migrations are append-only: never edit a released one.
//
// Choices that the repositories rely on:
// - every table carries tenant_id and every tenant-scoped query has an index starting with it;
// - times are timestamptz (instants), ids are uuid;
// - counters are double precision: the domain models them as JS numbers, so the column holds
//   exactly what the domain can represent;
// - nested values are jsonb, except where the order of object keys is meaningful to users
//   (a file's preview rows and the column mappings): jsonb sorts keys, json keeps the text.

const createSources = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE sources (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      name text NOT NULL,
      description text,
      connector_type text NOT NULL,
      connection_config text NOT NULL,
      status text NOT NULL CHECK (status IN ('INACTIVE', 'ACTIVE', 'ERROR')),
      last_tested_at timestamptz,
      last_error text,
      engine_ref text,
      discovered jsonb,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX sources_tenant_created ON sources (tenant_id, created_at, id)`
})

const createConnections = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE connections (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      source_id uuid NOT NULL,
      name text NOT NULL,
      destination_type text NOT NULL,
      sync_schedule text,
      selected_streams jsonb,
      sync_mode text NOT NULL,
      status text NOT NULL CHECK (status IN ('PENDING', 'ACTIVE', 'PAUSED', 'ERROR')),
      last_sync_at timestamptz,
      engine_ref text,
      next_run_at timestamptz,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX connections_tenant_created ON connections (tenant_id, created_at, id)`
  yield* sql`CREATE INDEX connections_tenant_source ON connections (tenant_id, source_id)`
  // The scheduler scans due connections of every tenant.
  yield* sql`CREATE INDEX connections_next_run ON connections (next_run_at, id) WHERE next_run_at IS NOT NULL`
})

const createSyncs = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE syncs (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      connection_id uuid NOT NULL,
      status text NOT NULL CHECK (status IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
      records_synced double precision,
      bytes_synced double precision,
      started_at timestamptz NOT NULL,
      completed_at timestamptz,
      duration_ms double precision,
      error text,
      engine_job_id text,
      trigger text NOT NULL CHECK (trigger IN ('manual', 'schedule'))
    )`
  yield* sql`CREATE INDEX syncs_tenant_started ON syncs (tenant_id, started_at, id)`
  yield* sql`CREATE INDEX syncs_tenant_connection_started ON syncs (tenant_id, connection_id, started_at, id)`
  // At most one PENDING/RUNNING sync per connection, enforced by the database so that two
  // concurrent triggers (in one process or in several replicas) cannot both start a sync.
  yield* sql`
    CREATE UNIQUE INDEX syncs_one_active_per_connection ON syncs (connection_id)
    WHERE status IN ('PENDING', 'RUNNING')`
})

const createFileImports = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE file_imports (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      file_name text NOT NULL,
      file_size double precision NOT NULL,
      file_format text NOT NULL,
      storage_path text NOT NULL,
      status text NOT NULL CHECK (status IN ('UPLOADED', 'CONFIGURED', 'IMPORTING', 'COMPLETED', 'FAILED')),
      profile json NOT NULL,
      target_table_name text,
      target_schema text,
      column_mappings json,
      drop_unmapped boolean NOT NULL,
      records_imported double precision,
      bytes_read double precision,
      error text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      completed_at timestamptz
    )`
  yield* sql`CREATE INDEX file_imports_tenant_created ON file_imports (tenant_id, created_at, id)`
})

const createJobs = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE jobs (
      id uuid PRIMARY KEY,
      kind text NOT NULL,
      tenant_id uuid NOT NULL,
      ref_id text NOT NULL,
      status text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
      attempt integer NOT NULL DEFAULT 0,
      lease_owner text,
      lease_until timestamptz,
      run_after timestamptz NOT NULL DEFAULT now(),
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  // Claims look only at unfinished jobs, oldest first.
  yield* sql`CREATE INDEX jobs_claimable ON jobs (created_at, id) WHERE status IN ('queued', 'running')`
  yield* sql`CREATE INDEX jobs_tenant_ref ON jobs (tenant_id, ref_id)`
})

/** Name of the bookkeeping table (distinct from other components' tables in the same database). */
export const migrationsTable = "ingest_schema_migrations"

export const migrations = {
  "1_create_sources": createSources,
  "2_create_connections": createConnections,
  "3_create_syncs": createSyncs,
  "4_create_file_imports": createFileImports,
  "5_create_jobs": createJobs
} as const

/**
 * Applies pending migrations (idempotent; serialised across processes by the migrator's table
 * lock). Returns the migrations applied by this call.
 */
export const runMigrations = Migrator.make({})({
  table: migrationsTable,
  loader: Migrator.fromRecord(migrations)
})

/** Runs the migrations when built; a failure stops startup. */
export const MigrationsLive = Layer.effectDiscard(runMigrations)
