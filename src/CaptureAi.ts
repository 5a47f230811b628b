/**
 * Auto-capture for `@effect/ai`: a decorator of `LanguageModel.LanguageModel` under which each
 * `generateText`, `generateObject` and `streamText` becomes one `llm_call` (provider, model,
 * usage, latency, cost, finish reason, outcome), and each tool call the framework resolves
 * through a `Toolkit` becomes a `tool_call`. A stream is recorded when it completes, fails or is
 * interrupted. Calls go through the log's interceptors first (`Capture.layerInterceptors`, the
 * `Guard`).
 *
 * ```ts
 * const Model = CaptureAi.layer({ provider: "openai", model: "gpt-4o" }).pipe(
 *   Layer.provide(OpenAiLanguageModel.layer({ model: "gpt-4o" }))
 * )
 * ```
 *
 * A stream belongs to the decision in which the service's `streamText` was called, even when it
 * runs after that decision closed. (The module-level accessor `LanguageModel.streamText` calls the
 * service only when the stream runs.)
 *
 * A refused call fails with `AiError.UnknownError` (module `acttrace/CaptureAi`) whose `cause` is
 * the interceptor's own error; `Capture.refusalOf` gives it back. (`LanguageModel`'s signatures
 * fix the error type, so the refusal travels inside it.)
 *
 * `@effect/ai` is an optional peer dependency: only this module needs it.
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import type * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as AuditLog from "./AuditLog.js"
import * as Capture from "./Capture.js"
import { formatTimestamp } from "./Chain.js"
import { millisBetween } from "./internal/capture.js"
import { describeError } from "./internal/providers.js"
import type * as Pricing from "./Pricing.js"

/**
 * What the records name as provider and model (the model a response reports wins).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly provider: string
  readonly model: string
}

const originNow = Capture.currentOriginEffect

/**
 * When a call starts and ends: on the fiber's clock (the log's, as a rule), for `started_at` and
 * for its latency, so that the two agree with each other and with the entries' `ts` (under a
 * `TestClock`, a call takes the time the test moved the clock by).
 */
const now: Effect.Effect<bigint> = Clock.currentTimeNanos


const encodePrompt = Schema.encodeSync(Prompt.Prompt)

/** The prompt as JSON messages for interceptors; null if it cannot be encoded. */
const messagesOf = (raw: Prompt.RawInput): unknown => {
  try {
    return encodePrompt(Prompt.make(raw)).content
  } catch {
    return null
  }
}

const usageOf = (u: Response.Usage | undefined): Pricing.Usage | null =>
  u === undefined || (u.inputTokens === undefined && u.outputTokens === undefined)
    ? null
    : {
        // in canonical order
        cache_write: 0,
        cached_tokens: u.cachedInputTokens ?? 0,
        input_tokens: u.inputTokens ?? 0,
        output_tokens: u.outputTokens ?? 0,
        reasoning_tokens: u.reasoningTokens ?? 0
      }

/** What the response parts reported so far. */
interface Seen {
  model: string | null
  usage: Pricing.Usage | null
  finishReason: string | null
  finished: boolean
}

const see = (seen: Seen, part: { readonly type: string }) => {
  if (part.type === "response-metadata") {
    const id = (part as Response.ResponseMetadataPart).modelId
    if (Option.isSome(id)) seen.model = id.value
  } else if (part.type === "finish") {
    const f = part as Response.FinishPart
    seen.finishReason = f.reason
    seen.usage = usageOf(f.usage)
    seen.finished = true
  }
}

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): Capture.Outcome =>
  Exit.isSuccess(exit) ? "success" : Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "failure"

const errorOf = (exit: Exit.Exit<unknown, unknown>): string | undefined =>
  Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? describeError(Cause.squash(exit.cause)) : undefined

/**
 * Decorate a `LanguageModel` service: the model calls and tool calls it makes are captured into
 * the log in context, after its interceptors.
 *
 * @since 0.1.0
 * @category constructors
 */
export const decorate = (
  inner: LanguageModel.Service,
  options: Options
): Effect.Effect<LanguageModel.Service, never, AuditLog.AuditLog> =>
  Effect.gen(function* () {
    const log = yield* AuditLog.AuditLog

    const refused = (method: string) => (error: unknown) =>
      new AiError.UnknownError({ module: Capture.REFUSING_MODULE, method, description: `refused: ${describeError(error)}`, cause: error })

    // into the log of the call's decision when another log holds it, else into this model's log
    const emitLlm = (origin: Capture.CallOrigin, seen: Seen, started: bigint, ended: bigint, outcome: Capture.Outcome, error?: string) =>
      log.emit({
        type: "llm_call",
        decisionId: origin.decisionId,
        span: origin.span,
        payload: Capture.llmPayload({
          provider: options.provider,
          model: seen.model ?? options.model,
          usage: seen.usage,
          startedAt: formatTimestamp(started),
          latencyMs: millisBetween(started, ended),
          finishReason: seen.finishReason,
          outcome,
          error
        })
      })

    /** A toolkit whose handler is intercepted and captured. */
    const wrapKit = (kit: Toolkit.WithHandler<Record<string, Tool.Any>>): Toolkit.WithHandler<Record<string, Tool.Any>> => ({
      tools: kit.tools,
      handle: ((name: string, params: unknown) =>
        Effect.gen(function* () {
          const origin = yield* originNow
          const call = !log.intercepting ? { arguments: params } : yield* log
            .intercept({ kind: "tool", provider: null, model: null, system: null, messages: null, tool: name, arguments: params, decisionId: origin.decisionId })
            .pipe(Effect.mapError(refused("handle")))
          const started = yield* now
          return yield* kit.handle(name, call.arguments as never).pipe(
            Effect.onExit((exit) =>
              Effect.map(now, (ended) =>
                log.emit({
                  type: "tool_call",
                  decisionId: origin.decisionId,
                  span: origin.span,
                  payload: Capture.toolPayload({
                    name,
                    arguments: call.arguments,
                    outcome: outcomeOf(exit),
                    startedAt: formatTimestamp(started),
                    latencyMs: millisBetween(started, ended),
                    error: errorOf(exit)
                  })
                })
              )
            )
          )
        })) as unknown as Toolkit.WithHandler<Record<string, Tool.Any>>["handle"]
    })

    /** The options with the interceptors' rewrites and the captured toolkit. */
    const prepare = <O extends LanguageModel.GenerateTextOptions<any>>(method: string, opts: O, origin: Capture.CallOrigin) =>
      Effect.gen(function* () {
        let prompt = opts.prompt
        if (log.intercepting) {
          const outbound: Capture.Outbound = {
            kind: "llm",
            provider: options.provider,
            model: options.model,
            system: null,
            messages: messagesOf(opts.prompt),
            tool: null,
            arguments: null,
            decisionId: origin.decisionId
          }
          const call = yield* log.intercept(outbound).pipe(Effect.mapError(refused(method)))
          if (call !== outbound && Array.isArray(call.messages)) prompt = call.messages as Prompt.RawInput
        }
        const toolkit = opts.toolkit
        const wrapped =
          toolkit === undefined ? undefined : Effect.isEffect(toolkit) ? Effect.map(toolkit, wrapKit) : wrapKit(toolkit as Toolkit.WithHandler<Record<string, Tool.Any>>)
        return { ...opts, prompt, ...(wrapped === undefined ? {} : { toolkit: wrapped }) } as O
      })

    const generate =
      (method: "generateText" | "generateObject") =>
      (opts: LanguageModel.GenerateTextOptions<any>): Effect.Effect<LanguageModel.GenerateTextResponse<any>, unknown, unknown> =>
        Effect.gen(function* () {
          const origin = yield* originNow
          const actual = yield* prepare(method, opts, origin)
          const started = yield* now
          const run = inner[method] as (o: unknown) => Effect.Effect<LanguageModel.GenerateTextResponse<any>, unknown, unknown>
          return yield* run(actual).pipe(
            Effect.onExit((exit) =>
              Effect.map(now, (ended) => {
                const seen: Seen = { model: null, usage: null, finishReason: null, finished: false }
                if (Exit.isSuccess(exit)) for (const part of exit.value.content) see(seen, part)
                emitLlm(origin, seen, started, ended, outcomeOf(exit), errorOf(exit))
              })
            )
          )
        })

    const streamText = (opts: LanguageModel.GenerateTextOptions<any>): Stream.Stream<Response.StreamPart<any>, unknown, unknown> => {
      // the decision the stream was made in, even if it is run after that decision closed
      const made: Capture.CallOrigin | null = Option.isSome(Fiber.getCurrentFiber()) ? Capture.currentOrigin() : null
      return Stream.unwrapScoped(
        Effect.gen(function* () {
          const origin = made ?? (yield* originNow)
          const actual = yield* prepare("streamText", opts, origin)
          const started = yield* now
          const seen: Seen = { model: null, usage: null, finishReason: null, finished: false }
          let failure: Cause.Cause<unknown> | null = null
          yield* Effect.addFinalizer((exit) =>
            Effect.map(now, (ended) => {
              if (failure !== null) {
                const interrupted = Cause.isInterruptedOnly(failure)
                emitLlm(origin, seen, started, ended, interrupted ? "interrupted" : "failure", interrupted ? undefined : describeError(Cause.squash(failure)))
              } else if (seen.finished && Exit.isSuccess(exit)) emitLlm(origin, seen, started, ended, "success")
              else emitLlm(origin, seen, started, ended, "interrupted")
            })
          )
          return (inner.streamText as (o: unknown) => Stream.Stream<Response.StreamPart<any>, unknown, unknown>)(actual).pipe(
            Stream.tap((part) => Effect.sync(() => see(seen, part))),
            Stream.tapErrorCause((cause) =>
              Effect.sync(() => {
                failure = cause
              })
            )
          )
        })
      )
    }

    // LanguageModel's methods are generic in their options; the wrappers keep every type
    // parameter as the inner service has it, so the casts below only restate that.
    return {
      generateText: generate("generateText") as unknown as LanguageModel.Service["generateText"],
      generateObject: generate("generateObject") as unknown as LanguageModel.Service["generateObject"],
      streamText: streamText as unknown as LanguageModel.Service["streamText"]
    }
  })

/**
 * The decorator as a layer over the `LanguageModel` below it:
 * `CaptureAi.layer(options).pipe(Layer.provide(providerLayer))`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel | AuditLog.AuditLog> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.flatMap(LanguageModel.LanguageModel, (inner) => decorate(inner, options))
  )
