import { FileReadError } from "../errors.ts"
import { detectEncoding, readHead, readText } from "../text-encoding.ts"
import type { ColumnarBatch, OpenRequest, TableSource, TextLimits } from "../types.ts"
import { JsonNumber, JsonText } from "../values/raw-cells.ts"

/**
 * JSON and JSON Lines reader. The file is a sequence of JSON values separated by whitespace:
 * - a top-level object is one row (so JSONL, several objects on one line, and a single-object
 *   file all read the same way; blank lines and CRLF are fine);
 * - a top-level array is streamed element by element, each element must be an object (a file
 *   may hold several arrays one after another);
 * - anything else at the top level (a number, a string, an array of numbers) is refused: it is
 *   not a table.
 * Keys become columns in first-seen order across all rows; a row missing a key has null there;
 * a key repeated within one object keeps its last value. Nested objects and arrays become one
 * value holding their compact JSON text; numbers keep their exact source text.
 * Input must be UTF-8 (a UTF-8 BOM is skipped) or UTF-16 with a BOM. Syntax errors, nesting
 * deeper than the limit (64) and records larger than the record limit fail with the line and
 * column where they occur.
 */

class JsonSyntaxError extends Error {
  readonly offset: number
  readonly reason: string
  constructor(offset: number, reason: string) {
    super(reason)
    this.offset = offset
    this.reason = reason
  }
}

const isWs = (c: number) => c === 32 || c === 10 || c === 13 || c === 9

const describeChar = (text: string, i: number): string =>
  i >= text.length ? "end of input" : `character ${JSON.stringify(text[i])}`

/**
 * Strict parser for one top-level object (a row). Values at the first level are kept as JS values
 * (string, boolean, null, JsonNumber); deeper values as JsonText (compact JSON).
 */
class RowParser {
  private t = ""
  private i = 0
  private readonly maxDepth: number

  constructor(maxDepth: number) {
    this.maxDepth = maxDepth
  }

  parse(text: string, baseDepth: number, onField: (key: string, value: unknown) => void): void {
    this.t = text
    this.i = 0
    this.expect(123)
    this.ws()
    if (this.peek() === 125) {
      this.i++
      return this.end()
    }
    for (;;) {
      this.ws()
      if (this.peek() !== 34) this.fail("expected a string key")
      const key = this.string()
      this.ws()
      this.expect(58)
      this.ws()
      onField(key, this.firstLevel(baseDepth + 1))
      this.ws()
      const c = this.peek()
      this.i++
      if (c === 44) continue
      if (c === 125) return this.end()
      this.i--
      this.fail(`expected "," or "}" but found ${describeChar(this.t, this.i)}`)
    }
  }

  private end(): void {
    this.ws()
    if (this.i !== this.t.length) this.fail(`unexpected ${describeChar(this.t, this.i)} after the object`)
  }

  private peek(): number {
    return this.i < this.t.length ? this.t.charCodeAt(this.i) : -1
  }

  private fail(reason: string): never {
    throw new JsonSyntaxError(this.i, reason)
  }

  private expect(code: number): void {
    if (this.peek() !== code) this.fail(`expected "${String.fromCharCode(code)}" but found ${describeChar(this.t, this.i)}`)
    this.i++
  }

  private ws(): void {
    const t = this.t
    while (this.i < t.length && isWs(t.charCodeAt(this.i))) this.i++
  }

  private firstLevel(depth: number): unknown {
    const c = this.peek()
    if (c === 34) return this.string()
    if (c === 123 || c === 91) return new JsonText(this.nested(depth))
    if (c === 45 || (c >= 48 && c <= 57)) return new JsonNumber(this.number())
    return this.literal()
  }

  private literal(): boolean | null {
    const t = this.t
    if (t.startsWith("true", this.i)) {
      this.i += 4
      return true
    }
    if (t.startsWith("false", this.i)) {
      this.i += 5
      return false
    }
    if (t.startsWith("null", this.i)) {
      this.i += 4
      return null
    }
    return this.fail(`unexpected ${describeChar(t, this.i)}`)
  }

  private number(): string {
    const t = this.t
    const start = this.i
    if (this.peek() === 45) this.i++
    const intStart = this.i
    while (this.i < t.length && t.charCodeAt(this.i) >= 48 && t.charCodeAt(this.i) <= 57) this.i++
    const intLen = this.i - intStart
    if (intLen === 0) this.fail("invalid number")
    if (intLen > 1 && t.charCodeAt(intStart) === 48) {
      this.i = intStart + 1
      this.fail("invalid number (leading zero)")
    }
    if (this.peek() === 46) {
      this.i++
      const fracStart = this.i
      while (this.i < t.length && t.charCodeAt(this.i) >= 48 && t.charCodeAt(this.i) <= 57) this.i++
      if (this.i === fracStart) this.fail("invalid number (no digits after the decimal point)")
    }
    const e = this.peek()
    if (e === 101 || e === 69) {
      this.i++
      if (this.peek() === 43 || this.peek() === 45) this.i++
      const expStart = this.i
      while (this.i < t.length && t.charCodeAt(this.i) >= 48 && t.charCodeAt(this.i) <= 57) this.i++
      if (this.i === expStart) this.fail("invalid number (no digits in the exponent)")
    }
    return t.slice(start, this.i)
  }

  /** Reads a string token and returns its value. */
  private string(): string {
    const t = this.t
    const start = ++this.i
    let i = start
    for (;;) {
      if (i >= t.length) {
        this.i = i
        this.fail("unterminated string")
      }
      const c = t.charCodeAt(i)
      if (c === 34) {
        this.i = i + 1
        return t.slice(start, i)
      }
      if (c === 92) break
      if (c < 32) {
        this.i = i
        this.fail("control character in string")
      }
      i++
    }
    let out = t.slice(start, i)
    for (;;) {
      if (i >= t.length) {
        this.i = i
        this.fail("unterminated string")
      }
      const c = t.charCodeAt(i)
      if (c === 34) {
        this.i = i + 1
        return out
      }
      if (c < 32) {
        this.i = i
        this.fail("control character in string")
      }
      if (c !== 92) {
        out += t[i]
        i++
        continue
      }
      const e = t.charCodeAt(i + 1)
      switch (e) {
        case 34: out += '"'; break
        case 92: out += "\\"; break
        case 47: out += "/"; break
        case 98: out += "\b"; break
        case 102: out += "\f"; break
        case 110: out += "\n"; break
        case 114: out += "\r"; break
        case 116: out += "\t"; break
        case 117: {
          const hex = t.slice(i + 2, i + 6)
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            this.i = i
            this.fail("invalid \\u escape")
          }
          out += String.fromCharCode(parseInt(hex, 16))
          i += 4
          break
        }
        default:
          this.i = i
          this.fail("invalid escape in string")
      }
      i += 2
    }
  }

  /** Validates a nested value and returns its compact JSON text. */
  private nested(depth: number): string {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`)
    const t = this.t
    const c = this.peek()
    if (c === 34) {
      const start = this.i
      this.string()
      return t.slice(start, this.i)
    }
    if (c === 45 || (c >= 48 && c <= 57)) return this.number()
    if (c === 123) {
      this.i++
      this.ws()
      if (this.peek() === 125) {
        this.i++
        return "{}"
      }
      const parts: Array<string> = []
      for (;;) {
        this.ws()
        if (this.peek() !== 34) this.fail("expected a string key")
        const keyStart = this.i
        this.string()
        const key = t.slice(keyStart, this.i)
        this.ws()
        this.expect(58)
        this.ws()
        parts.push(`${key}:${this.nested(depth + 1)}`)
        this.ws()
        const d = this.peek()
        this.i++
        if (d === 44) continue
        if (d === 125) return `{${parts.join(",")}}`
        this.i--
        this.fail(`expected "," or "}" but found ${describeChar(t, this.i)}`)
      }
    }
    if (c === 91) {
      this.i++
      this.ws()
      if (this.peek() === 93) {
        this.i++
        return "[]"
      }
      const parts: Array<string> = []
      for (;;) {
        this.ws()
        parts.push(this.nested(depth + 1))
        this.ws()
        const d = this.peek()
        this.i++
        if (d === 44) continue
        if (d === 93) return `[${parts.join(",")}]`
        this.i--
        this.fail(`expected "," or "]" but found ${describeChar(t, this.i)}`)
      }
    }
    const literal = this.literal()
    return literal === null ? "null" : String(literal)
  }
}

const MODE_TOP = 0
const MODE_ARRAY_FIRST = 1 // after "[": an element or "]"
const MODE_ARRAY_NEXT = 2 // after an element: "," or "]"
const MODE_ARRAY_ELEMENT = 3 // after ",": an element

/**
 * Splits the text stream into top-level rows without building values (a depth counter that
 * skips strings), then parses each row strictly. Tracks lines for error messages.
 */
class JsonRowScanner {
  private pending = ""
  private mode = MODE_TOP
  private line = 1
  private lineStart = 0 // offset (in the current buffer) where the current line starts
  private element = 0 // index of the next element of the current top-level array
  private readonly parser: RowParser
  private readonly limits: TextLimits
  private readonly onRow: (text: string, line: number, column: number, parser: RowParser) => void

  constructor(limits: TextLimits, onRow: (text: string, line: number, column: number, parser: RowParser) => void) {
    this.limits = limits
    this.onRow = onRow
    this.parser = new RowParser(limits.maxDepth)
  }

  private fail(offsetInBuffer: number, reason: string): never {
    const column = offsetInBuffer - this.lineStart + 1
    throw new FileReadError("corrupt", `invalid JSON at line ${this.line}, column ${column}: ${reason}`)
  }

  feed(chunk: string, last: boolean): void {
    const buf = this.pending + chunk
    this.pending = ""
    const n = buf.length
    let i = 0
    while (i < n) {
      const c = buf.charCodeAt(i)
      if (c === 10) {
        this.line++
        this.lineStart = i + 1
        i++
        continue
      }
      if (c === 32 || c === 13 || c === 9) {
        i++
        continue
      }
      switch (this.mode) {
        case MODE_TOP:
          if (c === 91) {
            this.mode = MODE_ARRAY_FIRST
            this.element = 0
            i++
            continue
          }
          if (c === 123) break
          this.fail(i, `a top-level value must be an object or an array of objects, found ${describeChar(buf, i)}`)
        // falls through (unreachable)
        case MODE_ARRAY_FIRST:
          if (c === 93) {
            this.mode = MODE_TOP
            i++
            continue
          }
        // falls through
        case MODE_ARRAY_ELEMENT:
          if (c === 123) break
          if (c === 93 || c === 44) this.fail(i, `unexpected ${describeChar(buf, i)} in the top-level array`)
          this.fail(i, `element ${this.element + 1} of the top-level array is not an object`)
        // falls through (unreachable)
        case MODE_ARRAY_NEXT:
          if (c === 44) {
            this.mode = MODE_ARRAY_ELEMENT
            i++
            continue
          }
          if (c === 93) {
            this.mode = MODE_TOP
            i++
            continue
          }
          this.fail(i, `expected "," or "]" after element ${this.element} of the top-level array, found ${describeChar(buf, i)}`)
      }
      // An object starts at i: find its end.
      const end = this.objectEnd(buf, i)
      if (end === -1) {
        if (last) this.fail(n, "unexpected end of input inside an object")
        const rest = n - i
        if (rest > this.limits.maxRecordChars) {
          throw new FileReadError("too-large", `a JSON record starting on line ${this.line} is larger than ${Math.round(this.limits.maxRecordChars / (1 << 20))} MiB`)
        }
        this.pending = buf.slice(i)
        this.lineStart = this.lineStart - i
        return
      }
      const text = buf.slice(i, end + 1)
      const column = i - this.lineStart + 1
      this.onRow(text, this.line, column, this.parser)
      let nl = text.indexOf("\n")
      while (nl !== -1) {
        this.line++
        this.lineStart = i + nl + 1
        nl = text.indexOf("\n", nl + 1)
      }
      if (this.mode !== MODE_TOP) {
        this.mode = MODE_ARRAY_NEXT
        this.element++
      }
      i = end + 1
    }
    this.lineStart -= n
    if (last && this.mode !== MODE_TOP) this.fail(n, "unexpected end of input inside the top-level array")
  }

  /** Index of the brace closing the object that starts at `start`, or -1 if the buffer ends first. */
  private objectEnd(buf: string, start: number): number {
    const n = buf.length
    const baseDepth = this.mode === MODE_TOP ? 0 : 1
    let depth = 0
    let i = start
    let nextNl = buf.indexOf("\n", start)
    while (i < n) {
      const c = buf.charCodeAt(i)
      if (c === 34) {
        // skip the string (a raw line break cannot be inside one)
        let q = i + 1
        for (;;) {
          q = buf.indexOf('"', q)
          if (q === -1) {
            const nl = buf.indexOf("\n", i)
            if (nl !== -1) this.failAt(buf, start, nl, "line break inside a string")
            return -1
          }
          let k = q - 1
          while (buf.charCodeAt(k) === 92) k--
          if ((q - 1 - k) % 2 === 0) break
          q++
        }
        if (nextNl !== -1 && nextNl < i) nextNl = buf.indexOf("\n", i)
        if (nextNl !== -1 && nextNl < q) this.failAt(buf, start, nextNl, "line break inside a string")
        i = q + 1
        continue
      }
      if (c === 123 || c === 91) {
        depth++
        if (depth + baseDepth > this.limits.maxDepth) {
          this.failAt(buf, start, i, `nesting deeper than ${this.limits.maxDepth} levels`)
        }
      } else if (c === 125 || c === 93) {
        depth--
        if (depth === 0) return i
      }
      i++
    }
    return -1
  }

  private failAt(buf: string, start: number, at: number, reason: string): never {
    let nl = buf.indexOf("\n", start)
    while (nl !== -1 && nl < at) {
      this.line++
      this.lineStart = nl + 1
      nl = buf.indexOf("\n", nl + 1)
    }
    this.fail(at, reason)
  }

  /** Converts an error inside a row to a file position. */
  rowError(text: string, line: number, column: number, error: JsonSyntaxError): never {
    let l = line
    let c = column
    for (let k = 0; k < error.offset && k < text.length; k++) {
      if (text.charCodeAt(k) === 10) {
        l++
        c = 1
      } else {
        c++
      }
    }
    throw new FileReadError("corrupt", `invalid JSON at line ${l}, column ${c}: ${error.reason}`)
  }
}

export const openJson = async (path: string, request: OpenRequest): Promise<TableSource> => {
  const { limits, batchRows } = request
  const { head, size } = await readHead(path, 4096)
  if (size === 0) throw new FileReadError("corrupt", "the file is empty")
  const guess = detectEncoding(head, head.length === size)
  const encoding = guess.encoding === "utf-16le" || guess.encoding === "utf-16be" ? guess.encoding : "utf-8"
  const labels: Array<string> = []
  const batches = async function*(): AsyncGenerator<ColumnarBatch> {
    const keyIndex = new Map<string, number>()
    let columns: Array<Array<unknown>> = []
    let rows = 0
    const ready: Array<ColumnarBatch> = []
    const flush = () => {
      for (const column of columns) column.length = rows
      ready.push({ length: rows, columns })
      columns = labels.map(() => [])
      rows = 0
    }
    const onField = (key: string, value: unknown) => {
      let index = keyIndex.get(key)
      if (index === undefined) {
        index = labels.length
        keyIndex.set(key, index)
        labels.push(key)
        columns.push([])
      }
      columns[index]![rows] = value
    }
    const scanner: JsonRowScanner = new JsonRowScanner(limits, (text, line, column, parser) => {
      try {
        parser.parse(text, 1, onField)
      } catch (error) {
        if (error instanceof JsonSyntaxError) scanner.rowError(text, line, column, error)
        throw error
      }
      rows++
      if (rows === batchRows) flush()
    })
    for await (const chunk of readText(path, encoding)) {
      scanner.feed(chunk, false)
      if (ready.length > 0) {
        yield* ready
        ready.length = 0
      }
    }
    scanner.feed("", true)
    if (rows > 0) flush()
    yield* ready
  }
  return { labels, readOptions: { encoding }, textValues: false, batches: batches() }
}
