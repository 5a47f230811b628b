/**
 * The detectors of keys and tokens with a fixed form: private key blocks, JWTs, the vendors' keys
 * and webhook URLs, bearer tokens. Listed in `Detect.builtins` in this order, before the other
 * detectors (the most specific first: a vendor's key keeps its category when a `Bearer` header
 * carries it).
 *
 * Linear time (the rules are in `matching.ts`):
 * - private_key (block): a BEGIN line is at most eight words of `[A-Z0-9]` each ended by a space
 *   (a word holds no space or `-`, so there is one way to read it, and it ends at the next `-`),
 *   then `PRIVATE KEY`, then an optional literal ` BLOCK` (PGP). The body is a lazy loop that tries
 *   the END line (which opens with the literal `-----END `) at each character and stops at the
 *   first. A BEGIN line with no END line after it takes the rest of the text (`|[\s\S]*`), which
 *   `endsWithPemEnd` drops: no later BEGIN line has an END line after it either, and the search
 *   is over (rule 2). `endsWithPemEnd`: a sticky BEGIN line at 0, one `lastIndexOf`, a sticky END
 *   line at one place.
 * - private_key (a BEGIN line with no END line: a key cut short): the same BEGIN line, a line
 *   break (`\r\n`, `\n` or the escape `\\n`) or a space, indentation of at most 16 characters,
 *   at most eight armor header lines (each bounded: a name of at most 31 characters, a value of at
 *   most 200), then a lazy run of one class (base64, `\\`, line breaks, spaces, tabs, `>`) that
 *   stops at the first base64 character, not the letter of an escape, that nothing continues
 *   (`PEM_MORE`, a lookahead of at most 37 characters). The run holds no `-`, so it stops before
 *   the next BEGIN line: each start reads its own stretch once, and a start whose run meets a
 *   character outside the class before such an end fails there.
 * - jwt: the first start in a run of token characters either matches or takes the run (its
 *   failure alternative), and the validator drops it: a later start in that run would end its
 *   first segment where this one did, so it cannot match either (rule 2). Each run is read a
 *   constant number of times (as a first, second or third segment); the third segment is optional
 *   (an unsigned JWT), so once two segments are read nothing after them can fail. The validator
 *   decodes the two segments once (linear in the match).
 * - slack_webhook: the literal host and path word, then one run of one class that nothing after
 *   it can reject; the scheme in front is optional and literal.
 * - stripe_key, slack_token, npm `_authToken`, bearer_token, api_key: a literal prefix, then a run
 *   of at least N characters of one class that nothing after it can reject (`=*` is optional): a
 *   start matches as soon as it has read the minimum, or fails within it.
 * - huggingface_token: a literal prefix, 34 letters, then a run of one class: nothing can fail
 *   after the 34. The lookbehind before it reads one character.
 * - gitlab_token: a literal prefix, a run of one class (at least 20), then at most two more runs
 *   each opened by a literal `.` that the class does not hold (one way to split), all optional
 *   after the first run: nothing after the minimum can fail. `_gitlab_session=`: a literal, then
 *   32 characters and a one-character lookahead.
 * - npm_token, aws_key, google_api_key, github_token: bounded (36, 16, 35, at most 255
 *   characters after a literal prefix) and followed by a one-character check; a start that reads
 *   255 characters has no other start inside them (`` before `g`). The glued forms (a token
 *   whose checksum holds, whatever is around it) read exactly 36 characters after the prefix.
 * - `START`: every start is a word boundary or a two-character lookbehind (an escaped line break
 *   or tab), so no start reads more than its pattern did before.
 * - pypi_token: a literal prefix, then a run of one class; the validator decodes at most 344
 *   characters of it.
 * - azure_storage_key: a literal name (the optional parts are literals, one way to read them), an
 *   optional quote, a run of spaces, one operator, then a run of one class (at least 16) and at
 *   most two `=`: nothing after the minimum can fail. The validators read the match once.
 * - azure_sas_signature: a one-character lookbehind, the literal `sig=`, then a run of one class
 *   (at least 40) that nothing after can reject.
 * - bearer_token (any scheme), basic_auth (header): a literal header name (or the start of the
 *   string), an optional quote, runs of spaces around one operator, a scheme of at most 31
 *   characters and its spaces (optional; one way to read it, since a scheme is followed by a
 *   space that the token does not hold), then a run of one class (at least 8; Basic: base64 and a
 *   one-character lookahead, which gives back at most the run). A start that fails has read at
 *   most its own header line's run; the next start is at the next header name.
 * - basic_auth (`curl -u`): a literal flag, an optional quote, the user (one class without `:`),
 *   `:`, a password (one class); a start whose user is not followed by `:` and a password takes
 *   its run as a match the validator drops (rule 2: `--user=--user=…` took 1.3 s per 64 KB
 *   before). The key-as-user form the same, ended by a literal `:` and a one-character lookahead.
 * - session_cookie: starts only at a literal (`cookie`, `;`) or the start of the string; a name of
 *   at most 80 characters of a class without `=`, `=`, then a run of one class without `;` (at
 *   least 16): each value run is read by the one start before it.
 * - private_key (base64 of a PEM block): a start is the first base64 character of its run (a
 *   lookbehind) and opens with the literal `LS0tLS1CRUdJTi`. The wrapped forms are fixed-width
 *   lines between literal line breaks (at most 200, one way to split them), then a last line; the
 *   one-line form (a run of one class) always matches, so every start matches and the search moves
 *   past it. The validator decodes 160 characters; the placeholder check the match once.
 * - private_key (JWK text): a start is a `{`, its run of one class ends at the next brace, where
 *   the next start is; the validator's two tests are literal-led and bounded.
 * - private_key (a JWK member as a field): anchored at the string's start (`^…$`), read once.
 * - private_key (base64 of JSON): a start is the first base64 character of its run; it matches
 *   its whole run or fails within 200 characters. The validator decodes the match once.
 * - private_key (PuTTY): after the literal `Private-Lines:`, at most 100 lines, each one run of
 *   one class ended by a line break (the class holds none): one way to read them.
 * - private_key (age), the vendors' tokens: a literal prefix, then bounded runs or one run of one
 *   class and a one-character lookahead; a start inside a run is refused by a lookbehind.
 * - discord_webhook, teams_webhook: a literal host and path, bounded ids, one bounded run.
 * - basic_auth (HTTPie): as the command-line passwords (a program's name, at most twelve
 *   arguments read lazily, the flag), then the user and the password, runs of one class each
 *   split by a literal `:` that neither holds.
 * - bearer_token and basic_auth after nginx's `proxy_set_header` or Apache's `RequestHeader set`:
 *   a literal directive, one run of spaces, the literal header name, one run of spaces, an
 *   optional quote, then as after `Authorization:`.
 */
import { crc32 } from "node:zlib"
import type { Detector, MatchContext } from "./detector.js"
import { atLeast, B64URL, entropy, memoPerCall } from "./matching.js"

/**
 * Where a key may start: a word boundary, or right after an escaped line break or tab (`\n`,
 * `\r`, `\t` written as two characters, as in JSON-encoded text: a token opening a line of a
 * tool's output inside a JSON string follows a letter `n`, and `\b` does not hold there).
 */
const START = "(?:\\b|(?<=\\\\[nrt]))"
/** The same after a lookbehind that refuses the characters `chars` (a class body). */
const startAfterNo = (chars: string): string => `(?:(?<![${chars}])|(?<=\\\\[nrt]))`
/** Whether the text before a match ends inside a word (an escape `\n` aside). */
const glued = (c: MatchContext): boolean => /[A-Za-z0-9_]$/.test(c.before) && !/\\[nrt]$/.test(c.before)

const BASE62_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
/**
 * Whether a GitHub token of the 2021 formats (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`:
 * github.blog 2021-04-05, "Behind GitHub's new authentication token formats") or an npm access
 * token (`npm_`: github.blog 2021-09-23) carries its checksum: 30 random base62 characters, then
 * their CRC32 in base62 (digits, capitals, small letters), six characters padded with `0`. A
 * random string passes with a chance of one in 5.7·10¹⁰. Used only to strengthen: a token whose
 * checksum fails is still a token (scanners' test suites hold random ones).
 *
 * @since 0.1.0
 * @category validators
 */
export const tokenChecksum = (token: string): boolean => {
  const body = token.slice(token.indexOf("_") + 1)
  if (body.length !== 36 || !/^[A-Za-z0-9]+$/.test(body)) return false
  let n = crc32(body.slice(0, 30))
  let check = ""
  for (let i = 0; i < 6; i++, n = Math.floor(n / 62)) check = BASE62_DIGITS[n % 62] + check
  return check === body.slice(30)
}

/** up to eight words before `PRIVATE KEY` (real ones have up to three: `OPENSSH`, `ENCRYPTED`, `RSA`) */
const PEM_WORDS = "(?:[A-Z0-9]+ ){0,8}"
/** `PRIVATE KEY`, or `PRIVATE KEY BLOCK` (an OpenPGP armored secret key, RFC 4880 §6.2) */
const PEM_BEGIN = `-----BEGIN ${PEM_WORDS}PRIVATE KEY(?: BLOCK)?-----`
const PEM_END = `-----END ${PEM_WORDS}PRIVATE KEY(?: BLOCK)?-----`
const PEM_BEGIN_AT = new RegExp(PEM_BEGIN, "y")
const PEM_END_AT = new RegExp(`${PEM_END}$`, "y")
/**
 * Whether a private-key match ends with an END line that starts after its BEGIN line (the block),
 * rather than at the end of the text (a BEGIN line that no END line follows). Within an END line
 * there is no second `-----END `, so the last one in the match is where it would start.
 */
const endsWithPemEnd = (m: string): boolean => {
  PEM_BEGIN_AT.lastIndex = 0
  if (!PEM_BEGIN_AT.test(m)) return false
  const at = m.lastIndexOf("-----END ")
  if (at < PEM_BEGIN_AT.lastIndex) return false
  PEM_END_AT.lastIndex = at
  return PEM_END_AT.test(m)
}
/**
 * A key block with less than 64 base64 characters between its lines holds no key (the smallest
 * real one, an Ed25519 key in PKCS#8, has 64): `-----BEGIN PRIVATE KEY-----\n…\n-----END …`.
 */
const pemPlaceholder = (m: string): boolean => {
  PEM_BEGIN_AT.lastIndex = 0
  if (!PEM_BEGIN_AT.test(m)) return false
  const end = m.lastIndexOf("-----END ")
  const body = m.slice(PEM_BEGIN_AT.lastIndex, end < PEM_BEGIN_AT.lastIndex ? m.length : end)
  let n = 0
  for (let i = 0; i < body.length && n < 64; i++) if (B64_CHAR.test(body[i]!)) n++
  return n < 64
}
const B64_CHAR = /[A-Za-z0-9+/]/

/** a base64 character of a key's body (`=` pads its end) */
const B64C = "[A-Za-z0-9+/=]"
/** a line break between a key's lines: real, or written as an escape inside a JSON string */
const PEM_BREAK = "(?:\\r?\\n|\\\\r\\\\n|\\\\n)"
/** what may open a key's line: indentation (a YAML block scalar, a tab, an escaped tab), `>` of a quoted mail */
const PEM_INDENT = "(?:[ \\t>]|\\\\t){0,16}"
/** an armor header line (`Version: GnuPG v2`, RFC 4880 §6.2; `Proc-Type: 4,ENCRYPTED`, RFC 1421) */
const PEM_HEADER = "[A-Za-z][A-Za-z-]{0,30}:[ \\t][^\\r\\n\\\\]{0,200}"
/**
 * A line of a key's body, seen from its start: a line's worth of base64 (16 characters or more), or
 * a last, shorter piece that is the whole line (no space and word after it, no `-` or `:` of an
 * armor header) and holds a capital, `+` or `=` but is not all capitals. A command or a word on
 * the line after a key cut short (`rm -rf /srv`, `whoami`, `/bin/sh`, a heredoc's `EOF`) is none:
 * it is kept. (A random piece of base64 lacks all three with a probability of
 * (37/64)ⁿ: a piece of eight characters that looks like a word, and what it leaves is under 12
 * bytes of a key whose other lines are gone.)
 */
const PEM_LINE = `(?:${B64C}{16}|(?=[a-z0-9/]{0,14}[A-Z+=])(?![A-Z]{1,15}(?![A-Za-z0-9+/=]))${B64C}{1,15}(?![A-Za-z0-9+/=:.,;-]|[ \\t][\\w./~$-]))`
/**
 * What continues a key cut short after one of its base64 characters: another one; a line break,
 * its indentation and a line of the key's body (`PEM_LINE`); or a single space (the joiner of a key pasted on one
 * line) and a line's worth of base64 (16 characters or more), or a last, shorter piece that no
 * word follows (the end of the text, a quote, ` [truncated]`). A space and a short word with more
 * words after it is prose after the key: it stays.
 */
const PEM_MORE = `${B64C}|${PEM_BREAK}${PEM_INDENT}${PEM_LINE}|[ ](?:${B64C}{16}|${B64C}{1,15}(?![A-Za-z0-9+/=\\\\]|\\s${B64C}))`

/** A base64url segment decoded and parsed as a JSON object, or `null`. */
const jsonSegment = (segment: string): Record<string, unknown> | null => {
  const text = Buffer.from(segment, "base64url").toString("utf8").trim()
  // most `eyJ…` runs that are not JWTs end before their `}`: no exception to throw and catch
  if (!text.endsWith("}")) return null
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null
  } catch {
    return null
  }
}
/**
 * A JWT (RFC 7519): a JOSE header (a JSON object with `alg` or `typ`, RFC 7515 §4), a JSON payload
 * (the claims), and a signature that is empty when the header says `alg: none` or when the token
 * is written without it (`header.payload.` or `header.payload`): an unsigned token still carries
 * its claims. The header and payload must decode: `eyJ…` strings that are not JSON are not JWTs.
 */
const isJwt = (m: string): boolean => {
  const dot = m.indexOf(".")
  if (dot < 0) return false
  const second = m.indexOf(".", dot + 1)
  const header = jsonSegment(m.slice(0, dot))
  if (header === null || !(typeof header["alg"] === "string" || typeof header["typ"] === "string")) return false
  return jsonSegment(m.slice(dot + 1, second < 0 ? m.length : second)) !== null
}
/** jwt.io's example token (`"sub": "1234567890"`, `"name": "John Doe"`, `"iat": 1516239022`) */
const jwtPlaceholder = (m: string): boolean => {
  const dot = m.indexOf(".")
  const second = m.indexOf(".", dot + 1)
  const claims = jsonSegment(m.slice(dot + 1, second < 0 ? m.length : second))
  return claims !== null && claims["sub"] === "1234567890" && claims["name"] === "John Doe"
}

/**
 * A stand-in: after its prefix, at most three distinct characters (`xxxx…`, `XXXX-XXXX`,
 * `123123…`, separators aside), or the ascending run `0123456789abcdef…` that documentation
 * writes. A random part of 20 characters or more from a 36- to 64-letter alphabet has fewer than
 * four distinct characters with a probability below 10⁻²⁰.
 */
const standIn = (body: string): boolean => {
  const s = body.replace(/[-_./]/g, "")
  if (new Set(s).size <= 3) return true
  const ascending = "0123456789abcdefghijklmnopqrstuvwxyz"
  return s.length >= 8 && (ascending.startsWith(s.toLowerCase().slice(0, 16)) || "123456789".startsWith(s.slice(0, 9)))
}

/**
 * Slack tokens (api.slack.com/authentication/token-types): bot `xoxb-`, user `xoxp-`, app-level
 * `xapp-1-…`, configuration `xoxe.xoxp-1-…` / `xoxe.xoxb-1-…` and their refresh tokens `xoxe-1-…`,
 * and the legacy `xoxa-`, `xoxr-`, `xoxo-`, `xoxs-`. Every form but `xoxa-`/`xoxr-` (legacy
 * workspace tokens, random after the prefix) opens with a numeric id: a team, a version or an app
 * generation. `xoxo-indieweb-1` or `xoxb-my-bot-token` is not one.
 */
const slackStructure = (m: string): boolean => {
  const body = m.startsWith("xoxe.") ? m.slice(10) : m.slice(5)
  return /^xox[ar]-/.test(m) || /^[0-9]+-/.test(body)
}

/**
 * Slack webhook URLs (api.slack.com/messaging/webhooks, workflow triggers): the documented example
 * `T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX`, and paths whose every part is a stand-in once its
 * id letter is set aside.
 */
const slackWebhookPlaceholder = (m: string): boolean => {
  const path = m.slice(m.indexOf("hooks.slack.com/") + 16)
  const parts = path.split("/").slice(1).filter((p) => p !== "")
  return parts.length > 0 && parts.every((p) => standIn(p) || (/^[TBA]/.test(p) && standIn(p.slice(1))))
}

/** Stripe's documented test keys (stripe.com/docs/keys and its API reference examples). */
const STRIPE_EXAMPLES = new Set(["4eC39HqLyjWDarjtT1zdp7dc", "BQokikJOvBiI2HlWgH4olfQ2", "26PHem9AhJZvU623DfE1x4sd"])

/**
 * A PyPI API token (warehouse `macaroons`): `pypi-` and a version-2 macaroon in base64url, whose
 * first field is its location: the bytes 0x02 0x01 (version, location tag), a length, and the
 * index's host (`pypi.org`, `test.pypi.org`, or a private index).
 */
const pypiMacaroon = (m: string): boolean => {
  const bytes = Buffer.from(m.slice(5), "base64url")
  if (bytes.length < 4 + 34 || bytes[0] !== 2 || bytes[1] !== 1) return false
  const length = bytes[2]!
  const location = bytes.subarray(3, 3 + length).toString("latin1")
  // …and its last field is the signature: type 6, 32 bytes (a token cut short has none)
  return location.length === length && /^[a-z0-9-]+(?:\.[a-z0-9-]+)+$/i.test(location) && bytes[bytes.length - 34] === 6 && bytes[bytes.length - 33] === 32
}

/**
 * GitLab's token lengths (docs.gitlab.com/security/tokens/, and the formats the scanners that
 * GitLab documents accept): trigger tokens 40 characters, incoming mail 25, OAuth application
 * secrets 64, agent tokens at least 50, the others 20 (up to 50 with a partition prefix). A
 * routable token (GitLab 17.x) is a payload of at least 27 characters, then `.`-separated parts.
 * A random part of three characters or fewer (`glpat-XXXXXXXX…`) is a stand-in, not a token.
 */
const gitlabStructure = (m: string): boolean => {
  if (m.startsWith("_gitlab_session=")) return !standIn(m.slice(16))
  const dash = m.startsWith("GR1348941") ? 8 : m.indexOf("-")
  const prefix = m.slice(0, dash)
  const rest = m.slice(dash + 1)
  const dot = rest.indexOf(".")
  const core = dot < 0 ? rest : rest.slice(0, dot)
  if (standIn(core)) return false
  if (dot >= 0 && core.length >= 27) return true
  const n = core.length
  switch (prefix) {
    case "glptt":
      return n === 40
    case "glimt":
      return n === 25
    case "gloas":
      return n === 64
    case "glagent":
      return n >= 50
    default:
      return n >= 20 && n <= 50
  }
}

/**
 * Hugging Face tokens are 34 random letters: both cases occur, and more than three letters
 * (`hf_xxxx…`, `api_org_XXXX…` are stand-ins in documentation, not tokens).
 */
const huggingfaceStructure = (m: string): boolean => {
  const body = m.slice(m.startsWith("hf_") ? 3 : 8)
  return /[a-z]/.test(body) && /[A-Z]/.test(body) && !standIn(body)
}

/**
 * An `.npmrc` token line names its registry: `//host[/path]/:_authToken=…`. Without the `//host`
 * (`registry.npmjs.org/:_authToken`, `///:_authToken`) npm does not read it as a token. A key
 * longer than the 40 characters the validator sees is taken as one.
 */
const npmrcKey = (m: string, c: MatchContext): boolean => {
  if (m.startsWith("npm_")) return !glued(c) || tokenChecksum(m)
  const key = /\S*$/.exec(c.before)![0] + "/"
  return /\/\/[^/\s]/.test(key) || (key.length > 40 && !key.includes("//"))
}

/** The bytes a base64 text decodes to, or -1 when it is not base64 (its length, its padding). */
const base64Bytes = (v: string): number => {
  if (v.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) return -1
  return (v.length / 4) * 3 - (v.endsWith("==") ? 2 : v.endsWith("=") ? 1 : 0)
}

/**
 * The key the Azure Storage emulator (Azurite, and the older Storage Emulator) accepts for its
 * `devstoreaccount1`, published in Microsoft's documentation: a real key's shape, no secret.
 */
const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
/** The value of a match that ends with a base64 value: after the last separator before its padding. */
const valueAtEnd = (m: string): string => {
  const body = m.endsWith("==") ? m.slice(0, -2) : m.endsWith("=") ? m.slice(0, -1) : m
  return m.slice(Math.max(body.lastIndexOf("="), body.lastIndexOf(":"), body.lastIndexOf(" "), body.lastIndexOf("\t"), body.lastIndexOf('"'), body.lastIndexOf("'")) + 1)
}
/**
 * An Azure Storage account key (learn.microsoft.com, "Manage storage account access keys"): 512
 * bits, written in base64 (88 characters ending `==`). Under any of its names a value of that
 * structure is one; the connection string's own `AccountKey=` is the key whatever it holds (a key
 * cut short, made up), and a value that is not 64 bytes is reported as a placeholder: no account
 * accepts it, but what is there is replaced.
 */
const azureAccountKey = (m: string): boolean => {
  return base64Bytes(valueAtEnd(m)) === 64 || /^AccountKey[ \t]*=/i.test(m)
}
const azureAccountKeyPlaceholder = (v: string): boolean => base64Bytes(v) !== 64 || v === AZURITE_KEY || standIn(v)

/**
 * A shared access signature's `sig` (learn.microsoft.com, "Create a service SAS"): the base64 of
 * an HMAC-SHA256, 32 bytes, percent-encoded in the query (`+` `%2B`, `/` `%2F`, `=` `%3D`).
 * `sig` names other things elsewhere; only that structure is taken.
 */
const sasSignature = (m: string): boolean => {
  const v = m.slice(m.indexOf("=") + 1).replace(/%2B/gi, "+").replace(/%2F/gi, "/").replace(/%3D/gi, "=")
  return base64Bytes(v) === 32
}

// ---------------------------------------------------------------------------------------------
// Private keys outside PEM armor: base64 of a PEM block or of a JSON key file, JWKs, PuTTY, age
// ---------------------------------------------------------------------------------------------

/** a line break inside base64 that a tool wrapped (`base64`, `openssl base64`), then a YAML block's indentation */
const B64_BREAK = "(?:\\r?\\n|\\\\r\\\\n|\\\\n)[ \\t]{0,16}"
const B64_RUN = "[A-Za-z0-9+/]"
/**
 * base64 of a PEM block: `LS0tLS1CRUdJTi` is the base64 of `-----BEGIN` (kubeconfig's
 * `client-key-data`, a Kubernetes TLS secret's `tls.key`, a CI variable). On one line, or wrapped
 * at 76 columns (`base64`) or 64 (`openssl base64`): full lines of that width, then a last shorter
 * one. A start is the first base64 character of its run (`startAfterNo`); every start matches.
 */
const wrapped = (width: number): string =>
  `${B64_RUN}{${width - 14}}(?:${B64_BREAK}${B64_RUN}{${width}}){0,200}${B64_BREAK}${B64_RUN}{1,${width}}={0,2}(?![A-Za-z0-9+/=])`
const B64_PEM = `${startAfterNo("A-Za-z0-9+/")}LS0tLS1CRUdJTi(?:${wrapped(76)}|${wrapped(64)}|${B64_RUN}*={0,2})`
/** The text a base64 match decodes to (line breaks, escapes and indentation dropped). */
const decodeB64 = (m: string, chars = Infinity): string => {
  const body = m.replace(/\\[nr]|[^A-Za-z0-9+/]/g, "")
  return Buffer.from(body.slice(0, Math.min(body.length, chars) - (Math.min(body.length, chars) % 4)), "base64").toString("latin1")
}
/** Whether base64 decodes to a private key's BEGIN line (a certificate's or a public key's is none). */
const b64PrivatePem = (m: string): boolean => {
  PEM_BEGIN_AT.lastIndex = 0
  return PEM_BEGIN_AT.test(decodeB64(m, 160))
}

/**
 * A JWK (RFC 7517) with its private or secret members: `d` of an EC, OKP or RSA key (RFC 7518
 * §6.2.2, §6.3.2; RFC 8037 §2), RSA's `p`, `q`, `dp`, `dq`, `qi`, and `k` of a symmetric (`oct`)
 * key (§6.4.1), in JSON, a Python dict, a JavaScript object, escaped inside a JSON string. The object
 * is replaced whole: the private members may come in any order, and RSA's `p` and `q` alone rebuild
 * the key.
 */
const JWK_KTY = /\bkty\\?["']?[ \t]*[:=][ \t]*\\?["']?(?:RSA|EC|OKP|oct)\b/
const JWK_SECRET = /(?:^|[{,\s])\\?["']?(?:d|p|q|dp|dq|qi|k)\\?["']?[ \t]*[:=][ \t]*\\?["']?[A-Za-z0-9_-]{20}/
const jwkPrivate = (m: string): boolean => JWK_KTY.test(m) && JWK_SECRET.test(m)
/** the private members of a JWK, as keys of an object's fields (crypto's `export({ format: "jwk" })`) */
const JWK_MEMBER = /^(?:d|p|q|dp|dq|qi)$/
/**
 * A JWK's private member given as a field: a base64url value (no padding, RFC 7515 §2) of 40
 * characters or more (an Ed25519 or P-256 `d` has 43) that reads as random (4 bits a character).
 * The engine sees one field at a time, not its `kty` sibling: a field named `d`, `p`, `q`, `dp`,
 * `dq` or `qi` holding such a value is taken for one.
 */
const jwkMember = (v: string, c: MatchContext): boolean => c.key !== null && JWK_MEMBER.test(c.key) && !standIn(v) && entropy(v) >= 4

/**
 * base64 of a JSON object (`{"…` is `ey…`, `{\n…` is `ew…`): a key file passed as one variable
 * (`GOOGLE_CREDENTIALS`, `GCP_SA_KEY`, Terraform's `google_service_account_key.private_key`), found
 * when it decodes to text holding a private key's BEGIN line or a JWK's private member. 200
 * characters or more: a start is the first character of its run, and a run too short fails within
 * 200 characters.
 */
const B64_JSON = `${startAfterNo("A-Za-z0-9+/")}e[wy]${B64_RUN}{198}${B64_RUN}*={0,2}`
const PEM_INSIDE = /-----BEGIN (?:[A-Z0-9]+ ){0,8}PRIVATE KEY/
const b64JsonKey = (m: string): boolean => {
  const text = decodeB64(m)
  return PEM_INSIDE.test(text) || jwkPrivate(text)
}

/**
 * PuTTY's key file (`.ppk`, formats 2 and 3: the PuTTY manual, appendix C): `Private-Lines: N` and
 * N lines of base64, the private key (encrypted or not). The lines alone are replaced; the header,
 * the public lines and `Private-MAC` are kept. Each line is a run of one class that ends at a line
 * break, an escape, a quote or the end (a `Private-MAC:` line is none), so there is one way to read
 * the lines, and at most 100.
 */
const PPK_LINE = "[A-Za-z0-9+/=]+(?![^\\r\\n\\\\\"'])"
const PPK = `Private-Lines:[ \\t]*\\d{1,3}[ \\t]*${B64_BREAK}(?<v>${PPK_LINE}(?:${B64_BREAK}${PPK_LINE}){0,99})`

/**
 * An age identity (age-encryption.org/v1, "X25519 identity"): Bech32 (BIP 173) with the
 * human-readable part `AGE-SECRET-KEY-`, written in capitals: `1` and 58 characters of the Bech32
 * alphabet (32 bytes and a checksum). The checksum is not required: scanners' test keys are random.
 */
const AGE_KEY = `${START}AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}(?![A-Za-z0-9])`

// ---------------------------------------------------------------------------------------------
// HTTP credentials: Authorization headers, Basic credentials, curl -u, session cookies
// ---------------------------------------------------------------------------------------------

/** `Authorization:` / `Proxy-Authorization:` as a header, in a JSON or Python dict, after `-H "` */
// (the spaces after the operator are one run, a quote and the spaces after it another: two runs
// of spaces on either side of an optional quote split a long run of spaces every way, in time
// quadratic in its length)
// The operator: `:`, `=` or `=>` (Perl, PHP, Ruby), or, after a quoted name, `,` (a setter's
// arguments `Header.Set("Authorization", "…")`, a tuple, a raw header list `["Authorization","…"]`);
// then an optional `[` (Go's `map[Authorization:[…]]`, JSON of an `http.Header`) and a quote,
// backticks included (a template literal). Each optional part opens with a literal, so the runs of
// spaces split one way only.
const AUTH_HEADER =
  "(?:(?<![\\w-])(?:proxy-)?authorization(?:\\\\?[\"'\x60][ \\t]*[:=,]|[ \\t]*[:=])>?[ \\t]*(?:\\[[ \\t]*)?(?:\\\\?[\"'\x60][ \\t]*)?" +
  // nginx `proxy_set_header Authorization "Basic …";` (and grpc_, uwsgi_), Apache
  // `RequestHeader set Authorization "…"`: the name, spaces, an optional quote
  "|(?<![\\w-])(?:(?:proxy|grpc|uwsgi)_set_header|RequestHeader[ \\t]+(?:set|add|append|merge|setifempty))[ \\t]+(?:proxy-)?authorization[ \\t]+[\"']?)"
/** a field whose key is such a header (`{headers: {Authorization: "Token …"}}`) */
const AUTH_KEY = /^(?:proxy-)?authorization$/i
const authKey = memoPerCall((k: string) => AUTH_KEY.test(k))
const AUTH_AT = new RegExp(`^${AUTH_HEADER}`, "i")
/** Whether a match is a header with a value after its name, or the value of a field named as one. */
const inAuthorization = (m: string, c: MatchContext): boolean => {
  const header = AUTH_AT.exec(m)
  return header !== null ? header[0].length < m.length : c.key !== null && authKey(c.key)
}

/** a template or a reference, not a value: `$X`, `${x}`, `$(cmd)`, `{{ x }}`, `<x>`, `[X]`, `%s` */
const REFERENCE = /^(?:\$[\w{(]|\{|<|\[|%[sdr]$|%\()/
/** words that stand for a credential, not one (`-u username:password`, `user:pass`, `test:test`) */
const NAMES_ITSELF = /^(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|key|value|string|user(?:name)?|login|test|demo|sample|example|admin|changeme|dummy|none|null)$/i
/** every character the same (`xxx`, `****`) */
const oneChar = (v: string): boolean => v.length > 0 && v.split(v[0]!).join("") === ""
/**
 * The credentials of a Basic header or `curl -u`: a password that is a value (not a template, a
 * word standing for one, or a mask), not the user name again (`root:root`), and not the `uid:gid`
 * of `docker -u 1000:1000`; a user name with no `%` (the `date -u +%H:%M` format). A value that
 * is none of these is taken whatever its strength: human passwords are weak.
 */
const credentialPair = (user: string, pass: string): boolean =>
  pass.length > 0 &&
  !REFERENCE.test(pass) &&
  !REFERENCE.test(user) &&
  !user.includes("%") &&
  !NAMES_ITSELF.test(pass) &&
  !oneChar(pass) &&
  pass !== user &&
  !(/^\d+$/.test(pass) && /^\d*$/.test(user))
/** A key used as the user name with no password (`curl -u sk_live_…:`, Stripe's and others' documented form). */
const keyLike = (v: string): boolean => v.length >= 12 && /\d/.test(v) && /[A-Za-z]/.test(v) && !REFERENCE.test(v) && entropy(v) >= 3

/** Whether a token after a scheme is one: a digit and a letter, or 20 characters of both cases (not a word: `required`). */
const tokenLike = (v: string): boolean => v.length >= 8 && ((/\d/.test(v) && /[A-Za-z]/.test(v)) || (v.length >= 20 && /[a-z]/.test(v) && /[A-Z]/.test(v)))
/**
 * A name written in code or configuration, not a token: words of letters of one case, each with at
 * most two digits after it, joined by `_`, `.` or `-` (`policy_v2_admin_role`, `ADMIN_ROLE`,
 * `rbac.v1.viewer`). A random token has parts that mix letters and digits or both cases.
 */
const IDENTIFIER = /^(?:[a-z]+\d{0,2}(?:[_.-][a-z]+\d{0,2})+|[A-Z]+\d{0,2}(?:[_.-][A-Z]+\d{0,2})+)$/
/** the parts of a camelCase name: an acronym before a word, an acronym, a word with its capital, digits */
const NAME_PART = /[A-Z]+(?=[A-Z][a-z])|[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+/g
/**
 * A word of a name as people write one: a vowel, no three vowels or four consonants in a row, no
 * letter three times, no `q` without `u`, no `j`, `q`, `v`, `x` or `z` before a consonant.
 */
const WORDLIKE = (w: string): boolean =>
  w.length >= 2 && /[aeiouy]/.test(w) && !/[aeiouy]{3}|[b-df-hj-np-tv-xz]{4}|[jqvxz][b-df-hj-np-tv-xz]|q(?!u)|(.)\1\1/.test(w)
/** the words of two letters a name's later words can be (`isOnTeam`, `userIdOf`, `canBeAdmin`) */
const SHORT_WORD = /^(?:Is|On|To|By|Of|At|As|Or|In|If|Up|No|My|Do|Be|Go|An|Id|Me|We|Us|It)$/
/**
 * A camelCase name written in code or configuration, not a token (`requireAdminRole`,
 * `checkPolicyV2`, `getXMLParser`): a lower-case word first, then words each opened by a capital,
 * at most one acronym of up to four capitals, digits only as a version (after `v`/`V`) or at the
 * end (two at most), two words or more, and letters for 70 % of it. Each word reads as
 * one (`WORDLIKE`). A random base62 token passes with a probability of about 4·10⁻⁵ at 16
 * characters, 3·10⁻⁶ at 20, none seen in 2·10⁶ at 24 (hex never: it has no word of two letters
 * with a vowel between digits); the cost is a random token of 8 to 12 characters read as a name
 * 0.04–0.3 % of the time.
 */
const codeName = (v: string): boolean => {
  if (v.length > 100 || !/^[a-z][A-Za-z0-9]*$/.test(v)) return false
  const parts = v.match(NAME_PART)!
  let words = 0
  let letters = 0
  let acronyms = 0
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!
    if (p.charCodeAt(0) <= 57) {
      if (p.length > 2 || !(i === parts.length - 1 || /[vV]$/.test(parts[i - 1]!))) return false
    } else if (!/[a-z]/.test(p)) {
      // (an acronym then a version: `HTTPV1` is `HTTP` and `V1`)
      const acronym = p.length > 1 && p.endsWith("V") && /^\d/.test(parts[i + 1] ?? "") ? p.slice(0, -1) : p
      if (!(acronym === "V" || (acronym.length <= 4 && ++acronyms <= 1))) return false
      letters += p.length
    } else {
      if (!WORDLIKE(p.replace(/^[A-Z]/, "")) && !SHORT_WORD.test(p)) return false
      words++
      letters += p.length
    }
  }
  return words >= 2 && letters >= 0.7 * v.length
}
/** The value of a match whose value follows its last space, tab or quote. */
const lastWord = (m: string): string => m.slice(Math.max(m.lastIndexOf(" "), m.lastIndexOf("\t"), m.lastIndexOf('"'), m.lastIndexOf("'"), m.lastIndexOf(":")) + 1)

/** A Basic header's credentials: base64 of `user:password` (RFC 7617), the pair judged as above. */
const basicCredentials = (m: string): boolean => {
  const v = lastWord(m)
  // (clients that drop the padding are read too: `YWxhZGRpbjpvcGVuc2VzYW1l` of RFC 7617 with its
  // `=` left off; a length that is one more than a multiple of four is no base64)
  const body = v.replace(/=+$/, "")
  if (body.length % 4 === 1 || (v !== body && base64Bytes(v) < 0) || (body.length * 3) >> 2 < 3) return false
  const text = Buffer.from(v, "base64").toString("latin1")
  const colon = text.indexOf(":")
  // RFC 7617: no control characters; the user name holds no colon
  return colon >= 0 && !/[\x00-\x1f\x7f]/.test(text) && (credentialPair(text.slice(0, colon), text.slice(colon + 1)) || (colon === text.length - 1 && keyLike(text.slice(0, colon))))
}

/**
 * An HTTP client before a `-u user:password` (curl, wget, HTTPie, xh, a URL): there `-u` can only be
 * credentials. Elsewhere `-u`/`--user` is as often a container's `user:group` (`docker run -u
 * nobody:nogroup`, `podman exec --user app:app`), a `sudo`/`runuser` user or a `ps` filter.
 */
const HTTP_CLIENT = /(?:^|[\s"'`;|&(])(?:curl|wget|https?|xh|httpie|lwp-request|aria2c)(?:\.exe)?(?=[\s"'])|:\/\//i
/**
 * The second part of a `-u` pair that a container takes as its group: a numeric gid, or a POSIX
 * group name without a digit (lower case, `_`, `-`, `useradd`'s NAME_REGEX; `nogroup`, `www-data`,
 * `docker`). With no HTTP client before it, such a part is no password; one with a digit, a capital
 * or other punctuation (`hunter2`, `Kx9mQ2zzP`, `p@ss`) still is (a group name never has them, and
 * over-redaction is safe).
 */
const GROUP_NAME = /^(?:[a-z_][a-z_-]*\$?|\d+)$/
/** A `-u user:pass` pair read in its context: credentials under an HTTP client, or a password that cannot be a group. */
const curlCredentials = (user: string, pass: string, c: MatchContext): boolean =>
  credentialPair(user, pass) && (HTTP_CLIENT.test(c.before) || !GROUP_NAME.test(pass))

/**
 * `-u` / `--user` (curl; `--user=` too) and an optional quote, before `user:password`: a flag
 * stands alone, after a space, a quote, a bracket, a separator or `=` (`a%-u.x@a.bc:` is an email
 * address followed by a colon, no flag). An argv array's element (`["curl", "-u", "user:pass"]`
 * in JSON, Python or JavaScript) is the flag too: its closing quote, a comma, the next quote.
 */
const CURL_USER = "(?<![^\\s\"'`(\\[{,;|&=])(?:(?:-u|--user)\\\\?[\"'][ \\t]*,[ \\t]*|-u[ \\t]*|--user(?:[ \\t]+|=))\\\\?[\"']?"
/** The user and the password of a `-u user:password` match, or `null` when it has no colon. */
const curlPair = (m: string): readonly [string, string] | null => {
  const rest = m.replace(/^(?:(?:-u|--user)\\?["'][ \t]*,[ \t]*|-u[ \t]*|--user(?:[ \t]+|=))\\?["']?/, "")
  const colon = rest.indexOf(":")
  if (colon < 0) return null
  const pass = rest.slice(colon + 1).replace(/^\\?["']/, "")
  // `-u http://app` (`az login --service-principal -u <app-id-uri>`, a tool's `--user <url>`): a
  // scheme, `:` and `//` is a URL, no user and password (RFC 3986 §3.1: a scheme is a letter and
  // letters, digits, `+`, `-`, `.`; a password starting `//` after such a word is read as a URL)
  return /^[A-Za-z][A-Za-z0-9+.-]*$/.test(rest.slice(0, colon)) && pass.startsWith("//") ? null : [rest.slice(0, colon), pass]
}

// ---------------------------------------------------------------------------------------------
// Passwords given as arguments on a command line
// ---------------------------------------------------------------------------------------------

/** where a program's name starts: not inside a word or a file name (a path before it is fine), or after an escaped line break */
const PROGRAM = String.raw`(?:(?<![\w.-])|(?<=\\[nrt]))`
/**
 * what separates two arguments: spaces, tabs, a shell's line continuation (`\` and a line break),
 * at most 16 of them in a row. (A repeated group, `(?:[ \t]|\\\n)+`, costs V8 a backtracking
 * entry per character: 16 MB of spaces after `mysql ` overflowed the stack. A run of one class,
 * then continuations each opened by a literal backslash, has one way to be read.)
 */
const SEP = String.raw`(?:[ \t]+(?:\\\r?\n[ \t]*){0,16}|(?:\\\r?\n[ \t]*){1,16})`
/** an argument: anything but a space or what ends a shell command (`;`, `|`, `&`, brackets, redirections) */
const ARG = String.raw`[^\s;|&()<>]+`
/** up to twelve arguments between a program and its password flag (`mysql -h db -u bob -pX`), read lazily: the first flag wins */
const ARGS = `(?:${SEP}${ARG}){0,12}?${SEP}`
/** an argument that is no option (a file, a user name) */
const POSITIONAL = String.raw`[^\s;|&()<>-][^\s;|&()<>]*`
/**
 * htpasswd's options: `-C` and `-r` take a number, which is theirs (never a file name: after a
 * password was replaced, the scan runs again, and `-C 12 file user <redacted>` must not read
 * `12 file user` as the three arguments)
 */
const HTPASSWD_OPT = String.raw`-(?:[A-Za-z]*[Cr][ \t]+\d+|[A-Za-z]*[A-BD-Za-qs-z])`
const HTPASSWD_OPTS = `(?:${SEP}${HTPASSWD_OPT}){1,6}`
const EXE = String.raw`(?:\.exe)?`
/** htpasswd's options hold `-n` (print, no file: two arguments, not three) */
const HTPASSWD_N = String.raw`(?:${SEP}${HTPASSWD_OPT}){0,5}?${SEP}-[A-Za-z]*n`
/**
 * The password after its flag: inside quotes the text up to the closing one (at most 256
 * characters, no backslash: an escaped JSON quote ends it); bare, a shell word: up to a space, a
 * quote, a backslash or what ends a command. A value that opens as a template or a variable the
 * shell or a tool fills in (`$PASS`, `${PW}`, `$(cat f)`, `<pw>`, `{{ pw }}`, `%s`, `[pw]`) is none:
 * a password that starts with one of `$ % { < [` is not taken on a command line.
 */
const CLI_VALUE = String.raw`\\?["']?(?![$%{<[])(?<v>(?<=["'])[^"'\r\n\\]{1,256}(?=\\?["'])|[^\s"'` + "`" + String.raw`;|&()<>\\]+)`
/**
 * The programs that take a password as an argument, each with its flag:
 * - MySQL and MariaDB clients: `-pPASSWORD`, glued (`-p` alone prompts, and the next argument is a database);
 * - `sshpass -p PASSWORD`; `redis-cli -a PASSWORD`; OpenLDAP's tools: `-w PASSWORD` (`-W` prompts);
 * - Samba's clients: `-U user%password`, `--user=DOMAIN\user%password`; `smbmap`, `crackmapexec`/`netexec`: `-p PASSWORD`;
 * - `htpasswd -b` (batch: the password on the command line): `[-n] file user password`, or
 *   `-n user password`.
 */
const CLI_FLAGS = [
  String.raw`(?:mysql(?:dump|admin|import|check|pump|show|slap|binlog|sh)?|mariadb(?:-(?:dump|admin|import|check|show|slap|binlog))?)${EXE}${ARGS}-p`,
  String.raw`sshpass${EXE}${ARGS}-p[ \t]*`,
  String.raw`redis-cli${EXE}${ARGS}-a[ \t]+`,
  String.raw`ldap(?:search|modify|add|delete|whoami|passwd|compare|modrdn|exop|url)${EXE}${ARGS}-w[ \t]*`,
  String.raw`(?:smbclient|rpcclient|smbcacls|smbget|smbtree|smbcquotas)${EXE}${ARGS}(?:-U[ \t]*|--user(?:name)?(?:=|[ \t]+))\\?["']?(?:[\w.-]+(?:\\{1,2}|/))?[\w.$@-]+%`,
  String.raw`(?:smbmap|crackmapexec|netexec|nxc)${EXE}${ARGS}-p[ \t]+`,
  // (Azure CLI: `az login -u <user or app id> -p <password or client secret>`; a certificate file is none: `azCertificate`)
  String.raw`az(?:\.cmd)?${SEP}login${ARGS}-p[ \t]+`,
  String.raw`htpasswd${EXE}(?:(?=${HTPASSWD_N})${HTPASSWD_OPTS}${SEP}${POSITIONAL}${SEP}|(?!${HTPASSWD_N})${HTPASSWD_OPTS}${SEP}${POSITIONAL}${SEP}${POSITIONAL}${SEP})`
]
/**
 * Oracle's tools given `user/password[@connect]` (`sqlplus scott/pw@//db:1521/ORCL`, `sqlplus -s
 * u/p@DB`, `sqlplus "sys/pw as sysdba"`, `rman target sys/pw@db`, `expdp userid=system/pw`): the
 * password ends at `@`, `/`, a space or a quote (`sqlplus / as sysdba` has none: the system's login).
 */
const ORACLE_LOGIN = String.raw`${PROGRAM}(?:sqlplus|rman|expdp|impdp|sqlldr|dgmgrl)${EXE}(?:${SEP}-[A-Za-z]+){0,4}${SEP}(?:(?:target|catalog|auxiliary)${SEP}|userid=)?\\?["']?[A-Za-z][\w$#]{0,127}/(?![$%{<[])(?<v>[^\s"'` + "`" + String.raw`;|&()<>\\@/]+)`
/**
 * HTTPie (`http`, `https`) and xh: `-a user:password`, `--auth user:password`, `--auth=…`; the
 * flag may come up to twelve arguments after the program. The user is one argument without `:`.
 */
const HTTPIE_AUTH = String.raw`${PROGRAM}(?:https?|xhs?)${EXE}${ARGS}(?:-a[ \t]*|--auth(?:=|[ \t]+))\\?["']?[^\s:"'\\]+:(?![$%{<[])(?<v>[^\s"'` + "`" + String.raw`\\]+)`
const HTTPIE_PAIR = /(?:-a[ \t]*|--auth(?:=|[ \t]+))\\?["']?([^\s:"'\\]+):([^\s"'`\\]+)$/
const httpieCredentials = (m: string): boolean => {
  const pair = HTTPIE_PAIR.exec(m)
  return pair !== null && credentialPair(pair[1]!, pair[2]!)
}
/** htpasswd reads a password from its command line only in batch mode (`-b`) */
const htpasswdBatch = (m: string): boolean => !m.startsWith("htpasswd") || /\s-[A-Za-z]*b/.test(m)
/** `az login -p` also takes a certificate file (a PEM or PKCS#12 path): that is no password */
const azCertificate = (m: string): boolean => m.startsWith("az") && /\.(?:pem|crt|cer|pfx|p12)["']?$/i.test(m)
/** a stand-in for a password (`-p password`, `-a secret`, `xxxx`): still replaced, reported as a placeholder */
const cliStandIn = (v: string): boolean => NAMES_ITSELF.test(v) || oneChar(v)

/**
 * Cookie names that hold a session or a token (`sessionid`, `PHPSESSID`, `JSESSIONID`,
 * `connect.sid`, `_app_session`, `laravel_session`, `next-auth.session-token`, `SID`, `HSID`,
 * `remember_user_token`, `auth_token`, `.ASPXAUTH`); a CSRF token is no credential.
 */
/** a Windows security identifier (MS-DTYP §2.4.2.1: `S-1-5-21-…-1013`), an account's public id under `objectSid`/`sid` */
const WINDOWS_SID = /^S-1-\d+(?:-\d+)+$/i
const SESSION_NAME = /sess|sid$|^sid|token(?!s|izer)|auth(?!or)|jwt|login|logged|remember|credential|secret|ticket/i
const CSRF = /csrf|xsrf/i
const COOKIE_KEY = /^(?:set-)?cookie2?$/i
const cookieKey = memoPerCall((k: string) => COOKIE_KEY.test(k))
/**
 * A session cookie: a session-like name and a value of 16 characters or more with at least 3 bits
 * of entropy a character (a random id; not `deleted`, a date, a flag). In a `Cookie:` or
 * `Set-Cookie:` header, after the `;` between two cookies, or at the start of a string (a field
 * named Cookie, an array of Set-Cookie values).
 */
const sessionCookie = (m: string, c: MatchContext): boolean => {
  const eq = m.indexOf("=")
  const head = m.slice(0, eq)
  const name = head.slice(Math.max(head.lastIndexOf(":"), head.lastIndexOf(";"), head.lastIndexOf(" "), head.lastIndexOf("\t"), head.lastIndexOf('"'), head.lastIndexOf("'")) + 1)
  const value = m.slice(eq + 1)
  if (!SESSION_NAME.test(name) || CSRF.test(name) || value.length < 16 || entropy(value) < 3 || REFERENCE.test(value) || WINDOWS_SID.test(value)) return false
  // at the start of a string with no header before it: only under a cookie field, or a name that
  // can only be a session (not `token=…` of a query string or a config line: the assignment
  // detectors judge those)
  const cookieHeader = name !== head && !m.startsWith(";")
  if (cookieHeader || (c.key !== null && cookieKey(c.key))) return true
  // after a `;` (a cookie header's next cookie, however far back its name), or at the start of a
  // string for a name that can only be a session's (`sessionid`, `PHPSESSID`, `sid`); never an
  // environment variable's name in capitals with `_` (`AWS_SESSION_TOKEN=…`, `; SESSION_SECRET=…`):
  // the assignment detectors name those values
  return !ENV_NAME.test(name) && (m.startsWith(";") || /sess|sid$|^sid/i.test(name))
}
/** an environment variable's name: capitals, digits and `_`, at least one `_` (no cookie is named so in practice) */
const ENV_NAME = /^[A-Z][A-Z0-9]*_[A-Z0-9_]*$/

// ---------------------------------------------------------------------------------------------
// Vendors' tokens and webhook URLs of a fixed form (the third hostile review's list)
// ---------------------------------------------------------------------------------------------

/** a random part: not a stand-in, two of lower case, capitals and digits (a name is none) */
const randomPart = (v: string): boolean => !standIn(v) && (/[a-z]/.test(v) ? 1 : 0) + (/[A-Z]/.test(v) ? 1 : 0) + (/\d/.test(v) ? 1 : 0) >= 2
/** a UUID's shape (Teams writes hex; scanners' test URLs hold other letters, and the host and path already say what it is) */
const UUID_RE = "[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}"
/** a fixed-form token of a vendor, group secret, critical */
const vendorToken = (category: string, hint: RegExp, pattern: string, validate: (m: string) => boolean): Detector => ({
  category,
  group: "secret",
  severity: "critical",
  hint,
  pattern: new RegExp(pattern, "g"),
  validate
})

// ---------------------------------------------------------------------------------------------
// URL credentials whose user is an e-mail address (the fourth hostile review, #8)
// ---------------------------------------------------------------------------------------------

/**
 * `scheme://alerts@acme.com:password@smtp.office365.com`: the WHATWG URL parser, curl and git take
 * the userinfo up to the last `@` before the host, and Office 365, Gmail and most SMTP/IMAP
 * services name their users by e-mail address. The password runs from the `:` after the user's
 * domain to the last `@` before the host (a Google app password written with its spaces, four
 * groups of four letters, included). The assignment detectors' `url_credentials` takes a user
 * without `@`; this one runs first, so the e-mail detector no longer reads `password@host` as an
 * address. The user's domain is read as a label, a dot, then labels and dots in one class (a
 * group per label keeps a backtracking entry per label: 16 MB of `.a` overflowed V8's stack).
 */
const URL_EMAIL_USER = String.raw`\b[a-z][a-z0-9+.-]{0,19}://[^\s:/@?#"'\x60<>]+@[a-z0-9-]+\.[a-z0-9.-]*:(?<v>[a-z]{4}(?: [a-z]{4}){3}|[^\s/?#"'\x60<>]+)(?=@[^\s/?#@]*(?:[/?#\s]|$))`
/** a reference or a mask, no password: `${X}`, `$(cmd)`, `$X`, `{{x}}`, `<x>`, `[x]`, `%s`, `{x}`, `****` (as the assignments' `url_credentials` judges) */
const URL_REFERENCE = /^(?:\$\{|\$\(|\$[A-Za-z_]\w*$|\{\{|<[^>]*>$|\[[^\]]*\]$|%[sd]$|\{[\w.]*\}$)/
const urlPassword = (m: string): string => {
  const at = m.indexOf("@", m.indexOf("://") + 3)
  return m.slice(m.indexOf(":", at) + 1)
}

// ---------------------------------------------------------------------------------------------
// Vendors' keys of a fixed prefix that were found only under a secret-like name (the fourth
// hostile review, #12): category api_key (a vendor's API credential, as OpenAI's and Anthropic's
// `sk-`), each with its documented prefix, length and alphabet
// ---------------------------------------------------------------------------------------------

/**
 * A vendor's key, category `api_key`: `body` is its random part. A stand-in body (an ascending
 * run) is matched and reported as a placeholder (one of few characters is none, `fewCharacters`); any other must look
 * random (two of lower case, capitals and digits) and pass `structure`. Linear: every pattern is
 * a literal prefix and bounded runs, refused inside a word by a one-character lookbehind.
 */
const vendorKey = (hint: RegExp, pattern: string, body: (m: string) => string, structure: (m: string) => boolean = () => true): Detector => ({
  category: "api_key",
  group: "secret",
  severity: "critical",
  hint,
  pattern: new RegExp(pattern, "g"),
  validate: (m) => {
    const b = body(m)
    return !fewCharacters(b) && (standIn(b) || (randomPart(b) && structure(m)))
  },
  placeholder: (m) => standIn(body(m))
})
/**
 * A body of at most three distinct characters (`xxxx…`, `1111…=`, `XXXX_AAAA`) holds no key: it is
 * not reported at all (scanners' test suites write such lines as negatives, and the external
 * benchmark counts a placeholder finding as a flagged negative). An ascending run
 * (`0123456789abcdef…`), what documentation writes, is reported as a placeholder.
 */
const fewCharacters = (body: string): boolean => new Set(body.replace(/[-_./=]/g, "")).size <= 3
/** a Sentry org auth token carries base64 JSON with its issue time (`iat`) between `sntrys_` and `_secret` */
const sentryOrgToken = (m: string): boolean => {
  const json = jsonSegment(m.slice(7, m.lastIndexOf("_")).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""))
  return json !== null && typeof json["iat"] === "number"
}
const afterPrefix = (n: number) => (m: string): string => m.slice(n)

/** what continues a bearer token after its first 16 characters: anything but whitespace, a quote, `,`, `;`, brackets, `\\`, `<` */
/** `Bearer` and the spaces after it, at the start of a bearer match */
const BEARER_HEAD = /^\S+\s+/
const BEARER_REST = "[^\\s\"'\x60,;\\\\<>()\\[\\]{}]"

/**
 * The fixed-form key and token detectors, most specific first.
 */
export const keys: ReadonlyArray<Detector> = [
  {
    category: "private_key",
    group: "secret",
    severity: "critical",
    hint: /-----BEGIN/,
    // the block up to its first END line, however long; a BEGIN line with no END line after it
    // takes the rest of the text as a match that the validator drops, so the search stops there
    // instead of scanning to the end again from every later BEGIN line
    pattern: new RegExp(`${PEM_BEGIN}(?:[\\s\\S]*?${PEM_END}|[\\s\\S]*)`, "g"),
    validate: (m) => endsWithPemEnd(m),
    placeholder: pemPlaceholder
  },
  {
    // a BEGIN line that no END line follows (a key cut short by a log line, a truncated tool
    // output): the BEGIN line and the base64 lines after it, at least one character of them (a
    // BEGIN line alone holds no key). The lines may be indented (a YAML `key: |` block, tabs, a
    // quoted mail's `>`), broken by real line breaks or `\n` escapes, or joined by single spaces
    // (a key pasted on one line), after armor headers. A whole block was taken above. The key ends
    // at its last line of base64 (`PEM_LINE`): a command or a word on the next line is kept, and
    // prose after a space too (`PEM_MORE`). A BEGIN line that ends its line and is followed by a
    // line that is no base64 (a mangled key, `yabba dabba doo`) is found, the BEGIN line alone replaced.
    category: "private_key",
    group: "secret",
    severity: "critical",
    hint: /-----BEGIN/,
    pattern: new RegExp(`${PEM_BEGIN}(?:${PEM_BREAK}|[ ])${PEM_INDENT}(?:${PEM_HEADER}${PEM_BREAK}${PEM_INDENT}){0,8}(?:${PEM_BREAK}${PEM_INDENT})?(?=${PEM_LINE})[A-Za-z0-9+/=\\\\\\r\\n \\t>]*?(?<!\\\\)${B64C}(?!${PEM_MORE})|${PEM_BEGIN}(?=${PEM_BREAK}${PEM_INDENT}[^\\s\\\\-])`, "g"),
    placeholder: pemPlaceholder
  },
  {
    // base64 of a PEM private key (kubeconfig `client-key-data`, a TLS secret's `tls.key`), on one
    // line or wrapped at 76 or 64 columns: decoded, its BEGIN line must be a private key's
    category: "private_key",
    group: "secret",
    severity: "critical",
    hint: /LS0tLS1CRUdJTi/,
    pattern: new RegExp(B64_PEM, "g"),
    validate: b64PrivatePem,
    // (cut short before 64 characters of its body: what is left holds no key)
    placeholder: (m) => pemPlaceholder(decodeB64(m))
  },
  {
    // a JWK with a private or secret member (`{"kty":"OKP","crv":"Ed25519","d":…}`), as text: the
    // object replaced whole. A start is a `{`; its run ends at the next brace, where the next start is.
    category: "private_key",
    group: "secret",
    severity: "critical",
    hint: /kty/,
    pattern: /\{[^{}]*\}/g,
    validate: jwkPrivate
  },
  {
    // a JWK's private member as an object's field (`{ kty: "OKP", d: "…" }` handed to the redactor)
    category: "private_key",
    group: "secret",
    severity: "critical",
    hint: /^(?:d|p|q|dp|dq|qi)$/,
    pattern: /^[A-Za-z0-9_-]{40,}$/g,
    validate: jwkMember
  },
  {
    // base64 of a JSON key file (a GCP service-account key, a JWK): decoded, it holds a private key
    category: "private_key",
    group: "secret",
    severity: "critical",
    hint: /e[wy][A-Za-z0-9+/]{40}/,
    pattern: new RegExp(B64_JSON, "g"),
    validate: b64JsonKey
  },
  {
    // PuTTY's `.ppk`: the private lines replaced, the header, public lines and MAC kept
    category: "private_key",
    group: "secret",
    severity: "critical",
    hint: /Private-Lines:/,
    pattern: new RegExp(PPK, "g")
  },
  {
    // an age identity: `AGE-SECRET-KEY-1` and 58 Bech32 characters, replaced whole
    category: "private_key",
    group: "secret",
    severity: "critical",
    hint: /AGE-SECRET-KEY-1/,
    pattern: new RegExp(AGE_KEY, "g"),
    placeholder: (m) => standIn(m.slice(16))
  },
  {
    category: "jwt",
    group: "credential",
    severity: "critical",
    hint: /eyJ/,
    // a start whose first segment is not followed by the rest takes its run of token characters
    // as a match that the validator drops: no later start inside that run can succeed (its first
    // segment would end at the same place), and the search does not scan the run from each one
    pattern: new RegExp(`${START}eyJ${atLeast(B64URL, 5)}\\.eyJ${atLeast(B64URL, 5)}(?:\\.${B64URL}*)?|${START}eyJ${B64URL}*`, "g"),
    validate: isJwt,
    placeholder: jwtPlaceholder
  },
  {
    category: "bearer_token",
    group: "credential",
    severity: "critical",
    // (RFC 9110 §11.1: a scheme is case-insensitive; `BEARER` is sent too)
    hint: /bearer/i,
    // the token runs to whitespace, a quote, `,` or `;` (and a bracket, a backslash of an escape, a
    // `<` of an earlier replacement): RFC 6750's b64token ends in `=`, but real tokens carry `=`
    // inside too (a Sentry org token is base64 JSON, `==_`, then its secret; an Atlassian token
    // ends `=` and a checksum), and what follows the first `=` is the part that matters. It stops
    // before `eyJ`: a JWT glued after `=` is the jwt detector's (found first), and a bearer match
    // overlapping it would be dropped whole, its own part left in the text. The match runs over
    // the token characters in one class and `trimEnd` gives back what starts at that `eyJ` (a
    // group with a lookahead per character kept a backtracking entry per character: 16 MB of `=`
    // after a token overflowed V8's stack)
    pattern: new RegExp(`${START}[Bb][Ee][Aa][Rr][Ee][Rr]\\s+[A-Za-z0-9._~+/-]{16}${BEARER_REST}*`, "g"),
    trimEnd: (m) => {
      const jwt = m.indexOf("eyJ", BEARER_HEAD.exec(m)![0].length + 16)
      return jwt < 0 ? 0 : m.length - jwt
    }
  },
  {
    category: "slack_webhook",
    group: "secret",
    severity: "critical",
    // api.slack.com/messaging/webhooks: services/T…/B…/…, and workflow triggers
    hint: /hooks\.slack\.com/,
    pattern: new RegExp(`(?:https?://)?hooks\\.slack\\.com/(?:services|workflows|triggers)/${atLeast("[A-Za-z0-9_/-]", 20)}`, "g"),
    placeholder: slackWebhookPlaceholder
  },
  {
    category: "stripe_key",
    group: "secret",
    severity: "critical",
    // secret and restricted keys, live and test (stripe.com/docs/keys); `pk_` keys are public
    // and webhook signing secrets `whsec_` (stripe.com/docs/webhooks: 32 base62 from the Dashboard,
    // 64 hex from `stripe listen`)
    hint: /[rs]k_(?:live|test|prod)_|whsec_/,
    pattern: new RegExp(`${startAfterNo("A-Za-z0-9")}(?:[rs]k_(?:live|test|prod)_${atLeast("[A-Za-z0-9]", 10)}|whsec_${atLeast("[A-Za-z0-9]", 24)})`, "g"),
    placeholder: (m) => {
      const body = m.slice(m.indexOf("_", 3) + 1)
      return STRIPE_EXAMPLES.has(body) || standIn(body)
    }
  },
  {
    category: "huggingface_token",
    group: "secret",
    severity: "critical",
    // user access tokens `hf_` and organization API tokens `api_org_`: 34 letters, no more
    hint: /hf_|api_org_/,
    pattern: new RegExp(`${startAfterNo("A-Za-z0-9_")}(?:hf_|api_org_)[A-Za-z]{34}(?![A-Za-z0-9_])`, "g"),
    validate: huggingfaceStructure
  },
  {
    category: "gitlab_token",
    group: "secret",
    severity: "critical",
    // docs.gitlab.com/security/tokens/#token-prefixes: personal, project and group access
    // (glpat-), deploy (gldt-), trigger (glptt-), runner authentication (glrt-, glrtr-) and
    // registration (GR1348941), OAuth application secrets (gloas-), CI/CD job (glcbt-), feed
    // (glft-), incoming mail (glimt-), agent for Kubernetes (glagent-), SCIM (glsoat-), feature
    // flags client (glffct-), workspace (glwt-); routable tokens add `.`-separated parts; the
    // session cookie `_gitlab_session=` (its value replaced)
    hint: /gl(?:pat|dt|ptt|rtr?|oas|cbt|ft|imt|agent|soat|ffct|wt)-|GR1348941|_gitlab_session=/,
    pattern: new RegExp(
      `${startAfterNo("A-Za-z0-9_-")}(?:gl(?:pat|dt|ptt|rtr?|oas|cbt|ft|imt|agent|soat|ffct|wt)-|GR1348941)${atLeast("[A-Za-z0-9_-]", 20)}(?:\\.[A-Za-z0-9_-]+){0,2}|_gitlab_session=(?<v>[0-9a-z]{32})(?![0-9a-z])`,
      "g"
    ),
    validate: gitlabStructure
  },
  {
    category: "npm_token",
    group: "secret",
    severity: "critical",
    // access tokens `npm_` + 36 base62 (github.blog 2021-09-23), and any token written to an
    // `.npmrc` (`//registry…/:_authToken=…`, the older UUID tokens included) unless it is a
    // `${VARIABLE}` the client expands
    hint: /npm_|_authToken/,
    // (glued to the word before it, a token is taken only when its checksum holds)
    pattern: new RegExp(`${startAfterNo("A-Za-z0-9_")}npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])|(?<=[A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])|/:_authToken=[ \\t]*["']?(?<v>[^\\s"'<>$]${atLeast("[^\\s\"'<>]", 7)})`, "g"),
    validate: npmrcKey,
    placeholder: (m) => (m.startsWith("npm_") ? !tokenChecksum(m) && standIn(m.slice(4)) : standIn(m.slice(m.indexOf("=") + 1).replace(/^[\s"']*(?:npm_)?/, "")))
  },
  {
    category: "pypi_token",
    group: "secret",
    severity: "critical",
    // pypi.org/help/#apitoken: `pypi-` and a macaroon (pypi.org: `pypi-AgEIcHlwaS5vcmc…`)
    hint: /pypi-AgE/,
    pattern: new RegExp(`${startAfterNo("A-Za-z0-9_-")}pypi-AgE${atLeast(B64URL, 40)}`, "g"),
    validate: pypiMacaroon
  },
  { category: "api_key", group: "secret", severity: "critical", hint: /sk-/, pattern: new RegExp(`${START}sk-(?:ant-|proj-)?${atLeast(B64URL, 16)}`, "g") },
  {
    category: "aws_key",
    group: "secret",
    severity: "critical",
    // access key ids (AKIA, temporary ASIA), STS bearer (ABIA), context (ACCA), and the older
    // `A3T` ids that AWS tools and scanners still see
    hint: /A[KS]IA|ABIA|ACCA|A3T/,
    pattern: new RegExp(`${START}(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\\b`, "g")
  },
  { category: "google_api_key", group: "secret", severity: "critical", hint: /AIza/, pattern: new RegExp(`${START}AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])`, "g") },
  {
    category: "github_token",
    group: "secret",
    severity: "critical",
    hint: /gh[pousr]_|github_pat_/,
    // at a word boundary, whatever its checksum (scanners' test tokens are random)
    pattern: new RegExp(`${START}(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\\b`, "g"),
    // a documentation run (`ghp_0123456789abcdef…`, `ghp_xxxx…`) unless its checksum holds
    placeholder: (m) => /^gh[pousr]_/.test(m) && !tokenChecksum(m) && standIn(m.slice(4))
  },
  {
    // glued to the words around it (`GITHUB_TOKENghp_…`, `ghp_…_old`, a blob): only a token of
    // the 2021 format whose checksum holds (what the detector above took is not taken again)
    category: "github_token",
    group: "secret",
    severity: "critical",
    hint: /gh[pousr]_/,
    pattern: /gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g,
    validate: tokenChecksum
  },
  {
    category: "slack_token",
    group: "secret",
    severity: "critical",
    hint: /xox[abposre]-|xoxe\.xox|xapp-/,
    pattern: new RegExp(`${START}(?:xoxe\\.xox[bp]|xox[abposre]|xapp)-${atLeast("[A-Za-z0-9-]", 10)}`, "g"),
    validate: slackStructure
  },
  {
    // `scheme://user@domain:password@host`: the password alone replaced (the user, an e-mail
    // address, is the PII detector's to judge; the host stays)
    category: "url_credentials",
    group: "credential",
    severity: "critical",
    // (the same hint as the assignments' url_credentials: one alternative in the union)
    hint: /:\/\//,
    pattern: new RegExp(URL_EMAIL_USER, "gi"),
    validate: (m) => {
      const v = urlPassword(m)
      return !v.includes("<redacted>") && !oneChar(v) && !/^[*•]+$/.test(v) && !URL_REFERENCE.test(v)
    },
    placeholderGeneric: false,
    // (the engine hands the replaced span, the password alone)
    placeholder: cliStandIn
  },
  {
    // `Authorization: token …` (GitHub), `Token …` (Django REST framework), `Api-Token`, `SSWS`
    // (Okta), `Bot` (Discord) and any other scheme but Basic, Digest and Bearer (found above), or
    // a bare token; the token alone is replaced, the scheme kept
    category: "bearer_token",
    group: "credential",
    severity: "critical",
    hint: /authorization/i,
    pattern: new RegExp(`(?:${AUTH_HEADER}|^)(?:(?!(?:bearer|basic|digest)[ \\t])[A-Za-z][\\w-]{0,30}[ \\t]+)?(?<v>${atLeast("[A-Za-z0-9._~+/=@%-]", 8)})`, "gi"),
    validate: (m, c) => {
      // (the token after the header: `authorization=x` has no space or quote before its value)
      const v = lastWord(m.slice(AUTH_AT.exec(m)?.[0].length ?? 0))
      return inAuthorization(m, c) && tokenLike(v) && !IDENTIFIER.test(v) && !codeName(v)
    }
  },
  {
    // `Authorization: Basic …` (RFC 7617): the base64 of `user:password`, decoded and judged
    category: "basic_auth",
    group: "credential",
    severity: "critical",
    hint: /basic/i,
    pattern: new RegExp(`(?:${AUTH_HEADER}|^)basic[ \\t]+(?<v>${atLeast("[A-Za-z0-9+/]", 4)}={0,2})(?![A-Za-z0-9+/=._~-])`, "gi"),
    validate: basicCredentials
  },
  {
    // `curl -u user:password`, `--user 'user:password'`, `-uuser:password`: the password replaced
    category: "basic_auth",
    group: "credential",
    severity: "critical",
    hint: /-u|--user/,
    // (a start whose user is not followed by `:` and a password takes its run as a match that the
    // validator drops: no later start inside that run reads it again)
    pattern: new RegExp(`${CURL_USER}[^\\s:"'\\\\]*:\\\\?["']?(?<v>[^\\s"'\\\\]+)|${CURL_USER}[^\\s:"'\\\\]*`, "g"),
    validate: (m, c) => {
      const pair = curlPair(m)
      return pair !== null && curlCredentials(pair[0], pair[1], c)
    }
  },
  {
    // `curl -u KEY:` (a key as the user, no password): the key and its colon replaced (a start
    // that fails takes its run as a match without a colon, which the validator drops)
    category: "basic_auth",
    group: "credential",
    severity: "critical",
    hint: /-u|--user/,
    pattern: new RegExp(`${CURL_USER}(?<v>${atLeast("[^\\s:\"'\\\\]", 12)}:)(?=\\\\?["']|\\s|$)|${CURL_USER}[^\\s:"'\\\\]*`, "g"),
    validate: (m) => {
      const pair = curlPair(m)
      return pair !== null && pair[1] === "" && keyLike(pair[0])
    }
  },
  {
    // HTTPie's and xh's `-a user:password` / `--auth user:password`: the password replaced
    category: "basic_auth",
    group: "credential",
    severity: "critical",
    hint: /(?:https?|xhs?)(?:\.exe)?[ \t]/,
    pattern: new RegExp(HTTPIE_AUTH, "g"),
    validate: httpieCredentials
  },
  {
    // a password given as an argument: `mysql -pX`, `sshpass -p X`, `redis-cli -a X`, `ldapsearch
    // -w X`, `smbclient -U user%X`, `smbmap -p X`, `htpasswd -b file user X`; the password alone
    // replaced (the command, its user and the rest of the line kept)
    category: "password",
    group: "credential",
    severity: "critical",
    hint: /mysql|mariadb|sshpass|redis-cli|ldap|smb|rpcclient|crackmapexec|netexec|nxc|htpasswd|az(?:\.cmd)?[ \t]+login/,
    pattern: new RegExp(`${PROGRAM}(?:${CLI_FLAGS.join("|")})${CLI_VALUE}`, "g"),
    validate: (m) => htpasswdBatch(m) && !azCertificate(m),
    // (a password a person chose: a marker word inside it does not make it an example)
    placeholderGeneric: false,
    placeholder: cliStandIn
  },
  {
    // `sqlplus user/password@db` and Oracle's other tools: the password alone replaced
    category: "password",
    group: "credential",
    severity: "critical",
    hint: /sqlplus|rman|expdp|impdp|sqlldr|dgmgrl/,
    pattern: new RegExp(ORACLE_LOGIN, "g"),
    placeholderGeneric: false,
    placeholder: cliStandIn
  },
  {
    category: "session_cookie",
    group: "credential",
    severity: "critical",
    // (a cookie header or field, a cookie after a `;`, or a session name at the start of a string;
    // an environment variable's name is the assignment detectors' to judge. A match after `;` has
    // a session-like name, `SESSION_NAME`: the hint holds its words, so no accepted match fails it.
    // The value stops before a `<`: a value that runs into a token replaced before it, written
    // `<redacted>`, would be dropped whole, its own part left in the text)
    // (`token(?!s|izer)` in both: `input_tokens`, `max_tokens`, `tokenizer` are a model call's usage
    // and settings, in every captured call, and no session)
    hint: /cookie|sess|sid|token(?!s|izer)|auth|jwt|login|logged|remember|credential|secret|ticket/i,
    pattern: new RegExp(`(?:(?<![\\w-])(?:set-)?cookie2?\\\\?["']?[ \\t]*:[ \\t]*(?:\\\\?["'][ \\t]*)?|;[ \\t]*|^)[\\w.!#$%&*+^\\x60|~-]{1,80}=(?<v>${atLeast("[^\\s;,\"'\\\\<]", 16)})`, "gi"),
    validate: sessionCookie,
    // a shell operator and what follows it are a command, never a cookie's value (`cd /app;
    // client_secret=…&&./deploy.sh`, `…|echo -rf`): a cookie value holds no `&&` or `||`, and a `|`
    // or `&` before a path or a last word is taken for one (cookie values percent-encode them in
    // practice; the part before stays replaced)
    trimEnd: (v) => {
      const at = v.search(/&&|\|\||[|&](?=[\s./~]|[A-Za-z_][\w.-]*(?:\$|$))/)
      return at < 0 ? 0 : v.length - at
    }
  },
  {
    category: "azure_storage_key",
    group: "secret",
    severity: "critical",
    // a connection string's `AccountKey=`, a setting (`AZURE_STORAGE_KEY=`, `"accountKey": `),
    // and the CLI's `--account-key`: the value alone is replaced
    hint: /account[_-]?key|storage[_-]?key/i,
    pattern: new RegExp(
      `(?<![A-Za-z0-9])(?:--account-key[ \\t=]+|(?:account|storage(?:[_-]?account)?)[_-]?key\\\\?["']?[ \\t]*[:=][ \\t]*\\\\?["']?)(?<v>${atLeast("[A-Za-z0-9+/]", 16)}={0,2})`,
      "gi"
    ),
    validate: azureAccountKey,
    placeholder: azureAccountKeyPlaceholder
  },
  {
    category: "azure_sas_signature",
    group: "credential",
    severity: "critical",
    // after `?`, `&` or `;`, or an `&` escaped in JSON (`\u0026`, Go's encoding/json) or in a URL (`%26`)
    hint: /sig=/,
    pattern: new RegExp(`(?<=[?&;]|\\\\[uU]0026|%26)sig=(?<v>${atLeast("[A-Za-z0-9%+/=]", 40)})`, "g"),
    validate: sasSignature
  },
  // Telegram's Bot API (core.telegram.org/bots/api#authorizing-your-bot): the bot's id, `:`, and 35
  // base64url characters opening with `A` (real tokens open `AA`); alone or in the API's URL path
  // `/bot<token>/method`. Glued to a word otherwise (`bot110201543:AA…` at a word's end), it is none.
  vendorToken("telegram_bot_token", /:A/, String.raw`(?:(?<![\w:/.-])|(?<=/bot)|(?<=\\[nrt]))\d{5,16}:A[A-Za-z0-9_-]{34}(?![A-Za-z0-9_-])`, (m) => !standIn(m.slice(m.indexOf(":") + 2))),
  // SendGrid API keys (docs.sendgrid.com, "API Keys"): `SG.`, a 22-character id, `.`, a 43-character secret
  vendorToken("sendgrid_key", /SG\./, `${startAfterNo("A-Za-z0-9_.-")}SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])`, (m) => randomPart(m.slice(3, 25)) && randomPart(m.slice(26))),
  // Shopify (shopify.dev, "Access tokens"): admin `shpat_`, custom app `shpca_`, private app `shppa_`, shared secret `shpss_`, 32 hex
  vendorToken("shopify_token", /shp(?:at|ca|pa|ss)_/, `${startAfterNo("A-Za-z0-9_")}shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?![A-Za-z0-9_])`, (m) => !standIn(m.slice(6))),
  // Databricks personal access tokens (docs.databricks.com, "Authentication"): `dapi` and 32 hex, an optional `-N`
  vendorToken("databricks_token", /dapi/, `${startAfterNo("A-Za-z0-9_")}dapi[a-f0-9]{32}(?:-\\d)?(?![A-Za-z0-9_])`, (m) => !standIn(m.slice(4, 36))),
  // Doppler (docs.doppler.com, "Token formats"): personal `dp.pt.`, CLI `dp.ct.`, service `dp.st.`
  // (maybe with its config's name), service account `dp.sa.`, `dp.scim.`, `dp.audit.`; 40 to 44 alphanumerics
  vendorToken("doppler_token", /dp\.(?:pt|st|ct|sa|scim|audit)\./, `${startAfterNo("A-Za-z0-9_.-")}dp\\.(?:pt|st|ct|sa|scim|audit)\\.(?:[a-z0-9_-]{1,63}\\.)?[A-Za-z0-9]{40,44}(?![A-Za-z0-9])`, (m) => randomPart(m.slice(m.lastIndexOf(".") + 1))),
  // HashiCorp Vault 1.10+ (developer.hashicorp.com/vault/docs/concepts/tokens): service `hvs.`, batch `hvb.`, recovery `hvr.`
  vendorToken("vault_token", /hv[sbr]\./, `${startAfterNo("A-Za-z0-9_.-")}hv[sbr]\\.${atLeast("[A-Za-z0-9_-]", 24)}`, (m) => randomPart(m.slice(4)) && entropy(m.slice(4)) >= 3.5),
  {
    // Discord webhooks (discord.com/developers/docs/resources/webhook): `/api[/vN]/webhooks/<id>/<token>`;
    // the token (68 characters) replaced, the URL and the webhook's id kept
    category: "discord_webhook",
    group: "secret",
    severity: "critical",
    hint: /discord(?:app)?\.com\/api/,
    pattern: /discord(?:app)?\.com\/api(?:\/v\d{1,2})?\/webhooks\/\d{17,20}\/(?<v>[A-Za-z0-9_-]{60,100})(?![A-Za-z0-9_-])/g,
    validate: (m) => randomPart(m.slice(m.lastIndexOf("/") + 1))
  },
  {
    // Microsoft Teams incoming webhooks (learn.microsoft.com, "Create an Incoming Webhook"):
    // `<tenant>.webhook.office.com/webhookb2/<group>@<tenant>/IncomingWebhook/<32 hex>/<owner>[/V2…]`
    // and the older `outlook.office.com/webhook/…`: the path replaced, the host kept
    category: "teams_webhook",
    group: "secret",
    severity: "critical",
    hint: /webhook\.office\.com|outlook\.office(?:365)?\.com\/webhook/,
    pattern: new RegExp(`(?:\\.webhook\\.office\\.com/webhookb2/|outlook\\.office(?:365)?\\.com/webhook/)(?<v>${UUID_RE}@${UUID_RE}/IncomingWebhook/[0-9A-Za-z]{32}/${UUID_RE}(?:/V2[A-Za-z0-9_-]{20,100})?)(?![A-Za-z0-9_-])`, "g")
  },
  // Azure AD (Entra ID) application client secrets: 3 characters, a digit, `Q~`, 31 to 34 more
  // (the shape gitleaks' `azure-ad-client-secret` documents; the portal shows 40 characters)
  vendorKey(/\dQ~/, `${startAfterNo("A-Za-z0-9_~.-")}[A-Za-z0-9_~.]{3}\\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])`, (m) => m.slice(6)),
  // Google OAuth 2.0 client secrets (since 2021): `GOCSPX-` and 28 base64url characters
  vendorKey(/GOCSPX-/, `${startAfterNo("A-Za-z0-9_-")}GOCSPX-[A-Za-z0-9_-]{28}(?![A-Za-z0-9_-])`, afterPrefix(7)),
  // DigitalOcean (docs.digitalocean.com/reference/api/, token prefixes): personal access `dop_v1_`,
  // OAuth `doo_v1_`, refresh `dor_v1_`, then 64 hex
  vendorKey(/do[por]_v1_/, `${startAfterNo("A-Za-z0-9_")}do[por]_v1_[a-f0-9]{64}(?![A-Za-z0-9_])`, afterPrefix(7)),
  // Grafana: service account tokens `glsa_` + 32 alphanumerics + `_` + 8 hex (a checksum), and
  // Grafana Cloud access policy tokens `glc_` + base64 (of a JSON object)
  vendorKey(/glsa_/, `${startAfterNo("A-Za-z0-9_")}glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}(?![A-Za-z0-9_])`, (m) => m.slice(5, 37)),
  vendorKey(/glc_/, `${startAfterNo("A-Za-z0-9_")}glc_[A-Za-z0-9+/]{32,400}={0,2}(?![A-Za-z0-9+/=_])`, afterPrefix(4)),
  // Sentry (docs.sentry.io, "Auth Tokens"): org tokens `sntrys_` + base64 JSON (`iat`, `url`,
  // `region_url`, `org`) + `_` + a 43-character secret; user tokens `sntryu_` + 64 hex
  vendorKey(/sntrys_/, `${startAfterNo("A-Za-z0-9_")}sntrys_eyJ[A-Za-z0-9+/]{10,1000}={0,2}_[A-Za-z0-9+/]{43}(?![A-Za-z0-9+/=_-])`, (m) => m.slice(m.lastIndexOf("_") + 1), sentryOrgToken),
  vendorKey(/sntryu_/, `${startAfterNo("A-Za-z0-9_")}sntryu_[a-f0-9]{64}(?![A-Za-z0-9_])`, afterPrefix(7)),
  // Atlassian API tokens (Jira, Confluence, Bitbucket): `ATATT3` and 186 characters, the last
  // nine `=` and a checksum
  vendorKey(/ATATT3/, `${startAfterNo("A-Za-z0-9_=-")}ATATT3[A-Za-z0-9_=-]{186}(?![A-Za-z0-9_=-])`, afterPrefix(6)),
  // New Relic user API keys: `NRAK-` and 27 capitals and digits
  vendorKey(/NRAK-/, `${startAfterNo("A-Za-z0-9_-")}NRAK-[A-Z0-9]{27}(?![A-Za-z0-9_-])`, afterPrefix(5)),
  // Postman API keys: `PMAK-`, 24 hex, `-`, 34 hex
  vendorKey(/PMAK-/, `${startAfterNo("A-Za-z0-9_-")}PMAK-[a-f0-9]{24}-[a-f0-9]{34}(?![A-Za-z0-9_-])`, afterPrefix(5)),
  // Linear personal API keys: `lin_api_` and 40 alphanumerics
  vendorKey(/lin_api_/, `${startAfterNo("A-Za-z0-9_")}lin_api_[A-Za-z0-9]{40}(?![A-Za-z0-9_])`, afterPrefix(8)),
  // Supabase personal access tokens (the Management API): `sbp_` and 40 hex
  vendorKey(/sbp_/, `${startAfterNo("A-Za-z0-9_")}sbp_[a-f0-9]{40}(?![A-Za-z0-9_])`, afterPrefix(4)),
  // Heroku API keys (the 2024 format): `HRKU-AA` and 58 base64url characters
  vendorKey(/HRKU-/, `${startAfterNo("A-Za-z0-9_-")}HRKU-AA[A-Za-z0-9_-]{58}(?![A-Za-z0-9_-])`, afterPrefix(7))
]
