import { Schema } from "effect"

/**
 * The type lattice shared by discovery, file profiling and table writing. INTEGER is 64-bit;
 * DECIMAL carries precision/scale; TIMESTAMP has no zone, TIMESTAMP_TZ is an instant (UTC).
 */
export const ColumnType = Schema.Literals([
  "BOOLEAN",
  "INTEGER",
  "DECIMAL",
  "DOUBLE",
  "DATE",
  "TIMESTAMP",
  "TIMESTAMP_TZ",
  "STRING",
  "BINARY"
])
export type ColumnType = typeof ColumnType.Type

export const Column = Schema.Struct({
  name: Schema.String,
  type: ColumnType,
  nullable: Schema.Boolean,
  precision: Schema.optionalKey(Schema.Int),
  scale: Schema.optionalKey(Schema.Int),
  /** 32 for 32-bit values a typed file declares: INTEGER then is Iceberg int, DOUBLE Iceberg float. */
  bitWidth: Schema.optionalKey(Schema.Literal(32))
})
export type Column = typeof Column.Type

/** A column as shown to users: with a few sample values as strings. */
export const ColumnWithSamples = Schema.Struct({
  ...Column.fields,
  sampleValues: Schema.Array(Schema.String)
})
export type ColumnWithSamples = typeof ColumnWithSamples.Type

export const SyncMode = Schema.Literals(["FULL_REFRESH", "INCREMENTAL", "CDC"])
export type SyncMode = typeof SyncMode.Type

/** A stream (table, object, collection) that a source offers, as found by discovery. */
export const DiscoveredStream = Schema.Struct({
  name: Schema.String,
  columns: Schema.Array(ColumnWithSamples),
  supportedSyncModes: Schema.Array(SyncMode),
  primaryKey: Schema.optionalKey(Schema.Array(Schema.String)),
  /** The column an incremental sync follows when the connection names none. */
  defaultCursorField: Schema.optionalKey(Schema.String)
})
export type DiscoveredStream = typeof DiscoveredStream.Type

// Names (pure functions, kept apart so that code without Schema can import them alone).
export { isIdentifier, sanitizeIdentifier, uniqueIdentifiers } from "./identifiers.ts"
