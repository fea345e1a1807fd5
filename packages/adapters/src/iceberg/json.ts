import { isLosslessNumber, parse, stringify } from "lossless-json"

// Iceberg metadata and REST bodies carry 63-bit integers (snapshot ids, sequence numbers,
// epoch-ms timestamps). JSON.parse rounds them, so every Iceberg JSON goes through lossless-json:
// the keys below become bigint, every other number a plain number.
const longKeys = new Set([
  "snapshot-id",
  "parent-snapshot-id",
  "current-snapshot-id",
  "sequence-number",
  "last-sequence-number",
  "last-updated-ms",
  "timestamp-ms"
])

const integerText = /^-?\d+$/

/** Parses Iceberg JSON; the long-valued keys come back as bigint. */
export const parseIcebergJson = (text: string): unknown =>
  parse(text, (key, value) => {
    if (!isLosslessNumber(value)) return value
    if (longKeys.has(key) && integerText.test(value.value)) return BigInt(value.value)
    const n = Number(value.value)
    if (Number.isInteger(n) && !Number.isSafeInteger(n)) return BigInt(value.value)
    return n
  })

/** Serialises with bigint written as a bare JSON number. */
export const stringifyIcebergJson = (value: unknown): string => {
  const text = stringify(value)
  if (text === undefined) throw new Error("value cannot be serialised as JSON")
  return text
}
