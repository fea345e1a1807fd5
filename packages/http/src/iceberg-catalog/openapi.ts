import { catalogBasePath } from "./paths.ts"

// The catalog endpoint's part of the service's OpenAPI document: the routes it serves under
// /api/v1/iceberg, named and shaped as in the Iceberg REST catalog specification (operation ids,
// bodies, IcebergErrorResponse), so that the API docs list them beside the rest of the API.

type Json = Record<string, unknown>

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const jsonBody = (schema: Json, description: string) => ({ description, content: { "application/json": { schema } } })
const error = (description: string) => jsonBody(ref("IcebergErrorResponse"), description)
const stringMap = { type: "object", additionalProperties: { type: "string" } }
const namespaceLevels = { type: "array", items: { type: "string" }, minItems: 1, description: "Namespace levels, e.g. [\"raw_data\"]" }
const tableIdentifier = {
  type: "object",
  required: ["namespace", "name"],
  properties: { namespace: namespaceLevels, name: { type: "string" } }
}

const schemas: Record<string, Json> = {
  IcebergErrorResponse: {
    type: "object",
    required: ["error"],
    properties: {
      error: {
        type: "object",
        required: ["message", "type", "code"],
        properties: {
          message: { type: "string" },
          type: { type: "string", description: "e.g. NoSuchTableException, CommitFailedException" },
          code: { type: "integer", minimum: 400, maximum: 600 }
        }
      }
    }
  },
  IcebergCatalogConfig: {
    type: "object",
    required: ["defaults", "overrides"],
    properties: {
      defaults: stringMap,
      overrides: { ...stringMap, description: "`prefix`: the tenant whose catalog the later paths address" },
      endpoints: { type: "array", items: { type: "string" } }
    }
  },
  IcebergNamespace: {
    type: "object",
    required: ["namespace"],
    properties: { namespace: namespaceLevels, properties: stringMap }
  },
  IcebergListNamespacesResponse: {
    type: "object",
    properties: { namespaces: { type: "array", items: namespaceLevels }, "next-page-token": { type: "string" } }
  },
  IcebergUpdateNamespacePropertiesRequest: {
    type: "object",
    properties: { removals: { type: "array", items: { type: "string" } }, updates: stringMap }
  },
  IcebergUpdateNamespacePropertiesResponse: {
    type: "object",
    required: ["updated", "removed"],
    properties: {
      updated: { type: "array", items: { type: "string" } },
      removed: { type: "array", items: { type: "string" } },
      missing: { type: "array", items: { type: "string" } }
    }
  },
  IcebergListTablesResponse: {
    type: "object",
    properties: { identifiers: { type: "array", items: tableIdentifier }, "next-page-token": { type: "string" } }
  },
  IcebergCreateTableRequest: {
    type: "object",
    required: ["name", "schema"],
    properties: {
      name: { type: "string" },
      location: { type: "string", description: "Must lie in the tenant's part of the warehouse" },
      schema: { type: "object", description: "An Iceberg schema (type: struct, fields with ids)" },
      "partition-spec": { type: "object" },
      "write-order": { type: "object" },
      "stage-create": { type: "boolean", description: "Not supported: true answers 400" },
      properties: stringMap
    }
  },
  IcebergLoadTableResult: {
    type: "object",
    required: ["metadata"],
    properties: {
      "metadata-location": { type: "string" },
      metadata: {
        type: "object",
        description: "Iceberg table metadata (format version 2). Snapshot ids and sequence numbers are exact 63-bit integers; " +
          "current-snapshot-id is absent for a table without snapshots."
      },
      config: { ...stringMap, description: "What a reader needs to reach the files (S3 endpoint, region, path style); never secrets" }
    }
  },
  IcebergCommitTableRequest: {
    type: "object",
    required: ["requirements", "updates"],
    properties: {
      requirements: {
        type: "array",
        items: { type: "object", required: ["type"], properties: { type: { type: "string" } } },
        description: "assert-create, assert-table-uuid, assert-ref-snapshot-id, assert-current-schema-id, " +
          "assert-last-assigned-field-id, assert-last-assigned-partition-id, assert-default-spec-id, assert-default-sort-order-id"
      },
      updates: {
        type: "array",
        items: { type: "object", required: ["action"], properties: { action: { type: "string" } } },
        description: "assign-uuid, upgrade-format-version, add-schema, set-current-schema, add-spec, set-default-spec, " +
          "add-sort-order, set-default-sort-order, add-snapshot, set-snapshot-ref, remove-snapshot-ref, remove-snapshots, " +
          "set-properties, remove-properties, set-location; any other action answers 400"
      }
    }
  },
  IcebergCommitTableResponse: {
    type: "object",
    required: ["metadata-location", "metadata"],
    properties: { "metadata-location": { type: "string" }, metadata: { type: "object" } }
  },
  IcebergRenameTableRequest: {
    type: "object",
    required: ["source", "destination"],
    properties: { source: tableIdentifier, destination: tableIdentifier }
  }
}

const prefix = { name: "prefix", in: "path", required: true, schema: { type: "string" }, description: "The tenant id (overrides.prefix of /v1/config)" }
const namespace = {
  name: "namespace",
  in: "path",
  required: true,
  schema: { type: "string" },
  description: "Namespace levels joined by the unit separator (%1F)"
}
const table = { name: "table", in: "path", required: true, schema: { type: "string" } }
const paging = [
  { name: "pageToken", in: "query", required: false, schema: { type: "string" } },
  { name: "pageSize", in: "query", required: false, schema: { type: "integer", minimum: 1 } }
]

const commonErrors = {
  "400": error("Bad request: the message names what is wrong"),
  "401": error("Missing, malformed or invalid bearer token"),
  "403": error("The token lacks the permission or the tenant"),
  "503": error("The catalog's storage is unavailable")
}

const operation = (
  operationId: string,
  summary: string,
  parameters: ReadonlyArray<Json>,
  responses: Record<string, Json>,
  requestBody?: Json
) => ({
  tags: ["Iceberg REST catalog"],
  operationId,
  summary,
  security: [{ bearer: [] }],
  parameters,
  ...(requestBody === undefined ? {} : { requestBody: { required: true, ...jsonBody(requestBody, "JSON body") } }),
  responses: { ...responses, ...commonErrors }
})

const noContent = (description: string) => ({ description })
const notFound = (what: string) => error(`No such ${what} for this tenant (NoSuchNamespaceException / NoSuchTableException)`)

const paths: Record<string, Json> = {
  "/v1/config": {
    get: operation("getConfig", "Catalog configuration; overrides.prefix names the tenant", [
      { name: "warehouse", in: "query", required: false, schema: { type: "string" }, description: "A tenant id the token grants" }
    ], { "200": jsonBody(ref("IcebergCatalogConfig"), "Configuration") })
  },
  "/v1/{prefix}/namespaces": {
    get: operation("listNamespaces", "List namespaces", [
      prefix,
      ...paging,
      { name: "parent", in: "query", required: false, schema: { type: "string" } }
    ], { "200": jsonBody(ref("IcebergListNamespacesResponse"), "Namespaces"), "404": notFound("parent namespace") }),
    post: operation(
      "createNamespace",
      "Create a namespace",
      [prefix],
      { "200": jsonBody(ref("IcebergNamespace"), "Created"), "409": error("Already exists") },
      ref("IcebergNamespace")
    )
  },
  "/v1/{prefix}/namespaces/{namespace}": {
    get: operation("loadNamespaceMetadata", "Load a namespace's properties", [prefix, namespace], {
      "200": jsonBody(ref("IcebergNamespace"), "Namespace"),
      "404": notFound("namespace")
    }),
    head: operation("namespaceExists", "Whether a namespace exists", [prefix, namespace], {
      "204": noContent("Exists"),
      "404": noContent("Does not exist")
    }),
    delete: operation("dropNamespace", "Drop an empty namespace", [prefix, namespace], {
      "204": noContent("Dropped"),
      "404": notFound("namespace"),
      "409": error("Not empty (NamespaceNotEmptyException)")
    })
  },
  "/v1/{prefix}/namespaces/{namespace}/properties": {
    post: operation("updateProperties", "Set and remove namespace properties", [prefix, namespace], {
      "200": jsonBody(ref("IcebergUpdateNamespacePropertiesResponse"), "What changed"),
      "404": notFound("namespace"),
      "422": error("A key both removed and updated")
    }, ref("IcebergUpdateNamespacePropertiesRequest"))
  },
  "/v1/{prefix}/namespaces/{namespace}/tables": {
    get: operation("listTables", "List tables", [prefix, namespace, ...paging], {
      "200": jsonBody(ref("IcebergListTablesResponse"), "Tables"),
      "404": notFound("namespace")
    }),
    post: operation("createTable", "Create a table", [prefix, namespace], {
      "200": jsonBody(ref("IcebergLoadTableResult"), "Created"),
      "404": notFound("namespace"),
      "409": error("Already exists")
    }, ref("IcebergCreateTableRequest"))
  },
  "/v1/{prefix}/namespaces/{namespace}/tables/{table}": {
    get: operation("loadTable", "Load a table's metadata", [prefix, namespace, table], {
      "200": jsonBody(ref("IcebergLoadTableResult"), "Table"),
      "404": notFound("table")
    }),
    head: operation("tableExists", "Whether a table exists", [prefix, namespace, table], {
      "204": noContent("Exists"),
      "404": noContent("Does not exist")
    }),
    post: operation("updateTable", "Commit changes to a table atomically", [prefix, namespace, table], {
      "200": jsonBody(ref("IcebergCommitTableResponse"), "Committed"),
      "404": notFound("table"),
      "409": error("A requirement failed; nothing changed (CommitFailedException)")
    }, ref("IcebergCommitTableRequest")),
    delete: operation("dropTable", "Drop a table (files deleted only with purgeRequested=true)", [
      prefix,
      namespace,
      table,
      { name: "purgeRequested", in: "query", required: false, schema: { type: "boolean" } }
    ], { "204": noContent("Dropped"), "404": notFound("table") })
  },
  "/v1/{prefix}/tables/rename": {
    post: operation("renameTable", "Rename a table within the tenant", [prefix], {
      "204": noContent("Renamed"),
      "404": notFound("table"),
      "409": error("The destination exists")
    }, ref("IcebergRenameTableRequest"))
  }
}

/** Adds the catalog endpoint's routes to a generated OpenAPI document. */
export const withIcebergCatalogPaths = (spec: Record<string, any>): Record<string, any> => ({
  ...spec,
  tags: [
    ...(spec["tags"] ?? []),
    {
      name: "Iceberg REST catalog",
      description: "The tenant's tables over the Apache Iceberg REST catalog protocol, for engines (DuckDB, Spark, Trino, PyIceberg). " +
        "Errors are IcebergErrorResponse bodies. Routes also answer without the {prefix} segment, the tenant then coming from the token.",
      externalDocs: {
        description: "Apache Iceberg REST catalog specification",
        url: "https://github.com/apache/iceberg/blob/main/open-api/rest-catalog-open-api.yaml"
      }
    }
  ],
  paths: {
    ...spec["paths"],
    ...Object.fromEntries(Object.entries(paths).map(([path, item]) => [`${catalogBasePath}${path}`, item]))
  },
  components: {
    ...spec["components"],
    schemas: { ...spec["components"]?.["schemas"], ...schemas }
  }
})
