import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import * as path from "node:path"
import type { BrowserContext, Page } from "playwright-core"
import { chromium } from "playwright-core"

// Headless Chromium (Debian's /usr/bin/chromium, or CHROMIUM_PATH) driven by playwright-core, as
// the console's browser tests use it: a fresh profile per launch, no network but loopback.

export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
export const hasChromium = existsSync(chromiumPath)

/** Where the browser tests write their screenshots (git-ignored). */
export const screenshotDir = path.join(import.meta.dirname, "screenshots")

const flags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

export interface Browser {
  readonly context: BrowserContext
  /** A new tab that records CSP violations and page errors. */
  newPage(viewport?: { width: number; height: number }): Promise<Page>
  /** Everything a page reported that a user would never want: CSP violations, uncaught errors. */
  readonly problems: Array<string>
  close(): Promise<void>
}

export const launchBrowser = async (): Promise<Browser> => {
  const profile = mkdtempSync(path.join(tmpdir(), "console-chromium-"))
  mkdirSync(screenshotDir, { recursive: true })
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: flags,
    viewport: { width: 1280, height: 900 }
  })
  const problems: Array<string> = []
  // Runs before any page script (and outside the page's CSP): collects violations the page hits.
  // (Scripts for the page are strings: this test program has no DOM types.)
  await context.addInitScript(`
    window.__cspViolations = []
    document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI))
  `)
  return {
    context,
    problems,
    newPage: async (viewport) => {
      const page = await context.newPage()
      if (viewport !== undefined) await page.setViewportSize(viewport)
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`))
      page.on("console", (message) => {
        if (message.type() === "error" && /Content.Security.Policy|Trusted Type/i.test(message.text())) problems.push(message.text())
      })
      return page
    },
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }
}

/** CSP violations the page saw (recorded by the init script). */
export const cspViolations = (page: Page) => page.evaluate<Array<string>>("window.__cspViolations ?? []")

export const screenshot = async (page: Page, name: string) => {
  const file = path.join(screenshotDir, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  return file
}

/** Presses Tab until the focused element matches `selector` (keyboard-only navigation). */
export const tabTo = async (page: Page, selector: string, maxPresses = 120) => {
  for (let i = 0; i < maxPresses; i++) {
    if (await page.evaluate<boolean>(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`)) return
    await page.keyboard.press("Tab")
  }
  throw new Error(`Tab never reached ${selector}`)
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8")

/**
 * WCAG 2.1 A and AA violations axe-core finds on the page as it is now (contrast, labels, names,
 * landmarks, …), one line each. axe is evaluated through the debugging protocol, not as a page
 * script, so the page's CSP stays as strict as it is.
 */
export const accessibilityViolations = async (page: Page): Promise<Array<string>> => {
  if (!(await page.evaluate<boolean>("typeof window.axe === 'object'"))) await page.evaluate(axeSource)
  return page.evaluate<Array<string>>(`
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
      .then((r) => r.violations.flatMap((v) => v.nodes.map((n) => v.id + ": " + n.target.join(" ") + " (" + (n.failureSummary || "").split("\\n").slice(1).join(" ").trim() + ")")))
  `)
}
