import { makeMemoryObjectStore } from "@ingest/adapters/memory/object-store"
import { Effect, Exit, Stream } from "effect"
import { existsSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { filesUnder, objectStoreContract } from "./object-store.contract.ts"

objectStoreContract("memory", async () => {
  const tempDir = await mkdtemp(path.join(tmpdir(), "memory-store-tmp-"))
  const store = makeMemoryObjectStore({ name: "contract", tempDir })
  return {
    store,
    uriPattern: /^memory:\/\/contract\/dir\/file\.parquet$/,
    localFileIsCopy: true,
    // the objects themselves plus any temporary copy left on disk by localFile
    rawEntries: async () => [...store.keys(), ...(await filesUnder(tempDir)).map((f) => `tmp:${f}`)].sort(),
    danglingUploads: () => 0,
    close: () => rm(tempDir, { recursive: true, force: true })
  }
})

describe("memory store specifics", () => {
  it("refuses to grow past its byte limit and keeps the previous object", async () => {
    const store = makeMemoryObjectStore({ maxTotalBytes: 10 })
    await Effect.runPromise(store.putBytes("a", new Uint8Array(8)))
    const exit = await Effect.runPromise(Effect.exit(store.put("b", Stream.make(new Uint8Array(6)))))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(store.keys()).toEqual(["a"])
  })

  it("stores a copy: changing the caller's buffer afterwards changes nothing", async () => {
    const store = makeMemoryObjectStore()
    const bytes = new Uint8Array([1, 2, 3])
    await Effect.runPromise(store.putBytes("k", bytes))
    bytes[0] = 9
    expect([...(await Effect.runPromise(store.getBytes("k")))]).toEqual([1, 2, 3])
  })

  it("localFile's temporary copy is gone once its scope closes", async () => {
    const tempDir = await mkdtemp(path.join(tmpdir(), "memory-store-scope-"))
    try {
      const store = makeMemoryObjectStore({ tempDir })
      await Effect.runPromise(store.putBytes("dir/data.csv", new TextEncoder().encode("a\n1\n")))
      const file = await Effect.runPromise(Effect.scoped(store.localFile("dir/data.csv")))
      expect(path.basename(file)).toBe("data.csv")
      expect(existsSync(file)).toBe(false)
      expect(await filesUnder(tempDir)).toEqual([])
    } finally {
      await rm(tempDir, { recursive: true, force: true })
    }
  })
})
