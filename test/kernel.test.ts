import { spawnSync } from "node:child_process"
import { createHmac } from "node:crypto"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { FastLine, FastReference, plainAt } from "../src/internal/fast.js"
import * as F from "../src/internal/fixtures.js"
import { Kernel, R_NEXT, RUN } from "../src/internal/kernel.js"
import { BIN, rng, tempDir } from "./helpers.js"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { NodeFileSystem } from "@effect/platform-node"
import * as AuditLog from "../src/AuditLog.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"

const KEY = "kernel-test-key"
const tmp = tempDir()
afterAll(tmp.cleanup)

const make = (key?: string): Kernel => {
  const k = Kernel.make(key === undefined ? undefined : Buffer.from(key, "utf8"))
  if (k === undefined) throw new Error("no WebAssembly in the test runtime")
  return k
}

/** The lines the kernel takes from `text`, run after run; and the messages it laid out. */
const take = (k: Kernel, text: Buffer): { lines: number; messages: Array<string>; hashes: number; macs: number } => {
  k.load(text, 0, text.length)
  let p = 0
  let lines = 0
  let hashes = 0
  let macs = 0
  const messages: Array<string> = []
  for (;;) {
    const n = k.scan(p)
    if (n === 0) break
    lines += n
    macs += k.macCheck(n)
    for (let j = 0; j < n; j++) {
      if (k.hashHolds(j)) hashes++
      messages.push(k.message(j))
    }
    p = k.at(n - 1, R_NEXT)
  }
  return { lines, messages, hashes, macs }
}

/** A sealed pack of 60 entries written by the AuditLog (made before the tests). */
let sealed = ""
beforeAll(async () => {
  const out = join(tmp.dir, "sealed.pack.jsonl")
  await Effect.runPromise(
    Effect.gen(function* () {
      const log = yield* AuditLog.AuditLog
      for (let i = 0; i < 20; i++) yield* log.withDecision({ input: { i }, actor: "a" }, (d) => d.record({ i }))
      yield* log.export(out, { framework: "gdpr" })
    }).pipe(
      Effect.provide(
        AuditLog.layer({ system: "k", riskTier: null }).pipe(
          Layer.provide(Store.layerMemory()),
          Layer.provide(Signer.layerHmac(Redacted.make(KEY))),
          Layer.provide(Redactor.layerDefault),
          Layer.provideMerge(NodeFileSystem.layer)
        )
      )
    )
  )
  sealed = readFileSync(out, "utf8")
})
const sealedPack = () => sealed

const isHex = (s: string) => /^[0-9a-f]{64}$/.test(s)

// Keys without escapes (the fast paths leave escaped keys to the general reader), values of every
// kind: strings with escapes and astral characters, integers beyond 2^53, doubles in plain form.
const keyArb = fc.string({ unit: "grapheme", minLength: 0, maxLength: 8 }).filter((k) => !/["\\\u0000-\u001f]/.test(k))
// (at most 15 significant digits: longer ones go to the general reader on purpose, see fast.ts)
const doubleArb = fc
  .tuple(fc.integer({ min: -(10 ** 12), max: 10 ** 12 }), fc.integer({ min: 1, max: 6 }))
  .map(([n, k]) => n / 10 ** k)
  .filter((x) => !Number.isInteger(x) && Math.abs(x) >= 1e-4)
const leafArb = fc.oneof(
  fc.string({ unit: "binary", maxLength: 30 }).filter((v) => !/[\ud800-\udfff]/.test(v.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""))),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  doubleArb,
  fc.boolean(),
  fc.constant(null)
)
const payloadArb = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, leafArb, fc.array(tie("value"), { maxLength: 4 }), tie("object")),
  object: fc.dictionary(keyArb, tie("value"), { maxKeys: 6 })
})).object as fc.Arbitrary<Record<string, unknown>>

describe("the WebAssembly kernel", () => {
  it.prop("computes HMAC-SHA256 in its SIMD lanes exactly as createHmac does", [fc.uint8Array({ minLength: 1, maxLength: 130 }), fc.uint8Array({ minLength: 64, maxLength: 64 })], ([key, message]) => {
    const k = Kernel.make(key)!
    expect(k.hmacHex(message)).toBe(createHmac("sha256", key).update(message).digest("hex"))
  }, { fastCheck: { numRuns: 300 } })

  it.each(["ours", "reference"] as const)("takes every line of an untouched pack (%s layout), across runs, with the messages of the JavaScript path", (layout) => {
    const specs = Array.from({ length: RUN * 2 + 37 }, (_, i) => F.llmCall(i))
    const { lines } = F.chain(specs, { key: KEY, layout })
    const text = Buffer.from(lines.join("\n") + "\n")
    const got = take(make(KEY), text)
    expect(got.lines).toBe(lines.length)
    expect(got.hashes).toBe(lines.length)
    expect(got.macs).toBe(lines.length)
    const f = layout === "ours" ? new FastLine() : new FastReference()
    const expected = lines.map((l) => {
      const b = Buffer.from(l)
      expect(f.parse(b, 0, b.length)).toBe(true)
      return f.message(b, 0).toString("latin1")
    })
    expect(got.messages).toEqual(expected)
    // CRLF line ends too
    expect(take(make(KEY), Buffer.from(lines.join("\r\n") + "\r\n")).lines).toBe(lines.length)
    // under a wrong key every line is still taken, and the HMAC check stops at the first
    expect(take(make("wrong"), text)).toMatchObject({ lines: lines.length, hashes: lines.length, macs: 0 })
  })

  it.prop("takes a changed line exactly when the JavaScript fast paths do, with the same message", [fc.boolean(), fc.integer({ min: 0, max: 11 }), fc.nat(), fc.constantFrom(0x22, 0x5c, 0x00, 0x0d, 0x20, 0x30, 0x31, 0x2e, 0x2d, 0x65, 0x61, 0x41, 0x7a, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x75, 0xc3, 0xff), fc.boolean(), fc.boolean()], ([reference, i, pos, byte, keyed, controls]) => {
    const { lines } = F.chain(F.mixed(12), { key: keyed ? KEY : undefined, layout: reference ? "reference" : "ours" })
    const text = reference && controls ? lines[i]!.replace(/\}$/, ', "controls": ["Art.12 record-keeping", "GOVERN 1.4"]}') : lines[i]!
    const line = Buffer.from(text)
    line[pos % line.length] = byte
    const f = reference ? new FastReference() : new FastLine()
    const js = f.parse(line, 0, line.length)
    // the kernel also checks what the JavaScript paths leave to the comparisons after them
    const hashField = js ? line.toString("latin1", f.hashAt, f.hashAt + 64) : ""
    const expected = js && isHex(hashField) && (f.sigLen === 0 || plainAt(line, f.sigAt, 64))
    const k = make(keyed ? KEY : undefined)
    k.load(Buffer.concat([line, Buffer.from("\n")]), 0, line.length + 1)
    const n = k.scan(0)
    expect(n === 1).toBe(expected)
    if (expected) expect(k.message(0)).toBe(f.message(line, 0).toString("latin1"))
  }, { fastCheck: { numRuns: 4000 } })

  it.prop("rewrites any payload of the reference layout into the canonical message of our layout", [fc.array(payloadArb, { minLength: 1, maxLength: 6 }), fc.boolean()], ([payloads, keyed]) => {
    const specs = payloads.map((payload) => ({ type: "record", payload }))
    const k = keyed ? KEY : undefined
    const ours = F.chain(specs, { key: k }).lines
    const reference = F.chain(specs, { key: k, layout: "reference" }).lines
    const a = take(make(k), Buffer.from(ours.join("\n") + "\n"))
    const b = take(make(k), Buffer.from(reference.join("\n") + "\n"))
    expect(a.lines).toBe(specs.length)
    expect(b.lines).toBe(specs.length)
    expect(b.messages).toEqual(a.messages)
    expect(b.hashes).toBe(specs.length)
    expect(b.macs).toBe(keyed ? specs.length : 0)
  }, { fastCheck: { numRuns: 400 } })

  it("stops a run where two neighbours do not link, and never reads past a line without its newline", () => {
    const { lines } = F.chain(Array.from({ length: 10 }, (_, i) => F.llmCall(i)), { key: KEY })
    const swapped = [...lines]
    ;[swapped[4], swapped[5]] = [swapped[5]!, swapped[4]!]
    const k = make(KEY)
    const text = Buffer.from(swapped.join("\n") + "\n")
    k.load(text, 0, text.length)
    expect(k.scan(0)).toBe(4)
    // the next run starts at the line that did not link; linking it to what came before is the host's part
    expect(k.scan(k.at(3, R_NEXT))).toBe(1)
    expect(take(make(KEY), Buffer.from(lines.join("\n"))).lines).toBe(9)
  })

  it("sorts reference-layout members at every depth and refuses duplicate keys", () => {
    const row = (payload: string) =>
      `{"seq": 0, "ts": "t", "type": "x", "payload": ${payload}, "prev_hash": "${"0".repeat(64)}", "hash": "${"ab".repeat(32)}", "sig": ""}\n`
    const one = (payload: string): string | undefined => {
      const k = make()
      const text = Buffer.from(row(payload))
      k.load(text, 0, text.length)
      return k.scan(0) === 1 ? Buffer.from(k.message(0), "latin1").toString("utf8").slice(64) : undefined
    }
    expect(one('{"b": 1, "a": [{"z": null, "y": true}], "\u00e9": "x", "ab": {}}')).toBe(
      '{"payload":{"a":[{"y":true,"z":null}],"ab":{},"b":1,"\u00e9":"x"},"seq":0,"ts":"t","type":"x"}'
    )
    expect(one('{"b": 1, "a": 2, "b": 3}')).toBeUndefined()
    expect(one('{"a": {"k": 1, "k": 2}}')).toBeUndefined()
    expect(one('{"aaaab": 1, "aaaaa": 2}')).toBe('{"payload":{"aaaaa":2,"aaaab":1},"seq":0,"ts":"t","type":"x"}')
    expect(one('{"aaaa": 1, "aaaa": 2}')).toBeUndefined()
  })

  it("takes pack rows with controls: our canonical list as a span, the reference layout's as not canonical", () => {
    const { lines } = F.chain(Array.from({ length: 6 }, (_, i) => F.llmCall(i)), { key: KEY })
    const ours = lines.map((l, i) => l.replace(/\}$/, i % 2 === 0 ? ',"controls":["Art.12 logging","A.6.2.8 \\"event\\" logs"]}' : ',"controls":[]}'))
    const k = make(KEY)
    const text = Buffer.from(ours.join("\n") + "\n")
    k.load(text, 0, text.length)
    expect(k.scan(0)).toBe(6)
    expect(Buffer.from(k.controlsBytes(0)).toString()).toBe('["Art.12 logging","A.6.2.8 \\"event\\" logs"]')
    expect(k.controlsKind(0)).toBe(1)
    expect(Buffer.from(k.controlsBytes(1)).toString()).toBe("[]")
    // not canonical in our layout: a space after the comma
    const spaced = Buffer.from(lines[0]!.replace(/\}$/, ',"controls":["a", "b"]}') + "\n")
    k.load(spaced, 0, spaced.length)
    expect(k.scan(0)).toBe(0)
    const ref = F.chain([F.llmCall(0)], { key: KEY, layout: "reference" }).lines[0]!.replace(/\}$/, ', "controls": ["a", "b"]}')
    const refText = Buffer.from(ref + "\n")
    k.load(refText, 0, refText.length)
    expect(k.scan(0)).toBe(1)
    expect(k.controlsKind(0)).toBe(2)
  })

  it.prop("verifies a sealed pack the same through the kernel and line by line, whatever byte changes", [fc.nat(), fc.constantFrom(0x22, 0x5c, 0x2c, 0x41, 0x61, 0x5d, 0x20)], ([pos, byte]) => {
    const pack = sealedPack()
    const lines = pack.split("\n").filter((l) => l.length > 0)
    // change a byte of some row's controls (the part only the seal covers)
    const row = 1 + (pos % (lines.length - 1))
    const line = Buffer.from(lines[row]!)
    const at = line.lastIndexOf('"controls":[') + 12 + (pos % 8)
    if (at < line.length - 2) line[at] = byte
    const changed = [...lines.slice(0, row), line.toString("latin1"), ...lines.slice(row + 1)]
    const asBytes = changed.map((l, i) => (i === row ? line : Buffer.from(l)))
    const verdict = (r: Either.Either<Verify.Report, Verify.VerifyError>) => (Either.isRight(r) ? `ok ${r.right.entries}` : `${r.left._tag}@${r.left.line}`)
    const oneByOne = verdict(Verify.lines(asBytes, { key: Redacted.make(KEY), fastPath: false }))
    const text = Buffer.concat(asBytes.flatMap((b) => [b, Buffer.from("\n")]))
    const streamed = verdict(Effect.runSync(Effect.either(Verify.stream(Stream.make(text), { key: Redacted.make(KEY) }))))
    expect(streamed).toBe(oneByOne)
    if (at < line.length - 2 && line[at] !== Buffer.from(lines[row]!)[at]) expect(oneByOne).not.toMatch(/^ok/)
  }, { fastCheck: { numRuns: 150 } })

  it("is optional: without WebAssembly (node --jitless) verification gives the same verdicts", () => {
    const { lines } = F.chain(Array.from({ length: 50 }, (_, i) => F.llmCall(i)), { key: KEY })
    const good = join(tmp.dir, "good.jsonl")
    writeFileSync(good, lines.join("\n") + "\n")
    const bad = join(tmp.dir, "bad.jsonl")
    writeFileSync(bad, lines.map((l, i) => (i === 20 ? l.replace('"stop"', '"stap"') : l)).join("\n") + "\n")
    const run = (path: string) => spawnSync(process.execPath, ["--jitless", "--no-warnings", BIN, "verify", path, "--key", KEY, "--json"], { encoding: "utf8" })
    const ok = run(good)
    expect(ok.status).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, entries: 50 })
    const edited = run(bad)
    expect(edited.status).toBe(1)
    expect(JSON.parse(edited.stdout)).toMatchObject({ ok: false, error: { _tag: "EditDetected", line: 21 } })
  })

  it("hashes a key longer than a block first, as HMAC prescribes", () => {
    // (the bytes of a seeded generator: the same key every run)
    const draw = rng(200)
    const long = Buffer.from(Array.from({ length: 200 }, () => Math.floor(draw() * 256)))
    expect(Kernel.make(long)!.hmacHex(Buffer.alloc(64, 0x61))).toBe(createHmac("sha256", long).update(Buffer.alloc(64, 0x61)).digest("hex"))
  })
})
