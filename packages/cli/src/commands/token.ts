import { Config, Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { TenantId } from "@ingest/domain"
import { AppConfig } from "@ingest/adapters/config"
import { MANAGE_PERMISSION, mintDevToken, READ_PERMISSION } from "@ingest/http/auth"
import { jsonFlag, usageError } from "../flags.ts"
import { printJson } from "../output.ts"

/** Durations jose understands, in the forms people type: 90s, 30m, 12h, 7d, 2w, "1 day". */
const durationPattern = /^\d+ ?(s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?|y|yr|yrs|years?)$/i

export const tokenCommand = Command.make("token", {
  json: jsonFlag,
  tenants: Flag.String("tenant").pipe(
    Flag.withAlias("t"),
    Flag.withDescription("Tenant UUID the token grants (repeat for several; default: $INGEST_TENANT_ID)"),
    Flag.withSchema(TenantId),
    Flag.atLeast(0)
  ),
  permissions: Flag.Literals("permission", [MANAGE_PERMISSION, READ_PERMISSION]).pipe(
    Flag.withDescription(`Permission to grant (repeat for several; default: ${MANAGE_PERMISSION})`),
    Flag.atLeast(0)
  ),
  expires: Flag.String("expires").pipe(Flag.withDescription("Lifetime, e.g. 30m, 12h, 7d"), Flag.withDefault("12h")),
  subject: Flag.String("subject").pipe(Flag.withDescription("The token's subject (sub claim)"), Flag.withDefault("dev-user"))
}, ({ expires, json, permissions, subject, tenants }) =>
  Effect.gen(function*() {
    const config = yield* AppConfig
    if (config.auth.jwksUrl !== undefined) {
      return yield* usageError(
        "INGEST_AUTH_JWKS_URL is set, so the service accepts tokens from that identity provider only; " +
          "`ingest token` mints tokens for dev mode (INGEST_AUTH_JWKS_URL unset) and cannot help here"
      )
    }
    const fallback = yield* Config.schema(TenantId, "INGEST_TENANT_ID").pipe(Config.option)
    const granted = tenants.length > 0 ? [...new Set(tenants)] : Option.toArray(fallback)
    if (granted.length === 0) return yield* usageError("Give at least one --tenant <uuid> (or set INGEST_TENANT_ID)")
    if (!durationPattern.test(expires.trim())) {
      return yield* usageError(`--expires "${expires}" is not a duration like 30m, 12h or 7d`)
    }
    const grantedPermissions = permissions.length > 0 ? [...new Set(permissions)] : [MANAGE_PERMISSION]
    const token = yield* Effect.tryPromise({
      try: () =>
        mintDevToken(config.dataDir, {
          tenants: granted,
          permissions: grantedPermissions,
          expiresIn: expires.trim(),
          subject,
          issuer: config.auth.issuer,
          audience: config.auth.audience
        }),
      catch: (e) => usageError(`Cannot mint a token: ${e instanceof Error ? e.message : String(e)}`)
    })
    yield* json
      ? printJson({ token, expiresIn: expires.trim(), tenants: granted, permissions: grantedPermissions })
      : Console.log(token)
  })).pipe(Command.withDescription("Mint a bearer token for the service in dev auth mode (signed with the key under the data dir)"))
