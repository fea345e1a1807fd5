// The console's entry: the session (sessionStorage) → sign-in or the shell → the view the path
// names (/console/, /console/imports, /console/sources, /console/connections, /console/syncs).
// Everything goes through the service's public API with the session's token.
import { render } from "preact"
import { useEffect, useMemo, useRef, useState } from "preact/hooks"
import { makeClient } from "./api/client.ts"
import { SessionContext } from "./components/session-context.ts"
import { html } from "./html.ts"
import type { Route } from "./router.ts"
import { hrefOf, onLinkClick, useRoute } from "./router.ts"
import type { Session } from "./session.ts"
import { clearSession, describeGrant, loadSession, readClaims, saveSession } from "./session.ts"
import { ConnectionsView, SyncsView } from "./views/connections.ts"
import { ImportView } from "./views/import.ts"
import { ImportsView } from "./views/imports.ts"
import { SignIn } from "./views/sign-in.ts"
import { SourcesView } from "./views/sources.ts"
import "./styles.css"

const views: Record<Route, { title: string; view: () => unknown }> = {
  import: { title: "Import files", view: ImportView },
  imports: { title: "Import history", view: ImportsView },
  sources: { title: "Sources", view: SourcesView },
  connections: { title: "Connections", view: ConnectionsView },
  syncs: { title: "Syncs", view: SyncsView }
}

const App = () => {
  const [session, setSession] = useState<Session | undefined>(loadSession)
  const route = useRoute()
  const main = useRef<HTMLElement>(null)
  const client = useMemo(() => (session === undefined ? undefined : makeClient(session)), [session])
  const signOut = () => {
    clearSession()
    setSession(undefined)
  }
  useEffect(() => {
    document.title = `${views[route].title} · Ingestion console`
  }, [route])
  const first = useRef(true)
  useEffect(() => {
    // after a navigation, move focus to the new view so keyboard and screen-reader users land there
    if (first.current) first.current = false
    else main.current?.focus()
  }, [route])

  if (session === undefined || client === undefined) {
    return html`<${SignIn} onSignedIn=${(s: Session) => {
      saveSession(s)
      setSession(s)
    }} />`
  }
  const claims = readClaims(session.token)
  const View = views[route].view
  return html`<${SessionContext.Provider} value=${{ session, client, signOut }}>
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <span class="brand">Ingestion console</span>
      <nav aria-label="Main">
        <ul>${(Object.keys(views) as Array<Route>).map((r) => html`<li>
          <a href=${hrefOf(r)} aria-current=${r === route ? "page" : undefined} onClick=${onLinkClick(r)}>${views[r].title}</a>
        </li>`)}</ul>
      </nav>
      <div class="who">
        <span title=${describeGrant(claims)}>Tenant <code>${session.tenant}</code></span>
        <button type="button" class="secondary" onClick=${signOut}>Sign out</button>
      </div>
    </header>
    <main id="main" tabindex="-1" ref=${main}><${View} /></main>
  <//>`
}

render(html`<${App} />`, document.getElementById("app")!)
