import { spawnSync } from "node:child_process"
import { readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { VERSION } from "../src/internal/version.js"
import { describe, expect, it } from "@effect/vitest"
import { BIN, ROOT } from "./helpers.js"

// The package as a user meets it: its own name resolves through "exports" (self-reference).
const run = (code: string) => spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: ROOT, encoding: "utf8" })

describe("package", () => {
  it("exposes the modules by name and as namespaces", () => {
    const r = run(`
      const root = await import("acttrace")
      const verify = await import("acttrace/Verify")
      const canonical = await import("acttrace/Canonical")
      console.log([typeof root.Verify.file, typeof verify.stream, typeof canonical.encode, typeof root.Signer.layerHmac].join(","))
    `)
    expect(r.stderr).toBe("")
    expect(r.stdout.trim()).toBe("function,function,function,function")
  })

  it("keeps internal modules closed", () => {
    const r = run(`await import("acttrace/internal/hmac")`)
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/)
  })

  it("ships an executable bin", () => {
    expect(statSync(BIN).mode & 0o111).not.toBe(0)
    const r = spawnSync(BIN, ["--version"], { encoding: "utf8" })
    expect(r.status).toBe(0)
    expect(r.stdout).toContain(VERSION)
  })

  it("states the version package.json has", () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version)
  })
})
