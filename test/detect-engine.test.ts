/**
 * The engine's per-string work (issue 15, the cost of the detectors on every append and every
 * captured model call): what it reads of a string, counted, never timed (the timings are in
 * `bench/detect.ts` and `bench/capture.ts`; the per-string bound under adversarial input is in
 * `test/harness/redos.test.ts`).
 *
 * - Which hints a string passes is read once and kept with it: a string that recurs (a model
 *   name, an outcome, a key) costs a lookup, not a test of every detector's hint; a field's key is
 *   read once, not once per string under it.
 * - A payload whose hinted strings hold no match is answered by the first pass, which searches
 *   its short strings under the key each is judged by (a pair's name, a wrapper's field): those
 *   keys must be the ones the full pass uses, or a finding would be lost.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as Either from "effect/Either"
import * as Canonical from "../src/Canonical.js"
import * as Detect from "../src/Detect.js"
import { normalize } from "../src/internal/normalize.js"
import { golden } from "./fixtures/detect-corpus.js"

/** A regular expression that counts the strings it is run on (`test` runs `exec`). */
class Counted extends RegExp {
  readonly seen: Array<string> = []
  override exec(s: string): RegExpExecArray | null {
    this.seen.push(s)
    return super.exec(s)
  }
}

const REDACT_ALL: Detect.Policy = { name: "redact-all", default: "redact" }

/** An employee-id detector whose hint (and, when asked, pattern) counts what it reads. */
const employeeId = (hint: RegExp, pattern: RegExp = /EMP-\d{6}/g): Detect.Detector => ({ category: "employee_id", group: "pii", severity: "warning", pattern, hint })

describe("Detect engine: hints are read once per string", () => {
  it("a string that recurs is tested against each distinct hint once, whichever detectors share it", () => {
    const hint = new Counted("EMP-")
    // the same hint object on two detectors that do not stand together, and a third detector with
    // an equal hint of its own: one distinct hint
    const set: ReadonlyArray<Detect.Detector> = [
      employeeId(hint),
      { category: "badge", group: "pii", severity: "warning", pattern: /BADGE-\d{4}/g, hint: /BADGE-/ },
      employeeId(new Counted("EMP-"), /EMP-\d{8}/g),
      { ...employeeId(hint), category: "employee_id_2" }
    ]
    const value = { note: Array.from({ length: 500 }, () => "EMP-123456 BADGE-1234") }
    const out = Detect.redact(value, REDACT_ALL, set)
    expect(out.findings.map((f) => [f.category, f.count])).toEqual([
      ["badge", 500],
      ["employee_id", 500]
    ])
    // read once for the string and once for the key (before: once per detector per string, 1,000
    // times, and the twin hint as often)
    expect(hint.seen.filter((s) => s === "EMP-123456 BADGE-1234")).toHaveLength(1)
    expect((set[2]!.hint as Counted).seen).toEqual([])
  })

  it("a field's key is read once, not once per string under it", () => {
    const hint = new Counted("EMP-")
    const key = "EMP-ids"
    // 300 distinct strings, none passing the hint: each is judged under the key, which passes it
    const value = { [key]: Array.from({ length: 300 }, (_, i) => `id ${i}`) }
    const out = Detect.redact(value, Detect.Policy.flagOnly, [employeeId(hint, /id \d+/g)])
    expect(out.findings).toEqual([{ category: "employee_id", group: "pii", severity: "warning", action: "flag", count: 300 }])
    // before: the key was tested again for every string (300 times)
    expect(hint.seen.filter((s) => s === key).length).toBeLessThanOrEqual(1)
  })

  it("a string that passes no hint, under a key that passes none, runs no detector's pattern", () => {
    const pattern = new Counted("EMP-\\d{6}", "g")
    const hint = new Counted("EMP-")
    const out = Detect.redact({ note: ["nothing here", "nor here"], other: { deeper: "still nothing" } }, REDACT_ALL, [employeeId(hint, pattern)])
    expect(out.findings).toEqual([])
    expect(pattern.seen).toEqual([])
  })

  it("a hint written with the g flag passes every string it matches (its lastIndex is not carried from one string to the next)", () => {
    const out = Detect.redact({ a: "EMP-123456", b: "EMP-654321", c: "EMP-111111", d: ["EMP-222222", "EMP-333333"] }, REDACT_ALL, [employeeId(/EMP-/g)])
    expect(out.findings).toEqual([{ category: "employee_id", group: "pii", severity: "warning", action: "redact", count: 5 }])
    expect(out.value).toEqual({ a: "<redacted>", b: "<redacted>", c: "<redacted>", d: ["<redacted>", "<redacted>"] })
  })
})

describe("Detect engine: a payload with nothing to find", () => {
  it("a captured model call whose model name passes the phone hint is returned as it is, with no finding", () => {
    const payload = {
      cost: "0.000345 USD",
      decision_id: null,
      finish_reason: "stop",
      latency_ms: 5.553,
      model: "gpt-4o-mini-2024-08-06",
      outcome: "success",
      provider: "openai",
      replayed: false,
      started_at: "2026-12-05T08:46:06.062906+00:00",
      usage: { cache_write: 0, cached_tokens: 200, input_tokens: 1200, output_tokens: 300, reasoning_tokens: 64 }
    }
    const out = Detect.redact(payload)
    expect(out.findings).toEqual([])
    expect(out.value).toBe(payload)
  })

  it("the first pass judges each string under the key the full pass does: a pair's name, a wrapper's field, an array's field", () => {
    const found = (value: unknown) => Detect.scan(value, Detect.Policy.flagOnly).map((f) => f.category)
    // none of these strings is hinted on its own, nor is the key that holds it
    expect(found({ name: "DB_PASSWORD", value: "Tr0ub4dor&3x" })).toEqual(["password"])
    expect(found({ ParameterKey: "DbPassword", ParameterValue: "Tr0ub4dor&3x" })).toEqual(["password"])
    expect(found({ password: { value: "Tr0ub4dor&3x" } })).toEqual(["password"])
    expect(found({ password: ["Tr0ub4dor&3x"] })).toEqual(["password"])
    expect(found({ password: 73914825 })).toEqual(["password"])
    // a long value (past what the first pass searches) under a key that passes a hint
    expect(found({ password: `Tr0ub4dor&3x${"k".repeat(300)}` })).toEqual(["password"])
    // and the finding after many hinted strings that hold none
    expect(found({ models: Array.from({ length: 200 }, (_, i) => `gpt-4o-2024-08-${String(i % 28 + 1).padStart(2, "0")}`), contact: "ana.silva@example.com" })).toEqual(["email"])
  })
})

/**
 * The Unicode characters the engine reads as their ASCII twins (each one UTF-16 unit, as its twin):
 * the spaces a keyboard, a word processor or a web page put where a space is meant (no-break, thin,
 * narrow no-break, ideographic …), the dashes and minus signs put where a hyphen is meant, and the
 * full-width colon and equals sign of CJK input methods.
 */
const TWINS: Readonly<Record<string, ReadonlyArray<string>>> = {
  " ": ["\u00A0", "\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006", "\u2007", "\u2008", "\u2009", "\u200A", "\u202F", "\u205F", "\u3000"],
  "-": ["\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212", "\uFE63", "\uFF0D"],
  ":": ["\uFF1A"],
  "=": ["\uFF1D"],
  // and every printable ASCII character's full-width form (U+FF01–U+FF5E) of CJK input
  ...Object.fromEntries(Array.from({ length: 0x5e }, (_, i) => [String.fromCharCode(0x21 + i), [String.fromCharCode(0xff01 + i)]]).filter(([c]) => c !== "-" && c !== ":" && c !== "="))
}
const twinOf = (c: string): string => [...Object.entries(TWINS)].find(([, ts]) => ts.includes(c))?.[0] ?? c
const asAscii = (s: string): string => s.replace(/[^\x00-\x7f]/g, twinOf)
const escaped = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&")

/**
 * `unicode`, redacted, against `ascii` (the same text with each twin written in ASCII), redacted:
 * the same findings, the same spans replaced, and the text outside them as `unicode` wrote it.
 */
const sameAsAscii = (unicode: string, ascii: string, policy: Detect.Policy = REDACT_ALL): void => {
  const u = Detect.redact(unicode, policy)
  const a = Detect.redact(ascii, policy)
  expect(u.findings, JSON.stringify(unicode)).toEqual(a.findings)
  // the same spans: the output read back in ASCII is the ASCII output
  expect(asAscii(u.value), JSON.stringify(unicode)).toBe(a.value)
  // and what stays is the input's own text: its pieces stand in the input, in order, between
  // the replaced spans (a piece written back in ASCII would not be found)
  const pieces = u.value.split(Detect.REPLACEMENT).map(escaped)
  expect(new RegExp(`^${pieces.join("[\\s\\S]+")}$`).test(unicode), `${JSON.stringify(unicode)} → ${JSON.stringify(u.value)}`).toBe(true)
}

describe("Detect engine: an ISO 8601 timestamp skips the joined hint with the built-ins", () => {
  // every form the shortcut takes: Z, an offset with its colon or none, no seconds, seconds, and a
  // fraction of one to nine digits (a compact offset is not taken: `….0000-0800` reads as a phone
  // number to the phone detector, which the long way keeps; the last test here holds that)
  const timestamp = fc
    .tuple(
      fc.date({ min: new Date(Date.UTC(1970, 0, 1)), max: new Date(Date.UTC(2199, 11, 31)), noInvalidDate: true }),
      fc.constantFrom("minutes", "seconds", "fraction"),
      fc.integer({ min: 1, max: 9 }),
      fc.nat(999_999_999),
      fc.constantFrom("Z", "+00:00", "+05:30", "-08:00", "+14:00", "")
    )
    .map(([d, precision, digits, fraction, zone]) => {
      const t = d.toISOString().slice(0, precision === "minutes" ? 16 : 19)
      return `${t}${precision === "fraction" ? `.${String(fraction).padStart(9, "0").slice(0, digits)}` : ""}${zone}`
    })
  const withOptIns = Either.getOrThrow(Detect.select(Detect.builtins, "+uk_nino,+aadhaar,+high_entropy"))
  // the same detectors as plain objects of their own: not the built-in set, so read the long way
  const readInFull = withOptIns.map((d) => ({ ...d }))
  const found = (v: unknown, set: ReadonlyArray<Detect.Detector>) => Detect.scan(v, Detect.Policy.flagOnly, set).map((f) => `${f.category}:${f.count}`).sort()

  it.prop("read so, one finds nothing; under any key it is judged as the long way judges it, less what the long way finds in the timestamp alone", [timestamp, fc.constantFrom("started_at", "ts", "password", "api_key", "phone", "card_number", "ssn", "ip", "mac", "value")], ([t, k]) => {
    expect(found(t, withOptIns), t).toEqual([])
    // what the long way finds in the timestamp alone is the phone detector reading a fraction's
    // digits as a number (`.537000000`): that alone may differ
    const alone = found(t, readInFull)
    for (const f of alone) expect(f, t).toMatch(/^phone:/)
    const short = found({ [k]: t }, withOptIns)
    const long = found({ [k]: t }, readInFull)
    if (alone.length === 0) expect(short, `${k}: ${t}`).toEqual(long)
    else expect(long.filter((f) => !f.startsWith("phone:")), `${k}: ${t}`).toEqual(short.filter((f) => !f.startsWith("phone:")))
    if (alone.length === 0) expect(found([t, `at ${t}`], withOptIns)).toEqual(found([t, `at ${t}`], readInFull))
  }, { fastCheck: { numRuns: Number(process.env["PROP_RUNS"] ?? 300) } })
  it("a compact offset keeps the long way: both ways find the same", () => {
    for (const t of ["1970-02-04T10:36:01.0000-0800", "2026-12-05T08:00:00+0100", "2026-12-05T08:00:00.5+01"]) {
      expect(found(t, withOptIns), t).toEqual(found(t, readInFull))
      expect(found({ started_at: t }, withOptIns), t).toEqual(found({ started_at: t }, readInFull))
    }
  })
})

describe("Detect engine: Unicode spaces, dashes and full-width forms are read as their ASCII twins", () => {
  const P = "Kx9mQ2zzP"
  const K = "Zq8vLm2pRtx93jdLq0aWeC7hN4bY1uK"
  const cases: ReadonlyArray<readonly [string, string]> = [
    [`password:\u00A0${P}`, "password"],
    [`password\u00A0=\u00A0${P}`, "password"],
    [`API_TOKEN:\u00A0${K}`, "generic_secret"],
    [`password:\u2009${P}`, "password"],
    [`password:\u3000${P}`, "password"],
    [`password\uFF1A${P}`, "password"],
    ["4111\u00A01111\u00A01111\u00A01111", "credit_card"],
    ["4111\u20131111\u20131111\u20131111", "credit_card"],
    ["DE89\u00A03704\u00A00044\u00A00532\u00A00130\u00A000", "iban"],
    ["SSN: 123\u201345\u20136789", "us_ssn"],
    ["123\u201045\u20106789", "us_ssn"],
    ["\u30AB\u30FC\u30C9\u756A\u53F7\uFF1A\uFF14\uFF11\uFF11\uFF11\u3000\uFF11\uFF11\uFF11\uFF11\u3000\uFF11\uFF11\uFF11\uFF11\u3000\uFF11\uFF11\uFF11\uFF11", "credit_card"],
    ["taro.yamada\uFF20example.co.jp", "email"],
    ["\uFF50\uFF41\uFF53\uFF53\uFF57\uFF4F\uFF52\uFF44\uFF1D\uFF2B\uFF58\uFF19\uFF4D\uFF31\uFF12\uFF5A\uFF5A\uFF30", "password"]
  ]
  for (const [unicode, category] of cases) {
    it(`${JSON.stringify(unicode)}: ${category}, the same span as in ASCII, the rest as written`, () => {
      expect(Detect.scan(unicode, REDACT_ALL).map((f) => f.category)).toContain(category)
      sameAsAscii(unicode, asAscii(unicode))
      // under a key too, and as a key
      const under = Detect.redact({ note: unicode }, REDACT_ALL)
      expect(under.findings).toEqual(Detect.redact({ note: asAscii(unicode) }, REDACT_ALL).findings)
      expect(Detect.redact({ [unicode]: 1 }, REDACT_ALL).findings).toEqual(Detect.redact({ [asAscii(unicode)]: 1 }, REDACT_ALL).findings)
    })
  }

  it("a string with no such character is scanned as it is (the same object back when nothing is found)", () => {
    const payload = { text: "na\u00EFve caf\u00E9 \u2192 r\u00E9sum\u00E9 \u2014 ok" }
    expect(Detect.redact(payload).value).toBe(payload)
  })

  // every hit of the golden corpus (secrets and PII of every category), alone or among other
  // hits, with its spaces, hyphens, colons and equals signs written as random twins
  const asciiHits = golden.flatMap((g) => g.hits).filter((h) => asAscii(h) === h && !h.includes(Detect.REPLACEMENT))
  const placed = fc
    .array(fc.oneof(fc.constantFrom(...asciiHits), fc.constantFrom(" ", "\n", ", ", " = ", ": ", " - ", "note", "x-y")), { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join(""))
    .chain((ascii) =>
      fc.array(fc.nat(), { minLength: ascii.length, maxLength: ascii.length }).map((draws) => {
        let unicode = ""
        for (let i = 0; i < ascii.length; i++) {
          const twins = TWINS[ascii[i]!]
          // about half of the places take a twin
          unicode += twins !== undefined && draws[i]! % 2 === 0 ? twins[(draws[i]! >> 1) % twins.length]! : ascii[i]!
        }
        return [unicode, ascii] as const
      })
    )
  it.prop("with the ASCII twins in random places: the same findings and the same spans, the rest byte for byte", [placed], ([[unicode, ascii]]) => {
    sameAsAscii(unicode, ascii)
    sameAsAscii(unicode, ascii, Detect.Policy.default)
  }, { fastCheck: { numRuns: Number(process.env["PROP_RUNS"] ?? (process.env["ACTTRACE_LONG"] === "1" ? 2000 : 300)) } })
})

describe("Detect engine: a terminal's control sequences are read as spaces", () => {
  // a CLI's coloured output (`ls --color`, `git diff`, a test runner's) glues a key to its colour
  const asciiHits = golden.flatMap((g) => g.hits).filter((h) => !h.includes(Detect.REPLACEMENT) && !h.includes("\u001B"))
  const csi = fc.oneof(
    fc.constantFrom("\u001B[0m", "\u001B[m", "\u001B[1m", "\u001B[32m", "\u001B[1;31m", "\u001B[38;5;208m", "\u001B[38;2;255;0;0m", "\u001B[2K", "\u001B[1G", "\u001B[?25l"),
    fc.tuple(fc.integer({ min: 0, max: 107 }), fc.integer({ min: 0, max: 9 })).map(([a, b]) => `\u001B[${a};${b}m`)
  )
  it.prop("a hit between colour codes: the same findings as with spaces there, the codes kept", [fc.constantFrom(...asciiHits), csi, csi, fc.constantFrom("", "key: ", "x ", "\n")], ([hit, open, close, lead]) => {
    const coloured = `${lead}${open}${hit}${close}`
    const spaced = `${lead}${" ".repeat(open.length)}${hit}${" ".repeat(close.length)}`
    const c = Detect.redact(coloured, REDACT_ALL)
    const s = Detect.redact(spaced, REDACT_ALL)
    expect(c.findings, JSON.stringify(coloured)).toEqual(s.findings)
    expect(c.value.split("\u001B").length, JSON.stringify(coloured)).toBe(3)
  }, { fastCheck: { numRuns: Number(process.env["PROP_RUNS"] ?? (process.env["ACTTRACE_LONG"] === "1" ? 1000 : 200)) } })
  it("an AWS key id and a Slack token in colour: found and replaced, the colours kept", () => {
    const r = Detect.redact("\u001B[32mAKIAXC3OEQLY47PZLXXO\u001B[0m key: \u001B[1;31mxoxb-66407530880-2285991157716-YweqAVSQPB4WT05YwR6Sblf8\u001B[0m", REDACT_ALL)
    expect(r.value).toBe(`\u001B[32m${Detect.REPLACEMENT}\u001B[0m key: \u001B[1;31m${Detect.REPLACEMENT}\u001B[0m`)
  })
})

describe("Detect engine: bytes are read as their UTF-8 text", () => {
  const P = "Kx9mQ2zzP"
  const text = (b: unknown): string => new TextDecoder().decode(b as Uint8Array)

  it("a Buffer (execSync, readFileSync) is scanned as text and comes back as a Buffer of the redacted text", () => {
    const stdout = Buffer.from(`DB_PASSWORD=${P}\nok\n`)
    const out = Detect.redact({ tool: "sh", stdout })
    expect(out.findings.map((f) => f.category)).toEqual(["password"])
    expect(Buffer.isBuffer(out.value.stdout)).toBe(true)
    expect(text(out.value.stdout)).toBe(`DB_PASSWORD=${Detect.REPLACEMENT}\nok\n`)
    // the caller's bytes are not changed
    expect(stdout.toString("utf8")).toBe(`DB_PASSWORD=${P}\nok\n`)
    expect(Detect.scan(Buffer.from(`password=${P}`)).map((f) => f.category)).toEqual(["password"])
  })

  it("a Uint8Array and an ArrayBuffer too, each given back as its own kind; bytes under a key are judged under it", () => {
    const u8 = new TextEncoder().encode(`contact ana.silva@example.com`)
    const out = Detect.redact({ body: u8 })
    expect(out.findings.map((f) => f.category)).toEqual(["email"])
    expect(out.value.body).toBeInstanceOf(Uint8Array)
    expect(Buffer.isBuffer(out.value.body)).toBe(false)
    expect(text(out.value.body)).toBe(`contact ${Detect.REPLACEMENT}`)
    const ab = new TextEncoder().encode(`token: ghp_${"A1b2C3d4E5".repeat(3)}ABCDEF`).buffer
    const outAb = Detect.redact({ chunk: ab })
    expect(outAb.findings.length).toBeGreaterThan(0)
    expect(outAb.value.chunk).toBeInstanceOf(ArrayBuffer)
    expect(text(new Uint8Array(outAb.value.chunk as ArrayBuffer))).not.toContain("ghp_")
    expect(Detect.scan({ password: Buffer.from(P) }).map((f) => f.category)).toEqual(["password"])
  })

  it("bytes with nothing to find, and bytes that are not UTF-8, are left as they are (the same object)", () => {
    const clean = { stdout: Buffer.from("total 0\n") }
    expect(Detect.redact(clean).value).toBe(clean)
    // not UTF-8 (0xff never starts a character): binary data, not read
    const binary = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), Buffer.from(`password=${P}`)])
    const out = Detect.redact({ blob: binary })
    expect(out.findings).toEqual([])
    expect(out.value.blob).toBe(binary)
  })
})

describe("Detect engine: back-references in a payload", () => {
  // an object met again through a parent pointer: the first read-only walks once grew their stack
  // by the object's width per visit, and 3,000 members with a pointer to their parent outgrew what
  // an array may hold (the process aborted, no error to catch)
  const org = (members: number) => {
    const o: { name: string; members: Array<unknown> } = { name: "acme", members: [] }
    for (let i = 0; i < members; i++) o.members.push({ id: i, name: `user${i}`, org: o })
    return o
  }
  it("a parent pointer under 3,000 members: redact and scan return, the members kept", () => {
    const o = org(3_000)
    const r = Detect.redact(o, Detect.Policy.default)
    expect(r.findings).toEqual([])
    expect(Detect.scan(o, Detect.Policy.default)).toEqual([])
  })
  it("an object holding itself under 20,000 keys: redact returns, and finds a secret beside it", () => {
    const o: Record<string, unknown> = {}
    for (let i = 0; i < 20_000; i++) o[`k${i}`] = o
    expect(Detect.redact(o, Detect.Policy.default).findings).toEqual([])
    o["token"] = "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"
    expect(Detect.scan(o, Detect.Policy.default).map((f) => f.category)).toContain("github_token")
  })
  it("what the chain writes: normalized, then encoded, it is a typed Cycle naming the path", () => {
    const n = normalize({ org: org(3_000) })
    const r = Either.flatMap(n, (v) => Canonical.encode(v))
    expect(Either.isLeft(r) && r.left.reason).toBe("Cycle")
    expect(Either.isLeft(r) && r.left.message).toContain("$.org.members[0].org")
  })
})
