/**
 * The verification fold and its Sink, used as an adversarial user would: states forked many ways
 * across the points where a seal's running digest hashes what it gathered, old states stepped and
 * finished after newer ones, one sink value run on streams that interleave, a source that fails
 * midway and is run again.
 */
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as Data from "effect/Data"
import * as Verify from "../src/Verify.js"
import { rng, tempDir, testSeed, verifyFile } from "./helpers.js"
import { exportPack, KEY, key, linesOf, show, verdictFrom } from "./verify-cases.js"

const SEED = testSeed("verify-adversarial", 20261204)
const tmp = tempDir()
afterAll(tmp.cleanup)
/** A sealed pack whose rows' controls are many times the 16 KiB a seal's digest gathers before hashing. */
let big: ReadonlyArray<Buffer> = []
let text = Buffer.alloc(0)
beforeAll(async () => {
  const pack = await exportPack(tmp.dir, "adversarial", { key: KEY, decisions: 600 })
  big = linesOf(pack)
  text = Buffer.from(pack)
  // the rows' controls, as the seal's digest takes them in: several times its 16 KiB
  const controls = big.slice(1).reduce((n, l) => n + JSON.stringify((JSON.parse(l.toString()) as { controls?: unknown }).controls ?? null).length + 1, 0)
  if (controls < 4 * 16384) throw new Error(`the pack's controls are ${controls} bytes: too few to cross the digest's flushes`)
}, 60_000)

const linear = (lines: ReadonlyArray<Uint8Array>) => verdictFrom(Verify.initial({ key }), lines)

/** A row with one byte of its `controls` changed (the seal no longer matches; the chain still may not). */
const withControlsChanged = (line: Buffer): Buffer => {
  const s = line.toString()
  const at = s.indexOf('"controls"')
  return at < 0 ? line : Buffer.from(s.slice(0, at) + s.slice(at).replace(/Art\.\s?(\d)/, (_, d) => `Art. ${(Number(d) + 1) % 10}`))
}

describe("Verify: a state forked many ways", () => {
  it("six forks from one state, stepped in a seeded interleaving across digest flushes, each conclude as a fresh pass", () => {
    const seed = SEED
    const next = rng(seed)
    const once = linear(big)
    expect(once).toMatch(/^ok /)
    const states: Array<Verify.State> = [Verify.initial({ key })]
    for (const l of big) states.push(Either.getOrThrow(Verify.step(states[states.length - 1]!, l)))
    for (const j of [1, 2, 3, Math.floor(big.length / 3), big.length - 2]) {
      const rest = big.slice(j)
      // the continuations: the pack itself (twice), a row dropped, a row repeated, a row's controls changed, the pack cut short
      const k = Math.floor(next() * (rest.length - 1))
      const branches: Array<ReadonlyArray<Buffer>> = [
        rest,
        rest,
        [...rest.slice(0, k), ...rest.slice(k + 1)],
        [...rest.slice(0, k), rest[k]!, ...rest.slice(k)],
        rest.map((l, i) => (i === k ? withControlsChanged(l) : l)),
        rest.slice(0, k)
      ]
      const at: Array<number> = branches.map(() => 0)
      const cur: Array<Either.Either<Verify.State, Verify.VerifyError>> = branches.map(() => Either.right(states[j]!))
      // each branch goes on by a seeded run of lines, in a seeded order, until all are through
      while (at.some((p, b) => p < branches[b]!.length)) {
        const b = Math.floor(next() * branches.length)
        const n = 1 + Math.floor(next() * 40)
        for (let i = 0; i < n && at[b]! < branches[b]!.length; i++) {
          cur[b] = Either.flatMap(cur[b]!, (s) => Verify.step(s, branches[b]![at[b]!]!))
          at[b]!++
        }
      }
      const expected = branches.map((br) => linear([...big.slice(0, j), ...br]))
      // finished last to first, then first to last: the same verdicts each time
      for (const order of [[5, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5]]) {
        for (const b of order) expect(show(Either.flatMap(cur[b]!, Verify.finish)), `fork at ${j}, branch ${b} (seed ${seed})`).toBe(expected[b])
      }
      expect(expected[4]).not.toBe(once)
      // the state they came from still concludes as its prefix does, and still goes on to the end
      expect(show(Verify.finish(states[j]!))).toBe(linear(big.slice(0, j)))
      expect(verdictFrom(states[j]!, rest)).toBe(once)
    }
  })

  it("an old state stepped again after the newest went many flushes past it, and finished after newer ones were", () => {
    const states: Array<Verify.State> = [Verify.initial({ key })]
    for (const l of big) states.push(Either.getOrThrow(Verify.step(states[states.length - 1]!, l)))
    const once = linear(big)
    // finish the newest first, then every older one, newest to oldest
    expect(show(Verify.finish(states[states.length - 1]!))).toBe(once)
    for (let i = states.length - 2; i >= 0; i -= 37) expect(show(Verify.finish(states[i]!)), `after ${i} lines`).toBe(linear(big.slice(0, i)))
    // step old states by one line each (each begins a path of its own), then take them to the end
    const picks = [2, 3, 10, 50, Math.floor(big.length / 2), big.length - 1]
    const oneMore = picks.map((i) => Either.getOrThrow(Verify.step(states[i]!, big[i]!)))
    for (const [n, i] of picks.entries()) {
      expect(show(Verify.finish(oneMore[n]!))).toBe(linear(big.slice(0, i + 1)))
      expect(verdictFrom(oneMore[n]!, big.slice(i + 1))).toBe(once)
      expect(verdictFrom(states[i]!, big.slice(i)), `from ${i}, again`).toBe(once)
    }
    // and the newest, finished again after all that
    expect(show(Verify.finish(states[states.length - 1]!))).toBe(once)
  })
})

class SourceFailed extends Data.TaggedError("SourceFailed")<{ readonly attempt: number }> {}

/** The text in chunks of `size`, handed over one per turn of the scheduler (so runs interleave). */
const slowly = (bytes: Uint8Array, size: number) =>
  Stream.fromIterable(Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size))).pipe(
    Stream.tap(() => Effect.yieldNow())
  )

describe("Verify.sink: one sink value, many runs", () => {
  it.effect("runs at once on interleaving streams of a sealed pack, a damaged copy and a log, each with its own verdict", () =>
    Effect.gen(function*() {
      const sink = Verify.sink({ key })
      const damaged = Buffer.from(big.map((l, i) => (i === 40 ? withControlsChanged(l) : l)).join("\n") + "\n")
      const expectedDamaged = show(Verify.lines(linesOf(damaged.toString()), { key }))
      expect(expectedDamaged).toMatch(/^HeaderInvalid /)
      const runs = [
        [text, 4096],
        [damaged, 3000],
        [text, 65536],
        [text, 777],
        [damaged, 65536]
      ] as const
      const got = yield* Effect.all(runs.map(([bytes, size]) => Effect.either(Stream.run(slowly(bytes, size), sink))), { concurrency: "unbounded" })
      expect(got.map(show)).toEqual(runs.map(([bytes]) => (bytes === text ? linear(big) : expectedDamaged)))
    }))

  it.effect("a source that fails midway, run again by Effect.retry: the second run starts afresh", () =>
    Effect.gen(function*() {
      let attempt = 0
      const flaky = Stream.suspend(() => {
        attempt++
        const half = text.subarray(0, Math.floor(text.length / 2))
        return attempt === 1
          ? Stream.concat(slowly(half, 5000), Stream.fail(new SourceFailed({ attempt })))
          : slowly(text, 5000)
      })
      const sink = Verify.sink({ key })
      const report = yield* Stream.run(flaky, sink).pipe(Effect.retry({ times: 1 }))
      expect(attempt).toBe(2)
      expect(show(Either.right(report))).toBe(linear(big))
      // and a failing source fails the run with its own error
      attempt = 0
      expect(yield* Effect.flip(Stream.run(flaky, sink))).toEqual(new SourceFailed({ attempt: 1 }))
    }))
})

describe("Verify: the pack of a log whose beginning is gone (startMidChain)", () => {
  // A bounded memory log evicts its oldest entries; its pack begins with a header and then the
  // first retained entry. The user guide sends such a pack to `startMidChain`.
  const exportEvicted = (out: string) =>
    Effect.gen(function*() {
      const log = yield* AuditLog.AuditLog
      for (let i = 0; i < 20; i++) yield* log.withDecision({ input: { i }, actor: "agent" }, (d) => d.record({ i }))
      return yield* log.export(out, { framework: "gdpr" })
    }).pipe(
      Effect.provide(
        AuditLog.layer({ system: "evicted", riskTier: "high" }).pipe(
          Layer.provide(Store.layerMemory({ capacity: 10 })),
          Layer.provide(Signer.layerHmac(key)),
          Layer.provide(Redactor.layerDefault),
          Layer.provideMerge(NodeFileSystem.layer)
        )
      ),
      Effect.runPromise
    )

  it("verifies from its header and first retained entry on, and still finds what was done to it", async () => {
    const out = join(tmp.dir, "evicted.jsonl")
    const exported = await exportEvicted(out)
    expect(exported.missing).toBeGreaterThan(0)
    const verdict = async (options: Verify.Options) => show((await verifyFile(out, options)).result)
    // read from the start, the gap before the first retained entry is the verdict
    expect(await verdict({ key })).toMatch(/^DeletionDetected line 2 /)
    // from the first retained entry on: every entry, the header's signature and its seal hold
    expect(await verdict({ key, startMidChain: true })).toBe(`ok 10 ${exported.head} verified signed-header evicted/10/${exported.head}`)
    expect(await verdict({ startMidChain: true })).toMatch(/^ok 10 .* unsigned-header /)
    const lines = linesOf((await import("node:fs")).readFileSync(out, "utf8"))
    expect(show(Verify.lines(lines, { key, startMidChain: true }))).toBe(await verdict({ key, startMidChain: true }))
    // the first retained entry taken away too: the header's count and head no longer hold
    expect(show(Verify.lines([lines[0]!, ...lines.slice(2)], { key, startMidChain: true }))).toMatch(/^TruncationDetected /)
    // a row's controls changed: the seal no longer holds
    expect(show(Verify.lines(lines.map((l, i) => (i === 3 ? withControlsChanged(l) : l)), { key, startMidChain: true }))).toMatch(/^HeaderInvalid /)
    // a byte order mark before the header, as anywhere else a file begins
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), lines[0]!])
    expect(show(Verify.lines([bom, ...lines.slice(1)], { key, startMidChain: true }))).toBe(await verdict({ key, startMidChain: true }))
    expect(show(Verify.lines([Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), lines[1]!]), ...lines.slice(2)], { key, startMidChain: true }))).toMatch(/^ok 10 [0-9a-f]{64} verified none -$/)
    // a header anywhere but the first line is still refused
    expect(show(Verify.lines([lines[1]!, lines[0]!, ...lines.slice(2)], { key, startMidChain: true }))).toMatch(/^MalformedLine line 2 .*_meta is only allowed on the first line/)
  })
})

describe("Verify.step: one physical line", () => {
  it("bytes holding a newline inside are not one line: refused, as the byte drivers, which split there, refuse them", () => {
    const lines = big.slice(0, 6).map((l) => l.toString())
    // JSON allows whitespace between members: the hashed body is the same with a newline there
    const split = lines[2]!.replace(',"ts"', ',\n"ts"')
    expect(split).not.toBe(lines[2])
    const given = [...lines.slice(0, 2), split, ...lines.slice(3)]
    const bytes = Buffer.from(given.join("\n") + "\n")
    const viaSink = show(Effect.runSync(Effect.either(Stream.run(Stream.make(bytes), Verify.sink({ key })))))
    expect(viaSink).toMatch(/^MalformedLine line 3 /)
    const viaLines = show(Verify.lines(given, { key }))
    expect(viaLines).toMatch(/^MalformedLine line 3 seq null: .*newline/)
    // a line given with its own line end is that line
    expect(show(Verify.lines(lines.map((l) => l + "\n"), { key }))).toBe(show(Verify.lines(lines, { key })))
    expect(show(Verify.lines(lines.map((l) => l + "\r\n"), { key }))).toBe(show(Verify.lines(lines, { key })))
  })
})
