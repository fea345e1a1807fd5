import { Console, Effect, FileSystem, Path, Ref, Schedule, Stream } from "effect"
import type { FileId, FileImport, TenantId } from "@ingest/domain"
import { FileImportService } from "@ingest/domain"
import { AppConfig } from "@ingest/adapters/config"
import { BackgroundWork } from "../composition.ts"
import { usageError } from "../flags.ts"
import { formatBytes, formatCount } from "../output.ts"
import type { ProgressDisplay } from "../progress.ts"
import { pollUntilDone, whileWorking } from "../progress.ts"

const uploadChunkBytes = 256 * 1024

/**
 * Streams a local file into the service's storage (never whole in memory) and profiles it,
 * showing the bytes sent; the service detects the format from the content.
 */
export const uploadLocalFile = (tenant: TenantId, file: string, sheet: string | undefined, display: ProgressDisplay) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const files = yield* FileImportService
    const config = yield* AppConfig
    const info = yield* fs.stat(file).pipe(
      Effect.mapError((e) =>
        usageError(e.reason._tag === "NotFound" ? `File not found: ${file}` : `Cannot read ${file}: ${e.message}`)
      )
    )
    if (info.type !== "File") return yield* usageError(`Not a regular file: ${file}`)
    const total = Number(info.size)
    if (total > config.maxUploadBytes) {
      return yield* usageError(`${file} is ${formatBytes(total)}, larger than the upload limit of ${formatBytes(config.maxUploadBytes)}`)
    }
    const name = path.basename(file)
    const sent = yield* Ref.make(0)
    const body = fs.stream(file, { chunkSize: uploadChunkBytes }).pipe(
      Stream.tap((chunk) => Ref.update(sent, (n) => n + chunk.length))
    )
    const show = Ref.get(sent).pipe(
      Effect.flatMap((bytes) =>
        display.show(
          bytes < total
            ? { text: `uploading ${name}: ${formatBytes(bytes)} of ${formatBytes(total)}`, fraction: bytes / total }
            : { text: `profiling ${name} (${formatBytes(total)})…`, fraction: 1 }
        )
      )
    )
    const uploaded = yield* files.upload(tenant, name, body, { maxBytes: config.maxUploadBytes, sheet }).pipe(
      Effect.raceFirst(show.pipe(Effect.repeat(Schedule.spaced("200 millis")), Effect.andThen(Effect.never)))
    )
    yield* display.end
    return uploaded
  })

/** Follows an import until it is COMPLETED or FAILED, running this process's share of background work. */
export const waitForImport = (tenant: TenantId, id: FileId, display: ProgressDisplay) =>
  Effect.gen(function*() {
    const files = yield* FileImportService
    const background = yield* BackgroundWork
    return yield* whileWorking(
      pollUntilDone({
        observe: files.get(tenant, id),
        isDone: (file) => file.status !== "IMPORTING",
        describe: describeImport,
        display
      }),
      background.run
    )
  })

export const describeImport = (file: FileImport) => {
  const records = `${formatCount(file.recordsImported ?? 0)} records`
  const bytes = file.bytesRead === null ? "" : `, ${formatBytes(file.bytesRead)} of ${formatBytes(file.fileSize)}`
  return {
    text: `importing ${file.fileName}: ${records}${bytes}`,
    fraction: file.fileSize > 0 && file.bytesRead !== null ? file.bytesRead / file.fileSize : undefined
  }
}

export const printImportFailure = (file: FileImport) =>
  Console.error(`Import of ${file.fileName} failed: ${file.error ?? "unknown reason"}`)
