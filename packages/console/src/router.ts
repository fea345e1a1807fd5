// Paths under /console/ name the views; links and back/forward move between them without reloads.
import { useEffect, useState } from "preact/hooks"

export const base = "/console"

export type Route = "import" | "imports" | "sources" | "connections" | "syncs"

const routes: Record<string, Route> = {
  "": "import",
  import: "import",
  imports: "imports",
  sources: "sources",
  connections: "connections",
  syncs: "syncs"
}

export const routeOf = (pathname: string): Route => {
  const rest = pathname.startsWith(base) ? pathname.slice(base.length).replace(/^\/+|\/+$/g, "") : ""
  return routes[rest] ?? "import"
}

export const hrefOf = (route: Route) => `${base}/${route === "import" ? "" : route}`

export const navigate = (route: Route, id?: string) => {
  const href = `${hrefOf(route)}${id === undefined ? "" : `?id=${encodeURIComponent(id)}`}`
  if (`${location.pathname}${location.search}` !== href) history.pushState(null, "", href)
  dispatchEvent(new PopStateEvent("popstate"))
}

export const useRoute = (): Route => {
  const [route, setRoute] = useState(() => routeOf(location.pathname))
  useEffect(() => {
    const update = () => setRoute(routeOf(location.pathname))
    addEventListener("popstate", update)
    return () => removeEventListener("popstate", update)
  }, [])
  return route
}

/** A click on an in-app link: history navigation unless the user asked for a new tab. */
export const onLinkClick = (route: Route) => (event: MouseEvent) => {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
  event.preventDefault()
  navigate(route)
}

/** The `id` the current address names (e.g. the connection just created). */
export const idInAddress = (): string | undefined => new URLSearchParams(location.search).get("id") ?? undefined
