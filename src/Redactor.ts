/**
 * Scrubbing secrets and personal data out of payloads before they are hashed. What enters the
 * chain can never be taken out again, so this runs on every entry the library writes.
 *
 * A redactor is a pure function from a JSON value to the scrubbed value and what it found
 * (categories and counts, never the matched text). `layerDefault` scrubs the categories below in
 * string values and object keys at any depth; `layer(fn)` plugs in any other detector (the
 * detection engine plugs in the same way). When the library's own redactor removed something from
 * an entry it wrote, `AuditLog` follows the entry with a `policy_flag` (`auto: true`) naming the
 * categories; a custom redactor owns its flagging (`autoFlag: false` unless it says otherwise).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import { isPlainObject } from "./internal/plain.js"

/**
 * One kind of thing found: its category, its group, and how many times.
 *
 * @since 0.1.0
 * @category models
 */
export interface Finding {
  readonly category: string
  readonly group: string
  readonly count: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Redaction<A = unknown> {
  readonly value: A
  readonly findings: ReadonlyArray<Finding>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RedactorService {
  /** Scrub a JSON value (plain objects, arrays, strings, numbers, booleans, null). */
  readonly redact: <A>(value: A) => Redaction<A>
  /** whether `AuditLog` writes the automatic `policy_flag` after an entry this redactor changed */
  readonly autoFlag: boolean
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Redactor extends Context.Tag("acttrace/Redactor")<Redactor, RedactorService>() {}

/**
 * What replaces every match.
 *
 * @since 0.1.0
 * @category constants
 */
export const REPLACEMENT = "<redacted>"

/**
 * A detector of the default redactor: a category, its group, and a global regular expression.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pattern {
  readonly category: string
  readonly group: string
  readonly regex: RegExp
}

/**
 * The default redactor's detectors, most specific first (a PEM block before the base64 inside
 * it, a JWT before a bearer token that carries it). Each matches conservatively: an ordinary
 * identifier (a UUID, a hex digest, a version) matches none.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPatterns: ReadonlyArray<Pattern> = [
  {
    category: "private_key",
    group: "secret",
    regex: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----/g
  },
  { category: "jwt", group: "credential", regex: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}/g },
  { category: "bearer_token", group: "credential", regex: /\b[Bb]earer\s+[A-Za-z0-9._~+/-]{16,}=*/g },
  { category: "api_key", group: "secret", regex: /\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}/g },
  { category: "aws_key", group: "secret", regex: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g },
  { category: "google_api_key", group: "secret", regex: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  { category: "github_token", group: "secret", regex: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g },
  { category: "slack_token", group: "secret", regex: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g },
  {
    category: "email",
    group: "pii",
    regex: /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b/g
  }
]

/**
 * A necessary condition of every default pattern (a substring each match must hold), tested once
 * per string before the patterns themselves: most strings in a payload (ids, model names,
 * outcomes) then cost one scan instead of nine.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultHint = /@|sk-|A(?:KIA|SIA|BIA|CCA|Iza)|eyJ|[Bb]earer|gh[pousr]_|github_pat_|xox[abposr]-|-----BEGIN/

/** The shortest text any default pattern matches (`a@b.co`). */
const SHORTEST = 6

/**
 * Scrub one string with the given patterns; the counts found go into `counts`.
 *
 * @since 0.1.0
 * @category redaction
 */
export const redactString = (s: string, patterns: ReadonlyArray<Pattern>, counts: Map<Pattern, number>): string => {
  let out = s
  for (const p of patterns) {
    p.regex.lastIndex = 0
    if (!p.regex.test(out)) continue
    p.regex.lastIndex = 0
    let n = 0
    out = out.replace(p.regex, () => {
      n++
      return REPLACEMENT
    })
    counts.set(p, (counts.get(p) ?? 0) + n)
  }
  return out
}


/**
 * Scrub every string value and object key of a JSON value, at any depth, with `patterns`. With
 * `hint` (a regular expression every match of every pattern satisfies), strings that fail it are
 * skipped.
 * Values that are not plain JSON containers are returned as they are (the chain refuses them
 * later with a typed error). Iterative, so deep values cannot overflow the stack.
 *
 * @since 0.1.0
 * @category redaction
 */
export const redactWith = <A>(value: A, patterns: ReadonlyArray<Pattern>, hint?: RegExp | undefined): Redaction<A> => {
  const counts = new Map<Pattern, number>()
  const text = (s: string): string => (hint !== undefined && (s.length < SHORTEST || !hint.test(s)) ? s : redactString(s, patterns, counts))
  const scrub = (v: unknown): unknown => (typeof v === "string" ? text(v) : v)
  if (value === null || typeof value !== "object") {
    const v = scrub(value) as A
    return { value: v, findings: findingsOf(counts) }
  }
  // most payloads hold nothing to scrub: find out without copying them
  if (hint !== undefined && !anyHinted(value, hint)) return { value, findings: [] }
  // copy containers on the way down; the caller's value is never changed
  const root: { v: unknown } = { v: undefined }
  const stack: Array<{ src: unknown; set: (x: unknown) => void }> = [{ src: value, set: (x) => (root.v = x) }]
  // a container met twice (shared, or a cycle the chain refuses later) maps to the same copy
  const copies = new Map<object, unknown>()
  while (stack.length > 0) {
    const { src, set } = stack.pop()!
    if (src === null || typeof src !== "object" || !(Array.isArray(src) || isPlainObject(src))) {
      set(scrub(src))
      continue
    }
    if (copies.has(src)) {
      set(copies.get(src))
      continue
    }
    if (Array.isArray(src)) {
      const out: Array<unknown> = new Array(src.length)
      copies.set(src, out)
      set(out)
      for (let i = 0; i < src.length; i++) stack.push({ src: src[i], set: (x) => (out[i] = x) })
    } else {
      const out: Record<string, unknown> = {}
      copies.set(src, out)
      set(out)
      for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
        let key = text(k)
        // two keys that scrub to the same text keep both values
        while (Object.prototype.hasOwnProperty.call(out, key)) key = `${key}#`
        out[key] = undefined
        stack.push({ src: v, set: (x) => (out[key] = x) })
      }
    }
  }
  return { value: root.v as A, findings: findingsOf(counts) }
}

const findingsOf = (counts: Map<Pattern, number>): Array<Finding> =>
  [...counts.entries()].map(([p, count]) => ({ category: p.category, group: p.group, count }))

/** Whether any string value or key of a JSON value could match (`hint` holds for it). */
const anyHinted = (value: unknown, hint: RegExp): boolean => {
  const could = (s: string) => s.length >= SHORTEST && hint.test(s)
  const stack: Array<unknown> = [value]
  // a budget instead of a visited set (see normalize): a cycle exhausts it and takes the full path
  let budget = 100_000
  while (stack.length > 0) {
    if (--budget === 0) return true
    const v = stack.pop()
    if (typeof v === "string") {
      if (could(v)) return true
      continue
    }
    if (v === null || typeof v !== "object") continue
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) stack.push(v[i])
    else if (isPlainObject(v)) {
      for (const k in v) {
        if (could(k)) return true
        stack.push((v as Record<string, unknown>)[k])
      }
    }
  }
  return false
}

/**
 * A redactor from any function; it writes no automatic flags unless `autoFlag` is set.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (redact: <A>(value: A) => Redaction<A>, options: { readonly autoFlag?: boolean | undefined } = {}): RedactorService => ({
  redact,
  autoFlag: options.autoFlag ?? false
})

/**
 * The library's redactor: `defaultPatterns`, replacement `<redacted>`, automatic flags.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultRedactor: RedactorService = make((v) => redactWith(v, defaultPatterns, defaultHint), { autoFlag: true })

/**
 * @since 0.1.0
 * @category layers
 */
export const layerDefault: Layer.Layer<Redactor> = Layer.succeed(Redactor, defaultRedactor)

/**
 * Redacts nothing. For tests and for apps that scrub before calling the library.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNoop: Layer.Layer<Redactor> = Layer.succeed(Redactor, make((value) => ({ value, findings: [] })))

/**
 * A custom redactor. It owns its flagging: pass `autoFlag: true` to have `AuditLog` write the
 * automatic `policy_flag` from its findings.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  redact: <A>(value: A) => Redaction<A>,
  options: { readonly autoFlag?: boolean | undefined } = {}
): Layer.Layer<Redactor> => Layer.succeed(Redactor, make(redact, options))
