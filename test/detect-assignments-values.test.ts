/**
 * Secrets and passwords found by their key (issue 15, the hostile review's R16, R3, R5, R6, R9,
 * R10, R12, R17, R18, R14): where a value under a key starts and ends, which values under which
 * keys are secrets, and which are placeholders. Generated cases: keys and values are drawn, never
 * one repro string.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as Canonical from "../src/Canonical.js"
import * as Detect from "../src/Detect.js"
import { cpuBest as cpu, randomOf } from "./helpers.js"

const R = Detect.REPLACEMENT
const RUNS = Number(process.env["PROP_RUNS"] ?? 150)
/**
 * `%NAME%`: a Windows environment reference (`pw=%YFty6uts%`), a template by rule and no password;
 * a generator of passwords never draws one (fresh seeds did).
 */
const WINDOWS_VARIABLE = /^%[A-Za-z_][\w]*%$/
const everything: Detect.Policy = { name: "everything", default: "redact" }
const redacted = (value: unknown) => Detect.redact(value, everything).value
const rows = (value: unknown) => Detect.scan(value, Detect.Policy.strict).map((f) => `${f.category}${f.placeholder === true ? "(placeholder)" : ""}:${f.severity}`)
const cats = (value: unknown) => Detect.scan(value, Detect.Policy.flagOnly).map((f) => f.category)
const chars = (alphabet: string, min: number, max: number) => fc.array(fc.constantFrom(...alphabet), { minLength: min, maxLength: max }).map((a) => a.join(""))

const HEX = "0123456789abcdef"
/** random hex of n characters: both a letter and a digit, no run of six ascending (never sequential) */
const hex = (min: number, max: number) =>
  randomOf(HEX, min, max).filter((h) => /[a-f]/.test(h) && /\d/.test(h) && !/(?:0123|1234|2345|3456|4567|5678|6789|abcd|bcde|cdef)/.test(h) && !/(.)\1\1\1/.test(h))
/** a random (version 4) UUID */
const uuid4 = fc.tuple(hex(12, 12), hex(3, 3), fc.constantFrom("8", "9", "a", "b"), hex(3, 3), hex(12, 12)).map(([a, b, v, c, d]) => `${a.slice(0, 8)}-${a.slice(8, 12)}-4${b}-${v}${c}-${d}`)

// ---------------------------------------------------------------------------------------------
// R16: hex and UUID keys under key names
// ---------------------------------------------------------------------------------------------

const vendors = ["DD", "DATADOG", "TWILIO", "HEROKU", "ALGOLIA", "NEW_RELIC", "POSTMARK", "MY_APP", "x", ""]
/**
 * (a key whose only keyword is `key`, `DD_APP_KEY`, `LICENSE_KEY`, is not among them: every string
 * would be tested for `key` first, a cost of about 8 % of the scan's throughput)
 */
const keyish = ["API_KEY", "AUTH_TOKEN", "ACCESS_TOKEN", "SECRET", "SECRET_KEY", "PRIVATE_KEY", "ACCESS_KEY", "TOKEN", "apiKey", "authToken", "api-key", "Auth-Token", "ApiKey", "access_token", "_authToken", "client_secret"]
const keyName = fc.tuple(fc.constantFrom(...vendors), fc.constantFrom(...keyish)).map(([v, k]) => (v === "" ? k : `${v}_${k}`))
/** forms: env, YAML, JSON text, a header, a query, Python */
const textForms: ReadonlyArray<(k: string, v: string) => string> = [
  (k, v) => `${k}=${v}`,
  (k, v) => `  ${k}: ${v}`,
  (k, v) => `{"${k}": "${v}", "n": 1}`,
  (k, v) => `X-${k.replace(/_/g, "-")}: ${v}`,
  (k, v) => `https://api.example.net/v1/x?${k}=${v}&page=2`,
  (k, v) => `${k.toLowerCase()} = '${v}'`
]

describe("R16: a hex value of 32+ characters or a random UUID under a key that names a key, a token, a secret or a password is a secret", () => {
  it.prop("as text, every form: the value replaced", [keyName, fc.oneof(hex(32, 64), uuid4), fc.nat(textForms.length - 1)], ([k, v, i]) => {
    const text = textForms[i]!(k, v)
    expect(redacted(text), text).toBe(textForms[i]!(k, R))
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("as a field of an object", [keyName, fc.oneof(hex(32, 64), hex(32, 40).map((h) => h.toUpperCase()), uuid4)], ([k, v]) => {
    expect(redacted({ [k]: v, n: 1 }), k).toEqual({ [k]: R, n: 1 })
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("not under keys naming an id, a hash, a digest, a checksum, a commit, a nonce, a cursor; not a time-based UUID; not short hex", [
    fc.constantFrom("request_id", "api_key_id", "token_hash", "etag", "ETag", "commit_sha", "sha256", "digest", "checksum", "fingerprint", "kms_key_id", "nonce", "cache_key", "idempotency_key", "trace_id", "UserSecretsId", "gpg_key", "public_key", "key", "sort_key", "content_hash", "token_digest"),
    fc.oneof(hex(32, 64), uuid4),
    fc.nat(textForms.length - 1)
  ], ([k, v, i]) => {
    // (the key `fingerprint` is a special category word of its own: only the secret categories here)
    const secrets = (x: unknown) => cats(x).filter((c) => c === "generic_secret" || c === "password")
    // (the key as written: \`usersecretsid\` lowercased is one word, whose id no rule can see)
    const text = i === 5 ? `${k} = '${v}'` : textForms[i]!(k, v)
    // (an `X-Key:` header is a key's own name: a random value under it is a secret)
    if (k === "key" && i === 3) return
    expect(secrets(text), text).toEqual([])
    expect(secrets({ [k]: v }), k).toEqual([])
  }, { fastCheck: { numRuns: RUNS } })
  it("a time-based UUID, short or mixed-case hex, a sequential run: no finding", () => {
    for (const s of ["token=743b294a-cd03-11ec-9d64-0242ac120002", "api_key=3f2b8c1e9a4d4e7b", "api-key: acdeFf05b1a6d4c890237bf08c5e6e8d2b4d0f2e", "api_key = 1234567890abcdefABCDEF1234567890", "token = 00000000-0000-0000-0000-000000000000"]) {
      expect(cats(s), s).toEqual([])
    }
  })
})

// ---------------------------------------------------------------------------------------------
// R3: ; and & inside values
// ---------------------------------------------------------------------------------------------

/** a password holding ; or & somewhere, possibly in its first three characters */
const semiValue = fc
  .tuple(randomOf("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", 1, 6), fc.constantFrom(";", "&", "&&", ";&"), randomOf("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%*+", 4, 12), fc.constantFrom("", "9", "x!"))
  .map(([a, s, b, c]) => `${a}${s}${b}${c}`)
  .filter((v) => /\d/.test(v) && /[A-Za-z]/.test(v) && !/[;&]$/.test(v))

describe("R3: ; and & end a bare value only where the next text starts another name=", () => {
  it.prop("env, YAML, shell, free text: the whole value, however short its first piece", [fc.constantFrom("DB_PASSWORD", "password", "SECRET_KEY", "client_secret"), semiValue, fc.constantFrom((k: string, v: string) => `${k}=${v}`, (k: string, v: string) => `  ${k}: ${v}`, (k: string, v: string) => `export ${k}=${v}`)], ([k, v, form]) => {
    // (a secret key's value is judged as a secret: the same shape, with 8 or more characters)
    fc.pre(!/secret/i.test(k) || v.length >= 8)
    const text = `${form(k, v)}\nNEXT=1`
    expect(redacted(text), text).toBe(`${form(k, R)}\nNEXT=1`)
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("a query string and a k=v;k=v connection string still end at the next name=", [semiValue.map((v) => v.replace(/[;&]+/g, "")).filter((v) => v.length >= 4), fc.constantFrom("Port", "user", "next", "User Id", "ssl_mode")], ([v, next]) => {
    expect(redacted(`Server=db;Password=${v};${next}=5432`)).toBe(`Server=db;Password=${R};${next}=5432`)
    if (!next.includes(" ")) expect(redacted(`https://h/login?password=${v}&${next}=1`)).toBe(`https://h/login?password=${R}&${next}=1`)
  }, { fastCheck: { numRuns: RUNS } })
})

// ---------------------------------------------------------------------------------------------
// R5: generic secrets with marker words
// ---------------------------------------------------------------------------------------------

const B62 = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
const randomToken = randomOf(B62, 24, 40).filter((v) => /[a-z]/.test(v) && /[A-Z]/.test(v) && /\d/.test(v))

describe("R5: generic_secret keeps values with markers (a placeholder row) and test-mode keys (real)", () => {
  it.prop("a test-mode prefix is a real key: critical, replaced", [fc.constantFrom("API_KEY", "MOLLIE_API_KEY", "PADDLE_API_TOKEN", "api_key", "access_token"), fc.constantFrom("test_", "sk_test_", "rzp_test_", "test-", "TEST_"), randomToken], ([k, p, t]) => {
    // (a Stripe-shaped key is the Stripe detector's, as real)
    const out = Detect.redact(`${k}=${p}${t}`, Detect.Policy.strict)
    expect(out.value).toBe(`${k}=${R}`)
    expect(out.findings.map((f) => [f.category.replace("stripe_key", "generic_secret"), f.severity, f.placeholder])).toEqual([["generic_secret", "critical", undefined]])
    expect(rows({ [k]: `${p}${t}` }).map((r) => r.replace("stripe_key", "generic_secret"))).toEqual(["generic_secret:critical"])
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("a marker word standing in the value makes a placeholder row, still replaced", [fc.constantFrom("API_TOKEN", "ACCESS_TOKEN", "api_key"), randomToken, fc.constantFrom("_example_", "_EXAMPLE", "-fake-", "_dummy_", "_sample_", "-placeholder-", "_changeme")], ([k, t, marker]) => {
    const text = `${k}=${t.slice(0, 10)}${marker}${t.slice(10)}`
    expect(redacted(text), text).toBe(`${k}=${R}`)
    expect(rows(text), text).toEqual(["generic_secret(placeholder):info"])
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("markers inside a random key without standing as a word (fAkE, XxXx, Sample after a letter) are no placeholder", [randomToken, fc.constantFrom("fAkE", "XxXx", "Sample", "tEsT", "xxxx")], ([t, w]) => {
    const text = `API_TOKEN=${t.slice(0, 10)}${w}${t.slice(10)}`
    expect(rows(text), text).toEqual(["generic_secret:critical"])
  }, { fastCheck: { numRuns: RUNS } })
})

// ---------------------------------------------------------------------------------------------
// R6: passphrases with spaces
// ---------------------------------------------------------------------------------------------

const wordList = ["correct", "horse", "battery", "staple", "tundra", "velvet", "ocean", "the", "new", "old", "purple", "monkey", "dishwasher", "river", "stone"]
const passphrase = fc.array(fc.constantFrom(...wordList), { minLength: 2, maxLength: 5 }).map((w) => w.join(" "))

describe("R6: a YAML plain scalar under a password key, and a passphrase key in any form, run to the end of the line or a comment", () => {
  it.prop("YAML key: value (indented, listed), the line's end or ' #' ends it", [fc.constantFrom("password", "db_password", "PASSWORD", "passphrase", "adminPassword"), passphrase, fc.constantFrom("", "  ", "    ", "- "), fc.constantFrom("", "  # rotated monthly", " #x")], ([k, v, indent, comment]) => {
    const text = `db:\n${indent}${k}: ${v}${comment}\n${indent}user: bob`
    expect(redacted(text), text).toBe(`db:\n${indent}${k}: ${R}${comment}\n${indent}user: bob`)
  }, { fastCheck: { numRuns: RUNS } })
  // (an env-style `PASSPHRASE=a b c` is one shell word and a command: test/detect-assignments-layouts.test.ts)
  it.prop("a *PASSPHRASE* key in INI, YAML-less and Go forms", [fc.constantFrom("PASSPHRASE", "ADMIN_PASSPHRASE", "gpg_passphrase", "KeyPassphrase"), passphrase, fc.constantFrom(" = ", ": ", " := ")], ([k, v, op]) => {
    expect(redacted(`${k}${op}${v}\nnext=1`)).toBe(`${k}${op}${R}\nnext=1`)
  }, { fastCheck: { numRuns: RUNS } })
  it("prose under a password key is still no value", () => {
    for (const s of ["password: must be at least 8 characters", "  password: please enter your password", "password: too short, try again", "password: cannot be empty"]) {
      expect(cats(s), s).toEqual([])
    }
  })
})

// ---------------------------------------------------------------------------------------------
// R9: human-chosen passwords and placeholders
// ---------------------------------------------------------------------------------------------

describe("R9: a password is a placeholder only when the whole value is one", () => {
  const human = fc
    .tuple(fc.constantFrom("Your", "Here", "Insert", "Mock", "todo", "fake", "Sample", "dummy", "Example"), fc.constantFrom("Company", "Comes", ".Coin.", "/Turtle#", "-later-", "Horse", "_Kx"), fc.integer({ min: 10, max: 9999 }), fc.constantFrom("!", "#", "", "?x"))
    .map(([a, b, n, c]) => `${a}${b}${n}${c}`)
  it.prop("words inside a password (password=, a URL's password, a field) leave it a real, critical finding", [human], ([v]) => {
    expect(rows(`password=${v}`), v).toEqual(["password:critical"])
    expect(rows({ password: v }), v).toEqual(["password:critical"])
    const url = v.replace(/[/?#@:]/g, "x")
    expect(rows(`postgres://app:${url}@db:5432/x`), url).toEqual(["url_credentials:critical"])
  }, { fastCheck: { numRuns: RUNS } })
  it("whole-value placeholders: templates, masks, names, changeme", () => {
    for (const v of ["<your-password>", "changeme", "password", "your_password_here", "${DB_PASSWORD}", "{{ db_password }}", "CHANGE_ME", "your-password", "example", "placeholder", "dummy_password", "<password>"]) {
      for (const s of [`password=${v}`, `postgres://app:${v}@db/x`]) {
        const r = rows(s)
        // some are no value at all (templates); what is found is a placeholder
        expect(r.every((x) => x.includes("(placeholder):info")), `${s}: ${r.join(",")}`).toBe(true)
      }
    }
    expect(rows("password=Qqqq2222wwww")).toEqual(["password:critical"])
  })
})

// ---------------------------------------------------------------------------------------------
// R10: code comparisons, pagination tokens, secret versions
// ---------------------------------------------------------------------------------------------

describe("R10: no finding on identifiers compared in code, pagination tokens or secret resource names", () => {
  it.prop("if password == other: / (password != other) / f(password == other,", [fc.constantFrom("password", "pwd", "new_password"), fc.constantFrom("confirm_password", "other", "self_pw", "repeat"), fc.constantFrom(["if ", ":"], ["if (", "):"], ["check(", ", x)"], ["while ", ":"], ["assert ", ","])], ([k, other, [a, b]]) => {
    const text = `${a}${k} == ${other}${b}`
    expect(cats(text), text).toEqual([])
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("page and sync tokens are no secrets", [fc.constantFrom("nextPageToken", "next_page_token", "page_token", "pageToken", "sync_token", "syncToken", "continuation_token", "cursor", "nextCursor", "resumeToken"), randomToken], ([k, t]) => {
    expect(cats(`{"${k}": "${t}"}`), k).toEqual([])
    expect(cats({ [k]: t }), k).toEqual([])
  }, { fastCheck: { numRuns: RUNS } })
  it("a secret manager's resource name is no secret", () => {
    for (const s of ["secret_version=projects/123/secrets/db/versions/latest", "secret: projects/my-proj/secrets/api-key", '{"secret_name": "prod/db/password"}']) expect(cats(s), s).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// R12: brackets opened before the key
// ---------------------------------------------------------------------------------------------

describe("R12: a bare value does not take a closing bracket opened before its key", () => {
  it.prop("(… password=v) {… password: v} [… token=v]", [fc.constantFrom("password", "pwd", "secret_key"), randomOf(B62 + "!#%*+", 8, 20).filter((v) => /\d/.test(v) && /[a-z]/.test(v) && !v.startsWith("!") && !WINDOWS_VARIABLE.test(v)), fc.constantFrom(["User(name=bob, ", ")"], ["{", "}"], ["[", "]"], ["g(f(", "))"], ["{x: 1, ", "}, next"])], ([k, v, [open, close]]) => {
    const text = `${open}${k}=${v}${close}`
    expect(redacted(text), text).toBe(`${open}${k}=${R}${close}`)
  }, { fastCheck: { numRuns: RUNS } })
  it("a bracket the value opened itself stays in it", () => {
    expect(redacted("password=Kx9!(Tr0ub4)")).toBe(`password=${R}`)
    expect(redacted("f(password=[Kx9]Tr0ub4)")).toBe(`f(password=${R})`)
    expect(redacted('{"password": 12345678}, next')).toBe(`{"password": ${R}}, next`)
  })
})

// ---------------------------------------------------------------------------------------------
// R17, R18: .netrc, other words, escapes, numbers and nested values
// ---------------------------------------------------------------------------------------------

/** (not starting with `!`, which starts a YAML tag: `!Ref x` is a reference) */
const pw = randomOf(B62 + "!#%*+", 8, 16).filter((v) => /\d/.test(v) && /[a-z]/.test(v) && /[A-Z]/.test(v) && !v.startsWith("!") && !WINDOWS_VARIABLE.test(v))

describe("R17, R18: .netrc, pw/psw, other languages, doubly escaped JSON, numeric and nested passwords", () => {
  it.prop(".netrc on one line or several", [fc.constantFrom("api.example.com", "github.com", "db.internal"), fc.constantFrom("bob", "deploy", "x@y.z"), pw, fc.constantFrom(" ", "\n  ", "\n")], ([host, user, p, sep]) => {
    const text = `machine ${host}${sep}login ${user}${sep}password ${p}\n`
    expect((redacted(text) as string).includes(p), text).toBe(false)
    expect(redacted(text)).toBe(`machine ${host}${sep}login ${user}${sep}password ${R}\n`.replace(user, redacted(user) as string))
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("pw, psw and the word for password in European languages", [fc.constantFrom("pw", "psw", "PW", "DB_PW", "Passwort", "Kennwort", "contraseña", "Contrasena", "mot de passe", "Mot_de_passe", "senha", "wachtwoord", "hasło", "haslo", "lösenord", "losenord", "contrasenya"), pw, fc.constantFrom("=", ": ", " = ")], ([k, p, op]) => {
    expect(redacted(`${k}${op}${p}`), `${k}${op}${p}`).toBe(`${k}${op}${R}`)
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("JSON escaped once, twice, three times", [pw, fc.constantFrom(1, 2, 3)], ([p, levels]) => {
    let text = JSON.stringify({ password: p, user: "bob" })
    for (let i = 1; i < levels; i++) text = JSON.stringify(text).slice(1, -1)
    expect((redacted(text) as string).includes(p), text).toBe(false)
    expect((redacted(text) as string).includes("bob"), text).toBe(true)
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("a number of any length from 4 digits under a password key in an object", [fc.integer({ min: 1000, max: 99_999_999 }).filter((n) => !/^(\d)\1+$/.test(String(n))), fc.constantFrom("password", "pin_password", "DB_PASSWORD", "passcode")], ([n, k]) => {
    expect(redacted({ [k]: n, id: n })).toEqual({ [k]: R, id: n })
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("a value nested under a password key in a wrapper (value, S, plaintext …)", [pw, fc.constantFrom("password", "db_password", "adminPassword"), fc.constantFrom("value", "S", "plaintext", "Value", "secret_string")], ([p, k, w]) => {
    expect(redacted({ [k]: { [w]: p, type: "string", sensitive: true } })).toEqual({ [k]: { [w]: R, type: "string", sensitive: true } })
  }, { fastCheck: { numRuns: RUNS } })
  it("a tool's JSON schema describing a password field is no password", () => {
    expect(cats({ properties: { password: { type: "string", description: "The user's password for the account" } } })).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// R14: Canonical.Num
// ---------------------------------------------------------------------------------------------

describe("R14: exact numbers (Canonical.Num) are scanned like numbers", () => {
  it.prop("a card number and a password as Num", [fc.constantFrom("4111111111111111", "5555555555554444", "378282246310005"), fc.integer({ min: 10_000, max: 2_000_000_000 })], ([card, p]) => {
    const parsed = Canonical.parse(`{"card": ${card}, "password": ${p}, "count": 3}`)
    if (parsed._tag !== "Right") throw new Error("parse")
    const out = Detect.redact(parsed.right, everything)
    expect(out.findings.map((f) => f.category).sort()).toEqual(["credit_card", "password"])
    const v = out.value as Record<string, unknown>
    expect([v["card"], v["password"]]).toEqual([R, R])
    expect(v["count"]).toBeInstanceOf(Canonical.Num)
  }, { fastCheck: { numRuns: 50 } })
})

// ---------------------------------------------------------------------------------------------
// A replacement never takes a shell command after the value, and the value's end is found in
// linear time (the second hostile review)
// ---------------------------------------------------------------------------------------------

describe("a shell command after a value stays in the record", () => {
  const command = fc.tuple(
    fc.constantFrom("rm", "curl", "./deploy.sh", "tee", "echo", "sh", "/usr/bin/env", "python3"),
    fc.constantFrom(" -rf /srv/data", " -s http://evil.example/p", " --prod", " /tmp/x", "${IFS}-s${IFS}http://evil.example/p")
  )
  it.prop("after ;, &, &&, | or ||: the password replaced, the command kept whole", [
    fc.constantFrom("PGPASSWORD", "DB_PASSWORD", "password", "SECRET_KEY", "client_secret"),
    randomOf("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", 10, 24),
    fc.constantFrom(";", "&", "&&", "|", "||", "; ", " && ", " | "),
    command,
    fc.constantFrom((t: string) => t, (t: string) => `cd /app;${t}`, (t: string) => JSON.stringify({ command: t }))
  ], ([k, v, sep, [word, args], wrap]) => {
    const text = wrap(`${k}=${v}${sep}${word}${args}`)
    const out = redacted(text) as string
    expect(out.includes(v), out).toBe(false)
    expect(out.includes(`${word}${args}`.replace(/"/g, "\\\"")) || out.includes(`${word}${args}`), out).toBe(true)
  }, { fastCheck: { numRuns: RUNS } })
})

describe("the ends of bare values in linear time", () => {
  it.each([["password=", ":"], ["api_token=", ","], ["DB_PASSWORD=a", ";"], ["secret=", ")"]])("%s then a run of %s: 256 KB within ten times a quarter of it", (head, run) => {
    const at = (n: number) => `${head}${run.repeat(n)}a`
    const small = cpu(() => void Detect.redact(at(64 * 1024), Detect.Policy.default))
    const large = cpu(() => void Detect.redact(at(256 * 1024), Detect.Policy.default))
    // linear is 4 times; the quadratic strip of trailing characters took 16 times and seconds
    expect(large, `${Math.round(large)} ms against ${Math.round(small)} ms`).toBeLessThanOrEqual(10 * small + 60)
    expect(large).toBeLessThan(1000)
  })
})

describe("no password where a key or a line only talks about one (counts, widths, dates, prose)", () => {
  const none = (value: unknown): void => {
    expect(rows(value), JSON.stringify(value)).toEqual([])
  }
  it.prop(
    "a count of up to five digits under a bare pass/pw key: object and text",
    [fc.integer({ min: 0, max: 99999 }), fc.integer({ min: 0, max: 999 }), fc.constantFrom("pass", "Pass", "PASS", "pw", "psw")],
    ([n, m, k]) => {
      none({ [k]: n, fail: m, skip: 3 })
      none(`{"${k}":${n},"fail":${m},"skip":10}`)
      none(`${k}: ${n}\nfail: ${m}`)
      none(`${k} = ${n}`)
    },
    { fastCheck: { numRuns: RUNS } }
  )
  it.prop(
    "six digits or more under such a key, and any number under a full password key, stay passwords",
    [fc.integer({ min: 100000, max: 99999999 }).filter((n) => !/^(\d)\1+$/.test(String(n))), fc.constantFrom("pass", "pw", "password", "PIN_password")],
    ([n, k]) => {
      expect(rows({ [k]: n })).toContain("password:critical")
      expect(rows(`${k}=${n}`)).toContain("password:critical")
    },
    { fastCheck: { numRuns: RUNS } }
  )
  it.prop(
    "a snake_case variable under a bare pass/pw key is code",
    [fc.constantFrom("pw", "pass", "psw"), fc.constantFrom("padding_width", "page_width", "pixel_width", "prev_word")],
    ([k, v]) => {
      none(`${k} = ${v}`)
    },
    { fastCheck: { numRuns: 40 } }
  )
  const tails = ["LastUsed", "_last_used", "_expiry_days", "ExpiryDays", "_updated_on", "_changed_on", "_age_days", "_rotated_at", "LastChanged", "_set_on", "_valid_until", "_hours", "_attempts", "_created"]
  it.prop(
    "a key whose last word is a time, date or count is about a password",
    [fc.constantFrom("Password", "password", "pwd", "Passwd", "PASSWORD"), fc.constantFrom(...tails), fc.constantFrom("2024-05-01T12:00:00Z", "2024-05-01", 3650, "1714565432")],
    ([w, t, v]) => {
      none({ UserName: "bob", [w + t]: v })
      none(`${w}${t}=${v}`)
    },
    { fastCheck: { numRuns: RUNS } }
  )
  it.each([
    "After login attempts, password reset emails were sent.",
    "Wrong login or password entered",
    "SSH login root password authentication failed for user",
    "Use the login screen password field to sign in",
    "the login form password handling changed"
  ])(".netrc needs its shape: %s", (s) => none(s))
  it.each(["machine db.example.com login bob password Kx9mQ2zzP", "machine h\n  login bob\n  password Kx9mQ2zzP", "login bob password Kx9mQ2zzP", "default login bob password Kx9mQ2zzP"])(
    ".netrc entries still found: %s",
    (s) => expect(redacted(s)).toBe(s.replace("Kx9mQ2zzP", R))
  )
  const prose = ["updated successfully for user bob", "set via environment variable", "The database password used by the service", "changed by admin at 10:42", "reset for all users", "stored in the vault"]
  it.prop(
    "the line form on log and documentation lines",
    [fc.constantFrom("Password", "password", "  password", "db_password", "- password"), fc.constantFrom(...prose)],
    ([k, p]) => {
      none(`${k}: ${p}`)
    },
    { fastCheck: { numRuns: RUNS } }
  )
  it.each(["password: correct horse battery staple", "password: tundra velvet ocean", "password: Kx9 mQ2 zzP"])("line-form passphrases still found: %s", (s) =>
    expect(redacted(s)).toBe(s.replace(/: .*/, ": " + R))
  )
})

describe("a key whose last word is key (*_KEY, *Key, *-Key) holds a secret when its value is generated", () => {
  const B62 = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
  const b62 = randomOf(B62, 24, 48).filter((v) => /[a-z]/.test(v) && /[A-Z]/.test(v) && /\d/.test(v))
  const names = ["DD_APP_KEY", "ALGOLIA_ADMIN_KEY", "NEW_RELIC_LICENSE_KEY", "RAILS_MASTER_KEY", "ENCRYPTION_KEY", "JWT_SIGNING_KEY", "MAILGUN_KEY", "PAGERDUTY_ROUTING_KEY", "appKey", "licenseKey", "masterKey", "Ocp-Apim-Subscription-Key", "encryption.key", "signing-key", "SESSION_KEY"]
  const keyForms: ReadonlyArray<(k: string, v: string) => string> = [
    (k, v) => `${k}=${v}`,
    (k, v) => `export ${k}="${v}"`,
    (k, v) => `  ${k}: ${v}`,
    (k, v) => `{"${k}": "${v}", "n": 1}`,
    (k, v) => `${k}: ${v}`
  ]
  it.prop("as text: the value replaced", [fc.constantFrom(...names), fc.oneof(hex(32, 64), b62, uuid4), fc.nat(keyForms.length - 1)], ([k, v, i]) => {
    const text = keyForms[i]!(k, v)
    expect(redacted(text), text).toBe(keyForms[i]!(k, R))
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("as a field of an object", [fc.constantFrom(...names), fc.oneof(hex(32, 64), b62)], ([k, v]) => {
    expect(redacted({ [k]: v, n: 1 }), k).toEqual({ [k]: R, n: 1 })
    expect(rows({ [k]: v })).toEqual(["generic_secret:critical"])
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("Laravel's APP_KEY=base64:… keeps its prefix", [b62], ([v]) => {
    expect(redacted(`APP_KEY=base64:${v}=`)).toBe(`APP_KEY=base64:${R}`)
  }, { fastCheck: { numRuns: 50 } })
  const notSecret = ["key", "Key", "KEY", "api_key_id", "access_key_id", "ENCRYPTION_KEY_ID", "hash_key", "cache_key", "public_key", "sort_key", "primary_key", "foreign_key", "partition_key", "PartitionKey", "RowKey", "object_key", "s3_key", "idempotency_key", "monkey", "keyboard", "hotkey", "turkey", "keys", "KEY_NAME"]
  it.prop("not a lone key, an id of a key, a hash, cache, public, sort, primary, foreign, partition or object key, nor a word ending in key", [fc.constantFrom(...notSecret), fc.oneof(hex(32, 64), b62), fc.nat(keyForms.length - 1)], ([k, v, i]) => {
    const text = keyForms[i]!(k, v)
    expect(rows(text), text).toEqual([])
    expect(rows({ [k]: v }), k).toEqual([])
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("words, paths and short values under such a key stay", [fc.constantFrom(...names), fc.constantFrom("my-service-name", "orders.created", "uploads/2024/05/report.pdf", "abc123", "true", "${APP_KEY}", "<your-key>")], ([k, v]) => {
    expect(rows(`${k}=${v}`), `${k}=${v}`).toEqual(expect.not.arrayContaining(["generic_secret:critical"]))
  }, { fastCheck: { numRuns: 60 } })
})

describe("an unquoted value of several words after = at a line start runs to the end of the line (INI, .properties; an env-style KEY=v is one shell word)", () => {
  const words = ["tundra", "velvet", "ocean", "correct", "horse", "battery", "staple", "Kx9", "mQ2", "zz!P", "river", "stone"]
  const phrase = fc.array(fc.constantFrom(...words), { minLength: 2, maxLength: 5 }).map((a) => a.join(" "))
  const eqForms: ReadonlyArray<(k: string, v: string) => string> = [
    (k, v) => `${k.toUpperCase()} = ${v}`,
    (k, v) => `[db]\n${k} = ${v}\nuser = bob`,
    (k, v) => `spring.datasource.${k}=${v}`,
    (k, v) => `host = db\n${k} = ${v}\nport = 5432`
  ]
  it.prop("the whole phrase replaced, the next line kept", [fc.constantFrom("password", "db_password", "passwd", "smtp_pass"), phrase, fc.nat(eqForms.length - 1)], ([k, v, i]) => {
    const text = eqForms[i]!(k, v)
    expect(redacted(text), text).toBe(eqForms[i]!(k, R))
  }, { fastCheck: { numRuns: RUNS } })
  it.each([
    ["PGPASSWORD=Kx9mQ2zzP psql -h db -U bob", "PGPASSWORD=<redacted> psql -h db -U bob"],
    ["DB_PASSWORD=Kx9mQ2zzP npm start", "DB_PASSWORD=<redacted> npm start"],
    ["MYSQL_PWD=Kx9mQ2zzP mysql -u root", "MYSQL_PWD=<redacted> mysql -u root"],
    ["PASSWORD=Kx9mQ2zzP ./deploy.sh --prod", "PASSWORD=<redacted> ./deploy.sh --prod"]
  ])("an env prefix before a command keeps the command: %s", (text, out) => {
    expect(redacted(text)).toBe(out)
  })
  it.each(["password = set via environment variable", "DB_PASSWORD=updated successfully for user bob"])("prose stays prose: %s", (s) => {
    expect(rows(s)).toEqual([])
  })
})

describe("a {name, value} pair is judged by its name (container env, SSM parameters, CloudFormation, Postman headers)", () => {
  const B62 = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
  const b62 = randomOf(B62, 24, 40).filter((v) => /[a-z]/.test(v) && /[A-Z]/.test(v) && /\d/.test(v))
  // (not starting with a symbol: `!Ref`-like tags and `%s`-like templates are no value)
  const pw = randomOf(B62 + "!#%*", 9, 16).filter((v) => /^[A-Za-z0-9]/.test(v) && /[a-z]/.test(v) && /[A-Z]/.test(v) && /\d/.test(v))
  const shapes: ReadonlyArray<readonly [string, string]> = [["name", "value"], ["Name", "Value"], ["ParameterKey", "ParameterValue"], ["key", "value"], ["keyName", "value"]]
  it.prop("a password or a secret under its sibling's name is redacted, the name kept", [fc.constantFrom(...shapes), fc.constantFrom("DB_PASSWORD", "/prod/db/password", "DBPassword", "API_TOKEN", "X-Api-Key", "client_secret"), pw, b62], ([[n, val], name, p, s]) => {
    const v = /pass/i.test(name) ? p : s
    const input = { env: [{ [n]: name, [val]: v }, { [n]: "LOG_LEVEL", [val]: "debug" }] }
    expect(redacted(input), JSON.stringify(input)).toEqual({ env: [{ [n]: name, [val]: R }, { [n]: "LOG_LEVEL", [val]: "debug" }] })
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("a value whose sibling names no secret stays", [fc.constantFrom(...shapes), fc.constantFrom("LOG_LEVEL", "region", "PORT", "password_min_length"), pw], ([[n, val], name, v]) => {
    expect(rows({ [n]: name, [val]: v })).toEqual([])
  }, { fastCheck: { numRuns: 60 } })
})

describe("a {name, value} pair written as text (JSON, YAML) is judged by its name", () => {
  const B62 = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
  const pw = randomOf(B62, 9, 16).filter((v) => /[a-z]/.test(v) && /[A-Z]/.test(v) && /\d/.test(v))
  const forms: ReadonlyArray<(n: string, v: string) => string> = [
    (n, v) => `{"env":[{"name":"${n}","value":"${v}"},{"name":"LOG_LEVEL","value":"debug"}]}`,
    (n, v) => `{"Name": "${n}", "Type": "SecureString", "Value": "${v}"}`,
    (n, v) => `[{"ParameterKey": "${n}", "ParameterValue": "${v}"}]`,
    (n, v) => `env:\n  - name: ${n}\n    value: ${v}\n  - name: LOG_LEVEL\n    value: debug\n`
  ]
  it.prop("the value replaced, the rest kept", [fc.constantFrom("DB_PASSWORD", "/prod/db/password", "DBPassword", "SMTP_PASS"), pw, fc.nat(forms.length - 1)], ([n, v, i]) => {
    const text = forms[i]!(n, v)
    expect(redacted(text), text).toBe(forms[i]!(n, R))
  }, { fastCheck: { numRuns: RUNS } })
  it.each([`{"name":"password_min_length","value":"12345678"}`, `- name: DB_PASSWORD_FILE\n  value: /run/secrets/db`])("no finding on a pair about a password: %s", (s) => {
    expect(rows(s)).toEqual([])
  })
})
