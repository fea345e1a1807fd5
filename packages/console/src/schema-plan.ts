// What an import will do to its target: the columns after renames and drops, and, when the table
// exists, which columns are added and which clash with the table's types (the service's own rule).
import { canAppend, describeType } from "@ingest/domain/append"
import type { ColumnTyping } from "@ingest/domain/append"
import { isIdentifier, sanitizeIdentifier } from "@ingest/domain/identifiers"
import type { IcebergTable, PreviewColumn } from "./api/types.ts"

export interface ColumnChoice {
  readonly include: boolean
  /** The name typed by the user; sanitised the way the service will. */
  readonly target: string
}

export interface TargetColumn {
  readonly source: string
  readonly name: string
  readonly typing: ColumnTyping
}

export const targetName = (choice: ColumnChoice, source: string) => sanitizeIdentifier(choice.target.trim() === "" ? source : choice.target, "")

export const targetColumns = (columns: ReadonlyArray<PreviewColumn>, choices: Readonly<Record<string, ColumnChoice>>): Array<TargetColumn> =>
  columns.flatMap((c) => {
    const choice = choices[c.name] ?? { include: true, target: c.name }
    if (!choice.include) return []
    const typing: ColumnTyping = {
      type: c.type,
      ...(c.precision !== undefined ? { precision: c.precision } : {}),
      ...(c.scale !== undefined ? { scale: c.scale } : {})
    }
    return [{ source: c.name, name: targetName(choice, c.name), typing }]
  })

/** Problems the service would answer 400 for, found before asking it. */
export const mappingProblems = (targets: ReadonlyArray<TargetColumn>): Array<string> => {
  const problems: Array<string> = []
  if (targets.length === 0) problems.push("Keep at least one column.")
  const seen = new Map<string, string>()
  for (const t of targets) {
    if (t.name === "" || !isIdentifier(t.name)) problems.push(`"${t.source}" needs a name with a letter, digit or underscore.`)
    const first = seen.get(t.name)
    if (first !== undefined) problems.push(`"${first}" and "${t.source}" would both be named "${t.name}".`)
    else seen.set(t.name, t.source)
  }
  return problems
}

/** An Iceberg type → the service's column typing (undefined for nested and unknown types). */
export const typingOfIceberg = (type: unknown): ColumnTyping | undefined => {
  if (typeof type !== "string") return undefined
  const decimal = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(type)
  if (decimal !== null) return { type: "DECIMAL", precision: Number(decimal[1]), scale: Number(decimal[2]) }
  switch (type) {
    case "boolean":
      return { type: "BOOLEAN" }
    case "int":
    case "long":
      return { type: "INTEGER" }
    case "float":
    case "double":
      return { type: "DOUBLE" }
    case "date":
      return { type: "DATE" }
    case "timestamp":
    case "timestamp_ns":
      return { type: "TIMESTAMP" }
    case "timestamptz":
    case "timestamptz_ns":
      return { type: "TIMESTAMP_TZ" }
    case "string":
    case "uuid":
      return { type: "STRING" }
    case "binary":
      return { type: "BINARY" }
    default:
      return /^fixed\[\d+\]$/.test(type) ? { type: "BINARY" } : undefined
  }
}

export const describeIceberg = (type: unknown) => {
  const typing = typingOfIceberg(type)
  return typing === undefined ? (typeof type === "string" ? type : "nested") : describeType(typing)
}

export interface AppendPlan {
  readonly added: ReadonlyArray<TargetColumn>
  readonly clashes: ReadonlyArray<{ readonly column: TargetColumn; readonly tableType: string }>
  readonly matched: number
  /** Table columns the file does not have: null in the appended rows. */
  readonly missing: ReadonlyArray<string>
}

export const appendPlan = (table: IcebergTable, targets: ReadonlyArray<TargetColumn>): AppendPlan => {
  const metadata = table.metadata
  const schema = metadata.schemas.find((s) => s["schema-id"] === metadata["current-schema-id"]) ?? metadata.schemas.at(-1)
  const fields = new Map((schema?.fields ?? []).map((f) => [f.name, f]))
  const added: Array<TargetColumn> = []
  const clashes: Array<{ column: TargetColumn; tableType: string }> = []
  let matched = 0
  for (const column of targets) {
    const field = fields.get(column.name)
    if (field === undefined) {
      added.push(column)
      continue
    }
    const existing = typingOfIceberg(field.type)
    if (existing === undefined || !canAppend(existing, column.typing)) clashes.push({ column, tableType: describeIceberg(field.type) })
    else matched++
  }
  const names = new Set(targets.map((t) => t.name))
  return { added, clashes, matched, missing: [...fields.keys()].filter((name) => !names.has(name)) }
}
