import { Effect, Schedule } from "effect"
import { openAsBlob } from "node:fs"
import { glob, stat } from "node:fs/promises"
import * as path from "node:path"
import type { FileId, TenantId } from "@ingest/domain"
import type { ImportStatusResponse } from "@ingest/http/api"
import { tenantHeaders } from "../command.ts"
import { IngestApi } from "../connection/index.ts"
import { UploadProgress } from "../connection/upload-progress.ts"
import { usageError } from "../flags.ts"
import { formatBytes, formatCount } from "../output.ts"
import type { ProgressDisplay, ProgressState } from "../progress.ts"
import { pollUntilDone, transferText, whileWorking } from "../progress.ts"

type StatusJson = typeof ImportStatusResponse.Type

/** A local file to upload: checked before anything is sent. */
export const localFile = (file: string) =>
  Effect.gen(function*() {
    const info = yield* Effect.promise(() => stat(file).catch((e: NodeJS.ErrnoException) => e))
    if (info instanceof Error) {
      return yield* usageError(info.code === "ENOENT" ? `File not found: ${file}` : `Cannot read ${file}: ${info.message}`)
    }
    if (!info.isFile()) return yield* usageError(`Not a regular file: ${file}`)
    return { path: file, name: path.basename(file), size: info.size }
  })

/**
 * The files the arguments name: a path as it is, a pattern (`exports/*.parquet`, quoted so the
 * shell leaves it) as the files it matches, in order. A pattern that matches nothing is kept, to
 * be reported as not found.
 */
export const expandFileArguments = (args: ReadonlyArray<string>) =>
  Effect.promise(async () => {
    const files: Array<string> = []
    for (const arg of args) {
      const exists = await stat(arg).then(() => true, () => false)
      if (exists || !/[*?[{]/.test(arg)) {
        files.push(arg)
        continue
      }
      const matches: Array<string> = []
      for await (const match of glob(arg)) matches.push(match)
      if (matches.length === 0) files.push(arg)
      else files.push(...matches.sort())
    }
    return [...new Set(files)]
  })

/**
 * Streams a local file to the service (never whole in memory) and lets it profile the file,
 * showing bytes sent, rate and time left; the service detects the format from the content.
 */
export const uploadFile = (
  tenant: TenantId,
  file: { readonly path: string; readonly name: string; readonly size: number },
  sheet: string | undefined,
  display: ProgressDisplay,
  onSent: (bytes: number) => void = () => {}
) =>
  Effect.gen(function*() {
    const { client } = yield* IngestApi
    const form = new FormData()
    form.append("file", yield* Effect.promise(() => openAsBlob(file.path)), file.name)
    let sent = 0
    const startedAt = Date.now()
    const show = Effect.suspend(() => {
      const bytes = Math.min(sent, file.size)
      return display.show(
        bytes < file.size
          ? { phase: "uploading", text: `uploading ${file.name}: ${transferText(bytes, file.size, startedAt)}`, fraction: bytes / file.size }
          : { phase: "profiling", text: `profiling ${file.name} (${formatBytes(file.size)})…`, fraction: 1 }
      )
    })
    const uploaded = yield* client.files.upload({
      headers: tenantHeaders(tenant),
      query: sheet === undefined ? {} : { sheet },
      payload: form
    }).pipe(
      Effect.provideService(UploadProgress, UploadProgress.of({
        sent: (bytes) => {
          sent += bytes
          onSent(bytes)
        }
      })),
      Effect.raceFirst(show.pipe(Effect.repeat(Schedule.spaced("200 millis")), Effect.andThen(Effect.never)))
    )
    yield* display.end
    return uploaded
  })

export const describeImport = (status: StatusJson): ProgressState => {
  const records = `${formatCount(status.recordsImported ?? 0)} records`
  const bytes = status.bytesRead === null ? "" : `, ${formatBytes(status.bytesRead)} of ${formatBytes(status.totalBytes)}`
  return {
    phase: status.status,
    text: status.status === "IMPORTING"
      ? `importing ${status.fileName}: ${records}${bytes}`
      : `${status.fileName}: ${status.status}, ${records}`,
    fraction: status.totalBytes > 0 && status.bytesRead !== null ? status.bytesRead / status.totalBytes : undefined
  }
}

/**
 * Follows an import until it is COMPLETED or FAILED, running this process's share of background
 * work meanwhile (in process) unless the caller already runs it.
 */
export const waitForImport = (tenant: TenantId, id: FileId, display: ProgressDisplay, options: { readonly runsBackground?: boolean } = {}) =>
  Effect.gen(function*() {
    const { background, client } = yield* IngestApi
    const waiting = pollUntilDone({
      observe: client.files.status({ headers: tenantHeaders(tenant), params: { fileId: id } }),
      isDone: (status) => status.status !== "IMPORTING",
      describe: describeImport,
      display
    })
    return yield* options.runsBackground === true ? waiting : whileWorking(waiting, background)
  })
