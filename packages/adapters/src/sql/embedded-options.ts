import type { PGliteOptions } from "@electric-sql/pglite"

/**
 * Settings of the embedded database. A 16 MB buffer cache instead of PostgreSQL's 128 MB: the
 * service's state is small and its queries are short, and PGlite's cache is memory of the service
 * process itself (about 110 MiB less resident memory).
 */
export const embeddedOptions: PGliteOptions = {
  postgresqlconf: "shared_buffers = 16MB"
}
