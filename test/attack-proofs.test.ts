/**
 * A hostile review of proof files and consistency (issue 13, items 6 and 7) on packs the real
 * writer makes: a proof lifted from another system signed with the same key, a consistency check
 * across a key rotation, and the lexeme rules of the proof file.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as AuditLog from "../src/AuditLog.js"
import * as Chain from "../src/Chain.js"
import * as Proof from "../src/Proof.js"
import * as Redactor from "../src/Redactor.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import { type Key, layerSigner, makeKey } from "./checkpoint-writer-helpers.js"

const dir = mkdtempSync(join(tmpdir(), "acttrace-attack-proofs-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const fresh = (name: string) => join(dir, `${++files}-${name}`)

/** Open the log at `path` with `key`, append `n` entries, export to `pack` when given, close. */
const session = (path: string, key: Key, n: number, options: { readonly pack?: string; readonly system?: string } = {}) =>
  Effect.scoped(
    Effect.flatMap(
      Layer.build(
        AuditLog.layer({ system: options.system ?? "attack", riskTier: null }).pipe(
          Layer.provide(Store.layerFile(path)),
          Layer.provide(layerSigner(key)),
          Layer.provide(Redactor.layerNoop),
          Layer.provide(Chain.layerCheckpointPolicy({ every: 4, interval: Duration.infinity })),
          Layer.provide(NodeFileSystem.layer)
        )
      ),
      (context) =>
        Effect.gen(function*() {
          const log = yield* AuditLog.AuditLog
          for (let i = 0; i < n; i++) yield* log.append("note", { i, amount: 12.5, ratio: 1e-5 })
          if (options.pack !== undefined) yield* log.export(options.pack, { framework: "eu_ai_act" })
        }).pipe(Effect.provide(context))
    )
  )

const text = (path: string) => readFileSync(path, "utf8")

describe("consistency across a key rotation (item 7)", () => {
  it.effect("OLD signed by A, NEW by B after a rotation A→B: consistent with only A trusted, as Verify follows it", () =>
    Effect.gen(function*() {
      const a = yield* makeKey(31, "alpha")
      const b = yield* makeKey(32, "beta", a)
      const log = fresh("log.jsonl")
      const old = fresh("old.pack.jsonl")
      const neu = fresh("new.pack.jsonl")
      yield* session(log, a, 6, { pack: old })
      yield* session(log, b, 7, { pack: neu })
      // the verifier follows the rotation with only A trusted
      const verified = Verify.lines(text(neu).split("\n").filter((l) => l.length > 0), { publicKeys: [a.verifierKey] })
      expect(verified._tag === "Right" ? verified.right.completeness : verified.left.message).toBe("signed-checkpoint")
      // so must consistency: NEW's final note is B's, which the rotation A confirmed makes trusted
      const c = yield* Effect.either(Proof.consistency(text(old), text(neu), { publicKeys: [a.verifierKey] }))
      expect(c._tag === "Right" ? "consistent" : `${c.left._tag}: ${c.left.message}`).toBe("consistent")
    }).pipe(Effect.provide(NodeFileSystem.layer)), 60_000)

  it.effect("a rotation to B that no checkpoint under A confirms gives B no trust in consistency", () =>
    Effect.gen(function*() {
      const a = yield* makeKey(41, "alpha")
      const b = yield* makeKey(42, "beta", a)
      const c = yield* makeKey(43, "gamma")
      const log = fresh("log.jsonl")
      const old = fresh("old.pack.jsonl")
      const other = fresh("other.pack.jsonl")
      yield* session(log, a, 6, { pack: old })
      // another log of the same system under an unrelated key C: never trusted through A
      const otherLog = fresh("other-log.jsonl")
      yield* session(otherLog, c, 6, { pack: other })
      const r = yield* Effect.either(Proof.consistency(text(old), text(other), { publicKeys: [a.verifierKey] }))
      expect(r._tag).toBe("Left")
      if (r._tag === "Left") expect(r.left._tag).toBe("NoteUntrusted")
      void b
    }).pipe(Effect.provide(NodeFileSystem.layer)), 60_000)
})

describe("proof files: what a proof says and what it does not", () => {
  it.effect("an entry of another system under the same key proves under that system's origin, never this one's", () =>
    Effect.gen(function*() {
      const a = yield* makeKey(51, "alpha")
      const mine = fresh("mine.pack.jsonl")
      const theirs = fresh("theirs.pack.jsonl")
      yield* session(fresh("mine.jsonl"), a, 5, { pack: mine, system: "loans" })
      yield* session(fresh("theirs.jsonl"), a, 5, { pack: theirs, system: "hiring" })
      const proved = yield* Proof.prove(text(theirs), { seqs: [2], publicKeys: [a.verifierKey] })
      const p = yield* Proof.verifyProof(proved.text, { publicKeys: [a.verifierKey] })
      expect(p.origin).toBe("acttrace/hiring")
      // asking for the origin of the system in question refuses it
      const r = yield* Effect.either(Proof.verifyProof(proved.text, { publicKeys: [a.verifierKey], origin: "acttrace/loans" }))
      expect(r._tag).toBe("Left")
      if (r._tag === "Left") expect(r.left._tag).toBe("NoteInvalid")
      // the consistency functions take the same option, and do not pass it by
      const theirs2 = fresh("theirs2.pack.jsonl")
      const theirsLog = fresh("theirs2.jsonl")
      yield* session(theirsLog, a, 3, { system: "hiring" })
      yield* session(theirsLog, a, 3, { pack: theirs2, system: "hiring" })
      const c = yield* Proof.consistency(text(theirsLog), text(theirs2), { publicKeys: [a.verifierKey] })
      const wrongC = yield* Effect.either(Proof.consistency(text(theirsLog), text(theirs2), { publicKeys: [a.verifierKey], origin: "acttrace/loans" }))
      expect(wrongC._tag === "Left" ? wrongC.left._tag : "accepted").toBe("NoteInvalid")
      const wrongD = yield* Effect.either(Proof.verifyConsistencyDocument(c.text, { publicKeys: [a.verifierKey], origin: "acttrace/loans" }))
      expect(wrongD._tag === "Left" ? wrongD.left._tag : "accepted").toBe("NoteInvalid")
      expect((yield* Proof.verifyConsistencyDocument(c.text, { publicKeys: [a.verifierKey], origin: "acttrace/hiring" })).new.origin).toBe("acttrace/hiring")
      const ok = yield* Proof.verifyProof(proved.text, { publicKeys: [a.verifierKey], origin: "acttrace/hiring" })
      expect(ok.entries.map((e) => e.seq)).toEqual([2])
      void mine
    }).pipe(Effect.provide(NodeFileSystem.layer)), 60_000)

  it.effect("numbers: 12.5 and 1e-05 keep their lexemes; 12.50 and 1E-5 are the same values in canonical form; 1.0 for 1 is another entry", () =>
    Effect.gen(function*() {
      const a = yield* makeKey(61, "alpha")
      const pack = fresh("num.pack.jsonl")
      yield* session(fresh("num.jsonl"), a, 3, { pack })
      const proved = yield* Proof.prove(text(pack), { seqs: [1] })
      expect(proved.text).toContain("\"amount\":12.5")
      expect(proved.text).toContain("\"ratio\":1e-05")
      const keys = { publicKeys: [a.verifierKey] }
      // FORMAT A.2: another spelling of the same double hashes as its canonical lexeme
      const same = proved.text.replace("\"amount\":12.5", "\"amount\":12.50").replace("\"ratio\":1e-05", "\"ratio\":1E-5")
      expect((yield* Proof.verifyProof(same, keys)).entries.length).toBe(1)
      // a double is another value than the integer of the same magnitude (FORMAT A.2)
      const other = yield* Effect.either(Proof.verifyProof(proved.text.replace(/"i":(\d+),/, "\"i\":$1.0,"), keys))
      expect(other._tag === "Left" ? other.left._tag : "accepted").toBe("EntryNotProven")
      // an escape of the same character is the same string; a duplicate key and __proto__ are refused or hashed as data
      const escaped = proved.text.replace("\"type\":\"note\"", "\"type\":\"n\\u006fte\"")
      expect((yield* Proof.verifyProof(escaped, keys)).entries.length).toBe(1)
      const dup = yield* Effect.either(Proof.verifyProof(proved.text.replace("\"type\":\"note\"", "\"type\":\"note\",\"type\":\"note\""), keys))
      expect(dup._tag === "Left" ? dup.left._tag : "accepted").toBe("ProofMalformed")
      const proto = yield* Effect.either(Proof.verifyProof(proved.text.replace("\"payload\":{", "\"payload\":{\"__proto__\":{\"i\":9},"), keys))
      expect(proto._tag === "Left" ? proto.left._tag : "accepted").toBe("EntryNotProven")
    }).pipe(Effect.provide(NodeFileSystem.layer)), 60_000)
})

describe("--since a published note (Verify's since) from a careless or hostile publisher", () => {
  const lines = (path: string) => text(path).split("\n").filter((l) => l.length > 0)

  it.effect("a note of another system under the same key: refused (HistoryRewritten or CheckpointInvalid), never accepted", () =>
    Effect.gen(function*() {
      const a = yield* makeKey(71, "alpha")
      const loans = fresh("loans.pack.jsonl")
      const hiring = fresh("hiring.pack.jsonl")
      yield* session(fresh("loans.jsonl"), a, 6, { pack: loans, system: "loans" })
      yield* session(fresh("hiring.jsonl"), a, 6, { pack: hiring, system: "hiring" })
      const published = (yield* Proof.latestCheckpoint(text(hiring), { publicKeys: [a.verifierKey] })).note
      const r = Verify.lines(lines(loans), { publicKeys: [a.verifierKey], since: published })
      expect(r._tag).toBe("Left")
      if (r._tag === "Left") expect(["HistoryRewritten", "CheckpointInvalid"]).toContain(r.left._tag)
    }).pipe(Effect.provide(NodeFileSystem.layer)), 60_000)

  it.effect("a note with signatures by untrusted keys beside the trusted one: accepted (the trusted signature is what counts)", () =>
    Effect.gen(function*() {
      const a = yield* makeKey(81, "alpha")
      const x = yield* makeKey(82, "mallory")
      const pack = fresh("multi.pack.jsonl")
      yield* session(fresh("multi.jsonl"), a, 6, { pack })
      const note = (yield* Proof.latestCheckpoint(text(pack), { publicKeys: [a.verifierKey] })).note
      // append mallory's signature line (the same body signed by another key)
      const body = note.slice(0, note.lastIndexOf("\n\n") + 1)
      const mallory = x.checkpoint.signNote(body)
      const extra = note + mallory.slice(mallory.lastIndexOf("\n\n") + 2)
      const r = Verify.lines(lines(pack), { publicKeys: [a.verifierKey], since: extra })
      expect(r._tag === "Right" ? "accepted" : r.left.message).toBe("accepted")
      // and a note only mallory signed is untrusted, not a rewrite
      const only = Verify.lines(lines(pack), { publicKeys: [a.verifierKey], since: mallory })
      expect(only._tag === "Left" ? only.left._tag : "accepted").toBe("CheckpointUntrusted")
    }).pipe(Effect.provide(NodeFileSystem.layer)), 60_000)
})

describe("trusted keys as a key file holds them", () => {
  it.effect("a verifier key text with its file's one trailing newline (LF or CRLF) is taken by Proof as by Verify; two are refused", () =>
    Effect.gen(function*() {
      const a = yield* makeKey(91, "alpha")
      const pack = fresh("nl.pack.jsonl")
      yield* session(fresh("nl.jsonl"), a, 4, { pack })
      const proved = yield* Proof.prove(text(pack), { seqs: [1], publicKeys: [a.verifierKey + "\n"] })
      expect((yield* Proof.verifyProof(proved.text, { publicKeys: [a.verifierKey + "\r\n"] })).entries.length).toBe(1)
      const two = yield* Effect.either(Proof.verifyProof(proved.text, { publicKeys: [a.verifierKey + "\n\n"] }))
      expect(two._tag === "Left" ? two.left._tag : "accepted").toBe("PublicKeyInvalid")
    }).pipe(Effect.provide(NodeFileSystem.layer)), 60_000)
})
