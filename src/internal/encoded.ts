/**
 * Base64 of text that holds a credential: a Kubernetes Secret's `data` (`kubectl get secret -o
 * yaml`: `DATABASE_URL: cG9zdGdyZXM6Ly9…`, `.dockerconfigjson: eyJhdXRocyI6…`), a Helm value, an
 * environment variable holding an encoded config. The value is a name's (after `:` or `=`, or a
 * field's whole string) and decodes to UTF-8 text with no control character; it is a secret when
 * that text holds credentials in a URL, a password, secret, token or key assignment, a private
 * key's BEGIN line or a vendor key with a fixed prefix. A value that is itself a bare password
 * under a password or token name is found by the assignment detectors, and base64 of a PEM block
 * by its own.
 *
 * Linear time: a start is the first character of a run of the base64 class (the lookbehind reads
 * one character), the run is read once and nothing after it can fail; the validator decodes at most 64 KB of it once and tests
 * the decoded text with expressions that open with a literal or a bounded class.
 * @internal
 */
import type { Detector, MatchContext } from "./detector.js"

/** decoded text longer than this is not read (a value of 64 KB is a file, not a setting) */
const MAX = 64 * 1024
// (not fatal: a replacement character marks bytes that are not UTF-8, without the cost of an
// exception for each hex digest and random id that is read)
const UTF8 = new TextDecoder("utf-8")
/** a control character other than a tab or a line break: the bytes are binary, not text */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/

/** What base64 decodes to as text, or null when it is not base64 of UTF-8 text. */
const decodedText = (m: string): string | null => {
  if (m.length > MAX || m.length % 4 === 1) return null
  let bytes: Uint8Array
  try {
    bytes = Buffer.from(m, "base64")
  } catch {
    return null
  }
  // at least 12 bytes: the chance that random base64 decodes to printable text falls with each
  if (bytes.length < 12) return null
  const text = UTF8.decode(bytes)
  return CONTROL.test(text) || text.includes("\uFFFD") ? null : text
}

/** what a credential looks like inside the decoded text */
const INSIDE = [
  // `scheme://user:password@host`
  /[a-z][a-z0-9+.-]{0,15}:\/\/[^\s/:@]{1,64}:[^\s@/]{3,}@[^\s@]/i,
  // a password, secret, token or key written as an assignment or a JSON member
  /(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|apikey|auth|credentials?|private[_-]?key)[\w.-]{0,24}\\?["']?[ \t]*[:=][ \t]*\\?["']?[^\s"',;}]{4}/i,
  // a private key's BEGIN line
  /-----BEGIN (?:[A-Z0-9]+ ){0,8}PRIVATE KEY/,
  // the vendors' fixed prefixes (AWS key ids, GitHub, Slack, Stripe, GitLab, npm, Hugging Face)
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{36}|\bxox[abposre]-[A-Za-z0-9-]{10}|\b[sr]k_(?:live|test)_[A-Za-z0-9]{16}|\bglpat-[A-Za-z0-9_-]{20}|\bnpm_[A-Za-z0-9]{36}|\bhf_[A-Za-z]{30}/
]

/** a value of a name: after `:` or `=` (quoted or not), or a field's whole string */
const VALUE_BEFORE = /[:=][ \t]{0,8}\\?["'`]?$/

const holdsCredential = (m: string, c: MatchContext): boolean => {
  if (!(VALUE_BEFORE.test(c.before) || (c.before.length === 0 && c.key !== null))) return false
  const text = decodedText(m)
  return text !== null && INSIDE.some((p) => p.test(text))
}

/**
 * @internal
 */
export const encoded: ReadonlyArray<Detector> = [
  {
    category: "generic_secret",
    group: "secret",
    severity: "critical",
    // a value after `:`/`=`, or a string that starts with 16 base64 characters (nothing after
    // them to fail: a hint is tested on every string)
    hint: /[:=][ \t]*\\?["'`]?[A-Za-z0-9+/]{16}|^[A-Za-z0-9+/]{16}/,
    // (the URL-safe alphabet in the run too: nothing after the run can fail, so a start reads its
    // run once and never gives characters back)
    // (`X{16}X*`, not `X{16,}`: V8 keeps a backtracking entry per character of the second and runs
    // out of stack on a run of a few million)
    pattern: /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16}[A-Za-z0-9+/_-]*={0,2}/g,
    validate: holdsCredential
  }
]
