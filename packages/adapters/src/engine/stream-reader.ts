import type { Column, ColumnBatch, DiscoveredStream } from "@ingest/domain"
import type { Effect, Option, Scope, Stream } from "effect"
import { Schema } from "effect"

/** Why a sync failed, as shown to users (the sync's `error`). */
export class SyncFailure extends Schema.TaggedError<SyncFailure>()("SyncFailure", {
  reason: Schema.String,
  /** The stream being synced when it failed, if any. */
  stream: Schema.optionalKey(Schema.String)
}) {
  override get message() {
    return this.stream === undefined ? this.reason : `${this.stream}: ${this.reason}`
  }
}

/** One stream's read, ready to be handed to the table writer. */
export interface StreamRead {
  /** Source columns in batch order (source names; the runner turns them into identifiers). */
  readonly columns: ReadonlyArray<Column>
  /** overwrite: the read is the whole stream; append: only what is new since the last state. */
  readonly mode: "append" | "overwrite"
  readonly batches: Stream.Stream<ColumnBatch, SyncFailure>
  /** Estimated bytes read so far (source-side size of the values). */
  readonly bytesRead: () => number
  /**
   * The state to store once the batches are committed, computed from what was read: undefined
   * keeps the old state, null forgets it (the next incremental read starts from scratch).
   */
  readonly nextState: () => unknown
}

export type ReadMode =
  | { readonly _tag: "full" }
  | { readonly _tag: "incremental"; readonly state: Option.Option<unknown> }

/** Reads the streams of one source; resources live as long as the given scope. */
export interface StreamReader {
  read(stream: DiscoveredStream, mode: ReadMode): Effect.Effect<StreamRead, SyncFailure, Scope.Scope>
}
