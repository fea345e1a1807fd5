import { InfrastructureError } from "@ingest/domain"
import { Effect, Metric } from "effect"
import { randomUUID } from "node:crypto"
import { catalogCommitRetriesTotal, catalogCommitsTotal } from "../observability/metrics.ts"
import type { DataFile, ManifestFileEntry } from "./manifest.ts"
import { decodeManifestList } from "./manifest.ts"
import { currentSchema, currentSnapshot } from "./metadata.ts"
import type { FieldPlan } from "./schema.ts"
import { tableName } from "./schema.ts"
import { checkStillCompatible } from "./schema-evolution.ts"
import type { WriteMode } from "./snapshot-production.ts"
import { findCommit, newSnapshotId, produceManifest, produceSnapshot } from "./snapshot-production.ts"
import type { IcebergSnapshot, LoadedTable, TableCatalog } from "./table-catalog.ts"
import type { TableFiles } from "./table-files.ts"

// The commit of a write's snapshot through the catalog's own commit (the SQL catalog's
// compare-and-swap, the REST catalog's POST), with optimistic concurrency: on a conflict the
// table is reloaded and the snapshot rebuilt on the new parent (new manifest list; the manifest
// and data files stay), up to a bound. When the catalog cannot say whether a commit applied, the
// table is reloaded and searched for the write's commit id: present, the write is done; absent, a
// fresh attempt; the reload failing too leaves the state unknown, and the files are kept.

export interface SnapshotCommitOptions {
  readonly catalog: typeof TableCatalog.Service
  readonly maxAttempts: number
  readonly backoff: (attempt: number) => Effect.Effect<void>
  readonly load: (table: LoadedTable["ident"]) => Effect.Effect<LoadedTable, InfrastructureError>
}

export interface SnapshotToCommit {
  readonly mode: WriteMode
  readonly commitId: string
  readonly plan: ReadonlyArray<FieldPlan>
  readonly schemaId: number
  readonly files: ReadonlyArray<DataFile>
  readonly tableFiles: TableFiles
}

export interface CommittedSnapshot {
  readonly snapshot: IcebergSnapshot
  /** The write's commit id was already in the table: nothing new was committed. */
  readonly alreadyCommitted: boolean
}

const readManifestList = (files: TableFiles, location: string) =>
  Effect.flatMap(files.read(location), (bytes) =>
    Effect.try({
      try: () => decodeManifestList(bytes),
      catch: (error) => new InfrastructureError({ reason: `unreadable manifest list ${location}: ${String(error)}` })
    }))

/**
 * Commits the written files as a new snapshot, retrying on conflicts with a manifest list
 * rebuilt on the newest table state. Returns the committed snapshot (or the one already there).
 */
export const commitSnapshot = (
  options: SnapshotCommitOptions,
  start: LoadedTable,
  write: SnapshotToCommit
): Effect.Effect<CommittedSnapshot, InfrastructureError> =>
  Effect.gen(function*() {
    const { catalog, maxAttempts } = options
    const { tableFiles } = write
    const tableUuid = start.metadata["table-uuid"]
    const commitUuid = randomUUID()
    const snapshotId = newSnapshotId(start.metadata.snapshots)

    let manifest: { uri: string; length: number } | undefined
    if (write.files.length > 0) {
      const produced = produceManifest({
        schema: start.metadata.schemas.find((s) => s["schema-id"] === write.schemaId) ?? currentSchema(start.metadata),
        snapshotId,
        files: write.files,
        commitUuid
      })
      yield* tableFiles.store.putBytes(tableFiles.metadataKey(produced.name), produced.bytes)
      manifest = { uri: tableFiles.metadataUri(produced.name), length: produced.bytes.length }
    }

    let table = start
    let unknownOutcomes = 0
    for (let attempt = 0; ; attempt++) {
      const done = findCommit(table, write.commitId)
      if (done !== undefined) return { snapshot: done, alreadyCommitted: true }
      yield* checkStillCompatible(table, tableUuid, write.plan)
      const parent = currentSnapshot(table.metadata)
      const parentManifests: ReadonlyArray<ManifestFileEntry> = parent === undefined
        ? []
        : yield* readManifestList(tableFiles, parent["manifest-list"])
      const produced = produceSnapshot({
        mode: write.mode,
        commitId: write.commitId,
        commitUuid,
        snapshotId,
        schemaId: write.schemaId,
        files: write.files,
        manifest,
        metadata: table.metadata,
        parentManifests,
        attempt,
        metadataUri: tableFiles.metadataUri,
        nowMs: Date.now()
      })
      yield* tableFiles.store.putBytes(tableFiles.metadataKey(produced.manifestList.name), produced.manifestList.bytes)
      const outcome = yield* catalog.commit(table.ident, produced.requirements, produced.updates).pipe(
        Effect.map((committed) => ({ _tag: "Committed" as const, committed })),
        Effect.catchTags({
          CommitConflict: () => Effect.succeed({ _tag: "Retry" as const }),
          CommitStateUnknown: (error) => Effect.succeed({ _tag: "Unknown" as const, reason: error.reason })
        })
      )
      yield* Metric.update(
        Metric.withAttributes(catalogCommitsTotal, { outcome: outcome._tag === "Retry" ? "conflict" : outcome._tag.toLowerCase() }),
        1
      )
      if (outcome._tag === "Committed") return { snapshot: produced.snapshot, alreadyCommitted: false }
      if (outcome._tag === "Unknown") {
        unknownOutcomes++
        yield* Effect.logWarning(
          `Commit to ${tableName(table.ident)} has an unknown outcome (${outcome.reason}); reloading to look for ${write.commitId}`
        )
        // Never sent again blindly: the table tells whether it applied. The files stay either way.
        table = yield* options.load(table.ident).pipe(
          Effect.mapError((error) =>
            new InfrastructureError({
              reason: `commit state unknown: the catalog could not say whether snapshot ${snapshotId} of ` +
                `${tableName(table.ident)} was committed (${outcome.reason}; then ${error.reason}); its files are kept`
            })
          )
        )
        const applied = findCommit(table, write.commitId)
        if (applied !== undefined) return { snapshot: applied, alreadyCommitted: applied["snapshot-id"] !== snapshotId }
      } else {
        table = yield* options.load(table.ident)
      }
      if (attempt + 1 >= maxAttempts) {
        yield* Metric.update(Metric.withAttributes(catalogCommitsTotal, { outcome: "gave_up" }), 1)
        return yield* new InfrastructureError({
          reason: unknownOutcomes > 0
            ? `commit state unknown: ${unknownOutcomes} of ${maxAttempts} commits to ${tableName(table.ident)} ` +
              `got no answer and none of them is in the table; its files are kept`
            : `could not commit to ${tableName(table.ident)} after ${maxAttempts} attempts: too many concurrent writers`
        })
      }
      yield* Metric.update(catalogCommitRetriesTotal, 1)
      yield* options.backoff(attempt)
      table = yield* options.load(table.ident)
    }
  })
