import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3"
import { mkdtemp, rm } from "node:fs/promises"
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import path from "node:path"

/** The part of s3rver's (untyped, CommonJS) API used here. */
interface S3rverInstance {
  run(): Promise<AddressInfo>
  close(): Promise<void>
  readonly httpServer?: Server
}
type S3rverConstructor = new (options: {
  address: string
  port: number
  directory: string
  silent: boolean
  resetOnClose: boolean
}) => S3rverInstance

const S3rver = createRequire(import.meta.url)("s3rver") as S3rverConstructor

/**
 * Starts an s3rver on a free loopback port with its own temp directory and one bucket.
 * `stop()` closes the client and server and removes the directory; `pause()` closes the server
 * only (connections are refused) and `resume()` starts it again on the same port and objects.
 */
export async function startS3rver(bucket = "test-bucket"): Promise<{
  endpoint: string
  bucket: string
  client: S3Client
  stop: () => Promise<void>
  pause: () => Promise<void>
  resume: () => Promise<void>
}> {
  const directory = await mkdtemp(path.join(tmpdir(), "s3rver-"))
  let server = new S3rver({ address: "127.0.0.1", port: 0, directory, silent: true, resetOnClose: false })
  let running = false
  let client: S3Client | undefined
  const pause = async () => {
    if (!running) return
    running = false
    // the SDK keeps sockets alive; close them so the server can shut down at once
    server.httpServer?.closeAllConnections()
    await server.close().catch(() => undefined)
  }
  const stop = async () => {
    client?.destroy()
    await pause()
    await rm(directory, { recursive: true, force: true })
  }
  try {
    const { port } = await server.run()
    running = true
    const resume = async () => {
      if (running) return
      server = new S3rver({ address: "127.0.0.1", port, directory, silent: true, resetOnClose: false })
      await server.run()
      running = true
    }
    const endpoint = `http://127.0.0.1:${port}`
    client = new S3Client({
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      // s3rver predates the SDK's default CRC checksums
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED"
    })
    await client.send(new CreateBucketCommand({ Bucket: bucket }))
    return { endpoint, bucket, client, stop, pause, resume }
  } catch (error) {
    await stop()
    throw error
  }
}
