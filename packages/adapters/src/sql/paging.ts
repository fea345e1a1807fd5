import type { SyncPageRequest, SyncSortField } from "@ingest/domain"

// The SQL twin of the domain's sync order (`syncComparator` in the domain's paging rules): the
// chosen field, NULLs last in both directions, status compared by its code-point order, then id.

const sortColumns: Record<SyncSortField, string> = {
  startedAt: "started_at",
  completedAt: "completed_at",
  status: `status COLLATE "C"`
}

/** The ORDER BY clause (from a fixed set of strings: safe to splice into SQL). */
export const syncOrderBy = (sort: SyncPageRequest["sort"]): string => {
  const direction = sort.direction === "desc" ? "DESC" : "ASC"
  return `${sortColumns[sort.field]} ${direction} NULLS LAST, id ASC`
}
