import { Config, Effect, Option, Schema, SchemaIssue } from "effect"
import { Argument, CliError, Flag } from "effect/cli"
import { ConnectionId, FileId, SourceId, SyncId, TenantId } from "@ingest/domain"

/** Every tenant-scoped command takes the tenant from --tenant, else from INGEST_TENANT_ID. */
export const tenantFlag = Flag.String("tenant").pipe(
  Flag.withAlias("t"),
  Flag.withDescription("Tenant UUID (default: $INGEST_TENANT_ID)"),
  Flag.withFallbackConfig(Config.String("INGEST_TENANT_ID")),
  Flag.withSchema(TenantId)
)

export const jsonFlag = Flag.Boolean("json").pipe(
  Flag.withDescription("Print only the results, as the JSON the API answers, on stdout (messages go to stderr)"),
  Flag.withDefault(false)
)

export const waitFlag = Flag.Boolean("wait").pipe(
  Flag.withDescription("Wait until the work ends, showing its progress (in process, the work runs here meanwhile)"),
  Flag.withDefault(false)
)

export const sourceIdArg = Argument.String("source-id").pipe(Argument.withSchema(SourceId))
export const connectionIdArg = Argument.String("connection-id").pipe(Argument.withSchema(ConnectionId))
export const syncIdArg = Argument.String("sync-id").pipe(Argument.withSchema(SyncId))
export const fileIdArg = Argument.String("file-id").pipe(Argument.withSchema(FileId))

/** A user mistake in the arguments: shown as a message, exit 2. */
export const usageError = (message: string) => new CliError.UserError({ userMessage: message, cause: message })

/**
 * Validates what the command line assembled with the same request schema the HTTP API uses,
 * so both drivers accept and refuse the same input.
 */
export const decodeRequest = <T>(schema: Schema.Decoder<T>, what: string) =>
(input: unknown): Effect.Effect<T, CliError.UserError> =>
  Schema.decodeUnknownEffect(schema)(input).pipe(
    Effect.mapError((error) =>
      usageError(`Invalid ${what}: ${SchemaIssue.makeFormatterDefault()(error.issue).replace(/\s+/g, " ").trim()}`)
    )
  )

/**
 * `--map source=target` pairs (split at the last `=`, so a file's column label may itself
 * contain one); `source=` maps to null, which keeps the column under its own name.
 */
export const parseMappings = (pairs: ReadonlyArray<string>): Effect.Effect<Record<string, string | null>, CliError.UserError> =>
  Effect.gen(function*() {
    const mappings: Record<string, string | null> = {}
    for (const pair of pairs) {
      const at = pair.lastIndexOf("=")
      if (at <= 0) return yield* usageError(`--map expects source=target, got "${pair}"`)
      const from = pair.slice(0, at)
      const to = pair.slice(at + 1).trim()
      if (Object.prototype.hasOwnProperty.call(mappings, from)) return yield* usageError(`--map names column "${from}" twice`)
      mappings[from] = to === "" ? null : to
    }
    return mappings
  })

/** A JSON object given inline or read from a file (at most 64 KiB, as the API allows). */
export const parseJsonObject = (text: string, where: string): Effect.Effect<Record<string, unknown>, CliError.UserError> =>
  Effect.gen(function*() {
    if (text.length > 64 * 1024) return yield* usageError(`${where} is larger than 64 KiB`)
    const parsed = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => usageError(`${where} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`)
    })
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      return yield* usageError(`${where} must be a JSON object`)
    }
    return parsed as Record<string, unknown>
  })

export const optionalValue = <A>(option: Option.Option<A>): A | undefined => Option.getOrUndefined(option)
