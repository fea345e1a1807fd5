import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { connectorTypes, fileFormats } from "@ingest/domain"
import { Api } from "../api/index.ts"

export const PublicHandlers = HttpApiBuilder.group(Api, "public", (handlers) =>
  Effect.succeed(
    handlers
      .handle("connectorTypes", () => Effect.succeed([...connectorTypes]))
      .handle("fileFormats", () => Effect.succeed([...fileFormats]))
  ))
