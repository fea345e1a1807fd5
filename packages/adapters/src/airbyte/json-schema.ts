import type { ColumnType, ColumnWithSamples } from "@ingest/domain"

/**
 * Maps the JSON schema Airbyte reports for a stream (`jsonSchema.properties`) to our column
 * types. Airbyte describes columns three ways, all handled here:
 * - plain JSON-schema `type` (string or array with "null") plus `format` (`date`, `date-time`);
 * - Airbyte hints: `airbyte_type` (`integer`, `big_integer`, `big_number`,
 *   `timestamp_with_timezone`, `timestamp_without_timezone`, …);
 * - protocol v1 references to `WellKnownTypes.json#/definitions/<Type>`.
 * Anything nested (object, array) or unknown becomes STRING (kept as JSON text).
 */

export interface MappedType {
  readonly type: ColumnType
  readonly nullable: boolean
  readonly precision?: number
  readonly scale?: number
}

type JsonSchema = Readonly<Record<string, unknown>>

const isRecord = (value: unknown): value is JsonSchema =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const wellKnown: Readonly<Record<string, ColumnType>> = {
  String: "STRING",
  BinaryData: "BINARY",
  Boolean: "BOOLEAN",
  Date: "DATE",
  TimestampWithTimezone: "TIMESTAMP_TZ",
  TimestampWithoutTimezone: "TIMESTAMP",
  TimeWithTimezone: "STRING",
  TimeWithoutTimezone: "STRING",
  Integer: "INTEGER",
  Number: "DOUBLE"
}

const typesOf = (schema: JsonSchema): { readonly types: ReadonlyArray<string>; readonly nullable: boolean } => {
  const raw = schema["type"]
  const list = typeof raw === "string" ? [raw] : Array.isArray(raw) ? raw.filter((t): t is string => typeof t === "string") : []
  return { types: list.filter((t) => t !== "null"), nullable: list.includes("null") }
}

/** One branch of a schema, without the null part. */
const mapSingle = (schema: JsonSchema, type: string | undefined): Omit<MappedType, "nullable"> => {
  const ref = schema["$ref"]
  if (typeof ref === "string") {
    const name = ref.split("/").pop() ?? ""
    return { type: wellKnown[name] ?? "STRING" }
  }
  const airbyteType = typeof schema["airbyte_type"] === "string" ? schema["airbyte_type"] : undefined
  const format = typeof schema["format"] === "string" ? schema["format"] : undefined
  switch (type) {
    case "boolean":
      return { type: "BOOLEAN" }
    case "integer":
      return airbyteType === "big_integer" ? { type: "DECIMAL", precision: 38, scale: 0 } : { type: "INTEGER" }
    case "number":
      if (airbyteType === "integer") return { type: "INTEGER" }
      if (airbyteType === "big_integer") return { type: "DECIMAL", precision: 38, scale: 0 }
      if (airbyteType === "big_number") return { type: "DECIMAL" }
      return { type: "DOUBLE" }
    case "string":
      if (format === "date" || airbyteType === "date") return { type: "DATE" }
      if (format === "date-time" || airbyteType === "timestamp_with_timezone" || airbyteType === "timestamp_without_timezone") {
        return airbyteType === "timestamp_without_timezone" ? { type: "TIMESTAMP" } : { type: "TIMESTAMP_TZ" }
      }
      return { type: "STRING" }
    default:
      return { type: "STRING" }
  }
}

export const mapJsonSchemaType = (schema: unknown): MappedType => {
  if (!isRecord(schema)) return { type: "STRING", nullable: true }
  // Unions (`anyOf`/`oneOf`): a null branch makes the column nullable; one other branch keeps
  // its type, several distinct ones fall back to STRING.
  const union = Array.isArray(schema["anyOf"]) ? schema["anyOf"] : Array.isArray(schema["oneOf"]) ? schema["oneOf"] : null
  if (union !== null) {
    const branches = union.filter(isRecord)
    const nullBranch = branches.some((branch) => typesOf(branch).nullable && typesOf(branch).types.length === 0)
    const mapped = branches
      .filter((branch) => !(typesOf(branch).nullable && typesOf(branch).types.length === 0))
      .map(mapJsonSchemaType)
    const distinct = new Set(mapped.map((m) => m.type))
    const first = mapped[0]
    const nullable = nullBranch || mapped.some((m) => m.nullable)
    return distinct.size === 1 && first !== undefined ? { ...first, nullable } : { type: "STRING", nullable: true }
  }
  const { types, nullable } = typesOf(schema)
  // No type at all (`{}`) or only `$ref`: Airbyte cannot promise non-null values then.
  const declaredNullable = nullable || types.length === 0
  if (types.length > 1) return { type: "STRING", nullable: declaredNullable }
  return { ...mapSingle(schema, types[0]), nullable: declaredNullable }
}

/** Columns of a stream from its JSON schema, in declaration order; at most `limit` columns. */
export const columnsFromJsonSchema = (jsonSchema: unknown, limit = 10_000): Array<ColumnWithSamples> => {
  if (!isRecord(jsonSchema) || !isRecord(jsonSchema["properties"])) return []
  return Object.entries(jsonSchema["properties"]).slice(0, limit).map(([name, property]) => {
    const mapped = mapJsonSchemaType(property)
    return {
      name,
      type: mapped.type,
      nullable: mapped.nullable,
      ...(mapped.precision === undefined ? {} : { precision: mapped.precision }),
      ...(mapped.scale === undefined ? {} : { scale: mapped.scale }),
      sampleValues: []
    }
  })
}
