/**
 * A byte mutator of proof files and consistency documents (issue 13 items 6 and 9): any byte set
 * to any value must leave a proof file rejected with a typed error, or proving the very same
 * entries (never another entry, never a crash); a consistency document likewise rejected or
 * accepted for the same two checkpoints. Modest in the normal suite; `FUZZ_LONG=1` (npm run fuzz)
 * runs many more cases.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Proof from "../../src/Proof.js"
import { FUZZ } from "../helpers.js"
import { extend, keys, logOf, packOf } from "../proof-helpers.js"

describe("a byte of a proof file changed", () => {
  const log = logOf(45, { every: 12, close: true })
  const proved = Effect.runSync(Proof.prove(packOf(log), { seqs: [7, 30, 44] }))
  const original = Effect.runSync(Proof.verifyProof(proved.text, { publicKeys: keys }))
  const bytes = Buffer.from(proved.text, "utf8")
  const summary = (p: Proof.Proven) => p.entries.map((e) => `${e.seq}:${e.hash}:${e.text}`)

  it.prop(
    "is rejected with a typed error, or proves the very same entries (never another one)",
    [fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 })],
    ([at, value]) => {
      const mutated = Buffer.from(bytes)
      mutated[at] = value
      const exit = Effect.runSyncExit(Proof.verifyProof(mutated, { publicKeys: keys }))
      if (Exit.isSuccess(exit)) expect(summary(exit.value)).toEqual(summary(original))
      else expect(exit.cause._tag, String(exit.cause)).toBe("Fail")
    },
    { fastCheck: { numRuns: FUZZ ? 20_000 : 600 } }
  )

  it("every byte, in turn, flipped in its lowest bit: rejected, but for the name of the unproven `sig` member", () => {
    const accepted: Array<number> = []
    for (let at = 0; at < bytes.length; at++) {
      const mutated = Buffer.from(bytes)
      mutated[at]! ^= 1
      const exit = Effect.runSyncExit(Proof.verifyProof(mutated, { publicKeys: keys }))
      if (Exit.isSuccess(exit)) {
        accepted.push(at)
        expect(summary(exit.value)).toEqual(summary(original))
      } else expect(exit.cause._tag, `byte ${at}: ${String(exit.cause)}`).toBe("Fail")
    }
    // The only bytes that may change: the letters of each entry's `"sig"` member name (the per-entry
    // HMAC, which no proof covers; renamed, it is a member readers ignore). Every other byte is
    // vouched for: by the entry hash, the inclusion proof, the note's signature, or the format.
    const sigNames: Array<number> = []
    for (let at = bytes.indexOf('"sig":'); at >= 0; at = bytes.indexOf('"sig":', at + 1)) sigNames.push(at + 1, at + 2, at + 3)
    expect(sigNames.length).toBe(9)
    expect(accepted).toEqual(sigNames)
  })
})

describe("a byte of a consistency document changed", () => {
  const old = logOf(20, { every: 6, close: true })
  const proved = Effect.runSync(Proof.consistency(packOf(old), packOf(extend(old, 13, { every: 6, close: true })), { publicKeys: keys }))
  const bytes = Buffer.from(proved.text, "utf8")
  const sizes = (r: { readonly old: Proof.SignedCheckpoint; readonly new: Proof.SignedCheckpoint }) =>
    [r.old.size, r.old.root, r.new.size, r.new.root]

  it.prop(
    "is rejected with a typed error, or accepted for the very same two checkpoints",
    [fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 })],
    ([at, value]) => {
      const mutated = Buffer.from(bytes)
      mutated[at] = value
      const exit = Effect.runSyncExit(Proof.verifyConsistencyDocument(mutated, { publicKeys: keys }))
      if (Exit.isSuccess(exit)) expect(sizes(exit.value)).toEqual(sizes(proved))
      else expect(exit.cause._tag, String(exit.cause)).toBe("Fail")
    },
    { fastCheck: { numRuns: FUZZ ? 20_000 : 400 } }
  )
})
