// Which values an existing table column accepts on append. No runtime imports: the console's
// bundle loads this module alone to show an append's type clashes before the import is run.
import type { Column } from "./columns.ts"

/** The parts of a column that decide whether it accepts another's values. */
export type ColumnTyping = Pick<Column, "type" | "precision" | "scale">

/** A type as users read it: `DECIMAL(10,2)`, `STRING`. */
export const describeType = (c: ColumnTyping): string =>
  c.type === "DECIMAL" && c.precision !== undefined ? `DECIMAL(${c.precision},${c.scale ?? 0})` : c.type

/** Whether values of `incoming` can be appended to an existing column without loss. */
export const canAppend = (existing: ColumnTyping, incoming: ColumnTyping): boolean => {
  if (existing.type === incoming.type) {
    if (existing.type !== "DECIMAL") return true
    return (existing.scale ?? 0) === (incoming.scale ?? 0) && (existing.precision ?? 38) >= (incoming.precision ?? 38)
  }
  if (existing.type === "STRING") return true
  if (existing.type === "DOUBLE") return incoming.type === "INTEGER"
  if (existing.type === "DECIMAL") return incoming.type === "INTEGER"
  if (existing.type === "TIMESTAMP") return incoming.type === "DATE"
  if (existing.type === "TIMESTAMP_TZ") return incoming.type === "DATE"
  return false
}
