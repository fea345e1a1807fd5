import { InfrastructureError, Invalid } from "@ingest/domain"
import type { Column } from "@ingest/domain"
import { Effect, Option } from "effect"
import { currentSchema } from "./metadata.ts"
import type { FieldPlan } from "./schema.ts"
import { resolveSchema, tableName, writableTypeOfField } from "./schema.ts"
import type { IcebergSchema, LoadedTable, TableCatalog, TableRequirement, TableUpdate } from "./table-catalog.ts"

// Schema evolution of a write: the write's columns matched to the table's current schema, new
// columns added by a metadata-only commit (add-schema + set-current-schema, guarded by the
// current schema id and last assigned field id) before any data file is written, and the check
// that a later table state still means the same for the fields written. Tables partitioned by
// another engine are refused before anything is written.

export interface SettledSchema {
  /** The table state the schema was settled on (after the evolution commit, when there was one). */
  readonly table: LoadedTable
  readonly schema: IcebergSchema
  readonly plan: ReadonlyArray<FieldPlan>
}

export interface SchemaEvolutionOptions {
  readonly catalog: typeof TableCatalog.Service
  readonly maxAttempts: number
  readonly backoff: (attempt: number) => Effect.Effect<void>
  readonly load: (table: LoadedTable["ident"]) => Effect.Effect<LoadedTable, InfrastructureError>
}

/** Matches the columns to the table schema, committing added columns first (metadata only). */
export const settleSchema = (
  options: SchemaEvolutionOptions,
  start: LoadedTable,
  columns: ReadonlyArray<Column>
): Effect.Effect<SettledSchema, Invalid | InfrastructureError> =>
  Effect.gen(function*() {
    let table = start
    for (let attempt = 0; ; attempt++) {
      const metadata = table.metadata
      const partitioned = partitionedProblem(table)
      if (partitioned !== undefined) return yield* partitioned
      const resolution = resolveSchema(
        table.ident,
        currentSchema(metadata),
        metadata["last-column-id"],
        metadata.schemas.map((s) => s["schema-id"]),
        columns
      )
      if (resolution._tag === "Invalid") {
        return yield* new Invalid({ field: resolution.field, reason: resolution.reason })
      }
      if (!resolution.evolved) return { table, schema: resolution.schema, plan: resolution.plan }
      const requirements: Array<TableRequirement> = [
        { type: "assert-table-uuid", uuid: metadata["table-uuid"] },
        { type: "assert-current-schema-id", "current-schema-id": metadata["current-schema-id"] },
        { type: "assert-last-assigned-field-id", "last-assigned-field-id": metadata["last-column-id"] }
      ]
      const updates: Array<TableUpdate> = [
        { action: "add-schema", schema: resolution.schema, "last-column-id": resolution.lastColumnId },
        { action: "set-current-schema", "schema-id": -1 }
      ]
      const committed = yield* options.catalog.commit(table.ident, requirements, updates).pipe(
        Effect.map(Option.some),
        Effect.catchTags({
          CommitConflict: () => Effect.succeed(Option.none<LoadedTable>()),
          // Whether it applied or not, the reloaded table tells: the columns are there or added again.
          CommitStateUnknown: () => Effect.succeed(Option.none<LoadedTable>())
        })
      )
      if (Option.isSome(committed)) {
        const schema = currentSchema(committed.value.metadata)
        return { table: committed.value, schema, plan: resolution.plan }
      }
      if (attempt + 1 >= options.maxAttempts) {
        return yield* new InfrastructureError({
          reason: `could not add columns to ${tableName(table.ident)}: too many concurrent changes`
        })
      }
      yield* options.backoff(attempt)
      table = yield* options.load(table.ident)
    }
  })

/** A table partitioned by another engine: its manifests would need partition values this writer does not produce. */
const partitionedProblem = (table: LoadedTable): InfrastructureError | undefined => {
  const spec = table.metadata["partition-specs"].find((s) => s["spec-id"] === table.metadata["default-spec-id"])
  return spec === undefined || spec.fields.length === 0 ? undefined : new InfrastructureError({
    reason: `table ${tableName(table.ident)} is partitioned (${spec.fields.map((f) => f.name).join(", ")}): ` +
      `this service writes unpartitioned tables only`
  })
}

/** The write's fields must still mean the same in the table state it commits on. */
export const checkStillCompatible = (
  table: LoadedTable,
  tableUuid: string,
  plan: ReadonlyArray<FieldPlan>
): Effect.Effect<void, InfrastructureError> => {
  if (table.metadata["table-uuid"] !== tableUuid) {
    return Effect.fail(
      new InfrastructureError({ reason: `table ${tableName(table.ident)} was replaced during the write` })
    )
  }
  const partitioned = partitionedProblem(table)
  if (partitioned !== undefined) return Effect.fail(partitioned)
  const fields = new Map(currentSchema(table.metadata).fields.map((f) => [f.id, f]))
  for (const p of plan) {
    const field = fields.get(p.field.id)
    const type = field === undefined ? undefined : writableTypeOfField(field)
    if (type === undefined || type.kind !== p.type.kind) {
      return Effect.fail(
        new InfrastructureError({
          reason: `column "${p.field.name}" of ${tableName(table.ident)} changed during the write`
        })
      )
    }
  }
  return Effect.void
}
