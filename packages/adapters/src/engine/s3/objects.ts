import type { FileFormat, FileProfile } from "@ingest/domain"
import type { S3Client } from "@aws-sdk/client-s3"
import { Effect, Option } from "effect"
import * as FsPromises from "node:fs/promises"
import type { FormatReaderService } from "../local-engine.ts"
import { downloadObject } from "./client.ts"
import type { S3SourceConfig } from "./config.ts"

const headBytes = 4096

const readHead = (file: string) =>
  Effect.tryPromise({
    try: async () => {
      const handle = await FsPromises.open(file, "r")
      try {
        const buffer = new Uint8Array(headBytes)
        const { bytesRead } = await handle.read(buffer, 0, headBytes, 0)
        return buffer.subarray(0, bytesRead)
      } finally {
        await handle.close()
      }
    },
    catch: (error) => `Cannot read the downloaded object: ${String(error)}`
  })

export interface FetchedObject {
  readonly file: string
  readonly format: FileFormat
  readonly profile: FileProfile
}

/** Downloads an object and profiles it with the format reader (the profile drives the read). */
export const fetchAndProfile = (
  client: S3Client,
  config: S3SourceConfig,
  reader: FormatReaderService,
  key: string,
  directory: string
): Effect.Effect<FetchedObject, string> =>
  Effect.gen(function*() {
    const file = yield* downloadObject(client, config, key, directory)
    let format = config.format
    if (format === undefined) {
      const detected = reader.detect(yield* readHead(file), key)
      if (Option.isNone(detected)) return yield* Effect.fail(`Cannot tell the format of ${key}; set connectionConfig.format`)
      format = detected.value
    }
    const profile = yield* reader.profile(file, format, {}).pipe(
      Effect.mapError((error) => `Cannot read ${key} as ${format}: ${error.reason}`)
    )
    return { file, format, profile }
  })
