import { Config, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"

// Connector secrets are encrypted at rest with AES-256-GCM. A stored value is
// `v1:<iv base64>:<auth tag base64>:<ciphertext base64>`; the version prefix leaves room for a
// future key rotation scheme. Optional associated data binds a ciphertext to its row, so a value
// copied into another row (or another tenant's row) does not decrypt.

const keyBytes = 32
const ivBytes = 12
const tagBytes = 16
const version = "v1"
/** Upper bound of an accepted stored value; connector configurations are small documents. */
const maxStoredLength = 4 * 1024 * 1024

/** The key is missing or malformed: the process cannot start. */
export class SecretKeyError extends Schema.TaggedError<SecretKeyError>()("SecretKeyError", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/** A stored secret cannot be decrypted (wrong key, tampered or truncated value). */
export class SecretDecryptError extends Schema.TaggedError<SecretDecryptError>()("SecretDecryptError", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

export class SecretCipher extends Context.Service<SecretCipher, {
  encrypt(plaintext: string, associatedData?: string): Effect.Effect<string>
  decrypt(stored: string, associatedData?: string): Effect.Effect<string, SecretDecryptError>
}>()("ingest/SecretCipher") {}

const base64Pattern = /^[A-Za-z0-9+/_-]+={0,2}$/

/** Parses a base64 (standard or URL-safe) key and checks that it is exactly 32 bytes. */
export const parseSecretKey = (encoded: string, origin: string): Effect.Effect<Uint8Array, SecretKeyError> => {
  const text = encoded.trim()
  if (!base64Pattern.test(text)) {
    return Effect.fail(new SecretKeyError({
      reason: `${origin} is not base64; expected the base64 encoding of ${keyBytes} random bytes (e.g. \`openssl rand -base64 32\`)`
    }))
  }
  const key = Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64")
  if (key.length !== keyBytes) {
    return Effect.fail(new SecretKeyError({
      reason: `${origin} decodes to ${key.length} bytes; expected exactly ${keyBytes} (e.g. \`openssl rand -base64 32\`)`
    }))
  }
  return Effect.succeed(new Uint8Array(key))
}

const decryptFailure = (reason: string) =>
  new SecretDecryptError({
    reason: `Cannot decrypt a stored secret: ${reason} (was INGEST_SECRET_KEY or the data dir's secret.key changed?)`
  })

/** A cipher over a raw 32-byte key. */
export const makeSecretCipher = (key: Uint8Array): SecretCipher["Service"] => {
  if (key.length !== keyBytes) throw new Error(`secret key must be ${keyBytes} bytes, got ${key.length}`)
  const secret = Buffer.from(key)
  return SecretCipher.of({
    encrypt: (plaintext, associatedData) =>
      Effect.sync(() => {
        const iv = randomBytes(ivBytes)
        const cipher = createCipheriv("aes-256-gcm", secret, iv)
        if (associatedData !== undefined) cipher.setAAD(Buffer.from(associatedData, "utf8"))
        const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()])
        const tag = cipher.getAuthTag()
        return `${version}:${iv.toString("base64")}:${tag.toString("base64")}:${ciphertext.toString("base64")}`
      }),
    decrypt: (stored, associatedData) =>
      Effect.suspend(() => {
        if (stored.length > maxStoredLength) return Effect.fail(decryptFailure("value too large"))
        const parts = stored.split(":")
        if (parts.length !== 4 || parts[0] !== version) {
          return Effect.fail(decryptFailure(`unknown format (expected ${version}:<iv>:<tag>:<ciphertext>)`))
        }
        const iv = Buffer.from(parts[1]!, "base64")
        const tag = Buffer.from(parts[2]!, "base64")
        const ciphertext = Buffer.from(parts[3]!, "base64")
        if (iv.length !== ivBytes || tag.length !== tagBytes) return Effect.fail(decryptFailure("malformed value"))
        try {
          const decipher = createDecipheriv("aes-256-gcm", secret, iv)
          decipher.setAuthTag(tag)
          if (associatedData !== undefined) decipher.setAAD(Buffer.from(associatedData, "utf8"))
          const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()])
          return Effect.succeed(plaintext.toString("utf8"))
        } catch {
          // GCM authentication failed: wrong key, wrong associated data or a tampered value.
          return Effect.fail(decryptFailure("authentication failed"))
        }
      })
  })
}

/** A cipher over a fixed key (tests, or a key obtained elsewhere). */
export const secretCipherFromKey = (key: Uint8Array): Layer.Layer<SecretCipher> =>
  Layer.succeed(SecretCipher, makeSecretCipher(key))

const keyFileName = "secret.key"

const isErrno = (error: unknown, code: string): boolean =>
  typeof error === "object" && error !== null && (error as { code?: unknown }).code === code

/**
 * Reads `<dataDir>/secret.key`, creating it (mode 0600, 32 random bytes as base64) on first
 * start. Creation uses an exclusive open, so two processes starting together agree on one key.
 */
export const loadOrCreateKeyFile = (dataDir: string): Effect.Effect<Uint8Array, SecretKeyError> => {
  const file = path.join(dataDir, keyFileName)
  const read = Effect.tryPromise({
    try: () => fs.readFile(file, "utf8"),
    catch: (error) => new SecretKeyError({ reason: `Cannot read the secret key file ${file}: ${String(error)}` })
  }).pipe(Effect.flatMap((text) => parseSecretKey(text, `The secret key file ${file}`)))
  const create = Effect.tryPromise({
    try: async () => {
      await fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
      const key = randomBytes(keyBytes)
      await fs.writeFile(file, `${key.toString("base64")}\n`, { flag: "wx", mode: 0o600 })
      return new Uint8Array(key)
    },
    catch: (error) => error
  })
  return create.pipe(
    Effect.catch((error) =>
      isErrno(error, "EEXIST")
        ? read
        : Effect.fail(new SecretKeyError({ reason: `Cannot create the secret key file ${file}: ${String(error)}` }))
    )
  )
}

/**
 * The cipher of the service: the key comes from `INGEST_SECRET_KEY` (base64 of 32 bytes) or,
 * when that is unset, from `<dataDir>/secret.key` (made on first start, reused afterwards).
 * A malformed key stops startup with a message that says what to fix.
 */
export const secretCipherLayer = (options: { readonly dataDir: string }): Layer.Layer<SecretCipher, SecretKeyError | Config.ConfigError> =>
  Layer.effect(
    SecretCipher,
    Effect.gen(function*() {
      const configured = yield* Config.Redacted("INGEST_SECRET_KEY").pipe(Config.option)
      const key = Option.isSome(configured)
        ? yield* parseSecretKey(Redacted.value(configured.value), "INGEST_SECRET_KEY")
        : yield* loadOrCreateKeyFile(options.dataDir)
      return makeSecretCipher(key)
    })
  )
