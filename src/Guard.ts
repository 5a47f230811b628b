/**
 * The pre-flight guard: an interceptor that looks for secrets and personal data in what is about
 * to leave the process (a model request's messages, a tool call's arguments), with the detection
 * engine (`Detect`, over the detectors in use), and acts before anything is sent:
 *
 * - `block`: the call fails with `PolicyViolation` and never leaves; a `policy_flag` with
 *   `action: "blocked"` is written, and it is the only record of that call;
 * - `redact`: the request is rewritten with the findings resolved to `redact` (or `block`) removed, and a
 *   `policy_flag` with `action: "redacted"` is written before the call is made (and recorded);
 * - `flag`: a `policy_flag` with `action: "flagged"` is written and the call goes as it is;
 * - `allow`: nothing is written.
 *
 * Each finding's action is resolved category → group → default, and the call gets the strictest
 * (`allow` < `flag` < `redact` < `block`). A placeholder or example credential (`Detect.isPlaceholder`:
 * `AKIAIOSFODNN7EXAMPLE`, `<your-key-here>`, `ghp_xxxx…`) is a finding of its own, marked
 * `placeholder: true`, whose action is capped at `redact` unless `placeholders` says otherwise: it
 * is removed from the call, which goes, instead of being blocked. Flags name categories, groups and counts, never values.
 * If the flag cannot be written, the call fails with that `AppendError` and is not sent: a call
 * the guard acted on is never made without its record.
 * The guard is separate from the recorder: what the chain keeps is redacted anyway.
 *
 * Arguments are read as the client would send them: a `URL` as its text, `Headers`,
 * `URLSearchParams`, `FormData` and `Map` as their name/value pairs, a `Set` as a list, an error
 * as its name, message, stack and cause, an object with `toJSON` as what it returns, any other
 * instance as its own properties. A finding to redact inside such a value blocks the call instead:
 * the guard cannot give the tool back the object it expects, rewritten.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as AuditLog from "./AuditLog.js"
import * as Capture from "./Capture.js"
import type * as Chain from "./Chain.js"
import * as Detect from "./Detect.js"
import { readable } from "./internal/readable.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Action = Detect.Action

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** for findings whose category and group are not listed (default `redact`) */
  readonly action?: Action | undefined
  /** by detector group (default: `secret` and `credential` blocked) */
  readonly groups?: Readonly<Record<string, Action>> | undefined
  /** by category, before the group */
  readonly categories?: Readonly<Record<string, Action>> | undefined
  /**
   * the most a placeholder finding resolves to (default `redact`: removed, never blocking);
   * `block` treats placeholders like real values (`Detect.Policy.placeholders`)
   */
  readonly placeholders?: Action | undefined
  /**
   * which detectors run, from the set in use: `["+uk_nino", "-ipv4"]` (`Detect.select`). A name
   * that is not known fails each call with `Detect.UnknownDetector`, and the call is not sent.
   */
  readonly detectors?: ReadonlyArray<string> | string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface GuardFinding {
  readonly category: string
  readonly group: string
  readonly count: number
  readonly action: Action
  /** `true` on the row of a category's placeholders (`Detect.Finding`) */
  readonly placeholder?: true | undefined
}

/**
 * A call the guard refused. It carries what was found (categories, groups, counts), never the
 * values.
 *
 * @since 0.1.0
 * @category errors
 */
export class PolicyViolation extends Schema.TaggedError<PolicyViolation>()("PolicyViolation", {
  kind: Schema.Literal("llm", "tool"),
  provider: Schema.NullOr(Schema.String),
  model: Schema.NullOr(Schema.String),
  tool: Schema.NullOr(Schema.String),
  findings: Schema.Array(
    Schema.Struct({
      category: Schema.String,
      group: Schema.String,
      count: Schema.Number,
      action: Schema.Literal("allow", "flag", "redact", "block"),
      placeholder: Schema.optional(Schema.Literal(true))
    })
  )
}) {
  override get message(): string {
    const what = this.kind === "tool" ? `tool call ${this.tool}` : `${this.provider ?? "model"} call${this.model === null ? "" : ` to ${this.model}`}`
    const found = this.findings.filter((f) => f.action === "block").map((f) => `${f.category} ×${f.count}${f.placeholder === true ? " (placeholder)" : ""}`)
    return `blocked the ${what} before it was sent: ${found.join(", ")}`
  }
}

/** how many values the findings take out of a call (those resolved to `redact` or `block`) */
const removed = (findings: ReadonlyArray<Detect.Finding>): number =>
  findings.reduce((n, f) => (f.action === "redact" || f.action === "block" ? n + f.count : n), 0)

const DEFAULT_GROUPS: Readonly<Record<string, Action>> = { secret: "block", credential: "block" }

/**
 * The guard as an interceptor, for `Capture.layerInterceptors` (usually first).
 *
 * @since 0.1.0
 * @category constructors
 */
export const interceptor = (options: Options = {}): Capture.Interceptor<PolicyViolation | Chain.AppendError | Detect.UnknownDetector> => {
  const policy: Detect.Policy = {
    name: "guard",
    default: options.action ?? "redact",
    groups: options.groups ?? DEFAULT_GROUPS,
    categories: options.categories ?? {},
    placeholders: options.placeholders
  }
  return (call) =>
    Effect.gen(function* () {
      // the set in use, narrowed by the options (remembered per set and spec by `select`)
      const inUse = yield* Detect.Detectors
      const detectors = options.detectors === undefined ? inUse : yield* Detect.select(inUse, options.detectors)
      const subject = call.kind === "llm" ? { system: call.system, messages: call.messages } : { arguments: call.arguments }
      // judged as the client would send it: a secret in `Headers`, a `URL`, a `Map` or an object
      // with `toJSON` is a secret (read as nothing, it went out)
      const read = readable(subject)
      const scrubbed = Detect.redact(read.view, policy, detectors)
      const findings: Array<GuardFinding> = scrubbed.findings.map((f) => ({
        category: f.category,
        group: f.group,
        count: f.count,
        action: f.action,
        ...(f.placeholder === true ? { placeholder: true as const } : {})
      }))
      const action = Detect.verdict(scrubbed.findings)
      if (action === "allow") return call
      const data = { kind: call.kind, provider: call.provider, model: call.model, tool: call.tool, findings }
      const log = yield* AuditLog.AuditLog
      if (action === "flag") {
        yield* log.flag("guard: sensitive data in an outbound call", { action: "flagged", severity: "warning", data })
        return call
      }
      // a call whose findings are not all in its plain parts cannot be rewritten as it is (a
      // `Headers` or a `URL` rebuilt would not be the object the tool expects): it is blocked
      const plain = action === "redact" && read.converted ? Detect.redact(subject, policy, detectors) : scrubbed
      if (action === "redact" && removed(plain.findings) === removed(scrubbed.findings)) {
        yield* log.flag("guard: sensitive data redacted from an outbound call", { action: "redacted", severity: "info", data })
        const clean = plain.value as Record<string, unknown>
        return call.kind === "llm" ? { ...call, system: clean["system"], messages: clean["messages"] } : { ...call, arguments: clean["arguments"] }
      }
      const reason = action === "redact" ? { reason: "sensitive data inside a value the guard cannot rewrite (Headers, URL, Map, an instance)" } : {}
      yield* log.flag("guard: outbound call blocked", { action: "blocked", severity: "critical", data: { ...data, ...reason } })
      return yield* new PolicyViolation({ kind: call.kind, provider: call.provider, model: call.model, tool: call.tool, findings })
    })
}

/**
 * The guard as the only interceptor. To run it with others, pass `interceptor(options)` to
 * `Capture.layerInterceptors` in the order wanted.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Capture.Interceptors> => Capture.layerInterceptors(interceptor(options))
