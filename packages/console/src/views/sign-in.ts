// Sign-in: paste a bearer token, pick the tenant it grants, check it against the service.
// In dev auth mode, from this machine only, the service offers to mint a dev token instead.
import { useEffect, useState } from "preact/hooks"
import { makeClient } from "../api/client.ts"
import { Problem } from "../components/problem.ts"
import { SessionContext } from "../components/session-context.ts"
import { formatTime } from "../format.ts"
import { html } from "../html.ts"
import type { Session } from "../session.ts"
import { describeGrant, isTenantId, readClaims } from "../session.ts"

const devTenantKey = "ingest.console.dev-tenant"

/** Checks the session against the service with a read every token needs. */
const verify = async (session: Session) => {
  await makeClient(session).sources.list()
}

export const SignIn = ({ onSignedIn, reason }: { onSignedIn: (session: Session) => void; reason?: string | undefined }) => {
  const [token, setToken] = useState("")
  const [tenant, setTenant] = useState("")
  const [error, setError] = useState<unknown>(undefined)
  const [busy, setBusy] = useState(false)
  const [devAvailable, setDevAvailable] = useState(false)
  const [devTenant, setDevTenant] = useState(() => localStorage.getItem(devTenantKey) ?? crypto.randomUUID())
  const trimmed = token.trim()
  const claims = trimmed === "" ? undefined : readClaims(trimmed)

  useEffect(() => {
    fetch("/console/dev-token", { cache: "no-store" }).then((r) => setDevAvailable(r.status === 200), () => setDevAvailable(false))
  }, [])

  // A token that grants tenants decides among them: its first unless another of them is chosen.
  // Derived as the page renders, not set by an effect after it: an effect runs after the next
  // paint, and a sign-in submitted before that went out with no tenant.
  const chosenTenant = claims !== undefined && claims.tenants.length >= 1 && !claims.tenants.includes(tenant) ? claims.tenants[0]! : tenant

  const signIn = async (session: Session) => {
    setBusy(true)
    setError(undefined)
    try {
      await verify(session)
      onSignedIn(session)
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }

  const submit = (event: Event) => {
    event.preventDefault()
    if (trimmed === "") return setError(new Error("Paste a token first"))
    if (!isTenantId(chosenTenant.trim())) return setError(new Error("The tenant must be a tenant id (a UUID)"))
    void signIn({ token: trimmed, tenant: chosenTenant.trim().toLowerCase() })
  }

  const useDevToken = async (event: Event) => {
    event.preventDefault()
    const chosen = devTenant.trim().toLowerCase()
    if (!isTenantId(chosen)) return setError(new Error("The tenant must be a tenant id (a UUID)"))
    setBusy(true)
    setError(undefined)
    try {
      const response = await fetch("/console/dev-token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ tenantId: chosen }),
        cache: "no-store"
      })
      const body = await response.json() as { token?: string; message?: string }
      if (!response.ok || body.token === undefined) throw new Error(body.message ?? `The service answered ${response.status}`)
      localStorage.setItem(devTenantKey, chosen)
      await signIn({ token: body.token, tenant: chosen })
    } catch (e) {
      setError(e)
      setBusy(false)
    }
  }

  const many = claims !== undefined && claims.tenants.length > 1
  const none = claims === undefined || claims.tenants.length === 0
  return html`<main id="main" class="sign-in" tabindex="-1">
    <h1>Ingestion console</h1>
    <p class="lede">Sign in with a bearer token (a JWT) that grants a tenant. It is kept in this tab only and forgotten when the tab closes.</p>
    ${reason === undefined ? null : html`<p class="notice" role="status">${reason}</p>`}
    <form onSubmit=${submit} class="card" aria-labelledby="token-heading">
      <h2 id="token-heading">Use a token</h2>
      <label for="token">Bearer token</label>
      <textarea id="token" name="token" rows="4" spellcheck=${false} autocomplete="off" required
        aria-describedby="token-help" value=${token} onInput=${(e: Event) => setToken((e.target as HTMLTextAreaElement).value)}></textarea>
      <p id="token-help" class="help">From your identity provider, or <code>${"npm run ingest -- token --tenant <uuid>"}</code> in dev mode.</p>
      ${trimmed !== "" && claims === undefined ? html`<p class="warning">This does not look like a JWT; the service will likely refuse it.</p>` : null}
      ${claims === undefined ? null : html`<dl class="facts">
        <dt>Subject</dt><dd>${claims.subject ?? "—"}</dd>
        <dt>Grants</dt><dd>${describeGrant(claims)}</dd>
        <dt>Expires</dt><dd>${claims.expiresAt === null ? "—" : formatTime(new Date(claims.expiresAt).toISOString())}</dd>
      </dl>`}
      ${many
        ? html`<label for="tenant">Tenant</label>
          <select id="tenant" value=${chosenTenant} onChange=${(e: Event) => setTenant((e.target as HTMLSelectElement).value)}>
            ${claims.tenants.map((t) => html`<option value=${t}>${t}</option>`)}
          </select>`
        : none
        ? html`<label for="tenant">Tenant id</label>
          <input id="tenant" value=${tenant} autocomplete="off" spellcheck=${false} placeholder="00000000-0000-0000-0000-000000000000"
            onInput=${(e: Event) => setTenant((e.target as HTMLInputElement).value)} />`
        : html`<p>Tenant <code>${chosenTenant}</code></p>`}
      <div class="actions"><button type="submit" disabled=${busy}>${busy ? "Checking…" : "Sign in"}</button></div>
    </form>
    ${devAvailable
      ? html`<form onSubmit=${useDevToken} class="card" aria-labelledby="dev-heading">
        <h2 id="dev-heading">Dev mode</h2>
        <p>The service runs without an identity provider (dev auth mode) and you are on the same machine, so it can mint a token for you.</p>
        <label for="dev-tenant">Tenant id for the dev token</label>
        <input id="dev-tenant" value=${devTenant} autocomplete="off" spellcheck=${false}
          onInput=${(e: Event) => setDevTenant((e.target as HTMLInputElement).value)} />
        <div class="actions">
          <button type="submit" disabled=${busy}>Use a dev token</button>
          <button type="button" class="secondary" onClick=${() => setDevTenant(crypto.randomUUID())}>New tenant id</button>
        </div>
      </form>`
      : null}
    <${SessionContext.Provider} value=${undefined}><${Problem} error=${error} action="sign in" /><//>
  </main>`
}
