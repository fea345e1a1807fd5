import { Effect, Layer, Schema } from "effect"
import { HttpServer } from "effect/http"
import { readFile, rm, writeFile } from "node:fs/promises"
import * as path from "node:path"

// A service running on the embedded database holds its data dir (pg.lock). It records where it
// listens next to that lock, so that the CLI, which cannot open the same database, uses its API.

export const ServiceAddress = Schema.Struct({
  pid: Schema.Int,
  url: Schema.String,
  /** "dev": tokens are signed with the key under the data dir (the CLI can mint them). */
  auth: Schema.Literals(["dev", "jwks"]),
  issuer: Schema.optional(Schema.String),
  audience: Schema.optional(Schema.String)
})
export type ServiceAddress = typeof ServiceAddress.Type

export const serviceAddressFile = (dataDir: string) => path.join(dataDir, "service.json")

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as { code?: unknown }).code === "EPERM"
  }
}

/** The address of the live service holding `dataDir`, if there is one. */
export const readServiceAddress = async (dataDir: string): Promise<ServiceAddress | undefined> => {
  const text = await readFile(serviceAddressFile(dataDir), "utf8").catch(() => undefined)
  if (text === undefined) return undefined
  const decoded = Schema.decodeUnknownOption(Schema.fromJsonString(ServiceAddress))(text)
  if (decoded._tag === "None" || !isAlive(decoded.value.pid)) return undefined
  const holder = Number.parseInt((await readFile(path.join(dataDir, "pg.lock"), "utf8").catch(() => "")).trim(), 10)
  return holder === decoded.value.pid ? decoded.value : undefined
}

/** Writes this process's address next to the data dir's lock once the server listens; removes it on shutdown. */
export const recordServiceAddress = (settings: {
  readonly dataDir: string
  readonly host: string
  readonly auth: { readonly jwksUrl: string | undefined; readonly issuer: string | undefined; readonly audience: string | undefined }
}) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    if (server.address._tag === "UnixPathAddress") return
    const port = server.address.port
    const configured = settings.host
    const host = configured === "0.0.0.0" || configured === "::" || configured === "" ? "127.0.0.1" : configured.includes(":") ? `[${configured}]` : configured
    const address: ServiceAddress = {
      pid: process.pid,
      url: `http://${host}:${port}`,
      auth: settings.auth.jwksUrl === undefined ? "dev" : "jwks",
      ...(settings.auth.issuer !== undefined ? { issuer: settings.auth.issuer } : {}),
      ...(settings.auth.audience !== undefined ? { audience: settings.auth.audience } : {})
    }
    const file = serviceAddressFile(settings.dataDir)
    yield* Effect.acquireRelease(
      Effect.promise(() => writeFile(file, JSON.stringify(address), { mode: 0o600 })),
      () =>
        Effect.promise(async () => {
          const current = await readFile(file, "utf8").catch(() => "")
          if (current.includes(`"pid":${process.pid},`)) await rm(file, { force: true })
        })
    )
  }))
