/**
 * The detectors of secrets given by assignment: a password (or passphrase) named by its key or
 * in free text. Listed in `Detect.builtins` after the fixed-form keys.
 *
 * Linear time (the rules are in `matching.ts`):
 * - password: keywords are literals; a whitespace run sits between a keyword and its operator or
 *   an operator and its value, read by that start alone; the value is four characters checked for
 *   `<redacted>`, then a lazy loop that stops at the first `<redacted>` or the end of the run, and
 *   nothing after it can fail. The validator's expression starts at each operator and reads a
 *   whitespace run and a fixed word, or a `*` run with nothing after it.
 */
import type { Detector } from "../Detect.js"

/**
 * The assignment detectors.
 */
export const assignments: ReadonlyArray<Detector> = [
  {
    category: "password",
    group: "credential",
    severity: "critical",
    hint: /pass|pwd/i,
    // free text: "password is …", "password: …", "pwd=…", "passphrase = …"; the value runs to the
    // end of its run or to an earlier `<redacted>`, whichever comes first (a lazy loop that stops
    // where the lookahead holds: a group repeated per character overflowed V8's stack at 4 MB)
    pattern: /\b(?:password|passwd|passphrase|pwd)\b["']?\s*(?:is|was|:|=)\s*["']?(?<v>(?:(?!<redacted>)[^\s"',;]){4}[^\s"',;]*?)(?=<redacted>|[\s"',;]|$)/gi,
    // not a placeholder or a word about the password
    validate: (m) => !/(?:is|was|:|=)\s*["']?(?:\*+|<redacted>|(?:null|none|required|incorrect|invalid|wrong|reset|expired|changed|missing)\b)/i.test(m)
  }
]
