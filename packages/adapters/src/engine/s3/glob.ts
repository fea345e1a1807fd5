/**
 * Compiles a glob over object keys to a RegExp: `**` matches across `/`, `*` within one path
 * segment, `?` one character, `{a,b}` alternatives. Everything else is literal.
 */
export const globToRegExp = (glob: string): RegExp => {
  let out = ""
  let depth = 0
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!
    if (ch === "*") {
      if (glob[i + 1] === "*") {
        i++
        // `**/` also matches no directory at all.
        if (glob[i + 1] === "/") {
          i++
          out += "(?:.*/)?"
        } else {
          out += ".*"
        }
      } else {
        out += "[^/]*"
      }
    } else if (ch === "?") {
      out += "[^/]"
    } else if (ch === "{") {
      depth++
      out += "(?:"
    } else if (ch === "}" && depth > 0) {
      depth--
      out += ")"
    } else if (ch === "," && depth > 0) {
      out += "|"
    } else {
      out += ch.replace(/[.+^$()|[\]\\{}]/g, "\\$&")
    }
  }
  return new RegExp(`^${out}$`)
}

/** The literal part of a glob before its first wildcard: a listing prefix that narrows the search. */
export const literalPrefix = (glob: string): string => {
  const index = glob.search(/[*?{]/)
  return index === -1 ? glob : glob.slice(0, index)
}
