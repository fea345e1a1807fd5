import type { Effect, Option, Stream } from "effect"
import { Context } from "effect"
import type { ColumnBatch } from "../batch.ts"
import type { Column } from "../columns.ts"
import type { InfrastructureError, Invalid } from "../errors.ts"

export interface TableIdent {
  readonly namespace: ReadonlyArray<string>
  readonly name: string
}

export interface WriteRequest<E> {
  readonly table: TableIdent
  /** Target columns, in the order of the batches' columns. Names are final identifiers. */
  readonly columns: ReadonlyArray<Column>
  /** append: add rows; overwrite: the snapshot replaces every row of the table. */
  readonly mode: "append" | "overwrite"
  /**
   * Idempotency key, recorded in the snapshot summary (`ingest.commit-id`): when a snapshot
   * with this key is already committed, nothing is written again.
   */
  readonly commitId: string
  readonly batches: Stream.Stream<ColumnBatch, E>
  /** Called after each batch is buffered/written, with running totals. */
  readonly onProgress?: ((progress: { readonly records: number; readonly bytes: number }) => Effect.Effect<void>) | undefined
}

export interface WriteResult {
  readonly recordsWritten: number
  readonly bytesWritten: number
  readonly snapshotId: string
  /** True when the commit id was found already committed (a retry). */
  readonly alreadyCommitted: boolean
}

/**
 * Writes Iceberg tables: Parquet data files, manifests, manifest list and metadata, committed
 * atomically through the catalog (retrying on concurrent commits). Creates the namespace and
 * table when missing; adds new columns by schema evolution; an incompatible type is Invalid.
 */
export class TableWriter extends Context.Service<TableWriter, {
  write<E>(request: WriteRequest<E>): Effect.Effect<WriteResult, E | Invalid | InfrastructureError>
  /** The table's current columns, if it exists. */
  describe(table: TableIdent): Effect.Effect<Option.Option<ReadonlyArray<Column>>, InfrastructureError>
}>()("ingest/TableWriter") {}
