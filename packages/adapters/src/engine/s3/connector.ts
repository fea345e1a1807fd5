import type { CheckResult, DiscoveredStream, Source } from "@ingest/domain"
import { EngineUnavailable } from "@ingest/domain"
import { ListObjectsV2Command } from "@aws-sdk/client-s3"
import { Effect, Result } from "effect"
import type { FormatReaderService } from "../local-engine.ts"
import { describeS3Error, listObjects, s3Client, scratchDirectory } from "./client.ts"
import { parseS3Config } from "./config.ts"
import { fetchAndProfile } from "./objects.ts"

/** Lists the bucket under the prefix (one page proves access). */
export const checkS3 = (source: Source): Effect.Effect<CheckResult> => {
  const parsed = parseS3Config(source.connectionConfig)
  if (Result.isFailure(parsed)) return Effect.succeed({ ok: false, message: parsed.failure })
  const config = parsed.success
  return Effect.scoped(Effect.gen(function*() {
    const client = yield* s3Client(config)
    yield* Effect.tryPromise({
      try: (signal) =>
        client.send(
          new ListObjectsV2Command({ Bucket: config.bucket, Prefix: config.prefix || undefined }),
          { abortSignal: signal }
        ),
      catch: (error) => describeS3Error(error, config)
    })
    return { ok: true, message: `Listed bucket ${config.bucket}` } satisfies CheckResult
  })).pipe(
    Effect.timeoutOrElse({ duration: "60 seconds", orElse: () => Effect.fail("No answer from the storage service within 60 s") }),
    Effect.catch((message) => Effect.succeed({ ok: false, message }))
  )
}

/** One stream per source: the columns of the first matching object (oldest first). */
export const discoverS3 = (
  source: Source,
  reader: FormatReaderService
): Effect.Effect<ReadonlyArray<DiscoveredStream>, EngineUnavailable> => {
  const parsed = parseS3Config(source.connectionConfig)
  if (Result.isFailure(parsed)) {
    return Effect.fail(new EngineUnavailable({ reason: `Cannot discover the source: ${parsed.failure}` }))
  }
  const config = parsed.success
  return Effect.scoped(Effect.gen(function*() {
    const client = yield* s3Client(config)
    const objects = yield* listObjects(client, config)
    const first = objects[0]
    if (first === undefined) {
      return yield* Effect.fail(`no object in bucket ${config.bucket} matches prefix "${config.prefix}"${config.glob === undefined ? "" : ` and glob "${config.glob}"`}`)
    }
    const directory = yield* scratchDirectory
    const fetched = yield* fetchAndProfile(client, config, reader, first.key, directory)
    const stream: DiscoveredStream = {
      name: config.streamName,
      columns: fetched.profile.columns,
      // Incremental follows the objects' modification times, not a column.
      supportedSyncModes: ["FULL_REFRESH", "INCREMENTAL"]
    }
    return [stream]
  })).pipe(
    Effect.timeoutOrElse({ duration: "10 minutes", orElse: () => Effect.fail("discovery took longer than 10 minutes") }),
    Effect.mapError((message) => new EngineUnavailable({ reason: `Cannot discover bucket ${config.bucket}: ${message}` }))
  )
}
