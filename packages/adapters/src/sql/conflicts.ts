import { Conflict } from "@ingest/domain"

/** The partial unique index that allows one PENDING/RUNNING sync per connection. */
export const activeSyncIndex = "syncs_one_active_per_connection"

/** What every SyncRepo answers when a connection already has a PENDING/RUNNING sync. */
export const activeSyncConflict = (connectionId: string) =>
  new Conflict({ reason: `A sync is already running for connection ${connectionId}` })
