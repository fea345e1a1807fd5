import { DateTime } from "effect"
import type { Page, PageRequest, Sync, SyncPageRequest, SyncSortField } from "./sync.ts"

// The paging rules every SyncRepo follows: page and size clamped into range, the page shape, and
// the order of syncs. Order: the chosen field (NULLs last in both directions; status compared by
// its code-point order), then id ascending so that pages are stable when values tie. An SQL
// adapter states the same order as an ORDER BY clause.

export const maxPageSize = 1000
/** Keeps OFFSET far from integer overflow; nobody pages this deep. */
export const maxPageNumber = 10_000_000

export interface NormalizedPageRequest extends SyncPageRequest {
  readonly offset: number
}

/** Clamps page and size into their valid ranges (the HTTP layer validates them first). */
export const clampPage = (request: PageRequest): PageRequest & { readonly offset: number } => {
  const size = Math.min(maxPageSize, Math.max(1, Math.trunc(Number.isFinite(request.size) ? request.size : 20)))
  const page = Math.min(maxPageNumber, Math.max(0, Math.trunc(Number.isFinite(request.page) ? request.page : 0)))
  return { page, size, offset: page * size }
}

export const normalizePageRequest = (request: SyncPageRequest): NormalizedPageRequest => ({ ...request, ...clampPage(request) })

export const makePage = <A>(content: ReadonlyArray<A>, total: number, request: PageRequest): Page<A> => ({
  content,
  totalElements: total,
  totalPages: Math.ceil(total / request.size),
  number: request.page,
  size: request.size
})

const fieldValue = (sync: Sync, field: SyncSortField): number | string | null => {
  switch (field) {
    case "startedAt":
      return DateTime.toEpochMillis(sync.startedAt)
    case "completedAt":
      return sync.completedAt === null ? null : DateTime.toEpochMillis(sync.completedAt)
    case "status":
      return sync.status
  }
}

const compareCodePoints = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** The order of syncs in a page, as a comparator. */
export const syncComparator = (sort: SyncPageRequest["sort"]) => (a: Sync, b: Sync): number => {
  const x = fieldValue(a, sort.field)
  const y = fieldValue(b, sort.field)
  if (x === null && y !== null) return 1
  if (x !== null && y === null) return -1
  if (x !== null && y !== null && x !== y) {
    const order = typeof x === "number" && typeof y === "number" ? x - y : compareCodePoints(String(x), String(y))
    if (order !== 0) return sort.direction === "desc" ? -order : order
  }
  return compareCodePoints(a.id.toLowerCase(), b.id.toLowerCase())
}
