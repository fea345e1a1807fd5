import * as Net from "node:net"

/**
 * A PostgreSQL server that knows one thing: rejecting a password. The machine's database trusts
 * every local login, so a wrong password can only be exercised against this. It refuses TLS,
 * asks for a cleartext password and answers with the error a real server sends (28P01).
 */
export const startPasswordRejectingServer = async (): Promise<{ port: number; close: () => Promise<void> }> => {
  const server = Net.createServer((socket) => {
    let buffer = Buffer.alloc(0)
    let started = false
    let user = "unknown"
    socket.on("error", () => socket.destroy())
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk])
      for (;;) {
        if (!started) {
          if (buffer.length < 8) return
          const length = buffer.readInt32BE(0)
          if (buffer.length < length) return
          const code = buffer.readInt32BE(4)
          const body = buffer.subarray(8, length)
          buffer = buffer.subarray(length)
          if (code === 80877103 || code === 80877104) {
            socket.write("N") // no TLS, no GSS encryption
            continue
          }
          const parts = body.toString("utf8").split("\0")
          const userIndex = parts.indexOf("user")
          if (userIndex >= 0) user = parts[userIndex + 1] ?? user
          started = true
          const ask = Buffer.alloc(9)
          ask.write("R", 0)
          ask.writeInt32BE(8, 1)
          ask.writeInt32BE(3, 5) // AuthenticationCleartextPassword
          socket.write(ask)
          continue
        }
        if (buffer.length < 5) return
        const length = buffer.readInt32BE(1)
        if (buffer.length < length + 1) return
        buffer = buffer.subarray(length + 1)
        const fields = Buffer.from(
          `SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "${user}"\0\0`,
          "utf8"
        )
        const header = Buffer.alloc(5)
        header.write("E", 0)
        header.writeInt32BE(fields.length + 4, 1)
        socket.end(Buffer.concat([header, fields]))
        return
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("no port")
  return {
    port: address.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
