/**
 * Fast paths for the two line layouts seen in practice (see `FastLine` and `FastReference`).
 *
 * The fast path for lines our writer lays out: `{"payload":…,"seq":…,"ts":…,"type":…` first, in
 * canonical form, then `"prev_hash"`, `"hash"`, `"sig"` (DESIGN "Speed").
 *
 * It checks strictly, in place and without writing anything, that the body is canonical, so the
 * line's own bytes are what gets hashed. It never reports an error: on any deviation it answers
 * `false` and the general reader (which explains what is wrong) takes over. The three 64-hex
 * fields are only located here; the verifier compares them with values it computes anyway, and
 * equality with a hex string also proves they were well-formed (see `hexAt`).
 * @internal
 */
import { compareBytes, keyPrefix, reorderMembers } from "./scanner.js"

/** 1 for bytes that end a plain run inside a string: '"', '\\' and control characters. */
const STOP = new Uint8Array(256)
for (let c = 0; c < 0x20; c++) STOP[c] = 1
STOP[0x22] = 1
STOP[0x5c] = 1

/** Canonical two-character escapes (after the backslash). */
const SHORT_ESCAPE = new Uint8Array(256)
for (const c of '"\\bfnrt') SHORT_ESCAPE[c.charCodeAt(0)] = 1

const HEXLOWER = new Uint8Array(256)
for (const c of "0123456789abcdef") HEXLOWER[c.charCodeAt(0)] = 1

const lit = (s: string) => Buffer.from(s, "latin1")
const PAYLOAD = lit('{"payload":{')
const SEQ = lit(',"seq":')
const TS = lit(',"ts":"')
const TYPE = lit(',"type":"')
const PREV = lit(',"prev_hash":"')
const HASH = lit('","hash":"')
const SIG = lit('","sig":"')

const at = (src: Uint8Array, i: number, l: Uint8Array): boolean => {
  for (let k = 0; k < l.length; k++) if (src[i + k] !== l[k]) return false
  return true
}


/** End of the canonical escape whose backslash is at j, or -1 (also for a raw control character). */
const escapeEnd = (src: Uint8Array, j: number): number => {
  if (src[j] !== 0x5c) return -1
  const e = src[j + 1]!
  if (SHORT_ESCAPE[e] === 1) return j + 2
  if (e !== 0x75) return -1
  // only \u00xx for control characters without a short form, lowercase hex
  if (src[j + 2] !== 0x30 || src[j + 3] !== 0x30) return -1
  const h = src[j + 4]!, l = src[j + 5]!
  if ((h !== 0x30 && h !== 0x31) || HEXLOWER[l] !== 1) return -1
  const v = (h - 0x30) * 16 + (l <= 0x39 ? l - 0x30 : l - 87)
  if (v === 8 || v === 9 || v === 10 || v === 12 || v === 13) return -1
  return j + 6
}

/** Set by `str` and `FastReference.string`: the last string held an escape. */
let escaped = false

/** End of a canonical string whose opening quote is at i, or -1. */
const str = (src: Uint8Array, i: number, end: number): number => {
  let j = i + 1
  escaped = false
  for (;;) {
    while (j < end && STOP[src[j]!] === 0) j++
    if (j >= end) return -1
    if (src[j] === 0x22) return j + 1
    j = escapeEnd(src, j)
    if (j < 0) return -1
    escaped = true
  }
}

/** End of a canonical number at i, or -1 (floats with exponents go to the general path). */
const num = (src: Uint8Array, i: number, end: number): number => {
  const s = i
  if (src[i] === 0x2d) i++
  let c = src[i]!
  if (c === 0x30) {
    i++
    if (i - s === 2 && src[i] !== 0x2e) return -1 // "-0"
  } else if (c >= 0x31 && c <= 0x39) {
    i++
    while (i < end && (c = src[i]!) >= 0x30 && c <= 0x39) i++
  } else return -1
  if (src[i] !== 0x2e) return src[i] === 0x65 || src[i] === 0x45 ? -1 : i
  // fraction: the same rule as the scanner's (at most 15 significant digits, exponent in [-4, 16))
  const dot = i
  i++
  const f = i
  while (i < end && (c = src[i]!) >= 0x30 && c <= 0x39) i++
  if (i === f || src[i] === 0x65 || src[i] === 0x45) return -1
  if (src[i - 1] === 0x30 && i - f !== 1) return -1
  const intStart = src[s] === 0x2d ? s + 1 : s
  if (dot - intStart > 16) return -1
  let first = -1
  let last = -1
  for (let k = intStart; k < i; k++) {
    const d = src[k]!
    if (d !== 0x30 && d !== 0x2e) {
      if (first < 0) first = k
      last = k
    }
  }
  if (first < 0) return i
  if (dot - intStart === 1 && src[intStart] === 0x30 && first - dot - 1 > 3) return -1
  const digits = last - first + 1 - (first < dot && last > dot ? 1 : 0)
  return digits <= 15 ? i : -1
}

/** Set by `seqDigits`: the value it read. */
let parsedSeq = 0

/** End of a canonical non-negative integer `seq` at i (at most 15 digits), or -1. */
const seqDigits = (src: Uint8Array, i: number, end: number): number => {
  const s = i
  let seq = 0
  let c = src[i]!
  if (c === 0x30) i++
  else
    while (i < end && (c = src[i]!) >= 0x30 && c <= 0x39) {
      seq = seq * 10 + c - 0x30
      i++
    }
  if (i === s || i - s > 15) return -1
  parsedSeq = seq
  return i
}

/** Where a fast path found the fields of the line it accepted. */
export interface FastParsed {
  readonly seq: number
  readonly prevAt: number
  readonly hashAt: number
  readonly sigAt: number
  readonly sigLen: number
  /** prev_hash followed by the canonical body, as one buffer */
  message(src: Buffer, lineStart: number): Buffer
  /** the same bytes written into `dst` at `at`; their length (`dst` must have room) */
  messageInto(src: Buffer, lineStart: number, dst: Buffer, at: number): number
  /** an upper bound of the message's length */
  readonly messageBound: number
}

/**
 * Locate `prev_hash`, `hash` and `sig` at src[i], laid out as `prev` + 64 bytes + `hash` + 64
 * bytes + `sig` + (0 or 64 bytes) + `"` with the layout's literals. The 64-byte spans are only
 * located (see the module comment). Fills `into`; the position after the closing quote, or -1.
 */
const trailer = (
  src: Uint8Array,
  i: number,
  end: number,
  prev: Uint8Array,
  hash: Uint8Array,
  sig: Uint8Array,
  into: { prevAt: number; hashAt: number; sigAt: number; sigLen: number }
): number => {
  if (!at(src, i, prev)) return -1
  into.prevAt = i + prev.length
  i = into.prevAt + 64
  if (!at(src, i, hash)) return -1
  into.hashAt = i + hash.length
  i = into.hashAt + 64
  if (!at(src, i, sig)) return -1
  into.sigAt = i + sig.length
  if (src[into.sigAt] === 0x22) into.sigLen = 0
  else if (into.sigAt + 64 < end && src[into.sigAt + 64] === 0x22) into.sigLen = 64
  else return -1
  return into.sigAt + into.sigLen + 1
}

export class FastLine implements FastParsed {
  seq = 0
  /** end of the type value: the body is src[lineStart, bodyEnd) followed by "}" */
  bodyEnd = 0
  prevAt = 0
  hashAt = 0
  sigAt = 0
  sigLen = 0
  private kinds = new Uint8Array(64)
  private keyStart = new Int32Array(64)
  private keyEnd = new Int32Array(64)
  private keyEscaped = new Uint8Array(64)
  private msg = Buffer.allocUnsafe(4096)

  /** Validate a canonical object value at i (src[i] === '{'); its end, or -1. */
  private object(src: Uint8Array, i: number, end: number): number {
    let depth = 0
    for (;;) {
      // a value starts at i
      let c = src[i]!
      if (c === 0x22) {
        i = str(src, i, end)
        if (i < 0) return -1
      } else if (c === 0x7b || c === 0x5b) {
        i++
        const close = c === 0x7b ? 0x7d : 0x5d
        if (src[i] === close) i++
        else {
          if (depth === this.kinds.length) return -1 // deeper than the fast path cares to go
          this.kinds[depth] = c
          if (c === 0x7b) {
            if (src[i] !== 0x22) return -1
            const k = str(src, i, end)
            if (k < 0 || src[k] !== 0x3a) return -1
            this.keyStart[depth] = i + 1
            this.keyEnd[depth] = k - 1
            this.keyEscaped[depth] = escaped ? 1 : 0
            i = k + 1
          }
          depth++
          continue
        }
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        i = num(src, i, end)
        if (i < 0) return -1
      } else if (c === 0x74 && src[i + 1] === 0x72 && src[i + 2] === 0x75 && src[i + 3] === 0x65) i += 4
      else if (c === 0x66 && src[i + 1] === 0x61 && src[i + 2] === 0x6c && src[i + 3] === 0x73 && src[i + 4] === 0x65) i += 5
      else if (c === 0x6e && src[i + 1] === 0x75 && src[i + 2] === 0x6c && src[i + 3] === 0x6c) i += 4
      else return -1
      // after a value
      for (;;) {
        if (depth === 0) return i
        const kind = this.kinds[depth - 1]!
        c = src[i]!
        if (c === 0x2c) {
          i++
          if (kind === 0x7b) {
            if (src[i] !== 0x22) return -1
            const k = str(src, i, end)
            if (k < 0 || src[k] !== 0x3a) return -1
            // strictly ascending keys (raw bytes order like code points when there is no escape)
            if (escaped || this.keyEscaped[depth - 1] === 1) return -1
            if (compareBytes(src, this.keyStart[depth - 1]!, this.keyEnd[depth - 1]!, src, i + 1, k - 1) >= 0) return -1
            this.keyStart[depth - 1] = i + 1
            this.keyEnd[depth - 1] = k - 1
            i = k + 1
          }
          break
        }
        if ((kind === 0x7b && c === 0x7d) || (kind === 0x5b && c === 0x5d)) {
          depth--
          i++
          continue
        }
        return -1
      }
    }
  }

  /** True when src[start, end) is a canonical-first line; fills the positions above. */
  parse(src: Buffer, start: number, end: number): boolean {
    if (!at(src, start, PAYLOAD)) return false
    this.lineStart = start
    let i = this.object(src, start + PAYLOAD.length - 1, end)
    if (i < 0 || !at(src, i, SEQ)) return false
    i = seqDigits(src, i + SEQ.length, end)
    if (i < 0) return false
    this.seq = parsedSeq
    if (!at(src, i, TS)) return false
    i = str(src, i + TS.length - 1, end)
    if (i < 0 || !at(src, i, TYPE)) return false
    i = str(src, i + TYPE.length - 1, end)
    if (i < 0) return false
    this.bodyEnd = i
    i = trailer(src, i, end, PREV, HASH, SIG, this)
    // anything after the signature (pack rows carry `controls`) is for the general reader
    return i >= 0 && i + 1 === end && src[i] === 0x7d
  }

  /** prev_hash followed by the canonical body, hashed as one buffer. */
  message(src: Buffer, lineStart: number): Buffer {
    const n = 64 + this.bodyEnd - lineStart + 1
    if (this.msg.length < n) {
      this.msg = Buffer.allocUnsafe(n + (n >> 2)) // a quarter of headroom, not double: lines can be huge
      this.views = []
    }
    const m = this.msg
    src.copy(m, 0, this.prevAt, this.prevAt + 64)
    src.copy(m, 64, lineStart, this.bodyEnd)
    m[n - 1] = 0x7d
    // a view per length, made once: creating a Buffer view per line cost as much as a copy
    return (this.views[n] ??= m.subarray(0, n))
  }

  messageInto(src: Buffer, lineStart: number, dst: Buffer, at: number): number {
    src.copy(dst, at, this.prevAt, this.prevAt + 64)
    const n = 64 + src.copy(dst, at + 64, lineStart, this.bodyEnd)
    dst[at + n] = 0x7d
    return n + 1
  }

  get messageBound(): number {
    return 65 + this.bodyEnd - this.lineStart
  }

  private lineStart = 0

  private views: Array<Buffer> = []
}

/** src[at, at+64) equals the 64-character hex string `hex`; equality also proves it well-formed. */
export const hexAt = (src: Buffer, at: number, hex: string): boolean => src.toString("latin1", at, at + 64) === hex


/** src[at, at+len) holds no quote, backslash or control character (plain string content). */
export const plainAt = (src: Uint8Array, at: number, len: number): boolean => {
  for (let k = 0; k < len; k++) if (STOP[src[at + k]!] === 1) return false
  return true
}

const REF_SEQ = lit('{"seq": ')
const REF_TS = lit(', "ts": "')
const REF_TYPE = lit(', "type": "')
const REF_PAYLOAD = lit(', "payload": {')
const REF_PREV = lit(', "prev_hash": "')
const REF_HASH = lit('", "hash": "')
const REF_SIG = lit('", "sig": "')
const REF_CONTROLS = lit(', "controls": [')
const BODY_PAYLOAD = lit('{"payload":')
const BODY_SEQ = lit(',"seq":')
const BODY_TS = lit(',"ts":')
const BODY_TYPE = lit(',"type":')

/**
 * The fast path for the reference implementations' layout: Python's `json.dumps` with its default
 * separators (`", "`, `": "`), keys in insertion order, values already in canonical form:
 * `{"seq": …, "ts": …, "type": …, "payload": {…}, "prev_hash": …, "hash": …, "sig": …}`, pack rows
 * followed by `"controls": […]`. The payload is checked strictly and written out canonically as
 * it is read (spaces dropped, members put in key order at each closing brace), straight into the
 * hashed message. Like `FastLine`, it answers `false` on any deviation and never explains.
 */
export class FastReference implements FastParsed {
  seq = 0
  prevAt = 0
  hashAt = 0
  sigAt = 0
  sigLen = 0
  /** `[room for prev_hash]{"payload":P,"seq":S,"ts":T,"type":Y}` */
  private out = Buffer.allocUnsafe(8192)
  private len = 0
  private kinds = new Uint8Array(64)
  private base = new Int32Array(64)
  // members of the open objects: output span and key (in `out`), first four key bytes
  private mStart = new Int32Array(256)
  private mEnd = new Int32Array(256)
  private mKey = new Int32Array(256)
  private mKeyEnd = new Int32Array(256)
  private mPrefix = new Uint32Array(256)
  private order = new Int32Array(256)
  private views: Array<Buffer> = []

  private cmpKeys(x: number, y: number): number {
    const px = this.mPrefix[x]!
    const py = this.mPrefix[y]!
    if (px !== py) return px < py ? -1 : 1
    return compareBytes(this.out, this.mKey[x]!, this.mKeyEnd[x]!, this.out, this.mKey[y]!, this.mKeyEnd[y]!)
  }

  /** Put the members m[from, to) of a just-closed object in key order; false on a duplicate. */
  private sortMembers(from: number, to: number): boolean {
    const prefix = this.mPrefix
    let sorted = true
    for (let k = from + 1; k < to; k++) {
      const a = prefix[k - 1]!
      const b = prefix[k]!
      if (a < b) continue
      if (a > b) sorted = false
      else {
        const d = this.cmpKeys(k - 1, k)
        if (d === 0) return false
        if (d > 0) sorted = false
      }
    }
    if (sorted) return true
    const n = to - from
    const order = this.order
    // insertion sort on the 4-byte prefixes, full comparison only on a tie
    for (let k = 0; k < n; k++) {
      const m = from + k
      const pm = prefix[m]!
      let q = k
      while (q > 0) {
        const o = order[q - 1]!
        const po = prefix[o]!
        if (po < pm || (po === pm && this.cmpKeys(o, m) < 0)) break
        order[q] = o
        q--
      }
      order[q] = m
    }
    for (let k = 1; k < n; k++) {
      const a = order[k - 1]!
      const b = order[k]!
      if (prefix[a] === prefix[b] && this.cmpKeys(a, b) === 0) return false
    }
    reorderMembers(this.out, this.len, this.mStart, this.mEnd, order, n, this.mStart[from]!, this.mEnd[to - 1]!)
    return true
  }

  /** Copy the canonical string at src[i] (opening quote) to the output; its end, or -1. */
  private string(src: Uint8Array, i: number, end: number): number {
    const out = this.out
    let j = this.len
    let k = i + 1
    out[j++] = 0x22
    escaped = false
    for (;;) {
      let c = 0
      while (k < end && STOP[(c = src[k]!)] === 0) {
        out[j++] = c
        k++
      }
      if (k >= end) return -1
      if (c === 0x22) {
        out[j++] = 0x22
        this.len = j
        return k + 1
      }
      // escapes and the rare rest: let the checker decide, then copy what it accepted
      const e = escapeEnd(src, k)
      if (e < 0) return -1
      escaped = true
      while (k < e) out[j++] = src[k++]!
    }
  }

  /** Check the payload object at src[i] ('{') and write it canonically; its end, or -1. */
  private object(src: Uint8Array, i: number, end: number): number {
    const out = this.out
    let depth = 0
    let members = 0
    for (;;) {
      let c = src[i]!
      if (c === 0x22) {
        i = this.string(src, i, end)
        if (i < 0) return -1
      } else if (c === 0x7b || c === 0x5b) {
        out[this.len++] = c
        i++
        const close = c === 0x7b ? 0x7d : 0x5d
        if (src[i] === close) {
          out[this.len++] = close
          i++
        } else {
          if (depth === this.kinds.length) return -1
          this.kinds[depth] = c
          this.base[depth] = members
          depth++
          if (c === 0x7b) {
            if (members === this.mStart.length) return -1
            i = this.key(src, i, end, members++)
            if (i < 0) return -1
          }
          continue
        }
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        const e = num(src, i, end)
        if (e < 0) return -1
        for (let k = i; k < e; k++) out[this.len++] = src[k]!
        i = e
      } else if (c === 0x74 && src[i + 1] === 0x72 && src[i + 2] === 0x75 && src[i + 3] === 0x65) {
        out[this.len++] = 0x74; out[this.len++] = 0x72; out[this.len++] = 0x75; out[this.len++] = 0x65
        i += 4
      } else if (c === 0x66 && src[i + 1] === 0x61 && src[i + 2] === 0x6c && src[i + 3] === 0x73 && src[i + 4] === 0x65) {
        out[this.len++] = 0x66; out[this.len++] = 0x61; out[this.len++] = 0x6c; out[this.len++] = 0x73; out[this.len++] = 0x65
        i += 5
      } else if (c === 0x6e && src[i + 1] === 0x75 && src[i + 2] === 0x6c && src[i + 3] === 0x6c) {
        out[this.len++] = 0x6e; out[this.len++] = 0x75; out[this.len++] = 0x6c; out[this.len++] = 0x6c
        i += 4
      } else return -1
      for (;;) {
        if (depth === 0) return i
        const kind = this.kinds[depth - 1]!
        if (kind === 0x7b) this.mEnd[members - 1] = this.len
        c = src[i]!
        if (c === 0x2c && src[i + 1] === 0x20) {
          out[this.len++] = 0x2c
          i += 2
          if (kind === 0x7b) {
            if (members === this.mStart.length) return -1
            i = this.key(src, i, end, members++)
            if (i < 0) return -1
          }
          break
        }
        if (kind === 0x7b && c === 0x7d) {
          const from = this.base[depth - 1]!
          if (!this.sortMembers(from, members)) return -1
          members = from
          out[this.len++] = 0x7d
          depth--
          i++
          continue
        }
        if (kind === 0x5b && c === 0x5d) {
          out[this.len++] = 0x5d
          depth--
          i++
          continue
        }
        return -1
      }
    }
  }

  /** `"key": ` at src[i] for member m; the position of its value, or -1. */
  private key(src: Uint8Array, i: number, end: number, m: number): number {
    if (src[i] !== 0x22) return -1
    this.mStart[m] = this.len
    const k = this.string(src, i, end)
    if (k < 0 || escaped || src[k] !== 0x3a || src[k + 1] !== 0x20) return -1
    const ks = this.mStart[m]! + 1
    const ke = this.len - 1
    this.mKey[m] = ks
    this.mKeyEnd[m] = ke
    this.mPrefix[m] = keyPrefix(this.out, ks, ke)
    this.out[this.len++] = 0x3a
    return k + 2
  }

  private put(l: Uint8Array): void {
    for (let k = 0; k < l.length; k++) this.out[this.len++] = l[k]!
  }

  private copy(src: Uint8Array, a: number, b: number): void {
    const out = this.out
    let j = this.len
    for (let k = a; k < b; k++) out[j++] = src[k]!
    this.len = j
  }

  /** True when src[start, end) is a reference-layout line; fills the positions above. */
  parse(src: Buffer, start: number, end: number): boolean {
    if (!at(src, start, REF_SEQ)) return false
    const seqAt = start + REF_SEQ.length
    let i = seqDigits(src, seqAt, end)
    if (i < 0) return false
    const seq = parsedSeq
    const seqEnd = i
    if (!at(src, i, REF_TS)) return false
    const tsAt = i + REF_TS.length - 1
    i = str(src, tsAt, end)
    if (i < 0 || !at(src, i, REF_TYPE)) return false
    const tsEnd = i
    const typeAt = i + REF_TYPE.length - 1
    i = str(src, typeAt, end)
    if (i < 0 || !at(src, i, REF_PAYLOAD)) return false
    const typeEnd = i
    // room for the output: it never exceeds the line, plus the body's own literals and parking
    const need = 64 + 2 * (end - start) + 64
    if (this.out.length < need) {
      this.out = Buffer.allocUnsafe(need + (need >> 2)) // a quarter of headroom, not double: lines can be huge
      this.views = []
    }
    this.len = 64
    this.put(BODY_PAYLOAD)
    i = this.object(src, i + REF_PAYLOAD.length - 1, end)
    if (i < 0 || !at(src, i, REF_PREV)) return false
    this.put(BODY_SEQ)
    this.copy(src, seqAt, seqEnd)
    this.put(BODY_TS)
    this.copy(src, tsAt, tsEnd)
    this.put(BODY_TYPE)
    this.copy(src, typeAt, typeEnd)
    this.out[this.len++] = 0x7d
    i = trailer(src, i, end, REF_PREV, REF_HASH, REF_SIG, this)
    if (i < 0) return false
    this.seq = seq
    if (i === end - 1) return src[i] === 0x7d
    // a pack row: "controls" is a list of strings (not hashed, but it must be well-formed)
    if (!at(src, i, REF_CONTROLS)) return false
    i += REF_CONTROLS.length
    if (src[i] !== 0x5d)
      for (;;) {
        if (src[i] !== 0x22) return false
        i = str(src, i, end)
        if (i < 0) return false
        if (src[i] === 0x2c && src[i + 1] === 0x20) i += 2
        else break
      }
    return src[i] === 0x5d && src[i + 1] === 0x7d && i + 2 === end
  }

  /** prev_hash followed by the canonical body, as one buffer. */
  message(src: Buffer, _lineStart: number): Buffer {
    const out = this.out
    const p = this.prevAt
    for (let k = 0; k < 64; k++) out[k] = src[p + k]!
    return (this.views[this.len] ??= out.subarray(0, this.len))
  }

  messageInto(src: Buffer, _lineStart: number, dst: Buffer, at: number): number {
    src.copy(dst, at, this.prevAt, this.prevAt + 64)
    return 64 + this.out.copy(dst, at + 64, 64, this.len)
  }

  get messageBound(): number {
    return this.len
  }
}
