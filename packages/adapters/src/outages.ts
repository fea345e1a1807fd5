import { Cause, Option } from "effect"
import { SqlError } from "effect/sql"

// Which dependency a failure says is unreachable, so that drivers answer "the database is
// unreachable" instead of an internal error. Repositories treat database failures as defects
// (the use cases cannot handle them), so the classification reads the defect.

export type Dependency = "database"

const connectionReasons = new Set(["ConnectionError", "AuthenticationError"])

const isUnreachableDatabase = (error: unknown): boolean =>
  SqlError.isSqlError(error) && connectionReasons.has(error.reason._tag)

/** The dependency whose outage caused this failure, if it was one. */
export const unreachableDependency = (cause: Cause.Cause<unknown>): Option.Option<Dependency> =>
  cause.reasons.some((reason) =>
      (reason._tag === "Die" && isUnreachableDatabase(reason.defect)) ||
      (reason._tag === "Fail" && isUnreachableDatabase(reason.error))
    )
    ? Option.some("database")
    : Option.none()
