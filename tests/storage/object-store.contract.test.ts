import { makeFsObjectStore } from "@ingest/adapters/storage/fs"
import { makeS3ObjectStore } from "@ingest/adapters/storage/s3"
import { Effect, Stream } from "effect"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { startS3rver } from "../support/s3rver.ts"
import { filesUnder, objectStoreContract } from "./object-store.contract.ts"

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
const text = (s: string) => new TextEncoder().encode(s)

objectStoreContract("local filesystem", async () => {
  const root = await mkdtemp(path.join(tmpdir(), "fs-store-"))
  return {
    store: makeFsObjectStore(root),
    uriPattern: new RegExp(`^file://${root}/dir/file\\.parquet$`),
    localFileIsCopy: false,
    rawEntries: () => filesUnder(root),
    danglingUploads: () => 0,
    close: () => rm(root, { recursive: true, force: true })
  }
})

objectStoreContract("S3 (s3rver)", async () => {
  const s3 = await startS3rver("contract-bucket")
  const tempDir = await mkdtemp(path.join(tmpdir(), "s3-store-tmp-"))
  const store = makeS3ObjectStore({ bucket: s3.bucket, prefix: "tenant-a/files", client: s3.client, tempDir })
  // Each multipart upload started must be completed or aborted. s3rver has no AbortMultipartUpload
  // route (it answers 405), so the abort request being sent is what is counted.
  const multipart = { started: 0, finished: 0 }
  s3.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "AbortMultipartUploadCommand") multipart.finished++
      const result = await next(args)
      if (context.commandName === "CreateMultipartUploadCommand") multipart.started++
      if (context.commandName === "CompleteMultipartUploadCommand") multipart.finished++
      return result
    },
    { step: "initialize", name: "countMultipartUploads" }
  )
  return {
    store,
    uriPattern: /^s3:\/\/contract-bucket\/tenant-a\/files\/dir\/file\.parquet$/,
    localFileIsCopy: true,
    danglingUploads: () => multipart.started - multipart.finished,
    rawEntries: async () => {
      const all = await Effect.runPromise(makeS3ObjectStore({ bucket: s3.bucket, prefix: "", client: s3.client }).list(""))
      return [...all.map((i) => i.key), ...(await filesUnder(tempDir)).map((f) => `tmp:${f}`)].sort()
    },
    close: async () => {
      await s3.stop()
      await rm(tempDir, { recursive: true, force: true })
    }
  }
})

describe("fs store specifics", () => {
  it("frees the memory of an upload's chunks once written, and only of chunks that are whole buffers", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "fs-store-release-"))
    try {
      const store = makeFsObjectStore(root)
      const own = () => Array.from({ length: 40 }, (_, i) => new Uint8Array(64 * 1024).fill(i))
      const shared = new Uint8Array(8192).fill(7)
      const released = [...own(), shared.subarray(0, 4096)]
      const { size } = await run(store.put("up/a.bin", Stream.fromIterable(released), { releaseChunks: true }))
      expect(size).toBe(40 * 64 * 1024 + 4096)
      const stored = await readFile(path.join(root, "up", "a.bin"))
      expect(stored.length).toBe(size)
      for (let i = 0; i < 40; i++) expect(stored[i * 64 * 1024 + 100]).toBe(i)
      // Freed: the whole-buffer chunks (their buffers are detached, length 0). Kept: the view into a larger buffer.
      expect(released.slice(0, 40).every((c) => c.buffer.byteLength === 0)).toBe(true)
      expect(shared.byteLength).toBe(8192)
      expect(shared[5000]).toBe(7)
      // Without the option every chunk stays as it was (the writer of Parquet files keeps its last chunks).
      const kept = own()
      await run(store.put("up/b.bin", Stream.fromIterable(kept)))
      expect(kept.every((c) => c.byteLength === 64 * 1024)).toBe(true)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  it("maps keys to files under the root and its uri back to that file", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "fs-store-map-"))
    try {
      const store = makeFsObjectStore(root)
      await run(store.putBytes("a/b c/d.txt", text("x")))
      expect(await readFile(path.join(root, "a", "b c", "d.txt"), "utf8")).toBe("x")
      expect(fileURLToPath(store.uri("a/b c/d.txt"))).toBe(path.join(root, "a", "b c", "d.txt"))
      const local = await run(Effect.scoped(store.localFile("a/b c/d.txt")))
      expect(local).toBe(path.join(root, "a", "b c", "d.txt"))
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
