import { Context, DateTime, Effect, Layer, Option } from "effect"
import type { DiscoveredStream } from "../columns.ts"
import { Conflict, NotFound } from "../errors.ts"
import type { SourceId, TenantId } from "../ids.ts"
import { SourceId as SourceIdSchema } from "../ids.ts"
import { ConnectorEngine } from "../ports/connector-engine.ts"
import { ConnectionRepo, SourceRepo } from "../ports/repositories.ts"
import type { ConnectionConfig, ConnectorType, Source } from "../source.ts"

export interface CreateSourceInput {
  readonly name: string
  readonly description?: string | null | undefined
  readonly connectorType: ConnectorType
  readonly connectionConfig: ConnectionConfig
}

export interface UpdateSourceInput {
  readonly name?: string | undefined
  readonly description?: string | null | undefined
  readonly connectorType?: ConnectorType | undefined
  readonly connectionConfig?: ConnectionConfig | undefined
}

/** JSON with object keys sorted: the same config sent with its keys in another order is the same config. */
const canonicalJson = (value: unknown) =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v)

const sameJson = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b)

export class SourceService extends Context.Service<SourceService>()("ingest/SourceService", {
  make: Effect.gen(function*() {
    const sources = yield* SourceRepo
    const connections = yield* ConnectionRepo
    const engine = yield* ConnectorEngine

    const get = Effect.fn("SourceService.get")(function*(tenantId: TenantId, id: SourceId) {
      const found = yield* sources.find(tenantId, id)
      if (Option.isNone(found)) return yield* new NotFound({ entity: "Source", id })
      return found.value
    })

    const create = Effect.fn("SourceService.create")(function*(tenantId: TenantId, input: CreateSourceInput) {
      const now = yield* DateTime.now
      const draft: Source = {
        id: SourceIdSchema.make(crypto.randomUUID()),
        tenantId,
        name: input.name,
        description: input.description ?? null,
        connectorType: input.connectorType,
        connectionConfig: input.connectionConfig,
        status: "INACTIVE",
        lastTestedAt: null,
        lastError: null,
        engineRef: null,
        discovered: null,
        createdAt: now,
        updatedAt: now
      }
      // The engine's twin first: if the engine is down nothing is stored.
      const engineRef = yield* engine.saveSource(draft)
      const source = { ...draft, engineRef }
      yield* sources.insert(source)
      return source
    })

    const update = Effect.fn("SourceService.update")(function*(tenantId: TenantId, id: SourceId, input: UpdateSourceInput) {
      const current = yield* get(tenantId, id)
      const connectorType = input.connectorType ?? current.connectorType
      const connectionConfig = input.connectionConfig ?? current.connectionConfig
      const reachChanged = connectorType !== current.connectorType ||
        !sameJson(connectionConfig, current.connectionConfig)
      const next: Source = {
        ...current,
        name: input.name ?? current.name,
        description: input.description === undefined ? current.description : input.description,
        connectorType,
        connectionConfig,
        // A new place to connect to must be tested (and discovered) again.
        status: reachChanged ? "INACTIVE" : current.status,
        lastError: reachChanged ? null : current.lastError,
        discovered: reachChanged ? null : current.discovered,
        updatedAt: yield* DateTime.now
      }
      const engineRef = yield* engine.saveSource(next)
      const saved = { ...next, engineRef }
      yield* sources.update(saved)
      return saved
    })

    const remove = Effect.fn("SourceService.remove")(function*(tenantId: TenantId, id: SourceId) {
      const source = yield* get(tenantId, id)
      const used = yield* connections.countBySource(tenantId, id)
      if (used > 0) {
        return yield* new Conflict({
          reason: `Source ${id} has ${used} connection(s); delete them before deleting the source`
        })
      }
      yield* engine.deleteSource(source)
      yield* sources.remove(tenantId, id)
    })

    const test = Effect.fn("SourceService.test")(function*(tenantId: TenantId, id: SourceId) {
      const source = yield* get(tenantId, id)
      const result = yield* engine.check(source).pipe(
        Effect.catchTag("EngineUnsupported", (e) => Effect.succeed({ ok: false, message: e.reason }))
      )
      const tested: Source = {
        ...source,
        status: result.ok ? "ACTIVE" : "ERROR",
        lastError: result.ok ? null : result.message,
        lastTestedAt: yield* DateTime.now,
        updatedAt: yield* DateTime.now
      }
      yield* sources.update(tested)
      return tested
    })

    const discover = Effect.fn("SourceService.discover")(function*(tenantId: TenantId, id: SourceId) {
      const source = yield* get(tenantId, id)
      const streams = yield* engine.discover(source)
      yield* sources.update({ ...source, discovered: streams, updatedAt: yield* DateTime.now })
      return streams
    })

    /** The cached discovery, discovering now when there is none yet. */
    const streamsOf = Effect.fn("SourceService.streamsOf")(function*(source: Source) {
      if (source.discovered !== null) return source.discovered as ReadonlyArray<DiscoveredStream>
      return yield* discover(source.tenantId, source.id)
    })

    return { get, list: sources.list, create, update, remove, test, discover, streamsOf }
  })
}) {
  static readonly layer = Layer.effect(this, this.make)
}
