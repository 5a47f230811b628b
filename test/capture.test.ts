import Anthropic from "@anthropic-ai/sdk"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import OpenAI from "openai"
import * as AuditLog from "../src/AuditLog.js"
import * as Canonical from "../src/Canonical.js"
import * as Capture from "../src/Capture.js"
import * as Guard from "../src/Guard.js"
import * as Pricing from "../src/Pricing.js"
import { ofType, runLogged, runLoggedOk, until, useProviderServer } from "./capture-helpers.js"
import { RESPONSE_TEXT } from "./fixtures/provider-server.js"

const server = useProviderServer()

const clients = (hub: Capture.Hub) => ({
  openai: new OpenAI({ apiKey: "sk-test-not-a-real-key-000000", baseURL: `${server().url}/v1`, fetch: hub.fetch, maxRetries: 0 }),
  anthropic: new Anthropic({ apiKey: "test-key", baseURL: server().url, fetch: hub.fetch, maxRetries: 0 })
})

/** A tool call's payload, as `hub.tool` builds it. */
const toolEvent = (name: string, args: ReadonlyArray<unknown>) =>
  Capture.toolPayload({ name, arguments: { args }, outcome: "success", startedAt: "2026-01-02T03:04:05.000000+00:00", latencyMs: 1 })

const PROMPT = "Summarize the credit file of applicant A-17 in one sentence."

describe("Capture.fetch with the openai and @anthropic-ai/sdk clients", () => {
  it("OpenAI Chat Completions, JSON: model, usage and exact cost from the response", async () => {
    const hub = Capture.make()
    const { openai } = clients(hub)
    const { exit, rows, text } = await runLogged(
      Effect.tryPromise(() => openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: PROMPT }] })),
      { hub }
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isSuccess(exit)) expect(exit.value.choices[0]?.message.content).toBe(RESPONSE_TEXT)
    const [call] = ofType(rows, "llm_call")
    expect(call?.payload).toMatchObject({
      decision_id: null,
      provider: "openai",
      model: "gpt-4o-2024-08-06",
      usage: { input_tokens: 1200, output_tokens: 300, cached_tokens: 200, reasoning_tokens: 64, cache_write: 0 },
      // 1000 × 2.50 + 200 × 1.25 + 300 × 10.00, per million
      cost: "0.00575 USD",
      finish_reason: "stop",
      outcome: "success",
      replayed: false
    })
    expect(typeof call?.payload["latency_ms"]).toBe("number")
    // never the prompt or the response
    expect(text).not.toContain("A-17")
    expect(text).not.toContain("income threshold")
  })

  it("OpenAI Chat Completions, SSE: usage when the app asked for it, null (and no cost) when not", async () => {
    const hub = Capture.make()
    const { openai } = clients(hub)
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        let withUsage = ""
        for await (const chunk of await openai.chat.completions.create({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: PROMPT }],
          stream: true,
          stream_options: { include_usage: true }
        })) {
          withUsage += chunk.choices[0]?.delta.content ?? ""
        }
        let without = ""
        for await (const chunk of await openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: PROMPT }], stream: true })) {
          without += chunk.choices[0]?.delta.content ?? ""
        }
        expect(withUsage.trim()).toBe(RESPONSE_TEXT)
        expect(without.trim()).toBe(RESPONSE_TEXT)
      }),
      { hub }
    )
    const calls = ofType(rows, "llm_call")
    expect(calls).toHaveLength(2)
    expect(calls[0]?.payload).toMatchObject({
      model: "gpt-4o-mini-2024-08-06",
      usage: { input_tokens: 1200, output_tokens: 300, cached_tokens: 200 },
      // 1000 × 0.15 + 200 × 0.075 + 300 × 0.60, per million
      cost: "0.000345 USD",
      finish_reason: "stop",
      outcome: "success"
    })
    expect(calls[1]?.payload).toMatchObject({ model: "gpt-4o-mini-2024-08-06", usage: null, cost: null, outcome: "success" })
    // the request went out as the app wrote it: no usage option added
    expect(server().received[1]?.body["stream_options"]).toBeUndefined()
  })

  it("OpenAI Responses, JSON and SSE", async () => {
    const hub = Capture.make()
    const { openai } = clients(hub)
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        const r = await openai.responses.create({ model: "gpt-4.1", instructions: "Be brief.", input: PROMPT })
        expect(r.output_text).toBe(RESPONSE_TEXT)
        const stream = await openai.responses.create({ model: "gpt-4.1", input: PROMPT, stream: true })
        for await (const _ of stream) {
          // read to the end
        }
      }),
      { hub }
    )
    const calls = ofType(rows, "llm_call")
    expect(calls).toHaveLength(2)
    for (const c of calls) {
      expect(c.payload).toMatchObject({
        provider: "openai",
        model: "gpt-4.1-2025-04-14",
        usage: { input_tokens: 800, output_tokens: 120, cached_tokens: 0, reasoning_tokens: 0 },
        // 800 × 2.00 + 120 × 8.00, per million
        cost: "0.00256 USD",
        finish_reason: "completed",
        outcome: "success"
      })
    }
  })

  it("Anthropic Messages, JSON and SSE (cache reads and writes priced apart)", async () => {
    const hub = Capture.make()
    const { anthropic } = clients(hub)
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        const m = await anthropic.messages.create({ model: "claude-sonnet-4-5-20250929", max_tokens: 256, messages: [{ role: "user", content: PROMPT }] })
        expect(m.content[0]?.type === "text" && m.content[0].text).toBe(RESPONSE_TEXT)
        const stream = anthropic.messages.stream({ model: "claude-sonnet-4-5-20250929", max_tokens: 256, messages: [{ role: "user", content: PROMPT }] })
        const final = await stream.finalMessage()
        expect(final.usage.output_tokens).toBe(200)
      }),
      { hub }
    )
    const calls = ofType(rows, "llm_call")
    expect(calls).toHaveLength(2)
    for (const c of calls) {
      expect(c.payload).toMatchObject({
        provider: "anthropic",
        model: "claude-sonnet-4-5-20250929",
        usage: { input_tokens: 100, output_tokens: 200, cached_tokens: 1000, cache_write: 500, reasoning_tokens: 0 },
        // 100 × 3 + 1000 × 0.30 + 500 × 3.75 + 200 × 15, per million
        cost: "0.005475 USD",
        finish_reason: "end_turn",
        outcome: "success"
      })
    }
  })

  it("a stream the app stops reading is recorded as aborted, and the provider sees the cancel", async () => {
    const hub = Capture.make()
    const { anthropic } = clients(hub)
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        // `metadata` makes the test server stall after its first events, so the app stops mid-stream
        const stream = await anthropic.messages.create({
          model: "claude-haiku-4-5",
          max_tokens: 64,
          metadata: { user_id: "u-1" },
          messages: [{ role: "user", content: PROMPT }],
          stream: true
        })
        let n = 0
        for await (const _ of stream) if (++n === 3) break
      }),
      { hub }
    )
    const [call] = ofType(rows, "llm_call")
    expect(call?.payload).toMatchObject({ provider: "anthropic", model: "claude-haiku-4-5", outcome: "aborted" })
    // the usage seen so far (message_start) is kept
    expect((call?.payload["usage"] as Pricing.Usage).input_tokens).toBe(100)
    // the server sees the connection close (it would go on sending otherwise, and never close it)
    await server().cancellations(1)
    expect(server().cancelled).toBe(1)
  })

  it("an HTTP error is a failure with its status, never its body", async () => {
    const hub = Capture.make()
    const { openai } = clients(hub)
    server().failWith = 400
    const { exit, rows, text } = await runLogged(
      Effect.tryPromise(() => openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: PROMPT }] })),
      { hub }
    )
    expect(Exit.isFailure(exit)).toBe(true)
    const [call] = ofType(rows, "llm_call")
    expect(call?.payload).toMatchObject({ model: "gpt-4o", outcome: "failure", error: "HTTP 400", usage: null, cost: null })
    expect(text).not.toContain("echo of the request")
  })

  it("an unknown model: cost null and one warning per model, never a guess", async () => {
    const hub = Capture.make()
    const { openai } = clients(hub)
    const { rows, warnings } = await runLoggedOk(
      Effect.promise(async () => {
        for (let i = 0; i < 3; i++) await openai.chat.completions.create({ model: "house-model-7b", messages: [{ role: "user", content: "hi" }] })
      }),
      { hub, pricing: Pricing.layerPrices([]) }
    )
    const calls = ofType(rows, "llm_call")
    expect(calls).toHaveLength(3)
    for (const c of calls) expect(c.payload["cost"]).toBeNull()
    expect(warnings.filter((w) => w.includes("house-model-7b"))).toHaveLength(1)
  })

  it("plain fetch callers: however the body is read (text, json, arrayBuffer, blob, body stream), the call is recorded once", async () => {
    const hub = Capture.make()
    const post = () =>
      hub.fetch(`${server().url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "q" }] })
      })
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        expect(JSON.parse(await (await post()).text()).model).toBe("gpt-4o-2024-08-06")
        expect(((await (await post()).json()) as { model: string }).model).toBe("gpt-4o-2024-08-06")
        expect(new TextDecoder().decode(await (await post()).arrayBuffer())).toContain("chatcmpl")
        const blob = await (await post()).blob()
        expect(blob.type).toBe("application/json")
        expect(await blob.text()).toContain("chatcmpl")
        const streamed = await post()
        let bytes = 0
        for await (const chunk of streamed.body!) bytes += chunk.length
        expect(bytes).toBeGreaterThan(0)
        // the body looked at first (as a debug logger does), then read whole
        const looked = await post()
        expect(looked.body).not.toBeNull()
        expect(JSON.parse(await looked.text()).object).toBe("chat.completion")
        expect(looked.bodyUsed).toBe(true)
        // still a Response: a clone reads apart, the original is what is recorded
        const original = await post()
        expect(original).toBeInstanceOf(Response)
        expect(Object.prototype.toString.call(original)).toBe("[object Response]")
        expect(JSON.parse(await original.clone().text()).object).toBe("chat.completion")
        expect(((await original.json()) as { model: string }).model).toBe("gpt-4o-2024-08-06")
        await expect(original.text()).rejects.toThrow()
      }),
      { hub }
    )
    const calls = ofType(rows, "llm_call")
    expect(calls).toHaveLength(7)
    for (const c of calls) expect(c.payload).toMatchObject({ model: "gpt-4o-2024-08-06", outcome: "success", cost: "0.00575 USD" })
  })

  it("a fetch that fails, by rejecting or by throwing, is recorded as a failure with the request's model", async () => {
    const hub = Capture.make()
    const body = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "q" }] })
    const refused = hub.wrapFetch(() => Promise.reject(new TypeError("fetch failed")))
    const throwing = hub.wrapFetch(() => {
      throw new RangeError("bad init")
    })
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        await expect(refused("http://127.0.0.1:9/v1/chat/completions", { method: "POST", body })).rejects.toThrow("fetch failed")
        await expect(throwing("http://127.0.0.1:9/v1/chat/completions", { method: "POST", body })).rejects.toThrow("bad init")
      }),
      { hub }
    )
    const calls = ofType(rows, "llm_call")
    expect(calls.map((c) => [c.payload["model"], c.payload["outcome"], c.payload["error"]])).toEqual([
      ["gpt-4o", "failure", "TypeError: fetch failed"],
      ["gpt-4o", "failure", "RangeError: bad init"]
    ])
  })

  it("requests to other endpoints pass through unrecorded", async () => {
    const hub = Capture.make()
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        const r = await hub.fetch(`${server().url}/v1/models`)
        expect(r.status).toBe(404)
      }),
      { hub }
    )
    expect(ofType(rows, "llm_call")).toHaveLength(0)
    expect(server().received).toHaveLength(1)
  })
})

describe("decision tagging", () => {
  it("inside, outside and nested decisions, for promise-based SDK calls through Effect.tryPromise", async () => {
    const hub = Capture.make()
    const { openai, anthropic } = clients(hub)
    const ask = Effect.tryPromise(() => openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "q" }] }))
    const askClaude = Effect.tryPromise(() => anthropic.messages.create({ model: "claude-haiku-4-5", max_tokens: 8, messages: [{ role: "user", content: "q" }] }))
    const ids: Record<string, string> = {}
    const { exit, rows } = await runLogged(
      Effect.gen(function* () {
        const log = yield* AuditLog.AuditLog
        yield* ask
        yield* log.withDecision({ input: { case: 1 }, actor: "agent" }, (outer) =>
          Effect.gen(function* () {
            ids["outer"] = outer.id
            yield* ask
            yield* log.withDecision({ input: { case: 2 }, actor: "agent" }, (inner) =>
              Effect.gen(function* () {
                ids["inner"] = inner.id
                yield* askClaude
              })
            )
            yield* askClaude
          })
        )
        yield* ask
      }),
      { hub }
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    const tags = ofType(rows, "llm_call").map((r) => r.payload["decision_id"])
    expect(tags).toEqual([null, ids["outer"], ids["inner"], ids["outer"], null])
    // each decision's calls come before its end
    const endOfInner = rows.findIndex((r) => r.type === "decision_end" && r.payload["decision_id"] === ids["inner"])
    const innerCall = rows.findIndex((r) => r.type === "llm_call" && r.payload["decision_id"] === ids["inner"])
    expect(innerCall).toBeLessThan(endOfInner)
  })

  it("concurrent decisions each keep their own calls", async () => {
    const hub = Capture.make()
    const { openai } = clients(hub)
    const { rows } = await runLoggedOk(
      Effect.gen(function* () {
        const log = yield* AuditLog.AuditLog
        yield* Effect.forEach(
          Array.from({ length: 8 }, (_, i) => i),
          (i) =>
            log.withDecision({ input: { i }, actor: "agent" }, (d) =>
              Effect.gen(function* () {
                for (let k = 0; k < 3; k++) {
                  yield* Effect.tryPromise(() => openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: `${i}/${k}` }] }))
                  yield* d.record({ i, k })
                }
              })
            ),
          { concurrency: "unbounded" }
        )
      }),
      { hub }
    )
    const decisionOf = new Map<string, number>()
    for (const r of ofType(rows, "decision")) decisionOf.set(r.payload["decision_id"] as string, (r.payload["input"] as { i: number }).i)
    const calls = ofType(rows, "llm_call")
    expect(calls).toHaveLength(24)
    const perDecision = new Map<string, number>()
    for (const c of calls) {
      const id = c.payload["decision_id"] as string
      expect(decisionOf.has(id)).toBe(true)
      perDecision.set(id, (perDecision.get(id) ?? 0) + 1)
    }
    expect([...perDecision.values()]).toEqual(Array(8).fill(3))
    // the request each call made belongs to the decision it was tagged with
    const sent = server().received.map((r) => ((r.body["messages"] as Array<{ content: string }>)[0]?.content ?? "").split("/")[0])
    expect(new Set(sent).size).toBe(8)
  })

  it("a stream started inside a decision and read after it closed keeps the decision's id", async () => {
    const hub = Capture.make()
    const { openai } = clients(hub)
    let id = ""
    const { rows } = await runLoggedOk(
      Effect.gen(function* () {
        const log = yield* AuditLog.AuditLog
        const stream = yield* log.withDecision({ input: {}, actor: "agent" }, (d) =>
          Effect.gen(function* () {
            id = d.id
            return yield* Effect.tryPromise(() => openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "q" }], stream: true }))
          })
        )
        yield* Effect.promise(async () => {
          for await (const _ of stream) {
            // read after the decision ended
          }
        })
      }),
      { hub }
    )
    const [call] = ofType(rows, "llm_call")
    expect(call?.payload["decision_id"]).toBe(id)
    const endAt = rows.findIndex((r) => r.type === "decision_end")
    expect(rows.indexOf(call!)).toBeGreaterThan(endAt)
  })

  it("an explicit header names the decision and never leaves the process; runInDecision tags plain code", async () => {
    const hub = Capture.make()
    const openai = new OpenAI({ apiKey: "k", baseURL: `${server().url}/v1`, fetch: hub.fetch, maxRetries: 0, defaultHeaders: { [Capture.DECISION_HEADER]: "a".repeat(32) } })
    const plain = clients(hub).openai
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        await openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "q" }] })
        await Capture.runInDecision("b".repeat(32), () => plain.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "q" }] }))
      }),
      { hub }
    )
    expect(ofType(rows, "llm_call").map((r) => r.payload["decision_id"])).toEqual(["a".repeat(32), "b".repeat(32)])
    expect(server().received[0]?.headers[Capture.DECISION_HEADER]).toBeUndefined()
  })

  it("with tagPromiseCalls: false, promise-based calls are not tagged (the header still is)", async () => {
    const hub = Capture.make()
    const { openai } = clients(hub)
    let id = ""
    const { rows } = await runLoggedOk(
      Effect.gen(function* () {
        const log = yield* AuditLog.AuditLog
        yield* log.withDecision({ input: {}, actor: "agent" }, (d) =>
          Effect.gen(function* () {
            id = d.id
            yield* Effect.tryPromise(() => openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "q" }] }))
            yield* Effect.tryPromise(() =>
              openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "q" }] }, { headers: { [Capture.DECISION_HEADER]: d.id } })
            )
          })
        )
      }),
      { hub, tagPromiseCalls: false }
    )
    expect(ofType(rows, "llm_call").map((r) => r.payload["decision_id"])).toEqual([null, id])
  })

  it("inside a tracing span, captured calls carry otel_trace_id and otel_span_id", async () => {
    const hub = Capture.make()
    const { openai } = clients(hub)
    const ask = Effect.tryPromise(() => openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "q" }] }))
    const { rows } = await runLoggedOk(
      Effect.gen(function* () {
        const log = yield* AuditLog.AuditLog
        yield* log.withDecision({ input: {}, actor: "agent" }, () => ask).pipe(Effect.withSpan("triage"))
        yield* ask
      }),
      { hub }
    )
    const [inSpan, outside] = ofType(rows, "llm_call")
    expect(inSpan?.payload["otel_trace_id"]).toMatch(/^[0-9a-f]{32}$/)
    expect(inSpan?.payload["otel_span_id"]).toMatch(/^[0-9a-f]{16}$/)
    // the decision's own entry carries the same span
    expect(ofType(rows, "decision")[0]?.payload["otel_trace_id"]).toBe(inSpan?.payload["otel_trace_id"])
    expect(outside?.payload["otel_trace_id"]).toBeUndefined()
  })
})

describe("the capture queue", () => {
  it("payloads are built in canonical member order, so the encoder writes them natively", () => {
    const usage: Pricing.Usage = { cache_write: 0, cached_tokens: 2, input_tokens: 10, output_tokens: 5, reasoning_tokens: 1 }
    const startedAt = "2026-01-02T03:04:05.123456+00:00"
    const llm = Capture.llmPayload({ provider: "openai", model: "gpt-4o", usage, startedAt, latencyMs: 12.3456, finishReason: "stop", outcome: "failure", error: "HTTP 500", retry: 2 })
    const tool = Capture.toolPayload({ name: "lookup", arguments: { args: [1] }, outcome: "failure", startedAt, latencyMs: 3.25, error: "boom" })
    for (const p of [llm, tool]) {
      expect(Object.keys(p)).toEqual(Object.keys(p).sort())
      expect(Either.getOrThrow(Canonical.encode(p))).toBe(JSON.stringify(p))
    }
  })

  it("10,000 events emitted from plain JS in a burst, then shutdown at once: none dropped", async () => {
    const hub = Capture.make()
    const { rows } = await runLoggedOk(
      Effect.sync(() => {
        for (let i = 0; i < 10_000; i++) {
          hub.emit({ type: "tool_call", decisionId: null, span: null, payload: toolEvent("lookup", [i]) })
        }
      }),
      { hub }
    )
    const calls = ofType(rows, "tool_call")
    expect(calls).toHaveLength(10_000)
    expect(calls.map((c) => (c.payload["arguments"] as { args: Array<number> }).args[0])).toEqual(Array.from({ length: 10_000 }, (_, i) => i))
  })

  it("events emitted while no log is open are counted and written nowhere; emit never throws", async () => {
    const hub = Capture.make()
    hub.emit({ type: "tool_call", decisionId: null, span: null, payload: toolEvent("early", []) })
    expect(hub.stats()).toMatchObject({ emitted: 0, unrouted: 1 })
    const { rows, errors } = await runLoggedOk(
      Effect.sync(() => {
        hub.emit({ type: "tool_call", decisionId: null, span: null, payload: toolEvent("in", []) })
        // a payload the chain refuses is reported, not thrown at the caller
        expect(() => hub.emit({ type: "tool_call", decisionId: null, span: null, payload: { name: "bad", arguments: { f: () => 1 } } })).not.toThrow()
      }),
      { hub }
    )
    expect(ofType(rows, "tool_call").map((r) => r.payload["name"])).toEqual(["in"])
    expect(errors.some((e) => e.includes("tool_call could not be written"))).toBe(true)
  })

  for (const asyncStore of [false, true]) {
    it(`calls are written while the app runs, ${asyncStore ? "by the consumer fiber (the store has no synchronous append)" : "by the hub's own callback (the store appends synchronously)"}; a refused one is reported, the rest kept in order`, async () => {
      const hub = Capture.make()
      const { exit, rows, errors } = await runLogged(
        Effect.gen(function* () {
          const log = yield* AuditLog.AuditLog
          for (let round = 0; round < 4; round++) {
            for (let i = 0; i < 50; i++) {
              const n = round * 50 + i
              hub.emit({ type: "tool_call", decisionId: null, span: null, payload: n === 120 ? { name: "bad", arguments: { f: () => n } } : toolEvent("t", [n]) })
            }
            // the round's calls are written while the app waits for something else, without a
            // flush (and without an entry of the app's, which would write them first): the
            // batch falls due and the hub writes it
            yield* Effect.promise(() => until(() => hub.pending() === 0, "the round's batch written"))
            expect(hub.stats().written).toBe((round + 1) * 50)
            yield* log.append("decision_record", { round })
          }
        }),
        { hub, asyncStore }
      )
      expect(exit._tag).toBe("Success")
      const stats = hub.stats()
      expect(stats.emitted).toBe(200)
      expect(stats.written).toBe(200)
      expect(stats.batches).toBeGreaterThanOrEqual(4)
      expect(stats.writeMillis).toBeGreaterThan(0)
      const calls = ofType(rows, "tool_call").map((r) => (r.payload["arguments"] as { args: Array<number> }).args[0])
      expect(calls).toEqual(Array.from({ length: 200 }, (_, n) => n).filter((n) => n !== 120))
      expect(errors.some((e) => e.includes("tool_call could not be written"))).toBe(true)
      expect(ofType(rows, "decision_record")).toHaveLength(4)
    })
  }

  it("plain async tools: success and failure recorded with redacted arguments", async () => {
    const hub = Capture.make()
    const lookup = hub.tool("lookup_customer", async (email: string, n: number) => {
      if (n < 0) throw new RangeError("n must be positive")
      return { found: true, n }
    })
    const { rows, text } = await runLoggedOk(
      Effect.promise(async () => {
        expect(await lookup("jane.doe@example.com", 2)).toEqual({ found: true, n: 2 })
        await expect(lookup("x@example.org", -1)).rejects.toThrow("n must be positive")
      }),
      { hub }
    )
    const calls = ofType(rows, "tool_call")
    expect(calls.map((c) => c.payload["outcome"])).toEqual(["success", "failure"])
    expect(calls[0]?.payload["arguments"]).toEqual({ args: ["<redacted>", 2] })
    expect(calls[1]?.payload["error"]).toBe("RangeError: n must be positive")
    expect(text).not.toContain("jane.doe")
    // the redaction is flagged
    expect(ofType(rows, "policy_flag").length).toBeGreaterThanOrEqual(2)
  })
})

describe("guard and interceptors", () => {
  const SECRET = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123456789"
  const ask = (openai: OpenAI, content: string) =>
    Effect.tryPromise({ try: () => openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content }] }), catch: (e) => e })

  it("block: the call never leaves, the app gets PolicyViolation, one policy_flag is the only record", async () => {
    const hub = Capture.make()
    const { openai } = clients(hub)
    const { exit, rows, text } = await runLogged(ask(openai, `use the key ${SECRET} to call the bureau`), { hub, interceptors: [Guard.interceptor()] })
    expect(server().received).toHaveLength(0)
    expect(Exit.isFailure(exit)).toBe(true)
    const failure = Exit.isFailure(exit) ? Option.getOrThrow(Exit.causeOption(exit).pipe(Option.flatMap((c) => Option.fromNullable(c._tag === "Fail" ? c.error : null)))) : null
    const refusal = Capture.refusalOf(failure)
    expect(Option.isSome(refusal) && refusal.value instanceof Guard.PolicyViolation).toBe(true)
    const violation = Option.getOrThrow(refusal) as Guard.PolicyViolation
    expect(violation.findings).toEqual([{ category: "api_key", group: "secret", count: 1, action: "block" }])
    expect(violation.message).not.toContain(SECRET)
    expect(ofType(rows, "llm_call")).toHaveLength(0)
    const flags = ofType(rows, "policy_flag")
    expect(flags).toHaveLength(1)
    expect(flags[0]?.payload).toMatchObject({ action: "blocked", severity: "critical" })
    expect(text).not.toContain(SECRET)
  })

  it("redact: the request is rewritten before it leaves, and both the flag and the call are recorded", async () => {
    const hub = Capture.make()
    const { openai } = clients(hub)
    const { exit, rows } = await runLogged(ask(openai, "reply to jane.doe@example.com about her loan"), { hub, interceptors: [Guard.interceptor()] })
    expect(Exit.isSuccess(exit)).toBe(true)
    const sent = (server().received[0]?.body["messages"] as Array<{ content: string }>)[0]?.content
    expect(sent).toBe("reply to <redacted> about her loan")
    expect(ofType(rows, "policy_flag").map((f) => [f.payload["action"], f.payload["severity"]])).toEqual([["redacted", "info"]])
    expect(ofType(rows, "llm_call")).toHaveLength(1)
  })

  it("a request body sent as a stream or as bytes is inspected too", async () => {
    const hub = Capture.make()
    const body = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: `key ${SECRET}` }] })
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        const asStream = await hub.fetch(`${server().url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: new Blob([body]).stream(),
          duplex: "half"
        } as RequestInit)
        expect(asStream.status).toBe(403)
        const asBytes = await hub.fetch(`${server().url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: new TextEncoder().encode(body) })
        expect(asBytes.status).toBe(403)
        expect(asBytes.headers.get("x-should-retry")).toBe("false")
      }),
      { hub, interceptors: [Guard.interceptor()] }
    )
    expect(server().received).toHaveLength(0)
    expect(ofType(rows, "policy_flag").map((f) => f.payload["action"])).toEqual(["blocked", "blocked"])
  })

  it("flag: recorded, and the call goes as it is; allow: nothing recorded", async () => {
    const hub = Capture.make()
    const { openai } = clients(hub)
    const flagged = await runLoggedOk(ask(openai, "reply to jane.doe@example.com"), { hub, interceptors: [Guard.interceptor({ action: "flag" })] })
    expect((server().received[0]?.body["messages"] as Array<{ content: string }>)[0]?.content).toBe("reply to jane.doe@example.com")
    expect(ofType(flagged.rows, "policy_flag").map((f) => f.payload["action"])).toEqual(["flagged"])
    expect(ofType(flagged.rows, "llm_call")).toHaveLength(1)

    const hub2 = Capture.make()
    const allowed = await runLoggedOk(ask(clients(hub2).openai, "reply to jane.doe@example.com"), { hub: hub2, interceptors: [Guard.interceptor({ categories: { email: "allow" } })] })
    expect(ofType(allowed.rows, "policy_flag")).toHaveLength(0)
    expect(ofType(allowed.rows, "llm_call")).toHaveLength(1)
  })

  class NotOnWeekends extends Schema.TaggedError<NotOnWeekends>()("NotOnWeekends", { model: Schema.NullOr(Schema.String) }) {}

  it("a custom interceptor refuses with the app's own error; the server never sees it; exactly one policy_flag", async () => {
    const hub = Capture.make()
    const { openai } = clients(hub)
    const refuse: Capture.Interceptor<NotOnWeekends | unknown> = (call) =>
      call.model === "gpt-4o"
        ? Effect.zipRight(AuditLog.flag("weekend freeze", { action: "blocked", data: { model: call.model } }), Effect.fail(new NotOnWeekends({ model: call.model })))
        : Effect.succeed(call)
    const { exit, rows } = await runLogged(ask(openai, "hello"), { hub, interceptors: [refuse] })
    expect(server().received).toHaveLength(0)
    const error = Exit.isFailure(exit) ? Exit.causeOption(exit).pipe(Option.flatMap((c) => Option.fromNullable(c._tag === "Fail" ? c.error : null))) : Option.none()
    const own = Option.flatMap(error, Capture.refusalOf)
    expect(Option.isSome(own) && own.value instanceof NotOnWeekends).toBe(true)
    const flags = ofType(rows, "policy_flag")
    expect(flags).toHaveLength(1)
    expect(flags[0]?.payload).toMatchObject({ reason: "weekend freeze", action: "blocked" })
    expect(ofType(rows, "llm_call")).toHaveLength(0)
  })

  it("interceptors run in the order given, each seeing the previous one's rewrite; a refused tool is never run", async () => {
    const hub = Capture.make()
    const { openai } = clients(hub)
    const seen: Array<string> = []
    const tag = (label: string): Capture.Interceptor => (call) =>
      Effect.sync(() => {
        if (call.kind !== "llm") return call
        const messages = call.messages as Array<{ role: string; content: string }>
        seen.push(`${label}:${messages[0]?.content}`)
        return { ...call, messages: [{ ...messages[0]!, content: `${messages[0]?.content}+${label}` }] }
      })
    let ran = 0
    const transfer = hub.tool("transfer_funds", async (_to: string) => {
      ran++
      return "done"
    })
    const noTransfers: Capture.Interceptor<Error | unknown> = (call) =>
      call.kind === "tool" && call.tool === "transfer_funds"
        ? Effect.zipRight(AuditLog.flag("tool not allowed", { action: "blocked" }), Effect.fail(new Error("transfers are disabled")))
        : Effect.succeed(call)
    const { rows } = await runLoggedOk(
      Effect.gen(function* () {
        yield* ask(openai, "x")
        const r = yield* Effect.either(Effect.tryPromise({ try: () => transfer("acct-1"), catch: (e) => e }))
        expect(r._tag).toBe("Left")
      }),
      { hub, interceptors: [tag("a"), noTransfers, tag("b")] }
    )
    expect(seen).toEqual(["a:x", "b:x+a"])
    expect((server().received[0]?.body["messages"] as Array<{ content: string }>)[0]?.content).toBe("x+a+b")
    expect(ran).toBe(0)
    expect(ofType(rows, "tool_call")).toHaveLength(0)
    expect(ofType(rows, "policy_flag").map((f) => f.payload["reason"])).toEqual(["tool not allowed"])
  })
})

describe("context_assembly", () => {
  it("records model, budget, used and what was kept, dropped, truncated and summarized", async () => {
    const { rows } = await runLoggedOk(
      Effect.gen(function* () {
        const log = yield* AuditLog.AuditLog
        yield* log.withDecision({ input: {}, actor: "agent" }, () =>
          AuditLog.contextAssembly({
            model: "gpt-4o",
            budget: 8000,
            used: 7421,
            kept: [{ id: "policy.md", tokens: 2100 }, "msg-1"],
            dropped: [{ id: "faq.md", tokens: 3000, reason: "over budget" }],
            truncated: [{ id: "history", tokens: 900 }],
            summarized: []
          })
        )
      })
    )
    const [c] = ofType(rows, "context_assembly")
    expect(c?.payload).toMatchObject({
      model: "gpt-4o",
      budget: 8000,
      used: 7421,
      decisions: { kept: [{ id: "policy.md", tokens: 2100 }, "msg-1"], dropped: [{ id: "faq.md", reason: "over budget" }], truncated: [{ id: "history" }], summarized: [] }
    })
    expect(typeof c?.payload["decision_id"]).toBe("string")
  })
})
