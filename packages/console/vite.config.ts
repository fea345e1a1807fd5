import { defineConfig } from "vite"

// The console's bundle: index.html → src/main.ts, served by the service under /console/.
// Everything is a file (no inline script, style or data: URI) so the page can run under a strict
// Content-Security-Policy; the output is committed (dist/) and checked to equal a fresh build.
export default defineConfig({
  root: import.meta.dirname,
  base: "/console/",
  publicDir: false,
  logLevel: "warn",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    chunkSizeWarningLimit: 400
  }
})
