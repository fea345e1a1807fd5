import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3"
import { Effect, Scope } from "effect"
import * as Fs from "node:fs"
import * as FsPromises from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import type { S3SourceConfig } from "./config.ts"
import { globToRegExp, literalPrefix } from "./glob.ts"

export interface SourceObject {
  readonly key: string
  readonly size: number
  /** Epoch milliseconds. */
  readonly lastModified: number
}

/** Listing stops here: a source with more objects needs a narrower prefix or glob. */
export const maxListedObjects = 100_000

export const makeS3Client = (config: S3SourceConfig): S3Client =>
  new S3Client({
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    maxAttempts: 2,
    // S3-compatible stores (MinIO, Ceph, s3rver …) often lack the SDK's default CRC checksums.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    ...(config.credentials === undefined
      // Unsigned requests: a tenant's source must never borrow the service's own credentials.
      ? { credentials: { accessKeyId: "", secretAccessKey: "" }, signer: { sign: async (request) => request } }
      : { credentials: config.credentials })
  })

/** An S3 client for the current scope. */
export const s3Client = (config: S3SourceConfig): Effect.Effect<S3Client, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.sync(() => makeS3Client(config)), (client) => Effect.sync(() => client.destroy()))

/** What went wrong, for users: the service's error code and message, never a credential. */
export const describeS3Error = (error: unknown, config: S3SourceConfig): string => {
  const e = error as { name?: unknown; message?: unknown; code?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: number } }
  const name = typeof e.Code === "string" ? e.Code : typeof e.name === "string" ? e.name : "Error"
  const status = e.$metadata?.httpStatusCode
  switch (name) {
    case "NoSuchBucket":
      return `Bucket "${config.bucket}" does not exist`
    case "AccessDenied":
    case "Forbidden":
      return `Access to bucket "${config.bucket}" denied`
    case "InvalidAccessKeyId":
      return "The access key id is not known to the storage service"
    case "SignatureDoesNotMatch":
      return "The secret access key does not match the access key id"
  }
  const code = typeof e.code === "string" ? e.code : undefined
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT") {
    return `Cannot reach ${config.endpoint ?? "S3"}: ${code}`
  }
  const message = typeof e.message === "string" && e.message !== "" && e.message !== "UnknownError" ? e.message : name
  return status === undefined ? message : `${message} (HTTP ${status})`
}

/** Every object of the source that matches prefix and glob, oldest first (ties by key). */
export const listObjects = (client: S3Client, config: S3SourceConfig, limit = maxListedObjects) =>
  Effect.tryPromise({
    try: async (signal) => {
      const pattern = config.glob === undefined ? undefined : globToRegExp(config.glob)
      const globPrefix = config.glob === undefined ? "" : literalPrefix(config.glob)
      // The listing prefix is the longer of the configured one and the glob's literal head.
      const prefix = globPrefix.startsWith(config.prefix) ? globPrefix : config.prefix
      const found: Array<SourceObject> = []
      let token: string | undefined
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: config.bucket, Prefix: prefix || undefined, ContinuationToken: token }),
          { abortSignal: signal }
        )
        for (const item of page.Contents ?? []) {
          const key = item.Key
          if (key === undefined || key.endsWith("/")) continue
          if (pattern !== undefined && !pattern.test(key)) continue
          found.push({ key, size: item.Size ?? 0, lastModified: item.LastModified?.getTime() ?? 0 })
          if (found.length > limit) throw new Error(`More than ${limit} objects match; narrow prefix or glob`)
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined
      } while (token !== undefined)
      found.sort((a, b) => a.lastModified - b.lastModified || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      return found as ReadonlyArray<SourceObject>
    },
    catch: (error) => describeS3Error(error, config)
  })

/** A scratch directory for downloads, removed with the scope. */
export const scratchDirectory: Effect.Effect<string, string, Scope.Scope> = Effect.acquireRelease(
  Effect.tryPromise({
    try: () => FsPromises.mkdtemp(Path.join(Os.tmpdir(), "ingest-s3-")),
    catch: (error) => `Cannot create a temporary directory: ${String(error)}`
  }),
  (dir) => Effect.promise(() => FsPromises.rm(dir, { recursive: true, force: true }))
)

/** Downloads one object into `directory`; returns the local path (named like the object). */
export const downloadObject = (client: S3Client, config: S3SourceConfig, key: string, directory: string) =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }), { abortSignal: signal })
      const body = response.Body as Readable | undefined
      if (body === undefined) throw new Error(`Object ${key} has no body`)
      const base = Path.basename(key).replace(/[^A-Za-z0-9._-]/g, "_") || "object"
      const file = Path.join(directory, `${crypto.randomUUID().slice(0, 8)}-${base}`)
      await pipeline(body, Fs.createWriteStream(file), { signal })
      return file
    },
    catch: (error) => `Cannot download ${key}: ${describeS3Error(error, config)}`
  })
