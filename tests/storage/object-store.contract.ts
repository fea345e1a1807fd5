import { InfrastructureError, type ObjectStore } from "@ingest/domain"
import { Data, Deferred, Effect, Exit, Fiber, Option, Stream } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

class BrokenInput extends Data.TaggedError("BrokenInput")<{ readonly at: number }> {}

const MiB = 1024 * 1024

/** Deterministic pseudo-random chunks, so a multi-MB body costs no memory up front. */
const chunkedBody = (totalBytes: number, chunkBytes = 64 * 1024) => {
  const chunks: Array<Uint8Array> = []
  for (let offset = 0; offset < totalBytes; offset += chunkBytes) {
    chunks.push(randomBytes(Math.min(chunkBytes, totalBytes - offset)))
  }
  return chunks
}

const sha256 = (chunks: Iterable<Uint8Array>) => {
  const hash = createHash("sha256")
  for (const chunk of chunks) hash.update(chunk)
  return hash.digest("hex")
}

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
const runExit = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.exit(effect))
const text = (s: string) => new TextEncoder().encode(s)
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

const expectInfrastructureFailure = (exit: Exit.Exit<unknown, unknown>, message: RegExp) => {
  expect(Exit.isFailure(exit)).toBe(true)
  if (Exit.isFailure(exit)) {
    const error = exit.cause.reasons.find((r) => r._tag === "Fail")
    expect(error?._tag).toBe("Fail")
    const failure = error?._tag === "Fail" ? error.error : undefined
    expect(failure).toBeInstanceOf(InfrastructureError)
    expect((failure as InfrastructureError).reason).toMatch(message)
  }
}

export interface Harness {
  readonly store: ObjectStore
  readonly uriPattern: RegExp
  /** Whether a downloaded localFile is a temporary copy (removed with its scope). */
  readonly localFileIsCopy: boolean
  /** Everything physically stored, including any half-written leftovers. */
  readonly rawEntries: () => Promise<ReadonlyArray<string>>
  /** Multipart uploads started but neither completed nor aborted (always 0 where there are none). */
  readonly danglingUploads: () => number
  readonly close: () => Promise<void>
}

/**
 * The behaviour every ObjectStore shares. `setup` builds a fresh store (and whatever backs it);
 * `close` tears it down after the last test.
 */
export const objectStoreContract = (name: string, setup: () => Promise<Harness>) =>
  describe(`ObjectStore contract: ${name}`, () => {
    let h: Harness
    beforeAll(async () => {
      h = await setup()
    })
    afterAll(async () => {
      await h?.close()
    })

    it("round-trips a multi-MB stream byte for byte", async () => {
      const chunks = chunkedBody(12 * MiB + 12345)
      const { size } = await run(h.store.put("big/blob.bin", Stream.fromIterable(chunks)))
      expect(size).toBe(12 * MiB + 12345)
      const received: Array<Uint8Array> = []
      await run(Stream.runForEach(h.store.get("big/blob.bin"), (chunk) => Effect.sync(() => received.push(chunk))))
      expect(received.reduce((n, c) => n + c.length, 0)).toBe(size)
      expect(sha256(received)).toBe(sha256(chunks))
    })

    it("a put that may free its chunks once stored (an upload's body) stores the same bytes", async () => {
      const chunks = chunkedBody(3 * MiB + 777)
      // Views into a larger buffer among whole ones, as a multipart body mixes them.
      const shared = randomBytes(4096)
      chunks.splice(5, 0, shared.subarray(0, 1000), shared.subarray(1000))
      const expected = sha256(chunks)
      const { size } = await run(h.store.put("released/blob.bin", Stream.fromIterable(chunks), { releaseChunks: true }))
      expect(size).toBe(3 * MiB + 777 + 4096)
      expect(sha256([await run(h.store.getBytes("released/blob.bin"))])).toBe(expected)
    })

    it("put of an empty stream stores an empty object", async () => {
      expect(await run(h.store.put("small/nothing", Stream.empty))).toEqual({ size: 0 })
      expect((await run(h.store.getBytes("small/nothing"))).length).toBe(0)
    })

    it("putBytes / getBytes, overwrite replaces, empty objects work", async () => {
      await run(h.store.putBytes("small/hello.txt", text("hello")))
      expect(decode(await run(h.store.getBytes("small/hello.txt")))).toBe("hello")
      await run(h.store.putBytes("small/hello.txt", text("bye")))
      expect(decode(await run(h.store.getBytes("small/hello.txt")))).toBe("bye")
      await run(h.store.putBytes("small/empty", new Uint8Array(0)))
      expect((await run(h.store.getBytes("small/empty"))).length).toBe(0)
      const info = await run(h.store.stat("small/empty"))
      expect(Option.map(info, (i) => i.size)).toEqual(Option.some(0))
    })

    it("getRange returns the requested slice and clamps at the end", async () => {
      await run(h.store.putBytes("range/digits", text("0123456789")))
      expect(decode(await run(h.store.getRange("range/digits", 2, 5)))).toBe("234")
      expect(decode(await run(h.store.getRange("range/digits", 0, 1)))).toBe("0")
      expect(decode(await run(h.store.getRange("range/digits", 7, 100)))).toBe("789")
      expect((await run(h.store.getRange("range/digits", 4, 4))).length).toBe(0)
      expect((await run(h.store.getRange("range/digits", 10, 20))).length).toBe(0)
      expectInfrastructureFailure(await runExit(h.store.getRange("range/digits", 5, 2)), /invalid byte range/)
      expectInfrastructureFailure(await runExit(h.store.getRange("range/digits", -1, 2)), /invalid byte range/)
    })

    it("stat reports size and modification time; missing is None", async () => {
      const before = Date.now()
      await run(h.store.putBytes("stat/a.bin", new Uint8Array(1234)))
      const info = await run(h.store.stat("stat/a.bin"))
      expect(Option.isSome(info)).toBe(true)
      const value = Option.getOrThrow(info)
      expect(value.key).toBe("stat/a.bin")
      expect(value.size).toBe(1234)
      // S3 keeps whole seconds; allow generous slack for clock granularity, not for speed
      const modified = value.lastModified.epochMilliseconds
      expect(modified).toBeGreaterThan(before - 60_000)
      expect(modified).toBeLessThan(Date.now() + 60_000)
      expect(Option.isNone(await run(h.store.stat("stat/missing.bin")))).toBe(true)
      expect(Option.isNone(await run(h.store.stat("stat")))).toBe(true)
    })

    it("reading a missing object fails with a clear error", async () => {
      expectInfrastructureFailure(await runExit(h.store.getBytes("nope/missing")), /not found.*nope\/missing/)
      expectInfrastructureFailure(await runExit(Stream.runDrain(h.store.get("nope/missing"))), /not found/)
      expectInfrastructureFailure(await runExit(h.store.getRange("nope/missing", 0, 3)), /not found/)
      expectInfrastructureFailure(await runExit(Effect.scoped(h.store.localFile("nope/missing"))), /not found/)
    })

    it("list is recursive, filters by prefix and returns relative keys", async () => {
      for (const key of ["list/a/1", "list/a/2", "list/a/b/3", "list/ab/4", "list/c"]) {
        await run(h.store.putBytes(key, text(key)))
      }
      const keys = async (prefix: string) => (await run(h.store.list(prefix))).map((i) => i.key).sort()
      expect(await keys("list/a/")).toEqual(["list/a/1", "list/a/2", "list/a/b/3"])
      expect(await keys("list/a")).toEqual(["list/a/1", "list/a/2", "list/a/b/3", "list/ab/4"])
      expect(await keys("list/")).toEqual(["list/a/1", "list/a/2", "list/a/b/3", "list/ab/4", "list/c"])
      expect(await keys("list/zzz")).toEqual([])
      const [first] = await run(h.store.list("list/a/1"))
      expect(first?.size).toBe("list/a/1".length)
      expect(await keys("")).toEqual(expect.arrayContaining(["list/c", "list/a/b/3"]))
    })

    it("remove deletes one object and is a no-op for a missing one", async () => {
      await run(h.store.putBytes("rm/one", text("1")))
      await run(h.store.putBytes("rm/two", text("2")))
      await run(h.store.remove("rm/one"))
      await run(h.store.remove("rm/one"))
      expect(Option.isNone(await run(h.store.stat("rm/one")))).toBe(true)
      expect(Option.isSome(await run(h.store.stat("rm/two")))).toBe(true)
    })

    it("removePrefix deletes everything under the prefix and nothing else", async () => {
      for (let i = 0; i < 25; i++) await run(h.store.putBytes(`rp/x/${i % 3}/f${i}`, text(String(i))))
      await run(h.store.putBytes("rp/xy", text("keep")))
      await run(h.store.putBytes("rp/y/keep", text("keep")))
      await run(h.store.removePrefix("rp/x/"))
      expect((await run(h.store.list("rp/"))).map((i) => i.key).sort()).toEqual(["rp/xy", "rp/y/keep"])
      await run(h.store.removePrefix("rp/nothing-here/"))
      // after removal the same keys can be written again
      await run(h.store.putBytes("rp/x/0/f0", text("again")))
      expect(decode(await run(h.store.getBytes("rp/x/0/f0")))).toBe("again")
    })

    it("putFile copies a local file and leaves it in place", async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "store-putfile-"))
      try {
        const local = path.join(dir, "source.bin")
        const content = randomBytes(3 * MiB + 7)
        await writeFile(local, content)
        const { size } = await run(h.store.putFile("files/source.bin", local))
        expect(size).toBe(content.length)
        expect(existsSync(local)).toBe(true)
        expect(sha256([await run(h.store.getBytes("files/source.bin"))])).toBe(sha256([content]))
        expectInfrastructureFailure(await runExit(h.store.putFile("files/none", path.join(dir, "missing"))), /missing/)
        expect(Option.isNone(await run(h.store.stat("files/none")))).toBe(true)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })

    it("localFile gives a readable path with the object's bytes", async () => {
      await run(h.store.putBytes("local/data.csv", text("a,b\n1,2\n")))
      const file = await run(Effect.scoped(Effect.gen(function*() {
        const file = yield* h.store.localFile("local/data.csv")
        expect(yield* Effect.promise(() => readFile(file, "utf8"))).toBe("a,b\n1,2\n")
        return file
      })))
      // a download is cleaned up with its scope; a file on local disk is the object itself
      expect(existsSync(file)).toBe(!h.localFileIsCopy)
    })

    it("uri names the key absolutely", () => {
      expect(h.store.uri("dir/file.parquet")).toMatch(h.uriPattern)
    })

    it("a failing input stream leaves no object and no partial data behind", async () => {
      const before = await h.rawEntries()
      // more than one 8 MiB part, so S3 really starts (and must abort) a multipart upload
      const body = Stream.fromIterable(chunkedBody(9 * MiB)).pipe(Stream.concat(Stream.fail(new BrokenInput({ at: 9 * MiB }))))
      const exit = await runExit(h.store.put("broken/object.bin", body))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
        expect(failure?._tag === "Fail" ? failure.error : undefined).toBeInstanceOf(BrokenInput)
      }
      expect(Option.isNone(await run(h.store.stat("broken/object.bin")))).toBe(true)
      expect(await run(h.store.list("broken/"))).toEqual([])
      expect(await h.rawEntries()).toEqual(before)
      expect(h.danglingUploads()).toBe(0)
    })

    it("an interrupted put leaves no object and no partial data behind", async () => {
      const before = await h.rawEntries()
      const result = await run(Effect.gen(function*() {
        const started = yield* Deferred.make<void>()
        // past the first part, so an S3 multipart upload is in progress when interrupted
        const body = Stream.fromIterable(chunkedBody(9 * MiB)).pipe(
          Stream.concat(Stream.fromEffect(Deferred.succeed(started, undefined)).pipe(Stream.drain)),
          Stream.concat(Stream.never)
        )
        const fiber = yield* Effect.forkChild(h.store.put("interrupted/object.bin", body))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        return yield* h.store.stat("interrupted/object.bin")
      }))
      expect(Option.isNone(result)).toBe(true)
      expect(await h.rawEntries()).toEqual(before)
      expect(h.danglingUploads()).toBe(0)
    })

    it("rejects unsafe keys", async () => {
      for (const key of ["../x", "a/../../x", "/etc/passwd", "a\\b", "a\0b", "", "a//b", "./a", "dir/"]) {
        expectInfrastructureFailure(await runExit(h.store.putBytes(key, text("x"))), /invalid object key/)
        expectInfrastructureFailure(await runExit(h.store.getBytes(key)), /invalid object key/)
        expectInfrastructureFailure(await runExit(h.store.stat(key)), /invalid object key/)
        expect(() => h.store.uri(key)).toThrow(/invalid object key/)
      }
      expectInfrastructureFailure(await runExit(h.store.put("../x", Stream.make(text("x")))), /invalid object key/)
      expectInfrastructureFailure(await runExit(h.store.list("../")), /invalid object prefix/)
      expectInfrastructureFailure(await runExit(h.store.removePrefix("/")), /invalid object prefix/)
    })
  })

/** Relative paths of every file under a directory, sorted. */
export const filesUnder = async (dir: string): Promise<ReadonlyArray<string>> => {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort()
}
