import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Canonical from "../src/Canonical.js"
import * as Hash from "../src/Hash.js"
import * as Signer from "../src/Signer.js"
import * as Effect from "effect/Effect"
import { cliInProcess } from "./cli-in-process.js"
import { type CliResult, cliAsync, CONFORMANCE, hasShared, mapLimit, tagOf, verifyFile } from "./helpers.js"

interface Case {
  readonly file: string
  readonly key: string | null
  readonly verdict: string
  readonly entries?: number
  readonly head?: string
  readonly expected_head?: string
  readonly expect_entries?: number
}

const shared = hasShared()
const cases: ReadonlyArray<Case> = shared ? JSON.parse(readFileSync(join(CONFORMANCE, "cases.json"), "utf8")) : []
const label = (c: Case) =>
  `${c.file} key=${c.key ?? "none"}${c.expected_head ? " expected-head" : ""}${c.expect_entries ? ` expect-entries=${c.expect_entries}` : ""} -> ${c.verdict}`

// Without the material, one skipped test says so in the report (an empty `it.each` would say nothing).
if (!shared) {
  describe("shared conformance material", () => {
    it.skip(`${CONFORMANCE} is absent: its cases did not run (test/own-conformance.test.ts ran the project's own)`, () => {})
  })
}

describe.runIf(shared)("conformance cases through the library", () => {
  it.each(cases)("$file", async (c) => {
    const o = await verifyFile(join(CONFORMANCE, c.file), {
      key: c.key === null ? undefined : Redacted.make(c.key),
      expectedHead: c.expected_head,
      expectedEntries: c.expect_entries
    })
    expect(tagOf(o), label(c)).toBe(c.verdict)
    if (c.verdict === "ok") {
      const r = Either.getOrThrow(o.result)
      expect(r.entries).toBe(c.entries)
      expect(r.head).toBe(c.head)
    }
  })
})

const argsOf = (c: Case): Array<string> => {
  const args = ["verify", join(CONFORMANCE, c.file), "--json"]
  if (c.key !== null) args.push("--key", c.key)
  if (c.expected_head) args.push("--expected-head", c.expected_head)
  if (c.expect_entries) args.push("--expect-entries", String(c.expect_entries))
  return args
}

const holds = (c: Case, r: CliResult) => {
  const out = JSON.parse(r.stdout) as { ok: boolean; entries: number; head: string; error?: { _tag: string } }
  if (c.verdict === "ok") {
    expect(r.code, label(c)).toBe(0)
    expect(out).toMatchObject({ ok: true, entries: c.entries, head: c.head })
  } else {
    expect(r.code, label(c)).toBe(1)
    expect(out.ok).toBe(false)
    expect(out.error?._tag).toBe(c.verdict)
  }
}

describe.runIf(shared)("conformance cases through the CLI (--json)", () => {
  it.each(cases)("$file", async (c) => holds(c, await cliInProcess(argsOf(c))))

  // the executable adds its wiring (bin, bundle, exit code): the first case of each verdict
  it("through the built executable, one case of each verdict", async () => {
    const firsts = [...new Map(cases.map((c) => [c.verdict, c] as const)).values()].reverse()
    const unique = [...new Map(firsts.map((c) => [c.verdict, c] as const)).values()]
    const results = await mapLimit(unique, 2, (c) => cliAsync(argsOf(c)))
    unique.forEach((c, i) => holds(c, results[i]!))
    expect(unique.length).toBeGreaterThanOrEqual(6)
  })
})

describe.runIf(shared)("reference anchors", () => {
  interface HashCase { prevHash: string; seq: number; ts: string; type: string; canonicalBody: string; hash: string }
  const hashes: ReadonlyArray<HashCase> = shared ? JSON.parse(readFileSync(join(CONFORMANCE, "reference", "hashes.json"), "utf8")).cases : []
  it.each(hashes)("hashes.json seq $seq", (c) => {
    // the payload goes through the lexeme-preserving reader, so 2.0 stays a float
    const text = readFileSync(join(CONFORMANCE, "reference", "hashes.json"), "utf8")
    const tree = Either.getOrThrow(Canonical.parse(text)) as { cases: Array<{ payload: Canonical.Json }> }
    const payload = tree.cases[c.seq]!.payload
    const body = Either.getOrThrow(Hash.body({ payload, seq: c.seq, ts: c.ts, type: c.type }))
    expect(body).toBe(c.canonicalBody)
    expect(Hash.chainHash(c.prevHash, body)).toBe(c.hash)
  })

  it.effect("meta-sig.json", () =>
    Effect.gen(function*() {
      const m = JSON.parse(readFileSync(join(CONFORMANCE, "reference", "meta-sig.json"), "utf8"))
      const body = Either.getOrThrow(Canonical.encode({ entries: m.meta.entries, head_hash: m.meta.head_hash, risk_tier: m.meta.risk_tier, system: m.meta.system }))
      expect(body).toBe(m.canonicalBody)
      const signer = yield* Signer.makeHmac(Redacted.make(m.key))
      expect(signer.signText(body)).toBe(m.sig)
      expect(signer.verifyText(body, m.sig)).toBe(true)
    }))
})

describe("the format's own anchor (FORMAT A.2)", () => {
  it("hashes the documented audit_open entry", () => {
    const h = Either.getOrThrow(
      Hash.entryHash(Hash.GENESIS, { payload: { system: "s", risk_tier: "limited" }, seq: 0, ts: "2026-07-05T12:00:00+00:00", type: "audit_open" })
    )
    expect(h).toBe("9b7e886733b448dc9d47173807292346e88ee308deccad81ccbbb32b03d1dda0")
  })
})
