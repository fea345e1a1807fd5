import { Schema } from "effect"

/** A resource does not exist for this tenant (another tenant's resource is reported the same way). */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  entity: Schema.String,
  id: Schema.String
}) {
  override get message() {
    return `${this.entity} ${this.id} not found`
  }
}

/** The request is well-formed but breaks a rule of the domain (bad field value, unknown stream, …). */
export class Invalid extends Schema.TaggedError<Invalid>()("Invalid", {
  field: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/** The resource's current state forbids the operation. */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/** The connector engine (Airbyte, local) could not be reached or answered with a server error. */
export class EngineUnavailable extends Schema.TaggedError<EngineUnavailable>()("EngineUnavailable", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/** The connector engine cannot do what was asked for this source (e.g. a connector it does not run). */
export class EngineUnsupported extends Schema.TaggedError<EngineUnsupported>()("EngineUnsupported", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/** A file cannot be read as the format it claims to be, or is hostile (too large, too deep, …). */
export class UnreadableFile extends Schema.TaggedError<UnreadableFile>()("UnreadableFile", {
  reason: Schema.String,
  /** `unsupported`: not a format we read (400); `corrupt`: damaged or hostile content (422). */
  kind: Schema.Literals(["unsupported", "corrupt", "too-large"])
}) {
  override get message() {
    return this.reason
  }
}

/** A dependency whose outage fails a request or a job (the database's outages surface as defects). */
export const UnreachableDependency = Schema.Literals(["object storage", "catalog"])
export type UnreachableDependency = typeof UnreachableDependency.Type

/** What a FAILED import or sync says when a dependency's outage stopped it: the dependency, nothing internal. */
export const outageReason = (dependency: UnreachableDependency, job: "import" | "sync"): string =>
  dependency === "catalog"
    ? `The Iceberg catalog was unreachable, so the ${job} could not finish; run it again once the catalog is back`
    : `Object storage was unreachable, so the ${job} could not finish; run it again once object storage is back`

/**
 * Storage, catalog or database failure that the caller cannot fix. `unreachable` names the
 * dependency when it did not answer (refused or lost connection, timeout, 502/503/504): the same
 * request may work once it is back. `reason` is for logs: it may name hosts, keys and SDK errors.
 */
export class InfrastructureError extends Schema.TaggedError<InfrastructureError>()("InfrastructureError", {
  reason: Schema.String,
  unreachable: Schema.optional(UnreachableDependency)
}) {
  override get message() {
    return this.reason
  }
}
