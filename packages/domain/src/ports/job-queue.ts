import type { Effect } from "effect"
import { Context } from "effect"
import type { TenantId } from "../ids.ts"

export type JobKind = "import" | "sync"

export interface Job {
  readonly id: string
  readonly kind: JobKind
  readonly tenantId: TenantId
  /** The id of the file import or sync the job works on. */
  readonly refId: string
  /** 1 on the first claim; higher when a lease expired (the process died) and the job was re-claimed. */
  readonly attempt: number
}

/** Durable background work shared by every process (claimed with leases). */
export class JobQueue extends Context.Service<JobQueue, {
  enqueue(kind: JobKind, tenantId: TenantId, refId: string): Effect.Effect<string>
}>()("ingest/JobQueue") {}

/** What a worker runs for each kind of job; provided by the composition from the use cases. */
export class JobHandlers extends Context.Service<JobHandlers, {
  run(job: Job): Effect.Effect<void>
}>()("ingest/JobHandlers") {}
