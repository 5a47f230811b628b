/**
 * The public `Merkle` module (issue 13 items 2 and 9): the pure RFC 9162 functions of
 * `internal/merkle` under their public names, and the batch proofs over a run of entry digests
 * that `Proof` builds on (every proof of a set of leaves in one pass over the tree).
 *
 * The RFC 6962 reference vectors themselves are checked in test/merkle.test.ts against the
 * internal module; here the public names must be those very functions, give the same reference
 * heads, and the batch functions must agree with the one-leaf definitions on every tree up to 300
 * leaves.
 */
import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as Internal from "../src/internal/merkle.js"
import * as Merkle from "../src/Merkle.js"
import * as Root from "../src/index.js"

const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"))
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex")

/** `n` distinct 32-byte leaves (entry hashes), laid out one after another as a log's digests are. */
const digestsOf = (n: number, salt: number): Uint8Array => {
  const out = new Uint8Array(n * 32)
  for (let i = 0; i < n; i++) out.set(createHash("sha256").update(`${salt}:${i}`).digest(), i * 32)
  return out
}
const leavesOf = (digests: Uint8Array): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let i = 0; i < digests.length; i += 32) out.push(digests.subarray(i, i + 32))
  return out
}

describe("Merkle (public module)", () => {
  it("re-exports the internal functions themselves, and the root module names it", () => {
    const names = [
      "HASH_SIZE",
      "emptyRoot",
      "leafHash",
      "nodeHash",
      "empty",
      "append",
      "appendLeafHash",
      "appendDigests",
      "appendHexHashes",
      "rootOf",
      "size",
      "frontierOf",
      "root",
      "inclusionProof",
      "consistencyProof",
      "inclusionProofLength",
      "consistencyProofLength",
      "verifyInclusion",
      "verifyConsistency"
    ] as const
    for (const name of names) expect(Merkle[name], name).toBe(Internal[name])
    expect(Root.Merkle).toBe(Merkle)
  })

  it("gives the RFC 6962 reference tree heads (sizes 0, 1, 8)", () => {
    const leaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map(unhex)
    expect(hex(Merkle.root([]))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    expect(hex(Merkle.root(leaves.slice(0, 1)))).toBe("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    expect(hex(Merkle.root(leaves))).toBe("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
  })

  describe("batch proofs over digests", () => {
    it.prop(
      "inclusionProofs: for any set of leaves, each proof equals inclusionProof, and the root is the tree head",
      [fc.integer({ min: 1, max: 300 }), fc.integer(), fc.array(fc.nat(), { minLength: 1, maxLength: 12 })],
      ([n, salt, picks]) => {
        const digests = digestsOf(n, salt)
        const leaves = leavesOf(digests)
        const indexes = [...new Set(picks.map((p) => p % n))]
        const { proofs, root } = Merkle.inclusionProofs(digests, n, indexes)
        expect(hex(root)).toBe(hex(Merkle.root(leaves)))
        indexes.forEach((index, i) => {
          expect(proofs[i]!.map(hex)).toEqual(Merkle.inclusionProof(leaves, index).map(hex))
          expect(proofs[i]!.length).toBe(Merkle.inclusionProofLength(index, n))
          expect(Merkle.verifyInclusion(Merkle.leafHash(leaves[index]!), index, n, proofs[i]!, root)).toBe(true)
        })
      }
    )

    it.prop(
      "a tree over the first `size` digests ignores the digests after them",
      [fc.integer({ min: 2, max: 300 }), fc.integer(), fc.nat()],
      ([n, salt, pick]) => {
        const digests = digestsOf(n, salt)
        const size = 1 + (pick % (n - 1))
        const index = pick % size
        const { proofs, root } = Merkle.inclusionProofs(digests, size, [index])
        expect(hex(root)).toBe(hex(Merkle.root(leavesOf(digests).slice(0, size))))
        expect(hex(Merkle.rootOfDigests(digests, size))).toBe(hex(root))
        expect(proofs[0]!.map(hex)).toEqual(Merkle.inclusionProof(leavesOf(digests).slice(0, size), index).map(hex))
      }
    )

    it.prop(
      "consistencyProofOfDigests equals consistencyProof for every old size",
      [fc.integer({ min: 1, max: 300 }), fc.integer(), fc.nat()],
      ([n, salt, pick]) => {
        const digests = digestsOf(n, salt)
        const leaves = leavesOf(digests)
        const m = pick % (n + 1)
        const proof = Merkle.consistencyProofOfDigests(digests, m, n)
        expect(proof.map(hex)).toEqual(Merkle.consistencyProof(leaves, m).map(hex))
        expect(Merkle.verifyConsistency(m, n, Merkle.root(leaves.slice(0, m)), Merkle.root(leaves), proof)).toBe(true)
      }
    )

    it("refuses what is no tree: sizes past the digests, indexes outside the tree, repeated indexes", () => {
      const digests = digestsOf(5, 1)
      expect(() => Merkle.inclusionProofs(digests, 6, [0])).toThrow(RangeError)
      expect(() => Merkle.inclusionProofs(digests, 5, [5])).toThrow(RangeError)
      expect(() => Merkle.inclusionProofs(digests, 5, [1, 1])).toThrow(RangeError)
      expect(() => Merkle.inclusionProofs(digests, 0, [0])).toThrow(RangeError)
      expect(() => Merkle.consistencyProofOfDigests(digests, 3, 6)).toThrow(RangeError)
      expect(() => Merkle.consistencyProofOfDigests(digests, 4, 3)).toThrow(RangeError)
      expect(hex(Merkle.rootOfDigests(digests, 0))).toBe(hex(Merkle.emptyRoot))
    })
  })
})
