import { GetObjectCommand } from "@aws-sdk/client-s3"
import { makeObjectStore, parseStorageUrl, s3ClientFromEnv } from "@ingest/adapters/storage/index"
import { Effect } from "effect"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startS3rver } from "../support/s3rver.ts"

describe("parseStorageUrl", () => {
  const cwd = "/srv/app"

  it("reads file URLs and plain paths as absolute directories", () => {
    expect(parseStorageUrl("file:///var/data/storage", cwd)).toEqual({ kind: "file", dir: "/var/data/storage" })
    expect(parseStorageUrl("file:///var/data/storage/", cwd)).toEqual({ kind: "file", dir: "/var/data/storage" })
    expect(parseStorageUrl("file://localhost/var/data", cwd)).toEqual({ kind: "file", dir: "/var/data" })
    expect(parseStorageUrl("file:///var/my%20data", cwd)).toEqual({ kind: "file", dir: "/var/my data" })
    expect(parseStorageUrl("file://./data/storage", cwd)).toEqual({ kind: "file", dir: "/srv/app/data/storage" })
    expect(parseStorageUrl("file://../shared", cwd)).toEqual({ kind: "file", dir: "/srv/shared" })
    expect(parseStorageUrl("./data", cwd)).toEqual({ kind: "file", dir: "/srv/app/data" })
    expect(parseStorageUrl("data", cwd)).toEqual({ kind: "file", dir: "/srv/app/data" })
    expect(parseStorageUrl("/abs/dir", cwd)).toEqual({ kind: "file", dir: "/abs/dir" })
  })

  it("reads s3 URLs into bucket and slash-free prefix", () => {
    expect(parseStorageUrl("s3://lake/warehouse", cwd)).toEqual({ kind: "s3", bucket: "lake", prefix: "warehouse" })
    expect(parseStorageUrl("s3://lake/a/b/", cwd)).toEqual({ kind: "s3", bucket: "lake", prefix: "a/b" })
    expect(parseStorageUrl("s3://lake", cwd)).toEqual({ kind: "s3", bucket: "lake", prefix: "" })
    expect(parseStorageUrl("s3://lake/", cwd)).toEqual({ kind: "s3", bucket: "lake", prefix: "" })
  })

  it("rejects what it cannot use, saying why", () => {
    expect(() => parseStorageUrl("", cwd)).toThrow(/empty/)
    expect(() => parseStorageUrl("http://example.com/x", cwd)).toThrow(/unsupported storage URL/)
    expect(() => parseStorageUrl("gs://bucket/x", cwd)).toThrow(/unsupported storage URL/)
    expect(() => parseStorageUrl("file://otherhost/x", cwd)).toThrow(/remote host/)
    expect(() => parseStorageUrl("s3://UPPER/x", cwd)).toThrow(/bucket name/)
    expect(() => parseStorageUrl("s3:///x", cwd)).toThrow(/bucket name/)
    expect(() => parseStorageUrl("s3://lake/a/../b", cwd)).toThrow(/prefix/)
    expect(() => parseStorageUrl("s3://lake/a//b", cwd)).toThrow(/prefix/)
    expect(() => parseStorageUrl("s3://lake/a?x=1", cwd)).toThrow(/query/)
  })
})

describe("s3ClientFromEnv", () => {
  it("uses region, static credentials and a path-style custom endpoint", async () => {
    const client = s3ClientFromEnv({
      AWS_REGION: "eu-central-1",
      AWS_ACCESS_KEY_ID: "AKID",
      AWS_SECRET_ACCESS_KEY: "SECRET",
      AWS_SESSION_TOKEN: "TOKEN",
      AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9000"
    })
    try {
      expect(await client.config.region()).toBe("eu-central-1")
      expect(client.config.forcePathStyle).toBe(true)
      const credentials = await client.config.credentials()
      expect(credentials).toMatchObject({ accessKeyId: "AKID", secretAccessKey: "SECRET", sessionToken: "TOKEN" })
      const endpoint = await client.config.endpoint?.()
      expect(endpoint?.hostname).toBe("127.0.0.1")
      expect(endpoint?.port).toBe(9000)
    } finally {
      client.destroy()
    }
  })

  it("falls back to AWS_DEFAULT_REGION, then us-east-1, and virtual-host style without an endpoint", async () => {
    const a = s3ClientFromEnv({ AWS_DEFAULT_REGION: "us-west-2" })
    const b = s3ClientFromEnv({})
    try {
      expect(await a.config.region()).toBe("us-west-2")
      expect(await b.config.region()).toBe("us-east-1")
      expect(b.config.forcePathStyle).not.toBe(true)
    } finally {
      a.destroy()
      b.destroy()
    }
  })

  it("rejects an endpoint that is not an http(s) URL", () => {
    expect(() => s3ClientFromEnv({ AWS_ENDPOINT_URL_S3: "minio:9000" })).toThrow(/http\(s\) URL/)
  })
})

describe("makeObjectStore", () => {
  let s3: Awaited<ReturnType<typeof startS3rver>>
  let scratch: string
  const saved: Record<string, string | undefined> = {}
  const env = (name: string, value: string) => {
    saved[name] = process.env[name]
    process.env[name] = value
  }

  beforeAll(async () => {
    s3 = await startS3rver("url-bucket")
    scratch = await mkdtemp(path.join(tmpdir(), "make-store-"))
    env("AWS_ENDPOINT_URL_S3", s3.endpoint)
    env("AWS_ACCESS_KEY_ID", "S3RVER")
    env("AWS_SECRET_ACCESS_KEY", "S3RVER")
    env("AWS_REGION", "us-east-1")
  })
  afterAll(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
    await s3?.stop()
    await rm(scratch, { recursive: true, force: true })
  })

  it("chooses the local filesystem for file URLs and paths", async () => {
    const store = makeObjectStore(`file://${scratch}/fs`, { tempDir: scratch })
    await Effect.runPromise(store.putBytes("k/v.txt", new TextEncoder().encode("local")))
    expect(await readFile(path.join(scratch, "fs", "k", "v.txt"), "utf8")).toBe("local")
    expect(makeObjectStore(path.join(scratch, "fs"), { tempDir: scratch }).uri("k/v.txt")).toBe(
      `file://${scratch}/fs/k/v.txt`
    )
  })

  it("chooses S3 for s3 URLs, configured from the environment", async () => {
    const store = makeObjectStore("s3://url-bucket/tenants/t1", { tempDir: scratch })
    expect(store.uri("a/b.parquet")).toBe("s3://url-bucket/tenants/t1/a/b.parquet")
    await Effect.runPromise(store.putBytes("a/b.parquet", new TextEncoder().encode("remote")))
    const object = await s3.client.send(new GetObjectCommand({ Bucket: "url-bucket", Key: "tenants/t1/a/b.parquet" }))
    expect(await object.Body?.transformToString()).toBe("remote")
  })
})
