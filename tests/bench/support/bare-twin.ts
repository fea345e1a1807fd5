/**
 * The peer of the API benchmark: a bare node:http server with a `pg` pool and jose, serving
 * `GET /api/v1/sources` and `GET /api/v1/sources/{id}` from the service's own database with the
 * same checks (RS256 JWT against the same JWKS file and issuer, tenant claim, read permission,
 * X-Tenant-Id) and the same JSON the service answers. No framework, no schema decoding.
 *
 *   node tests/bench/support/bare-twin.ts <database url> <jwks file> <issuer> <port>
 */
import * as jose from "jose"
import { readFileSync } from "node:fs"
import * as Http from "node:http"
import pg from "pg"

const [url, jwksPath, issuer, port] = process.argv.slice(2)
if (url === undefined || jwksPath === undefined || issuer === undefined || !/^\d+$/.test(port ?? "")) {
  throw new Error("usage: bare-twin.ts <database url> <jwks file> <issuer> <port>")
}
const keys = jose.createLocalJWKSet(JSON.parse(readFileSync(jwksPath, "utf8")) as jose.JSONWebKeySet)
const pool = new pg.Pool({ connectionString: url, max: 10 })
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const columns = "id, name, description, connector_type, status, last_tested_at, created_at, last_error"

const view = (row: any) => ({
  id: row.id,
  name: row.name,
  description: row.description,
  connectorType: row.connector_type,
  status: row.status,
  lastTestedAt: row.last_tested_at === null ? null : (row.last_tested_at as Date).toISOString(),
  createdAt: (row.created_at as Date).toISOString(),
  lastError: row.last_error
})

const send = (res: Http.ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

const server = Http.createServer(async (req, res) => {
  try {
    const tenant = req.headers["x-tenant-id"]
    const auth = req.headers.authorization
    if (typeof auth !== "string" || !auth.startsWith("Bearer ")) return send(res, 401, { message: "Missing bearer token" })
    if (typeof tenant !== "string" || !uuid.test(tenant)) return send(res, 400, { message: "X-Tenant-Id header must be a tenant UUID" })
    let payload: jose.JWTPayload
    try {
      payload = (await jose.jwtVerify(auth.slice(7), keys, { algorithms: ["RS256"], issuer })).payload
    } catch {
      return send(res, 401, { message: "Token is invalid" })
    }
    const permissions = Array.isArray(payload["permissions"]) ? payload["permissions"] : []
    if (payload["tenant_id"] !== tenant.toLowerCase()) return send(res, 403, { message: "tenant not granted" })
    if (!permissions.includes("data:ingestion:read") && !permissions.includes("data:ingestion:manage")) return send(res, 403, { message: "no permission" })
    const path = new URL(req.url ?? "/", "http://localhost").pathname
    if (req.method === "GET" && path === "/api/v1/sources") {
      const { rows } = await pool.query(`SELECT ${columns} FROM sources WHERE tenant_id = $1 ORDER BY created_at, id`, [tenant])
      return send(res, 200, rows.map(view))
    }
    const one = /^\/api\/v1\/sources\/([^/]+)$/.exec(path)
    if (req.method === "GET" && one !== null && uuid.test(one[1]!)) {
      const { rows } = await pool.query(`SELECT ${columns} FROM sources WHERE tenant_id = $1 AND id = $2`, [tenant, one[1]])
      return rows.length === 0 ? send(res, 404, { message: "Source not found" }) : send(res, 200, view(rows[0]))
    }
    send(res, 404, { message: "No route" })
  } catch (error) {
    send(res, 500, { message: String(error) })
  }
})
server.listen(Number(port), "127.0.0.1", () => console.log("ready"))
process.on("SIGTERM", () => {
  server.close()
  void pool.end().then(() => process.exit(0))
})
