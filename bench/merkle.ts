/**
 * `npm run bench` (Merkle part): the RFC 9162 tree over a log's entries (FORMAT B.2).
 *
 * - inclusion proofs in a tree of 1,000,000 leaves: verification time per proof, median and
 *   p99 over random leaves (target < 1 ms), against the cost of the hashes a proof needs, one
 *   node:crypto call each, measured in the same run;
 * - proof size: an inclusion proof in any tree below 2^32 leaves has at most 32 hashes, checked
 *   at many sizes up to 2^32 - 1 against an independent count (the levels of the tree where the
 *   leaf's ancestor has a sibling), exhaustively for small trees;
 * - `appendDigests` throughput (leaves/s into the frontier) in one batch, in verifier-sized
 *   batches of 256 and one leaf at a time, against the node:crypto path (`appendDigestsPortable`)
 *   in alternating rounds of the same run.
 *
 * Set BENCH_QUICK=1 for smaller counts (the tree stays at 1,000,000 leaves).
 */
import { createHash, hash } from "node:crypto"
import { MerkleKernel } from "../src/internal/kernel.js"
import * as Merkle from "../src/internal/merkle.js"

const QUICK = process.env["BENCH_QUICK"] === "1"
const TREE = 1_000_000
const PROOFS = QUICK ? 2_000 : 20_000
const THROUGHPUT = QUICK ? 200_000 : 1_000_000
const ROUNDS = QUICK ? 3 : 5
const RANDOM_SIZES = QUICK ? 20_000 : 200_000

const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const quantile = (xs: ReadonlyArray<number>, q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!
const verdict = (ok: boolean) => (ok ? "met" : "NOT MET")

/** A deterministic generator (mulberry32), so runs compare. */
const rng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** n entry hashes (32 bytes each, side by side). */
const digestsOf = (n: number): Buffer => {
  const out = Buffer.allocUnsafe(32 * n)
  const seed = Buffer.alloc(8)
  for (let i = 0; i < n; i++) {
    seed.writeUInt32LE(i, 0)
    createHash("sha256").update(seed).digest().copy(out, 32 * i)
  }
  return out
}

/**
 * Every level of the tree, bottom up, as the RFC 9162 tree lays them out: a level's last node
 * without a sibling is carried up unchanged. Built with the kernel's lanes (fast); the root is
 * checked against the node:crypto frontier below, and the proofs are verified with node:crypto.
 */
const levelsOf = (d: Buffer, n: number): Array<Buffer> => {
  const k = MerkleKernel.get()
  if (k === undefined) throw new Error("this bench needs WebAssembly")
  const leaves = Buffer.allocUnsafe(32 * n)
  for (let i = 0; i < n; i += 4096) {
    const m = Math.min(4096, n - i)
    k.leafHashes(d.subarray(32 * i, 32 * (i + m))).copy(leaves, 32 * i)
  }
  const levels = [leaves]
  for (let level = leaves, len = n; len > 1; ) {
    const pairs = Math.floor(len / 2)
    const up = Buffer.allocUnsafe(32 * Math.ceil(len / 2))
    for (let i = 0; i < pairs; i += 2048) {
      const m = Math.min(2048, pairs - i)
      k.nodeHashes(level.subarray(64 * i, 64 * (i + m))).copy(up, 32 * i)
    }
    if (len % 2 === 1) level.copy(up, 32 * pairs, 32 * (len - 1), 32 * len)
    levels.push(up)
    level = up
    len = Math.ceil(len / 2)
  }
  return levels
}

const proofOf = (levels: ReadonlyArray<Buffer>, index: number): Array<Uint8Array> => {
  const proof: Array<Uint8Array> = []
  let i = index
  for (let h = 0; h < levels.length - 1; h++) {
    const sibling = i ^ 1
    if (32 * sibling < levels[h]!.length) proof.push(levels[h]!.subarray(32 * sibling, 32 * sibling + 32))
    i = Math.floor(i / 2)
  }
  return proof
}

/** The inclusion proof's length counted level by level: the levels where the leaf's ancestor has a sibling. */
const countedLength = (index: number, size: number): number => {
  let len = 0
  for (let i = index, n = size; n > 1; i = Math.floor(i / 2), n = Math.ceil(n / 2)) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1
    if (sibling < n) len++
  }
  return len
}

const inclusion = (d: Buffer) => {
  console.log(`\ninclusion proofs, tree of ${fmt(TREE)} leaves`)
  const t0 = performance.now()
  const levels = levelsOf(d, TREE)
  const root = levels[levels.length - 1]!.subarray(0, 32)
  const portableRoot = Merkle.rootOf(Merkle.appendDigestsPortable(Merkle.empty, d, 0, TREE))
  if (!Buffer.from(portableRoot).equals(root)) throw new Error("the tree's levels do not give the node:crypto root")
  console.log(`  tree built in ${((performance.now() - t0) / 1000).toFixed(1)} s (levels in the kernel, root checked against node:crypto)`)
  const random = rng(13)
  const indexes = Array.from({ length: PROOFS }, (_, j) => (j < 4 ? [0, 1, TREE - 2, TREE - 1][j]! : Math.floor(random() * TREE)))
  const proofs = indexes.map((i) => proofOf(levels, i))
  const leaves = indexes.map((i) => Merkle.leafHash(d.subarray(32 * i, 32 * i + 32)))
  let maxLen = 0
  for (let j = 0; j < PROOFS; j++) {
    if (proofs[j]!.length !== Merkle.inclusionProofLength(indexes[j]!, TREE)) throw new Error(`proof of ${indexes[j]} has the wrong length`)
    maxLen = Math.max(maxLen, proofs[j]!.length)
  }
  // warm up, and make sure the proofs are good and a wrong one is not
  for (let j = 0; j < Math.min(PROOFS, 500); j++) {
    if (!Merkle.verifyInclusion(leaves[j]!, indexes[j]!, TREE, proofs[j]!, root)) throw new Error(`proof of ${indexes[j]} does not verify`)
    if (Merkle.verifyInclusion(leaves[j]!, indexes[j]! ^ 1, TREE, proofs[j]!, root)) throw new Error(`proof of ${indexes[j]} verifies for its neighbour`)
  }
  const times: Array<number> = []
  let ok = 0
  for (let j = 0; j < PROOFS; j++) {
    const t = process.hrtime.bigint()
    if (Merkle.verifyInclusion(leaves[j]!, indexes[j]!, TREE, proofs[j]!, root)) ok++
    times.push(Number(process.hrtime.bigint() - t) / 1000)
  }
  if (ok !== PROOFS) throw new Error(`${PROOFS - ok} proofs did not verify`)
  // the baseline: the hashes a proof needs, one node:crypto call each (65-byte messages)
  const msg = Buffer.alloc(65, 7)
  const base: Array<number> = []
  for (let j = 0; j < PROOFS; j++) {
    const t = process.hrtime.bigint()
    for (let h = 0; h < maxLen; h++) hash("sha256", msg, "buffer")
    base.push(Number(process.hrtime.bigint() - t) / 1000)
  }
  const p99 = quantile(times, 0.99)
  console.log(`  verifyInclusion, ${fmt(PROOFS)} random leaves   median ${median(times).toFixed(1)} µs, p99 ${p99.toFixed(1)} µs, max ${Math.max(...times).toFixed(1)} µs   (target < 1,000 µs: ${verdict(p99 < 1000)})`)
  console.log(`  baseline: ${maxLen} node:crypto SHA-256 calls      median ${median(base).toFixed(1)} µs, p99 ${quantile(base, 0.99).toFixed(1)} µs`)
  console.log(`  proof length in this tree: at most ${maxLen} hashes (ceil(log2 ${fmt(TREE)}) = ${Math.ceil(Math.log2(TREE))}); proof size ${maxLen * 32} bytes`)
}

const proofSize = () => {
  console.log(`\nproof size below 2^32 leaves (target <= 32 hashes)`)
  let checked = 0
  let worst = 0
  const check = (index: number, size: number) => {
    const len = Merkle.inclusionProofLength(index, size)
    if (len !== countedLength(index, size)) throw new Error(`inclusionProofLength(${index}, ${size}) = ${len}, counted ${countedLength(index, size)}`)
    // the leftmost leaf is the deepest: its path is ceil(log2 size) long
    if (index === 0 && len !== (size === 1 ? 0 : Math.ceil(Math.log2(size)))) throw new Error(`leaf 0 of ${size}: ${len}`)
    if (size < 2 ** 32) worst = Math.max(worst, len)
    checked++
  }
  // every (index, size) of the small trees
  for (let size = 1; size <= 1024; size++) for (let i = 0; i < size; i++) check(i, size)
  const small = checked
  // the edges: 2^k - 1, 2^k, 2^k + 1 and their first, last and middle leaves
  for (let k = 1; k <= 32; k++) {
    for (const size of [2 ** k - 1, 2 ** k, 2 ** k + 1]) {
      if (size < 1) continue
      for (const i of [0, 1, Math.floor(size / 2), size - 2, size - 1]) if (i >= 0 && i < size) check(i, size)
    }
  }
  // random sizes up to 2^32 - 1, random leaves
  const random = rng(32)
  for (let j = 0; j < RANDOM_SIZES; j++) {
    const size = 1 + Math.floor(random() * (2 ** 32 - 1))
    check(Math.floor(random() * size), size)
    check(0, size)
    check(size - 1, size)
  }
  console.log(`  ${fmt(checked)} (index, size) pairs checked against a level-by-level count (all ${fmt(small)} of sizes 1..1,024, the edges 2^k +- 1, ${fmt(RANDOM_SIZES)} random sizes up to 2^32 - 1)`)
  console.log(`  longest inclusion proof below 2^32 leaves: ${worst} hashes (${worst * 32} bytes)   (target <= 32: ${verdict(worst <= 32)})`)
  console.log(`  leaf 0 at 2^32 - 1 leaves: ${Merkle.inclusionProofLength(0, 2 ** 32 - 1)} hashes; at 2^32: ${Merkle.inclusionProofLength(0, 2 ** 32)}; at 2^32 + 1: ${Merkle.inclusionProofLength(0, 2 ** 32 + 1)} (the first size with a longer proof)`)
}

const throughput = (d: Buffer) => {
  console.log(`\nappendDigests throughput (leaves/s into the frontier, ${fmt(THROUGHPUT)} leaves, best of ${ROUNDS} alternating rounds)`)
  const run = (add: typeof Merkle.appendDigests, batch: number): { rate: number; root: string } => {
    const t = performance.now()
    let f = Merkle.empty
    for (let i = 0; i < THROUGHPUT; i += batch) f = add(f, d, 32 * i, Math.min(batch, THROUGHPUT - i))
    const rate = THROUGHPUT / ((performance.now() - t) / 1000)
    return { rate, root: Buffer.from(Merkle.rootOf(f)).toString("hex") }
  }
  // the limit loop: one node:crypto leaf hash per leaf and nothing else (the node hashes not counted)
  const limit = (): number => {
    const t = performance.now()
    for (let i = 0; i < THROUGHPUT; i++) hash("sha256", d.subarray(32 * i, 32 * i + 32), "buffer")
    return THROUGHPUT / ((performance.now() - t) / 1000)
  }
  let rootWanted: string | undefined
  for (const batch of [THROUGHPUT, 256, 1]) {
    const ours: Array<number> = []
    const portable: Array<number> = []
    const limits: Array<number> = []
    const ratios: Array<number> = []
    run(Merkle.appendDigests, batch) // warm up
    for (let r = 0; r < ROUNDS; r++) {
      const a = run(Merkle.appendDigests, batch)
      const b = run(Merkle.appendDigestsPortable, batch)
      rootWanted ??= b.root
      if (a.root !== rootWanted || b.root !== rootWanted) throw new Error("the paths disagree about the root")
      ours.push(a.rate)
      portable.push(b.rate)
      ratios.push(a.rate / b.rate)
      if (batch === THROUGHPUT) limits.push(limit())
    }
    const best = (xs: Array<number>) => Math.max(...xs)
    const label = batch === THROUGHPUT ? "one batch        " : batch === 1 ? "one leaf a call  " : `batches of ${batch}  `
    console.log(
      `  ${label} kernel ${fmt(best(ours)).padStart(11)}   node:crypto ${fmt(best(portable)).padStart(10)}   ${(best(ours) / best(portable)).toFixed(1)}x; median of pairs ${median(ratios).toFixed(1)}x   (${(1e6 / best(ours)).toFixed(2)} µs a leaf)`
    )
    if (limits.length > 0) console.log(`  limit loop: one node:crypto leaf hash per leaf, nothing else ${fmt(best(limits)).padStart(10)}   (${(1e6 / best(limits)).toFixed(2)} µs a leaf)`)
  }
}

const main = () => {
  console.log(`\nMerkle tree (RFC 9162), node ${process.version}`)
  const d = digestsOf(Math.max(TREE, THROUGHPUT))
  inclusion(d)
  proofSize()
  throughput(d)
}

main()
