/**
 * Canonical JSON of FORMAT A.2: the bytes every acttrace implementation hashes.
 *
 * - `encode` writes JavaScript values (integers as digits, other numbers in Python `repr` form).
 * - `parse` reads JSON text keeping every number's lexeme (`Num`), so nothing is lost to doubles.
 * - `canonicalize` turns any JSON text straight into canonical bytes without building objects.
 *
 * All three are iterative: nesting depth is limited by memory, never by the call stack.
 *
 * @since 0.1.0
 */
import { isUtf8 } from "node:buffer"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { formatNumber, canonicalLexeme, NUMBER_RE } from "./internal/number.js"
import { canonicalBytes, ScanFailure } from "./internal/scanner.js"
import { isPlainObject } from "./internal/plain.js"

/**
 * Why a value has no canonical form.
 *
 * @since 0.1.0
 * @category errors
 */
export class CanonicalError extends Schema.TaggedError<CanonicalError>()("CanonicalError", {
  reason: Schema.Literal(
    "Syntax",
    "DuplicateKey",
    "LoneSurrogate",
    "NonFinite",
    "Unserializable",
    "Cycle",
    "InvalidUtf8"
  ),
  /** JSON path (`$.a[2]`) for values, byte offset (`@123`) for text */
  at: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.reason} at ${this.at}: ${this.detail}`
  }
}

/**
 * A JSON number kept as its lexeme, so that `1000.0`, `1e-05` and `18446744073709551616` keep
 * their exact meaning through a read and a write.
 *
 * @since 0.1.0
 * @category models
 */
export class Num {
  constructor(
    /** the number token as it appeared in the text */
    readonly lexeme: string
  ) {}
  /** true when the token has no fraction and no exponent (an integer of any size) */
  get isInteger(): boolean {
    return !/[.eE]/.test(this.lexeme)
  }
  /** the canonical lexeme (FORMAT A.2) */
  get canonical(): string {
    const c = canonicalLexeme(this.lexeme, this.isInteger)
    if (c === undefined) throw new RangeError(`not finite: ${this.lexeme}`)
    return c
  }
  /** the value as a JavaScript number (may lose precision) */
  toNumber(): number {
    return Number(this.lexeme)
  }
  /** the integer value exactly, when `isInteger` */
  toBigInt(): bigint {
    return BigInt(this.lexeme)
  }
  toJSON(): number {
    return this.toNumber()
  }
}

/**
 * A JSON value as `parse` returns it. Objects have a null prototype, so a key like
 * `__proto__` is an ordinary key.
 *
 * @since 0.1.0
 * @category models
 */
export type Json = null | boolean | string | Num | ReadonlyArray<Json> | { readonly [key: string]: Json }

/**
 * Code-point order of two strings (UTF-16 code unit order, the JavaScript default, puts astral
 * characters before U+E000..U+FFFF, which is wrong for the hash).
 *
 * @since 0.1.0
 * @category ordering
 */
export const compareKeys = (a: string, b: string): number => {
  const n = a.length < b.length ? a.length : b.length
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x !== y) {
      // move surrogates (D800-DFFF) above E000-FFFF, which is where their code points belong
      if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800
      if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800
      return x - y
    }
  }
  return a.length - b.length
}

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/

/**
 * A well-formed string as canonical JSON text. JSON.stringify escapes exactly as canonical JSON
 * does (`\"`, `\\`, the short escapes, `\u00xx` in lowercase, nothing else) once lone surrogates
 * are ruled out, which every caller has done.
 */
const escapeString = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`)


const pathOf = (path: ReadonlyArray<string | number>): string => {
  let s = "$"
  for (const p of path) s += typeof p === "number" ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`
  return s
}

const encodeError = (reason: CanonicalError["reason"], path: ReadonlyArray<string | number>, detail: string) =>
  new CanonicalError({ reason, at: pathOf(path), detail })

const scalar = (v: unknown, path: ReadonlyArray<string | number>): string | CanonicalError | undefined => {
  switch (typeof v) {
    case "string":
      return v.isWellFormed() ? escapeString(v) : encodeError("LoneSurrogate", path, "string holds a lone surrogate (no UTF-8 form)")
    case "number":
      return Number.isFinite(v) ? formatNumber(v) : encodeError("NonFinite", path, `${v} is not JSON`)
    case "boolean":
      return v ? "true" : "false"
    case "bigint":
      return v.toString()
    case "object":
      if (v === null) return "null"
      if (v instanceof Num) {
        if (!NUMBER_RE.test(v.lexeme)) return encodeError("Syntax", path, `not a JSON number: ${v.lexeme}`)
        const c = canonicalLexeme(v.lexeme, v.isInteger)
        return c === undefined ? encodeError("NonFinite", path, `${v.lexeme} overflows a double`) : c
      }
      return undefined
    default:
      return encodeError("Unserializable", path, `a ${typeof v} is not JSON`)
  }
}

interface Frame {
  readonly value: object
  readonly keys: ReadonlyArray<string> | undefined // undefined for arrays
  index: number
  written: number
}

/**
 * Canonical JSON text of a JavaScript value: plain objects, arrays, strings, finite numbers,
 * bigints, booleans, null and `Num`. Object properties whose value is `undefined` are left out (as
 * `JSON.stringify` does); anything else (functions, symbols, class instances, cycles, NaN,
 * Infinity, lone surrogates, `undefined` in an array) is a `CanonicalError`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (value: unknown): Either.Either<string, CanonicalError> => {
  const written = stringified(value)
  if (written !== undefined) return Either.right(written)
  const fast = encodeFast(value, 0)
  if (fast !== undefined) return Either.right(fast)
  return encodeGeneral(value)
}

const SURROGATE = /[\ud800-\udfff]/

/**
 * The text of a value whose canonical form is exactly what `JSON.stringify` writes, else
 * undefined: plain objects whose members already come in canonical order (as the log's own
 * payloads are built), well-formed strings, safe integers, fractions from 1e-4 to 1e16 (where
 * both write the shortest digits alike), booleans and null. The check is one walk without
 * allocation; the native writer is about three times faster than `encodeFast`.
 */
const stringified = (value: unknown): string | undefined => {
  const stack: Array<unknown> = [value]
  // a budget instead of a visited set: a cycle (or a huge value) exhausts it and the encoders
  // that explain failures take over
  let budget = 10_000
  while (stack.length > 0) {
    if (--budget === 0) return undefined
    const v = stack.pop()
    switch (typeof v) {
      case "string":
        if (!v.isWellFormed()) return undefined
        continue
      case "number":
        if (Number.isInteger(v) ? !Number.isSafeInteger(v) : !((v > 0 ? v : -v) >= 1e-4 && (v > 0 ? v : -v) < 1e16)) return undefined
        continue
      case "boolean":
        continue
      case "object": {
        if (v === null) continue
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) stack.push(v[i])
          continue
        }
        if (!isPlainObject(v) || typeof (v as { toJSON?: unknown }).toJSON === "function") return undefined
        // in the order JSON.stringify writes them (integer-like keys first), which must be ours
        let prev: string | undefined
        for (const k in v) {
          const x = (v as Record<string, unknown>)[k]
          if (x === undefined) continue
          if (!k.isWellFormed() || (prev !== undefined && compareKeys(prev, k) >= 0)) return undefined
          prev = k
          stack.push(x)
        }
        continue
      }
      default:
        return undefined
    }
  }
  try {
    return JSON.stringify(value)
  } catch {
    // nesting deeper than the native writer's stack
    return undefined
  }
}

/**
 * The encoder for the common case, recursive and allocation-light: plain values at most 64 deep.
 * It gives up (undefined) on anything else, and the general encoder, which is iterative and
 * explains every failure, takes over.
 */
const encodeFast = (v: unknown, depth: number): string | undefined => {
  const out = FAST_PARTS
  out.length = 0
  const ok = writeFast(v, depth, out)
  const text = ok ? out.join("") : undefined
  out.length = 0
  return text
}

/** Pieces of the text being encoded, joined once (a flat string, no rope of small pieces). */
const FAST_PARTS: Array<string> = []

const writeFast = (v: unknown, depth: number, out: Array<string>): boolean => {
  switch (typeof v) {
    case "string":
      if (!v.isWellFormed()) return false
      out.push(escapeString(v))
      return true
    case "number":
      if (!Number.isFinite(v)) return false
      out.push(formatNumber(v))
      return true
    case "boolean":
      out.push(v ? "true" : "false")
      return true
    case "bigint":
      out.push(v.toString())
      return true
    case "object": {
      if (v === null) {
        out.push("null")
        return true
      }
      if (depth >= 64) return false
      if (Array.isArray(v)) {
        out.push("[")
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out.push(",")
          if (!writeFast(v[i], depth + 1, out)) return false
        }
        out.push("]")
        return true
      }
      if (!isPlainObject(v)) return false
      const o = v as Record<string, unknown>
      const keys = Object.keys(o)
      let astral = false
      for (let i = 0; i < keys.length; i++) if (SURROGATE.test(keys[i]!)) astral = true
      // without surrogates, UTF-16 order is code point order
      if (astral) keys.sort(compareKeys)
      else keys.sort()
      out.push("{")
      let n = 0
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!
        const x = o[k]
        if (x === undefined) continue
        if (astral && !k.isWellFormed()) return false
        out.push(n++ === 0 ? "" : ",", escapeString(k), ":")
        if (!writeFast(x, depth + 1, out)) return false
      }
      out.push("}")
      return true
    }
    default:
      return false
  }
}

const encodeGeneral = (value: unknown): Either.Either<string, CanonicalError> => {
  const top = scalar(value, [])
  if (typeof top === "string") return Either.right(top)
  if (top instanceof CanonicalError) return Either.left(top)
  if (value === undefined) return Either.left(encodeError("Unserializable", [], "undefined is not JSON"))
  const parts: Array<string> = []
  const stack: Array<Frame> = []
  const path: Array<string | number> = []
  const open = new Set<object>()
  const enter = (v: object): CanonicalError | undefined => {
    if (open.has(v)) return encodeError("Cycle", path, "the value refers to itself")
    if (Array.isArray(v)) {
      stack.push({ value: v, keys: undefined, index: 0, written: 0 })
      parts.push("[")
    } else if (isPlainObject(v)) {
      stack.push({ value: v, keys: Object.keys(v).sort(compareKeys), index: 0, written: 0 })
      parts.push("{")
    } else {
      return encodeError("Unserializable", path, `a ${v.constructor?.name ?? "non-plain"} object is not plain JSON`)
    }
    open.add(v)
    return undefined
  }
  const e0 = enter(value as object)
  if (e0) return Either.left(e0)
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!
    const isArray = f.keys === undefined
    const size = isArray ? (f.value as ReadonlyArray<unknown>).length : f.keys!.length
    if (f.index >= size) {
      parts.push(isArray ? "]" : "}")
      open.delete(f.value)
      stack.pop()
      path.pop()
      continue
    }
    const i = f.index++
    let child: unknown
    let key: string | undefined
    if (isArray) child = (f.value as ReadonlyArray<unknown>)[i]
    else {
      key = f.keys![i]!
      child = (f.value as Record<string, unknown>)[key]
      if (child === undefined) continue
    }
    if (f.written++ > 0) parts.push(",")
    if (key !== undefined) {
      if (!key.isWellFormed()) return Either.left(encodeError("LoneSurrogate", path, "object key holds a lone surrogate"))
      parts.push(escapeString(key), ":")
    }
    path.push(key ?? i)
    const s = scalar(child, path)
    if (typeof s === "string") {
      parts.push(s)
      path.pop()
    } else if (s instanceof CanonicalError) return Either.left(s)
    else if (child === undefined) return Either.left(encodeError("Unserializable", path, "undefined in an array is not JSON"))
    else {
      const e = enter(child as object)
      if (e) return Either.left(e)
    }
  }
  return Either.right(parts.join(""))
}

const toBuffer = (text: string | Uint8Array): Buffer =>
  typeof text === "string" ? Buffer.from(text, "utf8") : Buffer.isBuffer(text) ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength)

const scanError = (e: unknown): CanonicalError => {
  if (e instanceof ScanFailure) {
    const reason: CanonicalError["reason"] = e.reason === "duplicate key"
      ? "DuplicateKey"
      : e.reason.startsWith("lone surrogate")
      ? "LoneSurrogate"
      : e.reason.startsWith("non-finite") || e.reason.includes("not finite")
      ? "NonFinite"
      : "Syntax"
    return new CanonicalError({ reason, at: `@${e.position}`, detail: e.reason })
  }
  throw e
}

/**
 * Canonical bytes of JSON text, without building objects: the form that is hashed. Fails on
 * invalid UTF-8, invalid JSON, duplicate keys, lone surrogate escapes and numbers that overflow
 * a double.
 *
 * @since 0.1.0
 * @category decoding
 */
export const canonicalize = (text: string | Uint8Array): Either.Either<Uint8Array, CanonicalError> =>
  // Typed as the platform's Uint8Array, not Node's Buffer (which it is at run time): the public
  // declarations then need no @types/node.
  canonicalBuffer(text)

/** `canonicalize` as the Buffer it makes, for `parse`. */
const canonicalBuffer = (text: string | Uint8Array): Either.Either<Buffer, CanonicalError> => {
  if (typeof text === "string" ? !text.isWellFormed() : !isUtf8(text)) {
    return Either.left(
      new CanonicalError({
        reason: typeof text === "string" ? "LoneSurrogate" : "InvalidUtf8",
        at: "@0",
        detail: typeof text === "string" ? "text holds a lone surrogate (no UTF-8 form)" : "input is not UTF-8"
      })
    )
  }
  try {
    return Either.right(canonicalBytes(toBuffer(text)))
  } catch (e) {
    return Either.left(scanError(e))
  }
}


/**
 * Read JSON text into `Json`, keeping every number's lexeme as a `Num`. Fails like
 * `canonicalize`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const parse = (text: string | Uint8Array): Either.Either<Json, CanonicalError> => {
  // The byte scanner validates (duplicate keys, UTF-8, surrogates, number range) and yields
  // canonical text, which a small iterative builder then turns into a tree. `Num` therefore holds
  // the canonical lexeme: the same value Python reads, spelled the way Python writes it.
  const checked = canonicalBuffer(text)
  if (Either.isLeft(checked)) return Either.left(checked.left)
  return Either.right(build(checked.right.toString("utf8")))
}

/** Build a `Json` tree from canonical text (already validated: no whitespace, no duplicates). */
const build = (s: string): Json => {
  type Container = { readonly arr: Array<Json> | undefined; readonly obj: Record<string, Json> | undefined; key: string | undefined }
  const stack: Array<Container> = []
  let result: Json = null
  let i = 0
  const put = (v: Json): void => {
    const top = stack[stack.length - 1]
    if (top === undefined) result = v
    else if (top.arr) top.arr.push(v)
    else top.obj![top.key!] = v
  }
  const readString = (): string => {
    let j = i + 1
    let esc = false
    for (;;) {
      const c = s.charCodeAt(j)
      if (c === 0x22) break
      if (c === 0x5c) {
        esc = true
        j += 2
      } else j++
    }
    const raw = s.slice(i, j + 1)
    i = j + 1
    return esc ? (JSON.parse(raw) as string) : raw.slice(1, -1)
  }
  while (i < s.length) {
    const c = s.charCodeAt(i)
    const top = stack[stack.length - 1]
    if (c === 0x2c) {
      i++
      continue
    }
    if (top?.obj && top.key === undefined && c === 0x22) {
      top.key = readString()
      i++ // ':'
      continue
    }
    if (c === 0x7d || c === 0x5d) {
      const done = stack.pop()!
      i++
      put((done.arr ?? done.obj)!)
      const parent = stack[stack.length - 1]
      if (parent?.obj) parent.key = undefined
      continue
    }
    if (c === 0x7b) {
      stack.push({ arr: undefined, obj: Object.create(null) as Record<string, Json>, key: undefined })
      i++
      continue
    }
    if (c === 0x5b) {
      stack.push({ arr: [], obj: undefined, key: undefined })
      i++
      continue
    }
    let v: Json
    if (c === 0x22) v = readString()
    else if (c === 0x74) {
      v = true
      i += 4
    } else if (c === 0x66) {
      v = false
      i += 5
    } else if (c === 0x6e) {
      v = null
      i += 4
    } else {
      let j = i + 1
      while (j < s.length && /[0-9eE.+-]/.test(s[j]!)) j++
      v = new Num(s.slice(i, j))
      i = j
    }
    put(v)
    if (top?.obj) top.key = undefined
  }
  return result
}

