import { Console, Effect, Option } from "effect"
import type { Layer } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { FileImportService } from "@ingest/domain"
import { fileJobView } from "@ingest/http/views"
import { withApp } from "../app.ts"
import type { AppServices } from "../composition.ts"
import { jsonFlag, tenantFlag, waitFlag } from "../flags.ts"
import { emit, formatBytes, formatCount, formatDuration, printRecord } from "../output.ts"
import { makeProgressDisplay } from "../progress.ts"
import { uploadLocalFile, waitForImport } from "./file-work.ts"
import { reportImport, schemaRequestOf, targetFlags } from "./files.ts"

/** Upload, choose the target, import: the whole file-import flow in one command. */
const oneShotImport = Command.make("import", {
  tenant: tenantFlag,
  json: jsonFlag,
  wait: waitFlag,
  sheet: Flag.String("sheet").pipe(Flag.withDescription("Spreadsheets: the sheet to import (default: the first)"), Flag.optional),
  file: Argument.String("file").pipe(Argument.withDescription("Local file: csv, xlsx, xls, parquet, json, jsonl or avro")),
  ...targetFlags
}, (input) =>
  Effect.gen(function*() {
    const startedAt = Date.now()
    // Check the arguments before anything is uploaded.
    const request = yield* schemaRequestOf(input)
    const files = yield* FileImportService
    const display = yield* makeProgressDisplay({ quiet: input.json })
    const uploaded = yield* uploadLocalFile(input.tenant, input.file, Option.getOrUndefined(input.sheet), display)
    if (!input.json) {
      yield* Console.error(
        `Uploaded ${uploaded.fileName} (${uploaded.fileFormat}, ${formatBytes(uploaded.fileSize)}, ${formatCount(uploaded.profile.totalRows)} rows) as ${uploaded.id}`
      )
    }
    yield* files.updateSchema(input.tenant, uploaded.id, request)
    const started = yield* files.execute(input.tenant, uploaded.id)
    if (!input.wait) {
      yield* emit(input.json, fileJobView(started), (job) =>
        Effect.gen(function*() {
          yield* printRecord({ id: job.id, fileName: job.fileName, target: `${job.targetSchema}.${job.targetTableName}`, status: job.status })
          yield* Console.error(`Queued: a running service imports it; follow with \`ingest files status ${job.id}\``)
        }))
      return
    }
    const final = yield* waitForImport(input.tenant, uploaded.id, display)
    yield* reportImport(final, input.json, (f) =>
      Console.log(
        `Imported ${formatCount(f.recordsImported ?? 0)} rows into ${f.targetSchema ?? "default"}.${f.targetTableName} ` +
          `in ${formatDuration(Date.now() - startedAt)}`
      ))
  })).pipe(
    Command.withDescription("Upload a local file and import it into an Iceberg table in one go"),
    Command.withExamples([
      {
        command: "ingest import sales.csv --table sales --schema raw --map \"Customer Name=customer\" --wait",
        description: "Import sales.csv into raw.sales, renaming one column, and wait for the result"
      }
    ])
  )

export const importCommand = (app: Layer.Layer<AppServices, unknown>) => withApp(app)(oneShotImport)
