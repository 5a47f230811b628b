/**
 * Secrets held in JSON arrays whose meaning is in the array's shape (issue 15): the elements of an
 * array under a plural secret key (`{"passwords": [...]}`, `{"api_keys": [...]}`), and argv given
 * as a real array (what tool calls pass to `subprocess.run` or `execFile`): the value after a flag
 * or a name that names a secret (`["--password", "…"]`, `["DB_PASSWORD", "…"]`), and the short
 * password flags of the programs that take one (`mysql -p…`, `sshpass -p`, `redis-cli -a`,
 * `ldapsearch -w`). Generated cases, and the lists that must stay as they are.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as Detect from "../src/Detect.js"
import { cpuBest, randomOf } from "./helpers.js"

const R = Detect.REPLACEMENT
const RUNS = Number(process.env["PROP_RUNS"] ?? 150)
const everything: Detect.Policy = { name: "everything", default: "redact" }
const redacted = (value: unknown) => Detect.redact(value, everything).value
/** the findings of a value, one count per category (real and placeholder rows together) */
const counts = (value: unknown): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const f of Detect.scan(value, Detect.Policy.flagOnly)) out[f.category] = (out[f.category] ?? 0) + f.count
  return out
}

// ---------------------------------------------------------------------------------------------
// generators
// ---------------------------------------------------------------------------------------------

const B62 = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
/**
 * A value written as a camel-case name (`abcDefGhk42`) is left out: under a plural key such an
 * element reads as a secret's name (`{"secrets": ["githubToken"]}`), decided below.
 */
const CAMEL = /^[a-z]+(?:[A-Z][a-z]+)+\d{0,2}$/
/**
 * A strong password: letters, digits and `!#%*+.?^_~`, with a lower, an upper and a digit. No `=`:
 * a value holding `pw=…` is an assignment of its own, which the text detectors read inside it (as
 * they do in a field's value), replacing what follows `=` alone. Not
 * starting with `-` (a flag, by rule no value), nor with `!`, `$`, `%`, `{`, `[`, `<` (which
 * start references and templates); no `@` (an e-mail address has its own detector), no `:`, `/`
 * (a path or a URL is judged by other rules), no whitespace.
 */
const password = randomOf(B62 + "!#%*+.?^_~", 9, 24).filter(
  (v) => /[a-z]/.test(v) && /[A-Z]/.test(v) && /\d/.test(v) && /^[A-Za-z0-9]/.test(v) && !/^%[A-Za-z_]\w*%$/.test(v) && !CAMEL.test(v)
)
/** a token or an API key: 24 to 48 random base62 characters with a lower, an upper and a digit */
const token = randomOf(B62, 24, 48).filter((v) => /[a-z]/.test(v) && /[A-Z]/.test(v) && /\d/.test(v) && !CAMEL.test(v))

/** the password family: the key's word, how it is cased and joined */
const passwordKeys = ["password", "PASSWORD", "Password", "db_password", "adminPassword", "DB_PASSWORD", "passwd", "passphrase", "root-password", "smtp.password"]
/** the secret family whose values are judged as a secret's (any value that is no word) */
const secretKeys = ["secret", "client_secret", "SECRET", "webhookSecret", "app-secret"]
/** the token and key family, whose values are judged by how generated they look */
const tokenKeys = ["token", "api_key", "apiKey", "API_KEY", "access_token", "refreshToken", "private_key", "auth_token", "credential", "X-Api-Key", "accessKey"]
/** a plural of a key: an `s` (an `S` after capitals) */
const plural = (k: string) => (/[A-Z]$/.test(k) ? `${k}S` : `${k}s`)

type Family = "password" | "generic_secret"
/** a key of any family with a value it takes, and the finding's category */
const keyed: fc.Arbitrary<[string, string, Family]> = fc.oneof(
  fc.tuple(fc.constantFrom(...passwordKeys), password).map(([k, v]): [string, string, Family] => [k, v, "password"]),
  fc.tuple(fc.constantFrom(...secretKeys), password).map(([k, v]): [string, string, Family] => [k, v, "generic_secret"]),
  fc.tuple(fc.constantFrom(...tokenKeys), token).map(([k, v]): [string, string, Family] => [k, v, "generic_secret"])
)

/** how a flag is spelt on a command line: `--name`, `-name`, and kebab-case of a camel name */
const flagOf = (k: string, how: number) => {
  const kebab = k.replace(/([a-z])([A-Z])/g, "$1-$2").replace(/[_.]/g, "-").toLowerCase()
  return how === 0 ? `--${kebab}` : how === 1 ? `-${kebab}` : `--${k}`
}

/** arguments around the pair that name no secret */
const FILLER = ["-u", "root", "--host", "db.internal", "-v", "--port", "5432", "-h", "localhost", "--verbose", "run", "deploy", "app.py", "-e", "NODE_ENV=production", "--json", "-o", "out.txt"]
const filler = fc.array(fc.constantFrom(...FILLER), { maxLength: 8 })

/** the argv with `pair` inserted at a position, and where its value is */
const argvWith = (before: ReadonlyArray<string>, after: ReadonlyArray<string>, pair: ReadonlyArray<string>) => [...before, ...pair, ...after]

/** put an array somewhere in a payload: as a field, nested in an array, in an object in an array */
const NESTINGS: ReadonlyArray<(a: unknown) => unknown> = [
  (a) => ({ args: a }),
  (a) => ({ tool: "shell", input: { cmd: a, timeout: 30 } }),
  (a) => [a],
  (a) => ({ calls: [{ argv: a }, { argv: ["ls", "-la"] }] }),
  (a) => ({ steps: [[a]] })
]
const nesting = fc.nat(NESTINGS.length - 1)

// ---------------------------------------------------------------------------------------------
// plural keys
// ---------------------------------------------------------------------------------------------

describe("an array under the plural of a secret key: each element judged as under the singular", () => {
  it.prop(
    "every element replaced, one finding each, of the key's family",
    [keyed, fc.array(fc.nat(), { minLength: 0, maxLength: 4 }), nesting],
    ([[k, v, family], more, n]) => {
      const values = [v, ...more.map((i) => `${v.slice(0, 4)}${i}${v.slice(4)}`)]
      const value = NESTINGS[n]!({ [plural(k)]: values, note: "rotated" })
      expect(redacted(value), JSON.stringify(value)).toEqual(NESTINGS[n]!({ [plural(k)]: values.map(() => R), note: "rotated" }))
      expect(counts(value)).toEqual({ [family]: values.length })
    },
    { fastCheck: { numRuns: RUNS } }
  )
  it.prop("nested arrays under a plural key", [keyed], ([[k, v, family]]) => {
    const value = { [plural(k)]: [[v], ["Zq" + v]] }
    expect(redacted(value)).toEqual({ [plural(k)]: [[R], [R]] })
    expect(counts(value)).toEqual({ [family]: 2 })
  }, { fastCheck: { numRuns: RUNS } })
})

describe("an array under a secret key (singular): a random value does not name the next one", () => {
  // a value that passes a hint of its own (base64, mixed case and digits) is no name: in a pair
  // under `password`, both elements are values of the key
  it.prop("two random values under a password key: both replaced", [fc.stringMatching(/^[a-z]{2,4}[A-Z]{2,4}[a-z]{4,8}[0-9]{2}$/)], ([v]) => {
    expect(redacted({ password: [v, v] })).toEqual({ password: [R, R] })
    expect(redacted({ password: [v, v + "x"] })).toEqual({ password: [R, R] })
  }, { fastCheck: { numRuns: RUNS } })
  it("a value named as names are still names the next one", () => {
    expect(redacted({ headers: ["X-Api-Key", "RzEfCpgxGYJcPHRK7jnFZdLd"] })).toEqual({ headers: ["X-Api-Key", R] })
    expect(redacted({ password: ["aaaAAAaaaaaaaa22", "aaaAAAaaaaaaaa22"] })).toEqual({ password: [R, R] })
  })
})

// ---------------------------------------------------------------------------------------------
// argv: the value after a flag or a name
// ---------------------------------------------------------------------------------------------

describe("argv as an array: the element after a flag or a name naming a secret is its value", () => {
  it.prop(
    "--flag value anywhere in a longer argv: the value alone replaced, one finding",
    // (not a program that takes a glued short flag: `mysql -password X` is `-p` and `assword`, below)
    [keyed, fc.nat(2), fc.constantFrom("pg_dump", "psql", "tool", "python3", "/usr/local/bin/deploy"), filler, filler, nesting],
    ([[k, v, family], how, program, before, after, n]) => {
      const flag = flagOf(k, how)
      const argv = argvWith([program, ...before], after, [flag, v])
      const value = NESTINGS[n]!(argv)
      expect(redacted(value), JSON.stringify(argv)).toEqual(NESTINGS[n]!(argvWith([program, ...before], after, [flag, R])))
      expect(counts(value)).toEqual({ [family]: 1 })
    },
    { fastCheck: { numRuns: RUNS } }
  )
  it.prop(
    "NAME value as consecutive elements (a compound name, or a pair of two)",
    [keyed.filter(([k]) => /[_.-]|[a-z][A-Z]/.test(k)), fc.constantFrom((k: string) => k, (k: string) => k.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase().replace(/[.-]/g, "_")), filler, filler],
    ([[k, v, family], spell, before, after]) => {
      const name = spell(k)
      const argv = ["env", ...before, name, v, ...after]
      expect(redacted({ env: argv }), JSON.stringify(argv)).toEqual({ env: ["env", ...before, name, R, ...after] })
      expect(counts({ env: argv })).toEqual({ [family]: 1 })
    },
    { fastCheck: { numRuns: RUNS } }
  )
  it.prop("mysql -password X: mysql's password `assword` and X, meant for one, both replaced", [password], ([v]) => {
    const argv = ["mysql", "-u", "root", "-password", v, "mydb"]
    expect(redacted(argv)).toEqual(["mysql", "-u", "root", `-p${R}`, R, "mydb"])
    expect(counts(argv)).toEqual({ password: 2 })
  }, { fastCheck: { numRuns: 20 } })
  it.prop("a pair of two: [name, value] (a header or a form field as a tuple)", [keyed], ([[k, v, family]]) => {
    const value = { headers: [["Accept", "application/json"], [k, v]] }
    expect(redacted(value)).toEqual({ headers: [["Accept", "application/json"], [k, R]] })
    expect(counts(value)).toEqual({ [family]: 1 })
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("several flags in one argv: each value once", [password, token, filler], ([p, t, mid]) => {
    const argv = ["deploy", "--db-password", p, ...mid, "--api-key", t]
    expect(redacted(argv)).toEqual(["deploy", "--db-password", R, ...mid, "--api-key", R])
    expect(counts(argv)).toEqual({ password: 1, generic_secret: 1 })
  }, { fastCheck: { numRuns: RUNS } })
})

// ---------------------------------------------------------------------------------------------
// argv: the short password flags of the programs that take one
// ---------------------------------------------------------------------------------------------

/** a program, the way its path is written, and its flag: glued (`-pX`) or separate (`-p X`) */
const PROGRAMS: ReadonlyArray<readonly [string, string, "glued" | "separate" | "both"]> = [
  ["mysql", "-p", "glued"],
  ["mysqldump", "-p", "glued"],
  ["mariadb", "-p", "glued"],
  ["mariadb-dump", "-p", "glued"],
  ["sshpass", "-p", "both"],
  ["redis-cli", "-a", "separate"],
  ["ldapsearch", "-w", "both"],
  ["ldapmodify", "-w", "both"],
  ["smbmap", "-p", "separate"]
]
const pathOf = (p: string, i: number) => [p, `/usr/bin/${p}`, `C:\\Program Files\\MySQL\\bin\\${p}.exe`, `./bin/${p}`][i]!
const SAFE_FILLER = ["-u", "root", "-h", "db.internal", "--port", "5432", "-v", "-x", "-D", "--json"]

describe("argv as an array: short password flags when the first element is the program", () => {
  it.prop(
    "mysql -pX, sshpass -p X / -pX, redis-cli -a X, ldap* -w X / -wX, smbmap -p X",
    [fc.nat(PROGRAMS.length - 1), fc.nat(3), fc.boolean(), password, fc.array(fc.constantFrom(...SAFE_FILLER), { maxLength: 6 }), fc.array(fc.constantFrom("mydb", "--batch", "SELECT 1"), { maxLength: 3 })],
    ([i, p, glue, v, before, after]) => {
      const [program, flag, how] = PROGRAMS[i]!
      const glued = how === "glued" || (how === "both" && glue)
      const pair = glued ? [`${flag}${v}`] : [flag, v]
      const want = glued ? [`${flag}${R}`] : [flag, R]
      const argv = [pathOf(program, p), ...before, ...pair, ...after]
      expect(redacted({ argv }), JSON.stringify(argv)).toEqual({ argv: [pathOf(program, p), ...before, ...want, ...after] })
      expect(counts({ argv })).toEqual({ password: 1 })
    },
    { fastCheck: { numRuns: RUNS } }
  )
})

// ---------------------------------------------------------------------------------------------
// what stays
// ---------------------------------------------------------------------------------------------

const PATHS = ["/run/secrets/db", "./secrets/pw.txt", "/etc/app/token", "~/.config/key", "C:\\secrets\\pw.txt"]
describe("arrays that hold no secret stay as they are", () => {
  it.prop("a flag naming a file, stdin, a length or a count, then its argument", [
    fc.constantFrom("--password-file", "--passwordFile", "--token-file", "--secret-file", "--api-key-file", "--password-stdin", "--password-length", "--max-tokens", "--token-count", "--secret-name", "--secret-id"),
    fc.oneof(fc.constantFrom(...PATHS), fc.constantFrom("registry.example.com", "4096", "prod-db-2024", "32"))
  ], ([flag, arg]) => {
    const argv = ["tool", flag, arg, "--verbose"]
    expect(redacted(argv)).toEqual(argv)
    expect(counts(argv)).toEqual({})
  }, { fastCheck: { numRuns: RUNS } })

  it.prop("a flag after a flag is no value: [--password, --verbose]", [fc.constantFrom("--password", "--api-key", "--token", "-password", "DB_PASSWORD"), fc.constantFrom("--verbose", "-v", "--yes", "--json", "-")], ([flag, next]) => {
    const argv = ["tool", flag, next]
    expect(redacted(argv)).toEqual(argv)
  }, { fastCheck: { numRuns: RUNS } })

  it.prop("references and templates after a flag are no value: $TOKEN, ${PW}, {{ pw }}, <password>", [
    fc.constantFrom("--password", "--token", "--api-key", "--client-secret", "DB_PASSWORD"),
    fc.constantFrom("$TOKEN", "${PW}", "$DB_PASSWORD", "{{ pw }}", "<password>", "%(password)s", "${{ secrets.TOKEN }}", "$(cat /run/secrets/pw)")
  ], ([flag, ref]) => {
    const argv = ["tool", flag, ref]
    expect(redacted(argv)).toEqual(argv)
  }, { fastCheck: { numRuns: RUNS } })

  /** words a list of field names or a list of words is made of (letters, `_`, `-`, `.`) */
  const fieldName = fc.constantFrom("username", "email", "reset", "help", "id", "created_at", "user.name", "password_confirmation", "first-name", "token", "secret", "role", "confirm")
  it.prop("lists of field names and words: [password, username], [password, reset, help], {keys: [name, id]}", [
    fc.constantFrom("password", "Password", "api_key", "token", "secret", "DB_PASSWORD", "passwords", "tokens", "keys", "secrets"),
    fc.array(fieldName, { minLength: 1, maxLength: 5 }),
    fc.constantFrom("fields", "columns", "keys", "select", "words", "required", "args")
  ], ([first, rest, key]) => {
    const value = { [key]: [first, ...rest] }
    expect(redacted(value)).toEqual(value)
    expect(counts(value)).toEqual({})
  }, { fastCheck: { numRuns: RUNS } })

  it.prop("a list of secrets' names under a plural key: {secrets: [DB_PASSWORD, npm-token, githubToken, my_app_cert]}", [
    fc.constantFrom("secrets", "tokens", "api_keys", "passwords", "credentials", "SECRETS"),
    fc.array(fc.constantFrom("DB_PASSWORD", "NPM_TOKEN", "npm-token", "aws-access-key-id", "my_app_cert", "db_password_v2", "githubToken", "apiKey2", "site.tls.cert", "GOOGLE_APPLICATION_CREDENTIALS"), { minLength: 1, maxLength: 6 })
  ], ([key, names]) => {
    const value = { [key]: names }
    expect(redacted(value)).toEqual(value)
    expect(counts(value)).toEqual({})
  }, { fastCheck: { numRuns: RUNS } })

  it.prop("a keyword as a command's word, then a path or a file: grep -r password src/", [
    fc.constantFrom("password", "secret", "token", "api_key"),
    fc.constantFrom("src/", "/etc", "./config", "app.log", "~/", "config.yml")
  ], ([word, where]) => {
    const argv = ["grep", "-rn", word, where]
    expect(redacted(argv)).toEqual(argv)
  }, { fastCheck: { numRuns: RUNS } })

  it.prop("token counts of a model call: numbers under tokens, prompt_tokens, usage", [fc.array(fc.nat(200_000), { minLength: 1, maxLength: 8 }), fc.nat(200_000)], ([ns, n]) => {
    for (const value of [
      { tokens: ns },
      { usage: { tokens: ns, prompt_tokens: n, completion_tokens: n + 1, total_tokens: 2 * n + 1 } },
      { prompt_tokens: ns, input_tokens: [n] },
      { usage: { input_tokens: n, output_tokens: n, cache_read_input_tokens: n } }
    ]) {
      expect(redacted(value)).toEqual(value)
      expect(counts(value)).toEqual({})
    }
  }, { fastCheck: { numRuns: RUNS } })

  it.prop("a tokenizer's tokens: short pieces of text under tokens", [fc.array(fc.constantFrom("The", " quick", " brown", "Ġfox", "▁jumps", "##ing", "<s>", "</s>", "\n", "12", " over"), { minLength: 1, maxLength: 20 })], ([pieces]) => {
    const value = { tokens: pieces, logprobs: { tokens: pieces } }
    expect(redacted(value)).toEqual(value)
  }, { fastCheck: { numRuns: RUNS } })

  it.prop("mysql -p alone prompts: the next argument is the database", [fc.constantFrom("mysql", "/usr/bin/mysqldump", "mariadb"), fc.constantFrom("mydb", "app_2024", "Prod4Db")], ([program, db]) => {
    const argv = [program, "-u", "root", "-p", db]
    expect(redacted(argv)).toEqual(argv)
  }, { fastCheck: { numRuns: RUNS } })

  it.prop("sshpass -p X ssh -p 2222: the password alone, not ssh's port", [password], ([v]) => {
    const argv = ["sshpass", "-p", v, "ssh", "-p", "2222", "bastion"]
    expect(redacted(argv)).toEqual(["sshpass", "-p", R, "ssh", "-p", "2222", "bastion"])
  }, { fastCheck: { numRuns: RUNS } })

  it.prop("short flags of other programs are not passwords: psql -p 5432, ssh -p 22, curl -a", [fc.constantFrom("psql", "ssh", "tool", "scp", "curl"), fc.constantFrom("-p", "-a", "-w"), fc.constantFrom("5432", "Prod4Db", "x9Yz!abc")], ([program, flag, v]) => {
    const argv = [program, flag, v]
    expect(redacted(argv)).toEqual(argv)
  }, { fastCheck: { numRuns: RUNS } })
})

// ---------------------------------------------------------------------------------------------
// linear time
// ---------------------------------------------------------------------------------------------

describe("arrays: linear time", () => {
  /** adversarial arrays of about `bytes` characters */
  const inputs = (bytes: number): ReadonlyArray<readonly [string, unknown]> => {
    const fill = (piece: ReadonlyArray<string>) => {
      const out: Array<string> = []
      let n = 0
      while (n < bytes) for (const p of piece) (out.push(p), (n += p.length + 3))
      return out
    }
    return [
      ["names only", fill(["--password"])],
      ["name, value", fill(["--db-password", "Zq8vLm2pRtx"])],
      ["compound names", fill(["DB_PASSWORD", "API_KEY"])],
      ["a program's flags", ["mysql", ...fill(["-pZq8vLm2pRtx", "-p"])]],
      ["plural key", { passwords: fill(["Zq8vLm2pRtx", "x"]) }],
      ["short plain strings", fill(["abc123", "hello", "x-1"])]
    ]
  }
  it("each input of 1 MB within 24 × its 64 KB form", async () => {
    const small = inputs(64 * 1024)
    const large = inputs(1024 * 1024)
    for (let i = 0; i < small.length; i++) {
      await new Promise((r) => setImmediate(r))
      let ts = Infinity
      let tl = Infinity
      for (let attempt = 0; attempt < 3 && !(tl < 24 * ts + 30); attempt++) {
        ts = Math.min(ts, cpuBest(() => void Detect.redact(small[i]![1])))
        await new Promise((r) => setImmediate(r))
        tl = Math.min(tl, cpuBest(() => void Detect.redact(large[i]![1])))
      }
      expect(tl, `${small[i]![0]}: 64 KB ${ts.toFixed(1)} ms, 1 MB ${tl.toFixed(1)} ms`).toBeLessThan(24 * ts + 30)
    }
  })
})
