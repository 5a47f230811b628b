/**
 * A byte-level JSON scanner that validates one value and yields its canonical bytes (FORMAT A.2)
 * without building objects.
 *
 * Hand-written because verification speed and byte-exactness both depend on it: it copies runs of
 * input that are already canonical, rewrites only what differs (whitespace, escapes, number
 * lexemes, key order), and when nothing differs it reports the value as canonical in place so the
 * caller can hash the input bytes directly. It is iterative (an explicit stack), so nesting depth
 * is bounded by memory, not by the call stack.
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

const hexVal = (c: number): number => {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

const compareBytes = (
  a: Uint8Array,
  as: number,
  ae: number,
  b: Uint8Array,
  bs: number,
  be: number
): number => {
  const la = ae - as
  const lb = be - bs
  const n = la < lb ? la : lb
  for (let i = 0; i < n; i++) {
    const d = a[as + i]! - b[bs + i]!
    if (d !== 0) return d
  }
  return la - lb
}

const FRAME_OBJECT = 1
const FRAME_ARRAY = 2

/** Where a scanned value's canonical bytes are: either in the input (in place) or in `out`. */
export interface Span {
  buf: Uint8Array
  start: number
  end: number
}

export class Scanner {
  src: Buffer = Buffer.alloc(0)
  out: Buffer = Buffer.allocUnsafe(4096)
  len = 0
  /** start of the pending verbatim run in `src` (its bytes are canonical output not yet copied) */
  run = 0
  /** set by `string()`: the last string held an escape sequence */
  escaped = false

  // explicit stack
  private frameKind: Array<number> = []
  private frameMembers: Array<number> = []
  // member table (objects): start/end in virtual output positions, key location for sorting
  private mStart: Array<number> = []
  private mEnd: Array<number> = []
  private mKeyBuf: Array<Uint8Array> = []
  private mKeyStart: Array<number> = []
  private mKeyEnd: Array<number> = []
  private mCount = 0

  reset(src: Buffer): void {
    this.src = src
    this.len = 0
    this.frameKind.length = 0
    this.frameMembers.length = 0
    this.mCount = 0
  }

  private ensure(n: number): void {
    if (this.len + n > this.out.length) {
      let size = this.out.length * 2
      while (size < this.len + n) size *= 2
      const next = Buffer.allocUnsafe(size)
      this.out.copy(next, 0, 0, this.len)
      this.out = next
    }
  }

  /** Copy src[a, b) to the output. */
  private copy(a: number, b: number): void {
    const n = b - a
    if (n <= 0) return
    this.ensure(n)
    if (n < 48) {
      const src = this.src
      const out = this.out
      let j = this.len
      for (let i = a; i < b; i++) out[j++] = src[i]!
    } else {
      this.src.copy(this.out, this.len, a, b)
    }
    this.len += n
  }

  private byte(c: number): void {
    this.ensure(1)
    this.out[this.len++] = c
  }

  private ascii(s: string): void {
    this.ensure(s.length)
    for (let i = 0; i < s.length; i++) this.out[this.len++] = s.charCodeAt(i)
  }

  private utf8(cp: number): void {
    this.ensure(4)
    const out = this.out
    if (cp < 0x80) out[this.len++] = cp
    else if (cp < 0x800) {
      out[this.len++] = 0xc0 | (cp >> 6)
      out[this.len++] = 0x80 | (cp & 63)
    } else if (cp < 0x10000) {
      out[this.len++] = 0xe0 | (cp >> 12)
      out[this.len++] = 0x80 | ((cp >> 6) & 63)
      out[this.len++] = 0x80 | (cp & 63)
    } else {
      out[this.len++] = 0xf0 | (cp >> 18)
      out[this.len++] = 0x80 | ((cp >> 12) & 63)
      out[this.len++] = 0x80 | ((cp >> 6) & 63)
      out[this.len++] = 0x80 | (cp & 63)
    }
  }

  /** Flush the pending run up to `p` and restart it at `q`. */
  private diverge(p: number, q: number): void {
    this.copy(this.run, p)
    this.run = q
  }

  /** Virtual output position of input position p (valid at token boundaries). */
  private vpos(p: number): number {
    return this.len + (p - this.run)
  }

  /** Skip JSON whitespace at p; whitespace is never canonical, so it ends the verbatim run. */
  ws(p: number, end: number): number {
    const src = this.src
    let q = p
    while (q < end) {
      const c = src[q]!
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) q++
      else break
    }
    if (q !== p) this.diverge(p, q)
    return q
  }

  /**
   * Scan the string starting at the opening quote `p`; returns the position after the closing
   * quote. Sets `escaped`.
   */
  string(p: number, end: number): number {
    const src = this.src
    let i = p + 1
    this.escaped = false
    for (;;) {
      if (i >= end) fail("unterminated string", p)
      const c = src[i]!
      if (c === QUOTE) return i + 1
      if (c === BACKSLASH) {
        this.escaped = true
        i = this.escape(i, end)
        continue
      }
      if (c < 0x20) fail("raw control character in string", i)
      i++
    }
  }

  /** Handle the escape at `i` (the backslash); returns the position after it. */
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
        return i + 2
      case 0x2f: // "\/" is written raw
        this.diverge(i, i + 2)
        this.byte(0x2f)
        return i + 2
      case 0x75: {
        const cp = this.hex4(i + 2, end)
        if (cp >= 0xd800 && cp <= 0xdbff) {
          if (i + 11 < end + 0 && src[i + 6] === BACKSLASH && src[i + 7] === 0x75) {
            const lo = this.hex4(i + 8, end)
            if (lo >= 0xdc00 && lo <= 0xdfff) {
              this.diverge(i, i + 12)
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
          // already canonical only when it is the lowercase \u00xx form for a code without a short escape
          if (canon.length === 6) {
            let same = true
            for (let k = 0; k < 6; k++) if (src[i + k] !== canon.charCodeAt(k)) same = false
            if (same) return i + 6
          }
          this.diverge(i, i + 6)
          this.ascii(canon)
          return i + 6
        }
        this.diverge(i, i + 6)
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

  /** Scan a number at p; returns the end. Sets `lastIntegral`. */
  lastIntegral = false
  number(p: number, end: number): number {
    const src = this.src
    let i = p
    if (src[i] === 0x2d) i++
    let c = src[i]
    if (c === 0x30) i++
    else if (c !== undefined && c >= 0x31 && c <= 0x39) {
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
    if (integral) {
      // only "-0" differs from its canonical form
      if (i - p === 2 && src[p] === 0x2d && src[p + 1] === 0x30) {
        this.diverge(p, i)
        this.byte(0x30)
      }
      return i
    }
    const lexeme = src.toString("latin1", p, i)
    const canon = canonicalLexeme(lexeme, false)
    if (canon === undefined) fail("number is not finite as a double", p)
    if (canon !== lexeme) {
      this.diverge(p, i)
      this.ascii(canon!)
    }
    return i
  }

  private literal(p: number, end: number, word: string): number {
    if (p + word.length > end) fail("invalid literal", p)
    for (let k = 0; k < word.length; k++) if (this.src[p + k] !== word.charCodeAt(k)) fail("invalid token", p)
    return p + word.length
  }

  /** Sort key of the member key whose string spans [a, b) in src (quotes included). */
  private recordKey(a: number, b: number): void {
    const m = this.mCount
    if (!this.escaped) {
      this.mKeyBuf[m] = this.src
      this.mKeyStart[m] = a + 1
      this.mKeyEnd[m] = b - 1
    } else {
      // Rare: the key held escapes, so its raw bytes do not order like its value. Decode it.
      const text = this.src.toString("utf8", a, b)
      const bytes = Buffer.from(JSON.parse(text) as string, "utf8")
      this.mKeyBuf[m] = bytes
      this.mKeyStart[m] = 0
      this.mKeyEnd[m] = bytes.length
    }
  }

  /** Close the object whose members are m[base, mCount); sort in the output when needed. */
  private closeObject(base: number, p: number): void {
    const count = this.mCount - base
    let sorted = true
    for (let k = base + 1; k < this.mCount; k++) {
      const d = compareBytes(
        this.mKeyBuf[k - 1]!, this.mKeyStart[k - 1]!, this.mKeyEnd[k - 1]!,
        this.mKeyBuf[k]!, this.mKeyStart[k]!, this.mKeyEnd[k]!
      )
      if (d === 0) fail("duplicate key", p)
      if (d > 0) sorted = false
    }
    if (!sorted) {
      const order: Array<number> = []
      for (let k = base; k < this.mCount; k++) order.push(k)
      order.sort((x, y) =>
        compareBytes(
          this.mKeyBuf[x]!, this.mKeyStart[x]!, this.mKeyEnd[x]!,
          this.mKeyBuf[y]!, this.mKeyStart[y]!, this.mKeyEnd[y]!
        )
      )
      for (let k = 1; k < count; k++) {
        const x = order[k - 1]!, y = order[k]!
        if (
          compareBytes(
            this.mKeyBuf[x]!, this.mKeyStart[x]!, this.mKeyEnd[x]!,
            this.mKeyBuf[y]!, this.mKeyStart[y]!, this.mKeyEnd[y]!
          ) === 0
        ) fail("duplicate key", p)
      }
      // materialize everything up to p, then rewrite the members' region in sorted order
      this.diverge(p, p)
      const regionStart = this.mStart[base]!
      const regionEnd = this.mEnd[this.mCount - 1]!
      const saved = Buffer.from(this.out.subarray(regionStart, regionEnd))
      let w = regionStart
      for (let k = 0; k < count; k++) {
        const m = order[k]!
        if (k > 0) this.out[w++] = 0x2c
        saved.copy(this.out, w, this.mStart[m]! - regionStart, this.mEnd[m]! - regionStart)
        w += this.mEnd[m]! - this.mStart[m]!
      }
    }
    this.mCount = base
  }

  /**
   * Scan one JSON value starting at p (no leading whitespace). Returns its end. The value's
   * canonical bytes are out[lenBefore, len) followed by src[run, end) (see `finish`).
   */
  value(p: number, end: number): number {
    const src = this.src
    const kinds = this.frameKind
    const bases = this.frameMembers
    const depth0 = kinds.length
    let i = p
    for (;;) {
      // --- a value starts at i
      if (i >= end) fail("unexpected end of line", i)
      let c = src[i]!
      let closed = false
      if (c === 0x7b) {
        i = this.ws(i + 1, end)
        if (src[i] === 0x7d) {
          i++
          closed = true
        } else {
          kinds.push(FRAME_OBJECT)
          bases.push(this.mCount)
          i = this.key(i, end)
          continue
        }
      } else if (c === 0x5b) {
        i = this.ws(i + 1, end)
        if (src[i] === 0x5d) {
          i++
          closed = true
        } else {
          kinds.push(FRAME_ARRAY)
          bases.push(0)
          continue
        }
      } else if (c === QUOTE) i = this.string(i, end)
      else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) i = this.number(i, end)
      else if (c === 0x74) i = this.literal(i, end, "true")
      else if (c === 0x66) i = this.literal(i, end, "false")
      else if (c === 0x6e) i = this.literal(i, end, "null")
      else fail(c === 0x4e || c === 0x49 ? "non-finite number token" : "unexpected character", i)
      void closed
      // --- after a value: close containers or move to the next element
      for (;;) {
        if (kinds.length === depth0) return i
        const kind = kinds[kinds.length - 1]!
        if (kind === FRAME_OBJECT) this.mEnd[this.mCount - 1] = this.vpos(i)
        i = this.ws(i, end)
        c = src[i]!
        if (i >= end) fail("unexpected end of line", i)
        if (c === 0x2c) {
          i = this.ws(i + 1, end)
          if (kind === FRAME_OBJECT) i = this.key(i, end)
          break
        }
        if (kind === FRAME_OBJECT && c === 0x7d) {
          this.closeObject(bases[bases.length - 1]!, i)
          kinds.pop()
          bases.pop()
          i++
          continue
        }
        if (kind === FRAME_ARRAY && c === 0x5d) {
          kinds.pop()
          bases.pop()
          i++
          continue
        }
        fail("expected ',' or a closing bracket", i)
      }
    }
  }

  /** Scan `"key" :` at i and leave i at the member's value. */
  private key(i: number, end: number): number {
    if (this.src[i] !== QUOTE) fail("expected a string key", i)
    const m = this.mCount
    this.mStart[m] = this.vpos(i)
    const after = this.string(i, end)
    this.recordKey(i, after)
    this.mCount = m + 1
    let j = this.ws(after, end)
    if (this.src[j] !== 0x3a) fail("expected ':'", j)
    j = this.ws(j + 1, end)
    return j
  }

  /** Begin a value at p: output from here on belongs to it. */
  begin(p: number): number {
    this.run = p
    return this.len
  }

  /**
   * End the value that began at `start` (with output mark `mark`) and ended at `stop`: returns
   * where its canonical bytes are. When the input was already canonical, that is the input itself.
   */
  finish(start: number, stop: number, mark: number, span: Span): void {
    if (this.len === mark) {
      span.buf = this.src
      span.start = start
      span.end = stop
    } else {
      this.copy(this.run, stop)
      this.run = stop
      span.buf = this.out
      span.start = mark
      span.end = this.len
    }
  }
}

/** Canonical bytes of one complete JSON text (whitespace allowed around it). */
export const canonicalBytes = (src: Buffer, scanner: Scanner = new Scanner()): Buffer => {
  scanner.reset(src)
  let p = scanner.begin(0)
  p = scanner.ws(0, src.length)
  const mark = scanner.begin(p)
  const stop = scanner.value(p, src.length)
  const span: Span = { buf: src, start: 0, end: 0 }
  scanner.finish(p, stop, mark, span)
  const tail = scanner.ws(stop, src.length)
  if (tail !== src.length) fail("trailing characters after the value", tail)
  return Buffer.from(span.buf.subarray(span.start, span.end))
}
