#!/usr/bin/env node
// The built CLI (one bundled file, for a quick start) lives in dist/, made by `npm run build`, which `npm test`, `npm run demo` and `npm pack` run (installing runs no build).
// With --db the CLI loads the database drivers (optional peers, kept out of the bundle) from
// node_modules: it then runs unbundled, so the drivers and the CLI share one copy of effect.
const db = process.argv.slice(2).some((a) => a === "--db" || a.startsWith("--db="))
import(db ? "../dist/bin/acttrace.js" : "../dist/acttrace.bundle.js").catch((e) => {
  if (e && e.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes("dist")) {
    console.error("acttrace: the package is not built; run `npm run build` in its folder")
    process.exit(2)
  }
  throw e
})
