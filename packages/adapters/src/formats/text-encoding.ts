import { isUtf8 } from "node:buffer"
import { open } from "node:fs/promises"
import { FileReadError } from "./errors.ts"

/**
 * Text encodings of uploaded text files. Detection: a BOM decides (UTF-8, UTF-16 LE/BE); else
 * UTF-16 without BOM when every other byte of the head is NUL; else UTF-8 when the head is valid
 * UTF-8; else Shift_JIS when the head decodes as Shift_JIS into mostly Japanese characters; else
 * windows-1252 (the superset of latin-1 that spreadsheets export). A file that turns out not to be
 * valid UTF-8 after a valid head fails with InvalidText; CSV then re-reads it as windows-1252.
 */
export const textEncodings = ["utf-8", "utf-16le", "utf-16be", "windows-1252", "shift_jis"] as const
export type TextEncoding = (typeof textEncodings)[number]

export const HEAD_BYTES = 1 << 20
const READ_CHUNK = 1 << 20

export class InvalidText extends FileReadError {
  constructor(encoding: TextEncoding, byteOffset: number) {
    super("corrupt", `the file is not valid ${encoding} text (near byte ${byteOffset})`)
  }
}

/** Reads up to `HEAD_BYTES` from the start of the file. */
export const readHead = async (path: string, bytes = HEAD_BYTES): Promise<{ head: Buffer; size: number }> => {
  const handle = await open(path, "r")
  try {
    const { size } = await handle.stat()
    const head = Buffer.alloc(Math.min(bytes, size))
    let filled = 0
    while (filled < head.length) {
      const { bytesRead } = await handle.read(head, filled, head.length - filled, filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    return { head: head.subarray(0, filled), size }
  } finally {
    await handle.close()
  }
}

/** Cuts a multi-byte UTF-8 sequence that the end of a head sample split. */
const completeUtf8Prefix = (head: Uint8Array): Uint8Array => {
  const n = head.length
  for (let k = 1; k <= Math.min(3, n); k++) {
    const b = head[n - k]!
    if ((b & 0xc0) === 0x80) continue
    if (b >= 0xc0) {
      const needed = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2
      return k < needed ? head.subarray(0, n - k) : head
    }
    return head
  }
  return head
}

const looksJapanese = (head: Uint8Array): boolean => {
  let text: string
  try {
    text = new TextDecoder("shift_jis", { fatal: true }).decode(head, { stream: true })
  } catch {
    return false
  }
  let nonAscii = 0
  let japanese = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) continue
    nonAscii++
    if ((c >= 0x3000 && c <= 0x30ff) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xff01 && c <= 0xff5e)) japanese++
  }
  return nonAscii > 0 && japanese / nonAscii >= 0.8
}

const utf16WithoutBom = (head: Uint8Array): TextEncoding | undefined => {
  const n = Math.min(head.length, 4096) & ~1
  if (n < 4) return undefined
  let evenNul = 0
  let oddNul = 0
  for (let i = 0; i < n; i += 2) {
    if (head[i] === 0) evenNul++
    if (head[i + 1] === 0) oddNul++
  }
  const pairs = n / 2
  if (oddNul / pairs > 0.4 && evenNul / pairs < 0.05) return "utf-16le"
  if (evenNul / pairs > 0.4 && oddNul / pairs < 0.05) return "utf-16be"
  return undefined
}

export interface EncodingGuess {
  readonly encoding: TextEncoding
  /** False when a BOM decided: the encoding is then certain. */
  readonly guessed: boolean
}

/** Whether `bytes` start with UTF-8's byte order mark (EF BB BF). */
export const startsWithUtf8Bom = (bytes: Uint8Array): boolean =>
  bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf

export const detectEncoding = (head: Uint8Array, wholeFile: boolean): EncodingGuess => {
  if (startsWithUtf8Bom(head)) return { encoding: "utf-8", guessed: false }
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { encoding: "utf-16le", guessed: false }
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return { encoding: "utf-16be", guessed: false }
  const utf16 = utf16WithoutBom(head)
  if (utf16 !== undefined) return { encoding: utf16, guessed: true }
  if (isUtf8(wholeFile ? head : completeUtf8Prefix(head))) return { encoding: "utf-8", guessed: true }
  if (looksJapanese(head)) return { encoding: "shift_jis", guessed: true }
  return { encoding: "windows-1252", guessed: true }
}

/** Decodes text for a head sample (BOM removed, a split trailing character dropped). */
export const decodeHead = (head: Uint8Array, encoding: TextEncoding): string => {
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(head, { stream: true })
  } catch {
    throw new InvalidText(encoding, 0)
  }
}

/**
 * Streams a file's text in chunks (about 1 MiB each), BOM removed. Fails with InvalidText when
 * the bytes are not valid in `encoding` (windows-1252 accepts every byte).
 */
export async function* readText(path: string, encoding: TextEncoding): AsyncGenerator<string> {
  for await (const chunk of readTextChunks(path, encoding)) yield chunk.text
}

/** Bytes at the end of `chunk` that start a UTF-8 sequence the chunk does not complete. */
const incompleteUtf8Tail = (chunk: Uint8Array): number => {
  for (let back = 1; back <= Math.min(3, chunk.length); back++) {
    const byte = chunk[chunk.length - back]!
    if ((byte & 0xc0) === 0x80) continue // continuation byte: look further back
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1
    return needed > back ? back : 0
  }
  return 0
}

/** Whether byte offsets of text can be told from the text alone (see `byteLengthOf`). */
export const hasByteOffsets = (encoding: TextEncoding): boolean => encoding === "utf-8" || encoding === "windows-1252"

/** Bytes `text` took in the file, for encodings with byte offsets (valid text, as decoded). */
export const byteLengthOf = (text: string, encoding: TextEncoding): number =>
  encoding === "utf-8" ? Buffer.byteLength(text, "utf8") : text.length

/**
 * A file's bytes `from..end-1` (to its end when `end` is undefined), read up to `chunkBytes` at a
 * time straight into the buffer `into(want)` gives for each read (`want` bytes of room). Yields
 * the bytes each read filled, valid until the next read.
 */
export async function* readRange(
  path: string,
  from: number,
  end: number | undefined,
  chunkBytes: number,
  into: (want: number) => Uint8Array
): AsyncGenerator<Uint8Array> {
  const handle = await open(path, "r")
  try {
    const stop = end ?? Number.MAX_SAFE_INTEGER
    for (let at = from; at < stop;) {
      const want = Math.min(chunkBytes, stop - at)
      const target = into(want)
      const { bytesRead } = await handle.read(target, 0, want, at)
      if (bytesRead === 0) return
      at += bytesRead
      yield target.subarray(0, bytesRead)
    }
  } finally {
    await handle.close()
  }
}

/**
 * readText with byte positions: each chunk of text with `end`, the offset of the first byte it
 * does not cover (meaningful for encodings with byte offsets). `range` reads bytes start..end-1
 * only; a range that starts after 0 has no BOM.
 */
export async function* readTextChunks(
  path: string,
  encoding: TextEncoding,
  range?: { readonly start: number; readonly end: number }
): AsyncGenerator<{ readonly text: string; readonly end: number }> {
  const start = range?.start ?? 0
  const decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: start > 0 })
  let offset = start
  // One buffer for every read: its bytes become text before the next read (a fresh buffer per
  // read is mapped, faulted in and unmapped again under the service's malloc settings).
  const buffer = Buffer.allocUnsafeSlow(READ_CHUNK)
  const utf8 = encoding === "utf-8"
  for await (const chunk of readRange(path, start, range?.end, READ_CHUNK, () => buffer)) {
    let text: string
    try {
      text = decoder.decode(chunk, { stream: true })
    } catch {
      throw new InvalidText(encoding, offset)
    }
    offset += chunk.length
    if (text.length > 0) yield { text, end: utf8 ? offset - incompleteUtf8Tail(chunk) : offset }
  }
  let rest: string
  try {
    rest = decoder.decode()
  } catch {
    throw new InvalidText(encoding, offset)
  }
  if (rest.length > 0) yield { text: rest, end: offset }
}
