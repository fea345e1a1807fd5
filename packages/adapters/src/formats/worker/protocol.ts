import type { ColumnBatch, FileProfile } from "@ingest/domain"
import type { ErrorKind } from "../errors.ts"
import type { ProfileScan } from "../table/profile.ts"
import type { ProfileRequest, ReadRequest, ScanRequest } from "../types.ts"

/** Messages between the main thread (pool.ts) and a parser worker (entry.ts). */
export type WorkerRequest =
  | { readonly id: number; readonly op: "profile"; readonly request: ProfileRequest }
  | { readonly id: number; readonly op: "scan"; readonly request: ScanRequest }
  | {
    readonly id: number
    readonly op: "read"
    readonly request: ReadRequest
    /** Batches the worker may send before waiting for a "pull". */
    readonly credits: number
  }
  | { readonly id: number; readonly op: "pull" }
  | { readonly id: number; readonly op: "cancel" }

export type WorkerResponse =
  | { readonly id: 0; readonly type: "ready" }
  | { readonly id: number; readonly type: "profile"; readonly profile: FileProfile }
  | { readonly id: number; readonly type: "scan"; readonly scan: ProfileScan }
  | { readonly id: number; readonly type: "batch"; readonly batch: ColumnBatch }
  | { readonly id: number; readonly type: "done" }
  | { readonly id: number; readonly type: "error"; readonly kind: ErrorKind; readonly message: string }
