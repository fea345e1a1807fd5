import { Effect, Stream } from "effect"
import { Multipart } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { FileImportService, UnreadableFile } from "@ingest/domain"
import { ApiBadRequest, ApiPayloadTooLarge, Api, CurrentTenant, PreviewResponse } from "../api/index.ts"
import { handled, refuse } from "../error-mapping.ts"
import { UploadSettings } from "../settings.ts"
import { fileJobView, importStatusView, importSummaryView, previewView, uploadView } from "../views.ts"
import { jsonAnswer } from "./json-answer.ts"

export const FilesHandlers = HttpApiBuilder.group(Api, "files", Effect.fn(function*(handlers) {
  const files = yield* FileImportService
  const settings = yield* UploadSettings
  const tooLarge = `File is larger than the upload limit of ${settings.maxUploadBytes} bytes`
  return handlers
    .handle("list", ({ query }) =>
      CurrentTenant.use((tenant) =>
        files.page(tenant, { page: query.page ?? 0, size: query.size ?? 20 }).pipe(
          Effect.map((page) => ({ ...page, content: page.content.map(importSummaryView) }))
        )
      ))
    .handle("upload", ({ payload, query }) =>
      Effect.gen(function*() {
        const tenant = yield* CurrentTenant
        // The first `file` part is the upload. Its content is consumed while the multipart stream
        // is still being read (the part's bytes come from that stream), straight into storage,
        // which may free each chunk once stored: nothing else reads the request body.
        const uploaded = yield* payload.pipe(
          Stream.filter((p): p is Multipart.File => Multipart.isFile(p) && p.key === "file"),
          Stream.take(1),
          Stream.mapEffect((part) =>
            files.upload(tenant, part.name, part.content, { maxBytes: settings.maxUploadBytes, sheet: query.sheet, releaseChunks: true }).pipe(
              Effect.catchTag("MultipartError", (e) =>
                Effect.fail(
                  e.reason._tag === "FileTooLarge" || e.reason._tag === "BodyTooLarge"
                    ? new UnreadableFile({ kind: "too-large", reason: tooLarge })
                    : new UnreadableFile({ kind: "unsupported", reason: `Invalid multipart body: ${e.message}` })
                )),
              handled
            )
          ),
          Stream.runHead
        )
        if (uploaded._tag === "None") return yield* refuse(ApiBadRequest.create, "Multipart field \"file\" is required")
        return uploadView(uploaded.value)
      }).pipe(
        Effect.catchTag("MultipartError", (e) =>
          e.reason._tag === "FileTooLarge" || e.reason._tag === "BodyTooLarge"
            ? refuse<ApiPayloadTooLarge | ApiBadRequest>(ApiPayloadTooLarge.create, tooLarge)
            : refuse<ApiPayloadTooLarge | ApiBadRequest>(ApiBadRequest.create, `Invalid multipart body: ${e.message}`))
      ))
    .handle("preview", ({ params }) =>
      CurrentTenant.use((tenant) =>
        files.get(tenant, params.fileId).pipe(Effect.map((file) => jsonAnswer(PreviewResponse, previewView(file))), handled)
      ))
    .handle("updateSchema", ({ params, payload }) =>
      CurrentTenant.use((tenant) => files.updateSchema(tenant, params.fileId, payload).pipe(Effect.map(fileJobView), handled)))
    .handle("execute", ({ params }) =>
      CurrentTenant.use((tenant) => files.execute(tenant, params.fileId).pipe(Effect.map(fileJobView), handled)))
    .handle("status", ({ params }) =>
      CurrentTenant.use((tenant) => files.status(tenant, params.fileId).pipe(Effect.map(importStatusView), handled)))
}))
