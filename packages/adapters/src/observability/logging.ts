import { Layer, Logger, References } from "effect"

/**
 * The process's loggers: `text` (Effect's default line format) or `json` (one JSON object per
 * line on stdout, with the annotations — requestId, jobId, … — as fields), at `level`.
 */
export const loggingLayer = (options: {
  readonly format: "text" | "json"
  readonly level: "Trace" | "Debug" | "Info" | "Warn" | "Error"
}) =>
  Layer.mergeAll(
    options.format === "json" ? Logger.layer([Logger.consoleJson]) : Layer.empty,
    Layer.succeed(References.MinimumLogLevel, options.level)
  )
