/**
 * A byte-level JSON scanner that validates one value and writes its canonical bytes (FORMAT A.2)
 * into a reused output buffer, without building objects.
 *
 * Hand-written because verification speed and byte-exactness both depend on it (no JSON library
 * keeps number lexemes or writes Python's forms). It copies each byte it accepts as it scans (a
 * store per byte is cheaper than tracking runs) and rewrites only what differs: whitespace,
 * escapes, number lexemes, key order. It is iterative (typed-array stacks), so nesting depth is
 * bounded by memory, not by the call stack. Canonical-first lines take `fast.ts` instead.
 *
 * The caller must have checked that the bytes are valid UTF-8 (`buffer.isUtf8`).
 * @internal
 */
import { canonicalLexeme } from "./number.js"

/** Thrown inside the scanner and caught at its entry points; never escapes this module's users. */
export class ScanFailure {
  constructor(readonly reason: string, readonly position: number) {}
}

const fail = (reason: string, position: number): never => {
  throw new ScanFailure(reason, position)
}

const HEX = "0123456789abcdef"
const QUOTE = 0x22
const BACKSLASH = 0x5c

/** 1 for bytes that interrupt a string's verbatim copy: '"', '\\' and raw control characters. */
const STRING_STOP = new Uint8Array(256)
for (let c = 0; c < 0x20; c++) STRING_STOP[c] = 1
STRING_STOP[QUOTE] = 1
STRING_STOP[BACKSLASH] = 1

/** 1 for JSON whitespace. */
const WS = new Uint8Array(256)
WS[0x20] = WS[0x0a] = WS[0x0d] = WS[0x09] = 1

const hexVal = (c: number): number => {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

/**
 * The first four bytes of the key b[s, e), big-endian, as an unsigned number. Shorter keys pad
 * with 0, below every byte a key can hold, so prefixes order like keys (ties need a full compare).
 */
export const keyPrefix = (b: Uint8Array, s: number, e: number): number => {
  const l = e - s
  return ((l > 0 ? b[s]! << 24 : 0) | (l > 1 ? b[s + 1]! << 16 : 0) | (l > 2 ? b[s + 2]! << 8 : 0) | (l > 3 ? b[s + 3]! : 0)) >>> 0
}

/** Byte order of a[as, ae) and b[bs, be): code-point order for UTF-8 text without escapes. */
export const compareBytes = (a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number => {
  const la = ae - as
  const lb = be - bs
  const n = la < lb ? la : lb
  for (let i = 0; i < n; i++) {
    const d = a[as + i]! - b[bs + i]!
    if (d !== 0) return d
  }
  return la - lb
}

/**
 * True when a fraction lexeme is already what Python's repr writes, decided without formatting:
 * plain `int.frac` (no exponent), decimal exponent in [-4, 16), no superfluous trailing zero, and
 * at most 15 significant digits. Two different decimals of 15 or fewer significant digits never
 * round to the same double, so such a lexeme is the unique shortest round-trip form.
 */
const isShortFixed = (src: Uint8Array, p: number, end: number): boolean => {
  const digits0 = src[p] === 0x2d ? p + 1 : p
  let firstSig = -1
  let lastSig = -1
  let dot = -1
  let leadingFracZeros = 0
  for (let i = digits0; i < end; i++) {
    const c = src[i]!
    if (c === 0x2e) {
      dot = i
      continue
    }
    if (c < 0x30 || c > 0x39) return false // exponent: leave it to the formatter
    if (c !== 0x30) {
      if (firstSig < 0) firstSig = i
      lastSig = i
    } else if (firstSig < 0 && dot >= 0) leadingFracZeros++
  }
  if (dot < 0) return false
  if (dot - digits0 > 16) return false
  // a trailing zero is only canonical as the single ".0"
  if (src[end - 1] === 0x30 && end - dot - 1 !== 1) return false
  if (firstSig < 0) return true // 0.0 or -0.0
  if (dot - digits0 === 1 && src[digits0] === 0x30 && leadingFracZeros > 3) return false // below 1e-4
  const digits = lastSig - firstSig + 1 - (firstSig < dot && lastSig > dot ? 1 : 0)
  return digits <= 15
}

/**
 * Rewrite out[regionStart, regionEnd), an object's members separated by commas, with the members
 * in `order` (first n entries; member m spans mStart[m]..mEnd[m]). The members are parked at
 * `park` (free space past the output) and moved back; copyWithin is a builtin that costs about the
 * same for 20 bytes as for 2,000, unlike a byte loop, so only short members are copied by hand.
 */
export const reorderMembers = (
  out: Uint8Array,
  park: number,
  mStart: Int32Array,
  mEnd: Int32Array,
  order: Int32Array,
  n: number,
  regionStart: number,
  regionEnd: number
): void => {
  out.copyWithin(park, regionStart, regionEnd)
  let w = regionStart
  for (let k = 0; k < n; k++) {
    const m = order[k]!
    if (k > 0) out[w++] = 0x2c
    const a = park + mStart[m]! - regionStart
    const b = park + mEnd[m]! - regionStart
    if (b - a < 24) for (let q = a; q < b; q++) out[w++] = out[q]!
    else {
      out.copyWithin(w, a, b)
      w += b - a
    }
  }
}

const FRAME_OBJECT = 1
const FRAME_ARRAY = 2

export class Scanner {
  src: Buffer = Buffer.alloc(0)
  out: Buffer = Buffer.allocUnsafe(1 << 16)
  /** output length */
  j = 0
  /** set by `string()`: the last string held an escape sequence */
  escaped = false
  /** set by `number()`: the last number had no fraction or exponent */
  lastIntegral = false

  // explicit stack
  private kinds = new Uint8Array(256)
  private bases = new Int32Array(256)
  private depth = 0
  // member table of open objects: start/end of `"key":value` in out, key content in out
  private mStart = new Int32Array(256)
  private mEnd = new Int32Array(256)
  private mKeyStart = new Int32Array(256)
  private mKeyEnd = new Int32Array(256)
  /** first four key bytes, big-endian: most comparisons end here */
  private mPrefix = new Uint32Array(256)
  /** decoded key bytes for keys whose canonical form holds an escape (rare) */
  private mKeyDecoded: Array<Uint8Array | undefined> = []
  private mCount = 0

  reset(src: Buffer, outStart = 0): void {
    this.src = src
    this.j = outStart
    this.depth = 0
    this.mCount = 0
    // output never outgrows the input except through number rewrites, which ensure for themselves
    if (this.out.length < outStart + src.length + 256) this.out = Buffer.allocUnsafe(Math.max(outStart + src.length + 256, this.out.length * 2))
  }

  /**
   * Write from now on into `buf` at `j`, with room for the rest of the input. Returns the buffer
   * actually used (a larger copy when `buf` was too small); take it back from `out` afterwards too,
   * since scanning may grow it.
   */
  target(buf: Buffer, j: number): Buffer {
    this.out = buf
    this.j = j
    if (buf.length < j + this.src.length + 256) {
      const next = Buffer.allocUnsafe(Math.max(j + this.src.length + 256, buf.length * 2))
      buf.copy(next, 0, 0, j)
      this.out = next
    }
    return this.out
  }

  ensure(n: number): void {
    if (this.j + n > this.out.length) {
      const next = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.j + n + 256))
      this.out.copy(next, 0, 0, this.j)
      this.out = next
    }
  }

  /** Append ASCII text. */
  ascii(s: string): void {
    // Keep room for the rest of the input too: plain copies rely on it and never check.
    this.ensure(s.length + this.src.length + 64)
    const out = this.out
    let j = this.j
    for (let k = 0; k < s.length; k++) out[j++] = s.charCodeAt(k)
    this.j = j
  }

  /** Skip JSON whitespace at p. */
  ws(p: number, end: number): number {
    const src = this.src
    let q = p
    while (q < end && WS[src[q]!] === 1) q++
    return q
  }

  private utf8(cp: number): void {
    this.ensure(4 + this.src.length + 64)
    const out = this.out
    let j = this.j
    if (cp < 0x80) out[j++] = cp
    else if (cp < 0x800) {
      out[j++] = 0xc0 | (cp >> 6)
      out[j++] = 0x80 | (cp & 63)
    } else if (cp < 0x10000) {
      out[j++] = 0xe0 | (cp >> 12)
      out[j++] = 0x80 | ((cp >> 6) & 63)
      out[j++] = 0x80 | (cp & 63)
    } else {
      out[j++] = 0xf0 | (cp >> 18)
      out[j++] = 0x80 | ((cp >> 12) & 63)
      out[j++] = 0x80 | ((cp >> 6) & 63)
      out[j++] = 0x80 | (cp & 63)
    }
    this.j = j
  }

  /**
   * Scan the string whose opening quote is at `p`, writing its canonical form; returns the
   * position after the closing quote. Sets `escaped`.
   */
  string(p: number, end: number): number {
    const src = this.src
    let out = this.out
    let j = this.j
    out[j++] = QUOTE
    let i = p + 1
    this.escaped = false
    for (;;) {
      let c = 0
      while (i < end && STRING_STOP[(c = src[i]!)] === 0) {
        out[j++] = c
        i++
      }
      if (i >= end) fail("unterminated string", p)
      if (c === QUOTE) {
        out[j++] = QUOTE
        this.j = j
        return i + 1
      }
      if (c !== BACKSLASH) fail("raw control character in string", i)
      this.escaped = true
      this.j = j
      i = this.escape(i, end)
      j = this.j
      out = this.out
    }
  }

  /** Handle the escape whose backslash is at `i`; returns the position after it. */
  private escape(i: number, end: number): number {
    const src = this.src
    if (i + 1 >= end) fail("unterminated escape", i)
    const e = src[i + 1]!
    switch (e) {
      case QUOTE:
      case BACKSLASH:
      case 0x62: // b
      case 0x66: // f
      case 0x6e: // n
      case 0x72: // r
      case 0x74: // t
        this.out[this.j++] = BACKSLASH
        this.out[this.j++] = e
        return i + 2
      case 0x2f: // "\/" is written raw
        this.out[this.j++] = 0x2f
        return i + 2
      case 0x75: {
        const cp = this.hex4(i + 2, end)
        if (cp >= 0xd800 && cp <= 0xdbff) {
          if (i + 11 < end && src[i + 6] === BACKSLASH && src[i + 7] === 0x75) {
            const lo = this.hex4(i + 8, end)
            if (lo >= 0xdc00 && lo <= 0xdfff) {
              this.utf8(0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00))
              return i + 12
            }
          }
          fail("lone surrogate escape (no UTF-8 form)", i)
        }
        if (cp >= 0xdc00 && cp <= 0xdfff) fail("lone surrogate escape (no UTF-8 form)", i)
        if (cp < 0x20) {
          let canon: string
          switch (cp) {
            case 0x08: canon = "\\b"; break
            case 0x09: canon = "\\t"; break
            case 0x0a: canon = "\\n"; break
            case 0x0c: canon = "\\f"; break
            case 0x0d: canon = "\\r"; break
            default: canon = "\\u00" + HEX[cp >> 4] + HEX[cp & 15]
          }
          this.ascii(canon)
          return i + 6
        }
        if (cp === QUOTE) this.ascii("\\\"")
        else if (cp === BACKSLASH) this.ascii("\\\\")
        else this.utf8(cp)
        return i + 6
      }
      default:
        return fail("invalid escape", i)
    }
  }

  private hex4(p: number, end: number): number {
    if (p + 4 > end) fail("truncated \\u escape", p)
    const src = this.src
    const a = hexVal(src[p]!), b = hexVal(src[p + 1]!), c = hexVal(src[p + 2]!), d = hexVal(src[p + 3]!)
    if ((a | b | c | d) < 0) fail("invalid \\u escape", p)
    return (a << 12) | (b << 8) | (c << 4) | d
  }

  /** Scan a number at p, writing its canonical lexeme; returns the end. Sets `lastIntegral`. */
  number(p: number, end: number): number {
    const src = this.src
    let i = p
    if (src[i] === 0x2d) i++
    let c = i < end ? src[i]! : 0
    if (c === 0x30) i++
    else if (c >= 0x31 && c <= 0x39) {
      i++
      while (i < end && (c = src[i]!) >= 0x30 && c <= 0x39) i++
    } else fail("invalid number", p)
    let integral = true
    if (i < end && src[i] === 0x2e) {
      integral = false
      i++
      const s = i
      while (i < end && (c = src[i]!) >= 0x30 && c <= 0x39) i++
      if (i === s) fail("invalid number", p)
    }
    if (i < end && (src[i] === 0x65 || src[i] === 0x45)) {
      integral = false
      i++
      if (i < end && (src[i] === 0x2b || src[i] === 0x2d)) i++
      const s = i
      while (i < end && (c = src[i]!) >= 0x30 && c <= 0x39) i++
      if (i === s) fail("invalid number", p)
    }
    this.lastIntegral = integral
    if (integral ? !(i - p === 2 && src[p] === 0x2d && src[p + 1] === 0x30) : isShortFixed(src, p, i)) {
      const out = this.out
      let j = this.j
      for (let k = p; k < i; k++) out[j++] = src[k]!
      this.j = j
      return i
    }
    if (integral) {
      // "-0"
      this.out[this.j++] = 0x30
      return i
    }
    const lexeme = src.toString("latin1", p, i)
    const canon = canonicalLexeme(lexeme, false)
    if (canon === undefined) fail("number is not finite as a double", p)
    this.ascii(canon!)
    return i
  }

  private literal(p: number, end: number, word: string): number {
    if (p + word.length > end) fail("invalid literal", p)
    // (no ensure: a literal's output is exactly the input it consumes)
    const src = this.src
    const out = this.out
    for (let k = 0; k < word.length; k++) {
      const c = word.charCodeAt(k)
      if (src[p + k] !== c) fail("invalid token", p)
      out[this.j + k] = c
    }
    this.j += word.length
    return p + word.length
  }

  private grow(): void {
    const n = this.mStart.length * 2
    const g = (a: Int32Array) => {
      const b = new Int32Array(n)
      b.set(a)
      return b
    }
    this.mStart = g(this.mStart)
    this.mEnd = g(this.mEnd)
    this.mKeyStart = g(this.mKeyStart)
    this.mKeyEnd = g(this.mKeyEnd)
    const p = new Uint32Array(n)
    p.set(this.mPrefix)
    this.mPrefix = p
  }

  private push(kind: number): void {
    if (this.depth === this.kinds.length) {
      const k = new Uint8Array(this.kinds.length * 2)
      k.set(this.kinds)
      this.kinds = k
      const b = new Int32Array(this.bases.length * 2)
      b.set(this.bases)
      this.bases = b
    }
    this.kinds[this.depth] = kind
    this.bases[this.depth] = this.mCount
    this.depth++
  }

  /** Scan `"key":` at i (a quote) and return the position of the member's value. */
  private key(i: number, end: number): number {
    const m = this.mCount
    if (m === this.mStart.length) this.grow()
    if (this.src[i] !== QUOTE) fail("expected a string key", i)
    this.mStart[m] = this.j
    const after = this.string(i, end)
    this.mKeyStart[m] = this.mStart[m]! + 1
    this.mKeyEnd[m] = this.j - 1
    let decoded: Uint8Array | undefined
    if (this.escaped) {
      // the canonical key may still hold escapes, whose bytes do not order like their values
      const text = this.out.toString("utf8", this.mStart[m]!, this.j)
      if (text.includes("\\")) decoded = Buffer.from(JSON.parse(text) as string, "utf8")
    }
    this.mKeyDecoded[m] = decoded
    this.mPrefix[m] = decoded ? keyPrefix(decoded, 0, decoded.length) : keyPrefix(this.out, this.mKeyStart[m]!, this.mKeyEnd[m]!)
    this.mCount = m + 1
    const src = this.src
    let j = after
    if (j < end && WS[src[j]!] === 1) j = this.ws(j, end)
    if (src[j] !== 0x3a) fail("expected ':'", j)
    this.out[this.j++] = 0x3a
    j++
    if (src[j] === 0x20) j++ // the usual ": " of Python's default separators
    if (j < end && WS[src[j]!] === 1) j = this.ws(j, end)
    return j
  }

  private cmp(x: number, y: number): number {
    const px = this.mPrefix[x]!
    const py = this.mPrefix[y]!
    if (px !== py) return px < py ? -1 : 1
    const dx = this.mKeyDecoded[x]
    const dy = this.mKeyDecoded[y]
    if (dx === undefined && dy === undefined) {
      return compareBytes(this.out, this.mKeyStart[x]!, this.mKeyEnd[x]!, this.out, this.mKeyStart[y]!, this.mKeyEnd[y]!)
    }
    return compareBytes(
      dx ?? this.out, dx ? 0 : this.mKeyStart[x]!, dx ? dx.length : this.mKeyEnd[x]!,
      dy ?? this.out, dy ? 0 : this.mKeyStart[y]!, dy ? dy.length : this.mKeyEnd[y]!
    )
  }

  private order = new Int32Array(64)

  /** Close the object whose members are m[base, mCount): check order, sort when needed. */
  private closeObject(base: number, p: number): void {
    const top = this.mCount
    let sorted = true
    for (let k = base + 1; k < top; k++) {
      const d = this.cmp(k - 1, k)
      if (d === 0) fail("duplicate key", p)
      if (d > 0) sorted = false
    }
    if (!sorted) {
      const n = top - base
      if (this.order.length < n) this.order = new Int32Array(n * 2)
      const order = this.order
      // insertion sort: objects are small, and this allocates nothing
      for (let k = 0; k < n; k++) {
        const m = base + k
        let q = k
        while (q > 0 && this.cmp(order[q - 1]!, m) > 0) {
          order[q] = order[q - 1]!
          q--
        }
        order[q] = m
      }
      for (let k = 1; k < n; k++) if (this.cmp(order[k - 1]!, order[k]!) === 0) fail("duplicate key", p)
      const regionStart = this.mStart[base]!
      const regionEnd = this.mEnd[top - 1]!
      const len = regionEnd - regionStart
      this.ensure(len)
      reorderMembers(this.out, this.j, this.mStart, this.mEnd, order, n, regionStart, regionEnd)
    }
    this.mCount = base
  }

  /** Scan one JSON value starting at p (no leading whitespace), writing its canonical bytes. */
  value(p: number, end: number): number {
    const src = this.src
    const depth0 = this.depth
    let i = p
    for (;;) {
      // --- a value starts at i
      if (i >= end) fail("unexpected end of line", i)
      let c = src[i]!
      if (c === QUOTE) i = this.string(i, end)
      else if (c === 0x7b) {
        this.out[this.j++] = 0x7b
        i++
        if (i < end && WS[src[i]!] === 1) i = this.ws(i, end)
        if (src[i] === 0x7d) {
          this.out[this.j++] = 0x7d
          i++
        } else {
          this.push(FRAME_OBJECT)
          i = this.key(i, end)
          continue
        }
      } else if (c === 0x5b) {
        this.out[this.j++] = 0x5b
        i++
        if (i < end && WS[src[i]!] === 1) i = this.ws(i, end)
        if (src[i] === 0x5d) {
          this.out[this.j++] = 0x5d
          i++
        } else {
          this.push(FRAME_ARRAY)
          continue
        }
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) i = this.number(i, end)
      else if (c === 0x74) i = this.literal(i, end, "true")
      else if (c === 0x66) i = this.literal(i, end, "false")
      else if (c === 0x6e) i = this.literal(i, end, "null")
      else fail(c === 0x4e || c === 0x49 ? "non-finite number token" : "unexpected character", i)
      // --- after a value: close containers or move to the next element
      for (;;) {
        if (this.depth === depth0) return i
        const kind = this.kinds[this.depth - 1]!
        if (kind === FRAME_OBJECT) this.mEnd[this.mCount - 1] = this.j
        if (i < end && WS[src[i]!] === 1) i = this.ws(i, end)
        if (i >= end) fail("unexpected end of line", i)
        c = src[i]!
        if (c === 0x2c) {
          this.out[this.j++] = 0x2c
          i++
          if (src[i] === 0x20) i++
          if (i < end && WS[src[i]!] === 1) i = this.ws(i, end)
          if (kind === FRAME_OBJECT) i = this.key(i, end)
          break
        }
        if (kind === FRAME_OBJECT && c === 0x7d) {
          this.closeObject(this.bases[this.depth - 1]!, i)
          this.out[this.j++] = 0x7d
          this.depth--
          i++
          continue
        }
        if (kind === FRAME_ARRAY && c === 0x5d) {
          this.out[this.j++] = 0x5d
          this.depth--
          i++
          continue
        }
        fail("expected ',' or a closing bracket", i)
      }
    }
  }
}

/** Canonical bytes of one complete JSON text (whitespace allowed around it). */
export const canonicalBytes = (src: Buffer, scanner: Scanner = new Scanner()): Buffer => {
  scanner.reset(src)
  let p = 0
  if (p < src.length && WS[src[p]!] === 1) p = scanner.ws(p, src.length)
  const stop = scanner.value(p, src.length)
  let tail = stop
  if (tail < src.length && WS[src[tail]!] === 1) tail = scanner.ws(tail, src.length)
  if (tail !== src.length) fail("trailing characters after the value", tail)
  return Buffer.from(scanner.out.subarray(0, scanner.j))
}
