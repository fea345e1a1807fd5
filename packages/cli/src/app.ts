import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import { AppConfig } from "@ingest/adapters/config"
import type { AppServices, Composition } from "./composition.ts"

/** The app layer for one command run, built from the environment's configuration. */
export const appLayerOf = (composition: Composition): Layer.Layer<AppServices, unknown> =>
  Layer.unwrap(Effect.map(AppConfig, composition.app))

/** Gives a leaf command the app: built only when that command runs, released when it ends. */
export const withApp = (app: Layer.Layer<AppServices, unknown>) =>
<const Name extends string, Input, ContextInput, E, R>(self: Command.Command<Name, Input, ContextInput, E, R>) =>
  Command.provide(self, app)
