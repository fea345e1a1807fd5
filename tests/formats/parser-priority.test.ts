import { readdirSync, readFileSync } from "node:fs"
import { afterAll, describe, expect, it } from "vitest"
import { makeFormatReader } from "../../packages/adapters/src/formats/index.ts"
import { BULK_NICENESS } from "../../packages/adapters/src/threads.ts"
import { profileOf, scratchDir } from "./profile-helpers.ts"

/**
 * Parser threads do bulk work at a lower scheduling priority than the service thread (which
 * answers API requests) and the Parquet encoder (which bounds an import): under contention for
 * the cores those come first. Linux only (a thread's own nice value).
 */
const dir = scratchDir("priority")
const reader = makeFormatReader({ maxWorkers: 2 })
afterAll(async () => {
  await reader.close()
  dir.cleanup()
})

/** Nice value of every thread of this process, by thread id (field 19 of /proc/self/task/<tid>/stat). */
const niceByThread = (): Map<number, number> => {
  const nice = new Map<number, number>()
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8")
      nice.set(Number(tid), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]))
    } catch {
      // the thread ended meanwhile
    }
  }
  return nice
}

describe.runIf(process.platform === "linux")("parser thread priority", () => {
  it("parser threads run at a lower priority; this thread keeps its own", async () => {
    const before = niceByThread()
    const file = dir.file("rows.csv", "a,b\n1,x\n2,y\n")
    expect((await profileOf(reader, file, "csv")).totalRows).toBe(2)
    const after = niceByThread()
    const started = [...after].filter(([tid]) => !before.has(tid))
    expect(started.some(([, nice]) => nice === BULK_NICENESS)).toBe(true)
    expect(after.get(process.pid)).toBe(before.get(process.pid))
    expect(before.get(process.pid)).not.toBe(BULK_NICENESS)
  })
})
