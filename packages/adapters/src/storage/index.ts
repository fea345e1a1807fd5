import type { ObjectStore } from "@ingest/domain"
import { makeFsObjectStore } from "./fs.ts"
import { makeS3ObjectStore, s3ClientFromEnv } from "./s3.ts"
import { parseStorageUrl } from "./url.ts"

export { makeFsObjectStore } from "./fs.ts"
export { maxInMemoryBytes, maxKeyBytes } from "./keys.ts"
export {
  makeS3ObjectStore,
  s3ClientFromEnv,
  type S3ObjectStoreOptions,
  uploadPartBytes,
  uploadQueueSize
} from "./s3.ts"
export { isValidBucketName, parseStorageUrl, type StorageLocation } from "./url.ts"

/**
 * The object store a URL names: a local directory (`file://…` or a path) or an S3 bucket +
 * prefix (`s3://…`, client from the standard AWS environment). `tempDir` receives S3 downloads
 * made by `localFile`.
 */
export const makeObjectStore = (url: string, opts: { readonly tempDir: string }): ObjectStore => {
  const location = parseStorageUrl(url)
  return location.kind === "file"
    ? makeFsObjectStore(location.dir)
    : makeS3ObjectStore({ bucket: location.bucket, prefix: location.prefix, client: s3ClientFromEnv(), tempDir: opts.tempDir })
}
