import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as Merkle from "../src/internal/merkle.js"

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex")
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"))
const sha = (...parts: Array<Uint8Array>): Uint8Array => {
  const h = createHash("sha256")
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}

// A naive implementation written straight from RFC 9162 §2.1 (MTH, PATH, PROOF/SUBPROOF), by
// recursion on slices of the leaf data, so the module's iterative code is checked against the
// definitions rather than against itself.
const naive = {
  mth: (d: ReadonlyArray<Uint8Array>): Uint8Array => {
    if (d.length === 0) return sha()
    if (d.length === 1) return sha(Uint8Array.of(0), d[0]!)
    const k = naive.k(d.length)
    return sha(Uint8Array.of(1), naive.mth(d.slice(0, k)), naive.mth(d.slice(k)))
  },
  k: (n: number): number => {
    let k = 1
    while (k * 2 < n) k *= 2
    return k
  },
  path: (m: number, d: ReadonlyArray<Uint8Array>): Array<Uint8Array> => {
    if (d.length === 1) return []
    const k = naive.k(d.length)
    return m < k
      ? [...naive.path(m, d.slice(0, k)), naive.mth(d.slice(k))]
      : [...naive.path(m - k, d.slice(k)), naive.mth(d.slice(0, k))]
  },
  subproof: (m: number, d: ReadonlyArray<Uint8Array>, b: boolean): Array<Uint8Array> => {
    if (m === d.length) return b ? [] : [naive.mth(d)]
    const k = naive.k(d.length)
    return m <= k
      ? [...naive.subproof(m, d.slice(0, k), b), naive.mth(d.slice(k))]
      : [...naive.subproof(m - k, d.slice(k), false), naive.mth(d.slice(0, k))]
  },
  proof: (m: number, d: ReadonlyArray<Uint8Array>): Array<Uint8Array> => naive.subproof(m, d, true)
}

// The RFC 6962 reference test tree (certificate-transparency's merkle tree tests, also in
// transparency-dev/merkle): leaf inputs, and the published tree heads for sizes 0..8.
const LEAVES = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f"
].map(unhex)
const ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
]
// Published proofs over the same tree (same sources).
const INCLUSION: Array<[index: number, size: number, proof: Array<string>]> = [
  [0, 8, [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
  ]],
  [5, 8, [
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"
  ]]
]
const CONSISTENCY: Array<[m: number, n: number, proof: Array<string>]> = [
  [1, 1, []],
  [1, 8, [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
  ]],
  [6, 8, [
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"
  ]],
  [2, 5, [
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"
  ]]
]

const flipBit = (proof: ReadonlyArray<Uint8Array>, i: number, bit: number): Array<Uint8Array> =>
  proof.map((p, j) => {
    if (j !== i) return p
    const q = Uint8Array.from(p)
    q[bit >> 3]! ^= 1 << (bit & 7)
    return q
  })
const OTHER = sha(new TextEncoder().encode("another root"))

/** Every mutation of a valid inclusion proof the issue lists; each must be rejected. */
const inclusionMutants = (leaf: Uint8Array, index: number, size: number, proof: ReadonlyArray<Uint8Array>, root: Uint8Array) => {
  const same = (i: number, n: number) => sameShape(inclusionShape(i, n), inclusionShape(index, size))
  const out: Array<Mutant> = [
    ["index - 1", () => Merkle.verifyInclusion(leaf, index - 1, size, proof, root), same(index - 1, size)],
    ["index + 1", () => Merkle.verifyInclusion(leaf, index + 1, size, proof, root), same(index + 1, size)],
    ["size - 1", () => Merkle.verifyInclusion(leaf, index, size - 1, proof, root), same(index, size - 1)],
    ["size + 1", () => Merkle.verifyInclusion(leaf, index, size + 1, proof, root), same(index, size + 1)],
    ["another root", () => Merkle.verifyInclusion(leaf, index, size, proof, OTHER)],
    ["the empty root", () => Merkle.verifyInclusion(leaf, index, size, proof, Merkle.emptyRoot)],
    ["another leaf", () => Merkle.verifyInclusion(OTHER, index, size, proof, root)],
    ["a sibling added at the end", () => Merkle.verifyInclusion(leaf, index, size, [...proof, root], root)],
    ["a sibling added at the front", () => Merkle.verifyInclusion(leaf, index, size, [OTHER, ...proof], root)]
  ]
  for (let i = 0; i < proof.length; i++) {
    out.push([`sibling ${i} removed`, () => Merkle.verifyInclusion(leaf, index, size, proof.filter((_, j) => j !== i), root)])
    out.push([`a sibling inserted after ${i}`, () => Merkle.verifyInclusion(leaf, index, size, [...proof.slice(0, i + 1), OTHER, ...proof.slice(i + 1)], root)])
    for (let bit = 0; bit < 256; bit += 37) {
      out.push([`bit ${bit} of sibling ${i} flipped`, () => Merkle.verifyInclusion(leaf, index, size, flipBit(proof, i, bit), root)])
    }
  }
  return out
}

/** Every mutation of a valid consistency proof the issue lists; each must be rejected. */
const consistencyMutants = (m: number, n: number, r1: Uint8Array, r2: Uint8Array, proof: ReadonlyArray<Uint8Array>) => {
  const same = (a: number, b: number) => sameShape(consistencyShape(a, b), consistencyShape(m, n))
  const out: Array<Mutant> = [
    ["m - 1", () => Merkle.verifyConsistency(m - 1, n, r1, r2, proof), same(m - 1, n)],
    ["m + 1", () => Merkle.verifyConsistency(m + 1, n, r1, r2, proof), same(m + 1, n)],
    ["n - 1", () => Merkle.verifyConsistency(m, n - 1, r1, r2, proof), same(m, n - 1)],
    ["n + 1", () => Merkle.verifyConsistency(m, n + 1, r1, r2, proof), same(m, n + 1)],
    ["another old root", () => Merkle.verifyConsistency(m, n, OTHER, r2, proof)],
    ["another new root", () => Merkle.verifyConsistency(m, n, r1, OTHER, proof)],
    ["roots swapped", () => Merkle.verifyConsistency(m, n, r2, r1, proof)],
    ["an empty proof", () => Merkle.verifyConsistency(m, n, r1, r2, [])],
    ["a hash added at the end", () => Merkle.verifyConsistency(m, n, r1, r2, [...proof, r2])],
    ["a hash added at the front", () => Merkle.verifyConsistency(m, n, r1, r2, [r1, ...proof])]
  ]
  for (let i = 0; i < proof.length; i++) {
    out.push([`hash ${i} removed`, () => Merkle.verifyConsistency(m, n, r1, r2, proof.filter((_, j) => j !== i))])
    out.push([`a hash inserted after ${i}`, () => Merkle.verifyConsistency(m, n, r1, r2, [...proof.slice(0, i + 1), OTHER, ...proof.slice(i + 1)])])
    for (let bit = 0; bit < 256; bit += 37) {
      out.push([`bit ${bit} of hash ${i} flipped`, () => Merkle.verifyConsistency(m, n, r1, r2, flipBit(proof, i, bit))])
    }
  }
  return out
}

/**
 * The mutants a verifier got wrong: accepted where rejection was due, or the reverse. A size or
 * index change is rejected unless it leaves the proof's *shape* (which side each hash joins on,
 * and how many there are) unchanged: then RFC 9162 verification computes the very same hashes
 * and must accept, e.g. leaf 0 of 3 leaves and leaf 0 of 4 both have the path [sibling, right
 * subtree]. No verifier can tell those apart from the proof alone; what binds the size to the
 * root is the signed checkpoint that states both. The shape comes from the naive recursion.
 */
const misjudged = (mutants: Array<Mutant>): Array<string> =>
  mutants.filter(([, run, acceptable = false]) => run() !== acceptable).map(([name, , a = false]) => `${name} (${a ? "rejected" : "accepted"})`)

type Mutant = [name: string, run: () => boolean, acceptable?: boolean]

/** Which side each sibling joins on, leaf up, from RFC 9162's PATH recursion on sizes alone. */
const inclusionShape = (i: number, n: number): string | null => {
  if (!(i >= 0 && i < n)) return null
  if (n === 1) return ""
  const k = naive.k(n)
  return i < k ? inclusionShape(i, k) + "R" : inclusionShape(i - k, n - k) + "L"
}
/** SUBPROOF's decisions on sizes alone, plus whether the proof starts with the old subtree. */
const consistencyShape = (m: number, n: number): string | null => {
  if (!(m > 0 && m < n)) return null
  const sub = (mm: number, nn: number, b: boolean): string => {
    if (mm === nn) return b ? "" : "T"
    const k = naive.k(nn)
    return mm <= k ? sub(mm, k, b) + "R" : sub(mm - k, nn - k, false) + "L"
  }
  return sub(m, n, true)
}
const sameShape = (a: string | null, b: string | null): boolean => a !== null && a === b

/** Checks everything about one tree of leaf data: roots, every proof, every mutation. */
const checkTree = (d: ReadonlyArray<Uint8Array>, mutate: boolean): void => {
  const n = d.length
  const root = Merkle.root(d)
  expect(hex(root)).toBe(hex(naive.mth(d)))
  let f = Merkle.empty
  for (const x of d) f = Merkle.append(f, x)
  expect(Merkle.size(f)).toBe(n)
  expect(hex(Merkle.rootOf(f))).toBe(hex(root))
  for (let i = 0; i < n; i++) {
    const proof = Merkle.inclusionProof(d, i)
    expect(proof.map(hex), `PATH(${i}, D[${n}])`).toEqual(naive.path(i, d).map(hex))
    expect(proof.length).toBe(Merkle.inclusionProofLength(i, n))
    const leaf = Merkle.leafHash(d[i]!)
    expect(Merkle.verifyInclusion(leaf, i, n, proof, root), `inclusion ${i} in ${n}`).toBe(true)
    if (mutate) expect(misjudged(inclusionMutants(leaf, i, n, proof, root)), `inclusion ${i} in ${n}`).toEqual([])
  }
  for (let m = 1; m <= n; m++) {
    const proof = Merkle.consistencyProof(d, m)
    expect(proof.map(hex), `PROOF(${m}, D[${n}])`).toEqual(naive.proof(m, d).map(hex))
    expect(proof.length).toBe(Merkle.consistencyProofLength(m, n))
    const r1 = naive.mth(d.slice(0, m))
    expect(Merkle.verifyConsistency(m, n, r1, root, proof), `consistency ${m} to ${n}`).toBe(true)
    // m = n has the empty proof and equal roots; its mutations are the size ones and other roots.
    if (mutate && m < n) expect(misjudged(consistencyMutants(m, n, r1, root, proof)), `consistency ${m} to ${n}`).toEqual([])
  }
}

describe("internal/merkle", () => {
  describe("the RFC 6962 reference test tree", () => {
    it("has the published tree heads for sizes 0..8, from the list and from the frontier", () => {
      expect(hex(Merkle.emptyRoot)).toBe(ROOTS[0])
      let f = Merkle.empty
      for (let n = 0; n <= 8; n++) {
        expect(hex(Merkle.root(LEAVES.slice(0, n))), `size ${n}`).toBe(ROOTS[n])
        expect(hex(Merkle.rootOf(f)), `frontier of size ${n}`).toBe(ROOTS[n])
        expect(hex(naive.mth(LEAVES.slice(0, n))), `naive, size ${n}`).toBe(ROOTS[n])
        if (n < 8) f = Merkle.append(f, LEAVES[n]!)
      }
    })

    it("gives and verifies the published inclusion and consistency proofs", () => {
      for (const [index, size, proof] of INCLUSION) {
        const d = LEAVES.slice(0, size)
        expect(Merkle.inclusionProof(d, index).map(hex)).toEqual(proof)
        expect(Merkle.verifyInclusion(Merkle.leafHash(d[index]!), index, size, proof.map(unhex), unhex(ROOTS[size]!))).toBe(true)
      }
      for (const [m, n, proof] of CONSISTENCY) {
        expect(Merkle.consistencyProof(LEAVES.slice(0, n), m).map(hex)).toEqual(proof)
        expect(Merkle.verifyConsistency(m, n, unhex(ROOTS[m]!), unhex(ROOTS[n]!), proof.map(unhex))).toBe(true)
      }
    })

    it("every (index, size) and (m, n) up to 8: proofs equal the RFC definitions, verify, and no mutation does", () => {
      for (let n = 1; n <= 8; n++) checkTree(LEAVES.slice(0, n), true)
    })

    it("settles the cases RFC 9162 leaves to the implementation", () => {
      const [r0, r1, r2] = [unhex(ROOTS[0]!), unhex(ROOTS[1]!), unhex(ROOTS[2]!)]
      // The empty tree is a prefix of every tree, under the empty-tree head only.
      expect(Merkle.verifyConsistency(0, 2, r0, r2, [])).toBe(true)
      expect(Merkle.verifyConsistency(0, 2, r1, r2, [])).toBe(false)
      expect(Merkle.verifyConsistency(0, 2, r0, r2, [r1])).toBe(false)
      // Equal sizes: equal roots and an empty proof.
      expect(Merkle.verifyConsistency(2, 2, r2, r2, [])).toBe(true)
      expect(Merkle.verifyConsistency(2, 2, r1, r2, [])).toBe(false)
      expect(Merkle.verifyConsistency(2, 2, r2, r2, [r2])).toBe(false)
      // A shrinking tree, an index past the end, non-integers, hashes of the wrong length.
      expect(Merkle.verifyConsistency(2, 1, r2, r1, [])).toBe(false)
      expect(Merkle.verifyInclusion(Merkle.leafHash(LEAVES[0]!), 1, 1, [], r1)).toBe(false)
      expect(Merkle.verifyInclusion(Merkle.leafHash(LEAVES[0]!), 0.5, 1, [], r1)).toBe(false)
      expect(Merkle.verifyInclusion(Merkle.leafHash(LEAVES[0]!), 0, 1, [], r1)).toBe(true)
      expect(Merkle.verifyInclusion(Merkle.leafHash(LEAVES[0]!), 0, 1, [], r1.subarray(1))).toBe(false)
      expect(Merkle.verifyInclusion(Merkle.leafHash(LEAVES[0]!), 0, 2, [new Uint8Array(31)], r2)).toBe(false)
      // Asking for a proof that cannot exist is a caller's mistake.
      expect(() => Merkle.inclusionProof(LEAVES, 8)).toThrow(RangeError)
      expect(() => Merkle.consistencyProof(LEAVES, 9)).toThrow(RangeError)
      expect(() => Merkle.inclusionProofLength(0, 0)).toThrow(RangeError)
    })

    it("a leaf of 32 bytes (an entry hash) hashes the same as through the general path", () => {
      const d = sha(Uint8Array.of(7))
      expect(hex(Merkle.leafHash(d))).toBe(hex(sha(Uint8Array.of(0), d)))
      // The scratch buffer is reused: a second call must not see the first call's bytes.
      const e = sha(Uint8Array.of(8))
      const [a, b] = [Merkle.leafHash(d), Merkle.leafHash(e)]
      expect(hex(a)).toBe(hex(sha(Uint8Array.of(0), d)))
      expect(hex(b)).toBe(hex(sha(Uint8Array.of(0), e)))
    })

    it("append leaves the frontier it was given unchanged", () => {
      const f3 = Merkle.frontierOf(LEAVES.slice(0, 3))
      const before = f3.nodes.map(hex)
      const f4 = Merkle.append(f3, LEAVES[3]!)
      expect(f3.nodes.map(hex)).toEqual(before)
      expect(Merkle.size(f3)).toBe(3)
      expect(hex(Merkle.rootOf(f3))).toBe(ROOTS[3])
      expect(hex(Merkle.rootOf(f4))).toBe(ROOTS[4])
      expect(f4.nodes.length).toBe(1)
    })
  })

  describe("properties up to 300 leaves", () => {
    // Leaves are entry hashes: 32 bytes each, so the tree's shape is what varies.
    const leavesOf = (n: number, salt: number): Array<Uint8Array> =>
      Array.from({ length: n }, (_, i) => sha(new Uint8Array(Uint32Array.of(salt, i).buffer)))

    it.prop("the frontier root equals the naive root at every size on the way", [fc.integer({ min: 0, max: 300 }), fc.integer()], ([n, salt]) => {
      const d = leavesOf(n, salt)
      let f = Merkle.empty
      for (let i = 0; i <= n; i++) {
        expect(f.nodes.length).toBe(popcount(i))
        expect(hex(Merkle.rootOf(f))).toBe(hex(naive.mth(d.slice(0, i))))
        if (i < n) f = Merkle.append(f, d[i]!)
      }
      expect(hex(Merkle.root(d))).toBe(hex(Merkle.rootOf(f)))
    }, { fastCheck: { numRuns: 12 } })

    it.prop("every inclusion proof equals PATH and verifies; mutations are rejected", [fc.integer({ min: 1, max: 300 }), fc.integer(), fc.nat()], ([n, salt, pick]) => {
      const d = leavesOf(n, salt)
      const root = Merkle.root(d)
      for (let i = 0; i < n; i++) {
        const proof = Merkle.inclusionProof(d, i)
        const leaf = Merkle.leafHash(d[i]!)
        expect(Merkle.verifyInclusion(leaf, i, n, proof, root)).toBe(true)
        expect(proof.length).toBe(Merkle.inclusionProofLength(i, n))
      }
      const i = pick % n
      const proof = Merkle.inclusionProof(d, i)
      expect(proof.map(hex)).toEqual(naive.path(i, d).map(hex))
      expect(misjudged(inclusionMutants(Merkle.leafHash(d[i]!), i, n, proof, root))).toEqual([])
    }, { fastCheck: { numRuns: 25 } })

    it.prop("every consistency proof equals PROOF and verifies; mutations are rejected", [fc.integer({ min: 1, max: 300 }), fc.integer(), fc.nat()], ([n, salt, pick]) => {
      const d = leavesOf(n, salt)
      const root = Merkle.root(d)
      // Old roots from the frontier on the way up (checked against the naive MTH above).
      const roots: Array<Uint8Array> = []
      let f = Merkle.empty
      for (let m = 0; m <= n; m++) {
        roots.push(Merkle.rootOf(f))
        if (m < n) f = Merkle.append(f, d[m]!)
      }
      for (let m = 0; m <= n; m++) {
        const proof = Merkle.consistencyProof(d, m)
        expect(Merkle.verifyConsistency(m, n, roots[m]!, root, proof), `${m} to ${n}`).toBe(true)
        expect(proof.length).toBe(Merkle.consistencyProofLength(m, n))
      }
      const m = 1 + (pick % n)
      const proof = Merkle.consistencyProof(d, m)
      expect(proof.map(hex)).toEqual(naive.proof(m, d).map(hex))
      if (m < n) expect(misjudged(consistencyMutants(m, n, roots[m]!, root, proof))).toEqual([])
    }, { fastCheck: { numRuns: 25 } })

    it("every tree of 1..40 leaves: all proofs and all their mutations, exhaustively", () => {
      const d = leavesOf(40, 1)
      for (let n = 1; n <= 40; n++) checkTree(d.slice(0, n), n <= 20 || n % 7 === 0)
    })
  })

  describe("proof size", () => {
    it.prop("an inclusion proof in a tree below 2^32 leaves has at most 32 hashes, a consistency proof at most 33", [fc.integer({ min: 1, max: 2 ** 32 - 1 }), fc.nat(), fc.nat()], ([size, a, b]) => {
      const index = a % size
      const m = b % (size + 1)
      const bits = Math.ceil(Math.log2(size))
      expect(Merkle.inclusionProofLength(index, size)).toBeLessThanOrEqual(Math.min(32, bits))
      expect(Merkle.consistencyProofLength(m, size)).toBeLessThanOrEqual(Math.min(33, bits + 1))
    }, { fastCheck: { numRuns: 2000 } })

    it("the worst cases at the edge: 2^32 - 1 leaves", () => {
      const n = 2 ** 32 - 1
      // The last leaf of 2^32 - 1 sits at depth 31; the second-to-last and its neighbours at 32.
      let worst = 0
      for (const i of [0, 1, 2 ** 31 - 1, 2 ** 31, n - 3, n - 2, n - 1]) worst = Math.max(worst, Merkle.inclusionProofLength(i, n))
      expect(worst).toBe(32)
      expect(Merkle.inclusionProofLength(0, 2 ** 32)).toBe(32)
      // Sizes past 2^32 work too (bit arithmetic by division, not 32-bit shifts).
      expect(Merkle.inclusionProofLength(0, 2 ** 32 + 1)).toBe(33)
      expect(Merkle.inclusionProofLength(2 ** 32, 2 ** 32 + 1)).toBe(1)
    })
  })
})

const popcount = (n: number): number => {
  let c = 0
  for (let x = n; x > 0; x = Math.floor(x / 2)) c += x % 2
  return c
}
