import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  S3Client,
  type S3ClientConfig
} from "@aws-sdk/client-s3"
import { Upload } from "@aws-sdk/lib-storage"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { InfrastructureError, type ObjectInfo, type ObjectStore } from "@ingest/domain"
import { DateTime, Effect, Option, Stream } from "effect"
import { createReadStream, createWriteStream } from "node:fs"
import * as fsp from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import type { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import {
  assertValidKey,
  errorMessage,
  maxInMemoryBytes,
  validateKey,
  validatePrefix,
  validateRange
} from "./keys.ts"
import { isValidBucketName } from "./url.ts"

/** Multipart upload settings: memory stays near (queueSize + 1) × partSize per upload. */
export const uploadPartBytes = 8 * 1024 * 1024
export const uploadQueueSize = 2
/** S3 deletes at most 1000 keys per DeleteObjects request, which is also ListObjectsV2's page size. */
const deleteBatchSize = 1000

export interface S3ObjectStoreOptions {
  readonly bucket: string
  /** Key prefix inside the bucket ("" for the bucket root); leading/trailing slashes are ignored. */
  readonly prefix: string
  readonly client: S3Client
  /** Where `localFile` downloads go; defaults to the OS temp directory. */
  readonly tempDir?: string | undefined
}

const s3ErrorName = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "name" in cause ? String(cause.name) : undefined

const httpStatus = (cause: unknown): number | undefined => {
  if (typeof cause !== "object" || cause === null || !("$metadata" in cause)) return undefined
  const metadata = cause.$metadata
  return typeof metadata === "object" && metadata !== null && "httpStatusCode" in metadata
    ? Number(metadata.httpStatusCode)
    : undefined
}

const isNotFound = (cause: unknown) => {
  const name = s3ErrorName(cause)
  return name === "NoSuchKey" || name === "NotFound" || httpStatus(cause) === 404
}

const describeError = (cause: unknown) => {
  const name = s3ErrorName(cause)
  const message = errorMessage(cause)
  return name !== undefined && name !== "Error" && !message.includes(name) ? `${name}: ${message}` : message
}

/** Socket errors of an endpoint that does not answer (after the SDK's own retries). */
const unreachableCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"])

/**
 * Whether the store did not answer: a refused, lost or timed-out connection (on the error, its
 * cause, or any of an AggregateError's attempts), or a 502/503/504 from the endpoint or a proxy.
 */
export const isUnreachable = (cause: unknown, depth = 0): boolean => {
  if (typeof cause !== "object" || cause === null || depth > 4) return false
  const status = httpStatus(cause)
  if (status === 502 || status === 503 || status === 504) return true
  if ("code" in cause && typeof cause.code === "string" && unreachableCodes.has(cause.code)) return true
  const name = s3ErrorName(cause)
  if (name === "TimeoutError" || name === "RequestTimeout") return true
  if ("errors" in cause && Array.isArray(cause.errors) && cause.errors.some((e) => isUnreachable(e, depth + 1))) return true
  return "cause" in cause && isUnreachable(cause.cause, depth + 1)
}

/** The error of a failed call: `what` and the SDK's words for logs, marked when the store did not answer. */
const failure = (what: string, cause: unknown) =>
  new InfrastructureError({
    reason: `${what}: ${describeError(cause)}`,
    ...(isUnreachable(cause) ? { unreachable: "object storage" as const } : {})
  })

export const makeS3ObjectStore = (options: S3ObjectStoreOptions): ObjectStore => {
  const { bucket, client } = options
  if (!isValidBucketName(bucket)) throw new Error(`invalid S3 bucket name ${JSON.stringify(bucket)}`)
  const prefix = options.prefix.replace(/^\/+|\/+$/g, "")
  if (prefix !== "") assertValidKey(prefix)
  const tempRoot = options.tempDir ?? tmpdir()

  const fullKey = (key: string) => (prefix === "" ? key : `${prefix}/${key}`)
  const keyPrefix = prefix === "" ? "" : `${prefix}/`
  const relativeKey = (objectKey: string) => objectKey.slice(keyPrefix.length)

  /** Runs one SDK call; interruption aborts the HTTP request. */
  const send = <A>(what: string, call: (abortSignal: AbortSignal) => Promise<A>) =>
    Effect.tryPromise({
      try: (signal) => call(signal),
      catch: (cause) => failure(what, cause)
    })

  /** Like `send`, but a missing object yields None. */
  const sendOptional = <A>(what: string, call: (abortSignal: AbortSignal) => Promise<A>) =>
    Effect.tryPromise({
      try: (signal) =>
        call(signal).then(Option.some, (cause) => {
          if (isNotFound(cause)) return Option.none<A>()
          throw cause
        }),
      catch: (cause) => failure(what, cause)
    })

  const notFound = (key: string) => new InfrastructureError({ reason: `object not found: ${key}` })

  /** GetObject of a validated key; a missing object is the clear "not found" error. */
  const getObject = (key: string, range?: string) =>
    sendOptional(`read ${key}`, (abortSignal) =>
      client.send(
        new GetObjectCommand({ Bucket: bucket, Key: fullKey(key), ...(range === undefined ? {} : { Range: range }) }),
        { abortSignal }
      )).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(notFound(key)), onSome: Effect.succeed }))
      )

  const readBody = (key: string, body: unknown) =>
    Effect.tryPromise({
      try: async () => {
        if (body === undefined) return new Uint8Array(0)
        return await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()
      },
      catch: (cause) => failure(`read ${key}`, cause)
    })

  /**
   * Uploads a Node stream with lib-storage (single PUT when small, multipart otherwise). On
   * interruption the body is destroyed and the upload settles, aborting any multipart upload,
   * before the interruption completes; so no parts are left behind.
   */
  const upload = (key: string, body: Readable | Uint8Array) =>
    Effect.callback<void, unknown>((resume) => {
      const task = new Upload({
        client,
        params: { Bucket: bucket, Key: fullKey(key), Body: body },
        partSize: uploadPartBytes,
        queueSize: uploadQueueSize,
        leavePartsOnError: false
      })
      const done = task.done()
      done.then(
        () => resume(Effect.void),
        (cause) => resume(Effect.fail(cause))
      )
      return Effect.promise(() => {
        // destroying a stream body makes the upload fail and abort its multipart upload itself;
        // an in-memory body has nothing to destroy, so the upload is aborted directly
        if (body instanceof Uint8Array) void task.abort()
        else body.destroy(new Error("upload interrupted"))
        return done.then(() => undefined, () => undefined)
      })
    })

  const toInfo = (key: string, size: number | undefined, lastModified: Date | undefined): ObjectInfo => ({
    key,
    size: size ?? 0,
    lastModified: DateTime.fromDateUnsafe(lastModified ?? new Date(0))
  })

  /** Pages through ListObjectsV2 under a validated relative prefix. */
  const listPages = <A>(
    listPrefix: string,
    onPage: (page: ListObjectsV2CommandOutput) => Effect.Effect<A, InfrastructureError>
  ) =>
    Effect.gen(function*() {
      const results: Array<A> = []
      let token: string | undefined
      do {
        const page = yield* send(`list ${listPrefix}`, (abortSignal) =>
          client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: fullKey(listPrefix),
              ...(token === undefined ? {} : { ContinuationToken: token })
            }),
            { abortSignal }
          ))
        results.push(yield* onPage(page))
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token !== undefined)
      return results
    })

  const list = (listPrefix: string) =>
    validatePrefix(listPrefix).pipe(
      Effect.flatMap(() =>
        listPages(listPrefix, (page) =>
          Effect.succeed(
            (page.Contents ?? []).flatMap((object) =>
              object.Key === undefined || !object.Key.startsWith(keyPrefix)
                ? []
                : [toInfo(relativeKey(object.Key), object.Size, object.LastModified)]
            )
          ))
      ),
      Effect.map((pages) => pages.flat())
    )

  return {
    uri: (key) => `s3://${bucket}/${fullKey(assertValidKey(key))}`,

    put: <E>(key: string, body: Stream.Stream<Uint8Array, E>) =>
      Effect.gen(function*() {
        yield* validateKey(key)
        let size = 0
        // the body's own typed failure must reach the caller as itself, not as an S3 error
        let bodyFailure: Option.Option<E> = Option.none()
        const counted = body.pipe(
          Stream.map((chunk) => {
            size += chunk.length
            return chunk
          }),
          Stream.tapError((error) =>
            Effect.sync(() => {
              bodyFailure = Option.some(error)
            })
          )
        )
        yield* upload(key, NodeStream.toReadableNever(counted)).pipe(
          Effect.catch((cause): Effect.Effect<never, E | InfrastructureError> =>
            Option.isSome(bodyFailure)
              ? Effect.fail(bodyFailure.value)
              : Effect.fail(failure(`upload ${key}`, cause))
          )
        )
        return { size }
      }),

    putBytes: (key, bytes) =>
      validateKey(key).pipe(
        Effect.flatMap(() => upload(key, bytes)),
        Effect.mapError((cause) =>
          cause instanceof InfrastructureError
            ? cause
            : failure(`upload ${key}`, cause)
        )
      ),

    putFile: (key, localPath) =>
      Effect.gen(function*() {
        yield* validateKey(key)
        const stats = yield* Effect.tryPromise({
          try: () => fsp.stat(localPath),
          catch: (cause) => new InfrastructureError({ reason: `read ${localPath}: ${errorMessage(cause)}` })
        })
        if (!stats.isFile()) return yield* new InfrastructureError({ reason: `${localPath} is not a regular file` })
        yield* upload(key, createReadStream(localPath)).pipe(
          Effect.mapError((cause) => failure(`upload ${key}`, cause))
        )
        return { size: stats.size }
      }),

    get: (key) =>
      Stream.unwrap(
        validateKey(key).pipe(
          Effect.flatMap(() => getObject(key)),
          Effect.map((response) =>
            NodeStream.fromReadable<Uint8Array, InfrastructureError>({
              evaluate: () => response.Body as Readable,
              onError: (cause) => failure(`read ${key}`, cause)
            })
          )
        )
      ),

    getBytes: (key) =>
      Effect.gen(function*() {
        yield* validateKey(key)
        const response = yield* getObject(key)
        if ((response.ContentLength ?? 0) > maxInMemoryBytes) {
          ;(response.Body as Readable | undefined)?.destroy()
          return yield* new InfrastructureError({
            reason: `object ${key} is ${response.ContentLength} bytes, more than ${maxInMemoryBytes} can be read into memory`
          })
        }
        return yield* readBody(key, response.Body)
      }),

    getRange: (key, start, endExclusive) =>
      Effect.gen(function*() {
        yield* validateKey(key)
        yield* validateRange(key, start, endExclusive)
        if (endExclusive - start > maxInMemoryBytes) {
          return yield* new InfrastructureError({
            reason: `range of ${endExclusive - start} bytes is too large to read into memory`
          })
        }
        if (start === endExclusive) {
          // an empty HTTP range is not expressible; still report a missing object as missing
          const head = yield* sendOptional(`stat ${key}`, (abortSignal) =>
            client.send(new HeadObjectCommand({ Bucket: bucket, Key: fullKey(key) }), { abortSignal }))
          if (Option.isNone(head)) return yield* notFound(key)
          return new Uint8Array(0)
        }
        const response = yield* getObject(key, `bytes=${start}-${endExclusive - 1}`).pipe(
          Effect.map(Option.some),
          // a range starting at or past the end is "416 InvalidRange": the slice is simply empty
          Effect.catchIf(
            (error) => /InvalidRange|416/.test(error.reason),
            () => Effect.succeed(Option.none())
          )
        )
        if (Option.isNone(response)) return new Uint8Array(0)
        const bytes = yield* readBody(key, response.value.Body)
        // Some S3-compatible servers ignore or misread a range and send more (even the whole
        // object); Content-Range tells where the body starts, so cut out what was asked for.
        const bodyStart = contentRangeStart(response.value.ContentRange) ?? (bytes.length > endExclusive - start ? 0 : start)
        return bytes.subarray(Math.max(0, start - bodyStart), Math.max(0, endExclusive - bodyStart))
      }),

    stat: (key) =>
      validateKey(key).pipe(
        Effect.flatMap(() =>
          sendOptional(`stat ${key}`, (abortSignal) =>
            client.send(new HeadObjectCommand({ Bucket: bucket, Key: fullKey(key) }), { abortSignal }))
        ),
        Effect.map(Option.map((head) => toInfo(key, head.ContentLength, head.LastModified)))
      ),

    remove: (key) =>
      validateKey(key).pipe(
        Effect.flatMap(() =>
          send(`remove ${key}`, (abortSignal) =>
            client.send(new DeleteObjectCommand({ Bucket: bucket, Key: fullKey(key) }), { abortSignal }))
        ),
        Effect.asVoid
      ),

    removePrefix: (removed) =>
      validatePrefix(removed).pipe(
        Effect.flatMap(() =>
          listPages(removed, (page) => {
            const keys = (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key]))
            return Effect.forEach(
              chunksOf(keys, deleteBatchSize),
              (batch) =>
                send(`remove ${removed}`, (abortSignal) =>
                  client.send(
                    new DeleteObjectsCommand({
                      Bucket: bucket,
                      Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true }
                    }),
                    { abortSignal }
                  )).pipe(
                    Effect.flatMap((result) =>
                      result.Errors !== undefined && result.Errors.length > 0
                        ? Effect.fail(
                          new InfrastructureError({
                            reason: `remove ${removed}: ${result.Errors.length} object(s) not deleted, first ${
                              result.Errors[0]?.Key
                            }: ${result.Errors[0]?.Code} ${result.Errors[0]?.Message}`
                          })
                        )
                        : Effect.void
                    )
                  ),
              { discard: true }
            )
          })
        ),
        Effect.asVoid
      ),

    list,

    localFile: (key) =>
      Effect.gen(function*() {
        yield* validateKey(key)
        const dir = yield* Effect.acquireRelease(
          Effect.tryPromise({
            try: () => fsp.mkdir(tempRoot, { recursive: true }).then(() => fsp.mkdtemp(path.join(tempRoot, "s3-object-"))),
            catch: (cause) => new InfrastructureError({ reason: `create temp dir for ${key}: ${errorMessage(cause)}` })
          }),
          (dir) => Effect.promise(() => fsp.rm(dir, { recursive: true, force: true }))
        )
        // keep the key's file name: some readers go by the extension
        const file = path.join(dir, path.posix.basename(key))
        const response = yield* getObject(key)
        yield* Effect.tryPromise({
          try: (signal) => pipeline(response.Body as Readable, createWriteStream(file), { signal }),
          catch: (cause) => failure(`download ${key}`, cause)
        })
        return file
      })
  }
}

/** First byte offset of a `Content-Range: bytes a-b/total` header, if there is one. */
const contentRangeStart = (header: string | undefined): number | undefined => {
  const match = header === undefined ? null : /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header.trim())
  return match === null ? undefined : Number(match[1])
}

const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const chunks: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size))
  return chunks
}

/**
 * An S3Client from the standard AWS environment (`AWS_REGION`/`AWS_DEFAULT_REGION`,
 * `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, else the SDK's default
 * credential chain) plus `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` for S3-compatible stores,
 * which are addressed path-style.
 */
export const s3ClientFromEnv = (env: Readonly<Record<string, string | undefined>> = process.env): S3Client => {
  const nonEmpty = (name: string) => {
    const value = env[name]?.trim()
    return value === undefined || value === "" ? undefined : value
  }
  const region = nonEmpty("AWS_REGION") ?? nonEmpty("AWS_DEFAULT_REGION") ?? "us-east-1"
  const endpoint = nonEmpty("AWS_ENDPOINT_URL_S3") ?? nonEmpty("AWS_ENDPOINT_URL")
  const accessKeyId = nonEmpty("AWS_ACCESS_KEY_ID")
  const secretAccessKey = nonEmpty("AWS_SECRET_ACCESS_KEY")
  const sessionToken = nonEmpty("AWS_SESSION_TOKEN")
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint)) {
    throw new Error(`AWS_ENDPOINT_URL_S3 must be an http(s) URL, got ${JSON.stringify(endpoint)}`)
  }
  const config: S3ClientConfig = {
    region,
    ...(accessKeyId !== undefined && secretAccessKey !== undefined
      ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) } }
      : {}),
    ...(endpoint === undefined
      ? {}
      : {
        endpoint,
        forcePathStyle: true,
        // many S3-compatible servers reject the SDK's default CRC checksum headers
        requestChecksumCalculation: "WHEN_REQUIRED" as const,
        responseChecksumValidation: "WHEN_REQUIRED" as const
      })
  }
  return new S3Client(config)
}
