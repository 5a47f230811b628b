/**
 * What the detectors share: the checksums, entropy, context checks on the text before a match and
 * on a field's key (remembered per call for long keys), and the pattern-building rule that keeps
 * V8's stack flat. `Detect` re-exports the checksums; the engine empties the per-call memos.
 *
 * Linear time. The engine runs on every append through the default redactor, on text an attacker
 * may write, so every search it makes runs in time linear in the text and in constant stack. The
 * rules, and for each expression of this module why it keeps them:
 *
 * 1. No quantified group whose body can match the same text in two ways, and no two neighbouring
 *    quantifiers over the same characters: a failing start then backtracks over what it read once,
 *    not over every way of splitting it.
 * 2. A start that can read far and then fail is either the only start in what it read, or it turns
 *    its failure into a match that the validator drops, which moves the search past what it read
 *    (`lastIndex` is the end of every match, accepted or not). Otherwise each later start in the
 *    same stretch reads it again: quadratic (64 KB of `eyJ-` took 3.8 s).
 * 3. Unbounded repetition only of a single character class (`X*`, `X+`, `X{n}X*`, lazy `X*?`):
 *    V8 keeps a backtracking entry per iteration of a repeated group, and of `X{n,}`, and throws
 *    `RangeError: Maximum call stack size exceeded` after a few million.
 * 4. What depends on a field's key (its hints, a validator's context words) is computed once per
 *    call for a key longer than 48 characters, not per string under it or per match (a shorter
 *    key costs at most 48 characters a test); the text before a match that validators see is 40
 *    characters.
 *
 * Each detector module says, above its detectors, how they keep these rules.
 */
import type { MatchContext } from "./detector.js"

/** The digits of a string. */
export const digitsOf = (s: string): string => s.replace(/\D/g, "")

/**
 * The Luhn checksum (cards).
 *
 * @since 0.1.0
 * @category validators
 */
export const luhn = (digits: string): boolean => {
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return digits.length > 0 && sum % 10 === 0
}

/**
 * The ABA routing-number checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10), with a
 * Federal Reserve prefix (00–12, 21–32, 61–72, 80).
 *
 * @since 0.1.0
 * @category validators
 */
export const abaRouting = (digits: string): boolean => {
  if (!/^\d{9}$/.test(digits)) return false
  const prefix = Number(digits.slice(0, 2))
  if (!(prefix <= 12 || (prefix >= 21 && prefix <= 32) || (prefix >= 61 && prefix <= 72) || prefix === 80)) return false
  const d = [...digits].map(Number)
  const sum = 3 * (d[0]! + d[3]! + d[6]!) + 7 * (d[1]! + d[4]! + d[7]!) + (d[2]! + d[5]! + d[8]!)
  return sum % 10 === 0 && digits !== "000000000"
}

/**
 * A US social security number's ranges: area not 000, 666 or 900–999; group not 00; serial
 * not 0000.
 *
 * @since 0.1.0
 * @category validators
 */
export const ssnRanges = (digits: string): boolean => {
  if (!/^\d{9}$/.test(digits)) return false
  const area = Number(digits.slice(0, 3))
  return area !== 0 && area !== 666 && area < 900 && digits.slice(3, 5) !== "00" && digits.slice(5) !== "0000"
}

const VERHOEFF_D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
  [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
  [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
]
const VERHOEFF_P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
  [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
  [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
  [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]
]

/**
 * The Verhoeff checksum (Aadhaar).
 *
 * @since 0.1.0
 * @category validators
 */
export const verhoeff = (digits: string): boolean => {
  let c = 0
  const n = digits.length
  for (let i = 0; i < n; i++) c = VERHOEFF_D[c]![VERHOEFF_P[i % 8]![digits.charCodeAt(n - 1 - i) - 48]!]!
  return n > 0 && c === 0
}

/**
 * Shannon entropy in bits per character.
 *
 * @since 0.1.0
 * @category validators
 */
export const entropy = (s: string): number => {
  const counts = new Map<string, number>()
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1)
  let h = 0
  for (const c of counts.values()) {
    const p = c / s.length
    h -= p * Math.log2(p)
  }
  return h
}

/** Short strings recur (keys, models, outcomes): their union verdict is remembered. */
export const SHORT = 48

/**
 * Memos of what a long field key passes, kept for one call of `redact` and emptied when it
 * returns. Every string under a key is checked against it (the elements of an array share their
 * field's key), so a long key is looked at once per call, not once per string or per match: a
 * 1 MB key over 100,000 values costs 1 MB of searching, not 100 GB. A key of up to `SHORT`
 * characters is tested as it comes (a memo costs more than such a test).
 */
const usedMemos: Array<Map<string, unknown>> = []
export const memoPerCall = <A>(f: (key: string) => A): ((key: string) => A) => {
  const memo = new Map<string, A>()
  return (key) => {
    if (key.length <= SHORT) return f(key)
    let v = memo.get(key)
    if (v === undefined) {
      v = f(key)
      if (memo.size === 0) usedMemos.push(memo)
      memo.set(key, v)
    }
    return v
  }
}
/** Empty the memos a call used (nothing of a caller's value is held after it returns). */
export const endCall = (): void => {
  // most calls used none (every call ends here, most with nothing hinted)
  if (usedMemos.length === 0) return
  for (const memo of usedMemos) memo.clear()
  usedMemos.length = 0
}

/** A context check: the words within 40 characters before the match, or in the field's key. */
export const near = (pattern: RegExp) => {
  const inKey = memoPerCall((key) => pattern.test(key))
  return (c: MatchContext) => pattern.test(c.before) || (c.key !== null && inKey(c.key))
}


/**
 * `X{n,}` for a character class X, written so that V8 needs no backtracking entry per character:
 * it keeps one for each character of `X{5,}` and throws `RangeError: Maximum call stack size
 * exceeded` on a run of a few million, where `X{5}X*` (the same strings) runs in constant space.
 */
export const atLeast = (x: string, n: number): string => `${x}{${n}}${x}*`

/** A base64url character. */
export const B64URL = "[A-Za-z0-9_-]"

/** The function of a CommonJS module, however the loader presents its default export. */
export const fn = <F>(m: unknown): F => (typeof m === "function" ? m : (m as { default: F }).default) as F

/**
 * The Unicode characters the engine reads as their ASCII twin, each one UTF-16 unit as its twin
 * is, so a span found on the twin text is the same span of the original:
 * - spaces: no-break (U+00A0), the typographic spaces U+2000–U+200A (en, em, thin, hair …), the
 *   narrow no-break (U+202F), the medium mathematical (U+205F) and the ideographic (U+3000) space:
 *   what word processors, web pages, chat clients and CJK input methods put where a space is
 *   meant. Left out: the zero-width ones (U+200B, U+2060, U+FEFF), which separate nothing on
 *   screen, the line and paragraph separators (U+2028, U+2029), which end a line, and U+1680
 *   (Ogham), never typed for a space;
 * - hyphens and dashes (U+2010–U+2015: hyphen, no-break hyphen, figure, en, em dash, bar), the
 *   minus sign (U+2212), the small and full-width hyphen-minus (U+FE63, U+FF0D): what autocorrect
 *   and CJK input put in numbers (`4111–1111`, `123‐45‐6789`) and options. Left out: the soft
 *   hyphen (U+00AD), invisible;
 * - the full-width forms of the ASCII characters (U+FF01–U+FF5E: `４１１１`, `＠`, `：`, `＝`,
 *   `ｐａｓｓｗｏｒｄ`) of CJK input, each as the character it is a form of;
 * - the escape character (U+001B) and the whole of a terminal's control sequence it starts
 *   (`ESC [ 32 m`, colours and cursor moves in a CLI's output), each unit as a space: a key glued
 *   to a colour code (`\x1b[32mAKIA…\x1b[0m`) starts after a space.
 * Percent-escapes (`%22`) and `\u0022` are not read: their text is longer than the character they
 * stand for, so no same-length reading keeps both the character and the offsets.
 */
export const TWINNED = /[\u001B\u00A0\u2000-\u200A\u2010-\u2015\u202F\u205F\u2212\u3000\uFE63\uFF01-\uFF5E]/
const TWINNED_ALL = new RegExp(TWINNED.source, "g")
/** a control sequence (CSI: parameters, intermediates, a final byte) or an escape alone */
const ESCAPES = /\u001B(?:\[[0-?]{0,64}[ -\/]{0,8}[@-~])?/g
const twinOf = (c: string): string => {
  const k = c.charCodeAt(0)
  return k >= 0xff01 && k <= 0xff5e ? String.fromCharCode(k - 0xfee0) : (k >= 0x2010 && k <= 0x2015) || k === 0x2212 || k === 0xfe63 ? "-" : " "
}

/**
 * `s` with every `TWINNED` character written as its ASCII twin (the same length, every other
 * character where it was); `s` itself when it holds none (one scan of a character class).
 */
export const asciiTwins = (s: string): string => {
  if (!TWINNED.test(s)) return s
  const t = s.indexOf("\u001B") === -1 ? s : s.replace(ESCAPES, (e) => " ".repeat(e.length))
  return t.replace(TWINNED_ALL, twinOf)
}
