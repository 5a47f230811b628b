/**
 * The detectors of secrets given by assignment: a password (or passphrase) named by its key, in
 * code, configuration, free text, a command line or a field's key; credentials in a URL; an AWS
 * secret access key; a secret, token or API key assigned a high-entropy value. Listed in
 * `Detect.builtins` after the fixed-form keys, the most specific first.
 *
 * What is replaced is the value alone (the named group `v`): `DB_PASSWORD=<redacted>`,
 * `"password": "<redacted>"`, `postgres://app:<redacted>@db`. A value runs to its closing quote
 * (an escaped quote does not close it) or, unquoted, to the next whitespace, quote, `;`, `&`,
 * `,` before a space, `</` or `<redacted>`; never past the end of its line. Placeholders and
 * references are no value: `null`, `****`, `<redacted>`, `<password>`, `${PASSWORD}`, `$PASS`,
 * `%s`, `{{ .Values.password }}`, `os.environ["PASSWORD"]`, `getenv("DB_PASSWORD")`,
 * `config.password`, a bare variable compared or bound with `==`/`!=`/`:=`, and words about a
 * password (`password is required`). A key that names something about a password rather than the
 * password (`password_hint`, `password_min_length`, `passwordless`, `passwordVariable`) is no
 * password key.
 *
 * Linear time (the rules are in `matching.ts`):
 * - key first (password, generic_secret): a search starts only at a literal keyword. The rest of
 *   the key is one class run (`[\w.-]*`) and an optional index (`[25]`: a literal, one class, a
 *   literal), then an optional quote, a run of spaces and tabs, an operator of at most six
 *   characters (`value=` looks back at most nine; `is`/`was` one), a run of spaces and tabs:
 *   each read by that start alone, one way. A start that does not reach an operator has a second
 *   alternative, the keyword and its key run alone, which the validator drops: the search resumes
 *   after the run instead of reading it again from each keyword inside it (`passwordpassword…`,
 *   rule 2). After the operator nothing can fail: a quoted value is a lazy loop of one class that
 *   stops at the first unescaped closing quote or the end of the line; an unquoted one is a lazy
 *   loop of one class that stops at its first delimiter (a lookahead of at most ten characters).
 * - value before key (`"…" == password`): starts only at a quote; the value is one class that
 *   holds no quote, so a start reads to the next quote and no further (each stretch between two
 *   quotes is read by one start); then a lookahead reads an operator and the identifier after it,
 *   a lazy loop of one class that stops at its first keyword.
 * - command-line flag (`--db-password x`): at most three `word-` groups, each ended by `-` (one way
 *   to read them), a keyword, then a value as above.
 * - field key: anchored at the start; one class to the end of the string.
 * - url_credentials: a scheme of at most 20 characters before the literal `://`, then the user
 *   (one class without `:`, `/` or `@`), `:`, and the password: one class without whitespace,
 *   `/`, `?` or `#`, whose end is found by backtracking to the last `@` before the host; the host
 *   lookahead reads to the next `@` or delimiter, so each `@` is read by one such lookahead.
 * - aws_secret_key under its name: the key-first start above, then exactly 40 base64 characters
 *   and a lookahead: a value that fails has been read for at most 41 characters past the
 *   operator, and the key run is taken by the second alternative as above.
 * - aws_secret_key beside a key id: a literal id prefix, 16 characters, a lazy window of at most
 *   100 characters, then a run of exactly 40 base64 characters that starts a run (lookbehind) and
 *   ends one (lookahead): bounded per start.
 * The validators re-read a match with the same expression anchored at its start (linear in the
 * match), look at 40 characters of context and at the field's key once per call (rule 4), and
 * count characters once (entropy, classes, distinct four-character pieces, ascending runs).
 *
 * @since 0.1.0
 */
import type { Detector, MatchContext } from "./detector.js"
import { entropy, memoPerCall } from "./matching.js"

// ---------------------------------------------------------------------------------------------
// the pieces of a key-first assignment
// ---------------------------------------------------------------------------------------------

/** A password keyword: anywhere in an identifier (`DB_PASSWORD`, `my_password_x`), or `pass` as a word of one (`db_pass`, `ELK_PASS`, `smtp.pass`; not `bypass`, `passport`). */
const PASSWORD_WORD = "(?:password|passwd|passphrase|passcode|pwd|(?<![a-z])pass(?![a-z]))"
/** The keywords of a secret, a token or a key. `auth` is a word of its own (not `author`). */
const SECRET_WORD = "(?:secret|token(?!s|izer)|api[_.-]?key|apikey|access[_.-]?key|private[_.-]?key|(?<![a-z])auth(?![a-z])|credentials?)"
/**
 * The hints (a necessary condition the engine tests on every string and key first): as narrow as
 * the keywords, so that the counts of a model call (`input_tokens`, `max_tokens`), `author`,
 * `passenger` or `laws` do not send a record down the engine's full path.
 */
const PASSWORD_HINT = /pass(?:w|ph|c|[^a-z]|$)|pwd/i
const SECRET_HINT = /secret|token(?!s|izer)|api[_.-]?key|apikey|access[_.-]?key|private[_.-]?key|auth(?![a-z])|credential/i
/** The rest of the key after its keyword: one run, one way to read it. */
const KEY_RUN = "[\\w.-]*(?:\\[\\w*\\])?"
/** The quote that closes a quoted key (`"password":`), possibly escaped (`\"password\":`). */
const KEY_QUOTE = "(?:\\\\?[\"'`])?"
/**
 * The operators: `=`, `:=`, `::=`, `?=`, `.=`, `+=`, `==`, `===`, `!=`, `!==`, `=>`, `:`; `>` of an
 * XML element directly followed by its text, unless that starts with `@` (`<password>…`; not the
 * template of a URL, `postgres://u:<your-password>@host`, whose `@` starts the host); the
 * `value=` of an XML or HTML element after a quoted
 * name; `is`/`was` in free text; or none before a quoted value (`password "…"`).
 */
const OP = "(?:[:?.+!]{0,3}={1,3}>?|:|>(?=[^\\s<@])|(?<=[\"'][ \\t]{0,8})(?:value|content)=|(?<=[ \\t])(?:is|was)(?=[ \\t])|(?<=[ \\t])(?=\\\\?[\"'`]))"
const SP = "[ \\t]*"
/** A quoted value: to the first closing quote not escaped, or the end of the line (never past it). */
const QUOTED = "(?:@|[rRbBuUfF]{1,2})?(?<q>\\\\?[\"'`])(?<v>[^\\r\\n]*?)(?=(?<!\\\\)\\k<q>|[\\r\\n]|$)"
/**
 * An unquoted value: to whitespace, a quote, `;`, `&`, `,` before a space, `</`, `<redacted>`, a line
 * break written as an escape (`\n`, `\r`: a JSON-encoded string inside a string, such as a tool
 * call's arguments, where the next line is the next command), or the end.
 */
const BARE = "(?<v>[^\\s\"'`]*?)(?=<redacted>|<\\/|\\\\[nr]|[\\s\"'`;&]|,(?:\\s|$)|$)"

/** key first, quoted or bare value; the second alternative takes a keyword's run that is no assignment (dropped) */
const keyFirst = (word: string, value: string): RegExp => new RegExp(`${word}${KEY_RUN}${KEY_QUOTE}${SP}${OP}${SP}${value}|${word}${KEY_RUN}`, "gi")

/** The same expression anchored at a match's start, to read its groups again in a validator. */
const anchored = (re: RegExp): RegExp => new RegExp(re.source, re.flags.replace("g", "") + "y")
const groupsOf = (re: RegExp) => {
  const at = anchored(re)
  return (m: string): Record<string, string | undefined> | null => {
    at.lastIndex = 0
    const g = at.exec(m)
    return g === null || g[0].length !== m.length ? null : (g.groups ?? {})
  }
}

// ---------------------------------------------------------------------------------------------
// what is no value
// ---------------------------------------------------------------------------------------------

/** a template or a reference to something else: `${X}`, `$X`, `$(cmd)`, `{{ x }}`, `%s`, `%(x)s`, `%X%`, `{x}`, `<x>`, `[X]`, `#{x}`, `!Ref x` */
const TEMPLATE = /^(?:\$\{|\$\(|\$[A-Za-z_]\w*$|\{\{|\{%|%[sdr]$|%\([\w.]+\)[sdr]$|%[A-Za-z_]\w*%$|\{[\w.-]*\}$|<[^<>]*>$|\[[\w .-]*\]$|#\{|!\w+$)/
/** null-like, booleans, and the masks: every character the same (`****`, `xxxx`, `••••`) */
const EMPTY = /^(?:null|nil|none|undefined|true|false|empty|n\/a|redacted|hidden|masked)$/i
/** a reference in code: a dotted path, or a call or index (`os.environ[`, `getenv(`, `config.password`, `process.env.X`) */
const PATH_EXPR = "[A-Za-z_$][\\w$]*(?:(?:\\.|::|->)[A-Za-z_$][\\w$]*)*"
const CODE_REF = new RegExp(`^${PATH_EXPR}(?:[([]|\\([^()]*\\)|\\[[^\\[\\]]*\\])$|^[A-Za-z_$][\\w$]*(?:(?:\\.|::|->)[A-Za-z_$][\\w$]*)+$`)
/** a bare identifier: a variable when the operator is code (`==`, `!=`, `:=`) */
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/
/** words about a password, not one: `password: required`, `password is incorrect` */
const ABOUT = /^(?:required|optional|incorrect|invalid|wrong|reset|expired|changed|missing|not|too|empty|blank|set|unset|stored|hashed|encrypted|saved|sent|shown|hidden|masked|the|a|an|your|my|our|their|his|her|its|this|that|same|different|correct|valid|weak|strong|long|short|case|also|still|now|being|used|protected|secure|insecure|unknown|mandatory|needed|updated|generated|provided|given|new|old|in|on|at|for|to|of|by|and|or|but|as|like|only|never|always|currently|visible|displayed|printed|logged|available|enabled|disabled|must|should|will|can|cannot|please|enter|here|see|none|field|length|characters|policy|expires|hash|salt)[.!?,:;]?$/i
/** error and help messages under a password field: several words, one of them about a password */
const MESSAGE = /\s/
const MESSAGE_WORDS = /\b(?:required|must|invalid|incorrect|wrong|characters?|least|empty|missing|match(?:es)?|enter|please|should|cannot|can't|too|expired|reset)\b/i

/**
 * A value that names what it stands for (`password: password`, `postgres://user:password@h`,
 * `secret = "secret"`): a documentation example. Still replaced; the engine reports it as a
 * placeholder (severity `info`), beside its own generic check (`Detect.isPlaceholder`).
 */
const namesItself = (v: string): boolean => /^(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|key|value|string|user(?:name)?)$/i.test(v)

/** Whether a value is a value: not empty, not a placeholder, a template or a mask. */
/**
 * Whether every character of a value is the same one (`****`, `xxxx`, `••••`). A loop, not
 * `/^(.)\1*$/u`: V8 keeps a backtracking entry per repetition of a backreference, and a
 * megabytes-long value overflowed its stack.
 */
const allSame = (v: string): boolean => {
  const first = v.codePointAt(0)
  if (first === undefined) return true
  const step = first > 0xffff ? 2 : 1
  for (let i = step; i < v.length; i += step) if (v.codePointAt(i) !== first) return false
  return true
}

/**
 * A code reference is short: a longer value is not tested against `CODE_REF` (or `DOTTED`), whose
 * repeated group would take a backtracking entry per segment of a megabytes-long `a.a.a…`.
 */
const codeRef = (v: string): boolean => v.length <= 512 && CODE_REF.test(v) && !(DOTTED.test(v) && /\d/.test(v))
/**
 * A bare dotted path (`config.password`, `os.environ`) is a reference in code, but one holding a
 * digit is as likely a password written unquoted (`DB_PASSWORD=Summer2024.x` in an env file):
 * taken for a value, replaced (over-redaction is the safe side).
 */
const DOTTED = /^[A-Za-z_$][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*)+$/

const isValue = (v: string): boolean => {
  if (v.length < 4 || !/[\p{L}\p{N}]/u.test(v)) return false
  if (v.includes("<redacted>") || allSame(v) || /^[*•·.x_-]+$/i.test(v)) return false
  return !TEMPLATE.test(v) && !EMPTY.test(v)
}

/**
 * The last word of what follows a keyword in a key, when it says the key is about a password
 * rather than one: `password_hint`, `password_min_length`, `passwordless`, `PasswordVariable`,
 * `password_reset_url`. (`password_reset_token`, `password_confirm`, `password_hash` stay keys of
 * secrets.)
 */
const NOT_SECRET_TAIL =
  /^(?:hint|hints|length|len|min|max|size|policy|policies|regex|regexp|pattern|rule|rules|required|field|fields|label|prompt|placeholder|file|filename|path|dir|url|uri|link|page|reset|expiry|expires|expiration|age|count|type|enabled|disabled|strength|changed|updated|at|date|time|timeout|ttl|variable|var|env|name|id|less|input|form|text|message|msg|error|errors|mode|format|prefix|suffix|chars|method|manager|visible|show|toggle|icon|button|btn|selector|class|style|column|col|attr|param|validator|validation|encoder|helper|service|provider|handler|callback|fn|func|function|check|valid|flag|option|options|config|settings|spec|schema|ref|reference|source|store|storage|vault|location|set|exists|needed|supported|protected|description|doc|docs|nr|no|num|number|s|es)$/i
const WORDS_OF = /[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+/g
/** The last word after the last keyword of a key (`DB_PASSWORD_HINT` → `hint`), or "" */
const tailWord = (key: string, keyword: RegExp): string => {
  let at = -1
  let m: RegExpExecArray | null
  keyword.lastIndex = 0
  while ((m = keyword.exec(key)) !== null) at = m.index + m[0].length
  if (at < 0) return ""
  const words = key.slice(at).match(WORDS_OF)
  return words === null ? "" : words[words.length - 1]!
}
const PASSWORD_KEYWORD = new RegExp(PASSWORD_WORD, "gi")
const SECRET_KEYWORD = new RegExp(SECRET_WORD, "gi")

/** The key of a match: the identifier run before the keyword (from the 40 characters of context) and the match up to its operator. */
const keyOf = (m: string, c: MatchContext, keyPart: string): string => (/[\w.-]*$/.exec(c.before)?.[0] ?? "") + keyPart

// ---------------------------------------------------------------------------------------------
// password
// ---------------------------------------------------------------------------------------------

const CODE_OPS = /^(?:[:?.+!]{0,3}={2,3}|:=|!=)$/

const passwordAssignment = (value: string): Detector => {
  const pattern = keyFirst(PASSWORD_WORD, value)
  // the key, the operator, and the value, read again from the match
  const parts = new RegExp(`^(?<key>${PASSWORD_WORD}${KEY_RUN})${KEY_QUOTE}${SP}(?<op>${OP})`, "i")
  const groups = groupsOf(pattern)
  return {
    category: "password",
    group: "credential",
    severity: "critical",
    hint: PASSWORD_HINT,
    placeholder: namesItself,
    pattern,
    validate: (m, c) => {
      const g = groups(m)
      const v = g?.["v"]
      if (g === null || v === undefined) return false
      const p = parts.exec(m)
      if (p === null) return false
      const key = keyOf(m, c, p.groups!["key"]!)
      if (NOT_SECRET_TAIL.test(tailWord(key, PASSWORD_KEYWORD))) return false
      if (!isValue(v)) return false
      const op = p.groups!["op"]!.toLowerCase()
      if (op === "is" || op === "was") return !ABOUT.test(v) && !(MESSAGE.test(v) && MESSAGE_WORDS.test(v))
      if (ABOUT.test(v)) return false
      if (g["q"] !== undefined) return !(MESSAGE.test(v) && MESSAGE_WORDS.test(v) && v.split(/\s+/).length > 2)
      // unquoted: a reference in code is no value; a bare identifier is a variable after `==`, `!=`, `:=`
      return !codeRef(v) && !(CODE_OPS.test(op) && IDENTIFIER.test(v)) && !/^(?:\/|~\/|\.\.?\/)[\w./-]*$/.test(v)
    }
  }
}

/** A password key: a keyword whose last word after it does not make it a key about the password. */
const isPasswordKey = (key: string): boolean => {
  PASSWORD_KEYWORD.lastIndex = 0
  return PASSWORD_KEYWORD.test(key) && !NOT_SECRET_TAIL.test(tailWord(key, PASSWORD_KEYWORD))
}
const passwordKey = memoPerCall(isPasswordKey)

/** `"…" == password`, `'…' !== my_secret`: the value before the key, in a comparison. */
const valueBeforeKey = (word: string, category: string, group: string, accept: (v: string) => boolean): Detector => ({
  category,
  group,
  severity: "critical",
  placeholder: namesItself,
  hint: category === "password" ? PASSWORD_HINT : SECRET_HINT,
  pattern: new RegExp(`["'](?<v>[^"'\\r\\n]+)(?=["']${SP}[!=]==?${SP}[\\w.$-]*?${word})`, "gi"),
  validate: (m) => {
    const v = m.slice(1)
    return isValue(v) && !ABOUT.test(v) && accept(v)
  }
})

/** `--password x`, `--db-password=x`, `--passphrase "x y"` on a command line (`-p` is too many other things: port, profile, path). */
const FLAG = `(?<![\\w-])--(?:[a-z0-9]+-){0,3}${PASSWORD_WORD}(?:[ \\t]+|=)`
const flagDetector = (value: string): Detector => {
  const pattern = new RegExp(`${FLAG}${value}`, "gi")
  const groups = groupsOf(pattern)
  return {
    category: "password",
    group: "credential",
    severity: "critical",
    hint: PASSWORD_HINT,
    placeholder: namesItself,
    pattern,
    validate: (m) => {
      const g = groups(m)
      const v = g?.["v"]
      return v !== undefined && isValue(v) && !v.startsWith("-") && (g!["q"] !== undefined || !codeRef(v))
    }
  }
}

/**
 * A string under a password key (`{"password": "hunter2"}`, `{"DB_PASSWORD": "…"}`): the whole
 * value, when it is one line, a value, and not a message about the password. The key comes from
 * the engine (`MatchContext.key`), looked at once per call when long.
 */
const passwordField: Detector = {
  category: "password",
  group: "credential",
  severity: "critical",
  hint: PASSWORD_HINT,
  placeholder: namesItself,
  // and the digits of a long number under such a key (the engine hands numeric detectors integers
  // of nine digits or more; a shorter numeric password is not seen: see the engine)
  numeric: true,
  pattern: /^(?<v>[^\r\n]+)$/g,
  validate: (m, c) => c.key !== null && passwordKey(c.key) && isValue(m) && !(MESSAGE.test(m) && MESSAGE_WORDS.test(m))
}

// ---------------------------------------------------------------------------------------------
// credentials in a URL
// ---------------------------------------------------------------------------------------------

/**
 * `scheme://user:password@host`: the password is replaced, not the user or the host. A password
 * may hold `@` unencoded (`p@ss`): the last `@` before the host ends it. Not an e-mail address
 * (there is no `://` in one), and not `host:port` (no `@` after it).
 */
const urlCredentials: Detector = {
  category: "url_credentials",
  group: "credential",
  severity: "critical",
  hint: /:\/\//,
  placeholder: namesItself,
  pattern: /\b[a-z][a-z0-9+.-]{0,19}:\/\/[^\s:/@?#"'`<>]*:(?<v>[^\s/?#"'`<>]+)(?=@[^\s/?#@]*(?:[/?#\s]|$))/gi,
  validate: (m) => {
    const v = m.slice(m.indexOf("://") + 3).replace(/^[^:]*:/, "")
    return v.length > 0 && !v.includes("<redacted>") && !allSame(v) && !/^[*•]+$/.test(v) && !/^(?:\$\{|\$\(|\$[A-Za-z_]\w*$|\{\{|<[^>]*>$|\[[^\]]*\]$|%[sd]$|\{[\w.]*\}$)/.test(v)
  }
}

// ---------------------------------------------------------------------------------------------
// AWS secret access keys
// ---------------------------------------------------------------------------------------------

/** 40 characters of base64 with upper, lower and a digit (a SHA-1 in hex has no capital). */
const awsSecretShape = (v: string): boolean => v.length === 40 && /[A-Z]/.test(v) && /[a-z]/.test(v) && /\d/.test(v) && !lowComplexity(v)
const B64_40 = "(?<![A-Za-z0-9/+=])(?<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
/** after an operator (`KEY=wJalr…`): the operator, not a lookbehind, starts the run */
const B64_40_AFTER_OP = "(?<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
const AWS_NAME = "aws[_.-]?secret|secret[_.-]?access[_.-]?key|secretaccesskey|aws[_.-]?access[_.-]?key"

/** `aws_secret_access_key = …`, `"SecretAccessKey": "…"`, `AWS_SECRET_ACCESS_KEY=…` */
const awsSecretNamed: Detector = (() => {
  const pattern = new RegExp(`(?:${AWS_NAME})${KEY_RUN}${KEY_QUOTE}${SP}${OP}${SP}\\\\?["'\`]?${B64_40_AFTER_OP}|(?:${AWS_NAME})${KEY_RUN}`, "gi")
  const groups = groupsOf(pattern)
  return {
    category: "aws_secret_key",
    group: "secret",
    severity: "critical",
    hint: /secret|aws[_.-]?access/i,
    pattern,
    validate: (m) => {
      const v = groups(m)?.["v"]
      return v !== undefined && awsSecretShape(v)
    }
  }
})()

/** A secret access key within 100 characters after an access key id (`AKIA…,wJalr…` of a credentials CSV, `--access-key AKIA… --secret-key …`). */
const awsSecretBeside: Detector = {
  category: "aws_secret_key",
  group: "secret",
  severity: "critical",
  hint: /A[KS]IA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA/,
  pattern: new RegExp(`\\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\\b[\\s\\S]{0,100}?${B64_40}`, "g"),
  validate: (m) => awsSecretShape(m.slice(-40))
}

// ---------------------------------------------------------------------------------------------
// generic secrets
// ---------------------------------------------------------------------------------------------

/** Repeated or sequential: fewer than 60% distinct four-character pieces, or an ascending run of six (`123456`, `abcdef`). */
function lowComplexity(value: string): boolean {
  // the first 4,096 characters judge it: a secret is not megabytes long, and the pieces of one
  // that is would fill memory
  const v = value.length > 4096 ? value.slice(0, 4096) : value
  if (v.length >= 8) {
    const pieces = new Set<string>()
    for (let i = 0; i + 4 <= v.length; i++) pieces.add(v.slice(i, i + 4))
    if (pieces.size < 0.6 * (v.length - 3)) return true
  }
  let run = 1
  for (let i = 1; i < v.length; i++) {
    run = v.charCodeAt(i) === v.charCodeAt(i - 1) + 1 ? run + 1 : 1
    if (run >= 6) return true
  }
  return false
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const HEX = /^(?:0x)?[0-9a-f]+$/i
const VERSION = /^v?\d+(?:[._-]\d+)+(?:[-+.][\w.-]*)?$/
const PATHLIKE = /^(?:\/|~\/|\.\.?\/|[A-Za-z]:\\|[a-z][a-z0-9+.-]*:\/\/)/
/** a token: one run of the characters of keys and tokens (no spaces, no `:`) */
const TOKEN = /^[A-Za-z0-9+/=_.~-]+$/

/**
 * A value that looks generated: at least 20 token characters (quoted: any but whitespace and `:`,
 * which marks structured values: `host:port`, URNs, times), two of lower, upper and digit,
 * entropy of at least 3.5 bits a character, not repeated or sequential, and not a UUID, a hex
 * digest, a version, a path or words joined by `-`, `_` or `.`.
 *
 * @since 0.1.0
 * @category validators
 */
export const highEntropyToken = (v: string, quoted = false): boolean => {
  if (v.length < 20 || v.length > 1024 || !(quoted ? /^[^\s:]+$/.test(v) : TOKEN.test(v))) return false
  if (UUID.test(v) || HEX.test(v) || VERSION.test(v) || PATHLIKE.test(v)) return false
  const classes = (/[a-z]/.test(v) ? 1 : 0) + (/[A-Z]/.test(v) ? 1 : 0) + (/\d/.test(v) ? 1 : 0)
  if (classes < 2 || entropy(v) < 3.5 || lowComplexity(v)) return false
  // words joined by separators: every piece letters only
  return !v.split(/[-_.]+/).every((w) => /^[A-Za-z]*$/.test(w))
}

/** Under a key that names a secret: any value of 8 or more characters that is not a word, a sentence, repeated or sequential, an id, a version or a path. */
const secretValue = (v: string): boolean =>
  v.length >= 8 && !/^[a-z]+$/.test(v) && !/\s/.test(v) && !lowComplexity(v) && !UUID.test(v) && !(v.length <= 256 && VERSION.test(v)) && !PATHLIKE.test(v)

/** Keys whose value is public or a one-time form token, not a secret. */
const PUBLIC_KEY = /public|publishable|csrf|xsrf|authenticity|nonce|max[_.-]?tokens?|tokens?[_.-]?(?:count|limit|usage|type|url|uri|endpoint)|tokenizer/i

/** What a field's key says of the value under it, for `genericSecret` and `secretField`: nothing, a secret, or a token-like key. */
const secretKeyKind = memoPerCall((key: string): "none" | "secret" | "token" => {
  SECRET_KEYWORD.lastIndex = 0
  if (!SECRET_KEYWORD.test(key)) return "none"
  if (PUBLIC_KEY.test(key) || NOT_SECRET_TAIL.test(tailWord(key, SECRET_KEYWORD)) || /(?:secrets|tokens|keys|credentials)$/i.test(key)) return "none"
  return /secret/i.test(key) && !/secret[_.-]?(?:name|id|arn|ref)$/i.test(key) ? "secret" : "token"
})

const genericSecret = (value: string): Detector => {
  const pattern = keyFirst(SECRET_WORD, value)
  const parts = new RegExp(`^(?<key>${SECRET_WORD}${KEY_RUN})${KEY_QUOTE}${SP}(?<op>${OP})`, "i")
  const groups = groupsOf(pattern)
  return {
    category: "generic_secret",
    group: "secret",
    severity: "critical",
    hint: SECRET_HINT,
    placeholder: namesItself,
    pattern,
    validate: (m, c) => {
      const g = groups(m)
      const v = g?.["v"]
      if (g === null || v === undefined) return false
      const p = parts.exec(m)
      if (p === null) return false
      const op = p.groups!["op"]!.toLowerCase()
      if (op === "is" || op === "was" || op === ">") return false
      const kind = secretKeyKind(keyOf(m, c, p.groups!["key"]!))
      if (kind === "none") return false
      // an example, an elided or a masked value is no finding of a guess by key (a password key is stronger evidence: the engine marks its placeholders)
      if (!isValue(v) || /redacted|example|sample|dummy|fake|placeholder|changeme|your[_-]|x{4}|\.\.\.$|…$|(?:^|[_-])test[_-]/i.test(v)) return false
      if (g["q"] === undefined && (codeRef(v) || (CODE_OPS.test(op) && IDENTIFIER.test(v)))) return false
      // a key that names a secret: any value that is not a word, a sentence, repeated or sequential
      return kind === "secret" ? secretValue(v) : highEntropyToken(v, g["q"] !== undefined)
    }
  }
}

/**
 * The whole value of a field whose key names a secret, a token or a key (`{"client_secret": …}`,
 * `{"token": …}`, `{"X-Api-Key": …}`, an STS response's `SessionToken`): the structured form of
 * `generic_secret`, judged as its quoted form is (a secret key: any value that is not a word, a
 * sentence, repeated or sequential; a token or API key: a value that looks generated).
 */
const secretField: Detector = {
  category: "generic_secret",
  group: "secret",
  severity: "critical",
  hint: SECRET_HINT,
  placeholder: namesItself,
  pattern: /^(?<v>[^\r\n]+)$/g,
  validate: (m, c) => {
    if (c.key === null) return false
    const kind = secretKeyKind(c.key)
    if (kind === "none" || !isValue(m) || /redacted|example|sample|dummy|fake|placeholder|changeme|your[_-]|x{4}|\.\.\.$|…$/i.test(m)) return false
    return kind === "secret" ? secretValue(m) : highEntropyToken(m, true)
  }
}

/**
 * The assignment detectors, most specific first: the password forms, credentials in URLs, AWS
 * secret access keys, generic secrets, and last the whole value of a field named as a password,
 * then of one named as a secret, a token or a key.
 *
 * @since 0.1.0
 * @category detectors
 */
export const assignments: ReadonlyArray<Detector> = [
  passwordAssignment(QUOTED),
  passwordAssignment(BARE),
  valueBeforeKey(PASSWORD_WORD, "password", "credential", () => true),
  flagDetector(QUOTED),
  flagDetector(BARE),
  urlCredentials,
  awsSecretBeside,
  awsSecretNamed,
  genericSecret(QUOTED),
  genericSecret(BARE),
  valueBeforeKey(SECRET_WORD, "generic_secret", "secret", (v) => secretValue(v) && (v.length >= 20 || /[^\w.-]/.test(v))),
  passwordField,
  secretField
]
