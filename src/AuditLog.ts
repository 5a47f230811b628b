/**
 * The audit log an app writes: decisions as scoped resources, records, human oversight and
 * policy flags, over the `Chain` (which also takes every automatically captured call).
 *
 * ```ts
 * const program = Effect.scoped(
 *   Effect.gen(function* () {
 *     const log = yield* AuditLog.AuditLog
 *     const d = yield* log.decision({ input: { applicant: "A-17" }, actor: "triage-agent" })
 *     yield* d.record({ score: 0.82 })
 *     yield* d.humanOversight({ reviewer: "j.doe", action: "approved", note: "checked income" })
 *   })
 * )
 * program.pipe(
 *   Effect.provide(AuditLog.layer({ system: "loan-triage", riskTier: "high" })),
 *   Effect.provide(Store.layerFile("audit.jsonl")),
 *   Effect.provide(Signer.layerHmacConfig()),
 *   Effect.provide(Redactor.layerDefault),
 *   Effect.provide(NodeFileSystem.layer)
 * )
 * ```
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import { resolve } from "node:path"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import * as Chain from "./Chain.js"
import type * as Controls from "./Controls.js"
import { VERSION } from "./internal/version.js"
import * as Pack from "./Pack.js"
import type * as Redactor from "./Redactor.js"
import * as Signer from "./Signer.js"
import * as Store from "./Store.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly system: string
  readonly riskTier: string | null
}

/**
 * The action of a policy flag (FORMAT A.6).
 *
 * @since 0.1.0
 * @category models
 */
export type FlagAction = "flagged" | "redacted" | "blocked"

/**
 * @since 0.1.0
 * @category models
 */
export type Severity = "info" | "warning" | "critical"

/**
 * @since 0.1.0
 * @category models
 */
export interface FlagOptions {
  readonly action?: FlagAction | undefined
  readonly severity?: Severity | undefined
  readonly data?: unknown
}

/**
 * What a decision's handle writes, each tagged with the decision's id.
 *
 * @since 0.1.0
 * @category models
 */
export interface Decision {
  readonly id: string
  /** a `decision_record` with the caller's fields */
  readonly record: (fields: Record<string, unknown>) => Effect.Effect<Chain.Chained, Chain.AppendError>
  readonly humanOversight: (review: {
    readonly reviewer: string
    readonly action: string
    readonly note?: string | undefined
  }) => Effect.Effect<Chain.Chained, Chain.AppendError>
  readonly flag: (reason: string, options?: FlagOptions) => Effect.Effect<Chain.Chained, Chain.AppendError>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AuditLogService {
  readonly system: string
  /**
   * A decision as a scoped resource: acquiring it appends `decision`; closing its scope appends
   * `decision_end` with the outcome of the scope's `Exit`. Inside it, every entry (automatically
   * captured ones included) carries its id.
   */
  readonly decision: (input: { readonly input: unknown; readonly actor: string }) => Effect.Effect<Decision, Chain.AppendError, Scope.Scope>
  /** Run `f` inside a decision of its own. */
  readonly withDecision: <A, E, R>(
    input: { readonly input: unknown; readonly actor: string },
    f: (d: Decision) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | Chain.AppendError, Exclude<R, Scope.Scope>>
  /** A `policy_flag`, tagged with the current decision (or `null` outside one). */
  readonly flag: (reason: string, options?: FlagOptions) => Effect.Effect<Chain.Chained, Chain.AppendError>
  /** Any entry, tagged with the current decision; for captured calls and custom types. */
  readonly append: (type: string, payload: Record<string, unknown>) => Effect.Effect<Chain.Chained, Chain.AppendError>
  /** the head hash and entry count, for capture out of band */
  readonly position: Effect.Effect<Chain.Position>
  /** Write an evidence pack of the log as it stands. */
  readonly export: (
    path: string,
    options?: { readonly framework?: Controls.Framework | null | undefined }
  ) => Effect.Effect<Pack.Exported, Pack.ExportError | Controls.UnknownFramework | Store.StoreError | Chain.ChainClosed>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AuditLog extends Context.Tag("acttrace/AuditLog")<AuditLog, AuditLogService>() {}

/**
 * The innermost open decision of the current fiber (`null` outside any).
 *
 * @since 0.1.0
 * @category decisions
 */
export const currentDecision: FiberRef.FiberRef<string | null> = FiberRef.unsafeMake<string | null>(null)

/**
 * The id of the innermost open decision, or `null`.
 *
 * @since 0.1.0
 * @category decisions
 */
export const currentDecisionId: Effect.Effect<string | null> = FiberRef.get(currentDecision)

const TRACE_ID = /^[0-9a-f]{32}$/
const SPAN_ID = /^[0-9a-f]{16}$/

/** The payload with the span's ids, when they have the W3C form FORMAT A.6 names. */
const correlate = (payload: Record<string, unknown>, span: Tracer.AnySpan): Record<string, unknown> =>
  TRACE_ID.test(span.traceId) && SPAN_ID.test(span.spanId) ? { ...payload, otel_trace_id: span.traceId, otel_span_id: span.spanId } : payload

/** A new decision id: 32 lowercase hex characters. */
const newId = (): string => randomBytes(16).toString("hex")

/** A short description of a failure, for `decision_end.error`. */
const describeCause = (cause: Cause.Cause<unknown>): string => {
  const e = Cause.squash(cause)
  let text: string
  if (e instanceof Error) text = e.message && e.name !== "Error" ? `${e.name}: ${e.message}` : e.message || e.name
  else if (e !== null && typeof e === "object" && "_tag" in e) {
    const m = (e as { message?: unknown }).message
    text = typeof m === "string" && m.length > 0 ? m : String((e as { _tag: unknown })._tag)
  } else text = String(e)
  const line = text.split("\n")[0] ?? ""
  return line.length > 200 ? line.slice(0, 199) + "…" : line
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<AuditLogService, Chain.LogMismatch | Chain.AppendError, Chain.Chain | Store.Store | Signer.Signer | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const chain = yield* Chain.Chain
    const store = yield* Store.Store
    const signer = yield* Signer.Signer
    const fsContext = yield* Effect.context<FileSystem.FileSystem>()

    const opened = chain.opened
    if (opened.entries === 0) {
      yield* chain.append("audit_open", {
        system: options.system,
        risk_tier: options.riskTier,
        format: "acttrace-chain/1",
        producer: `acttrace/${VERSION}`,
        ...Option.match(signer.identity, { onNone: () => ({}), onSome: (i) => ({ signing: { alg: i.alg, key_id: i.keyId } }) })
      })
    } else if (Option.isSome(opened.auditOpen)) {
      // resume: the same system (the chain has checked the signing key)
      const open = opened.auditOpen.value
      if (open["system"] !== options.system) {
        return yield* new Chain.LogMismatch({ store: store.name, field: "system", expected: options.system, found: String(open["system"]) })
      }
    }

    // Every entry the app writes goes through here: inside a tracing span it carries the span's
    // ids (FORMAT A.6), so a log entry and a trace can be matched up.
    const write = (type: string, payload: Record<string, unknown>) =>
      // (serviceOption, not currentSpan: outside a span the latter fails, and building that
      // failure cost a third of an append)
      Effect.flatMap(Effect.serviceOption(Tracer.ParentSpan), (span) =>
        chain.append(type, Option.isSome(span) ? correlate(payload, span.value) : payload, { flagRedactions: true })
      )

    const append = (type: string, payload: Record<string, unknown>) =>
      Effect.flatMap(currentDecisionId, (id) => write(type, { decision_id: id, ...payload }))

    const flagPayload = (id: string | null, reason: string, o: FlagOptions = {}) => ({
      decision_id: id,
      reason,
      action: (o.action ?? "flagged").toLowerCase(),
      severity: (o.severity ?? "warning").toLowerCase(),
      data: o.data === undefined ? null : o.data
    })

    const handle = (id: string): Decision => ({
      id,
      record: (fields) => write("decision_record", { ...fields, decision_id: id }),
      humanOversight: (r) =>
        write("human_oversight", { decision_id: id, reviewer: r.reviewer, action: r.action, note: r.note ?? null }),
      flag: (reason, o) => write("policy_flag", flagPayload(id, reason, o))
    })

    const decision: AuditLogService["decision"] = (input) =>
      Effect.gen(function* () {
        const id = newId()
        const parent = yield* currentDecisionId
        const started = yield* Clock.currentTimeMillis
        yield* Effect.acquireRelease(
          write("decision", { decision_id: id, input: input.input, actor: input.actor, ...(parent === null ? {} : { parent_decision_id: parent }) }),
          (_, exit) =>
            Effect.gen(function* () {
              const ended = yield* Clock.currentTimeMillis
              const outcome = Exit.isSuccess(exit) ? "success" : Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "failure"
              const payload: Record<string, unknown> = { decision_id: id, outcome, duration_ms: ended - started }
              if (Exit.isFailure(exit) && outcome === "failure") payload["error"] = describeCause(exit.cause)
              yield* write("decision_end", payload).pipe(
                // a finalizer cannot fail; the entry that could not be written is reported instead
                Effect.catchAll((e) => Effect.logError(`acttrace: decision_end of ${id} could not be written: ${e.message}`))
              )
            })
        )
        yield* Effect.locallyScoped(currentDecision, id)
        return handle(id)
      })

    return {
      system: options.system,
      decision,
      withDecision: (input, f) => Effect.scoped(Effect.flatMap(decision(input), f)),
      flag: (reason, o) => Effect.flatMap(currentDecisionId, (id) => write("policy_flag", flagPayload(id, reason, o))),
      append,
      position: chain.position,
      export: (path, o = {}) =>
        Effect.gen(function* () {
          const own = Option.getOrUndefined(store.path)
          if (own !== undefined && resolve(own) === resolve(path)) {
            return yield* new Pack.ExportError({ path, reason: "that is the live log itself; export to another path" })
          }
          const snap = yield* chain.snapshot
          const missing = yield* store.evicted
          return yield* Pack.write(Effect.succeed(snap.bytes), store.name, path, {
            framework: o.framework ?? null,
            signer,
            system: options.system,
            riskTier: options.riskTier,
            missing
          })
        }).pipe(Effect.provide(fsContext))
    } satisfies AuditLogService
  })

/**
 * The audit log over the `Chain` (built here too, from the `Store`, `Signer` and `Redactor`).
 * On a new log it writes `audit_open`; on an existing one it checks the system and signing key.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<
  AuditLog | Chain.Chain,
  Chain.LogMismatch | Chain.AppendError | Chain.LogInvalid,
  Store.Store | Signer.Signer | Redactor.Redactor | FileSystem.FileSystem
> => Layer.effect(AuditLog, make(options)).pipe(Layer.provideMerge(Chain.layer))
