import { Console, Effect, Option } from "effect"
import type { Layer } from "effect"
import { Command, Flag } from "effect/cli"
import type { DiscoveredStream, Source } from "@ingest/domain"
import { connectorTypes, SourceService } from "@ingest/domain"
import { CreateSourceRequest, UpdateSourceRequest } from "@ingest/http/api"
import { discoverView, sourceView } from "@ingest/http/views"
import { withApp } from "../app.ts"
import type { AppServices } from "../composition.ts"
import { decodeRequest, jsonFlag, parseJsonObject, sourceIdArg, tenantFlag, usageError } from "../flags.ts"
import { emit, printJson, printRecord, printTable } from "../output.ts"

type SourceJson = ReturnType<typeof sourceView>

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

const list = Command.make("list", { tenant: tenantFlag, json: jsonFlag }, ({ json, tenant }) =>
  Effect.gen(function*() {
    const sources = yield* (yield* SourceService).list(tenant)
    yield* emit(json, sources.map(sourceView), printSources)
  })).pipe(Command.withDescription("List the tenant's sources"), Command.withAlias("ls"))

const get = Command.make("get", { tenant: tenantFlag, json: jsonFlag, id: sourceIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    const source = yield* (yield* SourceService).get(tenant, id)
    yield* emit(json, sourceView(source), printSource)
  })).pipe(Command.withDescription("Show one source"))

const create = Command.make("create", {
  tenant: tenantFlag,
  json: jsonFlag,
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
    const request = yield* decodeRequest(CreateSourceRequest, "source")({
      name,
      connectorType: type,
      connectionConfig: connectionConfig.value,
      ...(Option.isSome(description) ? { description: description.value } : {})
    })
    const source = yield* (yield* SourceService).create(tenant, request)
    yield* emit(json, sourceView(source), printSource)
  })).pipe(Command.withDescription("Register a source"))

const update = Command.make("update", {
  tenant: tenantFlag,
  json: jsonFlag,
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
    const request = yield* decodeRequest(UpdateSourceRequest, "source update")(changes)
    const source = yield* (yield* SourceService).update(tenant, id, request)
    yield* emit(json, sourceView(source), printSource)
  })).pipe(Command.withDescription("Change a source; omitted fields keep their value"))

const remove = Command.make("delete", { tenant: tenantFlag, json: jsonFlag, id: sourceIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    yield* (yield* SourceService).remove(tenant, id)
    yield* json ? printJson({ id, deleted: true }) : Console.log(`Deleted source ${id}`)
  })).pipe(Command.withDescription("Delete a source that has no connections"), Command.withAlias("rm"))

const test = Command.make("test", { tenant: tenantFlag, json: jsonFlag, id: sourceIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    const source: Source = yield* (yield* SourceService).test(tenant, id)
    yield* emit(json, sourceView(source), printSource)
    // A failed check is an answer, not an error, for the API; a script still wants a non-zero exit.
    if (source.status === "ERROR") {
      return yield* usageError(`Connection test failed: ${source.lastError ?? "the source cannot be reached"}`)
    }
  })).pipe(Command.withDescription("Check that the source can be reached (status ACTIVE or ERROR)"))

const printStreams = (streams: ReadonlyArray<DiscoveredStream>) =>
  printTable(streams, [
    { header: "STREAM", value: (s) => s.name },
    { header: "COLUMNS", value: (s) => s.columns.map((c) => `${c.name}:${c.type}`).join(", ") },
    { header: "SYNC MODES", value: (s) => s.supportedSyncModes.join(",") }
  ], "The source offers no streams.")

const discover = Command.make("discover", { tenant: tenantFlag, json: jsonFlag, id: sourceIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    const streams = yield* (yield* SourceService).discover(tenant, id)
    yield* json ? printJson(discoverView(streams)) : printStreams(streams)
  })).pipe(Command.withDescription("Discover the streams (tables) a source offers, with their columns"))

export const sourcesCommand = (app: Layer.Layer<AppServices, unknown>) => {
  const provide = withApp(app)
  return Command.make("sources").pipe(
    Command.withDescription("Manage sources: external systems to ingest from"),
    Command.withSubcommands([
      provide(list),
      provide(get),
      provide(create),
      provide(update),
      provide(remove),
      provide(test),
      provide(discover)
    ])
  )
}

export const connectorTypesCommand = Command.make("connector-types", { json: jsonFlag }, ({ json }) =>
  json ? printJson([...connectorTypes]) : Console.log(connectorTypes.join("\n"))).pipe(
    Command.withDescription("List the connector types a source can have")
  )
