/**
 * The shape of a detector, apart from the engine (`Detect`) so that the detector modules can name
 * it without importing the engine that imports them. `Detect` exports these types under the
 * same names.
 */

/** A detector's group: what kind of data it finds (policies act by group). */
export type Group = "secret" | "credential" | "financial" | "gov_id" | "pii" | "special_category"

/** How serious a finding is. */
export type Severity = "info" | "warning" | "critical"

/** Where a match was found, for validators that need context. */
export interface MatchContext {
  /** up to 40 characters before the match, in the same string */
  readonly before: string
  /** the key of the field holding the string or number, if any */
  readonly key: string | null
}

/** A detector: a category, a group, a severity, a global pattern and optional checks. */
export interface Detector {
  readonly category: string
  readonly group: Group | (string & {})
  readonly severity: Severity
  /**
   * global; a named group `v` narrows what is replaced (`password is <redacted>`). A match that
   * would contain an earlier `<redacted>` is dropped, so open-ended patterns should stop before one.
   * The engine runs on every append, on text an attacker may write: a pattern must search in time
   * linear in the text (the rules the built-ins keep are written above them, in the source).
   */
  readonly pattern: RegExp
  readonly validate?: ((match: string, context: MatchContext) => boolean) | undefined
  /**
   * a necessary condition, tested on the string and on its field's key: a string for which
   * neither passes is not searched. The hints of a detector set are also joined into one
   * expression, tested once per string, so most strings cost one search instead of twenty.
   */
  readonly hint?: RegExp | undefined
  /**
   * a narrower condition than `hint`, read on the string alone (never on its field key) once the
   * hint passes: a string it refuses cannot hold a match of the pattern (a command's own word, a
   * bracket the form needs). Read once per string for all the detectors that share it, so a text
   * full of a family's keywords is not searched by the forms it cannot hold. It must be a
   * necessary condition of the pattern (the engine tests hold every built-in one to that); tested
   * case-insensitively.
   */
  readonly need?: RegExp | undefined
  /** also applied to the digits of JSON numbers (a card number stored as a number) */
  readonly numeric?: boolean | undefined
  /**
   * with `numeric`: also applied to any non-negative integer (not only ids of nine digits or more)
   * under a field whose key passes `hint` (a PIN or a numeric password: `{"password": 12345678}`)
   */
  readonly numericUnderKey?: boolean | undefined
  /**
   * how many characters at the end of what would be replaced (the named group `v`, or the match)
   * belong to the text around it and stay (a closing bracket opened before the key:
   * `User(password=x)`); asked after `validate` accepts, with the same context. Linear in the
   * match. A match that meets an earlier detector's span is judged on what it keeps: it stands
   * when that no longer meets the span (a bearer token stops before a JWT glued to it).
   */
  readonly trimEnd?: ((replaced: string, context: MatchContext) => number) | undefined
  /**
   * whether a match is a placeholder or an example rather than a real value (a vendor's documented
   * example key): it is given the text that would be replaced (the named group `v` when the
   * pattern has one, else the whole match). For the groups `secret` and `credential` it adds to
   * the generic check (`isPlaceholder`): either one makes the match a placeholder. For other
   * groups only this check runs. It must run in time linear in the match.
   */
  readonly placeholder?: ((match: string) => boolean) | undefined
  /**
   * whether the generic placeholder check (`isPlaceholder`) runs on this detector's matches as well
   * as its own: by default for the groups `secret` and `credential`. `false` for values people
   * choose (passwords), which are made of words: the generic check finds a marker word anywhere
   * (`your`, `mock`, `todo`), which suits random keys, while a password is a placeholder only when
   * its own check says the whole value is one.
   */
  readonly placeholderGeneric?: boolean | undefined
}
