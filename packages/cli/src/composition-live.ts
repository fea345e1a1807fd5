import { Effect, Layer } from "effect"
import { makeAppLayer, makeBackgroundLayer } from "@ingest/adapters/app/layers"
import { makeServerLayer } from "@ingest/http/main"
import type { Composition } from "./composition.ts"
import { BackgroundWork } from "./composition.ts"

type AppContext = Layer.Success<ReturnType<typeof makeAppLayer>>

/** The production composition: the same layers the service runs, from the same configuration. */
export const LiveComposition: Composition = {
  app: (config) => {
    const app = makeAppLayer(config)
    // Waiting commands run the service's background workers here, over the same app instance.
    // (The background layer's requirements are typed loosely; the app layer provides all of them.)
    const background = makeBackgroundLayer(config) as Layer.Layer<never, unknown, AppContext>
    const work = Layer.effect(
      BackgroundWork,
      Effect.gen(function*() {
        const context = yield* Effect.context<AppContext>()
        return BackgroundWork.of({ run: Layer.launch(background).pipe(Effect.provideContext(context)) })
      })
    )
    return work.pipe(Layer.provideMerge(app))
  },
  // makeServerLayer provides everything it needs (its requirement type is loose for the same reason).
  server: (config) => makeServerLayer(config) as Layer.Layer<never, unknown>
}
