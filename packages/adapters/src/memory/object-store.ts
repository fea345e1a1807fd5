import { FileStorage, InfrastructureError } from "@ingest/domain"
import type { ObjectInfo, ObjectStore } from "@ingest/domain"
import { DateTime, Effect, Layer, Option, Stream } from "effect"
import * as fsp from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { assertValidKey, errorMessage, maxInMemoryBytes, validateKey, validatePrefix, validateRange } from "../storage/keys.ts"

// Objects live in a Map of byte arrays. Keys follow the same rules as the file system and S3
// stores (the shared key validation), and a put becomes visible only once its whole body has
// arrived, so a failed or interrupted upload leaves nothing behind, as with the real stores.

export interface MemoryObjectStoreOptions {
  /** Shown in `uri` (`memory://<name>/<key>`). */
  readonly name?: string | undefined
  /** Where `localFile` writes its temporary copies (default: the OS temp directory). */
  readonly tempDir?: string | undefined
  /** Upper bound of all bytes held, so a runaway test fails instead of exhausting memory (default 1 GiB). */
  readonly maxTotalBytes?: number | undefined
}

export interface MemoryObjectStore extends ObjectStore {
  /** Every key currently stored, sorted (for assertions). */
  readonly keys: () => ReadonlyArray<string>
}

interface StoredObject {
  readonly bytes: Uint8Array
  readonly lastModified: DateTime.Utc
}

/** Chunk size of `get`, so consumers see a stream of several chunks like from a real store. */
const readChunkBytes = 64 * 1024

const notFound = (key: string) => new InfrastructureError({ reason: `object not found: ${key}` })

const concat = (chunks: ReadonlyArray<Uint8Array>, size: number): Uint8Array => {
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  return bytes
}

export const makeMemoryObjectStore = (options: MemoryObjectStoreOptions = {}): MemoryObjectStore => {
  const name = options.name ?? "store"
  const tempRoot = options.tempDir ?? tmpdir()
  const maxTotalBytes = options.maxTotalBytes ?? 1024 * 1024 * 1024
  const objects = new Map<string, StoredObject>()

  const totalBytes = () => {
    let n = 0
    for (const object of objects.values()) n += object.bytes.length
    return n
  }

  /** Replaces the object atomically (the step that makes a write visible). */
  const commit = (key: string, bytes: Uint8Array) =>
    Effect.gen(function*() {
      const previous = objects.get(key)?.bytes.length ?? 0
      if (totalBytes() - previous + bytes.length > maxTotalBytes) {
        return yield* new InfrastructureError({ reason: `memory store is full (limit ${maxTotalBytes} bytes): cannot write ${key}` })
      }
      const lastModified = yield* DateTime.now
      objects.set(key, { bytes, lastModified })
    })

  const existing = (key: string) =>
    validateKey(key).pipe(
      Effect.flatMap((valid) => {
        const object = objects.get(valid)
        return object === undefined ? Effect.fail(notFound(key)) : Effect.succeed(object)
      })
    )

  const infoOf = (key: string, object: StoredObject): ObjectInfo => ({
    key,
    size: object.bytes.length,
    lastModified: object.lastModified
  })

  const listObjects = (prefix: string) =>
    validatePrefix(prefix).pipe(
      Effect.map(() =>
        [...objects.entries()]
          .filter(([key]) => key.startsWith(prefix))
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([key, object]) => infoOf(key, object))
      )
    )

  return {
    keys: () => [...objects.keys()].sort(),

    uri: (key) => `memory://${name}/${assertValidKey(key)}`,

    put: <E>(key: string, body: Stream.Stream<Uint8Array, E>) =>
      Effect.gen(function*() {
        yield* validateKey(key)
        const chunks: Array<Uint8Array> = []
        let size = 0
        yield* Stream.runForEach(body, (chunk) =>
          Effect.suspend(() => {
            size += chunk.length
            if (size > maxTotalBytes) {
              return Effect.fail(new InfrastructureError({ reason: `object ${key} is larger than the memory store's limit` }))
            }
            // copy: the producer may reuse its buffer once the chunk is handed over
            chunks.push(chunk.slice())
            return Effect.void
          }))
        yield* commit(key, concat(chunks, size))
        return { size }
      }),

    putBytes: (key, bytes) => validateKey(key).pipe(Effect.andThen(commit(key, bytes.slice()))),

    putFile: (key, localPath) =>
      Effect.gen(function*() {
        yield* validateKey(key)
        const content = yield* Effect.tryPromise({
          try: () => fsp.readFile(localPath),
          catch: (cause) => new InfrastructureError({ reason: `read ${localPath}: ${errorMessage(cause)}` })
        })
        const bytes = new Uint8Array(content.buffer, content.byteOffset, content.byteLength).slice()
        yield* commit(key, bytes)
        return { size: bytes.length }
      }),

    get: (key) =>
      Stream.unwrap(
        existing(key).pipe(
          Effect.map(({ bytes }) => {
            const chunks: Array<Uint8Array> = []
            for (let offset = 0; offset < bytes.length; offset += readChunkBytes) {
              chunks.push(bytes.slice(offset, offset + readChunkBytes))
            }
            return Stream.fromIterable(chunks)
          })
        )
      ),

    getBytes: (key) =>
      existing(key).pipe(
        Effect.flatMap(({ bytes }) =>
          bytes.length > maxInMemoryBytes
            ? Effect.fail(new InfrastructureError({ reason: `object ${key} is ${bytes.length} bytes, more than ${maxInMemoryBytes} can be read into memory` }))
            : Effect.succeed(bytes.slice())
        )
      ),

    getRange: (key, start, endExclusive) =>
      validateRange(key, start, endExclusive).pipe(
        Effect.andThen(existing(key)),
        Effect.map(({ bytes }) => bytes.slice(Math.min(start, bytes.length), Math.min(endExclusive, bytes.length)))
      ),

    stat: (key) =>
      validateKey(key).pipe(
        Effect.map((valid) => Option.map(Option.fromNullishOr(objects.get(valid)), (object) => infoOf(valid, object)))
      ),

    remove: (key) =>
      validateKey(key).pipe(
        Effect.map((valid) => {
          objects.delete(valid)
        })
      ),

    removePrefix: (prefix) =>
      listObjects(prefix).pipe(
        Effect.map((infos) => {
          for (const info of infos) objects.delete(info.key)
        })
      ),

    list: listObjects,

    localFile: (key) =>
      Effect.gen(function*() {
        const { bytes } = yield* existing(key)
        const dir = yield* Effect.acquireRelease(
          Effect.tryPromise({
            try: () => fsp.mkdir(tempRoot, { recursive: true }).then(() => fsp.mkdtemp(path.join(tempRoot, "memory-object-"))),
            catch: (cause) => new InfrastructureError({ reason: `create temp dir for ${key}: ${errorMessage(cause)}` })
          }),
          (dir) => Effect.promise(() => fsp.rm(dir, { recursive: true, force: true }))
        )
        // keep the key's file name: some readers go by the extension
        const file = path.join(dir, path.posix.basename(key))
        yield* Effect.tryPromise({
          try: () => fsp.writeFile(file, bytes),
          catch: (cause) => new InfrastructureError({ reason: `write temp copy of ${key}: ${errorMessage(cause)}` })
        })
        return file
      })
  }
}

/** An in-memory `FileStorage` for use-case tests (each build starts empty). */
export const layerMemoryFileStorage = (options: MemoryObjectStoreOptions = {}): Layer.Layer<FileStorage> =>
  Layer.sync(FileStorage, () => makeMemoryObjectStore(options))

export const FileStorageMemory: Layer.Layer<FileStorage> = layerMemoryFileStorage()
