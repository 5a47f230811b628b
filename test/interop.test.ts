import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import { BIN, ROOT, tempDir, verifyFile } from "./helpers.js"

const KEY = "interop-key"
const tmp = tempDir()
afterAll(tmp.cleanup)

const python = spawnSync("python3", ["--version"], { encoding: "utf8" })
const hasPython = python.status === 0
if (!hasPython && process.env["CI"] === "true") throw new Error("CI=true but python3 is missing")
if (!hasPython) console.warn("SKIPPED: python3 not found; the interop suite needs it")

/** Numbers and keys where a careless writer and a Python reader part ways. */
const tricky = {
  small: 1e-5,
  smaller: 1.5e-7,
  big: 1e16,
  negative_zero: -0,
  beyond_2_53: 2n ** 53n + 1n,
  half: 12.5,
  // integer-valued doubles are integers to a JavaScript writer: digits, as Python then reads them
  float_big: 1.2345678901234568e17,
  "😀 astral": "key above the BMP",
  "ｚ fullwidth": "sorts before the astral key in code points",
  nested: { "\u{1F600}": [1.5, -2.25, 0.1], plain: "tab\there, quote \" and backslash \\ and é" }
}

const writePack = (dir: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const log = yield* AuditLog.AuditLog
      yield* log.withDecision({ input: tricky, actor: "agent" }, (d) => d.record(tricky))
      return yield* log.export(join(dir, "pack.jsonl"), { framework: "gdpr" })
    }).pipe(
      Effect.provide(
        AuditLog.layer({ system: "interop", riskTier: "limited" }).pipe(
          Layer.provide(Store.layerFile(join(dir, "log.jsonl"))),
          Layer.provide(Signer.layerHmac(Redacted.make(KEY))),
          Layer.provide(Redactor.layerDefault),
          Layer.provideMerge(NodeFileSystem.layer)
        )
      ),
      Effect.scoped
    )
  )

describe.skipIf(!hasPython)("interop: a Python verifier written from FORMAT part A", () => {
  it("verifies our packs and logs, with the numbers and keys that trip writers up", async () => {
    const done = await writePack(tmp.dir)
    const pack = join(tmp.dir, "pack.jsonl")
    const text = readFileSync(pack, "utf8")
    // the lexemes Python's repr writes
    for (const lexeme of ['"small":1e-05', '"smaller":1.5e-07', '"big":10000000000000000', '"negative_zero":0', '"beyond_2_53":9007199254740993', '"half":12.5', '"float_big":123456789012345680']) {
      expect(text).toContain(lexeme)
    }
    const py = (path: string) => spawnSync("python3", [join(ROOT, "test/fixtures/verify_pack.py"), path, KEY], { encoding: "utf8" })
    const r = py(pack)
    expect(r.stderr).toBe("")
    expect(r.stdout.trim()).toBe(`ok ${done.entries} ${done.head}`)
    expect(py(join(tmp.dir, "log.jsonl")).stdout.trim()).toBe(`ok ${done.entries} ${done.head}`)
    // and ours agrees, with the seal checked
    const v = await verifyFile(pack, { key: Redacted.make(KEY) })
    expect(Either.isRight(v.result) && v.result.right.head).toBe(done.head)
    // the Python verifier is not a rubber stamp
    const edited = join(tmp.dir, "edited.jsonl")
    writeFileSync(edited, text.replace('"half":12.5', '"half":12.25'))
    expect(py(edited).status).toBe(1)
  })

  it("round-trips through the CLI: export a log, verify the pack", () => {
    const log = join(tmp.dir, "log.jsonl")
    const out = join(tmp.dir, "cli-pack.jsonl")
    const r = spawnSync(process.execPath, [BIN, "export", log, "--out", out, "--framework", "eu_ai_act", "--key", KEY], { encoding: "utf8" })
    expect(r.stderr).toBe("")
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^exported \d+ entries to .*cli-pack\.jsonl, head [0-9a-f]{12}… \(signed and sealed; framework: eu_ai_act, \d+ controls\)/)
    const v = spawnSync(process.execPath, [BIN, "verify", out, "--key", KEY, "--json"], { encoding: "utf8" })
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, completeness: "signed-header", signatures: "verified" })
    const py = spawnSync("python3", [join(ROOT, "test/fixtures/verify_pack.py"), out, KEY], { encoding: "utf8" })
    expect(py.stdout).toMatch(/^ok /)
  })
})

describe("acttrace export: bad input", () => {
  const run = (...args: Array<string>) => spawnSync(process.execPath, [BIN, "export", ...args], { encoding: "utf8", env: { ...process.env, ACTTRACE_KEY: "" } })

  it("names what is wrong: framework, key, missing file, a pack given as a log", async () => {
    const dir = tmp.dir
    const log = join(dir, "bad-input-log.jsonl")
    await Effect.runPromise(
      Effect.gen(function* () {
        const l = yield* AuditLog.AuditLog
        yield* l.append("decision_record", { x: 1 })
      }).pipe(
        Effect.provide(
          AuditLog.layer({ system: "s", riskTier: null }).pipe(
            Layer.provide(Store.layerFile(log)),
            Layer.provide(Signer.layerHmac(Redacted.make(KEY))),
            Layer.provide(Redactor.layerDefault),
            Layer.provideMerge(NodeFileSystem.layer)
          )
        ),
        Effect.scoped
      )
    )
    const out = join(dir, "never.jsonl")
    const unknown = run(log, "--out", out, "--framework", "sox", "--key", KEY)
    expect(unknown.status).toBe(2)
    expect(unknown.stderr).toContain('error: unknown framework "sox": use one of eu_ai_act, iso_42001, gdpr, nist_rmf')
    const noKey = run(log, "--out", out)
    expect(noKey.status).toBe(2)
    expect(noKey.stderr).toMatch(/is signed \(key id [0-9a-f]{16}\); give its key/)
    const wrongKey = run(log, "--out", out, "--key", "other")
    expect(wrongKey.status).toBe(2)
    expect(wrongKey.stderr).toMatch(/signed with key id [0-9a-f]{16}; the key given has id/)
    const missing = run(join(dir, "nope.jsonl"), "--out", out, "--key", KEY)
    expect(missing.status).toBe(1)
    expect(missing.stderr).toMatch(/^error: cannot open .*nope\.jsonl: no such file or directory\n$/)
    const packOut = join(dir, "p.jsonl")
    expect(run(log, "--out", packOut, "--key", KEY).status).toBe(0)
    const again = run(packOut, "--out", join(dir, "p2.jsonl"), "--key", KEY)
    expect(again.status).toBe(1)
    expect(again.stderr).toMatch(/^error: .*p\.jsonl is not a live log: it is an evidence pack/)
    expect(existsSync(out)).toBe(false)
  })
})
