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
 * Validators come from maintained packages where one fits: `validator` for BIC (with its country
 * code) and IP addresses, `libphonenumber-js` for phone numbers. Luhn, the ABA routing checksum,
 * SSN ranges, Verhoeff (Aadhaar), the NINO prefixes, IBAN (the registry's length per country,
 * check digits and mod-97: `validator` lacks a country and has one layout wrong) and MAC
 * addresses are written here: each is a few lines, and `validator`'s card check also demands
 * known issuer prefixes and lengths, which the card rule here (13–19 digits, Luhn, a
 * card-issuing layout) does not. The detectors live in `internal/keys.ts`,
 * `internal/assignments.ts`, `internal/pii.ts` and `internal/phone.ts`.
 *
 * @since 0.1.0
 */
import * as EffectContext from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { assignments } from "./internal/assignments.js"
import { encoded } from "./internal/encoded.js"
import { keys } from "./internal/keys.js"
import * as matching from "./internal/matching.js"
import { asciiTwins, endCall, memoPerCall, SHORT } from "./internal/matching.js"
import { phone } from "./internal/phone.js"
import * as pii_ from "./internal/pii.js"
import { pii } from "./internal/pii.js"
import type * as Detector_ from "./internal/detector.js"
import { isPlainObject } from "./internal/plain.js"
import { Num } from "./Canonical.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Group = Detector_.Group

/**
 * @since 0.1.0
 * @category models
 */
export type Severity = Detector_.Severity

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
export type MatchContext = Detector_.MatchContext

/**
 * A detector: a category, a group, a severity, a global regular expression (a named group `v`
 * narrows what is replaced), and optional `validate`, `hint`, `numeric` and `placeholder`
 * (documented on each member).
 *
 * @since 0.1.0
 * @category models
 */
export type Detector = Detector_.Detector

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
  /**
   * the most a placeholder finding (an example key, `<your-key-here>`, `changeme`: see
   * `isPlaceholder`) resolves to: `redact` when not given, so a placeholder is still replaced
   * but never blocks; `block` treats placeholders like real values; `flag` keeps them in the
   * text; `allow` ignores them.
   */
  readonly placeholders?: Action | undefined
  /**
   * which detectors run, from the set in use (`select`): `["+uk_nino", "-ipv4"]` or
   * `"+uk_nino,-ipv4"`. `Detect.redact`/`scan`, `Redactor.layerPolicy`/`fromPolicy`, `Guard` and
   * `acttrace scan` honour it.
   */
  readonly detectors?: ReadonlyArray<string> | string | undefined
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
  /**
   * `true` on the row of a category's placeholder matches (severity `info`, action capped by
   * `Policy.placeholders`); absent on real findings. A category with both has two rows, the real
   * one first.
   */
  readonly placeholder?: true | undefined
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

/**
 * The Luhn checksum (cards).
 *
 * @since 0.1.0
 * @category validators
 */
export const luhn: (digits: string) => boolean = matching.luhn

/**
 * The ABA routing-number checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10), with a
 * Federal Reserve prefix (00–12, 21–32, 61–72, 80).
 *
 * @since 0.1.0
 * @category validators
 */
export const abaRouting: (digits: string) => boolean = matching.abaRouting

/**
 * A US social security number's ranges: area not 000, 666 or 900–999; group not 00; serial
 * not 0000.
 *
 * @since 0.1.0
 * @category validators
 */
export const ssnRanges: (digits: string) => boolean = matching.ssnRanges

/**
 * The Verhoeff checksum (Aadhaar).
 *
 * @since 0.1.0
 * @category validators
 */
export const verhoeff: (digits: string) => boolean = matching.verhoeff

/**
 * Shannon entropy in bits per character.
 *
 * @since 0.1.0
 * @category validators
 */
export const entropy: (s: string) => number = matching.entropy

// ---------------------------------------------------------------------------------------------
// detectors
// ---------------------------------------------------------------------------------------------

/*
 * Linear time: the rules every detector keeps are in `internal/matching.ts`; each detector module
 * (`internal/keys.ts`, `assignments.ts`, `pii.ts`, `phone.ts`) says how its detectors keep them.
 * Here, for the engine:
 * - Hints, alone and joined into one expression: literal words, or bounded (at most 15 characters
 *   from a position: IBAN, card, SSN, phone, MAC, IPv6, IPv4, NINO, Aadhaar), or the special
 *   words: the joined expression reads at most the sum of those bounds from each position.
 * - The context words of us_ssn, us_routing, swift_bic, mac_address and phone (`near`): literal words, on the 40
 *   characters before a match, and on the key once per call (rule 4).
 * - `HEX_ID`: anchored at the start; a lookahead over digits, then one loop to the end.
 *   `ISO_TIME`: anchored at both ends, fixed pieces (the fraction at most nine digits).
 *   `digitsOf`: one class. `abaRouting`, `ssnRanges`, the NINO validator: anchored, fixed length.
 * - The engine: a detector's matches never overlap and each search starts where the last match
 *   ended; overlaps with earlier spans are found by binary search and merged once per detector; a
 *   string is scanned again at most 8 times (when a replacement joined a new match).
 *
 * `test/harness/redos.test.ts` feeds each detector megabytes of input built for it.
 */

/**
 * The built-in detectors, most specific first: when two overlap, the earlier one keeps the
 * span (a PEM block before the base64 in it, a JWT before the bearer token that carries it, an
 * IBAN before the digits in it).
 *
 * @since 0.1.0
 * @category detectors
 */
export const builtins: ReadonlyArray<Detector> = [...keys, ...assignments, ...encoded, ...pii, phone]


/**
 * Opt-in detectors: UK National Insurance numbers, Indian Aadhaar numbers (Verhoeff), and
 * high-entropy strings (tunable; off by default because ids and digests are high-entropy too).
 *
 * @since 0.1.0
 * @category detectors
 */
export const optIn = pii_.optIn

// ---------------------------------------------------------------------------------------------
// placeholders
// ---------------------------------------------------------------------------------------------

/*
 * Linear time (the rules of `internal/matching.ts`), on a match that may be megabytes long (a
 * private key block, a bearer token):
 * - MARKERS and WORD: literal words (each letter fixed, `[_-]?` at most one character), so a start
 *   reads at most 40 characters; the lookarounds read one.
 * - TEMPLATE: each form opens with a literal (`<`, `{{`, `${`, `%(`) and reads at most 66
 *   characters of a class that holds no opening character; the environment reference is anchored
 *   at the start.
 * - `mostlyFiller`: one loop over the characters.
 */

/**
 * Words that say a value is not a real one, anywhere in it, in any case: seven letters or more (or
 * joined by `_`/`-`), which a random key of 40 base62 characters spells with a chance below 1e-9.
 */
const MARKERS = /example|placeholder|changeme|change[_-]me|replace[_-]?(?:me|with)|redacted|notreal|not[_-]?a[_-]?real|your[_-]?(?:api[_-]?)?(?:key|token|secret|password)/i

/**
 * Shorter words, only as a word of their own: lowercase, capitalised or in capitals, after the
 * start or a character that is not a letter or digit, and before the end, such a character or
 * (after a lowercase or capitalised word) a capital: `my_fake_key`, `FAKE-TOKEN`, `dummyPassword`.
 * A random key spells one so delimited with a chance near 1e-7.
 */
const WORDS = ["dummy", "sample", "fake", "mock", "your", "here", "foobar", "todo", "fixme", "insert"]
const WORD = new RegExp(`(?<![A-Za-z0-9])(?:${WORDS.flatMap((w) => [w, w[0]!.toUpperCase() + w.slice(1), w.toUpperCase()]).join("|")})(?![a-z0-9])`)

/**
 * Templates and references, closed: `<your-key-here>` or `<API_KEY>` as the whole value or its
 * end after a separator (`sk-<key>`), `{{ token }}`, `${API_KEY}`, `%(password)s`, and a whole
 * value that is an environment variable (`$DB_PASSWORD`). Closed and placed so that a random
 * password of printable characters is one with a chance near 1e-5, not the 1 in 250 of a bare `{{`.
 */
const TEMPLATE = /(?:^|[ =]|(?<=[A-Za-z]{2})[-_:])<[A-Za-z][A-Za-z _.-]{2,64}>$|\{\{ ?[A-Za-z_][\w .-]{0,64}\}\}|\$\{[A-Za-z_][\w.:-]{0,64}\}|%\([A-Za-z_]\w{0,64}\)s|^\$[A-Z_][A-Z0-9_]*$/

/**
 * Whether at least half of a value of six characters or more is filler: runs of four or more of
 * one character (`xxxx`, `0000`, `****`). In a random key such runs are rare and short (a run of
 * four of one character has a chance near 1 in 240,000 at each place in base62). A shorter value
 * (a PIN, a short password) is never filler by this rule: `0000` may be real. Counting runs
 * (`sk-ABCDEFGH12345678`) are not filler: the reference's conformance cases (detect.json) hold
 * such a key as a real, critical finding.
 */
const mostlyFiller = (s: string): boolean => {
  const n = s.length
  if (n < 6) return false
  let filler = 0
  let same = 0
  for (let i = 1; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : -1
    const p = s.charCodeAt(i - 1)
    if (c !== p) {
      if (i - same >= 4) filler += i - same
      same = i
    }
  }
  return filler * 2 >= n
}

/**
 * Whether a matched value is a placeholder or an example rather than a real one. The engine asks
 * it of every match of the groups `secret` and `credential` (with the detector's own
 * `placeholder`, if it has one); such a match is still replaced when its action is `redact` or
 * `block`, but its finding has severity `info`, `placeholder: true`, and an action capped by
 * `Policy.placeholders` (`redact` when not given), so it never blocks under the presets.
 *
 * The rule, on the text that would be replaced:
 * - a marker word anywhere, in any case: `example` (`AKIAIOSFODNN7EXAMPLE`), `placeholder`,
 *   `changeme`/`change_me`, `replace_me`/`replace_with`, `redacted`, `notreal`/`not_a_real`,
 *   `your_key`/`your-api-token`/`yoursecret` …;
 * - a shorter word standing as a word (after the start or a character that is not a letter or
 *   digit; before the end, such a character, or a capital): `dummy`, `sample`, `fake`, `mock`,
 *   `your`, `here`, `foobar`, `todo`, `fixme`, `insert` (`your_api_key_here`, `FAKE_TOKEN`);
 * - a template or a reference: `<name>` (three or more letters, `_`, `-`, `.` or spaces, no digit)
 *   as the whole value, or its end after a space, `=`, or a word and `-`, `_` or `:`
 *   (`sk-<your-key>`, `api_key:<token>`; a random password ending `*:<f0r>` is none),
 *   `{{name}}`, `${name}`, `%(name)s`, or a whole value `$UPPER_CASE_NAME`;
 * - filler making at least half of a value of six characters or more: runs of four or more of
 *   one character (`ghp_xxxx…`, `sk_test_0000…`, `xoxb-0000-0000-xxxx`, `****`). Counting runs
 *   (`sk-ABCDEFGH12345678`) are not placeholders: the reference's conformance cases hold one as a
 *   real key.
 *
 * Real keys of the fixed-prefix families (random characters after the prefix) match none of
 * these except by a chance below one in a million per key; `test/detect-placeholders.test.ts`
 * checks it on generated keys. A real password that is mostly one repeated character
 * (`aaaaaaaa`) counts as a placeholder: it is still replaced, with a lower severity.
 *
 * @since 0.1.0
 * @category validators
 */
export const isPlaceholder = (match: string): boolean => MARKERS.test(match) || WORD.test(match) || TEMPLATE.test(match) || mostlyFiller(match)

const GENERIC_PLACEHOLDER_GROUPS: ReadonlySet<string> = new Set(["secret", "credential"])

/** Whether the span [start, end) of `s`, found by `d`, is a placeholder. */
const placeholderAt = (d: Detector, s: string, start: number, end: number): boolean => {
  const generic = GENERIC_PLACEHOLDER_GROUPS.has(d.group) && d.placeholderGeneric !== false
  if (!generic && d.placeholder === undefined) return false
  const match = s.slice(start, end)
  return (generic && isPlaceholder(match)) || (d.placeholder !== undefined && d.placeholder(match))
}

/**
 * The action of a detector's placeholder findings under a policy: its action, capped by
 * `policy.placeholders` (`redact` when not given).
 *
 * @since 0.1.0
 * @category policies
 */
export const placeholderActionOf = (policy: Policy, d: { readonly category: string; readonly group: string }): Action => {
  const action = actionOf(policy, d)
  const cap = policy.placeholders ?? "redact"
  return RANK[action] <= RANK[cap] ? action : cap
}

// ---------------------------------------------------------------------------------------------
// selecting detectors
// ---------------------------------------------------------------------------------------------

/**
 * A detector spec named a category that is neither in the set in use, nor built in, nor opt-in.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownDetector extends Schema.TaggedError<UnknownDetector>()("UnknownDetector", {
  /** the item as written (`+uk_nio`) */
  detector: Schema.String,
  /** the categories that can be named: those of the set in use, the built-ins and the opt-ins */
  known: Schema.Array(Schema.String),
  /** the opt-in categories (`+NAME` turns one on) */
  optIn: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `unknown detector ${JSON.stringify(this.detector)}: the categories are ${this.known.join(", ")}; opt-in (add with +NAME): ${this.optIn.join(", ")}`
  }
}

/** The opt-in detectors by category, with their defaults (`highEntropy()`: 32 characters, 4.5 bits). */
const OPT_IN: ReadonlyMap<string, ReadonlyArray<Detector>> = (() => {
  const by = new Map<string, Array<Detector>>()
  for (const v of Object.values(pii_.optIn) as ReadonlyArray<Detector | (() => Detector)>) {
    const d = typeof v === "function" ? v() : v
    by.set(d.category, [...(by.get(d.category) ?? []), d])
  }
  return by
})()

/**
 * The opt-in categories, which `select` turns on with `+NAME`: `uk_nino`, `aadhaar`, `high_entropy`.
 *
 * @since 0.1.0
 * @category detectors
 */
export const optInCategories: ReadonlyArray<string> = [...OPT_IN.keys()]

/**
 * Where each built-in and default opt-in detector goes in a set: the built-ins in their order,
 * with the opt-ins of fixed form (uk_nino, aadhaar) before `phone`, the loosest built-in, and
 * `high_entropy`, which takes any long token, last.
 */
const RANKS: ReadonlyMap<Detector, number> = (() => {
  const loose = [...OPT_IN.entries()].filter(([c]) => c === "high_entropy").flatMap(([, ds]) => ds)
  const fixed = [...OPT_IN.entries()].filter(([c]) => c !== "high_entropy").flatMap(([, ds]) => ds)
  const at = builtins.findIndex((d) => d.category === "phone")
  const order = at < 0 ? [...builtins, ...fixed, ...loose] : [...builtins.slice(0, at), ...fixed, ...builtins.slice(at), ...loose]
  return new Map(order.map((d, i) => [d, i]))
})()

const selected = new WeakMap<ReadonlyArray<Detector>, Map<string, Either.Either<ReadonlyArray<Detector>, UnknownDetector>>>()

/**
 * A detector set from `base` (usually the set in use, `Detectors`) and a spec: a list like
 * `["+uk_nino", "+aadhaar", "-ipv4"]` or the string `"+uk_nino,+aadhaar,-ipv4"`, applied left to
 * right. `+name` (or a bare `name`) turns a category on: the opt-in detectors of that category
 * (`uk_nino`, `aadhaar`, `high_entropy` with its defaults), or a built-in or `base` category that
 * an earlier item removed; a category already in the set stays as it is. `-name` removes every
 * detector of that category. Added detectors take their place among the built-ins (opt-ins of
 * fixed form before `phone`, `high_entropy` last), so the more specific keep their spans. Empty
 * items are skipped. A name that is not a category of `base`, of the built-ins or of the opt-ins
 * fails with `UnknownDetector`, which lists them.
 *
 * The result is remembered per base and spec (the engine's joined hints are built once per set),
 * and a spec that changes nothing gives `base` itself.
 *
 * @since 0.1.0
 * @category detectors
 */
export const select = (base: ReadonlyArray<Detector>, spec: ReadonlyArray<string> | string): Either.Either<ReadonlyArray<Detector>, UnknownDetector> => {
  const items = (typeof spec === "string" ? [spec] : spec).flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s.length > 0)
  const key = items.join(",")
  let memo = selected.get(base)
  const hit = memo?.get(key)
  if (hit !== undefined) return hit
  const result = selectNow(base, items)
  if (memo === undefined) selected.set(base, (memo = new Map()))
  // a program builds few sets; a spec from outside (a CLI argument) is not kept past a bound
  if (memo.size >= 64) memo.clear()
  memo.set(key, result)
  return result
}

const selectNow = (base: ReadonlyArray<Detector>, items: ReadonlyArray<string>): Either.Either<ReadonlyArray<Detector>, UnknownDetector> => {
  const known = new Set([...base.map((d) => d.category), ...builtins.map((d) => d.category), ...OPT_IN.keys()])
  let set: Array<Detector> = [...base]
  for (const item of items) {
    const sign = item[0] === "-" ? "-" : "+"
    const name = item[0] === "-" || item[0] === "+" ? item.slice(1).trim() : item
    if (!known.has(name)) {
      return Either.left(new UnknownDetector({ detector: item, known: [...known].sort(), optIn: optInCategories }))
    }
    if (sign === "-") {
      set = set.filter((d) => d.category !== name)
      continue
    }
    if (set.some((d) => d.category === name)) continue
    const fromBase = base.filter((d) => d.category === name)
    const add = fromBase.length > 0 ? fromBase : (OPT_IN.get(name) ?? builtins.filter((d) => d.category === name))
    for (const d of add) {
      const rank = RANKS.get(d)
      const at = rank === undefined ? -1 : set.findIndex((e) => (RANKS.get(e) ?? -1) > rank)
      if (at < 0) set.push(d)
      else set.splice(at, 0, d)
    }
  }
  return Either.right(set.length === base.length && set.every((d, i) => d === base[i]) ? base : set)
}

/** `detectors` narrowed by `policy.detectors`; an unknown name is thrown (see `redact`). */
const inUse = (policy: Policy, detectors: ReadonlyArray<Detector>): ReadonlyArray<Detector> =>
  policy.detectors === undefined ? detectors : Either.getOrThrowWith(select(detectors, policy.detectors), (e) => e)

// ---------------------------------------------------------------------------------------------
// the engine
// ---------------------------------------------------------------------------------------------

interface Span {
  readonly start: number
  readonly end: number
  readonly detector: Detector
}

/**
 * What the hints say of one string: whether it passes the joined expression and, asked only when
 * the string or its field's key does, which of the set's distinct hints it passes (then kept with
 * it). A short string's reading is remembered across calls (keys, model names and outcomes
 * recur), so a string seen before costs a lookup, not thirty searches.
 */
interface Reading {
  /** it passes the joined expression (never, with the built-ins, a lowercase hex id: `HEX_ID`) */
  readonly any: boolean
  /** a lowercase hex id that skipped the joined expression: its hints are still read one by one */
  readonly hex: boolean
  /** per distinct hint of the set, 1 when the string passes it; null until asked */
  hints: Uint8Array | null
  /** per distinct need of the set, 1 when the string passes it and 2 when not, 0 until asked; null until one is */
  needs?: Uint8Array
  /**
   * the text the hints and patterns read: the string with its Unicode spaces, dashes, colons and
   * equals signs written as their ASCII twins (`asciiTwins`, same length, so a span of it is the
   * same span of the string); null when that is the string itself
   */
  readonly text: string | null
}

/** The hints of a detector set joined into one case-insensitive expression (a looser test). */
interface Union {
  readonly detectors: ReadonlyArray<Detector>
  /** drop the long string kept from the call (nothing of a caller's value is held after it) */
  readonly forget: () => void
  /** the joined expression's verdict */
  readonly test: (s: string) => boolean
  readonly read: (s: string) => Reading
  /** which distinct hints a string passes (read once per reading) */
  readonly hintsOf: (reading: Reading, s: string) => Uint8Array
  /** a long field key's reading, its hints read when it passes the joined hint, kept for the call */
  readonly key: (key: string) => Reading
  /** per detector of the set, the index of its hint among the distinct ones; -1 when it has none */
  readonly hintIndex: Int32Array
  /** the distinct `need`s of the set (copies without `g` or `y`, case-insensitive) */
  readonly needs: ReadonlyArray<RegExp>
  /** per detector of the set, the index of its `need` among the distinct ones; -1 when it has none */
  readonly needIndex: Int32Array
  readonly unhinted: boolean
  readonly numeric: ReadonlyArray<Detector>
  /** the numeric detectors that also take short integers under a key their hint passes */
  readonly keyedNumeric: ReadonlyArray<Detector>
  /** per array key met, the key its elements are judged under (`elementKey`), remembered across calls as the readings are */
  readonly elementKeys: Map<string, string>
}

/** passes no hint: reading any index gives `undefined` */
const NO_HINTS = new Uint8Array(0)
/** the reading of a string that passes no hint (shared: its hints are known) */
const MISSED: Reading = { any: false, hex: false, hints: NO_HINTS, text: null }
/**
 * the reading of every lowercase hex id and ISO 8601 timestamp (shared: its hints are read per
 * string, never kept on it)
 */
const HEXED: Reading = { any: false, hex: true, hints: null, text: null }

/**
 * A lowercase hex id with at least one letter (a UUID without dashes, a digest, a trace id): one
 * word, no separators, no capitals. No built-in detector can match inside one (their digit
 * detectors need standalone digit runs, and no keyword is spelt in hex letters alone), so with the
 * built-in set such strings skip the hints.
 */
const HEX_ID = /^(?=[0-9]*[a-f])[0-9a-f]{8}[0-9a-f]*$/
/**
 * An ISO 8601 timestamp and nothing else (`2026-12-05T08:00:00.007000+00:00`, `…Z`): in every
 * captured record (`started_at`, `ts`), different each time, so each one was read through the
 * joined hint (which a timestamp passes: `:00:` is IPv6's) and the detectors it let through. It
 * holds no secret and no personal data, so with the built-in set it is read as a hex id is: its
 * hints only when a key asks for them. What the long way finds in one alone is the phone detector
 * reading a fraction's digits as a number (`.537000000`), a false finding this drops; a property of
 * the engine tests holds that nothing else differs, under any key. The offset is `Z` or `±hh:mm`
 * (what `toISOString` and the record's own times write); a compact `-0800` keeps the long way.
 */
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:[.,]\d{1,9})?)?(?:Z|[+-]\d\d:\d\d)?$/
const unions = new WeakMap<ReadonlyArray<Detector>, Union>()
const REMEMBERED = 4096
/**
 * Whether a hint passes no string that the joined expression refuses: its flags add nothing but
 * `i` (which the joined expression has), and it has no back-reference (whose group number the
 * joining would shift). Then a string the joined expression refuses passes none of the hints,
 * and its hints need not be read one by one.
 */
const joinable = (hint: RegExp): boolean => /^[dgiy]*$/.test(hint.flags) && !/\\(?:[1-9]|k<)/.test(hint.source)
/**
 * The distinct expressions a set's detectors have in one role (`hint`, `need`), by source and
 * flags as `flagsOf` gives them (the expression itself when its flags are those, else a copy), and
 * per detector the index of its own among them (-1 when it has none).
 */
const distinctOf = (
  detectors: ReadonlyArray<Detector>,
  pick: (d: Detector) => RegExp | undefined,
  flagsOf: (flags: string) => string
): { readonly list: ReadonlyArray<RegExp>; readonly index: Int32Array } => {
  const at = new Map<string, number>()
  const list: Array<RegExp> = []
  const index = new Int32Array(detectors.length)
  detectors.forEach((d, i) => {
    const re = pick(d)
    if (re === undefined) return void (index[i] = -1)
    const flags = flagsOf(re.flags)
    const name = `${flags}/${re.source}`
    let n = at.get(name)
    if (n === undefined) {
      at.set(name, (n = list.length))
      list.push(flags === re.flags ? re : new RegExp(re.source, flags))
    }
    index[i] = n
  })
  return { list, index }
}

const unionOf = (detectors: ReadonlyArray<Detector>): Union => {
  let u = unions.get(detectors)
  if (u === undefined) {
    // each distinct hint once: detectors of one family share theirs (the password forms), and
    // every alternative of the joined expression is tried at every position of every string
    const joined = [...new Set(detectors.flatMap((d) => (d.hint === undefined ? [] : [`(?:${d.hint.source})`])))]
    const any = joined.length === 0 ? null : new RegExp(joined.join("|"), "i")
    // the distinct hints, tested one by one: a copy without `g` or `y`, whose `test` would
    // otherwise start where the last one ended (a remembered answer must not depend on the last)
    const { list: hints, index: hintIndex } = distinctOf(detectors, (d) => d.hint, (flags) => flags.replace(/[gy]/g, ""))
    // the needs alike, read case-insensitively
    const { list: needs, index: needIndex } = distinctOf(detectors, (d) => d.need, (flags) => flags.replace(/[gyi]/g, "") + "i")
    const exact = detectors.every((d) => d.hint === undefined || joinable(d.hint))
    const known = new Map<string, Reading>()
    let lastLong: string | null = null
    let lastLongRead: Reading = MISSED
    // a set of built-in and default opt-in detectors only (any `select` of the built-ins)
    const builtin = detectors === builtins || detectors.every((d) => RANKS.has(d))
    const readNow = (s: string): Reading => {
      if (builtin && (HEX_ID.test(s) || ISO_TIME.test(s))) return HEXED
      // a string holding a Unicode space or dash is read (hints and patterns) as its ASCII twin
      // text; one that holds none pays one scan of a character class, once per reading
      const t = asciiTwins(s)
      const text = t === s ? null : t
      if (any === null) return text === null ? MISSED : { any: false, hex: false, hints: NO_HINTS, text }
      if (!any.test(t)) return exact ? (text === null ? MISSED : { any: false, hex: false, hints: NO_HINTS, text }) : { any: false, hex: false, hints: null, text }
      return { any: true, hex: false, hints: null, text }
    }
    const read = (s: string): Reading => {
      if (s.length > SHORT) {
        // a long string is read by each pass that meets it (the hints, the first pass, the
        // copying pass, one after the other): the last one's reading is kept until the call ends
        if (s === lastLong) return lastLongRead
        lastLong = s
        return (lastLongRead = readNow(s))
      }
      let r = known.get(s)
      if (r === undefined) {
        r = readNow(s)
        if (known.size >= REMEMBERED) known.clear()
        known.set(s, r)
      }
      return r
    }
    const hintsOf = (r: Reading, s: string): Uint8Array => {
      if (r.hints !== null) return r.hints
      if (!r.any && !r.hex && exact) return (r.hints = NO_HINTS)
      const passed = new Uint8Array(hints.length)
      for (let h = 0; h < hints.length; h++) if (hints[h]!.test(s)) passed[h] = 1
      return r === HEXED ? passed : (r.hints = passed)
    }
    const key = memoPerCall((k): Reading => {
      const r = readNow(k)
      // a long key that fails the joined hint passes none of its own (as it always was); the
      // shared readings are never written to
      if (!r.any) return r === MISSED || r === HEXED ? MISSED : ((r.hints = NO_HINTS), r)
      r.hints = hintsOf(r, r.text ?? k)
      return r
    })
    u = {
      detectors,
      forget: () => void (lastLong = null),
      test: (s) => read(s).any,
      read,
      hintsOf,
      key,
      hintIndex,
      needs,
      needIndex,
      unhinted: detectors.some((d) => d.hint === undefined),
      numeric: detectors.filter((d) => d.numeric === true),
      keyedNumeric: detectors.filter((d) => d.numeric === true && d.numericUnderKey === true && d.hint !== undefined),
      elementKeys: new Map()
    }
    unions.set(detectors, u)
  }
  return u
}

/**
 * A detector's pattern as the engine searches with it: global. A pattern without the `g` (or `y`)
 * flag would match at the same place forever (`exec` ignores `lastIndex` then): an app's own
 * detector written `/EMP-\d{6}/` would hang every append that holds an id. Its global copy is
 * made once.
 */
const globalCopies = new WeakMap<RegExp, RegExp>()
const searchable = (pattern: RegExp): RegExp => {
  if (pattern.global) return pattern
  let copy = globalCopies.get(pattern)
  if (copy === undefined) {
    copy = new RegExp(pattern.source, pattern.flags.replace("y", "") + "g")
    globalCopies.set(pattern, copy)
  }
  return copy
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

/** no span (shared: never written to) */
const NO_SPANS: ReadonlyArray<Span> = []

/**
 * The accepted matches of a string, sorted by start, earlier detectors first, no two overlapping.
 * A detector's own matches come in order and never overlap each other, so each is checked
 * against the earlier detectors' spans by binary search and merged in after: a long text with
 * thousands of matches stays linear.
 */
const spansOf = (s: string, union: Union, key: string | null): ReadonlyArray<Span> => spansRead(union.read(s), s, union, key)

/**
 * `spansOf` a string already read. The hints and patterns read the reading's text (the string's
 * Unicode spaces and dashes as ASCII, same length); the spans are the same in the string.
 */
const spansRead = (read: Reading, original: string, union: Union, keyAsWritten: string | null): ReadonlyArray<Span> => {
  const s = read.text ?? original
  // a long key's reading is remembered for the call; a short one across calls, with the strings
  const keyRead = keyAsWritten === null ? null : keyAsWritten.length > SHORT ? union.key(keyAsWritten) : union.read(keyAsWritten)
  const key = keyRead === null ? null : keyRead.text ?? keyAsWritten
  const hinted = read.any || (keyRead !== null && keyRead.any)
  if (!hinted && !union.unhinted) return NO_SPANS
  // which hints the string and its key pass, each read at most once (and kept with the reading)
  const inString = hinted ? union.hintsOf(read, s) : NO_HINTS
  const inKey = hinted && keyRead !== null ? union.hintsOf(keyRead, key!) : NO_HINTS
  let spans: ReadonlyArray<Span> = NO_SPANS
  const detectors = union.detectors
  // the needs the string passes (1) or not (2), each read once per string (kept with its reading,
  // so the first pass and the copying one share them), when a detector that has it is met
  let needRead: Uint8Array | null = null
  for (let i = 0; i < detectors.length; i++) {
    const d = detectors[i]!
    const h = union.hintIndex[i]!
    if (h >= 0 && inString[h] !== 1 && inKey[h] !== 1) continue
    const n = union.needIndex[i]!
    if (n >= 0) {
      // (the shared readings are never written to)
      needRead ??= read === MISSED || read === HEXED ? new Uint8Array(union.needs.length) : (read.needs ??= new Uint8Array(union.needs.length))
      if (needRead[n] === 0) needRead[n] = union.needs[n]!.test(s) ? 1 : 2
      if (needRead[n] === 2) continue
    }
    const re = searchable(d.pattern)
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
      // a match that meets an earlier span is dropped, unless its detector gives back its end:
      // then what it keeps is judged (a bearer token stops before a JWT glued to it)
      const clash = overlaps(spans, start, end)
      if (clash && d.trimEnd === undefined) continue
      // a match never swallows an earlier replacement (the built-in patterns stop before one)
      if (s.slice(start, end).includes(REPLACEMENT)) continue
      const context = d.validate !== undefined || d.trimEnd !== undefined ? { before: s.slice(Math.max(0, m.index - 40), m.index), key } : null
      if (d.validate !== undefined && !d.validate(m[0], context!)) continue
      // what belongs to the text around the value stays (a bracket opened before the key)
      if (d.trimEnd !== undefined) {
        end -= Math.max(0, Math.min(end - start, d.trimEnd(s.slice(start, end), context!)))
        if (end <= start || (clash && overlaps(spans, start, end))) continue
      }
      ;(accepted ??= []).push({ start, end, detector: d })
    }
    if (accepted !== null) spans = spans.length === 0 ? accepted : merge(spans, accepted)
  }
  return spans
}

/** How many matches of a detector were counted: real ones, and placeholders. */
interface Tally {
  real: number
  placeholder: number
}
type Counts = Map<Detector, Tally>

/** One pass over a string: count what is found (or only what is replaced); replace it. */
const pass = (s: string, union: Union, policy: Policy, key: string | null, counts: Counts, onlyReplaced: boolean): string => {
  const read = union.read(s)
  const spans = spansRead(read, s, union, key)
  if (spans.length === 0) return s
  // the spans are judged on the text the detectors read; what stays is the string as written
  const judged = read.text ?? s
  let out = ""
  let at = 0
  for (const span of spans) {
    const placeholder = placeholderAt(span.detector, judged, span.start, span.end)
    const action = placeholder ? placeholderActionOf(policy, span.detector) : actionOf(policy, span.detector)
    const replace = action === "redact" || action === "block"
    if (replace || !onlyReplaced) {
      let tally = counts.get(span.detector)
      if (tally === undefined) counts.set(span.detector, (tally = { real: 0, placeholder: 0 }))
      if (placeholder) tally.placeholder++
      else tally.real++
    }
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
const text = (s: string, union: Union, policy: Policy, key: string | null, counts: Counts): string => {
  let out = pass(s, union, policy, key, counts, false)
  for (let round = 0; out !== s && round < 8; round++) {
    s = out
    out = pass(s, union, policy, key, counts, true)
  }
  return out
}

/** A number as the engine reads it: a JavaScript number, a bigint, or an exact `Canonical.Num`. */
type Numeric = number | bigint | Num
const isNumeric = (v: unknown): v is Numeric => typeof v === "number" || typeof v === "bigint" || v instanceof Num

/** The digits of a non-negative integer (a `Num`'s integer lexeme as written), or null. */
const integerText = (n: Numeric): string | null => {
  if (n instanceof Num) return n.isInteger && /^\d+$/.test(n.lexeme) ? n.lexeme : null
  if (typeof n === "bigint") return n >= 0n ? n.toString() : null
  return Number.isSafeInteger(n) && n >= 0 ? String(n) : null
}

/** The digits of a JSON number that could be an id (an integer of 9 digits or more; a bigint of any size). */
const numberDigits = (n: Numeric): string | null => {
  const t = integerText(n)
  return t !== null && (typeof n === "bigint" || t.length >= 9) ? t : null
}

/**
 * The members that wrap a value in an object of its own (`{"password": {"value": "…"}}`, a
 * Terraform output's `value`, DynamoDB's typed `S`, Secrets Manager's `SecretString`): a string
 * under one is judged under the key of the field holding the wrapper.
 */
const WRAPPER = /^(?:value|val|v|s|plain|plaintext|cleartext|raw|current|secret[_-]?string|string|literal)$/i

/**
 * A name/value pair (`{"name": "DB_PASSWORD", "value": "…"}` of a container's env,
 * `{"Name": "/prod/db/password", "Value": "…"}` of SSM, CloudFormation's `ParameterKey` and
 * `ParameterValue`, Postman's `{"key": "X-Api-Key", "value": "…"}`): the value member is judged
 * under the name its sibling gives, when that is a string of at most 200 characters.
 */
const PAIR_NAME = /^(?:name|key|key[_-]?name|parameter[_-]?(?:key|name)|param[_-]?name|header[_-]?name|variable[_-]?name|var[_-]?name)$/i
const PAIR_VALUE = /^(?:value|parameter[_-]?value|param[_-]?value)$/i
/** the first letters, in lowercase, of the `WRAPPER` and `PAIR_VALUE` names (indexed by code | 0x20) */
const WRAPPER_START = (() => {
  const t = new Uint8Array(256)
  for (const c of "vspcrl") t[c.charCodeAt(0)] = 1
  return t
})()
/** the name a pair gives its value member, or null: one pass over the object's entries */
const pairName = (entries: ReadonlyArray<readonly [string, unknown]>): string | null => {
  if (entries.length > 16) return null
  let name: string | null = null
  let value = false
  for (const [k, v] of entries) {
    if (PAIR_NAME.test(k) && typeof v === "string" && v.length > 0 && v.length <= 200) name = v
    else if (PAIR_VALUE.test(k)) value = true
  }
  return value ? name : null
}

/** A row per category, and a second one for its placeholders; by category, the real row first. */
const findingsOf = (counts: Counts, policy: Policy): Array<Finding> => {
  const real = new Map<string, Finding>()
  const placeholders = new Map<string, Finding>()
  const add = (rows: Map<string, Finding>, d: Detector, count: number, row: () => Finding): void => {
    if (count === 0) return
    const prev = rows.get(d.category)
    rows.set(d.category, prev === undefined ? row() : { ...prev, count: prev.count + count })
  }
  for (const [d, tally] of counts) {
    const action = actionOf(policy, d)
    if (action !== "allow") add(real, d, tally.real, () => ({ category: d.category, group: d.group, severity: d.severity, action, count: tally.real }))
    const capped = placeholderActionOf(policy, d)
    if (capped !== "allow") {
      add(placeholders, d, tally.placeholder, () => ({ category: d.category, group: d.group, severity: "info", action: capped, count: tally.placeholder, placeholder: true }))
    }
  }
  const rows = [...real.values(), ...placeholders.values()]
  return rows.sort((a, b) => (a.category < b.category ? -1 : a.category > b.category ? 1 : a.placeholder === b.placeholder ? 0 : a.placeholder === true ? 1 : -1))
}

/**
 * The key a member's value is judged under: the name its pair gives (`PAIR_VALUE`), the key of the
 * field holding a wrapper (`WRAPPER`), or its own.
 */
const judgedKey = (pair: string | null, outer: string | null, k: string): string =>
  pair !== null && PAIR_VALUE.test(k) ? pair : outer !== null && WRAPPER.test(k) ? outer : k

// ---------------------------------------------------------------------------------------------
// arrays: what an element's place in its array says of it
// ---------------------------------------------------------------------------------------------

/*
 * An array gives its elements a meaning no single string holds: the plural of a secret's key
 * (`{"passwords": [...]}`, `{"api_keys": [...]}`) holds values of the singular, and argv given as
 * an array (`subprocess.run`, `execFile`) holds a flag's value in the element after it
 * (`["--password", "…"]`, `["DB_PASSWORD", "…"]`, `["mysql", "-p…"]`). Both walks of `redact` (the
 * read-only `couldMatch` and the copying `redactAll`) read an array through `elementsOf` and `step`
 * alike, so the first pass never misses what the second would find.
 *
 * Linear time: per array, one reading of its key's singular and of its first element; per string
 * element, at most one more reading (cached with the strings) and two anchored expressions over at
 * most 102 characters, and only for an element that passes the joined hints. Each element looks at
 * the one before it alone.
 */

/** a key in the plural: an `s` after a letter that is not one (`passwords`, `API_KEYS`; not `pass`, `access`) */
const PLURAL = /[a-rt-zA-RT-Z][sS]$/

/**
 * The key an array's elements are judged under: the singular of a plural key when the singular
 * passes the set's hints (`passwords` → `password`, `api_keys` → `api_key`, `apiKeys` → `apiKey`,
 * `tokens` → `token`, `credentials` → `credential`), so each element is judged as the value of one
 * such key would be, by the same detectors; the key itself otherwise (`keys`, `columns`, `items`:
 * their singular passes no hint). The detectors' own judges still decide: numbers under `tokens`
 * (a model call's counts) are no token, nor a short word (a tokenizer's pieces).
 */
const elementKey = (union: Union, key: string | null): string | null => {
  if (key === null || key.length < 4 || key.length > SHORT) return key
  let one = union.elementKeys.get(key)
  if (one === undefined) {
    one = PLURAL.test(key) && union.read(key.slice(0, -1)).any ? key.slice(0, -1) : key
    if (union.elementKeys.size >= REMEMBERED) union.elementKeys.clear()
    union.elementKeys.set(key, one)
  }
  return one
}

/** a program's password flag: glued to its value (`-pX`), a separate argument (`-p X`), or either */
interface ProgramFlag {
  readonly flag: string
  readonly glued: boolean
  readonly separate: boolean
}
/**
 * The programs that take a password as a short flag, as their command lines do (`internal/keys.ts`
 * finds the same flags in a command line written as text): the MySQL and MariaDB clients `-pX`,
 * glued only (`-p` alone prompts, and the next argument is a database); `sshpass -p X` or `-pX`;
 * `redis-cli -a X`; OpenLDAP's tools `-w X` or `-wX` (`-W` prompts); `smbmap`, `crackmapexec`,
 * `netexec`, `nxc` `-p X`.
 */
const PROGRAM_FLAGS: ReadonlyMap<string, ProgramFlag> = (() => {
  const mysql: ProgramFlag = { flag: "-p", glued: true, separate: false }
  const m = new Map<string, ProgramFlag>()
  for (const n of ["", "dump", "admin", "import", "check", "pump", "show", "slap", "binlog", "sh"]) m.set(`mysql${n}`, mysql)
  for (const n of ["", "-dump", "-admin", "-import", "-check", "-show", "-slap", "-binlog"]) m.set(`mariadb${n}`, mysql)
  m.set("sshpass", { flag: "-p", glued: true, separate: true })
  m.set("redis-cli", { flag: "-a", glued: false, separate: true })
  const ldap: ProgramFlag = { flag: "-w", glued: true, separate: true }
  for (const n of ["search", "modify", "add", "delete", "whoami", "passwd", "compare", "modrdn", "exop", "url"]) m.set(`ldap${n}`, ldap)
  const smb: ProgramFlag = { flag: "-p", glued: false, separate: true }
  for (const n of ["smbmap", "crackmapexec", "netexec", "nxc"]) m.set(n, smb)
  return m
})()
/** the key a program's password is judged under: the password family's */
const PROGRAM_PASSWORD = "password"

/**
 * The password flag of the program an array's first element names (`mysql`, `/usr/bin/mysql`,
 * `C:\…\mysql.exe`), or null. Read only when the element passes the set's hints (the built-in
 * command-line detector's hint names these programs).
 */
const programOf = (union: Union, first: unknown): ProgramFlag | null => {
  if (typeof first !== "string" || first.length > 512 || !union.read(first).any) return null
  const base = first.slice(Math.max(first.lastIndexOf("/"), first.lastIndexOf("\\")) + 1)
  return PROGRAM_FLAGS.get(/\.exe$/i.test(base) ? base.slice(0, -4) : base) ?? null
}

/**
 * An element that can name the next one: a flag (`--db-password`, `-password`, `--api-key`) or a
 * name (`DB_PASSWORD`, `apiKey`, `X-Api-Key`); the name is what follows the dashes.
 */
const ELEMENT_NAME = /^(-{0,2})([A-Za-z][\w.-]{0,99})$/
/** a name of two words or more (`DB_PASSWORD`, `apiKey`, `X-Api-Key`), not a lone word (`password`) */
const COMPOUND = /[_.-]|[a-z][A-Z]/
/**
 * A name as written by people and programs: words, each in one case or capitalized, perhaps with
 * digits after it, joined in camel case or by `_`, `.`, `-` (`password`, `X-Api-Key`,
 * `DB_PASSWORD_2`, `apiKey2`), not a random string of mixed case (`aaaAAAaaaaaaaa22`). Read on at
 * most 102 characters (the caller's bound).
 */
const NAME_WORDS = (() => {
  const word = "(?:[a-z]+|[A-Z][a-z]*|[A-Z]+)\\d*(?:[A-Z][a-z]+\\d*)*"
  return new RegExp(`^${word}(?:[_.-](?:${word}|\\d+))*$`)
})()
/** a flag that is a switch, with no value after it (`--password-stdin`: read from standard input) */
const SWITCH = /stdin$/i
/**
 * After a bare name (no dashes), what is no value: a word or a field's name (letters, `_`, `-`,
 * `.`: `["password", "username"]`, `["password", "reset", "help"]`, as the two-element pairs
 * written as text are judged), or a path (`["grep", "-r", "DB_PASSWORD", "src/"]`).
 */
const WORD_AFTER_NAME = /^[A-Za-z][A-Za-z_.-]*$/
/**
 * A name as programs write one, in one case with separators (`DB_PASSWORD_2`, `npm-token`,
 * `db_password_v2`) or in camel case (`githubToken`, `apiKey2`): a random key or password, of mixed
 * case and digits anywhere, is none.
 */
const IDENTIFIER = /^(?:[A-Z][A-Z0-9]*(?:[_.-][A-Z0-9]+)+|[a-z][a-z0-9]*(?:[_.-][a-z0-9]+)+|[a-z]+(?:[A-Z][a-z]+)+\d{0,2})$/
const PATH_AFTER_NAME = /^(?:\.{0,2}\/|~(?:\/|$)|[A-Za-z]:\\)|\/$/

/**
 * What an array says of its elements: read once per array (`elementsOf`), then per element
 * (`step`), each element looking at the one before it alone.
 */
interface Elements {
  /** the key its elements are judged under: the array's own, or its singular (`elementKey`) */
  readonly key: string | null
  /** the array's own key */
  readonly own: string | null
  /**
   * whether an element may name the next: not under a plural secret key, whose elements are all
   * values of the singular
   */
  readonly names: boolean
  /** two elements: a lone keyword names the other (`["password", "…"]`, a form field as a tuple) */
  readonly pair: boolean
  /** the password flag of the program the first element names, until its first use */
  program: ProgramFlag | null
  /** the name the last element gives the next one (its dashes dropped), or null */
  name: string | null
  /** that name was written bare (no dashes): a word or a path after it is no value */
  bare: boolean
  /** set by `step`: the key the element is judged under */
  judged: string | null
  /** set by `step`: how many characters at the element's start are a glued flag, kept as written (`-p` of `-pX`) */
  keep: number
}

const elementsOf = (union: Union, key: string | null, array: ReadonlyArray<unknown>): Elements => {
  const one = elementKey(union, key)
  return {
    key: one,
    own: key,
    names: one === key,
    pair: array.length === 2,
    program: array.length > 1 ? programOf(union, array[0]) : null,
    name: null,
    bare: false,
    judged: one,
    keep: 0
  }
}

/**
 * Read a string element of an array (`hinted`: its reading passes the set's hints, read once by
 * the caller): the key it is judged under and the glued flag it starts with (`judged`, `keep`),
 * and the name it gives the next element. An element is the value of
 * the name before it unless it is a flag itself (starts with `-`) or, after a bare name, a word or
 * a path; a value names nothing. A name is an element that passes the set's hints and reads as a
 * flag or a name (`ELEMENT_NAME`): a lone bare keyword only in a pair of two. Which names hold a
 * secret, and which values are one, the detectors decide (`password_file`, `max_tokens`, `$TOKEN`,
 * `${PW}` are none), as they do for `name = value`.
 */
const step = (union: Union, e: Elements, x: string, hinted: boolean): void => {
  let judged = e.key
  let keep = 0
  let next: string | null = null
  let bare = false
  if (!e.names) {
    // under a plural key: a name is no value of the singular (a list of secrets' names, Compose's
    // `secrets: [db_password, site_cert]`, Actions' `["NPM_TOKEN", "githubToken"]`): words joined
    // by `_`, `.` or `-`, or an identifier (`IDENTIFIER`) that passes the hints
    if (x.length <= 102 && ((WORD_AFTER_NAME.test(x) && /[_.-]/.test(x)) || (hinted && IDENTIFIER.test(x)))) judged = e.own
    e.judged = judged
    e.keep = 0
    return
  }
  const value = e.name !== null && x.length > 0 && x.charCodeAt(0) !== 45 && (!e.bare || !(WORD_AFTER_NAME.test(x) || PATH_AFTER_NAME.test(x)))
  // a value names nothing
  let names = !value
  if (value) judged = e.name
  else if (e.program !== null && x.startsWith(e.program.flag)) {
    // the program's first such flag alone (`sshpass -p X ssh -p 2222`: the second is ssh's port)
    const p = e.program
    e.program = null
    if (x.length === p.flag.length) {
      if (p.separate) next = PROGRAM_PASSWORD
    } else if (p.glued) {
      judged = PROGRAM_PASSWORD
      keep = p.flag.length
      // a glued flag names the next element only when it is a word (`mysql -password X` gives
      // mysql the password `assword`, and X, which its writer meant for one, is judged as the
      // value of `password`); a glued password (`-pW_x2…`) names nothing
      names = WORD_AFTER_NAME.test(x.slice(1))
    }
  }
  if (names && next === null && hinted && x.length <= 102) {
    // (the name without its dashes passes the hints too: `-u` passes a hint that `u` does not)
    const m = ELEMENT_NAME.exec(x)
    if (m !== null && !SWITCH.test(x) && (m[1] === "" || union.read(m[2]!).any)) {
      bare = m[1] === ""
      // a bare name is written as names are (`NAME_WORDS`): a random string that passes a hint of
      // a value (`aaaAAAaaaaaaaa22`, base64) is a value of the array's key, not the name of the
      // next element
      if (!bare || ((e.pair || COMPOUND.test(m[2]!)) && NAME_WORDS.test(x))) next = m[2]!
    }
  }
  e.judged = judged
  e.keep = keep
  e.name = next
  e.bare = bare
}

/**
 * Strings up to this length are searched in the first pass (`couldMatch`), longer ones only
 * hinted: a value with a finding then searches the short strings before it twice at most, and
 * never a long one.
 */
const SEARCHED_FIRST = 256

/** A field key's reading (a long key's is kept for the call, with its hints). */
const keyReading = (union: Union, key: string): Reading => (key.length > SHORT ? union.key(key) : union.read(key))

/**
 * Whether a string, read as `read` (a value under `key`, read as `keyRead`, or a key: null), has
 * a match: searched when it is short, hinted when it is long.
 */
const findsIn = (union: Union, s: string, read: Reading, key: string | null, keyRead: Reading | null): boolean => {
  if (!union.unhinted && !read.any && !(keyRead !== null && keyRead.any)) return false
  return s.length <= SEARCHED_FIRST ? spansOf(s, union, key).length > 0 : true
}

/**
 * Whether any string, key or number of a value passes the detector set's joined hints (a detector
 * without a hint makes every string a candidate): a necessary condition for any finding, read
 * without allocating per node. Iterative; a budget of values read instead of a visited set: a
 * cycle exhausts it and takes the full path, which handles cycles.
 */
const anyHinted = (value: unknown, union: Union): boolean => {
  const numeric = union.numeric.length > 0
  const stack: Array<unknown> = [value]
  // counted per value put on the stack, not per value taken off: a wide object met again through a
  // back-reference would otherwise grow the stack by its width per visit (a parent pointer under
  // 3,000 members outgrew what an array may hold and aborted the process)
  let budget = 100_000
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v === "string") {
      if (union.unhinted || union.read(v).any) return true
      continue
    }
    if (isNumeric(v)) {
      if (numeric && numberDigits(v) !== null) return true
      continue
    }
    if (v === null || typeof v !== "object") continue
    if (Array.isArray(v)) {
      if ((budget -= v.length) <= 0) return true
      for (let i = 0; i < v.length; i++) stack.push(v[i])
    } else if (isBytes(v)) {
      const t = bytesText(v)
      if (t !== null && (union.unhinted || union.read(t).any)) return true
    } else if (isPlainObject(v)) {
      for (const k in v) {
        if (--budget <= 0) return true
        if (union.unhinted || union.read(k).any) return true
        const x = (v as Record<string, unknown>)[k]
        // an array under a plural key whose singular passes a hint (`tokens`: see `elementKey`)
        if (Array.isArray(x) && elementKey(union, k) !== k) return true
        stack.push(x)
      }
    }
  }
  return false
}

/**
 * Whether redacting a value could find anything: a string or key up to `SEARCHED_FIRST`
 * characters that has a match, under the key `redactAll` judges it by; a longer one that passes
 * the joined hints or sits under a key that does; a number whose digits a numeric detector reads
 * (an id of nine digits or more), or an integer under a key that passes the hint of a detector
 * that takes integers there (`numericUnderKey`); or any string at all when a detector has no hint.
 * When none does, the value is returned as it is without copying or allocating per node: most
 * payloads, even those holding a string that passes a hint (the date in `gpt-4o-2024-08-06`
 * passes the phone number's), hold nothing. Iterative; a budget instead of a visited set: a cycle
 * exhausts it and takes the full path, which handles cycles.
 */
const couldMatch = (value: unknown, union: Union): boolean => {
  if (!isContainer(value)) return couldFind(value, null, null, union)
  // the containers still to read, each with the key it is judged under and that key's reading
  const stack: Array<unknown> = [value, null, null]
  let budget = 100_000
  while (stack.length > 0) {
    const keyRead = stack.pop() as Reading | null
    const key = stack.pop() as string | null
    const v = stack.pop() as object
    if (Array.isArray(v)) {
      // (as `redactAll` reads them: each element under the key its place gives it)
      const e = elementsOf(union, key, v)
      const elementRead = e.key === key ? keyRead : e.key === null ? null : keyReading(union, e.key)
      for (let i = 0; i < v.length; i++) {
        if (--budget === 0) return true
        const x: unknown = v[i]
        if (typeof x === "string") {
          const read = union.read(x)
          step(union, e, x, read.any)
          const judgedRead = e.judged === e.key ? elementRead : keyReading(union, e.judged!)
          if (e.keep > 0 ? couldFind(x.slice(e.keep), e.judged, judgedRead, union) : findsIn(union, x, read, e.judged, judgedRead)) return true
          continue
        }
        e.name = null
        if (isContainer(x)) stack.push(x, e.key, elementRead)
        else if (couldFind(x, e.key, elementRead, union)) return true
      }
    } else if (isPlainObject(v)) {
      let pair: string | null | undefined
      for (const k in v) {
        if (--budget === 0) return true
        const read = keyReading(union, k)
        if (findsIn(union, k, read, null, null)) return true
        let judged = k
        // most keys can be neither a pair's value nor a wrapper: their first letter says so
        if (k.length > 0 && WRAPPER_START[k.charCodeAt(0) | 0x20] === 1) {
          // the pair's name is read only when a member could be its value
          if (pair === undefined && PAIR_VALUE.test(k)) pair = pairName(Object.entries(v as Record<string, unknown>))
          judged = judgedKey(pair ?? null, key, k)
        }
        const judgedRead = judged === k ? read : keyReading(union, judged)
        const x = (v as Record<string, unknown>)[k]
        if (isContainer(x)) stack.push(x, judged, judgedRead)
        else if (couldFind(x, judged, judgedRead, union)) return true
      }
    }
  }
  return false
}

/** An object that is not a number (`Num`) nor bytes: an array, a plain object, or another, which holds nothing. */
const isContainer = (v: unknown): v is object => v !== null && typeof v === "object" && !(v instanceof Num) && !isBytes(v)

/** Bytes: a `Buffer`, any `Uint8Array`, an `ArrayBuffer` (what `execSync`, `readFileSync` and streams hand out). */
const isBytes = (v: object): v is Uint8Array | ArrayBuffer => v instanceof Uint8Array || v instanceof ArrayBuffer

const UTF8 = new TextDecoder("utf-8", { fatal: true })
const ENCODER = new TextEncoder()

/**
 * The text of bytes when they are UTF-8 (decoded as the chain's `normalize` does: a leading BOM
 * dropped), or null: bytes that are no UTF-8 text are binary data, which no detector reads.
 */
const bytesText = (v: Uint8Array | ArrayBuffer): string | null => {
  try {
    return UTF8.decode(v)
  } catch {
    return null
  }
}

/** The UTF-8 of `text` as bytes of the kind `like` is: a `Buffer`, a `Uint8Array`, an `ArrayBuffer`. */
const bytesLike = (like: Uint8Array | ArrayBuffer, text: string): Uint8Array | ArrayBuffer => {
  const bytes = ENCODER.encode(text)
  if (like instanceof ArrayBuffer) return bytes.buffer
  const B = (globalThis as { Buffer?: { isBuffer: (x: unknown) => boolean; from: (a: ArrayBuffer, at: number, n: number) => Uint8Array } }).Buffer
  return B !== undefined && B.isBuffer(like) ? B.from(bytes.buffer, bytes.byteOffset, bytes.length) : bytes
}

/** `couldMatch` of a value that is not a container. */
const couldFind = (v: unknown, key: string | null, keyRead: Reading | null, union: Union): boolean => {
  if (typeof v === "string") return findsIn(union, v, union.read(v), key, keyRead)
  if (v !== null && typeof v === "object" && isBytes(v)) {
    const t = bytesText(v)
    return t !== null && findsIn(union, t, union.read(t), key, keyRead)
  }
  if (isNumeric(v)) {
    if (union.numeric.length > 0 && numberDigits(v) !== null) return true
    // `redactAll`'s keyed path, which runs when the key passes the joined hints
    return keyRead !== null && keyRead.any && union.keyedNumeric.length > 0 && integerText(v) !== null && union.keyedNumeric.some((d) => d.hint!.test(keyRead.text ?? key!))
  }
  return false
}

/**
 * What the detectors find in a JSON value (string values and object keys at any depth, and the
 * digits of numbers for financial and government-id detectors), with each category's action under
 * `policy`, and the value with every `redact` and `block` match replaced by `<redacted>`.
 * Categories the policy allows are not reported. Bytes (a `Buffer`, any `Uint8Array`, an
 * `ArrayBuffer`) are read as their UTF-8 text, as the chain reads them, and given back as bytes of
 * the same kind holding the redacted text (the same object when nothing is replaced); bytes that
 * are not valid UTF-8 are binary data: no detector reads them and they are given back as they are
 * (the chain refuses them with a typed error; an app that logs binary data encodes it first).
 * Strings are read with their Unicode spaces (no-break, thin, ideographic …), dashes and minus
 * signs, full-width colons and equals signs as their ASCII twins (same length); what is replaced
 * is the same span of the text as written, and the rest stays as written. A placeholder (`isPlaceholder`, or the detector's
 * own check) is reported in a row of its own (`placeholder: true`, severity `info`), its action
 * capped by `policy.placeholders`. When `policy.detectors` is given, it narrows `detectors` as
 * `select` does; a name there that is not known is a defect of the program, thrown as
 * `UnknownDetector` (check a spec from outside with `select` first, or use `Redactor.layerPolicy`,
 * which fails with it). The caller's value is never changed; a value
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
  detectors = inUse(policy, detectors)
  const union = unionOf(detectors)
  // most payloads hold nothing: find that out without copying or allocating per node, first by
  // the hints alone, then (a string passed one) by searching the short strings
  try {
    if (!anyHinted(value, union) || !couldMatch(value, union)) return { value, findings: [] }
    return redactAll(value, policy, union)
  } finally {
    // (the first pass may have searched too: its validators' memos are emptied as well)
    endCall()
    union.forget()
  }
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
const redactAll = <A>(value: A, policy: Policy, union: Union): { readonly value: A; readonly findings: ReadonlyArray<Finding> } => {
  const numeric = union.numeric
  const numericUnion = numeric.length > 0 ? unionOf(numeric) : null
  const counts: Counts = new Map()
  // iterative, so a deep value cannot overflow the stack; containers are copied on write
  type Frame =
    | {
        readonly kind: "array"
        readonly src: Array<unknown>
        i: number
        copy: Array<unknown> | null
        /** what the array says of its elements: the key each is judged under (`elementsOf`, `step`) */
        readonly elements: Elements
        readonly set: (x: unknown) => void
      }
    | {
        readonly kind: "object"
        /** the key of the field holding the object: its wrapper members are judged under it */
        readonly key: string | null
        /** the name a name/value pair gives its value member (`PAIR_NAME`) */
        readonly pair: string | null
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
  // the numeric detectors that also take short integers under a key their hint passes
  const keyedNumeric = union.keyedNumeric
  const keyedUnder = new Map<string, Union | null>()
  const visit = (v: unknown, key: string | null, set: (x: unknown) => void): void => {
    if (typeof v === "string") return set(text(v, union, policy, key, counts))
    if (isNumeric(v)) {
      const digits = numberDigits(v)
      let out: string | null = null
      let read: string | null = null
      if (digits !== null && numericUnion !== null) out = text((read = digits), numericUnion, policy, key, counts)
      else if (key !== null && keyedNumeric.length > 0 && (read = integerText(v)) !== null) {
        // once per key in a call (a long key is not read again per number under it)
        let under = keyedUnder.get(key)
        if (under === undefined) {
          const twin = asciiTwins(key)
          const hinted = keyedNumeric.filter((d) => d.hint!.test(twin))
          keyedUnder.set(key, (under = hinted.length === 0 ? null : unionOf(hinted)))
        }
        out = under === null ? read : text(read, under, policy, key, counts)
      }
      return set(out === null || out === read ? v : REPLACEMENT)
    }
    if (v === null || typeof v !== "object") return set(v)
    if (isBytes(v)) {
      // read as their UTF-8 text; given back as bytes of their kind holding the redacted text
      const t = bytesText(v)
      const out = t === null ? t : text(t, union, policy, key, counts)
      return set(out === t ? v : bytesLike(v, out!))
    }
    if (done.has(v)) return set(done.get(v))
    if (open.has(v)) return set(v)
    if (Array.isArray(v)) {
      open.add(v)
      stack.push({ kind: "array", src: v, i: 0, copy: null, elements: elementsOf(union, key, v), set })
    } else if (isPlainObject(v)) {
      open.add(v)
      const entries = Object.entries(v as Record<string, unknown>)
      stack.push({ kind: "object", key, pair: pairName(entries), src: v as Record<string, unknown>, entries, i: 0, copy: null, next: null, set })
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
      const e = f.elements
      if (typeof orig === "string") {
        step(union, e, orig, union.read(orig).any)
        if (e.keep > 0) {
          // a glued flag (`-pX`): the value after it judged, the flag kept as written
          const keep = e.keep
          const value = orig.slice(keep)
          visit(value, e.judged, (x) => {
            if (x !== value) (f.copy ??= f.src.slice())[i] = orig.slice(0, keep) + (x as string)
          })
          continue
        }
      } else e.name = null
      visit(orig, typeof orig === "string" ? e.judged : e.key, (x) => {
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
      const k2 = text(k, union, policy, null, counts)
      visit(orig, judgedKey(f.pair, f.key, k), (x) => {
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
