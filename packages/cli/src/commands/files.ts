import { Console, Effect, Option } from "effect"
import type { Layer } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type { FileImport } from "@ingest/domain"
import { fileFormats, FileImportService } from "@ingest/domain"
import { SchemaUpdateRequest } from "@ingest/http/api"
import { fileJobView, importStatusView, previewView, uploadView } from "@ingest/http/views"
import { withApp } from "../app.ts"
import type { AppServices } from "../composition.ts"
import { decodeRequest, fileIdArg, jsonFlag, parseMappings, tenantFlag, usageError, waitFlag } from "../flags.ts"
import { emit, formatBytes, formatCount, printJson, printRecord, printTable } from "../output.ts"
import { makeProgressDisplay } from "../progress.ts"
import { printImportFailure, uploadLocalFile, waitForImport } from "./file-work.ts"

type UploadJson = ReturnType<typeof uploadView>
type PreviewJson = ReturnType<typeof previewView>
type FileJobJson = ReturnType<typeof fileJobView>
type StatusJson = ReturnType<typeof importStatusView>

const printUpload = (f: UploadJson) =>
  printRecord({
    id: f.id,
    fileName: f.fileName,
    fileSize: `${formatBytes(f.fileSize)} (${f.fileSize} bytes)`,
    fileFormat: f.fileFormat,
    storagePath: f.storagePath,
    status: f.status,
    createdAt: f.createdAt
  })

const printPreview = (p: PreviewJson) =>
  Effect.gen(function*() {
    yield* Console.log(`${p.fileName}: ${formatCount(p.totalRows)} rows, ${p.columns.length} columns\n`)
    yield* printTable(p.columns, [
      { header: "COLUMN", value: (c) => c.name },
      {
        header: "TYPE",
        value: (c) => (c.precision !== undefined ? `${c.type}(${c.precision},${c.scale ?? 0})` : c.type)
      },
      { header: "NULLABLE", value: (c) => (c.nullable ? "yes" : "no") },
      { header: "SAMPLES", value: (c) => c.sampleValues.slice(0, 5).join(", ") }
    ])
    const shown = p.previewRows.slice(0, 10)
    if (shown.length > 0) {
      yield* Console.log(`\nFirst ${shown.length} of ${formatCount(p.totalRows)} rows:\n`)
      yield* printTable(shown, p.columns.map((c) => ({ header: c.name, value: (row: Record<string, unknown>) => row[c.name] })))
    }
  })

const printFileJob = (j: FileJobJson) =>
  Effect.gen(function*() {
    yield* printRecord({
      id: j.id,
      fileName: j.fileName,
      target: `${j.targetSchema ?? "default"}.${j.targetTableName ?? "(from the file name)"}`,
      dropUnmapped: j.dropUnmapped,
      status: j.status,
      createdAt: j.createdAt
    })
    yield* Console.log("")
    yield* printTable(j.columns, [
      { header: "SOURCE COLUMN", value: (c) => c.source },
      { header: "TARGET COLUMN", value: (c) => c.name },
      { header: "TYPE", value: (c) => c.type }
    ], "No columns.")
  })

const printStatus = (s: StatusJson) =>
  printRecord({
    id: s.id,
    fileName: s.fileName,
    status: s.status,
    target: s.targetTableName === null ? null : `${s.targetSchema ?? "default"}.${s.targetTableName}`,
    recordsImported: s.recordsImported,
    progress: s.bytesRead === null ? null : `${formatBytes(s.bytesRead)} of ${formatBytes(s.totalBytes)}`,
    completedAt: s.completedAt,
    ...(s.error !== null ? { error: s.error } : {})
  })

/** The flags that describe where a file goes; shared by `files schema` and `import`. */
export const targetFlags = {
  table: Flag.String("table").pipe(Flag.withDescription("Target Iceberg table (sanitised to lower snake case)")),
  schema: Flag.String("schema").pipe(Flag.withDescription("Target namespace under the tenant's (default: default)"), Flag.optional),
  map: Flag.String("map").pipe(
    Flag.withDescription("Rename a column: source=target (repeat for several; source= keeps the name)"),
    Flag.atLeast(0)
  ),
  dropUnmapped: Flag.Boolean("drop-unmapped").pipe(
    Flag.withDescription("Import only the columns named by --map"),
    Flag.withDefault(false)
  )
}

export const schemaRequestOf = (input: {
  readonly table: string
  readonly schema: Option.Option<string>
  readonly map: ReadonlyArray<string>
  readonly dropUnmapped: boolean
}) =>
  Effect.gen(function*() {
    const mappings = yield* parseMappings(input.map)
    return yield* decodeRequest(SchemaUpdateRequest, "schema")({
      targetTableName: input.table,
      ...(Option.isSome(input.schema) ? { targetSchema: input.schema.value } : {}),
      columnMappings: mappings,
      dropUnmapped: input.dropUnmapped
    })
  })

const sheetFlag = Flag.String("sheet").pipe(
  Flag.withDescription("Spreadsheets: the sheet to import (default: the first)"),
  Flag.optional
)

const upload = Command.make("upload", {
  tenant: tenantFlag,
  json: jsonFlag,
  sheet: sheetFlag,
  file: Argument.String("file").pipe(Argument.withDescription("Local file: csv, xlsx, xls, parquet, json, jsonl or avro"))
}, ({ file, json, sheet, tenant }) =>
  Effect.gen(function*() {
    const display = yield* makeProgressDisplay({ quiet: json })
    const uploaded = yield* uploadLocalFile(tenant, file, Option.getOrUndefined(sheet), display)
    yield* emit(json, uploadView(uploaded), printUpload)
  })).pipe(Command.withDescription("Upload a file and profile it (format, columns, types, row count)"))

const preview = Command.make("preview", { tenant: tenantFlag, json: jsonFlag, id: fileIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    const file = yield* (yield* FileImportService).get(tenant, id)
    yield* emit(json, previewView(file), printPreview)
  })).pipe(Command.withDescription("Show the inferred columns and the first rows of an uploaded file"))

const schema = Command.make("schema", { tenant: tenantFlag, json: jsonFlag, id: fileIdArg, ...targetFlags }, (input) =>
  Effect.gen(function*() {
    const request = yield* schemaRequestOf(input)
    const file = yield* (yield* FileImportService).updateSchema(input.tenant, input.id, request)
    yield* emit(input.json, fileJobView(file), printFileJob)
  })).pipe(Command.withDescription("Choose the target table and rename or drop columns before importing"))

/** Prints the end of an import; a FAILED one fails the command. */
export const reportImport = (file: FileImport, json: boolean, summary: (file: FileImport) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    if (json) yield* printJson(importStatusView(file))
    if (file.status === "FAILED") {
      if (!json) yield* printImportFailure(file)
      return yield* usageError(`Import of ${file.fileName} failed${file.error !== null ? `: ${file.error}` : ""}`)
    }
    if (!json) yield* summary(file)
  })

const runImport = Command.make("import", { tenant: tenantFlag, json: jsonFlag, wait: waitFlag, id: fileIdArg }, ({ id, json, tenant, wait }) =>
  Effect.gen(function*() {
    const started = yield* (yield* FileImportService).execute(tenant, id)
    if (!wait) {
      yield* emit(json, fileJobView(started), printFileJob)
      if (!json) yield* Console.error(`Queued: a running service imports it; follow with \`ingest files status ${id}\``)
      return
    }
    const display = yield* makeProgressDisplay({ quiet: json })
    const final = yield* waitForImport(tenant, id, display)
    yield* reportImport(final, json, (f) =>
      Console.log(`Imported ${formatCount(f.recordsImported ?? 0)} rows of ${f.fileName} into ${f.targetSchema ?? "default"}.${f.targetTableName}`))
  })).pipe(Command.withDescription("Import an uploaded file into its Iceberg table (--wait: run it here and follow it)"))

const status = Command.make("status", { tenant: tenantFlag, json: jsonFlag, id: fileIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    const file = yield* (yield* FileImportService).get(tenant, id)
    yield* emit(json, importStatusView(file), printStatus)
  })).pipe(Command.withDescription("Show the import status of a file"))

const formats = Command.make("formats", { json: jsonFlag }, ({ json }) =>
  json ? printJson([...fileFormats]) : Console.log(fileFormats.join("\n"))).pipe(
    Command.withDescription("List the file formats that can be imported")
  )

export const filesCommand = (app: Layer.Layer<AppServices, unknown>) => {
  const provide = withApp(app)
  return Command.make("files").pipe(
    Command.withDescription("Upload files and import them into Iceberg tables step by step"),
    Command.withSubcommands([provide(upload), provide(preview), provide(schema), provide(runImport), provide(status), formats])
  )
}
