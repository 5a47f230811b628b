// After a key rotation, Proof reads the log's latest checkpoint and proves entries under the first
// key alone, as Verify and consistency do: the rotation, confirmed by a checkpoint under a trusted
// key, makes the new key trusted. An unconfirmed rotation does not.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Proof from "../src/Proof.js"

const DIR = join(import.meta.dirname, "fixtures/vectors/checkpoints")
const key = (name: string) => readFileSync(join(DIR, "keys", `${name}.pub`), "utf8")
const A = key("vectors-a")
const B = key("vectors-b")

describe("Proof follows confirmed key rotations", () => {
  it.effect("the rotated pack's latest checkpoint and a proof of an entry, under key A alone", () =>
    Effect.gen(function*() {
      const pack = readFileSync(join(DIR, "rotated.pack.jsonl"))
      const latest = yield* Proof.latestCheckpoint(pack, { publicKeys: [A] })
      const underB = yield* Proof.latestCheckpoint(pack, { publicKeys: [B] })
      expect(latest.size).toBe(underB.size)
      const proved = yield* Proof.prove(pack, { seqs: [1, latest.size - 1], publicKeys: [A] })
      expect(proved.entries.map((e) => e.seq)).toEqual([1, latest.size - 1])
      // the proof itself names the key that signed its checkpoint: B checks it
      const checked = yield* Proof.verifyProof(proved.text, { publicKeys: [B] })
      expect(checked.entries.map((e) => e.seq)).toEqual([1, latest.size - 1])
    }))

  it.effect("an unconfirmed rotation is not followed: the latest checkpoint stays untrusted under A", () =>
    Effect.gen(function*() {
      const log = readFileSync(join(DIR, "tampered/rotated.unconfirmed.jsonl"))
      const e = yield* Effect.flip(Proof.latestCheckpoint(log, { publicKeys: [A] }))
      expect(e._tag).toBe("NoteUntrusted")
      const p = yield* Effect.flip(Proof.prove(log, { seqs: [1], publicKeys: [A] }))
      expect(p._tag).toBe("NoteUntrusted")
    }))
})
