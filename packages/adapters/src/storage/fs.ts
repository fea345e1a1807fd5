import * as NodeStream from "@effect/platform-node/NodeStream"
import { InfrastructureError, type ObjectInfo, type ObjectStore } from "@ingest/domain"
import { DateTime, Effect, Exit, Option, Stream } from "effect"
import { randomUUID } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { freeBuffer } from "../buffer-release.ts"
import {
  assertValidKey,
  errorMessage,
  maxInMemoryBytes,
  validateKey,
  validatePrefix,
  validateRange
} from "./keys.ts"

/**
 * Objects are plain files under the root; a key's `/` segments are directories. Writes go to a
 * hidden temp file in the target directory and are renamed into place, so readers never see a
 * partial object. Temp files carry this pattern and are invisible to `list`.
 */
const tempFilePattern = /^\.partial-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const tempFileName = () => `.partial-${randomUUID()}`

const readChunkBytes = 256 * 1024
const statConcurrency = 16

const errorCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined

const isMissing = (cause: unknown) => {
  const code = errorCode(cause)
  return code === "ENOENT" || code === "ENOTDIR"
}

const io = <A>(what: string, run: () => Promise<A>): Effect.Effect<A, InfrastructureError> =>
  Effect.tryPromise({
    try: run,
    catch: (cause) => new InfrastructureError({ reason: `${what}: ${errorMessage(cause)}` })
  })

/** Like `io`, but a missing file yields None instead of an error. */
const ioOptional = <A>(what: string, run: () => Promise<A>): Effect.Effect<Option.Option<A>, InfrastructureError> =>
  Effect.tryPromise({
    try: () =>
      run().then(Option.some, (cause) => {
        if (isMissing(cause)) return Option.none<A>()
        throw cause
      }),
    catch: (cause) => new InfrastructureError({ reason: `${what}: ${errorMessage(cause)}` })
  })

const notFound = (key: string) => new InfrastructureError({ reason: `object not found: ${key}` })

/** Bytes gathered before one write of a streamed put. */
const coalesceBytes = 1024 * 1024

/** Writes the whole buffer: FileHandle.write may write fewer bytes than asked. */
const writeFully = async (handle: fsp.FileHandle, bytes: Uint8Array) => {
  let offset = 0
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset)
    offset += bytesWritten
  }
}

/**
 * Writes `chunks` in order with as few system calls as the OS allows, without joining them first.
 * `release`: then frees the memory of each chunk that is a whole buffer of its own (a view into a
 * larger buffer may share it with bytes someone still reads).
 */
const writeAllFully = async (handle: fsp.FileHandle, chunks: ReadonlyArray<Uint8Array>, release = false) => {
  let rest = [...chunks]
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest)
    let written = bytesWritten
    while (rest.length > 0 && written >= rest[0]!.length) written -= rest.shift()!.length
    if (written > 0) rest[0] = rest[0]!.subarray(written)
  }
  if (release) {
    for (const chunk of chunks) if (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength) freeBuffer(chunk.buffer)
  }
}

/** Reads exactly `length` bytes from `position`, or fewer when the file ends first. */
const readFully = async (handle: fsp.FileHandle, position: number, length: number) => {
  const buffer = new Uint8Array(length)
  let filled = 0
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled)
    if (bytesRead === 0) break
    filled += bytesRead
  }
  return filled === length ? buffer : buffer.subarray(0, filled)
}

export const makeFsObjectStore = (rootDir: string): ObjectStore => {
  if (typeof rootDir !== "string" || rootDir.length === 0 || rootDir.includes("\0")) {
    throw new Error("object store root directory must be a non-empty path")
  }
  const root = path.resolve(rootDir)

  const filePath = (key: string) => path.join(root, ...key.split("/"))

  const resolveKey = (key: string) =>
    validateKey(key).pipe(
      Effect.flatMap((valid) =>
        tempFilePattern.test(path.posix.basename(valid))
          ? Effect.fail(new InfrastructureError({ reason: `invalid object key ${JSON.stringify(key)}: reserved name` }))
          : Effect.succeed(filePath(valid))
      )
    )

  const statFile = (key: string, file: string) =>
    ioOptional(`stat ${key}`, () => fsp.stat(file)).pipe(
      Effect.map(Option.filter((stats) => stats.isFile()))
    )

  const existingFile = (key: string) =>
    Effect.gen(function*() {
      const file = yield* resolveKey(key)
      const stats = yield* statFile(key, file)
      if (Option.isNone(stats)) return yield* notFound(key)
      return { file, size: stats.value.size }
    })

  /**
   * Opens a fresh temp file next to the target. A concurrent `removePrefix` may prune the
   * directory between mkdir and open, so a vanished directory is recreated a few times.
   */
  const openTemp = (key: string, target: string) =>
    Effect.gen(function*() {
      const dir = path.dirname(target)
      for (let attempt = 0; ; attempt++) {
        yield* io(`create directory for ${key}`, () => fsp.mkdir(dir, { recursive: true }))
        const temp = path.join(dir, tempFileName())
        const handle = yield* ioOptional(`open temp file for ${key}`, () => fsp.open(temp, "wx"))
        if (Option.isSome(handle)) return { temp, handle: handle.value }
        if (attempt >= 3) return yield* new InfrastructureError({ reason: `cannot create directory for ${key}` })
      }
    })

  /**
   * Runs `write` against a temp file, then renames it over the target. Any failure or
   * interruption removes the temp file, so nothing partial is left behind or becomes visible.
   */
  const writeAtomically = <E>(
    key: string,
    write: (handle: fsp.FileHandle) => Effect.Effect<number, E | InfrastructureError>
  ): Effect.Effect<{ readonly size: number }, E | InfrastructureError> =>
    Effect.gen(function*() {
      const target = yield* resolveKey(key)
      const close = (handle: fsp.FileHandle) => Effect.promise(() => handle.close().catch(() => undefined))
      return yield* Effect.acquireUseRelease(
        openTemp(key, target),
        ({ handle, temp }) =>
          Effect.gen(function*() {
            const size = yield* write(handle)
            yield* io(`flush ${key}`, () => handle.datasync())
            yield* close(handle)
            // once the rename has started it must finish, or the object's state would be unknown
            yield* Effect.uninterruptible(io(`rename into ${key}`, () => fsp.rename(temp, target)))
            return { size }
          }),
        // close waits for any write still in flight, so the unlink really removes the temp file
        ({ handle, temp }, exit) =>
          Exit.isSuccess(exit)
            ? Effect.void
            : close(handle).pipe(Effect.andThen(Effect.promise(() => fsp.rm(temp, { force: true }).catch(() => undefined))))
      )
    })

  return {
    uri: (key) => pathToFileURL(filePath(assertValidKey(key))).href,

    put: (key, body, options) =>
      writeAtomically(key, (handle) => {
        // Small chunks (64 KiB from an HTTP body) are gathered into ~1 MiB writes: one write
        // per chunk costs more than the bytes themselves. A write runs while the next MiB is
        // gathered (the body is not held up by the disk), and waits for the one before it.
        let size = 0
        let pending: Array<Uint8Array> = []
        let pendingBytes = 0
        let writing: Promise<void> = Promise.resolve()
        const flush = io(`write ${key}`, async () => {
          await writing
          if (pendingBytes === 0) return
          // One writev of the gathered chunks: joining them first would copy every byte into fresh memory.
          const chunks = pending
          pending = []
          pendingBytes = 0
          // An upload's chunks freed once written: left to the collector, 150 MB of them brought
          // on a full collection every few tens of MB (they count as external memory).
          writing = writeAllFully(handle, chunks, options?.releaseChunks === true)
          // Its failure is met by the next flush, which awaits it; none goes unhandled meanwhile.
          writing.catch(() => undefined)
        })
        const finish = io(`write ${key}`, () => writing)
        return Stream.runForEach(body, (chunk) => {
          size += chunk.length
          pending.push(chunk)
          pendingBytes += chunk.length
          return pendingBytes >= coalesceBytes ? flush : Effect.void
        }).pipe(
          Effect.andThen(flush),
          Effect.andThen(finish),
          // A failed body leaves no write running on the handle that is closed next.
          Effect.onError(() => Effect.promise(() => writing.catch(() => undefined))),
          Effect.map(() => size)
        )
      }),

    putBytes: (key, bytes) =>
      writeAtomically(key, (handle) =>
        io(`write ${key}`, () => writeFully(handle, bytes)).pipe(Effect.as(bytes.length))).pipe(Effect.asVoid),

    putFile: (key, localPath) =>
      writeAtomically(key, (handle) =>
        Effect.acquireUseRelease(
          io(`open ${localPath}`, () => fsp.open(localPath, "r")),
          (source) =>
            io(`copy ${localPath} to ${key}`, async () => {
              // copy through the already-open temp handle so the atomic rename covers it
              let size = 0
              for (;;) {
                const chunk = await readFully(source, size, readChunkBytes)
                if (chunk.length === 0) return size
                await writeFully(handle, chunk)
                size += chunk.length
              }
            }),
          (source) => Effect.promise(() => source.close().catch(() => undefined))
        )),

    get: (key) =>
      Stream.unwrap(
        existingFile(key).pipe(
          Effect.map(({ file }) =>
            NodeStream.fromReadable<Uint8Array, InfrastructureError>({
              evaluate: () => createReadStream(file, { highWaterMark: readChunkBytes }),
              onError: (cause) => new InfrastructureError({ reason: `read ${key}: ${errorMessage(cause)}` })
            })
          )
        )
      ),

    getBytes: (key) =>
      Effect.gen(function*() {
        const { file, size } = yield* existingFile(key)
        if (size > maxInMemoryBytes) {
          return yield* new InfrastructureError({
            reason: `object ${key} is ${size} bytes, more than ${maxInMemoryBytes} can be read into memory`
          })
        }
        const bytes = yield* io(`read ${key}`, () => fsp.readFile(file))
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      }),

    getRange: (key, start, endExclusive) =>
      Effect.gen(function*() {
        yield* validateRange(key, start, endExclusive)
        const { file, size } = yield* existingFile(key)
        const length = Math.max(0, Math.min(endExclusive, size) - start)
        if (length === 0) return new Uint8Array(0)
        if (length > maxInMemoryBytes) {
          return yield* new InfrastructureError({ reason: `range of ${length} bytes is too large to read into memory` })
        }
        return yield* Effect.acquireUseRelease(
          io(`open ${key}`, () => fsp.open(file, "r")),
          (handle) => io(`read ${key}`, () => readFully(handle, start, length)),
          (handle) => Effect.promise(() => handle.close().catch(() => undefined))
        )
      }),

    stat: (key) =>
      Effect.gen(function*() {
        const file = yield* resolveKey(key)
        const stats = yield* statFile(key, file)
        return Option.map(stats, (s): ObjectInfo => ({
          key,
          size: s.size,
          lastModified: DateTime.fromDateUnsafe(s.mtime)
        }))
      }),

    remove: (key) =>
      Effect.gen(function*() {
        const file = yield* resolveKey(key)
        yield* Effect.tryPromise({
          try: () =>
            fsp.unlink(file).catch((cause) => {
              // removing what is not there (or is a directory, i.e. no object) is a no-op, as on S3
              if (isMissing(cause) || errorCode(cause) === "EISDIR") return
              throw cause
            }),
          catch: (cause) => new InfrastructureError({ reason: `remove ${key}: ${errorMessage(cause)}` })
        })
      }),

    removePrefix: (prefix) =>
      Effect.gen(function*() {
        const objects = yield* listObjects(prefix)
        yield* Effect.forEach(
          objects,
          (object) =>
            Effect.tryPromise({
              try: () => fsp.unlink(filePath(object.key)).catch((cause) => {
                if (!isMissing(cause)) throw cause
              }),
              catch: (cause) => new InfrastructureError({ reason: `remove ${object.key}: ${errorMessage(cause)}` })
            }),
          { concurrency: statConcurrency, discard: true }
        )
        yield* io(`prune empty directories under ${prefix}`, () => pruneEmptyDirectories(baseDirOf(prefix)))
      }),

    list: (prefix) => listObjects(prefix),

    localFile: (key) => existingFile(key).pipe(Effect.map(({ file }) => file))
  }

  /** The deepest directory that contains every key starting with `prefix`. */
  function baseDirOf(prefix: string) {
    const cut = prefix.lastIndexOf("/")
    return cut < 0 ? root : filePath(prefix.slice(0, cut))
  }

  function listObjects(prefix: string): Effect.Effect<ReadonlyArray<ObjectInfo>, InfrastructureError> {
    return Effect.gen(function*() {
      yield* validatePrefix(prefix)
      const files = yield* io(`list ${prefix}`, () => walkFiles(baseDirOf(prefix)))
      const keys = files
        .map((file) => path.relative(root, file).split(path.sep).join("/"))
        .filter((key) => key.startsWith(prefix))
        .sort()
      const infos = yield* Effect.forEach(
        keys,
        (key) =>
          statFile(key, filePath(key)).pipe(
            Effect.map(Option.map((s): ObjectInfo => ({
              key,
              size: s.size,
              lastModified: DateTime.fromDateUnsafe(s.mtime)
            })))
          ),
        { concurrency: statConcurrency }
      )
      // a file removed between walk and stat is simply no longer listed
      return infos.flatMap((info) => Option.isSome(info) ? [info.value] : [])
    })
  }

  /** Regular files below `dir`, skipping temp files and symlinks (which could point outside the root). */
  async function walkFiles(dir: string): Promise<Array<string>> {
    const found: Array<string> = []
    const pending = [dir]
    while (pending.length > 0) {
      const current = pending.pop()!
      let entries
      try {
        entries = await fsp.readdir(current, { withFileTypes: true })
      } catch (cause) {
        if (isMissing(cause)) continue
        throw cause
      }
      for (const entry of entries) {
        const full = path.join(current, entry.name)
        if (entry.isDirectory()) pending.push(full)
        else if (entry.isFile() && !tempFilePattern.test(entry.name)) found.push(full)
      }
    }
    return found
  }

  /** Removes now-empty directories below `dir` (bottom-up), never the root itself. */
  async function pruneEmptyDirectories(dir: string): Promise<void> {
    let entries
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true })
    } catch (cause) {
      if (isMissing(cause)) return
      throw cause
    }
    for (const entry of entries) {
      if (entry.isDirectory()) await pruneEmptyDirectories(path.join(dir, entry.name))
    }
    if (dir === root) return
    await fsp.rmdir(dir).catch((cause) => {
      // not empty (a concurrent write, or non-object files) or already gone: leave it
      const code = errorCode(cause)
      if (code !== "ENOTEMPTY" && code !== "EEXIST" && !isMissing(cause)) throw cause
    })
  }
}
