import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3"
import type { LocalSyncInput } from "@ingest/adapters/engine/index"
import { makeLocalEngine, makeMemorySyncStateStore, runLocalSync } from "@ingest/adapters/engine/index"
import type { Source } from "@ingest/domain"
import { Effect, Option } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startS3rver } from "../support/s3rver.ts"
import { csvReader } from "./support/csv-reader.ts"
import { makeConnection, makeSource, makeSync, tenantId } from "./support/fixtures.ts"
import { makeMemoryWriter } from "./support/memory-writer.ts"

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
const engine = makeLocalEngine({ formatReader: csvReader })
let s3: Awaited<ReturnType<typeof startS3rver>>
let source: Source

const put = (key: string, body: string) => s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }))

beforeAll(async () => {
  s3 = await startS3rver("engine-source")
  await put("exports/2024/orders-1.csv", "id,item\n1,apple\n2,pear\n")
  await put("exports/2024/orders-2.csv", "id,item\n3,plum\n")
  await put("exports/2024/readme.txt", "not data")
  await put("other/orders-9.csv", "id,item\n9,fig\n")
  source = makeSource("s3", {
    bucket: s3.bucket,
    prefix: "exports/",
    glob: "exports/**/*.csv",
    format: "csv",
    endpoint: s3.endpoint,
    access_key_id: "S3RVER",
    secret_access_key: "S3RVER",
    stream_name: "orders"
  })
})

afterAll(async () => {
  await s3?.stop()
})

describe("local engine: s3 sources", () => {
  it("checks by listing the bucket, and names a missing bucket", async () => {
    expect(await run(engine.check(source))).toEqual({ ok: true, message: `Listed bucket ${s3.bucket}` })
    const missing = makeSource("s3", { ...source.connectionConfig, bucket: "no-such-bucket" })
    expect(await run(engine.check(missing))).toEqual({ ok: false, message: "Bucket \"no-such-bucket\" does not exist" })
    expect(await run(engine.check(makeSource("s3", { prefix: "x" })))).toEqual({
      ok: false,
      message: "connectionConfig.bucket is required"
    })
  })

  it("discovers one stream typed from the first matching object", async () => {
    const streams = await run(engine.discover(source))
    expect(streams).toEqual([{
      name: "orders",
      columns: [
        { name: "id", type: "INTEGER", nullable: false, sampleValues: ["1", "2"] },
        { name: "item", type: "STRING", nullable: false, sampleValues: ["apple", "pear"] }
      ],
      supportedSyncModes: ["FULL_REFRESH", "INCREMENTAL"]
    }])
  })

  it("syncs every matching object, then only new objects incrementally", async () => {
    const streams = await run(engine.discover(source))
    const connection = makeConnection(source, "INCREMENTAL", null)
    const memory = makeMemoryWriter()
    const state = makeMemorySyncStateStore()
    const input = (): LocalSyncInput => ({
      sync: makeSync(connection),
      connection,
      source,
      streams,
      state,
      writer: memory.writer,
      namespace: ["t_test", "files"],
      onProgress: () => Effect.void,
      formatReader: csvReader
    })

    const first = await run(runLocalSync(input()))
    expect(first.recordsSynced).toBe(3)
    const table = memory.table(["t_test", "files"], "orders")!
    expect(table.columns.map((c) => [c.name, c.type])).toEqual([["id", "INTEGER"], ["item", "STRING"]])
    expect(table.rows).toEqual([[1, "apple"], [2, "pear"], [3, "plum"]])
    expect(table.commits[0]!.mode).toBe("overwrite")
    const stored = await run(state.get({ tenantId, connectionId: connection.id, stream: "orders" }))
    // The newest object is remembered (with any that share its modification second).
    expect(Option.getOrThrow(stored)).toMatchObject({ keys: expect.arrayContaining(["exports/2024/orders-2.csv"]) })

    // A new object (in the same second as the others, which S3 cannot tell apart) and one with
    // a column the stream does not have yet: it is null-filled or left out, never a failure.
    await put("exports/2024/orders-3.csv", "item,id,extra\nkiwi,4,x\n")
    const second = await run(runLocalSync(input()))
    expect(second.recordsSynced).toBe(1)
    expect(table.commits[1]!.mode).toBe("append")
    expect(table.rows).toEqual([[1, "apple"], [2, "pear"], [3, "plum"], [4, "kiwi"]])

    const third = await run(runLocalSync(input()))
    expect(third.recordsSynced).toBe(0)
    expect(table.rows).toHaveLength(4)
  })

  it("fails a sync with the object and the reason when a file does not fit the stream", async () => {
    const streams = await run(engine.discover(source))
    await put("exports/2024/orders-4.csv", "id,item\nnot-a-number,x\n")
    try {
      const connection = makeConnection(source, "FULL_REFRESH", null)
      const memory = makeMemoryWriter()
      const error = await run(Effect.flip(runLocalSync({
        sync: makeSync(connection),
        connection,
        source,
        streams,
        state: makeMemorySyncStateStore(),
        writer: memory.writer,
        namespace: ["t_test", "files"],
        onProgress: () => Effect.void,
        formatReader: csvReader
      })))
      expect(error.message).toContain("orders: exports/2024/orders-4.csv:")
      expect(error.message).toContain("\"not-a-number\" is not an integer")
      expect(memory.tables.size).toBe(0)
    } finally {
      await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: "exports/2024/orders-4.csv" }))
    }
  })
})
