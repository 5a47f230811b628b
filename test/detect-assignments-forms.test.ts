/**
 * More forms a password or a secret is given in (issue 15, point 1: the engine in general, not case
 * by case): Python auth tuples and auth helpers, two-element header arrays and name/value pairs,
 * YAML block scalars, values that start with punctuation, keywords inside base64, and masks made of
 * one repeated digit. Generated cases: keys, users, values and layouts are drawn, never one repro
 * string. Each pattern added for these forms gets its adversarial shapes here, timed for linear
 * growth the way `test/harness/redos.test.ts` times every detector.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as Detect from "../src/Detect.js"
import { assignments } from "../src/internal/assignments.js"
import { cpuBest as cpu, randomOf } from "./helpers.js"

const R = Detect.REPLACEMENT
const RUNS = Number(process.env["PROP_RUNS"] ?? 150)
const everything: Detect.Policy = { name: "everything", default: "redact" }
const redacted = (value: unknown) => Detect.redact(value, everything).value
const rows = (value: unknown) => Detect.scan(value, Detect.Policy.strict).map((f) => `${f.category}${f.placeholder === true ? "(placeholder)" : ""}:${f.severity}`)
const cats = (value: unknown) => Detect.scan(value, Detect.Policy.flagOnly).map((f) => f.category)

const B62 = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
/**
 * A password as people write one: letters, digits and the punctuation passwords hold, with a lower
 * and an upper letter and a digit; no quote or backslash (the quoted forms hold it), no whitespace,
 * and not an e-mail address or a phone number (found by their own detectors anywhere).
 */
const pw = fc
  .tuple(randomOf(B62 + "!#%*+-.@^_~=?/:", 6, 24), fc.constantFrom("a", "k", "z"), fc.constantFrom("Q", "M"), fc.constantFrom("7", "3"))
  .map(([body, l, u, d]) => `${l}${body}${u}${d}`)
  .filter((v) => !/@[A-Za-z0-9.-]*\.[A-Za-z]{2}/.test(v) && !/\d{7}/.test(v))
/** a user name */
const user = fc.tuple(fc.constantFrom("bob", "alice", "admin", "svc-deploy", "api_user", "u", "root", "j.doe"), fc.constantFrom("", "2", "_ci")).map(([a, b]) => a + b)
/** a generated token (an API key, a bearer token): 24 to 40 random characters */
const token = randomOf(B62, 24, 40).filter((t) => /[a-z]/.test(t) && /[A-Z]/.test(t) && /\d/.test(t))
const quotes = fc.constantFrom('"', "'")

// ---------------------------------------------------------------------------------------------
// 1. Python auth tuples and auth helpers
// ---------------------------------------------------------------------------------------------

describe("a password in an auth tuple or an auth helper's call: the password replaced, the user kept", () => {
  const names = ["auth", "AUTH", "basic_auth", "http_auth", "proxy_auth", "basicAuth", "credentials", "db_credentials", "creds", "auth_tuple"]
  const tupleForms: ReadonlyArray<(n: string, u: string, p: string, q: string) => { text: string; out: string }> = [
    (n, u, p, q) => ({ text: `${n}=(${q}${u}${q}, ${q}${p}${q})`, out: `${n}=(${q}${u}${q}, ${q}${R}${q})` }),
    (n, u, p, q) => ({ text: `${n} = (${q}${u}${q}, ${q}${p}${q})\nnext = 1`, out: `${n} = (${q}${u}${q}, ${q}${R}${q})\nnext = 1` }),
    (n, u, p, q) => ({ text: `r = requests.get(url, ${n}=(${q}${u}${q},${q}${p}${q}), timeout=5)`, out: `r = requests.get(url, ${n}=(${q}${u}${q},${q}${R}${q}), timeout=5)` }),
    (n, u, p, q) => ({ text: `${n} = [${q}${u}${q}, ${q}${p}${q}]`, out: `${n} = [${q}${u}${q}, ${q}${R}${q}]` }),
    (n, u, p, q) => ({ text: `{${q}${n}${q}: (${q}${u}${q}, ${q}${p}${q}), ${q}verify${q}: False}`, out: `{${q}${n}${q}: (${q}${u}${q}, ${q}${R}${q}), ${q}verify${q}: False}` }),
    (n, u, p, q) => ({ text: `${n}=(os.environ[${q}USER${q}], ${q}${p}${q})`, out: `${n}=(os.environ[${q}USER${q}], ${q}${R}${q})` })
  ]
  it.prop("(user, password) assigned to an auth or credentials name, as a tuple, a list or a keyword argument", [fc.constantFrom(...names), user, pw, quotes, fc.nat(tupleForms.length - 1)], ([n, u, p, q, i]) => {
    const { text, out } = tupleForms[i]!(n, u, p, q)
    expect(redacted(text), text).toBe(out)
    expect(rows(text), text).toContain("password:critical")
  }, { fastCheck: { numRuns: RUNS } })

  const helpers = ["HTTPBasicAuth", "HTTPDigestAuth", "HTTPProxyAuth", "requests.auth.HTTPBasicAuth", "aiohttp.BasicAuth", "httpx.BasicAuth", "httpx.DigestAuth", "BasicAuth", "HttpNtlmAuth"]
  it.prop("an auth helper's call: HTTPBasicAuth(u, p), HTTPDigestAuth, aiohttp.BasicAuth, httpx.BasicAuth", [fc.constantFrom(...helpers), fc.oneof(user.map((u) => ({ u, literal: true })), fc.constantFrom("username", "cfg.user", "os.environ['U']").map((u) => ({ u, literal: false }))), pw, quotes, fc.constantFrom((c: string) => c, (c: string) => `session.auth = ${c}`, (c: string) => `requests.get(url, auth=${c})`, (c: string) => `async with aiohttp.ClientSession(auth=${c}) as s:`)], ([h, { u, literal }, p, q, wrap]) => {
    const who = literal ? `${q}${u}${q}` : u
    const text = wrap(`${h}(${who}, ${q}${p}${q})`)
    expect(redacted(text), text).toBe(wrap(`${h}(${who}, ${q}${R}${q})`))
  }, { fastCheck: { numRuns: RUNS } })

  it.prop("an obvious placeholder in an auth tuple is still replaced, as a placeholder row", [fc.constantFrom("auth", "HTTPBasicAuth"), fc.constantFrom("p", "pw", "pass", "password", "changeme", "xxxx")], ([n, p]) => {
    const text = n === "auth" ? `auth = ('user', '${p}')` : `${n}("user", "${p}")`
    expect(redacted(text), text).not.toContain(`'${p}'`)
    expect(redacted(text), text).not.toContain(`"${p}"`)
    expect(rows(text), text).toEqual(["password(placeholder):info"])
  }, { fastCheck: { numRuns: 30 } })

  it("no finding on tuples that are no credentials: field lists, authors, variables, three elements", () => {
    for (const text of [
      `auth_methods = ("password", "publickey")`,
      `AUTH_TYPES = ["basic", "digest"]`,
      `authors = ("Jane Doe", "John Roe")`,
      `author = ("Jane", "Doe")`,
      `auth = (user, password)`,
      `auth = HTTPBasicAuth(username, password)`,
      `credentials = ("a", "b", "c")`,
      `auth = ("Bearer", token)`,
      `authority = ("example.com", "443")`
    ]) expect(cats(text), text).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// 2. two-element header arrays and pairs
// ---------------------------------------------------------------------------------------------

describe("a two-element pair (a header array, a form field tuple) is judged by its first element", () => {
  const secretNames = ["X-Api-Key", "x-api-key", "X-Auth-Token", "api_key", "API_TOKEN", "client_secret", "Private-Token", "access_token"]
  const passwordNames = ["password", "Password", "DB_PASSWORD", "passwd", "db_pass"]
  const pairForms: ReadonlyArray<(n: string, v: string, q: string) => { text: string; out: string }> = [
    (n, v, q) => ({ text: `[${q}${n}${q}, ${q}${v}${q}]`, out: `[${q}${n}${q}, ${q}${R}${q}]` }),
    (n, v, q) => ({ text: `headers = [(${q}${n}${q}, ${q}${v}${q}), (${q}Accept${q}, ${q}*/*${q})]`, out: `headers = [(${q}${n}${q}, ${q}${R}${q}), (${q}Accept${q}, ${q}*/*${q})]` }),
    (n, v, q) => ({ text: `req.setHeader(${q}${n}${q}, ${q}${v}${q});`, out: `req.setHeader(${q}${n}${q}, ${q}${R}${q});` }),
    (n, v, q) => ({ text: `data = [[${q}user${q}, ${q}bob${q}], [${q}${n}${q}, ${q}${v}${q}]]`, out: `data = [[${q}user${q}, ${q}bob${q}], [${q}${n}${q}, ${q}${R}${q}]]` }),
    (n, v, q) => ({ text: `new Headers([[${q}${n}${q},${q}${v}${q}]])`, out: `new Headers([[${q}${n}${q},${q}${R}${q}]])` })
  ]
  it.prop("a secret's name and a generated token", [fc.constantFrom(...secretNames), token, quotes, fc.nat(pairForms.length - 1)], ([n, v, q, i]) => {
    const { text, out } = pairForms[i]!(n, v, q)
    expect(redacted(text), text).toBe(out)
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("a password's name and a password", [fc.constantFrom(...passwordNames), pw, quotes, fc.nat(pairForms.length - 1)], ([n, v, q, i]) => {
    const { text, out } = pairForms[i]!(n, v, q)
    expect(redacted(text), text).toBe(out)
    expect(rows(text), text).toContain("password:critical")
  }, { fastCheck: { numRuns: RUNS } })

  const nameValue: ReadonlyArray<(n: string, v: string) => { text: string; out: string }> = [
    (n, v) => ({ text: `{"name":"${n}","value":"${v}"}`, out: `{"name":"${n}","value":"${R}"}` }),
    (n, v) => ({ text: `{"key": "${n}", "value": "${v}", "type": "text"}`, out: `{"key": "${n}", "value": "${R}", "type": "text"}` }),
    (n, v) => ({ text: `{"Name": "${n}", "Type": "SecureString", "Value": "${v}"}`, out: `{"Name": "${n}", "Type": "SecureString", "Value": "${R}"}` }),
    (n, v) => ({ text: `{"ParameterKey":"${n}","ParameterValue":"${v}"}`, out: `{"ParameterKey":"${n}","ParameterValue":"${R}"}` }),
    (n, v) => ({ text: `env:\n  - name: ${n}\n    value: ${v}\n  - name: LOG_LEVEL`, out: `env:\n  - name: ${n}\n    value: ${R}\n  - name: LOG_LEVEL` })
  ]
  it.prop("{name, value} written as text, for secret and token names (JSON, SSM, CloudFormation, Postman, YAML)", [fc.constantFrom(...secretNames), token, fc.nat(nameValue.length - 1)], ([n, v, i]) => {
    const { text, out } = nameValue[i]!(n, v)
    expect(redacted(text), text).toBe(out)
    expect(rows(text), text).toContain("generic_secret:critical")
  }, { fastCheck: { numRuns: RUNS } })

  it("no finding on lists of field names, public or page tokens, or a pair whose value is a word", () => {
    for (const text of [
      `fields = ["username", "password"]`,
      `read_only_fields = ("password", "last_login")`,
      `exclude = ["password", "password_confirmation"]`,
      `["password", "email"]`,
      `("Authorization", token)`,
      `["api_key", "header"]`,
      `{"name":"API_TOKEN","value":"enabled"}`,
      `{"name":"page_token","value":"Zq8vLm2pRtx93jdLq0aWeC7hN4bY1uK"}`,
      `["publishable_key", "Zq8vLm2pRtx93jdLq0aWeC7hN4bY1uK"]`,
      `parser.add_argument("--db-password", "--dbpass")`,
      `_("Password", "Enter your password")`,
      `config.get("auth", "password")`
    ]) expect(cats(text), text).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// 3. YAML block scalars
// ---------------------------------------------------------------------------------------------

describe("a YAML block scalar under a password or secret key: its lines replaced, nothing after the block", () => {
  const indicator = fc.constantFrom("|", "|-", "|+", ">", ">-", "|2", ">+")
  const lines = fc.array(pw, { minLength: 1, maxLength: 3 })
  it.prop("password: | (any indicator, any indentation): the indented lines replaced, the next key kept", [
    fc.constantFrom("password", "db_password", "PASSWORD", "adminPassword", "client_secret", "secret_key", "SECRET"),
    indicator,
    fc.constantFrom("", "  ", "    ", "- "),
    fc.constantFrom("  ", "    ", "\t"),
    lines,
    fc.constantFrom("", " # rotated")
  ], ([k, ind, outer, step, ls, comment]) => {
    const base = outer === "- " ? "  " : outer
    const body = ls.map((l) => `${base}${step}${l}`).join("\n")
    const next = `${base}user: bob\nother: 1`
    const text = `root:\n${outer}${k}: ${ind}${comment}\n${body}\n${next}`
    const out = `root:\n${outer}${k}: ${ind}${comment}\n${base}${step}${R}\n${next}`
    expect(redacted(text), text).toBe(out)
  }, { fastCheck: { numRuns: RUNS } })

  it.prop("two blocks at the same level: both replaced; a blank line inside a block belongs to it", [pw, pw], ([a, b]) => {
    const text = `db:\n  password: |\n    ${a}\n\n    ${b}\n  replica_password: >-\n    ${b}\n  port: 5432\n`
    expect(redacted(text), text).toBe(`db:\n  password: |\n    ${R}\n  replica_password: >-\n    ${R}\n  port: 5432\n`)
  }, { fastCheck: { numRuns: RUNS } })

  it("an empty block, a block of a message or a template, and a key about a password: no finding", () => {
    for (const text of [
      "password: |\nuser: bob",
      "password: |\n  {{ .Values.db.password }}\nuser: bob",
      "password_policy: |\n  Must be 12 characters\n  with a digit\n",
      "password: >\n  The password is required\nnext: 1",
      "  password: |\nuser: Kx9mQ2zzP7a"
    ]) expect(cats(text), text).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// 4. a password that starts with punctuation
// ---------------------------------------------------------------------------------------------

describe("a password that starts with punctuation is a password", () => {
  /** the first characters a password may have that no reference starts with in that place */
  const lead = fc.constantFrom("!", "!!x", "#", "@", "&", "*", "^", "~", "+", "-", "?", ".", "(", "$2y$", "%", "/")
  const forms: ReadonlyArray<(k: string, v: string) => { text: string; out: string }> = [
    (k, v) => ({ text: `${k}=${v}\nnext`, out: `${k}=${R}\nnext` }),
    (k, v) => ({ text: `${k} = "${v}"`, out: `${k} = "${R}"` }),
    (k, v) => ({ text: `{"${k}": "${v}", "user": "bob"}`, out: `{"${k}": "${R}", "user": "bob"}` })
  ]
  it.prop("after = and in quotes: !, #, @, &, *, ^, ~, +, -, ?, ., (, $2y$, %, / then the rest", [fc.constantFrom("password", "DB_PASSWORD", "passwd"), lead, randomOf(B62, 8, 20).filter((v) => /\d/.test(v) && /[a-z]/.test(v) && /[A-Z]/.test(v)), fc.nat(forms.length - 1)], ([k, l, rest, i]) => {
    // (a bare value ends at a quote and `-`/`+`/`.`… joined to the key read as an operator: `password=-x`
    // is a bare value starting with `-`, kept in the property)
    const v = l + rest
    const { text, out } = forms[i]!(k, v)
    expect(redacted(text), text).toBe(out)
    expect(redacted({ [k]: v }), v).toEqual({ [k]: R })
  }, { fastCheck: { numRuns: RUNS } })

  it("a YAML tag (!Ref, !Sub, !secret, !vault, !!str), a variable ($DB_PASSWORD, $dbPassword) and a multi-segment path stay references", () => {
    for (const text of [
      "password: !Ref DbPassword",
      "password: !Sub '${Pw}'",
      "password: !secret db_password",
      "password: !vault |",
      "password: !!str",
      "password=$DB_PASSWORD",
      "password=$dbPassword",
      "password: /run/secrets/db_password"
    ]) expect(cats(text), text).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// 5. a keyword inside a base64 run is no key
// ---------------------------------------------------------------------------------------------

describe("a password keyword spelled inside a base64 run is no key", () => {
  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  /** base64 of random bytes holding pwd, pass, pw or psw in any case, padded */
  const withKeyword = fc.tuple(randomOf(B64, 4, 40), fc.constantFrom("pwd", "Pwd", "PWD", "pWd", "pass", "Pass", "psw", "pw"), randomOf(B64.slice(0, 62), 1, 24)).map(([a, k, b]) => {
    const run = a + k + b
    const pad = (4 - (run.length % 4)) % 4
    // a run that ends in one or two `=`: the padding, read as the operator of an assignment
    return run + "=".repeat(pad === 0 ? 2 : pad === 3 ? 1 : pad)
  }).filter((r) => (r.length % 4 === 0))
  const contexts: ReadonlyArray<(b: string) => string> = [
    (b) => `curl -H "Authorization: Basic ${b}" https://api.example.com/v1/items`,
    (b) => `data: ${b} next_token_here`,
    (b) => `{"blob": "${b}", "note": "kept text here"}`,
    (b) => `sig=${b} and more words`
  ]
  it.prop("the text after the run is never replaced as its value", [withKeyword, fc.nat(contexts.length - 1)], ([b, i]) => {
    const text = contexts[i]!(b)
    const out = redacted(text) as string
    expect(out.includes("next_token_here") || !text.includes("next_token_here"), out).toBe(true)
    expect(out.includes("kept text here") || !text.includes("kept text here"), out).toBe(true)
    expect(out.includes("https://api.example.com/v1/items") || !text.includes("https://"), out).toBe(true)
    expect(out.includes("and more words") || !text.includes("and more words"), out).toBe(true)
    expect(Detect.scan(text, Detect.Policy.flagOnly).some((f) => f.category === "password"), text).toBe(false)
  }, { fastCheck: { numRuns: RUNS } })

  it("a key that only looks like base64 is still a key when its value follows it", () => {
    expect(redacted("MyDbPwd2ForProd=Kx9mQ2zzP")).toBe(`MyDbPwd2ForProd=${R}`)
    expect(redacted("Pwd=Kx9mQ2zzP")).toBe(`Pwd=${R}`)
    expect(redacted('password="Kx9mQ2zzP"')).toBe(`password="${R}"`)
    // (a multiple of four long, mixed case: the quote after = opens the value)
    expect(redacted('currentPassword="Kx9mQ2zzP"')).toBe(`currentPassword="${R}"`)
    expect(redacted("newPassword='Kx9mQ2zzP'")).toBe(`newPassword='${R}'`)
    expect(redacted('{"userPassword":"Kx9mQ2zzP"}')).toBe(`{"userPassword":"${R}"}`)
  })
})

describe("a URL's host holding a keyword is no key", () => {
  it.prop("scheme://host:port/path: no password or secret finding", [
    fc.constantFrom("http", "https", "ftp", "ssh", "git+ssh", "s3", "api"),
    fc.constantFrom("pwd", "password", "pass", "secret", "token", "api-key", "8key", "db-pass"),
    fc.constantFrom("", ".example.com", ".a", ".internal.corp", "-svc"),
    fc.integer({ min: 1, max: 65535 }),
    fc.constantFrom("", "/x", "/v1/items", "/path/to/thing?q=1"),
    fc.constantFrom((u: string) => `curl -s ${u}`, (u: string) => `endpoint: ${u}`, (u: string) => `{"url": "${u}"}`, (u: string) => `see ${u}.`)
  ], ([scheme, word, rest, port, path, wrap]) => {
    const text = wrap(`${scheme}://${word}${rest}:${port}${path}`)
    expect(cats(text).filter((c) => c === "password" || c === "generic_secret"), text).toEqual([])
  }, { fastCheck: { numRuns: RUNS } })
  it("a password after a URL's user is still url_credentials; a key after // in a comment is still a key", () => {
    expect(cats("postgres://app:Kx9mQ2zzP@db.internal:5432/x")).toEqual(["url_credentials"])
    expect(redacted("//password=Kx9mQ2zzP")).toBe(`//password=${R}`)
  })
})

// ---------------------------------------------------------------------------------------------
// 6. repdigits under a password key
// ---------------------------------------------------------------------------------------------

describe("one digit repeated under a password key is a mask, replaced as a placeholder", () => {
  it.prop("password=99999999, {\"password\": 0000}, \"pin_password\": 111111: replaced, a placeholder row, never a block", [fc.constantFrom(..."0123456789"), fc.integer({ min: 4, max: 16 }), fc.constantFrom("password", "DB_PASSWORD", "pin_password", "passcode")], ([d, n, k]) => {
    const v = d.repeat(n)
    for (const [text, out] of [[`${k}=${v}\nnext`, `${k}=${R}\nnext`], [`{"${k}": "${v}"}`, `{"${k}": "${R}"}`]] as const) {
      expect(redacted(text), text).toBe(out)
      expect(rows(text), text).toEqual(["password(placeholder):info"])
      expect(Detect.verdict(Detect.scan(text, Detect.Policy.strict)), text).not.toBe("block")
    }
    expect(redacted({ [k]: v }), v).toEqual({ [k]: R })
  }, { fastCheck: { numRuns: RUNS } })
  it("a masked value of one letter or symbol stays no value (****, xxxx, ••••)", () => {
    for (const text of ["password=****", "password: xxxxxxxx", '{"password": "••••••"}']) expect(cats(text), text).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// linear time: the new patterns' adversarial shapes
// ---------------------------------------------------------------------------------------------

describe("the new forms in linear time (adversarial shapes, every assignment detector)", () => {
  const fill = (n: number, unit: string) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n)
  const shapes: ReadonlyArray<[string, (n: number) => string]> = [
    ["auth tuples never closed", (n) => fill(n, 'auth=("a", "')],
    ["auth tuples with mixed quotes", (n) => `auth=('a', '${fill(n, 'auth=("a", "x')}`],
    ["auth names without a tuple", (n) => fill(n, "basic_auth_credentials = (")],
    ["helper calls never closed", (n) => fill(n, 'HTTPBasicAuth("u", "')],
    ["helper calls with long users", (n) => fill(n, `HTTPBasicAuth("${"u".repeat(300)}`)],
    ["pairs never closed", (n) => fill(n, '["password", "')],
    ["pair names runs", (n) => fill(n, '["X-Api-Key", ')],
    ["name/value pairs never valued", (n) => fill(n, '{"name":"API_TOKEN","value":"')],
    ["block scalars with no lines", (n) => fill(n, "password: |\n")],
    ["block scalars nested", (n) => Array.from({ length: Math.ceil(n / 14) }, (_, i) => `${" ".repeat(i % 40)}password: |`).join("\n").slice(0, n)],
    ["one block of blank lines", (n) => `password: |\n  a\n${fill(n, "\n \n")}`],
    ["base64 with keywords", (n) => fill(n, "aB3pwdXy9+")],
    ["base64 keyword runs padded", (n) => fill(n, "QWxhZGRpbjpwd2Q=")],
    ["bangs", (n) => `password=${fill(n, "!")}`],
    ["repdigits", (n) => `password=${fill(n, "9")}`]
  ]
  it.each(shapes)("%s: 256 KB within ten times its 64 KB prefix", (_, make) => {
    const small = make(64 * 1024)
    const large = make(256 * 1024)
    const a = cpu(() => void Detect.redact(small, everything, assignments))
    const b = cpu(() => void Detect.redact(large, everything, assignments))
    // linear is four times; a search that reads to the end from each start is sixteen
    expect(b, `${Math.round(b)} ms against ${Math.round(a)} ms`).toBeLessThanOrEqual(10 * a + 80)
    expect(b).toBeLessThan(2000)
  }, 60_000)
})
