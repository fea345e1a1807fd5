import type { IcebergSchema } from "./table-catalog.ts"
import { readAvroContainer, writeAvroContainer } from "./avro.ts"
import { stringifyIcebergJson } from "./json.ts"
import type { ColumnMetrics } from "./stats.ts"

// Manifest (one per commit, listing its new data files) and manifest list (one per snapshot),
// exactly as Iceberg v2 lays them out (WRITING-V2 §4, §5). Unpartitioned tables only.

const metricMap = (name: string, fieldId: number, keyId: number, valueId: number, valueType: string) => ({
  name,
  type: ["null", {
    type: "array",
    logicalType: "map",
    items: {
      type: "record",
      name: `k${keyId}_v${valueId}`,
      fields: [
        { name: "key", type: "int", "field-id": keyId },
        { name: "value", type: valueType, "field-id": valueId }
      ]
    }
  }],
  default: null,
  "field-id": fieldId
})

/** The manifest entry schema for an unpartitioned spec (empty partition struct). */
export const manifestEntrySchema = {
  type: "record",
  name: "manifest_entry",
  fields: [
    { name: "status", type: "int", "field-id": 0 },
    { name: "snapshot_id", type: ["null", "long"], default: null, "field-id": 1 },
    { name: "sequence_number", type: ["null", "long"], default: null, "field-id": 3 },
    { name: "file_sequence_number", type: ["null", "long"], default: null, "field-id": 4 },
    {
      name: "data_file",
      "field-id": 2,
      type: {
        type: "record",
        name: "r2",
        fields: [
          { name: "content", type: "int", "field-id": 134 },
          { name: "file_path", type: "string", "field-id": 100 },
          { name: "file_format", type: "string", "field-id": 101 },
          { name: "partition", "field-id": 102, type: { type: "record", name: "r102", fields: [] } },
          { name: "record_count", type: "long", "field-id": 103 },
          { name: "file_size_in_bytes", type: "long", "field-id": 104 },
          metricMap("column_sizes", 108, 117, 118, "long"),
          metricMap("value_counts", 109, 119, 120, "long"),
          metricMap("null_value_counts", 110, 121, 122, "long"),
          metricMap("nan_value_counts", 137, 138, 139, "long"),
          metricMap("lower_bounds", 125, 126, 127, "bytes"),
          metricMap("upper_bounds", 128, 129, 130, "bytes"),
          { name: "key_metadata", type: ["null", "bytes"], default: null, "field-id": 131 },
          {
            name: "split_offsets",
            type: ["null", { type: "array", items: "long", "element-id": 133 }],
            default: null,
            "field-id": 132
          },
          {
            name: "equality_ids",
            type: ["null", { type: "array", items: "int", "element-id": 136 }],
            default: null,
            "field-id": 135
          },
          { name: "sort_order_id", type: ["null", "int"], default: null, "field-id": 140 },
          { name: "referenced_data_file", type: ["null", "string"], default: null, "field-id": 143 }
        ]
      }
    }
  ]
} as const

export const manifestListSchema = {
  type: "record",
  name: "manifest_file",
  fields: [
    { name: "manifest_path", type: "string", "field-id": 500 },
    { name: "manifest_length", type: "long", "field-id": 501 },
    { name: "partition_spec_id", type: "int", "field-id": 502 },
    { name: "content", type: "int", "field-id": 517 },
    { name: "sequence_number", type: "long", "field-id": 515 },
    { name: "min_sequence_number", type: "long", "field-id": 516 },
    { name: "added_snapshot_id", type: "long", "field-id": 503 },
    { name: "added_files_count", type: "int", "field-id": 504 },
    { name: "existing_files_count", type: "int", "field-id": 505 },
    { name: "deleted_files_count", type: "int", "field-id": 506 },
    { name: "added_rows_count", type: "long", "field-id": 512 },
    { name: "existing_rows_count", type: "long", "field-id": 513 },
    { name: "deleted_rows_count", type: "long", "field-id": 514 },
    {
      name: "partitions",
      type: ["null", {
        type: "array",
        "element-id": 508,
        items: {
          type: "record",
          name: "r508",
          fields: [
            { name: "contains_null", type: "boolean", "field-id": 509 },
            { name: "contains_nan", type: ["null", "boolean"], default: null, "field-id": 518 },
            { name: "lower_bound", type: ["null", "bytes"], default: null, "field-id": 510 },
            { name: "upper_bound", type: ["null", "bytes"], default: null, "field-id": 511 }
          ]
        }
      }],
      default: null,
      "field-id": 507
    },
    { name: "key_metadata", type: ["null", "bytes"], default: null, "field-id": 519 }
  ]
} as const

/** A Parquet data file written by this commit, with its column metrics by field id. */
export interface DataFile {
  readonly filePath: string
  readonly recordCount: number
  readonly fileSizeInBytes: number
  readonly metrics: ReadonlyMap<number, ColumnMetrics>
}

/** One row of a manifest list. Longs are bigint. */
export interface ManifestFileEntry {
  readonly manifest_path: string
  readonly manifest_length: bigint
  readonly partition_spec_id: number
  readonly content: number
  readonly sequence_number: bigint
  readonly min_sequence_number: bigint
  readonly added_snapshot_id: bigint
  readonly added_files_count: number
  readonly existing_files_count: number
  readonly deleted_files_count: number
  readonly added_rows_count: bigint
  readonly existing_rows_count: bigint
  readonly deleted_rows_count: bigint
  readonly partitions: ReadonlyArray<unknown> | null
  readonly key_metadata: Uint8Array | null
}

const sortedEntries = <V>(map: ReadonlyMap<number, V>) => [...map.entries()].sort((a, b) => a[0] - b[0])

const metricRecords = <V>(
  metrics: ReadonlyMap<number, ColumnMetrics>,
  pick: (m: ColumnMetrics) => V | undefined
): Array<{ key: number; value: V }> | null => {
  const out: Array<{ key: number; value: V }> = []
  for (const [fieldId, m] of sortedEntries(metrics)) {
    const value = pick(m)
    if (value !== undefined) out.push({ key: fieldId, value })
  }
  return out
}

const dataFileRecord = (file: DataFile) => ({
  content: 0,
  file_path: file.filePath,
  file_format: "PARQUET",
  partition: {},
  record_count: BigInt(file.recordCount),
  file_size_in_bytes: BigInt(file.fileSizeInBytes),
  column_sizes: null,
  value_counts: metricRecords(file.metrics, (m) => BigInt(m.valueCount)),
  null_value_counts: metricRecords(file.metrics, (m) => BigInt(m.nullCount)),
  nan_value_counts: metricRecords(file.metrics, (m) => (m.nanCount === undefined ? undefined : BigInt(m.nanCount))),
  lower_bounds: metricRecords(file.metrics, (m) => (m.lower === undefined ? undefined : Buffer.from(m.lower))),
  upper_bounds: metricRecords(file.metrics, (m) => (m.upper === undefined ? undefined : Buffer.from(m.upper))),
  key_metadata: null,
  split_offsets: null,
  equality_ids: null,
  sort_order_id: 0,
  referenced_data_file: null
})

/** A data manifest whose entries are the given files, ADDED by `snapshotId`. */
export const encodeManifest = (options: {
  readonly schema: IcebergSchema
  readonly snapshotId: bigint
  readonly files: ReadonlyArray<DataFile>
}): Uint8Array =>
  writeAvroContainer(
    manifestEntrySchema,
    options.files.map((file) => ({
      status: 1,
      snapshot_id: options.snapshotId,
      // Null: inherited from the manifest list row, so the manifest survives commit retries.
      sequence_number: null,
      file_sequence_number: null,
      data_file: dataFileRecord(file)
    })),
    {
      schema: stringifyIcebergJson(options.schema),
      "schema-id": String(options.schema["schema-id"]),
      "partition-spec": "[]",
      "partition-spec-id": "0",
      "format-version": "2",
      content: "data"
    }
  )

export const encodeManifestList = (options: {
  readonly snapshotId: bigint
  readonly parentSnapshotId: bigint | undefined
  readonly sequenceNumber: bigint
  readonly manifests: ReadonlyArray<ManifestFileEntry>
}): Uint8Array =>
  writeAvroContainer(manifestListSchema, options.manifests, {
    "snapshot-id": options.snapshotId.toString(),
    "parent-snapshot-id": options.parentSnapshotId === undefined ? "null" : options.parentSnapshotId.toString(),
    "sequence-number": options.sequenceNumber.toString(),
    "format-version": "2"
  })

const asBigInt = (value: unknown, fallback: bigint): bigint =>
  typeof value === "bigint" ? value : typeof value === "number" ? BigInt(value) : fallback
const asInt = (value: unknown, fallback: number): number =>
  typeof value === "number" ? value : typeof value === "bigint" ? Number(value) : fallback

/** Reads a manifest list; rows written by other tools are normalised to the v2 field names. */
export const decodeManifestList = (bytes: Uint8Array): ReadonlyArray<ManifestFileEntry> =>
  readAvroContainer(bytes).records.map((r) => ({
    manifest_path: String(r["manifest_path"]),
    manifest_length: asBigInt(r["manifest_length"], 0n),
    partition_spec_id: asInt(r["partition_spec_id"], 0),
    content: asInt(r["content"], 0),
    sequence_number: asBigInt(r["sequence_number"], 0n),
    min_sequence_number: asBigInt(r["min_sequence_number"], 0n),
    added_snapshot_id: asBigInt(r["added_snapshot_id"], 0n),
    added_files_count: asInt(r["added_files_count"] ?? r["added_data_files_count"], 0),
    existing_files_count: asInt(r["existing_files_count"] ?? r["existing_data_files_count"], 0),
    deleted_files_count: asInt(r["deleted_files_count"] ?? r["deleted_data_files_count"], 0),
    added_rows_count: asBigInt(r["added_rows_count"], 0n),
    existing_rows_count: asBigInt(r["existing_rows_count"], 0n),
    deleted_rows_count: asBigInt(r["deleted_rows_count"], 0n),
    partitions: (r["partitions"] as ReadonlyArray<unknown> | null | undefined) ?? null,
    key_metadata: (r["key_metadata"] as Uint8Array | null | undefined) ?? null
  }))

export interface ManifestEntry {
  readonly status: number
  readonly snapshotId: bigint | null
  readonly sequenceNumber: bigint | null
  readonly filePath: string
  readonly fileFormat: string
  readonly content: number
  readonly recordCount: bigint
  readonly fileSizeInBytes: bigint
  readonly raw: Record<string, unknown>
}

/** Reads the entries of a manifest (for readers and tests). */
export const decodeManifest = (bytes: Uint8Array) => {
  const container = readAvroContainer(bytes)
  const entries: Array<ManifestEntry> = container.records.map((r) => {
    const file = r["data_file"] as Record<string, unknown>
    return {
      status: asInt(r["status"], 0),
      snapshotId: (r["snapshot_id"] as bigint | null | undefined) ?? null,
      sequenceNumber: (r["sequence_number"] as bigint | null | undefined) ?? null,
      filePath: String(file["file_path"]),
      fileFormat: String(file["file_format"]),
      content: asInt(file["content"], 0),
      recordCount: asBigInt(file["record_count"], 0n),
      fileSizeInBytes: asBigInt(file["file_size_in_bytes"], 0n),
      raw: file
    }
  })
  return { metadata: container.metadata, schema: container.schema, entries }
}
