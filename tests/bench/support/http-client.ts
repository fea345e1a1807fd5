import { createReadStream, statSync } from "node:fs"
import * as Http from "node:http"
import * as Path from "node:path"
import { pipeline } from "node:stream/promises"

/**
 * What a client of the API does in the benchmarks: a streaming multipart upload of a file on disk
 * (as `curl -F file=@…` sends it: one request with a Content-Length, the file read in 64 KiB
 * chunks), JSON calls, and polling.
 */

export interface Caller {
  readonly baseUrl: string
  readonly token: string
  readonly tenant: string
}

const agent = new Http.Agent({ keepAlive: true })

/** POST /api/v1/files/upload with the file as the `file` part; resolves with the answer once it arrives. */
export const uploadFile = (caller: Caller, file: string): Promise<{ status: number; body: any }> =>
  new Promise((resolve, reject) => {
    const boundary = `----ingest-bench-${crypto.randomUUID()}`
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${Path.basename(file)}"\r\n` +
        `Content-Type: text/csv\r\n\r\n`
    )
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
    const size = statSync(file).size
    const url = new URL("/api/v1/files/upload", caller.baseUrl)
    const request = Http.request(url, {
      method: "POST",
      agent,
      headers: {
        authorization: `Bearer ${caller.token}`,
        "x-tenant-id": caller.tenant,
        "content-type": `multipart/form-data; boundary=${boundary}`,
        "content-length": String(head.length + size + tail.length)
      }
    }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (c: Buffer) => chunks.push(c))
      response.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        try {
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) })
        } catch {
          resolve({ status: response.statusCode ?? 0, body: text })
        }
      })
      response.on("error", reject)
    })
    request.on("error", reject)
    request.write(head)
    pipeline(createReadStream(file, { highWaterMark: 64 * 1024 }), async function*(source) {
      for await (const chunk of source) yield chunk
      yield tail
    }, request).catch(reject)
  })

/** One JSON call; the body parsed when it is JSON. */
export const call = async (caller: Caller, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${caller.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${caller.token}`,
      "x-tenant-id": caller.tenant,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await res.text()
  let json: any = text
  try {
    json = text === "" ? undefined : JSON.parse(text)
  } catch {
    // not JSON
  }
  return { status: res.status, body: json }
}

/** Polls the import status every `everyMs` until it leaves IMPORTING; returns the last answer. */
export const waitImported = async (caller: Caller, fileId: string, everyMs = 50) => {
  for (;;) {
    const res = await call(caller, "GET", `/api/v1/files/${fileId}/status`)
    if (res.status !== 200) throw new Error(`GET status answered ${res.status}: ${JSON.stringify(res.body)}`)
    if (res.body.status !== "IMPORTING") return res.body as { status: string; recordsImported: number | null; error: string | null }
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
