/**
 * Secrets given by a command, a statement or a call rather than by `key = value`: SQL user
 * management (`IDENTIFIED BY '…'`, `SET PASSWORD … = '…'`), space-separated directives
 * (Dockerfile `ENV NAME value`, Apache `SetEnv`, csh `setenv`, fish `set -gx`, Windows `setx`,
 * redis `requirepass`/`masterauth`, keytool `-storepass`, `nmcli … password`, `aws configure set`,
 * `gh secret set … --body`), assignment by subscript (`os.environ["DB_PASSWORD"] = "…"`), setter
 * and builder calls (`setPassword("…")`, `.withApiKey("…")`), name/value pairs inside a call's
 * arguments or a list (`Map.of("user", "bob", "password", "…")`, `["--password", "…"]`), and argv
 * arrays of the programs that take a password after a short flag (`["sshpass", "-p", "…"]`,
 * `["mysql", "-p…"]`).
 *
 * These detectors reuse the judges of `assignments.ts` (the password and secret keywords, what is
 * a value, what is a placeholder), so a form found here is judged as the same value under the same
 * name in `name = value` would be. Only the value is replaced: the statement, the user, the
 * directive and the name stay in the record.
 *
 * Linear time (the rules are in `matching.ts`): every search starts at a literal (`identified`,
 * `set password`, a directive's word, a keyword, `[` then a quoted program name), and every piece
 * after it is a bounded run of one class or a lazy loop of one class ended by a quote or a line
 * break, so a start reads a bounded stretch (at most the line, or a few hundred characters).
 *
 * `assignments.ts` spreads these detectors into its list and hands this module its judges
 * (`commandAssignments(judges)`): this module imports nothing of it, so the module graph has no
 * cycle. The detectors are built on first use (each property a getter of one memoised build),
 * after the judges are handed over.
 *
 * @since 0.1.0
 */
import type { Detector, MatchContext } from "./detector.js"

/** a family's keyword pattern, hint and placeholder check, as `assignments.ts` reads them */
interface FamilyJudges {
  readonly word: string
  readonly hint: RegExp
  readonly placeholder: (m: string) => boolean
}

/**
 * The judges of `assignments.ts` these detectors share (what a password key and value are, the
 * keywords, words about a value), handed over once by that module.
 *
 * @since 0.1.0
 * @category detectors
 */
export interface Judges {
  readonly ABOUT: RegExp
  readonly awsSecretShape: (v: string) => boolean
  readonly familyOf: (family: "password" | "secret") => FamilyJudges
  readonly FIELD_NAME: RegExp
  readonly identifierTail: (s: string, slash?: boolean) => string
  readonly MESSAGE_WORDS: RegExp
  readonly passwordKey: (key: string) => boolean
  readonly passwordValue: (v: string) => boolean
  readonly secretByKey: (key: string, v: string, quoted: boolean) => boolean
  readonly SECRET_HINT: RegExp
  readonly PASSWORD_HINT: RegExp
}

// the judges, set once by `commandAssignments` before any detector here is built (each builds on
// first use)
let ABOUT: RegExp
let awsSecretShape: Judges["awsSecretShape"]
let familyOf: Judges["familyOf"]
let FIELD_NAME: RegExp
let identifierTail: Judges["identifierTail"]
let MESSAGE_WORDS: RegExp
let passwordKey: Judges["passwordKey"]
let passwordValue: Judges["passwordValue"]
let secretByKey: Judges["secretByKey"]
let SECRET_HINT: RegExp
let PASSWORD_HINT: RegExp

/** each family's category and group, known without the other module (see `lazy`) */
const KIND = { password: ["password", "credential"], secret: ["generic_secret", "secret"] } as const

/** what a detector is once built: everything but the fields known without the other module */
type Built = Omit<Detector, "category" | "group" | "severity">

/**
 * A detector whose pattern, hint and checks are built on first use (see the module's comment: the
 * import cycle with `assignments.ts`). Each getter reads one memoised build.
 */
const lazy = (category: string, group: string, build: () => Built): Detector => {
  let built: Built | undefined
  const get = (): Built => (built ??= build())
  return {
    category,
    group,
    severity: "critical",
    get pattern() {
      return get().pattern
    },
    get hint() {
      return get().hint
    },
    get validate() {
      return get().validate
    },
    get placeholder() {
      return get().placeholder
    },
    get placeholderGeneric() {
      return get().placeholderGeneric
    },
    get trimEnd() {
      return get().trimEnd
    },
    get need() {
      return get().need
    }
  }
}

/** The same expression anchored at a match's start, to read its groups again in a validator. */
const groupsOf = (re: RegExp) => {
  const at = new RegExp(re.source, re.flags.replace("g", "") + "y")
  return (m: string): Record<string, string | undefined> | null => {
    at.lastIndex = 0
    const g = at.exec(m)
    return g === null || g[0].length !== m.length ? null : (g.groups ?? {})
  }
}

/**
 * A quoted value or a bare word after a command's word: `(?<q>…)` is the opening quote when there
 * is one; the value runs to the matching closing quote (not escaped) or the end of the line, or,
 * bare, to whitespace, a quote, `;` or `,` (a SQL statement's end). A value that opens as a
 * reference (`$PW`, `${PW}`, `%PW%`, `:pw`, `?`, `@pw`: a variable or a bind parameter) is judged
 * by `passwordValue` (templates and variables) and `BIND`.
 */
const VALUE = "(?:@|[rRbBuUfFnN]{1,2})?(?:(?<q>\\\\{0,7}[\"'`])(?<v>[^\\r\\n]*?)(?=(?<!\\\\)\\k<q>|[\\r\\n]|$)|(?<v2>[^\\s\"'`;,()]+?)(?=\\\\[nrt]|\\\\{1,7}[\"'`]|[\\s\"'`;,)]|$))"
/**
 * A bare value: one word, to whitespace, a quote (escaped or not), `;`, `,` or `)` (a SQL
 * statement's end, a call's), or a line break written as an escape (`\n` in a JSON string: the
 * next line is the next directive). A word that opens with `(` is a command's substitution (fish's
 * `(pass show db)`), and a backslash or a quote at its start opens a quoted form.
 */
const BARE = "(?![\\\\\"'`(])(?<v>[^\\s\"'`;,()]+?)(?=\\\\[nrt]|\\\\{1,7}[\"'`]|[\\s\"'`;,)]|$)"
/** a bind parameter or a client variable standing where a SQL value would be: no value */
const BIND = /^(?:[:?@&]|\$\d)/

/** the value read by `VALUE` and whether it was quoted */
const valueOf = (g: Record<string, string | undefined>): { readonly v: string; readonly quoted: boolean } | null => {
  if (g["v"] !== undefined) return { v: g["v"], quoted: true }
  if (g["v2"] !== undefined) return { v: g["v2"], quoted: false }
  return null
}

/**
 * A password's value in these forms: a value (`passwordValue`: no template, variable, mask or
 * label), no word about a password (`required`, `reset`), no message, no bind parameter.
 */
const passwordHere = (v: string): boolean => passwordValue(v) && !ABOUT.test(v) && !(/\s/.test(v) && MESSAGE_WORDS.test(v)) && !BIND.test(v)

/**
 * `VALUE` has two groups; the engine replaces the group named `v` only, so the bare form is also
 * given as `v` by a second expression: each detector's pattern is built twice, one per form, and
 * the form read again by the quoted expression first. This helper gives the two patterns.
 */
const forms = (head: string, flags = "gi"): { readonly quoted: RegExp; readonly bare: RegExp; readonly read: RegExp } => ({
  quoted: new RegExp(`${head}(?:@|[rRbBuUfFnN]{1,2})?(?<q>\\\\{0,7}["'\`])(?<v>[^\\r\\n]*?)(?=(?<!\\\\)\\k<q>|[\\r\\n]|$)`, flags),
  bare: new RegExp(`${head}${BARE}`, flags),
  read: new RegExp(`${head}${VALUE}`, flags)
})

// ---------------------------------------------------------------------------------------------
// SQL user management
// ---------------------------------------------------------------------------------------------

/**
 * MySQL, MariaDB and Oracle: `CREATE USER 'bob'@'%' IDENTIFIED BY 'pw'`, `ALTER USER scott
 * IDENTIFIED BY pw;` (Oracle, bare), `IDENTIFIED WITH mysql_native_password BY 'pw'`, `GRANT …
 * IDENTIFIED BY 'pw'`, `IDENTIFIED BY PASSWORD '*hash'` (a hash, replaced all the same: it is
 * cracked offline). `IDENTIFIED EXTERNALLY`/`GLOBALLY` name no password and do not match.
 * Linear: a search starts at the literal `identified`; the plugin name is at most 64 characters.
 */
const IDENTIFIED_BY = "\\bidentified(?:[ \\t]+(?:with|via)[ \\t]+[\\w'\"`]{1,64})?[ \\t]+(?:by|using)(?:[ \\t]+password)?[ \\t]+"
/** the one hint alternative this module adds: a rare literal, the two words together */
const IDENTIFIED_HINT = /identified[ \t]+(?:by|with|via|using)/i
/**
 * MySQL's `SET PASSWORD [FOR user] = 'pw'`, `= PASSWORD('pw')`, `= OLD_PASSWORD('pw')`: the user
 * is at most 120 characters before `=`, read lazily (a start reads at most that far); it starts
 * with a character that is not a space, so the spaces after `for` are taken once: with
 * `[^=\r\n]{1,120}?` straight after them, each way of splitting a run of spaces between the two
 * was tried (`set password for ` then 16 KB of spaces took 23 s).
 */
const SET_PASSWORD = "\\bset[ \\t]+password(?:[ \\t]+for[ \\t]+[^=\\s][^=\\r\\n]{0,119}?)?[ \\t]*=[ \\t]*(?:(?:old_)?password[ \\t]*\\([ \\t]*)?"

const sqlPassword = (head: string, hint: () => RegExp, bareAllowed: boolean, need?: RegExp) => (form: "quoted" | "bare"): Detector =>
  lazy("password", "credential", () => {
    const f = forms(head)
    const groups = groupsOf(f.read)
    return {
      pattern: form === "quoted" ? f.quoted : f.bare,
      hint: hint(),
      ...(need === undefined ? {} : { need }),
      placeholder: familyOf("password").placeholder,
      placeholderGeneric: false,
      validate: (m) => {
        const g = groups(m)
        const value = g === null ? null : valueOf(g)
        if (value === null || (!value.quoted && !bareAllowed)) return false
        return passwordHere(value.v)
      }
    }
  })

// ---------------------------------------------------------------------------------------------
// Directives: a command's word, a name, a space, the value
// ---------------------------------------------------------------------------------------------

/**
 * The directives that set a variable by name and value separated by a space: Dockerfile `ENV NAME
 * value` (its older form), Apache `SetEnv`/`PassEnv`-less `SetEnv NAME value`, csh/tcsh `setenv
 * NAME value`, fish `set -gx NAME value` (flags before the name; a plain `set` only for a name
 * written as an environment variable's, so `set password expiry …` in prose is none), Windows
 * `setx NAME value`, and the AWS CLI's `aws configure set NAME value`. The directive starts its
 * line or a command (after `;`, `&`, `|`, `(`, a quote opening a string, an escaped line break):
 * looked at in the 40 characters before it. The value is one shell word or a quoted string (a
 * Dockerfile `ENV NAME a b c` loses `b c`: the older form is rare and deprecated).
 */
const DIRECTIVE = "(?:(?<![\\w.-])|(?<=\\\\[nrt]))(?<d>ENV|SetEnv|setenv|setx(?:\\.exe)?|set(?<flags>(?:[ \\t]+-{1,2}[A-Za-z]{1,12}){1,3})?|(?:aws[ \\t]+)?configure[ \\t]+set)[ \\t]+(?<name>[A-Za-z_][\\w.-]{0,80})[ \\t]+"
const COMMAND_START = /(?:^|[\r\n;&|({"'`]|\\[nr]|\bRUN[ \t]|\bthen[ \t]|\bdo[ \t])[ \t]*$/
const ENV_STYLE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$|_/
const directive = (family: "password" | "secret", form: "quoted" | "bare"): Detector =>
  lazy(KIND[family][0], KIND[family][1], () => {
    const fam = familyOf(family)
    const f = forms(DIRECTIVE)
    const groups = groupsOf(f.read)
    return {
      pattern: form === "quoted" ? f.quoted : f.bare,
      // (the name holds the family's keyword: its hint, no new one; every directive's word holds
      // `env` or `set`)
      hint: fam.hint,
      need: /env|set/,
      placeholder: fam.placeholder,
      ...(family === "password" ? { placeholderGeneric: false } : {}),
      validate: (m, c) => {
        const g = groups(m)
        const value = g === null ? null : valueOf(g)
        if (g === null || value === null || !COMMAND_START.test(c.before)) return false
        const d = g["d"]!
        const name = g["name"]!
        // a plain `set` (no flag): only for an environment variable's name (`set DB_PASSWORD x`)
        if (/^set$/i.test(d) && !ENV_STYLE.test(name)) return false
        // Dockerfile and Apache spell their directive in capitals or as written: `ENV` in any
        // case would also be the word `env` in prose
        if (/^env$/i.test(d) && d !== "ENV") return false
        if (family === "password") return passwordKey(name) && passwordHere(value.v)
        return secretByKey(name, value.v, value.quoted)
      }
    }
  })

/**
 * Options and configuration directives that are a password by name, followed by a space:
 * redis.conf's `requirepass` and `masterauth` (and `redis-server --requirepass …`), keytool's and
 * jarsigner's `-storepass`, `-keypass`, `-srcstorepass`, `-deststorepass`, `-srckeypass`,
 * `-destkeypass`, `-new` is not among them (it follows `-storepasswd`, read by the flag detector
 * of `assignments.ts` no more than any other word). keytool's `-storepass:env NAME` and
 * `-storepass:file path` name where the password is, and do not match (no space after the word).
 */
const PASS_OPTION = "(?:(?<![\\w-])|(?<=\\\\[nrt]))(?:-{1,2})?(?:requirepass|masterauth|(?:src|dest)?(?:store|key)pass)[ \\t]+"
const passOption = (form: "quoted" | "bare", hintFamily: "password" | "secret"): Detector =>
  lazy("password", "credential", () => {
    const f = forms(PASS_OPTION)
    const groups = groupsOf(f.read)
    // (`requirepass`, `-storepass`, `-keypass` pass the password hint at `pass `; `masterauth` the
    // secret one at `auth `: one detector per hint, each finding only what its hint lets through)
    const word = hintFamily === "password" ? /pass[ \t]/i : /auth[ \t]/i
    return {
      pattern: form === "quoted" ? f.quoted : f.bare,
      hint: hintFamily === "password" ? PASSWORD_HINT : SECRET_HINT,
      need: /(?:requirepass|masterauth|storepass|keypass)[ \t]/,
      placeholder: familyOf("password").placeholder,
      placeholderGeneric: false,
      validate: (m) => {
        const g = groups(m)
        const value = g === null ? null : valueOf(g)
        return value !== null && word.test(m) && !value.v.startsWith("-") && passwordHere(value.v)
      }
    }
  })

/**
 * NetworkManager's `nmcli device wifi connect SSID password PW` (and `nmcli con … password PW`):
 * `password` followed by a space is its argument's name. Only after `nmcli` on the same command
 * (at most 200 characters before, no `;`, `|` or `&` between): in prose `password` followed by a
 * word is a sentence.
 */
const NMCLI = "\\bnmcli\\b[^\\r\\n;|&]{0,200}?[ \\t]password[ \\t]+"
const nmcli = (form: "quoted" | "bare"): Detector =>
  lazy("password", "credential", () => {
    const f = forms(NMCLI)
    const groups = groupsOf(f.read)
    return {
      pattern: form === "quoted" ? f.quoted : f.bare,
      hint: PASSWORD_HINT,
      need: /nmcli/,
      placeholder: familyOf("password").placeholder,
      placeholderGeneric: false,
      validate: (m) => {
        const g = groups(m)
        const value = g === null ? null : valueOf(g)
        return value !== null && passwordHere(value.v)
      }
    }
  })

/**
 * `aws configure set [profile.NAME.]aws_secret_access_key KEY`: the key, 40 characters of base64,
 * as the AWS detectors of `assignments.ts` judge it.
 */
const awsConfigureSet: Detector = lazy("aws_secret_key", "secret", () => {
  const pattern = /\baws[ \t]+configure[ \t]+set[ \t]+(?:[\w.-]{1,60}\.)?aws_secret_access_key[ \t]+\\{0,7}["']?(?<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi
  const groups = groupsOf(pattern)
  return {
    pattern,
    hint: SECRET_HINT,
    need: /configure/,
    validate: (m) => {
      const v = groups(m)?.["v"]
      return v !== undefined && awsSecretShape(v)
    }
  }
})

/**
 * GitHub's CLI: `gh secret set NAME --body VALUE` (`-b VALUE`, `--body=VALUE`): the command says
 * the value is a secret, whatever its name. Judged as a value under a secret's name is (not a
 * word, a sentence, repeated or sequential). The flag is at most 200 characters after `set`.
 */
const GH_SECRET = "\\bgh[ \\t]+secret[ \\t]+set\\b[^\\r\\n;|&]{0,200}?[ \\t](?:--body(?:=|[ \\t]+)|-b[ \\t]*)"
const ghSecret = (form: "quoted" | "bare"): Detector =>
  lazy("generic_secret", "secret", () => {
    const f = forms(GH_SECRET)
    const groups = groupsOf(f.read)
    return {
      pattern: form === "quoted" ? f.quoted : f.bare,
      // (`secret` is in the secret hint)
      hint: SECRET_HINT,
      need: /gh[ \t]+secret/,
      placeholder: familyOf("secret").placeholder,
      validate: (m) => {
        const g = groups(m)
        const value = g === null ? null : valueOf(g)
        return value !== null && secretByKey("secret", value.v, value.quoted)
      }
    }
  })

// ---------------------------------------------------------------------------------------------
// Subscripts, setters and call arguments
// ---------------------------------------------------------------------------------------------

/** a quoted value read once (a lookahead captures it, a back-reference takes it), then its closing quote */
const QUOTED_ONCE = "(?:@|[rRbBuUfF]{1,2})?(?<q>\\\\{0,7}[\"'`])(?=(?<w>[^\\r\\n]*?)(?=(?<!\\\\)\\k<q>|[\\r\\n]|$))(?<v>\\k<w>)"

/** a name's judge per family: a password key and a password's value, or a secret by its key */
const judge = (family: "password" | "secret", name: string, v: string): boolean =>
  family === "password" ? passwordKey(name) && passwordHere(v) : secretByKey(name, v, true)

/**
 * Assignment by subscript: `os.environ["DB_PASSWORD"] = "…"`, `config["password"] = "…"`, Ruby
 * `ENV['API_TOKEN'] = '…'`, PHP `$_ENV['DB_PASSWORD'] = '…';`, `$cfg['db']['password'] = '…'`,
 * Ruby's symbol `config[:password] = "…"`, and `||=`/`??=`. Only a quoted literal: a variable or
 * a call on the right is code (`os.environ["DB_PASSWORD"] = pw`). A search starts at the keyword;
 * the rest of the name is at most 60 characters, the operator bounded; the name's start, `[` and
 * its quote, is looked at in the context.
 */
const SUBSCRIPT_BEFORE = /\[[ \t]*(?::|(?:[rRbBuUfF]{1,2})?\\{0,7}["'`])[\w./-]*$/
const subscript = (family: "password" | "secret"): Detector =>
  lazy(KIND[family][0], KIND[family][1], () => {
    const fam = familyOf(family)
    const pattern = new RegExp(`${fam.word}[\\w./-]{0,60}(?:\\\\{0,7}["'\`])?[ \\t]*\\][ \\t]*(?:\\|\\||\\?\\?)?=(?![=>~])[ \\t]*${QUOTED_ONCE}`, "gi")
    const groups = groupsOf(pattern)
    const run = new RegExp(`^${fam.word}[\\w./-]{0,60}`, "i")
    return {
      pattern,
      hint: fam.hint,
      need: /\]/,
      placeholder: fam.placeholder,
      ...(family === "password" ? { placeholderGeneric: false } : {}),
      validate: (m, c) => {
        const v = groups(m)?.["v"]
        if (v === undefined || !SUBSCRIPT_BEFORE.test(c.before)) return false
        return judge(family, identifierTail(c.before, true) + (run.exec(m)?.[0] ?? ""), v)
      }
    }
  })

/**
 * A setter or a builder's method given one quoted literal: `ds.setPassword("…")`,
 * `client.setApiKey("…")`, `.password("…")`, `.withPassword("…")`, `.withApiKey("…")`,
 * `set_password("…")`, `.usePassword("…")`. The name is the method's without `set`/`with`/`use`;
 * before it stands `.`, `->`, `::` or no identifier (a free function). Another verb (`check`,
 * `verify`, `hash_`, `get`) makes it a call that does something else with the value, and the
 * call must close after the literal (one argument). A variable or a call as the argument is code
 * (`setPassword(pw)`, `setPassword(getenv("X"))`) and does not match.
 */
const SETTER_CLOSE = /\\{0,7}["'`][ \t]*\)$/
/**
 * a setter's verb, then the words of the name before the keyword (`set`, `setDb`, `set_db_`,
 * C#'s `Set`, `with`, `withSmtp`, `use`): a capital or `_` after the verb, so `settings` or
 * `user` is no verb
 */
const SETTER_VERB = /^([sS]et|[wW]ith|[uU]se)(?:[A-Z_][A-Za-z0-9_]*)?$/
/** the first word of a method's name (its letters up to a capital or `_`) that makes it no setter */
const OTHER_VERB =
  /^(?:check|verify|validate|hash|encode|encrypt|decrypt|decode|compare|match|matches|is|has|get|read|load|fetch|reset|change|update|generate|gen|random|prompt|ask|input|enter|create|make|new|parse|test|assert|expect|mask|store|save|find|lookup|resolve|sign|crypt|bcrypt|derive|forgot|send|print|log|show|display|request|require|clear|remove|delete|unset|toggle|hide|rotate|revoke|refresh|to|from|on|handle|render|format|strip|redact|sanitize|filter|count|length|min|max)$/i
const setter = (family: "password" | "secret"): Detector =>
  lazy(KIND[family][0], KIND[family][1], () => {
    const fam = familyOf(family)
    const pattern = new RegExp(`${fam.word}\\w{0,40}[ \\t]*\\([ \\t]*${QUOTED_ONCE.replace("(?<v>\\k<w>)", "(?<v>\\k<w>\\k<q>[ \\t]*\\))")}`, "gi")
    const groups = groupsOf(pattern)
    const run = new RegExp(`^${fam.word}\\w{0,40}`, "i")
    return {
      pattern,
      hint: fam.hint,
      need: /\(/,
      placeholder: fam.placeholder,
      ...(family === "password" ? { placeholderGeneric: false } : {}),
      // (the engine replaces the group `v`, which ends the match: it holds the closing quote and
      // bracket, which stay)
      trimEnd: (v) => SETTER_CLOSE.exec(v)?.[0].length ?? 0,
      validate: (m, c) => {
        const raw = groups(m)?.["v"]
        if (raw === undefined) return false
        const v = raw.slice(0, raw.length - (SETTER_CLOSE.exec(raw)?.[0].length ?? 0))
        // the identifier part before the keyword: a setter's verb or nothing
        const tail = identifierTail(c.before).replace(/^.*[.]/, "")
        const before = c.before.slice(0, c.before.length - tail.length)
        if (!/(?:^|[^\w$])$/.test(before)) return false
        // a verb first that does something else with the value (`checkPassword`, `hash_password`,
        // `getApiKey`); `set`, `with`, `use` or none (a builder's `.dbPassword(…)`) assign it
        const verb = SETTER_VERB.exec(tail)
        if (verb === null && OTHER_VERB.test(/^[A-Za-z][a-z0-9]*/.exec(tail)?.[0] ?? "")) return false
        // the name: the words after the verb and the keyword's run (`setDbPassword` → `DbPassword`)
        const name = tail.slice(verb?.[1]!.length ?? 0) + (run.exec(m)?.[0] ?? "")
        return judge(family, name, v)
      }
    }
  })

/**
 * A name and its value as two quoted literals in a list of arguments or elements: key/value
 * arguments (`Map.of("user", "bob", "password", "…")`, `ImmutableMap.of(…)`, Kotlin's `"password"
 * to "…"`), and an argv array written as text (`{"args": ["-h", "db", "--password", "…"]}`,
 * `["--api-token", "…"]`). The name follows `(`, `[`, `{` or `,`, the value is followed by `,`,
 * `)`, `]` or `}`. A value people write as a field's name (`["username", "password", "email"]`: a
 * list of fields) or a flag (`["--password", "--user"]`) is none, nor a message or a label.
 * A pair alone (`("password", "…")`) is `assignments.ts`'s `pairInText`; this one is the same pair
 * anywhere in a longer list.
 */
const LIST_CLOSE = /\\{0,7}["'`][ \t\r\n]{0,8}[,)\]}]$/
const LIST_BEFORE = /[(\[{,][ \t\r\n]{0,8}(?:[rRbBuUfF]{1,2})?\\{0,7}["'][\w./-]{0,60}$/
const listPair = (family: "password" | "secret"): Detector =>
  lazy(KIND[family][0], KIND[family][1], () => {
    const fam = familyOf(family)
    const pattern = new RegExp(`${fam.word}[\\w./-]{0,60}\\\\{0,7}["'][ \\t]*(?:,|[ \\t]to)[ \\t\\r\\n]{0,40}${QUOTED_ONCE.replace("(?<v>\\k<w>)", "(?<v>\\k<w>\\k<q>[ \\t\\r\\n]{0,8}[,)\\]}])")}`, "gi")
    const groups = groupsOf(pattern)
    const run = new RegExp(`^${fam.word}[\\w./-]{0,60}`, "i")
    return {
      pattern,
      hint: fam.hint,
      need: /["'][ \t]*(?:,|[ \t]to)/,
      placeholder: fam.placeholder,
      ...(family === "password" ? { placeholderGeneric: false } : {}),
      trimEnd: (v) => LIST_CLOSE.exec(v)?.[0].length ?? 0,
      validate: (m, c) => {
        const raw = groups(m)?.["v"]
        if (raw === undefined || !LIST_BEFORE.test(c.before)) return false
        const v = raw.slice(0, raw.length - (LIST_CLOSE.exec(raw)?.[0].length ?? 0))
        if (FIELD_NAME.test(v) || v.startsWith("-")) return false
        return judge(family, identifierTail(c.before, true) + (run.exec(m)?.[0] ?? ""), v)
      }
    }
  })

// ---------------------------------------------------------------------------------------------
// Argv arrays
// ---------------------------------------------------------------------------------------------

/**
 * An argv array written as text whose program takes a password after a short flag, the flag and
 * the password in two elements or glued in one: `["sshpass", "-p", "…", "ssh", "host"]`,
 * `["mysql", "-u", "root", "-p…"]`, `["redis-cli", "-a", "…"]`, `["ldapsearch", "-w", "…"]`,
 * `["smbmap", "-p", "…"]`: the command-line forms `keys.ts` reads, in JSON. MySQL's `-p` takes its
 * password glued (`-p` alone prompts, and the next element is a database); the others take it as
 * the next element (or glued, for `sshpass` and `ldap*`). A program path (`/usr/bin/mysql`) is
 * read. Linear: a search starts at `[` followed by a quote and a program's name (a literal); at
 * most twelve elements of at most 256 characters each, each element one class between quotes.
 */
const ARGV_PROGRAM =
  "(?<p>mysql(?:dump|admin|import|check|pump|show|slap|binlog|sh)?|mariadb(?:-(?:dump|admin|import|check|show|slap|binlog))?|sshpass|redis-cli|ldap(?:search|modify|add|delete|whoami|passwd|compare|modrdn|exop|url)|smbmap|crackmapexec|netexec|nxc)"
const ELEMENT_SEP = "\\\\{0,7}[\"'][ \\t\\r\\n]{0,8},[ \\t\\r\\n]{0,8}\\\\{0,7}[\"']"
const ARGV = `\\[[ \\t\\r\\n]{0,8}\\\\{0,7}["'](?:[\\w.~/:\\\\-]{0,80}[/\\\\])?${ARGV_PROGRAM}(?:\\.exe)?(?:${ELEMENT_SEP}(?!-[paw])[^"'\\\\\\r\\n]{0,256}){0,12}?${ELEMENT_SEP}(?<f>-[paw])(?<sep>${ELEMENT_SEP})?(?![$%{<[-])(?<v>[^"'\\\\\\r\\n]{1,256})`
/** which flag each program takes, and whether it takes the value as the next element */
const argvFlag = (program: string, flag: string, separate: boolean): boolean => {
  if (/^(?:mysql|mariadb)/.test(program)) return flag === "-p" && !separate
  if (program === "redis-cli") return flag === "-a" && separate
  if (program.startsWith("ldap")) return flag === "-w"
  if (program === "sshpass") return flag === "-p"
  return flag === "-p" && separate
}
const argv: Detector = lazy("password", "credential", () => {
  // (the value ends at its closing quote; the match alone, read again, ends at its own end)
  const pattern = new RegExp(`${ARGV}(?=\\\\{0,7}["'])`, "g")
  const groups = groupsOf(new RegExp(ARGV, "g"))
  return {
    pattern,
    // (the same hint as `keys.ts`'s command-line password detector, written the same: the engine
    // joins distinct hints once, so this adds no alternative)
    hint: /mysql|mariadb|sshpass|redis-cli|ldap|smb|rpcclient|crackmapexec|netexec|nxc|htpasswd|az(?:\.cmd)?[ \t]+login/,
    placeholder: familyOf("password").placeholder,
    placeholderGeneric: false,
    validate: (m) => {
      const g = groups(m)
      if (g === null || g["v"] === undefined) return false
      return argvFlag(g["p"]!, g["f"]!, g["sep"] !== undefined) && passwordValue(g["v"]) && !BIND.test(g["v"])
    }
  }
})

// ---------------------------------------------------------------------------------------------
// .netrc with the password first, PowerShell, `net use`, bash ANSI-C quoting
// ---------------------------------------------------------------------------------------------

/**
 * A `.netrc` entry whose `password` comes before `login` (or with no login): `machine HOST
 * password X login USER`, `default password X`, `machine HOST port 443 password X`, on one line or
 * one token a line (a line break written as `\n` in JSON text too). `assignments.ts`'s `netrc`
 * reads `login USER` before `password`. Linear: a search starts at the literal `machine` or
 * `default`; the host and up to three other tokens are bounded runs.
 */
const NETRC_SEP = "(?:\\s|\\\\[nrt]){1,20}"
const NETRC_FIRST = `\\b(?:machine[ \\t]+[^\\s\\\\]{1,100}|default)(?:${NETRC_SEP}(?:login|account|port)[ \\t]+[^\\s\\\\]{1,100}){0,3}${NETRC_SEP}password[ \\t]+(?<v>[^\\s\\\\"']+)`
const netrcPasswordFirst: Detector = lazy("password", "credential", () => {
  const pattern = new RegExp(NETRC_FIRST, "g")
  return {
    pattern,
    hint: PASSWORD_HINT,
    need: /machine|default/,
    placeholder: familyOf("password").placeholder,
    placeholderGeneric: false,
    validate: (m) => passwordHere(m.slice(m.search(/password[ \t]+[^\s]+$/) + 8).trim())
  }
})

/**
 * PowerShell's `ConvertTo-SecureString "…" -AsPlainText -Force` (the password in clear text,
 * turned into a SecureString for a `PSCredential`), with `-String`, the switches before or after the
 * literal: the literal is the password wherever the call stands (`New-Object PSCredential("bob",
 * (ConvertTo-SecureString "…" -AsPlainText -Force))`). A variable or a subexpression is none.
 */
const SECURE_STRING = "\\bConvertTo-SecureString(?:[ \\t]+-(?:AsPlainText|Force)(?::\\$true)?){0,2}[ \\t]+(?:-String[ \\t]+)?"
/** the one other hint alternative this module adds: the cmdlet's name, a rare literal */
const SECURE_STRING_HINT = /convertto-securestring/i
const secureString: Detector = lazy("password", "credential", () => {
  const f = forms(SECURE_STRING)
  const groups = groupsOf(f.read)
  return {
    pattern: f.quoted,
    hint: SECURE_STRING_HINT,
    placeholder: familyOf("password").placeholder,
    placeholderGeneric: false,
    validate: (m) => {
      const g = groups(m)
      const value = g === null ? null : valueOf(g)
      return value !== null && value.quoted && passwordHere(value.v)
    }
  }
})

/**
 * Windows `net use [drive:] \\\\server\\share PASSWORD /user:DOMAIN\\user`, or the password after
 * `/user:…`: a word after the share's path or the user that is no option (`/persistent:no`), no
 * prompt (`*`) and no variable (`%PW%`). Within 200 characters of `net use`, on its line.
 */
const NET_USE = "\\bnet(?:\\.exe)?[ \\t]+use\\b[^\\r\\n]{0,200}?(?:[ \\t]\\\\{2,4}[^\\s\\\\][^\\s]{0,200}|[ \\t]/user:[^\\s]{1,100})[ \\t]+(?![/*\"'])(?<v>[^\\s\"'\\\\]+)"
const NET_USE_HINT = /net(?:\.exe)?[ \t]+use\b/i
const netUse: Detector = lazy("password", "credential", () => ({
  pattern: new RegExp(NET_USE, "gi"),
  hint: NET_USE_HINT,
  placeholder: familyOf("password").placeholder,
  placeholderGeneric: false,
  validate: (m) => {
    const v = /[^\s"'\\]+$/.exec(m)?.[0] ?? ""
    return !/^[A-Za-z]:$/.test(v) && passwordHere(v)
  }
}))

/**
 * Bash's ANSI-C quoting, as `set`, `declare -p` and `export -p` print a value holding a special
 * character: `DB_PASSWORD=$'…'`, `API_TOKEN=$'…'`. The value runs to the closing `'` not escaped
 * (`\'` is a quote inside it). A search starts at the keyword; the name's rest is bounded.
 */
const ansiC = (family: "password" | "secret"): Detector =>
  lazy(KIND[family][0], KIND[family][1], () => {
    const fam = familyOf(family)
    const pattern = new RegExp(`${fam.word}[\\w.-]{0,60}=\\$(?<q>\\\\{0,7}')(?<v>[^\\r\\n]*?)(?=(?<!\\\\)\\k<q>|[\\r\\n]|$)`, "gi")
    const groups = groupsOf(pattern)
    const run = new RegExp(`^${fam.word}[\\w.-]{0,60}`, "i")
    return {
      pattern,
      hint: fam.hint,
      need: /=\$/,
      placeholder: fam.placeholder,
      ...(family === "password" ? { placeholderGeneric: false } : {}),
      validate: (m, c) => {
        const v = groups(m)?.["v"]
        return v !== undefined && judge(family, identifierTail(c.before) + (run.exec(m)?.[0] ?? ""), v)
      }
    }
  })

// ---------------------------------------------------------------------------------------------
// Container registries' login
// ---------------------------------------------------------------------------------------------

/**
 * `docker login -u bob -p PASSWORD registry` (and Podman, nerdctl, Buildah, Skopeo, ORAS, Finch,
 * `helm registry login`): `-p` is the password after `login` (elsewhere `docker run -p` publishes
 * a port). As a command line (the flag within 200 characters of `login`, on the same command) and
 * as an argv array written as text (`["docker", "login", "-u", "bob", "-p", "…"]`). `--password`
 * is the flag detector's of `assignments.ts` in a command line, and this module's `listPair` in
 * an array. Linear: a search starts at the literal program name; the rest is bounded.
 */
const REGISTRY_CLIENT = "(?:docker|podman|nerdctl|buildah|skopeo|oras|finch|helm[ \\t]+registry)(?:\\.exe)?"
const REGISTRY_LOGIN = `\\b${REGISTRY_CLIENT}[ \\t]+login\\b[^\\r\\n;|&]{0,200}?[ \\t]-p(?:=|[ \\t]+)`
const REGISTRY_ARGV = `\\b${REGISTRY_CLIENT.replace("[ \\t]+registry", `${ELEMENT_SEP}registry`)}${ELEMENT_SEP}login(?:${ELEMENT_SEP}(?!-p\\\\{0,7}["'])[^"'\\\\\\r\\n]{0,256}){0,12}?${ELEMENT_SEP}-p${ELEMENT_SEP}(?![$%{<[-])(?<v>[^"'\\\\\\r\\n]{1,256})`
/** a hint alternative this module adds: a registry client's name then `login` within a few characters (a rare pair) */
const REGISTRY_HINT = /(?:docker|podman|nerdctl|buildah|skopeo|oras|finch|registry)[^\w\r\n]{1,12}login/i
const registryLogin = (form: "quoted" | "bare" | "argv"): Detector =>
  lazy("password", "credential", () => {
    const f = forms(REGISTRY_LOGIN)
    const read = form === "argv" ? groupsOf(new RegExp(REGISTRY_ARGV, "gi")) : groupsOf(f.read)
    return {
      pattern: form === "quoted" ? f.quoted : form === "bare" ? f.bare : new RegExp(`${REGISTRY_ARGV}(?=\\\\{0,7}["'])`, "gi"),
      hint: REGISTRY_HINT,
      placeholder: familyOf("password").placeholder,
      placeholderGeneric: false,
      validate: (m) => {
        const g = read(m)
        if (g === null) return false
        const v = form === "argv" ? g["v"] : valueOf(g)?.v
        return v !== undefined && !v.startsWith("-") && passwordHere(v)
      }
    }
  })

/**
 * The detectors of secrets given by a command, a statement or a call, most specific first. Spread
 * into `assignments` after the key-first password forms: where a key-first form already reads the
 * same value (`SET PASSWORD = '…'` as `PASSWORD = '…'`), the spans are the same; these keep the
 * spans the key-first forms miss.
 *
 * @since 0.1.0
 * @category detectors
 */
export const commandAssignments = (judges: Judges): ReadonlyArray<Detector> => {
  ;({ ABOUT, awsSecretShape, familyOf, FIELD_NAME, identifierTail, MESSAGE_WORDS, passwordKey, passwordValue, secretByKey, SECRET_HINT, PASSWORD_HINT } = judges)
  return COMMANDS
}

const COMMANDS: ReadonlyArray<Detector> = [
  sqlPassword(IDENTIFIED_BY, () => IDENTIFIED_HINT, true)("quoted"),
  sqlPassword(IDENTIFIED_BY, () => IDENTIFIED_HINT, true)("bare"),
  // (`set password` holds the password keyword: its hint, no new one)
  sqlPassword(SET_PASSWORD, () => PASSWORD_HINT, false, /set[ \t]+password/)("quoted"),
  argv,
  // (before the directives: `aws configure set` is one of them, and this one names the key's kind)
  awsConfigureSet,
  subscript("password"),
  subscript("secret"),
  setter("password"),
  setter("secret"),
  listPair("password"),
  listPair("secret"),
  directive("password", "quoted"),
  directive("password", "bare"),
  directive("secret", "quoted"),
  directive("secret", "bare"),
  passOption("quoted", "password"),
  passOption("bare", "password"),
  passOption("quoted", "secret"),
  passOption("bare", "secret"),
  nmcli("quoted"),
  nmcli("bare"),
  ghSecret("quoted"),
  ghSecret("bare"),
  registryLogin("argv"),
  registryLogin("quoted"),
  registryLogin("bare"),
  netrcPasswordFirst,
  secureString,
  netUse,
  ansiC("password"),
  ansiC("secret")
]
