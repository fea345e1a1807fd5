import { Schema } from "effect"

// The standard error body of every endpoint, `{timestamp, status, error, message, path}`, one
// class per status so that handlers and clients can `catchTag` them.

/** Reason phrases of the statuses this API answers with. */
export const reasonPhrase: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable"
}

/** The standard error body of every endpoint. */
export const errorBody = (status: number, message: string, path: string) => ({
  timestamp: new Date().toISOString(),
  status,
  error: reasonPhrase[status] ?? "Error",
  message,
  path
})

const fields = <S extends number>(status: S) => ({
  timestamp: Schema.String,
  status: Schema.Literal(status),
  error: Schema.String,
  message: Schema.String,
  path: Schema.String
})

const make = <S extends number>(status: S) => (message: string, path: string) => {
  const body = errorBody(status, message, path)
  return { ...body, status }
}

export class ApiBadRequest extends Schema.Error<ApiBadRequest>("ApiBadRequest")(fields(400), { httpApiStatus: 400 }) {
  declare readonly _tag: "ApiBadRequest"
  static create = (message: string, path: string) => new ApiBadRequest(make(400)(message, path))
}
export class ApiUnauthorized extends Schema.Error<ApiUnauthorized>("ApiUnauthorized")(fields(401), { httpApiStatus: 401 }) {
  declare readonly _tag: "ApiUnauthorized"
  static create = (message: string, path: string) => new ApiUnauthorized(make(401)(message, path))
}
export class ApiForbidden extends Schema.Error<ApiForbidden>("ApiForbidden")(fields(403), { httpApiStatus: 403 }) {
  declare readonly _tag: "ApiForbidden"
  static create = (message: string, path: string) => new ApiForbidden(make(403)(message, path))
}
export class ApiNotFound extends Schema.Error<ApiNotFound>("ApiNotFound")(fields(404), { httpApiStatus: 404 }) {
  declare readonly _tag: "ApiNotFound"
  static create = (message: string, path: string) => new ApiNotFound(make(404)(message, path))
}
export class ApiConflict extends Schema.Error<ApiConflict>("ApiConflict")(fields(409), { httpApiStatus: 409 }) {
  declare readonly _tag: "ApiConflict"
  static create = (message: string, path: string) => new ApiConflict(make(409)(message, path))
}
export class ApiPayloadTooLarge
  extends Schema.Error<ApiPayloadTooLarge>("ApiPayloadTooLarge")(fields(413), { httpApiStatus: 413 })
{
  declare readonly _tag: "ApiPayloadTooLarge"
  static create = (message: string, path: string) => new ApiPayloadTooLarge(make(413)(message, path))
}
export class ApiUnprocessable
  extends Schema.Error<ApiUnprocessable>("ApiUnprocessable")(fields(422), { httpApiStatus: 422 })
{
  declare readonly _tag: "ApiUnprocessable"
  static create = (message: string, path: string) => new ApiUnprocessable(make(422)(message, path))
}
export class ApiInternal extends Schema.Error<ApiInternal>("ApiInternal")(fields(500), { httpApiStatus: 500 }) {
  declare readonly _tag: "ApiInternal"
  static create = (message: string, path: string) => new ApiInternal(make(500)(message, path))
}
export class ApiBadGateway extends Schema.Error<ApiBadGateway>("ApiBadGateway")(fields(502), { httpApiStatus: 502 }) {
  declare readonly _tag: "ApiBadGateway"
  static create = (message: string, path: string) => new ApiBadGateway(make(502)(message, path))
}

export class ApiServiceUnavailable
  extends Schema.Error<ApiServiceUnavailable>("ApiServiceUnavailable")(fields(503), { httpApiStatus: 503 })
{
  declare readonly _tag: "ApiServiceUnavailable"
  static create = (message: string, path: string) => new ApiServiceUnavailable(make(503)(message, path))
}

// Tags let handlers and clients `catchTag` these errors while the wire body keeps exactly the five fields.
for (
  const C of [
    ApiBadRequest,
    ApiUnauthorized,
    ApiForbidden,
    ApiNotFound,
    ApiConflict,
    ApiPayloadTooLarge,
    ApiUnprocessable,
    ApiInternal,
    ApiBadGateway,
    ApiServiceUnavailable
  ]
) {
  Object.defineProperty(C.prototype, "_tag", { value: C.name, enumerable: false })
}

/** Every API error, whatever its status. */
export type ApiError =
  | ApiBadRequest
  | ApiUnauthorized
  | ApiForbidden
  | ApiNotFound
  | ApiConflict
  | ApiPayloadTooLarge
  | ApiUnprocessable
  | ApiInternal
  | ApiBadGateway
  | ApiServiceUnavailable

/** Every endpoint may answer with any of the standard errors (the body is the same for all). */
export const CommonErrors = [
  ApiBadRequest,
  ApiNotFound,
  ApiConflict,
  ApiPayloadTooLarge,
  ApiUnprocessable,
  ApiInternal,
  ApiBadGateway,
  ApiServiceUnavailable
] as const
