import { Context, Effect, Stream } from "effect"
import { HttpBody, HttpClient, HttpClientRequest } from "effect/http"

/** Counts the bytes of a multipart upload as they leave this process (the command that uploads provides it). */
export class UploadProgress extends Context.Service<UploadProgress, {
  readonly sent: (bytes: number) => void
}>()("ingest/cli/UploadProgress") {}

/**
 * Sends a FormData body as a stream: the platform encodes the multipart body and reads file
 * parts (Blobs opened on disk) as they are sent, so the file is never whole in memory, and the
 * bytes are counted for the progress display.
 */
export const streamFormData = (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.mapRequestEffect(client, (request) =>
    Effect.gen(function*() {
      if (request.body._tag !== "FormData") return request
      const progress = yield* Effect.serviceOption(UploadProgress)
      const encoded = new Response(request.body.formData)
      const contentType = encoded.headers.get("content-type") ?? "multipart/form-data"
      const body = Stream.fromReadableStream({
        evaluate: () => encoded.body!,
        onError: (cause) => cause
      }).pipe(
        Stream.tap((chunk) => Effect.sync(() => progress._tag === "Some" && progress.value.sent(chunk.length)))
      )
      return HttpClientRequest.setBody(request, HttpBody.stream(body, contentType))
    }))
