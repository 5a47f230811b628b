/**
 * `initial`, `step` and `finish` are a pure fold: a state can be stepped any number of times,
 * forked, or kept, and every path through it gives the verdict one linear pass over the same
 * lines gives.
 *
 * The property is seeded (VERIFY_FOLD_SEED overrides the seed; FUZZ_LONG=1 runs it longer); a
 * failure prints the seed and the counterexample's path, so it can be run again.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Verify from "../src/Verify.js"
import { ROOT, tempDir } from "./helpers.js"
import { type Case, cases, exportPack, KEY, key, linesOf, show, stepAll, verdictFrom } from "./verify-cases.js"
import * as CK from "./verify-checkpoint-logs.js"

const SEED = Number(process.env["VERIFY_FOLD_SEED"] ?? 20261127)
const RUNS = process.env["FUZZ_LONG"] === "1" ? 3000 : 250

const tmp = tempDir()
afterAll(tmp.cleanup)
let all: ReadonlyArray<Case> = []
/** A sealed pack whose rows' controls run to several times what a seal's digest gathers before hashing. */
let big: ReadonlyArray<Buffer> = []
beforeAll(async () => {
  all = await cases(tmp.dir)
  big = linesOf(await exportPack(tmp.dir, "big", { key: KEY, decisions: 150 }))
}, 60_000)

/** Checkpointed inputs (design 13) with the options that check their checkpoints. */
const checkpointCases: ReadonlyArray<Case> = (() => {
  const trustA = { publicKeys: [CK.A.verifierKey] }
  const rotated = CK.build({
    key: CK.A,
    items: [
      ...CK.checkpointed(12, 5),
      { kind: "rotation", to: CK.B, previous: CK.A },
      { kind: "checkpoint", forge: (f) => void (f.signers = [CK.A.signer]) },
      ...CK.checkpointed(12, 5, 100)
    ]
  })
  const plain = CK.build({ key: CK.A, items: [...CK.checkpointed(30, 7), { kind: "checkpoint" }] })
  const packed = CK.pack(plain, { key: CK.A })
  const published = (JSON.parse(CK.pack(CK.build({ key: CK.A, items: [...CK.checkpointed(10, 7), { kind: "checkpoint" }] }), { key: CK.A })[0]!) as { _meta: { checkpoint: string } })._meta.checkpoint
  const asBytes = (ls: ReadonlyArray<string>) => ls.map((l) => Buffer.from(l))
  return [
    { name: "a rotated log (A then B), A trusted", lines: asBytes(rotated.lines), options: trustA },
    { name: "a checkpointed pack, A trusted", lines: asBytes(packed), options: { ...trustA, requireComplete: true } },
    { name: "a checkpointed pack since a published note", lines: asBytes(packed), options: { ...trustA, since: published } },
    { name: "a checkpointed log, nobody trusted", lines: asBytes(plain.lines), options: { publicKeys: [CK.C.verifierKey] } }
  ]
})()

/** A verdict with what it says of checkpoints. */
const ckVerdict = (r: Either.Either<Verify.Report, Verify.VerifyError>): string =>
  show(r) + Either.match(r, {
    onLeft: () => "",
    onRight: (x) => ` ${x.checkpoints} ${x.checkpointCount} ${x.unsealedTail} ${Option.match(x.lastCheckpoint, { onNone: () => "-", onSome: (c) => `${c.size}/${c.root}` })}`
  })

const NL = Buffer.from("\n")
const chunksOf = (b: Buffer, size: number): Array<Buffer> => {
  const out: Array<Buffer> = []
  for (let o = 0; o < b.length; o += size) out.push(b.subarray(o, o + size))
  return out
}

/** The verdict of one linear pass from a fresh initial state. */
const linear = (lines: ReadonlyArray<Uint8Array>, options: Verify.Options): string => verdictFrom(Verify.initial(options), lines)

type Tamper =
  | { readonly kind: "none" }
  | { readonly kind: "byte"; readonly at: number; readonly pos: number; readonly byte: number }
  | { readonly kind: "delete" | "swap" | "repeat" | "cut"; readonly at: number }

const tamper: fc.Arbitrary<Tamper> = fc.oneof(
  fc.constant({ kind: "none" } as const),
  fc.record({ kind: fc.constant("byte" as const), at: fc.nat(), pos: fc.nat(), byte: fc.constantFrom(0x22, 0x30, 0x31, 0x61, 0x66, 0x7d, 0x20, 0xff) }),
  fc.record({ kind: fc.constantFrom("delete" as const, "swap" as const, "repeat" as const, "cut" as const), at: fc.nat() })
)

const tampered = (lines: ReadonlyArray<Buffer>, t: Tamper): ReadonlyArray<Buffer> => {
  if (t.kind === "none" || lines.length < 2) return lines
  const i = t.at % lines.length
  const out = [...lines]
  switch (t.kind) {
    case "byte": {
      const changed = Buffer.from(out[i]!)
      changed[t.pos % changed.length] = t.byte
      out[i] = changed
      return out
    }
    case "delete":
      out.splice(i, 1)
      return out
    case "swap": {
      const j = (i + 1) % out.length
      ;[out[i], out[j]] = [out[j]!, out[i]!]
      return out
    }
    case "repeat":
      out.splice(i, 0, out[i]!)
      return out
    case "cut":
      return out.slice(0, i)
  }
}

describe("Verify: initial, step and finish are a pure fold", () => {
  it.prop(
    `stepping a state twice, forking it and keeping it give the verdicts of one linear pass (seed ${SEED})`,
    [fc.nat(), tamper, fc.nat(), fc.nat(), fc.nat()],
    ([which, t, prefixAt, forkAt, otherWhich]) => {
      const c = all[which % all.length]!
      const lines = tampered(c.lines, t)
      const label = `${c.name}, ${JSON.stringify(t)} (seed ${SEED})`
      const once = linear(lines, c.options)
      expect(show(Verify.lines(lines, c.options)), label).toBe(once)

      // one linear pass, keeping every state it reaches
      const states: Array<Verify.State> = [Verify.initial(c.options)]
      for (const l of lines) {
        const r = Verify.step(states[states.length - 1]!, l)
        if (Either.isLeft(r)) break
        states.push(r.right)
      }
      // the pass above is the linear one: stepping it all gives the same verdict
      expect(verdictFrom(states[0]!, lines), `${label}: the initial state, stepped again`).toBe(once)

      // a prefix stepped twice on to the end: the same verdict both times
      const k = prefixAt % states.length
      const rest = lines.slice(k)
      expect(verdictFrom(states[k]!, rest), `${label}: from line ${k}, first time`).toBe(once)
      expect(verdictFrom(states[k]!, rest), `${label}: from line ${k}, second time`).toBe(once)

      // kept states conclude as a fresh pass over their prefix does, however often they are asked
      for (let i = 0; i < states.length; i++) {
        const fresh = linear(lines.slice(0, i), c.options)
        expect(show(Verify.finish(states[i]!)), `${label}: finish after ${i} lines`).toBe(fresh)
        expect(show(Verify.finish(states[i]!)), `${label}: finish after ${i} lines, again`).toBe(fresh)
      }

      // a fork: from line j, another continuation (the lines of another case) and the original,
      // stepped in turn line by line; each concludes as a fresh pass over its own lines
      const j = forkAt % states.length
      const other = all[otherWhich % all.length]!.lines.slice(j)
      const forked = [...lines.slice(0, j), ...other]
      let a: Either.Either<Verify.State, Verify.VerifyError> = Either.right(states[j]!)
      let b: Either.Either<Verify.State, Verify.VerifyError> = Either.right(states[j]!)
      const mine = lines.slice(j)
      for (let i = 0; i < Math.max(mine.length, other.length); i++) {
        if (i < mine.length) a = Either.flatMap(a, (s) => Verify.step(s, mine[i]!))
        if (i < other.length) b = Either.flatMap(b, (s) => Verify.step(s, other[i]!))
      }
      expect(show(Either.flatMap(a, Verify.finish)), `${label}: the original, forked at line ${j}`).toBe(once)
      expect(show(Either.flatMap(b, Verify.finish)), `${label}: another continuation, forked at line ${j}`).toBe(linear(forked, c.options))
      // and the state the fork began from still gives the original verdict
      expect(verdictFrom(states[j]!, mine), `${label}: from line ${j} after the fork`).toBe(once)
    },
    { fastCheck: { seed: SEED, numRuns: RUNS } }
  )

  it.prop(
    `a long sealed pack: forks stepped in turn, each from a kept state, keep their own seals (seed ${SEED})`,
    [fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), fc.nat(), tamper],
    ([prefixes, forkAt, t]) => {
      const options = { key }
      const once = linear(big, options)
      expect(once).toMatch(/^ok /)
      const states: Array<Verify.State> = [Verify.initial(options)]
      for (const l of big) states.push(Either.getOrThrow(Verify.step(states[states.length - 1]!, l)))
      for (const p of prefixes) {
        const k = p % states.length
        expect(verdictFrom(states[k]!, big.slice(k)), `from line ${k} (seed ${SEED})`).toBe(once)
        expect(show(Verify.finish(states[k]!)), `finish after ${k} lines (seed ${SEED})`).toBe(linear(big.slice(0, k), options))
      }
      // the pack and a damaged copy of it, stepped in turn from the same state: both add rows to
      // the seal's digest of the state they came from
      const j = forkAt % states.length
      const other = tampered(big, t).slice(j)
      const mine = big.slice(j)
      let a: Either.Either<Verify.State, Verify.VerifyError> = Either.right(states[j]!)
      let b: Either.Either<Verify.State, Verify.VerifyError> = Either.right(states[j]!)
      for (let i = 0; i < Math.max(mine.length, other.length); i++) {
        if (i < other.length) b = Either.flatMap(b, (s) => Verify.step(s, other[i]!))
        if (i < mine.length) a = Either.flatMap(a, (s) => Verify.step(s, mine[i]!))
      }
      expect(show(Either.flatMap(a, Verify.finish)), `the pack, forked at line ${j} (seed ${SEED})`).toBe(once)
      expect(show(Either.flatMap(b, Verify.finish)), `${JSON.stringify(t)}, forked at line ${j} (seed ${SEED})`).toBe(linear([...big.slice(0, j), ...other], options))
    },
    { fastCheck: { seed: SEED, numRuns: process.env["FUZZ_LONG"] === "1" ? 300 : 15 } }
  )

  it.prop(
    `checkpointed logs and packs under public keys: kept, stepped-twice and forked states keep their own trees (seed ${SEED})`,
    [fc.nat(), tamper, fc.nat(), fc.nat(), fc.nat()],
    ([which, t, prefixAt, forkAt, otherWhich]) => {
      const c = checkpointCases[which % checkpointCases.length]!
      const lines = tampered(c.lines, t)
      const label = `${c.name}, ${JSON.stringify(t)} (seed ${SEED})`
      const once = ckVerdict(Verify.lines(lines, c.options))
      const states: Array<Verify.State> = [Verify.initial(c.options)]
      for (const l of lines) {
        const r = Verify.step(states[states.length - 1]!, l)
        if (Either.isLeft(r)) break
        states.push(r.right)
      }
      const from = (s: Verify.State, ls: ReadonlyArray<Uint8Array>) => ckVerdict(Either.flatMap(stepAll(s, ls), Verify.finish))
      expect(from(states[0]!, lines), `${label}: the initial state, stepped again`).toBe(once)
      const k = prefixAt % states.length
      expect(from(states[k]!, lines.slice(k)), `${label}: from line ${k}`).toBe(once)
      expect(from(states[k]!, lines.slice(k)), `${label}: from line ${k}, again`).toBe(once)
      expect(ckVerdict(Verify.finish(states[k]!)), `${label}: finish after ${k} lines`).toBe(ckVerdict(Verify.lines(lines.slice(0, k), c.options)))
      // a fork into another checkpointed input: each side keeps its own tree
      const j = forkAt % states.length
      const other = checkpointCases[otherWhich % checkpointCases.length]!.lines.slice(j)
      let a: Either.Either<Verify.State, Verify.VerifyError> = Either.right(states[j]!)
      let b: Either.Either<Verify.State, Verify.VerifyError> = Either.right(states[j]!)
      const mine = lines.slice(j)
      for (let i = 0; i < Math.max(mine.length, other.length); i++) {
        if (i < other.length) b = Either.flatMap(b, (s) => Verify.step(s, other[i]!))
        if (i < mine.length) a = Either.flatMap(a, (s) => Verify.step(s, mine[i]!))
      }
      expect(ckVerdict(Either.flatMap(a, Verify.finish)), `${label}: the original, forked at line ${j}`).toBe(once)
      expect(ckVerdict(Either.flatMap(b, Verify.finish)), `${label}: the other, forked at line ${j}`).toBe(ckVerdict(Verify.lines([...lines.slice(0, j), ...other], c.options)))
      // and the chunked driver (kernel runs split at checkpoints) and the general reader agree
      const chunked = Effect.runSync(Effect.either(Stream.run(Stream.fromIterable(chunksOf(Buffer.concat(lines.map((l) => Buffer.concat([l, NL]))), 1 + ((which * 7919) % 3000))), Verify.sink(c.options))))
      expect(ckVerdict(chunked), `${label}: the sink over chunks`).toBe(once)
      expect(ckVerdict(Verify.lines(lines, { ...c.options, fastPath: false })), `${label}: the general reader`).toBe(once)
    },
    { fastCheck: { seed: SEED, numRuns: process.env["FUZZ_LONG"] === "1" ? 1000 : 60 } }
  )

  it("one initial state verifies several logs in turn, each as if it were alone", () => {
    // a state made once and used as the start of every case with the same options
    for (const c of all) {
      const s0 = Verify.initial(c.options)
      const alone = linear(c.lines, c.options)
      for (const d of all) {
        if (JSON.stringify(d.options) !== JSON.stringify(c.options)) continue
        verdictFrom(s0, d.lines)
      }
      expect(verdictFrom(s0, c.lines), c.name).toBe(alone)
    }
  })
})

describe("Verify.State is opaque", () => {
  it("its published declaration names no internals and no Node types", () => {
    // the declarations `npm run build` writes (npm test builds first), as a user's compiler reads them
    const dts = readFileSync(join(ROOT, "dist", "Verify.d.ts"), "utf8")
    expect(dts).not.toMatch(/from "node:|import\("node:|\bBuffer\b|\bHash\b/)
    const state = /export interface State \{([\s\S]*?)\n\}/.exec(dts)?.[1]
    expect(state).toBeDefined()
    const members = [...state!.matchAll(/^ {4}readonly (\[?\w+\]?)\??:/gm)].map((m) => m[1])
    expect(members).toEqual(["[StateTypeId]", "line", "entries", "head"])
  })

  it("what a user reads of a state: lines, entries and head, and nothing else is typed", () => {
    const s = Either.getOrThrow(Verify.step(Verify.initial({ key }), all[0]!.lines[0]!))
    expect([s.line, s.entries, s.head.length]).toEqual([1, 1, 64])
    expect(s[Verify.StateTypeId]).toBe(Verify.StateTypeId)
    // @ts-expect-error the configuration (key, scratch) is not part of the type
    expect(s.config).toBeDefined()
  })
})
