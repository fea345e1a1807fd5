// The API's handlers, one file per endpoint group: each calls the domain's use cases for the
// tenant TenantAccess provides and maps domain failures to the standard error body.
import { Layer } from "effect"
import { ConnectionsHandlers } from "./connections.ts"
import { FilesHandlers } from "./files.ts"
import { PublicHandlers } from "./public.ts"
import { SourcesHandlers } from "./sources.ts"
import { SyncsHandlers } from "./syncs.ts"

export const ApiHandlers = Layer.mergeAll(PublicHandlers, SourcesHandlers, ConnectionsHandlers, SyncsHandlers, FilesHandlers)
