/**
 * Scrubbing secrets and personal data out of payloads before they are hashed. What enters the
 * chain can never be taken out again, so this runs on every entry the library writes.
 *
 * A redactor is a pure function from a JSON value to the scrubbed value and what it found
 * (categories, actions and counts, never the matched text). The engine's redactors report one
 * row per category and action, with how many of its matches were placeholders (`placeholders`),
 * where `Detect` splits real and placeholder rows. `layerDefault` is the detection
 * engine (`Detect`) under `Detect.Policy.default`; `layerPolicy(policy)` under any other policy;
 * `layer(fn)` plugs in any other function. When the library's redactor found something in an entry
 * it wrote, `Chain` follows the entry with a `policy_flag` (`auto: true`) per action taken
 * (`blocked`, `redacted`, `flagged`), naming the categories; a custom redactor owns its flagging
 * (`autoFlag: false` unless it says otherwise).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Detect from "./Detect.js"

/**
 * One kind of thing found: its category, its group, how many times, and (from the detection
 * engine) its severity and the action taken. A finding without an action counts as redacted.
 *
 * @since 0.1.0
 * @category models
 */
export interface Finding {
  readonly category: string
  readonly group: string
  readonly count: number
  readonly severity?: Detect.Severity | undefined
  readonly action?: Detect.Action | undefined
  /**
   * how many of `count` were placeholders (example keys, `<your-key-here>`: see
   * `Detect.isPlaceholder`); absent when none were
   */
  readonly placeholders?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Redaction<A = unknown> {
  readonly value: A
  readonly findings: ReadonlyArray<Finding>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RedactorService {
  /** Scrub a JSON value (plain objects, arrays, strings, numbers, booleans, null). */
  readonly redact: <A>(value: A) => Redaction<A>
  /** whether `AuditLog` writes the automatic `policy_flag` after an entry this redactor changed */
  readonly autoFlag: boolean
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Redactor extends Context.Tag("acttrace/Redactor")<Redactor, RedactorService>() {}

/**
 * What replaces every match.
 *
 * @since 0.1.0
 * @category constants
 */
export const REPLACEMENT = Detect.REPLACEMENT

/**
 * A redactor from any function; it writes no automatic flags unless `autoFlag` is set.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (redact: <A>(value: A) => Redaction<A>, options: { readonly autoFlag?: boolean | undefined } = {}): RedactorService => ({
  redact,
  autoFlag: options.autoFlag ?? false
})

/**
 * The detection engine as a redactor: `detectors` (the built-ins by default), narrowed by
 * `policy.detectors` when given (`Detect.select`), under `policy`, with automatic flags. A name in
 * `policy.detectors` that is not known is thrown here, as `Detect.UnknownDetector`, when the
 * redactor is made (`layerPolicy` fails with it instead).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromPolicy = (policy: Detect.Policy, detectors: ReadonlyArray<Detect.Detector> = Detect.builtins): RedactorService =>
  fromSelected(policy, Either.getOrThrowWith(selectFor(policy, detectors), (e) => e))

/** The set a policy names, from `detectors`. */
const selectFor = (policy: Detect.Policy, detectors: ReadonlyArray<Detect.Detector>): Either.Either<ReadonlyArray<Detect.Detector>, Detect.UnknownDetector> =>
  policy.detectors === undefined ? Either.right(detectors) : Detect.select(detectors, policy.detectors)

/** The engine over a set already narrowed: the policy's spec is not applied again on each call. */
const fromSelected = (policy: Detect.Policy, selected: ReadonlyArray<Detect.Detector>): RedactorService => {
  const { detectors: _spec, ...rest } = policy
  return make((v) => {
    const out = Detect.redact(v, rest, selected)
    return out.findings.some((f) => f.placeholder === true) ? { value: out.value, findings: byAction(out.findings) } : out
  }, { autoFlag: true })
}

/**
 * The engine's rows with a category's real and placeholder rows of the same action joined into
 * one, which counts both and says how many were placeholders (its severity the real row's): the
 * automatic `policy_flag` of an action names each category once, with its whole count. Rows of
 * different actions (a real key blocked, an example key redacted) stay apart.
 */
const byAction = (findings: ReadonlyArray<Detect.Finding>): ReadonlyArray<Finding> => {
  const out: Array<Finding> = []
  const at = new Map<string, number>()
  for (const { placeholder, ...f } of findings) {
    const placeholders = placeholder === true ? f.count : 0
    const key = `${f.category}\u0000${f.action}`
    const i = at.get(key)
    if (i === undefined) {
      at.set(key, out.length)
      out.push(placeholders > 0 ? { ...f, placeholders } : f)
    } else {
      const prev = out[i]!
      out[i] = { ...prev, count: prev.count + f.count, placeholders: (prev.placeholders ?? 0) + placeholders }
    }
  }
  return out
}

/**
 * The library's redactor: the built-in detectors under `Detect.Policy.default` (secrets,
 * credentials, financial data, government ids and email addresses replaced by `<redacted>`; other
 * personal data flagged).
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultRedactor: RedactorService = fromPolicy(Detect.Policy.default)

/**
 * The detection engine under a policy, over the detectors in use (`Detect.Detectors`: the
 * built-ins unless `Detect.layer`/`Detect.layerAdd` provide others), narrowed by
 * `policy.detectors` when given (`Detect.select`: `["+uk_nino", "-ipv4"]`). A name there that is
 * not known fails the layer with `Detect.UnknownDetector`, which lists the known ones.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPolicy = (policy: Detect.Policy): Layer.Layer<Redactor, Detect.UnknownDetector> =>
  Layer.effect(
    Redactor,
    Effect.flatMap(Detect.Detectors, (detectors) => Effect.map(selectFor(policy, detectors), (selected) => fromSelected(policy, selected)))
  )

/**
 * The library's redactor: the engine under `Detect.Policy.default` over the detectors in use.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDefault: Layer.Layer<Redactor> = Layer.effect(
  Redactor,
  Effect.map(Detect.Detectors, (detectors) => fromSelected(Detect.Policy.default, detectors))
)

/**
 * Redacts nothing. For tests and for apps that scrub before calling the library.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNoop: Layer.Layer<Redactor> = Layer.succeed(Redactor, make((value) => ({ value, findings: [] })))

/**
 * A custom redactor. It owns its flagging: pass `autoFlag: true` to have `AuditLog` write the
 * automatic `policy_flag` from its findings.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  redact: <A>(value: A) => Redaction<A>,
  options: { readonly autoFlag?: boolean | undefined } = {}
): Layer.Layer<Redactor> => Layer.succeed(Redactor, make(redact, options))
