import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, expect } from "vitest"
import { FileReadError } from "../../packages/adapters/src/formats/errors.ts"
import type { RawTable } from "../../packages/adapters/src/formats/types.ts"

// What the raw-reader suites (xlsx, parquet, avro) share: the corpus and its truth, a scratch
// directory, and small helpers over RawTable and FileReadError.

const repoRoot = path.resolve(import.meta.dirname, "../..")
export const corpus = path.resolve(repoRoot, "../shared/corpus")
export const haveCorpus = existsSync(path.join(corpus, "truth.json"))

/** Says, once per suite, that the corpus cases are skipped. */
export const warnIfNoCorpus = (label: string) => {
  if (!haveCorpus) console.warn(`[${label} tests] ${corpus} is missing: corpus tests are skipped`)
}

export interface Truth {
  readonly rows: number | null
  readonly columns: ReadonlyArray<string> | null
  readonly expect?: string | null
}
export const truth: Record<string, Truth> = haveCorpus ? JSON.parse(readFileSync(path.join(corpus, "truth.json"), "utf8")) : {}

/** A temp directory removed after the suite. */
export const scratchDir = (prefix: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export const allRows = async (table: RawTable): Promise<Array<ReadonlyArray<unknown>>> => {
  const rows: Array<ReadonlyArray<unknown>> = []
  for await (const batch of table.batches) rows.push(...batch)
  return rows
}

/** The FileReadError a promise rejects with (fails the test when it resolves or rejects otherwise). */
export const rejection = async (promise: Promise<unknown>): Promise<FileReadError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(FileReadError)
  return error as FileReadError
}
