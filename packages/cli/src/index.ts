export { cliVersion, makeIngestCommand, runIngest } from "./cli.ts"
export { BackgroundWork } from "./composition.ts"
export type { AppServices, Composition } from "./composition.ts"
