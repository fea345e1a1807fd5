import * as path from "node:path"
import { fileURLToPath } from "node:url"

export type StorageLocation =
  | { readonly kind: "file"; readonly dir: string }
  | { readonly kind: "s3"; readonly bucket: string; readonly prefix: string }

/** Bucket names per S3's rules (3–63 chars, lower-case letters, digits, dots, hyphens). */
export const isValidBucketName = (bucket: string) =>
  /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) && !bucket.includes("..")

/**
 * Reads a storage location (`INGEST_STORAGE_URL`, `INGEST_WAREHOUSE_URL`):
 * `file:///abs/dir`, `file://./rel/dir`, a plain path (relative ones resolve against the
 * working directory) or `s3://bucket/prefix`. Local directories come back absolute; S3
 * prefixes without leading or trailing slashes. Anything else throws with the reason.
 */
export const parseStorageUrl = (
  url: string,
  cwd: string = process.cwd()
): { kind: "file"; dir: string } | { kind: "s3"; bucket: string; prefix: string } => {
  const raw = typeof url === "string" ? url.trim() : ""
  if (raw === "") throw new Error("storage URL must not be empty")
  if (raw.includes("\0")) throw new Error("storage URL must not contain NUL")

  if (/^s3:\/\//i.test(raw)) return parseS3(raw)
  if (/^file:/i.test(raw)) return { kind: "file", dir: parseFileUrl(raw, cwd) }
  // "c:" style drive letters are paths, anything else with a scheme is a mistake worth reporting
  if (/^[a-z][a-z0-9+.-]+:/i.test(raw)) {
    throw new Error(`unsupported storage URL ${JSON.stringify(raw)}: use file://, s3:// or a path`)
  }
  return { kind: "file", dir: path.resolve(cwd, raw) }
}

const parseS3 = (raw: string) => {
  const rest = raw.slice("s3://".length)
  if (/[?#]/.test(rest)) throw new Error(`S3 storage URL ${JSON.stringify(raw)} must not have a query or fragment`)
  const slash = rest.indexOf("/")
  const bucket = slash < 0 ? rest : rest.slice(0, slash)
  const prefix = (slash < 0 ? "" : rest.slice(slash + 1)).replace(/^\/+|\/+$/g, "")
  if (!isValidBucketName(bucket)) {
    throw new Error(`invalid S3 bucket name ${JSON.stringify(bucket)} in storage URL`)
  }
  const segments = prefix === "" ? [] : prefix.split("/")
  if (segments.some((segment) => segment === "" || segment === "." || segment === "..") || prefix.includes("\\")) {
    throw new Error(`invalid S3 prefix ${JSON.stringify(prefix)} in storage URL`)
  }
  return { kind: "s3" as const, bucket, prefix }
}

const parseFileUrl = (raw: string, cwd: string) => {
  // `file://./rel` and `file://../rel` are not valid URLs (the "." would be a host) but are common
  // shorthand for a path relative to the working directory.
  const relative = /^file:\/\/(\.\.?(?:\/.*)?)$/i.exec(raw)
  if (relative !== null) return path.resolve(cwd, decodeURIComponent(relative[1]!))
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    throw new Error(`invalid file storage URL ${JSON.stringify(raw)}`)
  }
  if (parsed.host !== "" && parsed.host !== "localhost") {
    throw new Error(`file storage URL ${JSON.stringify(raw)} names a remote host; use file:///absolute/path`)
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    throw new Error(`file storage URL ${JSON.stringify(raw)} must not have a query or fragment`)
  }
  return path.resolve(fileURLToPath(parsed))
}
