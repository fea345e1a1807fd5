import type { InfrastructureError, TableIdent } from "@ingest/domain"
import type {
  CommitConflict,
  CommitStateUnknown,
  CreateTableRequest,
  LoadedTable,
  TableAlreadyExists,
  TableRequirement,
  TableUpdate
} from "./table-catalog.ts"
import { Context, Effect, Layer, Schema } from "effect"

// The catalog as the service serves it to engines over the Iceberg REST protocol: every
// namespace and table operation of the protocol, on the catalog that imports and syncs commit
// to. Implemented by the SQL catalog; with an external REST catalog the service serves none.

export type Namespace = ReadonlyArray<string>

export class NoSuchNamespace extends Schema.TaggedError<NoSuchNamespace>()("NoSuchNamespace", {
  namespace: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Namespace does not exist: ${this.namespace.join(".")}`
  }
}

export class NamespaceAlreadyExists extends Schema.TaggedError<NamespaceAlreadyExists>()("NamespaceAlreadyExists", {
  namespace: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Namespace already exists: ${this.namespace.join(".")}`
  }
}

export class NamespaceNotEmpty extends Schema.TaggedError<NamespaceNotEmpty>()("NamespaceNotEmpty", {
  namespace: Schema.Array(Schema.String),
  reason: Schema.String
}) {
  override get message() {
    return `Namespace ${this.namespace.join(".")} is not empty: ${this.reason}`
  }
}

export class NoSuchTable extends Schema.TaggedError<NoSuchTable>()("NoSuchTable", {
  table: Schema.String
}) {
  override get message() {
    return `Table does not exist: ${this.table}`
  }
}

/** A commit whose updates cannot apply to the table (not a conflict: retrying cannot help). */
export class InvalidCommit extends Schema.TaggedError<InvalidCommit>()("InvalidCommit", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

export interface PropertiesUpdate {
  readonly updated: ReadonlyArray<string>
  readonly removed: ReadonlyArray<string>
  readonly missing: ReadonlyArray<string>
}

export class ServedCatalog extends Context.Service<ServedCatalog, {
  /** Whether this process serves its catalog (false with an external REST catalog). */
  readonly available: boolean
  /** What a reader needs to reach the files (`s3.endpoint`, `s3.region`, …), never secrets. */
  readonly readerConfig: { readonly [key: string]: string }
  /** The warehouse's root URI, ending in `/`: every table location lies below it. */
  readonly warehouseRoot: string
  /** The namespaces one level below `parent` (the top level for an empty parent). */
  listNamespaces(parent: Namespace): Effect.Effect<ReadonlyArray<Namespace>, NoSuchNamespace | InfrastructureError>
  /** Creates the namespace (and its parents); it must not exist. */
  createNamespace(
    namespace: Namespace,
    properties: { readonly [key: string]: string }
  ): Effect.Effect<void, NamespaceAlreadyExists | InfrastructureError>
  loadNamespace(namespace: Namespace): Effect.Effect<{ readonly [key: string]: string }, NoSuchNamespace | InfrastructureError>
  updateNamespaceProperties(
    namespace: Namespace,
    removals: ReadonlyArray<string>,
    updates: { readonly [key: string]: string }
  ): Effect.Effect<PropertiesUpdate, NoSuchNamespace | InfrastructureError>
  dropNamespace(namespace: Namespace): Effect.Effect<void, NoSuchNamespace | NamespaceNotEmpty | InfrastructureError>
  listTables(namespace: Namespace): Effect.Effect<ReadonlyArray<string>, NoSuchNamespace | InfrastructureError>
  loadTable(table: TableIdent): Effect.Effect<LoadedTable, NoSuchTable | InfrastructureError>
  createTable(
    table: TableIdent,
    request: CreateTableRequest
  ): Effect.Effect<LoadedTable, NoSuchNamespace | TableAlreadyExists | InvalidCommit | InfrastructureError>
  /** Checks the requirements and applies the updates atomically (the server writes the metadata file). */
  commitTable(
    table: TableIdent,
    requirements: ReadonlyArray<TableRequirement>,
    updates: ReadonlyArray<TableUpdate>
  ): Effect.Effect<LoadedTable, NoSuchTable | CommitConflict | InvalidCommit | CommitStateUnknown | InfrastructureError>
  /** Removes the table from the catalog; `purge` also deletes every file under its location. */
  dropTable(table: TableIdent, purge: boolean): Effect.Effect<void, NoSuchTable | InfrastructureError>
  renameTable(
    from: TableIdent,
    to: TableIdent
  ): Effect.Effect<void, NoSuchTable | NoSuchNamespace | TableAlreadyExists | InfrastructureError>
}>()("ingest/iceberg/ServedCatalog") {
  /** With an external REST catalog: engines are pointed at that catalog, not at this service. */
  static readonly unavailable = (reason: string) => {
    const no = () => Effect.die(new Error(reason))
    return Layer.succeed(
      ServedCatalog,
      ServedCatalog.of({
        available: false,
        readerConfig: {},
        warehouseRoot: "",
        listNamespaces: no,
        createNamespace: no,
        loadNamespace: no,
        updateNamespaceProperties: no,
        dropNamespace: no,
        listTables: no,
        loadTable: no,
        createTable: no,
        commitTable: no,
        dropTable: no,
        renameTable: no
      })
    )
  }
}
