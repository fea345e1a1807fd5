import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { fileFormats } from "@ingest/domain"
import type { FileJobResponse, ImportStatusResponse, PreviewResponse, UploadResponse } from "@ingest/http/api"
import { SchemaUpdateRequest } from "@ingest/http/api"
import type { Connect } from "../command.ts"
import { tenantHeaders, tenantScoped } from "../command.ts"
import { connectionFlags, IngestApi } from "../connection/index.ts"
import { WorkFailed } from "../exit-codes.ts"
import { decodeRequest, fileIdArg, jsonFlag, parseMappings, usageError, waitFlag } from "../flags.ts"
import { emit, formatBytes, formatCount, printJson, printRecord, printTable } from "../output.ts"
import { makeProgressDisplay } from "../progress.ts"
import { localFile, uploadFile, waitForImport } from "./file-work.ts"
import { catalogueList } from "./sources.ts"

type UploadJson = typeof UploadResponse.Type
type PreviewJson = typeof PreviewResponse.Type
type FileJobJson = typeof FileJobResponse.Type
type StatusJson = typeof ImportStatusResponse.Type

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
/** How to read the file instead of what was detected (the preview's dialect): the file is profiled again. */
const dialectFlags = {
  headerRows: Flag.Int("header-rows").pipe(Flag.withDescription("Rows that name the columns (0: none)"), Flag.optional),
  skipLeadingRows: Flag.Int("skip-leading-rows").pipe(Flag.withDescription("Lines before the header that are not read"), Flag.optional),
  skipTrailingRows: Flag.Int("skip-trailing-rows").pipe(Flag.withDescription("Lines at the end that are not read"), Flag.optional),
  delimiter: Flag.String("delimiter").pipe(Flag.withDescription("Field separator: one character, \", \" or \" \" (runs of spaces)"), Flag.optional),
  quote: Flag.String("quote").pipe(Flag.withDescription("Quote character (empty: none)"), Flag.optional),
  escape: Flag.String("escape").pipe(Flag.withDescription("Escape character: the quote itself or a backslash"), Flag.optional),
  encoding: Flag.Literals("encoding", ["utf-8", "utf-16le", "utf-16be", "windows-1252", "shift_jis"]).pipe(
    Flag.withDescription("Text encoding of the file"),
    Flag.optional
  )
}

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
  ),
  ...dialectFlags
}

type DialectInput = { readonly [K in keyof typeof dialectFlags]: Option.Option<string | number> }

export const schemaRequestOf = (input: {
  readonly table: string
  readonly schema: Option.Option<string>
  readonly map: ReadonlyArray<string>
  readonly dropUnmapped: boolean
} & DialectInput) =>
  Effect.gen(function*() {
    const mappings = yield* parseMappings(input.map)
    const dialect: Record<string, string | number> = {}
    for (const key of Object.keys(dialectFlags) as Array<keyof typeof dialectFlags>) {
      const value = input[key]
      if (Option.isSome(value)) dialect[key] = value.value
    }
    return yield* decodeRequest(SchemaUpdateRequest, "schema")({
      targetTableName: input.table,
      ...(Option.isSome(input.schema) ? { targetSchema: input.schema.value } : {}),
      columnMappings: mappings,
      dropUnmapped: input.dropUnmapped,
      ...(Object.keys(dialect).length > 0 ? { dialect } : {})
    })
  })

export const sheetFlag = Flag.String("sheet").pipe(
  Flag.withDescription("Spreadsheets: the sheet to import (default: the first)"),
  Flag.optional
)

const upload = Command.make("upload", {
  ...tenantScoped,
  sheet: sheetFlag,
  file: Argument.String("file").pipe(Argument.withDescription("Local file: csv, xlsx, xls, parquet, json, jsonl or avro"))
}, ({ file, json, sheet, tenant }) =>
  Effect.gen(function*() {
    const local = yield* localFile(file)
    const display = yield* makeProgressDisplay({ quiet: json })
    const uploaded = yield* uploadFile(tenant, local, Option.getOrUndefined(sheet), display)
    yield* emit(json, uploaded, printUpload)
  })).pipe(Command.withDescription("Upload a file and profile it (format, columns, types, row count)"))

const preview = Command.make("preview", { ...tenantScoped, id: fileIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    const file = yield* (yield* IngestApi).client.files.preview({ headers: tenantHeaders(tenant), params: { fileId: id } })
    yield* emit(json, file, printPreview)
  })).pipe(Command.withDescription("Show the inferred columns and the first rows of an uploaded file"))

const schema = Command.make("schema", { ...tenantScoped, id: fileIdArg, ...targetFlags }, (input) =>
  Effect.gen(function*() {
    const payload = yield* schemaRequestOf(input)
    const job = yield* (yield* IngestApi).client.files.updateSchema({
      headers: tenantHeaders(input.tenant),
      params: { fileId: input.id },
      payload
    })
    yield* emit(input.json, job, printFileJob)
  })).pipe(Command.withDescription("Choose the target table and rename or drop columns before importing"))

/** The end of an import: the status (JSON) or a line (human); a FAILED import fails the command. */
export const reportImport = (status: StatusJson, json: boolean, summary: (status: StatusJson) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    if (json) yield* printJson(status)
    if (status.status === "FAILED") {
      return yield* new WorkFailed({ message: `Import of ${status.fileName} failed${status.error !== null ? `: ${status.error}` : ""}` })
    }
    if (!json) yield* summary(status)
  })

export const queuedHint = (id: string) => `Queued: the service imports it; follow with \`ingest files status ${id}\``

const runImport = Command.make("import", { ...tenantScoped, wait: waitFlag, id: fileIdArg }, ({ id, json, tenant, wait }) =>
  Effect.gen(function*() {
    const started = yield* (yield* IngestApi).client.files.execute({ headers: tenantHeaders(tenant), params: { fileId: id } })
    if (!wait) {
      yield* emit(json, started, printFileJob)
      if (!json) yield* Console.error(queuedHint(id))
      return
    }
    const display = yield* makeProgressDisplay({ quiet: json })
    const final = yield* waitForImport(tenant, id, display)
    yield* reportImport(final, json, (f) =>
      Console.log(`Imported ${formatCount(f.recordsImported ?? 0)} rows of ${f.fileName} into ${f.targetSchema ?? "default"}.${f.targetTableName}`))
  })).pipe(Command.withDescription("Import an uploaded file into its Iceberg table (--wait: follow it to the end)"))

const status = Command.make("status", { ...tenantScoped, id: fileIdArg }, ({ id, json, tenant }) =>
  Effect.gen(function*() {
    const file = yield* (yield* IngestApi).client.files.status({ headers: tenantHeaders(tenant), params: { fileId: id } })
    yield* emit(json, file, printStatus)
  })).pipe(Command.withDescription("Show the import status of a file"))

const list = Command.make("list", {
  ...tenantScoped,
  page: Flag.Int("page").pipe(Flag.withDescription("Page number, from 0"), Flag.withDefault(0)),
  size: Flag.Int("size").pipe(Flag.withDescription("Page size, 1..1000"), Flag.withDefault(20))
}, ({ json, page, size, tenant }) =>
  Effect.gen(function*() {
    if (page < 0) return yield* usageError(`--page must be 0 or more, got ${page}`)
    if (size < 1 || size > 1000) return yield* usageError(`--size must be between 1 and 1000, got ${size}`)
    const body = yield* (yield* IngestApi).client.files.list({ headers: tenantHeaders(tenant), query: { page, size } })
    yield* emit(json, body, (b) =>
      Effect.gen(function*() {
        yield* printTable(b.content, [
          { header: "ID", value: (f) => f.id },
          { header: "FILE", value: (f) => f.fileName },
          { header: "FORMAT", value: (f) => f.fileFormat },
          { header: "SIZE", value: (f) => formatBytes(f.fileSize) },
          { header: "STATUS", value: (f) => f.status },
          { header: "ROWS", value: (f) => (f.recordsImported === null ? null : formatCount(f.recordsImported)) },
          { header: "TABLE", value: (f) => (f.targetTableName === null ? null : `${f.targetSchema ?? "default"}.${f.targetTableName}`) },
          { header: "UPLOADED", value: (f) => f.createdAt }
        ], "No files.")
        if (b.totalElements > 0) yield* Console.log(`\npage ${b.number + 1} of ${Math.max(1, b.totalPages)} (${b.totalElements} files)`)
      }))
  })).pipe(Command.withDescription("Import history: the tenant's files, newest first, one page at a time"), Command.withAlias("ls"))

const formats = Command.make("formats", { json: jsonFlag, ...connectionFlags }, ({ json, ...options }) =>
  Effect.gen(function*() {
    const formats = yield* catalogueList(options, (client) => client.public.fileFormats(), fileFormats)
    yield* json ? printJson(formats) : Console.log(formats.join("\n"))
  })).pipe(Command.withDescription("List the file formats that can be imported"))

export const filesCommand = (connect: Connect) =>
  Command.make("files").pipe(
    Command.withDescription("Upload files and import them into Iceberg tables step by step"),
    Command.withSubcommands([connect(list), connect(upload), connect(preview), connect(schema), connect(runImport), connect(status), formats])
  )
