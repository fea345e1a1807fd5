import type {
  IcebergSchema,
  IcebergSnapshot,
  TableMetadata,
  TableRequirement,
  TableUpdate
} from "@ingest/domain/ports/table-catalog"
import { randomUUID } from "node:crypto"
import { parseIcebergJson, stringifyIcebergJson } from "./json.ts"

// Table metadata JSON (format-version 2, WRITING-V2 §2/§3): creation, the commit updates a
// catalog applies, requirement checks and (de)serialisation.

/** `write.metadata.previous-versions-max`: length cap of the metadata log. */
export const previousVersionsMax = 100

/** Properties every new table gets. */
export const defaultTableProperties: Readonly<Record<string, string>> = {
  "write.format.default": "parquet",
  "write.parquet.compression-codec": "zstd"
}

export const newTableMetadata = (options: {
  readonly location: string
  readonly schema: IcebergSchema
  readonly properties?: Readonly<Record<string, string>> | undefined
  readonly nowMs: number
}): TableMetadata => {
  const lastColumnId = options.schema.fields.reduce((max, f) => Math.max(max, f.id), 0)
  return {
    "format-version": 2,
    "table-uuid": randomUUID(),
    location: options.location.replace(/\/+$/, ""),
    "last-sequence-number": 0n,
    "last-updated-ms": BigInt(options.nowMs),
    "last-column-id": lastColumnId,
    schemas: [options.schema],
    "current-schema-id": options.schema["schema-id"],
    "partition-specs": [{ "spec-id": 0, fields: [] }],
    "default-spec-id": 0,
    "last-partition-id": 999,
    "sort-orders": [{ "order-id": 0, fields: [] }],
    "default-sort-order-id": 0,
    properties: { ...defaultTableProperties, ...options.properties },
    snapshots: [],
    "snapshot-log": [],
    "metadata-log": [],
    refs: {},
    statistics: [],
    "partition-statistics": []
  }
}

/** The snapshot `main` points at, if any (missing, null and -1 all mean none). */
export const currentSnapshotId = (metadata: TableMetadata): bigint | undefined => {
  const main = metadata.refs?.["main"]?.["snapshot-id"]
  const id = main ?? metadata["current-snapshot-id"]
  return id === undefined || id === null || id === -1n ? undefined : BigInt(id)
}

export const currentSnapshot = (metadata: TableMetadata): IcebergSnapshot | undefined => {
  const id = currentSnapshotId(metadata)
  return id === undefined ? undefined : metadata.snapshots.find((s) => s["snapshot-id"] === id)
}

export const currentSchema = (metadata: TableMetadata): IcebergSchema => {
  const schema = metadata.schemas.find((s) => s["schema-id"] === metadata["current-schema-id"])
  if (schema === undefined) throw new Error(`current schema ${metadata["current-schema-id"]} is missing`)
  return schema
}

/** Why the requirements do not hold against `metadata`, or undefined when they all do. */
export const failedRequirement = (
  metadata: TableMetadata,
  requirements: ReadonlyArray<TableRequirement>
): string | undefined => {
  for (const requirement of requirements) {
    switch (requirement.type) {
      case "assert-table-uuid":
        if (metadata["table-uuid"] !== requirement.uuid) return `table uuid is not ${requirement.uuid}`
        break
      case "assert-ref-snapshot-id": {
        const ref = metadata.refs?.[requirement.ref]
        const actual = requirement.ref === "main" ? currentSnapshotId(metadata) : ref?.["snapshot-id"]
        const expected = requirement["snapshot-id"]
        if (expected === null ? actual !== undefined : actual !== expected) {
          return `branch ${requirement.ref} moved: expected ${String(expected)}, found ${String(actual ?? null)}`
        }
        break
      }
      case "assert-current-schema-id":
        if (metadata["current-schema-id"] !== requirement["current-schema-id"]) {
          return `current schema changed: expected ${requirement["current-schema-id"]}, found ${metadata["current-schema-id"]}`
        }
        break
      case "assert-last-assigned-field-id":
        if (metadata["last-column-id"] !== requirement["last-assigned-field-id"]) {
          return `last column id changed: expected ${requirement["last-assigned-field-id"]}, found ${metadata["last-column-id"]}`
        }
        break
    }
  }
  return undefined
}

/**
 * Applies commit updates to metadata (what a REST catalog server does; the SQL catalog does it
 * client-side). `previousLocation` goes into the metadata log.
 */
export const applyUpdates = (
  base: TableMetadata,
  updates: ReadonlyArray<TableUpdate>,
  previousLocation: string,
  nowMs: number
): TableMetadata => {
  let next: TableMetadata = { ...base }
  let lastAddedSchemaId: number | undefined
  for (const update of updates) {
    switch (update.action) {
      case "add-schema": {
        const id = update.schema["schema-id"]
        if (next.schemas.some((s) => s["schema-id"] === id)) throw new Error(`schema id ${id} already exists`)
        const maxFieldId = update.schema.fields.reduce((max, f) => Math.max(max, f.id), 0)
        next = {
          ...next,
          schemas: [...next.schemas, update.schema],
          "last-column-id": Math.max(next["last-column-id"], update["last-column-id"], maxFieldId)
        }
        lastAddedSchemaId = id
        break
      }
      case "set-current-schema": {
        const id = update["schema-id"] === -1 ? lastAddedSchemaId : update["schema-id"]
        if (id === undefined || !next.schemas.some((s) => s["schema-id"] === id)) {
          throw new Error(`cannot set current schema to unknown schema ${update["schema-id"]}`)
        }
        next = { ...next, "current-schema-id": id }
        break
      }
      case "add-snapshot": {
        const snapshot = update.snapshot
        if (next.snapshots.some((s) => s["snapshot-id"] === snapshot["snapshot-id"])) {
          throw new Error(`snapshot ${snapshot["snapshot-id"]} already exists`)
        }
        if (snapshot["parent-snapshot-id"] !== undefined && snapshot["sequence-number"] <= next["last-sequence-number"]) {
          throw new Error(`sequence number ${snapshot["sequence-number"]} is not above ${next["last-sequence-number"]}`)
        }
        next = {
          ...next,
          snapshots: [...next.snapshots, snapshot],
          "last-sequence-number": snapshot["sequence-number"] > next["last-sequence-number"]
            ? snapshot["sequence-number"]
            : next["last-sequence-number"]
        }
        break
      }
      case "set-snapshot-ref": {
        const snapshot = next.snapshots.find((s) => s["snapshot-id"] === update["snapshot-id"])
        if (snapshot === undefined) throw new Error(`unknown snapshot ${update["snapshot-id"]}`)
        next = { ...next, refs: { ...next.refs, [update["ref-name"]]: { "snapshot-id": update["snapshot-id"], type: update.type } } }
        if (update["ref-name"] === "main") {
          next = {
            ...next,
            "current-snapshot-id": update["snapshot-id"],
            "snapshot-log": [...next["snapshot-log"], {
              "timestamp-ms": snapshot["timestamp-ms"],
              "snapshot-id": update["snapshot-id"]
            }]
          }
        }
        break
      }
      case "set-properties":
        next = { ...next, properties: { ...next.properties, ...update.updates } }
        break
    }
  }
  const log = [...(base["metadata-log"] ?? []), { "timestamp-ms": base["last-updated-ms"], "metadata-file": previousLocation }]
  return {
    ...next,
    "metadata-log": log.slice(Math.max(0, log.length - previousVersionsMax)),
    "last-updated-ms": BigInt(Math.max(nowMs, Number(base["last-updated-ms"]) + 1))
  }
}

/** `<location>/metadata/<00001>-<uuid>.metadata.json`, numbered after the previous version. */
export const nextMetadataLocation = (location: string, previous: string | undefined): string => {
  const match = previous === undefined ? null : /(?:^|\/)(\d+)-[^/]*\.metadata\.json$/.exec(previous)
  const version = match === null ? (previous === undefined ? 0 : 1) : Number(match[1]) + 1
  return `${location.replace(/\/+$/, "")}/metadata/${String(version).padStart(5, "0")}-${randomUUID()}.metadata.json`
}

export const serializeMetadata = (metadata: TableMetadata): string => {
  const copy: Record<string, unknown> = { ...metadata }
  if (copy["current-snapshot-id"] === undefined) delete copy["current-snapshot-id"]
  return stringifyIcebergJson(copy)
}

const mustKeys = [
  "format-version",
  "table-uuid",
  "location",
  "last-sequence-number",
  "last-updated-ms",
  "last-column-id",
  "schemas",
  "current-schema-id",
  "partition-specs",
  "default-spec-id",
  "last-partition-id",
  "sort-orders",
  "default-sort-order-id"
] as const

/** Parses a v2 metadata file; optional lists and maps are filled in so callers need no checks. */
export const parseMetadata = (text: string): TableMetadata => {
  const raw = parseIcebergJson(text)
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error("table metadata is not a JSON object")
  const object = raw as Record<string, unknown>
  if (object["format-version"] !== 2) {
    throw new Error(`only format-version 2 tables are supported, found ${String(object["format-version"])}`)
  }
  for (const key of mustKeys) if (!(key in object)) throw new Error(`table metadata lacks "${key}"`)
  const schemas = object["schemas"] as Array<{ "schema-id"?: unknown }>
  if (!Array.isArray(schemas) || !schemas.some((s) => s["schema-id"] === object["current-schema-id"])) {
    throw new Error(`table metadata: current-schema-id ${String(object["current-schema-id"])} is not among its schemas`)
  }
  const specs = object["partition-specs"] as Array<{ "spec-id"?: unknown }>
  if (!Array.isArray(specs) || !specs.some((s) => s["spec-id"] === object["default-spec-id"])) {
    throw new Error(`table metadata: default-spec-id ${String(object["default-spec-id"])} is not among its partition specs`)
  }
  const current = object["current-snapshot-id"]
  const snapshots = (object["snapshots"] as Array<IcebergSnapshot> | undefined) ?? []
  const refs = (object["refs"] as TableMetadata["refs"] | undefined) ??
    (current !== undefined && current !== null && current !== -1n
      ? { main: { "snapshot-id": BigInt(current as bigint), type: "branch" as const } }
      : {})
  const metadata = {
    ...object,
    properties: object["properties"] ?? {},
    snapshots,
    "snapshot-log": object["snapshot-log"] ?? [],
    "metadata-log": object["metadata-log"] ?? [],
    refs
  } as Record<string, unknown>
  if (current === null || current === -1n || current === -1) delete metadata["current-snapshot-id"]
  return metadata as TableMetadata
}
