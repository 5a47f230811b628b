/**
 * Batch appends to the Merkle frontier (`appendDigests`, `appendHexHashes`): hashed in the
 * WebAssembly kernel from KERNEL_MIN_BATCH leaves on, one by one with node:crypto below that or
 * without WebAssembly. Whatever the path, the batch, its split points and the frontier it starts
 * from, the result must be the frontier one-leaf-at-a-time `append` gives.
 */
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as F from "../src/internal/fixtures.js"
import { Kernel, MerkleKernel, R_NEXT } from "../src/internal/kernel.js"
import * as Merkle from "../src/internal/merkle.js"
import { rng, ROOT } from "./helpers.js"

const LONG = process.env["FUZZ_LONG"] === "1"

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex")
const sha = (...parts: Array<Uint8Array>): Buffer => {
  const h = createHash("sha256")
  for (const p of parts) h.update(p)
  return h.digest()
}
const show = (f: Merkle.Frontier) => ({ size: f.size, nodes: f.nodes.map(hex) })

const kernel = (): MerkleKernel => {
  const k = MerkleKernel.get()
  if (k === undefined) throw new Error("no WebAssembly in the test runtime")
  return k
}

/** n pseudo-random 32-byte entry hashes, laid one after another. */
const digestsOf = (n: number, salt: number): Buffer => {
  const out = Buffer.allocUnsafe(32 * n)
  const seed = Buffer.alloc(8)
  seed.writeUInt32LE(salt >>> 0, 0)
  for (let i = 0; i < n; i++) {
    seed.writeUInt32LE(i, 4)
    sha(seed).copy(out, 32 * i)
  }
  return out
}

/** n pseudo-random bytes (seeded: a failure replays). */
const bytesOf = (n: number, seed: number): Buffer => {
  const random = rng(seed)
  const out = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256)
  return out
}

/** The reference: one leaf at a time, with `append`. */
const oneByOne = (from: Merkle.Frontier, d: Uint8Array, offset: number, count: number): Merkle.Frontier => {
  let f = from
  for (let i = 0; i < count; i++) f = Merkle.append(f, d.subarray(offset + 32 * i, offset + 32 * i + 32))
  return f
}

/** Append d in batches ending at the given split points, with `add`. */
const inBatches = (
  add: (f: Merkle.Frontier, d: Uint8Array, offset: number, count: number) => Merkle.Frontier,
  from: Merkle.Frontier,
  d: Uint8Array,
  splits: ReadonlyArray<number>
): Merkle.Frontier => {
  const n = d.length / 32
  const cuts = [...new Set(splits.map((s) => s % (n + 1)))].sort((a, b) => a - b)
  let f = from
  let at = 0
  for (const c of [...cuts, n]) {
    f = add(f, d, 32 * at, c - at)
    at = c
  }
  return f
}

const forced = (f: Merkle.Frontier, d: Uint8Array, offset: number, count: number): Merkle.Frontier => {
  const r = Merkle.appendDigestsKernel(f, d, offset, count)
  if (r === undefined) throw new Error("no WebAssembly in the test runtime")
  return r
}

describe("internal/merkle batches", () => {
  describe("the kernel's SIMD lanes", () => {
    it("hash leaves (0x00 || 32 bytes) as SHA-256 does, for every count of lanes in use", () => {
      const k = kernel()
      for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 1000]) {
        const d = bytesOf(32 * n, n)
        const want = Buffer.concat(Array.from({ length: n }, (_, i) => sha(Uint8Array.of(0), d.subarray(32 * i, 32 * i + 32))))
        expect(k.leafHashes(d).toString("hex"), `${n} leaves`).toBe(want.toString("hex"))
      }
    })

    it("hash nodes (0x01 || left || right) as SHA-256 does, for every count of lanes in use", () => {
      const k = kernel()
      for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 1000]) {
        const d = bytesOf(64 * n, 1000 + n)
        const want = Buffer.concat(Array.from({ length: n }, (_, i) => sha(Uint8Array.of(1), d.subarray(64 * i, 64 * i + 64))))
        expect(k.nodeHashes(d).toString("hex"), `${n} nodes`).toBe(want.toString("hex"))
      }
    })

    it("hash the edge bytes right: all 0x00, all 0xff, and each byte of the message alone", () => {
      const k = kernel()
      const cases: Array<Buffer> = [Buffer.alloc(64), Buffer.alloc(64, 0xff)]
      for (const at of [0, 1, 2, 3, 30, 31, 32, 33, 62, 63]) {
        const b = Buffer.alloc(64)
        b[at] = 0x80
        cases.push(b)
      }
      for (const c of cases) {
        expect(k.nodeHashes(c).toString("hex")).toBe(sha(Uint8Array.of(1), c).toString("hex"))
        expect(k.leafHashes(c.subarray(0, 32)).toString("hex")).toBe(sha(Uint8Array.of(0), c.subarray(0, 32)).toString("hex"))
      }
    })
  })

  describe("a batch gives the frontier one-at-a-time append gives", () => {
    it.prop(
      "random sizes and split points, from an empty or a grown frontier, every path",
      [fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 600 }), fc.array(fc.nat(), { maxLength: 12 }), fc.integer()],
      ([n, before, splits, salt]) => {
        const start = oneByOne(Merkle.empty, digestsOf(before, ~salt), 0, before)
        const d = digestsOf(n, salt)
        const want = show(oneByOne(start, d, 0, n))
        expect(show(inBatches(Merkle.appendDigests, start, d, splits))).toEqual(want)
        expect(show(inBatches(forced, start, d, splits))).toEqual(want)
        expect(show(inBatches(Merkle.appendDigestsPortable, start, d, splits))).toEqual(want)
        expect(hex(Merkle.rootOf(inBatches(Merkle.appendDigests, start, d, splits)))).toBe(hex(Merkle.rootOf(oneByOne(start, d, 0, n))))
      },
      { fastCheck: { numRuns: LONG ? 400 : 40 } }
    )

    it("every batch size around the threshold and the lane count, from every frontier size up to 70", () => {
      const d = digestsOf(Math.max(2 * Merkle.KERNEL_MIN_BATCH, 16) + 9, 5)
      const all = digestsOf(70, 6)
      for (let before = 0; before <= 70; before++) {
        const start = oneByOne(Merkle.empty, all, 0, before)
        for (let count = 0; count <= d.length / 32; count++) {
          const want = show(oneByOne(start, d, 0, count))
          expect(show(Merkle.appendDigests(start, d, 0, count)), `${before} + ${count}`).toEqual(want)
          expect(show(forced(start, d, 0, count)), `${before} + ${count} in the kernel`).toEqual(want)
        }
      }
    })

    it("100,000 leaves in one batch, and in chunks of the kernel's size and of odd sizes", () => {
      const n = 100_000
      const d = digestsOf(n, 11)
      const want = show(oneByOne(Merkle.empty, d, 0, n))
      expect(show(Merkle.appendDigests(Merkle.empty, d, 0, n))).toEqual(want)
      expect(show(inBatches(Merkle.appendDigests, Merkle.empty, d, [4096, 8192, 8193, 12_289, 50_000, 99_999]))).toEqual(want)
      const odd = Array.from({ length: 400 }, (_, i) => 1 + i * 249)
      expect(show(inBatches(Merkle.appendDigests, Merkle.empty, d, odd))).toEqual(want)
    })

    it("from frontiers of sizes past 2^32 and near 2^53 (levels above 32 bits)", () => {
      const d = digestsOf(300, 3)
      for (const size of [2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 2 ** 40 - 77, 2 ** 53 - 1 - 300]) {
        // any hashes will do as the frontier's subtree roots: the fold only combines them
        const bits = size.toString(2).split("").filter((b) => b === "1").length
        const start: Merkle.Frontier = { size, nodes: Array.from({ length: bits }, (_, i) => sha(Uint8Array.of(i, 9))) }
        const want = show(oneByOne(start, d, 0, 300))
        expect(show(Merkle.appendDigests(start, d, 0, 300)), `from ${size}`).toEqual(want)
        expect(show(inBatches(forced, start, d, [1, 2, 5, 17, 100, 255])), `from ${size}, split`).toEqual(want)
      }
    })

    it.skipIf(!LONG)("2^20 leaves in one batch and in random chunks (FUZZ_LONG)", () => {
        const n = 2 ** 20
        const d = digestsOf(n, 20)
        const want = show(Merkle.appendDigestsPortable(Merkle.empty, d, 0, n))
        expect(want.nodes.length).toBe(1)
        expect(show(Merkle.appendDigests(Merkle.empty, d, 0, n))).toEqual(want)
        const random = rng(20)
        const splits = Array.from({ length: 300 }, () => Math.floor(random() * n))
        expect(show(inBatches(Merkle.appendDigests, Merkle.empty, d, splits))).toEqual(want)
        expect(show(oneByOne(Merkle.empty, d, 0, n))).toEqual(want)
    })
  })

  describe("values stay values", () => {
    it("neither the frontier given nor the digests change, and a returned frontier outlives later batches", () => {
      const d = digestsOf(500, 8)
      const copy = Buffer.from(d)
      const f0 = oneByOne(Merkle.empty, d, 0, 13)
      const s0 = show(f0)
      const f1 = Merkle.appendDigests(f0, d, 32 * 13, 200)
      const s1 = show(f1)
      // later batches through the same kernel memory, from f1 and from elsewhere
      const f2 = Merkle.appendDigests(f1, d, 32 * 213, 287)
      Merkle.appendDigests(Merkle.empty, digestsOf(4000, 9), 0, 4000)
      expect(show(f0)).toEqual(s0)
      expect(show(f1)).toEqual(s1)
      expect(show(f2)).toEqual(show(oneByOne(Merkle.empty, d, 0, 500)))
      expect(d.equals(copy)).toBe(true)
      // each node is its own copy: no two share bytes, none is a view of the kernel's memory
      for (const node of f2.nodes) expect(node.byteLength).toBe(32)
      const buffers = new Set(f2.nodes.map((x) => x.buffer))
      for (const b of buffers) expect(b.byteLength).toBeLessThan(1 << 16)
    })

    it("two logs' batches interleaved through the one kernel, and a frontier rebuilt from the same nodes", () => {
      const a = digestsOf(1000, 30)
      const b = digestsOf(1000, 31)
      let fa = Merkle.empty
      let fb = Merkle.empty
      for (let i = 0; i < 1000; i += 50) {
        fa = Merkle.appendDigests(fa, a, 32 * i, 50)
        fb = Merkle.appendDigests(fb, b, 32 * i, 7)
        fb = Merkle.appendDigests(fb, b, 32 * (i + 7), 43)
        // the same nodes in a new array and a new object: still the frontier the kernel holds
        fb = { size: fb.size, nodes: [...fb.nodes] }
      }
      expect(show(fa)).toEqual(show(oneByOne(Merkle.empty, a, 0, 1000)))
      expect(show(fb)).toEqual(show(oneByOne(Merkle.empty, b, 0, 1000)))
      // a node swapped in the returned array (its type says readonly; JavaScript lets it) is used
      const f = Merkle.appendDigests(Merkle.empty, a, 0, 11)
      ;(f.nodes as Array<Uint8Array>)[1] = sha(Uint8Array.of(1))
      const want = show(Merkle.appendDigestsPortable(f, a, 32 * 11, 5))
      expect(show(Merkle.appendDigests(f, a, 32 * 11, 5))).toEqual(want)
    })

    it("reads the digests from any offset of any view (not only multiples of 32)", () => {
      const raw = bytesOf(32 * 50 + 7, 3)
      const view = raw.subarray(3)
      const want = show(oneByOne(Merkle.empty, view, 5, 40))
      expect(show(Merkle.appendDigests(Merkle.empty, view, 5, 40))).toEqual(want)
      expect(show(Merkle.appendDigests(Merkle.empty, new Uint8Array(raw.buffer, raw.byteOffset + 3, raw.length - 3), 5, 40))).toEqual(want)
    })

    it("a batch that does not fit its buffer is a RangeError on every path, before anything is hashed", () => {
      const d = digestsOf(20, 1)
      for (const add of [Merkle.appendDigests, Merkle.appendDigestsPortable, forced]) {
        expect(() => add(Merkle.empty, d, 0, 21)).toThrow(RangeError)
        expect(() => add(Merkle.empty, d, 1, 20)).toThrow(RangeError)
        expect(() => add(Merkle.empty, d, -32, 2)).toThrow(RangeError)
        expect(() => add(Merkle.empty, d, 0, 1.5)).toThrow(RangeError)
      }
    })
  })

  it("a frontier that is not one (a node missing, extra or short; a size that is no count) is a RangeError on every path", () => {
    const d = digestsOf(20, 1)
    const f = Merkle.appendDigests(Merkle.empty, d, 0, 11) // 11 = 0b1011: three nodes
    const bad: Array<Merkle.Frontier> = [
      { size: 11, nodes: f.nodes.slice(1) },
      { size: 11, nodes: [...f.nodes, f.nodes[0]!] },
      { size: 11, nodes: [f.nodes[0]!, f.nodes[1]!.subarray(0, 31), f.nodes[2]!] },
      { size: 12, nodes: f.nodes },
      { size: -1, nodes: [] },
      { size: 2.5, nodes: f.nodes.slice(0, 1) }
    ]
    for (const add of [Merkle.appendDigests, Merkle.appendDigestsPortable, forced]) {
      for (const b of bad) expect(() => add(b, d, 0, 3), JSON.stringify({ size: b.size, nodes: b.nodes.length })).toThrow("not a frontier")
    }
  })

  describe("appendHexHashes", () => {
    it("equals appendDigests over the decoded hashes, below and above the threshold", () => {
      const d = digestsOf(300, 4)
      const texts = Array.from({ length: 300 }, (_, i) => d.toString("hex", 32 * i, 32 * i + 32))
      for (const n of [0, 1, 2, Merkle.KERNEL_MIN_BATCH - 1, Merkle.KERNEL_MIN_BATCH, 300]) {
        const start = oneByOne(Merkle.empty, digestsOf(9, 2), 0, 9)
        expect(show(Merkle.appendHexHashes(start, texts.slice(0, n)))).toEqual(show(oneByOne(start, d, 0, n)))
      }
    })

    it("a text that is not 64 hex digits is a RangeError naming its place in the batch", () => {
      const good = Array.from({ length: 20 }, (_, i) => sha(Uint8Array.of(i)).toString("hex"))
      for (const [i, bad] of [
        [0, "ab"],
        [7, good[7]! + "00"],
        [12, good[12]!.slice(0, 63) + "g"],
        [19, "z".repeat(64)],
        [3, good[3]!.slice(0, 30) + "--" + good[3]!.slice(32)]
      ] as const) {
        const batch = good.map((g, j) => (j === i ? bad : g))
        expect(() => Merkle.appendHexHashes(Merkle.empty, batch)).toThrow(`hash ${i} of the batch is not 64 hex digits`)
        expect(() => Merkle.appendHexHashes(Merkle.empty, batch.slice(i, i + 1))).toThrow("hash 0 of the batch")
      }
    })
  })

  it("the verification kernel hands a run's hash fields over as leaves: the tree of the hex hashes", () => {
    for (const layout of ["ours", "reference"] as const) {
      const { lines, hashes } = F.chain(Array.from({ length: 700 }, (_, i) => F.llmCall(i)), { key: "k", layout })
      const text = Buffer.from(lines.join("\n") + "\n")
      const k = Kernel.make(Buffer.from("k"))
      if (k === undefined) throw new Error("no WebAssembly in the test runtime")
      k.load(text, 0, text.length)
      let f = Merkle.empty
      for (let p = 0; ; ) {
        const n = k.scan(p)
        if (n === 0) break
        const d = k.digests(n)
        expect(Buffer.from(d).toString("hex")).toBe(hashes.slice(f.size, f.size + n).join(""))
        f = Merkle.appendDigests(f, d, 0, n)
        p = k.at(n - 1, R_NEXT)
      }
      expect(f.size).toBe(700)
      expect(show(f)).toEqual(show(Merkle.appendHexHashes(Merkle.empty, hashes)))
      expect(hex(Merkle.rootOf(f))).toBe(hex(Merkle.root(hashes.map((h) => Buffer.from(h, "hex")))))
    }
  })

  it("without WebAssembly (node --jitless) a batch gives the same frontier, one by one with node:crypto", () => {
    const built = join(ROOT, "dist", "internal", "merkle.js")
    if (!existsSync(built)) throw new Error("dist/ is not built: npm run build")
    const n = 1000
    const d = digestsOf(n, 21)
    const script = `
      import * as M from ${JSON.stringify(built)}
      const d = Buffer.from(${JSON.stringify(d.toString("hex"))}, "hex")
      const f = M.appendDigests(M.appendDigests(M.empty, d, 0, 600), d, 600 * 32, ${n - 600})
      const k = M.appendDigestsKernel === undefined ? "absent" : M.appendDigestsKernel(M.empty, d, 0, 1) === undefined ? "none" : "present"
      console.log(JSON.stringify({ kernel: k, size: f.size, nodes: f.nodes.map((x) => Buffer.from(x).toString("hex")) }))`
    const r = spawnSync(process.execPath, ["--jitless", "--no-warnings", "--input-type=module", "-e", script], { encoding: "utf8" })
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { kernel: string; size: number; nodes: Array<string> }
    expect({ size: out.size, nodes: out.nodes }).toEqual(show(oneByOne(Merkle.empty, d, 0, n)))
    // with dist/ built from this source, the kernel path says it is unavailable there
    expect(["none", "absent"]).toContain(out.kernel)
  })
})
