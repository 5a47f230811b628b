/**
 * Verify with public keys (design 13, FORMAT B.2–B.3): every checkpoint entry is checked against
 * the tree and chain at its position under the trusted keys, a pack's `_meta.checkpoint` makes
 * completeness `signed-checkpoint` and seals the whole pack, entries after the last checkpoint are
 * an unsealed tail, and a checkpoint signed by a key nobody trusts is told apart from tampering.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as F from "../src/internal/fixtures.js"
import * as Chain from "../src/Chain.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import { tempDir } from "./helpers.js"
import { A, b64, build, C, calls, checkpointed, failure, type Item, pack, report, rootOver, verifyFile } from "./verify-checkpoint-logs.js"

const tmp = tempDir()
afterAll(tmp.cleanup)

const trustA = { publicKeys: [A.verifierKey] }

/** The same verdict through a file (chunks, the kernel's runs) as through lines. */
const viaFile = async (name: string, lines: ReadonlyArray<string>, options: Verify.Options) => {
  const path = join(tmp.dir, name)
  writeFileSync(path, lines.join("\n") + "\n")
  return (await verifyFile(path, { ...options, chunkSize: 4096 })).result
}

/** One checkpoint forged at `seq` (re-signed with the log's real key). */
const forgedAt = (n: number, every: number, at: number, forge: NonNullable<Extract<Item, { kind: "checkpoint" }>["forge"]>): Array<Item> =>
  checkpointed(n, every).map((i, k) => {
    const seq = 1 + k
    return i.kind === "checkpoint" && seq === at ? { kind: "checkpoint", forge } : i
  })

describe("Verify: checkpoints under public keys", () => {
  it("checkpoint entries verify under the public key; count, tail and the last checkpoint are reported", async () => {
    const log = build({ key: A, items: [...checkpointed(25, 10), ...calls(3, 100)] })
    const r = report(Verify.lines(log.lines, trustA))
    expect(r).toMatchObject({ entries: 31, checkpoints: "verified", checkpointCount: 2, unsealedTail: 8, completeness: "none" })
    const last = Option.getOrThrow(r.lastCheckpoint)
    expect(last.size).toBe(22)
    expect(last.root).toBe(b64(rootOver(log.hashes.slice(0, 22))))
    expect(last.note).toBe(log.notes[1]!.note)
    expect(report(await viaFile("plain.jsonl", log.lines, trustA))).toEqual(r)
  })

  it("a long log through the file driver: every checkpoint checked on the batched path", async () => {
    const log = build({ key: A, items: checkpointed(3000, 250) })
    const r = report(await viaFile("long.jsonl", log.lines, trustA))
    expect(r).toMatchObject({ entries: 3013, checkpoints: "verified", checkpointCount: 12, unsealedTail: 0 })
    expect(report(Verify.lines(log.lines, trustA))).toEqual(r)
  })

  it("the same log in the reference layout: every checkpoint found and checked on every path", async () => {
    const log = build({ key: A, items: [...checkpointed(700, 100), ...calls(5, 900)] })
    const reference = log.lines.map((l) => {
      const e = JSON.parse(l) as Record<string, unknown>
      return F.pyDumps({ seq: e["seq"], ts: e["ts"], type: e["type"], payload: e["payload"], prev_hash: e["prev_hash"], hash: e["hash"], sig: e["sig"] })
    })
    const ours = report(Verify.lines(log.lines, trustA))
    expect(ours).toMatchObject({ checkpointCount: 7, unsealedTail: 5 })
    expect(report(Verify.lines(reference, trustA))).toEqual(ours)
    expect(report(await viaFile("reference.jsonl", reference, trustA))).toEqual(ours)
    // a forged checkpoint in the reference layout is found there too
    const forged = build({ key: A, items: forgedAt(300, 100, 202, (f) => void (f.root = new Uint8Array(32))) }).lines.map((l) => {
      const e = JSON.parse(l) as Record<string, unknown>
      return F.pyDumps({ seq: e["seq"], ts: e["ts"], type: e["type"], payload: e["payload"], prev_hash: e["prev_hash"], hash: e["hash"], sig: e["sig"] })
    })
    expect(failure(await viaFile("reference-forged.jsonl", forged, trustA))).toMatchObject({ _tag: "CheckpointInvalid", seq: 202 })
  })

  it("without public keys nothing is checked: checkpoints not-checked, no tree built", () => {
    const log = build({ key: A, items: checkpointed(25, 10) })
    expect(report(Verify.lines(log.lines))).toMatchObject({ checkpoints: "not-checked", checkpointCount: 0, lastCheckpoint: Option.none() })
  })

  it("a log without checkpoints verified with a public key: checkpoints absent, all entries unsealed", () => {
    const log = build({ key: null, items: calls(5) })
    expect(report(Verify.lines(log.lines, trustA))).toMatchObject({ checkpoints: "absent", checkpointCount: 0, unsealedTail: 6 })
  })

  it("a log signed by another key is CheckpointUntrusted (not CheckpointInvalid), naming the signer", async () => {
    const log = build({ key: C, items: checkpointed(25, 10) })
    const e = failure(Verify.lines(log.lines, trustA))
    expect(e._tag).toBe("CheckpointUntrusted")
    expect(e).toMatchObject({ line: 12, seq: 11 })
    expect((e as Verify.CheckpointUntrusted).signers).toEqual([`carol-log+${C.signer.keyId}`])
    expect(e.message).toContain("carol-log")
    expect(failure(await viaFile("other-key.jsonl", log.lines, trustA))).toEqual(e)
  })

  const forgeries: ReadonlyArray<readonly [string, (f: Parameters<NonNullable<Extract<Item, { kind: "checkpoint" }>["forge"]>>[0], seq: number) => void, RegExp]> = [
    ["a truncated tree (size and root of an earlier tree)", (f, seq) => {
      f.size = seq - 4
      f.payload.size = seq - 4
      // the root of the first seq-4 entries is not known here: the tree of the whole log stands in
    }, /size/],
    ["a wrong root", (f) => {
      f.root = new Uint8Array(32).fill(7)
      f.payload.root = b64(f.root)
    }, /root/],
    ["a wrong size", (f, seq) => {
      f.size = seq + 1
      f.payload.size = seq + 1
    }, /size/],
    ["a wrong head", (f) => {
      f.extensions = [`head ${"ab".repeat(32)}`]
      f.payload.head = "ab".repeat(32)
    }, /head/],
    ["an extra extension line (a pack line in an entry's note)", (f) => {
      f.extensions = [...f.extensions, `pack ${"00".repeat(32)}`]
    }, /pack|extension/],
    ["another origin", (f) => {
      f.origin = "acttrace/another-system"
    }, /origin/],
    ["a payload that differs from its note", (f) => {
      f.payload.size = 3
    }, /payload/],
    ["a note whose body was edited after signing", (f) => {
      f.edit = (note) => note.replace(/\n(\d+)\n/, (_, n: string) => `\n${Number(n) + 1}\n`)
    }, /altered|signature/]
  ]
  for (const [name, forge, words] of forgeries) {
    it(`a checkpoint re-signed with the real key over ${name} is CheckpointInvalid`, async () => {
      const log = build({ key: A, items: forgedAt(35, 10, 22, forge) })
      const e = failure(Verify.lines(log.lines, trustA))
      expect(e._tag, e.message).toBe("CheckpointInvalid")
      expect(e).toMatchObject({ line: 23, seq: 22 })
      expect(e.message).toMatch(words)
      expect(failure(await viaFile(`forged-${name.length}.jsonl`, log.lines, trustA))).toEqual(e)
    })
  }

  it("a truncated tree re-signed with its true root (the tree of an earlier size) is CheckpointInvalid", () => {
    let hashes: Array<string> = []
    const items = forgedAt(35, 10, 22, (f, seq) => {
      f.size = seq - 5
      f.root = rootOver(hashes.slice(0, seq - 5))
      f.payload = { size: seq - 5, root: b64(f.root), head: f.payload.head }
    })
    // the hashes of the log up to the forged checkpoint do not depend on it: build twice
    hashes = build({ key: A, items: checkpointed(35, 10) }).hashes
    const log = build({ key: A, items })
    const e = failure(Verify.lines(log.lines, trustA))
    expect(e).toMatchObject({ _tag: "CheckpointInvalid", seq: 22 })
  })

  it("a bad public key is PublicKeyInvalid, reported before any line", () => {
    const log = build({ key: A, items: calls(2) })
    const bad = A.verifierKey.replace(/\+([0-9a-f]{8})\+/, "+00000000+")
    const e = failure(Verify.lines(log.lines, { publicKeys: [bad] }))
    expect(e).toMatchObject({ _tag: "PublicKeyInvalid", line: 0, seq: null })
    expect(e.message).toContain("publicKeys[0]")
    expect(failure(Verify.lines([], { publicKeys: ["nonsense"] }))._tag).toBe("PublicKeyInvalid")
  })

  it("a key file's text with its trailing newline is accepted", () => {
    const log = build({ key: A, items: checkpointed(10, 5) })
    expect(report(Verify.lines(log.lines, { publicKeys: [A.verifierKey + "\n"] })).checkpoints).toBe("verified")
  })
})

describe("Verify: evidence packs under public keys", () => {
  const log = build({ key: A, items: [...checkpointed(40, 10), { kind: "checkpoint" }] })

  it("a pack's _meta.checkpoint covers the whole pack: completeness signed-checkpoint, no unsealed tail", async () => {
    const lines = pack(log, { key: A })
    const r = report(Verify.lines(lines, { ...trustA, requireComplete: true }))
    expect(r).toMatchObject({ entries: 46, completeness: "signed-checkpoint", checkpoints: "verified", unsealedTail: 0, checkpointCount: 5 })
    expect(Option.getOrThrow(r.lastCheckpoint).size).toBe(46)
    expect(report(await viaFile("pack.jsonl", lines, { ...trustA, requireComplete: true }))).toEqual(r)
  })

  it("HMAC and Ed25519 together: both seals hold, completeness from the signed checkpoint", () => {
    const signed = build({ key: A, hmac: "both-keys", items: [...checkpointed(40, 10), { kind: "checkpoint" }] })
    const lines = pack(signed, { key: A, hmac: "both-keys" })
    const r = report(Verify.lines(lines, { ...trustA, key: Redacted.make("both-keys"), requireComplete: true }))
    expect(r).toMatchObject({ signatures: "verified", completeness: "signed-checkpoint" })
    // the HMAC key alone still verifies it as before
    expect(report(Verify.lines(lines, { key: Redacted.make("both-keys") })).completeness).toBe("signed-header")
  })

  const edits: ReadonlyArray<readonly [string, (meta: Record<string, unknown>, rows: Array<string>) => void]> = [
    ["framework", (m) => void (m["framework"] = "nist_rmf")],
    ["summary", (m) => void ((m["summary"] as Record<string, unknown>)["llm_calls"] = 1)],
    ["controls_covered", (m) => void (m["controls_covered"] = [])],
    ["disclaimer", (m) => void (m["disclaimer"] = "Certified compliant.")],
    ["a row's controls", (_, rows) => void (rows[3] = rows[3]!.replace(/"controls":\[[^\]]*\]/, '"controls":[]'))],
    ["an added member", (m) => void (m["reviewed_by"] = "nobody")]
  ]
  for (const [what, edit] of edits) {
    it(`the whole-pack seal holds under the public key: an edited ${what} is HeaderInvalid`, () => {
      const lines = pack(log, { key: A, after: edit })
      const e = failure(Verify.lines(lines, trustA))
      expect(e).toMatchObject({ _tag: "HeaderInvalid", line: 1 })
    })
  }

  it("a stripped _meta.checkpoint is HeaderInvalid (the log's audit_open names a checkpoint key)", () => {
    const lines = pack(log, { key: A, after: (m) => void delete m["checkpoint"] })
    expect(failure(Verify.lines(lines, trustA))).toMatchObject({ _tag: "HeaderInvalid", line: 1 })
    expect(failure(Verify.lines(lines, trustA)).message).toContain("_meta.checkpoint")
  })

  it("a _meta.checkpoint signed by another key is HeaderInvalid", () => {
    const lines = pack(log, { key: A, before: (p) => void (p.signers = [C.signer]) })
    expect(failure(Verify.lines(lines, trustA))).toMatchObject({ _tag: "HeaderInvalid", line: 1 })
  })

  it("a _meta.checkpoint over another size, root or head is HeaderInvalid", () => {
    for (const before of [
      (p: { size?: number }) => void (p.size = 45),
      (p: { root?: Uint8Array }) => void (p.root = new Uint8Array(32)),
      (p: { head?: string }) => void (p.head = "cd".repeat(32))
    ]) {
      const lines = pack(log, { key: A, before })
      expect(failure(Verify.lines(lines, trustA))).toMatchObject({ _tag: "HeaderInvalid", line: 1 })
    }
  })

  it("a pack cut back to an earlier checkpoint with its _meta rewritten fails", () => {
    // cut after the checkpoint entry at seq 33 (covering 33 entries)
    const cut = { ...log, lines: log.lines.slice(0, 34), hashes: log.hashes.slice(0, 34), head: log.hashes[33]! }
    const inChain = log.notes.find((n) => n.seq === 33)!.note
    // (a) _meta rewritten for 34 entries, its checkpoint replaced by the in-chain note
    const a = pack(cut, { key: A, after: (m) => void (m["checkpoint"] = inChain) })
    expect(failure(Verify.lines(a, { ...trustA, requireComplete: true }))._tag).toBe("HeaderInvalid")
    // (b) cut to the 33 entries the note covers, so size and head agree: still no pack line
    const cut33 = { ...log, lines: log.lines.slice(0, 33), hashes: log.hashes.slice(0, 33), head: log.hashes[32]! }
    const b = pack(cut33, { key: A, after: (m) => void (m["checkpoint"] = inChain) })
    const eb = failure(Verify.lines(b, { ...trustA, requireComplete: true }))
    expect(eb._tag).toBe("HeaderInvalid")
    expect(eb.message).toMatch(/pack/)
    // (c) its checkpoint removed
    const c = pack(cut, { key: A, after: (m) => void delete m["checkpoint"] })
    expect(failure(Verify.lines(c, { ...trustA, requireComplete: true }))._tag).toBe("HeaderInvalid")
    // (d) as a raw log (header dropped): nothing claims completeness
    const d = failure(Verify.lines(cut.lines, { ...trustA, requireComplete: true }))
    expect(d._tag).toBe("TruncationDetected")
  })

  it("a pack of a log with no checkpoint key verifies with a public key given, without signed-checkpoint", () => {
    const plain = build({ key: null, items: calls(4) })
    const lines = pack(plain, { key: null })
    expect(report(Verify.lines(lines, trustA))).toMatchObject({ checkpoints: "absent", completeness: "unsigned-header" })
    expect(failure(Verify.lines(lines, { ...trustA, requireComplete: true }))._tag).toBe("TruncationDetected")
  })
})

describe("Verify: what the writer writes, under public keys", () => {
  /** A log file written by AuditLog with key A (Ed25519 only), `n` entries, checkpoints every 40. */
  const write = (path: string, out: string, n: number, from = 0) =>
    Effect.gen(function* () {
      const log = yield* AuditLog.AuditLog
      for (let i = 0; i < n; i++) yield* log.append("note", { i: from + i })
      return yield* log.export(out, { framework: "gdpr" })
    }).pipe(
      Effect.provide(
        AuditLog.layer({ system: "writer-under-pubkey", riskTier: "high" }).pipe(
          Layer.provide(Store.layerFile(path)),
          Layer.provide(Signer.layerEd25519(Redacted.make(A.signerKey))),
          Layer.provide(Redactor.layerNoop),
          Layer.provide(Chain.layerCheckpointPolicy({ every: 40, interval: Duration.infinity })),
          Layer.provideMerge(NodeFileSystem.layer)
        )
      ),
      Effect.scoped,
      Effect.runPromise
    )
  const read = (p: string) => readFileSync(p, "utf8").split("\n").filter((l) => l.length > 0)

  it("a pack the writer exported verifies complete; cut back with its _meta rewritten, or edited, it fails", async () => {
    const log = join(tmp.dir, "w.jsonl")
    const out = join(tmp.dir, "w.pack.jsonl")
    await write(log, out, 130)
    const lines = read(out)
    expect(report(Verify.lines(lines, { ...trustA, requireComplete: true }))).toMatchObject({ completeness: "signed-checkpoint", checkpoints: "verified", unsealedTail: 0 })
    // cut back to the checkpoint entry at seq 40 (it covers 40 entries): a forger rewrites _meta
    // for what is left and puts the in-chain note in place of the export note
    const rows = lines.slice(1, 42)
    const cp = JSON.parse(rows[40]!) as { seq: number; type: string; payload: { note: string }; hash: string }
    expect([cp.seq, cp.type]).toEqual([40, "checkpoint"])
    const meta = (JSON.parse(lines[0]!) as { _meta: Record<string, unknown> })._meta
    const forged = { ...meta, entries: 41, head_hash: cp.hash, checkpoint: cp.payload.note }
    const e = failure(Verify.lines([JSON.stringify({ _meta: forged }), ...rows], { ...trustA, requireComplete: true }))
    expect(e._tag).toBe("HeaderInvalid")
    const { checkpoint: _, ...stripped } = forged
    expect(failure(Verify.lines([JSON.stringify({ _meta: stripped }), ...rows], { ...trustA, requireComplete: true }))._tag).toBe("HeaderInvalid")
    // an edited summary
    const edited = { ...meta, summary: { ...(meta["summary"] as object), policy_flags: 99 } }
    expect(failure(Verify.lines([JSON.stringify({ _meta: edited }), ...lines.slice(1)], trustA))._tag).toBe("HeaderInvalid")
  })

  it("a later export extends the published one; a log forked with the same key does not", async () => {
    const log = join(tmp.dir, "grow.jsonl")
    const first = await write(log, join(tmp.dir, "grow-1.pack.jsonl"), 60)
    const note = Option.getOrThrow(first.checkpoint)
    await write(log, join(tmp.dir, "grow-2.pack.jsonl"), 70, 1000)
    expect(report(await viaFile("grow-2.copy.jsonl", read(join(tmp.dir, "grow-2.pack.jsonl")), { ...trustA, since: note, requireComplete: true })).completeness).toBe("signed-checkpoint")
    // the same key, another history: the first 30 entries again, then others
    const forked = join(tmp.dir, "fork.jsonl")
    await write(forked, join(tmp.dir, "fork-1.pack.jsonl"), 30)
    await write(forked, join(tmp.dir, "fork-2.pack.jsonl"), 100, 5000)
    const forkedPack = read(join(tmp.dir, "fork-2.pack.jsonl"))
    expect(report(Verify.lines(forkedPack, { ...trustA, requireComplete: true })).completeness).toBe("signed-checkpoint")
    expect(failure(Verify.lines(forkedPack, { ...trustA, since: note }))._tag).toBe("HistoryRewritten")
  })
})
