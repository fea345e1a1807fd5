import * as A from "apache-arrow"
import { fieldIdKey } from "./arrow-batch.ts"
import { arrowTypeOf } from "./arrow-batch.ts"
import type { ParquetFileSpec } from "./parquet-properties.ts"
import type { WritableType } from "./schema.ts"

// Messages between the table writer and its Parquet encoder threads, and how record batches
// travel: batches the writer built itself go as their raw column buffers, moved (not copied) to
// the encoder; batches a caller built (which may share buffers with other data) go as Arrow IPC.

/** One column of a record batch with offset 0: the Arrow buffers as they are. */
export interface ColumnBuffers {
  readonly length: number
  readonly nullCount: number
  readonly values: ArrayBufferView
  readonly offsets: Int32Array | undefined
  readonly validity: Uint8Array | undefined
}

export type BatchPayload =
  | { readonly kind: "columns"; readonly length: number; readonly columns: ReadonlyArray<ColumnBuffers> }
  | { readonly kind: "ipc"; readonly bytes: Uint8Array }

/** A Parquet column: name, Iceberg field id and type. */
export interface ColumnSpec {
  readonly name: string
  readonly id: number
  readonly type: WritableType
  readonly nullable: boolean
}

export type EncoderRequest =
  | {
    readonly op: "open"
    readonly job: number
    readonly spec: ParquetFileSpec
    readonly columns: ReadonlyArray<ColumnSpec>
    /** The writer needs a first batch before it produces anything. */
    readonly first: BatchPayload
  }
  | { readonly op: "batch"; readonly job: number; readonly batch: BatchPayload }
  /** No more batches: finish the file. */
  | { readonly op: "end"; readonly job: number }
  | { readonly op: "abort"; readonly job: number }

export type EncoderResponse =
  /** One batch was taken by the Parquet writer: the sender may send another. */
  | { readonly type: "ack"; readonly job: number }
  | { readonly type: "chunk"; readonly job: number; readonly bytes: Uint8Array }
  | { readonly type: "done"; readonly job: number }
  | { readonly type: "error"; readonly job: number; readonly message: string }

/**
 * A batch as a message plus the buffers to move with it. With `movable` false (or buffers that
 * are shared or sliced) the batch is serialised as IPC, leaving the caller's data untouched.
 */
export const toPayload = (
  batch: A.RecordBatch,
  movable: boolean
): { readonly payload: BatchPayload; readonly transfer: Array<ArrayBuffer> } => {
  if (movable) {
    const buffers = new Set<ArrayBuffer>()
    const columns: Array<ColumnBuffers> = []
    let plain = true
    for (const child of batch.data.children) {
      const values = child.values as ArrayBufferView | undefined
      if (child.offset !== 0 || child.children.length > 0 || values === undefined) {
        plain = false
        break
      }
      const offsets = child.valueOffsets as Int32Array | undefined
      const validity = child.nullCount > 0 ? child.nullBitmap as Uint8Array : undefined
      for (const view of [values, offsets, validity]) {
        if (view === undefined) continue
        const buffer = view.buffer
        if (!(buffer instanceof ArrayBuffer) || buffers.has(buffer)) plain = false
        else buffers.add(buffer)
      }
      columns.push({ length: child.length, nullCount: child.nullCount, values, offsets, validity })
    }
    if (plain) return { payload: { kind: "columns", length: batch.numRows, columns }, transfer: [...buffers] }
  }
  const bytes = A.tableToIPC(new A.Table([batch]), "stream")
  return { payload: { kind: "ipc", bytes }, transfer: ownedBuffer(bytes) }
}

/** The buffer of `bytes` when it is exactly that buffer (so it can be moved). */
export const ownedBuffer = (bytes: Uint8Array): Array<ArrayBuffer> =>
  bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
    ? [bytes.buffer]
    : []

export const arrowSchemaOfColumns = (columns: ReadonlyArray<ColumnSpec>): A.Schema =>
  new A.Schema(columns.map((c) =>
    new A.Field(c.name, arrowTypeOf(c.type), c.nullable, new Map([[fieldIdKey, String(c.id)]]))
  ))

/** The chunks the Arrow IPC writer emits, kept as views (mostly of the batch's own buffers), not joined. */
class ChunkSink extends A.AsyncByteQueue {
  readonly chunks: Array<Uint8Array> = []
  byteLength = 0
  override write(value: Parameters<A.AsyncByteQueue["write"]>[0]): void {
    const view = value as ArrayBufferView
    if (view.byteLength === 0) return
    this.chunks.push(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))
    this.byteLength += view.byteLength
  }
}

/**
 * One buffer the IPC bytes of each batch are laid out in, reused from batch to batch: a fresh
 * buffer per batch (megabytes, so mapped anew by malloc) costs a page fault per 4 KiB written,
 * which took longer than the copying itself.
 */
export class IpcScratch {
  private bytes = new Uint8Array(0)
  /** A view of at least `size` bytes, valid until the next call. */
  take(size: number): Uint8Array {
    if (this.bytes.byteLength < size) this.bytes = new Uint8Array(Math.max(size, Math.ceil(this.bytes.byteLength * 1.25)))
    return this.bytes.subarray(0, size)
  }
  /** Lets the buffer go (nothing to encode for a while). */
  release(): void {
    this.bytes = new Uint8Array(0)
  }
}

/**
 * A payload back as Arrow IPC stream bytes (what parquet-wasm takes in). With `scratch` the bytes
 * are a view of its buffer, valid until its next use.
 */
export const payloadToIpc = (payload: BatchPayload, schema: A.Schema, scratch?: IpcScratch): Uint8Array => {
  if (payload.kind === "ipc") return payload.bytes
  if (payload.columns.length !== schema.fields.length) {
    throw new Error(`batch has ${payload.columns.length} columns, the file ${schema.fields.length}`)
  }
  const children = payload.columns.map((column, index) => {
    const type: A.DataType = schema.fields[index]!.type
    // Buffer order of Arrow JS Data: offsets, values, validity.
    const buffers = [column.offsets, column.values, column.validity ?? new Uint8Array(0)]
    return new A.Data(type, 0, column.length, column.nullCount, buffers as ConstructorParameters<typeof A.Data>[4])
  })
  const data = A.makeData({ type: new A.Struct(schema.fields), length: payload.length, nullCount: 0, children })
  const batch = new A.RecordBatch(schema, data)
  if (scratch === undefined) return A.tableToIPC(new A.Table([batch]), "stream")
  const sink = new ChunkSink()
  const writer = new A.RecordBatchStreamWriter()
  writer.reset(sink, schema)
  writer.write(batch)
  writer.finish()
  const bytes = scratch.take(sink.byteLength)
  let at = 0
  for (const chunk of sink.chunks) {
    bytes.set(chunk, at)
    at += chunk.byteLength
  }
  return bytes
}
