import { JobHandlers } from "@ingest/domain"
import type { Job } from "@ingest/domain"
import { Cause, Duration, Effect, Exit, FiberSet, Metric, Option, Queue, Ref } from "effect"
import * as os from "node:os"
import { Lifecycle, tracked } from "../lifecycle.ts"
import { jobLeasesLostTotal, jobReclaimsTotal } from "../observability/metrics.ts"
import { JobLeases } from "./leases.ts"

// A lease-based worker over any store of jobs (PostgreSQL in production, memory in tests).
// A claim makes a job `running` for one owner until `leaseUntil`; the worker renews the lease
// while the handler runs. When a process dies its leases run out and another worker claims the
// job again with attempt + 1; the handler sees the attempt and decides to resume or give up.

export interface WorkerOptions {
  /** Identifies this worker in leases; unique per process. */
  readonly owner?: string | undefined
  /** Jobs run at the same time. */
  readonly concurrency?: number | undefined
  /** Wait between claims when there is nothing to do (a job enqueued by this process ends it at once). */
  readonly pollInterval?: Duration.Input | undefined
  /** How long a claim lasts without renewal; renewed every third of it while the handler runs. */
  readonly leaseDuration?: Duration.Input | undefined
}

/** A lease owner id unique to this process: host, pid and a random suffix. */
export const defaultWorkerOwner = (): string => `${os.hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`

/** Longest failure text kept on a job. */
const maxErrorLength = 4000

const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const text = Cause.pretty(cause)
  return text.length > maxErrorLength ? `${text.slice(0, maxErrorLength)}…` : text
}

/** Runs an effect; a defect is logged and turned into `fallback` so that one bad round does not stop the worker. */
const survive = <A>(what: string, fallback: A) => <R>(effect: Effect.Effect<A, never, R>): Effect.Effect<A, never, R> =>
  effect.pipe(
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause)
        : Effect.logWarning(`job worker: ${what} failed`, Cause.pretty(cause)).pipe(Effect.as(fallback))
    )
  )

/**
 * Claims and runs jobs until interrupted. Interrupting it interrupts the running handlers and
 * gives their jobs back to the queue (the next claim sees attempt + 1); nothing is marked done
 * or failed that did not finish. With a `Lifecycle`, it claims nothing once the process drains
 * and counts its running jobs there, so that shutdown can wait for them.
 */
export const runWorker = (options: WorkerOptions = {}): Effect.Effect<never, never, JobLeases | JobHandlers> =>
  Effect.gen(function*() {
    const leases = yield* JobLeases
    const handlers = yield* JobHandlers
    const lifecycle = yield* Effect.serviceOption(Lifecycle)
    const draining = Option.match(lifecycle, { onNone: () => Effect.succeed(false), onSome: (l) => Ref.get(l.draining) })
    const countRunning = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Option.isSome(lifecycle) ? tracked(lifecycle.value.runningJobs)(effect) : effect
    const owner = options.owner ?? defaultWorkerOwner()
    const concurrency = Math.max(1, Math.min(1000, Math.trunc(options.concurrency ?? 2)))
    const pollInterval = Duration.fromInputUnsafe(options.pollInterval ?? "1 second")
    const lease = Duration.fromInputUnsafe(options.leaseDuration ?? "30 seconds")
    const renewEvery = Duration.millis(Math.max(10, Math.floor(Duration.toMillis(lease) / 3)))

    const running = yield* Ref.make(0)
    // Wakes the claim loop as soon as a slot frees up instead of waiting for the next poll.
    const slotFreed = yield* Queue.sliding<void>(1)
    const fibers = yield* FiberSet.make<void, never>()

    // Renews the lease until it is lost; then returns so that the handler is interrupted.
    const keepLease = (job: Job) =>
      Effect.gen(function*() {
        while (true) {
          yield* Effect.sleep(renewEvery)
          const stillOurs = yield* leases.renew(job, owner, lease).pipe(survive("lease renewal", true))
          if (!stillOurs) {
            yield* Effect.logWarning(`job ${job.id}: lease lost to another worker; stopping its handler`)
            yield* Metric.update(Metric.withAttributes(jobLeasesLostTotal, { kind: job.kind }), 1)
            return
          }
        }
      })

    const runJob = (job: Job) =>
      Effect.gen(function*() {
        if (job.attempt > 1) yield* Metric.update(Metric.withAttributes(jobReclaimsTotal, { kind: job.kind }), 1)
        const outcome = yield* handlers.run(job).pipe(
          Effect.exit,
          Effect.map((exit) => Option.some(exit)),
          Effect.raceFirst(keepLease(job).pipe(Effect.as(Option.none())))
        )
        if (Option.isNone(outcome)) return
        const exit = outcome.value
        if (Exit.isSuccess(exit)) {
          yield* leases.complete(job, owner)
        } else if (Cause.hasInterruptsOnly(exit.cause)) {
          yield* leases.release(job, owner)
        } else {
          yield* Effect.logWarning(`job ${job.id} (${job.kind}) failed`, Cause.pretty(exit.cause))
          yield* leases.fail(job, owner, describeFailure(exit.cause))
        }
      }).pipe(
        // Stopped from outside (shutdown): hand the job back so another worker can take it now.
        Effect.onInterrupt(() => leases.release(job, owner).pipe(survive("release", false))),
        survive<void>(`job ${job.id}`, undefined),
        countRunning,
        Effect.ensuring(Ref.update(running, (n) => n - 1).pipe(Effect.andThen(Queue.offer(slotFreed, undefined)))),
        Effect.annotateLogs({ jobId: job.id, jobKind: job.kind, attempt: job.attempt })
      )

    // Claiming and forking are one uninterruptible step: a claimed job always gets a fiber,
    // and that fiber (interruptible again) releases it if the worker stops.
    const round = Effect.gen(function*() {
      const free = concurrency - (yield* Ref.get(running))
      if (free <= 0 || (yield* draining)) return 0
      const jobs = yield* leases.claim(owner, free, lease).pipe(survive("claim", [] as ReadonlyArray<Job>))
      for (const job of jobs) {
        yield* Ref.update(running, (n) => n + 1)
        yield* FiberSet.run(fibers, Effect.interruptible(runJob(job)))
      }
      return jobs.length === free ? free : 0
    }).pipe(Effect.uninterruptible)

    while (true) {
      const claimedAll = yield* round
      // A full batch suggests more work waiting: claim again at once if a slot is free.
      if (claimedAll > 0 && (yield* Ref.get(running)) < concurrency) continue
      yield* Effect.raceFirst(leases.awaitEnqueued(pollInterval), Queue.take(slotFreed))
    }
  }).pipe(Effect.scoped)
