// The console's only way to the service: its public HTTP API under /api/v1 (plus the Iceberg
// REST catalog under /api/v1/iceberg), with the session's bearer token and X-Tenant-Id.
// Failures become ApiError with the service's own message.
import type { Session } from "../session.ts"
import type {
  Connection,
  ConnectionBody,
  Discovery,
  ErrorBody,
  FileJob,
  IcebergTable,
  ImportPage,
  ImportStatus,
  Preview,
  SchemaUpdate,
  Source,
  Sync,
  SyncPage,
  Upload
} from "./types.ts"

export class ApiError extends Error {
  readonly status: number
  readonly path: string
  constructor(status: number, message: string, path: string) {
    super(message)
    this.status = status
    this.path = path
  }
}

const describeStatus = (status: number) => (status === 0 ? "The service could not be reached" : `The service answered ${status}`)

const errorOf = (status: number, text: string, path: string): ApiError => {
  try {
    const body = JSON.parse(text) as Partial<ErrorBody> & { error?: unknown }
    if (typeof body.message === "string") return new ApiError(status, body.message, path)
    // the Iceberg REST catalog's error shape
    const nested = body.error as { message?: unknown } | undefined
    if (nested !== undefined && typeof nested === "object" && typeof nested.message === "string") {
      return new ApiError(status, nested.message, path)
    }
  } catch {
    // not JSON
  }
  return new ApiError(status, describeStatus(status), path)
}

export interface UploadProgress {
  readonly loaded: number
  readonly total: number
}

export const makeClient = (session: Session) => {
  const headers = (json: boolean): Record<string, string> => ({
    authorization: `Bearer ${session.token}`,
    "x-tenant-id": session.tenant,
    ...(json ? { "content-type": "application/json" } : {})
  })

  const call = async <A>(method: string, path: string, body?: unknown): Promise<A> => {
    let response: Response
    try {
      response = await fetch(path, {
        method,
        headers: headers(body !== undefined),
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        cache: "no-store"
      })
    } catch {
      throw new ApiError(0, "The service could not be reached", path)
    }
    const text = await response.text()
    if (!response.ok) throw errorOf(response.status, text, path)
    return (text === "" ? undefined : JSON.parse(text)) as A
  }

  const id = encodeURIComponent
  const catalog = `/api/v1/iceberg/v1/${id(session.tenant)}`

  return {
    session,
    connectorTypes: () => call<Array<string>>("GET", "/api/v1/sources/connector-types"),
    sources: {
      list: () => call<Array<Source>>("GET", "/api/v1/sources"),
      create: (body: { name: string; description?: string | null; connectorType: string; connectionConfig: Record<string, unknown> }) =>
        call<Source>("POST", "/api/v1/sources", body),
      update: (sourceId: string, body: { name?: string; description?: string | null; connectionConfig?: Record<string, unknown> }) =>
        call<Source>("PUT", `/api/v1/sources/${id(sourceId)}`, body),
      remove: (sourceId: string) => call<void>("DELETE", `/api/v1/sources/${id(sourceId)}`),
      test: (sourceId: string) => call<Source>("POST", `/api/v1/sources/${id(sourceId)}/test`),
      discover: (sourceId: string) => call<Discovery>("POST", `/api/v1/sources/${id(sourceId)}/discover`)
    },
    connections: {
      list: () => call<Array<Connection>>("GET", "/api/v1/connections"),
      create: (body: ConnectionBody) => call<Connection>("POST", "/api/v1/connections", body),
      remove: (connectionId: string) => call<void>("DELETE", `/api/v1/connections/${id(connectionId)}`)
    },
    syncs: {
      trigger: (connectionId: string) => call<Sync>("POST", `/api/v1/syncs/connections/${id(connectionId)}/trigger`),
      cancel: (syncId: string) => call<void>("POST", `/api/v1/syncs/${id(syncId)}/cancel`),
      get: (syncId: string) => call<Sync>("GET", `/api/v1/syncs/${id(syncId)}`),
      page: (query: { connectionId?: string | undefined; page: number; size: number }) => {
        const params = new URLSearchParams({ page: String(query.page), size: String(query.size), sort: "startedAt,desc" })
        if (query.connectionId !== undefined) params.set("connectionId", query.connectionId)
        return call<SyncPage>("GET", `/api/v1/syncs?${params}`)
      }
    },
    files: {
      page: (query: { page: number; size: number }) =>
        call<ImportPage>("GET", `/api/v1/files?page=${query.page}&size=${query.size}`),
      preview: (fileId: string) => call<Preview>("GET", `/api/v1/files/${id(fileId)}/preview`),
      updateSchema: (fileId: string, body: SchemaUpdate) => call<FileJob>("PUT", `/api/v1/files/${id(fileId)}/schema`, body),
      execute: (fileId: string) => call<FileJob>("POST", `/api/v1/files/${id(fileId)}/import`),
      status: (fileId: string) => call<ImportStatus>("GET", `/api/v1/files/${id(fileId)}/status`),
      /** Uploads one file with progress events (fetch cannot report upload progress; XHR can). */
      upload: (file: File, onProgress: (progress: UploadProgress) => void, signal?: AbortSignal) =>
        new Promise<Upload>((resolve, reject) => {
          const path = "/api/v1/files/upload"
          const request = new XMLHttpRequest()
          request.open("POST", path)
          for (const [name, value] of Object.entries(headers(false))) request.setRequestHeader(name, value)
          request.upload.onprogress = (event) => onProgress({ loaded: event.loaded, total: event.lengthComputable ? event.total : file.size })
          request.onload = () => {
            if (request.status === 201) resolve(JSON.parse(request.responseText) as Upload)
            else reject(errorOf(request.status, request.responseText, path))
          }
          request.onerror = () => reject(new ApiError(0, "The upload was interrupted: the service could not be reached", path))
          request.onabort = () => reject(new ApiError(0, "The upload was cancelled", path))
          signal?.addEventListener("abort", () => request.abort())
          const form = new FormData()
          form.append("file", file, file.name)
          request.send(form)
        })
    },
    iceberg: {
      namespaces: () => call<{ namespaces: Array<Array<string>> }>("GET", `${catalog}/namespaces`),
      tables: (namespace: string) =>
        call<{ identifiers: Array<{ namespace: Array<string>; name: string }> }>("GET", `${catalog}/namespaces/${id(namespace)}/tables`),
      table: (namespace: string, table: string) =>
        call<IcebergTable>("GET", `${catalog}/namespaces/${id(namespace)}/tables/${id(table)}`)
    }
  }
}

export type Client = ReturnType<typeof makeClient>
