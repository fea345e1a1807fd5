import type { ObjectStore } from "@ingest/domain"

// Iceberg metadata records absolute URIs; the object store speaks relative keys. These helpers
// translate between the two for locations inside the store's root.

/** The store's root URI, ending in `/`. */
export const storeRootUri = (store: ObjectStore): string => {
  const probe = store.uri("x")
  return probe.slice(0, -1)
}

/** The store key of an absolute URI, or undefined when the URI lies outside the store. */
export const keyOfUri = (store: ObjectStore, uri: string): string | undefined => {
  const root = storeRootUri(store)
  if (!uri.startsWith(root)) return undefined
  const rest = uri.slice(root.length)
  if (rest.length === 0) return undefined
  // file: URIs are percent-encoded (pathToFileURL); keys are not.
  return root.startsWith("file:") ? rest.split("/").map(decodeURIComponent).join("/") : rest
}

/** Default location of a table: `<warehouse>/<namespace levels>/<table>`. */
export const defaultTableLocation = (store: ObjectStore, namespace: ReadonlyArray<string>, name: string): string =>
  `${storeRootUri(store)}${[...namespace, name].map(encodePathSegment(store)).join("/")}`

const encodePathSegment = (store: ObjectStore) => (segment: string): string =>
  storeRootUri(store).startsWith("file:") ? encodeURIComponent(segment) : segment
