/**
 * Proof files and consistency between packs (issue 13 items 6 and 9, `src/Proof.ts`).
 *
 * The logs and packs of test/proof-helpers.ts are made with the project's own code in the exact
 * format of the design, so the proofs are checked against real bytes, not against a model
 * of them; packs the writer itself exports (AuditLog, Signer.layerEd25519) are checked at the end.
 * The byte mutator of proof files is test/harness/proof-bytes.test.ts.
 */
import { randomFillSync } from "node:crypto"
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type * as FileSystem from "@effect/platform/FileSystem"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as AuditLog from "../src/AuditLog.js"
import * as Canonical from "../src/Canonical.js"
import * as Chain from "../src/Chain.js"
import * as Hash from "../src/Hash.js"
import * as Merkle from "../src/Merkle.js"
import * as Proof from "../src/Proof.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import { FUZZ } from "./helpers.js"
import {
  b64,
  chunked,
  docOf,
  entriesOf,
  extend,
  failureOf,
  type JsonObject,
  KEY,
  keys,
  logOf,
  ORIGIN,
  OTHER,
  packOf,
  rawOf,
  rootOfHashes,
  signNote,
  STRANGER,
  textOf
} from "./proof-helpers.js"

// ---------------------------------------------------------------------------------------------

describe("Proof.latestCheckpoint", () => {
  it.effect("a pack's is its _meta.checkpoint; a log's the note of its last checkpoint entry", () =>
    Effect.gen(function*() {
      const log = logOf(25, { every: 10 })
      const pack = packOf(log)
      const fromPack = yield* Proof.latestCheckpoint(chunked(pack))
      expect(fromPack.source).toBe("pack")
      expect(fromPack.size).toBe(log.lines.length)
      expect(fromPack.origin).toBe(ORIGIN)
      expect(fromPack.note).toBe((JSON.parse(pack.split("\n")[0]!) as { _meta: { checkpoint: string } })._meta.checkpoint)
      expect(fromPack.root).toBe(b64(rootOfHashes(log.hashes, log.lines.length)))
      expect(Option.isSome(fromPack.pack)).toBe(true)

      const fromLog = yield* Proof.latestCheckpoint(rawOf(log))
      expect(fromLog.source).toBe("entry")
      // checkpoints after 10 and after 20 entries: the second sits at seq 21 and covers 0..20
      expect(log.types.filter((t) => t === "checkpoint").length).toBe(2)
      expect(fromLog.size).toBe(21)
      expect(fromLog.seq).toEqual(Option.some(21))
      expect(fromLog.head).toEqual(Option.some(log.hashes[20]))
      expect(Option.isNone(fromLog.pack)).toBe(true)
    }))

  it.effect("no checkpoint anywhere: NoCheckpoint; an unreadable line, or a checkpoint entry without its note: PackUnreadable with its line", () =>
    Effect.gen(function*() {
      const none = yield* failureOf(Proof.latestCheckpoint(rawOf(logOf(5))))
      expect(none._tag).toBe("NoCheckpoint")
      expect(none.message).toMatch(/no signed checkpoint/)
      // the last checkpoint entry without its note: an error naming it, not the one before it
      const log = logOf(9, { every: 3 })
      const last = log.types.lastIndexOf("checkpoint")
      const lines = [...log.lines]
      lines[last] = lines[last]!.replace('"note":', '"nate":')
      const noNote = yield* failureOf(Proof.latestCheckpoint(lines.join("\n")))
      expect(noNote).toMatchObject({ _tag: "PackUnreadable", line: last + 1 })
      expect(noNote.message).toMatch(new RegExp(`seq ${last}`))
      const broken = rawOf(logOf(5, { every: 2 })).replace(/\n/, "\n{not json\n")
      const bad = yield* failureOf(Proof.latestCheckpoint(broken))
      expect(bad._tag).toBe("PackUnreadable")
      expect(bad).toMatchObject({ line: 2 })
    }))
})

describe("Proof.prove and Proof.verifyProof", () => {
  it.effect("a proof of two entries of a pack verifies alone, holds those entries and nothing of the others", () =>
    Effect.gen(function*() {
      const log = logOf(60, { every: 16, close: true })
      const pack = packOf(log)
      const proved = yield* Proof.prove(chunked(pack), { seqs: [40, 12], publicKeys: keys })
      expect(proved.entries.map((e) => e.seq)).toEqual([12, 40])
      expect(proved.checkpoint.size).toBe(log.lines.length)
      // the file holds the two entries, their proofs and the checkpoint; no other entry's hash or text
      const last = log.lines.length - 1
      for (let seq = 0; seq < log.lines.length; seq++) {
        const inFile = proved.text.includes(log.hashes[seq]!)
        if (seq === 12 || seq === 40 || seq === last) expect(inFile, `seq ${seq}`).toBe(true) // (the checkpoint's head is the last hash)
        else if (seq !== 11 && seq !== 39) expect(inFile, `seq ${seq}`).toBe(false) // (a prev_hash names the entry before)
        if (seq !== 12 && seq !== 40) expect(proved.text.includes(`entry ${seq} `), `seq ${seq}`).toBe(false)
      }
      expect(proved.text).not.toContain("controls")
      // numbers keep their lexemes
      expect(proved.text).toContain('"ratio":1000.0')
      expect(proved.text).toContain('"big":18446744073709551616')
      expect(proved.text).toContain('"small":1e-05')

      const proven = yield* Proof.verifyProof(proved.text, { publicKeys: keys })
      expect(proven.size).toBe(log.lines.length)
      expect(proven.origin).toBe(ORIGIN)
      expect(proven.signers).toEqual([`${KEY.signer.name}+${KEY.signer.keyId}`])
      expect(proven.entries.map((e) => [e.seq, e.hash, e.type])).toEqual([
        [12, log.hashes[12], "decision_record"],
        [40, log.hashes[40], "decision_record"]
      ])
      // what is proven is the entry itself: its canonical text hashes to its hash under its prev_hash
      const e12 = proven.entries[0]!
      expect(Hash.chainHash(e12.prevHash, Either.getOrThrow(Hash.body(e12)))).toBe(log.hashes[12])
      // bytes work as well as text
      const again = yield* Proof.verifyProof(Buffer.from(proved.text), { publicKeys: keys })
      expect(again.entries.map((e) => e.seq)).toEqual([12, 40])
    }))

  it.effect("a raw log: against the latest checkpoint entry covering every chosen seq; later seqs are not provable", () =>
    Effect.gen(function*() {
      const log = logOf(45, { every: 10 })
      // checkpoints sit at seqs 10, 21, 32, 43 (covering 10, 21, 32, 43 entries); 44..48 are after them
      expect(log.types.flatMap((t, seq) => (t === "checkpoint" ? [seq] : []))).toEqual([10, 21, 32, 43])
      expect(log.lines.length).toBe(49)
      const proved = yield* Proof.prove(rawOf(log), { seqs: [3, 42] })
      expect(proved.checkpoint.size).toBe(43)
      expect(proved.checkpoint.source).toBe("entry")
      const proven = yield* Proof.verifyProof(proved.text, { publicKeys: keys })
      expect(proven.entries.map((e) => e.seq)).toEqual([3, 42])
      const late = yield* failureOf(Proof.prove(rawOf(log), { seqs: [3, 45] }))
      expect(late._tag).toBe("SeqNotProvable")
      expect(late).toMatchObject({ seq: 45 })
      expect(late.message).toMatch(/checkpoint/)
    }))

  it.effect("prove refuses: an unknown seq, a repeated one, none at all, a pack whose checkpoint is not its tree, an untrusted checkpoint", () =>
    Effect.gen(function*() {
      const log = logOf(30, { every: 8, close: true })
      const pack = packOf(log)
      const unknown = yield* failureOf(Proof.prove(pack, { seqs: [5, log.lines.length] }))
      expect(unknown).toMatchObject({ _tag: "SeqNotProvable", seq: log.lines.length })
      expect(unknown.message).toMatch(new RegExp(`holds entries 0 to ${log.lines.length - 1}`))
      const twice = yield* failureOf(Proof.prove(pack, { seqs: [5, 5] }))
      expect(twice).toMatchObject({ _tag: "SeqNotProvable", seq: 5 })
      expect(twice.message).toMatch(/more than once/)
      const none = yield* failureOf(Proof.prove(pack, { seqs: [] }))
      expect(none._tag).toBe("SeqNotProvable")
      const negative = yield* failureOf(Proof.prove(pack, { seqs: [-1] }))
      expect(negative._tag).toBe("SeqNotProvable")

      // an entry the proof does not show, replaced by another hash: the tree is not the checkpoint's
      const lines = pack.split("\n")
      lines[8] = lines[8]!.replace(log.hashes[7]!, "f".repeat(64))
      const forged = yield* failureOf(Proof.prove(lines.join("\n"), { seqs: [20] }))
      expect(forged._tag).toBe("CheckpointMismatch")
      expect(forged.message).toMatch(/root/)

      // the chosen entry edited (its hash kept): its fields do not hash to it
      const edited = pack.replace("entry 20 é", "entry 20 e")
      const editedError = yield* failureOf(Proof.prove(edited, { seqs: [20] }))
      expect(editedError).toMatchObject({ _tag: "PackUnreadable" })
      expect(editedError.message).toMatch(/seq 20/)

      const untrusted = yield* failureOf(Proof.prove(pack, { seqs: [3], publicKeys: [STRANGER.verifierKey] }))
      expect(untrusted._tag).toBe("NoteUntrusted")
      const badKey = yield* failureOf(Proof.prove(pack, { seqs: [3], publicKeys: ["not a key"] }))
      expect(badKey._tag).toBe("PublicKeyInvalid")
    }))

  it.effect("a pack that does not start at seq 0 cannot give proofs (leaf index = seq)", () =>
    Effect.gen(function*() {
      const log = logOf(12, { every: 4 })
      const cut = log.lines.slice(3).join("\n") + "\n"
      const e = yield* failureOf(Proof.prove(cut, { seqs: [8] }))
      expect(e._tag).toBe("PackUnreadable")
      expect(e.message).toMatch(/seq 0|leaf/)
    }))

  it.effect("a log in another writer's layout (members in another order, spaces, escaped member names) gives the same proofs", () =>
    Effect.gen(function*() {
      const log = logOf(40, { every: 9 })
      // every member written by hand around its canonical value; a third of the lines spell a
      // member name with an escape (read by the general reader), the rest are read plainly
      const relaid = log.lines.map((line, i) => {
        const entry = docOf(line)
        const members = Object.keys(entry).reverse().map((k) => {
          const name = i % 3 === 0 && k === "hash" ? '"h\\u0061sh"' : JSON.stringify(k)
          return `${name} : ${textOf(entry[k])}`
        })
        return `  { ${members.join(" ,\t")} }\r`
      })
      const text = relaid.join("\n") + "\n"
      expect(text).toContain('"h\\u0061sh"')
      const proved = yield* Proof.prove(chunked(text, 50), { seqs: [0, 7, 26] })
      const proven = yield* Proof.verifyProof(proved.text, { publicKeys: keys })
      expect(proven.entries.map((e) => e.hash)).toEqual([0, 7, 26].map((s) => log.hashes[s]))
      expect(proved.text).toBe((yield* Proof.prove(rawOf(log), { seqs: [26, 0, 7] })).text)
      expect(yield* Proof.firstDifference(rawOf(log), text)).toEqual({ _tag: "Prefix", oldEntries: log.lines.length, newEntries: log.lines.length })
    }))

  describe("verifyProof rejects", () => {
    const log = logOf(64, { every: 20, close: true })
    const pack = packOf(log)
    const proved = Effect.runSync(Proof.prove(pack, { seqs: [12, 40] }))

    const rejects = (name: string, edit: (doc: JsonObject) => unknown, tag: string, pattern?: RegExp) =>
      it.effect(name, () =>
        Effect.gen(function*() {
          const doc = docOf(proved.text)
          const edited = edit(doc)
          const text = typeof edited === "string" ? edited : textOf(doc)
          const e = yield* failureOf(Proof.verifyProof(text, { publicKeys: keys }))
          expect(e._tag).toBe(tag)
          if (pattern !== undefined) expect(e.message).toMatch(pattern)
        }))

    rejects("an edited entry (a payload value changed), naming it", (doc) => {
      const entry = entriesOf(doc)[1]!["entry"] as JsonObject
      ;(entry["payload"] as Record<string, Canonical.Json>)["text"] = "entry 40, edited"
    }, "EntryNotProven", /seq 40/)

    rejects("an edited number lexeme (1000.0 written 1000, as a JSON.parse round trip writes it)", (doc) => {
      const entry = entriesOf(doc)[0]!["entry"] as JsonObject
      ;(entry["payload"] as Record<string, Canonical.Json>)["ratio"] = new Canonical.Num("1000")
    }, "EntryNotProven", /seq 12/)

    rejects("a swapped entry (the content of seq 40 under seq 12)", (doc) => {
      const [a, b] = entriesOf(doc)
      const e40 = b!["entry"] as JsonObject
      a!["entry"] = { ...e40, seq: new Canonical.Num("12") }
    }, "EntryNotProven", /seq 12/)

    rejects("a swapped entry (seq 40's content and hash under seq 12's proof)", (doc) => {
      const [a, b] = entriesOf(doc)
      doc["entries"] = [{ entry: b!["entry"]!, proof: a!["proof"]! }]
    }, "EntryNotProven", /seq 40/)

    rejects("an entry whose seq alone is changed", (doc) => {
      const entry = entriesOf(doc)[0]!["entry"] as JsonObject
      entry["seq"] = new Canonical.Num("13")
    }, "EntryNotProven", /seq 13/)

    rejects("a proof for another tree size (the proof of seq 12 in a longer pack of the same log)", (doc) => {
      const longer = Effect.runSync(Proof.prove(packOf(extend(log, 10)), { seqs: [12] }))
      entriesOf(doc)[0]!["proof"] = entriesOf(docOf(longer.text))[0]!["proof"]!
    }, "EntryNotProven", /seq 12/)

    rejects("the size field changed", (doc) => {
      doc["size"] = new Canonical.Num(String(log.lines.length - 1))
    }, "ProofMalformed", /size/)

    rejects("the checkpoint of another pack (same key, another log)", (doc) => {
      doc["checkpoint"] = Effect.runSync(Proof.latestCheckpoint(packOf(logOf(64, { every: 20, close: true, forkAt: 50 })))).note
    }, "EntryNotProven")

    rejects("a dropped sibling", (doc) => {
      ;(entriesOf(doc)[1]!["proof"] as Array<Canonical.Json>).pop()
    }, "EntryNotProven", /seq 40/)

    rejects("an added sibling", (doc) => {
      ;(entriesOf(doc)[1]!["proof"] as Array<Canonical.Json>).push(b64(new Uint8Array(32)))
    }, "EntryNotProven", /seq 40/)

    rejects("a flipped bit in a sibling", (doc) => {
      const proof = entriesOf(doc)[0]!["proof"] as Array<string>
      const bytes = Buffer.from(proof[2]!, "base64")
      bytes[5]! ^= 0x10
      proof[2] = bytes.toString("base64")
    }, "EntryNotProven", /seq 12/)

    rejects("a checkpoint signed by a key that is not trusted (its own error)", (doc) => {
      const body = docOf(proved.text)["checkpoint"] as string
      doc["checkpoint"] = signNote(body.slice(0, body.indexOf("\n\n") + 1), STRANGER.signer)
    }, "NoteUntrusted", /someone-else/)

    rejects("a checkpoint whose text was changed after signing (tampered, not untrusted)", (doc) => {
      const note = doc["checkpoint"] as string
      doc["checkpoint"] = note.replace(/\n(\d+)\n/, (_, n: string) => `\n${Number(n) + 1}\n`)
    }, "NoteInvalid")

    rejects("the genuine checkpoint of a longer tree of the same log, with the proofs of the shorter one", (doc) => {
      const longer = Effect.runSync(Proof.latestCheckpoint(packOf(extend(log, 3))))
      doc["checkpoint"] = longer.note
      doc["size"] = new Canonical.Num(String(longer.size))
    }, "EntryNotProven", /seq 12/)

    rejects("a same-name key with other key material (OTHER)", (doc) => {
      const note = doc["checkpoint"] as string
      doc["checkpoint"] = signNote(note.slice(0, note.indexOf("\n\n") + 1), OTHER.signer)
    }, "NoteUntrusted")

    rejects("a seq listed twice", (doc) => {
      entriesOf(doc).push(entriesOf(doc)[0]!)
    }, "ProofMalformed", /twice|more than once/)

    rejects("another format", (doc) => {
      doc["format"] = "acttrace-proof/2"
    }, "ProofMalformed", /format/)

    rejects("no entries", (doc) => {
      doc["entries"] = []
    }, "ProofMalformed")

    rejects("a seq that is a string", (doc) => {
      ;(entriesOf(doc)[0]!["entry"] as JsonObject)["seq"] = "12"
    }, "ProofMalformed", /seq/)

    rejects("a seq as a fraction", (doc) => {
      ;(entriesOf(doc)[0]!["entry"] as JsonObject)["seq"] = new Canonical.Num("12.0")
    }, "ProofMalformed", /seq/)

    rejects("a huge seq", (doc) => {
      ;(entriesOf(doc)[0]!["entry"] as JsonObject)["seq"] = new Canonical.Num("1" + "0".repeat(400))
    }, "ProofMalformed", /seq/)

    rejects("a sibling that is not canonical base64 of 32 bytes", (doc) => {
      ;(entriesOf(doc)[0]!["proof"] as Array<string>)[0] = "AAAA"
    }, "ProofMalformed", /proof/)

    rejects("text that is not JSON", () => proved.text.slice(0, -5), "ProofMalformed", /JSON/)
    rejects("a duplicate member (JSON.parse would keep the last one)", () =>
      proved.text.replace('{"format":', '{"size":1,"format":'), "ProofMalformed")
    rejects("deep nesting", () => "[".repeat(100_000) + "]".repeat(100_000), "ProofMalformed")
    rejects("a JSON value that is not an object", () => "42", "ProofMalformed")

    it.effect("no trusted key at all, or one that is not a key: PublicKeyInvalid", () =>
      Effect.gen(function*() {
        expect((yield* failureOf(Proof.verifyProof(proved.text, { publicKeys: [] })))._tag).toBe("PublicKeyInvalid")
        const second = yield* failureOf(Proof.verifyProof(proved.text, { publicKeys: [KEY.verifierKey, KEY.signerKey] }))
        expect(second).toBeInstanceOf(Verify.PublicKeyInvalid)
        expect(second).toMatchObject({ _tag: "PublicKeyInvalid", key: 1 })
        // the private key text is never quoted back
        expect(second.message).not.toContain(KEY.signerKey.slice(-20))
        expect(Proof.PublicKeyInvalid).toBe(Verify.PublicKeyInvalid)
      }))

    it.effect("trusting several keys, one of them the signer's, verifies", () =>
      Effect.gen(function*() {
        const proven = yield* Proof.verifyProof(proved.text, { publicKeys: [STRANGER.verifierKey, KEY.verifierKey] })
        expect(proven.entries.length).toBe(2)
      }))
  })
})

describe("Proof properties", () => {
  it.prop(
    "random packs of 1..300 entries, random sets of seqs: the proofs verify and prove exactly those entries",
    [fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 50 }), fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), fc.boolean()],
    ([n, every, picks, raw]) => {
      const log = logOf(n, { every, close: true })
      // a raw log proves what its last checkpoint entry covers (the entries before it); a pack all
      const size = raw ? log.types.lastIndexOf("checkpoint") : log.lines.length
      const seqs = [...new Set(picks.map((p) => p % size))]
      const input = raw ? rawOf(log) : packOf(log)
      const proved = Effect.runSync(Proof.prove(chunked(input, 1 + (n % 200)), { seqs, publicKeys: keys }))
      const proven = Effect.runSync(Proof.verifyProof(proved.text, { publicKeys: keys }))
      expect(proven.entries.map((e) => [e.seq, e.hash])).toEqual([...seqs].sort((a, b) => a - b).map((s) => [s, log.hashes[s]]))
      for (const e of proven.entries) expect(e.proofLength).toBe(Merkle.inclusionProofLength(e.seq, proven.size))
    },
    { fastCheck: { numRuns: FUZZ ? 400 : 40 } }
  )
})

describe("Proof.consistency", () => {
  const old = logOf(40, { every: 10, close: true })
  const extended = extend(old, 25, { every: 10, close: true })
  const oldPack = packOf(old)
  const newPack = packOf(extended)

  it.effect("a pack and its extension: consistent, and the document verifies alone", () =>
    Effect.gen(function*() {
      const proved = yield* Proof.consistency(chunked(oldPack), chunked(newPack), { publicKeys: keys })
      expect(proved.old.size).toBe(old.lines.length)
      expect(proved.new.size).toBe(extended.lines.length)
      expect(proved.proofLength).toBe(Merkle.consistencyProofLength(old.lines.length, extended.lines.length))
      const doc = JSON.parse(proved.text) as { format: string; old: string; new: string; proof: Array<string> }
      expect(doc.format).toBe("acttrace-consistency/1")
      expect(doc.old).toBe(proved.old.note)
      expect(doc.new).toBe(proved.new.note)
      const checked = yield* Proof.verifyConsistencyDocument(proved.text, { publicKeys: keys })
      expect([checked.old.size, checked.new.size]).toEqual([old.lines.length, extended.lines.length])
      // a pack is consistent with itself; a raw log with its own pack too
      yield* Proof.consistency(newPack, newPack, { publicKeys: keys })
      yield* Proof.consistency(rawOf(old), newPack, { publicKeys: keys })
    }))

  it.effect("a forked pack (same key, an entry changed at seq 17): names seq 17", () =>
    Effect.gen(function*() {
      const forked = packOf(extend(logOf(40, { every: 10, close: true, forkAt: 17 }), 25, { every: 10, close: true }))
      const e = yield* failureOf(Proof.consistency(oldPack, forked, { publicKeys: keys }))
      expect(e).toMatchObject({ _tag: "NotConsistent", firstDiffering: 17, oldSize: old.lines.length })
      expect(e.message).toMatch(/seq 17/)
      const diff = yield* Proof.firstDifference(oldPack, forked)
      expect(diff).toMatchObject({ _tag: "Differs", seq: 17 })
    }))

  it.effect("OLD longer than NEW: says so", () =>
    Effect.gen(function*() {
      const e = yield* failureOf(Proof.consistency(newPack, oldPack, { publicKeys: keys }))
      expect(e).toMatchObject({ _tag: "NotConsistent", firstDiffering: null })
      expect(e.message).toMatch(/longer/)
      expect(yield* Proof.firstDifference(newPack, oldPack)).toMatchObject({ _tag: "OldLonger" })
      expect(yield* Proof.firstDifference(oldPack, newPack)).toMatchObject({ _tag: "Prefix", oldEntries: old.lines.length, newEntries: extended.lines.length })
    }))

  it.effect("packs signed by an untrusted key, or a NEW whose checkpoint is not its tree, are refused", () =>
    Effect.gen(function*() {
      const e = yield* failureOf(Proof.consistency(oldPack, newPack, { publicKeys: [STRANGER.verifierKey] }))
      expect(e._tag).toBe("NoteUntrusted")
      const lines = newPack.split("\n")
      lines[50] = lines[50]!.replace(extended.hashes[49]!, "0".repeat(64))
      const forged = yield* failureOf(Proof.consistency(oldPack, lines.join("\n"), { publicKeys: keys }))
      expect(forged._tag).toBe("CheckpointMismatch")
      expect(forged.message).toMatch(/NEW/)
    }))

  it.effect("the document: a changed proof, swapped notes, a note from a forked log, a tampered note: rejected", () =>
    Effect.gen(function*() {
      const proved = yield* Proof.consistency(oldPack, newPack, { publicKeys: keys })
      const doc = JSON.parse(proved.text) as { format: string; old: string; new: string; proof: Array<string> }
      const check = (d: unknown) => failureOf(Proof.verifyConsistencyDocument(JSON.stringify(d), { publicKeys: keys }))
      const flipped = Buffer.from(doc.proof[0]!, "base64")
      flipped[0]! ^= 1
      expect((yield* check({ ...doc, proof: [flipped.toString("base64"), ...doc.proof.slice(1)] }))._tag).toBe("NotConsistent")
      expect((yield* check({ ...doc, proof: doc.proof.slice(1) }))._tag).toBe("NotConsistent")
      expect((yield* check({ ...doc, old: doc.new, new: doc.old }))._tag).toBe("NotConsistent")
      const forkedNote = (yield* Proof.latestCheckpoint(packOf(extend(logOf(40, { every: 10, close: true, forkAt: 17 }), 25, { every: 10, close: true })))).note
      expect((yield* check({ ...doc, new: forkedNote }))._tag).toBe("NotConsistent")
      expect((yield* check({ ...doc, old: doc.old.replace("\n\n", "\nx\n\n") }))._tag).toBe("NoteInvalid")
      expect((yield* check({ ...doc, format: "x" }))._tag).toBe("ProofMalformed")
      expect((yield* check({ ...doc, proof: ["!"] }))._tag).toBe("ProofMalformed")
      const untrusted = yield* failureOf(Proof.verifyConsistencyDocument(proved.text, { publicKeys: [STRANGER.verifierKey] }))
      expect(untrusted._tag).toBe("NoteUntrusted")
    }))
})

describe("measured", () => {
  it("an inclusion proof in a tree of 1,000,000 entries: its size and its verification time", () => {
    const n = 1_000_000
    const digests = randomFillSync(new Uint8Array(n * 32))
    const indexes = [0, 1, 123_456, 524_287, 524_288, 999_998, 999_999]
    const built = Merkle.inclusionProofs(digests, n, indexes)
    const lengths = built.proofs.map((p) => p.length)
    for (const l of lengths) expect(l).toBeLessThanOrEqual(20)
    const leaves = indexes.map((i) => Merkle.leafHash(digests.subarray(i * 32, i * 32 + 32)))
    const rounds = 2_000
    const start = process.hrtime.bigint()
    for (let r = 0; r < rounds; r++) {
      const k = r % indexes.length
      if (!Merkle.verifyInclusion(leaves[k]!, indexes[k]!, n, built.proofs[k]!, built.root)) throw new Error("does not verify")
    }
    const micros = Number(process.hrtime.bigint() - start) / 1000 / rounds
    // proof file size: one entry of our writer's size and its 20 hashes
    console.log(`inclusion proof at ${n} leaves: ${Math.max(...lengths)} hashes (${Math.max(...lengths) * 32} bytes raw, ${Math.max(...lengths) * 47} as base64 JSON strings), verified in ${micros.toFixed(1)} µs each`)
    expect(micros).toBeLessThan(1000)
  })

  it.effect("a proof file's size: two entries of a 5,000-entry pack", () =>
    Effect.gen(function*() {
      const log = logOf(5_000, { every: 1000, close: true })
      const proved = yield* Proof.prove(packOf(log), { seqs: [12, 4_000] })
      const start = process.hrtime.bigint()
      yield* Proof.verifyProof(proved.text, { publicKeys: keys })
      const millis = Number(process.hrtime.bigint() - start) / 1e6
      console.log(`proof file for 2 of ${log.lines.length} entries: ${Buffer.byteLength(proved.text)} bytes, ${proved.entries.map((e) => e.proofLength).join(" + ")} hashes; verify-proof ${millis.toFixed(2)} ms (note signature included)`)
      expect(proved.entries.every((e) => e.proofLength <= 13)).toBe(true)
    }))
})

// ---------------------------------------------------------------------------------------------
// Packs the writer itself exports (AuditLog over a file store, Signer.layerEd25519)
// ---------------------------------------------------------------------------------------------

describe("packs the writer exports", () => {
  const dir = mkdtempSync(join(tmpdir(), "acttrace-proof-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  /** Runs `f` against the log at `path`, written with the Ed25519 key and a checkpoint every 7 entries. */
  const withLog = <A, E>(path: string, f: Effect.Effect<A, E, AuditLog.AuditLog | FileSystem.FileSystem>) =>
    Effect.scoped(
      Effect.flatMap(
        Layer.build(
          AuditLog.layer({ system: "loan triage", riskTier: "high" }).pipe(
            Layer.provide(Store.layerFile(path)),
            Layer.provide(Signer.layerEd25519(Redacted.make(KEY.signerKey))),
            Layer.provide(Redactor.layerDefault),
            Layer.provide(Chain.layerCheckpointPolicy({ every: 7, interval: Duration.infinity })),
            Layer.provideMerge(NodeFileSystem.layer)
          )
        ),
        (context) => Effect.provide(f, context)
      )
    )

  const decisions = (from: number, to: number, tag: string) =>
    Effect.gen(function*() {
      const log = yield* AuditLog.AuditLog
      for (let i = from; i < to; i++) {
        yield* log.withDecision({ input: { applicant: `A-${i}` }, actor: tag }, (d) => d.record({ score: i / 8, small: 1e-7, tag }))
      }
    })

  it.live("prove / verify-proof, latest checkpoint, consistency of an extension and of a fork", () =>
    Effect.gen(function*() {
      const log = join(dir, "log.jsonl")
      const fork = join(dir, "fork.jsonl")
      const p1 = join(dir, "p1.pack.jsonl")
      const p2 = join(dir, "p2.pack.jsonl")
      const p3 = join(dir, "p3.pack.jsonl")
      const first = yield* withLog(log, Effect.zipRight(decisions(0, 10, "agent"), Effect.flatMap(AuditLog.AuditLog, (l) => l.export(p1, { framework: "eu_ai_act" }))))
      copyFileSync(log, fork)
      const splitAt = readFileSync(log, "utf8").split("\n").filter((l) => l.length > 0).length
      yield* withLog(log, Effect.zipRight(decisions(10, 20, "agent"), Effect.flatMap(AuditLog.AuditLog, (l) => l.export(p2))))
      yield* withLog(fork, Effect.zipRight(decisions(10, 20, "someone else"), Effect.flatMap(AuditLog.AuditLog, (l) => l.export(p3))))
      const text = (path: string) => readFileSync(path, "utf8")

      // the packs verify under the public key, and Verify's `since` agrees with `consistency`
      for (const pack of [p1, p2, p3]) {
        const report = yield* Verify.stream(Stream.succeed(Buffer.from(text(pack))), { publicKeys: keys })
        expect(report.completeness).toBe("signed-checkpoint")
      }
      const published = (yield* Proof.latestCheckpoint(text(p2))).note
      expect((yield* Effect.flip(Verify.stream(Stream.succeed(Buffer.from(text(p3))), { publicKeys: keys, since: published })))._tag).toBe("HistoryRewritten")

      // the latest checkpoint of a pack is the note its export wrote
      const latest = yield* Proof.latestCheckpoint(text(p1), { publicKeys: keys })
      expect(Option.some(latest.note)).toEqual(first.checkpoint)
      expect(latest.origin).toBe("acttrace/loan%20triage")
      expect(latest.size).toBe(first.entries)

      // a proof of two decisions of the second pack verifies alone
      const packRows = text(p2).split("\n").slice(1).filter((l) => l.length > 0).map((l) => JSON.parse(l) as { seq: number; type: string; hash: string })
      const chosen = packRows.filter((r) => r.type === "decision_record").map((r) => r.seq)
      const seqs = [chosen[1]!, chosen[chosen.length - 2]!]
      const proved = yield* Proof.prove(text(p2), { seqs, publicKeys: keys })
      const proven = yield* Proof.verifyProof(proved.text, { publicKeys: keys })
      expect(proven.entries.map((e) => [e.seq, e.hash])).toEqual(seqs.map((s) => [s, packRows[s]!.hash]))
      expect(proven.entries[0]!.payload["small"]).toEqual(new Canonical.Num("1e-07"))
      // the raw log gives a proof against its latest checkpoint entry (the export's)
      const fromLog = yield* Proof.prove(text(log), { seqs: [seqs[0]!] })
      expect(fromLog.checkpoint.source).toBe("entry")
      expect((yield* Proof.verifyProof(fromLog.text, { publicKeys: keys })).entries[0]!.hash).toBe(packRows[seqs[0]!]!.hash)

      // consistency: both later packs extend the first; they fork from each other where the copy was made
      const ok = yield* Proof.consistency(text(p1), text(p2), { publicKeys: keys })
      yield* Proof.verifyConsistencyDocument(ok.text, { publicKeys: keys })
      yield* Proof.consistency(text(p1), text(p3), { publicKeys: keys })
      const forked = yield* failureOf(Proof.consistency(text(p2), text(p3), { publicKeys: keys }))
      expect(forked).toMatchObject({ _tag: "NotConsistent", firstDiffering: splitAt })
      expect(yield* Proof.firstDifference(text(p2), text(p3))).toMatchObject({ _tag: "Differs", seq: splitAt })
    }))
})
