import { parseIsoDuration, syncStatusOf } from "@ingest/adapters/airbyte/jobs"
import { columnsFromJsonSchema, mapJsonSchemaType } from "@ingest/adapters/airbyte/json-schema"
import { airbyteSyncMode, isCdcSource, splitStreamName, streamsFromCatalog } from "@ingest/adapters/airbyte/mapping"
import { jwtExpiry, tokenRefreshAt } from "@ingest/adapters/airbyte/token"
import { deriveConfigApiUrl } from "@ingest/adapters/airbyte/config"
import type { DiscoveredStream, Source } from "@ingest/domain"
import { describe, expect, it } from "vitest"

describe("JSON schema → column type", () => {
  it("maps plain JSON-schema types", () => {
    expect(mapJsonSchemaType({ type: "integer" })).toEqual({ type: "INTEGER", nullable: false })
    expect(mapJsonSchemaType({ type: "number" })).toEqual({ type: "DOUBLE", nullable: false })
    expect(mapJsonSchemaType({ type: "boolean" })).toEqual({ type: "BOOLEAN", nullable: false })
    expect(mapJsonSchemaType({ type: "string" })).toEqual({ type: "STRING", nullable: false })
    expect(mapJsonSchemaType({ type: "object", properties: {} })).toEqual({ type: "STRING", nullable: false })
    expect(mapJsonSchemaType({ type: "array", items: { type: "integer" } })).toEqual({ type: "STRING", nullable: false })
  })

  it("reads nullability from a type list", () => {
    expect(mapJsonSchemaType({ type: ["null", "integer"] })).toEqual({ type: "INTEGER", nullable: true })
    expect(mapJsonSchemaType({ type: ["string", "null"], format: "date" })).toEqual({ type: "DATE", nullable: true })
    // Two real types cannot be one column type.
    expect(mapJsonSchemaType({ type: ["string", "integer"] })).toEqual({ type: "STRING", nullable: false })
  })

  it("uses Airbyte's airbyte_type and format hints", () => {
    expect(mapJsonSchemaType({ type: "number", airbyte_type: "integer" }).type).toBe("INTEGER")
    expect(mapJsonSchemaType({ type: "number", airbyte_type: "big_number" }).type).toBe("DECIMAL")
    expect(mapJsonSchemaType({ type: "number", airbyte_type: "big_integer" })).toEqual({
      type: "DECIMAL",
      nullable: false,
      precision: 38,
      scale: 0
    })
    expect(mapJsonSchemaType({ type: "string", format: "date" }).type).toBe("DATE")
    expect(mapJsonSchemaType({ type: "string", format: "date-time", airbyte_type: "timestamp_with_timezone" }).type).toBe(
      "TIMESTAMP_TZ"
    )
    expect(mapJsonSchemaType({ type: "string", format: "date-time", airbyte_type: "timestamp_without_timezone" }).type)
      .toBe("TIMESTAMP")
    expect(mapJsonSchemaType({ type: "string", format: "date-time" }).type).toBe("TIMESTAMP_TZ")
    expect(mapJsonSchemaType({ type: "string", format: "time", airbyte_type: "time_without_timezone" }).type).toBe("STRING")
  })

  it("understands protocol v1 well-known type references and unions", () => {
    expect(mapJsonSchemaType({ $ref: "WellKnownTypes.json#/definitions/Integer" }).type).toBe("INTEGER")
    expect(mapJsonSchemaType({ $ref: "WellKnownTypes.json#/definitions/TimestampWithoutTimezone" }).type).toBe("TIMESTAMP")
    expect(mapJsonSchemaType({ $ref: "WellKnownTypes.json#/definitions/BinaryData" }).type).toBe("BINARY")
    expect(mapJsonSchemaType({ oneOf: [{ type: "null" }, { $ref: "WellKnownTypes.json#/definitions/Date" }] })).toEqual({
      type: "DATE",
      nullable: true
    })
    expect(mapJsonSchemaType({ anyOf: [{ type: "integer" }, { type: "string" }] }).type).toBe("STRING")
    expect(mapJsonSchemaType(undefined)).toEqual({ type: "STRING", nullable: true })
  })

  it("builds columns in declaration order with no samples", () => {
    const columns = columnsFromJsonSchema({
      type: "object",
      properties: {
        id: { type: "integer" },
        amount: { type: ["null", "number"] },
        created_at: { type: "string", format: "date-time", airbyte_type: "timestamp_with_timezone" }
      }
    })
    expect(columns).toEqual([
      { name: "id", type: "INTEGER", nullable: false, sampleValues: [] },
      { name: "amount", type: "DOUBLE", nullable: true, sampleValues: [] },
      { name: "created_at", type: "TIMESTAMP_TZ", nullable: false, sampleValues: [] }
    ])
    expect(columnsFromJsonSchema({ type: "object" })).toEqual([])
  })
})

const source = (connectorType: Source["connectorType"], connectionConfig: Record<string, unknown>) =>
  ({ connectorType, connectionConfig }) as unknown as Source

describe("catalog → discovered streams", () => {
  const catalog = {
    streams: [
      {
        stream: {
          name: "orders",
          namespace: "public",
          jsonSchema: { type: "object", properties: { id: { type: "integer" }, updated_at: { type: "string", format: "date" } } },
          supportedSyncModes: ["full_refresh", "incremental"],
          sourceDefinedPrimaryKey: [["id"]],
          defaultCursorField: ["updated_at"]
        },
        config: { syncMode: "full_refresh", destinationSyncMode: "overwrite" }
      },
      { stream: { name: "events", jsonSchema: {}, supportedSyncModes: ["full_refresh"] } }
    ]
  }

  it("names streams namespace.name and maps modes, key and cursor", () => {
    const [orders, events] = streamsFromCatalog(catalog, false)
    expect(orders).toEqual({
      name: "public.orders",
      columns: [
        { name: "id", type: "INTEGER", nullable: false, sampleValues: [] },
        { name: "updated_at", type: "DATE", nullable: false, sampleValues: [] }
      ],
      supportedSyncModes: ["FULL_REFRESH", "INCREMENTAL"],
      primaryKey: ["id"],
      defaultCursorField: "updated_at"
    })
    expect(events).toEqual({ name: "events", columns: [], supportedSyncModes: ["FULL_REFRESH"] })
  })

  it("offers CDC on incremental streams of a CDC source", () => {
    const [orders, events] = streamsFromCatalog(catalog, true)
    expect(orders!.supportedSyncModes).toEqual(["FULL_REFRESH", "INCREMENTAL", "CDC"])
    expect(events!.supportedSyncModes).toEqual(["FULL_REFRESH"])
  })

  it("detects CDC sources from their replication method", () => {
    expect(isCdcSource(source("postgres", { replication_method: { method: "CDC", replication_slot: "s", publication: "p" } })))
      .toBe(true)
    expect(isCdcSource(source("postgres", { replication_method: { method: "Standard" } }))).toBe(false)
    expect(isCdcSource(source("mysql", { replication_method: { method: "cdc" } }))).toBe(true)
    expect(isCdcSource(source("postgres", {}))).toBe(false)
    expect(isCdcSource(source("mongodb", {}))).toBe(true)
  })

  it("splits display names back into namespace and name", () => {
    expect(splitStreamName("public.orders")).toEqual({ namespace: "public", name: "orders" })
    expect(splitStreamName("orders")).toEqual({ name: "orders" })
    expect(splitStreamName("a.b.c")).toEqual({ namespace: "a", name: "b.c" })
  })
})

describe("sync modes", () => {
  const keyed: DiscoveredStream = { name: "t", columns: [], supportedSyncModes: ["FULL_REFRESH", "INCREMENTAL"], primaryKey: ["id"] }
  const keyless: DiscoveredStream = { name: "t", columns: [], supportedSyncModes: ["FULL_REFRESH", "INCREMENTAL"] }

  it("maps ours to Airbyte's", () => {
    expect(airbyteSyncMode("FULL_REFRESH", keyed, true)).toBe("full_refresh_overwrite")
    expect(airbyteSyncMode("INCREMENTAL", keyed, false)).toBe("incremental_append")
    expect(airbyteSyncMode("INCREMENTAL", keyed, true)).toBe("incremental_deduped_history")
    expect(airbyteSyncMode("INCREMENTAL", keyless, true)).toBe("incremental_append")
    expect(airbyteSyncMode("CDC", keyed, false)).toBe("incremental_deduped_history")
    expect(airbyteSyncMode("CDC", keyless, false)).toBe("incremental_append")
  })
})

describe("jobs", () => {
  it("maps Airbyte job statuses", () => {
    for (const status of ["pending", "queued", "running", "incomplete"]) expect(syncStatusOf(status)).toBe("RUNNING")
    expect(syncStatusOf("succeeded")).toBe("SUCCEEDED")
    expect(syncStatusOf("failed")).toBe("FAILED")
    expect(syncStatusOf("cancelled")).toBe("CANCELLED")
    expect(syncStatusOf("exploded")).toBeUndefined()
  })

  it("parses ISO-8601 durations", () => {
    expect(parseIsoDuration("PT3M30S")).toBe(210_000)
    expect(parseIsoDuration("PT8H6M12S")).toBe(29_172_000)
    expect(parseIsoDuration("P1DT1S")).toBe(86_401_000)
    expect(parseIsoDuration("PT0.5S")).toBe(500)
    expect(parseIsoDuration("P1W")).toBe(604_800_000)
    expect(parseIsoDuration("PT")).toBeNull()
    expect(parseIsoDuration("P")).toBeNull()
    expect(parseIsoDuration("3 minutes")).toBeNull()
  })
})

describe("access token renewal", () => {
  const jwt = (payload: object) =>
    `${Buffer.from('{"alg":"HS256"}').toString("base64url")}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.sig`

  it("reads exp from the JWT and renews 60 s before it, ignoring expires_in", () => {
    const now = 1_700_000_000_000
    const token = jwt({ exp: now / 1000 + 3600 })
    expect(jwtExpiry(token)).toBe(now / 1000 + 3600)
    expect(tokenRefreshAt(token, now, 60_000, 999_999)).toBe(now + 3_540_000)
  })

  it("renews short-lived tokens halfway through and opaque tokens within a minute", () => {
    const now = 1_700_000_000_000
    expect(tokenRefreshAt(jwt({ exp: now / 1000 + 10 }), now, 60_000)).toBe(now + 5_000)
    expect(tokenRefreshAt("opaque", now, 60_000, 3600)).toBe(now + 60_000)
    expect(tokenRefreshAt("opaque", now, 60_000, 20)).toBe(now + 10_000)
    expect(jwtExpiry("a.b")).toBeUndefined()
  })
})

describe("configuration", () => {
  it("derives the configuration API URL from the public one", () => {
    expect(deriveConfigApiUrl("http://airbyte:8000/api/public/v1")).toBe("http://airbyte:8000/api/v1")
    expect(deriveConfigApiUrl("https://airbyte.example.com/api/public/v1/")).toBe("https://airbyte.example.com/api/v1")
    expect(deriveConfigApiUrl("https://api.example.com/v1")).toBe("https://api.example.com/api/v1")
  })
})
