import { S3Client } from "@aws-sdk/client-s3"
import type { AwsCredentialIdentity } from "@smithy/types"
import { InfrastructureError } from "@ingest/domain"
import type { ObjectStore, TableIdent } from "@ingest/domain"
import { Effect } from "effect"
import { makeFsObjectStore } from "../../storage/fs.ts"
import { makeS3ObjectStore, s3ClientFromEnv } from "../../storage/s3.ts"
import { tableName } from "../schema.ts"
import type { LoadedTable, StorageCredential } from "../table-catalog.ts"
import type { TableFiles, TableStorage } from "../table-files.ts"
import { tableFilesIn } from "../table-files.ts"

// The files of a REST catalog's tables: under the location the catalog assigned (or the table's
// `write.data.path` / `write.metadata.path`), on S3 or a local disk. S3 is reached with the
// process's AWS credentials, or, with INGEST_CATALOG_ACCESS_DELEGATION=vended-credentials, with
// the credentials the catalog vended for that table (the longest matching `storage-credentials`
// prefix, else the load result's `config`), renewed through the catalog before they expire.

export interface RestTableStorageOptions {
  readonly tempDir: string
  readonly vended: boolean
  /** Fresh vended credentials of a table (the catalog's `…/credentials`). */
  readonly refreshCredentials: (table: TableIdent) => Effect.Effect<ReadonlyArray<StorageCredential>, InfrastructureError>
}

const s3Location = /^s3:\/\/([^/]+)(\/.*)?$/

/** The vended settings that apply to a location: the longest matching prefix, else the table's config. */
export const settingsFor = (
  location: string,
  config: Readonly<Record<string, string>>,
  credentials: ReadonlyArray<StorageCredential>
): Readonly<Record<string, string>> => {
  const matching = credentials.filter((c) => location.startsWith(c.prefix)).sort((a, b) => b.prefix.length - a.prefix.length)
  return matching[0] === undefined ? config : { ...config, ...matching[0].config }
}

const credentialsOf = (settings: Readonly<Record<string, string>>): AwsCredentialIdentity | undefined => {
  const accessKeyId = settings["s3.access-key-id"]
  const secretAccessKey = settings["s3.secret-access-key"]
  if (accessKeyId === undefined || secretAccessKey === undefined) return undefined
  const expiresAt = Number(settings["s3.session-token-expires-at-ms"] ?? Number.NaN)
  return {
    accessKeyId,
    secretAccessKey,
    ...(settings["s3.session-token"] === undefined ? {} : { sessionToken: settings["s3.session-token"] }),
    ...(Number.isFinite(expiresAt) ? { expiration: new Date(expiresAt) } : {})
  }
}

export const makeRestTableStorage = (options: RestTableStorageOptions): TableStorage => {
  const disk = makeFsObjectStore("/")
  const envClients = new Map<string, S3Client>()

  /** One client per table and location; a later load's credentials replace the ones it holds. */
  const vendedClients = new Map<string, { readonly client: S3Client; readonly offer: (next: AwsCredentialIdentity) => void }>()

  const vendedClient = (table: LoadedTable, location: string) => {
    const access = table.access
    const settings = settingsFor(location, access?.config ?? {}, access?.credentials ?? [])
    const initial = credentialsOf(settings)
    if (initial === undefined) return undefined
    const key = `${tableName(table.ident)}\u0000${location}`
    const known = vendedClients.get(key)
    if (known !== undefined) {
      known.offer(initial)
      return known.client
    }
    let current = initial
    const endpoint = settings["s3.endpoint"]
    const client = new S3Client({
      region: settings["client.region"] ?? settings["s3.region"] ?? process.env["AWS_REGION"] ?? "us-east-1",
      ...(endpoint === undefined ? {} : { endpoint }),
      forcePathStyle: settings["s3.path-style-access"] === "true",
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      // The SDK asks again shortly before `expiration`: then the catalog vends new credentials.
      credentials: async () => {
        const soon = current.expiration !== undefined && current.expiration.getTime() - Date.now() < 5 * 60_000
        if (soon) {
          const fresh = await Effect.runPromise(options.refreshCredentials(table.ident))
          const next = credentialsOf(settingsFor(location, access?.config ?? {}, fresh))
          if (next !== undefined) current = next
        }
        return current
      }
    })
    const later = (a: AwsCredentialIdentity, b: AwsCredentialIdentity) =>
      (a.expiration?.getTime() ?? Number.POSITIVE_INFINITY) >= (b.expiration?.getTime() ?? Number.POSITIVE_INFINITY)
    vendedClients.set(key, { client, offer: (next) => {
      if (later(next, current)) current = next
    } })
    return client
  }

  const storeFor = (table: LoadedTable, location: string): Effect.Effect<ObjectStore, InfrastructureError> => {
    if (location.startsWith("file:/")) return Effect.succeed(disk)
    const s3 = s3Location.exec(location)
    if (s3 === null) {
      return Effect.fail(
        new InfrastructureError({
          reason: `table ${tableName(table.ident)} is located at ${location}: this service writes to s3:// and file:// locations`
        })
      )
    }
    const bucket = s3[1]!
    return Effect.try({
      try: () => {
        const vended = options.vended ? vendedClient(table, location) : undefined
        let client = vended
        if (client === undefined) {
          client = envClients.get("default") ?? s3ClientFromEnv()
          envClients.set("default", client)
        }
        return makeS3ObjectStore({ bucket, prefix: "", client, tempDir: options.tempDir })
      },
      catch: (error) => new InfrastructureError({ reason: `cannot reach ${location}: ${error instanceof Error ? error.message : String(error)}` })
    })
  }

  return (table: LoadedTable): Effect.Effect<TableFiles, InfrastructureError> =>
    Effect.flatMap(storeFor(table, table.metadata.location), (store) => tableFilesIn(store, table))
}
