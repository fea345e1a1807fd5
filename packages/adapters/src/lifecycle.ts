import { Clock, Context, Effect, Layer, Ref } from "effect"

/**
 * The life of a serving process, shared by the HTTP server, the job worker and readiness: how
 * many requests and jobs are in flight, and whether the process is draining (a SIGTERM or SIGINT
 * arrived: readiness answers 503, no job is claimed any more, what runs may finish).
 */
export class Lifecycle extends Context.Service<Lifecycle, {
  readonly draining: Ref.Ref<boolean>
  readonly inFlightRequests: Ref.Ref<number>
  readonly runningJobs: Ref.Ref<number>
}>()("ingest/Lifecycle") {
  static readonly layer = Layer.effect(
    Lifecycle,
    Effect.gen(function*() {
      return Lifecycle.of({
        draining: yield* Ref.make(false),
        inFlightRequests: yield* Ref.make(0),
        runningJobs: yield* Ref.make(0)
      })
    })
  )
}

/** Counts `effect` as one in-flight unit of `counter` while it runs. */
export const tracked = (counter: Ref.Ref<number>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(Ref.update(counter, (n) => n + 1), () => effect, () => Ref.update(counter, (n) => n - 1))

/**
 * Starts draining and waits until no request and no job is in flight, or `graceMillis` passed.
 * Polls instead of racing a timer so that it works inside a finalizer (uninterruptible).
 * Returns what was still in flight when it stopped waiting.
 */
export const drain = (graceMillis: number) =>
  Effect.gen(function*() {
    const lifecycle = yield* Lifecycle
    yield* Ref.set(lifecycle.draining, true)
    const deadline = (yield* Clock.currentTimeMillis) + graceMillis
    while (true) {
      const requests = yield* Ref.get(lifecycle.inFlightRequests)
      const jobs = yield* Ref.get(lifecycle.runningJobs)
      if ((requests === 0 && jobs === 0) || (yield* Clock.currentTimeMillis) >= deadline) return { requests, jobs }
      yield* Effect.sleep("50 millis")
    }
  })
