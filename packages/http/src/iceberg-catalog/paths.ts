/** Where the Iceberg REST catalog endpoint is served: its base URI for engines. */
export const catalogBasePath = "/api/v1/iceberg"
