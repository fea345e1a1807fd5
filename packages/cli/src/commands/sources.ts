import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { connectorTypes } from "@ingest/domain"
import type { DiscoverResponse, SourceResponse } from "@ingest/http/api"
import { CreateSourceRequest, UpdateSourceRequest } from "@ingest/http/api"
import type { Connect } from "../command.ts"
import { tenantHeaders, tenantScoped } from "../command.ts"
import { connectionFlags, IngestApi, resolveTarget } from "../connection/index.ts"
import { makeClient } from "../connection/client.ts"
import { WorkFailed } from "../exit-codes.ts"
import { decodeRequest, jsonFlag, parseJsonObject, sourceIdArg, usageError } from "../flags.ts"
import { emit, printJson, printRecord, printTable } from "../output.ts"

type SourceJson = typeof SourceResponse.Type

const printSources = (sources: ReadonlyArray<SourceJson>) =>
  printTable(sources, [
    { header: "ID", value: (s) => s.id },
    { header: "NAME", value: (s) => s.name },
    { header: "TYPE", value: (s) => s.connectorType },
    { header: "STATUS", value: (s) => s.status },
    { header: "LAST TESTED", value: (s) => s.lastTestedAt },
    { header: "CREATED", value: (s) => s.createdAt }
  ], "No sources.")

const printSource = (s: SourceJson) =>
  printRecord({
    id: s.id,
    name: s.name,
    description: s.description,
    connectorType: s.connectorType,
    status: s.status,
    lastTestedAt: s.lastTestedAt,
    createdAt: s.createdAt,
    ...(s.lastError !== null ? { lastError: s.lastError } : {})
  })

const configFlags = {
  config: Flag.String("config").pipe(
    Flag.withDescription("Connector configuration as a JSON object (secrets are encrypted at rest)"),
    Flag.optional
  ),
  configFile: Flag.FileText("config-file").pipe(
    Flag.withDescription("Read the connector configuration JSON from a file"),
    Flag.optional
  )
}

/** The connector configuration from --config or --config-file (not both); none when neither is given. */
const connectionConfigOf = (config: Option.Option<string>, configFile: Option.Option<string>) =>
  Effect.gen(function*() {
    if (Option.isSome(config) && Option.isSome(configFile)) {
      return yield* usageError("Give the connector configuration with --config or --config-file, not both")
    }
    if (Option.isSome(config)) return Option.some(yield* parseJsonObject(config.value, "--config"))
    if (Option.isSome(configFile)) return Option.some(yield* parseJsonObject(configFile.value, "--config-file"))
    return Option.none<Record<string, unknown>>()
  })


const list = Command.make("list", { ...tenantScoped }, ({ json, tenant }) =>
  Effect.gen(function*() {
    const sources = yield* (yield* IngestApi).client.sources.list({ headers: tenantHeaders(tenant) })
    yield* emit(json, sources, printSources)
  })).pipe(Command.withDescription("List the tenant's sources"), Command.withAlias("ls"))

const get = Command.make("get", { ...tenantScoped, id: sourceIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    const source = yield* (yield* IngestApi).client.sources.get({ headers: tenantHeaders(tenant), params: { sourceId: id } })
    yield* emit(json, source, printSource)
  })).pipe(Command.withDescription("Show one source (never its secrets)"))

const create = Command.make("create", {
  ...tenantScoped,
  name: Flag.String("name").pipe(Flag.withDescription("Source name")),
  type: Flag.Literals("type", connectorTypes).pipe(Flag.withDescription("Connector type (see `ingest connector-types`)")),
  description: Flag.String("description").pipe(Flag.withDescription("What the source is"), Flag.optional),
  ...configFlags
}, ({ config, configFile, description, json, name, tenant, type }) =>
  Effect.gen(function*() {
    const connectionConfig = yield* connectionConfigOf(config, configFile)
    if (Option.isNone(connectionConfig)) {
      return yield* usageError("The connector configuration is required: --config '<json>' or --config-file <file>")
    }
    const payload = yield* decodeRequest(CreateSourceRequest, "source")({
      name,
      connectorType: type,
      connectionConfig: connectionConfig.value,
      ...(Option.isSome(description) ? { description: description.value } : {})
    })
    const source = yield* (yield* IngestApi).client.sources.create({ headers: tenantHeaders(tenant), payload })
    yield* emit(json, source, printSource)
  })).pipe(Command.withDescription("Register a source"))

const update = Command.make("update", {
  ...tenantScoped,
  id: sourceIdArg,
  name: Flag.String("name").pipe(Flag.withDescription("New name"), Flag.optional),
  type: Flag.Literals("type", connectorTypes).pipe(Flag.withDescription("New connector type"), Flag.optional),
  description: Flag.String("description").pipe(Flag.withDescription("New description (\"\" clears it)"), Flag.optional),
  ...configFlags
}, ({ config, configFile, description, id, json, name, tenant, type }) =>
  Effect.gen(function*() {
    const connectionConfig = yield* connectionConfigOf(config, configFile)
    const changes = {
      ...(Option.isSome(name) ? { name: name.value } : {}),
      ...(Option.isSome(type) ? { connectorType: type.value } : {}),
      ...(Option.isSome(description) ? { description: description.value === "" ? null : description.value } : {}),
      ...(Option.isSome(connectionConfig) ? { connectionConfig: connectionConfig.value } : {})
    }
    if (Object.keys(changes).length === 0) {
      return yield* usageError("Nothing to update: give --name, --description, --type, --config or --config-file")
    }
    const payload = yield* decodeRequest(UpdateSourceRequest, "source update")(changes)
    const source = yield* (yield* IngestApi).client.sources.update({ headers: tenantHeaders(tenant), params: { sourceId: id }, payload })
    yield* emit(json, source, printSource)
  })).pipe(Command.withDescription("Change a source; omitted fields keep their value"))

const remove = Command.make("delete", { ...tenantScoped, id: sourceIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    yield* (yield* IngestApi).client.sources.remove({ headers: tenantHeaders(tenant), params: { sourceId: id } })
    yield* json ? printJson({ id, deleted: true }) : Console.log(`Deleted source ${id}`)
  })).pipe(Command.withDescription("Delete a source that has no connections"), Command.withAlias("rm"))

const test = Command.make("test", { ...tenantScoped, id: sourceIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    const source = yield* (yield* IngestApi).client.sources.test({ headers: tenantHeaders(tenant), params: { sourceId: id } })
    yield* emit(json, source, printSource)
    // A failed check is an answer, not an error, for the API; a script still wants a non-zero exit.
    if (source.status === "ERROR") {
      return yield* new WorkFailed({ message: `Connection test failed: ${source.lastError ?? "the source cannot be reached"}` })
    }
  })).pipe(Command.withDescription("Check that the source can be reached (status ACTIVE or ERROR)"))

const printStreams = (streams: (typeof DiscoverResponse.Type)["streams"]) =>
  printTable(streams, [
    { header: "STREAM", value: (s) => s.name },
    { header: "COLUMNS", value: (s) => s.columns.map((c) => `${c.name}:${c.type}`).join(", ") },
    { header: "SYNC MODES", value: (s) => s.supportedSyncModes.join(",") }
  ], "The source offers no streams.")

const discover = Command.make("discover", { ...tenantScoped, id: sourceIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    const found = yield* (yield* IngestApi).client.sources.discover({ headers: tenantHeaders(tenant), params: { sourceId: id } })
    yield* json ? printJson(found) : printStreams(found.streams)
  })).pipe(Command.withDescription("Discover the streams (tables) a source offers, with their columns"))

export const sourcesCommand = (connect: Connect) =>
  Command.make("sources").pipe(
    Command.withDescription("Manage sources: external systems to ingest from"),
    Command.withSubcommands([connect(list), connect(get), connect(create), connect(update), connect(remove), connect(test), connect(discover)])
  )

/** A service's list when the command goes to one, else this build's own. */
export const catalogueList = (
  options: { readonly url: Option.Option<string>; readonly token: Option.Option<string>; readonly profile: Option.Option<string> },
  fetchList: (client: Effect.Success<ReturnType<typeof makeClient>>) => Effect.Effect<ReadonlyArray<string>, unknown>,
  local: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    const target = yield* resolveTarget(options)
    if (target.kind === "in-process") return local
    return yield* fetchList(yield* makeClient({ baseUrl: target.url, token: undefined }))
  }).pipe(Effect.scoped)

export const connectorTypesCommand = Command.make("connector-types", { json: jsonFlag, ...connectionFlags }, ({ json, ...options }) =>
  Effect.gen(function*() {
    const types = yield* catalogueList(options, (client) => client.public.connectorTypes(), connectorTypes)
    yield* json ? printJson(types) : Console.log(types.join("\n"))
  })).pipe(Command.withDescription("List the connector types a source can have"))
