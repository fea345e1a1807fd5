/**
 * Where a parser job allocates on the JS heap: profiles (or reads, `WHAT=read`) a CSV file in
 * this thread under V8's sampling heap profiler, counting objects a young or old collection
 * already freed, and prints the bytes allocated per function and which functions called
 * `subarray` (a view is a heap object). Short-lived garbage is what makes a parser thread
 * collect every few milliseconds: a per-field allocation shows here as hundreds of MB.
 *
 *   node tests/bench/parser-allocations.ts FILE.csv          (WHAT=read: the import's read instead)
 */
import { Session } from "node:inspector/promises"
import { profileFile, readFile } from "../../packages/adapters/src/formats/file-jobs.ts"
import { defaultTextLimits, PARSE_BATCH_ROWS } from "../../packages/adapters/src/formats/limits.ts"
import { decodeReadOptions } from "../../packages/adapters/src/formats/read-options.ts"
import type { ReadRequest } from "../../packages/adapters/src/formats/types.ts"

interface SamplingNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly selfSize: number
  readonly children: ReadonlyArray<SamplingNode>
}

const path = process.argv[2]
if (path === undefined) throw new Error("usage: node tests/bench/parser-allocations.ts FILE.csv")
const what = process.env.WHAT === "read" ? "read" : "profile"
const settings = { limits: defaultTextLimits, batchRows: PARSE_BATCH_ROWS }
const profileRequest = { ...settings, path, format: "csv" as const, sheet: undefined }

// A first pass loads and compiles everything, and gives the read its profile.
const profile = await profileFile(profileRequest)
const session = new Session()
session.connect()
await session.post("HeapProfiler.startSampling", {
  samplingInterval: 4096,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true
})
const started = performance.now()
if (what === "profile") {
  await profileFile(profileRequest)
} else {
  const request = {
    ...settings,
    path,
    format: "csv",
    options: decodeReadOptions("csv", profile.readOptions),
    columns: profile.columns.map((c) => c.name),
    target: profile.columns,
    part: undefined
  } as ReadRequest
  for await (const _ of readFile(request)) {
    // drained
  }
}
const ms = performance.now() - started
const { profile: sampled } = await session.post("HeapProfiler.stopSampling") as { profile: { head: SamplingNode } }

const label = (node: SamplingNode) =>
  `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.split("/").slice(-2).join("/")}:${node.callFrame.lineNumber + 1}`
const bySite = new Map<string, number>()
const viewsBy = new Map<string, number>()
const visit = (node: SamplingNode, caller: string) => {
  const site = label(node)
  bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize)
  if (node.callFrame.functionName === "subarray") viewsBy.set(caller, (viewsBy.get(caller) ?? 0) + node.selfSize)
  for (const child of node.children) visit(child, site)
}
visit(sampled.head, "")
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1).padStart(8)} MB`
console.log(`${what} of ${path}: ${ms.toFixed(0)} ms; heap allocations by function (sampled every 4 KiB):`)
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${mb(bytes)}  ${site}`)
if (viewsBy.size > 0) console.log("subarray views made by:", [...viewsBy].map(([site, bytes]) => `${site} (${mb(bytes).trim()})`).join(", "))
