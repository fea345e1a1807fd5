import type { Effect, Layer } from "effect"
import { Context } from "effect"
import type { ConnectionService, FileImportService, SourceService, SyncService } from "@ingest/domain"
import type { AppConfig } from "@ingest/adapters/config"

/** Runs the process's share of background work (queued imports, sync jobs) until interrupted. */
export class BackgroundWork extends Context.Service<BackgroundWork, {
  readonly run: Effect.Effect<void, unknown>
}>()("ingest/cli/BackgroundWork") {}

/** What every command that touches data needs. */
export type AppServices = SourceService | ConnectionService | SyncService | FileImportService | BackgroundWork

/**
 * How the CLI turns configuration into running parts. The commands only see the use cases;
 * which adapters sit under them is decided here (production layers, or memory ones in tests).
 */
export interface Composition {
  /** The use cases and everything under them, plus a way to run background work in this process. */
  readonly app: (config: AppConfig) => Layer.Layer<AppServices, unknown>
  /** The whole service (HTTP server and background workers), for `ingest serve`. */
  readonly server: (config: AppConfig) => Layer.Layer<never, unknown>
}
