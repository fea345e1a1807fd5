import { Config, Effect, Option, Schema } from "effect"
import { chmod, mkdir, readFile, rename, stat, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { usageError } from "../flags.ts"

// Named connections (URL and token) in a file only its owner can read:
// $INGEST_CONFIG, else $XDG_CONFIG_HOME/ingest/config.json, else ~/.config/ingest/config.json.

export const Profile = Schema.Struct({
  url: Schema.String,
  token: Schema.optional(Schema.String)
})
export type Profile = typeof Profile.Type

const ProfilesFile = Schema.Struct({
  current: Schema.optional(Schema.String),
  profiles: Schema.Record(Schema.String, Profile)
})
type ProfilesFile = typeof ProfilesFile.Type

export const profilesPath = Effect.gen(function*() {
  const explicit = yield* Config.String("INGEST_CONFIG").pipe(Config.option)
  if (Option.isSome(explicit)) return path.resolve(explicit.value)
  const xdg = yield* Config.String("XDG_CONFIG_HOME").pipe(Config.option)
  if (Option.isSome(xdg)) return path.join(xdg.value, "ingest", "config.json")
  const home = yield* Config.String("HOME").pipe(Config.withDefault(""))
  return path.join(home === "" ? "." : home, ".config", "ingest", "config.json")
})

/** The profiles, or none when there is no file; a file others can read is refused, as ssh does. */
export const readProfiles = Effect.gen(function*() {
  const file = yield* profilesPath
  const info = yield* Effect.promise(() => stat(file).catch(() => undefined))
  if (info === undefined) return { file, profiles: { profiles: {} } as ProfilesFile }
  if ((info.mode & 0o077) !== 0) {
    return yield* usageError(
      `${file} holds tokens but others can read it (mode ${(info.mode & 0o777).toString(8)}); run \`chmod 600 ${file}\``
    )
  }
  const text = yield* Effect.promise(() => readFile(file, "utf8"))
  const profiles = yield* Schema.decodeUnknownEffect(Schema.fromJsonString(ProfilesFile))(text).pipe(
    Effect.mapError(() => usageError(`${file} is not a valid profiles file`))
  )
  return { file, profiles }
})

/** Writes the profiles file, readable by its owner only (written aside, then renamed into place). */
export const writeProfiles = (file: string, profiles: ProfilesFile) =>
  Effect.promise(async () => {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
    const temp = `${file}.${process.pid}.tmp`
    await writeFile(temp, `${JSON.stringify(profiles, null, 2)}\n`, { mode: 0o600 })
    await chmod(temp, 0o600)
    await rename(temp, file)
  })

/** The profile named, else the current one; none when neither exists. */
export const selectProfile = (name: string | undefined) =>
  Effect.gen(function*() {
    const { file, profiles } = yield* readProfiles
    const chosen = name ?? profiles.current
    if (chosen === undefined) return undefined
    const profile = profiles.profiles[chosen]
    if (profile === undefined) {
      return yield* usageError(`No profile named "${chosen}" in ${file} (see \`ingest profile list\`)`)
    }
    return { name: chosen, ...profile }
  })
