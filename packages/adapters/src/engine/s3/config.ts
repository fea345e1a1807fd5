import type { ConnectionConfig, FileFormat } from "@ingest/domain"
import { fileFormats, sanitizeIdentifier } from "@ingest/domain"
import { Result } from "effect"

export interface S3SourceConfig {
  readonly bucket: string
  /** Listing starts here ("" = the whole bucket). */
  readonly prefix: string
  /** Matched against the whole key; `**` crosses `/`, `*` does not. Absent: every key under the prefix. */
  readonly glob: string | undefined
  /** Absent: detected per object from its first bytes and name. */
  readonly format: FileFormat | undefined
  readonly endpoint: string | undefined
  readonly region: string
  /** Without keys requests are unsigned (public buckets): the service's own credentials are never used. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined
  readonly forcePathStyle: boolean
  /** The one stream this source offers. */
  readonly streamName: string
}

const text = (config: ConnectionConfig, key: string): string | undefined => {
  const value = config[key]
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined
}

const bucketName = /^[a-z0-9][a-z0-9.\-_]{1,254}$/i

export const parseS3Config = (config: ConnectionConfig): Result.Result<S3SourceConfig, string> => {
  const bucket = text(config, "bucket")
  if (bucket === undefined) return Result.fail("connectionConfig.bucket is required")
  if (!bucketName.test(bucket)) return Result.fail("connectionConfig.bucket is not a valid bucket name")
  const prefix = (typeof config.prefix === "string" ? config.prefix : "").replace(/^\/+/, "")
  if (prefix.length > 1024) return Result.fail("connectionConfig.prefix is too long")
  const glob = text(config, "glob") ?? text(config, "globs")
  if (glob !== undefined && glob.length > 1024) return Result.fail("connectionConfig.glob is too long")
  const rawFormat = text(config, "format")?.toLowerCase()
  const format = rawFormat === undefined || rawFormat === "auto" ? undefined : rawFormat
  if (format !== undefined && !(fileFormats as ReadonlyArray<string>).includes(format)) {
    return Result.fail(`connectionConfig.format must be one of ${fileFormats.join(", ")}`)
  }
  const endpoint = text(config, "endpoint")
  if (endpoint !== undefined) {
    let url: URL
    try {
      url = new URL(endpoint)
    } catch {
      return Result.fail("connectionConfig.endpoint must be a URL")
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return Result.fail("connectionConfig.endpoint must be http(s)")
  }
  const accessKeyId = text(config, "access_key_id") ?? text(config, "aws_access_key_id")
  const secretAccessKey = text(config, "secret_access_key") ?? text(config, "aws_secret_access_key")
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    return Result.fail("connectionConfig.access_key_id and secret_access_key go together")
  }
  const rawPathStyle = config.force_path_style ?? config.path_style_access
  return Result.succeed({
    bucket,
    prefix,
    glob,
    format: format as FileFormat | undefined,
    endpoint,
    region: text(config, "region") ?? "us-east-1",
    credentials: accessKeyId === undefined || secretAccessKey === undefined ? undefined : { accessKeyId, secretAccessKey },
    forcePathStyle: typeof rawPathStyle === "boolean" ? rawPathStyle : endpoint !== undefined,
    streamName: text(config, "stream_name") ?? text(config, "name") ?? sanitizeIdentifier(bucket, "files")
  })
}
