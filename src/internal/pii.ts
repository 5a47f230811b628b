/**
 * The detectors of personal and financial data: e-mail, IBAN, card numbers, SSN, ABA routing
 * numbers, BIC, MAC and IP addresses, special-category words; and the opt-in UK NINO, Aadhaar and
 * high-entropy detectors. Validators come from the `validator` package where one fits (IBAN with
 * its per-country formats and mod-97, BIC with its country code, IP addresses, MAC addresses).
 *
 * Linear time (the rules are in `matching.ts`):
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
 */
import type { Detector } from "../Detect.js"
import isBICModule from "validator/lib/isBIC.js"
import isIBANModule from "validator/lib/isIBAN.js"
import isIPModule from "validator/lib/isIP.js"
import isMACModule from "validator/lib/isMACAddress.js"
import { abaRouting, atLeast, B64URL, digitsOf, entropy, fn, luhn, near, ssnRanges, verhoeff } from "./matching.js"

const isIBAN = fn<(s: string) => boolean>(isIBANModule)
const isBIC = fn<(s: string) => boolean>(isBICModule)
const isIP = fn<(s: string, version?: 4 | 6) => boolean>(isIPModule)
const isMAC = fn<(s: string) => boolean>(isMACModule)

const HEALTH =
  "diagnos(?:is|ed|es)|hiv|aids|cancer|tumou?rs?|diabet(?:es|ic)|pregnan(?:t|cy)|depression|schizophreni[ac]|bipolar disorder|chemotherapy|dementia|alzheimer'?s|epilep(?:sy|tic)|hepatitis|mental health|medical condition|disabilit(?:y|ies)"
const BIOMETRIC = "biometrics?|fingerprints?|face ?scans?|facial recognition|retina(?:l)? scans?|iris scans?|voiceprints?"
const GENETIC = "dna|genetic(?:s| test(?:ing)?)?|genome|genotype|brca[12]"
const RELIGION = "religion|religious|muslim|christian|jewish|hindu|buddhist|sikh|catholic|protestant|atheist"
const ETHNICITY = "ethnicity|ethnic origin|racial(?: origin)?|hispanic|latino|latina|caucasian|african american"
const nearSsn = near(/\b(?:ssn|social security|ss#)\b|\bssn/i)
const nearRouting = near(/routing|\baba\b|\brtn\b|transit/i)
const nearBank = near(/swift|\bbic\b|\bbank/i)

const SPECIAL = `\\b(?:${HEALTH}|${BIOMETRIC}|${GENETIC}|${RELIGION}|${ETHNICITY})\\b`

/**
 * The personal and financial data detectors, most specific first.
 */
export const pii: ReadonlyArray<Detector> = [
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
 * The opt-in detectors (`Detect.optIn`).
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
