import { uniqueIdentifiers } from "@ingest/domain/identifiers"

/**
 * Column naming rules (the profile's `columns[*].name`), applied to the labels in file order by
 * `uniqueIdentifiers` of @ingest/domain:
 * 1. a label that is empty or only spaces becomes `column_<position>` (1-based); files without a
 *    header row (CSV) have only empty labels, so their columns are `column_1`, `column_2`, …;
 * 2. otherwise the label is folded to ASCII (accents dropped) and lower-cased; characters other
 *    than `[a-z0-9_]` (spaces, punctuation, NUL, non-Latin letters) are dropped at both ends and
 *    every inner run of them becomes one `_`; the label's own underscores stay (`_id`,
 *    `__proto__`); a leading digit gets a `_` prefix, and it is cut to 128 characters; a label
 *    with nothing left becomes `column_<position>`;
 * 3. a name already taken gets `_2`, `_3`, … (the second `amount` becomes `amount_2`).
 * Rows keyed by these names are null-prototype objects, so no name can reach Object.prototype.
 */
export const columnNames = (labels: ReadonlyArray<string>): Array<string> => uniqueIdentifiers(labels)

/** An empty row object without prototype (`__proto__` or `constructor` are plain keys). */
export const nullPrototypeRow = (): Record<string, unknown> => Object.create(null) as Record<string, unknown>

/**
 * Text safe to store in the service database (PostgreSQL text and jsonb refuse U+0000): NUL
 * becomes U+FFFD. Data values in batches are not changed.
 */
export const storableText = (s: string): string => (s.includes("\u0000") ? s.replaceAll("\u0000", "\uFFFD") : s)
