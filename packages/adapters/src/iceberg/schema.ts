import type { Column, ColumnType, TableIdent } from "@ingest/domain"
import type { IcebergField, IcebergSchema } from "./table-catalog.ts"

/** The primitive Iceberg types this writer produces values for. */
export type WritableType =
  | { readonly kind: "boolean" }
  | { readonly kind: "int" }
  | { readonly kind: "long" }
  | { readonly kind: "float" }
  | { readonly kind: "double" }
  | { readonly kind: "decimal"; readonly precision: number; readonly scale: number }
  | { readonly kind: "date" }
  | { readonly kind: "timestamp" }
  | { readonly kind: "timestamptz" }
  | { readonly kind: "string" }
  | { readonly kind: "binary" }

export const maxDecimalPrecision = 38

const decimalPattern = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/

/** Precision and scale of a DECIMAL column: precision defaults to 38, both clamped to 0..38. */
export const decimalOf = (column: Pick<Column, "precision" | "scale">): { precision: number; scale: number } => {
  const precision = Math.min(Math.max(column.precision ?? maxDecimalPrecision, 1), maxDecimalPrecision)
  const scale = Math.min(Math.max(column.scale ?? 0, 0), precision)
  return { precision, scale }
}

export const icebergTypeString = (type: WritableType): string =>
  type.kind === "decimal" ? `decimal(${type.precision},${type.scale})` : type.kind

/** The Iceberg type a new column of this domain type gets. */
export const writableTypeOfColumn = (column: Column): WritableType => {
  switch (column.type) {
    case "BOOLEAN":
      return { kind: "boolean" }
    case "INTEGER":
      return column.bitWidth === 32 ? { kind: "int" } : { kind: "long" }
    case "DECIMAL":
      return { kind: "decimal", ...decimalOf(column) }
    case "DOUBLE":
      return column.bitWidth === 32 ? { kind: "float" } : { kind: "double" }
    case "DATE":
      return { kind: "date" }
    case "TIMESTAMP":
      return { kind: "timestamp" }
    case "TIMESTAMP_TZ":
      return { kind: "timestamptz" }
    case "STRING":
      return { kind: "string" }
    case "BINARY":
      return { kind: "binary" }
  }
}

/** The writable type of a table field, or undefined for types this writer never writes (nested, time, uuid, …). */
export const writableTypeOfField = (field: IcebergField): WritableType | undefined => {
  if (typeof field.type !== "string") return undefined
  const type = field.type.trim()
  switch (type) {
    case "boolean":
    case "int":
    case "long":
    case "float":
    case "double":
    case "date":
    case "timestamp":
    case "timestamptz":
    case "string":
    case "binary":
      return { kind: type }
  }
  const decimal = decimalPattern.exec(type)
  if (decimal !== null) return { kind: "decimal", precision: Number(decimal[1]), scale: Number(decimal[2]) }
  return undefined
}

export const describeFieldType = (field: IcebergField): string =>
  typeof field.type === "string" ? field.type : field.type.type

/** A table field as a domain column (best effort for types outside the lattice). */
export const columnOfField = (field: IcebergField): Column => {
  const nullable = !field.required
  const type = typeof field.type === "string" ? field.type.trim() : field.type.type
  const simple = (t: ColumnType): Column => ({ name: field.name, type: t, nullable })
  const decimal = decimalPattern.exec(type)
  if (decimal !== null) {
    return { name: field.name, type: "DECIMAL", nullable, precision: Number(decimal[1]), scale: Number(decimal[2]) }
  }
  switch (type) {
    case "boolean":
      return simple("BOOLEAN")
    case "int":
      return { ...simple("INTEGER"), bitWidth: 32 }
    case "long":
      return simple("INTEGER")
    case "float":
      return { ...simple("DOUBLE"), bitWidth: 32 }
    case "double":
      return simple("DOUBLE")
    case "date":
      return simple("DATE")
    case "timestamp":
    case "timestamp_ns":
      return simple("TIMESTAMP")
    case "timestamptz":
    case "timestamptz_ns":
      return simple("TIMESTAMP_TZ")
    case "binary":
      return simple("BINARY")
    default:
      if (type.startsWith("fixed")) return simple("BINARY")
      return simple("STRING")
  }
}

/**
 * True when a column of the given domain type cannot be written into a table field of the given
 * type. Allowed are exact matches and lossless widenings only: INTEGER into int (range-checked per value),
 * long, double or a decimal with ≥ 19 integer digits; DECIMAL into a decimal at least as wide or
 * into double. Nothing is turned into a string implicitly.
 */
export const isIncompatible = (column: Column, target: WritableType | undefined): boolean => {
  if (target === undefined) return true
  const source = writableTypeOfColumn(column)
  if (source.kind === target.kind && source.kind !== "decimal") return false
  switch (column.type) {
    case "INTEGER":
      // 32-bit integers (Iceberg int) go into long columns as Iceberg's own promotion does.
      return !(target.kind === "int" || target.kind === "long" || target.kind === "double" ||
        (target.kind === "decimal" && target.precision - target.scale >= 19))
    case "DOUBLE":
      // 32-bit floats go into double columns (Iceberg's float → double promotion), never the other way.
      return !(source.kind === "float" && target.kind === "double")
    case "DECIMAL": {
      if (target.kind === "double") return false
      if (target.kind !== "decimal" || source.kind !== "decimal") return true
      return !(source.scale <= target.scale && source.precision - source.scale <= target.precision - target.scale)
    }
    default:
      return true
  }
}

export const tableName = (table: TableIdent): string => [...table.namespace, table.name].join(".")

export const describeColumnType = (column: Column): string =>
  column.type === "DECIMAL" ? `DECIMAL(${decimalOf(column).precision},${decimalOf(column).scale})` : column.type

/** One table field the data files carry, fed from one request column. */
export interface FieldPlan {
  readonly field: IcebergField
  readonly type: WritableType
  /** Index of the request column that feeds this field. */
  readonly source: number
}

export type SchemaResolution =
  | { readonly _tag: "Invalid"; readonly field: string; readonly reason: string }
  | {
    readonly _tag: "Resolved"
    /** The schema to write with: the current one, or a new one with added columns. */
    readonly schema: IcebergSchema
    /** True when `schema` is new and must be committed before data is written. */
    readonly evolved: boolean
    readonly lastColumnId: number
    readonly plan: ReadonlyArray<FieldPlan>
  }

/** A first schema for a new table: ids 1..n in column order. */
export const initialSchema = (columns: ReadonlyArray<Column>): IcebergSchema => ({
  type: "struct",
  "schema-id": 0,
  "identifier-field-ids": [],
  fields: columns.map((column, index) => ({
    id: index + 1,
    name: column.name,
    required: column.nullable === false,
    type: icebergTypeString(writableTypeOfColumn(column))
  }))
})

const findField = (fields: ReadonlyArray<IcebergField>, name: string): IcebergField | undefined => {
  const exact = fields.find((f) => f.name === name)
  if (exact !== undefined) return exact
  const folded = fields.filter((f) => f.name.toLowerCase() === name.toLowerCase())
  return folded.length === 1 ? folded[0] : undefined
}

/**
 * Matches request columns to the table's current schema: existing columns by name (type checked),
 * missing ones added as optional fields with fresh ids in a new schema.
 */
export const resolveSchema = (
  table: TableIdent,
  current: IcebergSchema,
  lastColumnId: number,
  existingSchemaIds: ReadonlyArray<number>,
  columns: ReadonlyArray<Column>
): SchemaResolution => {
  const added: Array<IcebergField> = []
  const plan: Array<FieldPlan> = []
  let nextId = lastColumnId
  const matched = new Set<number>()
  for (let index = 0; index < columns.length; index++) {
    const column = columns[index]!
    const existing = findField(current.fields, column.name)
    if (existing !== undefined) {
      const target = writableTypeOfField(existing)
      if (isIncompatible(column, target)) {
        return {
          _tag: "Invalid",
          field: column.name,
          reason: `Column "${column.name}" has type ${describeFieldType(existing)} in table ${tableName(table)}, ` +
            `but the data has type ${describeColumnType(column)}; the types are not compatible`
        }
      }
      matched.add(existing.id)
      plan.push({ field: existing, type: target!, source: index })
    } else {
      const type = writableTypeOfColumn(column)
      const field: IcebergField = { id: ++nextId, name: column.name, required: false, type: icebergTypeString(type) }
      added.push(field)
      plan.push({ field, type, source: index })
    }
  }
  const missingRequired = current.fields.find((f) => f.required && !matched.has(f.id))
  if (missingRequired !== undefined) {
    return {
      _tag: "Invalid",
      field: missingRequired.name,
      reason: `Column "${missingRequired.name}" is required in table ${tableName(table)} but the data has no such column`
    }
  }
  if (added.length === 0) return { _tag: "Resolved", schema: current, evolved: false, lastColumnId, plan }
  const schemaId = Math.max(current["schema-id"], ...existingSchemaIds) + 1
  return {
    _tag: "Resolved",
    schema: { ...current, "schema-id": schemaId, fields: [...current.fields, ...added] },
    evolved: true,
    lastColumnId: nextId,
    plan
  }
}
