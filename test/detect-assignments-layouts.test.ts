/**
 * Where a value ends and where it starts, by layout (issue 15, point 1; the third review): an env
 * prefix before a command is one shell word and the command stays; a bare value ends at the next
 * `,name=`, `|name=`, a control character or, in a line of space-separated pairs, the space; the
 * value of a typed declaration is what follows `=`; labels, working directories and idempotency
 * tokens are no secrets. Generated cases: keys, values, programs and layouts are drawn.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as Detect from "../src/Detect.js"
import { randomOf } from "./helpers.js"

const R = Detect.REPLACEMENT
const RUNS = Number(process.env["PROP_RUNS"] ?? 150)
const everything: Detect.Policy = { name: "everything", default: "redact" }
const redacted = (value: unknown) => Detect.redact(value, everything).value
const rows = (value: unknown) => Detect.scan(value, Detect.Policy.strict).map((f) => `${f.category}${f.placeholder === true ? "(placeholder)" : ""}:${f.severity}`)

const B62 = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
/** a password: a lower letter, then letters, digits and punctuation, then an upper letter and a digit (no quote, space, `,`, `|`, `;`, `&`) */
const pw = fc
  .tuple(randomOf(B62 + "!#%*+-.^_~?/:", 6, 20), fc.constantFrom("a", "k", "z"), fc.constantFrom("Q", "M"), fc.constantFrom("7", "3"))
  .map(([body, l, u, d]) => `${l}${body}${u}${d}`)
  .filter((v) => !/\d{7}/.test(v))
/** a generated token (an API key): 24 to 40 random characters */
const token = randomOf(B62, 24, 40).filter((t) => /[a-z]/.test(t) && /[A-Z]/.test(t) && /\d/.test(t))
/**
 * A program name nobody listed: lower letters, maybe joined by `-` or `_` (`docker-compose`,
 * `pm2`, `exfil`). Names holding a keyword of a detector (`pass`, `pw`, `key`, `auth`, …) or the
 * words `is`/`was` are left out: they start forms of their own, which is not what this is about.
 */
const program = fc
  .tuple(randomOf("abcdefghijkmnoprstuvwxyz", 2, 9), fc.constantFrom("", "-compose", "-ctl", "2", "_run", "d"))
  .map(([a, b]) => a + b)
  .filter((p) => !/pas|pw|psw|pwd|key|auth|token|secret|cred|senha|^(?:is|was)$/.test(p))
const argWord = fc.constantFrom("up", "-d", "restart", "app", "tests", "all", "--batch", "/home", "file:///backup", "~/.ssh/id_ed25519", "app:app", "evil.example", "database", "x.sql", "run", "build")
const args = fc.array(argWord, { minLength: 0, maxLength: 4 }).map((a) => a.join(" "))

// ---------------------------------------------------------------------------------------------
// 1. an env prefix before a command: one shell word, the command stays (third review #2)
// ---------------------------------------------------------------------------------------------

describe("KEY=value before a command: the value is one shell word, and the command stays", () => {
  const keys = ["PASSWORD", "DB_PASSWORD", "PGPASSWORD", "VAULT_PASSWORD", "MYSQL_PWD", "GPG_PASSPHRASE", "SSH_PASSPHRASE", "PASSPHRASE", "KEY_PASSPHRASE", "db_password", "SMTP_PASS"]
  const layouts: ReadonlyArray<(env: string, cmd: string) => string> = [
    (env, cmd) => `${env} ${cmd}`,
    (env, cmd) => `$ ${env} ${cmd}`,
    (env, cmd) => `cd /srv && ${env} ${cmd}`,
    (env, cmd) => `LOG_LEVEL=debug ${env} ${cmd}`,
    (env, cmd) => `{"command":"${env} ${cmd}"}`,
    (env, cmd) => `run:\n  ${env} ${cmd}\nnext: 1`
  ]
  const value = fc.oneof(pw.map((v) => ({ v, q: "" })), fc.tuple(pw, fc.constantFrom("'", '"')).map(([v, q]) => ({ v, q })), fc.tuple(pw, pw).map(([a, b]) => ({ v: `${a} ${b}`, q: "'" })))
  it.prop("any program, with or without arguments, after KEY=v, KEY='v', KEY=\"v w\"", [fc.constantFrom(...keys), value, program, args, fc.nat(layouts.length - 1)], ([k, { v, q }, p, a, i]) => {
    // (a double quote inside the JSON layout is escaped)
    const qq = i === 4 && q === '"' ? '\\"' : q
    const cmd = a === "" ? p : `${p} ${a}`
    const text = layouts[i]!(`${k}=${qq}${v}${qq}`, cmd)
    expect(redacted(text), text).toBe(layouts[i]!(`${k}=${qq}${R}${qq}`, cmd))
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("multi-word values where the form says so: INI and .properties with spaces around =, dotted keys, YAML", [fc.constantFrom("password", "db_password", "passphrase", "DB_PASSWORD"), fc.array(pw, { minLength: 2, maxLength: 4 }).map((a) => a.join(" ")), fc.nat(2)], ([k, v, i]) => {
    const forms = [(x: string) => `[db]\n${k} = ${x}\nuser = bob`, (x: string) => `spring.datasource.${k}=${x}\nnext=1`, (x: string) => `db:\n  ${k}: ${x}\n  user: bob`]
    expect(redacted(forms[i]!(v)), forms[i]!(v)).toBe(forms[i]!(R))
  }, { fastCheck: { numRuns: RUNS } })
})

// ---------------------------------------------------------------------------------------------
// 2. where a bare value ends: `,name=`, `|name=`, control characters; the space in a line of pairs
//    (third review #10, #11)
// ---------------------------------------------------------------------------------------------

describe("a bare value ends at ,name= |name= and at control characters; in a line of space-separated pairs at the space", () => {
  // the separators of pairs: a comma (mount options, helm --set, kubectl --env), a pipe (logs),
  // NUL of /proc/PID/environ, other C0 controls, U+0085, and NUL escaped in JSON text
  const seps = [",", "|", "\0", "\x01", "\x1e", "\x0b", "\x0c", "\u0085", "\\u0000"]
  const layouts: ReadonlyArray<(pairs: string) => string> = [(p) => p, (p) => `mount -o ${p} //srv/share /mnt`, (p) => `helm install x --set ${p}`, (p) => `{"environ":"${p}"}`]
  it.prop("a password among pairs: only the password replaced, every other pair kept", [fc.constantFrom("password", "db_password", "auth.password", "DB_PASSWORD", "PGPASSWORD"), pw, fc.constantFrom(...seps), fc.nat(layouts.length - 1), fc.boolean()], ([k, v, sep, i, last]) => {
    const pairs = (x: string) => (last ? `user=bob${sep}host=db${sep}${k}=${x}` : `user=bob${sep}${k}=${x}${sep}host=db${sep}port=5432`)
    const text = layouts[i]!(pairs(v))
    expect(redacted(text), JSON.stringify(text)).toBe(layouts[i]!(pairs(R)))
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("a token among pairs: found, and only it replaced", [fc.constantFrom("token", "api_key", "NPM_TOKEN", "access_token"), token, fc.constantFrom(...seps)], ([k, v, sep]) => {
    const text = `${k}=${v}${sep}expires=3600${sep}scope=admin`
    expect(redacted(text), JSON.stringify(text)).toBe(`${k}=${R}${sep}expires=3600${sep}scope=admin`)
  }, { fastCheck: { numRuns: RUNS } })

  // a password holding `;` and `&` (not at its end: `x; next` ends a statement)
  const withSeps = fc.tuple(pw, fc.array(fc.tuple(fc.nat(100), fc.constantFrom(";", "&")), { minLength: 1, maxLength: 3 })).map(([v, ins]) => {
    let out = v
    for (const [at, ch] of ins) {
      const i = 1 + (at % (out.length - 1))
      out = out.slice(0, i) + ch + out.slice(i)
    }
    return out
  })
  const lines: ReadonlyArray<(v: string) => string> = [
    (v) => `psql "host=db.acme.io port=5432 user=svc password=${v} dbname=app"`,
    (v) => `conn = psycopg2.connect("dbname=app user=bob password=${v} host=db")`,
    (v) => `ts=1 level=info user=bob password=${v} msg=login`,
    (v) => `host=db user=bob password=${v} dbname=app sslmode=require`
  ]
  it.prop("libpq DSNs and logfmt: a password holding ; or & is found whole, the next pair kept", [withSeps, fc.nat(lines.length - 1)], ([v, i]) => {
    const text = lines[i]!(v)
    expect(redacted(text), text).toBe(lines[i]!(R))
    expect(rows(text), text).toContain("password:critical")
  }, { fastCheck: { numRuns: RUNS } })
  it.each([
    ["Server=db;Password=Kx9mQ2zzP;User Id=sa;Initial Catalog=app", "Server=db;Password=<redacted>;User Id=sa;Initial Catalog=app"],
    ["PGPASSWORD=Kx9mQ2zzP;rm -rf /srv", "PGPASSWORD=<redacted>;rm -rf /srv"],
    ["https://h/cb?token=rafFdQGYhyjCpirk7KNgzDmD&state=abc", "https://h/cb?token=<redacted>&state=abc"]
  ])("a k=v;k=v string with spaced names, a command after ;, a URL query still end the value: %s", (text, out) => {
    expect(redacted(text)).toBe(out)
  })
})

// ---------------------------------------------------------------------------------------------
// 3. the value after a type annotation, a YAML tag or anchor, and a heredoc's lines (third review #5)
// ---------------------------------------------------------------------------------------------

describe("the value is what follows = after name: Type, what follows a YAML tag or anchor, and a heredoc's lines", () => {
  const typed: ReadonlyArray<(k: string, v: string) => string> = [
    (k, v) => `const ${k}: string = "${v}";`,
    (k, v) => `  private readonly ${k}: string = '${v}';`,
    (k, v) => `function login(${k}: string = "${v}") {}`,
    (k, v) => `val ${k}: String = "${v}"`,
    (k, v) => `let ${k}: &str = "${v}";`,
    (k, v) => `const ${k}: &'static str = "${v}";`,
    (k, v) => `var ${k} string = "${v}"`,
    (k, v) => `${k}: str = "${v}"`,
    (k, v) => `    ${k}: Optional[str] = "${v}"`,
    (k, v) => `let ${k}: String? = "${v}"`,
    (k, v) => `public string ${k} { get; set; } = "${v}";`
  ]
  const passwordKeys = ["password", "dbPassword", "DB_PASSWORD", "adminPassword", "Password"]
  const secretKeys = ["apiKey", "api_key", "authToken", "clientSecret", "API_TOKEN"]
  it.prop("a password or a token after name: Type = (TypeScript, Kotlin, Swift, Rust, Go, Python, C#): the value replaced, a critical finding", [fc.boolean(), fc.constantFrom(...passwordKeys), fc.constantFrom(...secretKeys), pw, token, fc.nat(typed.length - 1)], ([isPw, pk, sk, p, t, i]) => {
    const [k, v] = isPw ? [pk, p] : [sk, t]
    const text = typed[i]!(k, v)
    expect(redacted(text), text).toBe(typed[i]!(k, R))
    expect(rows(text), text).toEqual([isPw ? "password:critical" : "generic_secret:critical"])
  }, { fastCheck: { numRuns: RUNS } })
  it.each(["interface Login { password: string; user: string }", "function f(password: string) {}", "password: str", "def f(password: str = None):", "var password string"])("a type alone is no value: %s", (s) => {
    expect(rows(s)).toEqual([])
  })

  const yaml: ReadonlyArray<(k: string, v: string) => string> = [
    (k, v) => `${k}: !!str ${v}`,
    (k, v) => `${k}: &${k.length > 3 ? "pw" : "a"} ${v}`,
    (k, v) => `${k}: !!str "${v}"`,
    (k, v) => `${k}: &creds '${v}'`,
    (k, v) => `${k}: &pw !!str ${v}`
  ]
  it.prop("YAML: a tag (!!str) or an anchor (&pw) is skipped, the scalar after it replaced", [fc.boolean(), fc.constantFrom("password", "db_password", "adminPassword"), fc.constantFrom("token", "api_key", "client_secret"), pw, token, fc.nat(yaml.length - 1), fc.constantFrom("", "  ", "- ")], ([isPw, pk, sk, p, t, i, indent]) => {
    const [k, v] = isPw ? [pk, p] : [sk, t]
    const text = `db:\n${indent}${yaml[i]!(k, v)}\n${indent.replace("-", " ")}user: bob`
    expect(redacted(text), text).toBe(`db:\n${indent}${yaml[i]!(k, R)}\n${indent.replace("-", " ")}user: bob`)
  }, { fastCheck: { numRuns: RUNS } })

  it.prop("a heredoc under a password or secret key: its lines replaced, the opener and the terminator kept", [fc.boolean(), fc.constantFrom("password", "db_password", "admin_password"), fc.constantFrom("client_secret", "api_token"), pw, token, fc.constantFrom("EOT", "EOF", "END", "PASSWORD"), fc.constantFrom("<<", "<<-", "<<~"), fc.constantFrom("", "  ")], ([isPw, pk, sk, p, t, tag, op, ind]) => {
    const [k, v] = isPw ? [pk, p] : [sk, t]
    const text = `resource "x" "y" {\n${ind}${k} = ${op}${tag}\n${ind}${v}\n${ind}${tag}\n${ind}user = "bob"\n}`
    expect(redacted(text), text).toBe(`resource "x" "y" {\n${ind}${k} = ${op}${tag}\n${ind}${R}\n${ind}${tag}\n${ind}user = "bob"\n}`)
    expect(rows(text).filter((r) => r.endsWith(":critical")).length, text).toBe(1)
  }, { fastCheck: { numRuns: RUNS } })
})

// ---------------------------------------------------------------------------------------------
// 4. critical false positives: working directories, descriptive keys, labels, idempotency tokens
//    (third review #6, #9, #7)
// ---------------------------------------------------------------------------------------------

describe("no secret: a working directory under pwd, a key about a password, a label, an idempotency token", () => {
  const segment = fc.constantFrom("srv", "home", "bob", "app", "project", "x", "Users", "work", "my-repo", "src", "tmp", "ci_build", "Kx9mQ2zzP")
  const path = fc.tuple(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.constantFrom("/", "~/", "C:\\", "/", "D:\\")).map(([s, root]) => root + s.join(root.endsWith("\\") ? "\\" : "/"))
  const pwdKeys = ["PWD", "OLDPWD", "pwd", "oldpwd"]
  it.prop("an absolute or home path under pwd/PWD/OLDPWD: no finding (env dumps, shell tool results), as a field, JSON text, env text and YAML", [fc.constantFrom(...pwdKeys), path, fc.nat(3)], ([k, p, i]) => {
    const json = JSON.stringify(p).slice(1, -1)
    const inputs: ReadonlyArray<unknown> = [{ env: { HOME: "/root", [k]: p, SHELL: "/bin/bash" } }, `{"cwd":"${json}","${k}":"${json}","exit_code":0}`, `${k}=${p}\nHOME=/root`, `${k}: ${p}\nuser: bob`]
    expect(rows(inputs[i]), JSON.stringify(inputs[i])).toEqual([])
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("a password under pwd is still one", [fc.constantFrom(...pwdKeys), pw], ([k, v]) => {
    expect(rows({ [k]: v })).toEqual(["password:critical"])
  }, { fastCheck: { numRuns: 50 } })

  const descriptive = fc.tuple(fc.constantFrom("", "last", "db_", "KEYCHAIN_"), fc.constantFrom("password", "Password", "PASSWORD", "passphrase"), fc.constantFrom("Change", "_algorithm", "Status", "_ITEM", "Command", "_cmd", "_status", "Algorithm", "_eval"))
    .map(([a, b, c]) => a + b + (/^[A-Z]+_$/.test(a) || /^[A-Z]+$/.test(b) ? c.toUpperCase() : c))
  // (a value holding a keyword, `a~#L*QJ^pw:j8Q7`, holds an assignment of its own, `pw:j8Q7`,
  // found in any string: left out)
  it.prop("a key about a password (*Change, *algorithm, *status, *item, *command, *cmd): no password, in a field and in text", [descriptive, fc.oneof(pw.filter((v) => !/pass|pwd|ps?w/i.test(v)), fc.constantFrom("2024-05-01T10:00:00Z", "argon2id", "expired", "com.example.db", "pass show db/prod", "bcrypt")), fc.nat(2)], ([k, v, i]) => {
    const inputs: ReadonlyArray<unknown> = [{ [k]: v }, `{"${k}": "${v}"}`, `${k} = ${v}`]
    expect(rows(inputs[i]).filter((r) => r.startsWith("password")), JSON.stringify(inputs[i])).toEqual([])
  }, { fastCheck: { numRuns: RUNS } })

  // the word for a password in the languages the engine knows, and a few more labels
  const words = ["Password", "Passwort", "Kennwort", "Contraseña", "Mot de passe", "Senha", "Wachtwoord", "Hasło", "Lösenord", "Пароль", "パスワード", "密码", "Şifre", "Passcode", "Passphrase"]
  const phrases = ["Forgot password?", "Confirm password", "New password", "Enter your password", "Current password", "Repeat password", "Confirmer le mot de passe", "Passwort vergessen?", "¿Olvidaste tu contraseña?"]
  const label = fc.oneof(fc.tuple(fc.constantFrom(...words), fc.constantFrom(":", "", "?", ": ", " *")).map(([w, e]) => w + e).filter((l) => !/^(?:Password|Passcode|Passphrase)$/.test(l)), fc.tuple(fc.constantFrom(...phrases), fc.constantFrom("", ":")).map(([w, e]) => w + e))
  const labelForms: ReadonlyArray<(k: string, v: string) => unknown> = [
    (k, v) => ({ login: { [k]: v } }),
    (k, v) => `{"${k}": "${v}", "username": "Nom d'utilisateur"}`,
    (k, v) => `<label for="${k}">${v}</label>`,
    (k, v) => `login:\n  ${k}: "${v}"\n`,
    (k, v) => `"login.${k}": "${v}",`
  ]
  it.prop("a label (the key's own word in a language the engine knows, a phrase holding it, or ending in : or ?): no password", [fc.constantFrom("password", "confirmPassword", "forgotPassword", "newPassword", "pw", "passwordLabel2"), label, fc.nat(labelForms.length - 1)], ([k, v, i]) => {
    const input = labelForms[i]!(k, v)
    expect(rows(input).filter((r) => r.startsWith("password")), JSON.stringify(input)).toEqual([])
  }, { fastCheck: { numRuns: RUNS } })

  const hex = "0123456789abcdef"
  const uuid = randomOf(hex, 30, 30).map((h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(12, 15)}-a${h.slice(15, 18)}-${h.slice(18, 30)}`)
  const idemKeys = ["ClientToken", "CreationToken", "client_token", "IdempotencyToken", "CodeSigningToken", "clientToken"]
  it.prop("a UUID (or prefix-UUID-n) under ClientToken, CreationToken and idempotency names: no secret", [fc.constantFrom(...idemKeys), uuid, fc.constantFrom("", "fleet-"), fc.nat(3)], ([k, u, pre, i]) => {
    const v = pre === "" ? u : `${pre}${u}-0`
    const inputs: ReadonlyArray<unknown> = [{ Reservations: [{ Instances: [{ InstanceId: "i-0abc", [k]: v }] }] }, `{"${k}": "${v}"}`, `aws ec2 run-instances --client-token=${v}`, `${k}: ${v}`]
    expect(rows(inputs[i]), JSON.stringify(inputs[i])).toEqual([])
  }, { fastCheck: { numRuns: RUNS } })
})

// ---------------------------------------------------------------------------------------------
// 5. hex under any secret name, and long credentials (third review #4, #3)
// ---------------------------------------------------------------------------------------------

describe("hex under a name holding secret, and a generated credential of any length under a token or credential name", () => {
  const hexOf = (min: number, max: number) => randomOf("0123456789abcdef", min, max).filter((h) => /[a-f]/.test(h) && /\d/.test(h))
  const forms: ReadonlyArray<(k: string, v: string) => unknown> = [(k, v) => `${k}=${v}\nnext=1`, (k, v) => `production:\n  ${k}: ${v}\n`, (k, v) => ({ [k]: v }), (k, v) => `{"${k}": "${v}"}`]
  it.prop("SECRET_KEY_BASE and other secret_* names: 32 to 128 hex digits are a secret", [fc.constantFrom("SECRET_KEY_BASE", "secret_key_base", "SECRET_BASE", "secretKeyBase", "RAILS_SECRET_KEY_BASE"), hexOf(32, 128), fc.nat(forms.length - 1)], ([k, v, i]) => {
    const input = forms[i]!(k, v)
    expect(rows(input), JSON.stringify(input).slice(0, 80)).toEqual(["generic_secret:critical"])
  }, { fastCheck: { numRuns: RUNS } })
  it.each(["SECRET_ID", "secret_version", "secret_name", "secret_arn"])("a secret's id, version, name or ARN in hex is no secret: %s", (k) => {
    expect(rows(`${k}=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08`)).toEqual([])
  })
  const B64 = B62 + "+/"
  const long = randomOf(B64, 1025, 6000).filter((v) => /[a-z]/.test(v) && /[A-Z]/.test(v) && /\d/.test(v))
  it.prop("a generated value longer than 1,024 characters under a token or credential name is found", [fc.constantFrom("GOOGLE_CREDENTIALS", "GCP_SA_KEY", "AUTH_TOKEN", "api_token", "GOOGLE_APPLICATION_CREDENTIALS_JSON"), long, fc.nat(forms.length - 1)], ([k, v, i]) => {
    const input = forms[i]!(k, v)
    expect(rows(input), `${k} ${v.length}`).toEqual(["generic_secret:critical"])
  }, { fastCheck: { numRuns: Math.min(RUNS, 60) } })
})

// ---------------------------------------------------------------------------------------------
// 6. public addresses and device tokens under token names
// ---------------------------------------------------------------------------------------------

describe("a public address is no secret; a device token is no credential", () => {
  const HEX = "0123456789abcdef"
  const found = (x: unknown) => Detect.scan(x, Detect.Policy.flagOnly).map((f) => f.category)
  /** an EVM address (`0x` and 20 bytes in hex), lower case or with its EIP-55 capitals */
  const evmAddress = fc.tuple(randomOf(HEX, 40, 40), fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), fc.boolean()).map(([h, up, caps]) => `0x${caps ? [...h].map((ch, i) => (up[i] ? ch.toUpperCase() : ch)).join("") : h}`)
  /** an APNs device token: 32 bytes in hex */
  const apnsToken = randomOf(HEX, 64, 64).filter((h) => /[a-f]/.test(h) && /\d/.test(h) && Detect.entropy(h) >= 3.5)
  it.prop("an EVM address under a token, address or wallet name, in text or as a field: no secret finding", [evmAddress, fc.constantFrom("token", "fromToken", "to_token", "tokenAddress", "token_address", "address", "wallet", "to", "from", "contract")], ([a, name]) => {
    const secrets = (x: unknown) => found(x).filter((c) => c === "generic_secret" || c === "password" || c === "bearer_token")
    for (const text of [`${name}=${a}`, `{"${name}": "${a}"}`, `${name}: ${a}`]) expect(secrets(text), text).toEqual([])
    expect(secrets({ [name]: a }), name).toEqual([])
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("an APNs or FCM device token (64 hex) under a device or push name: no finding; under a bare token name it stays a secret", [apnsToken, fc.constantFrom("deviceToken", "device_token", "pushToken", "apnsToken", "apns_device_token", "registrationToken")], ([t, name]) => {
    expect(found({ [name]: t }).filter((c) => c === "generic_secret"), name).toEqual([])
    expect(found(`${name}=${t}`).filter((c) => c === "generic_secret"), name).toEqual([])
    // (64 hex under `token`/`api_token` is the shape of real tokens too, Sentry's among them: kept)
    expect(redacted(`API_TOKEN=${t}`)).toBe(`API_TOKEN=${R}`)
  }, { fastCheck: { numRuns: RUNS } })
  it("an EVM private key (0x and 32 bytes) under a private-key name is still a secret", () => {
    expect(redacted("PRIVATE_KEY=0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")).toBe(`PRIVATE_KEY=${R}`)
  })
})

describe("`:=` with a bare value: a Make variable's value, or a word no program names a variable with", () => {
  const makeName = fc.constantFrom("DB_PASSWORD", "PASSWORD", "export DB_PASSWORD", "MYSQL_ROOT_PASSWORD", "override ADMIN_PASSWD")
  const mixed = randomOf(B62, 8, 24).filter((t) => /[a-z]/.test(t) && /[A-Z]/.test(t) && /\d/.test(t))
  it.prop("a Make variable's value after := is the password, up to the end of the line; a random word after Go's := too; a Go variable name after := is none", [makeName, pw, mixed, fc.constantFrom("password", "dbPassword", "pw")], ([name, p, m, goName]) => {
    expect(redacted(`${name} := ${p}\nall: build`), `${name} := ${p}`).toBe(`${name} := ${R}\nall: build`)
    expect(redacted(`${goName} := ${m}`), `${goName} := ${m}`).toBe(`${goName} := ${R}`)
    for (const v of ["getPassword()", "cfg.Password", "pw", "os.Getenv(\"DB_PASSWORD\")", "secret"]) {
      expect(rows(`${goName} := ${v}`), `${goName} := ${v}`).toEqual([])
    }
  }, { fastCheck: { numRuns: RUNS } })
})

// ---------------------------------------------------------------------------------------------
// a password whose own characters hold a password keyword and a colon (`a4wP#PW2Jwj:L5Q7`): one
// value, replaced whole in every layout (fresh seeds drew it: a block line or a pair's element was
// read as an assignment of its own, and its part before the colon stayed)
// ---------------------------------------------------------------------------------------------

describe("a password holding a keyword and a colon is one value", () => {
  const inner = fc
    .tuple(randomOf(B62, 1, 6), fc.constantFrom("#", "-", ".", "_", "!", "^", "~"), fc.constantFrom("PW", "Pw", "pw", "PSW", "pass", "PASS"), randomOf("23456789", 1, 3), randomOf("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", 1, 6), randomOf(B62 + "^~#", 3, 8))
    .map(([a, p, k, d, l, b]) => `a${a}${p}${k}${d}${l}:${b}Q7`)
  const layouts: ReadonlyArray<(v: string) => string> = [
    (v) => `config:\n  password: |\n    ${v}\n  user: bob`,
    (v) => `config:\n  db_password: >-\n    ${v}\n  port: 5432`,
    (v) => `["password", "${v}"]`,
    (v) => `{"name": "DB_PASSWORD", "value": "${v}"}`,
    (v) => `auth = ("admin", "${v}")`,
    (v) => `password = <<EOT\n${v}\nEOT\nuser = "bob"`,
    (v) => `password: ${v}`,
    (v) => `DB_PASSWORD="${v}"`,
    (v) => `postgres://app:${v.replace(/[#/?:]/g, "x")}@db:5432/app`
  ]
  it.prop("the whole password replaced, in a YAML block, a pair, a tuple, a heredoc, a line", [inner, fc.nat(layouts.length - 1)], ([v, i]) => {
    const text = layouts[i]!(v)
    const out = redacted(text) as string
    expect(out, text).not.toContain(v.slice(0, v.indexOf(":")))
    expect(out, text).not.toContain(v.slice(v.indexOf(":") + 1))
    expect(rows(text).filter((r) => r.endsWith(":critical")).length, text).toBeGreaterThanOrEqual(1)
  }, { fastCheck: { numRuns: RUNS } })
  it.each(["PW2=hunter2x", "DB_PW=q7Lm2Zp9", "pw: q7Lm2Zp9", "SMTP_PASS=q7Lm2Zp9"])("a key that ends in a keyword (and its digits) still is one: %s", (s) => {
    expect(rows(s)).toEqual(["password:critical"])
  })
})
