/**
 * The detectors of keys and tokens with a fixed form: private key blocks, JWTs, bearer tokens and
 * the vendors' keys. Listed in `Detect.builtins` in this order, before the other detectors (the
 * most specific first).
 *
 * Linear time (the rules are in `matching.ts`):
 * - private_key: a BEGIN line is at most eight words of `[A-Z0-9]` each ended by a space (a word
 *   holds no space or `-`, so there is one way to read it, and it ends at the next `-`). The body
 *   is a lazy loop that tries the END line (which opens with the literal `-----END `) at each
 *   character and stops at the first. A BEGIN line with no END line after it takes the rest of the
 *   text (`|[\s\S]*`), which `endsWithPemEnd` drops: no later BEGIN line has an END line after it
 *   either, and the search is over (rule 2). `endsWithPemEnd`: a sticky BEGIN line at 0, one
 *   `lastIndexOf`, a sticky END line at one place.
 * - jwt: the first start in a run of token characters either matches or takes the run (its
 *   failure alternative), and the validator drops it: a later start in that run would end its
 *   first segment where this one did, so it cannot match either (rule 2). Each run is read a
 *   constant number of times (as a first, second or third segment).
 * - bearer_token, api_key, slack_token: a literal prefix, then a run of at least 16 (10) token
 *   characters that nothing after it can reject (`=*` is optional): a start matches as soon as it
 *   has read the minimum, or fails within it. The whitespace after `Bearer` belongs to that start.
 * - aws_key, google_api_key, github_token: bounded (16, 35, at most 255 characters after a
 *   prefix); a start that reads 255 characters has no other start inside them (`` before `g`).
 */
import type { Detector } from "../Detect.js"
import { atLeast, B64URL } from "./matching.js"

/** up to eight words before `PRIVATE KEY` (real ones have up to three: `OPENSSH`, `ENCRYPTED`, `RSA`) */
const PEM_WORDS = "(?:[A-Z0-9]+ ){0,8}"
const PEM_BEGIN = `-----BEGIN ${PEM_WORDS}PRIVATE KEY-----`
const PEM_END = `-----END ${PEM_WORDS}PRIVATE KEY-----`
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
    validate: (m) => endsWithPemEnd(m)
  },
  {
    category: "jwt",
    group: "credential",
    severity: "critical",
    hint: /eyJ/,
    // a start whose first segment is not followed by the rest takes its run of token characters
    // as a match that the validator drops: no later start inside that run can succeed (its first
    // segment would end at the same place), and the search does not scan the run from each one
    pattern: new RegExp(`\\beyJ${atLeast(B64URL, 5)}\\.eyJ${atLeast(B64URL, 5)}\\.${atLeast(B64URL, 10)}|\\beyJ${B64URL}*`, "g"),
    validate: (m) => m.includes(".")
  },
  {
    category: "bearer_token",
    group: "credential",
    severity: "critical",
    hint: /[Bb]earer/,
    pattern: new RegExp(`\\b[Bb]earer\\s+${atLeast("[A-Za-z0-9._~+/-]", 16)}=*`, "g")
  },
  { category: "api_key", group: "secret", severity: "critical", hint: /sk-/, pattern: new RegExp(`\\bsk-(?:ant-|proj-)?${atLeast(B64URL, 16)}`, "g") },
  { category: "aws_key", group: "secret", severity: "critical", hint: /A[KS]IA|ABIA|ACCA/, pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g },
  { category: "google_api_key", group: "secret", severity: "critical", hint: /AIza/, pattern: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  {
    category: "github_token",
    group: "secret",
    severity: "critical",
    hint: /gh[pousr]_|github_pat_/,
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g
  },
  { category: "slack_token", group: "secret", severity: "critical", hint: /xox[abposr]-/, pattern: new RegExp(`\\bxox[abposr]-${atLeast("[A-Za-z0-9-]", 10)}`, "g") }
]
