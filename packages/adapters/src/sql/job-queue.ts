import { JobQueue } from "@ingest/domain"
import type { Job, JobKind, TenantId } from "@ingest/domain"
import { Context, Duration, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { JobLeases, type JobRecord, type JobStatus, makeEnqueueSignal, queueDepthOf, validateEnqueue } from "../jobs/leases.ts"
import { canonicalId, dateTimeOf, dateTimeOrNullOf, type Row, stringOrNullOf } from "./rows.ts"

// The durable queue in the service database. Claims are one statement:
//   UPDATE jobs … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING …
// so concurrent workers (threads of one process or many replicas) never get the same job, and a
// job whose lease ran out (its process died) becomes claimable again. Times come from the
// database clock, so replicas with skewed clocks agree on lease expiry.

const leaseMillis = (lease: Duration.Duration): number => Math.max(1, Math.round(Duration.toMillis(lease)))

const jobFromRow = (row: Row): Job => ({
  id: String(row.id),
  kind: row.kind as JobKind,
  tenantId: String(row.tenant_id) as TenantId,
  refId: String(row.ref_id),
  attempt: Number(row.attempt)
})

const recordFromRow = (row: Row): JobRecord => ({
  ...jobFromRow(row),
  status: row.status as JobStatus,
  leaseOwner: stringOrNullOf(row, "lease_owner"),
  leaseUntil: dateTimeOrNullOf(row, "lease_until"),
  runAfter: dateTimeOf(row, "run_after"),
  lastError: stringOrNullOf(row, "last_error"),
  createdAt: dateTimeOf(row, "created_at"),
  updatedAt: dateTimeOf(row, "updated_at")
})

const make = Effect.gen(function*() {
  const sql = (yield* SqlClient.SqlClient).withoutTransforms()
  const signal = yield* makeEnqueueSignal

  const queue = JobQueue.of({
    enqueue: (kind, tenantId, refId) =>
      Effect.gen(function*() {
        yield* validateEnqueue(kind, refId)
        const id = crypto.randomUUID()
        yield* sql`INSERT INTO jobs (id, kind, tenant_id, ref_id, status)
          VALUES (${id}, ${kind}, ${canonicalId(tenantId)}, ${refId}, 'queued')`
        yield* signal.enqueued
        return id
      }).pipe(Effect.orDie, Effect.withSpan("JobQueueSql.enqueue"))
  })

  const leases = JobLeases.of({
    claim: (owner, limit, lease) =>
      sql<Row>`UPDATE jobs SET status = 'running', lease_owner = ${owner},
            lease_until = now() + ${leaseMillis(lease)} * interval '1 millisecond',
            attempt = attempt + 1, updated_at = now()
          WHERE id IN (
            SELECT id FROM jobs
            WHERE (status = 'queued' AND run_after <= now()) OR (status = 'running' AND lease_until < now())
            ORDER BY created_at, id
            FOR UPDATE SKIP LOCKED
            LIMIT ${Math.max(1, Math.trunc(limit))}
          )
          RETURNING id, kind, tenant_id, ref_id, attempt, created_at`.pipe(
        // RETURNING has no order of its own; hand jobs out oldest first.
        Effect.map((rows) =>
          [...rows]
            .sort((a, b) =>
              (a.created_at as Date).getTime() - (b.created_at as Date).getTime() || String(a.id).localeCompare(String(b.id))
            )
            .map(jobFromRow)
        ),
        Effect.orDie
      ),
    renew: (job, owner, lease) =>
      sql`UPDATE jobs SET lease_until = now() + ${leaseMillis(lease)} * interval '1 millisecond', updated_at = now()
          WHERE id = ${job.id} AND lease_owner = ${owner} AND attempt = ${job.attempt} AND status = 'running'
          RETURNING id`.pipe(Effect.map((rows) => rows.length > 0), Effect.orDie),
    complete: (job, owner) =>
      sql`UPDATE jobs SET status = 'done', lease_owner = NULL, lease_until = NULL, updated_at = now()
          WHERE id = ${job.id} AND lease_owner = ${owner} AND attempt = ${job.attempt} AND status = 'running'
          RETURNING id`.pipe(Effect.map((rows) => rows.length > 0), Effect.orDie),
    fail: (job, owner, error) =>
      sql`UPDATE jobs SET status = 'failed', lease_owner = NULL, lease_until = NULL, last_error = ${error},
            updated_at = now()
          WHERE id = ${job.id} AND lease_owner = ${owner} AND attempt = ${job.attempt} AND status = 'running'
          RETURNING id`.pipe(Effect.map((rows) => rows.length > 0), Effect.orDie),
    release: (job, owner) =>
      sql`UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_until = NULL, run_after = now(),
            updated_at = now()
          WHERE id = ${job.id} AND lease_owner = ${owner} AND attempt = ${job.attempt} AND status = 'running'
          RETURNING id`.pipe(Effect.map((rows) => rows.length > 0), Effect.orDie),
    get: (id) =>
      sql<Row>`SELECT * FROM jobs WHERE id = ${id}`.pipe(
        Effect.map((rows) => rows.length === 0 ? undefined : recordFromRow(rows[0]!)),
        Effect.map((record) => (record === undefined ? Option.none<JobRecord>() : Option.some(record))),
        Effect.orDie
      ),
    depth: () =>
      sql<Row>`SELECT kind, status, count(*)::int AS n,
            COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS age
          FROM jobs WHERE status IN ('queued', 'running') GROUP BY kind, status`.pipe(
        Effect.map((rows) =>
          queueDepthOf(rows.map((row) => ({
            kind: row.kind as JobKind,
            status: row.status as JobStatus,
            count: Number(row.n),
            ageSeconds: Math.max(0, Number(row.age))
          })))
        ),
        Effect.orDie
      ),
    awaitEnqueued: signal.awaitEnqueued
  })

  return { queue, leases }
})

/**
 * The PostgreSQL queue: `JobQueue` (enqueue, for the use cases) and `JobLeases` (claims, for
 * `runWorker`). Needs a migrated `SqlClient`.
 */
export const JobQueueSql: Layer.Layer<JobQueue | JobLeases, never, SqlClient.SqlClient> = Layer.effectContext(
  Effect.map(make, ({ leases, queue }) => Context.add(JobQueue.context(queue), JobLeases, leases))
)
