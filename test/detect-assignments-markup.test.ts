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
