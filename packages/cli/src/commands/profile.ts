import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { serviceBaseUrl } from "../connection/index.ts"
import { readProfiles, writeProfiles } from "../connection/profiles.ts"
import { jsonFlag, usageError } from "../flags.ts"
import { printJson, printTable } from "../output.ts"

const nameArg = Argument.String("name").pipe(Argument.withDescription("Profile name, e.g. prod"))
const validName = (name: string) =>
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)
    ? Effect.succeed(name)
    : usageError(`Profile name "${name}" must be letters, digits, ".", "_" or "-" (at most 64)`)

const add = Command.make("add", {
  name: nameArg,
  url: Flag.String("url").pipe(Flag.withDescription("The service's URL, e.g. https://ingest.example.com")),
  token: Flag.String("token").pipe(Flag.withDescription("Bearer token to send (default: none; $INGEST_TOKEN still applies)"), Flag.optional),
  use: Flag.Boolean("use").pipe(Flag.withDescription("Make it the current profile"), Flag.withDefault(false))
}, ({ name, token, url, use }) =>
  Effect.gen(function*() {
    yield* validName(name)
    const base = yield* serviceBaseUrl(url)
    const { file, profiles } = yield* readProfiles
    const current = use || profiles.current === undefined ? name : profiles.current
    yield* writeProfiles(file, {
      current,
      profiles: { ...profiles.profiles, [name]: { url: base, ...(Option.isSome(token) ? { token: token.value } : {}) } }
    })
    yield* Console.error(`Saved profile ${name} (${base}) in ${file}${current === name ? "; it is the current profile" : ""}`)
  })).pipe(Command.withDescription("Save a service URL and token under a name (in a file only you can read)"))

const use = Command.make("use", { name: nameArg }, ({ name }) =>
  Effect.gen(function*() {
    const { file, profiles } = yield* readProfiles
    if (profiles.profiles[name] === undefined) return yield* usageError(`No profile named "${name}" in ${file}`)
    yield* writeProfiles(file, { ...profiles, current: name })
    yield* Console.error(`Commands now go to ${profiles.profiles[name]!.url} (profile ${name})`)
  })).pipe(Command.withDescription("Make a profile the current one"))

const list = Command.make("list", { json: jsonFlag }, ({ json }) =>
  Effect.gen(function*() {
    const { profiles } = yield* readProfiles
    // Tokens are never printed.
    const rows = Object.entries(profiles.profiles).map(([name, p]) => ({
      name,
      url: p.url,
      token: p.token !== undefined,
      current: name === profiles.current
    }))
    yield* json
      ? printJson(rows)
      : printTable(rows, [
        { header: "", value: (r) => (r.current ? "*" : "") },
        { header: "NAME", value: (r) => r.name },
        { header: "URL", value: (r) => r.url },
        { header: "TOKEN", value: (r) => (r.token ? "set" : "none") }
      ], "No profiles: `ingest profile add <name> --url <url> --token <token>`")
  })).pipe(Command.withDescription("List the profiles (never their tokens)"), Command.withAlias("ls"))

const remove = Command.make("remove", { name: nameArg }, ({ name }) =>
  Effect.gen(function*() {
    const { file, profiles } = yield* readProfiles
    if (profiles.profiles[name] === undefined) return yield* usageError(`No profile named "${name}" in ${file}`)
    const { [name]: _removed, ...rest } = profiles.profiles
    yield* writeProfiles(file, { profiles: rest, ...(profiles.current !== name && profiles.current !== undefined ? { current: profiles.current } : {}) })
    yield* Console.error(`Removed profile ${name}`)
  })).pipe(Command.withDescription("Forget a profile"), Command.withAlias("rm"))

export const profileCommand = Command.make("profile").pipe(
  Command.withDescription("Named connections to services: URL and token, in ~/.config/ingest/config.json (mode 600)"),
  Command.withSubcommands([add, use, list, remove])
)
