import type { Duration } from "effect"
import { Console, Effect, Ref, Schedule } from "effect"
import { formatBytes, formatDuration } from "./output.ts"

/** One observation of long-running work. */
export interface ProgressState {
  /** The stage the work is in (`uploading`, `profiling`, `IMPORTING`, `COMPLETED`…): a log line is written when it changes. */
  readonly phase: string
  /** What is going on, e.g. `importing sales.csv: 12,000 records, 4.1 MiB of 9.0 MiB`. */
  readonly text: string
  /** Share done in [0, 1] when known (draws a bar on a terminal). */
  readonly fraction?: number | undefined
}

const barWidth = 24

export const renderBar = (fraction: number): string => {
  const clamped = Math.min(1, Math.max(0, fraction))
  const filled = Math.round(clamped * barWidth)
  return `[${"#".repeat(filled)}${".".repeat(barWidth - filled)}] ${String(Math.floor(clamped * 100)).padStart(3)}%`
}

export interface ProgressDisplay {
  readonly show: (state: ProgressState) => Effect.Effect<void>
  /** Ends the display (a terminal line is closed so later output starts on a fresh line). */
  readonly end: Effect.Effect<void>
}

/**
 * Progress goes to stderr so stdout stays clean for results and `--json`. A terminal gets one
 * line redrawn in place, with a bar; anything else (a log, a CI job) gets no bar, just one plain
 * line each time the work enters a new phase — unless `quiet`, then nothing.
 */
export const makeProgressDisplay = (options: { readonly quiet: boolean; readonly tty?: boolean | undefined }) =>
  Effect.gen(function*() {
    const tty = options.tty ?? process.stderr.isTTY === true
    const drawn = yield* Ref.make(false)
    const lastPhase = yield* Ref.make<string | undefined>(undefined)
    const show = (state: ProgressState): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (tty) {
          const bar = state.fraction === undefined ? "" : `${renderBar(state.fraction)} `
          const columns = process.stderr.columns ?? 100
          const line = `${bar}${state.text}`.slice(0, Math.max(20, columns - 1))
          yield* Effect.sync(() => process.stderr.write(`\r${line}\x1b[K`))
          yield* Ref.set(drawn, true)
          return
        }
        if (options.quiet || (yield* Ref.get(lastPhase)) === state.phase) return
        yield* Ref.set(lastPhase, state.phase)
        yield* Console.error(state.text)
      })
    const end = Effect.gen(function*() {
      if (yield* Ref.get(drawn)) yield* Effect.sync(() => process.stderr.write("\n"))
      yield* Ref.set(drawn, false)
    })
    return { show, end } satisfies ProgressDisplay
  })

/** Rate and time left of a transfer that started at `startedAt` (ms). */
export const transferText = (done: number, total: number, startedAt: number, now = Date.now()) => {
  const seconds = (now - startedAt) / 1000
  const rate = seconds > 0.2 ? done / seconds : 0
  const left = rate > 0 && total > done ? ((total - done) / rate) * 1000 : undefined
  return [
    `${formatBytes(done)} of ${formatBytes(total)}`,
    ...(rate > 0 ? [`${(rate / 1e6).toFixed(1)} MB/s`] : []),
    ...(left !== undefined ? [`ETA ${formatDuration(left)}`] : [])
  ].join(", ")
}

/**
 * Polls `observe` until `isDone`, showing each observation; returns the final one. The first
 * and the final state are always shown.
 */
export const pollUntilDone = <A, E, R>(options: {
  readonly observe: Effect.Effect<A, E, R>
  readonly isDone: (a: A) => boolean
  readonly describe: (a: A) => ProgressState
  readonly display: ProgressDisplay
  readonly interval?: Duration.Input
}): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const step = options.observe.pipe(Effect.tap((a) => options.display.show(options.describe(a))))
    const final = yield* step.pipe(
      Effect.repeat({
        until: options.isDone,
        schedule: Schedule.spaced(options.interval ?? "250 millis")
      })
    )
    yield* options.display.end
    return final
  })

/**
 * Runs the process's background work beside `waiting` and stops it once `waiting` ends. If the
 * background work fails first, so does the whole.
 */
export const whileWorking = <A, E, R, E2, R2>(waiting: Effect.Effect<A, E, R>, work: Effect.Effect<void, E2, R2>) =>
  Effect.raceFirst(waiting, work.pipe(Effect.andThen(Effect.never)))
