/**
 * The verification kernel, in AssemblyScript (compiled to WebAssembly by `npm run build`).
 *
 * Why hand-written WebAssembly: in Node every native crypto call costs about 0.35 µs before it
 * hashes a byte, and a JavaScript byte loop costs about 1.5 ns per byte. Verifying an entry took
 * one native call for its hash, two for its HMAC and a byte loop over its body, so the fixed costs
 * decided the speed. This kernel does, for a whole chunk of lines in one call: the strict check
 * that each body of our line layout is canonical (16 bytes at a time through plain string runs),
 * the layout of each hashed message, the links between neighbouring lines, and the HMAC of every
 * entry hash (four entries at a time in SIMD lanes, from precomputed ipad/opad midstates). The
 * entry hash itself stays with Node's native SHA-256, which uses the CPU's SHA instructions.
 *
 * Like the JavaScript fast path (`src/internal/fast.ts`), the kernel never explains: a line it
 * does not take ends its batch, and the verifier's general reader decides about it. Tests hold the
 * kernel to the general reader on random byte changes.
 *
 * Memory: the host owns everything above `__heap_base` (see `src/internal/kernel.ts`); the kernel
 * only reads the regions it is given and writes the message and record regions.
 */

// ---------------------------------------------------------------------------------------------
// Records: one per accepted line, REC bytes each.
//   0 lineStart  4 lineEnd (the '\n')  8 prevAt  12 hashAt  16 sigAt  20 sigLen
//  24 msgOff    28 msgLen             32 seq (f64)          40 the hash field as 32 bytes
//  72 next (where the following line starts)   76 controls kind (0 none, 1 canonical, 2 other)
//  80 controls start   84 controls end (the `[…]` of a pack row)

export const REC: i32 = 88

// ---------------------------------------------------------------------------------------------
// Byte classes

/** 1 for bytes that end a plain run inside a string: '"', '\\' and control characters. */
const STOP = memory.data(256)
/** 1 for the canonical two-character escapes (after the backslash). */
const SHORT = memory.data(256)
/** value + 1 of lowercase hex digits, 0 for anything else. */
const HEXV = memory.data(256)
const HEX = memory.data<u8>([0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66])

function initTables(): void {
  for (let c = 0; c < 0x20; c++) store<u8>(STOP + c, 1)
  store<u8>(STOP + 0x22, 1)
  store<u8>(STOP + 0x5c, 1)
  store<u8>(SHORT + 0x22, 1)
  store<u8>(SHORT + 0x5c, 1)
  store<u8>(SHORT + 0x62, 1)
  store<u8>(SHORT + 0x66, 1)
  store<u8>(SHORT + 0x6e, 1)
  store<u8>(SHORT + 0x72, 1)
  store<u8>(SHORT + 0x74, 1)
  for (let c = 0; c < 10; c++) store<u8>(HEXV + 0x30 + c, <u8>(c + 1))
  for (let c = 0; c < 6; c++) store<u8>(HEXV + 0x61 + c, <u8>(c + 11))
}

// The literals of our layout.
const PAYLOAD = memory.data<u8>([0x7b, 0x22, 0x70, 0x61, 0x79, 0x6c, 0x6f, 0x61, 0x64, 0x22, 0x3a, 0x7b]) // {"payload":{
const SEQ = memory.data<u8>([0x2c, 0x22, 0x73, 0x65, 0x71, 0x22, 0x3a]) // ,"seq":
const TS = memory.data<u8>([0x2c, 0x22, 0x74, 0x73, 0x22, 0x3a, 0x22]) // ,"ts":"
const TYPE = memory.data<u8>([0x2c, 0x22, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22]) // ,"type":"
const PREV = memory.data<u8>([0x2c, 0x22, 0x70, 0x72, 0x65, 0x76, 0x5f, 0x68, 0x61, 0x73, 0x68, 0x22, 0x3a, 0x22]) // ,"prev_hash":"
const HASH = memory.data<u8>([0x22, 0x2c, 0x22, 0x68, 0x61, 0x73, 0x68, 0x22, 0x3a, 0x22]) // ","hash":"
const SIG = memory.data<u8>([0x22, 0x2c, 0x22, 0x73, 0x69, 0x67, 0x22, 0x3a, 0x22]) // ","sig":"

@inline function at(i: usize, lit: usize, n: i32): bool {
  for (let k = 0; k < n; k++) if (load<u8>(i + k) != load<u8>(lit + k)) return false
  return true
}

// ---------------------------------------------------------------------------------------------
// Canonical form, checked in place (the rules of src/internal/fast.ts)

/** Set by `str`: the last string held an escape. */
let escaped = false

/** End of the canonical escape whose backslash is at j, or 0. */
function escapeEnd(j: usize): usize {
  const e = load<u8>(j + 1)
  if (load<u8>(SHORT + e) == 1) return j + 2
  if (e != 0x75) return 0
  // only \u00xx for control characters without a short form, lowercase hex
  if (load<u8>(j + 2) != 0x30 || load<u8>(j + 3) != 0x30) return 0
  const h = load<u8>(j + 4)
  const l = load<u8>(j + 5)
  if ((h != 0x30 && h != 0x31) || load<u8>(HEXV + l) == 0) return 0
  const v = (<i32>h - 0x30) * 16 + (<i32>load<u8>(HEXV + l) - 1)
  if (v == 8 || v == 9 || v == 10 || v == 12 || v == 13) return 0
  return j + 6
}

/** One bit per byte of v that ends a plain run inside a string: '"', '\\' or a control character. */
@inline function stopBits(v: v128): i32 {
  const m = v128.or(v128.or(i8x16.eq(v, i8x16.splat(0x22)), i8x16.eq(v, i8x16.splat(0x5c))), i8x16.lt_u(v, i8x16.splat(0x20)))
  return i8x16.bitmask(m)
}

/** End of a canonical string whose opening quote is at i, or 0. Reads up to 16 bytes past end. */
function str(i: usize, end: usize): usize {
  let j = i + 1
  escaped = false
  for (;;) {
    // 16 bytes at a time while no byte ends the plain run
    for (;;) {
      const bits = stopBits(v128.load(j))
      if (bits != 0) {
        j += <usize>ctz(bits)
        break
      }
      j += 16
      if (j >= end) return 0
    }
    if (j >= end) return 0
    if (load<u8>(j) == 0x22) return j + 1
    if (load<u8>(j) != 0x5c) return 0 // a raw control character
    j = escapeEnd(j)
    if (j == 0) return 0
    escaped = true
  }
  return 0 // not reached
}

/** End of a canonical number at i, or 0 (floats with exponents go to the general path). */
function num(i0: usize, end: usize): usize {
  let i = i0
  const s = i0
  if (load<u8>(i) == 0x2d) i++
  let c = load<u8>(i)
  if (c == 0x30) {
    i++
    if (i - s == 2 && load<u8>(i) != 0x2e) return 0 // "-0"
  } else if (c >= 0x31 && c <= 0x39) {
    i++
    while (i < end && (c = load<u8>(i)) >= 0x30 && c <= 0x39) i++
  } else return 0
  if (load<u8>(i) != 0x2e) return load<u8>(i) == 0x65 || load<u8>(i) == 0x45 ? 0 : i
  // fraction: at most 15 significant digits, decimal exponent in [-4, 16)
  const dot = i
  i++
  const f = i
  while (i < end && (c = load<u8>(i)) >= 0x30 && c <= 0x39) i++
  if (i == f || load<u8>(i) == 0x65 || load<u8>(i) == 0x45) return 0
  if (load<u8>(i - 1) == 0x30 && i - f != 1) return 0
  const intStart = load<u8>(s) == 0x2d ? s + 1 : s
  if (dot - intStart > 16) return 0
  let first: isize = -1
  let last: isize = -1
  for (let k = intStart; k < i; k++) {
    const d = load<u8>(k)
    if (d != 0x30 && d != 0x2e) {
      if (first < 0) first = <isize>k
      last = <isize>k
    }
  }
  if (first < 0) return i
  if (dot - intStart == 1 && load<u8>(intStart) == 0x30 && first - <isize>dot - 1 > 3) return 0
  const digits = last - first + 1 - (first < <isize>dot && last > <isize>dot ? 1 : 0)
  return digits <= 15 ? i : 0
}

/** -1, 0, 1 as bytes a[as, ae) sort before, with, after b[bs, be). */
function compareBytes(as: usize, ae: usize, bs: usize, be: usize): i32 {
  const la = ae - as
  const lb = be - bs
  const n = la < lb ? la : lb
  for (let k: usize = 0; k < n; k++) {
    const x = load<u8>(as + k)
    const y = load<u8>(bs + k)
    if (x != y) return x < y ? -1 : 1
  }
  return la == lb ? 0 : la < lb ? -1 : 1
}

const DEPTH = 64
const KINDS = memory.data(DEPTH)
const KEYS = memory.data(DEPTH * 8, 8) // start, end (u32 each)
const KEYESC = memory.data(DEPTH)

/** Validate a canonical object value at i (a '{'); its end, or 0. */
function object(i0: usize, end: usize): usize {
  let i = i0
  let depth = 0
  for (;;) {
    // a value starts at i
    let c = load<u8>(i)
    if (c == 0x22) {
      i = str(i, end)
      if (i == 0) return 0
    } else if (c == 0x7b || c == 0x5b) {
      i++
      const close: u8 = c == 0x7b ? 0x7d : 0x5d
      if (load<u8>(i) == close) i++
      else {
        if (depth == DEPTH) return 0 // deeper than the fast path cares to go
        store<u8>(KINDS + depth, c)
        if (c == 0x7b) {
          if (load<u8>(i) != 0x22) return 0
          const k = str(i, end)
          if (k == 0 || load<u8>(k) != 0x3a) return 0
          store<u32>(KEYS + (depth << 3), <u32>(i + 1))
          store<u32>(KEYS + (depth << 3), <u32>(k - 1), 4)
          store<u8>(KEYESC + depth, escaped ? 1 : 0)
          i = k + 1
        }
        depth++
        continue
      }
    } else if (c == 0x2d || (c >= 0x30 && c <= 0x39)) {
      i = num(i, end)
      if (i == 0) return 0
    } else if (c == 0x74 && load<u8>(i + 1) == 0x72 && load<u8>(i + 2) == 0x75 && load<u8>(i + 3) == 0x65) i += 4
    else if (c == 0x66 && load<u8>(i + 1) == 0x61 && load<u8>(i + 2) == 0x6c && load<u8>(i + 3) == 0x73 && load<u8>(i + 4) == 0x65) i += 5
    else if (c == 0x6e && load<u8>(i + 1) == 0x75 && load<u8>(i + 2) == 0x6c && load<u8>(i + 3) == 0x6c) i += 4
    else return 0
    // after a value
    for (;;) {
      if (depth == 0) return i
      const kind = load<u8>(KINDS + depth - 1)
      c = load<u8>(i)
      if (c == 0x2c) {
        i++
        if (kind == 0x7b) {
          if (load<u8>(i) != 0x22) return 0
          const k = str(i, end)
          if (k == 0 || load<u8>(k) != 0x3a) return 0
          // strictly ascending keys (raw UTF-8 byte order is code point order when there is no escape)
          const slot = KEYS + ((depth - 1) << 3)
          if (escaped || load<u8>(KEYESC + depth - 1) == 1) return 0
          if (compareBytes(<usize>load<u32>(slot), <usize>load<u32>(slot, 4), i + 1, k - 1) >= 0) return 0
          store<u32>(slot, <u32>(i + 1))
          store<u32>(slot, <u32>(k - 1), 4)
          i = k + 1
        }
        break
      }
      if ((kind == 0x7b && c == 0x7d) || (kind == 0x5b && c == 0x5d)) {
        depth--
        i++
        continue
      }
      return 0
    }
  }
  return 0 // not reached
}

/** Set by `seqDigits`: the value it read. */
let parsedSeq: f64 = 0

/** End of a canonical non-negative integer `seq` at i (at most 15 digits), or 0. */
function seqDigits(i0: usize, end: usize): usize {
  let i = i0
  let seq: f64 = 0
  let c = load<u8>(i)
  if (c == 0x30) i++
  else
    while (i < end && (c = load<u8>(i)) >= 0x30 && c <= 0x39) {
      seq = seq * 10 + <f64>(c - 0x30)
      i++
    }
  if (i == i0 || i - i0 > 15) return 0
  parsedSeq = seq
  return i
}

/** Decode 64 lowercase hex digits at p into 32 bytes at out; false on any other byte. */
function unhex(p: usize, out: usize): bool {
  let bad: u32 = 0
  for (let k = 0; k < 32; k++) {
    const h = <u32>load<u8>(HEXV + load<u8>(p + 2 * k))
    const l = <u32>load<u8>(HEXV + load<u8>(p + 2 * k + 1))
    bad |= <u32>(h == 0) | <u32>(l == 0)
    store<u8>(out + k, <u8>(((h - 1) << 4) | (l - 1)))
  }
  return bad == 0
}

/** No quote, backslash or control character in p[0, n). */
function plain(p: usize, n: i32): bool {
  for (let k = 0; k < n; k++) if (load<u8>(STOP + load<u8>(p + k)) == 1) return false
  return true
}

// What a line parser found (see `lineOurs` and `lineRef`).
let gPrev: usize = 0
let gHash: usize = 0
let gSig: usize = 0
let gSigLen: i32 = 0
let gSeq: f64 = 0
let gLen: usize = 0
let gLineEnd: usize = 0
let gNext: usize = 0
/** controls of a pack row: 0 none, 1 canonical (our layout) at [gCtrl, gCtrlEnd), 2 other */
let gCtrlKind: i32 = 0
let gCtrl: usize = 0
let gCtrlEnd: usize = 0

/**
 * After the signature field's opening quote at sigAt: a signature of 0 or 64 plain bytes, its
 * closing quote; then `rest` must be the '}' closing the line and '\n' (or "\r\n"). Sets gSig,
 * gSigLen, gLineEnd and gNext; false otherwise. `controls` allows the pack rows' list of strings.
 */
function tail(sigAt: usize, end: usize, reference: bool): bool {
  gSig = sigAt
  gCtrlKind = 0
  if (load<u8>(sigAt) == 0x22) gSigLen = 0
  else if (sigAt + 64 < end && load<u8>(sigAt + 64) == 0x22 && plain(sigAt, 64)) gSigLen = 64
  else return false
  let i = sigAt + <usize>gSigLen + 1
  if (load<u8>(i) == 0x2c) {
    // a pack row: "controls", a list of strings (not hashed, but it must be well-formed). In our
    // layout it is canonical (`,"controls":["a","b"]`), and its span is what a seal digests.
    if (reference ? !at(i, CONTROLS, 15) : !at(i, CONTROLS_OURS, 13)) return false
    i += reference ? 15 : 13
    gCtrl = i - 1
    if (load<u8>(i) != 0x5d)
      for (;;) {
        if (load<u8>(i) != 0x22) return false
        i = str(i, end)
        if (i == 0) return false
        if (reference && load<u8>(i) == 0x2c && load<u8>(i + 1) == 0x20) i += 2
        else if (!reference && load<u8>(i) == 0x2c) i += 1
        else break
      }
    if (load<u8>(i) != 0x5d) return false
    i++
    gCtrlEnd = i
    gCtrlKind = reference ? 2 : 1
  }
  if (i >= end || load<u8>(i) != 0x7d) return false
  i++
  gLineEnd = i
  if (load<u8>(i) == 0x0d) i++
  if (i >= end || load<u8>(i) != 0x0a) return false
  gNext = i + 1
  return true
}

/** A line of our layout at s: checked in place, its message written at w (room up to wEnd). */
function lineOurs(s: usize, end: usize, w: usize, wEnd: usize): bool {
  let i = object(s + 11, end)
  if (i == 0 || !at(i, SEQ, 7)) return false
  i = seqDigits(i + 7, end)
  if (i == 0) return false
  gSeq = parsedSeq
  if (!at(i, TS, 7)) return false
  i = str(i + 6, end)
  if (i == 0 || !at(i, TYPE, 9)) return false
  i = str(i + 8, end)
  if (i == 0) return false
  const bodyEnd = i
  if (i + 14 + 64 + 10 + 64 + 9 > end || !at(i, PREV, 14)) return false
  gPrev = i + 14
  i = gPrev + 64
  if (!at(i, HASH, 10)) return false
  gHash = i + 10
  i = gHash + 64
  if (!at(i, SIG, 9) || !tail(i + 9, end, false)) return false
  const len: usize = 64 + (bodyEnd - s) + 1
  if (w + len > wEnd) return false
  memory.copy(w, gPrev, 64)
  memory.copy(w + 64, s, bodyEnd - s)
  store<u8>(w + len - 1, 0x7d)
  gLen = len
  return true
}

// The reference layout: Python's json.dumps defaults, keys in insertion order.
const REF_SEQ = memory.data<u8>([0x7b, 0x22, 0x73, 0x65, 0x71, 0x22, 0x3a, 0x20]) // {"seq": 
const REF_TS = memory.data<u8>([0x2c, 0x20, 0x22, 0x74, 0x73, 0x22, 0x3a, 0x20, 0x22]) // , "ts": "
const REF_TYPE = memory.data<u8>([0x2c, 0x20, 0x22, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x20, 0x22]) // , "type": "
const REF_PAYLOAD = memory.data<u8>([0x2c, 0x20, 0x22, 0x70, 0x61, 0x79, 0x6c, 0x6f, 0x61, 0x64, 0x22, 0x3a, 0x20, 0x7b]) // , "payload": {
const REF_PREV = memory.data<u8>([0x2c, 0x20, 0x22, 0x70, 0x72, 0x65, 0x76, 0x5f, 0x68, 0x61, 0x73, 0x68, 0x22, 0x3a, 0x20, 0x22]) // , "prev_hash": "
const REF_HASH = memory.data<u8>([0x22, 0x2c, 0x20, 0x22, 0x68, 0x61, 0x73, 0x68, 0x22, 0x3a, 0x20, 0x22]) // ", "hash": "
const REF_SIG = memory.data<u8>([0x22, 0x2c, 0x20, 0x22, 0x73, 0x69, 0x67, 0x22, 0x3a, 0x20, 0x22]) // ", "sig": "
const CONTROLS = memory.data<u8>([0x2c, 0x20, 0x22, 0x63, 0x6f, 0x6e, 0x74, 0x72, 0x6f, 0x6c, 0x73, 0x22, 0x3a, 0x20, 0x5b]) // , "controls": [
const CONTROLS_OURS = memory.data<u8>([0x2c, 0x22, 0x63, 0x6f, 0x6e, 0x74, 0x72, 0x6f, 0x6c, 0x73, 0x22, 0x3a, 0x5b]) // ,"controls":[

/** Output position of the canonical rewrite. */
let o: usize = 0

/** Copy the canonical string at i (opening quote) to o; its end, or 0. Sets `escaped`. */
function copyStr(i: usize, end: usize): usize {
  let j = i + 1
  store<u8>(o, 0x22)
  o++
  escaped = false
  for (;;) {
    for (;;) {
      const v = v128.load(j)
      v128.store(o, v) // bytes past the stop are overwritten by what follows
      const bits = stopBits(v)
      if (bits != 0) {
        const t = <usize>ctz(bits)
        j += t
        o += t
        break
      }
      j += 16
      o += 16
      if (j >= end) return 0
    }
    if (j >= end) return 0
    if (load<u8>(j) == 0x22) {
      store<u8>(o, 0x22)
      o++
      return j + 1
    }
    if (load<u8>(j) != 0x5c) return 0
    const e = escapeEnd(j)
    if (e == 0) return 0
    escaped = true
    while (j < e) {
      store<u8>(o, load<u8>(j))
      o++
      j++
    }
  }
  return 0 // not reached
}

const MEMBERS = 256
const MSTART = memory.data(MEMBERS * 4, 4) // output span of each open member
const MEND = memory.data(MEMBERS * 4, 4)
const MKEY = memory.data(MEMBERS * 4, 4) // its key, in the output
const MKEYEND = memory.data(MEMBERS * 4, 4)
const MPREFIX = memory.data(MEMBERS * 4, 4) // the key's first four bytes, big-endian
const ORDER = memory.data(MEMBERS * 4, 4)
const BASE = memory.data(DEPTH * 4, 4) // first member of each open object

@inline function mget(a: usize, m: i32): u32 {
  return load<u32>(a + (<usize>m << 2))
}
@inline function mset(a: usize, m: i32, v: u32): void {
  store<u32>(a + (<usize>m << 2), v)
}

function cmpKeys(x: i32, y: i32): i32 {
  const px = mget(MPREFIX, x)
  const py = mget(MPREFIX, y)
  if (px != py) return px < py ? -1 : 1
  return compareBytes(<usize>mget(MKEY, x), <usize>mget(MKEYEND, x), <usize>mget(MKEY, y), <usize>mget(MKEYEND, y))
}

/** `"key": ` at i for member m, copied as `"key":`; the position of its value, or 0. */
function refKey(i: usize, end: usize, m: i32): usize {
  if (load<u8>(i) != 0x22) return 0
  mset(MSTART, m, <u32>o)
  const k = copyStr(i, end)
  if (k == 0 || escaped || load<u8>(k) != 0x3a || load<u8>(k + 1) != 0x20) return 0
  const ks = mget(MSTART, m) + 1
  const ke = <u32>o - 1
  mset(MKEY, m, ks)
  mset(MKEYEND, m, ke)
  const l = ke - ks
  const p =
    (l > 0 ? <u32>load<u8>(ks) << 24 : 0) | (l > 1 ? <u32>load<u8>(ks + 1) << 16 : 0) | (l > 2 ? <u32>load<u8>(ks + 2) << 8 : 0) | (l > 3 ? <u32>load<u8>(ks + 3) : 0)
  mset(MPREFIX, m, p)
  store<u8>(o, 0x3a)
  o++
  return k + 2
}

/** Put the members [from, to) of a just-closed object in key order; false on a duplicate key. */
function sortMembers(from: i32, to: i32): bool {
  let sorted = true
  for (let k = from + 1; k < to; k++) {
    const a = mget(MPREFIX, k - 1)
    const b = mget(MPREFIX, k)
    if (a < b) continue
    if (a > b) sorted = false
    else {
      const d = cmpKeys(k - 1, k)
      if (d == 0) return false
      if (d > 0) sorted = false
    }
  }
  if (sorted) return true
  const n = to - from
  // insertion sort on the prefixes, a full comparison only on a tie
  for (let k = 0; k < n; k++) {
    const m = from + k
    const pm = mget(MPREFIX, m)
    let q = k
    while (q > 0) {
      const x = <i32>mget(ORDER, q - 1)
      const px = mget(MPREFIX, x)
      if (px < pm || (px == pm && cmpKeys(x, m) < 0)) break
      mset(ORDER, q, <u32>x)
      q--
    }
    mset(ORDER, q, <u32>m)
  }
  for (let k = 1; k < n; k++) {
    const a = <i32>mget(ORDER, k - 1)
    const b = <i32>mget(ORDER, k)
    if (mget(MPREFIX, a) == mget(MPREFIX, b) && cmpKeys(a, b) == 0) return false
  }
  // park the members after the output, then write them back in order
  const regionStart = <usize>mget(MSTART, from)
  const regionEnd = <usize>mget(MEND, to - 1)
  const park = o
  memory.copy(park, regionStart, regionEnd - regionStart)
  let w = regionStart
  for (let k = 0; k < n; k++) {
    const m = <i32>mget(ORDER, k)
    if (k > 0) {
      store<u8>(w, 0x2c)
      w++
    }
    const a = park + <usize>mget(MSTART, m) - regionStart
    const len = <usize>mget(MEND, m) - <usize>mget(MSTART, m)
    memory.copy(w, a, len)
    w += len
  }
  return true
}

/** Check the payload object at i ('{') and write it canonically at o; its end, or 0. */
function refObject(i0: usize, end: usize): usize {
  let i = i0
  let depth = 0
  let members = 0
  for (;;) {
    let c = load<u8>(i)
    if (c == 0x22) {
      i = copyStr(i, end)
      if (i == 0) return 0
    } else if (c == 0x7b || c == 0x5b) {
      store<u8>(o, c)
      o++
      i++
      const close: u8 = c == 0x7b ? 0x7d : 0x5d
      if (load<u8>(i) == close) {
        store<u8>(o, close)
        o++
        i++
      } else {
        if (depth == DEPTH) return 0
        store<u8>(KINDS + depth, c)
        store<u32>(BASE + (<usize>depth << 2), <u32>members)
        depth++
        if (c == 0x7b) {
          if (members == MEMBERS) return 0
          i = refKey(i, end, members++)
          if (i == 0) return 0
        }
        continue
      }
    } else if (c == 0x2d || (c >= 0x30 && c <= 0x39)) {
      const e = num(i, end)
      if (e == 0) return 0
      memory.copy(o, i, e - i)
      o += e - i
      i = e
    } else if (c == 0x74 && load<u8>(i + 1) == 0x72 && load<u8>(i + 2) == 0x75 && load<u8>(i + 3) == 0x65) {
      store<u32>(o, load<u32>(i))
      o += 4
      i += 4
    } else if (c == 0x66 && load<u8>(i + 1) == 0x61 && load<u8>(i + 2) == 0x6c && load<u8>(i + 3) == 0x73 && load<u8>(i + 4) == 0x65) {
      store<u32>(o, load<u32>(i))
      store<u8>(o + 4, 0x65)
      o += 5
      i += 5
    } else if (c == 0x6e && load<u8>(i + 1) == 0x75 && load<u8>(i + 2) == 0x6c && load<u8>(i + 3) == 0x6c) {
      store<u32>(o, load<u32>(i))
      o += 4
      i += 4
    } else return 0
    for (;;) {
      if (depth == 0) return i
      const kind = load<u8>(KINDS + depth - 1)
      if (kind == 0x7b) mset(MEND, members - 1, <u32>o)
      c = load<u8>(i)
      if (c == 0x2c && load<u8>(i + 1) == 0x20) {
        store<u8>(o, 0x2c)
        o++
        i += 2
        if (kind == 0x7b) {
          if (members == MEMBERS) return 0
          i = refKey(i, end, members++)
          if (i == 0) return 0
        }
        break
      }
      if (kind == 0x7b && c == 0x7d) {
        const from = <i32>load<u32>(BASE + (<usize>(depth - 1) << 2))
        if (!sortMembers(from, members)) return 0
        members = from
        store<u8>(o, 0x7d)
        o++
        depth--
        i++
        continue
      }
      if (kind == 0x5b && c == 0x5d) {
        store<u8>(o, 0x5d)
        o++
        depth--
        i++
        continue
      }
      return 0
    }
  }
  return 0 // not reached
}

@inline function put(lit: usize, n: i32): void {
  memory.copy(o, lit, n)
  o += <usize>n
}

const BODY_PAYLOAD = memory.data<u8>([0x7b, 0x22, 0x70, 0x61, 0x79, 0x6c, 0x6f, 0x61, 0x64, 0x22, 0x3a]) // {"payload":
const BODY_TS = memory.data<u8>([0x2c, 0x22, 0x74, 0x73, 0x22, 0x3a]) // ,"ts":
const BODY_TYPE = memory.data<u8>([0x2c, 0x22, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a]) // ,"type":

/**
 * A line of the reference layout at s: checked, its payload rewritten canonically (spaces
 * dropped, members in key order) into the message at w. Needs room for twice the line.
 */
function lineRef(s: usize, end: usize, w: usize, wEnd: usize): bool {
  const seqAt = s + 8
  let i = seqDigits(seqAt, end)
  if (i == 0) return false
  gSeq = parsedSeq
  const seqEnd = i
  if (!at(i, REF_TS, 9)) return false
  const tsAt = i + 8
  i = str(tsAt, end)
  if (i == 0 || !at(i, REF_TYPE, 11)) return false
  const tsEnd = i
  const typeAt = i + 10
  i = str(typeAt, end)
  if (i == 0 || !at(i, REF_PAYLOAD, 14)) return false
  const typeEnd = i
  // The message never exceeds the line, and parking members takes at most as much again; the
  // host sizes the message region to twice the input, so this holds for every line of a run.
  if (w + 2 * (end - s) + 256 > wEnd) return false
  o = w + 64
  put(BODY_PAYLOAD, 11)
  i = refObject(i + 13, end)
  if (i == 0 || i + 16 + 64 + 12 + 64 + 11 > end || !at(i, REF_PREV, 16)) return false
  put(SEQ, 7)
  memory.copy(o, seqAt, seqEnd - seqAt)
  o += seqEnd - seqAt
  put(BODY_TS, 6)
  memory.copy(o, tsAt, tsEnd - tsAt)
  o += tsEnd - tsAt
  put(BODY_TYPE, 8)
  memory.copy(o, typeAt, typeEnd - typeAt)
  o += typeEnd - typeAt
  store<u8>(o, 0x7d)
  o++
  gPrev = i + 16
  i = gPrev + 64
  if (!at(i, REF_HASH, 12)) return false
  gHash = i + 12
  i = gHash + 64
  if (!at(i, REF_SIG, 11) || !tail(i + 11, end, true)) return false
  memory.copy(w, gPrev, 64)
  gLen = o - w
  return true
}

/**
 * Lines from `from` (a line start) up to `end` (the byte after a '\n'), at most `max`, in either
 * layout: each is checked, its message (prev_hash + canonical body) written at msg (at most
 * `msgCap` bytes in all), its record written at rec. Consecutive lines must link (seq + 1,
 * prev_hash equal to the hash before). The count of lines taken; the first line not taken ends
 * the run. The input must be followed by at least 16 readable bytes.
 */
export function scan(from: usize, end: usize, msg: usize, msgCap: usize, rec: usize, max: i32): i32 {
  let n = 0
  let p = from
  let w = msg
  const msgEnd = msg + msgCap
  while (n < max && p < end) {
    const r = rec + <usize>(n * REC)
    if (at(p, PAYLOAD, 12)) {
      if (!lineOurs(p, end, w, msgEnd)) break
    } else if (at(p, REF_SEQ, 8)) {
      if (!lineRef(p, end, w, msgEnd)) break
    } else break
    if (!unhex(gHash, r + 40)) break
    // links within the run (the first line's link is the host's to check)
    if (n > 0) {
      const q = r - <usize>REC
      if (load<f64>(q, 32) + 1 != gSeq) break
      if (compareBytes(gPrev, gPrev + 64, <usize>load<u32>(q, 12), <usize>load<u32>(q, 12) + 64) != 0) break
    }
    store<u32>(r, <u32>p)
    store<u32>(r, <u32>gLineEnd, 4)
    store<u32>(r, <u32>gPrev, 8)
    store<u32>(r, <u32>gHash, 12)
    store<u32>(r, <u32>gSig, 16)
    store<u32>(r, <u32>gSigLen, 20)
    store<u32>(r, <u32>w, 24)
    store<u32>(r, <u32>gLen, 28)
    store<f64>(r, gSeq, 32)
    store<u32>(r, <u32>gNext, 72)
    store<u32>(r, <u32>gCtrlKind, 76)
    store<u32>(r, <u32>gCtrl, 80)
    store<u32>(r, <u32>gCtrlEnd, 84)
    w += gLen
    n++
    p = gNext
  }
  return n
}

// ---------------------------------------------------------------------------------------------
// HMAC-SHA256 of 64-character messages (entry hashes), four at a time in SIMD lanes

const K = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
])
const IV = memory.data<u32>([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])

const KV = memory.data(64 * 16, 16) // K, each word in four lanes
const W = memory.data(64 * 16, 16) // message schedule, four lanes
const PAD2 = memory.data(64 * 16, 16) // the schedule of the inner hash's constant second block
const ST = memory.data(8 * 16, 16) // working state, four lanes
const MI = memory.data(8 * 16, 16) // state after the ipad block, four lanes
const MO = memory.data(8 * 16, 16) // state after the opad block, four lanes
const SW = memory.data(64 * 4, 16) // scalar schedule (key set-up)
const SS = memory.data(8 * 4, 16) // scalar state (key set-up)
const KEYBLOCK = memory.data(64, 16)
const DIGEST = memory.data(32, 16)

@inline function rotr4(x: v128, n: i32): v128 {
  return v128.or(i32x4.shr_u(x, n), i32x4.shl(x, 32 - n))
}

function expand4(w: usize): void {
  for (let t = 16; t < 64; t++) {
    const a = v128.load(w + ((t - 15) << 4))
    const b = v128.load(w + ((t - 2) << 4))
    const s0 = v128.xor(v128.xor(rotr4(a, 7), rotr4(a, 18)), i32x4.shr_u(a, 3))
    const s1 = v128.xor(v128.xor(rotr4(b, 17), rotr4(b, 19)), i32x4.shr_u(b, 10))
    v128.store(w + (t << 4), i32x4.add(i32x4.add(s0, s1), i32x4.add(v128.load(w + ((t - 16) << 4)), v128.load(w + ((t - 7) << 4)))))
  }
}

function compress4(st: usize, w: usize): void {
  let a = v128.load(st), b = v128.load(st, 16), c = v128.load(st, 32), d = v128.load(st, 48)
  let e = v128.load(st, 64), f = v128.load(st, 80), g = v128.load(st, 96), h = v128.load(st, 112)
  for (let t = 0; t < 64; t++) {
    const s1 = v128.xor(v128.xor(rotr4(e, 6), rotr4(e, 11)), rotr4(e, 25))
    const ch = v128.bitselect(f, g, e)
    const t1 = i32x4.add(i32x4.add(h, s1), i32x4.add(ch, i32x4.add(v128.load(KV + (t << 4)), v128.load(w + (t << 4)))))
    const s0 = v128.xor(v128.xor(rotr4(a, 2), rotr4(a, 13)), rotr4(a, 22))
    const maj = v128.bitselect(b, c, v128.xor(a, c))
    h = g
    g = f
    f = e
    e = i32x4.add(d, t1)
    d = c
    c = b
    b = a
    a = i32x4.add(t1, i32x4.add(s0, maj))
  }
  v128.store(st, i32x4.add(a, v128.load(st)))
  v128.store(st, i32x4.add(b, v128.load(st, 16)), 16)
  v128.store(st, i32x4.add(c, v128.load(st, 32)), 32)
  v128.store(st, i32x4.add(d, v128.load(st, 48)), 48)
  v128.store(st, i32x4.add(e, v128.load(st, 64)), 64)
  v128.store(st, i32x4.add(f, v128.load(st, 80)), 80)
  v128.store(st, i32x4.add(g, v128.load(st, 96)), 96)
  v128.store(st, i32x4.add(h, v128.load(st, 112)), 112)
}

/** One SHA-256 compression of the 64-byte block at `block` into the scalar state at st. */
function compress1(st: usize, block: usize): void {
  for (let t = 0; t < 16; t++) store<u32>(SW + (t << 2), bswap<u32>(load<u32>(block + (t << 2))))
  for (let t = 16; t < 64; t++) {
    const x = load<u32>(SW + ((t - 15) << 2))
    const y = load<u32>(SW + ((t - 2) << 2))
    const s0 = rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3)
    const s1 = rotr<u32>(y, 17) ^ rotr<u32>(y, 19) ^ (y >>> 10)
    store<u32>(SW + (t << 2), s0 + s1 + load<u32>(SW + ((t - 16) << 2)) + load<u32>(SW + ((t - 7) << 2)))
  }
  let a = load<u32>(st), b = load<u32>(st, 4), c = load<u32>(st, 8), d = load<u32>(st, 12)
  let e = load<u32>(st, 16), f = load<u32>(st, 20), g = load<u32>(st, 24), h = load<u32>(st, 28)
  for (let t = 0; t < 64; t++) {
    const t1 = h + (rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25)) + ((e & f) ^ (~e & g)) + load<u32>(K + (t << 2)) + load<u32>(SW + (t << 2))
    const t2 = (rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))
    h = g
    g = f
    f = e
    e = d + t1
    d = c
    c = b
    b = a
    a = t1 + t2
  }
  store<u32>(st, a + load<u32>(st))
  store<u32>(st, b + load<u32>(st, 4), 4)
  store<u32>(st, c + load<u32>(st, 8), 8)
  store<u32>(st, d + load<u32>(st, 12), 12)
  store<u32>(st, e + load<u32>(st, 16), 16)
  store<u32>(st, f + load<u32>(st, 20), 20)
  store<u32>(st, g + load<u32>(st, 24), 24)
  store<u32>(st, h + load<u32>(st, 28), 28)
}

/**
 * Set the HMAC key: `len` bytes at ptr, at most 64 (the host hashes longer keys first, as HMAC
 * prescribes). Also sets up the byte tables; call it once before anything else.
 */
export function setKey(ptr: usize, len: i32): void {
  initTables()
  initKV()
  for (let pass = 0; pass < 2; pass++) {
    const pad: u8 = pass == 0 ? 0x36 : 0x5c
    for (let i = 0; i < 64; i++) store<u8>(KEYBLOCK + i, (i < len ? load<u8>(ptr + i) : 0) ^ pad)
    memory.copy(SS, IV, 32)
    compress1(SS, KEYBLOCK)
    const m = pass == 0 ? MI : MO
    for (let i = 0; i < 8; i++) v128.store(m + (i << 4), i32x4.splat(load<u32>(SS + (i << 2))))
  }
  // the pad blocks give the key back when XORed with their pad, and the scalar schedule holds
  // the last of them word by word: only the midstates are needed from here on
  memory.fill(KEYBLOCK, 0, 64)
  memory.fill(SW, 0, 64 * 4)
  memory.fill(SS, 0, 8 * 4)
  // the inner message is 64 (ipad) + 64 bytes: its second block is constant padding
  for (let t = 0; t < 16; t++) v128.store(PAD2 + (t << 4), i32x4.splat(t == 0 ? 0x80000000 : t == 15 ? 1024 : 0))
  expand4(PAD2)
}

@inline function word4(p0: usize, p1: usize, p2: usize, p3: usize, o: usize): v128 {
  let v = i32x4.splat(bswap<u32>(load<u32>(p0 + o)))
  v = i32x4.replace_lane(v, 1, bswap<u32>(load<u32>(p1 + o)))
  v = i32x4.replace_lane(v, 2, bswap<u32>(load<u32>(p2 + o)))
  return i32x4.replace_lane(v, 3, bswap<u32>(load<u32>(p3 + o)))
}

/** Whether the lane's digest in ST, as lowercase hex, equals the 64 bytes at s. */
function laneMatches(lane: i32, s: usize): bool {
  let diff: u32 = 0
  for (let i = 0; i < 8; i++) {
    const word = load<u32>(ST + (i << 4) + (lane << 2))
    for (let j = 0; j < 8; j++) diff |= <u32>(load<u8>(HEX + ((word >>> (28 - 4 * j)) & 15)) ^ load<u8>(s + (i << 3) + j))
  }
  return diff == 0
}

/** HMAC of the 64-byte messages at m0..m3, each compared with the 64 hex digits at s0..s3. */
function hmac4(m0: usize, m1: usize, m2: usize, m3: usize, s0: usize, s1: usize, s2: usize, s3: usize): i32 {
  for (let t = 0; t < 16; t++) v128.store(W + (t << 4), word4(m0, m1, m2, m3, t << 2))
  expand4(W)
  memory.copy(ST, MI, 128)
  compress4(ST, W)
  compress4(ST, PAD2)
  for (let t = 0; t < 8; t++) v128.store(W + (t << 4), v128.load(ST + (t << 4)))
  v128.store(W + (8 << 4), i32x4.splat(0x80000000))
  for (let t = 9; t < 15; t++) v128.store(W + (t << 4), i32x4.splat(0))
  v128.store(W + (15 << 4), i32x4.splat(768))
  expand4(W)
  memory.copy(ST, MO, 128)
  compress4(ST, W)
  let ok = 0
  if (laneMatches(0, s0)) ok |= 1
  if (laneMatches(1, s1)) ok |= 2
  if (laneMatches(2, s2)) ok |= 4
  if (laneMatches(3, s3)) ok |= 8
  return ok
}

/**
 * For records [0, n) at rec: whether HMAC(key, hash field) equals the sig field. A record whose
 * sigLen is not 64 fails. The count of leading records that pass.
 */
export function macCheck(rec: usize, n: i32): i32 {
  for (let k = 0; k < n; k += 4) {
    // lanes past the end repeat the last record
    const r0 = rec + <usize>(k * REC)
    const r1 = rec + <usize>(min(k + 1, n - 1) * REC)
    const r2 = rec + <usize>(min(k + 2, n - 1) * REC)
    const r3 = rec + <usize>(min(k + 3, n - 1) * REC)
    const ok = hmac4(
      <usize>load<u32>(r0, 12), <usize>load<u32>(r1, 12), <usize>load<u32>(r2, 12), <usize>load<u32>(r3, 12),
      <usize>load<u32>(r0, 16), <usize>load<u32>(r1, 16), <usize>load<u32>(r2, 16), <usize>load<u32>(r3, 16)
    )
    for (let l = 0; l < 4 && k + l < n; l++) {
      const r = rec + <usize>((k + l) * REC)
      if (((ok >> l) & 1) == 0 || load<u32>(r, 20) != 64) return k + l
    }
  }
  return n
}

/** HMAC-SHA256 of the 64 bytes at m, as 32 bytes at out (for tests of the lanes). */
export function hmacOne(m: usize, out: usize): void {
  hmac4(m, m, m, m, m, m, m, m)
  for (let i = 0; i < 8; i++) store<u32>(out + (i << 2), bswap<u32>(load<u32>(ST + (i << 4))))
}

// ---------------------------------------------------------------------------------------------
// Merkle tree hashing (RFC 9162 §2.1.1), four hashes at a time in SIMD lanes
//
// A leaf over an entry hash is SHA-256(0x00 || 32 bytes): 33 bytes, one block. An interior node
// is SHA-256(0x01 || left || right): 65 bytes, two blocks, the second nothing but the last byte
// of `right` and padding. The hashes of one level of the tree do not depend on each other, so a
// batch of leaves is folded level by level, four nodes per compression, into the frontier (the
// roots of the perfect subtrees so far, one per set bit of the size) held here at FR by level.

/** The frontier, by level: FR + 32 h holds the root of the perfect subtree of 2^h leaves. */
const FR = memory.data(64 * 32, 16)

let kvReady = false

/** K in four lanes (for compress4); idempotent. */
function initKV(): void {
  if (kvReady) return
  for (let t = 0; t < 64; t++) v128.store(KV + (t << 4), i32x4.splat(load<u32>(K + (t << 2))))
  kvReady = true
}

/** The schedule's word at byte offset o of each lane's message, big-endian (o may be -1). */
@inline function be4(p0: usize, p1: usize, p2: usize, p3: usize, o: isize): v128 {
  let v = i32x4.splat(bswap<u32>(load<u32>(<usize>(<isize>p0 + o))))
  v = i32x4.replace_lane(v, 1, bswap<u32>(load<u32>(<usize>(<isize>p1 + o))))
  v = i32x4.replace_lane(v, 2, bswap<u32>(load<u32>(<usize>(<isize>p2 + o))))
  return i32x4.replace_lane(v, 3, bswap<u32>(load<u32>(<usize>(<isize>p3 + o))))
}

/** Store lane l of the state in ST as a 32-byte big-endian digest at out. */
@inline function digestLane(l: i32, out: usize): void {
  for (let i = 0; i < 8; i++) store<u32>(out + (i << 2), bswap<u32>(load<u32>(ST + (i << 4) + (l << 2))))
}

@inline function stateIV(): void {
  for (let i = 0; i < 8; i++) v128.store(ST + (i << 4), i32x4.splat(load<u32>(IV + (i << 2))))
}

/**
 * Leaf hashes of the four 32-byte data at p0..p3 into o0..o3 (an output may be its own input:
 * everything is read before anything is written). Reads the byte before each input.
 */
function leaf4(p0: usize, p1: usize, p2: usize, p3: usize, o0: usize, o1: usize, o2: usize, o3: usize): void {
  // 0x00 || d[0..3) and then d shifted by one byte: the word at d - 1 with its top byte cleared
  v128.store(W, v128.and(be4(p0, p1, p2, p3, -1), i32x4.splat(0x00ffffff)))
  for (let t = 1; t < 8; t++) v128.store(W + (t << 4), be4(p0, p1, p2, p3, (t << 2) - 1))
  // d[31], then the 0x80 that ends the message
  let v = i32x4.splat(<i32>(<u32>load<u8>(p0 + 31) << 24))
  v = i32x4.replace_lane(v, 1, <i32>(<u32>load<u8>(p1 + 31) << 24))
  v = i32x4.replace_lane(v, 2, <i32>(<u32>load<u8>(p2 + 31) << 24))
  v = i32x4.replace_lane(v, 3, <i32>(<u32>load<u8>(p3 + 31) << 24))
  v128.store(W + (8 << 4), v128.or(v, i32x4.splat(0x00800000)))
  for (let t = 9; t < 15; t++) v128.store(W + (t << 4), i32x4.splat(0))
  v128.store(W + (15 << 4), i32x4.splat(33 * 8))
  expand4(W)
  stateIV()
  compress4(ST, W)
  digestLane(0, o0)
  digestLane(1, o1)
  digestLane(2, o2)
  digestLane(3, o3)
}

/**
 * Node hashes of the four 64-byte pairs (left || right) at p0..p3 into o0..o3 (an output may
 * overlap its input). Reads the byte before each input.
 */
function node4(p0: usize, p1: usize, p2: usize, p3: usize, o0: usize, o1: usize, o2: usize, o3: usize): void {
  // first block: 0x01 || the first 63 bytes of the pair
  v128.store(W, v128.or(v128.and(be4(p0, p1, p2, p3, -1), i32x4.splat(0x00ffffff)), i32x4.splat(0x01000000)))
  for (let t = 1; t < 16; t++) v128.store(W + (t << 4), be4(p0, p1, p2, p3, (t << 2) - 1))
  // the last byte of the pair must be read before an output can overwrite it
  let v = i32x4.splat(<i32>(<u32>load<u8>(p0 + 63) << 24))
  v = i32x4.replace_lane(v, 1, <i32>(<u32>load<u8>(p1 + 63) << 24))
  v = i32x4.replace_lane(v, 2, <i32>(<u32>load<u8>(p2 + 63) << 24))
  v = i32x4.replace_lane(v, 3, <i32>(<u32>load<u8>(p3 + 63) << 24))
  expand4(W)
  stateIV()
  compress4(ST, W)
  // second block: that last byte, 0x80, zeros, the length (65 bytes)
  v128.store(W, v128.or(v, i32x4.splat(0x00800000)))
  for (let t = 1; t < 15; t++) v128.store(W + (t << 4), i32x4.splat(0))
  v128.store(W + (15 << 4), i32x4.splat(65 * 8))
  expand4(W)
  compress4(ST, W)
  digestLane(0, o0)
  digestLane(1, o1)
  digestLane(2, o2)
  digestLane(3, o3)
}

// One hash alone goes through the scalar compression: four lanes for one hash would cost
// about twice as much (a batch of one leaf is a writer's usual case).
const BLK = memory.data(128, 16)
const S1 = memory.data(32, 16)

@inline function scalarDigest(out: usize): void {
  for (let i = 0; i < 8; i++) store<u32>(out + (i << 2), bswap<u32>(load<u32>(S1 + (i << 2))))
}

/** The leaf hash of the 32 bytes at p, into o (o may be p). */
function leaf1(p: usize, o: usize): void {
  store<u8>(BLK, 0)
  memory.copy(BLK + 1, p, 32)
  store<u8>(BLK + 33, 0x80)
  memory.fill(BLK + 34, 0, 28)
  store<u32>(BLK + 60, bswap<u32>(33 * 8))
  memory.copy(S1, IV, 32)
  compress1(S1, BLK)
  scalarDigest(o)
}

/** The node hash of the 64-byte pair at p, into o (o may overlap p). */
function node1(p: usize, o: usize): void {
  store<u8>(BLK, 1)
  memory.copy(BLK + 1, p, 64)
  store<u8>(BLK + 65, 0x80)
  memory.fill(BLK + 66, 0, 58)
  store<u32>(BLK + 124, bswap<u32>(65 * 8))
  memory.copy(S1, IV, 32)
  compress1(S1, BLK)
  compress1(S1, BLK + 64)
  scalarDigest(o)
}

/** Leaf hashes of the n 32-byte data at src into dst (dst may be src). */
function leaves(src: usize, dst: usize, n: i32): void {
  if (n == 1) {
    leaf1(src, dst)
    return
  }
  for (let k = 0; k < n; k += 4) {
    // lanes past the end repeat the last one (and write the same hash to the same place)
    const l = n - 1
    const k1 = min(k + 1, l), k2 = min(k + 2, l), k3 = min(k + 3, l)
    leaf4(
      src + (<usize>k << 5), src + (<usize>k1 << 5), src + (<usize>k2 << 5), src + (<usize>k3 << 5),
      dst + (<usize>k << 5), dst + (<usize>k1 << 5), dst + (<usize>k2 << 5), dst + (<usize>k3 << 5)
    )
  }
}

/**
 * Node hashes of the n pairs at src (64 bytes each) into dst, 32 bytes each. dst may be src or
 * src + 32: output k is written after the pairs up to 4 (k / 4) + 3 are read, and lies below
 * the next group's inputs.
 */
function nodes(src: usize, dst: usize, n: i32): void {
  if (n == 1) {
    node1(src, dst)
    return
  }
  for (let k = 0; k < n; k += 4) {
    const l = n - 1
    const k1 = min(k + 1, l), k2 = min(k + 2, l), k3 = min(k + 3, l)
    node4(
      src + (<usize>k << 6), src + (<usize>k1 << 6), src + (<usize>k2 << 6), src + (<usize>k3 << 6),
      dst + (<usize>k << 5), dst + (<usize>k1 << 5), dst + (<usize>k2 << 5), dst + (<usize>k3 << 5)
    )
  }
}

/** Sets the kernel up for Merkle work only (no HMAC key); call it once per instance. */
export function merkleInit(): void {
  initKV()
}

/** Where the frontier lies: 64 levels of 32 bytes, level h at frontier() + 32 h. */
export function frontier(): usize {
  return FR
}

/**
 * Append n leaves to the frontier at FR of a tree of `size` leaves: their data are the n 32-byte
 * values at buf, and the 32 bytes before buf are scratch. Overwrites buf. On return FR holds the
 * frontier of size + n leaves at the levels of the set bits of size + n (other levels are stale).
 */
export function merkleAppend(buf: usize, n: i32, size: f64): void {
  leaves(buf, buf, n)
  let a = <u64>size // the index, at the current level, of the first item
  let len = n
  let h: usize = 0
  while (len > 0) {
    let start = buf
    if ((a & 1) != 0) {
      // the frontier's subtree at this level is the left half of the first pair
      start = buf - 32
      memory.copy(start, FR + (h << 5), 32)
      len++
      a--
    }
    // an odd one out is the new frontier's subtree at this level
    if ((len & 1) != 0) memory.copy(FR + (h << 5), start + (<usize>(len - 1) << 5), 32)
    nodes(start, buf, len >> 1)
    len >>= 1
    a >>= 1
    h++
  }
}

/** The leaf hashes of n 32-byte data at src, into dst (for tests of the lanes). */
export function merkleLeaves(src: usize, dst: usize, n: i32): void {
  leaves(src, dst, n)
}

/** The node hashes of n 64-byte pairs at src, into dst (for tests of the lanes). */
export function merkleNodes(src: usize, dst: usize, n: i32): void {
  nodes(src, dst, n)
}

/** The hash fields of records [0, n) at rec, 32 bytes each, one after another at out. */
export function gatherDigests(rec: usize, n: i32, out: usize): void {
  for (let k = 0; k < n; k++) {
    const r = rec + <usize>(k * REC) + 40
    const o = out + (<usize>k << 5)
    v128.store(o, v128.load(r))
    v128.store(o, v128.load(r, 16), 16)
  }
}

/** Where the host's memory begins. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15
}
