/**
 * Reads one log line into the fields verification needs, and builds the hashed message
 * `prev_hash + canonical body` in a reused buffer, without building objects.
 * @internal
 */
import { Scanner, ScanFailure, type Span } from "./scanner.js"

export class LineError {
  constructor(readonly reason: string) {}
}

const K_PAYLOAD = 1, K_SEQ = 2, K_TS = 4, K_TYPE = 8, K_PREV = 16, K_HASH = 32, K_SIG = 64, K_META = 128

const keyBit = (src: Buffer, a: number, b: number): number => {
  // a..b is the key's content (no quotes, no escapes)
  const n = b - a
  const c0 = src[a]
  switch (n) {
    case 2: return c0 === 0x74 && src[a + 1] === 0x73 ? K_TS : 0
    case 3:
      if (c0 === 0x73) {
        if (src[a + 1] === 0x65 && src[a + 2] === 0x71) return K_SEQ
        if (src[a + 1] === 0x69 && src[a + 2] === 0x67) return K_SIG
      }
      return 0
    case 4:
      if (c0 === 0x74 && src.toString("latin1", a, b) === "type") return K_TYPE
      if (c0 === 0x68 && src.toString("latin1", a, b) === "hash") return K_HASH
      return 0
    case 5: return c0 === 0x5f && src.toString("latin1", a, b) === "_meta" ? K_META : 0
    case 7: return c0 === 0x70 && src.toString("latin1", a, b) === "payload" ? K_PAYLOAD : 0
    case 9: return c0 === 0x70 && src.toString("latin1", a, b) === "prev_hash" ? K_PREV : 0
    default: return 0
  }
}

const NAMES: Record<string, number> = {
  payload: K_PAYLOAD, seq: K_SEQ, ts: K_TS, type: K_TYPE, prev_hash: K_PREV, hash: K_HASH, sig: K_SIG, _meta: K_META
}

const PAYLOAD_OPEN = Buffer.from('{"payload":', "latin1")
const SEQ_SEP = Buffer.from(',"seq":', "latin1")
const TS_SEP = Buffer.from(',"ts":', "latin1")
const TYPE_SEP = Buffer.from(',"type":', "latin1")

const newSpan = (): Span => ({ buf: Buffer.alloc(0), start: 0, end: 0 })

/** The parsed line. Reused from line to line: read what you need before the next `parse`. */
export class LineReader {
  readonly scanner = new Scanner()
  isMeta = false
  metaStart = 0
  metaEnd = 0
  seq = 0
  prevHash = ""
  hash = ""
  sig = ""
  type = ""
  private readonly payload = newSpan()
  private readonly seqSpan = newSpan()
  private readonly ts = newSpan()
  private readonly typeSpan = newSpan()
  private readonly scratch = newSpan()
  private msg = Buffer.allocUnsafe(4096)
  private unknownKeys: Array<string> = []

  /** Parse the line src[start, end) (UTF-8 already checked). Throws LineError or ScanFailure. */
  parse(src: Buffer, start: number, end: number): void {
    const s = this.scanner
    s.reset(src)
    s.begin(start)
    let i = s.ws(start, end)
    if (src[i] !== 0x7b) throw new LineError("not a JSON object")
    i = s.ws(i + 1, end)
    let seen = 0
    this.unknownKeys.length = 0
    this.isMeta = false
    if (src[i] !== 0x7d) {
      for (;;) {
        if (src[i] !== 0x22) throw new ScanFailure("expected a string key", i)
        const keyEnd = s.string(i, end)
        let bit: number
        if (!s.escaped) bit = keyBit(src, i + 1, keyEnd - 1)
        else bit = NAMES[JSON.parse(src.toString("utf8", i, keyEnd)) as string] ?? 0
        if (bit === 0) {
          const name = s.escaped ? (JSON.parse(src.toString("utf8", i, keyEnd)) as string) : src.toString("utf8", i + 1, keyEnd - 1)
          if (this.unknownKeys.includes(name)) throw new ScanFailure("duplicate key", i)
          this.unknownKeys.push(name)
        } else {
          if (seen & bit) throw new ScanFailure("duplicate key", i)
          seen |= bit
        }
        i = s.ws(keyEnd, end)
        if (src[i] !== 0x3a) throw new ScanFailure("expected ':'", i)
        i = s.ws(i + 1, end)
        const vStart = i
        const c = src[i]
        const mark = s.begin(i)
        i = s.value(i, end)
        switch (bit) {
          case K_PAYLOAD:
            if (c !== 0x7b) throw new LineError("payload is not an object")
            s.finish(vStart, i, mark, this.payload)
            break
          case K_SEQ:
            if (!(c === 0x2d || (c! >= 0x30 && c! <= 0x39)) || !s.lastIntegral) throw new LineError("seq is not an integer")
            s.finish(vStart, i, mark, this.seqSpan)
            this.seq = Number(src.toString("latin1", vStart, i))
            if (!Number.isSafeInteger(this.seq) || this.seq < 0) throw new LineError("seq is not a non-negative integer")
            break
          case K_TS:
            if (c !== 0x22) throw new LineError("ts is not a string")
            s.finish(vStart, i, mark, this.ts)
            break
          case K_TYPE:
            if (c !== 0x22) throw new LineError("type is not a string")
            s.finish(vStart, i, mark, this.typeSpan)
            this.type = this.text(this.typeSpan)
            break
          case K_PREV:
          case K_HASH:
          case K_SIG: {
            if (c !== 0x22) throw new LineError(`${bit === K_PREV ? "prev_hash" : bit === K_HASH ? "hash" : "sig"} is not a string`)
            s.finish(vStart, i, mark, this.scratch)
            const v = this.text(this.scratch)
            if (bit === K_PREV) this.prevHash = v
            else if (bit === K_HASH) this.hash = v
            else this.sig = v
            break
          }
          case K_META:
            if (c !== 0x7b) throw new LineError("_meta is not an object")
            this.metaStart = vStart
            this.metaEnd = i
            break
          default:
            s.finish(vStart, i, mark, this.scratch)
        }
        i = s.ws(i, end)
        if (src[i] === 0x2c) {
          i = s.ws(i + 1, end)
          continue
        }
        if (src[i] === 0x7d) break
        throw new ScanFailure("expected ',' or '}'", i)
      }
    }
    i = s.ws(i + 1, end)
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
    if (!(seen & K_SIG)) this.sig = ""
  }

  /** The value of a string whose canonical bytes are in `span` (quotes included). */
  private text(span: Span): string {
    const b = span.buf as Buffer
    for (let k = span.start + 1; k < span.end - 1; k++) {
      const c = b[k]!
      if (c === 0x5c || c >= 0x80) return JSON.parse(b.toString("utf8", span.start, span.end)) as string
    }
    return b.toString("latin1", span.start + 1, span.end - 1)
  }

  /** SHA-256 input of the parsed entry: prev_hash followed by the canonical body. */
  message(): Buffer {
    const prevLen = Buffer.byteLength(this.prevHash, "utf8")
    const p = this.payload, q = this.seqSpan, t = this.ts, y = this.typeSpan
    const n = prevLen + 11 + (p.end - p.start) + 7 + (q.end - q.start) + 6 + (t.end - t.start) + 8 + (y.end - y.start) + 1
    if (this.msg.length < n) this.msg = Buffer.allocUnsafe(Math.max(n, this.msg.length * 2))
    const m = this.msg
    let w = prevLen === 64 && this.prevHash.length === 64 ? m.write(this.prevHash, 0, "latin1") : m.write(this.prevHash, 0, "utf8")
    w += PAYLOAD_OPEN.copy(m, w)
    w += (p.buf as Buffer).copy(m, w, p.start, p.end)
    w += SEQ_SEP.copy(m, w)
    w += (q.buf as Buffer).copy(m, w, q.start, q.end)
    w += TS_SEP.copy(m, w)
    w += (t.buf as Buffer).copy(m, w, t.start, t.end)
    w += TYPE_SEP.copy(m, w)
    w += (y.buf as Buffer).copy(m, w, y.start, y.end)
    m[w++] = 0x7d
    return m.subarray(0, w)
  }
}
