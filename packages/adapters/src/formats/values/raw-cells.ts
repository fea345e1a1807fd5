/**
 * Raw cell values as parsers hand them to profiling and coercion (inside the worker only).
 * Text formats give strings; JSON gives the classes below for numbers (exact source text, never
 * rounded) and nested values (compact JSON text); typed formats give JS values.
 */

/** A JSON number kept as its source text, so big or precise numbers are never rounded. */
export class JsonNumber {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
}

/** A nested JSON object or array, as compact JSON text. */
export class JsonText {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
}

const MAX_NESTING = 64

/**
 * JSON text of a nested value from a typed format (struct, list, map): bigint as digits, bytes as
 * base64, dates as ISO text. Depth-limited; cyclic structures cannot come out of a parser.
 */
export const nestedJsonText = (value: unknown, depth = 0): string => {
  if (depth > MAX_NESTING) throw new RangeError(`nested value deeper than ${MAX_NESTING} levels`)
  if (value === null || value === undefined) return "null"
  switch (typeof value) {
    case "string":
      return JSON.stringify(value)
    case "number":
      return Number.isFinite(value) ? String(value) : JSON.stringify(String(value))
    case "bigint":
      return value.toString()
    case "boolean":
      return value ? "true" : "false"
    case "object":
      break
    default:
      return JSON.stringify(String(value))
  }
  if (value instanceof JsonNumber || value instanceof JsonText) return value.text
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64"))
  if (value instanceof Date) return JSON.stringify(Number.isNaN(value.getTime()) ? null : value.toISOString())
  if (Array.isArray(value)) return `[${value.map((v) => nestedJsonText(v, depth + 1)).join(",")}]`
  if (value instanceof Map) {
    const parts: Array<string> = []
    for (const [k, v] of value) parts.push(`${JSON.stringify(String(k))}:${nestedJsonText(v, depth + 1)}`)
    return `{${parts.join(",")}}`
  }
  if (ArrayBuffer.isView(value)) return nestedJsonText(Array.from(value as unknown as ArrayLike<unknown>), depth + 1)
  const parts: Array<string> = []
  for (const key of Object.keys(value)) {
    parts.push(`${JSON.stringify(key)}:${nestedJsonText((value as Record<string, unknown>)[key], depth + 1)}`)
  }
  return `{${parts.join(",")}}`
}

/** A string that does not keep a large parent string (a parser chunk) alive. */
export const detachString = (s: string): string => (s.length > 12 ? Buffer.from(s, "utf8").toString("utf8") : s)

/** Text shown for a raw value (samples, STRING coercion of non-text values). */
export const rawText = (value: unknown): string => {
  switch (typeof value) {
    case "string":
      return value
    case "number":
      return String(value)
    case "bigint":
      return value.toString()
    case "boolean":
      return value ? "true" : "false"
    default:
      break
  }
  if (value instanceof JsonNumber || value instanceof JsonText) return value.text
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString()
  return nestedJsonText(value)
}
