import type { Schema } from "effect"
import { HttpServerResponse } from "effect/http"

/**
 * The 200 answer of a list endpoint, written as JSON without a second pass through the response
 * schema: `body` must already have the schema's type (the views build exactly that), and a list's
 * cost per row is what its callers wait for. The bytes are those the framework would write.
 */
export const listAnswer = <S extends Schema.Top>(_schema: S, body: S["Type"]): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe(body)
