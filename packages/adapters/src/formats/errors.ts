/** How reading a file failed: the kinds UnreadableFile of @ingest/domain carries. */
export type ErrorKind = "unsupported" | "corrupt" | "too-large"

/**
 * A file that is not what it claims, corrupt, encrypted or over a limit. Every reader rejects with
 * this; the message is shown to the user as it is.
 */
export class FileReadError extends Error {
  readonly kind: ErrorKind
  constructor(kind: ErrorKind, message: string) {
    super(message)
    this.kind = kind
    this.name = "FileReadError"
  }
}

/** Every failure as a kind and a message a user can act on. */
export const describeError = (error: unknown): { kind: ErrorKind; message: string } => {
  if (error instanceof FileReadError) return { kind: error.kind, message: error.message }
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return { kind: "corrupt", message: "the file is nested too deeply to be read" }
  }
  const message = error instanceof Error ? error.message : String(error)
  return { kind: "corrupt", message: `the file could not be read: ${message}` }
}
