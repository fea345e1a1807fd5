/** Small measuring tools for benchmarks: RSS sampling, percentiles, formatting. */

import { threadMemory } from "@ingest/adapters/threads"

export interface RssWindow {
  /** Highest `process.memoryUsage().rss` seen since the window opened (bytes). */
  readonly peak: () => number
  /** The whole `memoryUsage()` of the sample with the highest RSS: where the memory was. */
  readonly atPeak: () => NodeJS.MemoryUsage
  readonly samples: () => number
}

/**
 * Samples RSS every `intervalMs` while the event loop turns. Long synchronous stretches are not
 * sampled, so the process-wide `resourceUsage().maxRSS` is reported beside it.
 */
export const makeRssSampler = (intervalMs = 50) => {
  const windows = new Set<{ peak: NodeJS.MemoryUsage; samples: number }>()
  const sample = () => {
    const usage = process.memoryUsage()
    for (const w of windows) {
      w.samples += 1
      if (usage.rss > w.peak.rss) w.peak = usage
    }
  }
  const timer = setInterval(sample, intervalMs)
  timer.unref()
  // BENCH_TRACE_MEMORY=1: a line a second (on stderr) with where the memory is, thread by thread.
  if (process.env["BENCH_TRACE_MEMORY"] === "1") {
    const mib = (n: number) => Math.round(n / 1048576)
    let highest = 0
    let last = 0
    setInterval(() => {
      const u = process.memoryUsage()
      // Every second, and whenever the RSS reaches a new high.
      if (u.rss <= highest && Date.now() - last < 1000) return
      highest = Math.max(highest, u.rss)
      last = Date.now()
      void threadMemory().then((threads) => {
        const others = threads.map((t) => `${t.role} ${mib(t.heapUsed)}/${mib(t.heapTotal)}+${mib(t.external)}`).join(", ")
        console.error(
          `memory: rss ${mib(u.rss)}; main heap ${mib(u.heapUsed)}/${mib(u.heapTotal)}+${mib(u.external)}` +
            (others === "" ? "" : `; ${others}`) + " MiB (heap used/reserved+external)"
        )
      })
    }, 50).unref()
  }
  return {
    open: (): RssWindow & { close: () => void } => {
      const w = { peak: process.memoryUsage(), samples: 1 }
      windows.add(w)
      return {
        peak: () => w.peak.rss,
        atPeak: () => w.peak,
        samples: () => w.samples,
        close: () => {
          sample()
          windows.delete(w)
        }
      }
    },
    stop: () => clearInterval(timer)
  }
}

/** Peak resident set size of the process so far, in bytes (`maxRSS` is in KiB). */
export const maxRssBytes = () => process.resourceUsage().maxRSS * 1024

export const percentile = (values: ReadonlyArray<number>, p: number) => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

export const mb = (bytes: number) => bytes / 1e6
export const mib = (bytes: number) => bytes / 1024 ** 2
export const fmt = (n: number, digits = 2) => n.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits })
export const seconds = (ms: number) => `${fmt(ms / 1000)} s`
