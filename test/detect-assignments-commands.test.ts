/**
 * Secrets given by a command, a statement or a call (issue 15, the third hostile review's #12, #17,
 * #18, #22): SQL user management, space-separated directives, subscripts, setters, name/value
 * arguments and argv arrays. Generated cases: statements, names, wrappings and values are drawn;
 * what is replaced is the value alone, and the rest of the text is kept exactly.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as Detect from "../src/Detect.js"
import { cpuBest as cpu, LONG, randomOf } from "./helpers.js"

const R = Detect.REPLACEMENT
// (more draws in the long run, ACTTRACE_LONG=1, with a fresh seed each time)
const RUNS = Number(process.env["PROP_RUNS"] ?? (LONG ? 600 : 120))
const everything: Detect.Policy = { name: "everything", default: "redact" }
const redacted = (value: unknown) => Detect.redact(value, everything).value
const cats = (value: unknown) => Detect.scan(value, Detect.Policy.flagOnly).map((f) => f.category)

/**
 * A password as people generate them: a letter and a digit first (a value made of letters alone
 * may be a word or a label, which the engine rightly spares), then letters, digits and the
 * punctuation a password holds. No quote, backslash, space, bracket, `%`, `$`, `:`, `@`, `&`, `?`
 * (they open a template, a variable or a bind parameter, or close the value: rules of their own,
 * tested in the other files), and no `,`/`;`/`)` (they end a bare SQL value).
 */
const password = fc
  .tuple(randomOf("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", 1, 1), randomOf("23456789", 1, 1), randomOf("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#^*+-_.", 6, 22))
  .map(([a, b, c]) => a + b + c)
/** a bare word as Oracle and a shell take it unquoted: letters, digits, `_` and `#` */
const barePassword = fc
  .tuple(randomOf("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", 1, 1), randomOf("23456789", 1, 1), randomOf("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789_#", 6, 22))
  .map(([a, b, c]) => a + b + c)
/** a generated token (what a token's or an API key's name takes): 32 to 48 letters and digits of both cases */
const token = fc
  .tuple(randomOf("ABCDEFGHJKLMNPQRSTUVWXYZ", 2, 2), randomOf("abcdefghijkmnopqrstuvwxyz", 2, 2), randomOf("23456789", 2, 2), randomOf("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", 26, 42))
  .map(([a, b, c, d]) => a + b + c + d)

/** wrappings a statement is logged in: as is, after another line, inside a JSON string (a tool call's argument) */
const wraps: ReadonlyArray<(t: string) => string> = [(t) => t, (t) => `-- migration 42\n${t}\n`, (t) => JSON.stringify({ sql: t })]
const wrapped = (i: number, t: string): string => wraps[i]!(t)

// ---------------------------------------------------------------------------------------------
// #12 SQL user management
// ---------------------------------------------------------------------------------------------

const users = ["'bob'@'%'", "'app'@'localhost'", '"svc"@"10.0.0.%"', "`ro`@`%`", "scott", "app_user"]
const sqlQuoted: ReadonlyArray<(u: string, p: string) => string> = [
  (u, p) => `ALTER USER ${u} IDENTIFIED BY '${p}';`,
  (u, p) => `CREATE USER ${u} IDENTIFIED BY '${p}';`,
  (u, p) => `create user if not exists ${u} identified by "${p}";`,
  (u, p) => `CREATE USER ${u} IDENTIFIED WITH mysql_native_password BY '${p}';`,
  (u, p) => `ALTER USER ${u} IDENTIFIED WITH caching_sha2_password BY '${p}' PASSWORD EXPIRE NEVER;`,
  (u, p) => `GRANT ALL PRIVILEGES ON app.* TO ${u} IDENTIFIED BY '${p}' WITH GRANT OPTION;`,
  (u, p) => `SET PASSWORD FOR ${u} = '${p}';`,
  (u, p) => `set password for ${u}='${p}'`,
  (_u, p) => `SET PASSWORD = PASSWORD('${p}');`,
  (u, p) => `SET PASSWORD FOR ${u} = PASSWORD('${p}');`,
  (_u, p) => `ALTER ROLE app WITH LOGIN PASSWORD '${p}';`
]
const sqlBare: ReadonlyArray<(u: string, p: string) => string> = [
  (_u, p) => `ALTER USER scott IDENTIFIED BY ${p};`,
  (_u, p) => `CREATE USER app_ro IDENTIFIED BY ${p} DEFAULT TABLESPACE users;`,
  (_u, p) => `alter user system identified by ${p} account unlock;`
]

describe("#12 SQL user management: the password alone is replaced", () => {
  it.prop("IDENTIFIED BY, IDENTIFIED WITH … BY, GRANT … IDENTIFIED BY, SET PASSWORD [FOR u] = [PASSWORD(]…, quoted", [
    fc.nat(sqlQuoted.length - 1),
    fc.constantFrom(...users),
    password,
    fc.nat(wraps.length - 1)
  ], ([i, u, p, w]) => {
    const text = wrapped(w, sqlQuoted[i]!(u, p))
    expect(redacted(text), text).toBe(wrapped(w, sqlQuoted[i]!(u, R)))
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("Oracle's bare IDENTIFIED BY word, ended by `;` or a space", [fc.nat(sqlBare.length - 1), barePassword, fc.nat(wraps.length - 1)], ([i, p, w]) => {
    const text = wrapped(w, sqlBare[i]!("", p))
    expect(redacted(text), text).toBe(wrapped(w, sqlBare[i]!("", R)))
  }, { fastCheck: { numRuns: RUNS } })
  it("no password: a bind parameter, a client variable, IDENTIFIED EXTERNALLY, prose", () => {
    for (const s of [
      "ALTER USER scott IDENTIFIED BY :new_password;",
      "CREATE USER ? IDENTIFIED BY ?",
      "ALTER USER app IDENTIFIED BY @pw;",
      "CREATE USER ops$bob IDENTIFIED EXTERNALLY;",
      "CREATE USER bob IDENTIFIED GLOBALLY AS 'CN=bob';",
      "SET PASSWORD FOR 'bob'@'%' = '${NEW_PASSWORD}';",
      "The user is identified by their e-mail address."
    ]) expect(cats(s), s).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// #18 space-separated directives
// ---------------------------------------------------------------------------------------------

const passwordNames = ["DB_PASSWORD", "PGPASSWORD", "MYSQL_ROOT_PASSWORD", "SMTP_PASS", "REDIS_PASSWORD", "admin_password", "KEYSTORE_PASSPHRASE"]
const tokenNames = ["API_TOKEN", "GITHUB_TOKEN", "NPM_TOKEN", "AUTH_TOKEN", "SLACK_API_KEY", "access_token"]
const directives: ReadonlyArray<(n: string, v: string) => string> = [
  (n, v) => `ENV ${n} ${v}`,
  (n, v) => `FROM node:20\nENV ${n} ${v}\nRUN npm ci`,
  (n, v) => `<VirtualHost *:80>\n    SetEnv ${n} ${v}\n</VirtualHost>`,
  (n, v) => `SetEnv ${n} "${v}"`,
  (n, v) => `setenv ${n} ${v}`,
  (n, v) => `if ( -f ~/.dev ) then\n  setenv ${n} '${v}'\nendif`,
  (n, v) => `set -gx ${n} ${v}`,
  (n, v) => `set -Ux ${n} '${v}'`,
  (n, v) => `set --export ${n} ${v}; and make deploy`,
  (n, v) => `setx ${n} "${v}"`,
  (n, v) => `setx ${n} ${v} /M`,
  (n, v) => `cd C:\\app && setx ${n} ${v}`
]
const jsonWraps: ReadonlyArray<(t: string) => string> = [(t) => t, (t) => JSON.stringify({ command: t })]

describe("#18 directives: a name, a space, the value", () => {
  it.prop("password names: ENV, SetEnv, setenv, set -gx/-Ux/--export, setx; the rest of the text kept", [
    fc.nat(directives.length - 1),
    fc.constantFrom(...passwordNames),
    password,
    fc.nat(jsonWraps.length - 1)
  ], ([i, n, p, w]) => {
    const text = jsonWraps[w]!(directives[i]!(n, p))
    expect(redacted(text), text).toBe(jsonWraps[w]!(directives[i]!(n, R)))
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("token and API key names with a generated value", [fc.nat(directives.length - 1), fc.constantFrom(...tokenNames), token, fc.nat(jsonWraps.length - 1)], ([i, n, k, w]) => {
    const text = jsonWraps[w]!(directives[i]!(n, k))
    expect(redacted(text), text).toBe(jsonWraps[w]!(directives[i]!(n, R)))
  }, { fastCheck: { numRuns: RUNS } })
  const options: ReadonlyArray<(p: string) => string> = [
    (p) => `requirepass ${p}`,
    (p) => `# security\nrequirepass "${p}"\nmaxmemory 2gb`,
    (p) => `masterauth ${p}`,
    (p) => `redis-server --port 6380 --requirepass ${p} --appendonly yes`,
    (p) => `keytool -genkeypair -alias app -keystore app.jks -storepass ${p} -keypass ${p} -dname CN=app`,
    (p) => `keytool -importkeystore -srckeystore a.p12 -srcstorepass ${p} -deststorepass ${p}`,
    (p) => `jarsigner -keystore app.jks -storepass ${p} app.jar app`,
    (p) => `nmcli dev wifi connect home-5G password ${p}`,
    (p) => `nmcli device wifi connect "Office WiFi" password "${p}" ifname wlan0`
  ]
  it.prop("redis requirepass/masterauth, keytool and jarsigner -storepass/-keypass, nmcli … password", [fc.nat(options.length - 1), password, fc.nat(jsonWraps.length - 1)], ([i, p, w]) => {
    const text = jsonWraps[w]!(options[i]!(p))
    expect(redacted(text), text).toBe(jsonWraps[w]!(options[i]!(R)))
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("aws configure set aws_secret_access_key (an AWS secret key); gh secret set NAME --body / -b", [
    fc.constantFrom(...["", "profile.prod.", "default."]),
    randomOf("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+", 40, 40).filter((k) => /[A-Z]/.test(k) && /[a-z]/.test(k) && /\d/.test(k)),
    token
  ], ([profile, key, k]) => {
    const aws = `aws configure set ${profile}aws_secret_access_key ${key}`
    expect(redacted(aws), aws).toBe(`aws configure set ${profile}aws_secret_access_key ${R}`)
    expect(cats(aws)).toContain("aws_secret_key")
    for (const gh of [(v: string) => `gh secret set API_TOKEN --body "${v}"`, (v: string) => `gh secret set DEPLOY_KEY -b ${v} --repo acme/app`, (v: string) => `gh secret set X --env prod --body=${v}`]) {
      expect(redacted(gh(k)), gh(k)).toBe(gh(R))
    }
  }, { fastCheck: { numRuns: RUNS } })
  it("no password: a reference, a variable, a description, prose; keytool's :env and :file", () => {
    for (const s of [
      "ENV DB_PASSWORD_FILE /run/secrets/db",
      "ENV DB_PASSWORD $DB_PASSWORD",
      "setenv DB_PASSWORD ${DB_PASSWORD}",
      "set -gx DB_PASSWORD (pass show db)",
      "keytool -list -keystore app.jks -storepass:env STOREPASS",
      "keytool -list -keystore app.jks -storepass:file /run/secrets/storepass",
      "Set password expiry to 90 days for all users.",
      "set password reset window",
      "setx API_TOKEN %API_TOKEN%",
      "requirepass \"\""
    ]) expect(cats(s), s).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// #17 subscripts, setters and call arguments
// ---------------------------------------------------------------------------------------------

const codeForms: ReadonlyArray<(n: string, v: string) => string> = [
  (n, v) => `os.environ["${n}"] = "${v}"`,
  (n, v) => `config['${n}'] = '${v}'`,
  (n, v) => `ENV['${n}'] = '${v}'`,
  (n, v) => `$_ENV['${n}'] = '${v}';`,
  (n, v) => `$cfg['db']['${n}'] = "${v}";`,
  (n, v) => `settings["${n}"] ||= "${v}"`,
  (n, v) => `Map.of("user", "bob", "${n}", "${v}")`,
  (n, v) => `ImmutableMap.of("host", "db", "${n}", "${v}", "port", "5432")`,
  (n, v) => `mapOf("user" to "bob", "${n}" to "${v}")`,
  (n, v) => `os.environ.setdefault("${n}", "${v}")`,
  (n, v) => `define('${n}', '${v}');`,
  (n, v) => `props.setProperty("mail.smtp.${n}", "${v}")`
]
/** setter names from a key: `setDbPassword`, `.withPassword`, `.password` */
const camel = (n: string): string => n.toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())
const setterForms: ReadonlyArray<(n: string, v: string) => string> = [
  (n, v) => `ds.set${camel(n).replace(/^./, (c) => c.toUpperCase())}("${v}");`,
  (n, v) => `builder.with${camel(n).replace(/^./, (c) => c.toUpperCase())}("${v}").build()`,
  (n, v) => `Client.builder().${camel(n)}("${v}").build();`,
  (n, v) => `$client->set${camel(n).replace(/^./, (c) => c.toUpperCase())}('${v}');`,
  (n, v) => `conn.set_${n.toLowerCase()}("${v}")`
]

describe("#17 subscripts, setters, key/value arguments: the literal replaced", () => {
  it.prop("password names", [fc.nat(codeForms.length + setterForms.length - 1), fc.constantFrom("DB_PASSWORD", "password", "PASSWORD", "db_pass", "smtp_password", "passphrase"), password, fc.nat(jsonWraps.length - 1)], ([i, n, p, w]) => {
    // (`setDbPass`: a camel-case `Pass` after a letter is no keyword anywhere in the engine, which
    // reads `pass` only as a word of its own: `bypass`, `compass`; the snake and subscript forms
    // hold it)
    if (n === "db_pass" && i >= codeForms.length) return
    const form = i < codeForms.length ? codeForms[i]! : setterForms[i - codeForms.length]!
    const text = jsonWraps[w]!(form(n, p))
    expect(redacted(text), text).toBe(jsonWraps[w]!(form(n, R)))
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("token and API key names with a generated value", [fc.nat(codeForms.length + setterForms.length - 1), fc.constantFrom("API_TOKEN", "api_key", "apiKey", "AUTH_TOKEN", "access_token", "SLACK_TOKEN"), token], ([i, n, k]) => {
    const form = i < codeForms.length ? codeForms[i]! : setterForms[i - codeForms.length]!
    const text = form(n, k)
    expect(redacted(text), text).toBe(form(n, R))
  }, { fastCheck: { numRuns: RUNS } })
  it("a variable or a call is code; a field list, a flag list, a label, another verb: no finding", () => {
    for (const s of [
      "ds.setPassword(pw);",
      'ds.setPassword(getenv("DB_PASSWORD"));',
      "client.setApiKey(System.getenv(\"API_KEY\"));",
      'os.environ["DB_PASSWORD"] = password',
      'config["password"] = get_secret("db")',
      'fields = ["username", "password", "email"]',
      'args = ["--password", "--user", "bob"]',
      'Map.of("label", "password", "type", "text")',
      '.password("Enter your password")',
      'form.setPassword("Password:")',
      'if (!checkPassword("Kx9mQ2zzPq")) fail()',
      'user.getPassword("default")'
    ]) expect(cats(s), s).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// #22 argv arrays written as text
// ---------------------------------------------------------------------------------------------

const argvForms: ReadonlyArray<(p: string) => string> = [
  (p) => `{"args":["-h","db","--password","${p}"]}`,
  (p) => `{"argv": ["psql", "-h", "db", "--db-password", "${p}", "-c", "select 1"]}`,
  (p) => `["sshpass","-p","${p}","ssh","deploy@host"]`,
  (p) => `["sshpass", "-p${p}", "scp", "a", "host:"]`,
  (p) => `["mysql","-u","root","-p${p}","app"]`,
  (p) => `["/usr/bin/mysqldump", "-h", "db", "-uroot", "-p${p}", "--all-databases"]`,
  (p) => `["redis-cli","-h","cache","-a","${p}","ping"]`,
  (p) => `["ldapsearch","-x","-D","cn=admin,dc=ex,dc=com","-w","${p}","-b","dc=ex,dc=com"]`,
  (p) => `["smbmap", "-H", "fileserver", "-u", "bob", "-p", "${p}"]`
]

describe("#22 argv arrays written as text: the password element replaced", () => {
  it.prop("--password and friends anywhere in a list; -p/-a/-w after the programs that take a password so", [fc.nat(argvForms.length - 1), password, fc.constantFrom((t: string) => t, (t: string) => JSON.stringify({ tool_input: t }))], ([i, p, w]) => {
    const text = w(argvForms[i]!(p))
    expect(redacted(text), text).toBe(w(argvForms[i]!(R)))
  }, { fastCheck: { numRuns: RUNS } })
  const registry: ReadonlyArray<(p: string) => string> = [
    (p) => `docker login -u bob -p ${p} registry.example.com`,
    (p) => `podman login --username bob -p "${p}" quay.io && podman push app`,
    (p) => `helm registry login ghcr.io -u bob -p ${p}`,
    (p) => `{"cmd":["docker","login","-u","bob","-p","${p}","registry.example.com"]}`,
    (p) => `["nerdctl", "login", "-p", "${p}"]`
  ]
  it.prop("a container registry's login: -p on a command line and in an argv array", [fc.nat(registry.length - 1), password, fc.nat(jsonWraps.length - 1)], ([i, p, w]) => {
    const text = jsonWraps[w]!(registry[i]!(p))
    expect(redacted(text), text).toBe(jsonWraps[w]!(registry[i]!(R)))
  }, { fastCheck: { numRuns: RUNS } })
  it("mysql's -p alone prompts (the next element is a database); -p after another program is a port or a path", () => {
    for (const s of ['["mysql","-u","root","-p","appdb"]', "docker run -p 8080:80 nginx", "docker login -u bob -p $REGISTRY_PASSWORD ghcr.io", '["docker","login","-p","${PW}"]', '["ssh","-p","2222","host"]', '["docker","run","-p","8080:80","nginx"]', '["redis-cli","-p","6380"]']) expect(cats(s), s).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// #24, #25: .netrc with the password before the login, PowerShell, net use, bash ANSI-C quoting
// ---------------------------------------------------------------------------------------------

const moreForms: ReadonlyArray<(p: string) => string> = [
  (p) => `machine db.example.com password ${p} login bob`,
  (p) => `machine db.example.com\n  password ${p}\n  login bob`,
  (p) => `machine api.example.com port 443 password ${p} login svc`,
  (p) => `default password ${p} login anonymous`,
  (p) => `$sec = ConvertTo-SecureString "${p}" -AsPlainText -Force`,
  (p) => `$cred = New-Object System.Management.Automation.PSCredential("bob", (ConvertTo-SecureString '${p}' -AsPlainText -Force))`,
  (p) => `ConvertTo-SecureString -String "${p}" -AsPlainText -Force | Set-Variable pw`,
  (p) => `ConvertTo-SecureString -AsPlainText -Force -String '${p}'`,
  (p) => `net use \\\\srv\\share /user:corp\\bob ${p}`,
  (p) => `net use Z: \\\\srv\\share ${p} /user:corp\\bob /persistent:no`,
  (p) => `NET USE \\\\fs01\\c$ /USER:Administrator ${p}`,
  (p) => `DB_PASSWORD=$'${p}'`,
  (p) => `declare -x PGPASSWORD=$'${p}'`
]

describe("#24/#25 more forms: the password alone replaced", () => {
  it.prop(".netrc password before login, ConvertTo-SecureString, net use, $'…' (ANSI-C)", [fc.nat(moreForms.length - 1), password, fc.nat(jsonWraps.length - 1)], ([i, p, w]) => {
    const text = jsonWraps[w]!(moreForms[i]!(p))
    expect(redacted(text), text).toBe(jsonWraps[w]!(moreForms[i]!(R)))
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("a token name in ANSI-C quoting", [fc.constantFrom(...tokenNames), token], ([n, k]) => {
    expect(redacted(`export ${n}=$'${k}'`)).toBe(`export ${n}=$'${R}'`)
  }, { fastCheck: { numRuns: RUNS } })
  it("no password: a prompt (`*`), a variable, an option after the user, prose about .netrc", () => {
    for (const s of [
      "net use \\\\srv\\share * /user:corp\\bob",
      "net use \\\\srv\\share /user:corp\\bob /persistent:yes",
      "net use \\\\srv\\share /user:corp\\bob %SHARE_PASSWORD%",
      "ConvertTo-SecureString $plain -AsPlainText -Force",
      "ConvertTo-SecureString (Get-Content pw.txt) -AsPlainText -Force",
      "DB_PASSWORD=$'${X}'",
      "The machine password rotation runs nightly."
    ]) expect(cats(s), s).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// linear time on the new patterns' adversarial inputs
// ---------------------------------------------------------------------------------------------

const adversarial: ReadonlyArray<readonly [string, (n: number) => string]> = [
  ["identified by", (n) => "identified by ".repeat(Math.ceil(n / 14)).slice(0, n)],
  ["identified with", (n) => `x identified with ${"a".repeat(n)}`],
  ["set password for, no =", (n) => `set password for ${"'bob'@'%' ".repeat(Math.ceil(n / 11)).slice(0, n)}`],
  ["set -x flags", (n) => "set -x -x -x ".repeat(Math.ceil(n / 13)).slice(0, n)],
  ["ENV name name", (n) => "\nENV DB_PASSWORD ".repeat(Math.ceil(n / 17)).slice(0, n)],
  ["subscript keys", (n) => 'password"] '.repeat(Math.ceil(n / 11)).slice(0, n)],
  ["setter opens", (n) => 'setPassword("'.repeat(Math.ceil(n / 13)).slice(0, n)],
  ["list of names", (n) => `[${'"password", '.repeat(Math.ceil(n / 12)).slice(0, n)}]`],
  ["argv, no flag", (n) => `["sshpass"${',"a"'.repeat(Math.ceil(n / 4)).slice(0, n)}]`],
  ["argv opens", (n) => '["mysql",'.repeat(Math.ceil(n / 9)).slice(0, n)],
  ["nmcli without password", (n) => `nmcli ${"dev ".repeat(Math.ceil(n / 4)).slice(0, n)}`],
  ["gh secret set repeated", (n) => "gh secret set X ".repeat(Math.ceil(n / 16)).slice(0, n)],
  ["requirepass repeated", (n) => "requirepass ".repeat(Math.ceil(n / 12)).slice(0, n)],
  ["netrc tokens, no password", (n) => `machine h ${"login a ".repeat(Math.ceil(n / 8)).slice(0, n)}`],
  ["machine repeated", (n) => "machine a\\n".repeat(Math.ceil(n / 11)).slice(0, n)],
  ["ConvertTo-SecureString switches", (n) => "ConvertTo-SecureString -Force ".repeat(Math.ceil(n / 30)).slice(0, n)],
  ["net use, options only", (n) => `net use ${"\\\\a /x ".repeat(Math.ceil(n / 7)).slice(0, n)}`],
  ["net use repeated", (n) => "net use /user:a ".repeat(Math.ceil(n / 16)).slice(0, n)],
  ["docker login without -p", (n) => `docker login ${"-u a ".repeat(Math.ceil(n / 5)).slice(0, n)}`],
  ["argv docker login elements", (n) => `["docker","login"${',"a"'.repeat(Math.ceil(n / 4)).slice(0, n)}]`],
  ["ANSI-C opens", (n) => "password=$'".repeat(Math.ceil(n / 11)).slice(0, n)]
]

describe("the new patterns run in linear time", () => {
  it.each(adversarial)("%s: 1 MB within 16 times 64 KB (and a margin), under 3 s", async (_name, make) => {
    const small = make(64 * 1024)
    const large = make(1024 * 1024)
    const a = cpu(() => void Detect.redact(small, Detect.Policy.default))
    await new Promise((r) => setImmediate(r))
    const b = cpu(() => void Detect.redact(large, Detect.Policy.default))
    await new Promise((r) => setImmediate(r))
    expect(b, `${Math.round(b)} ms for 1 MB against ${Math.round(a)} ms for 64 KB`).toBeLessThanOrEqual(32 * a + 200)
    expect(b).toBeLessThan(3000)
  })
})

// ---------------------------------------------------------------------------------------------
// needs: a detector's narrower condition, read on the string once its hint passes
// ---------------------------------------------------------------------------------------------

describe("needs", () => {
  // every form of this file, written out with a sample value (the forms the detectors with a
  // `need` are for), as is and inside a JSON string
  const p = "Xy7kq2Pz!9w"
  const k = "AbCd3456efGH7890ijKL1234mnOP5678"
  const written: Array<string> = [
    ...users.flatMap((u) => [...sqlQuoted, ...sqlBare].map((f) => f(u, p))),
    ...[...passwordNames, ...tokenNames].flatMap((n) => [...directives, ...codeForms, ...setterForms].map((f) => f(n, n.includes("PASS") || n.includes("pass") ? p : k))),
    ...argvForms.map((f) => f(p)),
    ...moreForms.map((f) => f(p)),
    `requirepass ${p}`, `masterauth ${p}`, `requirepass "${p}"`, `masterauth '${p}'`, `keytool -list -storepass "${p}"`, `keytool -genkeypair -storepass ${p} -keypass ${p}`, `keytool -importkeystore -srcstorepass ${p} -deststorepass ${p}`,
    `nmcli dev wifi connect home-5G password ${p}`, `nmcli device wifi connect "Office WiFi" password "${p}" ifname wlan0`,
    `aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`, `gh secret set API_TOKEN --body "${k}"`, `gh secret set DEPLOY_KEY -b ${k} --repo acme/app`,
    `export API_TOKEN=$'${k}'`,
    // the forms of a value by its key that have a need of their own: heredocs, lists under a key,
    // .netrc with login first, a value compared with a key
    `password = <<EOT\n${p}\nEOT`, `db_password = <<-"EOT"\n  ${p}\n  EOT`, `client_secret = <<~EOT\n${k}\nEOT`,
    `passwords: ["${p}", "${p}2"]`, `api_keys = ['${k}']`, `"tokens": [${k}]`,
    `passwords:\n  - ${p}\n  - ${p}2`, `api_keys:\n- ${k}`, `client_secrets:\n  - ${k}`,
    `machine db.example.com\nlogin bob\npassword ${p}`, `machine h login bob password ${p}`,
    `if ("${p}" == password) ok()`, `if ('${k}' !== api_secret) deny()`
  ]
  const texts = [...written, ...written.map((t) => JSON.stringify({ command: t }))]
  const withNeed = Detect.builtins.filter((d) => d.need !== undefined)

  it("every built-in need holds on every text where its detector, without it, finds something; and each finds something here", () => {
    expect(withNeed.length).toBeGreaterThanOrEqual(20)
    for (const d of withNeed) {
      // the detector as it is, without its need (its getters read into a plain object)
      const bare: Detect.Detector = { ...d, need: undefined }
      const need = new RegExp(d.need!.source, "i")
      const found = texts.filter((t) => Detect.scan(t, Detect.Policy.flagOnly, [bare]).length > 0)
      expect(found.length, `${d.category} ${d.need}: finds nothing here`).toBeGreaterThan(0)
      for (const t of found) expect(need.test(t), `${d.category}: ${d.need} refuses ${t}`).toBe(true)
    }
  })

  it("a text its need refuses is not searched by the detector; one it passes is, and a need is read once per string", () => {
    let reads = 0
    // a need that counts its reads (the engine copies a need once, keeping its class)
    class Counted extends RegExp {
      override test(s: string): boolean {
        reads++
        return super.test(s)
      }
    }
    const need = new Counted("gadget", "i")
    const mk = (n: number): Detect.Detector => ({ category: `custom_${n}`, group: "secret", severity: "critical", hint: /widget/, need, pattern: new RegExp(`widget-${n}\\d{3}`, "g") })
    const set = [mk(1), mk(2), mk(3)]
    const categories = (t: unknown) => Detect.scan(t, Detect.Policy.flagOnly, set).map((f) => f.category).sort()
    expect(categories("widget-1234 widget-2345")).toEqual([])
    expect(reads).toBe(1)
    reads = 0
    expect(categories("widget-1234 widget-3456 gadget")).toEqual(["custom_1", "custom_3"])
    expect(reads).toBe(1)
    // the need is read on the string alone: a key that holds it does not open the string
    expect(categories({ gadget: "widget-1234" })).toEqual([])
    // a string the hint refuses is not read for the need
    reads = 0
    expect(categories("gadget-1234")).toEqual([])
    expect(reads).toBe(0)
  })
})
