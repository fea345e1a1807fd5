// The signed-in session and client, for every view below the shell.
import { createContext } from "preact"
import type { Client } from "../api/client.ts"
import type { Session } from "../session.ts"

export interface SessionValue {
  readonly session: Session
  readonly client: Client
  readonly signOut: () => void
}

export const SessionContext = createContext<SessionValue | undefined>(undefined)
