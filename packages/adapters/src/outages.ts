import { Cause, Option } from "effect"
import { SqlError } from "effect/sql"
import { InfrastructureError } from "@ingest/domain"

// Which dependency a failure says is unreachable, so that drivers answer "the database is
// unreachable" instead of an internal error. Repositories treat database failures as defects
// (the use cases cannot handle them), so the classification reads the defect; object storage and
// catalog outages are InfrastructureErrors that name them (typed failures, or defects where a
// caller gave up on them).

export type Dependency = "database" | "object storage" | "catalog"

const connectionReasons = new Set(["ConnectionError", "AuthenticationError"])

const isUnreachableDatabase = (error: unknown): boolean =>
  SqlError.isSqlError(error) && connectionReasons.has(error.reason._tag)

const dependencyOf = (error: unknown): Dependency | undefined =>
  isUnreachableDatabase(error)
    ? "database"
    : error instanceof InfrastructureError
    ? error.unreachable
    : undefined

/** The dependency whose outage caused this failure, if it was one. */
export const unreachableDependency = (cause: Cause.Cause<unknown>): Option.Option<Dependency> => {
  for (const reason of cause.reasons) {
    const dependency = reason._tag === "Die"
      ? dependencyOf(reason.defect)
      : reason._tag === "Fail"
      ? dependencyOf(reason.error)
      : undefined
    if (dependency !== undefined) return Option.some(dependency)
  }
  return Option.none()
}
