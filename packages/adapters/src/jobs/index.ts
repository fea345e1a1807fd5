// Background jobs: a use case enqueues (JobQueue), a worker claims with a lease (JobLeases, stored
// by sql/ or memory/), renews it while the job runs, and hands the job to its runner (handlers.ts:
// imports through the file-import use case, local syncs through sync-job.ts); a job whose process
// died is claimed again once its lease lapses.

export * from "./handlers.ts"
export * from "./leases.ts"
export * from "./sync-job.ts"
export * from "./worker.ts"
