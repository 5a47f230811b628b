import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Verify from "../src/Verify.js"
import { FastLine, FastReference } from "../src/internal/fast.js"
import * as F from "../src/internal/fixtures.js"
import { tempDir, verdict } from "./helpers.js"

const KEY = "verify-test-key"
const key = Redacted.make(KEY)
const tmp = tempDir()
afterAll(tmp.cleanup)

const ours = F.chain(F.mixed(12), { key: KEY })
const reference = F.chain(F.mixed(12), { key: KEY, layout: "reference" })

describe("Verify: valid chains", () => {
  it("accepts our layout and the reference layout, with the same hashes", () => {
    expect(ours.hashes).toEqual(reference.hashes)
    for (const c of [ours, reference]) {
      const r = Either.getOrThrow(Verify.lines(c.lines, { key }))
      expect(r).toMatchObject({ entries: 12, head: c.head, signatures: "verified", completeness: "none" })
      const nokey = Either.getOrThrow(Verify.lines(c.lines))
      expect(nokey.signatures).toBe("not-checked")
    }
    const unsigned = F.chain(F.mixed(3))
    expect(Either.getOrThrow(Verify.lines(unsigned.lines)).signatures).toBe("absent")
  })

  it("reports how completeness was established", () => {
    const header = (k?: string) => F.metaLine({ system: "s", riskTier: "high", head: ours.head, entries: 12, key: k })
    const pack = [header(KEY), ...ours.lines]
    expect(Either.getOrThrow(Verify.lines(pack, { key })).completeness).toBe("signed-header")
    expect(Either.getOrThrow(Verify.lines(pack)).completeness).toBe("unsigned-header")
    expect(Either.getOrThrow(Verify.lines(ours.lines, { expectedHead: ours.head })).completeness).toBe("expected-head")
    expect(Either.getOrThrow(Verify.lines(ours.lines, { expectedEntries: 12 })).completeness).toBe("expected-head")
    expect(verdict(pack, { requireComplete: true })).toBe("TruncationDetected")
    expect(verdict(ours.lines, { requireComplete: true })).toBe("TruncationDetected")
    expect(verdict(pack, { key, requireComplete: true })).toBe("ok")
    expect(verdict(ours.lines, { requireComplete: true, expectedHead: ours.head })).toBe("ok")
    // an unsigned header under a key is HeaderInvalid: it could have been written by anyone
    expect(verdict([header(), ...ours.lines], { key })).toBe("HeaderInvalid")
  })

  it.effect("gives the same verdict however the bytes are chunked", () =>
    Effect.gen(function*() {
      const text = Buffer.from([F.metaLine({ system: "s", riskTier: "high", head: ours.head, entries: 12, key: KEY }), ...reference.lines].join("\r\n") + "\r\n")
      for (const size of [1, 7, 64, 4096]) {
        const chunks: Array<Uint8Array> = []
        for (let i = 0; i < text.length; i += size) chunks.push(text.subarray(i, i + size))
        const r = yield* Verify.stream(Stream.fromChunk(Chunk.fromIterable(chunks)), { key })
        expect(r.entries).toBe(12)
        expect(r.head).toBe(ours.head)
      }
    }))

  it.effect("reads files through FileSystem", () =>
    Effect.gen(function*() {
      const path = join(tmp.dir, "ours.jsonl")
      writeFileSync(path, ours.lines.join("\n")) // no final newline
      const r = yield* Verify.file(path, { key, chunkSize: 100 })
      expect(r.head).toBe(ours.head)
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

describe("Verify: a log whose beginning is gone", () => {
  it("checks everything after its first entry with startMidChain, and nothing is waved through", () => {
    const tail = ours.lines.slice(5)
    expect(verdict(tail, { key })).toBe("DeletionDetected")
    const r = Verify.lines(tail, { key, startMidChain: true })
    expect(Either.isRight(r) && r.right.entries).toBe(tail.length)
    const edited = [...tail]
    edited[3] = edited[3]!.replace('"seq":8', '"seq":9')
    expect(verdict(edited, { key, startMidChain: true })).not.toBe("ok")
    const swapped = [tail[0]!, tail[2]!, tail[1]!, ...tail.slice(3)]
    expect(verdict(swapped, { key, startMidChain: true })).toBe("ReorderDetected")
  })
})

describe("Verify: tampering", () => {
  const n = 10
  const base = F.chain(F.mixed(n), { key: KEY })
  const lineArb = fc.integer({ min: 0, max: n - 1 })

  it.prop("any single-byte change inside the hashed part of a line is detected", [lineArb, fc.nat(), fc.integer({ min: 1, max: 255 })], ([i, pos, delta]) => {
    const line = Buffer.from(base.lines[i]!, "utf8")
    const hashedEnd = line.indexOf(',"prev_hash":')
    const p = pos % hashedEnd
    const changed = Buffer.from(line)
    changed[p] = (changed[p]! + delta) & 0xff
    const lines: Array<Uint8Array | string> = [...base.lines]
    lines[i] = changed
    for (const options of [{}, { key }]) {
      const r = Verify.lines(lines, options)
      expect(Either.isLeft(r), `byte ${p} of line ${i}`).toBe(true)
    }
  }, { fastCheck: { numRuns: 500 } })

  it.prop("any permutation of two entries is detected", [lineArb, lineArb], ([a, b]) => {
    fc.pre(a !== b)
    const lines = [...base.lines]
    ;[lines[a], lines[b]] = [lines[b]!, lines[a]!]
    const tag = verdict(lines)
    expect(["ReorderDetected", "EditDetected", "DeletionDetected"]).toContain(tag)
    if (Math.abs(a - b) === 1) expect(tag).toBe("ReorderDetected")
  })

  it.prop("any cut of the tail with the header kept is detected", [fc.integer({ min: 1, max: n - 1 })], ([cut]) => {
    const pack = [F.metaLine({ system: "s", riskTier: "high", head: base.head, entries: n, key: KEY }), ...base.lines.slice(0, n - cut)]
    expect(verdict(pack)).toBe("TruncationDetected")
    expect(verdict(pack, { key })).toBe("TruncationDetected")
  })

  it("tells deletion, reorder and edit apart", () => {
    const l = base.lines
    expect(verdict([...l.slice(0, 4), ...l.slice(5)])).toBe("DeletionDetected")
    expect(verdict(l.slice(2))).toBe("DeletionDetected") // removed at the start
    expect(verdict([...l.slice(0, 4), ...l.slice(6)])).toBe("DeletionDetected")
    expect(verdict([l[0]!, l[1]!, l[3]!, l[2]!, ...l.slice(4)])).toBe("ReorderDetected")
    expect(verdict([...l.slice(0, 5), l[2]!, ...l.slice(5)])).toBe("ReorderDetected") // replayed entry
    expect(verdict([...l.slice(0, 4)], { expectedEntries: n })).toBe("TruncationDetected")
    // an entry of another chain spliced in with the right seq
    const other = F.chain(F.mixed(n), { key: "other" })
    const spliced = [...l]
    spliced[3] = F.chain([{ type: "x", payload: {} }, { type: "x", payload: {} }, { type: "x", payload: {} }, { type: "x", payload: {} }]).lines[3]!
    expect(verdict(spliced)).toBe("EditDetected")
    expect(verdict(other.lines, { key })).toBe("SignatureInvalid")
    // stripped signature
    const stripped = [...l]
    stripped[2] = stripped[2]!.replace(/"sig":"[0-9a-f]+"/, '"sig":""')
    expect(verdict(stripped, { key })).toBe("SignatureInvalid")
    expect(verdict(stripped)).toBe("ok")
  })

  it("reports line and seq", () => {
    const l = base.lines
    const edited = [F.metaLine({ system: "s", riskTier: "high", head: base.head, entries: n }), ...l]
    edited[5] = edited[5]!.replace('"seq":4', '"seq":5')
    const r = Verify.lines(edited)
    expect(Either.isLeft(r)).toBe(true)
    const e = (r as Either.Left<Verify.VerifyError, Verify.Report>).left
    expect(e).toMatchObject({ _tag: "EditDetected", line: 6, seq: 5 })
    expect(e.message).toMatch(/^line 6 \(seq 5\): /)
  })
})

describe("Verify: the fast paths agree with the general reader", () => {
  const KEYS = [undefined, key] as const
  const packOurs = [F.metaLine({ system: "s", riskTier: "high", head: ours.head, entries: 12, key: KEY }), ...ours.lines]
  const packRef = [F.metaLine({ system: "s", riskTier: "high", head: reference.head, entries: 12, key: KEY }), ...reference.lines]
  const outcome = (lines: ReadonlyArray<Uint8Array | string>, options: Verify.Options) =>
    Either.match(Verify.lines(lines, options), {
      onLeft: (e) => `${e._tag}@${e.line}/${e.seq}`,
      onRight: (r) => `ok ${r.entries} ${r.head} ${r.signatures} ${r.completeness}`
    })
  // pack rows as the reference exporter writes them: "controls" after the signature
  const packRefControls = packRef.map((l, i) => (i === 0 ? l : l.replace(/\}$/, ', "controls": ["Art.12 record-keeping", "Art.19 automatically generated logs"]}')))
  const packs = [packOurs, packRef, packRefControls]
  const bigSpecs = Array.from({ length: 300 }, (_, i) => F.llmCall(i))
  const bigOurs = F.chain(bigSpecs, { key: KEY }).lines
  const bigRef = F.chain(bigSpecs, { key: KEY, layout: "reference" }).lines
  const mutations = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 12 }), fc.nat(), fc.constantFrom(0x22, 0x5c, 0x00, 0x0a, 0x20, 0x30, 0x61, 0x7d, 0x2c, 0x3a, 0x5d, 0xff))

  it("takes the fast paths on untouched packs of every layout", () => {
    const accepts = (parser: { parse: (b: Buffer, s: number, e: number) => boolean }, rows: ReadonlyArray<string>) =>
      rows.every((l) => {
        const b = Buffer.from(l, "utf8")
        return parser.parse(b, 0, b.length)
      })
    // rows without exponent-form numbers (those are left to the general reader on purpose)
    const specs = Array.from({ length: 8 }, (_, i) => F.llmCall(i))
    const plainOurs = F.chain(specs, { key: KEY }).lines
    const plainRef = F.chain(specs, { key: KEY, layout: "reference" }).lines
    expect(accepts(new FastLine(), plainOurs)).toBe(true)
    expect(accepts(new FastReference(), plainRef)).toBe(true)
    expect(accepts(new FastReference(), plainRef.map((l) => l.replace(/\}$/, ', "controls": ["Art.12 record-keeping"]}')))).toBe(true)
    expect(accepts(new FastReference(), plainRef.map((l) => l.replace(/\}$/, ', "controls": []}')))).toBe(true)
    for (const pack of packs) {
      expect(outcome(pack, { key })).toBe(outcome(pack, { key, fastPath: false }))
      expect(outcome(pack, { key })).toMatch(/^ok 12 [0-9a-f]{64} verified signed-header$/)
    }
  })

  it.prop("any byte set to any value anywhere gives the same verdict on both paths", [mutations, fc.boolean()], ([[layout, i, pos, byte], keyed]) => {
    const lines: Array<Uint8Array | string> = [...packs[layout]!]
    const line = Buffer.from(lines[i] as string, "utf8")
    const changed = Buffer.from(line)
    changed[pos % line.length] = byte
    lines[i] = changed
    const k = KEYS[keyed ? 1 : 0]
    const general = outcome(lines, { key: k, fastPath: false })
    expect(outcome(lines, { key: k })).toBe(general)
    // the chunk-level driver, which checks fast-path lines in batches (a newline byte would make
    // two lines of one there, so that case has nothing to compare)
    if (byte === 0x0a) return
    const text = Buffer.concat(lines.flatMap((l) => [typeof l === "string" ? Buffer.from(l) : l, Buffer.from("\n")]))
    const streamed = Effect.runSync(Effect.either(Verify.stream(Stream.make(text), { key: k })))
    expect(Either.match(streamed, { onLeft: (e) => `${e._tag}@${e.line}/${e.seq}`, onRight: (r) => `ok ${r.entries} ${r.head} ${r.signatures} ${r.completeness}` })).toBe(general)
  }, { fastCheck: { numRuns: 3000 } })

  it.prop("batches of fast-path lines give the verdicts of the general reader", [fc.boolean(), fc.integer({ min: 1, max: 299 }), fc.nat(), fc.constantFrom(0x22, 0x5c, 0x30, 0x61, 0x7d, 0xff), fc.boolean()], ([refLayout, i, pos, byte, keyed]) => {
    const lines = [...(refLayout ? bigRef : bigOurs)]
    const line = Buffer.from(lines[i]!, "utf8")
    line[pos % line.length] = byte
    const k = KEYS[keyed ? 1 : 0]
    const general = outcome([...lines.slice(0, i), line, ...lines.slice(i + 1)], { key: k, fastPath: false })
    const text = Buffer.concat([Buffer.from(lines.slice(0, i).join("\n") + "\n"), line, Buffer.from("\n" + lines.slice(i + 1).join("\n") + "\n")])
    for (const chunkSize of [4096, 1 << 20]) {
      const chunks: Array<Uint8Array> = []
      for (let o = 0; o < text.length; o += chunkSize) chunks.push(text.subarray(o, o + chunkSize))
      const streamed = Effect.runSync(Effect.either(Verify.stream(Stream.fromIterable(chunks), { key: k })))
      expect(Either.match(streamed, { onLeft: (e) => `${e._tag}@${e.line}/${e.seq}`, onRight: (r) => `ok ${r.entries} ${r.head} ${r.signatures} ${r.completeness}` })).toBe(general)
    }
  }, { fastCheck: { numRuns: 200 } })

  it("keeps hash-shaped fields honest: quotes inside a 64-byte span are not a field", () => {
    // a sig of "" followed by a member whose text puts a quote 65 bytes on
    const tricky = reference.lines.map((l) => l.replace(/"sig": "[0-9a-f]*"/, '"sig": "", "note": "' + "x".repeat(40) + '"'))
    expect(outcome(tricky, {})).toBe(outcome(tricky, { fastPath: false }))
    expect(outcome(tricky, {})).toMatch(/^ok 12 /)
    const oursTricky = ours.lines.map((l) => l.replace(/"sig":"[0-9a-f]*"/, '"sig":"","note":"' + "x".repeat(46) + '"'))
    expect(outcome(oursTricky, {})).toBe(outcome(oursTricky, { fastPath: false }))
    expect(outcome(oursTricky, {})).toMatch(/^ok 12 /)
  })
})
