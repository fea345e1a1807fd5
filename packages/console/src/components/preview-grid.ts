// The preview: how the file was read (format, dialect, warnings), its columns with inferred types,
// nullability and samples, each with a rename field and a keep/drop switch, then the first rows.
// File contents are hostile: every name and value is rendered as text.
import type { Preview } from "../api/types.ts"
import { formatCell, formatCount } from "../format.ts"
import { html } from "../html.ts"
import type { ColumnChoice } from "../schema-plan.ts"
import { targetName } from "../schema-plan.ts"

const shownRows = 20

const typeOf = (c: Preview["columns"][number]) =>
  c.type === "DECIMAL" && c.precision !== undefined ? `DECIMAL(${c.precision},${c.scale ?? 0})` : c.type

/** Names of the dialect's fields as the page shows them; other fields show under their own name. */
const dialectLabels: Record<string, string> = {
  encoding: "Encoding",
  delimiter: "Delimiter",
  quote: "Quote",
  escape: "Escape",
  sheet: "Sheet",
  headerRows: "Header rows",
  skipLeadingRows: "Rows skipped before the header",
  leadingLines: "Skipped lines (before)",
  skipTrailingRows: "Rows skipped after the data",
  trailingLines: "Skipped lines (after)"
}

const isLineRange = (value: unknown): value is { from: number; to: number } =>
  typeof value === "object" && value !== null && typeof (value as { from?: unknown }).from === "number" &&
  typeof (value as { to?: unknown }).to === "number"

const describeValue = (value: unknown): string => {
  if (value === null || value === undefined) return "none"
  if (typeof value === "string") {
    if (value === " ") return "spaces"
    if (value === "\t") return "tab"
    return value === "" ? "(empty)" : JSON.stringify(value).slice(1, -1)
  }
  if (isLineRange(value)) return value.from === value.to ? `line ${value.from}` : `lines ${value.from}–${value.to}`
  if (Array.isArray(value)) return value.map(describeValue).join(", ")
  return formatCell(value)
}

const warningText = (warning: unknown): string => {
  if (typeof warning === "string") return warning
  if (typeof warning === "object" && warning !== null && typeof (warning as { message?: unknown }).message === "string") {
    return (warning as { message: string }).message
  }
  return formatCell(warning)
}

export const FileFacts = ({ preview, fileFormat }: { preview: Preview; fileFormat: string | undefined }) => {
  const dialect = preview.dialect ?? undefined
  const warnings = preview.warnings ?? []
  return html`<div class="file-facts">
    <dl class="facts">
      <dt>Rows</dt><dd data-testid="total-rows">${formatCount(preview.totalRows)}</dd>
      <dt>Columns</dt><dd>${preview.columns.length}</dd>
      <dt>Format</dt><dd>${preview.fileFormat ?? fileFormat ?? "—"}</dd>
      ${dialect === undefined
        ? null
        : Object.entries(dialect)
          .filter(([, value]) => value !== null && value !== undefined)
          .map(([key, value]) => html`<dt>${dialectLabels[key] ?? key}</dt><dd>${describeValue(value)}</dd>`)}
    </dl>
    ${warnings.length === 0
      ? null
      : html`<div class="warning" role="note" aria-label="Warnings about this file">
        <h4>Warnings</h4>
        <ul>${warnings.map((w) => html`<li>${warningText(w)}</li>`)}</ul>
      </div>`}
  </div>`
}

export const ColumnEditor = ({ preview, choices, onChange, disabled }: {
  preview: Preview
  choices: Readonly<Record<string, ColumnChoice>>
  onChange: (column: string, choice: ColumnChoice) => void
  disabled: boolean
}) =>
  html`<div class="scroll" role="region" aria-label="Columns" tabindex="0">
    <table class="columns">
      <caption>Columns: rename them or leave them out of the table</caption>
      <thead><tr>
        <th scope="col">Keep</th><th scope="col">Column in the file</th><th scope="col">Name in the table</th>
        <th scope="col">Type</th><th scope="col">Nulls</th><th scope="col">Sample values</th>
      </tr></thead>
      <tbody>
        ${preview.columns.map((c, i) => {
          const choice = choices[c.name] ?? { include: true, target: c.name }
          const finalName = targetName(choice, c.name)
          const id = `col-${i}`
          return html`<tr class=${choice.include ? "" : "dropped"}>
            <td><input type="checkbox" id=${`${id}-keep`} checked=${choice.include} disabled=${disabled}
              aria-label=${`Keep column ${c.name}`}
              onChange=${(e: Event) => onChange(c.name, { ...choice, include: (e.target as HTMLInputElement).checked })} /></td>
            <th scope="row" class="name">${c.name}</th>
            <td>
              <label class="visually-hidden" for=${`${id}-name`}>Name in the table for ${c.name}</label>
              <input id=${`${id}-name`} class="name-input" value=${choice.target} disabled=${disabled || !choice.include}
                spellcheck=${false} autocomplete="off"
                onInput=${(e: Event) => onChange(c.name, { ...choice, target: (e.target as HTMLInputElement).value })} />
              ${choice.include && finalName !== choice.target && finalName !== ""
                ? html`<div class="help">saved as <code>${finalName}</code></div>`
                : null}
            </td>
            <td><span class="type">${typeOf(c)}</span></td>
            <td>${c.nullable ? "nullable" : "required"}</td>
            <td class="samples">${c.sampleValues.slice(0, 3).map((v) => html`<span class="sample">${v}</span>`)}</td>
          </tr>`
        })}
      </tbody>
    </table>
  </div>`

export const RowsGrid = ({ preview }: { preview: Preview }) => {
  const rows = preview.previewRows.slice(0, shownRows)
  return html`<div class="scroll" role="region" aria-label="First rows" tabindex="0">
    <table class="rows">
      <caption>First ${rows.length} of ${formatCount(preview.totalRows)} rows</caption>
      <thead><tr>${preview.columns.map((c) => html`<th scope="col">${c.name}</th>`)}</tr></thead>
      <tbody>
        ${rows.map((row) => html`<tr>${preview.columns.map((c) => {
          const value = row[c.name]
          return html`<td class=${value === null || value === undefined ? "null" : ""}>${formatCell(value)}</td>`
        })}</tr>`)}
      </tbody>
    </table>
  </div>`
}
