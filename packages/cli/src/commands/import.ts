import { Console, Effect, Exit, Option, Schedule } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type { TenantId } from "@ingest/domain"
import { FileId } from "@ingest/domain"
import type { ImportStatusResponse, SchemaUpdateRequest } from "@ingest/http/api"
import type { Connect } from "../command.ts"
import { tenantHeaders, tenantScoped } from "../command.ts"
import { IngestApi } from "../connection/index.ts"
import { CommandFailed, describeError, exitCodeOf, ExitCode } from "../exit-codes.ts"
import { usageError, waitFlag } from "../flags.ts"
import { emit, formatBytes, formatCount, formatDuration, printJson, printRecord, printTable } from "../output.ts"
import type { ProgressDisplay } from "../progress.ts"
import { makeProgressDisplay, transferText, whileWorking } from "../progress.ts"
import { expandFileArguments, localFile, uploadFile, waitForImport } from "./file-work.ts"
import { queuedHint, reportImport, schemaRequestOf, sheetFlag, targetFlags } from "./files.ts"

type StatusJson = typeof ImportStatusResponse.Type
type Target = typeof SchemaUpdateRequest.Type

/** Upload, choose the target, import: the whole flow for one file; the job as queued, or its end with --wait. */
const importOne = (options: {
  readonly tenant: TenantId
  readonly file: string
  readonly sheet: string | undefined
  readonly target: Target
  readonly wait: boolean
  readonly display: ProgressDisplay
  readonly announce: boolean
  readonly runsBackground?: boolean
  readonly onSent?: (bytes: number) => void
}) =>
  Effect.gen(function*() {
    const { client } = yield* IngestApi
    const headers = tenantHeaders(options.tenant)
    const local = yield* localFile(options.file)
    const uploaded = yield* uploadFile(options.tenant, local, options.sheet, options.display, options.onSent)
    const fileId = FileId.make(uploaded.id)
    if (options.announce) {
      yield* Console.error(`Uploaded ${uploaded.fileName} (${uploaded.fileFormat}, ${formatBytes(uploaded.fileSize)}) as ${uploaded.id}`)
    }
    yield* client.files.updateSchema({ headers, params: { fileId }, payload: options.target })
    const job = yield* client.files.execute({ headers, params: { fileId } })
    if (!options.wait) return { job, status: undefined }
    const status = yield* waitForImport(options.tenant, fileId, options.display, { runsBackground: options.runsBackground ?? false })
    return { job, status }
  })

const isPattern = (arg: string) => /[*?[{]/.test(arg)

/** One file: its status (or the queued job) as the API answers it. */
const importSingle = (input: Input, target: Target, file: string) =>
  Effect.gen(function*() {
    const startedAt = Date.now()
    const display = yield* makeProgressDisplay({ quiet: input.json })
    const { job, status } = yield* importOne({
      tenant: input.tenant,
      file,
      sheet: Option.getOrUndefined(input.sheet),
      target,
      wait: input.wait,
      display,
      announce: !input.json
    })
    if (status === undefined) {
      return yield* emit(input.json, job, (j) =>
        Effect.gen(function*() {
          yield* printRecord({ id: j.id, fileName: j.fileName, target: `${j.targetSchema}.${j.targetTableName}`, status: j.status })
          yield* Console.error(queuedHint(j.id))
        }))
    }
    yield* reportImport(status, input.json, (f) =>
      Console.log(
        `Imported ${formatCount(f.recordsImported ?? 0)} rows into ${f.targetSchema ?? "default"}.${f.targetTableName} ` +
          `in ${formatDuration(Date.now() - startedAt)}`
      ))
  })

/** One row of the many-files summary (also its JSON). */
interface Outcome {
  readonly file: string
  readonly id: string | null
  /** The import's status, or REFUSED when it never started (file not found, refused by the service). */
  readonly status: StatusJson["status"] | "REFUSED"
  readonly recordsImported: number | null
  readonly targetSchema: string | null
  readonly targetTableName: string | null
  readonly error: string | null
  readonly exitCode: ExitCode
}

/**
 * Many files into one table, `concurrency` at a time: a summary table (or a JSON array), and a
 * non-zero exit naming the files that did not import (the exit code of the first of them).
 */
const importMany = (input: Input, target: Target, files: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { background } = yield* IngestApi
    const tty = process.stderr.isTTY === true
    // A terminal gets one line for the whole batch; a log one line per file and state.
    const quiet: ProgressDisplay = { show: () => Effect.void, end: Effect.void }
    const aggregate = yield* makeProgressDisplay({ quiet: input.json, tty })
    const sizes = yield* Effect.forEach(files, (file) => localFile(file).pipe(Effect.map((f) => f.size), Effect.orElseSucceed(() => 0)))
    const total = sizes.reduce((a, b) => a + b, 0)
    const startedAt = Date.now()
    let sent = 0
    let done = 0
    const showAggregate = Effect.suspend(() =>
      tty
        ? aggregate.show({
          phase: "batch",
          text: `${done} of ${files.length} files done; sent ${transferText(Math.min(sent, total), total, startedAt)}`,
          fraction: total > 0 ? Math.min(sent, total) / total : undefined
        })
        : Effect.void
    )
    const perFile = (file: string) =>
      Effect.gen(function*() {
        const fileLines = tty ? quiet : yield* makeProgressDisplay({ quiet: input.json, tty: false })
        return yield* importOne({
          tenant: input.tenant,
          file,
          sheet: Option.getOrUndefined(input.sheet),
          target,
          wait: input.wait,
          display: fileLines,
          announce: false,
          runsBackground: true,
          onSent: (bytes) => {
            sent += bytes
          }
        })
      }).pipe(
        Effect.exit,
        Effect.map((exit): Outcome => {
          done++
          if (Exit.isSuccess(exit)) {
            const { job, status } = exit.value
            const failed = status?.status === "FAILED"
            return {
              file,
              id: job.id,
              status: status?.status ?? job.status,
              recordsImported: status?.recordsImported ?? null,
              targetSchema: job.targetSchema,
              targetTableName: job.targetTableName,
              error: status?.error ?? null,
              exitCode: failed ? ExitCode.failed : ExitCode.ok
            }
          }
          const error = exit.cause.reasons.find((r) => r._tag === "Fail")
          const failure = error?._tag === "Fail" ? error.error : exit.cause
          return {
            file,
            id: null,
            status: "REFUSED",
            recordsImported: null,
            targetSchema: null,
            targetTableName: null,
            error: describeError(failure),
            exitCode: error === undefined ? ExitCode.error : exitCodeOf(failure)
          }
        })
      )
    const ticker = showAggregate.pipe(Effect.repeat({ schedule: Schedule200 }), Effect.andThen(Effect.never))
    const outcomes = yield* whileWorking(
      Effect.forEach(files, perFile, { concurrency: input.concurrency }).pipe(Effect.raceFirst(ticker)),
      background
    )
    yield* showAggregate
    yield* aggregate.end
    const failed = outcomes.filter((o) => o.exitCode !== ExitCode.ok)
    yield* input.json
      ? printJson(outcomes)
      : printTable(outcomes, [
        { header: "FILE", value: (o) => o.file },
        { header: "STATUS", value: (o) => o.status },
        { header: "ROWS", value: (o) => (o.recordsImported === null ? null : formatCount(o.recordsImported)) },
        { header: "TABLE", value: (o) => (o.targetTableName === null ? null : `${o.targetSchema ?? "default"}.${o.targetTableName}`) },
        { header: "ERROR", value: (o) => o.error }
      ])
    if (failed.length > 0) {
      return yield* new CommandFailed({
        message: `${failed.length} of ${outcomes.length} files did not import: ${failed.map((o) => o.file).join(", ")}`,
        exitCode: failed[0]!.exitCode
      })
    }
    if (!input.json && !input.wait) yield* Console.error(`Queued ${outcomes.length} imports: the service imports them`)
  })

const Schedule200 = Schedule.spaced("200 millis")

const flags = {
  ...tenantScoped,
  wait: waitFlag,
  sheet: sheetFlag,
  concurrency: Flag.Int("concurrency").pipe(
    Flag.withDescription("With several files: how many upload and import at once"),
    Flag.withDefault(2)
  ),
  files: Argument.String("file").pipe(
    Argument.withDescription("Local files or quoted patterns ('exports/*.parquet'): csv, xlsx, xls, parquet, json, jsonl or avro"),
    Argument.atLeast(1)
  ),
  ...targetFlags
}

interface Input {
  readonly tenant: TenantId
  readonly json: boolean
  readonly wait: boolean
  readonly sheet: Option.Option<string>
  readonly concurrency: number
}

export const importCommand = (connect: Connect) =>
  connect(
    Command.make("import", flags, (input) =>
      Effect.gen(function*() {
        if (input.concurrency < 1 || input.concurrency > 16) {
          return yield* usageError(`--concurrency must be between 1 and 16, got ${input.concurrency}`)
        }
        // Check the arguments before anything is uploaded.
        const target = yield* schemaRequestOf(input)
        const files = yield* expandFileArguments(input.files)
        const many = input.files.length > 1 || files.length > 1 || input.files.some(isPattern)
        return yield* many ? importMany(input, target, files) : importSingle(input, target, files[0]!)
      })).pipe(
        Command.withDescription("Upload local files and import them into an Iceberg table in one go"),
        Command.withExamples([
          {
            command: "ingest import sales.csv --table sales --schema raw --map \"Customer Name=customer\" --wait",
            description: "Import sales.csv into raw.sales, renaming one column, and wait for the result"
          },
          {
            command: "ingest import a.csv b.csv 'exports/*.parquet' --table events --wait --json",
            description: "Import many files into one table, two at a time, and print their statuses as JSON"
          }
        ])
      )
  )
