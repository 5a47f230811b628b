/**
 * The phone number detector: a cheap pattern finds runs of digits written the way phone numbers
 * are (separators, brackets, a leading `+`), and `libphonenumber-js` (Google's libphonenumber
 * metadata, the library Presidio's Python port wraps) decides whether a run is a valid number.
 *
 * Linear time (the rules are in `matching.ts`): the pattern is bounded. One optional `+`, one
 * optional `(`, then 7–17 digits, each after at most a `)`, one separator and a `(`, in that
 * order, so a stretch is read one way only; 2 + 16 × 4 = 66 characters at most from a start. A
 * start inside a number, a word or a dotted run is refused by the lookbehind, so a long run of
 * digits is read from its first digit only. The validator sees at most those 66 characters; it
 * refuses by shape and length first (no library call), then asks the library at most once per
 * region whose plan has the number's length (nine at most), and remembers the answers. The
 * library costs 10–40 µs a call, so one engine call makes at most `LIBRARY_CALLS_PER_CALL` of
 * them (below): an input full of distinct phone-shaped runs costs a constant per candidate.
 *
 * Metadata: `max`, the complete set. `min` checks lengths only (its `isValid` is `isPossible`):
 * measured on 4,000 random digit strings, it takes 90% of zero-led eleven-digit strings for
 * Chinese numbers (`max`: 37%), every ten-digit string for an Indian or Brazilian one (`max`: 70%,
 * 38%), which here means flagging ids; it is about a third cheaper a call, which the budget and the
 * memo make matter little. `mobile` would miss every landline (`+44 20 7946 0958`).
 *
 * Numbers written with the international prefix (`+44 …`, `0044 …`) are checked against every
 * country. National forms cannot be: every string of 8–11 digits is a valid number somewhere, so
 * they are tried in a fixed set of regions (`NATIONAL_REGIONS`, below, says which and why), and
 * only when written the way that region writes them: with its trunk prefix `0`, or, for the
 * ten-digit plans that people write without one (North America, Turkey, the Philippines, India),
 * grouped by separators or brackets. A bare run of digits with neither `+`, `0` nor separators
 * (`4155550132`) is a phone number only next to a word that says so (`phone`, `tel`, `call`, …):
 * bare ten-digit runs are more often ids, amounts and timestamps than phone numbers. Japan, South
 * Korea, China and Italy (`OTHER_REGIONS`) are read only as the library groups their numbers, and
 * North America's international prefix `011` as `00` is. Digits of other scripts (full width,
 * Arabic-Indic, Devanagari …) are read as ASCII ones, and the digits of a JSON number as a bare
 * run (a phone number under a key that says so: `{"mobile": 447911123456}`).
 */
import type { Detector, MatchContext } from "./detector.js"
import { getCountries, getCountryCallingCode, Metadata, parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js/max"
import { memoPerCall, near } from "./matching.js"

/**
 * The regions national forms are tried in.
 *
 * Presidio's default (`US, UK, DE, FE, IL, IN, CA, BR`, of which `UK` and `FE` are not region
 * codes the library knows, so they meant GB and FR), the regions of Presidio's own extra phone
 * recognizers (PH, TR), and NL (`06-12345678`). CA shares the North American plan with the US:
 * parsing with US finds either. Every region added makes more zero-led digit strings valid
 * (Japan's plan takes 70% of random ten-digit zero-led strings, Italy's 69%), so the set stays
 * small; a number of any other country is found in its international form (`+81 90-1234-5678`).
 */
const TRUNK_REGIONS: ReadonlyArray<CountryCode> = ["GB", "DE", "FR", "NL", "IL", "IN", "BR", "TR", "PH"]
/**
 * The plans people write without their trunk prefix: ten digits in North America, Turkey, the
 * Philippines and India (`532 123 45 67`, `98765 43210`), ten or eleven in Brazil (`(11) 98456-5666`).
 */
const NO_TRUNK_REGIONS: ReadonlyArray<CountryCode> = ["US", "TR", "PH", "IN", "BR"]

/** Every region a national form is tried in (the tests check the library's verdicts against it). */
export const NATIONAL_REGIONS: ReadonlyArray<CountryCode> = [...new Set([...TRUNK_REGIONS, ...NO_TRUNK_REGIONS])]

/**
 * A separator: a space, a dot, a dash, or a slash (`089/12345678`: German numbers are written
 * with one after the area code; `check` takes no other slash).
 */
const SEP = "[ \\u00a0.\\u2010-\\u2015\\u30fc/-]"
/**
 * A digit: ASCII, or a decimal digit of the scripts people type numbers in (Arabic-Indic, Eastern
 * Arabic-Indic, Devanagari, Bengali, Thai, and the full-width digits of Japanese and Chinese
 * input: `０９０-１２３４-５６７８`). Each is one UTF-16 unit, so the validator reads the number
 * as ASCII (`asciiDigits`) and the span replaced is the one written.
 */
const UNICODE_DIGITS = "\\u0660-\\u0669\\u06f0-\\u06f9\\u0966-\\u096f\\u09e6-\\u09ef\\u0e50-\\u0e59\\uff10-\\uff19"
const D = `[\\d${UNICODE_DIGITS}]`
/** Brackets and a plus as written in ASCII or full width (`（03）1234-5678`, `＋81`). */
const OPEN = "[(\\uff08]"
const CLOSE = "[)\\uff09]"
const PLUS = "[+\\uff0b]"
/** After the first digit, 6–16 more, each after at most a `)`, one separator and a `(`. */
const RUN = `(?:${CLOSE}?${SEP}?${OPEN}?${D}){6,16}`
/**
 * Where no number starts: `0.` (a decimal fraction: `0.001005`; no national form writes its trunk
 * `0` alone before a dot) and `000` then a digit (zero-padding: an international number is `00`
 * and a country code, which never starts with 0; a national one is a trunk `0` and an area code,
 * which never does either).
 */
const NOT_A_NUMBER = "(?![0\\uff10]\\.|000\\d)"
/** Not followed by a word, a dash or plus and a word, or a decimal point, comma, colon or slash and a digit. */
const END = `(?!\\w|[${UNICODE_DIGITS}]|[-+]\\w|[.,:/]${D})`

/**
 * The words that name a phone (English, the languages of the claimed regions, and those of Japan,
 * China, Korea and Italy, whose national forms need one: `電話`, `电话`, `手机`, `携帯`, `전화`,
 * `휴대폰`, `cellulare`).
 */
const PHONE_WORDS =
  "phone|\\btel\\b|\\btel[:.]|mobile|\\bmob\\b|\\bcell|\\bfax\\b|whats ?app|\\bsms\\b|telefon|tel[eé]fono|telepono|\\u96fb\\u8a71|\\u7535\\u8bdd|\\u624b\\u673a|\\u624b\\u6a5f|\\u643a\\u5e2f|\\uc804\\ud654|\\ud734\\ub300\\ud3f0|\\ud578\\ub4dc\\ud3f0|\\uc5f0\\ub77d\\ucc98"
/** The words that make a run of digits a phone number (before it, or in its key). */
const NEAR_WORDS = new RegExp(`${PHONE_WORDS}|contact|\\bcall|\\bdial|hotline|\\bhandy\\b|numara|\\bcep\\b|\\bph\\b|\\btlf\\b|\\btfn\\b`, "i")
const nearPhone = near(NEAR_WORDS)
/**
 * A key that names a phone (`phone`, `mobile`, `contact`, `telefono`), and not an id, a count or a
 * time as well (`call_id`, `calls`, `phone_count`, `contact_id`): the digits of a JSON number and a
 * bare run of digits under it are read as a number. Any integer of nine digits or more reaches
 * the detector (it is `numeric`), so a key that merely holds `call` is not enough.
 */
const KEY_NOT_PHONE = /(?:^|[^a-z])id$|_id|[a-z]Id$|_ids$|count|total|amount|size|bytes|_ms$|millis|time|date|_at$|[a-z]At$|epoch|^ts$|_ts$|seq/i
const keyNamesPhone = memoPerCall((k) => new RegExp(`${PHONE_WORDS}|contact`, "i").test(k) && !KEY_NOT_PHONE.test(k))
/** What makes a bare run a number: a phone word nearby in the text, or a key that names a phone. */
const bareEvidence = (c: MatchContext): boolean => NEAR_WORDS.test(c.before) || (c.key !== null && c.key.length <= 256 && keyNamesPhone(c.key))
/**
 * A phone word right before the run (`mobile: `, `手机号：`, `전화 `) or in its key: the label
 * that makes a bare run an international number without its `+` (`{"mobile": 447911123456}`),
 * which a word anywhere nearby (`call`, `contact`) does not.
 */
const labelled = (() => {
  const before = new RegExp(`(?:${PHONE_WORDS})[\\w\\u53f7\\ubc88\\ud638]{0,8}(?: ?(?:number|num|no|nr))?\\W{0,3}$`, "i")
  return (c: MatchContext): boolean => before.test(c.before) || (c.key !== null && c.key.length <= 256 && keyNamesPhone(c.key))
})()
/** Labels that make a bare run of digits an identifier (`order 0612345678`, `"order_id": …`). */
const ID_BEFORE = /(?:order|invoice|ticket|isbn|\bref|reference|account|acct|\bsku|serial|tracking|transaction|\btxn|\bid|\bnr|\bno|\bpo|batch|build|version|\biban|card|\bssn|routing|amount|total|\btax|steuer\w*|\bvat|\bust)\W{0,3}$/i
const ID_KEY = /(?:^|[^a-z])id$|_id|Id$|order|invoice|account|serial|sku|\bref|timestamp|^ts$|_ts$|time|epoch|_ms$|millis|count|amount|size|bytes|total|price|port/i
const TIME_KEY = /_at$|[a-z]At$|_on$|time|date|epoch|^ts$|_ts$|_ms$|millis|expir|ttl/i
const idContext = (c: MatchContext): boolean => ID_BEFORE.test(c.before) || (c.key !== null && c.key.length <= 64 && ID_KEY.test(c.key))
/** The groups of an IBAN before the match (`BE71 0961 2345 6760`: the digits are its tail). */
const IBAN_BEFORE = /\b[A-Z]{2}\d{2}(?: [A-Z0-9]{4})* $/

/** Dates, written with one repeated separator: `2026-12-04`, `04.12.2026`, `12 04 26`. */
const DATE = /^(?:\d{4}([-. ])\d{1,2}\1\d{1,2}|\d{1,2}([-. ])\d{1,2}\2\d{2}(?:\d{2})?)$/
/** An IPv4 address (the `ipv4` detector runs first; an address it refused is still not a phone). */
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/
/** The shape of a US social security number (`078-05-1120`): the `us_ssn` detector's, not ours. */
const SSN = /^\d{3}([-. ])\d{2}\1\d{4}$/

const MOBILE: ReadonlySet<string> = new Set(["MOBILE", "FIXED_LINE_OR_MOBILE"])

/**
 * What the library says of a number, remembered: it costs 10–40 µs a call (it compiles its
 * patterns as it goes), and a log repeats the same numbers. Bounded: emptied when full.
 */
interface Parsed {
  readonly national: string
  readonly mobile: boolean
  /** the digit groups of the library's national format (`020`, `7946`, `0958`) */
  readonly groups: ReadonlyArray<string>
}
const REMEMBERED = 4096
const parsed = new Map<string, Parsed | null>()

/**
 * The library calls one call of the engine may make. Each costs 10–40 µs, so text built of
 * distinct phone-shaped runs (random `0` + ten digits, 95,000 to the megabyte) would cost 10–30 s
 * a megabyte if each were checked: after this many (10–40 ms), a candidate that passed every
 * other check is taken for a number unchecked. Over-redaction, the safe side, and only on text
 * that holds more phone-shaped runs than any real payload does. The count lives in a per-call
 * memo (`memoPerCall`, emptied by the engine when its call returns); a validator called outside
 * the engine shares one count until the engine's next call.
 */
const LIBRARY_CALLS_PER_CALL = 1024
const CALL = "phone: library calls made in this call of the engine (a key over 48 characters is remembered)"
const callBudget = memoPerCall((_: string) => ({ left: LIBRARY_CALLS_PER_CALL }))
/** A number the budget left unchecked: accepted, whatever its type and grouping. */
const UNCHECKED: Parsed = { national: "", mobile: true, groups: [] }

/**
 * The lengths of national numbers, by region and by calling code, from the library's metadata
 * (`possibleLengths`, documented): a length no plan has is refused without parsing.
 */
const metadata = new Metadata()
const lengthsOf = (region: CountryCode): ReadonlySet<number> => {
  metadata.selectNumberingPlan(region)
  return new Set(metadata.numberingPlan?.possibleLengths() ?? [])
}
const REGION_LENGTHS = new Map<CountryCode, ReadonlySet<number>>()
const CALLING_CODE_LENGTHS = new Map<string, Set<number>>()
for (const region of getCountries()) {
  const lengths = lengthsOf(region)
  REGION_LENGTHS.set(region, lengths)
  const code = getCountryCallingCode(region)
  const all = CALLING_CODE_LENGTHS.get(code) ?? new Set<number>()
  for (const l of lengths) all.add(l)
  CALLING_CODE_LENGTHS.set(code, all)
}
/** Whether `+digits` can have a valid length: calling codes are prefix-free, so one of 1–3 digits fits. */
const possibleInternational = (digits: string): boolean => {
  for (let n = 1; n <= 3; n++) {
    const lengths = CALLING_CODE_LENGTHS.get(digits.slice(0, n))
    if (lengths !== undefined) return lengths.has(digits.length - n)
  }
  // a non-geographic code (`+800`, `+882`): the library knows them
  return true
}

/**
 * The lengths of first groups a region's own formats give a national number of its length: how
 * long that country's area codes and mobile prefixes are written (Germany and Britain: two to
 * five digits after the `0`; France one, for `06 12 34 56 78`, or three, for `0 800 …`). From the
 * library's metadata, every format of the plan whatever its leading digits; remembered by region
 * and length.
 */
const formatsOf = new Map<CountryCode, ReadonlyArray<RegExp>>()
const firstGroupLengths = new Map<string, ReadonlySet<number>>()
const firstGroupLengthsOf = (region: CountryCode, nsn: string): ReadonlySet<number> => {
  const key = `${region}${nsn.length}`
  let lengths = firstGroupLengths.get(key)
  if (lengths === undefined) {
    let formats = formatsOf.get(region)
    if (formats === undefined) {
      metadata.selectNumberingPlan(region)
      // `formats()` is the metadata class's own accessor, used by the library's formatter but left
      // out of its type declarations; without it no regrouping is taken (the library's grouping
      // still is)
      const plan = metadata.numberingPlan as unknown as { formats?: () => ReadonlyArray<{ pattern: () => string }> } | undefined
      const own = typeof plan?.formats === "function" ? plan.formats() : []
      const made = own.map((f) => new RegExp(`^(?:${f.pattern()})$`))
      formatsOf.set(region, made)
      formats = made
    }
    const found = new Set<number>()
    // the formats' groups are runs of `\d` of set lengths, so any digits of this length tell
    for (const f of formats) {
      const g = f.exec("0".repeat(nsn.length))?.[1]
      if (g !== undefined) found.add(g.length)
    }
    firstGroupLengths.set(key, (lengths = found))
  }
  return lengths
}

const parse = (digits: string, region?: CountryCode): Parsed | null => {
  const key = region === undefined ? digits : `${region}${digits}`
  let v = parsed.get(key)
  if (v === undefined) {
    const budget = callBudget(CALL)
    if (budget.left === 0) return UNCHECKED
    budget.left--
    const p = parsePhoneNumberFromString(digits, region === undefined ? { extract: false } : { defaultCountry: region, extract: false })
    v = p !== undefined && p.isValid() ? { national: p.nationalNumber, mobile: MOBILE.has(p.getType() ?? ""), groups: groupsOf(p.formatNational()) } : null
    if (parsed.size >= REMEMBERED) parsed.clear()
    parsed.set(key, v)
  }
  return v
}

/** The digit groups of a string (`(415) 555-0132` → 415, 555, 0132). */
const groupsOf = (m: string): Array<string> => m.split(/\D+/).filter((g) => g !== "")

/**
 * Whether the number is grouped where its country groups it: the written first group (after a
 * lone trunk `0`) is the first group of the library's national format, the area code or mobile
 * prefix (`020 7946 0958`, `0 532 123 45 67`). This is libphonenumber's own test for text
 * (its `STRICT_GROUPING` leniency), reduced to the group that matters: a run of digits split
 * elsewhere (`046 454 286`, `07805-1121`'s neighbours, `123-45-67890`) is an id.
 */
const groupedAsPhone = (written: ReadonlyArray<string>, p: Parsed, dotted: boolean): boolean => {
  if (p === UNCHECKED) return true
  const w = withTrunk(written)
  const own = withTrunk(p.groups)
  // a dotted run is a version or an address unless grouped exactly as the country groups it
  // (`532.123.45.67`; not `11.900.1000.10`): libphonenumber's EXACT_GROUPING
  if (dotted) return w.length === own.length && w.every((g, i) => strip(g) === strip(own[i]!))
  return strip(w[0]!) === strip(own[0]!)
}
/**
 * A number written with its trunk `0` and grouped otherwise than the library groups it: people
 * write the area code or mobile prefix as they know it (`0151 23456789` where the library writes
 * `01512 3456789`, London's `0207 946 0958` for `020 7946 0958`, `0612 34 56 78` for
 * `06 12 34 56 78`). Taken when its first group is as long as some area code or prefix of that
 * country's plan (`firstGroupLengthsOf`), it has ten digits or more, no group but a lone trunk `0`
 * has a single digit, and no
 * label before it calls it an id (`order`, `ref`,
 * `account` …; a grouping of the library's own needs none: `order 020 7946 0958` stays a phone
 * number, as before). Dotted runs stay exact (versions and addresses are dotted).
 */
const regroupedAsPhone = (written: ReadonlyArray<string>, nsn: string, region: CountryCode, c: MatchContext): boolean => {
  const groups = withTrunk(written)
  const first = groups[0]!
  // a group of one digit is no part of a number as people write it, but for a lone trunk `0`
  return (
    first.startsWith("0") &&
    // nine digits in groups of three are as often an id (a Canadian SIN, `046 454 286`): only
    // the library's own grouping makes a number that short a phone number
    nsn.length >= 9 &&
    groups.every((g) => g.length >= 2) &&
    firstGroupLengthsOf(region, nsn).has(first.length - 1) &&
    !(idContext(c) && !nearPhone(c))
  )
}
/** A lone trunk `0` written apart (`0 532 123 45 67`, `0 803 00 00 00`) belongs to the next group. */
const withTrunk = (groups: ReadonlyArray<string>): ReadonlyArray<string> => (groups[0] === "0" && groups.length > 1 ? [`0${groups[1]}`, ...groups.slice(2)] : groups)
const strip = (g: string): string => (g.startsWith("0") ? g.slice(1) : g)

/**
 * Where a slash may stand: once, right after the area code of a national number (`089/12345678`,
 * `(089)/1234567`) or of an international one (`+49 89/12345678`, `+49 (0)89/1234567`). A date
 * (`04/12/2026`), a fraction or a path holds another one, or has it elsewhere.
 */
const SLASHED = /^(?:\(?0\d{1,5}\)?|\+\d{1,3}[ \u00a0]?(?:\(0\))?\d{1,5})\/[^/]*$/

const check = (m: string, c: MatchContext): boolean => {
  if (m.includes("/") && !SLASHED.test(m)) return false
  // `+44 (0)20 7946 0958`: the trunk prefix in brackets is not dialled from abroad
  const written = groupsOf(m.charCodeAt(0) === 43 /* + */ ? m.replace("(0)", "") : m)
  const digits = written.join("")
  if (m.charCodeAt(0) === 43) return possibleInternational(digits) && parse(`+${digits}`) !== null
  if (IBAN_BEFORE.test(c.before)) return false
  const bare = written.length === 1 && digits.length === m.length
  const shape = m.replace(/[()]/g, "")
  if (!bare && (DATE.test(shape) || IPV4.test(shape) || SSN.test(shape) || written[written.length - 1]!.length < 2)) return false
  const dotted = !bare && /^[\d.]+$/.test(shape)
  if (bare && idContext(c) && !bareEvidence(c)) return false
  // a key that names a time holds a timestamp, whatever else it names (`phone_verified_at`)
  if (bare && c.key !== null && c.key.length <= 64 && TIME_KEY.test(c.key)) return false
  // the international prefix most of the world dials
  if (digits.startsWith("00")) return digits.length >= 10 && digits[2] !== "0" && possibleInternational(digits.slice(2)) && parse(`+${digits.slice(2)}`) !== null
  if (digits.startsWith("0")) {
    if (dialledFromNorthAmerica(written, digits, bare, dotted)) return true
    if (digits.length < (bare ? 10 : 9) || digits.length > 12) return digits.length <= 12 && otherRegion(written, digits, bare, dotted, c)
    const nsn = digits.slice(1)
    const claimed = TRUNK_REGIONS.some((r) => {
      if (!REGION_LENGTHS.get(r)!.has(nsn.length)) return false
      const p = parse(digits, r)
      // the trunk prefix was written, and the library read it as one; a bare run only when it is a
      // mobile number (bare zero-led runs of fixed-line length are as often tax and account ids)
      return p !== null && nsn.endsWith(p.national) && (bare ? p.mobile : groupedAsPhone(written, p, dotted) || (!dotted && p !== UNCHECKED && regroupedAsPhone(written, nsn, r, c)))
    })
    return claimed || otherRegion(written, digits, bare, dotted, c)
  }
  if (bare && !bareEvidence(c)) return false
  if (bare && labelled(c) && digits.length >= 11 && digits.length <= 15 && possibleInternational(digits) && parse(`+${digits}`) !== null) return true
  if (digits.length === 11 && digits.startsWith("1")) {
    // North America's trunk `1`, written apart from the number (`1-415-555-0132`) or in a bare run
    if (!bare && written[0] !== "1" ? NO_TRUNK_REGIONS.some((r) => r === "BR" && valid(digits, r, written, bare, dotted)) : valid(digits.slice(1), "US", bare ? written : written.slice(1), bare, dotted)) return true
    return otherRegion(written, digits, bare, dotted, c)
  }
  if ((digits.length === 10 || digits.length === 11) && NO_TRUNK_REGIONS.some((r) => (digits.length === 10 || r === "BR") && valid(digits, r, written, bare, dotted))) return true
  return otherRegion(written, digits, bare, dotted, c)
}

/**
 * North America's international prefix `011` written as its own group before a number with its
 * country code (`011 44 20 7946 0958`): what `00` is elsewhere.
 */
const dialledFromNorthAmerica = (written: ReadonlyArray<string>, digits: string, bare: boolean, dotted: boolean): boolean =>
  !bare && !dotted && written[0] === "011" && written.length > 2 && digits.length >= 11 && possibleInternational(digits.slice(3)) && parse(`+${digits.slice(3)}`) !== null

/**
 * Regions whose national forms are taken only as the library writes them (`OTHER_REGIONS`): Japan,
 * South Korea, China and Italy, whose plans take most random zero-led strings of their lengths
 * (Japan's 70%, Italy's 69%), so a run of digits alone says little; the library's own grouping
 * and a word or a trunk say more.
 */
export const OTHER_REGIONS: ReadonlyArray<CountryCode> = ["JP", "KR", "CN", "IT"]

/**
 * A national number of `OTHER_REGIONS`, taken when it is valid there and:
 * - written with separators exactly in the groups of the library's national format, every group
 *   (`010-1234-5678`, `02-312-3456`, `090-1234-5678`, `06 6982 1234`, `138 0013 8000`), never
 *   dotted (versions and addresses are), no id label before it (`order`, `ref` …); and either led
 *   by the trunk `0` in three groups or more (Korea, Japan and China write their area codes and
 *   mobile prefixes with it; Italy its landlines), or beside a word that says phone (`tel`,
 *   `cellulare`, `手机`, `전화`: Chinese and Italian mobile numbers have no trunk, `347 123 4567`);
 * - or a bare run of a mobile number beside a word that says phone (`手机号：13800138000`).
 */
const otherRegion = (written: ReadonlyArray<string>, digits: string, bare: boolean, dotted: boolean, c: MatchContext): boolean => {
  // seven digits are a local number without its area code, or anything else
  if (dotted || digits.length < 8 || (idContext(c) && !nearPhone(c))) return false
  const trunk = digits.startsWith("0") && written.length >= 3 && digits.length >= 9
  // a bare run only after a label (`手机号：`) or under a phone key: `call` and `contact` are in
  // every tool-call log, beside every kind of id
  if (bare ? !labelled(c) : !trunk && !nearPhone(c)) return false
  return OTHER_REGIONS.some((r) => {
    if (!REGION_LENGTHS.get(r)!.has(digits.length) && !REGION_LENGTHS.get(r)!.has(digits.length - 1)) return false
    const p = parse(digits, r)
    if (p === null || p === UNCHECKED) return p === UNCHECKED
    return bare ? p.mobile : p.groups.length === written.length && p.groups.every((g, i) => g === written[i])
  })
}

/**
 * Outside North America and Brazil a number written without its trunk `0` is a mobile number
 * (`532 123 45 67`, `98765 43210`): fixed lines keep their `0` (`0216 123 45 67`). A ten-digit id
 * split as an area code (`1234 567 893`) is not taken for an Indian landline.
 */
const TRUNK_DROPPED_ANY_TYPE: ReadonlySet<CountryCode> = new Set(["US", "BR"])

/**
 * A short group the pattern read before the number: a house number or a postcode (up to five
 * digits and a space), a country code without its `+` (up to three and a dash). The number after
 * it is one written without a trunk prefix, of ten digits or more (`6011-0861-0000-02`, a card, is
 * not a postcode and `0861-0000-02`).
 */
const LEAD = /^(?:\d{1,5}[ \u00a0]|\d{1,3}-)(?=\(?[1-9])/

/** The match with its Unicode digits, full-width brackets and plus in ASCII (what the library reads). */
const UNICODE_DIGIT = new RegExp(`[${UNICODE_DIGITS}\\uff08\\uff09\\uff0b\\u30fc]`, "g")
const DIGIT_ZEROS = [0x660, 0x6f0, 0x966, 0x9e6, 0xe50, 0xff10]
const asciiDigits = (m: string): string =>
  m.replace(UNICODE_DIGIT, (ch) => {
    const k = ch.charCodeAt(0)
    if (k === 0xff08) return "("
    if (k === 0xff09) return ")"
    if (k === 0xff0b) return "+"
    if (k === 0x30fc) return "-"
    for (const z of DIGIT_ZEROS) if (k >= z && k <= z + 9) return String(k - z)
    return ch
  })

/**
 * A match is a number, or a short group and a number (`SD 20241 440-600-5124`, `91-415-555-0132`):
 * the pattern reads a run of digit groups from its first group, so a number written after another
 * number is judged without it. The replaced span then covers the group as well (over-redaction).
 */
const validate = (written: string, c: MatchContext): boolean => {
  const m = asciiDigits(written)
  if (check(m, c)) return true
  const lead = LEAD.exec(m)
  if (lead === null) return false
  const rest = m.slice(lead[0].length)
  const groups = groupsOf(rest)
  return groups.length > 1 && groups.join("").length >= 10 && check(rest, { before: c.before + lead[0], key: c.key })
}

const valid = (digits: string, region: CountryCode, written: ReadonlyArray<string>, bare: boolean, dotted: boolean): boolean => {
  if (!REGION_LENGTHS.get(region)!.has(digits.length)) return false
  const p = parse(digits, region)
  // a bare run (found beside a word like `phone`) only when mobile: `tel 1764864000` is a time
  return p !== null && (p.mobile || (!bare && TRUNK_DROPPED_ANY_TYPE.has(region))) && (bare || groupedAsPhone(written, p, dotted))
}

/**
 * Phone numbers: international (`+44 20 7946 0958`, `0044 …`) in every country, national forms
 * in the regions above, validated by `libphonenumber-js`.
 */
export const phone: Detector = {
  category: "phone",
  group: "pii",
  severity: "warning",
  // the pattern from its first digit, with a looser lookbehind (a start inside a run of digits or
  // a word is none, unless after an escape such as `\n`): a necessary condition, tested before
  // any search, that an ISO timestamp (`2026-11-28T10:00:01Z`, in every captured record) does not
  // pass, nor a price or a cost (`0.001005 USD`, in every captured model call) or a zero-padded
  // id, however many digits they have
  hint: new RegExp(`(?:^|[^\\w.${UNICODE_DIGITS}]|\\\\[\\w.])${NOT_A_NUMBER}${D}${RUN}${END}`),
  pattern: new RegExp(`(?<!(?<!\\\\)[\\w+.\\/#$%€£¥${UNICODE_DIGITS}\\uff0b-])${PLUS}?${OPEN}?${NOT_A_NUMBER}${D}${RUN}${END}`, "g"),
  // the digits of a JSON number too (`{"phone": 4155550132}`, `{"mobile": 447911123456}`): a run
  // with neither `+`, `0` nor separators is a number only under a key (or beside a word) that says
  // phone, so the integers under any other key (ids, timestamps, amounts) stay what they are
  numeric: true,
  validate
}
