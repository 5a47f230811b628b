/**
 * Secrets written in markup and in the layouts people paste (issue 15, the third hostile review's
 * #13, #14, #15, #22, #23, #24): quoted `k=v;` connection strings that end with `;`, XML elements
 * for every key family, Markdown and HTML emphasis around a key, lists under a secret's key, and
 * prose. Generated cases: keys, values and layouts are drawn, never one repro string.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as Detect from "../src/Detect.js"
import { cpuBest as cpu, randomOf } from "./helpers.js"

const R = Detect.REPLACEMENT
const RUNS = Number(process.env["PROP_RUNS"] ?? 150)
const everything: Detect.Policy = { name: "everything", default: "redact" }
const redacted = (value: unknown) => Detect.redact(value, everything).value
const cats = (value: unknown) => Detect.scan(value, Detect.Policy.flagOnly).map((f) => f.category)
const B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
/** a generated password: letters of both cases and a digit (a symbol may stand inside it) */
const pw = randomOf(B62 + "!#%*+", 9, 16).filter((v) => /^[A-Za-z0-9]/.test(v) && /[a-z]/.test(v) && /[A-Z]/.test(v) && /\d/.test(v))
/** a generated token: what a key or a token is made of */
const token = randomOf(B62, 24, 40).filter((t) => /[a-z]/.test(t) && /[A-Z]/.test(t) && /\d/.test(t))

// ---------------------------------------------------------------------------------------------
// #13: quoted `k=v;` strings whose last pair is the password, ended by `;` before the quote
// ---------------------------------------------------------------------------------------------

describe("#13: a quoted ADO.NET or k=v; string that ends with `;` before its quote", () => {
  const passwordKey = fc.constantFrom("Password", "password", "Pwd", "PWD", "DB_PASSWORD", "passwd")
  const otherPair = fc.constantFrom("Data Source=db", "Server=tcp:db.example.net,1433", "User ID=sa", "User Id=sa", "Database=app", "Initial Catalog=app", "Encrypt=True", "host=db", "Port=5432")
  const pairs = fc.array(otherPair, { minLength: 0, maxLength: 4 })
  const wrap = fc.constantFrom<(s: string) => string>(
    (s) => `"${s}"`,
    (s) => `'${s}'`,
    (s) => `new SqlConnection("${s}")`,
    (s) => `{"ConnectionStrings":{"DefaultConnection":"${s}"}}`,
    (s) => `conn = "${s}"`,
    (s) => `{"cmd":"run \\"${s}\\""}`
  )
  it.prop("the password replaced, the `;`, the quote and the other pairs kept", [pairs, passwordKey, pw, fc.boolean(), wrap], ([before, key, v, spaced, w]) => {
    const sep = spaced ? "; " : ";"
    const text = w([...before, `${key}=${v}`].join(sep) + ";")
    const want = w([...before, `${key}=${R}`].join(sep) + ";")
    expect(redacted(text), text).toBe(want)
  }, { fastCheck: { numRuns: RUNS } })
  it("the review's repros", () => {
    expect(redacted('"Data Source=db;User ID=sa;Password=Kx9mQ2zzP;"')).toBe(`"Data Source=db;User ID=sa;Password=${R};"`)
    expect(redacted("'Data Source=db;User ID=sa;Password=Kx9mQ2zzP;'")).toBe(`'Data Source=db;User ID=sa;Password=${R};'`)
    expect(redacted('{"ConnectionStrings":{"DefaultConnection":"Server=db;Database=app;User Id=sa;Password=Kx9mQ2zzP;"}}')).toBe(
      `{"ConnectionStrings":{"DefaultConnection":"Server=db;Database=app;User Id=sa;Password=${R};"}}`
    )
  })
})

// ---------------------------------------------------------------------------------------------
// #14: XML elements and attributes for every key family; CDATA sections
// ---------------------------------------------------------------------------------------------

describe("#14: an XML element or entry named as a secret, a token, an API key or a password: its text is the value", () => {
  const secretName = fc.constantFrom("apiKey", "ApiKey", "api_key", "token", "Token", "accessToken", "AuthToken", "client_secret", "ClientSecret", "secret", "SessionToken", "refresh_token", "X-Api-Key", "subscriptionKey")
  const passwordName = fc.constantFrom("password", "Password", "db.password", "DbPassword", "passwd", "passphrase")
  const ns = fc.constantFrom("", "ns2:", "wsse:", "a:")
  const cdata = fc.boolean()
  const element = (n: string, v: string, c: boolean) => `<${n}>${c ? `<![CDATA[${v}]]>` : v}</${n}>`
  const around = fc.constantFrom<(s: string) => string>(
    (s) => s,
    (s) => `<credentials>\n  ${s}\n</credentials>`,
    (s) => `<?xml version="1.0"?><Response><Result>${s}<Expiration>2026-12-05T13:00:00Z</Expiration></Result></Response>`,
    (s) => `body: ${s} (status 200)`
  )
  it.prop("a secret element: the text replaced, the tags kept", [ns, secretName, token, cdata, around], ([p, n, v, c, a]) => {
    const text = a(element(p + n, v, c))
    expect(redacted(text), text).toBe(a(element(p + n, R, c)))
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("a password element: the text replaced, the tags kept", [ns, passwordName, pw, cdata, around], ([p, n, v, c, a]) => {
    const text = a(element(p + n, v, c))
    expect(redacted(text), text).toBe(a(element(p + n, R, c)))
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("an entry or add element whose key attribute names the secret", [fc.oneof(secretName.map((n) => ({ n, v: "t" as const })), passwordName.map((n) => ({ n, v: "p" as const }))), token, pw, fc.boolean()], ([{ n, v }, t, p, attr]) => {
    const value = v === "t" ? t : p
    const text = attr ? `<add key="${n}" value="${value}"/>` : `<entry key="${n}">${value}</entry>`
    expect(redacted(text), text).toBe(attr ? `<add key="${n}" value="${R}"/>` : `<entry key="${n}">${R}</entry>`)
  }, { fastCheck: { numRuns: RUNS } })
  it("an STS answer's session token, the review's repros", () => {
    const session = "FwoGZXIvYXdzEJr" + "a8Kq2Lm9Zx7Rt4Pv1Bn6Hy3Jw0Cd5Fg/Uk+Se9Qo2Wi8Ta4Nb7Mc1Xz6Vy3Lp0Kr5Gh/Df+Js8Ew2Ru4"
    const xml = `<AssumeRoleResult><Credentials><AccessKeyId>ASIAQ7KX3MZ2RB5LWN4T</AccessKeyId><SecretAccessKey>Qx7Lm2pRtx93jdLq0aWeC7hN4bY1uKzP8wVnT5sG</SecretAccessKey><SessionToken>${session}</SessionToken></Credentials></AssumeRoleResult>`
    const out = redacted(xml) as string
    expect(out).not.toContain(session)
    expect(out).toContain(`<SessionToken>${R}</SessionToken>`)
    expect(out).toContain(`<SecretAccessKey>${R}</SecretAccessKey>`)
    expect(redacted("<password><![CDATA[Kx9mQ2zzP]]></password>")).toBe(`<password><![CDATA[${R}]]></password>`)
  })
  it("an element that holds no secret stays: a generic type, a label, prose", () => {
    for (const s of ["List<Token>tokens = new ArrayList<>();", "Option<ApiKey>None", "<token>abc</token>", "<secret>yes</secret>", "<th>Token</th>", "<label for=\"token\">API token</label>", "<tokens>12</tokens>", "<token_count>1234567890</token_count>"]) {
      expect(cats(s), s).toEqual([])
    }
  })
})

// ---------------------------------------------------------------------------------------------
// #15: Markdown and HTML emphasis around a key, and table cells
// ---------------------------------------------------------------------------------------------

describe("#15: a key in Markdown or HTML emphasis, or in a table's cell, and its value", () => {
  const passwordName = fc.constantFrom("Password", "password", "DB_PASSWORD", "Admin password", "Passwort", "Root Password")
  const secretName = fc.constantFrom("API key", "API Key", "API_TOKEN", "api_key", "Access token", "Client secret", "Token", "Secret", "Auth Token", "client_secret")
  /** how a model writes `key: value` with emphasis: the marker around the key, before or after the operator */
  const layouts: ReadonlyArray<(k: string, v: string) => string> = [
    (k, v) => `**${k}:** ${v}`,
    (k, v) => `**${k}**: ${v}`,
    (k, v) => `- **${k}**: \`${v}\``,
    (k, v) => `**${k}**=${v}`,
    (k, v) => `*${k}:* ${v}`,
    (k, v) => `__${k}:__ ${v}`,
    (k, v) => `<b>${k}:</b> ${v}`,
    (k, v) => `<strong>${k}</strong>: ${v}`,
    (k, v) => `<td>${k}</td><td>${v}</td>`,
    (k, v) => `<tr>\n  <th>${k}</th>\n  <td>${v}</td>\n</tr>`,
    (k, v) => `<dt>${k}</dt><dd>${v}</dd>`,
    (k, v) => `| ${k} | ${v} |`,
    (k, v) => `| **${k}** | \`${v}\` |`
  ]
  const layout = fc.nat(layouts.length - 1)
  const around = fc.constantFrom<(s: string) => string>((s) => s, (s) => `Here are the credentials:\n\n${s}\n\nKeep them safe.`, (s) => `| key | value |\n|---|---|\n${s}`)
  it.prop("a password: the value replaced, the markup kept", [passwordName, pw, layout, around], ([k, v, i, a]) => {
    const text = a(layouts[i]!(k, v))
    expect(redacted(text), text).toBe(a(layouts[i]!(k, R)))
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("a secret, a token or an API key: the value replaced, the markup kept", [secretName, token, layout, around], ([k, v, i, a]) => {
    const text = a(layouts[i]!(k, v))
    expect(redacted(text), text).toBe(a(layouts[i]!(k, R)))
  }, { fastCheck: { numRuns: RUNS } })
  it("documentation tables and emphasis that describe a field hold no value", () => {
    for (const s of [
      "| password | string | yes | The user's password |",
      "| `password` | string | The password |",
      "| Password | Required |",
      "<td>password</td><td>string</td><td>The password</td>",
      "**Password:** the password of the database user",
      "**Password**: required",
      "| api_key | String | Your API key |",
      "**API key**: see the dashboard",
      "<dt>Token</dt><dd>The token to use</dd>",
      "echo $password | base64",
      "cat password | sha256sum"
    ]) expect(cats(s), s).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// linear time on the new forms' adversarial inputs
// ---------------------------------------------------------------------------------------------

describe("the markup forms search in linear time", () => {
  const families: ReadonlyArray<readonly [string, string]> = [
    ["emphasis", "**password:** **API key**= __token:__ "],
    ["emphasis runs", "password******:**=*"],
    ["cells", "<td>password</td><td></th><td></dt><dd><b>"],
    ["table", "| password | | token |"],
    ["xml", "<token><![CDATA[<ns2:apiKey><entry key=\"token\">"],
    ["connection", "Password=a;\"Password=b;\\\"x;"],
    ["flow list", "password:[\"a\", api_keys = ['b',"],
    ["flow list unclosed", "passwords: [a, b, c, \"d "],
    ["block list", "passwords:\n  - a\n  - b\nsecrets:\n- "],
    ["prose for", "password for a b c d e password for x is "],
    ["prose dash", "password - -- -> → password is my password: a b "],
    ["print_r", "[password]      [token]  =  "]
  ]
  for (const [name, unit] of families) {
    it(`${name}: 1 MB within 3 × 16 × the time of 64 KB`, async () => {
      const small = unit.repeat(Math.ceil(65536 / unit.length))
      const large = unit.repeat(Math.ceil(1048576 / unit.length))
      const t1 = cpu(() => Detect.scan(small, Detect.Policy.flagOnly))
      await new Promise((r) => setImmediate(r))
      const t2 = cpu(() => Detect.scan(large, Detect.Policy.flagOnly))
      await new Promise((r) => setImmediate(r))
      expect(t2, `${name}: 64 KB ${t1.toFixed(0)} ms, 1 MB ${t2.toFixed(0)} ms`).toBeLessThan(Math.max(3 * 16 * t1, 200))
    }, 120_000)
  }
})

// ---------------------------------------------------------------------------------------------
// #22: lists under a password's or a secret's key, written as text
// ---------------------------------------------------------------------------------------------

describe("#22: a list under a password's or a secret's key (singular or plural) written as text", () => {
  const passwordName = fc.constantFrom("password", "passwords", "db_passwords", "PASSWORDS", "old_passwords", "passphrases")
  // (not `credentials`, `auth`: a list under an auth name is a (user, password) pair, the auth tuple's form)
  const secretName = fc.constantFrom("api_keys", "apiKeys", "secrets", "client_secrets", "access_keys", "api_key", "secret", "private_keys")
  const items = (v: fc.Arbitrary<string>) => fc.array(v, { minLength: 1, maxLength: 4 })
  /** the layouts of a list: JSON text, a YAML flow sequence, Python/Ruby, a YAML block sequence */
  const flow: ReadonlyArray<(k: string, vs: ReadonlyArray<string>) => readonly [string, string]> = [
    (k, vs) => [`{"${k}":[${vs.map((v) => `"${v}"`).join(",")}]}`, `{"${k}":["${R}"]}`],
    (k, vs) => [`{"${k}": ["${vs.join('", "')}"], "n": 1}`, `{"${k}": ["${R}"], "n": 1}`],
    (k, vs) => [`${k}: [${vs.join(", ")}]`, `${k}: [${R}]`],
    (k, vs) => [`${k} = ['${vs.join("', '")}']`, `${k} = ['${R}']`],
    (k, vs) => [`${k}:\n  - ${vs.join("\n  - ")}\nhost: db`, `${k}:\n  - ${R}\nhost: db`],
    (k, vs) => [`config:\n  ${k}:\n    - ${vs.join("\n    - ")}\n  port: 5432`, `config:\n  ${k}:\n    - ${R}\n  port: 5432`]
  ]
  const layout = fc.nat(flow.length - 1)
  it.prop("passwords: the items replaced, the brackets, markers and the rest kept", [passwordName, items(pw), layout], ([k, vs, i]) => {
    const [text, want] = flow[i]!(k, vs)
    expect(redacted(text), text).toBe(want)
  }, { fastCheck: { numRuns: RUNS } })
  /**
   * (no token that spells a password keyword, `J9xJpwdhe…`: a list of two such tokens reads as a
   * (name, password) pair, `["J9xJpwdhe…", "…"]`, and only the second is replaced; open, named in
   * the report)
   */
  const plainToken = token.filter((t) => !/pwd|pass|ps?w(?![a-z])|secret|token|key|auth/i.test(t))
  it.prop("secrets and API keys: the items replaced", [secretName, items(plainToken), layout], ([k, vs, i]) => {
    const [text, want] = flow[i]!(k, vs)
    expect(redacted(text), text).toBe(want)
  }, { fastCheck: { numRuns: RUNS } })
  it("validation rules, error messages and field lists under a password key hold no value", () => {
    for (const s of [
      "'password' => ['required', 'min:8', 'confirmed'],",
      '{"password": ["This field is required."]}',
      '{"password": ["Ensure this field has at least 8 characters."]}',
      "password: [required, string, min:8]",
      'fields = ["username", "password"]',
      "passwords: []",
      "secrets: [db, api]",
      '{"api_keys": ["prod", "staging"]}',
      "passwords:\n  - required\n  - min:8"
    ]) expect(cats(s), s).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// #23, #24: prose
// ---------------------------------------------------------------------------------------------

describe("#23, #24: a password or a key given in a sentence", () => {
  // (no word about a password first: `password is correct horse …` reads as a sentence, `correct`, and is left to the bare form: decided)
  const wordList = ["tundra", "velvet", "ocean", "horse", "battery", "staple", "maple", "quartz", "lantern", "orbit", "pepper", "granite", "willow", "cobalt"]
  const passphrase = fc.array(fc.constantFrom(...wordList), { minLength: 2, maxLength: 5 }).map((w) => w.join(" "))
  const owner = fc.constantFrom("my", "My", "our", "the", "The", "the admin", "DB", "the new", "your")
  const lead = fc.constantFrom("", "Sure! ", "ok so ", "Note: ", "hi, ")
  it.prop("a passphrase after `my password:` or `password is`, not at a line start: every word replaced", [lead, owner, passphrase, fc.boolean()], ([l, o, p, colon]) => {
    const text = `${l}${o} password${colon ? ":" : " is"} ${p}`
    expect(redacted(text), text).toBe(`${l}${o} password${colon ? ":" : " is"} ${R}`)
  }, { fastCheck: { numRuns: RUNS } })
  // (not `secret key` with a space: `key` after a space is no keyword, open)
  const keyName = fc.constantFrom("API key", "api key", "access token", "token", "client secret", "API token", "secret_key")
  it.prop("`The API key is K`: a generated token after `is` or `was` replaced", [fc.constantFrom("The", "the", "Your", "My", "and the"), keyName, fc.constantFrom("is", "was"), token, fc.constantFrom("", " - keep it safe", "\nThanks")], ([o, k, verb, t, end]) => {
    const text = `${o} ${k} ${verb} ${t}${end}`
    expect(redacted(text), text).toBe(`${o} ${k} ${verb} ${R}${end}`)
  }, { fastCheck: { numRuns: RUNS } })
  it("sentences about a password or a key hold no value", () => {
    for (const s of [
      "my password: is too short",
      "The password is stored in the vault",
      "the password was changed yesterday",
      "your password is what you need to log in",
      "The API key is invalid",
      "The API key is required for this endpoint",
      "the token was refreshed successfully",
      "The secret is out",
      "my password: please reset it"
    ]) expect(cats(s), s).toEqual([])
  })
})

describe("#23: a password named for someone or something, or given after a dash or an arrow", () => {
  const forWhat = fc.constantFrom("for bob", "for the wifi", "for the admin account", "for root", "for db-prod")
  const before = fc.constantFrom("", "The ", "the ", "Your ", "Temporary ")
  const op = fc.constantFrom(": ", " is: ", " is ", " = ")
  it.prop("`<the> password for <up to four words> <is:|:|is|=> P`: the password replaced", [before, forWhat, op, pw], ([b, f, o, p]) => {
    const text = `${b}password ${f}${o}${p}`
    expect(redacted(text), text).toBe(`${b}password ${f}${o}${R}`)
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("`Temporary password - P`, `new password -> P`: a generated password after a dash or an arrow", [before, fc.constantFrom(" - ", " -> ", " → ", " -- "), pw.filter((p) => /\d/.test(p))], ([b, o, p]) => {
    const text = `${b}password${o}${p}`
    expect(redacted(text), text).toBe(`${b}password${o}${R}`)
  }, { fastCheck: { numRuns: RUNS } })
  it("titles, menus and sentences with a dash or `for` hold no value", () => {
    for (const s of ["Reset password - MyApp", "Forgot password -> Recovery", "password for bob: required", "The password for the account is stored in the vault", "password - see below", "Change password → Settings", "password for the wifi is: ask the front desk"]) expect(cats(s), s).toEqual([])
  })
})

describe("#25: PHP print_r output", () => {
  const name = fc.constantFrom("password", "db_password", "api_key", "secret", "access_token")
  it.prop("`[key] => value` lines: the value replaced", [name, pw, token, fc.constantFrom("", "    ", "\t")], ([k, p, t, ind]) => {
    const v = /password/.test(k) ? p : t
    const text = `Array\n(\n${ind}[user] => bob\n${ind}[${k}] => ${v}\n)\n`
    expect(redacted(text), text).toBe(`Array\n(\n${ind}[user] => bob\n${ind}[${k}] => ${R}\n)\n`)
  }, { fastCheck: { numRuns: RUNS } })
})
