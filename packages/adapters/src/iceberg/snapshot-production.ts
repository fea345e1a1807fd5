import { randomBytes } from "node:crypto"
import type { DataFile, ManifestFileEntry } from "./manifest.ts"
import { encodeManifest, encodeManifestList } from "./manifest.ts"
import { currentSnapshot, currentSnapshotId } from "./metadata.ts"
import type { IcebergSchema, IcebergSnapshot, LoadedTable, TableMetadata, TableRequirement, TableUpdate } from "./table-catalog.ts"

// Snapshot production, pure: from the files a write produced and the table state it commits on,
// the manifest, the manifest list (ours plus the parent's kept manifests), the snapshot with its
// summary, and the requirements and updates of the commit. No I/O: the caller stores the bytes
// and sends the commit through its catalog.

/** The snapshot summary key that makes a write idempotent: a snapshot carrying it is that write. */
export const commitIdKey = "ingest.commit-id"

export type WriteMode = "append" | "overwrite"

/** A random positive 63-bit id that no snapshot of the table has. */
export const newSnapshotId = (taken: ReadonlyArray<IcebergSnapshot>): bigint => {
  for (;;) {
    const id = randomBytes(8).readBigUInt64BE() & 0x7fffffffffffffffn
    if (id !== 0n && !taken.some((s) => s["snapshot-id"] === id)) return id
  }
}

/** The snapshot a write with this commit id left in the table, if any. */
export const findCommit = (table: LoadedTable, commitId: string): IcebergSnapshot | undefined =>
  table.metadata.snapshots.find((s) => s.summary[commitIdKey] === commitId)

/** Sum of the parent's live data files and rows, from its manifest list. */
export const totalsOf = (manifests: ReadonlyArray<ManifestFileEntry>) => {
  let files = 0
  let records = 0n
  for (const m of manifests) {
    if (m.content !== 0) continue
    files += m.added_files_count + m.existing_files_count
    records += m.added_rows_count + m.existing_rows_count
  }
  return { files, records }
}

const summaryNumber = (summary: IcebergSnapshot["summary"] | undefined, key: string): bigint | undefined => {
  const value = summary?.[key]
  return value !== undefined && /^\d+$/.test(value) ? BigInt(value) : undefined
}

/** The manifest of a write's data files (written once, reused by every commit attempt). */
export const produceManifest = (options: {
  readonly schema: IcebergSchema
  readonly snapshotId: bigint
  readonly files: ReadonlyArray<DataFile>
  /** Unique per write: part of the file name. */
  readonly commitUuid: string
}): { readonly name: string; readonly bytes: Uint8Array } => ({
  name: `${options.commitUuid}-m0.avro`,
  bytes: encodeManifest({ schema: options.schema, snapshotId: options.snapshotId, files: options.files })
})

export interface SnapshotInput {
  readonly mode: WriteMode
  readonly commitId: string
  readonly commitUuid: string
  readonly snapshotId: bigint
  readonly schemaId: number
  readonly files: ReadonlyArray<DataFile>
  /** The write's manifest (absent when there are no files: an overwrite that empties the table). */
  readonly manifest: { readonly uri: string; readonly length: number } | undefined
  /** The table state this attempt commits on. */
  readonly metadata: TableMetadata
  /** The manifest list of the current snapshot of `metadata` (empty without one). */
  readonly parentManifests: ReadonlyArray<ManifestFileEntry>
  /** 0 for the first attempt; part of the manifest list's name. */
  readonly attempt: number
  /** Where the manifest list goes: its URI for a given file name. */
  readonly metadataUri: (name: string) => string
  readonly nowMs: number
}

export interface ProducedSnapshot {
  readonly snapshot: IcebergSnapshot
  readonly manifestList: { readonly name: string; readonly bytes: Uint8Array }
  readonly requirements: ReadonlyArray<TableRequirement>
  readonly updates: ReadonlyArray<TableUpdate>
}

/** One commit attempt: manifest list, snapshot and summary on the given parent state. */
export const produceSnapshot = (input: SnapshotInput): ProducedSnapshot => {
  const { metadata, mode, files, snapshotId } = input
  const parent = currentSnapshot(metadata)
  const parentId = currentSnapshotId(metadata)
  const sequenceNumber = metadata["last-sequence-number"] + 1n
  const addedRecords = files.reduce((n, f) => n + f.recordCount, 0)
  const addedBytes = files.reduce((n, f) => n + f.fileSizeInBytes, 0)
  const parentTotals = totalsOf(input.parentManifests)
  const parentSize = summaryNumber(parent?.summary, "total-files-size")
  const kept = mode === "append" ? input.parentManifests : []
  const ours: Array<ManifestFileEntry> = input.manifest === undefined ? [] : [{
    manifest_path: input.manifest.uri,
    manifest_length: BigInt(input.manifest.length),
    partition_spec_id: 0,
    content: 0,
    sequence_number: sequenceNumber,
    min_sequence_number: sequenceNumber,
    added_snapshot_id: snapshotId,
    added_files_count: files.length,
    existing_files_count: 0,
    deleted_files_count: 0,
    added_rows_count: BigInt(addedRecords),
    existing_rows_count: 0n,
    deleted_rows_count: 0n,
    partitions: [],
    key_metadata: null
  }]
  const listName = `snap-${snapshotId}-${input.attempt + 1}-${input.commitUuid}.avro`
  const listBytes = encodeManifestList({ snapshotId, parentSnapshotId: parentId, sequenceNumber, manifests: [...ours, ...kept] })

  const summary: Record<string, string> = {
    operation: mode,
    "added-data-files": String(files.length),
    "added-records": String(addedRecords),
    "added-files-size": String(addedBytes)
  }
  if (mode === "overwrite" && parent !== undefined) {
    summary["deleted-data-files"] = String(parentTotals.files)
    summary["deleted-records"] = String(parentTotals.records)
    if (parentSize !== undefined) summary["removed-files-size"] = String(parentSize)
  }
  const keptFiles = mode === "append" ? parentTotals.files : 0
  const keptRecords = mode === "append" ? parentTotals.records : 0n
  summary["total-data-files"] = String(keptFiles + files.length)
  summary["total-records"] = String(keptRecords + BigInt(addedRecords))
  if (mode === "overwrite" || parent === undefined) {
    summary["total-files-size"] = String(addedBytes)
  } else if (parentSize !== undefined) {
    summary["total-files-size"] = String(parentSize + BigInt(addedBytes))
  }
  summary["total-delete-files"] = "0"
  summary["total-position-deletes"] = "0"
  summary["total-equality-deletes"] = "0"
  summary["manifests-created"] = String(ours.length)
  summary["manifests-kept"] = String(kept.length)
  summary[commitIdKey] = input.commitId

  const snapshot: IcebergSnapshot = {
    "snapshot-id": snapshotId,
    ...(parentId === undefined ? {} : { "parent-snapshot-id": parentId }),
    "sequence-number": sequenceNumber,
    "timestamp-ms": BigInt(Math.max(input.nowMs, Number(metadata["last-updated-ms"]))),
    "manifest-list": input.metadataUri(listName),
    summary: summary as IcebergSnapshot["summary"],
    "schema-id": input.schemaId
  }
  return {
    snapshot,
    manifestList: { name: listName, bytes: listBytes },
    requirements: [
      { type: "assert-table-uuid", uuid: metadata["table-uuid"] },
      { type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": parentId ?? null }
    ],
    updates: [
      { action: "add-snapshot", snapshot },
      { action: "set-snapshot-ref", "ref-name": "main", type: "branch", "snapshot-id": snapshotId }
    ]
  }
}
