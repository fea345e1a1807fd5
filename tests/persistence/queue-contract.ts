import { assert, layer } from "@effect/vitest"
import { JobHandlers, JobQueue } from "@ingest/domain"
import type { Job } from "@ingest/domain"
import { Deferred, Duration, Effect, Fiber, Layer, Option, Ref } from "effect"
import { JobLeases, runWorker } from "../../packages/adapters/src/jobs/index.ts"
import { newTenant } from "./support.ts"

const fast = { pollInterval: "20 millis", leaseDuration: "5 seconds" } as const

/** Runs a worker with the given handler until the returned fiber is interrupted. */
const startWorker = (owner: string, run: (job: Job) => Effect.Effect<void>, concurrency = 2) =>
  runWorker({ ...fast, owner, concurrency }).pipe(
    Effect.provideService(JobHandlers, JobHandlers.of({ run })),
    Effect.forkChild
  )

const getJob = Effect.fnUntraced(function*(id: string) {
  const leases = yield* JobLeases
  return Option.getOrThrow(yield* leases.get(id))
})

/**
 * The durable-queue contract. Tests share the layer's store, so every test finishes with no
 * runnable job of its own left behind; handlers ignore jobs of other tenants.
 */
export const jobQueueContract = <E>(name: string, queue: Layer.Layer<JobQueue | JobLeases, E>) =>
  layer(queue, { timeout: "180 seconds", excludeTestServices: true })(name, (it) => {
    it.effect("every job is claimed and run exactly once, even with two workers", () =>
      Effect.gen(function*() {
        const jobs = yield* JobQueue
        const tenant = newTenant()
        const total = 12
        const ids = new Set<string>()
        for (let i = 0; i < total; i++) ids.add(yield* jobs.enqueue(i % 2 === 0 ? "import" : "sync", tenant, `ref-${i}`))

        const runs = yield* Ref.make<Array<{ id: string; owner: string; attempt: number }>>([])
        const allDone = yield* Deferred.make<void>()
        const handler = (owner: string) => (job: Job) =>
          job.tenantId !== tenant ? Effect.void : Effect.gen(function*() {
            yield* Effect.sleep("5 millis")
            const seen = yield* Ref.updateAndGet(runs, (all) => [...all, { id: job.id, owner, attempt: job.attempt }])
            if (seen.length >= total) yield* Deferred.succeed(allDone, undefined)
          })
        const a = yield* startWorker("worker-a", handler("worker-a"), 3)
        const b = yield* startWorker("worker-b", handler("worker-b"), 3)
        yield* Deferred.await(allDone)
        // Let any duplicate claim surface before stopping the workers.
        yield* Effect.sleep("200 millis")
        yield* Fiber.interrupt(a)
        yield* Fiber.interrupt(b)

        const seen = yield* Ref.get(runs)
        assert.strictEqual(seen.length, total)
        assert.deepStrictEqual(new Set(seen.map((r) => r.id)), ids)
        assert.isTrue(seen.every((r) => r.attempt === 1))
        for (const id of ids) {
          const record = yield* getJob(id)
          assert.strictEqual(record.status, "done")
          assert.strictEqual(record.attempt, 1)
          assert.isNull(record.leaseOwner)
          assert.strictEqual(record.tenantId, tenant)
        }
      }))

    it.effect("a job whose worker died (lease never renewed) is claimed again with attempt 2", () =>
      Effect.gen(function*() {
        const jobs = yield* JobQueue
        const leases = yield* JobLeases
        const tenant = newTenant()
        const id = yield* jobs.enqueue("import", tenant, "file-1")

        const [dead] = yield* leases.claim("dead-worker", 10, Duration.seconds(2))
        assert.isDefined(dead)
        assert.strictEqual(dead!.id, id)
        assert.strictEqual(dead!.attempt, 1)
        // While the lease lasts nobody else gets the job.
        assert.isFalse((yield* leases.claim("other", 10, Duration.seconds(2))).some((job) => job.id === id))

        const resumed = yield* Deferred.make<Job>()
        const worker = yield* startWorker("survivor", (job) =>
          job.tenantId === tenant ? Deferred.succeed(resumed, job).pipe(Effect.asVoid) : Effect.void)
        const job = yield* Deferred.await(resumed)
        assert.strictEqual(job.id, id)
        assert.strictEqual(job.attempt, 2)
        assert.strictEqual(job.refId, "file-1")
        yield* Effect.sleep("100 millis")
        yield* Fiber.interrupt(worker)

        const record = yield* getJob(id)
        assert.strictEqual(record.status, "done")
        assert.strictEqual(record.attempt, 2)
        // The dead worker's late writes are ignored.
        assert.isFalse(yield* leases.complete(dead!, "dead-worker"))
        assert.isFalse(yield* leases.fail(dead!, "dead-worker", "late"))
        assert.strictEqual((yield* getJob(id)).status, "done")
      }))

    it.effect("a handler failure marks the job failed with the error, and it is not retried", () =>
      Effect.gen(function*() {
        const jobs = yield* JobQueue
        const leases = yield* JobLeases
        const tenant = newTenant()
        const id = yield* jobs.enqueue("sync", tenant, "sync-1")
        const attempted = yield* Deferred.make<void>()
        const worker = yield* startWorker("worker-f", (job) =>
          job.tenantId !== tenant
            ? Effect.void
            : Deferred.succeed(attempted, undefined).pipe(Effect.andThen(Effect.die(new Error("engine exploded")))))
        yield* Deferred.await(attempted)
        // Wait until the worker has recorded the failure.
        let record = yield* getJob(id)
        while (record.status === "running") {
          yield* Effect.sleep("10 millis")
          record = yield* getJob(id)
        }
        yield* Fiber.interrupt(worker)
        assert.strictEqual(record.status, "failed")
        assert.strictEqual(record.attempt, 1)
        assert.include(record.lastError ?? "", "engine exploded")
        assert.isFalse((yield* leases.claim("anyone", 100, Duration.seconds(5))).some((job) => job.id === id))
      }))

    it.effect("interrupting a worker gives its running job back; the next worker resumes it", () =>
      Effect.gen(function*() {
        const jobs = yield* JobQueue
        const tenant = newTenant()
        const id = yield* jobs.enqueue("import", tenant, "file-2")
        const started = yield* Deferred.make<void>()
        const first = yield* startWorker("stopping", (job) =>
          job.tenantId !== tenant ? Effect.void : Deferred.succeed(started, undefined).pipe(Effect.andThen(Effect.never)))
        yield* Deferred.await(started)
        assert.strictEqual((yield* getJob(id)).status, "running")
        yield* Fiber.interrupt(first)
        const released = yield* getJob(id)
        assert.strictEqual(released.status, "queued")
        assert.isNull(released.leaseOwner)

        const resumed = yield* Deferred.make<number>()
        const second = yield* startWorker("next", (job) =>
          job.tenantId === tenant ? Deferred.succeed(resumed, job.attempt).pipe(Effect.asVoid) : Effect.void)
        assert.strictEqual(yield* Deferred.await(resumed), 2)
        yield* Effect.sleep("100 millis")
        yield* Fiber.interrupt(second)
        assert.strictEqual((yield* getJob(id)).status, "done")
      }))

    it.effect("a worker that lost its lease stops the handler and writes nothing", () =>
      Effect.gen(function*() {
        const jobs = yield* JobQueue
        const leases = yield* JobLeases
        const tenant = newTenant()
        const id = yield* jobs.enqueue("sync", tenant, "sync-2")
        const interrupted = yield* Deferred.make<void>()
        const started = yield* Deferred.make<Job>()
        // Short lease, renewed every ~100ms.
        const worker = yield* runWorker({ owner: "slow", concurrency: 1, pollInterval: "20 millis", leaseDuration: "300 millis" }).pipe(
          Effect.provideService(JobHandlers, JobHandlers.of({
            run: (job) =>
              job.tenantId !== tenant
                ? Effect.void
                : Deferred.succeed(started, job).pipe(
                  Effect.andThen(Effect.never),
                  Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
                )
          })),
          Effect.forkChild
        )
        const job = yield* Deferred.await(started)
        // Another owner takes the job over (as after a lease expiry): the renewal fails.
        yield* leases.release(job, "slow")
        const [stolen] = yield* leases.claim("thief", 10, Duration.seconds(30))
        assert.strictEqual(stolen?.id, id)
        yield* Deferred.await(interrupted)
        yield* Fiber.interrupt(worker)
        const record = yield* getJob(id)
        assert.strictEqual(record.status, "running")
        assert.strictEqual(record.leaseOwner, "thief")
        assert.isTrue(yield* leases.complete(stolen!, "thief"))
      }))

    it.effect("an idle worker starts a job enqueued by its process at once, not at its next poll", () =>
      Effect.gen(function*() {
        const jobs = yield* JobQueue
        const tenant = newTenant()
        const started = yield* Deferred.make<void>()
        const worker = yield* runWorker({ owner: "worker-idle", pollInterval: "1 hour", leaseDuration: "5 seconds" }).pipe(
          Effect.provideService(JobHandlers, JobHandlers.of({ run: (job) => job.tenantId === tenant ? Deferred.succeed(started, undefined) : Effect.void })),
          Effect.forkChild
        )
        // The worker's first claim finds nothing: it waits (an hour at most).
        yield* Effect.sleep("100 millis")
        yield* jobs.enqueue("import", tenant, "ref-wake")
        const waited = yield* Deferred.await(started).pipe(Effect.timeoutOption("20 seconds"))
        yield* Fiber.interrupt(worker)
        assert.isTrue(Option.isSome(waited), "the job was not started before the worker's next poll")
      }))

    it.effect("awaitEnqueued returns after its timeout when nothing is enqueued", () =>
      Effect.gen(function*() {
        const leases = yield* JobLeases
        // A signal left by an earlier test's enqueue is consumed first.
        yield* leases.awaitEnqueued(Duration.zero)
        const started = Date.now()
        yield* leases.awaitEnqueued(Duration.millis(150))
        assert.isAtLeast(Date.now() - started, 140)
      }))
  })
