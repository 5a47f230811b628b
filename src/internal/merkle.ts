/**
 * The Merkle tree laid over a log's entries (FORMAT B.2): RFC 9162 §2.1 hashing, tree heads,
 * inclusion and consistency proofs, and an incremental frontier so a writer keeps the root of a
 * growing log with O(log n) stored hashes and O(1) amortized hashing per entry.
 *
 * Leaf data is whatever the caller gives; for an acttrace log it is the 32 raw bytes of an
 * entry's `hash`. Everything here is pure and synchronous. Proof *generation* takes every leaf
 * (it is for tests, exporters and small packs); proof *verification* needs only the proof.
 *
 * Internal for now; it becomes the public `Merkle` module once its API settles.
 * @internal
 * @since 0.1.0
 */
import { hash } from "node:crypto"
import { MerkleKernel } from "./kernel.js"

/**
 * Size in bytes of every hash in the tree (SHA-256).
 * @since 0.1.0
 * @category constants
 */
export const HASH_SIZE = 32

// One scratch buffer per prefix, reused by every call: hashing is synchronous, so no other call
// can observe it between the fill and the digest, and the 32-byte case (every interior node, and
// every acttrace leaf) then allocates nothing but the digest itself.
const leafScratch = Buffer.alloc(1 + HASH_SIZE)
leafScratch[0] = 0x00
const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE)
nodeScratch[0] = 0x01

/**
 * The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
 * @since 0.1.0
 * @category constants
 */
export const emptyRoot: Uint8Array = hash("sha256", new Uint8Array(0), "buffer")

/**
 * The hash of one leaf: SHA-256(0x00 || data) (RFC 9162 §2.1.1). The 0x00 prefix keeps a leaf
 * from ever being read as an interior node (second-preimage protection).
 * @since 0.1.0
 * @category hashing
 */
export const leafHash = (data: Uint8Array): Uint8Array => {
  if (data.length === HASH_SIZE) {
    leafScratch.set(data, 1)
    return hash("sha256", leafScratch, "buffer")
  }
  const b = Buffer.allocUnsafe(1 + data.length)
  b[0] = 0x00
  b.set(data, 1)
  return hash("sha256", b, "buffer")
}

/**
 * The hash of an interior node: SHA-256(0x01 || left || right) (RFC 9162 §2.1.1).
 * @since 0.1.0
 * @category hashing
 */
export const nodeHash = (left: Uint8Array, right: Uint8Array): Uint8Array => {
  if (left.length === HASH_SIZE && right.length === HASH_SIZE) {
    nodeScratch.set(left, 1)
    nodeScratch.set(right, 1 + HASH_SIZE)
    return hash("sha256", nodeScratch, "buffer")
  }
  const b = Buffer.allocUnsafe(1 + left.length + right.length)
  b[0] = 0x01
  b.set(left, 1)
  b.set(right, 1 + left.length)
  return hash("sha256", b, "buffer")
}

// Sizes and indexes are plain numbers up to 2^53 - 1. JavaScript's bitwise operators work on
// 32 bits, so the bit arithmetic below divides instead of shifting: a log is allowed to outgrow
// 2^32 entries.
const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0
const odd = (n: number): boolean => n % 2 === 1
const half = (n: number): number => Math.floor(n / 2)

/**
 * The largest power of two strictly smaller than `n` (`n >= 2`): RFC 9162's split point `k`.
 * @since 0.1.0
 * @category proofs
 */
export const splitOf = (n: number): number => {
  if (n <= 0x1_0000_0000) return 2 ** (31 - Math.clz32(n - 1))
  let k = 0x1_0000_0000
  while (k * 2 < n) k *= 2
  return k
}

const isPowerOfTwo = (n: number): boolean => n > 0 && splitOf(n + 1) === n

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

// ---------------------------------------------------------------------------------------------
// Frontier
// ---------------------------------------------------------------------------------------------

/**
 * What a writer keeps of its tree: the roots of the perfect subtrees the leaves so far fall into,
 * one per set bit of `size`, largest (leftmost) first. That is at most 53 hashes for any log a
 * number can count, and it is all that is needed to append a leaf and to compute the root.
 * @since 0.1.0
 * @category models
 */
export interface Frontier {
  readonly size: number
  readonly nodes: ReadonlyArray<Uint8Array>
}

/**
 * The frontier of the empty tree.
 * @since 0.1.0
 * @category constructors
 */
export const empty: Frontier = { size: 0, nodes: [] }

/** Pushes a leaf hash onto a mutable frontier stack holding `size` leaves; merges equal subtrees. */
const push = (nodes: Array<Uint8Array>, size: number, leaf: Uint8Array): void => {
  let h = leaf
  // Each trailing 1 bit of the old size is a subtree of the same height as `h`: merge them.
  for (let s = size; odd(s); s = half(s)) h = nodeHash(nodes.pop() as Uint8Array, h)
  nodes.push(h)
}

/**
 * The frontier with one more leaf (whose hash is given). Does not change `frontier`.
 * @since 0.1.0
 * @category combinators
 */
export const appendLeafHash = (frontier: Frontier, leaf: Uint8Array): Frontier => {
  const nodes = frontier.nodes.slice()
  push(nodes, frontier.size, leaf)
  return { size: frontier.size + 1, nodes }
}

/**
 * The frontier with one more leaf, given its data (an entry's 32 `hash` bytes). Does not change
 * `frontier`. Costs one leaf hash plus, amortized, one node hash.
 * @since 0.1.0
 * @category combinators
 */
export const append = (frontier: Frontier, leafData: Uint8Array): Frontier =>
  appendLeafHash(frontier, leafHash(leafData))

/**
 * Batches of at least this many leaves are hashed in the WebAssembly kernel (four hashes at a
 * time in SIMD lanes; see `MerkleKernel` in `./kernel.ts`), smaller ones one by one with
 * node:crypto. Measured on the project's 2-core machine, the kernel wins from a single leaf on:
 * about 1.5 µs for one leaf appended to the frontier the kernel still holds (2.7 µs when it must
 * copy another frontier in) against 3.1 µs through two native hash calls, and 0.3 µs a leaf
 * from 64 leaves on. So the threshold is 1, and the node:crypto path is for runtimes without
 * WebAssembly (for example `node --jitless`).
 * @internal
 * @since 0.1.0
 * @category constants
 */
export const KERNEL_MIN_BATCH = 1

const checkBatch = (frontier: Frontier, digests: Uint8Array, offset: number, count: number): void => {
  if (!isCount(offset) || !isCount(count) || offset + count * HASH_SIZE > digests.length) {
    throw new RangeError(`merkle: ${count} digests from byte ${offset} do not fit in ${digests.length} bytes`)
  }
  // A frontier holds one 32-byte node per set bit of its size. One that does not (built by hand,
  // not by this module) would fold into a tree of no log at all: a caller's mistake, said here.
  let bits = 0
  for (let s = frontier.size; s > 0; s = half(s)) bits += s % 2
  if (!isCount(frontier.size) || frontier.nodes.length !== bits || !allHashes(frontier.nodes)) {
    throw new RangeError(`merkle: not a frontier (size ${frontier.size} needs ${bits} nodes of ${HASH_SIZE} bytes, it has ${frontier.nodes.length})`)
  }
}

/**
 * {@link appendDigests} one leaf at a time with node:crypto: the path where WebAssembly is not
 * available, and for small batches.
 * @internal
 * @since 0.1.0
 * @category combinators
 */
export const appendDigestsPortable = (frontier: Frontier, digests: Uint8Array, offset: number, count: number): Frontier => {
  checkBatch(frontier, digests, offset, count)
  if (count === 0) return frontier
  const nodes = frontier.nodes.slice()
  for (let i = 0; i < count; i++) {
    const at = offset + i * HASH_SIZE
    push(nodes, frontier.size + i, leafHash(digests.subarray(at, at + HASH_SIZE)))
  }
  return { size: frontier.size + count, nodes }
}

/**
 * {@link appendDigests} in the WebAssembly kernel, whatever the batch size; `undefined` where
 * WebAssembly is not available.
 * @internal
 * @since 0.1.0
 * @category combinators
 */
export const appendDigestsKernel = (frontier: Frontier, digests: Uint8Array, offset: number, count: number): Frontier | undefined => {
  checkBatch(frontier, digests, offset, count)
  const k = MerkleKernel.get()
  if (k === undefined) return undefined
  if (count === 0) return frontier
  return { size: frontier.size + count, nodes: k.append(frontier.size, frontier.nodes, digests, offset, count) }
}

/**
 * The frontier with `count` more leaves whose data (entries' 32 raw `hash` bytes) lie one after
 * another in `digests` from byte `offset`. Does not change `frontier` or `digests`. The batch
 * entry point the writer and the verifier use. The leaves are hashed in the WebAssembly
 * kernel where there is one (up to ten times as fast per leaf as one by one with node:crypto,
 * in large batches), else with node:crypto; the result is the same either way. Appending to the
 * frontier the previous call returned is the fast case: the kernel still holds it. Throws a `RangeError` when the digests
 * do not fit in `digests` or `frontier` is not a frontier (one 32-byte node per set bit of its
 * size).
 * @since 0.1.0
 * @category combinators
 */
export const appendDigests = (frontier: Frontier, digests: Uint8Array, offset: number, count: number): Frontier =>
  (count >= KERNEL_MIN_BATCH ? appendDigestsKernel(frontier, digests, offset, count) : undefined) ??
    appendDigestsPortable(frontier, digests, offset, count)

/**
 * The frontier with more leaves given as entries' hex `hash` texts (64 hex digits each). Does not
 * change `frontier`. Throws a `RangeError` when a text is not 64 hex digits.
 * @since 0.1.0
 * @category combinators
 */
export const appendHexHashes = (frontier: Frontier, hashes: ReadonlyArray<string>): Frontier => {
  if (hashes.length === 0) return frontier
  for (let i = 0; i < hashes.length; i++) {
    if ((hashes[i] as string).length !== 2 * HASH_SIZE) throw notHex(hashes, i)
  }
  // One native decode for the whole batch; it stops at the first byte that is not hex, so a
  // short result names a bad text.
  const digests = Buffer.from(hashes.length === 1 ? (hashes[0] as string) : hashes.join(""), "hex")
  if (digests.length !== hashes.length * HASH_SIZE) {
    throw notHex(hashes, Math.floor(digests.length / HASH_SIZE))
  }
  return appendDigests(frontier, digests, 0, hashes.length)
}

const notHex = (hashes: ReadonlyArray<string>, i: number): RangeError =>
  new RangeError(`merkle: hash ${i} of the batch is not 64 hex digits (${JSON.stringify((hashes[i] as string).slice(0, 80))})`)

/** Folds the frontier's subtree roots right to left into the tree head. */
const foldRoot = (nodes: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (nodes.length === 0) return emptyRoot
  let r = nodes[nodes.length - 1] as Uint8Array
  for (let i = nodes.length - 2; i >= 0; i--) r = nodeHash(nodes[i] as Uint8Array, r)
  return r
}

/**
 * The tree head (MTH, RFC 9162 §2.1.1) of the leaves a frontier holds.
 * @since 0.1.0
 * @category getters
 */
export const rootOf = (frontier: Frontier): Uint8Array => foldRoot(frontier.nodes)

/**
 * The number of leaves a frontier holds.
 * @since 0.1.0
 * @category getters
 */
export const size = (frontier: Frontier): number => frontier.size

/**
 * The frontier of a list of leaves, given their data.
 * @since 0.1.0
 * @category constructors
 */
export const frontierOf = (leaves: ReadonlyArray<Uint8Array>): Frontier => {
  const nodes: Array<Uint8Array> = []
  for (let i = 0; i < leaves.length; i++) push(nodes, i, leafHash(leaves[i] as Uint8Array))
  return { size: leaves.length, nodes }
}

/**
 * The tree head (MTH, RFC 9162 §2.1.1) of a list of leaves, given their data. O(n) hashing and
 * O(log n) memory.
 * @since 0.1.0
 * @category hashing
 */
export const root = (leaves: ReadonlyArray<Uint8Array>): Uint8Array => rootOf(frontierOf(leaves))

// ---------------------------------------------------------------------------------------------
// Proof generation (from all leaves)
// ---------------------------------------------------------------------------------------------

/** MTH of the leaf hashes `hs[lo, hi)`, `hi > lo`, split as RFC 9162 splits. */
const subtree = (hs: ReadonlyArray<Uint8Array>, lo: number, hi: number): Uint8Array => {
  const n = hi - lo
  if (n === 1) return hs[lo] as Uint8Array
  const k = splitOf(n)
  return nodeHash(subtree(hs, lo, lo + k), subtree(hs, lo + k, hi))
}

const checkIndex = (what: string, value: number, bound: string, ok: boolean): void => {
  if (!isCount(value) || !ok) throw new RangeError(`merkle: ${what} ${value} is out of range (${bound})`)
}

/**
 * The inclusion proof (audit path, RFC 9162 §2.1.3.1 `PATH(m, D_n)`) of leaf `index` in the tree
 * of all `leaves` (their data), leaf-side sibling first. Throws a `RangeError` (a caller's
 * mistake, not a data error) unless `0 <= index < leaves.length`.
 * @since 0.1.0
 * @category proofs
 */
export const inclusionProof = (leaves: ReadonlyArray<Uint8Array>, index: number): Array<Uint8Array> => {
  checkIndex("leaf index", index, `0 <= index < ${leaves.length}`, index < leaves.length)
  const hs = leaves.map(leafHash)
  // Walk down from the root, collecting the sibling at each level, then reverse: the path lists
  // siblings from the leaf up.
  const path: Array<Uint8Array> = []
  let lo = 0
  let hi = hs.length
  while (hi - lo > 1) {
    const k = splitOf(hi - lo)
    if (index < lo + k) {
      path.push(subtree(hs, lo + k, hi))
      hi = lo + k
    } else {
      path.push(subtree(hs, lo, lo + k))
      lo = lo + k
    }
  }
  return path.reverse()
}

/**
 * The consistency proof (RFC 9162 §2.1.4.1 `PROOF(m, D_n)`) that the tree of the first `m`
 * leaves is a prefix of the tree of all `leaves` (their data). Empty when `m` is 0 or
 * `leaves.length`. Throws a `RangeError` unless `0 <= m <= leaves.length`.
 * @since 0.1.0
 * @category proofs
 */
export const consistencyProof = (leaves: ReadonlyArray<Uint8Array>, m: number): Array<Uint8Array> => {
  checkIndex("old size", m, `0 <= m <= ${leaves.length}`, m <= leaves.length)
  if (m === 0 || m === leaves.length) return []
  const hs = leaves.map(leafHash)
  return consistencyPath(m, leaves.length, (lo, hi) => subtree(hs, lo, hi))
}

/**
 * The consistency proof from a tree of `m` leaves to one of `n` (`0 < m < n`, unchecked), naming
 * each subtree it needs by its leaf range `[lo, hi)` and asking `subtreeRoot` for its head: one
 * walk for every way of holding the leaves (their data, their digests).
 * @since 0.1.0
 * @category proofs
 */
export const consistencyPath = (
  m: number,
  n: number,
  subtreeRoot: (lo: number, hi: number) => Uint8Array
): Array<Uint8Array> => {
  // SUBPROOF(m, D[lo:hi], b) unrolled: each step appends one subtree hash *after* the proof of the
  // part it descends into, so the hashes are collected top-down and reversed at the end. The
  // subtrees it names are disjoint, so the whole proof hashes each leaf at most once.
  const out: Array<Uint8Array> = []
  let lo = 0
  let hi = n
  let mm = m
  let whole = true
  while (mm !== hi - lo) {
    const k = splitOf(hi - lo)
    if (mm <= k) {
      out.push(subtreeRoot(lo + k, hi))
      hi = lo + k
    } else {
      out.push(subtreeRoot(lo, lo + k))
      lo = lo + k
      mm -= k
      whole = false
    }
  }
  if (!whole) out.push(subtreeRoot(lo, hi))
  return out.reverse()
}

/**
 * The number of hashes in the inclusion proof of leaf `index` in a tree of `size` leaves, from the
 * sizes alone (no tree is built). Throws a `RangeError` unless `0 <= index < size`.
 * @since 0.1.0
 * @category proofs
 */
export const inclusionProofLength = (index: number, size: number): number => {
  checkIndex("tree size", size, "0 <= size < 2^53", true)
  checkIndex("leaf index", index, `0 <= index < ${size}`, index < size)
  let n = size
  let i = index
  let len = 0
  while (n > 1) {
    const k = splitOf(n)
    if (i < k) n = k
    else {
      i -= k
      n -= k
    }
    len++
  }
  return len
}

/**
 * The number of hashes in the consistency proof from a tree of `m` leaves to one of `n`, from
 * the sizes alone. Throws a `RangeError` unless `0 <= m <= n`.
 * @since 0.1.0
 * @category proofs
 */
export const consistencyProofLength = (m: number, n: number): number => {
  checkIndex("tree size", n, "0 <= size < 2^53", true)
  checkIndex("old size", m, `0 <= m <= ${n}`, m <= n)
  if (m === 0 || m === n) return 0
  let len = 0
  let size = n
  let mm = m
  let whole = true
  while (mm !== size) {
    const k = splitOf(size)
    if (mm <= k) size = k
    else {
      mm -= k
      size -= k
      whole = false
    }
    len++
  }
  return whole ? len : len + 1
}

// ---------------------------------------------------------------------------------------------
// Proof verification (RFC 9162 §2.1.3.2, §2.1.4.2)
// ---------------------------------------------------------------------------------------------

const allHashes = (proof: ReadonlyArray<Uint8Array>): boolean => {
  for (const p of proof) if (p.length !== HASH_SIZE) return false
  return true
}

/**
 * Whether `proof` proves that the leaf with hash `leafHash` (see {@link leafHash}) is leaf `index`
 * of the tree of `size` leaves whose head is `root`: RFC 9162 §2.1.3.2, step by step. Any
 * malformed input (index out of range, a hash that is not 32 bytes) is `false`, never a throw.
 * @since 0.1.0
 * @category verification
 */
export const verifyInclusion = (
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: ReadonlyArray<Uint8Array>,
  root: Uint8Array
): boolean => {
  if (!isCount(index) || !isCount(size) || index >= size) return false
  if (leaf.length !== HASH_SIZE || root.length !== HASH_SIZE || !allHashes(proof)) return false
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of proof) {
    if (sn === 0) return false
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r)
      // The left-edge siblings above a right-most, unbalanced node are skipped levels.
      while (!odd(fn) && fn !== 0) {
        fn = half(fn)
        sn = half(sn)
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = half(fn)
    sn = half(sn)
  }
  return sn === 0 && equalBytes(r, root)
}

/**
 * Whether `proof` proves that the tree of `size1` leaves with head `root1` is a prefix of the
 * tree of `size2` leaves with head `root2`: RFC 9162 §2.1.4.2 for `0 < size1 < size2`. The cases
 * the RFC leaves out are settled the way transparency logs settle them: equal sizes need an empty
 * proof and equal roots; `size1 = 0` needs an empty proof and `root1` the empty-tree head.
 * Malformed input is `false`, never a throw.
 * @since 0.1.0
 * @category verification
 */
export const verifyConsistency = (
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: ReadonlyArray<Uint8Array>
): boolean => {
  if (!isCount(size1) || !isCount(size2) || size1 > size2) return false
  if (root1.length !== HASH_SIZE || root2.length !== HASH_SIZE || !allHashes(proof)) return false
  if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2)
  if (size1 === 0) return proof.length === 0 && equalBytes(root1, emptyRoot)
  // 1. An empty path proves nothing.
  if (proof.length === 0) return false
  // 2. When the old tree is a perfect subtree, its root is the first node of the path.
  let start = 0
  let fr: Uint8Array
  if (isPowerOfTwo(size1)) {
    fr = root1
  } else {
    fr = proof[0] as Uint8Array
    start = 1
  }
  // 3.–4.
  let fn = size1 - 1
  let sn = size2 - 1
  while (odd(fn)) {
    fn = half(fn)
    sn = half(sn)
  }
  // 5.
  let sr = fr
  // 6.
  for (let i = start; i < proof.length; i++) {
    const c = proof[i] as Uint8Array
    if (sn === 0) return false
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      while (!odd(fn) && fn !== 0) {
        fn = half(fn)
        sn = half(sn)
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn = half(fn)
    sn = half(sn)
  }
  // 7.
  return sn === 0 && equalBytes(fr, root1) && equalBytes(sr, root2)
}
