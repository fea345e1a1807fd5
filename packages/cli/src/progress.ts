import type { Duration } from "effect"
import { Console, Effect, Ref, Schedule } from "effect"

/** One observation of long-running work. */
export interface ProgressState {
  /** What is going on, e.g. `importing sales.csv: 12,000 records`. */
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
 * Progress goes to stderr so stdout stays clean for results and `--json`. A terminal gets
 * one line redrawn in place; anything else (a log, a CI job) gets plain lines, only when the
 * state changed and at most every `lineEvery` — unless `quiet`, then nothing.
 */
export const makeProgressDisplay = (options: { readonly quiet: boolean; readonly lineEvery?: number }) =>
  Effect.gen(function*() {
    const tty = process.stderr.isTTY === true
    const lineEvery = options.lineEvery ?? 2000
    const drawn = yield* Ref.make(false)
    const last = yield* Ref.make({ text: "", at: 0 })
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
        if (options.quiet) return
        const previous = yield* Ref.get(last)
        const now = Date.now()
        if (state.text === previous.text || now - previous.at < lineEvery) return
        yield* Ref.set(last, { text: state.text, at: now })
        yield* Console.error(state.text)
      })
    const end = Effect.gen(function*() {
      if (yield* Ref.get(drawn)) yield* Effect.sync(() => process.stderr.write("\n"))
      yield* Ref.set(drawn, false)
    })
    return { show, end } satisfies ProgressDisplay
  })

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
