import { createServer, request as httpRequest } from "node:http"
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"

// A forwarding proxy in front of an Iceberg REST catalog that keeps the bytes as they are (63-bit
// ids stay exact), records every exchange, and can inject faults: answer without forwarding,
// forward and then answer something else, reset the connection before or after forwarding, or
// forward and hold the answer forever (a client killed while waiting).

export interface Exchange {
  readonly method: string
  /** Path and query below the catalog URI, e.g. `/v1/config?warehouse=x`. */
  readonly path: string
  readonly requestHeaders: IncomingHttpHeaders
  readonly requestBody: string
  readonly status: number
  readonly responseHeaders: Record<string, string>
  readonly responseBody: string
}

export interface IncomingCall {
  readonly method: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export type Fault =
  | { readonly kind: "respond"; readonly status: number; readonly body?: unknown }
  | { readonly kind: "forward-then-respond"; readonly status: number; readonly body?: unknown }
  | { readonly kind: "reset" }
  | { readonly kind: "forward-then-reset" }
  | { readonly kind: "forward-then-hold"; readonly held: () => void }
  | { readonly kind: "hold"; readonly held: () => void }

export interface CatalogProxy {
  /** Base URL of the proxy: the catalog URI clients use. */
  readonly url: string
  readonly exchanges: Array<Exchange>
  /** Calls the fault hook saw (forwarded or not). */
  readonly calls: Array<IncomingCall>
  stop(): Promise<void>
}

export interface CatalogProxyOptions {
  /** The catalog's base URL (paths `/v1/…` are appended). */
  readonly upstream: string
  /** Decides per call: undefined forwards it unchanged. */
  readonly fault?: (call: IncomingCall) => Fault | undefined | Promise<Fault | undefined>
  /** Rewrites the headers sent upstream (e.g. swaps the client's token for the catalog's); undefined drops one. */
  readonly upstreamHeaders?: (call: IncomingCall) => Record<string, string | undefined>
  /** Rewrites a forwarded answer's body (e.g. adds vended credentials to a load result). */
  readonly rewrite?: (call: IncomingCall, status: number, body: string) => string
  /** Answers a call itself (e.g. a token endpoint); undefined lets it through. */
  readonly handle?: (call: IncomingCall) => { readonly status: number; readonly body: unknown } | undefined
  /** The loopback port to listen on (a proxy started again where a stopped one was); a free one by default. */
  readonly port?: number
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const forward = (upstream: string, call: IncomingCall, headers: Record<string, string>) =>
  new Promise<{ status: number; headers: Record<string, string>; body: string }>((resolve, reject) => {
    const url = new URL(`${upstream}${call.path}`)
    const req = httpRequest(url, { method: call.method, headers: { ...headers, "content-length": String(Buffer.byteLength(call.body)) } }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () => {
        const out: Record<string, string> = {}
        for (const [key, value] of Object.entries(res.headers)) {
          if (value !== undefined && !["transfer-encoding", "connection", "content-length", "keep-alive"].includes(key)) {
            out[key] = Array.isArray(value) ? value.join(", ") : value
          }
        }
        resolve({ status: res.statusCode ?? 0, headers: out, body: Buffer.concat(chunks).toString("utf8") })
      })
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(call.body)
  })

const passHeaders = (headers: IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined || ["host", "connection", "content-length", "transfer-encoding", "keep-alive"].includes(key)) continue
    out[key] = Array.isArray(value) ? value.join(", ") : value
  }
  return out
}

export const startCatalogProxy = async (options: CatalogProxyOptions): Promise<CatalogProxy> => {
  const exchanges: Array<Exchange> = []
  const calls: Array<IncomingCall> = []
  const sockets = new Set<Socket>()
  const send = (res: ServerResponse, status: number, headers: Record<string, string>, body: string) => {
    res.writeHead(status, { ...headers, "content-length": String(Buffer.byteLength(body)) })
    res.end(body)
  }
  const server = createServer(async (req, res) => {
    try {
      const call: IncomingCall = { method: req.method ?? "GET", path: req.url ?? "/", headers: req.headers, body: await readBody(req) }
      calls.push(call)
      const own = options.handle?.(call)
      if (own !== undefined) return send(res, own.status, { "content-type": "application/json" }, JSON.stringify(own.body))
      const fault = await options.fault?.(call)
      const headers: Record<string, string> = {}
      for (const [key, value] of Object.entries({ ...passHeaders(call.headers), ...options.upstreamHeaders?.(call) })) {
        if (value !== undefined) headers[key] = value
      }
      if (fault?.kind === "reset") return req.socket.destroy()
      if (fault?.kind === "hold") return fault.held()
      if (fault?.kind === "respond") {
        return send(res, fault.status, { "content-type": "application/json" }, JSON.stringify(fault.body ?? {}))
      }
      const forwarded = await forward(options.upstream, call, headers)
      const answer = options.rewrite === undefined
        ? forwarded
        : { ...forwarded, body: options.rewrite(call, forwarded.status, forwarded.body) }
      if (fault?.kind === "forward-then-reset") return req.socket.destroy()
      if (fault?.kind === "forward-then-hold") return fault.held()
      if (fault?.kind === "forward-then-respond") {
        return send(res, fault.status, { "content-type": "application/json" }, JSON.stringify(fault.body ?? {}))
      }
      exchanges.push({
        method: call.method,
        path: call.path,
        requestHeaders: call.headers,
        requestBody: call.body,
        status: answer.status,
        responseHeaders: answer.headers,
        responseBody: answer.body
      })
      send(res, answer.status, answer.headers, answer.body)
    } catch (error) {
      send(res, 502, { "content-type": "text/plain" }, String(error))
    }
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    calls,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}

/**
 * Replays recorded exchanges through a validating proxy (Prism, `--errors`) to a server that
 * answers each request with its recorded response: both directions are checked against the
 * OpenAPI file without Prism ever touching the real catalog. Returns one line per violation.
 */
export const replayThrough = async (
  exchanges: ReadonlyArray<Exchange>,
  startValidator: (upstream: string) => Promise<{ readonly url: string; readonly stop: () => Promise<void> }>
): Promise<Array<string>> => {
  const replay = createServer((req, res) => {
    const index = Number(req.headers["x-replay-index"])
    const exchange = exchanges[index]
    req.resume()
    req.on("end", () => {
      if (exchange === undefined) {
        res.writeHead(500)
        return res.end()
      }
      res.writeHead(exchange.status, { ...exchange.responseHeaders, "content-length": String(Buffer.byteLength(exchange.responseBody)) })
      res.end(exchange.responseBody)
    })
  })
  await new Promise<void>((resolve) => replay.listen(0, "127.0.0.1", resolve))
  const validator = await startValidator(`http://127.0.0.1:${(replay.address() as AddressInfo).port}`)
  const problems: Array<string> = []
  try {
    for (const [index, exchange] of exchanges.entries()) {
      const headers = passHeaders(exchange.requestHeaders)
      const response = await fetch(`${validator.url}${exchange.path}`, {
        method: exchange.method,
        headers: { ...headers, "x-replay-index": String(index) },
        ...(exchange.requestBody === "" || exchange.method === "GET" || exchange.method === "HEAD" ? {} : { body: exchange.requestBody })
      })
      const violations = response.headers.get("sl-violations")
      await response.text()
      if (violations !== null || response.status !== exchange.status) {
        problems.push(`${exchange.method} ${exchange.path} (${exchange.status} → ${response.status}): ${violations ?? "no violation header"}`)
      }
    }
  } finally {
    await validator.stop()
    await new Promise<void>((resolve) => replay.close(() => resolve()))
  }
  return problems
}
