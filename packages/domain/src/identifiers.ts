// Identifiers for columns, tables and namespaces. No imports: parser and encoder threads load this
// module alone, without the rest of the domain.

const reservedSuffix = /^[0-9]/

/**
 * Turns any label into an identifier `[a-z_][a-z0-9_]*`: accents folded, lower case, characters
 * other than `[a-z0-9_]` dropped at both ends and every inner run of them replaced by one `_`.
 * Underscores of the label itself are kept (`_id`, `__proto__` stay as they are). A leading
 * digit gets a `_` prefix; nothing left → `fallback`. Kept to 128 characters. Used for column,
 * table and namespace names alike.
 */
export const sanitizeIdentifier = (label: string, fallback = "column"): string => {
  const folded = label.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
  let name = folded.replace(/^[^a-z0-9_]+|[^a-z0-9_]+$/g, "").replace(/[^a-z0-9_]+/g, "_")
  if (name.length === 0) name = fallback
  if (reservedSuffix.test(name)) name = `_${name}`
  return name.slice(0, 128)
}

/**
 * Sanitises a list of header labels and makes them unique: the second `amount` becomes
 * `amount_2`, the third `amount_3` (skipping names already taken). Empty labels become
 * `column_<position>` (1-based).
 */
export const uniqueIdentifiers = (labels: ReadonlyArray<string>): Array<string> => {
  const taken = new Set<string>()
  return labels.map((label, index) => {
    const base = label.trim() === "" ? `column_${index + 1}` : sanitizeIdentifier(label, `column_${index + 1}`)
    let name = base
    // the suffix must not push a name past the 128-character limit
    for (let n = 2; taken.has(name); n++) name = `${base.slice(0, 128 - `_${n}`.length)}_${n}`
    taken.add(name)
    return name
  })
}

export const isIdentifier = (name: string): boolean => /^[a-z_][a-z0-9_]*$/.test(name) && name.length <= 128
