import { afterAll, describe, expect, it } from "vitest"
import { makeFormatReader } from "../../packages/adapters/src/formats/index.ts"
import { threadMemory } from "../../packages/adapters/src/threads.ts"
import { profileOf, scratchDir } from "./profile-helpers.ts"

/**
 * A parser thread holds its heap for as long as it runs: one left idle ends after a while (here
 * 300 ms instead of two minutes), and the next job starts a new one.
 */
const dir = scratchDir("idle")
const reader = makeFormatReader({ maxWorkers: 2, idleMs: 300 })
afterAll(async () => {
  await reader.close()
  dir.cleanup()
})

const parserThreads = async () => (await threadMemory()).filter((thread) => thread.role === "parser").length

const until = async (check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return true
}

describe("idle parser threads", () => {
  it("end once idle, and a later profile starts a new one", async () => {
    const file = dir.file("rows.csv", "a,b\n1,x\n2,y\n")
    expect((await profileOf(reader, file, "csv")).totalRows).toBe(2)
    expect(await parserThreads()).toBe(1)
    expect(await until(async () => (await parserThreads()) === 0, 10_000)).toBe(true)
    expect((await profileOf(reader, file, "csv")).totalRows).toBe(2)
    expect(await parserThreads()).toBe(1)
  })
})
