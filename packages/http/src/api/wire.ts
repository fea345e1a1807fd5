import { Schema } from "effect"
import { ColumnType } from "@ingest/domain"

// Wire building blocks shared by the groups (api-reference.txt). Times are ISO-8601 UTC strings;
// absent values are null.

export const Name = Schema.String.pipe(Schema.check(Schema.isMinLength(1), Schema.isMaxLength(255)))
export const Description = Schema.String.pipe(Schema.check(Schema.isMaxLength(4000)))
export const Timestamp = Schema.String
export const NullableTimestamp = Schema.NullOr(Schema.String)

export const ColumnResponse = Schema.Struct({
  name: Schema.String,
  type: ColumnType,
  nullable: Schema.Boolean,
  sampleValues: Schema.Array(Schema.String),
  precision: Schema.optional(Schema.Int),
  scale: Schema.optional(Schema.Int),
  /** 32 for 32-bit integers and floats of typed files (written as Iceberg int and float). */
  bitWidth: Schema.optional(Schema.Literal(32))
})
