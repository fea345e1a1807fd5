import { execFile, execFileSync } from "node:child_process"
import { createReadStream, statSync } from "node:fs"
import * as Http from "node:http"
import * as Path from "node:path"

/**
 * What a client of the API does in the benchmarks: a streaming multipart upload of a file on disk
 * by curl (`curl -F file=@…`: one request with a Content-Length, the file streamed from disk), or
 * the same request from this process where curl is missing; JSON calls, and polling.
 */

export interface Caller {
  readonly baseUrl: string
  readonly token: string
  readonly tenant: string
}

const agent = new Http.Agent({ keepAlive: true })

const hasCurl = (() => {
  try {
    execFileSync("curl", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

/** The uploading client the benchmarks use. */
export const uploadClient = hasCurl ? "curl -F file=@… (streams the file)" : "node:http (curl not found), 1 MiB reads piped"

const parsed = (status: number, text: string) => {
  try {
    return { status, body: JSON.parse(text) }
  } catch {
    return { status, body: text }
  }
}

/** POST /api/v1/files/upload with the file as the `file` part; resolves with the answer once it arrives. */
export const uploadFile = (caller: Caller, file: string): Promise<{ status: number; body: any }> =>
  hasCurl ? uploadByCurl(caller, file) : uploadByNode(caller, file)

const uploadByCurl = (caller: Caller, file: string): Promise<{ status: number; body: any }> =>
  new Promise((resolve, reject) => {
    const url = new URL("/api/v1/files/upload", caller.baseUrl)
    const args = [
      "-sS", "-H", `authorization: Bearer ${caller.token}`, "-H", `x-tenant-id: ${caller.tenant}`, "-H", "Expect:",
      "-F", `file=@${file};type=text/csv`, "-w", "\n%{http_code}", url.href
    ]
    execFile("curl", args, { maxBuffer: 64 << 20 }, (error, stdout) => {
      if (error) return reject(error)
      const cut = stdout.lastIndexOf("\n")
      resolve(parsed(Number(stdout.slice(cut + 1)), stdout.slice(0, cut)))
    })
  })

const uploadByNode = (caller: Caller, file: string): Promise<{ status: number; body: any }> =>
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
      response.on("end", () => resolve(parsed(response.statusCode ?? 0, Buffer.concat(chunks).toString("utf8"))))
      response.on("error", reject)
    })
    request.on("error", reject)
    // The file goes out in 1 MiB reads, piped as they are (as curl sends a file): the client
    // must not be what the upload waits for.
    request.write(head)
    const body = createReadStream(file, { highWaterMark: 1 << 20 })
    body.on("error", reject)
    body.on("end", () => request.end(tail))
    body.pipe(request, { end: false })
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
