// UTF-8 text packed as Arrow lays it out: one byte buffer, rows found through offsets.

/** Strings longer than this are encoded natively (measured: faster from about 20 characters). */
const nativeEncodeLength = 24

/** UTF-8 bytes + offsets, grown as needed. Lone surrogates become U+FFFD, as TextEncoder does. */
export class Utf8Builder {
  bytes: Uint8Array
  /** The same memory as `bytes`, for Node's native encoder. */
  private native: Buffer
  length = 0
  constructor(initial: number) {
    this.bytes = new Uint8Array(Math.max(1024, initial))
    this.native = Buffer.from(this.bytes.buffer, 0, this.bytes.length)
  }
  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return
    let capacity = this.bytes.length * 2
    while (this.length + extra > capacity) capacity *= 2
    const grown = new Uint8Array(capacity)
    grown.set(this.bytes.subarray(0, this.length))
    this.bytes = grown
    this.native = Buffer.from(grown.buffer, 0, grown.length)
  }
  /** Appends bytes as they are (BINARY values). */
  appendBytes(b: Uint8Array): void {
    this.reserve(b.length)
    this.bytes.set(b, this.length)
    this.length += b.length
  }
  /** Appends `b[start..end)`, valid UTF-8 (CSV fields). */
  appendRange(b: Uint8Array, start: number, end: number): void {
    const n = end - start
    this.reserve(n)
    const out = this.bytes
    let at = this.length
    // Short runs (most fields) are copied faster by hand than through a view and a native copy.
    if (n <= 32) for (let k = start; k < end; k++) out[at++] = b[k]!
    else out.set(b.subarray(start, end), at)
    this.length += n
  }
  // Short strings (most cells of tabular data) are encoded faster by hand than by any native
  // call, which has a fixed cost per call; longer ones go through Node's encoder.
  append(s: string): void {
    const n = s.length
    this.reserve(n * 3)
    if (n > nativeEncodeLength) {
      this.length += this.native.write(s, this.length, "utf8")
      return
    }
    const out = this.bytes
    let at = this.length
    for (let k = 0; k < n; k++) {
      let c = s.charCodeAt(k)
      if (c < 0x80) {
        out[at++] = c
      } else if (c < 0x800) {
        out[at++] = 0xc0 | (c >> 6)
        out[at++] = 0x80 | (c & 0x3f)
      } else if (c >= 0xd800 && c < 0xdc00 && k + 1 < n && (s.charCodeAt(k + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++k) - 0xdc00)
        out[at++] = 0xf0 | (c >> 18)
        out[at++] = 0x80 | ((c >> 12) & 0x3f)
        out[at++] = 0x80 | ((c >> 6) & 0x3f)
        out[at++] = 0x80 | (c & 0x3f)
      } else {
        if (c >= 0xd800 && c < 0xe000) c = 0xfffd
        out[at++] = 0xe0 | (c >> 12)
        out[at++] = 0x80 | ((c >> 6) & 0x3f)
        out[at++] = 0x80 | (c & 0x3f)
      }
    }
    this.length = at
  }
}

