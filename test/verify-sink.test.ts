/**
 * `Verify.sink`: the verification fold as an Effect `Sink` from bytes to a `Report`, so that any
 * byte stream verifies with `Stream.run(bytes, Verify.sink(options))`. Its verdicts are those of
 * `Verify.file` however the bytes are chunked, and a failure is the typed `VerifyError`.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import * as FileSystem from "@effect/platform/FileSystem"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import { pipe } from "effect/Function"
import * as Redacted from "effect/Redacted"
import type * as Sink from "effect/Sink"
import { SinkTypeId } from "effect/Sink"
import * as Stream from "effect/Stream"
import * as Verify from "../src/Verify.js"
import * as F from "../src/internal/fixtures.js"
import { tempDir, verifyFile } from "./helpers.js"
import { exportPack, KEY, key, show } from "./verify-cases.js"

const SEED = Number(process.env["VERIFY_SINK_SEED"] ?? 20261128)
const LONG = process.env["FUZZ_LONG"] === "1"

const tmp = tempDir()
afterAll(tmp.cleanup)
let counter = 0
const fileOf = (bytes: Uint8Array): string => {
  const path = join(tmp.dir, `input-${++counter}.jsonl`)
  writeFileSync(path, bytes)
  return path
}

/** The bytes cut at the given offsets (sorted, within the text). */
const cutAt = (text: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let from = 0
  for (const c of [...at, text.length]) {
    out.push(text.subarray(from, c))
    from = c
  }
  return out
}

/** The sink's verdict on the chunks, run synchronously (the sink itself, or the options to make it). */
const sunk = (chunks: ReadonlyArray<Uint8Array>, sink: Verify.Options | Sink.Sink<Verify.Report, Uint8Array, never, Verify.VerifyError>): string =>
  show(Effect.runSync(Effect.either(Stream.run(Stream.fromIterable(chunks), isSink(sink) ? sink : Verify.sink(sink)))))

const isSink = (u: unknown): u is Sink.Sink<Verify.Report, Uint8Array, never, Verify.VerifyError> => typeof u === "object" && u !== null && SinkTypeId in u

/** `Verify.file`'s verdict on the same bytes. */
const viaFile = async (text: Uint8Array, options: Verify.Options): Promise<string> => show((await verifyFile(fileOf(text), options)).result)

const join_ = (lines: ReadonlyArray<string>, eol = "\n", last = eol) => Buffer.from(lines.join(eol) + last)

describe("Verify.sink gives Verify.file's verdict however the bytes are chunked", () => {
  const small = F.chain(F.mixed(4), { key: KEY })
  const smallRef = F.chain(F.mixed(4), { key: KEY, layout: "reference" })
  const header = F.metaLine({ system: "s", riskTier: "high", head: small.head, entries: 4, key: KEY })
  const smalls: Array<{ readonly name: string; readonly text: Buffer; readonly options: Verify.Options }> = [
    { name: "a signed pack", text: join_([header, ...small.lines]), options: { key } },
    { name: "CRLF, a BOM, the reference layout", text: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), join_([header, ...smallRef.lines], "\r\n")]), options: { key } },
    { name: "no final newline, blank lines", text: join_([header, "", ...small.lines.slice(0, 2), "  ", ...small.lines.slice(2)], "\n", ""), options: {} },
    { name: "an edited entry", text: join_([header, ...small.lines]).fill(0x30, 700, 701), options: { key } },
    { name: "a deleted entry", text: join_([header, small.lines[0]!, ...small.lines.slice(2)]), options: {} },
    { name: "a log whose beginning is gone", text: join_(small.lines.slice(1)), options: { key, startMidChain: true } }
  ]

  beforeAll(async () => {
    smalls.push({ name: "a sealed pack of our exporter", text: Buffer.from(await exportPack(tmp.dir, "small-sealed", { key: KEY, decisions: 2 })), options: { key } })
  }, 60_000)

  it("cut in two at every byte, and in single bytes", async () => {
    for (const { name, text, options } of smalls) {
      const expected = await viaFile(text, options)
      // one sink for all the runs on this text: each run starts afresh
      const sink = Verify.sink(options)
      expect(sunk([text], sink), name).toBe(expected)
      const bytes = Array.from({ length: text.length }, (_, i) => text.subarray(i, i + 1))
      expect(sunk(bytes, sink), `${name}: single bytes`).toBe(expected)
      const wrong: Array<string> = []
      for (let p = 0; p <= text.length; p++) {
        const got = sunk([text.subarray(0, p), text.subarray(p)], sink)
        if (got !== expected) wrong.push(`cut at ${p}: ${got}`)
      }
      expect(wrong, name).toEqual([])
    }
  })

  describe("random chunkings of large logs and packs", () => {
    const specs = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? F.mixed(7)[1 + (i % 6)]! : F.llmCall(i)))
    const big = F.chain(specs, { key: KEY })
    const bigRef = F.chain(specs, { key: KEY, layout: "reference" })
    const larges: Array<{ readonly name: string; readonly text: Buffer; readonly options: Verify.Options; expected?: string }> = [
      { name: "our layout, signed header", text: join_([F.metaLine({ system: "s", riskTier: "high", head: big.head, entries: 3000, key: KEY }), ...big.lines]), options: { key } },
      { name: "reference layout, CRLF", text: join_(bigRef.lines, "\r\n"), options: { key, expectedHead: bigRef.head } },
      { name: "our layout, no key", text: join_(big.lines), options: {} }
    ]
    beforeAll(async () => {
      larges.push({ name: "a sealed pack of our exporter", text: Buffer.from(await exportPack(tmp.dir, "large-sealed", { key: KEY, decisions: 300 })), options: { key } })
      for (const l of larges) l.expected = await viaFile(l.text, l.options)
    }, 120_000)

    it("the large inputs verify", () => {
      for (const l of larges) expect(l.expected, l.name).toMatch(/^ok /)
    })

    it.prop(
      `random cuts, and any damage at the same place, give the file's verdict (seed ${SEED})`,
      [fc.nat(), fc.array(fc.nat(), { minLength: 1, maxLength: 40 }), fc.option(fc.tuple(fc.nat(), fc.constantFrom(0x30, 0x22, 0x0a, 0x7d)), { nil: undefined })],
      ([which, cuts, damage]) => {
        const l = larges[which % larges.length]!
        let text = l.text
        if (damage !== undefined) {
          text = Buffer.from(text)
          text[damage[0] % text.length] = damage[1]
        }
        // damaged text is held to the whole text in one chunk, whose agreement with the file
        // driver the undamaged cases and the small inputs hold
        const expected = damage === undefined ? l.expected! : sunk([text], l.options)
        const got = sunk(cutAt(text, cuts), l.options)
        expect(got, `${l.name}, cuts ${JSON.stringify(cuts)}, damage ${JSON.stringify(damage)} (seed ${SEED})`).toBe(expected)
      },
      { fastCheck: { seed: SEED, numRuns: LONG ? 400 : 40 } }
    )
  })

  it.effect("a file through @effect/platform's FileSystem stream", () =>
    Effect.gen(function*() {
      const c = F.chain(Array.from({ length: 500 }, (_, i) => F.llmCall(i)), { key: KEY })
      const path = fileOf(join_(c.lines))
      const fs = yield* FileSystem.FileSystem
      for (const chunkSize of [1000, 65536]) {
        const report = yield* Stream.run(fs.stream(path, { chunkSize }), Verify.sink({ key }))
        expect(report).toEqual(yield* Verify.file(path, { key }))
        expect(report.head).toBe(c.head)
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

class SourceFailed extends Data.TaggedError("SourceFailed")<{ readonly at: number }> {}

describe("Verify.sink: failures", () => {
  const c = F.chain(F.mixed(12), { key: KEY })
  const text = join_(c.lines)

  it.effect("a failed verification is the typed VerifyError in the error channel", () =>
    Effect.gen(function*() {
      const edited = Buffer.from(text.toString().replace('"seq":7', '"seq":8'))
      const sink: Sink.Sink<Verify.Report, Uint8Array, never, Verify.VerifyError> = Verify.sink({ key })
      const run: Effect.Effect<Verify.Report, Verify.VerifyError> = Stream.run(Stream.make(edited.subarray(0, 1000), edited.subarray(1000)), sink)
      const error = yield* Effect.flip(run)
      expect(error).toBeInstanceOf(Verify.EditDetected)
      expect(error).toMatchObject({ _tag: "EditDetected", line: 8, seq: 8 })
      const outcome = yield* Effect.promise(() => verifyFile(fileOf(edited), { key }))
      expect(show(Either.left(error))).toBe(show(outcome.result))
      // a wrong key, a missing header claim: each its own tag
      expect((yield* Effect.flip(Stream.run(Stream.make(text), Verify.sink({ key: Redacted.make("other") }))))._tag).toBe("SignatureInvalid")
      expect((yield* Effect.flip(Stream.run(Stream.make(text), Verify.sink({ requireComplete: true }))))._tag).toBe("TruncationDetected")
      expect((yield* Effect.flip(Stream.run(Stream.empty, Verify.sink())))._tag).toBe("MalformedLine")
    }))

  it.effect("an error of the source passes through untouched", () =>
    Effect.gen(function*() {
      const bytes = Stream.concat(Stream.make(text.subarray(0, 500)), Stream.fail(new SourceFailed({ at: 500 })))
      const error = yield* Effect.flip(Stream.run(bytes, Verify.sink({ key })))
      expect(error).toEqual(new SourceFailed({ at: 500 }))
    }))

  it.effect("the sink stops reading at the first failure (an endless source after it is not drained)", () =>
    Effect.gen(function*() {
      const bad = Buffer.from("not an entry\n")
      let pulled = 0
      const endless = Stream.repeatEffect(Effect.sync(() => {
        pulled++
        return Buffer.from(c.lines[0]! + "\n")
      }))
      const error = yield* Effect.flip(Stream.run(Stream.concat(Stream.make(bad), endless), Verify.sink()))
      expect(error).toMatchObject({ _tag: "MalformedLine", line: 1 })
      expect(pulled).toBeLessThan(3)
    }))

  it.effect("one sink value verifies many streams, each on its own", () =>
    Effect.gen(function*() {
      const sink = Verify.sink({ key })
      const other = F.chain(F.mixed(3), { key: KEY })
      const [a, b, again] = yield* Effect.all([
        Stream.run(Stream.make(text), sink),
        Stream.run(Stream.make(join_(other.lines)), sink),
        Stream.run(Stream.make(text.subarray(0, 10), text.subarray(10)), sink)
      ], { concurrency: "unbounded" })
      expect([a.head, b.head, again.head]).toEqual([c.head, other.head, c.head])
    }))
})

describe("Verify.stream and Verify.streamOutcome: data-first and data-last", () => {
  const c = F.chain(F.mixed(6), { key: KEY })
  const bytes = Stream.make(join_(c.lines))

  it.effect("give the same verdicts both ways, and piped", () =>
    Effect.gen(function*() {
      const first = yield* Verify.stream(bytes, { key })
      expect(yield* Verify.stream({ key })(bytes)).toEqual(first)
      expect(yield* pipe(bytes, Verify.stream({ key }))).toEqual(first)
      expect(yield* bytes.pipe(Verify.stream())).toEqual(yield* Verify.stream(bytes))
      expect(yield* bytes.pipe(Stream.run(Verify.sink({ key })))).toEqual(first)
      const outcome = yield* Verify.streamOutcome(bytes, { key })
      expect(yield* bytes.pipe(Verify.streamOutcome({ key }))).toEqual(outcome)
      expect(outcome.entries).toBe(6)
    }))
})
