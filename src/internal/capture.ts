/**
 * The capture machinery behind `Capture` (the public module, which documents it): the hub and its
 * routing of calls to logs, the `fetch` and tool wrappers, decision tagging, refusals.
 *
 * It imports neither `Capture` nor `AuditLog`: `AuditLog` subscribes to hubs through it, and
 * `Capture` adds the interceptor types, which name `AuditLog`, on top. So the three modules form no
 * import cycle.
 *
 * @since 0.1.0
 */
import { AsyncLocalStorage } from "node:async_hooks"
import { performance } from "node:perf_hooks"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Supervisor from "effect/Supervisor"
import type * as Tracer from "effect/Tracer"
import type * as Chain from "../Chain.js"
import { formatTimestamp } from "../Chain.js"
import type * as Pricing from "../Pricing.js"
import { currentDecision, currentFrame, logOf } from "./decision.js"
import { type BodyReader, describeError, eventReader, jsonReader, providerCall, type ProviderCall, type Tally } from "./providers.js"

// ---------------------------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------------------------

/**
 * The tracing span a call was made in (FORMAT A.6 correlation fields).
 *
 * @since 0.1.0
 * @category models
 */
export interface Correlation {
  readonly traceId: string
  readonly spanId: string
}

/**
 * One captured call, waiting to be chained. `payload` holds no `decision_id` (that is
 * `decisionId`); an `llm_call` without a `cost` gets one from `Pricing` when it is written.
 *
 * @since 0.1.0
 * @category models
 */
export interface Captured {
  readonly type: "llm_call" | "tool_call"
  readonly decisionId: string | null
  readonly span: Correlation | null
  readonly payload: Record<string, unknown>
}

/**
 * How a call ended: `aborted` is a body the app stopped reading (or cancelled) before its end;
 * `unread` is a call whose response arrived but whose body the app never read (through the
 * response or any clone of it) within the hub's grace period or before the log closed: the
 * provider was called, what it reported is unknown (usage null); `pending` is a call still
 * waiting for its response (a tool still running) when its log closed: it was made, its result is
 * unknown (usage null, latency until the log closed).
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "success" | "failure" | "aborted" | "interrupted" | "unread" | "pending"

/**
 * What a model call reported, for `llmPayload`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LlmCall {
  readonly provider: string | null
  readonly model: string | null
  readonly usage: Pricing.Usage | null
  /** when the call started, in the form of an entry's `ts` (`Chain.formatTimestamp`) */
  readonly startedAt: string
  readonly latencyMs: number
  readonly finishReason: string | null
  readonly outcome: Outcome
  readonly error?: string | undefined
  /** the attempt number of a retried HTTP call (0 for the first) */
  readonly retry?: number | undefined
}

/**
 * The `llm_call` payload of a call (FORMAT A.6; never any message or response text). Beside the
 * format's members it carries `started_at`, when the call started (UTC, microseconds, as the
 * entries' `ts`), so that when a call ran is read from the call, not from when it was written.
 *
 * @since 0.1.0
 * @category constructors
 */
export const llmPayload = (c: LlmCall): Record<string, unknown> => {
  // members in canonical order (see `AuditLog`'s captured entries)
  const payload: Record<string, unknown> = {}
  if (c.error !== undefined) payload["error"] = c.error
  payload["finish_reason"] = c.finishReason
  payload["latency_ms"] = Math.round(c.latencyMs * 1000) / 1000
  payload["model"] = c.model
  payload["outcome"] = c.outcome
  payload["provider"] = c.provider
  payload["replayed"] = false
  if (c.retry !== undefined && c.retry > 0) payload["retry"] = c.retry
  payload["started_at"] = c.startedAt
  payload["usage"] = c.usage
  return payload
}

/**
 * What a tool call did, for `toolPayload`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolCall {
  readonly name: string
  readonly arguments: unknown
  readonly outcome: Outcome
  /** when the call started, in the form of an entry's `ts` (`Chain.formatTimestamp`) */
  readonly startedAt: string
  readonly latencyMs: number
  readonly error?: string | undefined
}

/**
 * The `tool_call` payload of a call, with `outcome`, `latency_ms` and `started_at` beside the
 * format's `name` and `arguments`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toolPayload = (c: ToolCall): Record<string, unknown> => {
  // members in canonical order
  const payload: Record<string, unknown> = { arguments: c.arguments }
  if (c.error !== undefined) payload["error"] = c.error
  payload["latency_ms"] = Math.round(c.latencyMs * 1000) / 1000
  payload["name"] = c.name
  payload["outcome"] = c.outcome
  payload["started_at"] = c.startedAt
  return payload
}

/**
 * An outbound call as interceptors see it, before it leaves the process. For a model call,
 * `system` and `messages` are the request's own JSON (OpenAI `messages`, or Responses
 * `instructions` and `input`; Anthropic `system` and `messages`; for `@effect/ai`, the encoded
 * prompt); for a tool call, `tool` and `arguments`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Outbound {
  readonly kind: "llm" | "tool"
  readonly provider: string | null
  readonly model: string | null
  readonly system: unknown
  readonly messages: unknown
  readonly tool: string | null
  readonly arguments: unknown
  readonly decisionId: string | null
}

/**
 * An interceptor as the log holds and runs it. Its requirements (`AuditLog` and `Redactor`, see
 * `Capture.Interceptor`, which is what apps write) are provided by the log that runs it; they are
 * not named here, so that this module need not import `AuditLog`.
 *
 * @since 0.1.0
 * @category models
 */
export type AnyInterceptor = (call: Outbound) => Effect.Effect<Outbound, unknown>

/**
 * The interceptors in force, run in the order given: each sees the call as the one before left
 * it, and the first refusal stops the rest. Installed with `Capture.layerInterceptors`.
 *
 * @since 0.1.0
 * @category tags
 */
export class Interceptors extends Context.Reference<Interceptors>()("acttrace/Interceptors", {
  defaultValue: (): ReadonlyArray<AnyInterceptor> => []
}) {}

/**
 * Run interceptors over a call, inside its decision. The caller provides what they require.
 *
 * @since 0.1.0
 * @category interceptors
 */
export const runInterceptors = (interceptors: ReadonlyArray<AnyInterceptor>, call: Outbound): Effect.Effect<Outbound, unknown> => {
  if (interceptors.length === 0) return Effect.succeed(call)
  let run: Effect.Effect<Outbound, unknown> = Effect.succeed(call)
  for (const f of interceptors) run = Effect.flatMap(run, f)
  return Effect.locally(run, currentDecision, call.decisionId)
}

// ---------------------------------------------------------------------------------------------
// which decision a call belongs to
// ---------------------------------------------------------------------------------------------

/** What the async context of a call holds: the fiber that started it, or an explicit decision. */
type Origin = Fiber.RuntimeFiber<unknown, unknown> | { readonly decisionId: string | null }

const origin = new AsyncLocalStorage<Origin | undefined>()

/**
 * Whether async context is tracked. Tracking costs every promise of the process something while
 * it is on (with Node 20's async hooks, 8–16 % of a loopback SDK call, measured), so it starts with
 * the first decision: the first time a promise-based call has a decision to be tagged with. It
 * stays on until the last open log closes: switching it on and off flips V8's promise-hook state,
 * which throws away optimized code (measured: a hundredfold slowdown when done once per decision).
 */
let tracking = false
/** the logs open with `layerOrigin` installed: the last to close switches tracking off */
let openLogs = 0

/**
 * A decision opens: promise-based calls started from now on can find it.
 *
 * @since 0.1.0
 * @category decisions
 */
export const trackOrigin = (): void => {
  tracking = true
}

/**
 * Keeps the async context pointing at the fiber that is running (once decisions are in use), so
 * promises a fiber starts (and everything they `await`) know it. What a resume replaced is put back
 * when the fiber suspends (runs can nest within one synchronous stretch, when one fiber runs
 * another to completion).
 */
class OriginSupervisor extends Supervisor.AbstractSupervisor<void> {
  readonly value = Effect.void
  private readonly saved = new Map<Fiber.RuntimeFiber<unknown, unknown>, Origin | undefined>()
  override onResume<A, E>(fiber: Fiber.RuntimeFiber<A, E>): void {
    if (!tracking) return
    const f = fiber as Fiber.RuntimeFiber<unknown, unknown>
    this.saved.set(f, origin.getStore())
    origin.enterWith(f)
  }
  override onSuspend<A, E>(fiber: Fiber.RuntimeFiber<A, E>): void {
    const f = fiber as Fiber.RuntimeFiber<unknown, unknown>
    if (!this.saved.has(f)) return
    const before = this.saved.get(f)
    this.saved.delete(f)
    if (tracking) origin.enterWith(before)
  }
}

/**
 * The supervisor that lets promise-based calls started by a fiber find its decision.
 * `AuditLog.layer` installs it.
 *
 * A supervisor hears of a fiber when the fiber resumes, so opening a decision (`AuditLog`) yields
 * once: from then on, the decision's promise-based calls are known.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerOrigin: Layer.Layer<never> = Layer.merge(
  Supervisor.addSupervisor(new OriginSupervisor()),
  Layer.scopedDiscard(
    Effect.acquireRelease(
      Effect.sync(() => {
        openLogs++
      }),
      () =>
        Effect.sync(() => {
          // the last log closed: nothing is left to tag calls with
          if (--openLogs === 0 && tracking) {
            tracking = false
            origin.disable()
          }
        })
    )
  )
)

/**
 * Run plain JavaScript as part of a decision: calls captured inside `thunk` (and everything it
 * awaits) carry `decisionId`.
 *
 * @since 0.1.0
 * @category decisions
 */
export const runInDecision = <A>(decisionId: string | null, thunk: () => A): A => origin.run({ decisionId }, thunk)

const TRACE_ID = /^[0-9a-f]{32}$/
const SPAN_ID = /^[0-9a-f]{16}$/

/**
 * The span's ids when they have the W3C form FORMAT A.6 names.
 *
 * @since 0.1.0
 * @category decisions
 */
export const correlationOf = (span: Tracer.AnySpan): Correlation | null =>
  TRACE_ID.test(span.traceId) && SPAN_ID.test(span.spanId) ? { traceId: span.traceId, spanId: span.spanId } : null

/**
 * The decision and tracing span a call belongs to.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallOrigin {
  readonly decisionId: string | null
  readonly span: Correlation | null
  /**
   * The log holding the decision (opaque), when the decision is the one a fiber opened: a call
   * made after its decision ended still goes to that log, or, once it closed, to none.
   */
  readonly log?: object | null | undefined
}

const fromFiber = (fiber: Fiber.RuntimeFiber<unknown, unknown>): CallOrigin => {
  // the fiber's own cached span (its context's `Tracer.ParentSpan`): looking the context up
  // measured several microseconds a call in the SDK's midst
  const span = fiber.currentSpan
  const decisionId = fiber.getFiberRef(currentDecision)
  return {
    decisionId,
    span: span === undefined ? null : correlationOf(span),
    log: decisionId === null ? null : logOf(decisionId, fiber.getFiberRef(currentFrame))
  }
}

/**
 * The decision (and span) of a call starting now, in Effect: the current fiber's.
 *
 * @since 0.1.0
 * @category decisions
 */
export const currentOriginEffect: Effect.Effect<CallOrigin> = Effect.withFiberRuntime((fiber) =>
  Effect.succeed(fromFiber(fiber as Fiber.RuntimeFiber<unknown, unknown>))
)

/**
 * The decision (and span) of a call starting now, outside Effect: the one `runInDecision` names,
 * else the running fiber's, else that of the fiber the async context points at.
 *
 * @since 0.1.0
 * @category decisions
 */
export const currentOrigin = (): CallOrigin => {
  const o = origin.getStore()
  // named explicitly: it wins, even over the fiber that called `runInDecision`
  if (o !== undefined && !("getFiberRef" in o)) return { decisionId: o.decisionId, span: null }
  const running = Fiber.getCurrentFiber()
  if (Option.isSome(running)) return fromFiber(running.value)
  return o === undefined ? { decisionId: null, span: null } : fromFiber(o)
}

/**
 * The request header that names a call's decision explicitly; the fetch wrapper removes it
 * before the request leaves.
 *
 * @since 0.1.0
 * @category decisions
 */
export const DECISION_HEADER = "x-acttrace-decision"

// ---------------------------------------------------------------------------------------------
// the hub
// ---------------------------------------------------------------------------------------------

/** How a subscribed log runs interceptors for calls made outside Effect. */
type Runner = (call: Outbound) => Promise<Exit.Exit<Outbound, unknown>>

/**
 * Where captured calls go: it routes each to an open log subscribed to it (see `Capture`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Hub {
  /**
   * Queue a captured call: for the log of its decision, else for the only open log. With no log
   * open (or several, and none holding its decision) it is written nowhere and counted
   * (`stats().unrouted`). Never blocks, never throws.
   */
  readonly emit: (event: Captured) => void
  /** `fetch`, captured: for provider SDK clients (`new OpenAI({ fetch: hub.fetch })`). */
  readonly fetch: typeof globalThis.fetch
  /** Capture calls made through another `fetch`. */
  readonly wrapFetch: (base: typeof globalThis.fetch) => typeof globalThis.fetch
  /** A plain async tool function, captured as `tool_call` (arguments recorded as `{ args }`). */
  readonly tool: <Args extends ReadonlyArray<unknown>, R>(name: string, fn: (...args: Args) => R) => (...args: Args) => Promise<Awaited<R>>
  /** captured calls not yet written */
  readonly pending: () => number
  /** What capture has done so far, and the time its writing took on this thread. */
  readonly stats: () => HubStats
}

/**
 * What a hub has done so far (`hub.stats()`), for all its logs together.
 *
 * @since 0.1.0
 * @category models
 */
export interface HubStats {
  /** calls captured for a log */
  readonly emitted: number
  /** calls written to their log (or given up on after their retries) */
  readonly written: number
  /** batches written */
  readonly batches: number
  /**
   * Milliseconds spent building and writing batches: the part of capture's cost that is not in
   * the calls themselves. Work on this thread, except that a store writing asynchronously (a file
   * store, unless `blocking: true`) adds the time its batches wait for the disk.
   */
  readonly writeMillis: number
  /**
   * Model calls whose response arrived and that are not recorded yet: their body is still to be
   * read, or being read.
   */
  readonly open: number
  /** Model calls recorded as `unread`: their response body was never read in time. */
  readonly unread: number
  /**
   * Calls recorded as `unread` whose body the app read after all. The app got the body; the
   * record stays `unread` and nothing more is written for the call.
   */
  readonly lateReads: number
  /**
   * Calls recorded as `pending`: their log closed while they waited for their response (a tool
   * function, for its result).
   */
  readonly pendingAtClose: number
  /**
   * Calls recorded as `pending` whose response (or failure, or tool result) came after all. The
   * app got it; the record stays `pending`, and nothing more is written for the call, in that log
   * or any other.
   */
  readonly lateResponses: number
  /**
   * Calls written to no log because theirs was closing or closed: captured after the log they
   * belong to began to close (a call of a decision of a closed log among them).
   */
  readonly dropped: number
  /**
   * Calls that belonged to no open log, passed through and never recorded: made while no log was
   * open, or while several were and the call named no decision of any of them. (Nothing is kept
   * for a log that opens later.)
   */
  readonly unrouted: number
}

/**
 * Options of a hub.
 *
 * @since 0.1.0
 * @category models
 */
export interface HubOptions {
  /**
   * How long after its response arrived a model call whose body nobody has started to read is
   * recorded as `unread` (default 30 seconds; `Duration.infinity`: only when the log closes). A
   * body being read is never cut short by it.
   */
  readonly unreadAfter?: Duration.DurationInput | undefined
}

/** One log subscribed to a hub: its queue, its consumer, and what it has written. */
interface Subscriber {
  /** the hub it is subscribed to (a decision's log is routed to only on its own hub) */
  readonly hub: object
  /**
   * Whether the log still takes calls: false from the moment it starts closing. A call belongs to
   * the log it was routed to when it was made, and is written there or nowhere.
   */
  open: boolean
  wake: (() => void) | null
  /** (let go when the log is unsubscribed, as `drain` is: the hub may remember a closed log a while) */
  runner: Runner | null
  /**
   * Write a batch now, outside the consumer fiber. What it could not write (all of it, when the
   * log cannot write synchronously now; entries whose write failed, for the fiber to retry) comes
   * back, built, to be queued again in front.
   */
  drain: ((batch: ReadonlyArray<Queued>) => ReadonlyArray<Captured>) | null
  /** The log's clock, in nanoseconds since the epoch: the start of its calls, as its entries' `ts`. */
  now: () => bigint
  /** the log's calls not taken by its consumer yet, in the order captured */
  buffer: Array<Queued>
  emitted: number
  written: number
  /** calls of this log recorded as unread (said once when it closes) */
  unread: number
  flushes: Array<{ readonly target: number; readonly done: () => void }>
  timer: ReturnType<typeof setTimeout> | undefined
  waking: boolean
  /** `wakeNow` for this log, made once (a timer callback per batch allocates nothing) */
  readonly wakeNow: () => void
  /** its consumer has ended: nothing more will be written for it */
  stopped: boolean
}

/**
 * A captured call as queued: its payload, or a function that builds it. Calls captured from a
 * response are built by the consumer, so parsing the response and building the entry happen off
 * the caller's path.
 */
type Queued = Captured | (Omit<Captured, "payload"> & { readonly build: () => Record<string, unknown> })

/**
 * A call made and not answered yet (a model call whose response has not arrived, a tool function
 * still running), with the log it was made in: when that log closes, the call is recorded there
 * as `pending`.
 */
interface InFlight {
  readonly owner: Subscriber
  /** Record the call as `pending` now (nothing, if it is recorded already). */
  readonly logClosing: () => void
}

/** A queued call with its payload built. */
const built = (q: Queued): Captured => ("payload" in q ? q : { type: q.type, decisionId: q.decisionId, span: q.span, payload: payloadOf(q) })

const payloadOf = (q: Queued): Record<string, unknown> => {
  if ("payload" in q) return q.payload
  try {
    return q.build()
  } catch (e) {
    return { outcome: "failure", error: `acttrace could not read the call: ${describeError(e)}` }
  }
}

/** Queued events that wake the consumer at once, and the delay before it wakes otherwise. */
const WAKE_AT = 256
const WAKE_AFTER_MS = 100

/** The default grace period before a response nobody reads is recorded as `unread`. */
const UNREAD_AFTER_MS = 30_000
/** The longest delay `setTimeout` takes. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * How many ended decisions a hub remembers the log of: a call that names one (a fiber or a
 * promise that outlived its decision, `runInDecision`, the decision header) goes to that log, or
 * nowhere once it closed, never to another. About 100 bytes each.
 */
const ENDED_KEPT = 4096

/**
 * Milliseconds from `from` to `to` on a log's clock (nanoseconds). A call's latency is read on the
 * clock its `started_at` and the entries' `ts` are read on, so the three agree: under a
 * `TestClock`, a call takes the time the test moved the clock by. (A clock that went back
 * counts as no time.)
 */
export const millisBetween = (from: bigint, to: bigint): number => (to > from ? Number(to - from) / 1e6 : 0)

/** The wall clock in nanoseconds, for a subscriber that names no clock of its own. */
const wallNanos = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6))

class HubImpl implements Hub {
  constructor(options: HubOptions = {}) {
    this.unreadAfterMs = options.unreadAfter === undefined ? UNREAD_AFTER_MS : Duration.toMillis(options.unreadAfter)
  }

  /** the logs subscribed, open or closing */
  private readonly logs: Array<Subscriber> = []
  /** the only open log, when exactly one is open: where a call of no known decision goes */
  private only: Subscriber | null = null
  /** the open decisions of the subscribed logs, by id: where a call made in one of them goes */
  private readonly decisions = new Map<string, Subscriber>()
  /** the logs of decisions that ended, the most recent `ENDED_KEPT`, in the order they ended */
  private readonly ended = new Map<string, Subscriber>()
  emitted = 0
  written = 0

  readonly emit = (event: Captured): void => {
    const owner = this.route(event.decisionId)
    if (owner === null) this.unrouted++
    else this.queue(event, owner)
  }

  /**
   * The log a call made now in `decisionId` belongs to: the log holding that decision open; else
   * the log whose decision it was (`log`, the fiber's, or one the hub remembers), open or not;
   * else the only open log. Null when no log is open, or several are and the call is of none of
   * them. A log that is closing or closed is answered too: the caller drops the call (a call of a
   * log is written there or nowhere, never in a log opened later).
   */
  route(decisionId: string | null, log: object | null = null): Subscriber | null {
    if (decisionId !== null) {
      if (this.decisions.size > 0) {
        const held = this.decisions.get(decisionId)
        if (held !== undefined) return held
      }
      if (log !== null && (log as Subscriber).hub === this) return log as Subscriber
      if (this.ended.size > 0) {
        const was = this.ended.get(decisionId)
        if (was !== undefined) return was
      }
    }
    return this.only
  }

  /** The log holding decision `id` open, or whose decision it was (open or not), if known. */
  holder(id: string): Subscriber | undefined {
    return this.decisions.get(id) ?? this.ended.get(id)
  }

  /** A call that belongs to no open log goes through unrecorded: counted. */
  passed(owner: Subscriber | null): void {
    if (owner === null) this.unrouted++
    else this.dropped++
  }

  /**
   * Queue an event of the log `owner`. A call is written to its log or to none: one whose log is
   * closing or closed is dropped (and counted), never left for another log.
   *
   * Its batch falls due 100 ms later (or at once when many are queued, the log wants its calls
   * written, or it closes) and is written whole with what came in meanwhile. The first entry of a
   * batch costs about 100 µs of CPU (its code runs cold between SDK calls), the next ones about
   * 12 µs: against loopback calls of about 1 ms, writing cost 23 µs a call with batches due
   * after 50 ms, 18.5 µs after 100 ms, 17 µs after 200 ms.
   */
  queue(event: Queued, owner: Subscriber): void {
    if (!owner.open) {
      this.dropped++
      return
    }
    owner.buffer.push(event)
    owner.emitted++
    this.emitted++
    if (owner.wake === null) return
    if (owner.buffer.length >= WAKE_AT) this.wakeSoon(owner)
    else if (owner.timer === undefined && !owner.waking) owner.timer = setTimeout(owner.wakeNow, WAKE_AFTER_MS)
  }

  /** Wake a log's consumer on the next turn of the event loop. */
  wakeSoon(s: Subscriber): void {
    if (s.waking) return
    s.waking = true
    setImmediate(s.wakeNow)
  }

  private wakeNow(s: Subscriber): void {
    s.waking = false
    if (s.timer !== undefined) {
      clearTimeout(s.timer)
      s.timer = undefined
    }
    if (s.wake === null) return
    // the consumer fiber is waiting: write here and now if the log can, which spares the batch a
    // fiber's wake-up (measured at 85 µs a batch)
    if (s.drain !== null && s.buffer.length > 0) {
      this.drainNow(s)
      if (s.buffer.length === 0) return
    }
    const wake = s.wake
    s.wake = null
    try {
      wake()
    } catch {
      // a consumer that cannot be woken picks the event up on its next round
    }
  }

  /** Write a log's queue through its synchronous writer; what it could not write goes back in front. */
  private drainNow(s: Subscriber): void {
    const batch = s.buffer
    s.buffer = []
    const started = performance.now()
    let left: ReadonlyArray<Captured>
    try {
      left = s.drain!(batch)
    } catch {
      // the fiber writes them (and reports what fails)
      left = batch.map(built)
    }
    this.writeMillis += performance.now() - started
    if (left.length < batch.length) this.batches++
    this.wrote(s, batch.length - left.length)
    if (left.length > 0) s.buffer = (left as Array<Queued>).concat(s.buffer)
  }

  /**
   * Whether every call queued for the log so far is written, after writing them here and now if
   * the log can (its consumer idle, its store synchronous, no chain batch in flight). False: the
   * caller waits with `flush`.
   */
  caughtUp(s: Subscriber): boolean {
    if (s.written >= s.emitted) return true
    // (with the consumer idle, nothing is in flight: what is not written is queued)
    if (s.drain === null || s.wake === null || s.buffer.length !== s.emitted - s.written) return false
    this.drainNow(s)
    if (s.buffer.length > 0) return false
    if (s.timer !== undefined) {
      clearTimeout(s.timer)
      s.timer = undefined
    }
    return true
  }

  readonly pending = (): number => this.emitted - this.written

  batches = 0
  writeMillis = 0

  readonly stats = (): HubStats => ({
    emitted: this.emitted,
    written: this.written,
    batches: this.batches,
    writeMillis: this.writeMillis,
    open: this.open.size,
    unread: this.unread,
    lateReads: this.lateReads,
    pendingAtClose: this.pendingAtClose,
    lateResponses: this.lateResponses,
    dropped: this.dropped,
    unrouted: this.unrouted
  })

  // -- model calls whose response arrived, until they are recorded ---------------------------

  private readonly unreadAfterMs: number
  /**
   * The calls whose response arrived and that are not recorded yet, in the order their responses
   * arrived (a Set keeps insertion order; adding and deleting cost well under a microsecond).
   */
  private readonly open = new Set<Watch>()
  private sweeping: ReturnType<typeof setTimeout> | undefined = undefined
  unread = 0
  lateReads = 0
  pendingAtClose = 0
  lateResponses = 0
  dropped = 0
  unrouted = 0
  /** calls made and not answered yet (a Set: adding and deleting cost well under a microsecond) */
  readonly inFlight = new Set<InFlight>()

  /** A call's response arrived: it is open until recorded. */
  opened(watch: Watch): void {
    this.open.add(watch)
    if (this.sweeping === undefined) this.sweepIn(this.unreadAfterMs)
  }

  /** A call was recorded. */
  closed(watch: Watch, ending: Ending): void {
    this.inFlight.delete(watch)
    this.open.delete(watch)
    if (ending === "unread") {
      this.unread++
      watch.owner.unread++
    } else if (ending === "pending") this.pendingAtClose++
  }

  private sweepIn(ms: number): void {
    // no timer for an infinite grace period: the log's closing records what is left
    if (!(ms < Infinity)) return
    // unref'd: a call nobody reads never keeps the process alive
    this.sweeping = setTimeout(this.sweep, Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(ms))))
    this.sweeping.unref()
  }

  /**
   * Record the calls whose grace period is over and whose body nobody is reading. One timer for
   * the hub (not one per call), due when the oldest open call's grace period ends.
   */
  private readonly sweep = (): void => {
    this.sweeping = undefined
    const now = performance.now()
    let next = this.unreadAfterMs
    for (const watch of this.open) {
      const left = watch.arrived + this.unreadAfterMs - now
      // the calls after it arrived later
      if (left > 0) {
        next = left
        break
      }
      // (deleting from a Set while iterating it is safe)
      watch.expire(false)
    }
    // what is left: calls not due yet, and bodies being read (looked at again a grace period on)
    if (this.open.size > 0) this.sweepIn(next)
  }

  /**
   * The log `s` closes: every call of it still open is recorded now, in it, so none is left out
   * of it or lands in another log: `pending` when its response has not arrived, `unread` (or what
   * was read so far) when it has. Other logs' calls are left alone.
   */
  closeOpen(s: Subscriber): void {
    // (deleting from a Set while iterating it is safe)
    for (const call of this.inFlight) if (call.owner === s) call.logClosing()
    for (const watch of this.open) if (watch.owner === s) watch.expire(true)
    // from now on nothing more is written to this log
    s.open = false
    this.recount()
    if (this.open.size === 0 && this.sweeping !== undefined) {
      clearTimeout(this.sweeping)
      this.sweeping = undefined
    }
  }

  private recount(): void {
    let only: Subscriber | null = null
    let n = 0
    for (const s of this.logs) {
      if (!s.open) continue
      n++
      only = s
    }
    this.only = n === 1 ? only : null
  }

  take(s: Subscriber): Array<Queued> {
    const batch = s.buffer
    s.buffer = []
    return batch
  }

  subscribe(s: Subscriber): void {
    this.logs.push(s)
    this.recount()
  }

  unsubscribe(s: Subscriber): void {
    const i = this.logs.indexOf(s)
    if (i >= 0) this.logs.splice(i, 1)
    // the hub remembers the log (its ended decisions name it, so their late calls are dropped),
    // but nothing of what it wrote with: a closed memory log's entries are not kept alive here
    // (the log's closures share its scope, store and chain included)
    s.runner = null
    s.drain = null
    s.now = wallNanos
    // decisions still open when their log closed: their calls are dropped from now on
    for (const [id, held] of this.decisions) {
      if (held !== s) continue
      this.decisions.delete(id)
      this.remember(id, s)
    }
    this.recount()
  }

  /** Calls made in decision `id` belong to `s` from now on (until `release`). */
  hold(s: Subscriber, id: string): void {
    this.decisions.set(id, s)
  }

  release(s: Subscriber, id: string): void {
    if (this.decisions.get(id) !== s) return
    this.decisions.delete(id)
    this.remember(id, s)
  }

  /** Decision `id` of `s` ended: remembered (a bounded number of them) for calls that name it later. */
  private remember(id: string, s: Subscriber): void {
    this.ended.set(id, s)
    if (this.ended.size > ENDED_KEPT) this.ended.delete(this.ended.keys().next().value as string)
  }

  wrote(s: Subscriber, n: number): void {
    s.written += n
    this.written += n
    if (s.flushes.length > 0) {
      const left: typeof s.flushes = []
      for (const f of s.flushes) (f.target <= s.written ? f.done() : left.push(f))
      s.flushes = left
    }
  }

  /**
   * Wait until everything queued for the log so far is written. A log that is closing still
   * writes what was queued for it before it began to close: an entry the app writes meanwhile
   * waits for those too (its consumer ends only once they are written, and then lets every
   * waiter go).
   */
  flush(s: Subscriber): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const target = s.emitted
      if (target <= s.written || s.stopped) return resume(Effect.void)
      const entry = { target, done: () => resume(Effect.void) }
      s.flushes.push(entry)
      this.wakeSoon(s)
      return Effect.sync(() => {
        s.flushes = s.flushes.filter((f) => f !== entry)
      })
    })
  }

  /** Wait until everything queued for any log so far is written. */
  flushAll(): Effect.Effect<void> {
    return Effect.suspend(() => Effect.forEach(this.logs.slice(), (s) => this.flush(s), { discard: true }))
  }

  /** A new subscriber's state (not subscribed yet). */
  newSubscriber(runner: Runner | null, drain: Subscriber["drain"], now: () => bigint): Subscriber {
    const s: Subscriber = {
      hub: this,
      open: true,
      wake: null,
      runner,
      drain,
      now,
      buffer: [],
      emitted: 0,
      written: 0,
      unread: 0,
      flushes: [],
      timer: undefined,
      waking: false,
      wakeNow: () => this.wakeNow(s),
      stopped: false
    }
    return s
  }

  readonly wrapFetch = (base: typeof globalThis.fetch): typeof globalThis.fetch => captureFetch(this, base)

  readonly fetch: typeof globalThis.fetch = this.wrapFetch((input, init) => globalThis.fetch(input, init))

  readonly tool = <Args extends ReadonlyArray<unknown>, R>(name: string, fn: (...args: Args) => R) =>
    async (...args: Args): Promise<Awaited<R>> => {
      const { decisionId, span, log } = currentOrigin()
      const owner = this.route(decisionId, log ?? null)
      if (owner === null || !owner.open) {
        this.passed(owner)
        return await fn(...args)
      }
      let actual: ReadonlyArray<unknown> = args
      const runner = owner.runner
      if (runner !== null) {
        const exit = await runner({ kind: "tool", provider: null, model: null, system: null, messages: null, tool: name, arguments: { args }, decisionId })
        if (Exit.isFailure(exit)) throw Cause.squash(exit.cause)
        const rewritten = exit.value.arguments
        actual =
          rewritten !== null && typeof rewritten === "object" && Array.isArray((rewritten as { args?: unknown }).args)
            ? (rewritten as { args: ReadonlyArray<unknown> }).args
            : [rewritten]
      }
      const startedAt = owner.now()
      let recorded = false
      const write = (outcome: Outcome, error?: string) => {
        const latencyMs = millisBetween(startedAt, owner.now())
        // built by the writer, off the caller's path
        this.queue(
          { type: "tool_call", decisionId, span, build: () => toolPayload({ name, arguments: { args: actual }, outcome, startedAt: formatTimestamp(startedAt), latencyMs, error }) },
          owner
        )
      }
      // the log closing while the tool runs records it there as pending
      const flight: InFlight = {
        owner,
        logClosing: () => {
          if (recorded) return
          recorded = true
          this.inFlight.delete(flight)
          this.pendingAtClose++
          write("pending")
        }
      }
      this.inFlight.add(flight)
      const record = (outcome: Outcome, error?: string) => {
        this.inFlight.delete(flight)
        if (recorded) {
          this.lateResponses++
          return
        }
        recorded = true
        write(outcome, error)
      }
      try {
        const result = await fn(...(actual as unknown as Args))
        record("success")
        return result
      } catch (e) {
        record("failure", describeError(e))
        throw e
      }
    }
}

/**
 * A new hub, for logs of its own (`layerHub`) or for tests; `options.unreadAfter` sets how long
 * a response nobody reads waits before its call is recorded as `unread`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: HubOptions): Hub => new HubImpl(options)

/**
 * The process-wide hub that `AuditLog.layer` subscribes to unless `layerHub` names another. Any
 * number of logs may be open on it at once: each call goes to the log of its decision.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultHub: Hub = make()

/**
 * `fetch`, captured into the default hub: `new OpenAI({ fetch: Capture.fetch })`.
 *
 * @since 0.1.0
 * @category capture
 */
export const fetch: typeof globalThis.fetch = defaultHub.fetch

/**
 * A plain async tool function captured into the default hub.
 *
 * @since 0.1.0
 * @category capture
 */
export const tool: Hub["tool"] = defaultHub.tool

/**
 * The hub a log subscribes to.
 *
 * @since 0.1.0
 * @category tags
 */
export class CaptureHub extends Context.Reference<CaptureHub>()("acttrace/CaptureHub", {
  defaultValue: (): Hub => defaultHub
}) {}

/**
 * Subscribe the log to a hub of its own instead of the default one. Logs need no hub of their own
 * to be open side by side (the default hub routes each call to the log of its decision); a hub of
 * its own keeps apart the calls made through that hub's `fetch` and `tool`, which reach only the
 * logs subscribed to it (a test's log, a library's log).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHub = (hub: Hub): Layer.Layer<CaptureHub> => Layer.succeed(CaptureHub, hub)

/**
 * Wait until every call captured into `hub` so far has been written, in every log open on it.
 *
 * @since 0.1.0
 * @category capture
 */
export const flush = (hub: Hub): Effect.Effect<void> => (hub instanceof HubImpl ? hub.flushAll() : Effect.void)

const RETRY = Schedule.exponential("10 millis").pipe(Schedule.intersect(Schedule.recurs(3)))

/**
 * A log's subscription to a hub.
 *
 * @since 0.1.0
 * @category models
 */
export interface Subscription {
  /** The log as its decisions name it to the hub (opaque): `AuditLog` keeps it in its decisions' frames. */
  readonly owner: object
  /** Wait until every call queued for this log so far is written. */
  readonly flush: Effect.Effect<void>
  /**
   * Whether every call queued for this log so far is written, after writing them at once when
   * the log can do that synchronously. When false, wait with `flush`.
   */
  readonly caughtUp: () => boolean
  /**
   * Queue a captured call made for this log (an `@effect/ai` call of a model built over it):
   * written in the log whose decision it was made in, when that is another log on the hub (open
   * or ended; nowhere once that log closed), else in this one.
   */
  readonly emit: (event: Captured) => void
  /** Calls made in decision `id` belong to this log from now on, until `release`. */
  readonly hold: (id: string) => void
  readonly release: (id: string) => void
}

/**
 * How a log consumes a hub.
 *
 * @since 0.1.0
 * @category models
 */
export interface SubscribeOptions {
  /** Write a batch, in order; one exit per event. */
  readonly write: (events: ReadonlyArray<Captured>) => Effect.Effect<ReadonlyArray<Exit.Exit<unknown, Chain.AppendError>>>
  /**
   * Write a batch synchronously, or answer `undefined` when that cannot be done at this moment:
   * then a batch is written as soon as it is due, in the hub's own callback, and the consumer
   * fiber takes only what this could not write.
   */
  readonly writeNow?: ((events: ReadonlyArray<Captured>) => ReadonlyArray<Exit.Exit<unknown, Chain.AppendError>> | undefined) | undefined
  /** Run the log's interceptors over a call made outside Effect (`null`: none installed). */
  readonly runner?: Runner | null | undefined
  /** The log's clock in nanoseconds since the epoch, for its calls' `started_at` (default: the wall clock). */
  readonly now?: (() => bigint) | undefined
}

/**
 * Consume a hub for as long as the current scope is open: every call routed to this log is written
 * with `write`, in order. Closing the scope records the log's calls still open, drains what is
 * queued, then stops. A write that fails is retried three times and then reported with
 * `Effect.logError` (the entry is not written). Any number of logs may consume one hub.
 *
 * @since 0.1.0
 * @category capture
 */
export const subscribe = (hub: Hub, options: SubscribeOptions): Effect.Effect<Subscription, never, Scope.Scope> =>
  Effect.gen(function* () {
    if (!(hub instanceof HubImpl)) {
      // a hub of the app's own making: it is fed, not consumed
      return { owner: {}, flush: Effect.void, caughtUp: () => true, emit: hub.emit, hold: () => {}, release: () => {} }
    }
    const { write, writeNow } = options
    const drain =
      writeNow === undefined
        ? null
        : (batch: ReadonlyArray<Queued>): ReadonlyArray<Captured> => {
            const events = batch.map(built)
            const exits = writeNow(events)
            if (exits === undefined) return events
            const failed: Array<Captured> = []
            for (let i = 0; i < events.length; i++) {
              const exit = exits[i]
              if (exit !== undefined && Exit.isFailure(exit)) failed.push(events[i]!)
            }
            return failed
          }
    const subscriber = hub.newSubscriber(options.runner ?? null, drain, options.now ?? wallNanos)
    hub.subscribe(subscriber)
    let closing = false
    // a write that failed is retried on its own; the retry schedule is built only then (setting
    // it up costs more than a write)
    const retry = (event: Captured) =>
      Effect.flatMap(write([event]), ([exit]) => (exit === undefined ? Effect.void : exit)).pipe(
        Effect.retry(RETRY),
        Effect.catchAll((e) => Effect.logError(`acttrace: a captured ${event.type} could not be written: ${e.message}`)),
        Effect.catchAllDefect((d) => Effect.logError(`acttrace: a captured ${event.type} could not be written: ${describeError(d)}`))
      )
    // A writer that dies (a defect, not a failed append) must not end the consumer: every entry
    // the app writes waits for the log's calls to be written, and would wait forever. The batch is
    // said lost, never written twice.
    const writeBatch = (events: ReadonlyArray<Captured>) =>
      Effect.catchAllDefect(write(events), (d) =>
        Effect.as(
          Effect.logError(`acttrace: ${events.length} captured call${events.length === 1 ? "" : "s"} could not be written: ${describeError(d)}`),
          []
        )
      )
    const loop = Effect.gen(function* () {
      while (true) {
        const batch = hub.take(subscriber)
        if (batch.length === 0) {
          if (closing) return
          yield* Effect.async<void>((resume) => {
            subscriber.wake = () => resume(Effect.void)
            // queued between the take and now
            if (subscriber.buffer.length > 0) {
              subscriber.wake = null
              resume(Effect.void)
            }
            return Effect.sync(() => {
              subscriber.wake = null
            })
          })
          continue
        }
        const started = performance.now()
        const events = batch.map(built)
        const exits = yield* writeBatch(events)
        hub.writeMillis += performance.now() - started
        hub.batches++
        for (let i = 0; i < events.length; i++) {
          const exit = exits[i]
          if (exit !== undefined && Exit.isFailure(exit)) yield* retry(events[i]!)
        }
        hub.wrote(subscriber, events.length)
      }
    })
    const fiber = yield* Effect.forkDaemon(loop)
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        // calls waiting for their response, or whose body is unread or still being read, are
        // recorded now: after this, nothing more is written to this log, nor (being its calls)
        // to any other
        hub.closeOpen(subscriber)
        closing = true
        const wake = subscriber.wake
        subscriber.wake = null
        if (wake !== null) wake()
        yield* Fiber.await(fiber)
        // (what it wrote let its waiters go; any left, were the consumer ever cut short, go now)
        subscriber.stopped = true
        for (const f of subscriber.flushes) f.done()
        subscriber.flushes = []
        hub.unsubscribe(subscriber)
        // said once, where an operator looks: the entries themselves say which calls
        const unread = subscriber.unread
        if (unread > 0) {
          yield* Effect.logWarning(
            `acttrace: ${unread} model call${unread === 1 ? " was" : "s were"} recorded as unread: the app never read the response body (outcome "unread", usage unknown)`
          )
        }
      })
    )
    return {
      owner: subscriber,
      flush: hub.flush(subscriber),
      caughtUp: () => hub.caughtUp(subscriber),
      // (a decision of another log on the hub, open or ended: that log's, or nowhere once it closed)
      emit: (event) => hub.queue(event, (event.decisionId === null ? undefined : hub.holder(event.decisionId)) ?? subscriber),
      hold: (id) => hub.hold(subscriber, id),
      release: (id) => hub.release(subscriber, id)
    }
  })

// ---------------------------------------------------------------------------------------------
// refusals
// ---------------------------------------------------------------------------------------------

/** Refusals answered with a synthetic response, by id, so `refusalOf` can give the error back. */
const refusals = new Map<string, unknown>()
const REFUSALS_KEPT = 1024
let refusalCount = 0

/**
 * The response a refused call gets instead of reaching the provider: `403`, with
 * `x-should-retry: false` so SDK clients fail at once instead of retrying (a thrown error would
 * be retried as a connection failure, and refused again), and a JSON error naming the refusal.
 * The app's own error is kept for `refusalOf`.
 */
const refusalResponse = (error: unknown): Response => {
  const id = `r${++refusalCount}`
  refusals.set(id, error)
  if (refusals.size > REFUSALS_KEPT) refusals.delete(refusals.keys().next().value as string)
  const tag = error !== null && typeof error === "object" && "_tag" in error ? String((error as { _tag: unknown })._tag) : "Refused"
  const body = { error: { type: "acttrace_refused", code: tag, message: describeError(error) } }
  return new Response(JSON.stringify(body), {
    status: 403,
    statusText: "Refused by policy",
    headers: { "content-type": "application/json", "x-should-retry": "false", [REFUSAL_HEADER]: id }
  })
}

/**
 * The `module` of the `AiError.UnknownError` that `CaptureAi` fails a refused call with.
 *
 * @since 0.1.0
 * @category refusals
 */
export const REFUSING_MODULE = "acttrace/CaptureAi"

/**
 * The header of a refused call's synthetic response that names the refusal.
 *
 * @since 0.1.0
 * @category refusals
 */
export const REFUSAL_HEADER = "x-acttrace-refusal"

/**
 * The interceptor's own error behind a failure, if an interceptor refused the call: the error an
 * SDK client threw for the refused call's response (it carries the response's headers), the
 * response itself, an error whose `cause` chain leads to one of these, or `CaptureAi`'s
 * `AiError` for a refused call.
 *
 * @since 0.1.0
 * @category refusals
 */
export const refusalOf = (failure: unknown): Option.Option<unknown> => {
  let e: unknown = failure
  for (let depth = 0; depth < 8 && e !== null && typeof e === "object"; depth++) {
    if ((e as { _tag?: unknown })._tag === "UnknownError" && (e as { module?: unknown }).module === REFUSING_MODULE) {
      return Option.some((e as { cause?: unknown }).cause)
    }
    const headers = (e as { headers?: unknown }).headers
    let id: string | null | undefined
    if (headers instanceof Headers) id = headers.get(REFUSAL_HEADER)
    else if (headers !== null && typeof headers === "object") id = (headers as Record<string, string | undefined>)[REFUSAL_HEADER]
    if (typeof id === "string" && refusals.has(id)) return Option.some(refusals.get(id))
    for (const v of refusals.values()) if (v === e) return Option.some(e)
    e = (e as { cause?: unknown }).cause
  }
  return Option.none()
}

// ---------------------------------------------------------------------------------------------
// fetch
// ---------------------------------------------------------------------------------------------

const requestUrl = (input: string | URL | Request): string =>
  typeof input === "string" ? input : input instanceof URL ? input.href : input.url

/** A request header, read without copying the headers (most requests carry a `Headers`). */
const headerIn = (h: RequestInit["headers"], name: string): string | null => {
  if (h === undefined) return null
  if (h instanceof Headers) return h.get(name)
  if (Array.isArray(h)) {
    for (const pair of h as ReadonlyArray<ReadonlyArray<string>>) if (pair[0]?.toLowerCase() === name) return pair[1] ?? null
    return null
  }
  for (const k in h) if (k.toLowerCase() === name) return (h as Record<string, string>)[k] ?? null
  return null
}

const retryOf = (h: RequestInit["headers"]): number => {
  const n = Number(headerIn(h, "x-stainless-retry-count") ?? "0")
  return Number.isInteger(n) && n > 0 ? n : 0
}

/**
 * How a response ended: an outcome, or `end` (read to its end) and `cancel` (the app stopped
 * reading), which are judged once the body is settled: a cancel after the final event is a normal
 * end (SDKs cancel right after it), before it an abort.
 */
type Ending = Outcome | "end" | "cancel"

const judge = (ending: Ending, error: string | undefined, tally: Tally): readonly [Outcome, string | undefined] => {
  if (ending !== "end" && ending !== "cancel") return [ending, error]
  if (tally.failed !== null) return ["failure", tally.failed]
  if (tally.done) return ["success", undefined]
  return ending === "cancel" ? ["aborted", undefined] : ["failure", "the response ended before its final event"]
}

/**
 * The body (the response's own stream, as `Response.prototype.body` gives it), read without
 * going through a tap.
 */
let nativeBody: ((this: Response) => ReadableStream<Uint8Array> | null) | undefined

/**
 * A copy's body as a stream that feeds the copy as the app reads it, and forwards a cancel.
 *
 * The response's own stream is taken when the app first reads, not when it is handed out: until
 * then the response can still be cloned (a locked body cannot be, and SDKs look at `body` before
 * a middleware clones the response). With no read-ahead (`highWaterMark: 0`), handing the stream
 * out reads nothing: a body only looked at is still unread.
 */
const tapStream = (response: Response, copy: Copy): ReadableStream<Uint8Array> => {
  let source: ReadableStreamDefaultReader<Uint8Array> | undefined
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (source === undefined) {
          copy.reading()
          try {
            source = nativeBody!.call(response)!.getReader()
          } catch (e) {
            copy.ended("failure", describeError(e))
            throw e
          }
        }
        let chunk: Awaited<ReturnType<typeof source.read>>
        try {
          chunk = await source.read()
        } catch (e) {
          copy.ended("failure", describeError(e))
          controller.error(e)
          return
        }
        if (chunk.done) {
          copy.end()
          copy.ended("end")
          controller.close()
          return
        }
        copy.push(chunk.value)
        controller.enqueue(chunk.value)
      },
      cancel(reason) {
        copy.cancelled()
        if (source !== undefined) return source.cancel(reason)
        const own = nativeBody!.call(response)
        return own === null || own.locked ? undefined : own.cancel(reason)
      }
    },
    { highWaterMark: 0 }
  )
}

/** A copy's state: not read yet, being read, read to its end (or failed), cancelled. */
const IDLE = 0
const READING = 1
const ENDED = 2
const CANCELLED = 3

/**
 * One copy of a watched response's body: the response the app got (the `Watch` itself) or a
 * clone of it (a clone tees the body: each copy reads all of it). Each copy reads what the app
 * reads through it into its own tally, with a `BodyReader` whose kind, JSON or server-sent
 * events, is decided from the content type when first needed: at once when the app streams the
 * body, but for a body read whole only when the writer builds the entry, off the caller's path.
 *
 * The call is recorded once, from the first copy read to its end (or whose reading failed). A
 * cancelled copy decides only when no other copy can still be read; until then another copy
 * read to its end does.
 */
class Copy implements Tally, BodyReader {
  model: string | null = null
  usage: Pricing.Usage | null = null
  finishReason: string | null = null
  done = false
  failed: string | null = null
  /** the body stream handed out, once asked for */
  stream: ReadableStream<Uint8Array> | null | undefined = undefined
  state = IDLE
  /** bytes read as a stream: of two cancelled copies, the one that got further decides */
  bytes = 0
  /** the call this copy belongs to */
  readonly watch: Watch
  private inner: BodyReader | null = null
  private whole: string | undefined = undefined
  private value: unknown = undefined
  private hasValue = false

  constructor(watch?: Watch) {
    this.watch = watch ?? (this as unknown as Watch)
  }

  /** The app starts reading this copy. */
  reading(): void {
    if (this.state !== IDLE) return
    this.state = READING
    if (this.watch.recorded) this.watch.readLate()
  }

  /**
   * This copy was read to its end, or reading it failed: the call is recorded from it. A read
   * that fails because the app aborted the request (`AbortController.abort()`, as SDK streams'
   * `abort()` do) is an abort, as a cancel before the final event is.
   */
  ended(ending: "end" | "failure", error?: string): void {
    if (this.state >= ENDED) return
    this.state = ENDED
    if (this.watch.recorded) return
    if (ending === "failure" && this.watch.signal?.aborted === true) this.watch.finish("aborted", error, this)
    else this.watch.finish(ending, error, this)
  }

  /** The app cancelled this copy's body. */
  cancelled(): void {
    if (this.state >= ENDED) return
    this.state = CANCELLED
    this.watch.copyCancelled(this)
  }

  /** Whether what is read through this copy still matters (not once the call is recorded from another). */
  private feeds(): boolean {
    return !this.watch.recorded || this.watch.source === this
  }

  private pick(): BodyReader {
    if (this.inner === null) {
      const kind = this.watch.headers?.get("content-type") ?? ""
      this.events = kind.includes("text/event-stream")
      this.inner = this.events ? eventReader(this.watch.call, this) : jsonReader(this.watch.call, this)
    }
    return this.inner
  }

  /** whether the body is read as server-sent events (else as JSON), once known */
  private events = false

  push(chunk: Uint8Array): void {
    this.bytes += chunk.length
    if (this.feeds()) this.pick().push(chunk)
  }

  end(): void {
    if (this.feeds()) this.pick().end()
  }

  text(t: string): void {
    if (!this.feeds()) return
    if (this.inner !== null) this.inner.text(t)
    else this.whole = t
  }

  parsed(v: unknown): void {
    if (!this.feeds()) return
    if (this.inner !== null) this.inner.parsed(v)
    else {
      this.value = v
      this.hasValue = true
    }
  }

  settle(): void {
    const r = this.pick()
    if (this.whole !== undefined) {
      r.text(this.whole)
      this.whole = undefined
    }
    if (this.hasValue) {
      r.parsed(this.value)
      this.hasValue = false
      this.value = undefined
    }
    r.settle()
    // a JSON body the app stopped reading before its end: the part read does not parse, and that
    // is the app's cancel (judged an abort), not a provider's malformed answer. (A body read whole
    // before the cancel parsed, and keeps what it said.)
    if (!this.events && this.state !== ENDED && !this.done) this.failed = null
  }
}

/** The `error` of a call recorded while its body was still being read. */
const LOG_CLOSED = "the log closed before the response was read to its end"

/**
 * One model call the fetch wrapper watches, with all its bookkeeping in one object: the request,
 * the response the app got (the watch is that response's `Copy`), its clones, and once the call is
 * recorded, the queued entry itself, built by the writer.
 *
 * When it is recorded: when a copy is read to its end or fails; when it is cancelled and no other
 * copy can still be read; else, with nothing being read, when the hub's grace period is over
 * (`unread` if no copy was read at all) or the log closes (then a body still being read is
 * recorded with what was read so far, and a call whose response has not arrived as `pending`).
 */
class Watch extends Copy implements InFlight {
  readonly type = "llm_call" as const
  /** the log the call was routed to when it was made: it is recorded there or nowhere */
  readonly owner: Subscriber
  /** the response's headers, once it arrived */
  headers: Headers | null = null
  /** when the response arrived (a monotonic instant, for the grace period) */
  arrived = 0
  /** when the response arrived, on the log's clock (for an unread call's latency) */
  private arrivedAt = 0n
  /** the response's clones (null until the first) */
  clones: Array<Copy> | null = null
  recorded = false
  /** the copy the call is recorded from (null: none read) */
  source: Copy | null = null
  private late = false
  private ending: Ending | null = null
  private error: string | undefined = undefined
  private latencyMs = 0
  private fallbackModel: string | null = null
  private body: Record<string, unknown> | null | undefined = undefined

  constructor(
    private readonly hub: HubImpl,
    owner: Subscriber,
    readonly call: ProviderCall,
    readonly decisionId: string | null,
    readonly span: Correlation | null,
    /** when the call started, on the log's clock (nanoseconds since the epoch) */
    private readonly startedAt: bigint,
    private readonly retry: number,
    /** the request's JSON text, kept until the call ends (interceptors, a failure's model) */
    private request: string | null,
    /** the request's abort signal: a body whose reading fails once it fired was aborted by the app */
    readonly signal: AbortSignal | null
  ) {
    super()
    this.owner = owner
    hub.inFlight.add(this)
  }

  /** Its log closes before the response arrived: recorded as `pending` there. */
  logClosing(): void {
    this.finish("pending")
  }

  /**
   * The response (or the failure) arrived: false when the call was recorded as `pending` when its
   * log closed, and what came is left out of capture (counted).
   */
  landed(): boolean {
    this.hub.inFlight.delete(this)
    if (!this.recorded) return true
    this.hub.lateResponses++
    return false
  }

  /** The request's JSON, parsed when first asked for. */
  requestBody(): Record<string, unknown> | null {
    if (this.body !== undefined) return this.body
    this.body = null
    if (this.request !== null) {
      try {
        const parsed: unknown = JSON.parse(this.request)
        if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) this.body = parsed as Record<string, unknown>
      } catch {
        this.body = null
      }
    }
    return this.body
  }

  requestModel(): string | null {
    const m = this.requestBody()?.["model"]
    return typeof m === "string" ? m : null
  }

  /** The response arrived: its body is watched from now on, and the call is open until recorded. */
  watching(headers: Headers): void {
    this.headers = headers
    this.arrived = performance.now()
    this.arrivedAt = this.owner.now()
    // the request's model, for a record the response names none in: read now when it is the
    // body's first member, and the request's text let go (an open call can wait a while)
    const leading = leadingModel(this.request)
    if (leading !== null) {
      this.fallbackModel = leading
      this.request = null
      this.body = undefined
    }
    this.hub.opened(this)
  }

  /** A clone of the response: a copy of its own. */
  cloned(copy: Copy): void {
    if (this.clones === null) this.clones = [copy]
    else this.clones.push(copy)
  }

  /** A copy starts to be read after the call was recorded. */
  readLate(): void {
    if (this.ending !== "unread" || this.late) return
    this.late = true
    this.hub.lateReads++
  }

  /**
   * A copy was cancelled: the call is recorded now if that copy saw the final event (SDKs cancel
   * right after it; another copy would read nothing more), or if no other copy can still be
   * read. Otherwise another copy may still be read to its end, and decides.
   */
  copyCancelled(copy: Copy): void {
    if (this.recorded) return
    if (copy.done) this.finish("cancel", undefined, copy)
    else if (!this.anyIn(READING) && !this.anyIn(IDLE)) this.finish("cancel", undefined, this.best())
  }

  private anyIn(state: number): boolean {
    if (this.state === state) return true
    if (this.clones !== null) for (const c of this.clones) if (c.state === state) return true
    return false
  }

  /** Of the copies read, the one to record the call from: one that saw the final event, else the furthest read. */
  private best(): Copy {
    let best: Copy | null = null
    for (const c of this.clones === null ? [this] : [this, ...this.clones]) {
      if (c.state === IDLE) continue
      if (best === null || (c.done && !best.done) || (c.done === best.done && c.bytes > best.bytes)) best = c
    }
    return best ?? this
  }

  /**
   * The hub's grace period is over (or, with `closing`, the log closes): record the call unless a
   * body is being read (which the log's closing does not wait for).
   */
  expire(closing: boolean): void {
    if (this.recorded) return
    if (this.anyIn(READING)) {
      if (!closing) return
      const best = this.best()
      // the final event was seen: the read is as good as done
      if (best.done) this.finish("cancel", undefined, best)
      else this.finish("aborted", LOG_CLOSED, best)
    } else if (this.anyIn(CANCELLED)) this.finish("cancel", undefined, this.best())
    else this.finish("unread")
  }

  /** Record the call, once: at its body's end, on a failure, on cancel, or unread. */
  finish(ending: Ending, error?: string, source: Copy | null = null): void {
    if (this.recorded) return
    this.recorded = true
    this.ending = ending
    this.error = error
    this.source = source
    // an unread call's latency: until its response arrived (a pending call's: until now, its log's
    // closing)
    this.latencyMs = millisBetween(this.startedAt, ending === "unread" ? this.arrivedAt : this.owner.now())
    // a call may have no response to name the model: the request's (parsed only when the call
    // did not end normally; a response's model is read with its body, by the writer)
    if (this.fallbackModel === null && ending !== "end" && ending !== "cancel") this.fallbackModel = this.requestModel()
    // the queued entry keeps nothing of the request (its text can be a whole prompt)
    this.request = null
    this.body = undefined
    this.hub.closed(this, ending)
    this.hub.queue(this, this.owner)
  }

  /** The queued entry's payload, built by the writer. */
  build(): Record<string, unknown> {
    const from = this.source
    if (from !== null) from.settle()
    const tally: Tally = from ?? this
    const [outcome, why] = judge(this.ending ?? "end", this.error, tally)
    return llmPayload({
      provider: this.call.provider,
      model: tally.model ?? this.fallbackModel,
      usage: tally.usage,
      startedAt: formatTimestamp(this.startedAt),
      latencyMs: this.latencyMs,
      finishReason: tally.finishReason,
      outcome,
      error: why,
      retry: this.retry
    })
  }
}

/**
 * Where a watched response keeps its copy: a symbol-keyed member (a WeakMap lookup per read, and
 * its insertion per call, measured slower in the SDK's midst).
 */
const TAP: unique symbol = Symbol("acttrace/tap")
type Watched = Response & { [TAP]?: Copy }

type Reader = (this: Response) => Promise<unknown>

/**
 * The prototype of a watched response: `Response.prototype` with a `body` that feeds the tap,
 * whole-body readers (`text`, `json`, `arrayBuffer`, `bytes`, `blob`, `formData`) that hand what
 * they read to it, and a `clone` whose clone is watched too. Built on first use: touching the
 * global `Response` loads Node's fetch implementation, which a process that never fetches (the
 * CLI) should not pay for at startup.
 */
let watchedPrototype: object | undefined
const watched = (): object => {
  if (watchedPrototype !== undefined) return watchedPrototype
  const base = Response.prototype as unknown as Record<string, Reader | undefined>
  const body = Object.getOwnPropertyDescriptor(Response.prototype, "body")!.get as (this: Response) => ReadableStream<Uint8Array> | null
  nativeBody = body
  const clone = Response.prototype.clone
  const members: PropertyDescriptorMap = {
    body: {
      configurable: true,
      enumerable: true,
      get(this: Response) {
        const tap = (this as Watched)[TAP]
        if (tap === undefined) return body.call(this)
        if (tap.stream === undefined) tap.stream = body.call(this) === null ? null : tapStream(this, tap)
        return tap.stream
      }
    },
    clone: {
      configurable: true,
      writable: true,
      value(this: Response) {
        const copy = clone.call(this)
        const tap = (this as Watched)[TAP]
        if (tap !== undefined) {
          // a clone reads the whole body again: it is a copy of its own, of the same call
          const c = new Copy(tap.watch)
          tap.watch.cloned(c)
          ;(copy as Watched)[TAP] = c
          Object.setPrototypeOf(copy, watched())
        }
        return copy
      }
    }
  }
  const whole = (name: string, feed: (reader: BodyReader, value: unknown) => void, as?: (response: Response, value: unknown) => unknown) => {
    const own = base[name]
    const read = as === undefined ? own : base["arrayBuffer"]
    if (typeof own !== "function" || typeof read !== "function") return
    members[name] = {
      configurable: true,
      writable: true,
      value(this: Response) {
        const tap = (this as Watched)[TAP]
        if (tap === undefined) return own.call(this)
        // once the stream was handed out, reading goes through it (and it feeds the reader)
        if (tap.stream !== undefined && tap.stream !== null) return own.call(new Response(tap.stream, { headers: this.headers }))
        tap.reading()
        return read.call(this).then(
          (value) => {
            feed(tap, value)
            tap.ended("end")
            return as === undefined ? value : as(this, value)
          },
          (e: unknown) => {
            tap.ended("failure", describeError(e))
            throw e
          }
        )
      }
    }
  }
  const utf8 = (b: unknown) => Buffer.from(b as ArrayBuffer).toString("utf8")
  whole("text", (r, t) => r.text(t as string))
  whole("json", (r, v) => r.parsed(v))
  whole("arrayBuffer", (r, b) => r.text(utf8(b)))
  whole("bytes", (r, b) => r.text(Buffer.from(b as Uint8Array).toString("utf8")))
  whole(
    "blob",
    (r, b) => r.text(utf8(b)),
    (response, b) => new Blob([b as ArrayBuffer], { type: response.headers.get("content-type") ?? "" })
  )
  // the body is read whole, then handed to the platform's own reader: the app gets its form, or
  // its error (a model API's JSON is no form), and the call is recorded from what was read
  whole(
    "formData",
    (r, b) => r.text(utf8(b)),
    (response, b) => new Response(b as ArrayBuffer, { headers: response.headers }).formData()
  )
  return (watchedPrototype = Object.create(Response.prototype, members) as object)
}

/**
 * Watch a response's body as the app reads it, without copying it: the response takes a
 * prototype whose `body` is a stream that feeds the watch (made when first asked for) and whose
 * whole-body readers hand what they read to it too. (A `clone()` would tee the body:
 * measured at about 80 µs of CPU per call. Defining the readers on each response instead costs
 * little itself, but turns the response into a dictionary-mode object that the SDK's and fetch's
 * own code then reads slowly: measured at 5 to 9 % of a loopback call.)
 */
const observe = (response: Response, watch: Watch): void => {
  ;(response as Watched)[TAP] = watch
  Object.setPrototypeOf(response, watched())
  watch.watching(response.headers)
}

/** The request's model when it is the body's first member (as SDKs write it): no parse needed. */
const leadingModel = (text: string | null): string | null => {
  if (text === null) return null
  // as SDKs write it: no space, no escape
  if (text.startsWith(`{"model":"`)) {
    const end = text.indexOf(`"`, 10)
    if (end > 10 && end <= 210 && text.lastIndexOf("\\", end) < 10) return text.slice(10, end)
  }
  const m = /^\s*\{\s*"model"\s*:\s*"((?:[^"\\]|\\.){0,200})"/.exec(text.slice(0, 256))
  if (m === null) return null
  try {
    return JSON.parse(`"${m[1]}"`) as string
  } catch {
    return null
  }
}

// a declaration, hoisted: the default hub is built while this module loads
function captureFetch(hub: HubImpl, base: typeof globalThis.fetch): typeof globalThis.fetch {
  return async function capturedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase()
    const headersIn = init?.headers ?? (input instanceof Request ? input.headers : undefined)
    const explicit = headerIn(headersIn, DECISION_HEADER)
    const call = method === "POST" ? providerCall(requestUrl(input), method, () => headerIn(headersIn, "anthropic-version") !== null) : null
    let sendInput = input
    let sendInit = init
    if (explicit !== null) {
      // the decision header never leaves the process
      const headers = new Headers(headersIn)
      headers.delete(DECISION_HEADER)
      sendInit = { ...init, method, headers }
    }
    if (call === null) return base(sendInput, sendInit)
    const here = currentOrigin()
    const decisionId = explicit ?? here.decisionId
    const owner = explicit !== null ? hub.route(explicit) : hub.route(decisionId, here.log ?? null)
    if (owner === null || !owner.open) {
      // no open log to record it in: it goes as it is, counted
      hub.passed(owner)
      return base(sendInput, sendInit)
    }
    const startedAt = owner.now()

    // the request's JSON, read only when needed (interceptors, or a failure with no model)
    const sent = init?.body
    let text: string | null = null
    if (typeof sent === "string") text = sent
    else if (sent instanceof Uint8Array || sent instanceof ArrayBuffer) text = Buffer.from(sent as Uint8Array).toString("utf8")
    else if (sent instanceof ReadableStream && owner.runner !== null) {
      // interceptors must see what is sent: the stream is read here and sent as the text it held
      text = await new Response(sent).text()
      sendInit = { ...sendInit, method, body: text }
    } else if (sent == null && input instanceof Request && input.body !== null) text = await input.clone().text()
    const signal = init?.signal ?? (input instanceof Request ? input.signal : null)
    const watch = new Watch(hub, owner, call, decisionId, here.span, startedAt, retryOf(headersIn), text, signal)

    const runner = owner.runner
    if (runner !== null) {
      const request = watch.requestBody()
      const outbound: Outbound = { kind: "llm", provider: call.provider, model: watch.requestModel(), ...call.messagesOf(request), tool: null, arguments: null, decisionId: watch.decisionId }
      const exit = await runner(outbound)
      // a refusal: the interceptor recorded it; nothing leaves, nothing else is recorded
      if (Exit.isFailure(exit)) {
        hub.inFlight.delete(watch)
        return refusalResponse(Cause.squash(exit.cause))
      }
      if (exit.value !== outbound && request !== null) {
        sendInit = { ...sendInit, method, body: JSON.stringify(call.withMessages(request, exit.value)) }
        if (input instanceof Request) sendInput = input.url
      }
    }

    let response: Response
    try {
      response = await base(sendInput, sendInit)
    } catch (e) {
      // (a fetch that throws instead of rejecting lands here too)
      if (watch.landed()) watch.finish(signal?.aborted === true ? "aborted" : "failure", describeError(e))
      throw e
    }
    // its log closed meanwhile: recorded there as pending; the app gets the response, unwatched
    if (!watch.landed()) return response
    if (!response.ok) {
      // never the error body: it can echo the request
      watch.finish("failure", `HTTP ${response.status}`)
      return response
    }
    observe(response, watch)
    return response
  }
}
