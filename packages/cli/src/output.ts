import { Console, Effect } from "effect"

/** Machine output: exactly the JSON the HTTP API answers, on stdout. */
export const printJson = (value: unknown) => Console.log(JSON.stringify(value, null, 2))

const maxCellWidth = 60

const cell = (value: unknown): string => {
  if (value === null || value === undefined) return "-"
  const text = typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value)
  // One line per row, whatever the data holds; long values are cut with an ellipsis.
  const flat = text.replace(/[\r\n\t]+/g, " ")
  return flat.length > maxCellWidth ? `${flat.slice(0, maxCellWidth - 1)}…` : flat
}

export interface TableColumn<A> {
  readonly header: string
  readonly value: (row: A) => unknown
}

/** Plain aligned columns; an empty list says so instead of printing a lone header. */
export const renderTable = <A>(rows: ReadonlyArray<A>, columns: ReadonlyArray<TableColumn<A>>, empty = "(none)"): string => {
  if (rows.length === 0) return empty
  const cells = rows.map((row) => columns.map((c) => cell(c.value(row))))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)))
  const line = (values: ReadonlyArray<string>) => values.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join("\n")
}

export const printTable = <A>(rows: ReadonlyArray<A>, columns: ReadonlyArray<TableColumn<A>>, empty?: string) =>
  Console.log(renderTable(rows, columns, empty))

/** `key: value` lines for a single resource. */
export const renderRecord = (record: Readonly<Record<string, unknown>>): string => {
  const keys = Object.keys(record)
  const width = Math.max(0, ...keys.map((k) => k.length))
  return keys.map((k) => `${`${k}:`.padEnd(width + 1)} ${cell(record[k])}`).join("\n")
}

export const printRecord = (record: Readonly<Record<string, unknown>>) => Console.log(renderRecord(record))

/** JSON when asked for, else the human rendering. */
export const emit = <A>(json: boolean, value: A, human: (value: A) => Effect.Effect<void>) =>
  json ? printJson(value) : human(value)

export const formatBytes = (bytes: number): string => {
  if (bytes < 1024) return `${bytes} B`
  const units = ["KiB", "MiB", "GiB", "TiB"]
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

export const formatDuration = (ms: number): string => {
  if (ms < 1000) return `${Math.round(ms)} ms`
  const seconds = ms / 1000
  if (seconds < 60) return `${seconds.toFixed(1)} s`
  const minutes = Math.floor(seconds / 60)
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`
}

export const formatCount = (n: number): string => n.toLocaleString("en-US")
