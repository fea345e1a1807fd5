import type { Column, ColumnBatch, FileFormat, FileProfile } from "@ingest/domain"
import type { TextLimits } from "../csv/reader.ts"
import type { CsvPart, CsvRange } from "../types.ts"
import type { ProfileScan } from "../table/profile.ts"

/** Messages between the main thread and a parser worker. */
export type WorkerRequest =
  | {
    readonly id: number
    readonly op: "profile"
    readonly path: string
    readonly format: FileFormat
    readonly sheet: string | undefined
    readonly limits: TextLimits
    readonly batchSize: number
  }
  | {
    readonly id: number
    readonly op: "scan"
    readonly path: string
    readonly range: CsvRange
    readonly limits: TextLimits
    readonly batchSize: number
  }
  | {
    readonly id: number
    readonly op: "read"
    readonly path: string
    readonly format: FileFormat
    readonly profile: FileProfile
    readonly target: ReadonlyArray<Column>
    readonly limits: TextLimits
    readonly batchSize: number
    /** Batches the worker may send before waiting for a "pull". */
    readonly credits: number
    /** CSV: only this part of the file. */
    readonly part: CsvPart | undefined
  }
  | { readonly id: number; readonly op: "pull" }
  | { readonly id: number; readonly op: "cancel" }

export type ErrorKind = "unsupported" | "corrupt" | "too-large"

export type WorkerResponse =
  | { readonly id: 0; readonly type: "ready" }
  | { readonly id: number; readonly type: "profile"; readonly profile: FileProfile }
  | { readonly id: number; readonly type: "scan"; readonly scan: ProfileScan }
  | { readonly id: number; readonly type: "batch"; readonly batch: ColumnBatch }
  | { readonly id: number; readonly type: "done" }
  | { readonly id: number; readonly type: "error"; readonly kind: ErrorKind; readonly message: string }
