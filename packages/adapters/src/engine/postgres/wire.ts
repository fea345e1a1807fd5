import { PgAuth, PgProtocol } from "@effect/sql-pg"
import { Result } from "effect"
import { randomBytes } from "node:crypto"
import * as Net from "node:net"
import type { Duplex } from "node:stream"
import * as Tls from "node:tls"
import { tlsOptions } from "./client.ts"
import type { PostgresSourceConfig } from "./config.ts"

/**
 * A failure on the raw protocol connection used for COPY. `code` is the SQLSTATE or the Node
 * error code, as for the driver's errors, so both are described the same way.
 */
export class PgWireError extends Error {
  readonly code: string | undefined
  constructor(message: string, code?: string) {
    super(message)
    this.code = code
  }
}

const connectTimeoutMs = 10_000

type Message = PgProtocol.BackendMessage

/** Pulls parsed messages off a socket, one received chunk at a time (the socket's own backpressure). */
export class MessageReader {
  private readonly iterator: AsyncIterator<Uint8Array>
  private readonly parser = PgProtocol.makeParser()
  readonly socket: Duplex
  constructor(socket: Duplex) {
    this.socket = socket
    this.iterator = socket[Symbol.asyncIterator]()
  }
  async next(): Promise<ReadonlyArray<Message>> {
    return this.parser.push(await this.nextChunk())
  }

  /**
   * The next received bytes, unparsed (for COPY OUT, see CopyOutFramer). Only between messages:
   * the parser must hold nothing, which it does not once the server waits for a query.
   */
  async nextChunk(): Promise<Uint8Array> {
    const chunk = await this.iterator.next()
    if (chunk.done === true) throw new PgWireError("The server closed the connection", "ECONNRESET")
    return chunk.value
  }
  close(): void {
    this.socket.destroy()
  }
}

const connectSocket = (config: PostgresSourceConfig, onSocket: (socket: Net.Socket) => void): Promise<Net.Socket> =>
  new Promise((resolve, reject) => {
    const socket = Net.connect({ host: config.host, port: config.port, noDelay: true })
    onSocket(socket)
    const onError = (error: NodeJS.ErrnoException) => reject(new PgWireError(error.message, error.code))
    socket.once("error", onError)
    socket.once("connect", () => {
      socket.off("error", onError)
      resolve(socket)
    })
  })

const readOneByte = (socket: Net.Socket): Promise<number> =>
  new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      cleanup()
      if (chunk.length !== 1) reject(new PgWireError(`Received ${chunk.length} bytes in response to SSLRequest`))
      else resolve(chunk[0]!)
    }
    const onError = (error: NodeJS.ErrnoException) => {
      cleanup()
      reject(new PgWireError(error.message, error.code))
    }
    const onClose = () => {
      cleanup()
      reject(new PgWireError("The server closed the connection", "ECONNRESET"))
    }
    const cleanup = () => {
      socket.off("data", onData)
      socket.off("error", onError)
      socket.off("close", onClose)
    }
    socket.on("data", onData)
    socket.once("error", onError)
    socket.once("close", onClose)
  })

const startTls = (raw: Net.Socket, config: PostgresSourceConfig, options: Tls.ConnectionOptions): Promise<Duplex> =>
  new Promise((resolve, reject) => {
    const socket = Tls.connect({
      host: config.host,
      ...(Net.isIP(config.host) === 0 ? { servername: config.host } : {}),
      ...options,
      socket: raw
    })
    const onError = (error: NodeJS.ErrnoException) => reject(new PgWireError(`TLS: ${error.message}`, error.code))
    socket.once("error", onError)
    socket.once("secureConnect", () => {
      socket.off("error", onError)
      resolve(socket)
    })
  })

/** Opens a socket (TLS as the ssl mode says, falling back to plaintext for prefer/allow). */
const openTransport = async (config: PostgresSourceConfig, onSocket: (socket: Duplex) => void): Promise<Duplex> => {
  const options = tlsOptions(config)
  const raw = await connectSocket(config, onSocket)
  if (options === false) return raw
  raw.pause()
  raw.write(PgProtocol.encodeSslRequest())
  const answer = await readOneByte(raw)
  if (answer === 0x4e) {
    if (config.sslMode === "prefer" || config.sslMode === "allow") return raw
    raw.destroy()
    throw new PgWireError("PgConnection: Server refused TLS")
  }
  if (answer !== 0x53) {
    raw.destroy()
    throw new PgWireError("Unexpected answer to SSLRequest")
  }
  const secure = await startTls(raw, config, options)
  onSocket(secure)
  return secure
}

const errorFrom = (fields: PgProtocol.ErrorFields) => new PgWireError(fields.message ?? "Unknown PostgreSQL error", fields.code)

const expect = <A>(result: Result.Result<A, PgAuth.AuthError>, what: string): A => {
  if (Result.isFailure(result)) throw new PgWireError(`${what}: ${result.failure.message}`, "28000")
  return result.success
}

/** Authenticates (cleartext, MD5 or SCRAM-SHA-256) and waits until the server is ready for a query. */
const startup = async (reader: MessageReader, config: PostgresSourceConfig): Promise<void> => {
  const socket = reader.socket
  socket.write(PgProtocol.encodeStartupMessage({
    user: config.username,
    database: config.database,
    application_name: "ingest-local-engine",
    client_encoding: "UTF8"
  }))
  let scram: PgAuth.ScramState | undefined
  for (;;) {
    for (const message of await reader.next()) {
      switch (message._tag) {
        case "AuthenticationOk":
        case "NoticeResponse":
        case "ParameterStatus":
        case "BackendKeyData":
        case "NegotiateProtocolVersion":
          break
        case "AuthenticationCleartextPassword":
          socket.write(PgProtocol.encodePasswordMessage({ password: config.password }))
          break
        case "AuthenticationMD5Password":
          socket.write(PgProtocol.encodePasswordMessage({
            password: expect(PgAuth.md5Password({ user: config.username, password: config.password, salt: message.salt }), "MD5")
          }))
          break
        case "AuthenticationSASL": {
          if (!message.mechanisms.includes(PgAuth.SCRAM_SHA_256)) {
            throw new PgWireError(`Unsupported SASL mechanisms: ${message.mechanisms.join(", ")}`, "28000")
          }
          const init = expect(PgAuth.scramInit({ password: config.password, nonce: randomBytes(18).toString("base64") }), "SCRAM")
          scram = init.state
          socket.write(PgProtocol.encodeSASLInitialResponse({ mechanism: PgAuth.SCRAM_SHA_256, initialResponse: init.response }))
          break
        }
        case "AuthenticationSASLContinue": {
          if (scram?._tag !== "ScramFirst") throw new PgWireError("Unexpected SCRAM message")
          const next = expect(PgAuth.scramContinue(scram, message.data), "SCRAM")
          scram = next.state
          socket.write(PgProtocol.encodeSASLResponse({ data: next.response }))
          break
        }
        case "AuthenticationSASLFinal":
          if (scram?._tag !== "ScramFinal") throw new PgWireError("Unexpected SCRAM message")
          expect(PgAuth.scramFinish(scram, message.data), "SCRAM server verification")
          scram = undefined
          break
        case "AuthenticationUnsupported":
          throw new PgWireError(`Authentication method ${message.method} is not supported`, "28000")
        case "ErrorResponse":
          throw errorFrom(message.fields)
        case "ReadyForQuery":
          if (scram !== undefined) throw new PgWireError("The server did not complete SCRAM authentication", "28000")
          return
        default:
          throw new PgWireError(`Unexpected ${message._tag} during startup`)
      }
    }
  }
}

/**
 * A ready connection for one COPY; close it with `reader.close()`. Aborting the signal destroys
 * the socket at any point (connecting, authenticating or streaming), which ends the server's query.
 */
export const openWireSession = async (config: PostgresSourceConfig, signal: AbortSignal): Promise<MessageReader> => {
  let socket: Duplex | undefined
  const timer = setTimeout(() => {
    socket?.destroy(new PgWireError(`No answer from ${config.host}:${config.port} within 10 s`, "ETIMEDOUT"))
  }, connectTimeoutMs)
  signal.addEventListener("abort", () => socket?.destroy(new PgWireError("Cancelled")), { once: true })
  try {
    if (signal.aborted) throw new PgWireError("Cancelled")
    socket = await openTransport(config, (opened) => {
      socket = opened
    })
    const reader = new MessageReader(socket)
    try {
      await startup(reader, config)
    } catch (error) {
      reader.close()
      throw error
    }
    return reader
  } finally {
    clearTimeout(timer)
  }
}

/** A simple-protocol Query message. */
export const encodeQuery = (sql: string): Uint8Array => {
  const body = Buffer.from(`${sql}\0`, "utf8")
  const frame = Buffer.allocUnsafe(5 + body.length)
  frame[0] = 0x51 // 'Q'
  frame.writeInt32BE(body.length + 4, 1)
  body.copy(frame, 5)
  return frame
}

export const wireErrorFrom = errorFrom

const copyDataType = 0x64 // 'd'

/**
 * Frames the backend messages of a COPY OUT without an object per message: the payload bytes of
 * CopyData messages (one per row) go straight to `onCopyData` as ranges of the received chunk, in
 * order, a message possibly cut across chunks; every other message is parsed by the protocol
 * parser as usual.
 */
export class CopyOutFramer {
  private readonly parser = PgProtocol.makeParser()
  private readonly header = new Uint8Array(5)
  private headerFill = 0
  /** Bytes of the current message body still to come; -1 while reading a header. */
  private remaining = -1
  private copying = false
  private other: Uint8Array | undefined
  private otherFill = 0

  push(chunk: Uint8Array, onCopyData: (chunk: Uint8Array, start: number, end: number) => void): Array<Message> {
    const messages: Array<Message> = []
    const length = chunk.length
    let i = 0
    while (i < length) {
      if (this.remaining < 0) {
        // A header: type byte and length (which counts itself).
        if (this.headerFill === 0 && length - i >= 5) {
          this.header.set(chunk.subarray(i, i + 5))
          this.headerFill = 5
          i += 5
        } else {
          while (this.headerFill < 5 && i < length) this.header[this.headerFill++] = chunk[i++]!
          if (this.headerFill < 5) break
        }
        this.headerFill = 0
        const h = this.header
        const size = ((h[1]! << 24) | (h[2]! << 16) | (h[3]! << 8) | h[4]!) - 4
        if (size < 0 || size > 0x3fffffff) throw new PgWireError(`Invalid message length ${size + 4}`)
        this.copying = h[0] === copyDataType
        if (!this.copying) {
          this.other = new Uint8Array(5 + size)
          this.other.set(h)
          this.otherFill = 5
        }
        this.remaining = size
      }
      const take = Math.min(this.remaining, length - i)
      if (take > 0) {
        if (this.copying) onCopyData(chunk, i, i + take)
        else {
          this.other!.set(chunk.subarray(i, i + take), this.otherFill)
          this.otherFill += take
        }
        i += take
        this.remaining -= take
      }
      if (this.remaining === 0) {
        if (!this.copying) {
          for (const message of this.parser.push(this.other!)) messages.push(message)
          this.other = undefined
        }
        this.remaining = -1
      }
    }
    return messages
  }
}
