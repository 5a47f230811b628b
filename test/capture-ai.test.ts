import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as AuditLog from "../src/AuditLog.js"
import * as Capture from "../src/Capture.js"
import * as CaptureAi from "../src/CaptureAi.js"
import * as Guard from "../src/Guard.js"
import type * as Redactor from "../src/Redactor.js"
import { ofType, runLogged, runLoggedOk } from "./capture-helpers.js"

const TEXT = "Approve: income verified."
const usage = { inputTokens: 500, outputTokens: 40, totalTokens: 540, reasoningTokens: 8, cachedInputTokens: 100 }

/** What the local model saw, for the tests to inspect. */
const prompts: Array<Prompt.Prompt> = []

/** Completed by a stream whose prompt says "hang" when it has sent its first parts (and waits for ever). */
let midway: Deferred.Deferred<void> | undefined

/**
 * A local LanguageModel: answers with text (or a tool call when tools are offered and no tool
 * result is in the prompt), reports usage and its model id; "fail" in the prompt fails the call;
 * streams send one word per part; "hang" stops a stream after its first two parts (saying so
 * through `midway`), so a test can interrupt it there.
 */
const localModel = LanguageModel.make({
  generateText: (options) =>
    Effect.gen(function* () {
      prompts.push(options.prompt)
      const text = JSON.stringify(options.prompt.content)
      if (text.includes("fail")) return yield* new AiError.UnknownError({ module: "Local", method: "generateText", description: "upstream unavailable" })
      const parts: Array<Response.PartEncoded> = [{ type: "response-metadata", id: "r1", modelId: "local-large-2025-10-01", timestamp: undefined }]
      if (options.tools.length > 0 && !text.includes("tool-result")) {
        parts.push({ type: "tool-call", id: "call-1", name: "CreditScore", params: { applicant: "A-17", email: "jane.doe@example.com" } })
      } else parts.push({ type: "text", text: TEXT })
      parts.push({ type: "finish", reason: options.tools.length > 0 ? "tool-calls" : "stop", usage })
      return parts
    }),
  streamText: (options) => {
    prompts.push(options.prompt)
    const words = TEXT.split(" ")
    const parts: Array<Response.StreamPartEncoded> = [
      { type: "response-metadata", id: "r2", modelId: "local-large-2025-10-01", timestamp: undefined },
      { type: "text-start", id: "t" },
      ...words.map((w): Response.StreamPartEncoded => ({ type: "text-delta", id: "t", delta: `${w} ` })),
      { type: "text-end", id: "t" },
      { type: "finish", reason: "stop", usage }
    ]
    const base = Stream.fromIterable(parts)
    const prompt = JSON.stringify(options.prompt.content)
    if (prompt.includes("hang")) {
      return Stream.concat(Stream.take(base, 2), Stream.fromEffect(Effect.zipRight(midway === undefined ? Effect.void : Deferred.succeed(midway, undefined), Effect.never)))
    }
    return prompt.includes("fail")
      ? Stream.concat(Stream.take(base, 2), Stream.fail(new AiError.UnknownError({ module: "Local", method: "streamText", description: "connection reset" })))
      : base
  }
})

const Model = CaptureAi.layer({ provider: "local", model: "local-large" }).pipe(Layer.provide(Layer.effect(LanguageModel.LanguageModel, localModel)))

const withModel = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provide(effect, Model) as Effect.Effect<A, E, Exclude<R, LanguageModel.LanguageModel> | AuditLog.AuditLog | Redactor.Redactor>

const CreditScore = Tool.make("CreditScore", {
  parameters: { applicant: Schema.String, email: Schema.String },
  success: Schema.Number
})
const Kit = Toolkit.make(CreditScore)
const KitLayer = Kit.toLayer({ CreditScore: () => Effect.succeed(712) })

describe("CaptureAi: the @effect/ai LanguageModel decorator", () => {
  it("generateText: one llm_call with provider, model, usage, cost null for an unpriced model, finish reason", async () => {
    const { exit, rows, text } = await runLogged(
      withModel(
        Effect.gen(function* () {
          const log = yield* AuditLog.AuditLog
          return yield* log.withDecision({ input: {}, actor: "agent" }, () => LanguageModel.generateText({ prompt: "Assess applicant A-17" }))
        })
      )
    )
    expect(Exit.isSuccess(exit) && (exit.value as LanguageModel.GenerateTextResponse<{}>).text).toBe(TEXT)
    const [call] = ofType(rows, "llm_call")
    expect(call?.payload).toMatchObject({
      provider: "local",
      model: "local-large-2025-10-01",
      usage: { input_tokens: 500, output_tokens: 40, cached_tokens: 100, reasoning_tokens: 8, cache_write: 0 },
      cost: null,
      finish_reason: "stop",
      outcome: "success"
    })
    expect(typeof call?.payload["decision_id"]).toBe("string")
    expect(text).not.toContain("A-17")
    expect(text).not.toContain(TEXT)
  })

  it("failure: outcome failure with a short error, and the caller gets the model's error", async () => {
    const { exit, rows } = await runLogged(withModel(LanguageModel.generateText({ prompt: "please fail" })))
    expect(Exit.isFailure(exit)).toBe(true)
    const [call] = ofType(rows, "llm_call")
    expect(call?.payload).toMatchObject({ outcome: "failure", usage: null, model: "local-large" })
    expect(call?.payload["error"]).toContain("upstream unavailable")
  })

  it("generateObject is captured too", async () => {
    const { rows } = await runLoggedOk(
      withModel(LanguageModel.generateObject({ prompt: "x", schema: Schema.Struct({ ok: Schema.Boolean }) }).pipe(Effect.either))
    )
    // the local model answers with text that is not the object: the parse fails after the call
    expect(ofType(rows, "llm_call")).toHaveLength(1)
  })

  it("streamText: recorded on completion, with the usage of the finish part", async () => {
    const { rows } = await runLoggedOk(withModel(Stream.runDrain(LanguageModel.streamText({ prompt: "Assess" }))))
    const [call] = ofType(rows, "llm_call")
    expect(call?.payload).toMatchObject({ outcome: "success", finish_reason: "stop", model: "local-large-2025-10-01", usage: { input_tokens: 500 } })
  })

  it("streamText: recorded when the stream fails and when it is interrupted", async () => {
    const { rows } = await runLoggedOk(
      withModel(
        Effect.gen(function* () {
          yield* Effect.either(Stream.runDrain(LanguageModel.streamText({ prompt: "please fail" })))
          const reached = yield* Deferred.make<void>()
          midway = reached
          const fiber = yield* Effect.fork(Stream.runDrain(LanguageModel.streamText({ prompt: "Assess, then hang" })))
          // interrupted midway: after its first parts, before its end
          yield* Deferred.await(reached)
          yield* Fiber.interrupt(fiber)
          // a consumer that takes only the first parts ends the stream early too
          yield* Stream.runDrain(Stream.take(LanguageModel.streamText({ prompt: "Assess" }), 2))
        })
      )
    )
    const calls = ofType(rows, "llm_call")
    expect(calls.map((c) => c.payload["outcome"])).toEqual(["failure", "interrupted", "interrupted"])
    expect(calls[0]?.payload["error"]).toContain("connection reset")
  })

  it("a call and a tool call come before the app's entry that follows them, each with started_at and latency_ms", async () => {
    const { rows } = await runLoggedOk(
      withModel(
        AuditLog.withDecision({ input: {}, actor: "agent" }, (d) =>
          Effect.gen(function* () {
            yield* LanguageModel.generateText({ prompt: "Score applicant A-17", toolkit: Kit })
            yield* d.record({ after: "the model" })
            yield* Stream.runDrain(LanguageModel.streamText({ prompt: "Assess" }))
            yield* d.humanOversight({ reviewer: "r", action: "approved" })
          })
        ).pipe(Effect.provide(KitLayer))
      )
    )
    expect(rows.map((r) => r.type).filter((t) => t !== "policy_flag")).toEqual([
      "audit_open",
      "decision",
      "tool_call",
      "llm_call",
      "decision_record",
      "llm_call",
      "human_oversight",
      "decision_end"
    ])
    for (const r of [...ofType(rows, "llm_call"), ...ofType(rows, "tool_call")]) {
      expect(r.payload["started_at"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/)
      expect(typeof r.payload["latency_ms"]).toBe("number")
    }
  })

  it("a stream made inside a decision and run after it closed keeps the decision's id", async () => {
    let id = ""
    const { rows } = await runLoggedOk(
      withModel(
        Effect.gen(function* () {
          const log = yield* AuditLog.AuditLog
          const stream = yield* log.withDecision({ input: {}, actor: "agent" }, (d) =>
            Effect.map(LanguageModel.LanguageModel, (model) => {
              id = d.id
              return model.streamText({ prompt: "Assess" })
            })
          )
          yield* Stream.runDrain(stream)
        })
      )
    )
    expect(ofType(rows, "llm_call")[0]?.payload["decision_id"]).toBe(id)
  })

  it("Toolkit tool calls become tool_call entries with redacted arguments, outcome and latency", async () => {
    const { exit, rows, text } = await runLogged(
      withModel(LanguageModel.generateText({ prompt: "Score applicant A-17", toolkit: Kit }).pipe(Effect.provide(KitLayer)))
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    const [tool] = ofType(rows, "tool_call")
    expect(tool?.payload).toMatchObject({ name: "CreditScore", arguments: { applicant: "A-17", email: "<redacted>" }, outcome: "success" })
    expect(typeof tool?.payload["latency_ms"]).toBe("number")
    expect(ofType(rows, "llm_call")).toHaveLength(1)
    expect(text).not.toContain("jane.doe")
  })

  it("the guard blocks a prompt with a secret before the model is called; the error carries the PolicyViolation", async () => {
    prompts.length = 0
    const { exit, rows } = await runLogged(withModel(LanguageModel.generateText({ prompt: "my key is AKIAQ3EGWXK7N2PZ5RT4" })), {
      interceptors: [Guard.interceptor()]
    })
    expect(prompts).toHaveLength(0)
    const error = Exit.isFailure(exit) ? Exit.causeOption(exit).pipe(Option.flatMap((c) => Option.fromNullable(c._tag === "Fail" ? c.error : null))) : Option.none()
    expect(Option.getOrNull(error)).toBeInstanceOf(AiError.UnknownError)
    const refusal = Option.flatMap(error, Capture.refusalOf)
    expect(Option.getOrNull(refusal)).toBeInstanceOf(Guard.PolicyViolation)
    expect(ofType(rows, "llm_call")).toHaveLength(0)
    expect(ofType(rows, "policy_flag").map((f) => f.payload["action"])).toEqual(["blocked"])
  })

  it("the guard redacts the prompt the model sees", async () => {
    prompts.length = 0
    const { rows } = await runLoggedOk(withModel(LanguageModel.generateText({ prompt: "write to jane.doe@example.com" })), {
      interceptors: [Guard.interceptor()]
    })
    expect(JSON.stringify(prompts[0]?.content)).toContain("write to <redacted>")
    expect(JSON.stringify(prompts[0]?.content)).not.toContain("jane.doe")
    expect(ofType(rows, "policy_flag").map((f) => f.payload["action"])).toEqual(["redacted"])
    expect(ofType(rows, "llm_call")).toHaveLength(1)
  })
})
