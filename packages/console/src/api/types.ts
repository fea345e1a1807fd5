// The API's wire shapes, taken from the server's own HttpApi contract (types only: nothing of the
// server is bundled), so the console and the API cannot drift apart.
import type {
  ConnectionRequest,
  ConnectionResponse,
  DiscoverResponse,
  FileJobResponse,
  ImportPageResponse,
  ImportStatusResponse,
  PreviewResponse,
  SchemaUpdateRequest,
  SourceResponse,
  SyncPageResponse,
  SyncResponse,
  UploadResponse
} from "@ingest/http/api"

export type Source = typeof SourceResponse.Type
export type Discovery = typeof DiscoverResponse.Type
export type DiscoveredStream = Discovery["streams"][number]
export type Connection = typeof ConnectionResponse.Type
export type ConnectionBody = typeof ConnectionRequest.Encoded
export type Sync = typeof SyncResponse.Type
export type SyncPage = typeof SyncPageResponse.Type
export type Upload = typeof UploadResponse.Type
export type FileJob = typeof FileJobResponse.Type
export type ImportStatus = typeof ImportStatusResponse.Type
export type ImportPage = typeof ImportPageResponse.Type
export type SchemaUpdate = typeof SchemaUpdateRequest.Encoded
export type PreviewColumn = Preview["columns"][number]

/** The preview, plus what newer services add: how the file was read and what was noticed. */
export type Preview = typeof PreviewResponse.Type & {
  readonly fileFormat?: string
  readonly dialect?: Readonly<Record<string, unknown>> | null
  readonly warnings?: ReadonlyArray<unknown> | null
}

/** The standard error body of every endpoint. */
export interface ErrorBody {
  readonly timestamp?: string
  readonly status: number
  readonly error?: string
  readonly message: string
  readonly path?: string
}

/** A table as the Iceberg REST catalog describes it (the parts the console reads). */
export interface IcebergField {
  readonly id: number
  readonly name: string
  readonly required: boolean
  readonly type: unknown
}
export interface IcebergTable {
  readonly metadata: {
    readonly "current-schema-id": number
    readonly schemas: ReadonlyArray<{ readonly "schema-id": number; readonly fields: ReadonlyArray<IcebergField> }>
  }
}
