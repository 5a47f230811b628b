/**
 * The host side of the verification kernel (`wasm/kernel.ts`, compiled to WebAssembly at build
 * time and embedded in `kernel-wasm.ts`): one instance per verification, holding its HMAC key and
 * a copy of the chunk being verified; and one more instance per thread, without a key, for the
 * Merkle tree's hashing (`MerkleKernel`).
 *
 * Memory, above the module's own data: the key, the records of one run, their hash fields side
 * by side (for the Merkle tree), the messages of one run, then the input (the whole lines of a chunk), followed by padding the kernel may read past.
 * @internal
 */
import { hash } from "node:crypto"
import { KERNEL_WASM } from "./kernel-wasm.js"

/** The part of the WebAssembly API used here (the project's lib settings do not declare it). */
interface Memory {
  readonly buffer: ArrayBuffer
  grow(pages: number): number
}
interface Wasm {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown }
}
const wasm = (globalThis as unknown as { readonly WebAssembly?: Wasm }).WebAssembly

interface Exports {
  readonly memory: Memory
  readonly heapBase: () => number
  readonly setKey: (ptr: number, len: number) => void
  readonly scan: (from: number, end: number, msg: number, msgCap: number, rec: number, max: number) => number
  readonly macCheck: (rec: number, n: number) => number
  readonly hmacOne: (m: number, out: number) => void
  readonly gatherDigests: (rec: number, n: number, out: number) => void
  readonly merkleInit: () => void
  readonly frontier: () => number
  readonly merkleAppend: (buf: number, n: number, size: number) => void
  readonly merkleLeaves: (src: number, dst: number, n: number) => void
  readonly merkleNodes: (src: number, dst: number, n: number) => void
}

/** Bytes per record (see the kernel); its fields as 32-bit and 64-bit word indexes. */
const REC = 88
export const R_START = 0
export const R_END = 1
export const R_PREV = 2
export const R_HASH = 3
export const R_SIG = 4
export const R_SIGLEN = 5
export const R_MSG = 6
export const R_MSGLEN = 7
export const R_NEXT = 18
export const R_CTRL_KIND = 19
export const R_CTRL = 20
export const R_CTRL_END = 21
/** index of `seq` in a Float64Array over the records */
const R_SEQ64 = 4
/** byte offset of the hash field's 32 bytes in a record */
const R_DIGEST = 40

/** Lines per kernel run. */
export const RUN = 256

const PAGE = 65536
const PAD = 64

let compiled: object | undefined | null

const instantiate = (m: object): Exports =>
  new wasm!.Instance(m, { env: { abort: () => { throw new Error("kernel abort") } } }).exports as unknown as Exports

const module = (): object | undefined => {
  if (compiled === undefined) {
    try {
      if (wasm === undefined) throw new Error("no WebAssembly")
      compiled = new wasm.Module(Buffer.from(KERNEL_WASM, "base64"))
    } catch {
      compiled = null // no WebAssembly here (for example node --jitless): the JavaScript paths do it all
    }
  }
  return compiled ?? undefined
}

export class Kernel {
  private readonly x: Exports
  private mem: Buffer
  private i32: Int32Array
  private f64: Float64Array
  private readonly rec: number
  private readonly dig: number
  private readonly msg: number
  private msgCap: number
  private input: number
  private inputCap = 0
  /** where the loaded bytes start in the caller's buffer */
  base = 0
  /** the loaded length */
  length = 0

  private constructor(x: Exports, key: Uint8Array | undefined) {
    this.x = x
    const heap = x.heapBase()
    this.rec = heap + PAD
    this.dig = this.rec + RUN * REC
    this.msg = this.dig + RUN * 32
    this.msgCap = 0
    this.input = this.msg
    this.mem = Buffer.from(x.memory.buffer)
    this.i32 = new Int32Array(x.memory.buffer)
    this.f64 = new Float64Array(x.memory.buffer)
    const k = key === undefined ? new Uint8Array(0) : key.length > 64 ? hash("sha256", key, "buffer") : key
    this.ensure(heap + PAD)
    this.mem.set(k, heap)
    x.setKey(heap, k.length)
    // from here on the kernel holds only the HMAC midstates (setKey wipes its own scratch)
    this.mem.fill(0, heap, heap + 64)
    if (k !== key) k.fill(0)
  }

  /** A kernel keyed for HMAC (or unkeyed), or undefined where WebAssembly is not available. */
  static make(key: Uint8Array | undefined): Kernel | undefined {
    const m = module()
    if (m === undefined || wasm === undefined) return undefined
    return new Kernel(instantiate(m), key)
  }

  private ensure(bytes: number): void {
    const have = this.x.memory.buffer.byteLength
    if (bytes <= have) return
    this.x.memory.grow(Math.ceil((bytes - have) / PAGE))
    const b = this.x.memory.buffer
    this.mem = Buffer.from(b)
    this.i32 = new Int32Array(b)
    this.f64 = new Float64Array(b)
  }

  /** Copy src[from, to) in as the input; runs then address it by positions in src. */
  load(src: Uint8Array, from: number, to: number): void {
    const n = to - from
    // a message is never longer than its line; rewriting a reference-layout line needs as much
    // again to park members while it sorts them (see the kernel's `lineRef`)
    const msgCap = 2 * n + 4096
    if (msgCap > this.msgCap || n + PAD > this.inputCap) {
      this.msgCap = Math.max(msgCap, this.msgCap)
      this.inputCap = Math.max(n + PAD, this.inputCap)
      this.input = this.msg + this.msgCap
      this.ensure(this.input + this.inputCap)
    }
    this.mem.set(src.subarray(from, to), this.input)
    this.mem.fill(0, this.input + n, this.input + n + PAD)
    this.base = from
    this.length = n
  }

  /** Lines of either layout from src position `from`; how many the run took (see the kernel's `scan`). */
  scan(from: number): number {
    const start = this.input + from - this.base
    return this.x.scan(start, this.input + this.length, this.msg, this.msgCap, this.rec, RUN)
  }

  /** A field of record k, positions translated back to the caller's buffer. */
  at(k: number, field: number): number {
    return this.i32[(this.rec >> 2) + k * (REC >> 2) + field]! - this.input + this.base
  }

  /** controls of record k: 0 none, 1 canonical (its span is `controlsBytes`), 2 not canonical */
  controlsKind(k: number): number {
    return this.i32[(this.rec >> 2) + k * (REC >> 2) + R_CTRL_KIND]!
  }

  /** The canonical `controls` list of record k, as bytes (a view, valid until the next load). */
  controlsBytes(k: number): Uint8Array {
    const r = (this.rec >> 2) + k * (REC >> 2)
    return this.mem.subarray(this.i32[r + R_CTRL]!, this.i32[r + R_CTRL_END]!)
  }

  sigLen(k: number): number {
    return this.i32[(this.rec >> 2) + k * (REC >> 2) + R_SIGLEN]!
  }

  seq(k: number): number {
    return this.f64[(this.rec >> 3) + k * (REC >> 3) + R_SEQ64]!
  }

  /** Whether record k's message hashes to the value its hash field holds. */
  hashHolds(k: number): boolean {
    const r = (this.rec >> 2) + k * (REC >> 2)
    const off = this.i32[r + R_MSG]!
    const d = hash("sha256", this.mem.subarray(off, off + this.i32[r + R_MSGLEN]!), "binary")
    const m = this.mem
    const p = this.rec + k * REC + R_DIGEST
    let diff = 0
    for (let j = 0; j < 32; j++) diff |= d.charCodeAt(j) ^ m[p + j]!
    return diff === 0
  }

  /** Record k's message, as latin1 text (for tests). */
  message(k: number): string {
    const r = (this.rec >> 2) + k * (REC >> 2)
    const off = this.i32[r + R_MSG]!
    return this.mem.toString("latin1", off, off + this.i32[r + R_MSGLEN]!)
  }

  /** How many leading records of the run carry the right HMAC of their hash field. */
  macCheck(n: number): number {
    return this.x.macCheck(this.rec, n)
  }

  /**
   * For the JavaScript fast paths: record k names a hash field and a signature field (positions in
   * the caller's buffer, within the loaded input) for `macCheck`.
   */
  setFields(k: number, hashAt: number, sigAt: number, sigLen: number): void {
    const r = (this.rec >> 2) + k * (REC >> 2)
    this.i32[r + R_HASH] = hashAt - this.base + this.input
    this.i32[r + R_SIG] = sigAt - this.base + this.input
    this.i32[r + R_SIGLEN] = sigLen
  }

  /**
   * The hash fields of records [0, n) of the run, 32 raw bytes each, one after another: the
   * leaves of the Merkle tree, for `Merkle.appendDigests(frontier, kernel.digests(n), 0, n)`.
   * A view of the kernel's memory, valid until the next call of `digests`.
   */
  digests(n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 0 || n > RUN) throw new RangeError(`kernel: ${n} records (a run has at most ${RUN})`)
    this.x.gatherDigests(this.rec, n, this.dig)
    return this.mem.subarray(this.dig, this.dig + 32 * n)
  }

  /** HMAC of a 64-byte message, as lowercase hex (tests hold the SIMD lanes to `createHmac`). */
  hmacHex(message64: Uint8Array): string {
    this.mem.set(message64.subarray(0, 64), this.msg)
    this.x.hmacOne(this.msg, this.msg + 64)
    return this.mem.toString("hex", this.msg + 64, this.msg + 96)
  }
}

/** Leaves per kernel call of a Merkle batch: 128 KiB of digests. */
const MERKLE_CHUNK = 4096

/**
 * The Merkle tree's hashing in the kernel: leaf and node hashes four at a time in SIMD lanes, a
 * batch of leaves folded level by level into a frontier held in the kernel's memory.
 *
 * One instance per thread (a module-level one, made on first use), apart from the per-verification
 * kernels: it holds no key and no state between calls, only a batch's frontier while the batch
 * runs, and every call is synchronous, so no two batches can interleave in it. The frontier stays
 * an immutable value for callers: its O(log n) hashes are copied in and out once per batch.
 * @internal
 */
export class MerkleKernel {
  private readonly x: Exports
  private mem: Buffer
  private readonly fr: number
  /** where the leaves of a chunk go; the 64 bytes before it are scratch the kernel may use */
  private readonly buf: number

  private constructor(x: Exports) {
    this.x = x
    x.merkleInit()
    this.fr = x.frontier()
    this.buf = x.heapBase() + 64
    const need = this.buf + MERKLE_CHUNK * 64 + 64
    const have = x.memory.buffer.byteLength
    if (need > have) x.memory.grow(Math.ceil((need - have) / PAGE))
    this.mem = Buffer.from(x.memory.buffer)
  }

  private static instance: MerkleKernel | null | undefined

  /** This thread's Merkle kernel, or undefined where WebAssembly is not available. */
  static get(): MerkleKernel | undefined {
    if (MerkleKernel.instance === undefined) {
      const m = module()
      MerkleKernel.instance = m === undefined || wasm === undefined ? null : new MerkleKernel(instantiate(m))
    }
    return MerkleKernel.instance ?? undefined
  }

  /**
   * The frontier nodes (largest subtree first, one per set bit of `size`) after appending the
   * `count` leaves whose data lie 32 bytes each in `digests` from `offset`, to the frontier
   * `nodes` of a tree of `size` leaves. Every returned node is a fresh copy.
   */
  append(size: number, nodes: ReadonlyArray<Uint8Array>, digests: Uint8Array, offset: number, count: number): Array<Uint8Array> {
    const mem = this.mem
    const fr = this.fr
    // The frontier in, by level (nodes[0] is the highest set bit of size), unless the kernel
    // still holds it: a writer appends to the frontier the last batch returned. Held means the
    // same size and the very same node objects, which the kernel's levels were copied from.
    if (!this.holds(size, nodes)) {
      this.held = undefined
      let i = nodes.length
      for (let s = size, h = 0; s > 0; s = Math.floor(s / 2), h++) if (s % 2 === 1) mem.set(nodes[--i]!, fr + 32 * h)
    }
    this.held = undefined
    let n = size
    for (let done = 0; done < count; ) {
      const k = Math.min(MERKLE_CHUNK, count - done)
      const at = offset + 32 * done
      mem.set(digests.subarray(at, at + 32 * k), this.buf)
      this.x.merkleAppend(this.buf, k, n)
      n += k
      done += k
    }
    // The frontier out. Above the highest level the batch reached (where size and size + count
    // agree), the subtrees are the same ones: their nodes are kept (they are immutable values);
    // below, each node is a fresh copy of the kernel's level.
    let levels = 0
    let keep = nodes.length
    for (let a = size, b = n; a !== b; a = Math.floor(a / 2), b = Math.floor(b / 2)) {
      if (a % 2 === 1) keep--
      levels++
    }
    const out: Array<Uint8Array> = nodes.slice(0, keep)
    for (let h = levels - 1, s = Math.floor(n / 2 ** h); h >= 0; h--, s = Math.floor(n / 2 ** h)) {
      if (s % 2 === 1) out.push(Uint8Array.prototype.slice.call(mem, fr + 32 * h, fr + 32 * h + 32))
    }
    // its own list of the node objects: a caller that (against the readonly type) swaps a node
    // in the returned array makes the next batch copy its frontier in
    this.held = out.slice()
    this.heldSize = n
    return out
  }

  /** the frontier the kernel's levels hold (the last one returned), by its node objects */
  private held: ReadonlyArray<Uint8Array> | undefined
  private heldSize = 0

  private holds(size: number, nodes: ReadonlyArray<Uint8Array>): boolean {
    const held = this.held
    if (held === undefined || size !== this.heldSize || nodes.length !== held.length) return false
    for (let i = 0; i < nodes.length; i++) if (nodes[i] !== held[i]) return false
    return true
  }

  /** Leaf hashes (RFC 9162) of 32-byte data, concatenated; for tests of the lanes. */
  leafHashes(data: Uint8Array): Buffer {
    this.held = undefined
    const n = data.length / 32
    if (!Number.isInteger(n) || data.length > MERKLE_CHUNK * 32) throw new RangeError("merkle kernel: up to 4096 leaves of 32 bytes")
    this.mem.set(data, this.buf)
    this.x.merkleLeaves(this.buf, this.buf + data.length, n)
    return Buffer.from(this.mem.subarray(this.buf + data.length, this.buf + data.length + 32 * n))
  }

  /** Node hashes (RFC 9162) of 64-byte pairs, concatenated; for tests of the lanes. */
  nodeHashes(pairs: Uint8Array): Buffer {
    this.held = undefined
    const n = pairs.length / 64
    if (!Number.isInteger(n) || pairs.length > MERKLE_CHUNK * 32) throw new RangeError("merkle kernel: up to 2048 pairs of 64 bytes")
    this.mem.set(pairs, this.buf)
    this.x.merkleNodes(this.buf, this.buf + pairs.length, n)
    return Buffer.from(this.mem.subarray(this.buf + pairs.length, this.buf + pairs.length + 32 * n))
  }
}
