import { Schema } from "effect"

/** A UUID in its canonical textual form (any version). */
export const Uuid = Schema.String.pipe(Schema.check(Schema.isUUID()))

export const TenantId = Uuid.pipe(Schema.brand("TenantId"))
export type TenantId = typeof TenantId.Type

export const SourceId = Uuid.pipe(Schema.brand("SourceId"))
export type SourceId = typeof SourceId.Type

export const ConnectionId = Uuid.pipe(Schema.brand("ConnectionId"))
export type ConnectionId = typeof ConnectionId.Type

export const SyncId = Uuid.pipe(Schema.brand("SyncId"))
export type SyncId = typeof SyncId.Type

export const FileId = Uuid.pipe(Schema.brand("FileId"))
export type FileId = typeof FileId.Type
