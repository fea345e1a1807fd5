import { FileReadError } from "../errors.ts"

/**
 * Thrift compact protocol, generic: enough to read a Parquet footer, edit a few fields and write
 * it back (parquet/reader.ts), and to rewrite page headers and page indexes (the Iceberg
 * writer's iceberg/parquet-compression.ts). Hostile input ends as a FileReadError: lengths are checked against
 * the bytes there are, and nesting is capped.
 */

/** Deepest nesting of Thrift structs, lists and maps accepted. */
export const MAX_THRIFT_DEPTH = 64

const corrupt = (why: string) => new FileReadError("corrupt", `The Parquet file is corrupt: ${why}.`)

export const T = { TRUE: 1, FALSE: 2, BYTE: 3, I16: 4, I32: 5, I64: 6, DOUBLE: 7, BINARY: 8, LIST: 9, SET: 10, MAP: 11, STRUCT: 12, UUID: 13 } as const

export type ThriftValue = boolean | number | bigint | Uint8Array | ThriftList | ThriftMap | ThriftStruct
export interface ThriftField {
  readonly id: number
  readonly type: number
  value: ThriftValue
}
export type ThriftStruct = Array<ThriftField>
export interface ThriftList {
  readonly kind: "list"
  readonly elementType: number
  readonly setType: boolean
  readonly items: Array<ThriftValue>
}
export interface ThriftMap {
  readonly kind: "map"
  readonly keyType: number
  readonly valueType: number
  readonly entries: Array<[ThriftValue, ThriftValue]>
}

export class ThriftReader {
  pos = 0
  private depth = 0
  private readonly buf: Uint8Array
  constructor(buf: Uint8Array) {
    this.buf = buf
  }

  private byte(): number {
    if (this.pos >= this.buf.length) throw corrupt("the footer ends unexpectedly")
    return this.buf[this.pos++]!
  }

  private varint(): bigint {
    let result = 0n
    let shift = 0n
    for (let i = 0; i < 10; i++) {
      const b = this.byte()
      result |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return result
      shift += 7n
    }
    throw corrupt("a footer integer is too long")
  }

  private zigzag(): bigint {
    const n = this.varint()
    return (n >> 1n) ^ -(n & 1n)
  }

  private smallInt(): number {
    const value = this.zigzag()
    if (value < -2147483648n || value > 2147483647n) throw corrupt("a footer integer is out of range")
    return Number(value)
  }

  private count(): number {
    const n = this.varint()
    if (n > BigInt(this.buf.length - this.pos)) throw corrupt("a footer list claims more items than there are bytes")
    return Number(n)
  }

  private value(type: number, inList: boolean): ThriftValue {
    switch (type) {
      case T.TRUE:
      case T.FALSE:
        return inList ? this.byte() === T.TRUE : type === T.TRUE
      case T.BYTE:
        return this.byte()
      case T.I16:
      case T.I32:
        return this.smallInt()
      case T.I64:
        return this.zigzag()
      case T.DOUBLE: {
        if (this.pos + 8 > this.buf.length) throw corrupt("the footer ends unexpectedly")
        const value = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true)
        this.pos += 8
        return value
      }
      case T.BINARY: {
        const length = this.count()
        const value = this.buf.subarray(this.pos, this.pos + length)
        this.pos += length
        return value
      }
      case T.UUID: {
        if (this.pos + 16 > this.buf.length) throw corrupt("the footer ends unexpectedly")
        const value = this.buf.subarray(this.pos, this.pos + 16)
        this.pos += 16
        return value
      }
      case T.LIST:
      case T.SET: {
        const header = this.byte()
        const size = header >> 4 === 15 ? this.count() : header >> 4
        const elementType = header & 0x0f
        const items: Array<ThriftValue> = []
        this.nest(() => {
          for (let i = 0; i < size; i++) items.push(this.value(elementType, true))
        })
        return { kind: "list", elementType, setType: type === T.SET, items }
      }
      case T.MAP: {
        const size = this.count()
        const types = size > 0 ? this.byte() : 0
        const entries: Array<[ThriftValue, ThriftValue]> = []
        this.nest(() => {
          for (let i = 0; i < size; i++) entries.push([this.value(types >> 4, true), this.value(types & 0x0f, true)])
        })
        return { kind: "map", keyType: types >> 4, valueType: types & 0x0f, entries }
      }
      case T.STRUCT:
        return this.nest(() => this.struct())
      default:
        throw corrupt(`the footer holds an unknown Thrift type ${type}`)
    }
  }

  private nest<A>(body: () => A): A {
    if (++this.depth > MAX_THRIFT_DEPTH) throw corrupt("the footer is nested too deeply")
    try {
      return body()
    } finally {
      this.depth--
    }
  }

  struct(): ThriftStruct {
    const fields: ThriftStruct = []
    let lastId = 0
    for (;;) {
      const header = this.byte()
      if (header === 0) return fields
      const delta = header >> 4
      const type = header & 0x0f
      const id = delta === 0 ? this.smallInt() : lastId + delta
      lastId = id
      fields.push({ id, type, value: this.value(type, false) })
    }
  }
}

export class ThriftWriter {
  private chunks: Array<number> = []
  private bytes: Array<Uint8Array> = []

  private flush(): void {
    if (this.chunks.length > 0) {
      this.bytes.push(Uint8Array.from(this.chunks))
      this.chunks = []
    }
  }

  private varint(n: bigint): void {
    let v = n
    while (v >= 0x80n) {
      this.chunks.push(Number(v & 0x7fn) | 0x80)
      v >>= 7n
    }
    this.chunks.push(Number(v))
  }

  private zigzag(n: bigint): void {
    this.varint(n >= 0n ? n << 1n : ((-n) << 1n) - 1n)
  }

  private value(type: number, value: ThriftValue, inList: boolean): void {
    switch (type) {
      case T.TRUE:
      case T.FALSE:
        if (inList) this.chunks.push(value ? T.TRUE : T.FALSE)
        return
      case T.BYTE:
        this.chunks.push((value as number) & 0xff)
        return
      case T.I16:
      case T.I32:
        this.zigzag(BigInt(value as number))
        return
      case T.I64:
        this.zigzag(value as bigint)
        return
      case T.DOUBLE: {
        const b = new Uint8Array(8)
        new DataView(b.buffer).setFloat64(0, value as number, true)
        this.chunks.push(...b)
        return
      }
      case T.BINARY: {
        const b = value as Uint8Array
        this.varint(BigInt(b.length))
        this.flush()
        this.bytes.push(b)
        return
      }
      case T.UUID:
        this.flush()
        this.bytes.push(value as Uint8Array)
        return
      case T.LIST:
      case T.SET: {
        const list = value as ThriftList
        if (list.items.length < 15) this.chunks.push((list.items.length << 4) | list.elementType)
        else {
          this.chunks.push(0xf0 | list.elementType)
          this.varint(BigInt(list.items.length))
        }
        for (const item of list.items) this.value(list.elementType, item, true)
        return
      }
      case T.MAP: {
        const map = value as ThriftMap
        this.varint(BigInt(map.entries.length))
        if (map.entries.length > 0) this.chunks.push((map.keyType << 4) | map.valueType)
        for (const [k, v] of map.entries) {
          this.value(map.keyType, k, true)
          this.value(map.valueType, v, true)
        }
        return
      }
      case T.STRUCT:
        this.struct(value as ThriftStruct)
        return
    }
  }

  struct(fields: ThriftStruct): void {
    let lastId = 0
    for (const field of [...fields].sort((a, b) => a.id - b.id)) {
      const type = field.type === T.TRUE || field.type === T.FALSE ? (field.value ? T.TRUE : T.FALSE) : field.type
      const delta = field.id - lastId
      if (delta > 0 && delta <= 15) this.chunks.push((delta << 4) | type)
      else {
        this.chunks.push(type)
        this.zigzag(BigInt(field.id))
      }
      lastId = field.id
      this.value(type, field.value, false)
    }
    this.chunks.push(0)
  }

  finish(): Uint8Array {
    this.flush()
    const total = this.bytes.reduce((n, b) => n + b.length, 0)
    const out = new Uint8Array(total)
    let at = 0
    for (const b of this.bytes) {
      out.set(b, at)
      at += b.length
    }
    return out
  }
}

export const field = (struct: ThriftStruct, id: number): ThriftField | undefined => struct.find((f) => f.id === id)
export const without = (struct: ThriftStruct, ...ids: Array<number>): ThriftStruct => struct.filter((f) => !ids.includes(f.id))
export const i64Of = (struct: ThriftStruct, id: number): bigint | undefined => {
  const value = field(struct, id)?.value
  return typeof value === "bigint" ? value : typeof value === "number" ? BigInt(value) : undefined
}
export const listOf = (struct: ThriftStruct, id: number): Array<ThriftValue> | undefined => {
  const value = field(struct, id)?.value
  return value !== undefined && typeof value === "object" && "kind" in value && value.kind === "list" ? value.items : undefined
}
export const i64Field = (id: number, value: bigint): ThriftField => ({ id, type: T.I64, value })
export const structList = (id: number, items: Array<ThriftStruct>): ThriftField => ({
  id,
  type: T.LIST,
  value: { kind: "list", elementType: T.STRUCT, setType: false, items }
})
