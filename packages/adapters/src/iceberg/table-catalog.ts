import type { Effect, Option } from "effect"
import { Context, Schema } from "effect"
import type { InfrastructureError, TableIdent } from "@ingest/domain"
import type { TableStorage } from "./table-files.ts"

// The table catalog the Iceberg writer commits through, and Iceberg v2 table metadata in its own
// JSON shape (kebab-case keys) so catalogs can persist and exchange it without a translation layer.
// Only the Iceberg adapters use it: the domain sees tables through the TableWriter port. 63-bit
// values (snapshot ids, sequence numbers, timestamps) are bigint: JSON numbers of that size do not
// survive a plain JSON.parse.

export type IcebergPrimitiveType = string

export interface IcebergField {
  readonly id: number
  readonly name: string
  readonly required: boolean
  /** A primitive type string (`long`, `decimal(38,2)`, …) or a nested type object, kept as read. */
  readonly type: IcebergPrimitiveType | { readonly type: string; readonly [key: string]: unknown }
  readonly doc?: string
}

export interface IcebergSchema {
  readonly type: "struct"
  readonly "schema-id": number
  readonly "identifier-field-ids"?: ReadonlyArray<number>
  readonly fields: ReadonlyArray<IcebergField>
}

export interface IcebergSnapshot {
  readonly "snapshot-id": bigint
  readonly "parent-snapshot-id"?: bigint
  readonly "sequence-number": bigint
  readonly "timestamp-ms": bigint
  readonly "manifest-list": string
  readonly summary: { readonly operation: string; readonly [key: string]: string }
  readonly "schema-id"?: number
}

export interface IcebergSnapshotRef {
  readonly "snapshot-id": bigint
  readonly type: "branch" | "tag"
}

export interface TableMetadata {
  readonly "format-version": 2
  readonly "table-uuid": string
  readonly location: string
  readonly "last-sequence-number": bigint
  readonly "last-updated-ms": bigint
  readonly "last-column-id": number
  readonly schemas: ReadonlyArray<IcebergSchema>
  readonly "current-schema-id": number
  readonly "partition-specs": ReadonlyArray<IcebergPartitionSpec & { readonly "spec-id": number }>
  readonly "default-spec-id": number
  readonly "last-partition-id": number
  readonly "sort-orders": ReadonlyArray<IcebergSortOrder>
  readonly "default-sort-order-id": number
  readonly properties: { readonly [key: string]: string }
  readonly "current-snapshot-id"?: bigint
  readonly snapshots: ReadonlyArray<IcebergSnapshot>
  readonly "snapshot-log": ReadonlyArray<{ readonly "timestamp-ms": bigint; readonly "snapshot-id": bigint }>
  readonly "metadata-log": ReadonlyArray<{ readonly "timestamp-ms": bigint; readonly "metadata-file": string }>
  readonly refs: { readonly [name: string]: IcebergSnapshotRef }
  readonly [key: string]: unknown
}

export interface LoadedTable {
  readonly ident: TableIdent
  /** Absolute URI of the current metadata JSON. */
  readonly metadataLocation: string
  readonly metadata: TableMetadata
  /** How to reach the table's files, as a REST catalog answered it (vended credentials). */
  readonly access?: TableAccess | undefined
}

/** Credentials a REST catalog vended for the files under `prefix`. */
export interface StorageCredential {
  readonly prefix: string
  readonly config: { readonly [key: string]: string }
}

export interface TableAccess {
  /** The load result's `config` (`s3.endpoint`, `s3.access-key-id`, …). */
  readonly config: { readonly [key: string]: string }
  readonly credentials: ReadonlyArray<StorageCredential>
}

export interface IcebergPartitionSpec {
  /** Absent or -1 in an `add-spec` update: the catalog assigns the next id. */
  readonly "spec-id"?: number
  readonly fields: ReadonlyArray<{
    readonly "source-id": number
    readonly "field-id"?: number
    readonly name: string
    readonly transform: string
  }>
}

export interface IcebergSortOrder {
  /** -1 in an `add-sort-order` update: the catalog assigns the next id. */
  readonly "order-id": number
  readonly fields: ReadonlyArray<{
    readonly "source-id": number
    readonly transform: string
    readonly direction: "asc" | "desc"
    readonly "null-order": "nulls-first" | "nulls-last"
  }>
}

/** Changes of one commit, as in the Iceberg REST protocol (`TableUpdate`). */
export type TableUpdate =
  | { readonly action: "assign-uuid"; readonly uuid: string }
  | { readonly action: "upgrade-format-version"; readonly "format-version": number }
  /** The schema id is a proposal: an identical schema is reused, a taken id is replaced by the next free one. */
  | { readonly action: "add-schema"; readonly schema: IcebergSchema; readonly "last-column-id"?: number | undefined }
  /** `schema-id: -1` means the schema added by this commit. */
  | { readonly action: "set-current-schema"; readonly "schema-id": number }
  | { readonly action: "add-spec"; readonly spec: IcebergPartitionSpec }
  /** `spec-id: -1` means the spec added by this commit. */
  | { readonly action: "set-default-spec"; readonly "spec-id": number }
  | { readonly action: "add-sort-order"; readonly "sort-order": IcebergSortOrder }
  /** `sort-order-id: -1` means the order added by this commit. */
  | { readonly action: "set-default-sort-order"; readonly "sort-order-id": number }
  | { readonly action: "add-snapshot"; readonly snapshot: IcebergSnapshot }
  | {
    readonly action: "set-snapshot-ref"
    readonly "ref-name": string
    readonly type: "branch" | "tag"
    readonly "snapshot-id": bigint
    readonly "max-ref-age-ms"?: bigint | number | undefined
    readonly "max-snapshot-age-ms"?: bigint | number | undefined
    readonly "min-snapshots-to-keep"?: number | undefined
  }
  | { readonly action: "remove-snapshot-ref"; readonly "ref-name": string }
  | { readonly action: "remove-snapshots"; readonly "snapshot-ids": ReadonlyArray<bigint> }
  | { readonly action: "set-properties"; readonly updates: { readonly [key: string]: string } }
  | { readonly action: "remove-properties"; readonly removals: ReadonlyArray<string> }
  | { readonly action: "set-location"; readonly location: string }

/** Conditions the table must meet for a commit to apply (optimistic concurrency; REST `TableRequirement`). */
export type TableRequirement =
  /** The table must not exist yet. */
  | { readonly type: "assert-create" }
  | { readonly type: "assert-table-uuid"; readonly uuid: string }
  /** `snapshot-id: null`: the ref must not exist yet. */
  | { readonly type: "assert-ref-snapshot-id"; readonly ref: string; readonly "snapshot-id": bigint | null }
  | { readonly type: "assert-current-schema-id"; readonly "current-schema-id": number }
  | { readonly type: "assert-last-assigned-field-id"; readonly "last-assigned-field-id": number }
  | { readonly type: "assert-last-assigned-partition-id"; readonly "last-assigned-partition-id": number }
  | { readonly type: "assert-default-spec-id"; readonly "default-spec-id": number }
  | { readonly type: "assert-default-sort-order-id"; readonly "default-sort-order-id": number }

export interface CreateTableRequest {
  readonly schema: IcebergSchema
  /** Absolute URI; the catalog picks one when absent. */
  readonly location?: string | undefined
  readonly properties?: { readonly [key: string]: string } | undefined
  /** Unpartitioned when absent. */
  readonly partitionSpec?: IcebergPartitionSpec | undefined
  /** Unsorted when absent. */
  readonly sortOrder?: IcebergSortOrder | undefined
}

/** Another writer changed the table first: reload, rebuild, retry. */
export class CommitConflict extends Schema.TaggedError<CommitConflict>()("CommitConflict", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/** The catalog could not say whether the commit applied: reload and look for the snapshot. */
export class CommitStateUnknown extends Schema.TaggedError<CommitStateUnknown>()("CommitStateUnknown", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

export class TableAlreadyExists extends Schema.TaggedError<TableAlreadyExists>()("TableAlreadyExists", {
  table: Schema.String
}) {
  override get message() {
    return `table ${this.table} already exists`
  }
}

/**
 * An Iceberg catalog: namespaces, tables and the atomic metadata pointer swap. Implemented over
 * the service database (JDBC/pyiceberg SQL catalog layout) or an Iceberg REST catalog.
 */
export class TableCatalog extends Context.Service<TableCatalog, {
  readonly name: string
  /** Creates the namespace with its parents; an existing one is fine. */
  createNamespace(namespace: ReadonlyArray<string>): Effect.Effect<void, InfrastructureError>
  namespaceExists(namespace: ReadonlyArray<string>): Effect.Effect<boolean, InfrastructureError>
  listTables(namespace: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<TableIdent>, InfrastructureError>
  loadTable(table: TableIdent): Effect.Effect<Option.Option<LoadedTable>, InfrastructureError>
  createTable(table: TableIdent, request: CreateTableRequest): Effect.Effect<LoadedTable, TableAlreadyExists | InfrastructureError>
  /** Applies the updates when every requirement holds against the current metadata, atomically. */
  commit(
    table: TableIdent,
    requirements: ReadonlyArray<TableRequirement>,
    updates: ReadonlyArray<TableUpdate>
  ): Effect.Effect<LoadedTable, CommitConflict | CommitStateUnknown | InfrastructureError>
  /** Removes the catalog entry (data and metadata files stay). False when there was none. */
  dropTable(table: TableIdent): Effect.Effect<boolean, InfrastructureError>
  /** How the catalog's tables' files are reached, when the catalog decides (a REST catalog's locations). */
  readonly storage?: TableStorage | undefined
  /** Whether the catalog answers (readiness); the reason when not. Absent: it lives in the service database. */
  readonly ready?: Effect.Effect<void, string> | undefined
}>()("ingest/TableCatalog") {}
