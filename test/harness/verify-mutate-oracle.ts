/**
 * The oracle of the verification fuzz harness (`verify-mutate.test.ts`): what a pack's bytes
 * *mean*, computed without any of the project's code.
 *
 * Why an independent implementation: the harness judges the verifier, and the verifier's own
 * canonical form comes from `Canonical`, `internal/scanner`, `internal/fast` and the WebAssembly
 * kernel. An oracle built on the same code would share their mistakes (a lexeme rewritten the
 * wrong way, a duplicate key let through, an escape decoded twice) and call them "unchanged".
 * So this file has its own strict JSON reader (RFC 8259 grammar, duplicate keys refused at every
 * depth, lone surrogates refused, non-finite numbers refused), its own canonical writer (FORMAT
 * A.2: keys by code point, Python `repr` numbers, the escape set) and the file framing of FORMAT
 * part C (a leading BOM, one `\r` before `\n`, blank lines). It only uses Node's UTF-8 decoder and
 * `Number` parsing, which the project's verifier does not rely on for canonical bytes.
 */

/** A number token, kept as its canonical lexeme (the lexeme is part of the hash). */
export class Lex {
  constructor(readonly canonical: string) {}
}

/** An object: members in input order, keys unique (checked while reading). */
export class Obj {
  constructor(readonly members: ReadonlyMap<string, Value>) {}
  get(key: string): Value | undefined {
    return this.members.get(key)
  }
  has(key: string): boolean {
    return this.members.has(key)
  }
}

export type Value = null | boolean | string | Lex | Obj | ReadonlyArray<Value>

export class Invalid extends Error {}

// ---------------------------------------------------------------------------------------------
// canonical numbers

/**
 * Python's `repr` of a double: shortest round-trip digits (ECMAScript's `toExponential()` with no
 * argument gives exactly those), fixed notation when the decimal exponent is in [-4, 16), else
 * `d.ddde±XX` with at least two exponent digits; always a `.` or an exponent.
 */
export const pyRepr = (x: number): string => {
  if (!Number.isFinite(x)) throw new Invalid("non-finite number")
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0"
  const sign = x < 0 ? "-" : ""
  const [mantissa, exponent] = Math.abs(x).toExponential().split("e") as [string, string]
  const digits = mantissa.replace(".", "")
  const exp = Number(exponent)
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      const int = digits.slice(0, exp + 1).padEnd(exp + 1, "0")
      const frac = digits.slice(exp + 1)
      return `${sign}${int}.${frac === "" ? "0" : frac}`
    }
    return `${sign}0.${"0".repeat(-exp - 1)}${digits}`
  }
  const m = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`
  return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`
}

/** The canonical lexeme of a JSON number token (already checked against the grammar). */
const numberLexeme = (token: string): string => {
  if (!/[.eE]/.test(token)) {
    // an integer: its digits, any size; `-0` is `0`
    return token === "-0" ? "0" : token
  }
  return pyRepr(Number(token))
}

// ---------------------------------------------------------------------------------------------
// strict reader

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y

class Reader {
  private i = 0
  constructor(private readonly s: string) {}

  private ws(): void {
    const s = this.s
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i)
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++
      else break
    }
  }

  document(): Value {
    this.ws()
    const v = this.value(0)
    this.ws()
    if (this.i !== this.s.length) throw new Invalid(`trailing text at ${this.i}`)
    return v
  }

  private value(depth: number): Value {
    if (depth > 512) throw new Invalid("too deep")
    const s = this.s
    const c = s[this.i]
    if (c === "{") return this.object(depth)
    if (c === "[") return this.array(depth)
    if (c === '"') return this.string()
    if (s.startsWith("true", this.i)) {
      this.i += 4
      return true
    }
    if (s.startsWith("false", this.i)) {
      this.i += 5
      return false
    }
    if (s.startsWith("null", this.i)) {
      this.i += 4
      return null
    }
    NUMBER.lastIndex = this.i
    const m = NUMBER.exec(s)
    if (m === null) throw new Invalid(`unexpected ${JSON.stringify(c)} at ${this.i}`)
    this.i += m[0].length
    return new Lex(numberLexeme(m[0]))
  }

  private object(depth: number): Obj {
    this.i++
    const members = new Map<string, Value>()
    this.ws()
    if (this.s[this.i] === "}") {
      this.i++
      return new Obj(members)
    }
    for (;;) {
      this.ws()
      if (this.s[this.i] !== '"') throw new Invalid(`expected a key at ${this.i}`)
      const k = this.string()
      if (members.has(k)) throw new Invalid(`duplicate key ${JSON.stringify(k)}`)
      this.ws()
      if (this.s[this.i] !== ":") throw new Invalid(`expected ':' at ${this.i}`)
      this.i++
      this.ws()
      members.set(k, this.value(depth + 1))
      this.ws()
      const c = this.s[this.i++]
      if (c === "}") return new Obj(members)
      if (c !== ",") throw new Invalid(`expected ',' or '}' at ${this.i - 1}`)
    }
  }

  private array(depth: number): ReadonlyArray<Value> {
    this.i++
    const out: Array<Value> = []
    this.ws()
    if (this.s[this.i] === "]") {
      this.i++
      return out
    }
    for (;;) {
      this.ws()
      out.push(this.value(depth + 1))
      this.ws()
      const c = this.s[this.i++]
      if (c === "]") return out
      if (c !== ",") throw new Invalid(`expected ',' or ']' at ${this.i - 1}`)
    }
  }

  private string(): string {
    const s = this.s
    this.i++
    let out = ""
    for (;;) {
      if (this.i >= s.length) throw new Invalid("unterminated string")
      const c = s.charCodeAt(this.i)
      if (c === 0x22) {
        this.i++
        break
      }
      if (c < 0x20) throw new Invalid(`raw control character in a string at ${this.i}`)
      if (c !== 0x5c) {
        out += s[this.i++]
        continue
      }
      const e = s[this.i + 1]
      this.i += 2
      switch (e) {
        case '"': out += '"'; break
        case "\\": out += "\\"; break
        case "/": out += "/"; break
        case "b": out += "\b"; break
        case "f": out += "\f"; break
        case "n": out += "\n"; break
        case "r": out += "\r"; break
        case "t": out += "\t"; break
        case "u": {
          const h = s.slice(this.i, this.i + 4)
          if (!/^[0-9a-fA-F]{4}$/.test(h)) throw new Invalid(`bad \\u escape at ${this.i}`)
          out += String.fromCharCode(parseInt(h, 16))
          this.i += 4
          break
        }
        default:
          throw new Invalid(`bad escape at ${this.i - 2}`)
      }
    }
    // a lone surrogate (from an escape) has no UTF-8 form: FORMAT A.2 makes the line malformed
    if (!out.isWellFormed()) throw new Invalid("lone surrogate in a string")
    return out
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** Parse one line's bytes (UTF-8, one JSON value), strictly. Throws `Invalid`. */
export const parseLine = (bytes: Uint8Array): Value => {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    throw new Invalid("not UTF-8")
  }
  return new Reader(text).document()
}

// ---------------------------------------------------------------------------------------------
// canonical writer

const escapeString = (s: string): string => {
  let out = '"'
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    if (ch === '"') out += '\\"'
    else if (ch === "\\") out += "\\\\"
    else if (c < 0x20) {
      out += c === 0x0a ? "\\n" : c === 0x0d ? "\\r" : c === 0x09 ? "\\t" : c === 0x08 ? "\\b" : c === 0x0c ? "\\f" : `\\u${c.toString(16).padStart(4, "0")}`
    } else out += ch
  }
  return out + '"'
}

/** Code-point order, through UTF-8 bytes (the same order, and unlike JavaScript's `<`). */
const byCodePoint = (a: string, b: string): number => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))

/** FORMAT A.2 canonical text of a value. */
export const canonical = (v: Value): string => {
  if (v === null) return "null"
  if (v === true) return "true"
  if (v === false) return "false"
  if (typeof v === "string") return escapeString(v)
  if (v instanceof Lex) return v.canonical
  if (v instanceof Obj) {
    const keys = [...v.members.keys()].sort(byCodePoint)
    return `{${keys.map((k) => `${escapeString(k)}:${canonical(v.members.get(k)!)}`).join(",")}}`
  }
  return `[${v.map(canonical).join(",")}]`
}

// ---------------------------------------------------------------------------------------------
// a file: framing (FORMAT part C) and its lines

/** One non-blank line of a file, read. */
export interface Line {
  /** 1-based physical line number */
  readonly number: number
  /** the parsed value, or why it is not JSON (not UTF-8, bad grammar, duplicate key, ...) */
  readonly value: Value | Invalid
  /** canonical text of the whole line's value, or `"!" + reason` when it is not JSON */
  readonly canonical: string
}

/** The lines of an original file by their bytes (latin1), read once. */
export type Known = ReadonlyMap<string, Omit<Line, "number">>

const isBlank = (b: Uint8Array): boolean => b.every((c) => c === 0x20 || c === 0x09)

/**
 * The non-blank lines of a file as FORMAT part C frames them: lines end at `\n`, a UTF-8 BOM at
 * the very start is ignored, one `\r` before the end of a line is ignored, and lines holding only
 * spaces and tabs are skipped.
 */
function* frames(bytes: Uint8Array): Generator<{ readonly number: number; readonly line: Buffer }> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let start = 0
  let number = 0
  while (start < buf.length) {
    let nl = buf.indexOf(0x0a, start)
    if (nl < 0) nl = buf.length
    number++
    let s = start
    let e = nl
    if (number === 1 && e - s >= 3 && buf[s] === 0xef && buf[s + 1] === 0xbb && buf[s + 2] === 0xbf) s += 3
    if (e > s && buf[e - 1] === 0x0d) e--
    start = nl + 1
    const line = buf.subarray(s, e)
    if (!isBlank(line)) yield { number, line }
  }
}

const read = (line: Buffer): Omit<Line, "number"> => {
  try {
    const value = parseLine(line)
    return { value, canonical: canonical(value) }
  } catch (e) {
    if (!(e instanceof Invalid)) throw e
    return { value: e, canonical: `!${e.message}` }
  }
}

/** The lines of `bytes`, to pass as `known` when reading its mutations. */
export const knownLines = (bytes: Uint8Array): Known => {
  const out = new Map<string, Omit<Line, "number">>()
  for (const f of frames(bytes)) out.set(f.line.toString("latin1"), read(f.line))
  return out
}

/**
 * The non-blank lines of a file (see `frames`), read. `known` (the lines of the original file)
 * saves re-reading the lines a mutation left alone.
 */
export const readFile = (bytes: Uint8Array, known?: Known): ReadonlyArray<Line> => {
  const out: Array<Line> = []
  for (const f of frames(bytes)) out.push({ number: f.number, ...(known?.get(f.line.toString("latin1")) ?? read(f.line)) })
  return out
}

// ---------------------------------------------------------------------------------------------
// what a pack means

const isObj = (v: Value | Invalid | undefined): v is Obj => v instanceof Obj

/** A line's `_meta` object, when the line is a pack header. */
export const metaOf = (l: Line): Obj | undefined => {
  if (!isObj(l.value) || !l.value.has("_meta")) return undefined
  const m = l.value.get("_meta")
  return isObj(m) ? m : undefined
}

/** The members of `o` except `drop`, canonical (the seal's view of `_meta`, for instance). */
export const canonicalWithout = (o: Obj, drop: ReadonlyArray<string>): string =>
  canonical(new Obj(new Map([...o.members].filter(([k]) => !drop.includes(k)))))

/** The part of an entry the hash chain covers: canonical body, `prev_hash`, `hash` (FORMAT A.2). */
export const chained = (l: Line): string => {
  if (!isObj(l.value)) return l.canonical
  const v = l.value
  const body = new Obj(new Map(["payload", "seq", "ts", "type"].filter((k) => v.has(k)).map((k) => [k, v.get(k)!] as const)))
  return `${canonical(body)}|${canonical(v.get("prev_hash") ?? null)}|${canonical(v.get("hash") ?? null)}`
}

/**
 * What a pack's bytes mean, split by who vouches for each part:
 * - `lines`: every non-blank line's whole value, canonical (all a sealed pack's members are
 *   covered by a hash, a signature or the seal: FORMAT A.2, A.3, A.4, B.3);
 * - `meta`: the header, if the first non-blank line is one;
 * - `entries`: the lines after the header.
 */
export interface Content {
  readonly lines: ReadonlyArray<Line>
  readonly meta: Obj | undefined
  readonly entries: ReadonlyArray<Line>
}

export const contentOf = (bytes: Uint8Array, known?: Known): Content => {
  const lines = readFile(bytes, known)
  const meta = lines.length > 0 ? metaOf(lines[0]!) : undefined
  return { lines, meta, entries: meta === undefined ? lines : lines.slice(1) }
}

/** Whether two contents are the same, line for line, in canonical form. */
export const sameLines = (a: ReadonlyArray<Line>, b: ReadonlyArray<Line>): boolean =>
  a.length === b.length && a.every((l, i) => l.canonical === b[i]!.canonical)

/** Whether `a` is a non-empty prefix of `b` (or equal), line for line, in canonical form. */
export const prefixOf = (a: ReadonlyArray<Line>, b: ReadonlyArray<Line>): boolean =>
  a.length > 0 && a.length <= b.length && a.every((l, i) => l.canonical === b[i]!.canonical)

// ---------------------------------------------------------------------------------------------
// other spellings of the same content (what a verifier must accept unchanged)

export interface Style {
  /** `", "` and `": "` separators, as Python's `json.dumps` writes them */
  readonly spaced?: boolean
  /** members in reverse of canonical order */
  readonly reversed?: boolean
  /** every non-ASCII character (and `/`) as `\u` escapes, surrogate pairs for astral ones */
  readonly escaped?: boolean
  /** number lexemes respelled: `E` exponents, a trailing `0` on fractions, `+` exponents */
  readonly respelled?: boolean
}

const respell = (lexeme: string): string => {
  if (!/[.eE]/.test(lexeme)) return lexeme
  const [m, e] = lexeme.split("e") as [string, string | undefined]
  const mantissa = m.includes(".") ? `${m}0` : `${m}.000`
  return e === undefined ? mantissa : `${mantissa}E${e.startsWith("-") || e.startsWith("+") ? e : `+${e}`}`
}

const spell = (s: string, style: Style): string => {
  if (!style.escaped) return escapeString(s)
  let out = ""
  for (const ch of escapeString(s)) {
    const c = ch.codePointAt(0)!
    if (ch === "/") out += "\\/"
    else if (c < 0x80) out += ch
    else for (let k = 0; k < ch.length; k++) out += `\\u${ch.charCodeAt(k).toString(16).padStart(4, "0")}`
  }
  return out
}

/** The same value written another way (FORMAT A.1: only the parsed values matter). */
export const write = (v: Value, style: Style): string => {
  if (v === null || typeof v === "boolean") return String(v)
  if (typeof v === "string") return spell(v, style)
  if (v instanceof Lex) return style.respelled ? respell(v.canonical) : v.canonical
  const [comma, colon] = style.spaced ? [", ", ": "] : [",", ":"]
  if (v instanceof Obj) {
    const keys = [...v.members.keys()].sort(byCodePoint)
    if (style.reversed) keys.reverse()
    return `{${keys.map((k) => `${spell(k, style)}${colon}${write(v.members.get(k)!, style)}`).join(comma)}}`
  }
  return `[${v.map((x) => write(x, style)).join(comma)}]`
}
