/**
 * Auto-capture: model and tool calls land in the chain without per-call wiring.
 *
 * A `Hub` takes captured calls and routes each to an open audit log; plain JavaScript can feed it
 * without an Effect in hand: `emit` never blocks and never throws. Building `AuditLog.layer`
 * subscribes the log to a hub (the process-wide `defaultHub` unless `layerHub` names another);
 * any number of logs may be open on one hub at once. Each log writes the calls routed to it as
 * chained entries, in the order captured, and drains what is queued before it closes.
 *
 * Which log a call goes to is decided when the call starts: the log of the decision it was made
 * in, whether that decision is still open or ended (a fiber or a promise that outlived it; the
 * hub remembers the logs of its last 4096 ended decisions, and a fiber's own decisions always);
 * else, when exactly one log is open on the hub, that log. A call of a decision whose log has
 * closed is written nowhere (`stats().dropped`), never in a log opened later on the hub. A call
 * made while no log is open, or while several are and it names no decision of theirs, is passed
 * through unrecorded and counted (`stats().unrouted`): nothing is kept for a log that opens
 * later, so a hub with no log holds nothing. A call belongs to the log it was routed to, and is
 * written there or nowhere.
 *
 * With several logs open, a decision of one can be opened inside a decision of another (a tool
 * of one agent that is an agent with a log of its own). Each log tags its own entries (records,
 * flags, a decision's `parent_decision_id`) with its own innermost open decision, never with one
 * the other log holds; a call is the innermost decision's.
 *
 * What feeds a hub:
 * - `hub.fetch` (and `Capture.fetch` for the default hub), a `fetch` for the `openai` and
 *   `@anthropic-ai/sdk` clients and any client that takes one. It recognizes OpenAI Chat
 *   Completions and Responses and Anthropic Messages, JSON and server-sent events, and records an
 *   `llm_call` with the model and token usage the provider reported. It never records prompt or
 *   response text, and never reads an error body (it can echo the request).
 *
 *   Every call whose response arrives is recorded exactly once, however the app reads the body:
 *   through the response's `body` stream or any of its readers, or through a clone (a clone is
 *   watched too; the first copy read to its end records the call, and reading the others records
 *   nothing more). A body nobody starts to read is recorded with `outcome: "unread"` and usage
 *   null once the hub's grace period is over (`make({ unreadAfter })`, 30 seconds by default)
 *   or when the log closes, whichever comes first; if the app reads it after that, it gets the
 *   body, nothing more is recorded, and `stats().lateReads` counts it. A body still being read
 *   when the log closes is recorded then, with what was read so far (`aborted`, unless its final
 *   event was already seen). A decision's closing does not count as unread: a stream started in
 *   a decision is often read after it closed.
 *
 *   A call still waiting for its response when its log closes is recorded then, in it, with
 *   `outcome: "pending"` (usage null, its latency until the close); what arrives for it later
 *   reaches the app but is written to no log (`stats().lateResponses`). The same holds for
 *   `hub.tool` calls still running when the log closes.
 * - `hub.tool(name, fn)` for plain async tool functions (`tool_call`).
 * - `acttrace/CaptureAi`, the `@effect/ai` `LanguageModel` decorator.
 *
 * Every `llm_call` and `tool_call` says when the call started (`started_at`, on the log's clock,
 * in the form of the entries' `ts`) and how long it took (`latency_ms`). An entry the app writes
 * (a record, oversight, a flag …) first has the log write the calls that completed before it, so
 * within a decision the chain reads in the order things happened.
 *
 * Before a call leaves the process, the interceptors (`layerInterceptors`, the `Guard` among
 * them) see it and let it pass, rewrite it, or refuse it with their own error.
 *
 * Which decision a call belongs to is read when the call starts: from the
 * `x-acttrace-decision` request header (removed before the request leaves), else from the fiber
 * running (Effect's own HTTP client calls `fetch` inside the fiber), else from the async context
 * the call was started in. `AuditLog.layer` installs a supervisor that keeps that async context
 * pointing at the running fiber, so a promise-based SDK call made through `Effect.promise` or
 * `Effect.tryPromise` inside a decision carries the decision's id, as does a stream consumed after
 * the decision closed.
 *
 * (The machinery lives in `internal/capture`, which imports no `AuditLog`; this module adds the
 * interceptor types, which name it. So `AuditLog` and `Capture` import no cycle.)
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as AuditLog from "./AuditLog.js"
import * as internal from "./internal/capture.js"
import type * as Redactor from "./Redactor.js"

export {
  type CallOrigin,
  type Captured,
  CaptureHub,
  type Correlation,
  correlationOf,
  currentOrigin,
  currentOriginEffect,
  DECISION_HEADER,
  defaultHub,
  fetch,
  flush,
  type Hub,
  type HubOptions,
  type HubStats,
  Interceptors,
  layerHub,
  layerOrigin,
  type LlmCall,
  llmPayload,
  make,
  type Outbound,
  type Outcome,
  REFUSAL_HEADER,
  refusalOf,
  REFUSING_MODULE,
  runInDecision,
  subscribe,
  type SubscribeOptions,
  type Subscription,
  tool,
  type ToolCall,
  toolPayload,
  trackOrigin
} from "./internal/capture.js"

/**
 * A pre-flight rule. It returns the call (unchanged to let it pass, changed to rewrite it) or
 * fails with the app's own error to refuse it; a refused call never leaves the process. A rule
 * that refuses records why with `AuditLog.flag(reason, { action: "blocked" })`. It runs inside the
 * call's decision, with the log's `AuditLog` and `Redactor` at hand.
 *
 * @since 0.1.0
 * @category models
 */
export type Interceptor<E = never> = (call: internal.Outbound) => Effect.Effect<internal.Outbound, E, AuditLog.AuditLog | Redactor.Redactor>

/**
 * Install interceptors, in this order (the guard usually first).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerInterceptors = (...interceptors: ReadonlyArray<Interceptor<any>>): Layer.Layer<internal.Interceptors> =>
  // the log that runs them provides `AuditLog` and `Redactor`, which is all an `Interceptor` may
  // require: held as the requirement-free form the log runs
  Layer.succeed(internal.Interceptors, interceptors as unknown as ReadonlyArray<internal.AnyInterceptor>)

/**
 * Run interceptors over a call, inside its decision.
 *
 * @since 0.1.0
 * @category interceptors
 */
export const intercept = (
  interceptors: ReadonlyArray<Interceptor<unknown>>,
  call: internal.Outbound
): Effect.Effect<internal.Outbound, unknown, AuditLog.AuditLog | Redactor.Redactor> =>
  internal.runInterceptors(interceptors as unknown as ReadonlyArray<internal.AnyInterceptor>, call)
