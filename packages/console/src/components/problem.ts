// A failed API call, explained where it happened: what the service said, and for 401/403 what
// the token lacks and what to do about it.
import { useContext } from "preact/hooks"
import { ApiError } from "../api/client.ts"
import { html } from "../html.ts"
import { describeGrant, MANAGE, READ, readClaims } from "../session.ts"
import { SessionContext } from "./session-context.ts"

export type Need = "read" | "manage"

const needed = (need: Need) => (need === "manage" ? MANAGE : `${READ} (or ${MANAGE})`)

export const Problem = ({ error, need = "read", action }: { error: unknown; need?: Need; action?: string }) => {
  const session = useContext(SessionContext)
  if (error === undefined || error === null) return null
  const what = action === undefined ? "" : `Could not ${action}. `
  if (error instanceof ApiError && error.status === 401) {
    return html`<div class="problem" role="alert">
      <p><strong>Not signed in: the service refused the token.</strong> ${error.message}.</p>
      ${session === undefined
        ? null
        : html`<p>Sign in again with a valid token.</p>
          <button type="button" class="secondary" onClick=${() => session.signOut()}>Sign in again</button>`}
    </div>`
  }
  if (error instanceof ApiError && error.status === 403) {
    const claims = session === undefined ? undefined : readClaims(session.session.token)
    const tenantProblem = /tenant/i.test(error.message)
    return html`<div class="problem" role="alert">
      <p><strong>${what}Permission denied.</strong> ${error.message}.</p>
      ${tenantProblem
        ? html`<p>The token does not grant tenant <code>${session?.session.tenant}</code>. Sign in with a token for this tenant, or pick another tenant.</p>`
        : html`<p>This needs <code>${needed(need)}</code>. Your token grants ${describeGrant(claims)}.</p>`}
    </div>`
  }
  const message = error instanceof Error ? error.message : String(error)
  const status = error instanceof ApiError && error.status > 0 ? ` (${error.status})` : ""
  return html`<div class="problem" role="alert"><p><strong>${what}</strong>${message}${status}</p></div>`
}
