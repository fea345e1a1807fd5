import { Context } from "effect"

export class UploadSettings extends Context.Service<UploadSettings, {
  readonly maxUploadBytes: number
}>()("ingest/http/UploadSettings") {}

/** Whether the process can serve: its dependencies (database, …) answer. */
export class Readiness extends Context.Service<Readiness, {
  readonly check: import("effect").Effect.Effect<void, string>
}>()("ingest/http/Readiness") {}
