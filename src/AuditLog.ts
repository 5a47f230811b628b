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
 * In an app's own tests, `AuditLog.layerTest()` gives a memory log (unsigned, unredacted, with a
 * capture hub of its own) and `AuditLog.entries` reads back what it holds.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as Canonical from "./Canonical.js"
import * as Chain from "./Chain.js"
import type * as Controls from "./Controls.js"
import type * as Entry from "./Entry.js"
// the capture machinery, not `Capture`: that module's interceptor types name this one
import * as Capture from "./internal/capture.js"
import * as internalDecision from "./internal/decision.js"
import { describeError } from "./internal/providers.js"
import { VERSION } from "./internal/version.js"
import * as Pack from "./Pack.js"
import * as Pricing from "./Pricing.js"
import * as Redactor from "./Redactor.js"
import * as Signer from "./Signer.js"
import * as Store from "./Store.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly system: string
  readonly riskTier: string | null
  /**
   * Tag promise-based calls (an SDK called through `Effect.promise`/`Effect.tryPromise`) with
   * their decision (default `true`). It needs Node's async context tracking, switched on with the
   * first decision; on Node 20 that costs every promise of the process something (about 10 % of a
   * loopback SDK call, measured). Apps whose calls are all Effect-native (`CaptureAi`) or tagged
   * explicitly (the decision header, `Capture.runInDecision`) can turn it off.
   */
  readonly tagPromiseCalls?: boolean | undefined
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
 * One piece of context considered for a model call: an id (a document, a message, a tool
 * result), and whatever the app wants to say of it (tokens, source, why).
 *
 * @since 0.1.0
 * @category models
 */
export type ContextItem = string | { readonly id: string; readonly tokens?: number | undefined; readonly reason?: string | undefined; readonly [key: string]: unknown }

/**
 * How the context of a model call was put together (a `context_assembly` entry): the model, the
 * token budget and what was used of it, and what was kept, dropped, truncated and summarized.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContextAssembly {
  readonly model: string
  readonly budget: number
  readonly used: number
  readonly kept?: ReadonlyArray<ContextItem> | undefined
  readonly dropped?: ReadonlyArray<ContextItem> | undefined
  readonly truncated?: ReadonlyArray<ContextItem> | undefined
  readonly summarized?: ReadonlyArray<ContextItem> | undefined
}

/**
 * What a decision is opened with: its input (redacted like every payload) and who acts.
 *
 * @since 0.1.0
 * @category models
 */
export interface DecisionInput {
  readonly input: unknown
  readonly actor: string
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
  readonly decision: (input: DecisionInput) => Effect.Effect<Decision, Chain.AppendError, Scope.Scope>
  /** Run `f` inside a decision of its own. */
  readonly withDecision: <A, E, R>(input: DecisionInput, f: (d: Decision) => Effect.Effect<A, E, R>) => Effect.Effect<A, E | Chain.AppendError, Exclude<R, Scope.Scope>>
  /**
   * A `policy_flag`, tagged with the current decision (or `null` outside one). With several logs
   * open, "the current decision" of a log is its own innermost open one.
   */
  readonly flag: (reason: string, options?: FlagOptions) => Effect.Effect<Chain.Chained, Chain.AppendError>
  /**
   * Any entry, tagged with the current decision; for captured calls and custom types. The types
   * only the library writes (`checkpoint`, `key_rotation`, and `audit_open` after the first entry)
   * are refused with `Chain.ReservedType`, and nothing is written.
   */
  readonly append: (type: string, payload: Record<string, unknown>) => Effect.Effect<Chain.Chained, Chain.AppendError>
  /** A `context_assembly`, tagged with the current decision. */
  readonly contextAssembly: (context: ContextAssembly) => Effect.Effect<Chain.Chained, Chain.AppendError>
  /** the head hash and entry count, for capture out of band */
  readonly position: Effect.Effect<Chain.Position>
  /**
   * The entries the log holds (a bounded memory store: the ones it kept), parsed, in order; the
   * calls captured for the log so far are written first. For tests and inspection. Numbers are
   * JavaScript numbers, except an integer no double holds exactly (one the app wrote as a
   * `bigint`), which is a `bigint`: nothing read back differs from what the chain holds.
   */
  readonly entries: Effect.Effect<ReadonlyArray<Entry.Entry>, Store.StoreError | Chain.ChainClosed>
  /** the capture hub this log consumes */
  readonly capture: Capture.Hub
  /**
   * Queue a captured call made for this log (as `CaptureAi` does for a model built over it): it is
   * written in the log whose decision it was made in, when that is another log on the hub (open or
   * ended; nowhere once that log closed), else here.
   */
  readonly emit: (event: Capture.Captured) => void
  /** whether any interceptors are installed (`Capture.Interceptors` where the log was built) */
  readonly intercepting: boolean
  /** Run the log's interceptors over a call, in the call's decision. */
  readonly intercept: (call: Capture.Outbound) => Effect.Effect<Capture.Outbound, unknown>
  /**
   * Write an evidence pack of the log as it stands. The pack is never written over the log file,
   * its lock or another file its store keeps beside it (`ExportError`); it takes the log file's
   * mode (a memory log's pack: `0o600`) unless `mode` is given. Writing a file, it asks for the
   * `FileSystem` (the log itself needs none: a memory log is built without one). With a
   * checkpoint key (`Signer.layerEd25519`) it first appends a `checkpoint` entry (when anything
   * was added since the last one), and the pack's `_meta.checkpoint` is a signed note over all its
   * entries and its seal digest (`Pack`).
   */
  readonly export: (
    path: string,
    options?: { readonly framework?: Controls.Framework | null | undefined; readonly mode?: number | undefined }
  ) => Effect.Effect<Pack.Exported, Pack.ExportError | Controls.UnknownFramework | Store.StoreError | Chain.ChainClosed, FileSystem.FileSystem>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AuditLog extends Context.Tag("acttrace/AuditLog")<AuditLog, AuditLogService>() {}

/**
 * The innermost open decision of the current fiber (`null` outside any), of whichever log holds
 * it. (A log tags its own entries with its own innermost decision: with two logs open, a decision
 * of one can be opened inside a decision of the other.)
 *
 * @since 0.1.0
 * @category decisions
 */
export const currentDecision: FiberRef.FiberRef<string | null> = internalDecision.currentDecision

/**
 * The id of the innermost open decision, or `null`.
 *
 * @since 0.1.0
 * @category decisions
 */
export const currentDecisionId: Effect.Effect<string | null> = FiberRef.get(currentDecision)

/** The payload with the span's ids (FORMAT A.6), when they have the W3C form. */
const correlate = (payload: Record<string, unknown>, span: Tracer.AnySpan): Record<string, unknown> => {
  const c = Capture.correlationOf(span)
  return c === null ? payload : withMembers(payload, spanMembers(c))
}

/** The members that carry a span's ids, in canonical order. */
const spanMembers = (c: Capture.Correlation): ReadonlyArray<readonly [string, unknown]> => [
  ["otel_span_id", c.spanId],
  ["otel_trace_id", c.traceId]
]

/**
 * `payload` with members added (they win over a member of the same name), merged in so that the
 * result is in canonical order whenever `payload` is (captured payloads are built so): the
 * canonical encoder then writes it natively (`Canonical.encode`'s fast path). `added` is in
 * canonical order.
 */
const withMembers = (payload: Record<string, unknown>, added: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  // (a member named `__proto__` is defined, not assigned: assigning would set the prototype)
  const put = (k: string, v: unknown) =>
    k === "__proto__" ? Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true }) : (out[k] = v)
  let i = 0
  for (const k of Object.keys(payload)) {
    for (; i < added.length && added[i]![0] < k; i++) put(added[i]![0], added[i]![1])
    if (i < added.length && added[i]![0] === k) continue
    put(k, payload[k])
  }
  for (; i < added.length; i++) put(added[i]![0], added[i]![1])
  return out
}

/**
 * A parsed value as JavaScript: a number as a `number` when a double holds it exactly, else (an
 * integer the app wrote as a `bigint`) as a `bigint`, so that nothing read back differs from what
 * the chain holds.
 */
const plain = (v: Canonical.Json): unknown => {
  if (v === null || typeof v !== "object") return v
  if (v instanceof Canonical.Num) {
    const n = v.toNumber()
    return v.isInteger && !Number.isSafeInteger(n) && BigInt(n) !== v.toBigInt() ? v.toBigInt() : n
  }
  if (Array.isArray(v)) return v.map(plain)
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v)) {
    const x = plain((v as Record<string, Canonical.Json>)[k]!)
    // (a member named `__proto__` is defined, not assigned: assigning would set the prototype)
    if (k === "__proto__") Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true })
    else out[k] = x
  }
  return out
}

/** An integer of 16 digits or more: a number `JSON.parse` may not read exactly. */
const LONG_INTEGER = /\d{16}/

/** The entries in a store's bytes, parsed (lines written by the chain: one JSON object each). */
const parseEntries = <E>(bytes: Stream.Stream<Uint8Array, E>): Effect.Effect<ReadonlyArray<Entry.Entry>, E> =>
  Effect.map(Stream.runCollect(bytes), (chunks) => {
    const text = Buffer.concat(Chunk.toArray(chunks)).toString("utf8")
    const out: Array<Entry.Entry> = []
    for (const line of text.split("\n")) {
      if (line.length === 0) continue
      // a line with a long integer is read with its lexemes (JSON.parse rounds one beyond 2^53)
      const read = LONG_INTEGER.test(line) ? Canonical.parse(line) : undefined
      const e = (read !== undefined && read._tag === "Right" ? plain(read.right) : JSON.parse(line)) as Entry.Entry
      out.push(e.sig === undefined ? { ...e, sig: "" } : e)
    }
    return out
  })

/** A new decision id: 32 lowercase hex characters. */
const newId = (): string => randomBytes(16).toString("hex")

/** A short description of a failure, for `decision_end.error`. */
const describeCause = (cause: Cause.Cause<unknown>): string => describeError(Cause.squash(cause))

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<AuditLogService, Chain.LogMismatch | Chain.AppendError, Chain.Chain | Store.Store | Signer.Signer | Redactor.Redactor | Scope.Scope> =>
  Effect.gen(function* () {
    const chain = yield* Chain.Chain
    const store = yield* Store.Store
    const signer = yield* Signer.Signer
    const redactor = yield* Redactor.Redactor
    const hub = yield* Capture.CaptureHub
    const interceptors = yield* Capture.Interceptors
    const pricing = yield* Pricing.Pricing
    // the chain stamps `ts` with this clock, and the calls routed here their `started_at`
    const clock = yield* Effect.clock

    const opened = chain.opened
    if (opened.entries === 0) {
      yield* chain.append("audit_open", {
        system: options.system,
        risk_tier: options.riskTier,
        format: "acttrace-chain/1",
        producer: `acttrace/${VERSION}`,
        ...Option.match(signer.identity, { onNone: () => ({}), onSome: (i) => ({ signing: { alg: i.alg, key_id: i.keyId } }) }),
        // the Ed25519 key that signs the log's checkpoints, and their origin (FORMAT B.2)
        ...Option.match(signer.checkpoints, {
          onNone: () => ({}),
          onSome: (k) => ({
            checkpoints: {
              alg: k.alg,
              key: k.verifierKey,
              origin: Chain.checkpointOrigin(Option.some({ system: options.system }), signer.checkpoints)
            }
          })
        })
      })
    } else if (Option.isSome(opened.auditOpen)) {
      // resume: the same system (the chain has checked the signing key)
      const open = opened.auditOpen.value
      if (open["system"] !== options.system) {
        return yield* new Chain.LogMismatch({ store: store.name, field: "system", expected: options.system, found: String(open["system"]) })
      }
    }
    // a lock the store took over to open the log is on the record: the last writer died holding
    // it (info), or it was unreadable (warning: what wrote it is unknown)
    const taken = store.lockTakenOver
    if (taken !== undefined) {
      const holder = Option.getOrNull(taken.holder)
      yield* chain.append("policy_flag", {
        decision_id: null,
        reason: taken.kind === "stale"
          ? `lock taken over: ${taken.lock} named pid ${holder?.pid} on ${holder?.host}, which had ended without releasing it`
          : `lock taken over: ${taken.lock} held no readable lock (${taken.bytes} bytes, ${Math.round(taken.ageMillis / 1000)} s old)`,
        action: "flagged",
        severity: taken.kind === "stale" ? "info" : "warning",
        data: { lock: taken.lock, kind: taken.kind, bytes: taken.bytes, age_ms: Math.round(taken.ageMillis), ...(holder ?? {}) },
        auto: true
      })
    }

    // the log's subscription to its hub (taken once `audit_open` is written: no call can precede it)
    let subscription: Capture.Subscription | undefined
    // the log as its decisions' frames name it (the subscription's, once taken; decisions are
    // opened only after that)
    let self: object = {}

    // The decision an entry of this log is tagged with: its own innermost open decision. With two
    // logs open, a decision of the other one may be opened inside one of ours; its id means
    // nothing in this log.
    const ownDecisionId: Effect.Effect<string | null> = Effect.withFiberRuntime((fiber) =>
      Effect.succeed(internalDecision.decisionOf(self, fiber.getFiberRef(currentDecision), fiber.getFiberRef(internalDecision.currentFrame)))
    )

    // Every entry the app writes goes through here: inside a tracing span it carries the span's
    // ids (FORMAT A.6), so a log entry and a trace can be matched up. The calls captured for
    // this log that completed before it are written first, so the chain shows a decision's events
    // in the order they happened (at once when they can be written synchronously: a memory
    // store, a file store with `blocking: true`; else by waiting for the consumer).
    const write = (type: string, payload: Record<string, unknown>) =>
      // (serviceOption, not currentSpan: outside a span the latter fails, and building that
      // failure cost a third of an append)
      Effect.flatMap(Effect.serviceOption(Tracer.ParentSpan), (span) => {
        const appended = chain.append(type, Option.isSome(span) ? correlate(payload, span.value) : payload, { flagRedactions: true })
        return subscription === undefined || subscription.caughtUp() ? appended : Effect.zipRight(subscription.flush, appended)
      })

    const append = (type: string, payload: Record<string, unknown>) =>
      Effect.flatMap(ownDecisionId, (id) => write(type, { decision_id: id, ...payload }))

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
        // the decision of this log it is opened in
        const parent = yield* ownDecisionId
        const outer = yield* FiberRef.get(internalDecision.currentFrame)
        const started = yield* Clock.currentTimeMillis
        yield* Effect.acquireRelease(
          Effect.tap(
            write("decision", { decision_id: id, input: input.input, actor: input.actor, ...(parent === null ? {} : { parent_decision_id: parent }) }),
            // calls made in this decision are this log's, whichever logs are open on its hub
            () => Effect.sync(() => subscription?.hold(id))
          ),
          (_, exit) =>
            Effect.gen(function* () {
              // the calls captured in the decision come before its end
              if (subscription !== undefined) yield* subscription.flush
              const ended = yield* Clock.currentTimeMillis
              const outcome = Exit.isSuccess(exit) ? "success" : Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "failure"
              const payload: Record<string, unknown> = { decision_id: id, outcome, duration_ms: ended - started }
              if (Exit.isFailure(exit) && outcome === "failure") payload["error"] = describeCause(exit.cause)
              yield* write("decision_end", payload).pipe(
                // a finalizer cannot fail; the entry that could not be written is reported instead
                Effect.catchAll((e) => Effect.logError(`acttrace: decision_end of ${id} could not be written: ${e.message}`))
              )
              // a call started in it from now on (a fiber or a promise that outlived it, a late
              // header, `runInDecision`) is still this log's: the hub remembers whose it was
              subscription?.release(id)
            })
        )
        if (options.tagPromiseCalls !== false) Capture.trackOrigin()
        yield* Effect.locallyScoped(currentDecision, id)
        yield* Effect.locallyScoped(internalDecision.currentFrame, { id, log: self, outer })
        // resumed, the fiber is known to the supervisor that tags promise-based calls with it
        // (Capture.layerOrigin)
        yield* Effect.yieldNow()
        return handle(id)
      })

    const service: AuditLogService = {
      system: options.system,
      decision,
      withDecision: (input, f) => Effect.scoped(Effect.flatMap(decision(input), f)),
      flag: (reason, o) => Effect.flatMap(ownDecisionId, (id) => write("policy_flag", flagPayload(id, reason, o))),
      append,
      contextAssembly: (c) =>
        append("context_assembly", {
          model: c.model,
          budget: c.budget,
          used: c.used,
          decisions: { kept: c.kept ?? [], dropped: c.dropped ?? [], truncated: c.truncated ?? [], summarized: c.summarized ?? [] }
        }),
      position: chain.position,
      entries: Effect.suspend(() => {
        const read = Effect.flatMap(chain.snapshot, (snap) => parseEntries(snap.bytes))
        return subscription === undefined ? read : Effect.zipRight(subscription.flush, read)
      }),
      capture: hub,
      emit: (event) => (subscription === undefined ? hub.emit(event) : subscription.emit(event)),
      intercepting: interceptors.length > 0,
      intercept: (call) =>
        // an interceptor requires the log and its redactor (`Capture.Interceptor`): given here
        Capture.runInterceptors(interceptors, call).pipe(Effect.provideService(AuditLog, service), Effect.provideService(Redactor.Redactor, redactor)),
      export: (path, o = {}) =>
        Effect.gen(function* () {
          // given the log file, Pack.write refuses a target that is the log or one of its
          // store's files before anything is read (Pack.checkTarget), and takes the log's mode
          const own = Option.getOrUndefined(store.path)
          // with a checkpoint key, the log's last entry is a checkpoint first (when anything was
          // added since the last one): the log itself then holds a signed note over all of it
          // (a checkpoint payload is plain data: it always encodes)
          // (the chain's own checkpoint is never a reserved type a caller wrote; and a log that
          // opened is its own: a shared chain refuses another writer's log as LogMismatch only
          // on the audit_open this log's opening waits for)
          yield* chain.checkpoint.pipe(Effect.catchTags({ CanonicalError: Effect.die, ReservedType: Effect.die, LogMismatch: Effect.die }))
          const snap = yield* chain.snapshot
          const missing = yield* store.evicted
          return yield* Pack.write(Effect.succeed(snap.bytes), store.name, path, {
            framework: o.framework ?? null,
            signer,
            system: options.system,
            riskTier: options.riskTier,
            missing,
            log: own,
            mode: o.mode
          })
        })
    }

    // captured calls: written in the order captured, each tagged with the decision and span it
    // was made in; a model call is priced here
    const entryOf = (event: Capture.Captured, unpriced: Array<Record<string, unknown>>) => {
      const p = event.payload
      // in canonical order, as `withMembers` wants them
      const added: Array<readonly [string, unknown]> = []
      if (event.type === "llm_call" && !("cost" in p)) {
        // (a payload emitted by hand is any record: only a provider and model that are text can
        // be priced)
        const provider = p["provider"]
        const model = p["model"]
        const q =
          (provider === null || typeof provider === "string") && (model === null || typeof model === "string")
            ? pricing.quote(provider, model, p["usage"] as Pricing.Usage | null)
            : { cost: null, known: true }
        added.push(["cost", q.cost])
        if (!q.known && p["model"] !== null) unpriced.push(p)
      }
      if (!("decision_id" in p)) added.push(["decision_id", event.decisionId])
      if (event.span !== null) added.push(...spanMembers(event.span))
      return { type: event.type, payload: withMembers(p, added) }
    }
    // an unknown model: one warning per model (Pricing keeps count)
    // (a pricing service of the app's own that dies here costs the warning, never the entries)
    const warnUnpriced = (unpriced: ReadonlyArray<Record<string, unknown>>) =>
      Effect.forEach(unpriced, (p) => pricing.cost(p["provider"] as string | null, p["model"] as string | null, null), { discard: true }).pipe(
        Effect.catchAllDefect((d) => Effect.logError(`acttrace: the pricing service failed warning of an unpriced model: ${describeError(d)}`))
      )
    // Entries of a batch. An event whose entry cannot be built (a payload emitted by hand that
    // is no record, a pricing table that throws) is left out and said, with its error: it must
    // not stop the batch, nor the consumer, on which every entry the app writes waits.
    type Unbuilt = { readonly index: number; readonly message: string }
    const entriesOf = (events: ReadonlyArray<Capture.Captured>, unpriced: Array<Record<string, unknown>>, unbuilt: Array<Unbuilt>) => {
      const out: Array<{ type: string; payload: Record<string, unknown> }> = []
      for (let i = 0; i < events.length; i++) {
        try {
          out.push(entryOf(events[i]!, unpriced))
        } catch (error) {
          unbuilt.push({ index: i, message: `acttrace: a captured ${String(events[i]!.type)} could not be written: ${describeError(error)}` })
        }
      }
      return out
    }
    const writeCaptured = (events: ReadonlyArray<Capture.Captured>) =>
      Effect.suspend(() => {
        const unpriced: Array<Record<string, unknown>> = []
        const unbuilt: Array<Unbuilt> = []
        const entries = entriesOf(events, unpriced, unbuilt)
        let written: Effect.Effect<ReadonlyArray<Exit.Exit<unknown, Chain.AppendError>>> = chain.appendAll(entries, { flagRedactions: true })
        if (unbuilt.length > 0) {
          // one exit per event, in the events' order: one left out counts as done (said, not
          // retried)
          const left = new Set(unbuilt.map((u) => u.index))
          written = Effect.zipRight(
            Effect.forEach(unbuilt, (u) => Effect.logError(u.message), { discard: true }),
            Effect.map(written, (exits) => {
              const all: Array<Exit.Exit<unknown, Chain.AppendError>> = []
              let next = 0
              for (let i = 0; i < events.length; i++) all.push(left.has(i) ? Exit.void : exits[next++]!)
              return all
            })
          )
        }
        return unpriced.length === 0 ? written : Effect.zipRight(warnUnpriced(unpriced), written)
      })
    // interceptors for calls made outside Effect, and the warnings of a batch written outside
    // Effect, run on this log's runtime
    const runtime = yield* Effect.runtime<never>()
    const writeCapturedNow = (events: ReadonlyArray<Capture.Captured>) => {
      const unpriced: Array<Record<string, unknown>> = []
      const unbuilt: Array<Unbuilt> = []
      const entries = entriesOf(events, unpriced, unbuilt)
      // (the consumer fiber writes a batch with an entry that cannot be built, and says so)
      if (unbuilt.length > 0) return undefined
      const exits = chain.appendAllNow(entries, { flagRedactions: true })
      if (exits !== undefined && unpriced.length > 0) Runtime.runFork(runtime)(warnUnpriced(unpriced))
      return exits
    }
    const runner = interceptors.length === 0 ? null : (call: Capture.Outbound) => Runtime.runPromiseExit(runtime)(service.intercept(call))
    subscription = yield* Capture.subscribe(hub, {
      write: writeCaptured,
      writeNow: writeCapturedNow,
      runner,
      now: () => clock.unsafeCurrentTimeNanos()
    })
    self = subscription.owner
    return service
  })

/**
 * The audit log over the `Chain` (built here too, from the `Store`, `Signer` and `Redactor`).
 * On a new log it writes `audit_open` (naming the checkpoint key and origin when the signer has
 * one); on an existing one the chain checks the system, the signing key and the checkpoint key,
 * and writes a key rotation when the signer rotates away from the log's key (`Chain`). On a
 * shared store (`Store.layerSql`) several logs may open one empty chain at once: the first
 * `audit_open` to commit opens it, and each other log is answered with that entry when it states
 * the same system, risk tier and keys (else `Chain.LogMismatch`, and that log writes nothing).
 * It consumes the capture hub (`Capture.CaptureHub`, the default hub unless a layer names
 * another) for as long as it is open, and installs the supervisor that lets promise-based calls
 * find their decision (`Capture.layerOrigin`).
 *
 * Several logs may be open at once in one process, on the default hub or not: each captured call
 * is written in the log of the decision it was made in (see `Capture`). The layer needs no
 * `FileSystem` (a memory log has none); `export` asks for one when it writes its file.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<AuditLog | Chain.Chain, Chain.LogMismatch | Chain.AppendError | Chain.LogInvalid, Store.Store | Signer.Signer | Redactor.Redactor> => {
  // the chain checks the system when it opens, before it writes anything (a checkpoint key
  // rotation included)
  const chain = Chain.layer.pipe(Layer.provide(Layer.succeedContext(Context.make(Chain.OpenAs, { system: options.system }))))
  const log = Layer.scoped(AuditLog, make(options)).pipe(Layer.provideMerge(chain))
  return options.tagPromiseCalls === false ? log : Layer.merge(log, Capture.layerOrigin)
}

/**
 * A `policy_flag` in the current decision, written by the log in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const flag = (reason: string, options?: FlagOptions): Effect.Effect<Chain.Chained, Chain.AppendError, AuditLog> =>
  Effect.flatMap(AuditLog, (log) => log.flag(reason, options))

/**
 * Any entry in the current decision, written by the log in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const append = (type: string, payload: Record<string, unknown>): Effect.Effect<Chain.Chained, Chain.AppendError, AuditLog> =>
  Effect.flatMap(AuditLog, (log) => log.append(type, payload))

/**
 * A `context_assembly` in the current decision, written by the log in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const contextAssembly = (context: ContextAssembly): Effect.Effect<Chain.Chained, Chain.AppendError, AuditLog> =>
  Effect.flatMap(AuditLog, (log) => log.contextAssembly(context))

/**
 * Open a decision in the log in context, as a scoped resource (`AuditLogService.decision`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const decision = (input: DecisionInput): Effect.Effect<Decision, Chain.AppendError, AuditLog | Scope.Scope> =>
  Effect.flatMap(AuditLog, (log) => log.decision(input))

/**
 * Run an effect inside a decision of its own, in the log in context: with the decision's handle,
 * `withDecision(input, (d) => …)`, as the service's `withDecision`; or wrapping an effect,
 * data-first `withDecision(effect, input)` or in a pipe, `effect.pipe(withDecision(input))`. The
 * decision ends with the effect, its outcome the effect's `Exit`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const withDecision: {
  <A, E, R>(input: DecisionInput, f: (d: Decision) => Effect.Effect<A, E, R>): Effect.Effect<A, E | Chain.AppendError, Exclude<R, Scope.Scope> | AuditLog>
  (input: DecisionInput): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Chain.AppendError, Exclude<R, Scope.Scope> | AuditLog>
  <A, E, R>(self: Effect.Effect<A, E, R>, input: DecisionInput): Effect.Effect<A, E | Chain.AppendError, Exclude<R, Scope.Scope> | AuditLog>
} = function (this: unknown): unknown {
  const run = <A, E, R>(input: DecisionInput, f: (d: Decision) => Effect.Effect<A, E, R>) =>
    Effect.flatMap(AuditLog, (log) => log.withDecision(input, f))
  // (an input is never an Effect: the data-first form is told apart by its first argument)
  if (arguments.length === 1) {
    const input = arguments[0] as DecisionInput
    return <A, E, R>(self: Effect.Effect<A, E, R>) => run(input, () => self)
  }
  if (Effect.isEffect(arguments[0])) {
    const self = arguments[0] as Effect.Effect<unknown, unknown, unknown>
    return run(arguments[1] as DecisionInput, () => self)
  }
  return run(arguments[0] as DecisionInput, arguments[1] as (d: Decision) => Effect.Effect<unknown, unknown, unknown>)
} as never

/**
 * The entries of the log in context, parsed, in order, after the calls captured for it so far
 * are written (`AuditLogService.entries`): what a test asserts on.
 *
 * @since 0.1.0
 * @category accessors
 */
export const entries: Effect.Effect<ReadonlyArray<Entry.Entry>, Store.StoreError | Chain.ChainClosed, AuditLog> = Effect.flatMap(
  AuditLog,
  (log) => log.entries
)

/**
 * Options of `layerTest`: the log's `system` (default `"test"`) and `riskTier` (default `null`),
 * and layers to use instead of the defaults.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestOptions<ES = never, RS = never, EG = never, RG = never, ER = never, RR = never> {
  readonly system?: string | undefined
  readonly riskTier?: string | null | undefined
  /** the store (default: `Store.layerMemory()`, a fresh one for each build of the layer) */
  readonly store?: Layer.Layer<Store.Store, ES, RS> | undefined
  /** the signer (default: `Signer.layerNone`, an unsigned log) */
  readonly signer?: Layer.Layer<Signer.Signer, EG, RG> | undefined
  /** the redactor (default: `Redactor.layerNoop`, payloads as written) */
  readonly redactor?: Layer.Layer<Redactor.Redactor, ER, RR> | undefined
  /**
   * the capture hub (default: a new one for each build of the layer, so a test captures only the
   * calls made through `log.capture.fetch` / `log.capture.tool`, besides those of a `CaptureAi`
   * model built over the log; `Capture.defaultHub` to capture the app's `Capture.fetch` calls too)
   */
  readonly hub?: Capture.Hub | undefined
  readonly tagPromiseCalls?: boolean | undefined
}

/**
 * An audit log for an app's tests: a memory store, no signer, no redaction (or the layers given),
 * a capture hub of its own, no file system, and the clock of the test (`TestClock` under
 * `it.effect`). Read back what it holds with `AuditLog.entries`. Each build is a new, empty log.
 *
 * ```ts
 * it.effect("records the decision", () =>
 *   Effect.gen(function* () {
 *     yield* AuditLog.withDecision({ input: { id: 1 }, actor: "agent" }, (d) => d.record({ ok: true }))
 *     const entries = yield* AuditLog.entries
 *     expect(entries.map((e) => e.type)).toEqual(["audit_open", "decision", "decision_record", "decision_end"])
 *   }).pipe(Effect.provide(AuditLog.layerTest()))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = <ES = never, RS = never, EG = never, RG = never, ER = never, RR = never>(
  options: TestOptions<ES, RS, EG, RG, ER, RR> = {}
): Layer.Layer<
  AuditLog | Chain.Chain | Store.Store,
  Chain.LogMismatch | Chain.AppendError | Chain.LogInvalid | ES | EG | ER,
  RS | RG | RR
> =>
  layer({ system: options.system ?? "test", riskTier: options.riskTier ?? null, tagPromiseCalls: options.tagPromiseCalls }).pipe(
    Layer.provideMerge(options.store ?? Layer.suspend(() => Store.layerMemory())),
    Layer.provide(options.signer ?? Signer.layerNone),
    Layer.provide(options.redactor ?? Redactor.layerNoop),
    // (suspended: a new hub for each build, so two test logs never share their calls)
    Layer.provide(options.hub === undefined ? Layer.suspend(() => Capture.layerHub(Capture.make())) : Capture.layerHub(options.hub))
  )
