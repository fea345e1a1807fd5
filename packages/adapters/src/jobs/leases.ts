import type { Job, JobKind, TenantId } from "@ingest/domain"
import { Context, type DateTime, type Duration, Effect, type Option, Queue } from "effect"

// The store side of background jobs: what a worker needs from a queue (PostgreSQL in
// production, memory in tests). A claim makes a job `running` for one owner until `leaseUntil`;
// every later change names that owner and attempt, so a worker that lost its lease cannot
// overwrite the new owner's state.

export type JobStatus = "queued" | "running" | "done" | "failed"

/** Everything stored about a job (for operators and tests). */
export interface JobRecord {
  readonly id: string
  readonly kind: JobKind
  readonly tenantId: TenantId
  readonly refId: string
  readonly status: JobStatus
  readonly attempt: number
  readonly leaseOwner: string | null
  readonly leaseUntil: DateTime.Utc | null
  readonly runAfter: DateTime.Utc
  readonly lastError: string | null
  readonly createdAt: DateTime.Utc
  readonly updatedAt: DateTime.Utc
}

/**
 * The storage side of the queue. Every state change after a claim names the owner and the
 * attempt it claimed, so a worker that lost its lease cannot overwrite the new owner's state.
 */
export class JobLeases extends Context.Service<JobLeases, {
  /** Claims up to `limit` runnable jobs (queued and due, or running with an expired lease), oldest first. */
  claim(owner: string, limit: number, lease: Duration.Duration): Effect.Effect<ReadonlyArray<Job>>
  /** Extends the lease; false when the job is no longer this owner's (lease expired and re-claimed). */
  renew(job: Job, owner: string, lease: Duration.Duration): Effect.Effect<boolean>
  complete(job: Job, owner: string): Effect.Effect<boolean>
  fail(job: Job, owner: string, error: string): Effect.Effect<boolean>
  /** Gives an unfinished job back (queued, runnable now) so that another worker can take it. */
  release(job: Job, owner: string): Effect.Effect<boolean>
  get(id: string): Effect.Effect<Option.Option<JobRecord>>
  /** How much work the queue holds (all processes), for metrics. */
  depth(): Effect.Effect<QueueDepth>
  /**
   * Waits until a job is enqueued through this process, or `timeout` has passed (jobs enqueued
   * by other processes are found by the next claim), so that a worker starts local work at once.
   */
  awaitEnqueued(timeout: Duration.Duration): Effect.Effect<void>
}>()("ingest/JobLeases") {}

export interface QueueDepth {
  readonly queued: Readonly<Record<JobKind, number>>
  readonly running: Readonly<Record<JobKind, number>>
  /** Age of the oldest queued job in seconds (0 when none is queued). */
  readonly oldestQueuedSeconds: number
}

/** Folds per-kind, per-status counts into a `QueueDepth`. */
export const queueDepthOf = (
  rows: ReadonlyArray<{ readonly kind: JobKind; readonly status: JobStatus; readonly count: number; readonly ageSeconds: number }>
): QueueDepth => {
  const queued: Record<JobKind, number> = { import: 0, sync: 0 }
  const running: Record<JobKind, number> = { import: 0, sync: 0 }
  let oldestQueuedSeconds = 0
  for (const row of rows) {
    if (!jobKinds.includes(row.kind)) continue
    if (row.status === "queued") {
      queued[row.kind] += row.count
      oldestQueuedSeconds = Math.max(oldestQueuedSeconds, row.ageSeconds)
    } else if (row.status === "running") {
      running[row.kind] += row.count
    }
  }
  return { queued, running, oldestQueuedSeconds }
}

const jobKinds: ReadonlyArray<JobKind> = ["import", "sync"]
const maxRefIdLength = 200

/** Rejects what no handler could run (a programming error, hence a defect). */
export const validateEnqueue = (kind: JobKind, refId: string): Effect.Effect<void> =>
  !jobKinds.includes(kind)
    ? Effect.die(new Error(`unknown job kind ${String(kind)}`))
    : refId.length === 0 || refId.length > maxRefIdLength
    ? Effect.die(new Error(`job refId must be 1..${maxRefIdLength} characters`))
    : Effect.void

/** A record as returned to callers; `attempt` counts claims. */
export const jobOf = (record: Pick<JobRecord, "id" | "kind" | "tenantId" | "refId" | "attempt">): Job => ({
  id: record.id,
  kind: record.kind,
  tenantId: record.tenantId,
  refId: record.refId,
  attempt: record.attempt
})

/**
 * What tells a waiting worker of this process that a job was just enqueued: `enqueued` after
 * the job is stored, `awaitEnqueued` for the worker (a sliding queue of one: a burst of
 * enqueues wakes it once, and one that came while it was busy wakes its next wait at once).
 */
export const makeEnqueueSignal = Effect.map(Queue.sliding<void>(1), (signal) => ({
  enqueued: Queue.offer(signal, undefined).pipe(Effect.asVoid),
  awaitEnqueued: (timeout: Duration.Duration): Effect.Effect<void> =>
    Effect.raceFirst(Queue.take(signal), Effect.sleep(timeout)).pipe(Effect.asVoid)
}))
