import type { Schema } from "effect"
import { HttpServerResponse } from "effect/http"

/**
 * The 200 answer of a list or preview endpoint, written as JSON without a second pass through the
 * response schema: `body` must already have the schema's type (the views build exactly that), and
 * the cost per row (per cell, for a preview) is what callers wait for. The bytes are those the
 * framework would write.
 */
export const jsonAnswer = <S extends Schema.Top>(_schema: S, body: S["Type"]): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe(body)
