/**
 * The Merkle tree over a log's entries (FORMAT B.2), as pure functions: RFC 9162 §2.1 hashing,
 * tree heads, inclusion and consistency proofs and their verification, and the O(log n) frontier
 * a writer keeps to know the root of a growing log.
 *
 * Leaf data is whatever the caller gives; for an acttrace log it is the 32 raw bytes of an entry's
 * `hash` (so the leaf hash is SHA-256(0x00 || those bytes)), and leaf `i` is the entry whose `seq`
 * is `i`. Everything here is synchronous and allocation-light; proof *verification* needs only the
 * proof, never the tree.
 *
 * Proofs of leaves of a whole log are made from its *digests*: the entries' 32-byte hashes laid
 * one after another in a `Uint8Array` (32 bytes of memory per entry). `inclusionProofs` makes the
 * proofs of any set of leaves, and the root, in one pass over the tree (each node hashed once,
 * however many leaves are proven); `consistencyProofOfDigests` and `rootOfDigests` work the same
 * way. The one-leaf `inclusionProof` and `consistencyProof` take the leaves as a list and are
 * meant for small trees and tests.
 *
 * Functions that build proofs throw a `RangeError` when given sizes or indexes outside the tree
 * (a caller's mistake, not a data error); the verification functions never throw: anything
 * malformed is simply `false`.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/merkle.js"

/**
 * Size in bytes of every hash in the tree (SHA-256), and of every leaf of an acttrace log.
 *
 * @since 0.1.0
 * @category constants
 */
export const HASH_SIZE: number = internal.HASH_SIZE

/**
 * The head of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
 *
 * @since 0.1.0
 * @category constants
 */
export const emptyRoot: Uint8Array = internal.emptyRoot

/**
 * The hash of one leaf given its data: SHA-256(0x00 || data) (RFC 9162 §2.1.1). The prefix keeps
 * a leaf from ever being taken for an interior node.
 *
 * @since 0.1.0
 * @category hashing
 */
export const leafHash: (data: Uint8Array) => Uint8Array = internal.leafHash

/**
 * The hash of an interior node: SHA-256(0x01 || left || right) (RFC 9162 §2.1.1).
 *
 * @since 0.1.0
 * @category hashing
 */
export const nodeHash: (left: Uint8Array, right: Uint8Array) => Uint8Array = internal.nodeHash

/**
 * The tree head (MTH, RFC 9162 §2.1.1) of a list of leaves, given their data. O(n) hashing,
 * O(log n) memory.
 *
 * @since 0.1.0
 * @category hashing
 */
export const root: (leaves: ReadonlyArray<Uint8Array>) => Uint8Array = internal.root

/**
 * What a writer keeps of its tree: the roots of the perfect subtrees its leaves fall into, one per
 * set bit of `size`, largest (leftmost) first; at most 53 hashes for any log a number can count.
 * Immutable: the functions that add leaves return a new frontier.
 *
 * @since 0.1.0
 * @category models
 */
export type Frontier = internal.Frontier

/**
 * The frontier of the empty tree.
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty: Frontier = internal.empty

/**
 * The frontier of a list of leaves, given their data.
 *
 * @since 0.1.0
 * @category constructors
 */
export const frontierOf: (leaves: ReadonlyArray<Uint8Array>) => Frontier = internal.frontierOf

/**
 * The frontier with one more leaf, given its data (an entry's 32 `hash` bytes): one leaf hash
 * plus, amortized, one node hash.
 *
 * @since 0.1.0
 * @category combinators
 */
export const append: (frontier: Frontier, leafData: Uint8Array) => Frontier = internal.append

/**
 * The frontier with one more leaf, given its leaf hash (see `leafHash`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const appendLeafHash: (frontier: Frontier, leaf: Uint8Array) => Frontier = internal.appendLeafHash

/**
 * The frontier with `count` more leaves whose data (entries' 32 raw `hash` bytes) lie one after
 * another in `digests` from byte `offset`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const appendDigests: (frontier: Frontier, digests: Uint8Array, offset: number, count: number) => Frontier =
  internal.appendDigests

/**
 * The frontier with more leaves given as entries' hex `hash` texts (64 lowercase hex digits each).
 *
 * @since 0.1.0
 * @category combinators
 */
export const appendHexHashes: (frontier: Frontier, hashes: ReadonlyArray<string>) => Frontier = internal.appendHexHashes

/**
 * The tree head of the leaves a frontier holds.
 *
 * @since 0.1.0
 * @category getters
 */
export const rootOf: (frontier: Frontier) => Uint8Array = internal.rootOf

/**
 * The number of leaves a frontier holds.
 *
 * @since 0.1.0
 * @category getters
 */
export const size: (frontier: Frontier) => number = internal.size

/**
 * The inclusion proof (audit path, RFC 9162 §2.1.3.1) of leaf `index` in the tree of all `leaves`
 * (their data), the leaf's sibling first. O(n): for many leaves of a large tree use
 * `inclusionProofs`. Throws a `RangeError` unless `0 <= index < leaves.length`.
 *
 * @since 0.1.0
 * @category proofs
 */
export const inclusionProof: (leaves: ReadonlyArray<Uint8Array>, index: number) => Array<Uint8Array> =
  internal.inclusionProof

/**
 * The consistency proof (RFC 9162 §2.1.4.1) that the tree of the first `m` leaves is a prefix of
 * the tree of all `leaves`. Empty when `m` is 0 or `leaves.length`. Throws a `RangeError` unless
 * `0 <= m <= leaves.length`.
 *
 * @since 0.1.0
 * @category proofs
 */
export const consistencyProof: (leaves: ReadonlyArray<Uint8Array>, m: number) => Array<Uint8Array> =
  internal.consistencyProof

/**
 * The number of hashes in the inclusion proof of leaf `index` in a tree of `size` leaves, from the
 * sizes alone: at most 32 for any tree below 2^32 leaves (20 at a million).
 *
 * @since 0.1.0
 * @category proofs
 */
export const inclusionProofLength: (index: number, size: number) => number = internal.inclusionProofLength

/**
 * The number of hashes in the consistency proof from a tree of `m` leaves to one of `n`, from the
 * sizes alone.
 *
 * @since 0.1.0
 * @category proofs
 */
export const consistencyProofLength: (m: number, n: number) => number = internal.consistencyProofLength

/**
 * Whether `proof` proves that the leaf whose leaf hash is `leaf` is leaf `index` of the tree of
 * `size` leaves whose head is `root` (RFC 9162 §2.1.3.2). Malformed input is `false`.
 *
 * @since 0.1.0
 * @category verification
 */
export const verifyInclusion: (
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: ReadonlyArray<Uint8Array>,
  root: Uint8Array
) => boolean = internal.verifyInclusion

/**
 * Whether `proof` proves that the tree of `size1` leaves with head `root1` is a prefix of the tree
 * of `size2` leaves with head `root2` (RFC 9162 §2.1.4.2; equal sizes need equal heads and an
 * empty proof, and the empty tree is a prefix of every tree). Malformed input is `false`.
 *
 * @since 0.1.0
 * @category verification
 */
export const verifyConsistency: (
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: ReadonlyArray<Uint8Array>
) => boolean = internal.verifyConsistency

// ---------------------------------------------------------------------------------------------
// Proofs over digests (every leaf of a log, 32 bytes each)
// ---------------------------------------------------------------------------------------------

const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0

const checkSize = (digests: Uint8Array, size: number): void => {
  if (!isCount(size) || size * HASH_SIZE > digests.length) {
    throw new RangeError(`merkle: tree size ${size} is out of range (the digests hold ${Math.floor(digests.length / HASH_SIZE)} leaves)`)
  }
}

/** The head of the subtree over leaves `[lo, hi)` of `digests`, `hi > lo`: O(hi - lo) hashing. */
const rangeRoot = (digests: Uint8Array, lo: number, hi: number): Uint8Array =>
  internal.rootOf(internal.appendDigests(internal.empty, digests, lo * HASH_SIZE, hi - lo))

/**
 * The tree head over the first `size` leaves whose data (32 bytes each) lie one after another in
 * `digests` (which may hold more). Throws a `RangeError` when `digests` holds fewer.
 *
 * @since 0.1.0
 * @category hashing
 */
export const rootOfDigests = (digests: Uint8Array, size: number): Uint8Array => {
  checkSize(digests, size)
  return size === 0 ? emptyRoot : rangeRoot(digests, 0, size)
}

/**
 * The inclusion proofs of the leaves `indexes` (in that order) in the tree of the first `size`
 * leaves of `digests`, and that tree's head, in one pass over the tree: each node is hashed once,
 * so proving k leaves of an n-leaf tree costs about 2n hashes, not k·n. Each proof lists the
 * leaf's sibling first, as RFC 9162 §2.1.3.1 does. Throws a `RangeError` unless
 * `1 <= size <= digests.length / 32` and every index is distinct and in `[0, size)`.
 *
 * @since 0.1.0
 * @category proofs
 */
export const inclusionProofs = (
  digests: Uint8Array,
  size: number,
  indexes: ReadonlyArray<number>
): { readonly root: Uint8Array; readonly proofs: Array<Array<Uint8Array>> } => {
  checkSize(digests, size)
  if (size === 0) throw new RangeError("merkle: the empty tree has no leaf to prove")
  const order = indexes.map((index, at) => ({ index, at }))
  for (const { index } of order) {
    if (!isCount(index) || index >= size) throw new RangeError(`merkle: leaf index ${index} is out of range (0 <= index < ${size})`)
  }
  order.sort((a, b) => a.index - b.index)
  for (let i = 1; i < order.length; i++) {
    if (order[i]!.index === order[i - 1]!.index) throw new RangeError(`merkle: leaf index ${order[i]!.index} is asked for twice`)
  }
  const proofs: Array<Array<Uint8Array>> = indexes.map(() => [])
  // The head of [lo, hi) holding the wanted leaves order[from, to). A part with no wanted leaf is
  // hashed whole (iteratively); a part with some is split as RFC 9162 splits it, and each wanted
  // leaf on one side takes the other side's head as its sibling at that level. The recursion goes
  // down first, so each path is filled leaf-side first. Depth: log2(size) levels.
  const walk = (lo: number, hi: number, from: number, to: number): Uint8Array => {
    if (from === to) return rangeRoot(digests, lo, hi)
    if (hi - lo === 1) return internal.leafHash(digests.subarray(lo * HASH_SIZE, (lo + 1) * HASH_SIZE))
    const k = lo + internal.splitOf(hi - lo)
    let mid = from
    while (mid < to && order[mid]!.index < k) mid++
    const left = walk(lo, k, from, mid)
    const right = walk(k, hi, mid, to)
    for (let i = from; i < mid; i++) proofs[order[i]!.at]!.push(right)
    for (let i = mid; i < to; i++) proofs[order[i]!.at]!.push(left)
    return internal.nodeHash(left, right)
  }
  const head = walk(0, size, 0, order.length)
  return { root: head, proofs }
}

/**
 * The consistency proof (RFC 9162 §2.1.4.1) from the tree of the first `m` leaves of `digests` to
 * the tree of the first `n`: O(n) hashing, each leaf once. Empty when `m` is 0 or `n`. Throws a
 * `RangeError` unless `0 <= m <= n <= digests.length / 32`.
 *
 * @since 0.1.0
 * @category proofs
 */
export const consistencyProofOfDigests = (digests: Uint8Array, m: number, n: number): Array<Uint8Array> => {
  checkSize(digests, n)
  if (!isCount(m) || m > n) throw new RangeError(`merkle: old size ${m} is out of range (0 <= m <= ${n})`)
  if (m === 0 || m === n) return []
  return internal.consistencyPath(m, n, (lo, hi) => rangeRoot(digests, lo, hi))
}
