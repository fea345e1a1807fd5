/** The partial unique index that allows one PENDING/RUNNING sync per connection. */
export const activeSyncIndex = "syncs_one_active_per_connection"
