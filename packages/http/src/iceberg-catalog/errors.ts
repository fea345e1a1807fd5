import { HttpServerResponse } from "effect/http"

// Errors of the Iceberg REST protocol: `IcebergErrorResponse` ({ error: { message, type, code } }),
// the body engines parse, instead of the API's own error body.

export class IcebergError extends Error {
  readonly status: number
  readonly type: string
  constructor(status: number, type: string, message: string) {
    super(message)
    this.status = status
    this.type = type
  }
}

export const icebergErrorResponse = (status: number, type: string, message: string) =>
  HttpServerResponse.jsonUnsafe({ error: { message, type, code: status } }, { status })
