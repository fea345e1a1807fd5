import { JobQueue } from "@ingest/domain"
import type { Job, TenantId } from "@ingest/domain"
import { Clock, Context, DateTime, Duration, Effect, Layer, Option, Ref } from "effect"
import { JobLeases, jobOf, type JobRecord, makeEnqueueSignal, queueDepthOf, validateEnqueue } from "../jobs/leases.ts"

// The in-memory twin of the PostgreSQL queue: the same claim rule (queued and due, or running
// with an expired lease; oldest first), the same owner/attempt guards. Time comes from the
// Effect Clock, so tests can drive lease expiry with the TestClock.

const leaseMillis = (lease: Duration.Duration): number => Math.max(1, Math.round(Duration.toMillis(lease)))

const byAge = (a: JobRecord, b: JobRecord) =>
  DateTime.toEpochMillis(a.createdAt) - DateTime.toEpochMillis(b.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

const make = Effect.gen(function*() {
  const jobs = yield* Ref.make(new Map<string, JobRecord>())
  const signal = yield* makeEnqueueSignal
  const now = Clock.currentTimeMillis

  /** Applies `change` when the job is still running under this owner and attempt. */
  const guarded = (job: Job, owner: string, change: (record: JobRecord, at: DateTime.Utc) => JobRecord) =>
    Effect.flatMap(now, (millis) =>
      Ref.modify(jobs, (map): readonly [boolean, Map<string, JobRecord>] => {
        const record = map.get(job.id)
        if (record === undefined || record.status !== "running" || record.leaseOwner !== owner || record.attempt !== job.attempt) {
          return [false, map]
        }
        return [true, new Map(map).set(job.id, change(record, DateTime.makeUnsafe(millis)))]
      }))

  const queue = JobQueue.of({
    enqueue: (kind, tenantId, refId) =>
      Effect.gen(function*() {
        yield* validateEnqueue(kind, refId)
        const at = DateTime.makeUnsafe(yield* now)
        const id = crypto.randomUUID()
        const record: JobRecord = {
          id,
          kind,
          tenantId: tenantId.toLowerCase() as TenantId,
          refId,
          status: "queued",
          attempt: 0,
          leaseOwner: null,
          leaseUntil: null,
          runAfter: at,
          lastError: null,
          createdAt: at,
          updatedAt: at
        }
        yield* Ref.update(jobs, (map) => new Map(map).set(id, record))
        yield* signal.enqueued
        return id
      })
  })

  const leases = JobLeases.of({
    claim: (owner, limit, lease) =>
      Effect.flatMap(now, (millis) =>
        Ref.modify(jobs, (map): readonly [ReadonlyArray<Job>, Map<string, JobRecord>] => {
          const at = DateTime.makeUnsafe(millis)
          const runnable = [...map.values()]
            .filter((r) =>
              (r.status === "queued" && DateTime.toEpochMillis(r.runAfter) <= millis) ||
              (r.status === "running" && r.leaseUntil !== null && DateTime.toEpochMillis(r.leaseUntil) < millis)
            )
            .sort(byAge)
            .slice(0, Math.max(1, Math.trunc(limit)))
          if (runnable.length === 0) return [[], map]
          const next = new Map(map)
          const claimed = runnable.map((r) => {
            const updated: JobRecord = {
              ...r,
              status: "running",
              leaseOwner: owner,
              leaseUntil: DateTime.makeUnsafe(millis + leaseMillis(lease)),
              attempt: r.attempt + 1,
              updatedAt: at
            }
            next.set(r.id, updated)
            return jobOf(updated)
          })
          return [claimed, next]
        })),
    renew: (job, owner, lease) =>
      guarded(job, owner, (r, at) => ({
        ...r,
        leaseUntil: DateTime.makeUnsafe(DateTime.toEpochMillis(at) + leaseMillis(lease)),
        updatedAt: at
      })),
    complete: (job, owner) =>
      guarded(job, owner, (r, at) => ({ ...r, status: "done", leaseOwner: null, leaseUntil: null, updatedAt: at })),
    fail: (job, owner, error) =>
      guarded(job, owner, (r, at) => ({ ...r, status: "failed", leaseOwner: null, leaseUntil: null, lastError: error, updatedAt: at })),
    release: (job, owner) =>
      guarded(job, owner, (r, at) => ({ ...r, status: "queued", leaseOwner: null, leaseUntil: null, runAfter: at, updatedAt: at })),
    get: (id) => Ref.get(jobs).pipe(Effect.map((map) => Option.fromNullishOr(map.get(id.toLowerCase())))),
    depth: () =>
      Effect.flatMap(now, (millis) =>
        Ref.get(jobs).pipe(Effect.map((map) =>
          queueDepthOf([...map.values()].map((r) => ({
            kind: r.kind,
            status: r.status,
            count: 1,
            ageSeconds: Math.max(0, (millis - DateTime.toEpochMillis(r.createdAt)) / 1000)
          })))
        ))),
    awaitEnqueued: signal.awaitEnqueued
  })

  return { queue, leases }
})

/** In-memory `JobQueue` and `JobLeases` sharing one store (run `runWorker` over it). */
export const JobQueueMemory: Layer.Layer<JobQueue | JobLeases> = Layer.effectContext(
  Effect.map(make, ({ leases, queue }) => Context.add(JobQueue.context(queue), JobLeases, leases))
)
