#!/usr/bin/env node
// Launcher for the `ingest` CLI: registers tsx so Node runs the TypeScript sources directly.
import { register } from "tsx/esm/api"

register()
await import("../src/main.ts")
