/**
 * The detection engine: detectors as data, policies, and the pure functions `scan` and `redact`
 * over any JSON value. What goes into an immutable log can never be erased, so detection aims at
 * high recall on the categories below and no findings at all on ordinary identifiers (UUIDs,
 * digests, timestamps, versions, pod names, prices, order numbers).
 *
 * A detector is a category, a group, a severity, a global regular expression and an optional
 * validator (which sees the match, the text before it and the field's key). The set in use is a
 * value: `builtins` unless a layer provides another (`layer`, `layerAdd`), so nothing is
 * registered globally.
 *
 * Validators come from the `validator` package where one fits (IBAN with its per-country formats
 * and mod-97, BIC with its country code, IP addresses, MAC addresses). Luhn, the ABA routing
 * checksum, SSN ranges, Verhoeff (Aadhaar) and the NINO prefixes are written here: each is a few
 * lines, and `validator`'s card check also demands known issuer prefixes and lengths, which the
 * card rule here (13–19 digits, Luhn, a card-issuing first digit) does not.
 *
 * @since 0.1.0
 */
import * as EffectContext from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import isBICModule from "validator/lib/isBIC.js"
import isIBANModule from "validator/lib/isIBAN.js"
import isIPModule from "validator/lib/isIP.js"
import isMACModule from "validator/lib/isMACAddress.js"
import { isPlainObject } from "./internal/plain.js"

/** The function of a CommonJS module, however the loader presents its default export. */
const fn = <F>(m: unknown): F => (typeof m === "function" ? m : (m as { default: F }).default) as F
const isIBAN = fn<(s: string) => boolean>(isIBANModule)
const isBIC = fn<(s: string) => boolean>(isBICModule)
const isIP = fn<(s: string, version?: 4 | 6) => boolean>(isIPModule)
const isMAC = fn<(s: string) => boolean>(isMACModule)

/**
 * @since 0.1.0
 * @category models
 */
export type Group = "secret" | "credential" | "financial" | "gov_id" | "pii" | "special_category"

/**
 * @since 0.1.0
 * @category models
 */
export type Severity = "info" | "warning" | "critical"

/**
 * What a policy does with a finding, from the mildest: `allow` < `flag` < `redact` < `block`.
 *
 * @since 0.1.0
 * @category models
 */
export type Action = "allow" | "flag" | "redact" | "block"

/**
 * Where a match was found, for validators that need context.
 *
 * @since 0.1.0
 * @category models
 */
export interface MatchContext {
  /** up to 40 characters before the match, in the same string */
  readonly before: string
  /** the key of the field holding the string or number, if any */
  readonly key: string | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Detector {
  readonly category: string
  readonly group: Group | (string & {})
  readonly severity: Severity
  /**
   * global; a named group `v` narrows what is replaced (`password is <redacted>`). A match that
   * would contain an earlier `<redacted>` is dropped, so open-ended patterns should stop before one.
   * The engine runs on every append, on text an attacker may write: a pattern must search in time
   * linear in the text (the rules the built-ins keep are written above them, in the source).
   */
  readonly pattern: RegExp
  readonly validate?: ((match: string, context: MatchContext) => boolean) | undefined
  /**
   * a necessary condition, tested on the string and on its field's key: a string for which
   * neither passes is not searched. The hints of a detector set are also joined into one
   * expression, tested once per string, so most strings cost one search instead of twenty.
   */
  readonly hint?: RegExp | undefined
  /** also applied to the digits of JSON numbers (a card number stored as a number) */
  readonly numeric?: boolean | undefined
}

/**
 * Actions by category, then by group, then a default.
 *
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  readonly name: string
  readonly default: Action
  readonly groups?: Readonly<Partial<Record<string, Action>>> | undefined
  readonly categories?: Readonly<Partial<Record<string, Action>>> | undefined
}

/**
 * One kind of thing found, never the text.
 *
 * @since 0.1.0
 * @category models
 */
export interface Finding {
  readonly category: string
  readonly group: string
  readonly severity: Severity
  readonly action: Action
  readonly count: number
}

/**
 * What replaces a redacted or blocked match.
 *
 * @since 0.1.0
 * @category constants
 */
export const REPLACEMENT = "<redacted>"

const RANK: Record<Action, number> = { allow: 0, flag: 1, redact: 2, block: 3 }

/**
 * The stricter of two actions.
 *
 * @since 0.1.0
 * @category policies
 */
export const stricter = (a: Action, b: Action): Action => (RANK[a] >= RANK[b] ? a : b)

/**
 * The action of a detector's findings under a policy: category, then group, then default.
 *
 * @since 0.1.0
 * @category policies
 */
export const actionOf = (policy: Policy, d: { readonly category: string; readonly group: string }): Action =>
  ownMember(policy.categories, d.category) ?? ownMember(policy.groups, d.group) ?? policy.default

/**
 * A member of a record by name, own members only: `record["constructor"]` of an object literal is
 * `Object`, inherited, so a category or group named `constructor` or `toString` would resolve to a
 * function instead of falling through to the default.
 */
const ownMember = <A>(record: Readonly<Partial<Record<string, A>>> | undefined, name: string): A | undefined =>
  record !== undefined && hasOwn(record, name) ? record[name] : undefined

const hasOwn = (o: object, name: string): boolean => Object.prototype.hasOwnProperty.call(o, name)

/**
 * The policy presets.
 *
 * @since 0.1.0
 * @category policies
 */
export const Policy = {
  /** redact secret, credential, financial, gov_id and email; flag the rest */
  default: { name: "default", default: "flag", groups: { secret: "redact", credential: "redact", financial: "redact", gov_id: "redact" }, categories: { email: "redact" } },
  /** block special categories and credentials; redact the rest that is personal or secret */
  gdpr: { name: "gdpr", default: "redact", groups: { special_category: "block", credential: "block" } },
  /** block financial data; redact secret and pii; flag the rest */
  pci: { name: "pci", default: "flag", groups: { financial: "block", secret: "redact", pii: "redact" } },
  /** block secret, credential, financial, gov_id; redact the rest */
  strict: { name: "strict", default: "redact", groups: { secret: "block", credential: "block", financial: "block", gov_id: "block" } },
  /** flag everything, change nothing */
  flagOnly: { name: "flag-only", default: "flag" }
} as const satisfies Record<string, Policy>

/**
 * The presets by the names the CLI takes. It has no prototype, so a name that is not a preset
 * (`constructor`, `__proto__`, `toString`) is `undefined` rather than something inherited.
 *
 * @since 0.1.0
 * @category policies
 */
export const policies: Readonly<Record<string, Policy | undefined>> = Object.assign(Object.create(null) as Record<string, Policy>, {
  default: Policy.default,
  gdpr: Policy.gdpr,
  pci: Policy.pci,
  strict: Policy.strict,
  "flag-only": Policy.flagOnly
})

// ---------------------------------------------------------------------------------------------
// validators
// ---------------------------------------------------------------------------------------------

const digitsOf = (s: string): string => s.replace(/\D/g, "")

/**
 * The Luhn checksum (cards).
 *
 * @since 0.1.0
 * @category validators
 */
export const luhn = (digits: string): boolean => {
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return digits.length > 0 && sum % 10 === 0
}

/**
 * The ABA routing-number checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10), with a
 * Federal Reserve prefix (00–12, 21–32, 61–72, 80).
 *
 * @since 0.1.0
 * @category validators
 */
export const abaRouting = (digits: string): boolean => {
  if (!/^\d{9}$/.test(digits)) return false
  const prefix = Number(digits.slice(0, 2))
  if (!(prefix <= 12 || (prefix >= 21 && prefix <= 32) || (prefix >= 61 && prefix <= 72) || prefix === 80)) return false
  const d = [...digits].map(Number)
  const sum = 3 * (d[0]! + d[3]! + d[6]!) + 7 * (d[1]! + d[4]! + d[7]!) + (d[2]! + d[5]! + d[8]!)
  return sum % 10 === 0 && digits !== "000000000"
}

/**
 * A US social security number's ranges: area not 000, 666 or 900–999; group not 00; serial
 * not 0000.
 *
 * @since 0.1.0
 * @category validators
 */
export const ssnRanges = (digits: string): boolean => {
  if (!/^\d{9}$/.test(digits)) return false
  const area = Number(digits.slice(0, 3))
  return area !== 0 && area !== 666 && area < 900 && digits.slice(3, 5) !== "00" && digits.slice(5) !== "0000"
}

const VERHOEFF_D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
  [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
  [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
]
const VERHOEFF_P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
  [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
  [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
  [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]
]

/**
 * The Verhoeff checksum (Aadhaar).
 *
 * @since 0.1.0
 * @category validators
 */
export const verhoeff = (digits: string): boolean => {
  let c = 0
  const n = digits.length
  for (let i = 0; i < n; i++) c = VERHOEFF_D[c]![VERHOEFF_P[i % 8]![digits.charCodeAt(n - 1 - i) - 48]!]!
  return n > 0 && c === 0
}

/**
 * Shannon entropy in bits per character.
 *
 * @since 0.1.0
 * @category validators
 */
export const entropy = (s: string): number => {
  const counts = new Map<string, number>()
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1)
  let h = 0
  for (const c of counts.values()) {
    const p = c / s.length
    h -= p * Math.log2(p)
  }
  return h
}

/** Short strings recur (keys, models, outcomes): their union verdict is remembered. */
const SHORT = 48

/**
 * Memos of what a long field key passes, kept for one call of `redact` and emptied when it
 * returns. Every string under a key is checked against it (the elements of an array share their
 * field's key), so a long key is looked at once per call, not once per string or per match: a
 * 1 MB key over 100,000 values costs 1 MB of searching, not 100 GB. A key of up to `SHORT`
 * characters is tested as it comes (a memo costs more than such a test).
 */
const usedMemos: Array<Map<string, unknown>> = []
const memoPerCall = <A>(f: (key: string) => A): ((key: string) => A) => {
  const memo = new Map<string, A>()
  return (key) => {
    if (key.length <= SHORT) return f(key)
    let v = memo.get(key)
    if (v === undefined) {
      v = f(key)
      if (memo.size === 0) usedMemos.push(memo)
      memo.set(key, v)
    }
    return v
  }
}
/** Empty the memos a call used (nothing of a caller's value is held after it returns). */
const endCall = (): void => {
  for (const memo of usedMemos) memo.clear()
  usedMemos.length = 0
}

/** A context check: the words within 40 characters before the match, or in the field's key. */
const near = (pattern: RegExp) => {
  const inKey = memoPerCall((key) => pattern.test(key))
  return (c: MatchContext) => pattern.test(c.before) || (c.key !== null && inKey(c.key))
}

// ---------------------------------------------------------------------------------------------
// detectors
// ---------------------------------------------------------------------------------------------

const HEALTH =
  "diagnos(?:is|ed|es)|hiv|aids|cancer|tumou?rs?|diabet(?:es|ic)|pregnan(?:t|cy)|depression|schizophreni[ac]|bipolar disorder|chemotherapy|dementia|alzheimer'?s|epilep(?:sy|tic)|hepatitis|mental health|medical condition|disabilit(?:y|ies)"
const BIOMETRIC = "biometrics?|fingerprints?|face ?scans?|facial recognition|retina(?:l)? scans?|iris scans?|voiceprints?"
const GENETIC = "dna|genetic(?:s| test(?:ing)?)?|genome|genotype|brca[12]"
const RELIGION = "religion|religious|muslim|christian|jewish|hindu|buddhist|sikh|catholic|protestant|atheist"
const ETHNICITY = "ethnicity|ethnic origin|racial(?: origin)?|hispanic|latino|latina|caucasian|african american"
const B64URL = "[A-Za-z0-9_-]"
const nearSsn = near(/\b(?:ssn|social security|ss#)\b|\bssn/i)
const nearRouting = near(/routing|\baba\b|\brtn\b|transit/i)
const nearBank = near(/swift|\bbic\b|\bbank/i)

const SPECIAL = `\\b(?:${HEALTH}|${BIOMETRIC}|${GENETIC}|${RELIGION}|${ETHNICITY})\\b`

/**
 * `X{n,}` for a character class X, written so that V8 needs no backtracking entry per character:
 * it keeps one for each character of `X{5,}` and throws `RangeError: Maximum call stack size
 * exceeded` on a run of a few million, where `X{5}X*` (the same strings) runs in constant space.
 */
const atLeast = (x: string, n: number): string => `${x}{${n}}${x}*`

/** up to eight words before `PRIVATE KEY` (real ones have up to three: `OPENSSH`, `ENCRYPTED`, `RSA`) */
const PEM_WORDS = "(?:[A-Z0-9]+ ){0,8}"
const PEM_BEGIN = `-----BEGIN ${PEM_WORDS}PRIVATE KEY-----`
const PEM_END = `-----END ${PEM_WORDS}PRIVATE KEY-----`
const PEM_BEGIN_AT = new RegExp(PEM_BEGIN, "y")
const PEM_END_AT = new RegExp(`${PEM_END}$`, "y")
/**
 * Whether a private-key match ends with an END line that starts after its BEGIN line (the block),
 * rather than at the end of the text (a BEGIN line that no END line follows). Within an END line
 * there is no second `-----END `, so the last one in the match is where it would start.
 */
const endsWithPemEnd = (m: string): boolean => {
  PEM_BEGIN_AT.lastIndex = 0
  if (!PEM_BEGIN_AT.test(m)) return false
  const at = m.lastIndexOf("-----END ")
  if (at < PEM_BEGIN_AT.lastIndex) return false
  PEM_END_AT.lastIndex = at
  return PEM_END_AT.test(m)
}

/*
 * Linear time. The engine runs on every append through the default redactor, on text an attacker
 * may write, so every search it makes runs in time linear in the text and in constant stack. The
 * rules, and for each expression of this module why it keeps them:
 *
 * 1. No quantified group whose body can match the same text in two ways, and no two neighbouring
 *    quantifiers over the same characters: a failing start then backtracks over what it read once,
 *    not over every way of splitting it.
 * 2. A start that can read far and then fail is either the only start in what it read, or it turns
 *    its failure into a match that the validator drops, which moves the search past what it read
 *    (`lastIndex` is the end of every match, accepted or not). Otherwise each later start in the
 *    same stretch reads it again: quadratic (64 KB of `eyJ-` took 3.8 s).
 * 3. Unbounded repetition only of a single character class (`X*`, `X+`, `X{n}X*`, lazy `X*?`):
 *    V8 keeps a backtracking entry per iteration of a repeated group, and of `X{n,}`, and throws
 *    `RangeError: Maximum call stack size exceeded` after a few million.
 * 4. What depends on a field's key (its hints, a validator's context words) is computed once per
 *    call for a key longer than 48 characters, not per string under it or per match (a shorter
 *    key costs at most 48 characters a test); the text before a match that validators see is 40
 *    characters.
 *
 * - private_key: a BEGIN line is at most eight words of `[A-Z0-9]` each ended by a space (a word
 *   holds no space or `-`, so there is one way to read it, and it ends at the next `-`). The body
 *   is a lazy loop that tries the END line (which opens with the literal `-----END `) at each
 *   character and stops at the first. A BEGIN line with no END line after it takes the rest of the
 *   text (`|[\s\S]*`), which `endsWithPemEnd` drops: no later BEGIN line has an END line after it
 *   either, and the search is over (rule 2). `endsWithPemEnd`: a sticky BEGIN line at 0, one
 *   `lastIndexOf`, a sticky END line at one place.
 * - jwt: the first start in a run of token characters either matches or takes the run (its
 *   failure alternative), and the validator drops it: a later start in that run would end its
 *   first segment where this one did, so it cannot match either (rule 2). Each run is read a
 *   constant number of times (as a first, second or third segment).
 * - bearer_token, api_key, slack_token: a literal prefix, then a run of at least 16 (10) token
 *   characters that nothing after it can reject (`=*` is optional): a start matches as soon as it
 *   has read the minimum, or fails within it. The whitespace after `Bearer` belongs to that start.
 * - aws_key, google_api_key, github_token: bounded (16, 35, at most 255 characters after a
 *   prefix); a start that reads 255 characters has no other start inside them (`` before `g`).
 * - password: keywords are literals; a whitespace run sits between a keyword and its operator or
 *   an operator and its value, read by that start alone; the value is four characters checked for
 *   `<redacted>`, then a lazy loop that stops at the first `<redacted>` or the end of the run, and
 *   nothing after it can fail. The validator's expression starts at each operator and reads a
 *   whitespace run and a fixed word, or a `*` run with nothing after it.
 * - email: the local part starts only at the start of its run (the lookbehind is its own class),
 *   one loop to `@`; the domain is one loop and one character. The validator splits the match once;
 *   the top-level label is `X{2}X*`, anchored.
 * - iban, credit_card, us_ssn, us_routing, swift_bic, phone, mac_address, ipv6, ipv4, and the
 *   opt-in uk_nino and aadhaar: bounded, at most 58 characters from a start (IBAN: 11–30
 *   characters or 2–7 groups of 4, 44 at most; card: 9–15 digits each after one optional
 *   separator, one way to read them; SSN, routing, BIC, MAC, IPv4, NINO, Aadhaar: fixed lengths up
 *   to 17, with backreferences to one-character groups; phone: 8–14 digits each with optional
 *   separator and brackets, 58 at most; IPv6: 2–7 groups of 0–4 digits and a colon, 39). Their
 *   validators see a match of that size.
 * - special_category: a fixed list of words (the longest 18 characters) between `\b`s.
 * - high_entropy (opt-in): starts only at the start of a run (lookbehind), one loop that nothing
 *   after it can reject; the validator counts characters once and tests three classes.
 * - Hints, alone and joined into one expression: literal words, or bounded (at most 15 characters
 *   from a position: IBAN, card, SSN, phone, MAC, IPv6, IPv4, NINO, Aadhaar), or the special
 *   words: the joined expression reads at most the sum of those bounds from each position.
 * - The context words of us_ssn, us_routing and swift_bic (`near`): literal words, on the 40
 *   characters before a match, and on the key once per call (rule 4).
 * - `HEX_ID`: anchored at the start; a lookahead over digits, then one loop to the end.
 *   `digitsOf`: one class. `abaRouting`, `ssnRanges`, the NINO validator: anchored, fixed length.
 * - The engine: a detector's matches never overlap and each search starts where the last match
 *   ended; overlaps with earlier spans are found by binary search and merged once per detector; a
 *   string is scanned again at most 8 times (when a replacement joined a new match).
 *
 * `test/harness/redos.test.ts` feeds each detector megabytes of input built for it.
 */

/**
 * The 20 built-in detectors, most specific first: when two overlap, the earlier one keeps the
 * span (a PEM block before the base64 in it, a JWT before the bearer token that carries it, an
 * IBAN before the digits in it).
 *
 * @since 0.1.0
 * @category detectors
 */
export const builtins: ReadonlyArray<Detector> = [
  {
    category: "private_key",
    group: "secret",
    severity: "critical",
    hint: /-----BEGIN/,
    // the block up to its first END line, however long; a BEGIN line with no END line after it
    // takes the rest of the text as a match that the validator drops, so the search stops there
    // instead of scanning to the end again from every later BEGIN line
    pattern: new RegExp(`${PEM_BEGIN}(?:[\\s\\S]*?${PEM_END}|[\\s\\S]*)`, "g"),
    validate: (m) => endsWithPemEnd(m)
  },
  {
    category: "jwt",
    group: "credential",
    severity: "critical",
    hint: /eyJ/,
    // a start whose first segment is not followed by the rest takes its run of token characters
    // as a match that the validator drops: no later start inside that run can succeed (its first
    // segment would end at the same place), and the search does not scan the run from each one
    pattern: new RegExp(`\\beyJ${atLeast(B64URL, 5)}\\.eyJ${atLeast(B64URL, 5)}\\.${atLeast(B64URL, 10)}|\\beyJ${B64URL}*`, "g"),
    validate: (m) => m.includes(".")
  },
  {
    category: "bearer_token",
    group: "credential",
    severity: "critical",
    hint: /[Bb]earer/,
    pattern: new RegExp(`\\b[Bb]earer\\s+${atLeast("[A-Za-z0-9._~+/-]", 16)}=*`, "g")
  },
  { category: "api_key", group: "secret", severity: "critical", hint: /sk-/, pattern: new RegExp(`\\bsk-(?:ant-|proj-)?${atLeast(B64URL, 16)}`, "g") },
  { category: "aws_key", group: "secret", severity: "critical", hint: /A[KS]IA|ABIA|ACCA/, pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g },
  { category: "google_api_key", group: "secret", severity: "critical", hint: /AIza/, pattern: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  {
    category: "github_token",
    group: "secret",
    severity: "critical",
    hint: /gh[pousr]_|github_pat_/,
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g
  },
  { category: "slack_token", group: "secret", severity: "critical", hint: /xox[abposr]-/, pattern: new RegExp(`\\bxox[abposr]-${atLeast("[A-Za-z0-9-]", 10)}`, "g") },
  {
    category: "password",
    group: "credential",
    severity: "critical",
    hint: /pass|pwd/i,
    // free text: "password is …", "password: …", "pwd=…", "passphrase = …"; the value runs to the
    // end of its run or to an earlier `<redacted>`, whichever comes first (a lazy loop that stops
    // where the lookahead holds: a group repeated per character overflowed V8's stack at 4 MB)
    pattern: /\b(?:password|passwd|passphrase|pwd)\b["']?\s*(?:is|was|:|=)\s*["']?(?<v>(?:(?!<redacted>)[^\s"',;]){4}[^\s"',;]*?)(?=<redacted>|[\s"',;]|$)/gi,
    // not a placeholder or a word about the password
    validate: (m) => !/(?:is|was|:|=)\s*["']?(?:\*+|<redacted>|(?:null|none|required|incorrect|invalid|wrong|reset|expired|changed|missing)\b)/i.test(m)
  },
  {
    category: "email",
    group: "pii",
    severity: "warning",
    hint: /@/,
    // the domain is matched loosely and checked in code: a pattern that spells out labels and a
    // top-level domain backtracks for seconds on `a@a.a.a.…`
    pattern: /(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?/g,
    validate: (m) => {
      const domain = m.slice(m.lastIndexOf("@") + 1)
      const labels = domain.split(".")
      return (
        labels.length >= 2 &&
        /^[A-Za-z]{2}[A-Za-z]*$/.test(labels[labels.length - 1]!) &&
        labels.every((l) => l.length > 0 && l.length <= 63 && !l.startsWith("-") && !l.endsWith("-"))
      )
    }
  },
  {
    category: "iban",
    group: "financial",
    severity: "critical",
    hint: /\b[A-Z]{2}\d{2}[A-Z0-9 ]{11}/,
    pattern: /\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b/g,
    validate: (m) => isIBAN(m.replace(/ /g, ""))
  },
  {
    category: "credit_card",
    group: "financial",
    severity: "critical",
    // the pattern's own first eight digits, so any grouping it accepts is a candidate; a
    // timestamp (`2026-12-04T10:00`, as every captured call's `started_at` holds) is not one: the
    // pattern can never match from there (the time's colon ends the run of digits at six)
    hint: /(?<![\w.-])(?!\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d))[2-6]\d{3}(?:[ -]?\d){4}/,
    numeric: true,
    pattern: /(?<![\w.-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\w-]|\.\d)/g,
    validate: (m) => {
      const digits = digitsOf(m)
      if (digits.length < 13 || digits.length > 19 || !luhn(digits)) return false
      // separators, if any, are all the same and set digits in groups (4-4-4-4, 4-6-5, …)
      const seps = m.match(/[ -]/g)
      if (seps === null) return true
      if (new Set(seps).size > 1) return false
      return m.split(/[ -]/).every((g) => g.length >= 3 && g.length <= 6)
    }
  },
  {
    category: "us_ssn",
    group: "gov_id",
    severity: "critical",
    hint: /(?<![\w-])\d{3}-?\d{2}-?\d{4}(?![\w-])/,
    numeric: true,
    pattern: /(?<![\w-])\d{3}(?<sep>-?)\d{2}\k<sep>\d{4}(?![\w-])/g,
    // dashed anywhere; undashed only where labelled (a 9-digit number is usually something else)
    validate: (m, c) => ssnRanges(digitsOf(m)) && (m.includes("-") || nearSsn(c))
  },
  {
    category: "us_routing",
    group: "financial",
    severity: "warning",
    hint: /routing|\baba\b|\brtn\b|transit/i,
    numeric: true,
    pattern: /(?<![\w-])\d{9}(?![\w-])/g,
    validate: (m, c) => abaRouting(m) && nearRouting(c)
  },
  {
    category: "swift_bic",
    group: "financial",
    severity: "warning",
    hint: /swift|\bbic\b|\bbank/i,
    pattern: /\b[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?\b/g,
    // eight capitals are often a word: a BIC only where banking is named nearby
    validate: (m, c) => isBIC(m) && nearBank(c)
  },
  {
    category: "phone",
    group: "pii",
    severity: "warning",
    hint: /\+[1-9]\d|[2-9]\d{2}\)?[ .-]\(?[2-9]?\d{2}[ .-]\d{4}/,
    pattern: /(?<![\w+.-])(?:\+[1-9](?:[ .-]?\(?\d\)?){8,14}|(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4})(?![\w.-]|\.\d)/g,
    validate: (m) => {
      const n = digitsOf(m).length
      return n >= 9 && n <= 15
    }
  },
  {
    category: "mac_address",
    group: "pii",
    severity: "info",
    // four separators (the pattern needs five): a date such as `2024-08-06` in a model's name
    // is not a candidate
    hint: /[0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-]/,
    pattern: /(?<![\w:-])[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![\w:-])/g,
    validate: (m) => isMAC(m)
  },
  {
    category: "ipv6",
    group: "pii",
    severity: "info",
    // three colons: an address of three groups or more has them (eight groups have seven; a `::`
    // adds one to two separators), a time of day (`10:20:30`) does not
    hint: /[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:/,
    pattern: /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])/g,
    // three groups at least: `d::` in `std::vector` is a valid address, and no one's
    validate: (m) => isIP(m, 6) && m.split(":").filter((g) => g.length > 0).length >= 3
  },
  {
    category: "ipv4",
    group: "pii",
    severity: "info",
    hint: /(?<![\w.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d/,
    pattern: /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)/g,
    validate: (m) => isIP(m, 4)
  },
  {
    category: "special_category",
    group: "special_category",
    severity: "critical",
    hint: new RegExp(SPECIAL, "i"),
    pattern: new RegExp(SPECIAL, "gi")
  }
]

/**
 * Opt-in detectors: UK National Insurance numbers, Indian Aadhaar numbers (Verhoeff), and
 * high-entropy strings (tunable; off by default because ids and digests are high-entropy too).
 *
 * @since 0.1.0
 * @category detectors
 */
export const optIn = {
  ukNino: {
    category: "uk_nino",
    group: "gov_id",
    severity: "critical",
    hint: /[A-Z]{2} ?\d{2}/,
    pattern: /\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/g,
    validate: (m: string) => !/^(?:BG|GB|NK|KN|TN|NT|ZZ)/.test(m)
  },
  aadhaar: {
    category: "aadhaar",
    group: "gov_id",
    severity: "critical",
    hint: /\d{4}/,
    numeric: true,
    pattern: /(?<![\w-])[2-9]\d{3}(?<sep>[ -]?)\d{4}\k<sep>\d{4}(?![\w-])/g,
    validate: (m: string) => verhoeff(digitsOf(m))
  },
  highEntropy: (options: { readonly minLength?: number | undefined; readonly minEntropy?: number | undefined } = {}): Detector => {
    const minLength = options.minLength ?? 32
    const minEntropy = options.minEntropy ?? 4.5
    return {
      category: "high_entropy",
      group: "secret",
      severity: "warning",
      // from the start of a run only: a later start in the same run matches nothing more, and
      // each start of a run shorter than the minimum would scan to its end again
      pattern: new RegExp(`(?<![A-Za-z0-9+/_=-])${atLeast("[A-Za-z0-9+/_=-]", minLength)}`, "g"),
      validate: (m) => entropy(m) >= minEntropy && /[A-Z]/.test(m) && /[a-z]/.test(m) && /\d/.test(m)
    }
  }
} as const satisfies { ukNino: Detector; aadhaar: Detector; highEntropy: (o?: never) => Detector }

// ---------------------------------------------------------------------------------------------
// the engine
// ---------------------------------------------------------------------------------------------

interface Span {
  readonly start: number
  readonly end: number
  readonly detector: Detector
}

/** The hints of a detector set joined into one case-insensitive expression (a looser test). */
interface Union {
  readonly test: (s: string) => boolean
  /** what a long field key passes, remembered for the call: the joined hint, then each detector's */
  readonly key: (key: string) => KeyHints
  readonly unhinted: boolean
  readonly numeric: ReadonlyArray<Detector>
}

interface KeyHints {
  readonly any: boolean
  readonly detectors: ReadonlySet<Detector>
}
const NOT_HINTED: KeyHints = { any: false, detectors: new Set() }

/**
 * A lowercase hex id with at least one letter (a UUID without dashes, a digest, a trace id): one
 * word, no separators, no capitals. No built-in detector can match inside one (their digit
 * detectors need standalone digit runs, and no keyword is spelt in hex letters alone), so with the
 * built-in set such strings skip the hints.
 */
const HEX_ID = /^(?=[0-9]*[a-f])[0-9a-f]{8}[0-9a-f]*$/
const unions = new WeakMap<ReadonlyArray<Detector>, Union>()
const REMEMBERED = 4096
const unionOf = (detectors: ReadonlyArray<Detector>): Union => {
  let u = unions.get(detectors)
  if (u === undefined) {
    const hints = detectors.flatMap((d) => (d.hint === undefined ? [] : [`(?:${d.hint.source})`]))
    const any = hints.length === 0 ? null : new RegExp(hints.join("|"), "i")
    const known = new Map<string, boolean>()
    const builtin = detectors === builtins
    const test = (s: string): boolean => {
      if (any === null) return false
      if (s.length > SHORT) return !(builtin && HEX_ID.test(s)) && any.test(s)
      let hit = known.get(s)
      if (hit === undefined) {
        hit = !(builtin && HEX_ID.test(s)) && any.test(s)
        if (known.size >= REMEMBERED) known.clear()
        known.set(s, hit)
      }
      return hit
    }
    const key = memoPerCall((k): KeyHints => (test(k) ? { any: true, detectors: new Set(detectors.filter((d) => d.hint !== undefined && d.hint.test(k))) } : NOT_HINTED))
    u = { test, key, unhinted: detectors.some((d) => d.hint === undefined), numeric: detectors.filter((d) => d.numeric === true) }
    unions.set(detectors, u)
  }
  return u
}

/** Whether [start, end) overlaps a span of `sorted` (sorted by start, none overlapping). */
const overlaps = (sorted: ReadonlyArray<Span>, start: number, end: number): boolean => {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid]!.start < start) lo = mid + 1
    else hi = mid
  }
  return (lo > 0 && sorted[lo - 1]!.end > start) || (lo < sorted.length && sorted[lo]!.start < end)
}

/** Two span lists sorted by start, merged. */
const merge = (a: ReadonlyArray<Span>, b: ReadonlyArray<Span>): Array<Span> => {
  const out: Array<Span> = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) out.push(j >= b.length || (i < a.length && a[i]!.start <= b[j]!.start) ? a[i++]! : b[j++]!)
  return out
}

/**
 * The accepted matches of a string, sorted by start, earlier detectors first, no two overlapping.
 * A detector's own matches come in order and never overlap each other, so each is checked
 * against the earlier detectors' spans by binary search and merged in after: a long text with
 * thousands of matches stays linear.
 */
const spansOf = (s: string, detectors: ReadonlyArray<Detector>, key: string | null): Array<Span> => {
  let spans: Array<Span> = []
  const union = unionOf(detectors)
  // a long key's hints are remembered for the call; a short one is tested as it comes
  const long = key !== null && key.length > SHORT ? union.key(key) : null
  const hinted = union.test(s) || (key !== null && (long !== null ? long.any : union.test(key)))
  if (!hinted && !union.unhinted) return spans
  for (const d of detectors) {
    if (d.hint !== undefined && (!hinted || !(d.hint.test(s) || (key !== null && (long !== null ? long.detectors.has(d) : d.hint.test(key)))))) continue
    const re = d.pattern
    re.lastIndex = 0
    let accepted: Array<Span> | null = null
    let m: RegExpExecArray | null
    while ((m = re.exec(s)) !== null) {
      if (m[0].length === 0) {
        re.lastIndex++
        continue
      }
      let start = m.index
      let end = start + m[0].length
      const v = m.groups?.["v"]
      if (v !== undefined) {
        start = end - v.length
        end = start + v.length
      }
      if (overlaps(spans, start, end)) continue
      // a match never swallows an earlier replacement (the built-in patterns stop before one)
      if (s.slice(start, end).includes(REPLACEMENT)) continue
      if (d.validate !== undefined && !d.validate(m[0], { before: s.slice(Math.max(0, m.index - 40), m.index), key })) continue
      ;(accepted ??= []).push({ start, end, detector: d })
    }
    if (accepted !== null) spans = spans.length === 0 ? accepted : merge(spans, accepted)
  }
  return spans
}

type Counts = Map<Detector, number>

/** One pass over a string: count what is found (or only what is replaced); replace it. */
const pass = (s: string, detectors: ReadonlyArray<Detector>, policy: Policy, key: string | null, counts: Counts, onlyReplaced: boolean): string => {
  const spans = spansOf(s, detectors, key)
  if (spans.length === 0) return s
  let out = ""
  let at = 0
  for (const span of spans) {
    const action = actionOf(policy, span.detector)
    const replace = action === "redact" || action === "block"
    if (replace || !onlyReplaced) counts.set(span.detector, (counts.get(span.detector) ?? 0) + 1)
    if (replace) {
      out += s.slice(at, span.start) + REPLACEMENT
      at = span.end
    }
  }
  return at === 0 ? s : out + s.slice(at)
}

/**
 * Scan one string: count what is found; return it with the `redact` and `block` spans replaced.
 * A replacement can join what was around it into a new match (a token that ran into a removed
 * key block), so the string is scanned again until nothing more is replaced.
 */
const text = (s: string, detectors: ReadonlyArray<Detector>, policy: Policy, key: string | null, counts: Counts): string => {
  let out = pass(s, detectors, policy, key, counts, false)
  for (let round = 0; out !== s && round < 8; round++) {
    s = out
    out = pass(s, detectors, policy, key, counts, true)
  }
  return out
}

/** The digits of a JSON number that could be an id (an integer of 9 digits or more). */
const numberDigits = (n: number | bigint): string | null => {
  if (typeof n === "bigint") return n >= 0n ? n.toString() : null
  return Number.isSafeInteger(n) && n >= 100_000_000 ? String(n) : null
}

const findingsOf = (counts: Counts, policy: Policy): Array<Finding> => {
  const byCategory = new Map<string, Finding>()
  for (const [d, count] of counts) {
    const action = actionOf(policy, d)
    if (action === "allow") continue
    const prev = byCategory.get(d.category)
    byCategory.set(d.category, prev === undefined ? { category: d.category, group: d.group, severity: d.severity, action, count } : { ...prev, count: prev.count + count })
  }
  return [...byCategory.values()].sort((a, b) => (a.category < b.category ? -1 : a.category > b.category ? 1 : 0))
}

/**
 * Whether any string, key or number of a value passes the detector set's joined hints (a detector
 * without a hint makes every string a candidate). Iterative; a budget instead of a visited set: a
 * cycle exhausts it and takes the full path, which handles cycles.
 */
const couldMatch = (value: unknown, union: Union, numeric: boolean): boolean => {
  const stack: Array<unknown> = [value]
  let budget = 100_000
  while (stack.length > 0) {
    if (--budget === 0) return true
    const v = stack.pop()
    if (typeof v === "string") {
      if (union.unhinted || union.test(v)) return true
      continue
    }
    if (typeof v === "number" || typeof v === "bigint") {
      if (numeric && numberDigits(v) !== null) return true
      continue
    }
    if (v === null || typeof v !== "object") continue
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) stack.push(v[i])
    else if (isPlainObject(v)) {
      for (const k in v) {
        if (union.unhinted || union.test(k)) return true
        stack.push((v as Record<string, unknown>)[k])
      }
    }
  }
  return false
}

/**
 * What the detectors find in a JSON value (string values and object keys at any depth, and the
 * digits of numbers for financial and government-id detectors), with each category's action under
 * `policy`, and the value with every `redact` and `block` match replaced by `<redacted>`.
 * Categories the policy allows are not reported. The caller's value is never changed; a value
 * with nothing to replace is returned as it is.
 *
 * Object keys are scrubbed too, so two keys can come out as the same text (e-mail addresses used as
 * keys all become `<redacted>`). No member is lost: a key that was not changed keeps its name, even
 * one literally `<redacted>`; the first scrubbed key to come out as a name that is free takes it,
 * and each later one with that text takes `<redacted>#2`, `<redacted>#3` … (the first number whose
 * name is neither a key of the object nor given before), in the object's order, so the same input
 * always gives the same names. Naming costs constant time per key. Members named `__proto__`,
 * `constructor` or `toString` stay members of the copy (which keeps `Object.prototype`).
 *
 * @since 0.1.0
 * @category engine
 */
export const redact = <A>(value: A, policy: Policy = Policy.default, detectors: ReadonlyArray<Detector> = builtins): { readonly value: A; readonly findings: ReadonlyArray<Finding> } => {
  const union = unionOf(detectors)
  const numeric = union.numeric
  // most payloads hold nothing: find that out without copying or allocating per node
  if (!couldMatch(value, union, numeric.length > 0)) return { value, findings: [] }
  const out = redactAll(value, policy, detectors, numeric)
  // (a validator that throws leaves its memos to the next call, which empties them)
  endCall()
  return out
}

/**
 * Add a member to a plain object as an own data property: `o["__proto__"] = x` would run
 * `Object.prototype`'s `__proto__` setter and replace the object's prototype (a member lost, or an
 * `{"__proto__": {"admin": true}}` that makes `admin` readable on the copy) instead.
 */
const put = (o: Record<string, unknown>, name: string, x: unknown): void => {
  if (name === "__proto__") Object.defineProperty(o, name, { value: x, enumerable: true, writable: true, configurable: true })
  else o[name] = x
}

/** `redact` past the read-only first pass: every string, key and number, copied on write. */
const redactAll = <A>(value: A, policy: Policy, detectors: ReadonlyArray<Detector>, numeric: ReadonlyArray<Detector>): { readonly value: A; readonly findings: ReadonlyArray<Finding> } => {
  const counts: Counts = new Map()
  // iterative, so a deep value cannot overflow the stack; containers are copied on write
  type Frame =
    | { readonly kind: "array"; readonly src: Array<unknown>; i: number; copy: Array<unknown> | null; readonly key: string | null; readonly set: (x: unknown) => void }
    | {
        readonly kind: "object"
        readonly src: Record<string, unknown>
        readonly entries: Array<[string, unknown]>
        i: number
        copy: Record<string, unknown> | null
        /** per scrubbed name, the next suffix number to try (see `redact`) */
        next: Map<string, number> | null
        readonly set: (x: unknown) => void
      }
  const stack: Array<Frame> = []
  // a container met again maps to what it became (shared); one still open is a cycle, which the
  // chain refuses later: left as it is
  const done = new Map<object, unknown>()
  const open = new Set<object>()
  const visit = (v: unknown, key: string | null, set: (x: unknown) => void): void => {
    if (typeof v === "string") return set(text(v, detectors, policy, key, counts))
    if (typeof v === "number" || typeof v === "bigint") {
      const digits = numberDigits(v)
      if (digits === null || numeric.length === 0) return set(v)
      const out = text(digits, numeric, policy, key, counts)
      return set(out === digits ? v : REPLACEMENT)
    }
    if (v === null || typeof v !== "object") return set(v)
    if (done.has(v)) return set(done.get(v))
    if (open.has(v)) return set(v)
    if (Array.isArray(v)) {
      open.add(v)
      stack.push({ kind: "array", src: v, i: 0, copy: null, key, set })
    } else if (isPlainObject(v)) {
      open.add(v)
      stack.push({ kind: "object", src: v as Record<string, unknown>, entries: Object.entries(v as Record<string, unknown>), i: 0, copy: null, next: null, set })
    } else set(v)
  }
  let result: unknown
  visit(value, null, (x) => (result = x))
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!
    if (f.kind === "array") {
      if (f.i >= f.src.length) {
        stack.pop()
        open.delete(f.src)
        done.set(f.src, f.copy ?? f.src)
        f.set(f.copy ?? f.src)
        continue
      }
      const i = f.i++
      const orig = f.src[i]
      visit(orig, f.key, (x) => {
        if (x !== orig) (f.copy ??= f.src.slice())[i] = x
      })
    } else {
      if (f.i >= f.entries.length) {
        stack.pop()
        open.delete(f.src)
        done.set(f.src, f.copy ?? f.src)
        f.set(f.copy ?? f.src)
        continue
      }
      const at = f.i++
      const [k, orig] = f.entries[at]!
      const k2 = text(k, detectors, policy, null, counts)
      visit(orig, k, (x) => {
        if (x === orig && k2 === k && f.copy === null) return
        if (f.copy === null) {
          f.copy = {}
          for (let j = 0; j < at; j++) put(f.copy, f.entries[j]![0], f.entries[j]![1])
        }
        let name = k2
        // Two keys that scrub to the same text keep both values. An unchanged key keeps its name
        // (no two source keys are equal, and a scrubbed name never takes a source key), so only a
        // scrubbed key is renamed: to `name#2`, `name#3` …, the first not a source key and not
        // given before. Its base's counter only goes up, and a string is `base#n` for one base
        // only, so each name is tried once per object: linear in the keys.
        if (k2 !== k && (hasOwn(f.src, k2) || hasOwn(f.copy, k2))) {
          const next = (f.next ??= new Map())
          let n = next.get(k2) ?? 2
          while (hasOwn(f.src, `${k2}#${n}`) || hasOwn(f.copy, `${k2}#${n}`)) n++
          next.set(k2, n + 1)
          name = `${k2}#${n}`
        }
        put(f.copy, name, x)
      })
    }
  }
  return { value: result as A, findings: findingsOf(counts, policy) }
}

/**
 * What the detectors find in a JSON value, with each category's action under `policy` (never the
 * matched text).
 *
 * @since 0.1.0
 * @category engine
 */
export const scan = (value: unknown, policy: Policy = Policy.default, detectors: ReadonlyArray<Detector> = builtins): ReadonlyArray<Finding> =>
  redact(value, policy, detectors).findings

/**
 * The strictest action among findings (`allow` when there are none).
 *
 * @since 0.1.0
 * @category engine
 */
export const verdict = (findings: ReadonlyArray<Finding>): Action => findings.reduce<Action>((top, f) => stricter(top, f.action), "allow")

// ---------------------------------------------------------------------------------------------
// the detector set in use
// ---------------------------------------------------------------------------------------------

/**
 * The detectors in use: the built-ins unless a layer provides others.
 *
 * @since 0.1.0
 * @category tags
 */
export class Detectors extends EffectContext.Reference<Detectors>()("acttrace/Detectors", {
  defaultValue: (): ReadonlyArray<Detector> => builtins
}) {}

/**
 * Use exactly these detectors.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (detectors: ReadonlyArray<Detector>): Layer.Layer<Detectors> => Layer.succeed(Detectors, detectors)

/**
 * Add detectors to the set provided below this layer (the built-ins by default), after it: the
 * earlier detectors keep their spans.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerAdd = (...more: ReadonlyArray<Detector>): Layer.Layer<Detectors> =>
  Layer.effect(
    Detectors,
    Effect.map(Detectors, (current) => [...current, ...more])
  )
