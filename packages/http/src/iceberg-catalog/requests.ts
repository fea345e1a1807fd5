import { Schema } from "effect"

// Request bodies of the Iceberg REST catalog protocol (rest-catalog-open-api.yaml), as parsed by
// the lossless Iceberg JSON reader: 63-bit fields (snapshot ids, sequence numbers, timestamps)
// arrive as bigint, every other number as a number.

const Long = Schema.Union([Schema.BigInt, Schema.Int])
const Name = Schema.String.pipe(Schema.check(Schema.isMinLength(1), Schema.isMaxLength(255)))
const Level = Schema.String.pipe(Schema.check(Schema.isMinLength(1), Schema.isMaxLength(128)))
export const NamespaceLevels = Schema.Array(Level).pipe(Schema.check(Schema.isMinLength(1), Schema.isMaxLength(16)))
const Properties = Schema.Record(Schema.String.pipe(Schema.check(Schema.isMaxLength(255))), Schema.String.pipe(Schema.check(Schema.isMaxLength(1000))))

const Field = Schema.Struct({
  id: Schema.Int,
  name: Schema.String.pipe(Schema.check(Schema.isMinLength(1), Schema.isMaxLength(1024))),
  required: Schema.Boolean,
  /** A primitive type string or a nested type (struct, list, map), kept as sent. */
  type: Schema.Union([
    Schema.String,
    Schema.StructWithRest(Schema.Struct({ type: Schema.String }), [Schema.Record(Schema.String, Schema.Unknown)])
  ]),
  doc: Schema.optionalKey(Schema.String)
})

export const IcebergSchemaBody = Schema.Struct({
  type: Schema.Literal("struct"),
  "schema-id": Schema.optionalKey(Schema.Int),
  "identifier-field-ids": Schema.optionalKey(Schema.Array(Schema.Int)),
  fields: Schema.Array(Field).pipe(Schema.check(Schema.isMaxLength(10_000)))
})

export const PartitionSpecBody = Schema.Struct({
  "spec-id": Schema.optionalKey(Schema.Int),
  fields: Schema.Array(Schema.Struct({
    "source-id": Schema.Int,
    "field-id": Schema.optionalKey(Schema.Int),
    name: Schema.String,
    transform: Schema.String
  }))
})

export const SortOrderBody = Schema.Struct({
  "order-id": Schema.Int,
  fields: Schema.Array(Schema.Struct({
    "source-id": Schema.Int,
    transform: Schema.String,
    direction: Schema.Literals(["asc", "desc"]),
    "null-order": Schema.Literals(["nulls-first", "nulls-last"])
  }))
})

export const CreateNamespaceBody = Schema.Struct({
  namespace: NamespaceLevels,
  properties: Schema.optionalKey(Properties)
})

export const UpdateNamespacePropertiesBody = Schema.Struct({
  removals: Schema.optionalKey(Schema.Array(Schema.String)),
  updates: Schema.optionalKey(Properties)
})

export const CreateTableBody = Schema.Struct({
  name: Name,
  location: Schema.optionalKey(Schema.String.pipe(Schema.check(Schema.isMaxLength(900)))),
  schema: IcebergSchemaBody,
  "partition-spec": Schema.optionalKey(PartitionSpecBody),
  "write-order": Schema.optionalKey(SortOrderBody),
  "stage-create": Schema.optionalKey(Schema.Boolean),
  properties: Schema.optionalKey(Properties)
})

const TableIdentifierBody = Schema.Struct({ namespace: Schema.Array(Level), name: Name })

export const RenameTableBody = Schema.Struct({ source: TableIdentifierBody, destination: TableIdentifierBody })

const Snapshot = Schema.Struct({
  "snapshot-id": Long,
  "parent-snapshot-id": Schema.optionalKey(Schema.NullOr(Long)),
  "sequence-number": Schema.optionalKey(Long),
  "timestamp-ms": Long,
  "manifest-list": Schema.String.pipe(Schema.check(Schema.isMinLength(1), Schema.isMaxLength(2000))),
  summary: Schema.StructWithRest(
    Schema.Struct({ operation: Schema.Literals(["append", "replace", "overwrite", "delete"]) }),
    [Schema.Record(Schema.String, Schema.String)]
  ),
  "schema-id": Schema.optionalKey(Schema.Int)
})

export const TableRequirementBody = Schema.Union([
  Schema.Struct({ type: Schema.Literal("assert-create") }),
  Schema.Struct({ type: Schema.Literal("assert-table-uuid"), uuid: Schema.String }),
  Schema.Struct({ type: Schema.Literal("assert-ref-snapshot-id"), ref: Name, "snapshot-id": Schema.NullOr(Long) }),
  Schema.Struct({ type: Schema.Literal("assert-last-assigned-field-id"), "last-assigned-field-id": Schema.Int }),
  Schema.Struct({ type: Schema.Literal("assert-current-schema-id"), "current-schema-id": Schema.Int }),
  Schema.Struct({ type: Schema.Literal("assert-last-assigned-partition-id"), "last-assigned-partition-id": Schema.Int }),
  Schema.Struct({ type: Schema.Literal("assert-default-spec-id"), "default-spec-id": Schema.Int }),
  Schema.Struct({ type: Schema.Literal("assert-default-sort-order-id"), "default-sort-order-id": Schema.Int })
])

export const requirementTypes = [
  "assert-create",
  "assert-table-uuid",
  "assert-ref-snapshot-id",
  "assert-last-assigned-field-id",
  "assert-current-schema-id",
  "assert-last-assigned-partition-id",
  "assert-default-spec-id",
  "assert-default-sort-order-id"
] as const

export const TableUpdateBody = Schema.Union([
  Schema.Struct({ action: Schema.Literal("assign-uuid"), uuid: Schema.String }),
  Schema.Struct({ action: Schema.Literal("upgrade-format-version"), "format-version": Schema.Int }),
  Schema.Struct({ action: Schema.Literal("add-schema"), schema: IcebergSchemaBody, "last-column-id": Schema.optionalKey(Schema.Int) }),
  Schema.Struct({ action: Schema.Literal("set-current-schema"), "schema-id": Schema.Int }),
  Schema.Struct({ action: Schema.Literal("add-spec"), spec: PartitionSpecBody }),
  Schema.Struct({ action: Schema.Literal("set-default-spec"), "spec-id": Schema.Int }),
  Schema.Struct({ action: Schema.Literal("add-sort-order"), "sort-order": SortOrderBody }),
  Schema.Struct({ action: Schema.Literal("set-default-sort-order"), "sort-order-id": Schema.Int }),
  Schema.Struct({ action: Schema.Literal("add-snapshot"), snapshot: Snapshot }),
  Schema.Struct({
    action: Schema.Literal("set-snapshot-ref"),
    "ref-name": Name,
    type: Schema.Literals(["branch", "tag"]),
    "snapshot-id": Long,
    "max-ref-age-ms": Schema.optionalKey(Long),
    "max-snapshot-age-ms": Schema.optionalKey(Long),
    "min-snapshots-to-keep": Schema.optionalKey(Schema.Int)
  }),
  Schema.Struct({ action: Schema.Literal("remove-snapshot-ref"), "ref-name": Name }),
  Schema.Struct({ action: Schema.Literal("remove-snapshots"), "snapshot-ids": Schema.Array(Long) }),
  Schema.Struct({ action: Schema.Literal("set-properties"), updates: Properties }),
  Schema.Struct({ action: Schema.Literal("remove-properties"), removals: Schema.Array(Schema.String) }),
  Schema.Struct({ action: Schema.Literal("set-location"), location: Schema.String.pipe(Schema.check(Schema.isMaxLength(900))) })
])

export const updateActions = [
  "assign-uuid",
  "upgrade-format-version",
  "add-schema",
  "set-current-schema",
  "add-spec",
  "set-default-spec",
  "add-sort-order",
  "set-default-sort-order",
  "add-snapshot",
  "set-snapshot-ref",
  "remove-snapshot-ref",
  "remove-snapshots",
  "set-properties",
  "remove-properties",
  "set-location"
] as const

export const CommitTableBody = Schema.Struct({
  identifier: Schema.optionalKey(TableIdentifierBody),
  requirements: Schema.Array(Schema.Unknown).pipe(Schema.check(Schema.isMaxLength(1000))),
  updates: Schema.Array(Schema.Unknown).pipe(Schema.check(Schema.isMaxLength(10_000)))
})
