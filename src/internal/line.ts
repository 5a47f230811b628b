/**
 * Reads one log line into the fields verification needs and lays out the hashed message
 * `prev_hash + canonical body` as it scans, without building objects.
 * @internal
 */
import { equalBytesConstantTime, equalConstantTime } from "./hmac.js"
import { Scanner, ScanFailure } from "./scanner.js"

export class LineError {
  constructor(readonly reason: string) {}
}

const K_PAYLOAD = 1, K_SEQ = 2, K_TS = 4, K_TYPE = 8, K_PREV = 16, K_HASH = 32, K_SIG = 64, K_META = 128

const eq = (src: Buffer, a: number, word: string): boolean => {
  for (let k = 0; k < word.length; k++) if (src[a + k] !== word.charCodeAt(k)) return false
  return true
}

/** Which known top-level field the key src[a, b) (content, no escapes) names; 0 for others. */
const keyBit = (src: Buffer, a: number, b: number): number => {
  switch (b - a) {
    case 2: return src[a] === 0x74 && src[a + 1] === 0x73 ? K_TS : 0
    case 3:
      if (src[a] === 0x73) {
        if (src[a + 1] === 0x65 && src[a + 2] === 0x71) return K_SEQ
        if (src[a + 1] === 0x69 && src[a + 2] === 0x67) return K_SIG
      }
      return 0
    case 4:
      if (eq(src, a, "type")) return K_TYPE
      if (eq(src, a, "hash")) return K_HASH
      return 0
    case 5: return eq(src, a, "_meta") ? K_META : 0
    case 7: return eq(src, a, "payload") ? K_PAYLOAD : 0
    case 9: return eq(src, a, "prev_hash") ? K_PREV : 0
    default: return 0
  }
}

const NAMES: Record<string, number> = {
  payload: K_PAYLOAD, seq: K_SEQ, ts: K_TS, type: K_TYPE, prev_hash: K_PREV, hash: K_HASH, sig: K_SIG, _meta: K_META
}

/** Room for a prev_hash of the usual 64 hex characters before the body, so they hash as one buffer. */
const PREV_ROOM = 64
const PAYLOAD_LITERAL = '{"payload":'

const EMPTY = Buffer.alloc(0)

/** A string field of the line: its canonical content bytes, or its value when it held escapes. */
export class Field {
  buf: Buffer = EMPTY
  start = 0
  end = 0
  decoded: string | undefined = undefined

  set(buf: Buffer, start: number, end: number, escaped: boolean): void {
    this.buf = buf
    this.start = start + 1
    this.end = end - 1
    this.decoded = escaped ? (JSON.parse(buf.toString("utf8", start, end)) as string) : undefined
  }

  /** Locate 64 bytes of src as the content, unchecked: only equality with hex may vouch for it. */
  setUnchecked(buf: Buffer, start: number): void {
    this.buf = buf
    this.start = start
    this.end = start + 64
    this.decoded = undefined
  }

  clear(): void {
    this.buf = EMPTY
    this.start = 0
    this.end = 0
    this.decoded = ""
  }

  get value(): string {
    return this.decoded ?? this.buf.toString("utf8", this.start, this.end)
  }

  /** Equality with an ASCII string, without decoding. */
  equals(s: string): boolean {
    if (this.decoded !== undefined) return this.decoded === s
    const n = this.end - this.start
    if (n !== s.length) return false
    const b = this.buf
    for (let k = 0; k < n; k++) if (b[this.start + k] !== s.charCodeAt(k)) return false
    return true
  }

  /** Equality in time independent of where the first difference is (signatures). */
  equalsConstantTime(s: string): boolean {
    return this.decoded !== undefined
      ? equalConstantTime(this.decoded, s)
      : equalBytesConstantTime(this.buf, this.start, this.end - this.start, s)
  }

  get isEmpty(): boolean {
    return this.decoded !== undefined ? this.decoded.length === 0 : this.end === this.start
  }
}

/** The parsed line. Reused from line to line: read what you need before the next `parse`. */
export class LineReader {
  readonly scanner = new Scanner()
  isMeta = false
  metaStart = 0
  metaEnd = 0
  seq = 0
  readonly prevHash = new Field()
  readonly hash = new Field()
  readonly sig = new Field()
  /** `[room for prev_hash]{"payload":P,"seq":S,"ts":T,"type":Y}`: the hashed message, built as we go */
  private body: Buffer = Buffer.allocUnsafe(4096)
  private bodyLen = 0
  /** every other value's canonical bytes */
  private misc: Buffer = Buffer.allocUnsafe(4096)
  private miscLen = 0
  private seqAt = 0
  private seqEnd = 0
  private tsAt = 0
  private tsEnd = 0
  private typeAt = 0
  private typeEnd = 0
  private unknownKeys: Array<string> = []

  /** Some of prev_hash, hash and sig were located but not checked (see `parse`). */
  unchecked = false

  /**
   * Parse the line src[start, end) (UTF-8 already checked). Throws LineError or ScanFailure.
   *
   * With `defer`, a prev_hash, hash or sig value that looks like `"` + 64 bytes + `"` is only
   * located, not scanned: the caller compares it with a hex string it computes anyway, and
   * equality proves it well-formed. A caller whose comparison fails must parse again without
   * `defer` before it concludes anything.
   */
  parse(src: Buffer, start: number, end: number, defer = false): void {
    const s = this.scanner
    this.unchecked = false
    s.reset(src)
    this.miscLen = 0
    let i = start
    if (i < end && src[i]! <= 0x20) i = s.ws(i, end)
    if (src[i] !== 0x7b) throw new LineError("not a JSON object")
    i++
    if (i < end && src[i]! <= 0x20) i = s.ws(i, end)
    let seen = 0
    if (this.unknownKeys.length > 0) this.unknownKeys.length = 0
    this.isMeta = false
    if (src[i] !== 0x7d) {
      for (;;) {
        if (src[i] !== 0x22) throw new ScanFailure("expected a string key", i)
        // keys are read from the input directly; the scanner writes only values
        let k = i + 1
        let escapedKey = false
        while (k < end && src[k] !== 0x22) {
          if (src[k] === 0x5c) {
            escapedKey = true
            k++
          }
          k++
        }
        if (k >= end) throw new ScanFailure("unterminated string", i)
        const keyEnd = k + 1
        let bit: number
        let name: string | undefined
        if (!escapedKey) {
          bit = keyBit(src, i + 1, k)
          for (let q = i + 1; q < k; q++) if (src[q]! < 0x20) throw new ScanFailure("raw control character in string", q)
        } else {
          this.misc = s.target(this.misc, this.miscLen)
          s.string(i, end) // validates the escapes
          name = JSON.parse(src.toString("utf8", i, keyEnd)) as string
          bit = NAMES[name] ?? 0
        }
        if (bit === 0) {
          name ??= src.toString("utf8", i + 1, k)
          if (this.unknownKeys.includes(name)) throw new ScanFailure("duplicate key", i)
          this.unknownKeys.push(name)
        } else {
          if (seen & bit) throw new ScanFailure("duplicate key", i)
          seen |= bit
        }
        i = keyEnd
        if (i < end && src[i]! <= 0x20) i = s.ws(i, end)
        if (src[i] !== 0x3a) throw new ScanFailure("expected ':'", i)
        i++
        if (i < end && src[i]! <= 0x20) i = s.ws(i, end)
        const c = src[i]
        if (defer && bit >= K_PREV && bit <= K_SIG && c === 0x22 && i + 65 < end && src[i + 65] === 0x22) {
          ;(bit === K_PREV ? this.prevHash : bit === K_HASH ? this.hash : this.sig).setUnchecked(src, i + 1)
          this.unchecked = true
          i += 66
        } else if (bit === K_PAYLOAD) {
          if (c !== 0x7b) throw new LineError("payload is not an object")
          s.target(this.body, PREV_ROOM)
          s.ascii(PAYLOAD_LITERAL)
          i = s.value(i, end)
          this.body = s.out
          this.bodyLen = s.j
        } else {
          this.misc = s.target(this.misc, this.miscLen)
          const vStart = s.j
          i = s.value(i, end)
          const vEnd = s.j
          this.misc = s.out
          this.miscLen = vEnd
          switch (bit) {
            case K_SEQ:
              if (!(c === 0x2d || (c! >= 0x30 && c! <= 0x39)) || !s.lastIntegral) throw new LineError("seq is not an integer")
              if (this.misc[vStart] === 0x2d) throw new LineError("seq is negative")
              this.seq = vEnd - vStart < 16 ? parseDigits(this.misc, vStart, vEnd) : Number(this.misc.toString("latin1", vStart, vEnd))
              if (!Number.isSafeInteger(this.seq)) throw new LineError("seq is not a safe integer")
              this.seqAt = vStart
              this.seqEnd = vEnd
              break
            case K_TS:
              if (c !== 0x22) throw new LineError("ts is not a string")
              this.tsAt = vStart
              this.tsEnd = vEnd
              break
            case K_TYPE:
              if (c !== 0x22) throw new LineError("type is not a string")
              this.typeAt = vStart
              this.typeEnd = vEnd
              break
            case K_PREV:
            case K_HASH:
            case K_SIG:
              if (c !== 0x22) throw new LineError(`${bit === K_PREV ? "prev_hash" : bit === K_HASH ? "hash" : "sig"} is not a string`)
              ;(bit === K_PREV ? this.prevHash : bit === K_HASH ? this.hash : this.sig).set(this.misc, vStart, vEnd, s.escaped)
              break
            case K_META:
              if (c !== 0x7b) throw new LineError("_meta is not an object")
              this.metaStart = vStart
              this.metaEnd = vEnd
              break
          }
        }
        if (i < end && src[i]! <= 0x20) i = s.ws(i, end)
        if (src[i] === 0x2c) {
          i++
          if (i < end && src[i]! <= 0x20) i = s.ws(i, end)
          continue
        }
        if (src[i] === 0x7d) break
        throw new ScanFailure("expected ',' or '}'", i)
      }
    }
    i++
    if (i < end && src[i]! <= 0x20) i = s.ws(i, end)
    if (i !== end) throw new ScanFailure("trailing characters after the object", i)
    if (seen & K_META) {
      this.isMeta = true
      return
    }
    const missing: Array<string> = []
    if (!(seen & K_SEQ)) missing.push("seq")
    if (!(seen & K_TS)) missing.push("ts")
    if (!(seen & K_TYPE)) missing.push("type")
    if (!(seen & K_PAYLOAD)) missing.push("payload")
    if (!(seen & K_PREV)) missing.push("prev_hash")
    if (!(seen & K_HASH)) missing.push("hash")
    if (missing.length > 0) throw new LineError(`missing field${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`)
    if (!(seen & K_SIG)) this.sig.clear()
    // finish the body: the members that are not the payload follow it, in hashed order
    s.target(this.body, this.bodyLen)
    s.ascii(',"seq":')
    this.append(this.seqAt, this.seqEnd)
    s.ascii(',"ts":')
    this.append(this.tsAt, this.tsEnd)
    s.ascii(',"type":')
    this.append(this.typeAt, this.typeEnd)
    s.ascii("}")
    this.body = s.out
    this.bodyLen = s.j
  }

  private append(a: number, e: number): void {
    const s = this.scanner
    s.ensure(e - a)
    const out = s.out
    const misc = this.misc
    let j = s.j
    if (e - a < 64) for (let q = a; q < e; q++) out[j++] = misc[q]!
    else j += misc.copy(out, j, a, e)
    s.j = j
  }

  /** The canonical `_meta` value of a header line, as text. */
  metaText(): string {
    return this.misc.toString("utf8", this.metaStart, this.metaEnd)
  }

  /** SHA-256 input of the parsed entry: prev_hash followed by the canonical body. */
  message(): Buffer {
    const prev = this.prevHash
    const body = this.body
    if (prev.decoded === undefined && prev.end - prev.start === PREV_ROOM) {
      const b = prev.buf
      for (let k = 0; k < PREV_ROOM; k++) body[k] = b[prev.start + k]!
      return body.subarray(0, this.bodyLen)
    }
    return Buffer.concat([Buffer.from(prev.value, "utf8"), body.subarray(PREV_ROOM, this.bodyLen)])
  }
}

const parseDigits = (b: Buffer, a: number, e: number): number => {
  let v = 0
  for (let k = a; k < e; k++) v = v * 10 + (b[k]! - 48)
  return v
}
