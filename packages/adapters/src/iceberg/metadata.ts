import type {
  IcebergPartitionSpec,
  IcebergSchema,
  IcebergSnapshot,
  IcebergSortOrder,
  TableMetadata,
  TableRequirement,
  TableUpdate
} from "./table-catalog.ts"
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

/** Partition field ids start at 1000 (the spec's convention); 999 means "none assigned yet". */
const firstPartitionFieldId = 1000

/** A spec with every field id filled in, numbered after `lastPartitionId`. */
const numberSpec = (spec: IcebergPartitionSpec, specId: number, lastPartitionId: number) => {
  let last = lastPartitionId
  const fields = spec.fields.map((field) => {
    const id = field["field-id"] ?? Math.max(last + 1, firstPartitionFieldId)
    last = Math.max(last, id)
    return { ...field, "field-id": id }
  })
  return { spec: { "spec-id": specId, fields }, lastPartitionId: last }
}

const sameFields = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>) => JSON.stringify(a) === JSON.stringify(b)

export const newTableMetadata = (options: {
  readonly location: string
  readonly schema: IcebergSchema
  readonly properties?: Readonly<Record<string, string>> | undefined
  readonly partitionSpec?: IcebergPartitionSpec | undefined
  readonly sortOrder?: IcebergSortOrder | undefined
  readonly nowMs: number
}): TableMetadata => {
  const lastColumnId = options.schema.fields.reduce((max, f) => Math.max(max, f.id), 0)
  const { spec, lastPartitionId } = numberSpec(options.partitionSpec ?? { fields: [] }, 0, firstPartitionFieldId - 1)
  const sortFields = options.sortOrder?.fields ?? []
  const sortOrder = { "order-id": sortFields.length === 0 ? 0 : 1, fields: sortFields }
  return {
    "format-version": 2,
    "table-uuid": randomUUID(),
    location: options.location.replace(/\/+$/, ""),
    "last-sequence-number": 0n,
    "last-updated-ms": BigInt(options.nowMs),
    "last-column-id": lastColumnId,
    schemas: [options.schema],
    "current-schema-id": options.schema["schema-id"],
    "partition-specs": [spec],
    "default-spec-id": 0,
    "last-partition-id": lastPartitionId,
    "sort-orders": [sortOrder],
    "default-sort-order-id": sortOrder["order-id"],
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

/**
 * Why the requirements do not hold against `metadata` (undefined: the table does not exist), or
 * undefined when they all do.
 */
export const failedRequirement = (
  metadata: TableMetadata | undefined,
  requirements: ReadonlyArray<TableRequirement>
): string | undefined => {
  for (const requirement of requirements) {
    if (requirement.type === "assert-create") {
      if (metadata !== undefined) return "table already exists"
      continue
    }
    if (metadata === undefined) return "table does not exist"
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
      case "assert-last-assigned-partition-id":
        if (metadata["last-partition-id"] !== requirement["last-assigned-partition-id"]) {
          return `last partition id changed: expected ${requirement["last-assigned-partition-id"]}, found ${metadata["last-partition-id"]}`
        }
        break
      case "assert-default-spec-id":
        if (metadata["default-spec-id"] !== requirement["default-spec-id"]) {
          return `default partition spec changed: expected ${requirement["default-spec-id"]}, found ${metadata["default-spec-id"]}`
        }
        break
      case "assert-default-sort-order-id":
        if (metadata["default-sort-order-id"] !== requirement["default-sort-order-id"]) {
          return `default sort order changed: expected ${requirement["default-sort-order-id"]}, found ${metadata["default-sort-order-id"]}`
        }
        break
    }
  }
  return undefined
}

/** An update that cannot apply to the metadata (the caller answers 400 or retries). */
export class InvalidUpdate extends Error {}

const invalid = (message: string): never => {
  throw new InvalidUpdate(message)
}

/**
 * Applies commit updates to metadata, as a REST catalog server does (the SQL catalog does it for
 * its own writers too); throws InvalidUpdate naming what cannot apply. `previousLocation` goes
 * into the metadata log.
 */
export const applyUpdates = (
  base: TableMetadata,
  updates: ReadonlyArray<TableUpdate>,
  previousLocation: string,
  nowMs: number
): TableMetadata => {
  let next: TableMetadata = { ...base }
  let lastAddedSchemaId: number | undefined
  let lastAddedSpecId: number | undefined
  let lastAddedOrderId: number | undefined
  for (const update of updates) {
    switch (update.action) {
      case "assign-uuid":
        if (update.uuid !== base["table-uuid"]) invalid(`cannot change the table uuid of an existing table`)
        break
      case "upgrade-format-version":
        if (update["format-version"] !== 2) invalid(`format-version ${update["format-version"]} is not supported (only 2)`)
        break
      case "add-schema": {
        const identical = next.schemas.find((s) => sameFields(s.fields, update.schema.fields) &&
          sameFields(s["identifier-field-ids"] ?? [], update.schema["identifier-field-ids"] ?? []))
        if (identical !== undefined) {
          lastAddedSchemaId = identical["schema-id"]
          break
        }
        const taken = next.schemas.some((s) => s["schema-id"] === update.schema["schema-id"])
        const id = taken || update.schema["schema-id"] < 0
          ? next.schemas.reduce((max, s) => Math.max(max, s["schema-id"]), -1) + 1
          : update.schema["schema-id"]
        const maxFieldId = update.schema.fields.reduce((max, f) => Math.max(max, f.id), 0)
        next = {
          ...next,
          schemas: [...next.schemas, { ...update.schema, "schema-id": id }],
          "last-column-id": Math.max(next["last-column-id"], update["last-column-id"] ?? 0, maxFieldId)
        }
        lastAddedSchemaId = id
        break
      }
      case "set-current-schema": {
        const id = update["schema-id"] === -1 ? lastAddedSchemaId : update["schema-id"]
        if (id === undefined || !next.schemas.some((s) => s["schema-id"] === id)) {
          invalid(`cannot set current schema to unknown schema ${update["schema-id"]}`)
        }
        next = { ...next, "current-schema-id": id! }
        break
      }
      case "add-spec": {
        const specs = next["partition-specs"]
        const { lastPartitionId, spec } = numberSpec(
          update.spec,
          specs.reduce((max, s) => Math.max(max, s["spec-id"]), -1) + 1,
          next["last-partition-id"]
        )
        const identical = specs.find((s) => sameFields(s.fields, spec.fields))
        if (identical !== undefined) {
          lastAddedSpecId = identical["spec-id"]
          break
        }
        next = { ...next, "partition-specs": [...specs, spec], "last-partition-id": lastPartitionId }
        lastAddedSpecId = spec["spec-id"]
        break
      }
      case "set-default-spec": {
        const id = update["spec-id"] === -1 ? lastAddedSpecId : update["spec-id"]
        if (id === undefined || !next["partition-specs"].some((s) => s["spec-id"] === id)) {
          invalid(`cannot set the default partition spec to unknown spec ${update["spec-id"]}`)
        }
        next = { ...next, "default-spec-id": id! }
        break
      }
      case "add-sort-order": {
        const orders = next["sort-orders"]
        const fields = update["sort-order"].fields
        const identical = orders.find((o) => sameFields(o.fields, fields))
        if (identical !== undefined) {
          lastAddedOrderId = identical["order-id"]
          break
        }
        const id = orders.reduce((max, o) => Math.max(max, o["order-id"]), 0) + 1
        next = { ...next, "sort-orders": [...orders, { "order-id": id, fields }] }
        lastAddedOrderId = id
        break
      }
      case "set-default-sort-order": {
        const id = update["sort-order-id"] === -1 ? lastAddedOrderId : update["sort-order-id"]
        if (id === undefined || !next["sort-orders"].some((o) => o["order-id"] === id)) {
          invalid(`cannot set the default sort order to unknown order ${update["sort-order-id"]}`)
        }
        next = { ...next, "default-sort-order-id": id! }
        break
      }
      case "add-snapshot": {
        const snapshot = update.snapshot
        if (next.snapshots.some((s) => s["snapshot-id"] === snapshot["snapshot-id"])) {
          invalid(`snapshot ${snapshot["snapshot-id"]} already exists`)
        }
        if (snapshot["parent-snapshot-id"] !== undefined && snapshot["sequence-number"] <= next["last-sequence-number"]) {
          invalid(`sequence number ${snapshot["sequence-number"]} is not above ${next["last-sequence-number"]}`)
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
        if (snapshot === undefined) invalid(`unknown snapshot ${update["snapshot-id"]}`)
        if (update["ref-name"] === "main" && update.type !== "branch") invalid("main must be a branch")
        const { action: _action, "ref-name": name, ...ref } = update
        next = { ...next, refs: { ...next.refs, [name]: ref } }
        if (name === "main") {
          next = {
            ...next,
            "current-snapshot-id": update["snapshot-id"],
            "snapshot-log": [...next["snapshot-log"], {
              "timestamp-ms": snapshot!["timestamp-ms"],
              "snapshot-id": update["snapshot-id"]
            }]
          }
        }
        break
      }
      case "remove-snapshot-ref": {
        const { [update["ref-name"]]: _removed, ...refs } = next.refs
        next = { ...next, refs }
        if (update["ref-name"] === "main") {
          const { "current-snapshot-id": _current, ...rest } = next
          next = rest as TableMetadata
        }
        break
      }
      case "remove-snapshots": {
        const removed = new Set(update["snapshot-ids"].map((id) => BigInt(id)))
        const refs = Object.fromEntries(Object.entries(next.refs).filter(([, ref]) => !removed.has(ref["snapshot-id"])))
        next = {
          ...next,
          snapshots: next.snapshots.filter((s) => !removed.has(s["snapshot-id"])),
          "snapshot-log": next["snapshot-log"].filter((entry) => !removed.has(entry["snapshot-id"])),
          refs
        }
        if (next["current-snapshot-id"] !== undefined && removed.has(next["current-snapshot-id"])) {
          const { "current-snapshot-id": _current, ...rest } = next
          next = rest as TableMetadata
        }
        break
      }
      case "set-properties":
        next = { ...next, properties: { ...next.properties, ...update.updates } }
        break
      case "remove-properties": {
        const removals = new Set(update.removals)
        next = { ...next, properties: Object.fromEntries(Object.entries(next.properties).filter(([key]) => !removals.has(key))) }
        break
      }
      case "set-location":
        if (update.location.length === 0) invalid("location must not be empty")
        next = { ...next, location: update.location.replace(/\/+$/, "") }
        break
      default:
        invalid(`unsupported table update "${(update as { action?: unknown }).action}"`)
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
export const parseMetadata = (text: string): TableMetadata => metadataOf(parseIcebergJson(text))

/** Checks v2 metadata already parsed by the Iceberg JSON codec (a REST catalog's answer); fills in optional parts. */
export const metadataOf = (raw: unknown): TableMetadata => {
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
