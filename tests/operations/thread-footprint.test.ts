import { readFileSync } from "node:fs"
import * as Path from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"

// Every parser and Parquet encoder thread loads its own copy of what its entry imports, and holds
// it for as long as it runs. The service's libraries stay out of them: `effect` alone is some
// 13 MiB of heap per thread and doubles a parser's start. Followed here: every import that is not
// type-only (`import type`, or only `type` names), from each thread's entry.

const root = Path.resolve(import.meta.dirname, "../..")
const workspaces: Record<string, string> = {
  "@ingest/domain": "packages/domain/src",
  "@ingest/adapters": "packages/adapters/src"
}

/** Specifiers of the imports and re-exports of `file` that load a module at run time. */
const runtimeImports = (file: string): Array<string> => {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest)
  const specifiers: Array<string> = []
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause
      const typeOnly = clause !== undefined && (clause.isTypeOnly || (clause.name === undefined && clause.namedBindings !== undefined &&
        ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 &&
        clause.namedBindings.elements.every((element) => element.isTypeOnly)))
      if (!typeOnly) specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text)
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier !== undefined && !statement.isTypeOnly) {
      specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text)
    }
  }
  return specifiers
}

/** Packages (and node: modules) reached from `entry` through run-time imports, with the file importing each. */
const packagesReached = (entry: string): Map<string, string> => {
  const packages = new Map<string, string>()
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const specifier of runtimeImports(file)) {
      const workspace = Object.keys(workspaces).find((name) => specifier === name || specifier.startsWith(`${name}/`))
      if (specifier.startsWith(".")) visit(Path.resolve(Path.dirname(file), specifier))
      else if (workspace !== undefined) {
        const rest = specifier.slice(workspace.length + 1)
        visit(Path.join(root, workspaces[workspace]!, rest === "" ? "index.ts" : `${rest}.ts`))
      } else if (!specifier.startsWith("node:")) packages.set(specifier, Path.relative(root, file))
    }
  }
  visit(Path.join(root, entry))
  return packages
}

describe("what a worker thread loads", () => {
  it("a parser thread loads no package: its readers' libraries (SheetJS, avsc, Arrow) load on first use of their format", () => {
    expect(Object.fromEntries(packagesReached("packages/adapters/src/formats/worker/entry.ts"))).toEqual({})
  })

  it("a Parquet encoder thread loads parquet-wasm and Arrow only", () => {
    expect([...packagesReached("packages/adapters/src/iceberg/parquet-encoder-worker.ts").keys()].sort()).toEqual(["apache-arrow", "parquet-wasm"])
  })

  it("follows what it is meant to: the parser's format readers do import their libraries", () => {
    expect([...packagesReached("packages/adapters/src/formats/spreadsheet/reader.ts").keys()]).toContain("@e965/xlsx")
    expect([...packagesReached("packages/adapters/src/formats/read-options.ts").keys()]).toContain("effect")
  })
})
