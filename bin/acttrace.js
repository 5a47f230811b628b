#!/usr/bin/env node
// The built CLI (one bundled file, for a quick start) lives in dist/, made by `npm run build`, which `npm test`, `npm run demo` and `npm pack` run (installing runs no build).
// With --db the CLI loads the database drivers (optional peers, kept out of the bundle) from
// node_modules: it then runs unbundled, so the drivers and the CLI share one copy of effect.
import { readFileSync } from "node:fs"

const db = process.argv.slice(2).some((a) => a === "--db" || a.startsWith("--db="))
import(db ? "../dist/bin/acttrace.js" : "../dist/acttrace.bundle.js").catch((e) => {
  const message = String(e && e.message)
  if (e && e.code === "ERR_MODULE_NOT_FOUND") {
    // our own build is missing, or a package the unbundled CLI imports (an optional peer)
    if (/^Cannot find module '[^']*\/dist\//.test(message)) {
      console.error("acttrace: the package is not built; run `npm run build` in its folder")
      process.exit(2)
    }
    const missing = /^Cannot find package '([^']+)'/.exec(message)
    if (missing !== null) {
      const name = missing[1]
      let range = ""
      try {
        const own = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
        range = (own.peerDependencies && own.peerDependencies[name]) || ""
      } catch {}
      console.error(`acttrace: ${db ? "with --db the CLI needs" : "the CLI needs"} the package ${name}, which is not installed: npm install ${name}${range === "" ? "" : `@${range}`}`)
      process.exit(2)
    }
  }
  throw e
})
