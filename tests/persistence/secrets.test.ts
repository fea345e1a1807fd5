import { assert, describe, it, layer } from "@effect/vitest"
import { SourceRepo } from "@ingest/domain"
import { ConfigProvider, Effect, Exit, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { SqlRepositories } from "../../packages/adapters/src/sql/repositories.ts"
import {
  loadOrCreateKeyFile,
  makeSecretCipher,
  parseSecretKey,
  SecretCipher,
  secretCipherLayer
} from "../../packages/adapters/src/sql/secrets.ts"
import {
  freshSchemaPostgres,
  isReachable,
  makeSource,
  newTenant,
  secretPassword,
  tempDir,
  TestCipher,
  testDatabaseUrl,
  testKey
} from "./support.ts"

const otherKey = new Uint8Array(32).fill(9)

describe("SecretCipher (AES-256-GCM)", () => {
  it.effect("each write gets a fresh IV: same plaintext, different stored values, both decrypt", () =>
    Effect.gen(function*() {
      const cipher = makeSecretCipher(testKey)
      const plaintext = JSON.stringify({ password: secretPassword })
      const first = yield* cipher.encrypt(plaintext, "source:t:1")
      const second = yield* cipher.encrypt(plaintext, "source:t:1")
      assert.notStrictEqual(first, second)
      assert.match(first, /^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/)
      assert.notInclude(first, secretPassword)
      assert.strictEqual(yield* cipher.decrypt(first, "source:t:1"), plaintext)
      assert.strictEqual(yield* cipher.decrypt(second, "source:t:1"), plaintext)
    }))

  it.effect("a wrong key, other associated data or a tampered value fail with a clear error", () =>
    Effect.gen(function*() {
      const stored = yield* makeSecretCipher(testKey).encrypt("secret", "source:t:1")
      const wrongKey = yield* makeSecretCipher(otherKey).decrypt(stored, "source:t:1").pipe(Effect.flip)
      assert.strictEqual(wrongKey._tag, "SecretDecryptError")
      assert.include(wrongKey.message, "INGEST_SECRET_KEY")
      const cipher = makeSecretCipher(testKey)
      assert.strictEqual((yield* cipher.decrypt(stored, "source:t:2").pipe(Effect.flip))._tag, "SecretDecryptError")
      const [v, iv, tag, body] = stored.split(":")
      const flipped = Buffer.from(body!, "base64")
      flipped[0] = flipped[0]! ^ 1
      const tampered = [v, iv, tag, flipped.toString("base64")].join(":")
      assert.strictEqual((yield* cipher.decrypt(tampered, "source:t:1").pipe(Effect.flip))._tag, "SecretDecryptError")
      assert.include((yield* cipher.decrypt("plain text", "x").pipe(Effect.flip)).message, "unknown format")
    }))

  it.effect("keys must be base64 of exactly 32 bytes", () =>
    Effect.gen(function*() {
      const short = yield* parseSecretKey(Buffer.alloc(16).toString("base64"), "INGEST_SECRET_KEY").pipe(Effect.flip)
      assert.include(short.message, "decodes to 16 bytes; expected exactly 32")
      const garbage = yield* parseSecretKey("not a key!", "INGEST_SECRET_KEY").pipe(Effect.flip)
      assert.include(garbage.message, "not base64")
      const ok = yield* parseSecretKey(Buffer.from(testKey).toString("base64"), "INGEST_SECRET_KEY")
      assert.deepStrictEqual([...ok], [...testKey])
    }))

  it.effect("INGEST_SECRET_KEY configures the cipher; an invalid value stops startup with a clear error", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir("ingest-key-")
      const withEnv = (env: Record<string, string>) =>
        secretCipherLayer({ dataDir }).pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env))))
      const encoded = Buffer.from(testKey).toString("base64")
      const stored = yield* SecretCipher.use((c) => c.encrypt("hello")).pipe(
        Effect.provide(withEnv({ INGEST_SECRET_KEY: encoded }))
      )
      assert.strictEqual(yield* makeSecretCipher(testKey).decrypt(stored), "hello")
      // No key file was made when the key came from the environment.
      assert.deepStrictEqual(yield* Effect.promise(() => fs.readdir(dataDir)), [])

      const exit = yield* Effect.exit(Effect.provide(SecretCipher.useSync((c) => c), withEnv({ INGEST_SECRET_KEY: "c2hvcnQ=" })))
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "INGEST_SECRET_KEY decodes to 5 bytes")
    }))

  it.effect("without INGEST_SECRET_KEY a key file is made under the data dir (0600) and reused", () =>
    Effect.gen(function*() {
      const dataDir = path.join(yield* tempDir("ingest-key-"), "nested")
      const layerNoEnv = secretCipherLayer({ dataDir }).pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({}))))
      const stored = yield* SecretCipher.use((c) => c.encrypt("kept")).pipe(Effect.provide(layerNoEnv))
      const file = path.join(dataDir, "secret.key")
      const stat = yield* Effect.promise(() => fs.stat(file))
      assert.strictEqual(stat.mode & 0o777, 0o600)
      // A second start (new layer) reads the same key.
      const reread = yield* SecretCipher.use((c) => c.decrypt(stored)).pipe(Effect.provide(layerNoEnv))
      assert.strictEqual(reread, "kept")
      assert.deepStrictEqual([...(yield* loadOrCreateKeyFile(dataDir))].length, 32)

      yield* Effect.promise(() => fs.writeFile(file, "broken"))
      const broken = yield* loadOrCreateKeyFile(dataDir).pipe(Effect.flip)
      assert.include(broken.message, "secret.key")
    }))
})

const postgresUp = await isReachable(testDatabaseUrl)
if (!postgresUp) console.warn(`PostgreSQL not reachable at ${testDatabaseUrl}: skipping the stored-ciphertext check`)

describe.skipIf(!postgresUp)("connectionConfig at rest (PostgreSQL)", () => {
  layer(
    SqlRepositories.pipe(Layer.provideMerge(TestCipher), Layer.provideMerge(freshSchemaPostgres())),
    { timeout: "120 seconds", excludeTestServices: true }
  )((it) => {
    it.effect("the stored column holds ciphertext only, renewed on every write", () =>
      Effect.gen(function*() {
        const sources = yield* SourceRepo
        const sql = yield* SqlClient.SqlClient
        const tenant = newTenant()
        const source = makeSource(tenant)
        yield* sources.insert(source)
        const storedOf = Effect.map(
          sql<{ connection_config: string }>`SELECT connection_config FROM sources WHERE id = ${source.id}`,
          (rows) => rows[0]!.connection_config
        )
        const first = yield* storedOf
        assert.match(first, /^v1:/)
        assert.notInclude(first, secretPassword)
        assert.notInclude(first, "db.internal")
        yield* sources.update({ ...source, name: "renamed" })
        const second = yield* storedOf
        assert.notStrictEqual(second, first)
        assert.notInclude(second, secretPassword)
        assert.deepStrictEqual(Option.getOrThrow(yield* sources.find(tenant, source.id)).connectionConfig, source.connectionConfig)

        // A ciphertext copied into another row (here: another tenant's source) does not decrypt there.
        const other = makeSource(newTenant())
        yield* sources.insert(other)
        yield* sql`UPDATE sources SET connection_config = ${first} WHERE id = ${other.id}`
        const exit = yield* Effect.exit(sources.find(other.tenantId, other.id))
        assert.isTrue(Exit.isFailure(exit))
      }))
  })
})
