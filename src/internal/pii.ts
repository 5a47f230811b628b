/**
 * The detectors of personal and financial data: e-mail, IBAN, card numbers, SSN, ABA routing
 * numbers, BIC, MAC and IP addresses, special-category words; and the opt-in UK NINO, Aadhaar and
 * high-entropy detectors. Validators come from the `validator` package where one fits (BIC with its
 * country code, IP addresses); the IBAN check is the registry's lengths and mod-97 (below), the
 * card check Luhn with issuers' lengths and layouts.
 *
 * Linear time (the rules are in `matching.ts`):
 * - email: the local part starts only at the start of its run (the lookbehind is its own class),
 *   one loop to `@`; the domain is one loop and one character. The validator splits the match once;
 *   the top-level label is `X{2}X*` or `xn--X+`, anchored; the URL-credentials check reads the 40
 *   characters before the match.
 * - iban, credit_card, us_ssn, us_routing, swift_bic, mac_address, ipv6, ipv4, and the opt-in
 *   uk_nino and aadhaar: bounded, at most 92 characters from a start, and their lookbehinds let
 *   only the first character of a run of digits, hex digits or colons start (IBAN: 11–30
 *   characters, or 2–7 groups of four and a short one after one separator that a backreference repeats, 44 at
 *   most; card: 9–15 digits each after one optional separator, one way to read them; SSN: 3, 2 and
 *   4 digits with two optional separators, 11; routing: 4, 4 and 1 digits with a backreferenced
 *   optional separator, 11, or a whole string of 9 digits, anchored at its start; BIC, MAC (six
 *   pairs with a backreferenced separator, three dotted groups of four, or twelve hex digits),
 *   IPv4, NINO, Aadhaar: fixed lengths up to 17; IPv6: 2–8 groups of 0–4 hex digits and a colon,
 *   then a group or a dotted quad, a zone of at most 32 and a prefix length of at most 3: 92).
 *   Their validators see a match of that size and the 40 characters before it; `near` reads a key
 *   once per call (rule 4).
 * - special_category: a fixed list of words (the longest 18 characters) between `\b`s.
 * - high_entropy (opt-in): starts only at the start of a run (lookbehind), one loop that nothing
 *   after it can reject; the validator counts characters once and tests three classes.
 *
 * `test/detect-pii.test.ts` feeds each of these patterns a megabyte built against it and holds the
 * time to eight times that of 128 KB (with room for a busy machine).
 */
import type { Detector, MatchContext } from "./detector.js"
import isBICModule from "validator/lib/isBIC.js"
import isIPModule from "validator/lib/isIP.js"
import { abaRouting, atLeast, B64URL, digitsOf, entropy, fn, luhn, near, ssnRanges, verhoeff } from "./matching.js"

const isBIC = fn<(s: string) => boolean>(isBICModule)
const isIP = fn<(s: string, version?: 4 | 6) => boolean>(isIPModule)

/**
 * Words of a technical report after `diagnosis`/`diagnosed` (at most 40 characters on, in the same
 * sentence): `diagnosed the bug as a race`, `diagnosis: flaky test` describe a system, not a person.
 */
const TECHNICAL = "bugs?|issues?|problems?|errors?|failures?|faults?|tests?|crash(?:es)?|races?|leaks?|network|builds?|outages?|incidents?|latency|performance|timeouts?|exceptions?|regressions?|deadlocks?|config(?:uration)?|quer(?:y|ies)|pipelines?|deploy(?:ment)?s?|servers?|services?|logs?|stack traces?|root cause"
const HEALTH =
  `diagnos(?:is|ed|es)(?![^.\\n]{0,40}\\b(?:${TECHNICAL})\\b)|hiv|aids|cancer|tumou?rs?|diabet(?:es|ic)|pregnan(?:t(?! pause)|cy)|depression|schizophreni[ac]|bipolar disorder|chemotherapy|dementia|alzheimer'?s|epilep(?:sy|tic)|hepatitis|mental health|medical condition|disabilit(?:y|ies)`
/** a device's or a program's feature, not a person's data: `biometric login`, an SSH key's `fingerprint is SHA256:…` */
const BIOMETRIC = "biometrics?(?! (?:login|log-in|sign-in|unlock|prompt|auth\\w*|sensor|api)\\b)|fingerprints?(?!:? (?:is )?(?:SHA\\d*|MD5)\\b|(?: ?[:=])? ?(?:SHA\\d*:|MD5:|[0-9a-fA-F]{2}:[0-9a-fA-F]{2}:))|face ?scans?|facial recognition|retina(?:l)? scans?|iris scans?|voiceprints?"
const GENETIC = "dna|genetic(?:s| test(?:ing)?)?(?! (?:algorithm|programming|operator|search|optimi[sz]ation)s?\\b)|genome|genotype|brca[12]"
const RELIGION = "religion|religious|muslim|christian|jewish|hindu|buddhist|sikh|catholic|protestant|atheist"
const ETHNICITY = "ethnicity|ethnic origin|racial(?: origin)?|hispanic|latino|latina|caucasian|african american"
/** a label right before a number that names it as something other than an SSN */
const OTHER_NUMBER = /(?:\b(?:sku|order|case|part|build|ticket|invoice|ref(?:erence)?|item|serial|model|version|tracking|confirmation|account|acct|claim|policy|po|pin|lot|batch)(?:\s*(?:no\.?|nr\.?|number|num|id|#))?|#|\bno\.|\bnumber)\s*[:#=]?\s*$/i
const nearSsn = near(/\bssn|social security|\bss#|\bss no\b|\bsocial sec\b/i)
const nearRouting = near(/routing|\baba\b|\brtn\b|transit|\bbank|\bach\b/i)
const nearBank = near(/swift|\bbic\b|\bbank/i)
const nearIban = near(/iban/i)
const nearMac = near(/\bmac\b|hardware addr|physical addr|\bhw ?addr|\bether|\bbssid|\blladdr/i)
// a nine-digit number with one dash after a state code or a ZIP label is a ZIP+4 code, and after
// a phone label a phone number (a German `089-123456`): not an SSN miskeyed
const nearZipOrPhone = near(/\b[A-Z]{2},?\s+$|\bzip|postal|postcode|\bphone|\btel\b|\bfax\b|\bmobile|\bcall\b/i)

/**
 * File extensions that are not top-level domains (none is in IANA's root zone database, checked
 * December 2026): `image@2x.png`, `logo@3x.webp`, `bundle@latest.js` name files. Extensions that
 * are delegated top-level domains as well (`.ai`, `.sh`, `.py`, `.rs`, `.md`, `.so`, `.zip`,
 * `.mov`, `.map`, `.java`, `.pub`) are left out: an address there is as real as any other, and a
 * missed address is written into a log that cannot be edited. Special-use names that are not
 * delegated either (`.local`, `.internal`, `.test`) are addresses: mail is sent to them.
 */
export const NOT_A_TLD: ReadonlySet<string> = new Set(
  (
    "png jpg jpeg jpe gif webp svg svgz avif heic heif bmp tif tiff ico icns psd eps " +
    "pdf txt doc docx xls xlsx xlsm ppt pptx odt ods odp rtf csv tsv rst tex epub " +
    "html htm xhtml css scss sass less js mjs cjs jsx ts tsx mts cts json jsonc jsonl ndjson yaml yml toml xml ini cfg conf env lock log " +
    "tar gz tgz bz2 xz zst rar jar war whl egg deb rpm apk aab ipa dmg iso img msi exe dll dylib wasm bin dat " +
    "wav ogg oga ogv opus flac aac wma mkv avi wmv webm flv woff woff2 ttf otf eot " +
    "pyc rb go kt kts swift php lua sql db sqlite sqlite3 proto graphql gql vue svelte astro ipynb " +
    "pem crt cer p12 pfx der csr gpg asc sig bak tmp swp orig patch diff out obj lib pdb class dex vmdk ova qcow2 " +
    "tfvars hcl nix gradle cmake plist strings storyboard xib nib usdz glb gltf fbx stl blend prefab ics vcf eml mbox " +
    // systemd template units (`openvpn-client@office.service`, `getty@tty1.service`)
    "service socket timer mount automount swap slice scope"
  ).split(" ")
)
/** What ends where a URL's user name starts: a scheme and `//` (`ssh://`, `git+ssh://`). */
const URL_USER_BEFORE = /[A-Za-z][A-Za-z0-9+.-]*:\/\/$/

/**
 * What a local part holds: ASCII letters and digits, `._%+-`, and the letters of the Latin, Greek
 * and Cyrillic alphabets (`jürgen.müller@…`, `δοκιμή@…`, `иван@…`), as explicit ranges. Every
 * position of a string holding an `@` is tried as a start, and a test against a few ranges keeps
 * that cheap (a `\p{L}` class costs 80 ms a megabyte of Chinese text, these 6); Chinese, Japanese
 * and Thai are left out as well because they put no space between words, and the words glued
 * before an address would be taken for its local part.
 */
const LOCAL = String.raw`[A-Za-z0-9._%+\-\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03FF\u0400-\u0481\u048A-\u04FF]`
/** Not followed by more of the domain: a letter, a digit, a hyphen, or a dot and a letter or digit. */
const DOMAIN_END = String.raw`(?![\p{L}\p{M}\p{N}\-]|\.[\p{L}\p{N}])`
/** An ASCII top-level domain ends at a character that is not ASCII (`bob@example.com谢谢`). */
const ASCII_END = String.raw`(?![A-Za-z0-9\-]|\.[\p{L}\p{N}])`
/**
 * A git or scp remote (`git@github.com:org/repo.git`, `deploy@host:~/app`, `u@h:/srv`): a colon
 * and a path after the host, read at most 100 characters.
 */
/**
 * A remote-login command and its options right before a `user@host` target (read in the 40
 * characters before the match): `ssh`, `mosh`, `sftp`, `ssh-copy-id`, `autossh`, `telnet`, `rsh`,
 * each option a dash word with at most one argument that is no `user@host` itself.
 */
const LOGIN_BEFORE = /(?:^|[\s"'`;|&(])(?:ssh|mosh|sftp|ssh-copy-id|autossh|telnet|rsh|rlogin|slogin)(?:\s+-{1,2}[\w-]+(?:[ =](?!-)[^\s@]+)?)*\s+$/
const REMOTE_PATH = String.raw`(?!:(?:[\/~]|[\w.~\-]{1,100}(?:\/|\.git(?![\w\-]))))`
/**
 * An e-mail address. The local part starts only at the start of its run (the lookbehind is its own
 * class) and reads to `@` in one loop. The domain is one loop over one class, then the last dot
 * before a top-level domain (ASCII letters, `xn--…`, or letters of one non-ASCII word: `.рф`): the
 * loop gives characters back to the last dot first and tries a top-level domain at each dot, each
 * try reading at most 63 characters of one label, so a domain is read a bounded number of times.
 * A pattern that spells labels out as a repeated group backtracks for seconds on `a@a.a.a.…` and
 * keeps a stack entry per label. Labels may be Unicode (`bob@münchen.de`), as mail clients send
 * them.
 */
const EMAIL = new RegExp(
  String.raw`(?<!${LOCAL})${LOCAL}+@[\p{L}\p{N}][\p{L}\p{M}\p{N}.\-]*\.(?:[A-Za-z]{2,63}${ASCII_END}|[Xx][Nn]--[A-Za-z0-9\-]{1,59}${ASCII_END}|(?![\x00-\x7F])\p{L}[\p{L}\p{M}]{1,62}${DOMAIN_END})${REMOTE_PATH}`,
  "gu"
)

const TECHNICAL_BEFORE = /\b(?:key|ssh|host|cert(?:ificate)?|tls|ssl|x509|gpg|pgp|browser|device|file|content|build|cache|schema|query|config|sha-?\d+|md5|bug|error|fault|network|system|root[- ]cause|problem|failure|crash|performance|incident|outage)(?:'s)?[- ]$/i
const SPECIAL = `\\b(?:${HEALTH}|${BIOMETRIC}|${GENETIC}|${RELIGION}|${ETHNICITY})\\b`

/**
 * The IBAN length of each country that issues IBANs: the SWIFT IBAN registry, plus the countries
 * that use IBANs outside it (Algeria, Angola, the CFA franc zones, Iran, Madagascar, Morocco,
 * Mozambique …). `validator`'s per-country formats are not used: they lag the registry (no Libya,
 * Belarus with a wrong layout), and a missed IBAN is written into a log that cannot be edited;
 * the length and mod-97 reject a random string 96 times in 97 and a mistyped IBAN always.
 */
const IBAN_LENGTH: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AO: 25, AT: 20, AZ: 28, BA: 20, BE: 16, BF: 28, BG: 22, BH: 22, BI: 27, BJ: 28, BR: 29, BY: 28,
  CF: 27, CG: 27, CH: 21, CI: 28, CM: 27, CR: 22, CV: 25, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, DZ: 26, EE: 20,
  EG: 29, ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GA: 27, GB: 22, GE: 22, GI: 23, GL: 18, GQ: 27, GR: 27, GT: 28, GW: 25,
  HN: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IR: 26, IS: 26, IT: 27, JO: 30, KM: 27, KW: 30, KZ: 20, LB: 28, LC: 32,
  LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MA: 28, MC: 27, MD: 24, ME: 22, MG: 27, MK: 19, ML: 28, MN: 20, MR: 27, MT: 31,
  MU: 30, MZ: 25, NE: 28, NI: 28, NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33,
  SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SN: 28, SO: 23, ST: 25, SV: 28, TD: 27, TG: 28, TL: 23, TN: 24,
  TR: 26, UA: 29, VA: 22, VG: 24, XK: 20, YE: 30
}

/** ISO 13616: a registered country and length, check digits 02–98, and mod 97 of the rearranged digits is 1. */
export const isIban = (s: string): boolean => {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(s) || IBAN_LENGTH[s.slice(0, 2)] !== s.length) return false
  const check = Number(s.slice(2, 4))
  if (check < 2 || check > 98) return false
  let r = 0
  const moved = s.slice(4) + s.slice(0, 4)
  for (let i = 0; i < moved.length; i++) {
    const c = moved.charCodeAt(i)
    r = c <= 57 ? (r * 10 + (c - 48)) % 97 : (r * 100 + (c - 55)) % 97
  }
  return r === 1
}

/**
 * How card numbers are printed, by length: the group sizes the issuers use (Visa, Mastercard,
 * Discover, JCB, UnionPay 4-4-4-4 and their longer forms; Amex and Diners enRoute 4-6-5; UATP
 * 4-5-6; Diners 4-6-4; the old 13-digit Visa). A number grouped any other way (four digits then
 * three, as the tail of an IBAN or an account number) is not a card as written.
 */
const CARD_LAYOUTS = new Set(["4-4-5", "4-3-3-3", "4-6-4", "4-6-5", "4-5-6", "4-4-4-4", "4-4-4-4-3", "6-13"])

/** an API path segment before a snowflake id (Discord, Twitter/X) */
const SNOWFLAKE_PATH = /\/(?:webhooks|channels|guilds|users|members|messages|status(?:es)?)\/$/i
/** a whole path segment (`/orders/5425…`, `/v1/5425…/`) whose segment before names no card */
const PATH_ID = /\/(?![^/]*(?:card|\bpans?\b)[^/]*\/$)[^/\s]*\/$/i
/**
 * A field key naming an identifier or another number: a Luhn-valid id (one id of 13–19 digits in
 * ten passes) under it is that id, no card (`"id"`, `order_id`, `userId`, `IMEI`, `msisdn`).
 */
const ID_KEY = /(?:^|[_.\- ])(?:ids?|uuid|guid|imei|meid|iccid|msisdn|order|invoice|tracking|sku|ts|timestamp|seq|offset|phone|mobile|tel|fax)$/i
const CAMEL_ID_KEY = /[a-z0-9](?:Id|ID|Ids|IDs)$/
/** a label before a number naming it as a device's or a line's, not a card */
const DEVICE_NUMBER = /\b(?:imei|meid|iccid|msisdn|tel|phone|mobile|fax)\b[^\d\n]{0,12}$/i
const nearCard = near(/card|\bpan\b|\bcc\b|visa|master ?card|amex|american express|discover|\bjcb\b|diners|unionpay|maestro/i)
/**
 * Where a Luhn-valid number is written as something else: after `+` (an E.164 phone number), as a
 * whole path segment or under a key or label that names an id or another number, unless a card is
 * named near it.
 */
const notACard = (c: MatchContext): boolean =>
  c.before.endsWith("+") ||
  SNOWFLAKE_PATH.test(c.before) ||
  (c.key !== null && (ID_KEY.test(c.key) || CAMEL_ID_KEY.test(c.key))) ||
  DEVICE_NUMBER.test(c.before) ||
  ((PATH_ID.test(c.before) || OTHER_NUMBER.test(c.before)) && !nearCard(c))

/** Whether a candidate card number has a card's length, issuer digit, Luhn sum and layout. */
export const isCardNumber = (m: string): boolean => {
  const digits = digitsOf(m)
  if (digits.length < 13 || digits.length > 19 || !luhn(digits)) return false
  // a leading 1 is UATP, whose numbers have 15 digits: the 13-digit millisecond timestamps and
  // 16-digit microsecond ones that also start with 1 are not cards
  if (digits[0] === "1" && digits.length !== 15) return false
  const seps = m.match(/[ .-]/g)
  if (seps === null) return true
  if (new Set(seps).size > 1) return false
  // dots only between all the groups of an issuer's layout (`4111.1111.1111.1111`): a dotted
  // number split otherwise is a decimal or a version
  return CARD_LAYOUTS.has(m.split(/[ .-]/).map((g) => g.length).join("-"))
}

/**
 * A US social security number as written: three, two and four digits, with one separator (`-`,
 * `.` or a space) used twice, anywhere; a single dash after three or five digits (the number
 * mistyped, `078-051121`, `07805-1121`) unless labelled a ZIP+4 code or a phone number; nine
 * bare digits, or mixed separators, only where labelled (a nine-digit number is usually something
 * else). The ranges are checked in every case.
 */
const isSsn = (m: string, c: MatchContext): boolean => {
  if (!ssnRanges(digitsOf(m))) return false
  const seps = m.replace(/\d/g, "")
  // spaced or dotted groups that go on before it (`12 345 67 8901`) are some other number (after
  // it: the pattern)
  if (/[ .]/.test(seps) && /\d[ .]$/.test(c.before)) return false
  // the number a label gives it (`SKU 432-11-8812`, `Order #231-45-1234`, `Case No. 512-34-5678`,
  // `part number: 300-12-4567`) is that, unless an SSN is named as well
  if (OTHER_NUMBER.test(c.before) && !nearSsn(c)) return false
  if (seps.length === 2 && seps[0] === seps[1]) return true
  if (nearSsn(c)) return true
  return seps === "-" && !nearZipOrPhone(c)
}

/** An IPv6 address (without its zone or prefix length) that identifies a host. */
const isIpv6 = (m: string): boolean => {
  const cut = m.search(/[%/]/)
  const address = cut === -1 ? m : m.slice(0, cut)
  // `::` (unspecified, `::/0` the default route) is no one's address, and Haskell writes `x :: Int`;
  // a short address with no digit (`a::b`, `dead::beef`) is a C++ scope far more often
  return address !== "::" && isIP(address, 6) && (/\d/.test(address) || address.split(":").filter((g) => g.length > 0).length >= 3)
}

/** A MAC address, not broadcast or null; without separators, or all digits, only where labelled. */
const isMac = (m: string, c: MatchContext): boolean => {
  const hex = m.replace(/[:.-]/g, "")
  if (/^(?:0{12}|[Ff]{12})$/.test(hex)) return false
  if (hex.length === m.length || (m.includes(".") && !/[A-Fa-f]/.test(hex))) return nearMac(c)
  return true
}

/**
 * The personal and financial data detectors, most specific first.
 */
export const pii: ReadonlyArray<Detector> = [
  {
    category: "email",
    group: "pii",
    severity: "warning",
    hint: /@/,
    pattern: EMAIL,
    validate: (m, c) => {
      // `scheme://user:pass@host` holds credentials and a host, not an address (`url_credentials`):
      // the `//` is in the 40 characters before, or a user name fills them all
      if (/\/\/[^\s/?#@]*:$/.test(c.before) || (c.before.length === 40 && /^[^\s/?#@]*:$/.test(c.before))) return false
      const at = m.lastIndexOf("@")
      // `ssh://git@host/…`, `https://alice@bitbucket.org/…`: a URL's user name and its host; an
      // address written as a URL's user is percent-encoded (`ftp://bob%40example.com@host/`)
      if (c.before.endsWith("//") && URL_USER_BEFORE.test(c.before) && !/%40/i.test(m.slice(0, at))) return false
      // the target of a remote login (`ssh root@db.internal`, `ssh -i k.pem -p 2222 ec2-user@…`,
      // `mosh`, `sftp`, `ssh-copy-id`, `telnet`, `ansible -u`): which host an agent logged into
      // is the evidence, and the user is an account on it, not a mailbox
      if (LOGIN_BEFORE.test(c.before)) return false
      const labels = m.slice(at + 1).split(".")
      const tld = labels[labels.length - 1]!
      return (
        labels.length >= 2 &&
        !NOT_A_TLD.has(tld.toLowerCase()) &&
        labels.every((l) => l.length > 0 && l.length <= 63 && !l.startsWith("-") && !l.endsWith("-"))
      )
    }
  },
  {
    category: "iban",
    group: "financial",
    severity: "critical",
    hint: /\b[A-Z]{2}\d{2}[A-Z0-9 -]{11}/,
    // compact, or in groups of four with one separator (a space or a dash) used throughout
    pattern: /\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?<sep>[ -])[A-Z0-9]{4}(?:\k<sep>[A-Z0-9]{4}){1,6}(?:\k<sep>[A-Z0-9]{1,4})?)\b/g,
    validate: (m) => isIban(m.replace(/[ -]/g, ""))
  },
  {
    category: "iban",
    group: "financial",
    severity: "critical",
    // grouped (as typed by hand), or where an IBAN is named, in the text or the field's key
    hint: /\b[a-z]{2}\d{2}[ -][a-z0-9]{4}[ -]|[Ii][Bb][Aa][Nn]/,
    // the same in lower case (`de89 3704 0044 0532 0130 00`); letters of one case throughout (a
    // capital among them is some other code: `LV80 bANK …`), and a short last group of letters
    // alone is not followed by a word (it is the first word of a sentence that goes on after the
    // IBAN, `… 8901 in a sentence`, more often than its last group)
    pattern: /\b[a-z]{2}\d{2}(?:[a-z0-9]{11,30}|(?<sep>[ -])[a-z0-9]{4}(?:\k<sep>[a-z0-9]{4}){1,6}(?:\k<sep>(?:(?=[a-z]{0,3}\d)[a-z0-9]{1,4}|[a-z]{1,4}(?![ -][a-z])))?)\b/g,
    validate: (m, c) =>
      isIban(m.replace(/[ -]/g, "").toUpperCase()) &&
      // a compact run in lower case passes the check one time in 97 when it has a country's
      // length (a 24-character hex ObjectId led by `ad12`): an IBAN only where named
      (/[ -]/.test(m) || nearIban(c))
  },
  {
    category: "credit_card",
    group: "financial",
    severity: "critical",
    // the pattern's own first eight digits, so any grouping it accepts is a candidate; a
    // timestamp (`2026-12-04T10:00`, as every captured call's `started_at` holds) is not one: the
    // pattern can never match from there (the time's colon ends the run of digits at six)
    hint: /(?<![\w.-])(?!\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d))[1-6]\d{3}(?:[ .-]?\d){4}/,
    numeric: true,
    // a space, a dash or a dot before each digit (one kind throughout, in an issuer's layout: the
    // validator); a dot cannot start the match or end it before a digit, as in a decimal
    pattern: /(?<![\w.-])[1-6]\d{3}(?:[ .-]?\d){9,15}(?![\w-]|\.\d)/g,
    // a snowflake id in an API path (`discord.com/api/webhooks/1234…/`, `/channels/…`,
    // `x.com/u/status/…`), an order's id, a phone number after `+`: an id passes Luhn one time
    // in ten, and is no card (`notACard`)
    validate: (m, c) => isCardNumber(m) && !notACard(c)
  },
  {
    category: "us_ssn",
    group: "gov_id",
    severity: "critical",
    hint: /(?<![\w.-])\d{3}[ .-]?\d{2}[ .-]?\d{4}(?![\w-])/,
    numeric: true,
    // (dashed or bare; or with a space or a dot, which must not go on as a longer spaced number:
    // `/proc/stat`'s `cpu  123 45 6789 123456 …`)
    pattern: /(?<![\w.-])(?:\d{3}-?\d{2}-?\d{4}(?![\w-]|\.\d)|\d{3}[ .-]?\d{2}[ .-]?\d{4}(?![\w-]|[ .]\d))/g,
    validate: isSsn
  },
  {
    category: "us_routing",
    group: "financial",
    severity: "warning",
    // the number itself (the words that label it are far more common than nine digits)
    hint: /(?<![\w.-])\d{4}[ .-]?\d{4}[ .-]?\d(?![\w-])/,
    numeric: true,
    // nine digits, or as printed in four, four and one (`0110-0001-5`) with one separator
    pattern: /(?<![\w.-])\d{4}([ .-]?)\d{4}\1\d(?![\w-]|\.\d)/g,
    // the checksum always; the printed dashed form anywhere, the others where labelled
    validate: (m, c) => abaRouting(digitsOf(m)) && (/^\d{4}-\d{4}-\d$/.test(m) || nearRouting(c))
  },
  {
    category: "us_routing",
    group: "financial",
    severity: "warning",
    hint: /^\d{9}$/,
    // a string that is nothing but nine digits and has no field key: with no context at all, the
    // checksum decides (a keyed value is judged by its key, above; a JSON number is a quantity or
    // an id, so this one is not numeric)
    pattern: /^\d{9}$/g,
    validate: (m, c) => c.key === null && abaRouting(m)
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
    // is not a candidate; a dotted group of four (Cisco's form); the words that must label a bare
    // one, in the string or its key (an alternative that starts with a hex digit costs a sixth of
    // the joined hint's speed on prose, whose letters are hex digits one time in four)
    hint: /[0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-]|\.[0-9A-Fa-f]{4}\.|\bmac\b|hardware addr|physical addr|hw ?addr|ether|bssid|lladdr/i,
    // six pairs with one separator (`:` or `-`) throughout, three dotted groups of four, or
    // twelve bare hex digits
    pattern: /(?<![\w:.-])(?:[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}|[0-9A-Fa-f]{12})(?![\w:-]|\.[0-9A-Za-z])/g,
    validate: isMac
  },
  {
    category: "ipv6",
    group: "pii",
    severity: "info",
    // a `::`, or three colons (an address of three groups or more has them; a time of day,
    // `10:20:30`, does not)
    // (starts only at a colon: the same strings as three groups and colons, at a fraction of the cost)
    hint: /::|:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:/,
    // 2–8 groups and a colon each (`::2:3:4:5:6:7:8` has eight colons), then a last group or an IPv4 address (`::ffff:192.0.2.1`), a
    // zone (`%eth0`) and a prefix length (`/64`); never inside a word, a longer colon run or a
    // dotted number (`::ffff:192.168.1` is not `::ffff:192`)
    pattern:
      /(?<![\w:.%])(?:[0-9A-Fa-f]{0,4}:){2,8}(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9A-Fa-f]{0,4})(?:%[0-9A-Za-z._~-]{1,32})?(?:\/\d{1,3})?(?![\w:]|\.\d)/g,
    validate: isIpv6
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
    pattern: new RegExp(SPECIAL, "gi"),
    // a fingerprint of a key, a certificate, a browser or a file, and the diagnosis of a fault,
    // describe a system
    validate: (m, c) => !(/^(?:fingerprint|diagnos)/i.test(m) && TECHNICAL_BEFORE.test(c.before))
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
