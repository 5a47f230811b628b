import { createHash } from "node:crypto"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Redacted from "effect/Redacted"
import * as Canonical from "../src/Canonical.js"
import { sealDigest } from "../src/Hash.js"
import * as F from "../src/internal/fixtures.js"
import { CONFORMANCE, hasShared, ROOT, tempDir } from "./helpers.js"
import { exportPack } from "./verify-cases.js"

// The worker thread only exists in the build (dist/), so this suite drives the built module.
type VerifyModule = typeof import("../src/Verify.js")
const V = (await import(join(ROOT, "dist", "Verify.js"))) as VerifyModule

const KEY = "parallel-key"
const tmp = tempDir()
afterAll(tmp.cleanup)

const run = <A>(e: Effect.Effect<A, never, import("@effect/platform/FileSystem").FileSystem>) => Effect.runPromise(e.pipe(Effect.provide(NodeFileSystem.layer)))
const show = (o: import("../src/Verify.js").Outcome) =>
  Either.match(o.result, {
    onLeft: (e) => `${e._tag} line ${e.line} seq ${e.seq}: ${e.message} | ${o.entries} ${o.head}`,
    onRight: (r) => `ok ${r.entries} ${r.head} ${r.signatures} ${r.completeness}`
  })
const both = async (path: string, options: import("../src/Verify.js").Options, threads: number) =>
  [show(await run(V.fileOutcome(path, options))), show(await run(V.fileParallel(path, { ...options, threads })))]

const specs = Array.from({ length: 600 }, (_, i) => (i % 5 === 0 ? F.mixed(6)[1 + (i % 5)]! : F.llmCall(i)))
const ours = F.chain(specs, { key: KEY })
const reference = F.chain(specs, { key: KEY, layout: "reference" })
const packOf = (c: F.Chain) => [F.metaLine({ system: "s", riskTier: "high", head: c.head, entries: c.lines.length, key: KEY }), ...c.lines]

describe("fileParallel gives the verdicts of one thread", () => {
  it("splits a clean pack and joins it", async () => {
    const path = join(tmp.dir, "clean.jsonl")
    writeFileSync(path, packOf(ours).join("\n") + "\n")
    for (const threads of [2, 3, 4]) {
      const [one, many] = await both(path, { key: Redacted.make(KEY) }, threads)
      expect(many).toBe(one)
      expect(many).toMatch(/^ok 600 .* verified signed-header$/)
      // the verdict really was joined from the ranges, not re-run on one thread
      const o = await run(V.fileParallel(path, { key: Redacted.make(KEY), threads }))
      expect(o.threads).toBe(threads)
    }
  })

  it.runIf(hasShared())("on every conformance file", async () => {
    const cases = JSON.parse(readFileSync(join(CONFORMANCE, "cases.json"), "utf8")) as Array<{ file: string; key: string | null }>
    for (const c of cases) {
      const [one, many] = await both(join(CONFORMANCE, c.file), { key: c.key === null ? undefined : Redacted.make(c.key) }, 2)
      expect(many, c.file).toBe(one)
    }
  })

  it("at the seams: deletion, swap and cut right where a range begins", async () => {
    const lines = packOf(reference)
    const mid = Math.floor(lines.length / 2)
    const variants: Record<string, Array<string>> = {
      deleted: [...lines.slice(0, mid), ...lines.slice(mid + 1)],
      swapped: [...lines.slice(0, mid), lines[mid + 1]!, lines[mid]!, ...lines.slice(mid + 2)],
      cut: lines.slice(0, mid),
      meta_twice: [...lines.slice(0, mid), lines[0]!, ...lines.slice(mid)]
    }
    for (const [name, content] of Object.entries(variants)) {
      const path = join(tmp.dir, `${name}.jsonl`)
      writeFileSync(path, content.join("\n") + "\n")
      for (const threads of [2, 3]) {
        const [one, many] = await both(path, { key: Redacted.make(KEY) }, threads)
        expect(many, `${name} / ${threads} threads`).toBe(one)
        expect(one).not.toMatch(/^ok/)
      }
    }
  })

  it.effect.prop("any byte changed anywhere", [fc.boolean(), fc.nat(), fc.constantFrom(0x22, 0x0a, 0x7d, 0x30, 0x61, 0xff), fc.boolean()], ([refLayout, pos, byte, keyed]) =>
    Effect.promise(async () => {
      const text = Buffer.from(packOf(refLayout ? reference : ours).join("\n") + "\n")
      text[pos % text.length] = byte
      const path = join(tmp.dir, "mutated.jsonl")
      writeFileSync(path, text)
      const [one, many] = await both(path, keyed ? { key: Redacted.make(KEY) } : {}, 2)
      expect(many).toBe(one)
    }), { fastCheck: { numRuns: 25 } })
})

describe("fileParallel: a sealed pack the file's first bytes do not announce", () => {
  // The seal digests every row's controls in order, so a sealed pack is verified on one thread.
  // Whether a pack is sealed must come from its header as verification read it, not from a look
  // at the file's first bytes: a blank line before the header (which verification passes over)
  // hides it from such a look.
  it("a leading blank line: the seal is judged over every row, as one thread judges it", async () => {
    const pack = await exportPack(tmp.dir, "hidden-seal", { key: KEY, decisions: 120 })
    const text = "\n" + pack
    // the cut of a two-thread run: the first line start at or after half the file
    const size = Buffer.byteLength(text)
    const cut = Buffer.from(text).indexOf(0x0a, Math.floor(size / 2)) + 1
    const [meta, ...rows] = text.slice(1).split("\n").filter((l) => l.length > 0)
    const inFirst = rows.filter((r) => Buffer.byteLength(text.slice(0, text.indexOf(r) + r.length)) <= cut)
    expect(inFirst.length).toBeGreaterThan(0)
    expect(inFirst.length).toBeLessThan(rows.length)
    // without a key, nothing authenticates the seal: anyone may write a digest into it. Write the
    // digest of the first range's rows only, which the whole pack does not have.
    const controls = (r: string) => {
      const c = (JSON.parse(r) as { controls?: unknown }).controls
      return Either.getOrThrow(Canonical.encode((c ?? null) as Canonical.Json)) + "\n"
    }
    const partial = createHash("sha256").update(inFirst.map(controls).join("")).digest()
    const m = JSON.parse(meta!) as { _meta: Record<string, unknown> & { seal: { digest: string } } }
    const rest = Object.fromEntries(Object.entries(m._meta).filter(([k]) => k !== "sig" && k !== "seal"))
    const forged = sealDigest(Either.getOrThrow(Canonical.encode(rest as Canonical.Json)), partial)
    const crafted = text.replace(m._meta.seal.digest, forged)
    expect(Buffer.byteLength(crafted)).toBe(size)
    const path = join(tmp.dir, "hidden-seal-crafted.jsonl")
    writeFileSync(path, crafted)
    const [one, many] = await both(path, {}, 2)
    expect(one).toMatch(/^HeaderInvalid .*_meta\.seal does not match/)
    expect(many).toBe(one)
    // the honest pack with a blank line before it verifies, both ways
    writeFileSync(path, text)
    const [honest, honestMany] = await both(path, { key: Redacted.make(KEY) }, 2)
    expect(honest).toMatch(/^ok /)
    expect(honestMany).toBe(honest)
  }, 60_000)
})

describe("fileParallel: a first range that holds the header and no entry", () => {
  // A keyed check of a pack whose log acttrace wrote wants a seal (its first entry, an audit_open
  // naming acttrace, says so). The first entry is where that is read: when the header alone fills
  // the first range, that entry opens the second.
  it("a seal taken out and the header padded past half the file: refused as one thread refuses it", async () => {
    const pack = await exportPack(tmp.dir, "padded", { key: KEY, decisions: 30 })
    const [meta, ...rows] = pack.split("\n").filter((l) => l.length > 0)
    const m = JSON.parse(meta!) as { _meta: Record<string, unknown> }
    expect(m._meta["seal"]).toBeDefined()
    // nothing but the seal covers `summary`: without one, anyone may write there
    const { seal: _seal, ...unsealed } = m._meta
    const padded = JSON.stringify({ _meta: { ...unsealed, summary: { note: "x".repeat(2 * rows.join("\n").length) } } })
    const path = join(tmp.dir, "padded-unsealed.jsonl")
    writeFileSync(path, [padded, ...rows].join("\n") + "\n")
    const [one, many] = await both(path, { key: Redacted.make(KEY) }, 2)
    expect(one).toMatch(/^HeaderInvalid .*_meta\.seal is missing/)
    expect(many).toBe(one)
  }, 60_000)
})

describe("fileParallel: the pack of a log whose beginning is gone", () => {
  it("verifies from its first retained entry on (startMidChain), as fileOutcome does", async () => {
    const { AuditLog, Layer, Redactor, Signer, Store } = {
      AuditLog: await import("../src/AuditLog.js"),
      Layer: await import("effect/Layer"),
      Redactor: await import("../src/Redactor.js"),
      Signer: await import("../src/Signer.js"),
      Store: await import("../src/Store.js")
    }
    const path = join(tmp.dir, "evicted.jsonl")
    await Effect.gen(function*() {
      const log = yield* AuditLog.AuditLog
      for (let i = 0; i < 300; i++) yield* log.withDecision({ input: { i }, actor: "agent" }, (d) => d.record({ i }))
      yield* log.export(path, { framework: "gdpr" })
    }).pipe(
      Effect.provide(
        AuditLog.layer({ system: "evicted", riskTier: "high" }).pipe(
          Layer.provide(Store.layerMemory({ capacity: 400 })),
          Layer.provide(Signer.layerHmac(Redacted.make(KEY))),
          Layer.provide(Redactor.layerDefault),
          Layer.provideMerge(NodeFileSystem.layer)
        )
      ),
      Effect.runPromise
    )
    const options = { key: Redacted.make(KEY), startMidChain: true }
    const [one, many] = await both(path, options, 2)
    expect(one).toMatch(/^ok 400 .* verified signed-header$/)
    expect(many).toBe(one)
    // our packs are sealed: one thread reads it all
    expect((await run(V.fileParallel(path, { ...options, threads: 2 }))).threads).toBe(1)
  }, 60_000)
})
