/**
 * The detectors of secrets given by assignment: a password (or passphrase) named by its key, in
 * code, configuration, free text, a command line or a field's key; credentials in a URL; an AWS
 * secret access key; a secret, token or API key assigned a high-entropy value. Listed in
 * `Detect.builtins` after the fixed-form keys, the most specific first.
 *
 * What is replaced is the value alone (the named group `v`): `DB_PASSWORD=<redacted>`,
 * `"password": "<redacted>"`, `postgres://app:<redacted>@db`. A value runs to its closing quote
 * (an escaped quote does not close it, at any depth of escaping) or, unquoted, to the next
 * whitespace, quote, `,` before a space, `</` or `<redacted>`, and to a `;` or `&` only where
 * another `name=` follows it; a closing bracket opened before the key stays out; never past the
 * end of its line. A YAML plain scalar under a password key (`password: correct horse battery`)
 * and a passphrase key's value in any form run to the end of the line or a comment. Placeholders and
 * references are no value: `null`, `****`, `<redacted>`, `<password>`, `${PASSWORD}`, `$PASS`,
 * `%s`, `{{ .Values.password }}`, `os.environ["PASSWORD"]`, `getenv("DB_PASSWORD")`,
 * `config.password`, a bare variable compared or bound with `==`/`!=`/`:=`, and words about a
 * password (`password is required`). A key that names something about a password rather than the
 * password (`password_hint`, `password_min_length`, `passwordless`, `passwordVariable`) is no
 * password key.
 *
 * Other layouts: a name/value pair or a two-element pair written as text (`{"name":"API_TOKEN",
 * "value":"…"}`, `["X-Api-Key", "…"]`, `("password", "…")`), a (user, password) tuple under an
 * auth name or an auth helper's call (`auth=("bob", "…")`, `HTTPBasicAuth("u", "…")`: the
 * password replaced, the user kept), and a YAML block scalar (`password: |` then indented lines,
 * replaced up to the block's end). A password may start with any punctuation (`!qVntXEh7`,
 * `#…`, `$2y$…`): only a YAML tag people write (`!Ref`, `!secret`, `!!str`) and a variable named
 * as variables are (`$DB_PASSWORD`, `$dbPassword`) are references. A keyword spelled inside a run
 * of base64 (`…pWdzQ4cG4jZ0k=`) is no key. One digit repeated (`99999999`) under a password key
 * is a mask: replaced, reported as a placeholder.
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
 * - the line form (YAML, passphrases): the key-first start, then one class to the end of the line;
 *   its lookahead reads at most 49 characters from a position (spaces before `#` or the line's
 *   end: at most eight); the bare form's `;`/`&` lookahead reads at most 49.
 * - `.netrc`: a literal `password`, a lookbehind of at most 130 characters for `login USER`, then
 *   one class.
 * - name/value and two-element pairs, auth tuples and helpers: see `pairInText` and `authTuple`
 *   (a quoted value read once, `QUOTED_ONCE`); YAML block scalars: see `blockScalar`.
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
import { commandAssignments } from "./assignments-commands.js"

// ---------------------------------------------------------------------------------------------
// the pieces of a key-first assignment
// ---------------------------------------------------------------------------------------------

/**
 * A password keyword: anywhere in an identifier (`DB_PASSWORD`, `my_password_x`), or `pass`, `pw`,
 * `psw` as a word of one (`db_pass`, `ELK_PASS`, `smtp.pass`, `DB_PW`, `pw2`; not `bypass`,
 * `passport`, nor a run of random characters that holds them, `a4wP#PW2Jwj`, `a3-Pw7XZ`, in a
 * password's own text: digits then a letter after the word end no key);
 * and the word for a password in the European languages most written in configuration and
 * logs: German `Passwort`/`Kennwort`, Spanish `contraseña`, Catalan `contrasenya`, French
 * `mot de passe`, Portuguese `senha`, Dutch `wachtwoord`, Polish `hasło`, Swedish `lösenord`
 * (`senha` and `hasło` as words of their own). Each word is one more alternative of the hint
 * every string is tested against: the rest of the languages (Czech `heslo`, Croatian `lozinka`,
 * Finnish `salasana`, Hungarian `jelszó` …) cost 8 % of the scan's throughput together and are
 * left out; Italian and Romanian `parola` and French `parole` also mean "word".
 */
const PASSWORD_WORD =
  "(?:password|passwd|passphrase|passcode|pwd|(?<![a-z0-9])(?:pass|ps?w)(?![a-z]|\\d{1,4}[a-z])|passwort|kennwort|contrase(?:ñ|n)y?a|mot[ _-]?de[ _-]?passe|wachtwoord|(?<![a-z])(?:senha|has(?:ł|l)o)(?![a-z])|l(?:ö|o)senord)"
/** The keywords of a secret, a token or a key. `auth` is a word of its own (not `author`). */
const SECRET_CORE = "(?:secret|token(?!s|izer)|api[_. -]?key|apikey|access[_.-]?key|private[_.-]?key|(?<![a-z])auth(?![a-z])|credentials?)"
/**
 * `key` as the last word of a longer name (`DD_APP_KEY`, `RAILS_MASTER_KEY`, `subscriptionKey`,
 * `Ocp-Apim-Subscription-Key`): a search may start at it; the validators keep only a name whose
 * last word is `key`, with no word that makes it an id, a digest, a cache's, a table's or a public
 * key's (`endsInKey`), so `monkey`, `key_id` and `sort_key` start a search that finds nothing.
 */
const KEY_LAST = "(?<=\\w[.-]?)key(?![a-z])"
const SECRET_WORD = `(?:${SECRET_CORE}|${KEY_LAST})`
/** the same, to read a match again on its own (the lookbehind sees nothing before the match) */
const SECRET_WORD_READ = `(?:${SECRET_CORE}|key(?![a-z]))`
/**
 * The hints (a necessary condition the engine tests on every string and key first): as narrow as
 * the keywords, so that the counts of a model call (`input_tokens`, `max_tokens`), `author`,
 * `passenger` or `laws` do not send a record down the engine's full path.
 */
export const PASSWORD_HINT = /pass(?:w|ph|c|[^a-z]|$)|pwd|ps?w(?![a-z])|wort|contrase|de[ _-]?passe|senha|wachtwoord|has[łl]o|l[öo]senord/i
// (`\w[.-]?key`: one more alternative of the same family's hint, so no detector and no extra pass
// over every string; a JSON `"key"` or the word `keyboard` does not pass it)
export const SECRET_HINT = /secret|token(?!s|izer)|api[_. -]?key|apikey|access[_.-]?key|private[_.-]?key|auth(?![a-z])|credential|\w[.-]?key(?![a-z])/i
/** The rest of the key after its keyword: one run, one way to read it. */
const KEY_RUN = "[\\w.-]*(?:\\[\\w*\\])?"
/**
 * The quote that closes a quoted key (`"password":`), possibly escaped once or more
 * (`\"password\":`, and `\\\"password\\\":` of JSON in a string in a string, as CloudWatch
 * nests it): at most seven backslashes, one class. Or the `]` of PHP's `print_r` output before
 * its `=>` (`[password] => …`).
 */
const KEY_QUOTE = "(?:\\\\{0,7}[\"'`]|\\](?=[ \\t]*=>))?"
/**
 * The operators: `=`, `:=`, `::=`, `?=`, `.=`, `+=`, `==`, `===`, `!=`, `!==`, `=>`, `:`; `>` of an
 * XML element directly followed by its text, unless that starts with `@` (`<password>…`; not the
 * template of a URL, `postgres://u:<your-password>@host`, whose `@` starts the host); the
 * `value=` of an XML or HTML element after a quoted
 * name; `is`/`was` in free text; or none before a quoted value (`password "…"`).
 */
/**
 * A type annotation between a name and its `=` (`password: string = "…"`, `api_key: str = "…"`,
 * `let password: &'static str = "…"`, `password: Optional[str] = "…"`, Go's `var password string =
 * "…"`, a C# property's `Password { get; set; } = "…"`): part of the operator, so the value is what
 * follows `=` (spaces before `=`: `password: abc=def` stays a YAML value). Each piece is bounded (a
 * type of at most 40 characters and 60 of arguments).
 */
const TYPE_ANNOTATION =
  "(?:(?::[ \\t]{0,8}&?(?:'[a-z]{1,10}[ \\t]{1,4})?[A-Za-z_][\\w.]{0,40}(?:<[^<>\\r\\n=]{0,60}>|\\[[\\w., |]{0,60}\\])?(?:\\[\\])?[?!]?|[ \\t]{1,8}string)[ \\t]{1,8}=(?![=>])|[ \\t]{0,8}\\{[ \\t]{0,8}get;[ \\t]{0,8}(?:(?:private[ \\t]|protected[ \\t]|internal[ \\t])?[ \\t]{0,8}(?:set|init);[ \\t]{0,8})?\\}[ \\t]{0,8}=(?![=>]))"
/**
 * The annotation as the operator reads it, after the spaces the pattern's own `[ \t]*` took: Go's
 * `string` right after a space, a C# property's `{` at once (each re-read up to 8 spaces at every
 * position the pattern gave back along a run of spaces: `password` and 1 MB of spaces took 460 ms)
 */
const TYPE_ANNOTATION_OP = TYPE_ANNOTATION.replace("|[ \\t]{1,8}string)", "|(?<=[ \\t])string)").replace("|[ \\t]{0,8}\\{", "|\\{")
/** A YAML node's properties before its scalar: a tag (`!!str`) and an anchor (`&pw`), either or both, skipped to the value. */
const YAML_PROPERTIES = ":[ \\t]{1,8}(?:(?:!![a-z]{1,12}|&[\\w-]{1,40})[ \\t]{1,8}){1,2}(?=[^\\s#])"
/**
 * The operator of a key written in Markdown or HTML, as models echo credentials back and as
 * documents and wikis show them: emphasis closed before or after `:` or `=` (`**Password:** …`,
 * `**API_TOKEN**=…`, `<b>Password</b>: …`; after the operator only before a space, so a password
 * that starts with `*` keeps it), a table's cell closed and the next one opened (`</td><td>`,
 * `</th>\n  <td>`, `</dt><dd>`), and a Markdown table's `|` between two cells. The validators
 * accept one only where the key was opened by the same kind of markup (`MARKUP_OPENED`).
 */
const EMPHASIS = "(?:\\*{1,2}|_{1,2}|</(?:b|strong|em|i|u|code|span|label)>)"
const MARKUP_OP = `(?:${EMPHASIS}[ \\t]{0,4}[:=]|[:=]${EMPHASIS}(?=[ \\t])|(?:</(?:b|strong|em|i|code|span)>)?</(?:t[dh]|dt)>[ \\t\\r\\n]{0,8}<(?:td|dd)>(?:<(?:b|strong|em|i|code|span)>)?|(?:\\*{1,2}|_{1,2})?[ \\t]{0,4}\\|(?=[ \\t]))`
// (read on its own: the lookaheads for the space after it see the end of the operator)
const MARKUP_OP_READ = new RegExp(`^${MARKUP_OP.replaceAll("(?=[ \\t])", "")}$`)
/** the markup that opened a key read with a markup operator: emphasis, a cell, a Markdown cell's `|` (what is before the key's identifier) */
const MARKUP_OPENED = {
  emphasis: /(?:\*{1,2}|_{1,2}|<(?:b|strong|em|i|u|code|span|label)>)[\p{L}\d .'-]{0,40}$/u,
  cell: /<(?:t[dh]|dt)>(?:<(?:b|strong|em|i|code|span)>)?[\p{L}\d .'-]{0,40}$/u,
  table: /(?:^|[\r\n]|[ \t]\|)[ \t]*\|[ \t]{1,8}(?:\*{1,2}|_{1,2}|`)?[\p{L}\d .'-]{0,40}$/u
} as const
/** how a markup operator reads: the `:` or `=` it holds, or a cell's boundary (`cell`); null when the key was not opened by such markup */
const markupOp = (raw: string, before: string): string | null => {
  const kind = raw.includes("|") ? "table" : /<\/(?:t[dh]|dt)>/.test(raw) ? "cell" : "emphasis"
  if (!MARKUP_OPENED[kind].test(before)) return null
  return kind === "emphasis" ? (raw.includes("=") ? "=" : ":") : "cell"
}
/**
 * The operators of a sentence: a password named for someone or something before its `:`, `is`,
 * `is:` or `=` (`Password for bob: …`, `The password for the wifi is: …`: at most four words after
 * `for`), and a dash or an arrow between spaces (`Temporary password - …`, `new password -> …`,
 * `→`), which take a generated value only (`Reset password - MyApp` is a title).
 */
const PROSE_OP = "(?<=[ \\t])for[ \\t]+[\\w.@'-]{1,40}(?:[ \\t]+[\\w.@'-]{1,40}){0,3}?(?:[ \\t]+is:?|[ \\t]*[:=])(?=[ \\t])|(?<=[ \\t])(?:-{1,2}>?|→)(?=[ \\t])"
const OP = "(?:" + MARKUP_OP + "|" + PROSE_OP + "|" + TYPE_ANNOTATION_OP + "|" + YAML_PROPERTIES + "|[:?.+!]{0,3}={1,3}>?|:|>(?:<!\\[CDATA\\[)?(?=[^\\s<@])|(?<=[\"'][ \\t]{0,8})(?:value|content)=|(?<=[ \\t])(?:is|was)(?=[ \\t])|(?<=[ \\t])(?=\\\\?[\"'`]))"
const SP = "[ \\t]*"
/** A quoted value: to the first closing quote not escaped, or the end of the line (never past it). */
const QUOTED = "(?:@|[rRbBuUfF]{1,2})?(?<q>\\\\{0,7}[\"'`])(?<v>[^\\r\\n]*?)(?=(?<!\\\\)\\k<q>|[\\r\\n]|$)"
/**
 * The control characters that end any unquoted value: C0 controls but tab, line feed and carriage
 * return (which have rules of their own), DEL and U+0085 (NEL): `/proc/PID/environ` separates
 * its variables by NUL, and no one types a control into a password. Written escaped in JSON text
 * (`\u0000`), the same.
 */
const CTRL = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f\\u0085"
const CTRL_ESCAPED = "\\\\u00(?:[01][0-9a-fA-F]|7[fF]|85)"
/**
 * An unquoted value: to whitespace, a quote, a control character (`CTRL`), `,` before a space,
 * `</`, `<redacted>`, a line break written as an escape (`\n`, `\r`: a JSON-encoded string inside
 * a string, such as a tool call's arguments, where the next line is the next command), or the end.
 * `,` and `|` end it where another `name=` follows at once (`username=bob,password=x,vers=3.0`,
 * `--set auth.password=x,auth.user=bob`, `level=info|password=x|ip=…`). `;` and `&` end it only
 * where the text after them starts another `name=` (a URL query, `&amp;` included; a `k=v;k=v`
 * connection string, whose names may hold spaces between capitalised words: `User Id=`, `Initial
 * Catalog=`) or ends the word (a statement's `;`, and the last `;` of a quoted connection string,
 * `"Data Source=db;Password=x;"`, escaped or not: the quote closes the string); elsewhere they are the value's own
 * (`DB_PASSWORD=q7;Lm2&Zp9!x`, a Django key's `&`, and `password=q7;Lm2&Zp9 dbname=app` in a
 * libpq DSN or a logfmt line, where a lowercase word after a space is the next pair's). The
 * lookahead reads at most 60 characters.
 */
const NEXT_NAME = "(?:[;&](?:amp;)?[ \\t]{0,4}(?:[\\w.-]{1,40}|[A-Z][a-z]+(?:[ \\t][A-Z][A-Za-z]*){1,4})|[,|][\\w.-]{1,40})="
/**
 * A shell command after a value: `;`, `&`, `&&`, `|` or `||`, then a word of two characters or more
 * that ends at a space, `$IFS` (`curl${IFS}…`) or an escaped line break (`PGPASSWORD=x;rm -rf /srv`, `…&&curl -s …|sh`).
 * After `;` or `&`, a word followed by a space and `name=` is no command but the rest of a value
 * in a line of space-separated pairs (`password=q7;Lm2&Zp9 dbname=app`).
 * A replacement never takes it: the command stays in the record. (A password holding `;word `
 * loses its part after the `;`: the price of never erasing a command.)
 */
const NEXT_COMMAND = "(?:[;&]{1,2}(?![ \\t]{0,8}[A-Za-z_./~][\\w./~-]{1,40}[ \\t]{1,8}[\\w.-]{1,40}=)|\\|\\|?)[ \\t]{0,8}[A-Za-z_./~][\\w./~-]{1,40}(?=[ \\t]|\\$\\{?IFS\\b|\\\\[nr])"
const BARE = `(?<v>[^\\s"'\`${CTRL}]*?)(?=<redacted>|<\\/|\\]\\]>|\\\\[nr]|${CTRL_ESCAPED}|[\\s"'\`${CTRL}]|${NEXT_NAME}|${NEXT_COMMAND}|[;&](?:\\s|\\\\{0,7}["'\`]|$)|,(?:\\s|$)|$)`
/**
 * A YAML plain scalar (and a passphrase's value in any form): to the end of the line, a comment
 * (` #`), or `, name:` of a flow written on one line; never a quote, a block scalar (`|`, `>`), an
 * anchor, an alias, a tag or a flow collection at its start. Trailing spaces stay out (at most
 * eight are looked at from a position, so a run of spaces is not read again from each).
 */
const LINE = "(?<v>[^\\s\"'`#|>&*!{\\[" + CTRL + "][^\\r\\n" + CTRL + "]*?)(?=[ \\t]{1,8}#|[ \\t]{0,8}(?:[\\r\\n" + CTRL + "]|" + CTRL_ESCAPED + "|$)|<redacted>|\\\\[nr]|,[ \\t]{1,4}[\\w.-]{1,40}[:=][ \\t]|[ \\t]{0,8}" + NEXT_COMMAND + ")"

/**
 * A quoted literal handed to a call or given as a fallback, after the operator: PowerShell's
 * `ConvertTo-SecureString "…"` (`-String '…'`), the default of an environment lookup
 * (`os.environ.get("K", "…")`, `os.getenv('K', '…')`, `ENV.fetch('K', '…')`,
 * `System.getProperty("k", "…")`), and the right side of `??` or `||` after a path
 * (`process.env.K ?? '…'`). Each piece is bounded (a path of at most five 30-character names, a
 * quoted name of at most 80 characters), so a start that fails has read a bounded stretch.
 */
const CALL =
  "(?:ConvertTo-SecureString[ \\t]+(?:-String[ \\t]+)?|(?:[\\w$]{1,30}\\.){0,4}(?:get|fetch|getenv|getProperty|env|GetEnvironmentVariable)\\([ \\t]*[\"'][^\"'\\r\\n]{0,80}[\"'][ \\t]*,[ \\t]*|[\\w$]{1,30}(?:\\.[\\w$]{1,30}){0,4}(?:\\[[\"'][^\"'\\r\\n]{0,80}[\"']\\])?[ \\t]*(?:\\?\\?|\\|\\|)[ \\t]*)"
/** a value that is such a call with its literal (the call form's): a password holding `??` (`aw??p3Q7`) is none */
const CALL_START = new RegExp(`^${CALL}(?:@|[rRbBuUfF]{1,2})?\\\\{0,7}["'\`]`)
/** a PowerShell cmdlet or function name (`ConvertTo-SecureString`, `Read-Host`, `Get-Secret`): code, never a password */
const CMDLET = /^[A-Z][a-z]+[A-Za-z]*-[A-Z][A-Za-z]+$/

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

/** a template or a reference to something else: `${X}`, `$(cmd)`, `{{ x }}`, `%s`, `%(x)s`, `%X%`, `{x}`, `<x>`, `[X]`, `#{x}` (and `$X`, `!Ref x`: `VARIABLE`, `YAML_TAG`) */
const TEMPLATE = /^(?:\$\{|\$\(|\{\{|\{%|%[sdr]$|%\([\w.]+\)[sdr]$|%[A-Za-z_]\w*%$|\{[\w.-]*\}$|<[^<>]*>$|\[[\w .-]*\]$|#\{)/
/**
 * A shell, PHP, Perl or PowerShell variable: `$` and a name written as people name variables
 * (`$DB_PASSWORD`, `$db_password`, `$dbPassword`, `$SecurePassword`, at most two digits at the
 * end). A password that starts with `$` is written as no variable is named (`$qVntXEh7`: a capital
 * followed by a capital; `$2y$10$…`, a bcrypt hash; `$Summer2024`): it is a value.
 */
const VARIABLE = /^\$(?:[A-Z_][A-Z0-9_]*|[a-z_][a-z0-9_]*|[a-z]+(?:[A-Z][a-z]+)+\d{0,2}|[A-Z][a-z]+(?:[A-Z][a-z]+)*\d{0,2})$/
/**
 * A YAML tag standing where the value would be (`password: !Ref DbPassword`, `!Sub '…'`, Home
 * Assistant's `!secret db_password`, Ansible's `!vault |`, a core tag `!!str`): the tags people
 * write, by name. Any other value that starts with `!` is a password (`password=!qVntXEh7`): a tag
 * nobody defined is far rarer than a password starting with `!`, and replacing an unknown tag by
 * mistake is the safe side.
 */
const YAML_TAG =
  /^!(?:!(?:str|int|float|bool|null|binary|timestamp|map|seq|set|omap|pairs|merge|value|python\/[\w.:/-]{0,60})|(?:ref|sub|getatt|importvalue|join|select|split|findinmap|base64|cidr|getazs|if|not|equals|and|or|condition|transform|vault|secret|env|include|reference|var|file|encrypted|sops|unsafe|tagged|expr|lambda|regex|input|output|command|func|tag))$/i
/** null-like, booleans, and the masks: every character the same (`****`, `xxxx`, `••••`) */
const EMPTY = /^(?:null|nil|none|undefined|true|false|empty|n\/a|redacted|hidden|masked)$/i
/** a reference in code: a dotted path, or a call or index (`os.environ[`, `getenv(`, `config.password`, `process.env.X`) */
const PATH_EXPR = "[A-Za-z_$][\\w$]*(?:(?:\\.|::|->)[A-Za-z_$][\\w$]*)*"
const CODE_REF = new RegExp(`^${PATH_EXPR}(?:[([]|\\([^()]*\\)|\\[[^\\[\\]]*\\])$|^[A-Za-z_$][\\w$]*(?:(?:\\.|::|->)[A-Za-z_$][\\w$]*)+$`)
/** a bare identifier: a variable when the operator is code (`==`, `!=`, `:=`) */
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/
/** words about a password, not one: `password: required`, `password is incorrect` */
export const ABOUT = /^(?:required|optional|incorrect|invalid|wrong|reset|expired|changed|missing|not|too|empty|blank|set|unset|stored|hashed|encrypted|saved|sent|shown|hidden|masked|the|a|an|your|my|our|their|his|her|its|this|that|same|different|correct|valid|weak|strong|long|short|case|also|still|now|being|used|protected|secure|insecure|unknown|mandatory|needed|updated|generated|provided|given|new|old|in|on|at|for|to|of|by|and|or|but|as|like|only|never|always|currently|visible|displayed|printed|logged|available|enabled|disabled|must|should|will|can|cannot|please|enter|here|see|none|field|length|characters|policy|expires|hash|salt)[.!?,:;]?$/i
/** error and help messages under a password field: several words, one of them about a password */
const MESSAGE = /\s/
export const MESSAGE_WORDS = /\b(?:required|must|invalid|incorrect|wrong|characters?|least|empty|missing|match(?:es)?|enter|please|should|cannot|can't|too|expired|reset)\b/i
/**
 * A sentence about a password (`updated successfully for user bob`, `set via environment variable`,
 * `The database password used by the service`): its first word is one of `ABOUT` and a later word
 * is a preposition, a verb of being or `successfully` (not an article: a passphrase's word list
 * holds `the`). A passphrase is words too (`correct horse battery staple` starts with `correct`),
 * but no sentence: none of its later words is one of these.
 */
const PROSE_WORD = /^(?:for|via|by|of|to|from|with|in|on|at|is|was|are|were|be|been|has|have|successfully|using|used|when|if|after|before|which|into|through|per)$/i
const prose = (v: string): boolean => {
  if (v.length > 512) return false
  const words = v.trim().split(/\s+/)
  return words.length >= 2 && ABOUT.test(words[0]!) && words.slice(1).some((w) => PROSE_WORD.test(w.replace(/[.,;:!?]+$/, "")))
}
/**
 * A key that is only `pass`, `pw` or `psw`: short words that also name a test count (`{"pass": 1523,
 * "fail": 2}`) and a width (`pw = padding_width`, `{"pw": 1280, "ph": 720}`). Under one, digits
 * are a password only from six digits on (a PIN of four or five digits under a bare `pw` is lost:
 * the price of not blocking every test summary), and a snake_case identifier is a variable.
 */
const SHORT_KEY = /^["'`]?(?:pass|ps?w)["'`]?$/i
const countOrName = (key: string, v: string): boolean => SHORT_KEY.test(key) && (/^\d{1,5}$/.test(v) || /^[a-z]+(?:_[a-z]+)+$/.test(v))

/**
 * A value that names what it stands for (`password: password`, `postgres://user:password@h`,
 * `secret = "secret"`): a documentation example. Still replaced; the engine reports it as a
 * placeholder (severity `info`), beside its own generic check (`Detect.isPlaceholder`).
 */
const namesItself = (v: string): boolean => /^(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|key|value|string|user(?:name)?)$/i.test(v)

/**
 * The words a placeholder password is made of (`your-password-here`, `CHANGE_ME`,
 * `dummy_password`, `<your password>`): a value every word of which is one of these names what it
 * stands for.
 */
const PLACEHOLDER_WORD =
  /^(?:your|my|the|a|an|here|insert|enter|put|replace|with|change|me|it|changeme|changeit|example|sample|dummy|fake|mock|placeholder|redacted|todo|tbd|fixme|foo|bar|foobar|xxx+|pass(?:word|wd|phrase)?|pwd|ps?w|secret|token|api|key|value|string|db|database|user(?:name)?|admin|root|some|new|strong|s3cr3t|p(?:a|@)ssw(?:o|0)rd)$/i
/**
 * Whether a value people choose (a password) is, as a whole, a placeholder: a template or a
 * reference (`<your-password>`, `${DB_PASSWORD}`, `{{ db_password }}`, `%(pw)s`, `$PASSWORD`), a
 * mask (`****`, `xxxxxxxx`), or words that all name a placeholder (`changeme`, `password`,
 * `your_password_here`). A word inside a real password (`YourCompany2024!`, `Mock/Turtle#42`,
 * `todo-later-Kx9!`) does not make it one: the engine's own check, which looks for such words
 * anywhere, is tuned for random keys and is not asked for these detectors.
 */
const wholePlaceholder = (v: string): boolean => {
  if (v.length === 0 || v.length > 256) return false
  if (allSame(v) || /^[*•·.x_-]+$/i.test(v)) return true
  if (/^(?:<[^<>]+>|\{\{[^{}]*\}\}|\$\{[^{}]*\}|%\([\w.]+\)[sdr]|\$[A-Za-z_]\w*|\[[\w .-]+\]|%[A-Za-z_]\w*%)$/.test(v)) return true
  const words = v.split(/[-_. ]+|(?<=[a-z])(?=[A-Z])/).filter((w) => w.length > 0)
  return words.length > 0 && words.every((w) => PLACEHOLDER_WORD.test(w))
}

/**
 * How many closing brackets at the end of a bare value belong to the text around it
 * (`User(name=bob, password=x)`, `{"password": 12345678}`, `[token=x]`): trailing `)`, `]` or `}`
 * the value does not open itself, when the 40 characters before the key hold an opener of that
 * kind left open, or do not reach back to the start of the text (the opener may be further back).
 * A bracket the value opens itself stays in it (`Tr0ub(4dor)`). Linear in the value.
 */
const OPENER: Record<string, string> = { ")": "(", "]": "[", "}": "{" }
/** how many `open` brackets of `s` no later `close` closes */
const unclosedIn = (s: string, open: string, close: string): number => {
  let depth = 0
  let unclosed = 0
  for (let i = s.length - 1; i >= 0; i--) {
    if (s[i] === close) depth++
    else if (s[i] === open) {
      if (depth > 0) depth--
      else unclosed++
    }
  }
  return unclosed
}
const closersOwed = (v: string, before: string): number => {
  // per kind, the value's openers minus its closers: below zero, its last closer opens nowhere in it
  const balance: Record<string, number> = { "(": 0, "[": 0, "{": 0 }
  for (let i = 0; i < v.length; i++) {
    const ch = v[i]!
    if (ch === "(" || ch === "[" || ch === "{") balance[ch]!++
    else if (OPENER[ch] !== undefined) balance[OPENER[ch]]!--
  }
  // per kind, how many openers before the key are left open (counted once; unknown, so no limit,
  // when the 40 characters do not reach the start of the text)
  const left: Record<string, number> = {}
  const far = before.length >= 40
  let cut = 0
  for (let i = v.length - 1; i >= 0; i--) {
    const open = OPENER[v[i]!]
    if (open === undefined || balance[open]! >= 0) break
    if (!far) {
      const n = (left[open] ??= unclosedIn(before, open, v[i]!))
      if (n === 0) break
      left[open] = n - 1
    }
    balance[open]!++
    cut++
  }
  return cut
}

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
const codeRef = (v: string): boolean => v.length <= 512 && CODE_REF.test(v) && !(DOTTED.test(v) && /\d/.test(v) && !CODE_ROOT.test(v))
/** the roots of a path that is code even with a digit in it (`process.env.PASSWORD_1`, `settings.DB_PASSWORD2`) */
const CODE_ROOT = /^(?:process\.env|import\.meta\.env|os\.environ|ENV|System|config|settings|self|this|env)\./
/**
 * A bare dotted path (`config.password`, `os.environ`) is a reference in code, but one holding a
 * digit is as likely a password written unquoted (`DB_PASSWORD=Summer2024.x` in an env file):
 * taken for a value, replaced (over-redaction is the safe side).
 */
const DOTTED = /^[A-Za-z_$][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*)+$/

const isValue = (v: string): boolean => {
  if (v.length < 4 || !/[\p{L}\p{N}]/u.test(v)) return false
  if (v.includes("<redacted>") || allSame(v) || /^[*•·.x_-]+$/i.test(v)) return false
  // (`<<EOT`: a heredoc's opener, whose lines `heredoc` reads)
  return !TEMPLATE.test(v) && !VARIABLE.test(v) && !YAML_TAG.test(v) && !EMPTY.test(v) && !/^<<[-~]?["']?[A-Za-z_]\w*["']?$/.test(v)
}

/**
 * The last word of what follows a keyword in a key, when it says the key is about a password
 * rather than one: `password_hint`, `password_min_length`, `passwordless`, `PasswordVariable`,
 * `password_reset_url`. (`password_reset_token`, `password_confirm`, `password_hash` stay keys of
 * secrets.)
 */
const NOT_SECRET_TAIL =
  /^(?:version|versions|revision|hint|hints|length|len|min|max|size|policy|policies|regex|regexp|pattern|rule|rules|required|field|fields|label|prompt|placeholder|file|filename|path|dir|url|uri|link|page|reset|expiry|expires|expiration|age|count|type|enabled|disabled|strength|changed|updated|at|date|time|timeout|ttl|variable|var|env|name|id|less|input|form|text|message|msg|error|errors|mode|format|prefix|suffix|chars|method|manager|visible|show|toggle|icon|button|btn|selector|class|style|column|col|attr|param|validator|validation|encoder|helper|service|provider|handler|callback|fn|func|function|check|valid|flag|option|options|config|settings|spec|schema|ref|reference|source|store|storage|vault|location|set|exists|needed|supported|protected|description|doc|docs|nr|no|num|number|s|es|used|last|on|ts|timestamp|epoch|since|until|ago|stamp|days?|hours?|minutes?|mins?|seconds?|secs?|weeks?|months?|years?|duration|period|interval|lifetime|rotated|rotation|history|attempts?|retries|tries|failures?|created|modified|expired?|change|changes|changed|algorithm|algorithms|algo|status|state|item|items|command|commands|cmd|eval)$/i
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
const SECRET_CORE_KEYWORD = new RegExp(SECRET_CORE, "i")

/** The key of a match: the identifier run before the keyword (from the 40 characters of context) and the match up to its operator. */
const keyOf = (m: string, c: MatchContext, keyPart: string): string => identifierTail(c.before) + keyPart
/**
 * The identifier characters (`[\w.-]`, and `/` when `slash`) at the end of a text: a loop from the
 * end (`/[\w.-]*$/` tries every start of the text, in time quadratic in its 40 characters).
 */
export function identifierTail(s: string, slash = false): string {
  let i = s.length
  while (i > 0) {
    const ch = s.charCodeAt(i - 1)
    if (!((ch >= 65 && ch <= 90) || (ch >= 97 && ch <= 122) || (ch >= 48 && ch <= 57) || ch === 95 || ch === 46 || ch === 45 || (slash && ch === 47))) break
    i--
  }
  return s.slice(i)
}

// ---------------------------------------------------------------------------------------------
// password
// ---------------------------------------------------------------------------------------------

const CODE_OPS = /^(?:[:?.+!]{0,3}={2,3}|:=|!=)$/

/**
 * One digit repeated (`99999999`, `0000`): a mask where a password would be, or a PIN nobody should
 * use. Under a password key it is replaced and reported as a placeholder (severity `info`, never a
 * block under the presets, `wholePlaceholder` says so): over-redaction is the safe side, and a
 * numeric password that happens to be a repdigit is not let through.
 */
const repdigit = (v: string): boolean => v.length >= 4 && v.charCodeAt(0) >= 48 && v.charCodeAt(0) <= 57 && allSame(v)
/**
 * The word for a password in languages the keywords leave out (labels only: never a key's keyword,
 * where they would cost every scan), for `label`.
 */
const LABEL_WORD = /^(?:пароль|パスワード|密码|密碼|비밀번호|şifre|sifre|heslo|jelszó|salasana|lozinka|parola|κωδικός|סיסמה|كلمة المرور|passord|adgangskode|parool|slaptažodis)$/iu
/**
 * A label where a password would be (a locale file, a form): the word for a password in a language
 * the engine knows other than English alone (`Passwort`, `Mot de passe`, `Пароль`: English
 * `password` alone is a documentation example, a placeholder), a phrase of words holding such a
 * word (`Confirm password`, `Passwort vergessen`), or words ending in `:` or `?` (`Password:`,
 * `Forgot password?`, `Nom d'utilisateur :`). Letters, spaces and an apostrophe only: a password
 * holds a digit or a symbol, or is one word.
 */
const label = (v: string): boolean => {
  if (v.length > 80) return false
  const t = v.trim()
  const end = /[:?*]$|[:?][ \t]*\*$/.test(t)
  const words = t.replace(/[ \t]*[:?*]+$/, "").replace(/^[¿¡]/, "")
  if (words.length === 0 || !/^[\p{L}' ]+$/u.test(words)) return false
  if (end) return true
  if (LABEL_WORD.test(words)) return true
  PASSWORD_KEYWORD.lastIndex = 0
  return PASSWORD_KEYWORD.test(words) && (/ /.test(words) || !/^(?:password|passwd|passphrase|passcode|pwd|pass|pw|psw)$/i.test(words))
}
/** a value under a password key: a value that is no label, or a masked run of one digit */
export const passwordValue = (v: string): boolean => (isValue(v) && !label(v)) || repdigit(v)
/**
 * A key that means "working directory" (`PWD`, `OLDPWD`: every environment dump holds them, and a
 * shell tool reports `{stdout, pwd}`), and an absolute or home path under it: no password.
 */
/** an attribute that names a field without holding its value (`<label for="password">`) */
const LABEL_ATTRIBUTE = /(?:\bfor|htmlFor|\bid|\bclass(?:Name)?|aria-[\w-]+|data-[\w-]+|\btype)[ \t]*=[ \t]*\\{0,7}["'`]$/i
const PWD_KEY = /^["'`]?(?:old)?pwd["'`]?$/i
const ABSOLUTE_PATH = /^(?:\/|~(?:\/|$)|[A-Za-z]:[\\/]|\\\\)/
const workingDirectory = (key: string, v: string): boolean => PWD_KEY.test(key) && ABSOLUTE_PATH.test(v)

/**
 * A path to a file (`/run/secrets/db`, `~/.pgpass`, `./pw.txt`), which is no password; a single
 * segment after `/` that is written as a generated password is (`/Kx9mQ2zzP`: upper, lower, digit).
 */
const filePath = (v: string): boolean =>
  /^(?:\/|~\/|\.\.?\/)[\w./-]*$/.test(v) && !(/^\/[A-Za-z0-9]+$/.test(v) && /[A-Z]/.test(v) && /[a-z]/.test(v) && /\d/.test(v))

/**
 * Whether the keyword of a match stands inside a run of base64 whose padding (`=`, `==`) was read as
 * the operator (`…ODpWdzQ4cG4jZ0k=" https://…`: `pWd` inside a Basic credential, then the
 * text after the run taken for its value). A key is such a run when the identifier around the
 * keyword holds only base64 characters (no `_`, `.`, `-`, quote or space before the `=`), is 8
 * characters or more with its padding and a multiple of four long (unknown when the 40 characters
 * of context are all base64), holds upper and lower case letters, and no value follows the padding:
 * whitespace, the end, or a closing quote then whitespace, `,`, `;` or a bracket (a real key's
 * value follows its `=`: `MyDbPwd2ForProd=Kx9mQ2zzP`, `currentPassword="Kx9mQ2zzP"`).
 */
/** how many characters at the end of `s` are base64's (a loop from the end: `/[A-Za-z0-9+/]*$/` tries every start) */
const base64Tail = (s: string): number => {
  let i = s.length
  while (i > 0) {
    const ch = s.charCodeAt(i - 1)
    if (!((ch >= 65 && ch <= 90) || (ch >= 97 && ch <= 122) || (ch >= 48 && ch <= 57) || ch === 43 || ch === 47)) break
    i--
  }
  return s.length - i
}
const keyInBase64 = (m: string, c: MatchContext, head: string, key: string, op: string): boolean => {
  if (!/^={1,2}$/.test(op) || head !== key + op || !/^[A-Za-z0-9+/]+$/.test(key)) return false
  // after the padding: whitespace or the end, or a quote that closes the string the run stood in
  // (`"Basic …pWd0k=" https://…`: what follows that quote opens no value); a quote that opens one
  // (`currentPassword="…"`) is an assignment's
  const next = m.charAt(head.length)
  if (next !== "" && !/\s/.test(next) && !(/["'`\\]/.test(next) && /^\\{0,7}["'`](?:$|[\s,;)\]}>])/.test(m.slice(head.length)))) return false
  const tail = base64Tail(c.before)
  const length = tail + key.length + op.length
  if (length < 8) return false
  const run = c.before.slice(c.before.length - tail) + key
  if (!/[A-Z]/.test(run) || !/[a-z]/.test(run)) return false
  // the whole context is base64: the run starts further back, its length is unknown
  return (tail === c.before.length && c.before.length >= 40) || length % 4 === 0
}

/** The value a bare match replaces: without the closing brackets it owes the text around it. */
const bareValue = (v: string, c: MatchContext): string => v.slice(0, v.length - closersOwed(v, c.before))
/** A bare value that ends a statement or a call in code (`confirm_password:`, `other),`), without that end. */
// (a loop from the end: `/[:,;)]+$/` tries every start of a long run of them, in time quadratic in its length)
const codeEnd = (v: string): string => {
  let end = v.length
  while (end > 0 && ":,;)".includes(v[end - 1]!)) end--
  return end === v.length ? v : v.slice(0, end)
}
/** Whether a bare value is code: a reference, or an identifier after `==`, `!=`, `:=` (a trailing `:`, `)`, `,` of the statement aside). */
const isCode = (v: string, op: string, key: string): boolean => {
  const bare = codeEnd(v)
  return codeRef(v) || codeRef(bare) || (CODE_OPS.test(op) && IDENTIFIER.test(bare) && !(op === ":=" && makeValue(key, bare)))
}
/**
 * After `:=`, a bare word is Go's variable, except under a Make variable's name (capitals, digits,
 * `_`: `DB_PASSWORD := hunter2`, `export API_TOKEN := …`) and for a word no program names a
 * variable with: lower case, capitals and digits mixed (`password := Kx9mQ2zzP`)
 */
const makeValue = (key: string, bare: string): boolean =>
  /^[A-Z][A-Z0-9_]*$/.test(key.slice(key.search(/[\w]+$/))) || (/[a-z]/.test(bare) && /[A-Z]/.test(bare) && /\d/.test(bare))

/**
 * Whether the key of a match starts its line, as a YAML key does (after indentation, a list's
 * `- `, or a quote): the 40 characters before it are looked at, and a line break written as an
 * escape (`\n`) counts as one. When those 40 characters do not reach a line start they must all
 * be indentation.
 */
const YAML_LINE_START = /(?:^|[\r\n]|\\n)[ \t]*(?:-[ \t]+)?["']?$/
const startsLine = (c: MatchContext): boolean => {
  const prefix = identifierTail(c.before)
  const rest = c.before.slice(0, c.before.length - prefix.length)
  return YAML_LINE_START.test(rest) && (c.before.length < 40 || /[\r\n]|\\n/.test(rest) || /^[ \t]*$/.test(rest))
}

/**
 * `KEY=v` as a shell writes it (a variable's name, `=` with no space on either side): its value is
 * one shell word, bare or quoted, and what follows a space is a command the variable is set for
 * (`PASSWORD=x systemctl restart app`, `GPG_PASSPHRASE=x gpg --batch …`), whatever the program.
 * The line form never takes such a match; the bare and quoted forms take the word, and the command
 * stays in the record. (An env file's unquoted `KEY=a b c` loses `b c` to this: a shell reads it
 * the same way, and a command erased from a tamper-evident record is the worse fault.)
 */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const shellAssignment = (key: string, head: string, m: string): boolean => SHELL_NAME.test(key) && !/[ \t]=$/.test(head) && !/^[ \t]/.test(m.slice(head.length))
/**
 * Whether `key=several words` at a line start, for a key no shell variable has, is a value that
 * runs to the end of the line: always in INI and `.properties` (`password = tundra velvet ocean`,
 * spaces around `=`; `spring.datasource.password=…`, a dotted key), and for another key
 * (`db-password=a b c`) unless the words read as a command: a word that is a flag, a path, an
 * assignment, an expansion or a shell operator, or a second word that names a common program.
 */
const COMMAND_WORD = /^-|[/=$|;&"'`\\<>]/
const PROGRAM =
  /^(?:npm|npx|node|yarn|pnpm|bun|deno|python\d?(?:\.\d+)?|pip\d?|uv|poetry|psql|pg_dump|pg_restore|mysql|mysqldump|mongo|mongosh|redis-cli|docker|podman|kubectl|helm|make|go|java|mvn|gradle|ruby|bundle|rails|rake|php|composer|sh|bash|zsh|exec|env|sudo|curl|wget|ssh|scp|rsync|git|terraform|ansible|ansible-playbook|aws|az|gcloud|cargo|dotnet|sqlcmd|sqlplus|echo|printf|cat|time|nohup|xargs)$/
const eqLine = (key: string, head: string, v: string): boolean => {
  if (/[ \t]=$/.test(head) || key.includes(".")) return true
  const words = v.trim().split(/[ \t]+/)
  if (words.length > 1 && PROGRAM.test(words[1]!)) return false
  for (let i = 1; i < words.length; i++) if (COMMAND_WORD.test(words[i]!)) return false
  return true
}

/** What a key-first match says: its key (with the identifier before the keyword), operator, the text to the operator, and its value. */
interface Assignment {
  readonly key: string
  readonly op: string
  readonly head: string
  readonly v: string
  readonly quoted: boolean
}
/**
 * The one reader of a key-first match (the password forms and the generic secrets): the match read
 * again anchored (its groups), the key and the operator, the key completed from the context. A
 * keyword inside a run of base64 whose padding was taken for the operator is no assignment
 * (`keyInBase64`). `word` is the keyword as the detector's expression has it; `read` the same,
 * to read a match on its own (a lookbehind of the keyword sees nothing before the match).
 */
// (the operator as read: `string =` and `{ get; set; } =` without the spaces before them)
const TYPED_OP = new RegExp(`^(?:${TYPE_ANNOTATION}|${TYPE_ANNOTATION_OP.replace("(?<=[ \\t])", "")})$`)
const TYPED_HEAD = new RegExp(`^${TYPE_ANNOTATION}`)
/** a type named where a value would be (`password: string;`, `api_key: str`, `password: &str`) */
const TYPE_NAME = /^&?(?:'static[ \t]+)?(?:str|string|String|number|int|bool|boolean|any|unknown|bytes|SecretStr|SecureString|char\*?|Optional\[\w+\]|Option<\w+>|\w+\[\])[?!]?$/
const PROPERTIES_OP = new RegExp(`^${YAML_PROPERTIES}$`)
const URL_HOST_BEFORE = /[a-z][a-z0-9+.-]{0,19}:\/\/(?:[^\s/@]*@)?$/i
const assignmentReader = (read: string, value: string) => {
  const groups = groupsOf(keyFirst(read, value))
  const parts = new RegExp(`^(?<key>${read}${KEY_RUN})${KEY_QUOTE}${SP}(?<op>${OP})`, "i")
  return (m: string, c: MatchContext): Assignment | null => {
    const g = groups(m)
    const v = g?.["v"]
    if (g === null || v === undefined) return null
    const p = parts.exec(m)
    if (p === null) return null
    const raw = p.groups!["op"]!
    // a type annotation reads as `=`, a YAML node's properties as `:`
    // (and an XML element's `>` with its CDATA section's opener as `>`; markup around the key as
    // the operator it holds, or `cell`)
    // (`__Password:__`: the identifier before the keyword gives back the `__` that opened it)
    const markup = MARKUP_OP_READ.test(raw) ? markupOp(raw, c.before.slice(0, c.before.length - identifierTail(c.before).replace(/^_+/, "").length)) : undefined
    if (markup === null) return null
    const op = markup !== undefined ? markup : /^for[ \t]/i.test(raw) ? (/is:?$/i.test(raw) ? "is" : ":") : /^(?:-{1,2}>?|→)$/.test(raw) ? "-" : TYPED_OP.test(raw) ? "=" : PROPERTIES_OP.test(raw) ? ":" : raw.startsWith(">") ? ">" : raw.toLowerCase()
    if (keyInBase64(m, c, p[0]!, p.groups!["key"]!, op)) return null
    const key = keyOf(m, c, p.groups!["key"]!)
    // a URL's host is no key (`http://pwd.example.com:8080/x`, `https://api-key.host:443`): its `:`
    // starts a port
    if (URL_HOST_BEFORE.test(c.before.slice(0, c.before.length - (key.length - p.groups!["key"]!.length)))) return null
    // `password: str = "…"` read at its `:` (the line form's `str = "…"`, the bare form's `str`):
    // the value follows the `=`, and the form that reads the annotation as the operator takes it
    if (op === ":" && TYPED_HEAD.test(m.slice(p[0]!.length - raw.length))) return null
    // (and a form whose value started before the annotation's `=`: the operator read alone, above,
    // is longer than the one its match took)
    if (m.length - v.length < p[0]!.length) return null
    // a type alone (`password: string;`, `(password: str)`) is no value
    if (op === ":" && g["q"] === undefined && TYPE_NAME.test(codeEnd(bareValue(v, c)))) return null
    // in markup, a type or one plain word is a documentation table's column or a description
    // (`| password | string |`, `**Password**: Required`): a password in a table is lost if it is
    // one word of letters alone
    if (markup !== undefined && (TYPE_NAME.test(codeEnd(v)) || /^[A-Za-z][a-z]*$/.test(codeEnd(v)))) return null
    // an unquoted value that opens a flow list (`[required, min:8]`, `[a, b]`): its first item is no value
    // of its own; the list is `listUnderKey`'s (a password that starts with `[` is quoted or lost)
    if (g["q"] === undefined && v.startsWith("[") && (!v.includes("]") || v.endsWith("]"))) return null
    return { key, op, head: p[0]!, v, quoted: g["q"] !== undefined }
  }
}

/**
 * Words that make a sentence, not a passphrase, after `password is` (`what you need`, `ask the
 * front desk`): pronouns, articles, question words, the verbs of an instruction and the adjectives
 * people say of a password.
 */
const PHRASE_STOP =
  /^(?:what|which|who|whom|whose|where|when|why|how|you|we|they|it|i|me|he|she|them|us|need|needs|have|has|had|do|does|did|no|yes|so|then|there|here|just|very|really|easy|hard|simple|secret|private|personal|important|sensitive|good|bad|ok|okay|fine|right|something|nothing|anything|everything|different|known|unique|please|reset|it's|that's|the|a|an|your|my|our|their|this|that|ask|see|check|use|contact|call|email|find|get|look|read|set|type)$/i
/**
 * A passphrase written in a sentence: two to eight words of lower-case letters (the last may end a
 * sentence with `.` or `!`), the first no word about a password, none a preposition or a verb of
 * being, a pronoun or a question word: `tundra velvet ocean`, not `stored in the vault`, `what you
 * need`, `changed yesterday`.
 */
const passphraseWords = (v: string): boolean => {
  if (v.length > 120) return false
  const words = v.trim().split(/[ \t]+/)
  if (words.length < 2 || words.length > 8) return false
  return words.every((w, i) => {
    const word = i === words.length - 1 ? w.replace(/[.!]$/, "") : w
    return /^[a-z]{2,14}$/.test(word) && !(i === 0 && ABOUT.test(word)) && !PROSE_WORD.test(word) && !PHRASE_STOP.test(word)
  })
}
/** the owner or kind of a password named in a sentence before its key (`my password:`, `the admin password:`, `DB password:`) */
const PROSE_OWNER = /(?:^|[\s(,])(?:my|our|your|the|their|his|her|new|temporary|temp|admin|root|db|database|wifi|wi-fi)[ \t]+$/i

/** the forms of a key-first password's value */
type ValueForm = "quoted" | "line" | "bare" | "call"

const passwordAssignment = (form: ValueForm): Detector => {
  const value = form === "quoted" ? QUOTED : form === "call" ? CALL + QUOTED : form === "line" ? LINE : BARE
  const pattern = keyFirst(PASSWORD_WORD, value)
  const reader = assignmentReader(PASSWORD_WORD, value)
  return {
    category: "password",
    group: "credential",
    severity: "critical",
    hint: PASSWORD_HINT,
    placeholder: wholePlaceholder,
    placeholderGeneric: false,
    pattern,
    ...(form === "quoted" || form === "call" ? {} : { trimEnd: (v: string, c: MatchContext) => closersOwed(v, c.before) }),
    validate: (m, c) => {
      const a = reader(m, c)
      if (a === null) return false
      const { key, op } = a
      let v = a.v
      if (NOT_SECRET_TAIL.test(tailWord(key, PASSWORD_KEYWORD))) return false
      if (form !== "quoted" && form !== "call") v = bareValue(v, c)
      if (!passwordValue(v) || countOrName(key, v) || workingDirectory(key, v)) return false
      if (form === "call") return !ABOUT.test(v) && !(MESSAGE.test(v) && MESSAGE_WORDS.test(v))
      if (form === "line") {
        // words to the end of the line: a YAML plain scalar, or a passphrase in any form; one word
        // is the bare form's, and a message about the password is none
        if (CALL_START.test(v) || CMDLET.test(v.split(/[ \t(]/, 1)[0]!)) return false
        if (!/\s/.test(v) || op === ">" || op.endsWith("value=") || op.endsWith("content=")) return false
        // a passphrase in a sentence: `password is tundra velvet ocean`
        if (op === "is" || op === "was") return passphraseWords(v)
        // an env-style `KEY=v` (a shell variable's name, no space around `=`): one shell word, bare
        // or quoted, is the value, and what follows a space is the command it is set for
        // (`GPG_PASSPHRASE=x gpg --batch …`, `DB_PASSWORD=x docker-compose up`): the bare form takes
        // the word, and the command stays in the record
        if (op === "=" && shellAssignment(key, a.head, m)) return false
        // (or after `my password:`, `the admin password:` in a sentence, words of a passphrase alone)
        const proseOwned = op === ":" && PROSE_OWNER.test(c.before.slice(0, c.before.length - identifierTail(c.before).length)) && passphraseWords(v)
        if (!/passphrase/i.test(key) && !proseOwned && !((op === ":" || (op === "=" && eqLine(key, a.head, v))) && startsLine(c))) return false
        return !MESSAGE_WORDS.test(v) && !prose(v)
      }
      if (op === "is" || op === "was") return !ABOUT.test(v) && !PHRASE_STOP.test(v) && !(MESSAGE.test(v) && MESSAGE_WORDS.test(v))
      // after a dash or an arrow: a generated password only (letters and digits, eight or more)
      if (op === "-") return v.length >= 8 && /\d/.test(v) && /[A-Za-z]/.test(v) && !/\s/.test(v)
      // an element whose attribute names the password field (`<label for="password">Forgot
      // password?</label>`, `id=`, `class=`, `aria-*=`): its text is a label, not the value
      if (op === ">" && LABEL_ATTRIBUTE.test(c.before.slice(0, c.before.length - identifierTail(c.before).length))) return false
      if (ABOUT.test(v) || (!a.quoted && EMPTY.test(codeEnd(v)))) return false
      if (a.quoted) return !(MESSAGE.test(v) && MESSAGE_WORDS.test(v) && v.split(/\s+/).length > 2)
      // unquoted: a reference in code is no value; a bare identifier is a variable after `==`, `!=`, `:=`
      return !isCode(v, op, key) && !CMDLET.test(v) && !filePath(v)
    }
  }
}

/** A password key: a keyword whose last word after it does not make it a key about the password. */
const isPasswordKey = (key: string): boolean => {
  PASSWORD_KEYWORD.lastIndex = 0
  return PASSWORD_KEYWORD.test(key) && !NOT_SECRET_TAIL.test(tailWord(key, PASSWORD_KEYWORD))
}
export const passwordKey = memoPerCall(isPasswordKey)

/** `"…" == password`, `'…' !== my_secret`: the value before the key, in a comparison. */
const valueBeforeKey = (word: string, category: string, group: string, accept: (v: string) => boolean): Detector => ({
  category,
  group,
  severity: "critical",
  ...(category === "password" ? { placeholder: wholePlaceholder, placeholderGeneric: false } : { placeholder: namesItself }),
  hint: category === "password" ? PASSWORD_HINT : SECRET_HINT,
  pattern: new RegExp(`["'](?<v>[^"'\\r\\n]+)(?=["']${SP}[!=]==?${SP}[\\w.$-]*?${word})`, "gi"),
  need: /[!=]=/,
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
    placeholder: wholePlaceholder,
    placeholderGeneric: false,
    pattern,
    ...(value === BARE ? { trimEnd: (v: string, c: MatchContext) => closersOwed(v, c.before) } : {}),
    validate: (m, c) => {
      const g = groups(m)
      let v = g?.["v"]
      if (v === undefined) return false
      if (g!["q"] === undefined) v = bareValue(v, c)
      return isValue(v) && !v.startsWith("-") && (g!["q"] !== undefined || !codeRef(v))
    }
  }
}

/**
 * A `.netrc` (or `_netrc`) entry: `machine HOST login USER password X`, on one line or one token a
 * line: `password` after `login USER` (within 100 characters, a lookbehind read from the literal
 * keyword back, so each `password` costs at most that), then its value to the next whitespace.
 */
const netrc: Detector = {
  category: "password",
  group: "credential",
  severity: "critical",
  // (the password forms' hint: one object, asked once per string for all of them)
  hint: PASSWORD_HINT,
  placeholder: wholePlaceholder,
  placeholderGeneric: false,
  // `login` starts a line or follows `machine HOST` or `default`: prose that says "login … password"
  // (`After login attempts, password reset emails were sent.`) has neither
  pattern: /(?<=(?:^|[\r\n]|\bmachine[ \t]+[^\s]{1,100}\s{1,20}|\bdefault\s{1,20})[ \t]*login[ \t]+[^\s]{1,100}\s{1,20})password[ \t]+(?<v>[^\s]+)/g,
  need: /login/,
  validate: (m) => {
    const v = m.slice(m.search(/[ \t]/)).trimStart()
    return isValue(v) && !ABOUT.test(v)
  }
}

/** the two families a name in a pair, a tuple or a block is read for: its keyword, category, group and hint */
type Family = "password" | "secret"
export const familyOf = (family: Family) =>
  family === "password"
    ? ({ word: PASSWORD_WORD, category: "password", group: "credential", hint: PASSWORD_HINT, placeholder: wholePlaceholder, placeholderGeneric: false } as const)
    : ({ word: SECRET_WORD, category: "generic_secret", group: "secret", hint: SECRET_HINT, placeholder: namesItself } as const)

/**
 * What a detector of a family's lines, lists or pairs states of itself: its family's category,
 * group, hint and placeholder check, critical (and for passwords `placeholderGeneric: false`,
 * which `familyOf` carries).
 */
const familyFields = (f: ReturnType<typeof familyOf>) => ({
  category: f.category,
  group: f.group,
  severity: "critical" as const,
  hint: f.hint,
  placeholder: f.placeholder,
  ...("placeholderGeneric" in f ? { placeholderGeneric: f.placeholderGeneric } : {})
})

/**
 * A quoted value read once, then (optionally) the closing quote and a closing bracket right after
 * it: a lookahead captures the value to its first closing quote or the line's end, and a
 * back-reference takes it, so a start is never read on to a later quote (a lookahead is not
 * entered again by backtracking). The closing quote and bracket are part of the match, for the
 * validator to see that the pair closes there, and are given back by `closeOwed`.
 */
const QUOTED_ONCE = "(?=(?<w>[^\\r\\n]*?)(?=(?<!\\\\)\\k<q>|[\\r\\n]|$))\\k<w>"
const CLOSE = "\\k<q>[ \\t\\r\\n]{0,8}[)\\]]"
/** the closing quote, spaces and bracket at the end of a value read by `QUOTED_ONCE` then `CLOSE`: they stay */
const closeOwed = (v: string): number => {
  const m = /\\{0,7}["'`][ \t\r\n]{0,8}[)\]]$/.exec(v)
  return m === null ? 0 : m[0].length
}

/**
 * A name and its value written as text, the name a password key or a secret's, a token's or an
 * API key's:
 * - a name/value pair: JSON (`{"name":"DB_PASSWORD","value":"…"}`, `{"name":"API_TOKEN","value":
 *   "…"}`, SSM's `"Name": …, "Type": "SecureString", "Value": …`, CloudFormation's
 *   `ParameterKey`/`ParameterValue`, Postman's `{"key": …, "value": …}`) and YAML (`- name:
 *   DB_PASSWORD` then `value: …` on the next line), the name member before the keyword looked at
 *   in the 40 characters of context;
 * - a two-element pair: a header given as an array or a tuple (`["X-Api-Key", "…"]`,
 *   `req.setHeader("X-Auth-Token", "…")`, `new Headers([["x-api-key", "…"]])`), a form field as a
 *   tuple (`[("username", "bob"), ("password", "…")]`). The name is quoted and opened by `(` or `[`
 *   (in the context), the value is a quoted literal, and the pair closes right after it: a list of
 *   three or more names (`("password", "email", "x")`) is none. A value people write as a field's
 *   name (`["password", "password_confirmation"]`, `("password", "last_login")`: letters, `_`,
 *   `-`, `.` alone) is no password there, where no operator says it is assigned.
 * A secret's value is judged as the same value under that name would be (`secretByKey`).
 *
 * One expression for the three layouts (one search per string and family). Linear time: a search
 * starts at the keyword; the rest of the name is at most 60 characters, the pieces to the value
 * literals and bounded runs; a quoted value is read once (`QUOTED_ONCE`), a YAML one is one class.
 */
const PAIR_OPEN = /[(\[][ \t\r\n]{0,8}(?:[rRbBuUfF]{1,2})?\\{0,7}["'][\w./-]{0,60}$/
const NAME_BEFORE = /["'](?:name|key|key[_-]?name|parameter(?:key|name))["'][ \t]*:[ \t]*["'][\w./-]*$/i
const YAML_NAME_BEFORE = /(?:^|[\r\n])[ \t]*(?:-[ \t]+)?name:[ \t]*[\w./-]*$/i
export const FIELD_NAME = /^-{0,2}[A-Za-z][A-Za-z_.-]*$/
const pairInText = (family: Family): Detector => {
  const f = familyOf(family)
  const pattern = new RegExp(
    `${f.word}[\\w./-]{0,60}(?:[ \\t]*\\r?\\n[ \\t]{0,40}value:[ \\t]+|\\\\{0,7}["'][ \\t]*,[ \\t\\r\\n]{0,40}(?:(?:["']type["'][ \\t]*:[ \\t]*["']\\w{0,30}["'][ \\t]*,[ \\t]*)?(?<nv>["'](?:parameter)?value["'])[ \\t]*:[ \\t]*)?(?:@|[rRbBuUfF]{1,2})?(?<q>\\\\{0,7}["'\`]))` +
      `(?<v>(?<=value:[ \\t]{1,40})[^\\s"'#]\\S*|${QUOTED_ONCE}(?:${CLOSE})?)`,
    "gi"
  )
  const groups = groupsOf(pattern)
  return {
    ...familyFields(f),
    pattern,
    trimEnd: closeOwed,
    validate: (m, c) => {
      const g = groups(m)
      let v = g?.["v"]
      if (g === null || v === undefined) return false
      const yaml = g["q"] === undefined
      const owed = yaml ? 0 : closeOwed(v)
      if (yaml ? !YAML_NAME_BEFORE.test(c.before) : g["nv"] !== undefined ? !NAME_BEFORE.test(c.before) : owed === 0 || !PAIR_OPEN.test(c.before)) return false
      v = v.slice(0, v.length - owed)
      const name = identifierTail(c.before, true) + (/^[\w./-]*/.exec(m)?.[0] ?? "")
      if (family === "secret") return secretByKey(name, v, !yaml)
      if (!passwordKey(name) || !passwordValue(v) || ABOUT.test(v)) return false
      // a two-element pair: no field's name, no message
      return g["nv"] !== undefined || yaml || (!FIELD_NAME.test(v) && !(MESSAGE.test(v) && MESSAGE_WORDS.test(v)))
    }
  }
}

/**
 * A user and a password given together: a tuple or a list assigned to (or passed as) a name whose
 * last word is `auth`, `credentials`, `creds`, `tuple`, `pair` or `basic` (Python's
 * `requests.get(url, auth=("bob", "…"))`, `auth = ('user', '…')`, `credentials = ["admin", "…"]`,
 * `{"auth": ("u", "…")}`), and the auth helpers' calls (`HTTPBasicAuth("u", "…")`,
 * `HTTPDigestAuth`, `HTTPProxyAuth`, `aiohttp.BasicAuth`, `httpx.BasicAuth`, `HttpNtlmAuth`). The
 * second element, a quoted literal, is the password and is replaced; the user (a literal or a
 * variable) stays. Any non-empty value counts (`auth=("u", "p")`): a short or obvious one is
 * reported as a placeholder (`wholePlaceholder`). The pair must close after the password (a tuple
 * of three is no (user, password)); `author`, `authority` and `auth_methods` are no such name.
 *
 * Linear time: a search starts at the literal `auth`, `credential` or `cred`; the key run is one
 * class (and taken whole by the second alternative when no tuple follows, as `keyFirst` does), the
 * user is a quoted literal of at most 200 characters or a bounded path, the separators are bounded
 * runs, and the value runs to its closing quote or the end of the line, then a bounded lookahead.
 */
const AUTH_WORD = "(?:auth(?!or)|credentials?|creds?(?![a-z]))"
const AUTH_USER = `(?:(?:login|user(?:name)?)[ \\t]*=[ \\t]*)?(?:(?:[rRbBuUfF]{1,2})?\\\\{0,7}["'][^"'\\r\\n]{0,200}["']|[\\w$]{1,60}(?:\\.[\\w$]{1,60}){0,4}(?:\\[[^\\]\\r\\n]{0,80}\\])?(?:\\([^()\\r\\n]{0,80}\\))?)`
const AUTH_LAST = /^(?:auth|credentials?|creds?|tuple|pair|basic)$/i
const AUTH_HELPER = /(?:basic|digest|proxy|ntlm)auth$/i
const authTuple: Detector = (() => {
  const pattern = new RegExp(
    `${AUTH_WORD}${KEY_RUN}(?:${KEY_QUOTE}${SP}[:=]${SP}[(\\[]|\\()[ \\t\\r\\n]{0,40}${AUTH_USER}[ \\t\\r\\n]{0,40},[ \\t\\r\\n]{0,40}(?:password[ \\t]*=[ \\t]*)?(?:@|[rRbBuUfF]{1,2})?(?<q>\\\\{0,7}["'\`])(?<v>${QUOTED_ONCE}${CLOSE.replace("{0,8}", "{0,40}")})|${AUTH_WORD}${KEY_RUN}`,
    "gi"
  )
  const groups = groupsOf(pattern)
  const name = new RegExp(`^${AUTH_WORD}${KEY_RUN}`, "i")
  return {
    category: "password",
    group: "credential",
    severity: "critical",
    hint: /auth(?!or)|credential|creds?\b/i,
    placeholder: (v) => wholePlaceholder(v.slice(0, v.length - closeOwed(v))),
    placeholderGeneric: false,
    pattern,
    trimEnd: closeOwed,
    validate: (m, c) => {
      const g = groups(m)
      const raw = g?.["v"]
      if (raw === undefined) return false
      const v = raw.slice(0, raw.length - closeOwed(raw))
      if (v.length === 0) return false
      const run = name.exec(m)?.[0] ?? ""
      const key = keyOf(m, c, run)
      if (m.charAt(run.length) === "(") {
        // a helper's call: the name ends in BasicAuth, DigestAuth, ProxyAuth, NtlmAuth
        if (!AUTH_HELPER.test(key)) return false
      } else {
        const words = key.match(WORDS_OF)
        if (words === null || !AUTH_LAST.test(words[words.length - 1]!)) return false
      }
      return /[\p{L}\p{N}\p{P}\p{S}]/u.test(v) && !v.includes("<redacted>") && !TEMPLATE.test(v) && !VARIABLE.test(v)
    }
  }
})()

/**
 * A YAML block scalar under a password key or a secret's (`password: |`, `client_secret: >-`,
 * `password: |2` then indented lines): the lines of the block are the value and are replaced, from
 * the first character of its first line to the end of its last; the key, its indicator, the
 * block's indentation and everything after the block stay. The block is the run of lines indented
 * at least as its first line (blank lines inside it included), and its first line must be indented
 * more than the key: a sibling key, a dedented line or a comment at the key's level ends it.
 *
 * Linear time: a search starts at a `:` followed by spaces and `|` or `>` (each run of spaces
 * read by the one `:` before it), then a lookbehind reads the key back to its keyword (the key
 * run, one class, ends at the character before it); the indicator and a comment after it (at
 * most 200 characters) are bounded; the block is a loop of whole lines, each
 * starting with the first line's indentation (a back-reference) or blank, at most `BLOCK_LINES`
 * of them, that cannot fail once started, and a search resumes after the block, accepted or not.
 */
/**
 * The most lines a block is read for: V8 keeps a backtracking entry per repetition of a group, and
 * an unbounded one overflowed the stack on a block of megabytes (`password: |` then a run of
 * blank lines). A longer block is replaced for its first 1,000 lines (no password or secret is
 * that long; a search resumes after them).
 */
const BLOCK_LINES = 1000
/** A value of several lines (a block scalar's, a heredoc's) under `key`: a secret's by its key, or a password that is no message. */
const linesUnderKey = (family: Family, key: string, v: string): boolean =>
  family === "secret" ? secretByKey(key, v.replace(/\s+/g, ""), true) : passwordKey(key) && passwordValue(v) && !MESSAGE_WORDS.test(v) && !prose(v)
const blockScalar = (family: Family): Detector => {
  const f = familyOf(family)
  // a search starts at a `:` followed by a block indicator (a literal, found fast), and only then
  // looks back for the key (a lookbehind read from there: the key run back to its keyword)
  const block = `[1-9+-]{0,2}${SP}(?:#[^\\r\\n]{0,200})?\\r?\\n(?<ind>[ \\t]+)(?<v>\\S[^\\r\\n]*(?:\\r?\\n(?:\\k<ind>[^\\r\\n]*|[ \\t]*(?=\\r?\\n))){0,${BLOCK_LINES}})`
  const pattern = new RegExp(`:${SP}[|>](?<=${f.word}${KEY_RUN}${KEY_QUOTE}${SP}:${SP}[|>])${block}`, "gi")
  // (read again without the lookbehind, which the match alone cannot satisfy)
  const groups = groupsOf(new RegExp(`:${SP}[|>]${block}`, "gi"))
  return {
    ...familyFields(f),
    pattern,
    // the blank lines and spaces at the block's end stay
    trimEnd: (v) => v.length - v.trimEnd().length,
    validate: (m, c) => {
      const g = groups(m)
      const ind = g?.["ind"]
      const v = g?.["v"]?.trimEnd()
      if (ind === undefined || v === undefined) return false
      // the key: the identifier before the `:` (its quote and spaces aside), in the 40 characters
      const head = c.before.replace(/\\{0,7}["'`]?[ \t]*$/, "")
      const key = identifierTail(head)
      const rest = head.slice(0, head.length - key.length)
      // it starts its line (after indentation or a list's `- `), seen within the 40 characters
      if (!YAML_LINE_START.test(rest) || !(c.before.length < 40 || /[\r\n]|\\n/.test(rest) || /^[ \t]*$/.test(rest))) return false
      // the block's first line is indented more than the key
      const keyColumn = rest.length - (Math.max(rest.lastIndexOf("\n"), rest.lastIndexOf("\r")) + 1)
      if (ind.length <= keyColumn) return false
      return linesUnderKey(family, key, v)
    }
  }
}

/**
 * A list under a password's or a secret's key, singular or plural, written as text: a flow
 * sequence (`{"passwords": ["…", "…"]}`, `password: […]`, `api_keys = ['…']`) and a YAML block
 * sequence (`passwords:` then `  - …` lines). The items are the value, replaced together from the
 * first item's first character to the last item's last (`["<redacted>"]`, `  - <redacted>`); the
 * brackets, quotes around the whole and the key stay. A list is a secret's when one item is a value
 * under the key's singular (`passwords` judged as `password`, `api_keys` as `api_key`) and no item
 * is a word about a password, a message or a type: validation rules (`['required', 'min:8']`) and
 * error lists (`{"password": ["This field is required."]}`) are none. `tokens` is left out: it is
 * no keyword of the hints (`max_tokens`, `input_tokens` would send every model call down the full
 * path).
 *
 * Linear time: a search starts at a keyword, as the key-first forms do (and the second alternative
 * takes a key run that opens no list); a flow list is one class without brackets of at most 500
 * characters (a later start's `[` ends it), read greedily up to its `]` and opened by a character
 * the spaces before it cannot take (a lazy run followed by spaces and `]` was read again for every
 * split of a run of spaces: `secret:[` and 4 KB of spaces took 5 s), a block list at most 100
 * lines, each read once.
 */
const LIST_ITEMS = 100
/** the closing quote, spaces and bracket at the end of a flow list's value */
const listClose = (v: string): number => /\\{0,7}["'`]?[ \t]*\]$/.exec(v)?.[0].length ?? 0
const listUnderKey = (family: Family, layout: "flow" | "block"): Detector => {
  const f = familyOf(family)
  const body =
    layout === "flow"
      ? `${KEY_QUOTE}${SP}(?::|=>?|:=)${SP}\\[[ \\t]*(?<q>\\\\{0,7}["'\`]?)(?<v>[^\\[\\]\\r\\n \\t][^\\[\\]\\r\\n]{0,499}\\])`
      : `${KEY_QUOTE}${SP}:${SP}\\r?\\n(?<ind>[ \\t]*)-[ \\t]+(?<v>[^\\r\\n]+(?:\\r?\\n\\k<ind>-[ \\t]+[^\\r\\n]+){0,${LIST_ITEMS}})`
  const pattern = new RegExp(`(?<k>${f.word}${KEY_RUN})${body}|${f.word}${KEY_RUN}`, "gi")
  const groups = groupsOf(new RegExp(`(?<k>${family === "secret" ? SECRET_WORD_READ : f.word}${KEY_RUN})${body}`, "gi"))
  return {
    ...familyFields(f),
    pattern,
    // (a flow list opens with a bracket, a block list's first item starts a line with `-`)
    need: layout === "flow" ? /\[/ : /\n[ \t]*-/,
    // the spaces after a block's last item stay, and a flow list's closing quote and bracket (read
    // as the end of the value, which the engine takes at the end of a match)
    trimEnd: (v) => v.length - (layout === "flow" ? v.length - listClose(v) : v.trimEnd().length),
    validate: (m, c) => {
      const g = groups(m)
      const raw = g?.["v"]
      const v = raw === undefined ? undefined : layout === "flow" ? raw.slice(0, raw.length - listClose(raw)) : raw.trimEnd()
      const k = g?.["k"]
      if (v === undefined || k === undefined || v.length > 4096) return false
      // the key in its singular (`passwords` → `password`, `api_keys` → `api_key`)
      const key = keyOf(m, c, k).replace(/(?<=[A-Za-z])[sS]$/, "")
      // (a list under an auth name is a (user, password) pair: `authTuple` replaces the password and keeps the user)
      const words = key.match(WORDS_OF)
      if (family === "secret" && words !== null && AUTH_LAST.test(words[words.length - 1]!)) return false
      const q = g!["q"] ?? ""
      const items = (layout === "block" ? v.split(/\r?\n[ \t]*-[ \t]+/) : q === "" ? v.split(",") : v.split(new RegExp(`${q.replace(/\\/g, "\\\\")}[ \t]*,[ \t]*${q.replace(/\\/g, "\\\\")}`)))
        .map((x) => x.trim().replace(/^["'`]|["'`]$/g, ""))
        .filter((x) => x.length > 0)
      if (items.length === 0) return false
      // rules, messages and types: no item may be one
      for (const x of items) if (ABOUT.test(x) || MESSAGE_WORDS.test(x) || TYPE_NAME.test(x) || /^[a-z]+:\d+$/.test(x)) return false
      return family === "secret" ? items.some((x) => secretByKey(key, x, true)) : passwordKey(key) && items.some((x) => passwordValue(x) && !FIELD_NAME.test(x) && !prose(x))
    }
  }
}

/**
 * A heredoc under a password key or a secret's (Terraform's and the shell's `password = <<EOT`, then
 * lines, then `EOT`; `<<-EOT`, `<<~EOT`, a quoted tag): the lines between the opener and the
 * terminator are the value, replaced from the first line's first character after its indentation
 * to the end of the last; the opener, the indentation and the terminator stay. An opener with no
 * terminator within `HEREDOC_LINES` lines is no finding (and no longer a value itself).
 *
 * Linear time: a search starts at `=` followed by spaces and `<<` (found fast), then a lookbehind
 * reads the key back to its keyword; the tag is at most 21 characters, the body at most
 * `HEREDOC_LINES` lines, each ending at a line break: the opener ends its line, so a line is read by
 * the starts of at most that many lines before it.
 */
const HEREDOC_LINES = 20
const heredoc = (family: Family): Detector => {
  const f = familyOf(family)
  const body = `<<[-~]?(?<qt>["']?)(?<tag>[A-Za-z_][A-Za-z0-9_]{0,20})\\k<qt>[ \\t]*\\r?\\n[ \\t]*(?<v>(?![ \\t]*\\k<tag>[ \\t]*(?:\\r?\\n|$))[^\\r\\n]*(?:\\r?\\n(?![ \\t]*\\k<tag>[ \\t]*(?:\\r?\\n|$))[^\\r\\n]*){0,${HEREDOC_LINES - 1}})`
  const end = "(?=\\r?\\n[ \\t]*\\k<tag>[ \\t]*(?:\\r?\\n|$))"
  const pattern = new RegExp(`=${SP}(?<=${f.word}${KEY_RUN}${KEY_QUOTE}${SP}=${SP})${body}${end}`, "g")
  // (read again without the lookbehind and the terminator's lookahead, which the match alone cannot satisfy)
  const groups = groupsOf(new RegExp(`=${SP}${body}`, "g"))
  return {
    ...familyFields(f),
    pattern,
    need: /<</,
    trimEnd: (v) => v.length - v.trimEnd().length,
    validate: (m, c) => {
      const v = groups(m)?.["v"]?.trim()
      if (v === undefined || v.length === 0) return false
      const key = identifierTail(c.before.replace(/\\{0,7}["'`]?[ \t]*$/, ""))
      return linesUnderKey(family, key, v)
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
  placeholder: wholePlaceholder,
  placeholderGeneric: false,
  // and the digits of a number under such a key: of nine digits or more, as every numeric detector
  // is handed them, and any non-negative integer (a PIN, `{"password": 12345678}`) under a key that
  // passes the hint
  numeric: true,
  numericUnderKey: true,
  pattern: /^(?<v>[^\r\n]+)$/g,
  validate: (m, c) => c.key !== null && passwordKey(c.key) && passwordValue(m) && !countOrName(c.key, m) && !workingDirectory(c.key, m) && !(MESSAGE.test(m) && (MESSAGE_WORDS.test(m) || prose(m)))
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
  placeholder: wholePlaceholder,
  placeholderGeneric: false,
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
export const awsSecretShape = (v: string): boolean => v.length === 40 && /[A-Z]/.test(v) && /[a-z]/.test(v) && /\d/.test(v) && !lowComplexity(v)
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
/** a relative path to a file (`uploads/2024/05/report.pdf`, a storage object's key): base64 has no `.`, a dotted token no `/` */
const FILE_PATH = /^[\w.-]+(?:\/[\w.-]+)+\.[A-Za-z][A-Za-z0-9]{0,4}$/
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
  // no upper bound: a base64 service-account key is 2.5 KB, and every check below is linear in the
  // value (the repetition check reads its first 4,096 characters)
  if (v.length < 20 || !(quoted ? /^[^\s:]+$/.test(v) : TOKEN.test(v))) return false
  // (a path is short: base64 of a key file may start with `/`)
  if (UUID.test(v) || HEX.test(v) || VERSION.test(v) || (v.length <= 256 && PATHLIKE.test(v)) || FILE_PATH.test(v)) return false
  const classes = (/[a-z]/.test(v) ? 1 : 0) + (/[A-Z]/.test(v) ? 1 : 0) + (/\d/.test(v) ? 1 : 0)
  if (classes < 2 || entropy(v) < 3.5 || lowComplexity(v)) return false
  // words joined by separators: every piece letters only
  return !v.split(/[-_.]+/).every((w) => /^[A-Za-z]*$/.test(w))
}

/**
 * A resource's name written as a lowercase path of three or more segments
 * (`projects/123/secrets/db/versions/latest`, a secret manager's name for a secret): no secret
 * itself. A base64 secret holding `/` has capitals.
 */
const RESOURCE_PATH = /^[a-z0-9_.-]+(?:\/[a-z0-9_.-]+){2,}$/

/** Under a key that names a secret: any value of 8 or more characters that is not a word, a sentence, repeated or sequential, an id, a version, a path or a resource's name. */
const secretValue = (v: string): boolean =>
  v.length >= 8 &&
  !/^[a-z]+$/.test(v) &&
  !/\s/.test(v) &&
  !lowComplexity(v) &&
  !UUID.test(v) &&
  !(v.length <= 256 && VERSION.test(v)) &&
  !PATHLIKE.test(v) &&
  !(v.length <= 512 && RESOURCE_PATH.test(v))

/**
 * Keys whose value is public, a one-time form token, or a position in a listing (a page or sync
 * token, a cursor: handed back to the same API to read on, and useless to anyone else).
 */
const PUBLIC_KEY =
  /public|publishable|csrf|xsrf|authenticity|nonce|max[_.-]?tokens?|tokens?[_.-]?(?:count|limit|usage|type|url|uri|endpoint)|tokenizer|page[_.-]?token|next[_.-]?token|sync[_.-]?token|continuation[_.-]?token|resume[_.-]?token|resumption[_.-]?token|delta[_.-]?token|skip[_.-]?token|cursor/i

// ---------------------------------------------------------------------------------------------
// hex and UUID keys
// ---------------------------------------------------------------------------------------------

/**
 * Many API keys are hex (Datadog's API and application keys, Twilio's auth token, Algolia, New
 * Relic, Postmark, GitHub's old OAuth tokens) or a random UUID (Heroku, npm's legacy tokens), the
 * very shapes of ids and digests. Under a key whose last word names a key, a token, a secret or a
 * password they are secrets, unless a word of the key says the value is an id, a digest or a
 * public value.
 */
const KEYISH_LAST = /^(?:[a-z]*(?:key|token|secret)|pass(?:word|wd|phrase|code)?|pwd|credential)$/i
const NOT_SECRET_HEX_WORD =
  /^(?:ids?|uuid|guid|hash(?:ed|es)?|digest|checksum|sum|sha\d*|md5|crc\d*|fingerprint|thumbprint|commit|rev|revision|nonce|etag|request|trace|span|correlation|cache|idempotency|dedupe?|sort|partition|primary|foreign|row|range|lookup|index|object|file|blob|public|pub|publishable|gpg|pgp|gnupg|build|version|integrity|salt|iv|page|cursor|sync|next|session[_-]?id|device|push|apns|fcm|gcm|registration)$/i
const SECRET_NOT_VALUE_LAST = /^(?:ids?|name|names|arn|version|versions|file|path|ref|url|uri|type|count|len|length|size|manager|store|provider|rotation|label|hash|digest)$/i
const hexSecretKey = memoPerCall((key: string): boolean => {
  const words = key.match(WORDS_OF)
  if (words === null) return false
  const last = words[words.length - 1]!
  // a lone `key` is a map's, a cache's or an object's; a name holding `secret` takes hex whatever
  // its last word (Rails' `SECRET_KEY_BASE`, `SECRET_BASE`), unless that word makes it an id, a
  // name, a version, a file or an ARN
  const secretWord = words.length > 1 && words.some((w) => /^secret$/i.test(w)) && !SECRET_NOT_VALUE_LAST.test(last)
  if (!(KEYISH_LAST.test(last) || secretWord) || (words.length === 1 && /^key$/i.test(last))) return false
  return !PUBLIC_KEY.test(key) && !words.some((w) => NOT_SECRET_HEX_WORD.test(w))
})
/** 32 to 128 hex digits in one case (a generated key is printed in one), letters and digits, not repeated or sequential */
const HEX_KEY = /^(?:0x)?(?:[0-9a-f]{32,128}|[0-9A-F]{32,128})$/
/**
 * A random UUID: version 4, or hex grouped as a UUID without the RFC variant (random digits in
 * that layout). A time-based (1, 6, 7), name-based (3, 5) or nil UUID is an id.
 */
const randomUuid = (v: string): boolean => UUID.test(v) && (v === v.toLowerCase() || v === v.toUpperCase()) && (v[14] === "4" || !/[89ab]/i.test(v[19]!)) && !lowComplexity(v.replace(/-/g, ""))
/**
 * An EVM address (`0x` and 20 bytes in hex, Ethereum and its chains; EIP-55 writes it with
 * capitals as a checksum): a public address, which DeFi code names `token`, `fromToken`,
 * `tokenAddress`. No secret has that form (a private key is 32 bytes).
 */
const EVM_ADDRESS = /^0x[0-9a-f]{40}$/i
const hexSecretValue = (v: string): boolean => !EVM_ADDRESS.test(v) && ((HEX_KEY.test(v) && /[a-f]/i.test(v.replace(/^0x/, "")) && /\d/.test(v) && !lowComplexity(v)) || randomUuid(v))

/**
 * An idempotency token: a UUID (alone, or inside `prefix-UUID-n`) under a name that says the
 * token makes a request unique (AWS's `ClientToken` in every `describe-instances`, EFS's
 * `CreationToken`, `CodeSigningToken`, `IdempotencyToken`, `ClientRequestToken`): chosen by the
 * caller to repeat a call safely, no credential.
 */
const IDEMPOTENCY_KEY = /(?:client|creation|idempotency|request|signing|dedup(?:lication)?)[_.-]?(?:request[_.-]?)?token$/i
const UUID_INSIDE = /^(?:[\w.-]{0,40}-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:-[\w.-]{0,40})?$/i
const idempotency = (key: string, v: string): boolean => v.length <= 120 && IDEMPOTENCY_KEY.test(key) && UUID_INSIDE.test(v)

/**
 * A value already redacted by someone else (`[REDACTED]`, `ops_eyJ…[Redacted]`), or elided as
 * documentation and consoles show a key (`sk-abc…`, `ops_eyJzaWdu...`): what is left of it
 * is no secret to a guess by key, and no finding (a random key spells neither).
 */
const doneWith = (v: string): boolean => /redacted|(?:\.\.\.|…)$/i.test(v)

/**
 * Words that make a name ending in `key` the key of something that is no secret: a table's row or
 * partition, a storage object, a file, a translation, a map, an event, an SSH or GPG key's name.
 */
const NOT_SECRET_KEY_WORD =
  /^(?:object|file|path|name|label|translation|i18n|locale|message|msg|event|metric|tag|field|column|attr|attribute|state|group|map|dict|unique|composite|natural|surrogate|shard|ssh|host|hot|pass|bucket|storage|s|key)$/i
/** A name whose last word is `key`, of two words or more, none of which says it is no secret's (`DD_APP_KEY`, not `key`, `api_key_id`, `sort_key`, `monkey`). */
const endsInKey = (key: string): boolean => {
  const words = key.match(WORDS_OF)
  if (words === null || words.length < 2 || !/^key$/i.test(words[words.length - 1]!)) return false
  if (PUBLIC_KEY.test(key)) return false
  for (let i = 0; i < words.length - 1; i++) if (NOT_SECRET_HEX_WORD.test(words[i]!) || NOT_SECRET_KEY_WORD.test(words[i]!)) return false
  return true
}
/** Whether a key names a secret: one of the core keywords, or a name ending in `key`. */
const namesSecret = memoPerCall((key: string): boolean => SECRET_CORE_KEYWORD.test(key) || endsInKey(key))

/** What a field's key says of the value under it, for `genericSecret` and `secretField`: nothing, a secret, or a token-like key. */
// (a plural name holds a list, no secret itself; `credentials` is also the name of one credential
// given as a string, `GOOGLE_CREDENTIALS=<base64 of a key file>`, judged as a token)
const secretKeyKind = memoPerCall((key: string): "none" | "secret" | "token" => {
  SECRET_KEYWORD.lastIndex = 0
  if (!SECRET_KEYWORD.test(key) || !namesSecret(key)) return "none"
  if (PUBLIC_KEY.test(key) || NOT_SECRET_TAIL.test(tailWord(key, SECRET_KEYWORD)) || /(?:secrets|tokens|keys)$/i.test(key)) return "none"
  return /secret/i.test(key) && !/secret[_.-]?(?:name|id|arn|ref)$/i.test(key) ? "secret" : "token"
})

/**
 * Whether a value under a key is a secret by that key: a hex key or a random UUID under a name
 * whose last word names a key, a token or a secret (`hexSecretKey`); under a secret's name any
 * value that is not a word, a sentence, repeated or sequential; under a token's or a key's name a
 * value that looks generated. The judgement of a field (`secretField`), of a pair's value
 * (`pairInText`) and of a block (`blockScalar`).
 */
export const secretByKey = (key: string, v: string, quoted: boolean): boolean => {
  if (!isValue(v) || doneWith(v) || idempotency(key, v)) return false
  if (hexSecretValue(v)) return namesSecret(key) && hexSecretKey(key)
  const kind = secretKeyKind(key)
  if (kind === "none") return false
  return kind === "secret" ? secretValue(v) : highEntropyToken(v, quoted)
}

/**
 * What stands before the key of an XML element (`<`, `<ns2:`; not after a word, as a generic type's
 * `List<Token>` is) or an entry's key attribute (`<entry key="`)
 */
const XML_ELEMENT_BEFORE = /(?:(?:^|[^\w$.])<(?:[A-Za-z_][\w.-]{0,40}:)?|<[A-Za-z_][\w:.-]{0,40}[ \t]+(?:key|name)=\\{0,7}["'])$/
const genericSecret = (value: string): Detector => {
  const form = value === BARE ? `(?:base64:)?${value}` : value
  const pattern = keyFirst(SECRET_WORD, form)
  const reader = assignmentReader(SECRET_WORD_READ, form)
  return {
    category: "generic_secret",
    group: "secret",
    severity: "critical",
    hint: SECRET_HINT,
    // an example or a test-mode key: kept, and judged by the engine's placeholder check (a marker
    // word standing in it: `_example_`, `-fake-`); a test-mode prefix (`test_`, `sk_test_`) is a
    // sandbox key, a credential, and no placeholder
    placeholder: namesItself,
    pattern,
    ...(value === BARE ? { trimEnd: (v: string, c: MatchContext) => closersOwed(v, c.before) } : {}),
    validate: (m, c) => {
      const a = reader(m, c)
      if (a === null) return false
      const { key, op } = a
      let v = a.v
      // in a sentence (`The API key is …`): a value that looks generated, whatever the key
      const sentence = op === "is" || op === "was" || op === "-"
      // an XML element's text (`<token>…</token>`, `<ns2:apiKey>`, STS's `<SessionToken>`) or an
      // entry's whose key attribute names it (`<entry key="api.token">…`): `>` is an operator only
      // there, not after a generic type's name (`List<Token>tokens`) or other markup
      if (op === ">" && !XML_ELEMENT_BEFORE.test(c.before.slice(0, c.before.length - identifierTail(c.before).length))) return false
      if (!a.quoted) v = bareValue(v, c)
      // Laravel's `APP_KEY=base64:…` (the prefix stays out of a bare value; a quoted one keeps it)
      if (v.startsWith("base64:")) v = v.slice(7)
      if (!isValue(v) || doneWith(v) || idempotency(key, v)) return false
      if (hexSecretValue(v)) return namesSecret(key) && hexSecretKey(key)
      const kind = secretKeyKind(key)
      if (kind === "none") return false
      if (!a.quoted && isCode(v, op, key)) return false
      // a key that names a secret: any value that is not a word, a sentence, repeated or sequential
      return kind === "secret" && !sentence ? secretValue(v) : highEntropyToken(v, a.quoted)
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
  validate: (m, c) => c.key !== null && secretByKey(c.key, m, true)
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
  // (the lines under a key first, a heredoc's or a YAML block's: a line of them may read as an
  // assignment of its own, `a#Pw:x`, `a3-Pw7XZ:o^Q7`, whose span would win and keep its key)
  heredoc("password"),
  blockScalar("password"),
  // (and a pair's second element, `["password", "a4wP#PW2:L5"]`, before the forms it may hold)
  pairInText("password"),
  heredoc("secret"),
  blockScalar("secret"),
  // (a list under a key, before the forms that read its first item alone)
  listUnderKey("password", "flow"),
  listUnderKey("password", "block"),
  listUnderKey("secret", "flow"),
  listUnderKey("secret", "block"),
  // (a statement, a directive, a setter or an argv array: they know where the value is, before the key-first forms)
  ...commandAssignments({ ABOUT, awsSecretShape, familyOf, FIELD_NAME, identifierTail, MESSAGE_WORDS, passwordKey, passwordValue, secretByKey, SECRET_HINT, PASSWORD_HINT }),
  passwordAssignment("call"),
  passwordAssignment("quoted"),
  passwordAssignment("line"),
  passwordAssignment("bare"),
  netrc,
  valueBeforeKey(PASSWORD_WORD, "password", "credential", () => true),
  flagDetector(QUOTED),
  flagDetector(BARE),
  urlCredentials,
  awsSecretBeside,
  awsSecretNamed,
  genericSecret(QUOTED),
  genericSecret(BARE),
  valueBeforeKey(SECRET_CORE, "generic_secret", "secret", (v) => secretValue(v) && (v.length >= 20 || /[^\w.-]/.test(v))),
  pairInText("secret"),
  authTuple,
  passwordField,
  secretField
]
