import type { CheckResult, Connection, DiscoveredStream, JobState, Source, Sync, TenantId } from "@ingest/domain"
import { Conflict, ConnectorEngine, EngineUnavailable, EngineUnsupported, Invalid } from "@ingest/domain"
import { Effect, Layer, Option } from "effect"
import { HttpClient } from "effect/http"
import type { AirbyteClient, AirbyteRequest } from "./client.ts"
import { AirbyteRejected, makeAirbyteClient } from "./client.ts"
import type { AirbyteConfig } from "./config.ts"
import { AirbyteConfigSchema } from "./config.ts"
import { unixCronToQuartz } from "./cron.ts"
import { destinationName, icebergDestinationConfiguration, workspaceName } from "./destination.ts"
import { countOf, failureReasonOf, parseIsoDuration, syncStatusOf } from "./jobs.ts"
import {
  configurationStrings,
  isCdcSource,
  sourceConfiguration,
  streamConfigurations,
  streamsFromCatalog
} from "./mapping.ts"
import { AirbyteTenantState } from "./tenant-state.ts"

/** Workspaces and destinations are looked up by name at most this many pages deep (100 a page). */
const maxLookupPages = 20

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}

/** An id field of a response (Airbyte ids are UUID strings, job ids int64 numbers). */
const idField = (body: unknown, field: string, operation: string) => {
  const value = asRecord(body)[field]
  if (typeof value === "string" && value.length > 0) return Effect.succeed(value)
  if (typeof value === "number" && Number.isSafeInteger(value)) return Effect.succeed(String(value))
  return Effect.fail(new EngineUnavailable({ reason: `Airbyte API unreachable: ${operation} answered without ${field}` }))
}

const rejectedAsUnsupported = (error: AirbyteRejected) => new EngineUnsupported({ reason: error.message })

/** Handles one status Airbyte refuses with; every other refusal becomes EngineUnsupported. */
const onRejected = <A2, E2, R2>(status: number, handle: (error: AirbyteRejected) => Effect.Effect<A2, E2, R2>) =>
<A, E, R>(
  self: Effect.Effect<A, E | AirbyteRejected, R>
): Effect.Effect<A | A2, Exclude<E, AirbyteRejected> | E2 | EngineUnsupported, R | R2> =>
  Effect.catch(self, (error): Effect.Effect<A2, Exclude<E, AirbyteRejected> | E2 | EngineUnsupported, R2> => {
    if (error instanceof AirbyteRejected) {
      return error.status === status ? handle(error) : Effect.fail(rejectedAsUnsupported(error))
    }
    return Effect.fail(error as Exclude<E, AirbyteRejected>)
  })

/**
 * The ConnectorEngine on Airbyte: every tenant gets its own workspace (or all share
 * `AIRBYTE_WORKSPACE_ID`) and one Iceberg destination; our sources and connections have an
 * Airbyte twin whose id we keep as `engineRef`; syncs are Airbyte jobs.
 */
export const makeAirbyteEngine = (config: AirbyteConfig) =>
  Effect.gen(function*() {
    const client: AirbyteClient = yield* makeAirbyteClient(config)
    const state = yield* AirbyteTenantState

    /** Every call of the engine: Airbyte's refusals become EngineUnsupported unless handled. */
    const call = (request: AirbyteRequest) => client.call(request)
    const callOrUnsupported = (request: AirbyteRequest) =>
      call(request).pipe(Effect.catchTag("AirbyteRejected", (error) => Effect.fail(rejectedAsUnsupported(error))))

    const stateUnavailable = Effect.mapError((error: { readonly reason: string }) =>
      new EngineUnavailable({ reason: error.reason })
    )

    /** Finds a resource by name in a paged public-API list (`data`, `next`). */
    const findByName = (path: string, params: Record<string, string>, name: string, idName: string) =>
      Effect.gen(function*() {
        for (let page = 0; page < maxLookupPages; page++) {
          const response = yield* callOrUnsupported({
            api: "public",
            method: "GET",
            path,
            urlParams: { ...params, limit: "100", offset: String(page * 100) },
            idempotent: true,
            operation: `list ${path.slice(1)}`
          })
          const data = asRecord(response.body)["data"]
          const items = Array.isArray(data) ? data.map(asRecord) : []
          const match = items.find((item) => item["name"] === name && typeof item[idName] === "string")
          if (match !== undefined) return Option.some(match[idName] as string)
          if (items.length < 100) break
        }
        return Option.none<string>()
      })

    const createWorkspace = (tenantId: TenantId) =>
      Effect.gen(function*() {
        const name = workspaceName(tenantId)
        const existing = yield* findByName("/workspaces", {}, name, "workspaceId")
        if (Option.isSome(existing)) return existing.value
        const created = yield* callOrUnsupported({
          api: "public",
          method: "POST",
          path: "/workspaces",
          body: { name },
          idempotent: false,
          operation: "create workspace"
        })
        return yield* idField(created.body, "workspaceId", "create workspace")
      })

    const createDestination = (tenantId: TenantId, workspaceId: string) =>
      Effect.gen(function*() {
        const name = destinationName(tenantId)
        const existing = yield* findByName("/destinations", { workspaceIds: workspaceId }, name, "destinationId")
        if (Option.isSome(existing)) return existing.value
        const configuration = icebergDestinationConfiguration(config.destination, tenantId)
        const created = yield* callOrUnsupported({
          api: "public",
          method: "POST",
          path: "/destinations",
          body: { name, workspaceId, configuration },
          idempotent: false,
          operation: "create Iceberg destination",
          secrets: configurationStrings(configuration)
        })
        return yield* idField(created.body, "destinationId", "create destination")
      })

    /**
     * The tenant's workspace and destination, created on first use. The store decides which of
     * two concurrent creations wins; the loser's copy is deleted again.
     */
    const tenantResources = (tenantId: TenantId) =>
      Effect.gen(function*() {
        const known = Option.getOrUndefined(yield* state.get(tenantId).pipe(stateUnavailable))
        let workspaceId = config.workspaceId ?? known?.workspaceId ?? null
        if (workspaceId === null) {
          const created = yield* createWorkspace(tenantId)
          workspaceId = yield* state.claimWorkspace(tenantId, created).pipe(stateUnavailable)
          if (workspaceId !== created) {
            yield* call({ api: "public", method: "DELETE", path: `/workspaces/${created}`, idempotent: true, operation: "delete duplicate workspace" })
              .pipe(Effect.ignore)
          }
        }
        let destinationId = known?.destinationId ?? null
        if (destinationId === null) {
          const created = yield* createDestination(tenantId, workspaceId)
          destinationId = yield* state.claimDestination(tenantId, created).pipe(stateUnavailable)
          if (destinationId !== created) {
            yield* call({ api: "public", method: "DELETE", path: `/destinations/${created}`, idempotent: true, operation: "delete duplicate destination" })
              .pipe(Effect.ignore)
          }
        }
        return { workspaceId, destinationId }
      })

    const requireRef = (ref: string | null, what: string) =>
      ref === null
        ? Effect.fail(new EngineUnsupported({ reason: `${what} has no Airbyte counterpart yet; save it again` }))
        : Effect.succeed(ref)

    const createSource = (source: Source, workspaceId: string) =>
      Effect.gen(function*() {
        const configuration = sourceConfiguration(source)
        const created = yield* callOrUnsupported({
          api: "public",
          method: "POST",
          path: "/sources",
          body: { name: source.name, workspaceId, configuration },
          idempotent: false,
          operation: "create source",
          secrets: configurationStrings(configuration)
        })
        return yield* idField(created.body, "sourceId", "create source")
      })

    const saveSource = (source: Source) =>
      Effect.gen(function*() {
        const { workspaceId } = yield* tenantResources(source.tenantId)
        if (source.engineRef === null) return yield* createSource(source, workspaceId)
        const configuration = sourceConfiguration(source)
        // PATCH sends the whole configuration, so sending it twice is harmless.
        const updated = yield* call({
          api: "public",
          method: "PATCH",
          path: `/sources/${source.engineRef}`,
          body: { name: source.name, configuration },
          idempotent: true,
          operation: "update source",
          secrets: configurationStrings(configuration)
        }).pipe(
          Effect.map(() => source.engineRef as string),
          // Deleted on the Airbyte side meanwhile: make a new twin.
          onRejected(404, () => createSource(source, workspaceId))
        )
        return updated
      })

    const deleteResource = (path: string, operation: string) =>
      call({ api: "public", method: "DELETE", path, idempotent: true, operation }).pipe(
        Effect.asVoid,
        // Already gone is what we wanted.
        onRejected(404, () => Effect.void)
      )

    const deleteSource = (source: Source) =>
      source.engineRef === null ? Effect.void : deleteResource(`/sources/${source.engineRef}`, "delete source")

    const check = (source: Source) =>
      Effect.gen(function*() {
        const sourceId = yield* requireRef(source.engineRef, `Source ${source.id}`)
        const response = yield* callOrUnsupported({
          api: "config",
          method: "POST",
          path: "/sources/check_connection",
          body: { sourceId },
          idempotent: true,
          timeoutMs: config.connectorJobTimeoutMs,
          operation: "check source",
          secrets: configurationStrings(source.connectionConfig)
        })
        const body = asRecord(response.body)
        const jobInfo = asRecord(body["jobInfo"])
        const failure = asRecord(jobInfo["failureReason"])
        const message = typeof body["message"] === "string" && body["message"] !== ""
          ? body["message"]
          : typeof failure["externalMessage"] === "string"
          ? failure["externalMessage"]
          : undefined
        // A check that could not run at all (no status, job not succeeded) is a failed check too.
        const ok = body["status"] === "succeeded" || (body["status"] === undefined && jobInfo["succeeded"] === true)
        return {
          ok,
          message: message ?? (ok ? "Connection check succeeded" : "Connection check failed")
        } satisfies CheckResult
      })

    const discover = (source: Source) =>
      Effect.gen(function*() {
        const sourceId = yield* requireRef(source.engineRef, `Source ${source.id}`)
        const response = yield* callOrUnsupported({
          api: "config",
          method: "POST",
          path: "/sources/discover_schema",
          body: { sourceId, disable_cache: true },
          idempotent: true,
          timeoutMs: config.connectorJobTimeoutMs,
          operation: "discover source",
          secrets: configurationStrings(source.connectionConfig)
        })
        const body = asRecord(response.body)
        if (body["catalog"] === undefined || body["catalog"] === null) {
          const failure = asRecord(asRecord(body["jobInfo"])["failureReason"])
          const reason = typeof failure["externalMessage"] === "string" ? failure["externalMessage"] : "no catalog returned"
          return yield* new EngineUnsupported({ reason: `Airbyte could not discover source ${source.id}: ${reason}` })
        }
        return streamsFromCatalog(body["catalog"], isCdcSource(source)) as ReadonlyArray<DiscoveredStream>
      })

    const scheduleOf = (connection: Connection) => {
      if (connection.syncSchedule === null) return Effect.succeed({ scheduleType: "manual" })
      const converted = unixCronToQuartz(connection.syncSchedule)
      return converted.ok
        ? Effect.succeed({ scheduleType: "cron", cronExpression: converted.quartz })
        : Effect.fail(new Invalid({ field: "syncSchedule", reason: converted.reason }))
    }

    const saveConnection = (connection: Connection, source: Source, streams: ReadonlyArray<DiscoveredStream>) =>
      Effect.gen(function*() {
        const schedule = yield* scheduleOf(connection)
        if (connection.syncMode === "CDC" && !isCdcSource(source)) {
          return yield* new Invalid({
            field: "syncMode",
            reason: `syncMode CDC needs a source configured for change data capture (replication_method CDC); source ${source.id} is not`
          })
        }
        const sourceId = yield* requireRef(source.engineRef, `Source ${source.id}`)
        const configurations = { streams: streamConfigurations(connection, streams, config.dedupIncremental) }
        const status = connection.status === "PAUSED" ? "inactive" : "active"
        const create = Effect.gen(function*() {
          const { destinationId } = yield* tenantResources(connection.tenantId)
          const created = yield* callOrUnsupported({
            api: "public",
            method: "POST",
            path: "/connections",
            body: {
              name: connection.name,
              sourceId,
              destinationId,
              configurations,
              schedule,
              namespaceDefinition: "destination",
              status
            },
            idempotent: false,
            operation: "create connection"
          })
          return yield* idField(created.body, "connectionId", "create connection")
        })
        if (connection.engineRef === null) return yield* create
        return yield* call({
          api: "public",
          method: "PATCH",
          path: `/connections/${connection.engineRef}`,
          body: { name: connection.name, configurations, schedule, status },
          idempotent: true,
          operation: "update connection"
        }).pipe(
          Effect.as(connection.engineRef),
          onRejected(404, () => create)
        )
      })

    const deleteConnection = (connection: Connection) =>
      connection.engineRef === null ? Effect.void : deleteResource(`/connections/${connection.engineRef}`, "delete connection")

    const startJob = (_sync: Sync, connection: Connection) =>
      Effect.gen(function*() {
        const connectionId = yield* requireRef(connection.engineRef, `Connection ${connection.id}`)
        const response = yield* callOrUnsupported({
          api: "public",
          method: "POST",
          path: "/jobs",
          body: { connectionId, jobType: "sync" },
          idempotent: false,
          operation: "start sync job"
        })
        return yield* idField(response.body, "jobId", "start sync job")
      })

    const jobIdOf = (sync: Sync) =>
      sync.engineJobId !== null && /^\d{1,19}$/.test(sync.engineJobId)
        ? Effect.succeed(sync.engineJobId)
        : Effect.fail(new EngineUnsupported({ reason: `Sync ${sync.id} has no Airbyte job id` }))

    /** Why a job failed, from the configuration API's attempt summaries (best effort). */
    const failureReason = (jobId: string) =>
      callOrUnsupported({
        api: "config",
        method: "POST",
        path: "/jobs/get_without_logs",
        rawJson: `{"id":${jobId}}`,
        idempotent: true,
        operation: "read job failure"
      }).pipe(
        Effect.map((response) => failureReasonOf(response.body)),
        Effect.catch(() => Effect.succeed(null))
      )

    const readJob = (jobId: string) =>
      callOrUnsupported({ api: "public", method: "GET", path: `/jobs/${jobId}`, idempotent: true, operation: "read sync job" })

    const jobState = (sync: Sync) =>
      Effect.gen(function*() {
        const jobId = yield* jobIdOf(sync)
        const body = asRecord((yield* readJob(jobId)).body)
        const status = syncStatusOf(String(body["status"]))
        if (status === undefined) {
          return yield* new EngineUnavailable({ reason: `Airbyte API unreachable: job ${jobId} has unknown status "${String(body["status"])}"` })
        }
        const duration = typeof body["duration"] === "string" ? parseIsoDuration(body["duration"]) : null
        const error = status === "FAILED" ? ((yield* failureReason(jobId)) ?? `Airbyte job ${jobId} failed`) : null
        return {
          status,
          recordsSynced: countOf(body["rowsSynced"]),
          bytesSynced: countOf(body["bytesSynced"]),
          durationMs: duration,
          error
        } satisfies JobState
      })

    const cancelJob = (sync: Sync) =>
      Effect.gen(function*() {
        const jobId = yield* jobIdOf(sync)
        yield* call({ api: "public", method: "DELETE", path: `/jobs/${jobId}`, idempotent: true, operation: "cancel sync job" }).pipe(
          Effect.asVoid,
          onRejected(409, () =>
            // A retried cancel that went through the first time also lands here.
            readJob(jobId).pipe(
              Effect.flatMap((response) => {
                const status = asRecord(response.body)["status"]
                return status === "cancelled"
                  ? Effect.void
                  : Effect.fail(new Conflict({ reason: `Airbyte job ${jobId} is no longer running (${String(status)}); it cannot be cancelled` }))
              })
            ))
        )
      })

    return ConnectorEngine.of({
      name: "airbyte",
      saveSource,
      deleteSource,
      check,
      discover,
      saveConnection,
      deleteConnection,
      startJob: (sync, connection) => startJob(sync, connection),
      jobState,
      cancelJob
    })
  })

/** The Airbyte engine configured from the environment (see `AirbyteConfigSchema`). */
export const AirbyteEngineLive = Layer.effect(
  ConnectorEngine,
  Effect.gen(function*() {
    const config = yield* AirbyteConfigSchema
    return yield* makeAirbyteEngine(config)
  })
)

export type AirbyteEngineRequirements = HttpClient.HttpClient | AirbyteTenantState
