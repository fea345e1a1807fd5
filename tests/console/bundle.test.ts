import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, expect, it } from "vitest"
import { consoleDistDir } from "@ingest/console/assets"

// The console's build is committed (the service serves it as is, also after `npm ci --omit=dev`),
// so it must be exactly what the sources build to today.

const root = path.resolve(import.meta.dirname, "../..")
const fresh = mkdtempSync(path.join(tmpdir(), "console-build-"))
afterAll(() => rmSync(fresh, { recursive: true, force: true }))

const files = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort()

it("packages/console/dist equals a fresh build of packages/console (else: npm run build:console)", () => {
  execFileSync(process.execPath, [
    path.join(root, "node_modules/vite/bin/vite.js"),
    "build",
    "--config",
    path.join(root, "packages/console/vite.config.ts"),
    "--outDir",
    fresh,
    "--emptyOutDir"
  ], { cwd: root, stdio: "pipe" })
  const built = files(fresh)
  expect(built).toContain("index.html")
  expect(files(consoleDistDir), "run npm run build:console and commit packages/console/dist").toEqual(built)
  for (const file of built) {
    expect(readFileSync(path.join(consoleDistDir, file)).equals(readFileSync(path.join(fresh, file))), `${file} is stale: run npm run build:console`)
      .toBe(true)
  }
}, 120_000)
