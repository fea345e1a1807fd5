-- The REST catalog (Lakekeeper) keeps its own state in a database of its own.
CREATE DATABASE catalog OWNER ingest;
