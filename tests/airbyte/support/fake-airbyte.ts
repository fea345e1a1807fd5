import { createHmac, randomUUID } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { airbyteContractsDir } from "../../support/prism.ts"
import { SpecValidator } from "./spec-validator.ts"

/**
 * A small stateful stand-in for Airbyte (public API under `/api/public/v1`, configuration API
 * under `/api/v1`) on loopback. Every body it receives and sends is checked against Airbyte's
 * own OpenAPI files; problems land in `violations`. Failures, delays, token lifetimes, check
 * results and job progress are set by the test.
 */

type Json = Record<string, unknown>

export interface RecordedRequest {
  readonly api: "public" | "config"
  readonly method: string
  /** Path below the API base, without query. */
  readonly path: string
  readonly query: URLSearchParams
  readonly body: unknown
  readonly at: number
  readonly status: number
}

export interface IssuedToken {
  readonly issuedAt: number
  readonly exp: number
}

export interface Injection {
  readonly method: string
  readonly path: string | RegExp
  /** Answer this status (a problem body) instead of handling the call. */
  readonly status?: number
  /** Wait this long before handling (or answering `status`). */
  readonly delayMs?: number
  times: number
}

export interface FakeJob {
  readonly jobId: number
  readonly connectionId: string
  /** Statuses reported by successive reads; the last one sticks. */
  statuses: Array<string>
  read: number
  rowsSynced: number
  bytesSynced: number
  duration: string
  failure: string | null
}

const problemSchemas: Record<number, string> = {
  400: "BadRequestProblemResponse",
  401: "InvalidApiKeyProblemResponse",
  404: "ResourceNotFoundProblemResponse",
  409: "StateConflictProblemResponse",
  500: "UnexpectedProblemResponse",
  503: "ServiceUnavailableProblemResponse"
}

const problemTitles: Record<number, string> = {
  400: "bad-request",
  401: "invalid-api-key",
  404: "resource-not-found",
  409: "state-conflict",
  500: "unexpected-problem",
  503: "service-unavailable"
}

const routes: ReadonlyArray<{ readonly api: "public" | "config"; readonly method: string; readonly template: string }> = [
  { api: "public", method: "POST", template: "/applications/token" },
  { api: "public", method: "GET", template: "/workspaces" },
  { api: "public", method: "POST", template: "/workspaces" },
  { api: "public", method: "DELETE", template: "/workspaces/{workspaceId}" },
  { api: "public", method: "GET", template: "/destinations" },
  { api: "public", method: "POST", template: "/destinations" },
  { api: "public", method: "DELETE", template: "/destinations/{destinationId}" },
  { api: "public", method: "POST", template: "/sources" },
  { api: "public", method: "PATCH", template: "/sources/{sourceId}" },
  { api: "public", method: "DELETE", template: "/sources/{sourceId}" },
  { api: "public", method: "POST", template: "/connections" },
  { api: "public", method: "PATCH", template: "/connections/{connectionId}" },
  { api: "public", method: "DELETE", template: "/connections/{connectionId}" },
  { api: "public", method: "POST", template: "/jobs" },
  { api: "public", method: "GET", template: "/jobs/{jobId}" },
  { api: "public", method: "DELETE", template: "/jobs/{jobId}" },
  { api: "config", method: "POST", template: "/v1/sources/check_connection" },
  { api: "config", method: "POST", template: "/v1/sources/discover_schema" },
  { api: "config", method: "POST", template: "/v1/jobs/get_without_logs" }
]

const matchTemplate = (template: string, actual: string): Record<string, string> | undefined => {
  const t = template.split("/")
  const a = actual.split("/")
  if (t.length !== a.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < t.length; i++) {
    const part = t[i]!
    if (part.startsWith("{")) params[part.slice(1, -1)] = decodeURIComponent(a[i]!)
    else if (part !== a[i]) return undefined
  }
  return params
}

const signingKey = "fake-airbyte-signing-key"

const sign = (payload: Json) => {
  const header = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url")
  const body = Buffer.from(JSON.stringify(payload)).toString("base64url")
  const signature = createHmac("sha256", signingKey).update(`${header}.${body}`).digest("base64url")
  return `${header}.${body}.${signature}`
}

const verify = (token: string): Json | undefined => {
  const [header, body, signature] = token.split(".")
  if (header === undefined || body === undefined || signature === undefined) return undefined
  const expected = createHmac("sha256", signingKey).update(`${header}.${body}`).digest("base64url")
  if (expected !== signature) return undefined
  return JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Json
}

export class FakeAirbyte {
  readonly clientId = "ingest-client"
  readonly clientSecret = "s3cr3t-client-value"
  readonly requests: Array<RecordedRequest> = []
  readonly tokens: Array<IssuedToken> = []
  readonly violations: Array<string> = []
  readonly injections: Array<Injection> = []
  /** Calls refused because the bearer token was missing, forged or expired. */
  readonly unauthorized: Array<string> = []
  tokenTtlSeconds = 3600
  checkResult: { status: "succeeded" | "failed"; message: string } = { status: "succeeded", message: "ok" }
  catalog: Json = { streams: [] }
  /** Statuses a new job goes through on successive reads. */
  jobScript: Array<string> = ["pending", "running", "succeeded"]
  readonly workspaces = new Map<string, Json>()
  readonly destinations = new Map<string, Json>()
  readonly sources = new Map<string, Json>()
  readonly connections = new Map<string, Json>()
  readonly jobs = new Map<number, FakeJob>()
  #nextJobId = 100
  #server: http.Server | undefined
  #url = ""
  readonly #public = new SpecValidator(path.join(airbyteContractsDir, "public-api.patched.yaml"), "public")
  readonly #config = new SpecValidator(path.join(airbyteContractsDir, "config-api.patched.yaml"), "config")
  readonly #problems = new SpecValidator(path.join(airbyteContractsDir, "api-problems.yaml"), "problems")

  get apiUrl() {
    return `${this.#url}/api/public/v1`
  }
  get configApiUrl() {
    return `${this.#url}/api/v1`
  }
  get url() {
    return this.#url
  }

  async start(): Promise<this> {
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        this.violations.push(`fake server crashed: ${String(error)}`)
        res.statusCode = 500
        res.end()
      })
    })
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve))
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
    return this
  }

  async close(): Promise<void> {
    const server = this.#server
    if (server === undefined) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  inject(injection: Omit<Injection, "times"> & { times?: number }) {
    this.injections.push({ ...injection, times: injection.times ?? 1 })
  }

  /** Calls to one API path (exact, below the API base), optionally of one method. */
  calls(pathOrPattern: string | RegExp, method?: string) {
    return this.requests.filter((r) =>
      (method === undefined || r.method === method) &&
      (typeof pathOrPattern === "string" ? r.path === pathOrPattern : pathOrPattern.test(r.path))
    )
  }

  addJob(statuses: Array<string>, extra: Partial<Pick<FakeJob, "rowsSynced" | "bytesSynced" | "duration" | "failure">> = {}) {
    const job: FakeJob = {
      jobId: this.#nextJobId++,
      connectionId: randomUUID(),
      statuses,
      read: 0,
      rowsSynced: extra.rowsSynced ?? 0,
      bytesSynced: extra.bytesSynced ?? 0,
      duration: extra.duration ?? "PT0S",
      failure: extra.failure ?? null
    }
    this.jobs.set(job.jobId, job)
    return job
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? "/", "http://fake")
    const api = url.pathname.startsWith("/api/public/v1/") ? "public" : url.pathname.startsWith("/api/v1/") ? "config" : undefined
    const sub = api === "public" ? url.pathname.slice("/api/public/v1".length) : url.pathname.slice("/api".length)
    const chunks: Array<Buffer> = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString("utf8")
    let body: unknown = undefined
    if (text !== "") {
      try {
        body = JSON.parse(text)
      } catch {
        this.violations.push(`${req.method} ${url.pathname}: request body is not JSON`)
      }
    }
    const method = req.method ?? "GET"
    const route = api === undefined ? undefined : routes.find((r) => r.api === api && r.method === method && matchTemplate(r.template, sub))
    const recordedPath = api === "config" ? sub.slice("/v1".length) : sub
    const send = (status: number, payload?: unknown) => {
      this.requests.push({ api: api ?? "public", method, path: recordedPath, query: url.searchParams, body, at: Date.now(), status })
      if (route !== undefined && payload !== undefined) {
        const validator = route.api === "public" ? this.#public : this.#config
        const problems = status >= 400
          ? this.#problems.component(problemSchemas[status] ?? "BaseProblemFields", payload)
          : validator.response(route.template, method, status, payload)
        for (const p of problems) this.violations.push(`response ${method} ${route.template} ${status}: ${p}`)
      }
      res.statusCode = status
      if (payload === undefined) return void res.end()
      res.setHeader("content-type", status >= 400 ? "application/problem+json" : "application/json")
      res.end(JSON.stringify(payload))
    }
    const problem = (status: number, detail: string) =>
      send(status, { status, type: `https://reference.airbyte.com/reference/errors#${problemTitles[status] ?? "error"}`, title: problemTitles[status] ?? "error", detail })

    if (route === undefined) return problem(404, `no route ${method} ${url.pathname}`)
    const params = matchTemplate(route.template, sub)!
    if (body !== undefined) {
      const validator = route.api === "public" ? this.#public : this.#config
      for (const p of validator.request(route.template, method, body)) this.violations.push(`request ${method} ${route.template}: ${p}`)
    }

    const injection = this.injections.find((i) =>
      i.times > 0 && i.method === method && (typeof i.path === "string" ? i.path === recordedPath : i.path.test(recordedPath))
    )
    if (injection !== undefined) {
      injection.times--
      if (injection.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, injection.delayMs))
      if (injection.status !== undefined) return problem(injection.status, `injected ${injection.status}`)
    }

    if (route.template === "/applications/token") return this.#token(body as Json | undefined, send, problem)

    const authorization = req.headers["authorization"] ?? ""
    const claims = authorization.startsWith("Bearer ") ? verify(authorization.slice(7)) : undefined
    if (claims === undefined || typeof claims["exp"] !== "number" || claims["exp"] * 1000 <= Date.now()) {
      this.unauthorized.push(`${method} ${recordedPath}`)
      return problem(401, "The API key in the Authorization header is invalid.")
    }

    const b = (body ?? {}) as Json
    const now = Date.now()
    switch (`${method} ${route.template}`) {
      case "GET /workspaces": {
        const offset = Number(url.searchParams.get("offset") ?? 0)
        const limit = Number(url.searchParams.get("limit") ?? 20)
        return send(200, { data: [...this.workspaces.values()].slice(offset, offset + limit) })
      }
      case "POST /workspaces": {
        const workspace = { workspaceId: randomUUID(), name: b["name"], dataResidency: "auto", notifications: {} }
        this.workspaces.set(workspace.workspaceId, workspace)
        return send(200, workspace)
      }
      case "DELETE /workspaces/{workspaceId}":
        return this.workspaces.delete(params["workspaceId"]!) ? send(204) : problem(404, "no such workspace")
      case "GET /destinations": {
        const workspaceIds = url.searchParams.getAll("workspaceIds")
        const data = [...this.destinations.values()].filter((d) => workspaceIds.length === 0 || workspaceIds.includes(d["workspaceId"] as string))
        return send(200, { data })
      }
      case "POST /destinations": {
        if (!this.workspaces.has(b["workspaceId"] as string) && !this.sharedWorkspaces.has(b["workspaceId"] as string)) {
          return problem(404, "no such workspace")
        }
        const destination = {
          destinationId: randomUUID(),
          name: b["name"],
          destinationType: "s3-data-lake",
          definitionId: randomUUID(),
          workspaceId: b["workspaceId"],
          configuration: b["configuration"],
          createdAt: now
        }
        this.destinations.set(destination.destinationId, destination)
        return send(200, destination)
      }
      case "DELETE /destinations/{destinationId}":
        return this.destinations.delete(params["destinationId"]!) ? send(204) : problem(404, "no such destination")
      case "POST /sources": {
        const configuration = b["configuration"] as Json
        if (configuration["password"] === "rejected-password") {
          // Real Airbyte echoes parts of the configuration in validation errors.
          return problem(400, `The provided configuration does not fulfill the specification: password ${String(configuration["password"])} is too weak`)
        }
        const source = {
          sourceId: randomUUID(),
          name: b["name"],
          sourceType: configuration["sourceType"],
          definitionId: randomUUID(),
          workspaceId: b["workspaceId"],
          configuration,
          createdAt: now
        }
        this.sources.set(source.sourceId, source)
        return send(200, source)
      }
      case "PATCH /sources/{sourceId}": {
        const source = this.sources.get(params["sourceId"]!)
        if (source === undefined) return problem(404, "no such source")
        Object.assign(source, b)
        return send(200, source)
      }
      case "DELETE /sources/{sourceId}":
        return this.sources.delete(params["sourceId"]!) ? send(204) : problem(404, "no such source")
      case "POST /connections": {
        const destination = this.destinations.get(b["destinationId"] as string)
        if (!this.sources.has(b["sourceId"] as string) || destination === undefined) return problem(404, "no such source or destination")
        const connection = {
          connectionId: randomUUID(),
          name: b["name"] ?? "connection",
          sourceId: b["sourceId"],
          destinationId: b["destinationId"],
          workspaceId: destination["workspaceId"],
          status: b["status"] ?? "active",
          schedule: b["schedule"] ?? { scheduleType: "manual" },
          configurations: b["configurations"] ?? { streams: [] },
          createdAt: now,
          tags: []
        }
        this.connections.set(connection.connectionId, connection)
        return send(200, connection)
      }
      case "PATCH /connections/{connectionId}": {
        const connection = this.connections.get(params["connectionId"]!)
        if (connection === undefined) return problem(404, "no such connection")
        Object.assign(connection, b)
        return send(200, connection)
      }
      case "DELETE /connections/{connectionId}":
        return this.connections.delete(params["connectionId"]!) ? send(204) : problem(404, "no such connection")
      case "POST /jobs": {
        if (!this.connections.has(b["connectionId"] as string)) return problem(404, "no such connection")
        const job = this.addJob([...this.jobScript], { rowsSynced: 1234, bytesSynced: 56789, duration: "PT3M30S" })
        ;(job as { connectionId: string }).connectionId = b["connectionId"] as string
        return send(200, this.#jobResponse(job, false))
      }
      case "GET /jobs/{jobId}": {
        const job = this.jobs.get(Number(params["jobId"]))
        return job === undefined ? problem(404, "no such job") : send(200, this.#jobResponse(job, true))
      }
      case "DELETE /jobs/{jobId}": {
        const job = this.jobs.get(Number(params["jobId"]))
        if (job === undefined) return problem(404, "no such job")
        const current = this.#status(job)
        if (["succeeded", "failed", "cancelled"].includes(current)) return problem(409, `Job ${job.jobId} is not running`)
        job.statuses = ["cancelled"]
        job.read = 0
        return send(200, this.#jobResponse(job, false))
      }
      case "POST /v1/sources/check_connection":
        return send(200, {
          status: this.checkResult.status,
          message: this.checkResult.message,
          jobInfo: { id: randomUUID(), configType: "check_connection_source", createdAt: now, endedAt: now, succeeded: true }
        })
      case "POST /v1/sources/discover_schema":
        return send(200, {
          catalog: this.catalog,
          jobInfo: { id: randomUUID(), configType: "discover_schema", createdAt: now, endedAt: now, succeeded: true }
        })
      case "POST /v1/jobs/get_without_logs": {
        const job = this.jobs.get(Number(b["id"]))
        if (job === undefined) return problem(404, "no such job")
        return send(200, {
          job: { id: job.jobId, configType: "sync", configId: job.connectionId, createdAt: now, updatedAt: now, status: this.#status(job) },
          attempts: [{
            attempt: {
              id: 0,
              status: "failed",
              createdAt: now,
              updatedAt: now,
              ...(job.failure === null
                ? {}
                : { failureSummary: { failures: [{ failureOrigin: "source", externalMessage: job.failure, timestamp: now }] } })
            }
          }]
        })
      }
      default:
        return problem(404, "not implemented by the fake")
    }
  }

  /** Workspaces that exist without having been created through the API (AIRBYTE_WORKSPACE_ID). */
  readonly sharedWorkspaces = new Set<string>()

  #status(job: FakeJob) {
    return job.statuses[Math.min(job.read, job.statuses.length - 1)]!
  }

  #jobResponse(job: FakeJob, advance: boolean) {
    const status = this.#status(job)
    if (advance) job.read++
    return {
      jobId: job.jobId,
      status,
      jobType: "sync",
      startTime: new Date().toISOString(),
      connectionId: job.connectionId,
      duration: job.duration,
      rowsSynced: job.rowsSynced,
      bytesSynced: job.bytesSynced
    }
  }

  #token(body: Json | undefined, send: (status: number, payload?: unknown) => void, problem: (status: number, detail: string) => void) {
    if (body?.["grant_type"] !== "client_credentials" || body["client_id"] !== this.clientId || body["client_secret"] !== this.clientSecret) {
      return problem(401, "bad client credentials")
    }
    const issuedAt = Date.now()
    const exp = Math.floor(issuedAt / 1000) + this.tokenTtlSeconds
    this.tokens.push({ issuedAt, exp })
    // expires_in deliberately disagrees with exp: the client must go by the JWT.
    send(200, { access_token: sign({ sub: this.clientId, exp, iat: Math.floor(issuedAt / 1000) }), token_type: "Bearer", expires_in: 86_400 })
  }
}
