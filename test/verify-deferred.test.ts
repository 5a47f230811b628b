/**
 * Which checkpoint signatures Verify checks when (issue 13, the ≥ 90 % target of `--pubkey`).
 *
 * Every checkpoint entry is checked at once against the tree and the chain at its position, and
 * its signer is looked up at once among the trusted keys. The Ed25519 signature of an ordinary
 * in-chain checkpoint is checked later: a later checkpoint under the same key that passes its tree
 * check takes its place (its root covers every earlier entry, the earlier note's text included),
 * and the last one is checked by `finish` unless a pack's export note, checked at once, covers
 * everything. Signatures that carry trust alone (a rotation's confirming checkpoint, the export
 * note, a published note) are checked at once. `everySignature: true` checks every one at once.
 *
 * What must hold: nobody without the key can make an input verify in one mode and not the other;
 * the two modes differ only in where a damaged input is reported, and in a producer's own bad
 * signature that a later signature of the same key vouches past.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Stream from "effect/Stream"
import * as Entry from "../src/Entry.js"
import * as Note from "../src/internal/note.js"
import { GENESIS } from "../src/Hash.js"
import * as Verify from "../src/Verify.js"
import { tempDir } from "./helpers.js"
import { A, B, build, type Built, C, calls, checkpointed, failure, type Item, type Key, pack, report, verifyFile } from "./verify-checkpoint-logs.js"

const tmp = tempDir()
afterAll(tmp.cleanup)

const trustA: Verify.Options = { publicKeys: [A.verifierKey] }
const everyA: Verify.Options = { ...trustA, everySignature: true }

let files = 0
/** The verdict through a file (chunks, the kernel's runs), which must equal the one of `lines`. */
const viaFile = async (lines: ReadonlyArray<string>, options: Verify.Options) => {
  const path = join(tmp.dir, `deferred-${files++}.jsonl`)
  writeFileSync(path, lines.join("\n") + "\n")
  const byFile = (await verifyFile(path, { ...options, chunkSize: 4096 })).result
  expect(byFile).toEqual(Verify.lines(lines, options))
  return byFile
}

/**
 * Where a fold stops: the 1-based number of the line whose step failed, or "finish" when every
 * step held and `finish` failed, or "ok".
 */
const stopsAt = (lines: ReadonlyArray<string>, options: Verify.Options): number | "finish" | "ok" => {
  let s = Verify.initial(options)
  for (const [i, l] of lines.entries()) {
    const r = Verify.step(s, Buffer.from(l, "utf8"))
    if (Either.isLeft(r)) return i + 1
    s = r.right
  }
  return Either.isLeft(Verify.finish(s)) ? "finish" : "ok"
}

/** A signed note with one byte of its (first) signature changed: still well formed, no longer valid. */
const corruptSignature = (note: string): string => {
  const at = note.indexOf("\n\n\u2014 ")
  const sig = note.indexOf(" ", at + 4) + 1 + 40
  return note.slice(0, sig) + (note[sig] === "A" ? "B" : "A") + note.slice(sig + 1)
}

/** Damage only a signature of a checkpoint: what a producer's `edit` hook does to its own note. */
const producerCorrupts = (f: { edit?: (note: string) => string }) => void (f.edit = corruptSignature)

/**
 * Entry `seq` changed by `edit`, every later entry re-linked and re-hashed: what anyone can do to
 * a log without an HMAC key (the checkpoint notes stay as the producer signed them).
 */
const rechained = (log: Built, seq: number, edit: (entry: Record<string, any>) => void): Built => {
  const lines = log.lines.slice(0, seq)
  const hashes = log.hashes.slice(0, seq)
  for (let i = seq; i < log.lines.length; i++) {
    const e = JSON.parse(log.lines[i]!) as Record<string, any>
    if (i === seq) edit(e)
    const sealed = Either.getOrThrow(
      Entry.seal({ prevHash: i === 0 ? GENESIS : hashes[i - 1]!, seq: e["seq"], ts: e["ts"], type: e["type"], payload: e["payload"] }, () => "")
    )
    lines.push(sealed.line)
    hashes.push(sealed.hash)
  }
  return { lines, hashes, head: hashes[hashes.length - 1]!, notes: log.notes }
}

const withCorruptNote = (log: Built, seq: number): Built =>
  rechained(log, seq, (e) => {
    expect(e["type"]).toBe("checkpoint")
    e["payload"]["note"] = corruptSignature(e["payload"]["note"])
  })

/** Checkpoints at seq 11, 22, 33, 44, 55 (after every 10 calls), then 3 calls: lines 1 to 59. */
const plain = build({ key: A, items: [...checkpointed(50, 10), ...calls(3, 500)] })

describe("Verify: checkpoint signatures, checked at once or later", () => {
  it("a log and a pack whose every checkpoint signature is valid verify in both modes, with the same report", async () => {
    const longer = build({ key: A, items: [...checkpointed(2500, 100), ...calls(7, 9000)] })
    for (const lines of [plain.lines, pack(plain, { key: A }), longer.lines, pack(longer, { key: A })]) {
      const lazy = report(await viaFile(lines, trustA))
      expect(lazy.checkpoints).toBe("verified")
      expect(report(await viaFile(lines, everyA))).toEqual(lazy)
    }
    expect(report(Verify.lines(pack(longer, { key: A }), { ...trustA, requireComplete: true }))).toMatchObject({
      completeness: "signed-checkpoint",
      checkpointCount: 25,
      unsealedTail: 0
    })
  })

  it("a checkpoint whose signature was corrupted and the chain re-hashed after it fails: at once with everySignature, at the next checkpoint's tree check without", async () => {
    const forged = withCorruptNote(plain, 22)
    const every = failure(await viaFile(forged.lines, everyA))
    expect(every).toMatchObject({ _tag: "CheckpointInvalid", line: 23, seq: 22 })
    expect(every.message).toMatch(/does not verify: the note was altered after signing/)
    expect(stopsAt(forged.lines, everyA)).toBe(23)
    // the signature at seq 22 waits; the checkpoint at seq 33 does not describe this chain
    const lazy = failure(await viaFile(forged.lines, trustA))
    expect(lazy).toMatchObject({ _tag: "CheckpointInvalid", line: 34, seq: 33 })
    expect(lazy.message).toMatch(/head|root/)
    expect(stopsAt(forged.lines, trustA)).toBe(34)
  })

  it("the last checkpoint of a raw log with a corrupted signature fails at its own line, found by finish", async () => {
    const forged = withCorruptNote(plain, 55)
    const lazy = failure(await viaFile(forged.lines, trustA))
    expect(lazy).toMatchObject({ _tag: "CheckpointInvalid", line: 56, seq: 55 })
    expect(lazy.message).toMatch(/altered after signing/)
    expect(stopsAt(forged.lines, trustA)).toBe("finish")
    expect(failure(await viaFile(forged.lines, everyA))).toEqual(lazy)
    expect(stopsAt(forged.lines, everyA)).toBe(56)
    // the same when nothing follows it
    const last = withCorruptNote(build({ key: A, items: checkpointed(50, 10) }), 55)
    expect(failure(Verify.lines(last.lines, trustA))).toMatchObject({ _tag: "CheckpointInvalid", line: 56, seq: 55 })
  })

  it("a pack re-chained after a corrupted last checkpoint, its _meta rewritten, fails at that checkpoint: its export note settles nothing", async () => {
    const log = build({ key: A, items: [...checkpointed(40, 10), ...calls(2, 700)] })
    const original = pack(log, { key: A })
    const forged = withCorruptNote(log, 44)
    // the attacker keeps the producer's export note: no other is to be had without the key
    const lines = pack(forged, { key: A, after: (meta) => void (meta["checkpoint"] = (JSON.parse(original[0]!) as { _meta: Record<string, unknown> })._meta["checkpoint"]) })
    for (const options of [trustA, everyA]) {
      expect(failure(await viaFile(lines, options))).toMatchObject({ _tag: "CheckpointInvalid", line: 46, seq: 44 })
    }
  })

  it("a producer's own bad signature: a later signature of the same key (a checkpoint, an export note) vouches past it, everySignature does not", async () => {
    const items = checkpointed(50, 10).map((i, k): Item => (i.kind === "checkpoint" && k + 1 === 22 ? { kind: "checkpoint", forge: producerCorrupts } : i))
    const log = build({ key: A, items })
    expect(report(await viaFile(log.lines, trustA))).toMatchObject({ checkpoints: "verified", checkpointCount: 5, unsealedTail: 0 })
    expect(failure(await viaFile(log.lines, everyA))).toMatchObject({ _tag: "CheckpointInvalid", line: 23, seq: 22 })
    // the last checkpoint of a pack, covered by its export note
    const lastBad = build({
      key: A,
      items: [...checkpointed(40, 10).map((i, k): Item => (i.kind === "checkpoint" && k + 1 === 44 ? { kind: "checkpoint", forge: producerCorrupts } : i)), ...calls(2, 700)]
    })
    const p = pack(lastBad, { key: A })
    expect(report(await viaFile(p, { ...trustA, requireComplete: true }))).toMatchObject({ completeness: "signed-checkpoint", unsealedTail: 0 })
    expect(failure(await viaFile(p, everyA))).toMatchObject({ _tag: "CheckpointInvalid", line: 46, seq: 44 })
    // the raw log: nothing vouches past its last checkpoint
    expect(failure(Verify.lines(lastBad.lines, trustA))).toMatchObject({ _tag: "CheckpointInvalid", line: 45, seq: 44 })
  })

  it("a rotation's confirming checkpoint is checked at once: a bad signature there fails at its line", () => {
    const confirmBad: Item = { kind: "checkpoint", forge: (f) => void ((f.signers = [A.signer]), (f.edit = corruptSignature)) }
    const items: Array<Item> = [...checkpointed(20, 10), { kind: "rotation", to: B, previous: A }, confirmBad, ...checkpointed(25, 10, 300)]
    const log = build({ key: A, items })
    // audit_open, 20 calls and 2 checkpoints, the rotation at seq 23, its confirmation at seq 24
    for (const options of [trustA, everyA]) {
      expect(failure(Verify.lines(log.lines, options))).toMatchObject({ _tag: "CheckpointInvalid", line: 25, seq: 24 })
      expect(stopsAt(log.lines, options)).toBe(25)
    }
    // and a good confirmation settles the checkpoint before it that waits (its key is about to go)
    const good = build({ key: A, items: items.map((i) => (i === confirmBad ? ({ kind: "checkpoint", forge: (f) => void (f.signers = [A.signer]) } as Item) : i)) })
    expect(report(Verify.lines(good.lines, trustA))).toMatchObject({ checkpoints: "verified", checkpointCount: 5 })
  })

  it("a log that takes its first key (previous null) settles the checkpoint that waits before the key changes", () => {
    const underA = (f: { signers: ReadonlyArray<unknown> }) => void (f.signers = [A.signer])
    const items: Array<Item> = [
      ...calls(10),
      { kind: "checkpoint", forge: underA },
      ...calls(10, 50),
      { kind: "checkpoint", forge: (f) => void (underA(f), producerCorrupts(f)) },
      ...calls(3, 80),
      { kind: "rotation", to: B, previous: null },
      ...checkpointed(20, 10, 100)
    ]
    const log = build({ key: null, items })
    const both: Verify.Options = { publicKeys: [A.verifierKey, B.verifierKey] }
    // the corrupt checkpoint is at seq 22; the rotation at seq 26 (line 27) settles it
    expect(failure(Verify.lines(log.lines, both))).toMatchObject({ _tag: "CheckpointInvalid", line: 23, seq: 22 })
    expect(stopsAt(log.lines, both)).toBe(27)
    expect(stopsAt(log.lines, { ...both, everySignature: true })).toBe(23)
    const fine = build({ key: null, items: items.map((i, k) => (k === 21 ? ({ kind: "checkpoint", forge: underA } as Item) : i)) })
    expect(report(Verify.lines(fine.lines, both))).toMatchObject({ checkpoints: "verified", checkpointCount: 4 })
  })

  it("an untrusted signer is found at the first checkpoint, and a malformed note at once", () => {
    const other = build({ key: C, items: checkpointed(50, 10) })
    for (const options of [trustA, everyA]) {
      expect(failure(Verify.lines(other.lines, options))).toMatchObject({ _tag: "CheckpointUntrusted", line: 12, seq: 11 })
      expect(stopsAt(other.lines, options)).toBe(12)
    }
    const malformed = build({
      key: A,
      items: checkpointed(50, 10).map((i, k): Item => (i.kind === "checkpoint" && k + 1 === 22 ? { kind: "checkpoint", forge: (f) => void (f.edit = (n) => n.replace("\n\n", "\n")) } : i))
    })
    expect(failure(Verify.lines(malformed.lines, trustA))).toMatchObject({ _tag: "CheckpointInvalid", line: 23, seq: 22 })
    expect(stopsAt(malformed.lines, trustA)).toBe(23)
  })

  it("the checkpoint that waits is part of the state: a kept state still owes it, a later one is past it", () => {
    const log = build({ key: A, items: checkpointed(50, 10).map((i, k): Item => (i.kind === "checkpoint" && k + 1 === 44 ? { kind: "checkpoint", forge: producerCorrupts } : i)) })
    let s = Verify.initial(trustA)
    const states: Array<Verify.State> = []
    for (const l of log.lines) {
      s = Either.getOrThrow(Verify.step(s, Buffer.from(l, "utf8")))
      states.push(s)
    }
    // after the bad checkpoint (line 45) the state owes its signature; after the next one it does not
    const owing = states[44]!
    expect(failure(Verify.finish(owing))).toMatchObject({ _tag: "CheckpointInvalid", line: 45, seq: 44 })
    expect(report(Verify.finish(states[55]!))).toMatchObject({ checkpointCount: 5 })
    // a fork that takes another way (a checkpoint at seq 55 whose signature is corrupt) owes that one
    const fork = Verify.step(states[54]!, Buffer.from(withCorruptNote(log, 55).lines[55]!, "utf8"))
    expect(Either.isRight(fork)).toBe(true)
    expect(failure(Verify.finish(Either.getOrThrow(fork)))).toMatchObject({ _tag: "CheckpointInvalid", line: 56, seq: 55 })
    // the kept states are unchanged by what was done from them
    expect(failure(Verify.finish(owing))).toMatchObject({ line: 45, seq: 44 })
    expect(report(Verify.finish(states[55]!))).toMatchObject({ checkpointCount: 5 })
  })
})

const NL = Buffer.from("\n")
const chunksOf = (b: Buffer, size: number): Array<Buffer> => {
  const out: Array<Buffer> = []
  for (let o = 0; o < b.length; o += size) out.push(b.subarray(o, o + size))
  return out
}

type Damage =
  | { readonly kind: "signature" | "body" | "payload"; readonly which: number }
  | { readonly kind: "byte"; readonly at: number; readonly pos: number }
  | { readonly kind: "delete" | "cut" | "swap"; readonly at: number }

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constantFrom("signature" as const, "body" as const, "payload" as const), which: fc.nat() }),
  fc.record({ kind: fc.constant("byte" as const), at: fc.nat(), pos: fc.nat() }),
  fc.record({ kind: fc.constantFrom("delete" as const, "cut" as const, "swap" as const), at: fc.nat() })
)

/** Damage anyone can do without a key: checkpoint notes edited and re-chained, bytes, lines. */
const damaged = (log: Built, d: Damage, isPack: boolean, key: Key): Array<Buffer> =>
  damagedText(log, d, isPack, key).map((l) => (typeof l === "string" ? Buffer.from(l, "utf8") : l))

const damagedText = (log: Built, d: Damage, isPack: boolean, key: Key): Array<string | Buffer> => {
  const asPack = (b: Built) => (isPack ? pack(b, { key, after: (meta) => void (meta["checkpoint"] = originalNote) }) : b.lines)
  const originalNote = isPack ? (JSON.parse(pack(log, { key })[0]!) as { _meta: Record<string, unknown> })._meta["checkpoint"] : undefined
  switch (d.kind) {
    case "signature":
    case "body":
    case "payload": {
      if (log.notes.length === 0) return asPack(log)
      const seq = log.notes[d.which % log.notes.length]!.seq
      return asPack(rechained(log, seq, (e) => {
        const p = e["payload"]
        if (d.kind === "signature") p["note"] = corruptSignature(p["note"])
        else if (d.kind === "body") p["note"] = (p["note"] as string).replace(/^([^\n]*\n)(\d+)/, (_, o: string, n: string) => `${o}${Number(n) + 1}`)
        else p["size"] = p["size"] + 1
      }))
    }
    case "byte": {
      const lines: Array<string | Buffer> = asPack(log)
      const i = d.at % lines.length
      const l = Buffer.from(lines[i]!)
      const at = d.pos % l.length
      l[at] = l[at]! ^ 0x01
      lines[i] = l
      return lines
    }
    case "delete":
    case "cut":
    case "swap": {
      const lines = asPack(log)
      const i = 1 + (d.at % (lines.length - 1))
      if (d.kind === "delete") lines.splice(i, 1)
      else if (d.kind === "cut") return lines.slice(0, i)
      else if (i + 1 < lines.length) [lines[i], lines[i + 1]] = [lines[i + 1]!, lines[i]!]
      return lines
    }
  }
}

describe("Verify: checking signatures later never changes a verdict", () => {
  it.prop(
    "for random logs (checkpoints, a rotation, packs) and random damage, everySignature and the default agree; only the place may differ",
    [fc.integer({ min: 3, max: 60 }), fc.integer({ min: 2, max: 12 }), fc.boolean(), fc.boolean(), damage],
    ([n, every, rotate, isPack, d]) => {
      const items: Array<Item> = [...checkpointed(n, every)]
      if (rotate) items.push({ kind: "rotation", to: B, previous: A }, { kind: "checkpoint", forge: (f) => void (f.signers = [A.signer]) }, ...checkpointed(n, every, 400))
      const log = build({ key: A, items })
      const lines = damaged(log, d, isPack, rotate ? B : A)
      const lazy = Verify.lines(lines, trustA)
      const eager = Verify.lines(lines, everyA)
      // the same verdicts through the sink, whose kernel runs check checkpoints inside them
      const bytes = Buffer.concat(lines.flatMap((l) => [l, NL]))
      for (const [options, verdict] of [[trustA, lazy], [everyA, eager]] as const) {
        for (const chunk of [bytes.length, 1 + (n * 131) % 4000]) {
          expect(Effect.runSync(Effect.either(Stream.run(Stream.fromIterable(chunksOf(bytes, chunk)), Verify.sink(options))))).toEqual(verdict)
        }
      }
      const label = `${n}/${every} rotate=${rotate} pack=${isPack} ${JSON.stringify(d)}: ${Either.isLeft(eager) ? eager.left.message : "ok"} / ${Either.isLeft(lazy) ? lazy.left.message : "ok"}`
      expect(Either.isLeft(lazy), label).toBe(Either.isLeft(eager))
      if (Either.isLeft(lazy) && Either.isLeft(eager) && (lazy.left._tag !== eager.left._tag || lazy.left.line !== eager.left.line)) {
        // only a signature checked later can be found later: at a later checkpoint's tree check
        // (or the chain, or the pack's header, which a re-chained input no longer matches)
        expect(eager.left._tag, label).toBe("CheckpointInvalid")
        expect(eager.left.message, label).toMatch(/does not verify/)
        expect(lazy.left.line > eager.left.line || lazy.left._tag === "HeaderInvalid", label).toBe(true)
      }
      if (Either.isRight(lazy) && Either.isRight(eager)) expect(lazy.right).toEqual(eager.right)
    },
    { fastCheck: { numRuns: process.env.FUZZ_LONG === "1" ? 2000 : 150 } }
  )
})

describe("note: read, then verifySignatures, is open in two steps", () => {
  const text = "acttrace/loan-desk\n7\n" + "A".repeat(43) + "=\nhead " + "ab".repeat(32) + "\n"
  const signed = Effect.runSync(Note.sign(text, [A.signer, C.signer]))
  const verifiers = [A, B, C].map((k) => Effect.runSync(Note.parseVerifierKey(k.verifierKey)))
  it.prop(
    "for notes with one edit and any set of trusted keys: the same outcome, the same error",
    [fc.integer({ min: 0, max: 7 }), fc.nat(), fc.subarray([0, 1, 2])],
    ([edit, at, keys]) => {
      const trusted = keys.map((i) => verifiers[i]!)
      const i = at % signed.length
      const note = [
        signed,
        corruptSignature(signed),
        signed.replace("\n7\n", "\n8\n"),
        signed + signed.slice(signed.indexOf("\u2014")),
        signed.slice(0, i) + signed.slice(i + 1),
        signed.slice(0, i) + "x" + signed.slice(i),
        signed.replace("\n\n", "\n"),
        text + "\n"
      ][edit]!
      const opened = Note.openSync(note, trusted)
      const read = Note.read(note, trusted)
      const twoSteps = Either.flatMap(read, (r) => {
        const bad = Note.verifySignatures(r)
        return bad === undefined ? Either.right({ text: r.text, verified: r.signers, unknown: r.unknown }) : Either.left(bad)
      })
      expect(twoSteps).toEqual(opened)
      expect(Effect.runSync(Effect.either(Note.open(note, trusted)))).toEqual(opened)
    }
  )
})
