import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Page } from "playwright-core"
import { readLakeTable, tenantNamespaceOf } from "../support/lake.ts"
import { createTestDatabase, pgHost, pgPort, pgUser } from "../support/postgres.ts"
import type { RunningService } from "../support/server.ts"
import { api, ISSUER, MANAGE, READ, startService } from "../support/server.ts"
import type { Browser } from "./browser.ts"
import { accessibilityViolations, chromiumPath, cspViolations, hasChromium, launchBrowser, screenshot, screenshotDir, tabTo } from "./browser.ts"

// The console in a real browser against the real service: file import (upload → preview →
// rename/drop → import → COMPLETED, rows read back with DuckDB), hostile file contents shown as
// text, a keyboard-only import, a read-only token's 403 explained, and the connector pages
// (source → test → discover → connection → trigger → history) over the local engine.

if (!hasChromium) {
  console.warn(`[console] SKIPPED the browser tests: no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`)
}

const tenant = "7c3f1d2e-4b5a-4c6d-9e8f-0a1b2c3d4e5f"
const namespace = tenantNamespaceOf(tenant)

let stateDb: ReturnType<typeof createTestDatabase>
let sourceDb: ReturnType<typeof createTestDatabase>
let service: RunningService
let browser: Browser
let manageToken: string
let readToken: string

const csv = (text: string) => Buffer.from(text.replace(/^\n/, ""), "utf8")

const signIn = async (page: Page, token: string) => {
  await page.goto(`${service.baseUrl}/console/`)
  await page.getByLabel("Bearer token").fill(token)
  await page.getByRole("button", { name: "Sign in" }).click()
  await page.getByRole("navigation", { name: "Main" }).waitFor()
}

const upload = async (page: Page, name: string, content: Buffer) => {
  await page.getByLabel("Drop files here, or choose them").setInputFiles({ name, mimeType: "text/csv", buffer: content })
}

describe.skipIf(!hasChromium)("console in a browser", () => {
  beforeAll(async () => {
    stateDb = createTestDatabase()
    sourceDb = createTestDatabase("ingest_src")
    sourceDb.exec(`
      CREATE TABLE public.orders (order_id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2));
      INSERT INTO public.orders SELECT i, 'customer ' || i, i * 1.5 FROM generate_series(1, 25) AS i;
      CREATE TABLE public.customers (customer_id bigint PRIMARY KEY, name text);
      INSERT INTO public.customers VALUES (1, 'Ada'), (2, 'Grace');
      CREATE TABLE public.big (id bigint PRIMARY KEY, payload text NOT NULL);
      INSERT INTO public.big SELECT i, repeat(md5(i::text), 8) FROM generate_series(1, 400000) AS i;`)
    service = await startService({ DATABASE_URL: stateDb.url })
    manageToken = await service.keys.sign({ tenants: [tenant], permissions: [MANAGE] }, { issuer: ISSUER, expiresIn: "30m" })
    readToken = await service.keys.sign({ tenants: [tenant], permissions: [READ] }, { issuer: ISSUER, expiresIn: "30m" })
    browser = await launchBrowser()
    console.info(`[console] screenshots in ${screenshotDir}`)
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await service?.stop()
    stateDb?.drop()
    sourceDb?.drop()
  })

  it("upload → preview → rename and drop → import → COMPLETED; the rows are in the table; the history lists it", async () => {
    const page = await browser.newPage()
    await signIn(page, manageToken)
    await upload(page, "Orders March.csv", csv(`
Order ID,Customer Name,Amount,Internal Note
1,Alice,150.00,x
2,Bob,299.50,y
3,,12.25,z
`))
    const wizard = page.locator("form.wizard")
    await wizard.getByRole("heading", { name: "Orders March.csv" }).waitFor()
    await expect.poll(() => wizard.getByTestId("total-rows").textContent()).toBe("3")
    const columns = wizard.getByRole("table", { name: /Columns/ })
    expect(await columns.getByRole("rowheader").allTextContents()).toEqual(["order_id", "customer_name", "amount", "internal_note"])
    expect(await columns.locator("tbody tr").nth(2).textContent()).toContain("DECIMAL(5,2)")
    expect(await wizard.getByRole("table", { name: /First 3 of 3 rows/ }).locator("tbody tr").first().textContent()).toContain("Alice")

    await wizard.getByLabel("Name in the table for customer_name").fill("Customer")
    await wizard.getByLabel("Keep column internal_note").uncheck()
    await wizard.getByLabel("Namespace").fill("raw")
    await wizard.getByLabel("Table", { exact: true }).fill("orders_console")
    await expect.poll(() => wizard.getByTestId("append-plan").textContent()).toContain("Creates the new table raw.orders_console with 3 columns")
    await screenshot(page, "import-preview-1280")
    expect(await accessibilityViolations(page)).toEqual([])
    await wizard.getByRole("button", { name: "Import", exact: true }).click()

    const result = wizard.getByTestId("import-result")
    await result.waitFor({ timeout: 60_000 })
    expect(await result.textContent()).toContain("COMPLETED")
    expect(await result.getByTestId("records").textContent()).toBe("3")
    expect(await result.locator("pre").textContent()).toContain(`ATTACH '${tenant}' AS lake (TYPE iceberg, ENDPOINT '${service.baseUrl}/api/v1/iceberg'`)
    await screenshot(page, "import-completed-1280")
    expect(await accessibilityViolations(page)).toEqual([])

    const table = await readLakeTable(stateDb.url, service.dataDir, [namespace, "raw"], "orders_console", "order_id")
    expect(table?.rows.map((r) => ({ ...r }))).toEqual([
      { order_id: "1", customer: "Alice", amount: "150.00" },
      { order_id: "2", customer: "Bob", amount: "299.50" },
      { order_id: "3", customer: null, amount: "12.25" }
    ])

    // A second file into the same table, under a title block: the page shows what the service
    // skipped, the append, and the type clash it would cause.
    await upload(page, "orders-april.csv", csv(`
Orders export April 2026 (sales system)

Order ID,Customer Name,Amount,Channel
4,Dora,5.00,web
`))
    await page.getByRole("button", { name: "Preview and import" }).last().click()
    const second = page.locator("form.wizard")
    await second.getByRole("heading", { name: "orders-april.csv" }).waitFor()
    expect(await second.getByRole("note", { name: "Warnings about this file" }).textContent())
      .toContain("skipped 2 lines before the header (lines 1–2)")
    await second.getByLabel("Namespace").fill("raw")
    await second.getByLabel("Table", { exact: true }).fill("orders_console")
    await second.getByLabel("Name in the table for customer_name").fill("customer")
    await expect.poll(() => second.getByTestId("append-plan").textContent())
      .toContain("Appends to the existing table raw.orders_console: 3 columns match")
    expect(await second.getByTestId("append-plan").textContent()).toContain("Adds 1 columns: channel")
    await second.getByLabel("Name in the table for customer_name").fill("amount")
    await second.getByLabel("Name in the table for amount").fill("total")
    await expect.poll(() => second.getByTestId("append-plan").textContent()).toContain("amount is DECIMAL(5,2) in the table but STRING in the file")
    expect(await second.getByRole("button", { name: "Import", exact: true }).isDisabled()).toBe(true)

    await page.getByRole("link", { name: "Import history" }).click()
    const history = page.getByTestId("import-history")
    await history.waitFor()
    const rows = await history.locator("tbody tr").allTextContents()
    expect(rows).toHaveLength(2)
    expect(rows[0]).toContain("orders-april.csv")
    expect(rows[1]).toMatch(/Orders March\.csv.*COMPLETED.*raw\.orders_console.*3/)
    expect(await cspViolations(page)).toEqual([])
    await page.close()
  })

  it("hostile file names, headers and cells are shown as text, never run", async () => {
    const page = await browser.newPage({ width: 390, height: 844 })
    await signIn(page, manageToken)
    // (a double quote would reach the service as %22: browsers escape it in multipart file names)
    const name = "<img src=x onerror=alert(document.domain)>.csv"
    await upload(page, name, csv(`
<img src=x onerror="window.__pwned='header'">,<b>note</b>
1,<script>window.__pwned='cell'</script>
2,<img src=x onerror="window.__pwned='cell2'">
`))
    const wizard = page.locator("form.wizard")
    await wizard.getByRole("heading", { name }).waitFor()
    const rows = wizard.getByRole("table", { name: /First 2 of 2 rows/ })
    expect(await rows.locator("tbody td").allTextContents()).toEqual([
      "1", "<script>window.__pwned='cell'</script>",
      "2", `<img src=x onerror="window.__pwned='cell2'">`
    ])
    expect(await page.getByText(name, { exact: true }).count()).toBeGreaterThan(0)
    expect(await page.locator("main img, main script, main b").count()).toBe(0)
    expect(await page.evaluate("window.__pwned")).toBeUndefined()
    expect(await cspViolations(page)).toEqual([])
    await screenshot(page, "hostile-file-390")
    expect(await accessibilityViolations(page)).toEqual([])
    await page.close()
  })

  it("keyboard only: sign in, choose a file, rename a column, import, and land on the result", async () => {
    const page = await browser.newPage()
    // listening before anything happens turns on the interception of file dialogs in time
    const chosen = new Promise<void>((resolve) =>
      page.once("filechooser", (chooser) =>
        chooser.setFiles({ name: "keyboard.csv", mimeType: "text/csv", buffer: csv("id,label\n1,one\n2,two\n") }).then(resolve)
      )
    )
    await page.goto(`${service.baseUrl}/console/`)
    await tabTo(page, "#token")
    await page.keyboard.insertText(manageToken)
    await tabTo(page, "button[type=submit]")
    await page.keyboard.press("Enter")
    await page.getByRole("navigation", { name: "Main" }).waitFor()

    await tabTo(page, "#file-input")
    await page.keyboard.press("Space")
    await chosen
    await page.locator("form.wizard").getByRole("heading", { name: "keyboard.csv" }).waitFor()

    await tabTo(page, "#col-1-name")
    await page.keyboard.press("Control+A")
    await page.keyboard.type("title")
    await tabTo(page, "#table")
    await page.keyboard.press("Control+A")
    await page.keyboard.type("typed_by_keyboard")
    await tabTo(page, "form.wizard button[type=submit]")
    const focusRing = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    expect(focusRing).toBe("solid")
    await page.keyboard.press("Enter")

    const result = page.getByTestId("import-result")
    await result.waitFor({ timeout: 60_000 })
    expect(await page.evaluate("document.activeElement?.getAttribute('data-testid')")).toBe("import-result")
    expect(await result.textContent()).toContain("COMPLETED")
    await screenshot(page, "keyboard-import-1280")
    const table = await readLakeTable(stateDb.url, service.dataDir, [namespace, "default"], "typed_by_keyboard", "id")
    expect(table?.rows.map((r) => ({ ...r }))).toEqual([{ id: "1", title: "one" }, { id: "2", title: "two" }])
    await page.close()
  })

  it("a refused token is explained at sign-in; a read-only token can look but an upload says which permission is missing", async () => {
    const page = await browser.newPage()
    await page.goto(`${service.baseUrl}/console/`)
    await page.getByLabel("Bearer token").fill(`${readToken.slice(0, -4)}AAAA`)
    await page.getByRole("button", { name: "Sign in" }).click()
    const refused = page.getByRole("alert")
    await refused.waitFor()
    expect(await refused.textContent()).toContain("Not signed in: the service refused the token. Token signature is invalid")
    await signIn(page, readToken)
    await upload(page, "nope.csv", csv("a\n1\n"))
    const problem = page.getByRole("alert")
    await problem.waitFor()
    expect(await problem.textContent()).toContain("Permission denied")
    expect(await problem.textContent()).toContain(`This needs ${MANAGE}. Your token grants read only (${READ})`)
    await page.getByRole("link", { name: "Import history" }).click()
    await page.getByTestId("import-history").waitFor()
    await screenshot(page, "import-history-1280")
    expect(await accessibilityViolations(page)).toEqual([])
    await page.close()
  })

  it("source → test → discover → connection with a schedule → trigger → history with a chart", async () => {
    const page = await browser.newPage()
    await signIn(page, manageToken)
    await page.getByRole("link", { name: "Sources" }).click()
    await page.getByLabel("Name", { exact: true }).fill("shop-db")
    await page.getByLabel("Connector type").selectOption("postgres")
    const config = { host: pgHost, port: pgPort, database: sourceDb.name, username: pgUser, password: "s3cret-pw", ssl_mode: "disable" }
    await page.getByLabel("Connection configuration (JSON)").fill("{ not json")
    expect(await page.locator("#config-check").textContent()).toContain("Not valid yet")
    await page.getByLabel("Connection configuration (JSON)").fill(JSON.stringify(config, null, 2))
    await page.getByRole("button", { name: "Create source" }).click()

    const detail = page.getByRole("region", { name: "shop-db" })
    await detail.waitFor()
    await detail.getByText("Saved configuration (secrets masked)").click()
    const saved = await detail.locator("details pre").textContent()
    expect(saved).toContain(`"password": "********"`)
    expect(await page.content()).not.toContain("s3cret-pw")

    await detail.getByRole("button", { name: "Test connection" }).click()
    await expect.poll(() => detail.getByTestId("source-status").textContent()).toBe("ACTIVE")
    await detail.getByRole("button", { name: "Discover streams" }).click()
    await detail.getByRole("heading", { name: "Streams (3)" }).waitFor()

    const form = page.getByRole("form", { name: "New connection from shop-db" })
    await form.getByLabel("Connection name").fill("orders-sync")
    for (const box of await form.getByRole("checkbox", { name: /^public\./ }).all()) await box.uncheck()
    await form.getByRole("checkbox", { name: /^public\.orders/ }).check()
    await form.getByLabel("Sync mode").selectOption("FULL_REFRESH")
    await form.getByLabel("On a cron schedule (UTC)").check()
    await form.getByLabel(/Cron expression/).fill("0 3 1 1 *")
    const runs = await form.getByTestId("next-runs").locator("li").allTextContents()
    const year = new Date().getUTCFullYear()
    const first = new Date() < new Date(Date.UTC(year, 0, 1, 3)) ? year : year + 1
    expect(runs).toEqual([0, 1, 2, 3, 4].map((i) => `${first + i}-01-01 03:00:00 UTC`))
    await form.getByLabel(/Cron expression/).fill("61 * * * *")
    expect(await form.locator(".problems").textContent()).toContain("Schedule:")
    await form.getByLabel(/Cron expression/).fill("0 3 1 1 *")
    await screenshot(page, "connection-form-1280")
    expect(await accessibilityViolations(page)).toEqual([])
    await form.getByRole("button", { name: "Create connection" }).click()

    const connection = page.getByRole("region", { name: "orders-sync" })
    await connection.waitFor()
    expect(page.url()).toContain("/console/connections?id=")
    for (let run = 1; run <= 2; run++) {
      await connection.getByRole("button", { name: "Trigger sync" }).click()
      await expect.poll(async () => {
        const rows = await connection.getByTestId("sync-history").locator("tbody tr").allTextContents()
        return rows.length === run && rows.every((r) => r.includes("SUCCEEDED") && r.includes("25"))
      }, { timeout: 60_000 }).toBe(true)
    }
    expect(await connection.getByRole("img", { name: /Records per run/ }).count()).toBe(1)
    await screenshot(page, "connection-history-1280")
    expect(await accessibilityViolations(page)).toEqual([])

    await page.setViewportSize({ width: 390, height: 844 })
    await page.getByRole("link", { name: "Syncs" }).click()
    const all = page.getByTestId("sync-history")
    await all.waitFor()
    expect(await all.locator("tbody tr").count()).toBe(2)
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390)
    await screenshot(page, "syncs-390")
    expect(await accessibilityViolations(page)).toEqual([])
    expect(await cspViolations(page)).toEqual([])
    await page.close()
  })

  it("cancels a running sync from its history", async () => {
    const call = api(service, manageToken, tenant)
    const source = (await call("GET", "/api/v1/sources")).body.find((s: { name: string }) => s.name === "shop-db")
    const created = await call("POST", "/api/v1/connections", { sourceId: source.id, name: "big-sync", selectedStreams: ["public.big"] })
    expect(created.status).toBe(201)
    const page = await browser.newPage()
    await signIn(page, manageToken)
    await page.goto(`${service.baseUrl}/console/connections?id=${created.body.id}`)
    const connection = page.getByRole("region", { name: "big-sync" })
    await connection.getByRole("button", { name: "Trigger sync" }).click()
    await connection.getByRole("button", { name: "Cancel sync" }).click()
    await expect.poll(() => connection.getByTestId("sync-history").locator("tbody tr").first().textContent()).toContain("CANCELLED")
    expect(await connection.getByRole("button", { name: "Cancel sync" }).count()).toBe(0)
    await page.close()
  })

  it("saw no CSP violation and no page error", () => {
    expect(browser.problems).toEqual([])
  })
})

describe.skipIf(!hasChromium)("console sign-in in dev auth mode", () => {
  let devDb: ReturnType<typeof createTestDatabase>
  let devService: RunningService
  let devBrowser: Browser

  beforeAll(async () => {
    devDb = createTestDatabase()
    devService = await startService({ DATABASE_URL: devDb.url }, { devAuth: true })
    devBrowser = await launchBrowser()
  }, 180_000)
  afterAll(async () => {
    await devBrowser?.close()
    await devService?.stop()
    devDb?.drop()
  })

  it("offers a dev token on this machine; the session lives in sessionStorage only and ends on sign-out", async () => {
    const page = await devBrowser.newPage()
    await page.goto(`${devService.baseUrl}/console/sources`)
    await page.getByLabel("Tenant id for the dev token").fill(tenant)
    await screenshot(page, "sign-in-dev-1280")
    expect(await accessibilityViolations(page)).toEqual([])
    await page.getByRole("button", { name: "Use a dev token" }).click()
    await page.getByRole("heading", { name: "Sources", level: 1 }).waitFor()
    expect(await page.getByRole("banner").textContent()).toContain(tenant)
    expect(await page.evaluate("sessionStorage.getItem('ingest.console.tenant')")).toBe(tenant)
    expect(await page.evaluate("Object.keys(localStorage).filter((k) => localStorage.getItem(k).split('.').length === 3)")).toEqual([])
    await page.getByRole("button", { name: "Sign out" }).click()
    await page.getByRole("button", { name: "Sign in" }).waitFor()
    expect(await page.evaluate("sessionStorage.length")).toBe(0)
    await page.close()
  })
})
