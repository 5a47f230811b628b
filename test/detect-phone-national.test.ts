/**
 * The phone detector beyond its claimed regions: national layouts of Japan, South Korea, China and
 * Italy, North America's `011` prefix, Unicode digits (full width, Arabic-Indic, Devanagari …), and
 * numbers handed over as JSON numbers under a phone key. Numbers come from the library's metadata
 * and examples; what must not be a number (ids, dates, amounts, ISBNs, addresses, versions) is
 * drawn at random. The seed is the suite's (test/setup.ts): fresh under ACTTRACE_LONG=1.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { type CountryCode, getCountryCallingCode, getExampleNumber, Metadata, parsePhoneNumberFromString, type PhoneNumber } from "libphonenumber-js/max"
import examples from "libphonenumber-js/mobile/examples"
import * as Detect from "../src/Detect.js"
import { OTHER_REGIONS } from "../src/internal/phone.js"
import { cpuBest, LONG } from "./helpers.js"
import { distinct, fill, seededDigits } from "./fixtures/detect-corpus.js"

const RUNS = LONG ? 2_000 : 200
const phone = Detect.builtins.find((d) => d.category === "phone")!
const REDACT: Detect.Policy = { name: "redact-all", default: "redact" }
const phoneAlone = (value: unknown): number => Detect.scan(value, Detect.Policy.flagOnly, [phone]).find((f) => f.category === "phone")?.count ?? 0
const phones = (value: unknown): number => Detect.scan(value, Detect.Policy.flagOnly).find((f) => f.category === "phone")?.count ?? 0

const digit = fc.constantFrom(..."0123456789")
const metadata = new Metadata()
const lengthsOf = (c: CountryCode): ReadonlyArray<number> => {
  metadata.selectNumberingPlan(c)
  return metadata.numberingPlan?.possibleLengths() ?? []
}
/** A valid number of `country`, any type: random digits of one of its plan's lengths, kept when valid. */
const anyValidNumberOf = (country: CountryCode): fc.Arbitrary<PhoneNumber> =>
  fc
    .tuple(fc.constantFrom(...lengthsOf(country)), fc.array(digit, { minLength: 12, maxLength: 12 }))
    .map(([l, ds]) => parsePhoneNumberFromString(`+${getCountryCallingCode(country)}${ds.slice(0, l).join("")}`))
    .filter((p): p is PhoneNumber => p !== undefined && p.isValid() && p.country === country)

/** What the earlier rules of the detector refuse whatever the region (dates, an SSN's shape, a one-digit last group). */
const DATE = /^(?:\d{4}([-. ])\d{1,2}\1\d{1,2}|\d{1,2}([-. ])\d{1,2}\2\d{2}(?:\d{2})?)$/
const SSN = /^\d{3}([-. ])\d{2}\1\d{4}$/
/**
 * The national formats the rule claims: 8–17 digits (the pattern reads 7 or more; seven digits
 * are a local number without its area code, or anything else: not claimed), grouped by spaces or
 * dashes (a dotted run is a version), not the shape of a date or an SSN and no one-digit last group
 * (refused for every region, before any region is tried), with a first group that is not `011`
 * (North America's international prefix).
 */
const claimedFormat = (s: string): boolean => {
  const groups = s.split(/\D+/).filter((g) => g !== "")
  const n = groups.join("").length
  return n >= 8 && n <= 17 && groups.length > 1 && /^[\d -]+$/.test(s) && !DATE.test(s) && !SSN.test(s) && groups.at(-1)!.length >= 2 && groups[0] !== "011"
}

describe("Detect: phone numbers of Japan, Korea, China, Italy, and North America's 011", () => {
  it("the national layouts the hostile review missed are found", () => {
    for (const s of ["010-1234-5678", "02-312-3456", "090-1234-5678", "06 6982 1234", "03-1234-5678"]) {
      expect(phones({ note: `office ${s}, thanks` }), s).toBe(1)
    }
    for (const [b, s] of [
      ["手机 ", "138 0013 8000"],
      ["phone: ", "138 0013 8000"],
      ["手机号：", "13800138000"],
      ["phone ", "13800138000"],
      ["cellulare ", "347 123 4567"],
      ["tel. ", "347 123 4567"],
      ["전화 ", "010-1234-5678"],
      ["from the US dial ", "011 44 20 7946 0958"],
      ["", "011 44 20 7946 0958"]
    ] as const) {
      expect(phones(`${b}${s}`), `${b}${s}`).toBe(1)
      expect(Detect.redact(`${b}${s} ok`, REDACT).value, s).toBe(`${b}<redacted> ok`)
    }
  })

  it("a Chinese or Italian number written without a trunk needs a word that says phone; an id label refuses any of them", () => {
    expect(phoneAlone("totals 138 0013 8000 and 347 123 4567")).toBe(0)
    expect(phoneAlone("13800138000")).toBe(0)
    expect(phoneAlone("order 010-1234-5678")).toBe(0)
    expect(phoneAlone("ref: 031-123-4567")).toBe(0)
    // dotted runs are versions and addresses
    expect(phoneAlone("v010.1234.5678")).toBe(0)
    expect(phoneAlone("release 010.1234.5678")).toBe(0)
  })

  const evidence = fc.constantFrom("tel ", "phone: ", "電話 ", "电话：", "手机 ", "携帯 ", "전화 ", "휴대폰: ", "cellulare ", "Tel. ")
  const neutral = fc.constantFrom("", "office ", "at ", "(", "\n", "見積 ", "사무실 ", "ufficio ")
  const end = fc.constantFrom("", ".", ",", ")", " ok", "。", "です")

  it.prop(
    "any valid number of Japan, Korea, China or Italy in the library's national format is found beside a word that says phone",
    [fc.constantFrom(...OTHER_REGIONS).chain(anyValidNumberOf).map((p) => p.formatNational()).filter(claimedFormat), evidence, end],
    ([s, b, a]) => {
      expect(phoneAlone(`${b}${s}${a}`), `${b}${s}${a}`).toBe(1)
      expect(phoneAlone({ contact: `${b}${s}${a}` }), s).toBe(1)
      expect(Detect.redact(`${b}${s}${a}`, REDACT).value.replace(/\D/g, ""), s).not.toContain(s.replace(/\D/g, ""))
    },
    { fastCheck: { numRuns: RUNS } }
  )

  it.prop(
    "and, led by its trunk 0 in three groups or more, with no word at all",
    [fc.constantFrom(...OTHER_REGIONS).chain(anyValidNumberOf).map((p) => p.formatNational()).filter((s) => claimedFormat(s) && s.startsWith("0") && s.split(/\D+/).length >= 3), neutral, end],
    ([s, b, a]) => {
      expect(phoneAlone(`${b}${s}${a}`), `${b}${s}${a}`).toBe(1)
    },
    { fastCheck: { numRuns: RUNS } }
  )

  it.prop(
    "a valid mobile number of China, Korea, Japan or Italy written as one run is found after a phone word",
    [fc.constantFrom(...OTHER_REGIONS).chain(anyValidNumberOf).filter((p) => p.getType() === "MOBILE"), evidence, end],
    ([p, b, a]) => {
      const s = p.formatNational().replace(/\D/g, "")
      fc.pre(s.length >= 7 && s.length <= 17)
      expect(phoneAlone(`${b}${s}${a}`), `${b}${s}${a}`).toBe(1)
    },
    { fastCheck: { numRuns: RUNS } }
  )
})

// -------------------------------------------------------------------------------------------
// what is not a phone number, in the languages whose numbers are now read

const two = (n: number) => String(n).padStart(2, "0")
const date = fc.date({ min: new Date("1970-01-02"), max: new Date("2099-12-31"), noInvalidDate: true })
/** A date or a time in every layout (ISO, day first, month first, year first, compact, CJK, unix). */
const dated = date.chain((d) => {
  const [y, m, day, h, min, s] = [d.getUTCFullYear(), two(d.getUTCMonth() + 1), two(d.getUTCDate()), two(d.getUTCHours()), two(d.getUTCMinutes()), two(d.getUTCSeconds())]
  const yy = String(y).slice(2)
  return fc.constantFrom(
    d.toISOString(),
    `${y}-${m}-${day}T${h}:${min}:${s}+09:00`,
    `${y}-${m}-${day}`,
    `${y}-${m}-${day} ${h}:${min}:${s}`,
    `${day}.${m}.${y}`,
    `${day}/${m}/${y}`,
    `${m}/${day}/${y}`,
    `${m}-${day}-${y}`,
    `${day}-${m}-${y}`,
    `${day} ${m} ${y}`,
    `${y} ${m} ${day}`,
    `${y}/${m}/${day}`,
    `${y}.${m}.${day}`,
    `${day}-${m}-${yy}`,
    `${day}.${m}.${yy}`,
    `${yy}-${m}-${day}`,
    `${y}年${m}月${day}日 ${h}時${min}分`,
    `${y}년 ${m}월 ${day}일`,
    `${y}${m}${day}`,
    `${y}${m}${day}${h}${min}${s}`,
    `${y}${m}${day}-${h}${min}${s}`,
    `${h}:${min}:${s}.${String(d.getTime() % 1000).padStart(3, "0")}`,
    String(Math.floor(d.getTime() / 1000)),
    String(d.getTime()),
    `${Math.floor(d.getTime() / 1000)}.${String(d.getTime() % 1000).padStart(3, "0")}`
  )
})
/** An id: a run of digits not led by 0 (a bare zero-led run that is a valid mobile number in a claimed region is taken for one: decided), prefixed ids, hex. */
const id = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.array(digit, { minLength: 6, maxLength: 16 })).map(([a, ds]) => `${a}${ds.join("")}`),
  fc.tuple(fc.constantFrom("ORD-", "INV-", "#", "id=", "user_", "T", "build-"), fc.array(digit, { minLength: 7, maxLength: 14 })).map(([p, ds]) => `${p}${ds.join("")}`),
  fc.uuid()
)
/** An amount, with the thousands separators of every locale (comma, dot, space, none) and a currency. */
const amount = fc
  .tuple(fc.integer({ min: 1_000_000, max: 99_999_999_999 }), fc.nat(99), fc.constantFrom("", "$", "€", "¥", "₩", "USD ", "JPY "))
  .chain(([units, cents, cur]) =>
    fc.constantFrom(
      `${cur}${units.toLocaleString("en-US")}.${two(cents)}`,
      `${cur}${units.toLocaleString("en-US")}`,
      `${units.toLocaleString("de-DE")},${two(cents)} €`,
      `${units.toLocaleString("it-IT")},${two(cents)} €`,
      `${cur}${units}.${two(cents)}`,
      `${units.toLocaleString("fr-FR").replace(/\s/g, " ")},${two(cents)} €`,
      `${units.toLocaleString("ja-JP")}円`,
      `${units.toLocaleString("ko-KR")}원`
    )
  )
/** An ISBN-10 or ISBN-13 with its check digit, hyphenated (its last group is the check digit) or labelled. */
const isbn = fc.tuple(fc.boolean(), fc.array(digit, { minLength: 12, maxLength: 12 }), fc.integer({ min: 1, max: 5 }), fc.boolean()).map(([thirteen, ds, split, hyphens]) => {
  let body: string
  let check: string
  if (thirteen) {
    body = (Number(ds[11]) % 2 === 0 ? "978" : "979") + ds.slice(0, 9).join("")
    const sum = [...body].reduce((a, ch, i) => a + Number(ch) * (i % 2 === 0 ? 1 : 3), 0)
    check = String((10 - (sum % 10)) % 10)
  } else {
    body = ds.slice(0, 9).join("")
    const sum = [...body].reduce((a, ch, i) => a + Number(ch) * (10 - i), 0)
    const c = (11 - (sum % 11)) % 11
    check = c === 10 ? "X" : String(c)
  }
  if (!hyphens) return `ISBN ${body}${check}`
  const head = thirteen ? `${body.slice(0, 3)}-${body.slice(3, 3 + split)}` : body.slice(0, split)
  const rest = thirteen ? body.slice(3 + split) : body.slice(split)
  return `${head}-${rest.slice(0, 3)}-${rest.slice(3)}-${check}`
})
const ip = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined })).map(([a, b, c, d, port]) => `${a}.${b}.${c}.${d}` + (port === undefined ? "" : `:${port}`))
const semver = fc
  .tuple(fc.nat(99), fc.nat(999), fc.nat(99999), fc.option(fc.nat(99999), { nil: undefined }), fc.constantFrom("", "v", "-rc.1", "+build.7", "-beta.20261204"))
  .map(([a, b, c, d, tag]) => (tag === "v" ? "v" : "") + [a, b, c, ...(d === undefined ? [] : [d])].join(".") + (tag === "v" ? "" : tag))

describe("Detect: phone, what the wider reading must not take", () => {
  const negatives: ReadonlyArray<readonly [string, fc.Arbitrary<string>]> = [
    ["dates and times in every layout", dated],
    ["ids", id],
    ["amounts", amount],
    ["ISBNs", isbn],
    ["IP addresses", ip],
    ["versions", semver]
  ]
  // text in the languages whose numbers the detector now reads, and an id label, with no word
  // that says phone
  const around = fc.constantFrom("", "at ", "見積 ", "金额：", "주문 ", "importo ", "(", "\"x\": \"", "order ")
  for (const [name, arb] of negatives) {
    it.prop(
      `${name} are not phone numbers, in English, Japanese, Chinese, Korean and Italian text and in JSON`,
      [arb, around, fc.constantFrom("", ".", ",", ")", "\"", " ok", "。")],
      ([s, b, a]) => {
        expect(phoneAlone(`${b}${s}${a}`), `${b}${s}${a}`).toBe(0)
        expect(phoneAlone({ value: s, id: s }), s).toBe(0)
        expect(phoneAlone(JSON.stringify({ v: `${b}${s}` })), s).toBe(0)
      },
      { fastCheck: { numRuns: RUNS } }
    )
  }
})

// -------------------------------------------------------------------------------------------
// Unicode digits

/** The zero of each digit family the detector reads. */
const ZEROS: ReadonlyArray<readonly [string, number]> = [
  ["full width", 0xff10],
  ["Arabic-Indic", 0x660],
  ["Eastern Arabic-Indic", 0x6f0],
  ["Devanagari", 0x966],
  ["Bengali", 0x9e6],
  ["Thai", 0xe50]
]
const inDigits = (s: string, zero: number): string => s.replace(/\d/g, (d) => String.fromCharCode(zero + Number(d)))

describe("Detect: phone numbers written in Unicode digits", () => {
  it("a Japanese number in full-width digits is found and replaced whole", () => {
    expect(phones("電話：０９０-１２３４-５６７８です")).toBe(1)
    expect(Detect.redact("電話：０９０-１２３４-５６７８です", REDACT).value).toBe("電話：<redacted>です")
    expect(phones("TEL（０３）１２３４-５６７８")).toBe(1)
    expect(phones("＋８１ ９０-１２３４-５６７８")).toBe(1)
    expect(phones("call ٠٧٩١١ ١٢٣٤٥٦ or +٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨")).toBe(2)
  })

  const validMobile = fc
    .tuple(fc.constantFrom("GB", "DE", "FR", "IN", "JP", "KR", "BR", "EG", "SA", "TH", "BD"), fc.integer({ min: 1, max: 4 }), fc.array(digit, { minLength: 4, maxLength: 4 }))
    .map(([c, k, ds]) => {
      const example = getExampleNumber(c as CountryCode, examples)!
      return parsePhoneNumberFromString(`+${example.countryCallingCode}${example.nationalNumber.slice(0, -k)}${ds.slice(0, k).join("")}`)
    })
    .filter((p): p is PhoneNumber => p !== undefined && p.isValid())

  it.prop(
    "any valid number in international form, written in any of the digit families, is found and replaced whole",
    [validMobile, fc.constantFrom(...ZEROS), fc.constantFrom("tel ", "", "電話：", "هاتف: ", "फ़ोन ")],
    ([p, [, zero], b]) => {
      const s = inDigits(p.formatInternational(), zero)
      expect(phoneAlone(`${b}${s} ok`), `${b}${s}`).toBe(1)
      expect(Detect.redact(`${b}${s} ok`, REDACT).value, s).toBe(`${b}<redacted> ok`)
    },
    { fastCheck: { numRuns: RUNS } }
  )

  it.prop(
    "dates, amounts and ids in Unicode digits are no more phone numbers than in ASCII",
    [fc.oneof(dated, amount, id), fc.constantFrom(...ZEROS)],
    ([s, [, zero]]) => {
      expect(phoneAlone(`at ${inDigits(s, zero)} ok`), inDigits(s, zero)).toBe(0)
    },
    { fastCheck: { numRuns: RUNS } }
  )
})

// -------------------------------------------------------------------------------------------
// JSON numbers

describe("Detect: a phone number handed over as a JSON number", () => {
  it("under a phone key it is found; under any other key it is not", () => {
    expect(phones({ phone: 4155550132 })).toBe(1)
    expect(phones({ mobile: 447911123456 })).toBe(1)
    expect(phones(JSON.parse('{"contact": {"tel": 14155550132}}'))).toBe(1)
    expect(phones({ phone: 4155550132n })).toBe(1)
    // a key that holds a phone word or `call` but names an id, a count or a time (tool calls are in
    // every captured model call: `call_id`)
    for (const key of ["id", "user_id", "ts", "created_at", "amount", "order", "count", "size", "value", "n", "call_id", "callId", "calls", "contact_id", "phone_count", "phone_verified_at", "mobile_seq"]) {
      expect(phones({ [key]: 4155550132 }), key).toBe(0)
      expect(phones({ [key]: 447911123456 }), key).toBe(0)
    }
    expect(phones({ phone_verified_at: 1764864000 })).toBe(0)
    expect(phones({ phone_verified_at: 1764864000123 })).toBe(0)
  })

  const phoneKey = fc.constantFrom("phone", "mobile", "tel", "phone_number", "phoneNumber", "whatsapp", "fax", "cell")
  const e164 = fc
    .tuple(fc.constantFrom("US", "GB", "DE", "FR", "IN", "BR", "JP", "CN", "KR", "IT", "AU", "ES", "MX", "NG", "ZA"), fc.integer({ min: 1, max: 4 }), fc.array(digit, { minLength: 4, maxLength: 4 }))
    .map(([c, k, ds]) => {
      const example = getExampleNumber(c as CountryCode, examples)!
      return parsePhoneNumberFromString(`+${example.countryCallingCode}${example.nationalNumber.slice(0, -k)}${ds.slice(0, k).join("")}`)
    })
    .filter((p): p is PhoneNumber => p !== undefined && p.isValid())

  it.prop(
    "any valid number's E.164 digits, as a JSON number under a phone key, are found",
    [e164, phoneKey],
    ([p, key]) => {
      const n = Number(p.number.slice(1))
      expect(phoneAlone({ [key]: n }), `${key}: ${n}`).toBe(1)
      expect(phoneAlone({ user: { [key]: n } }), `${key}: ${n}`).toBe(1)
      // with every built-in it is found, as a phone number or (13 digits or more that pass Luhn's
      // check: `2348021234670`) as a card number
      expect(Detect.scan({ [key]: n }, Detect.Policy.flagOnly).length, `${key}: ${n}`).toBe(1)
    },
    { fastCheck: { numRuns: RUNS } }
  )

  it.prop(
    "integers under keys that name ids, times, amounts and counts are never phone numbers",
    [
      fc.constantFrom("id", "user_id", "orderId", "ts", "timestamp", "created_at", "amount", "total", "count", "bytes", "port", "seq", "n", "value", "call_id", "callId", "calls", "tool_call_count", "contact_id", "phone_count", "phoneUpdatedAt"),
      fc.integer({ min: 100_000_000, max: Number.MAX_SAFE_INTEGER })
    ],
    ([key, n]) => {
      expect(phoneAlone({ [key]: n }), `${key}: ${n}`).toBe(0)
      expect(phoneAlone({ [key]: String(n) }), `${key}: "${n}"`).toBe(0)
    },
    { fastCheck: { numRuns: RUNS } }
  )
})

// -------------------------------------------------------------------------------------------
// linear time

describe("Detect: phone, the wider reading in linear time", () => {
  const KB = 1024
  const ds = seededDigits(24)
  const families: ReadonlyArray<readonly [string, (size: number) => string]> = [
    ["full-width digits", (n) => fill(n, "０")],
    ["full-width digits and dashes", (n) => fill(n, "０-")],
    ["Arabic-Indic digits and spaces", (n) => fill(n, "٤ ")],
    ["full-width brackets and digits", (n) => fill(n, "（１）")],
    ["katakana long marks and digits", (n) => fill(n, "1ー")],
    ["Korean mobile numbers, all different, after a phone word", (n) => distinct(n, () => `전화 010-${ds(4)}-${ds(4)} `)],
    ["Chinese mobile runs, all different, after a phone word", (n) => distinct(n, () => `手机 1${ds(10)}, `)],
    ["011 numbers, all different", (n) => distinct(n, () => `011 ${ds(2)} ${ds(2)} ${ds(4)} ${ds(4)}; `)],
    ["zero-led three-group runs, all different", (n) => distinct(n, () => `0${ds(2)}-${ds(4)}-${ds(4)} `)],
    ["phone words and long runs", (n) => fill(n, "phone: 4479111234567890123 ")]
  ]
  const timeOf = (s: string): number => cpuBest(() => phoneAlone(s))

  it("64 KB then 1 MB of each family: linear in the size, within a bounded factor of ordinary text", async () => {
    const big = LONG ? 4096 * KB : 1024 * KB
    const baseline = timeOf(fill(big, "on 2026-12-04 at 10:20 we moved 1,234 items (12 of 345) for $56.78; "))
    const slow: Array<string> = []
    for (const [name, input] of families) {
      const small = timeOf(input(64 * KB))
      await new Promise((r) => setImmediate(r))
      const whole = timeOf(input(big))
      await new Promise((r) => setImmediate(r))
      // linear: k times the input (16, or 64 in the long run), k times the time; three times that
      // is the room a loaded machine and the collector need (a quadratic search takes k² times)
      if (whole > 3 * (big / (64 * KB)) * small + 150 || whole > 100 * baseline + 200) slow.push(`${name}: ${whole.toFixed(0)} ms for ${big / KB} KB, ${small.toFixed(0)} ms for 64 KB, baseline ${baseline.toFixed(0)} ms`)
    }
    expect(slow).toEqual([])
  }, 120_000)
})
