/**
 * Number lexemes as Python writes them (FORMAT A.2).
 *
 * Hand-written on purpose: no library formats doubles in Python `repr` form, and the hash depends
 * on every character. `Number.prototype.toString` already yields the shortest round-trip digits
 * (with the closest-value tie rule the spec fixes), so only the layout has to change.
 * @internal
 */

/** Python `repr(float)` of a finite double. */
export const formatDouble = (x: number): string => {
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0"
  let s = String(x)
  // from 1e-4 up to 1e16, a fraction is written alike by both (`0.0001`, `1234.5`); only integral
  // values (`1` against `1.0`) and exponents differ
  const a = x < 0 ? -x : x
  if (a >= 1e-4 && a < 1e16 && s.indexOf(".") >= 0) return s
  let sign = ""
  if (s.charCodeAt(0) === 45) {
    sign = "-"
    s = s.slice(1)
  }
  // Split the JavaScript form into significant digits and a decimal exponent such that
  // value = 0.d1d2d3… × 10^(exp + 1), i.e. d1.d2d3… × 10^exp.
  let mantissa = s
  let exp = 0
  const e = s.indexOf("e")
  if (e >= 0) {
    mantissa = s.slice(0, e)
    exp = Number(s.slice(e + 1))
  }
  const dot = mantissa.indexOf(".")
  let digits: string
  if (dot >= 0) {
    digits = mantissa.slice(0, dot) + mantissa.slice(dot + 1)
    exp += dot - 1
  } else {
    digits = mantissa
    exp += mantissa.length - 1
  }
  // strip leading zeros (from forms like 0.00123)
  let lead = 0
  while (lead < digits.length - 1 && digits.charCodeAt(lead) === 48) {
    lead++
    exp--
  }
  digits = digits.slice(lead)
  let trail = digits.length
  while (trail > 1 && digits.charCodeAt(trail - 1) === 48) trail--
  digits = digits.slice(0, trail)

  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      const intLen = exp + 1
      if (digits.length <= intLen) return sign + digits + "0".repeat(intLen - digits.length) + ".0"
      return sign + digits.slice(0, intLen) + "." + digits.slice(intLen)
    }
    return sign + "0." + "0".repeat(-exp - 1) + digits
  }
  const m = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits
  const ae = Math.abs(exp)
  return sign + m + (exp < 0 ? "e-" : "e+") + (ae < 10 ? "0" + ae : String(ae))
}

/** Canonical lexeme of a finite JavaScript number: integers as digits, others in `repr` form. */
export const formatNumber = (x: number): string => {
  if (Number.isInteger(x)) {
    if (x === 0) return "0"
    return Number.isSafeInteger(x) ? String(x) : BigInt(x).toString()
  }
  return formatDouble(x)
}

/**
 * Canonical form of a JSON number lexeme that is already known to be grammatical.
 * Returns `undefined` when the value is not finite (it overflowed a double).
 */
export const canonicalLexeme = (lexeme: string, isInteger: boolean): string | undefined => {
  if (isInteger) return lexeme === "-0" ? "0" : lexeme
  const x = Number(lexeme)
  return Number.isFinite(x) ? formatDouble(x) : undefined
}

/** JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
export const NUMBER_RE = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/
