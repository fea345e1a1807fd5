import { Effect, Layer, Stream } from "effect"
import { Multipart } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import type { SyncSortField } from "@ingest/domain"
import {
  connectorTypes,
  ConnectionService,
  fileFormats,
  FileImportService,
  SourceService,
  SyncService,
  UnreadableFile
} from "@ingest/domain"
import { Api } from "./api.ts"
import { ApiBadRequest, ApiPayloadTooLarge, handled } from "./errors.ts"
import { connectionView, discoverView, fileJobView, importStatusView, previewView, sourceView, syncView, uploadView } from "./views.ts"
import { UploadSettings } from "./settings.ts"

const pathOf = (request: { readonly url: string }) => new URL(request.url, "http://localhost").pathname

const PublicHandlers = HttpApiBuilder.group(Api, "public", (handlers) =>
  Effect.succeed(
    handlers
      .handle("connectorTypes", () => Effect.succeed([...connectorTypes]))
      .handle("fileFormats", () => Effect.succeed([...fileFormats]))
  ))

const SourcesHandlers = HttpApiBuilder.group(Api, "sources", Effect.fn(function*(handlers) {
  const sources = yield* SourceService
  return handlers
    .handle("create", ({ headers, payload, request }) =>
      Effect.gen(function*() {
        if (JSON.stringify(payload.connectionConfig).length > 64 * 1024) {
          return yield* Effect.fail(ApiBadRequest.create("connectionConfig is larger than 64 KiB", pathOf(request)))
        }
        return sourceView(yield* sources.create(headers["x-tenant-id"], payload).pipe(handled(pathOf(request))))
      }))
    .handle("list", ({ headers, request }) =>
      sources.list(headers["x-tenant-id"]).pipe(Effect.map((all) => all.map(sourceView)), handled(pathOf(request))))
    .handle("get", ({ headers, params, request }) =>
      sources.get(headers["x-tenant-id"], params.sourceId).pipe(Effect.map(sourceView), handled(pathOf(request))))
    .handle("update", ({ headers, params, payload, request }) =>
      Effect.gen(function*() {
        if (payload.connectionConfig !== undefined && JSON.stringify(payload.connectionConfig).length > 64 * 1024) {
          return yield* Effect.fail(ApiBadRequest.create("connectionConfig is larger than 64 KiB", pathOf(request)))
        }
        return sourceView(yield* sources.update(headers["x-tenant-id"], params.sourceId, payload).pipe(handled(pathOf(request))))
      }))
    .handle("remove", ({ headers, params, request }) =>
      sources.remove(headers["x-tenant-id"], params.sourceId).pipe(Effect.asVoid, handled(pathOf(request))))
    .handle("test", ({ headers, params, request }) =>
      sources.test(headers["x-tenant-id"], params.sourceId).pipe(Effect.map(sourceView), handled(pathOf(request))))
    .handle("discover", ({ headers, params, request }) =>
      sources.discover(headers["x-tenant-id"], params.sourceId).pipe(Effect.map(discoverView), handled(pathOf(request))))
}))

const ConnectionsHandlers = HttpApiBuilder.group(Api, "connections", Effect.fn(function*(handlers) {
  const connections = yield* ConnectionService
  return handlers
    .handle("create", ({ headers, payload, request }) =>
      connections.create(headers["x-tenant-id"], payload).pipe(Effect.map(connectionView), handled(pathOf(request))))
    .handle("list", ({ headers, request }) =>
      connections.list(headers["x-tenant-id"]).pipe(Effect.map((all) => all.map(connectionView)), handled(pathOf(request))))
    .handle("get", ({ headers, params, request }) =>
      connections.get(headers["x-tenant-id"], params.connectionId).pipe(Effect.map(connectionView), handled(pathOf(request))))
    .handle("update", ({ headers, params, payload, request }) =>
      connections.update(headers["x-tenant-id"], params.connectionId, payload).pipe(
        Effect.map(connectionView),
        handled(pathOf(request))
      ))
    .handle("remove", ({ headers, params, request }) =>
      connections.remove(headers["x-tenant-id"], params.connectionId).pipe(Effect.asVoid, handled(pathOf(request))))
}))

const sortFields: ReadonlyArray<SyncSortField> = ["startedAt", "completedAt", "status"]

/** `field` or `field,asc|desc` on startedAt, completedAt, status (default startedAt,desc). */
export const parseSort = (sort: string | undefined) => {
  if (sort === undefined || sort.trim() === "") return { field: "startedAt" as const, direction: "desc" as const }
  const [field, direction = "desc", ...rest] = sort.split(",").map((s) => s.trim())
  if (rest.length > 0 || !sortFields.includes(field as SyncSortField) || (direction !== "asc" && direction !== "desc")) {
    return undefined
  }
  return { field: field as SyncSortField, direction: direction as "asc" | "desc" }
}

const SyncsHandlers = HttpApiBuilder.group(Api, "syncs", Effect.fn(function*(handlers) {
  const syncs = yield* SyncService
  return handlers
    .handle("trigger", ({ headers, params, request }) =>
      syncs.trigger(headers["x-tenant-id"], params.connectionId).pipe(Effect.map(syncView), handled(pathOf(request))))
    .handle("cancel", ({ headers, params, request }) =>
      syncs.cancel(headers["x-tenant-id"], params.syncId).pipe(Effect.asVoid, handled(pathOf(request))))
    .handle("get", ({ headers, params, request }) =>
      syncs.get(headers["x-tenant-id"], params.syncId).pipe(Effect.map(syncView), handled(pathOf(request))))
    .handle("list", ({ headers, query, request }) =>
      Effect.gen(function*() {
        const sort = parseSort(query.sort)
        if (sort === undefined) {
          return yield* Effect.fail(ApiBadRequest.create(
            `sort must be "field" or "field,asc|desc" with field one of ${sortFields.join(", ")}; got "${query.sort}"`,
            pathOf(request)
          ))
        }
        const page = yield* syncs.history(headers["x-tenant-id"], {
          connectionId: query.connectionId,
          page: query.page ?? 0,
          size: query.size ?? 20,
          sort
        }).pipe(handled(pathOf(request)))
        return { ...page, content: page.content.map(syncView) }
      }))
}))

const FilesHandlers = HttpApiBuilder.group(Api, "files", Effect.fn(function*(handlers) {
  const files = yield* FileImportService
  const settings = yield* UploadSettings
  return handlers
    .handle("upload", ({ headers, payload, query, request }) =>
      Effect.gen(function*() {
        const path = pathOf(request)
        // The first `file` part is the upload. Its content is consumed while the multipart stream
        // is still being read (the part's bytes come from that stream), straight into storage.
        const uploaded = yield* payload.pipe(
          Stream.filter((p): p is Multipart.File => Multipart.isFile(p) && p.key === "file"),
          Stream.take(1),
          Stream.mapEffect((part) =>
            files.upload(headers["x-tenant-id"], part.name, part.content, {
              maxBytes: settings.maxUploadBytes,
              sheet: query.sheet
            }).pipe(
              Effect.catchTag("MultipartError", (e) =>
                Effect.fail(
                  e.reason._tag === "FileTooLarge" || e.reason._tag === "BodyTooLarge"
                    ? new UnreadableFile({ kind: "too-large", reason: `File is larger than the upload limit of ${settings.maxUploadBytes} bytes` })
                    : new UnreadableFile({ kind: "unsupported", reason: `Invalid multipart body: ${e.message}` })
                )),
              handled(path)
            )
          ),
          Stream.runHead
        )
        if (uploaded._tag === "None") {
          return yield* Effect.fail(ApiBadRequest.create("Multipart field \"file\" is required", path))
        }
        const file = uploaded.value
        return uploadView(file)
      }).pipe(
        Effect.catchTag("MultipartError", (e) =>
          Effect.fail(
            e.reason._tag === "FileTooLarge" || e.reason._tag === "BodyTooLarge"
              ? ApiPayloadTooLarge.create(`File is larger than the upload limit of ${settings.maxUploadBytes} bytes`, pathOf(request))
              : ApiBadRequest.create(`Invalid multipart body: ${e.message}`, pathOf(request))
          ))
      ))
    .handle("preview", ({ headers, params, request }) =>
      files.get(headers["x-tenant-id"], params.fileId).pipe(Effect.map(previewView), handled(pathOf(request))))
    .handle("updateSchema", ({ headers, params, payload, request }) =>
      files.updateSchema(headers["x-tenant-id"], params.fileId, payload).pipe(Effect.map(fileJobView), handled(pathOf(request))))
    .handle("execute", ({ headers, params, request }) =>
      files.execute(headers["x-tenant-id"], params.fileId).pipe(Effect.map(fileJobView), handled(pathOf(request))))
    .handle("status", ({ headers, params, request }) =>
      files.get(headers["x-tenant-id"], params.fileId).pipe(Effect.map(importStatusView), handled(pathOf(request))))
}))

export const ApiHandlers = Layer.mergeAll(PublicHandlers, SourcesHandlers, ConnectionsHandlers, SyncsHandlers, FilesHandlers)
