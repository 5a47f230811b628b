/**
 * Evidence that reads in the order it happened: within a decision, an entry the app writes comes
 * after the captured calls that completed before it, and every captured call says when it
 * started (`started_at`, on the log's clock, in the form of the entries' `ts`) and how long it
 * took (`latency_ms`). Against the real loopback provider server.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import OpenAI from "openai"
import * as AuditLog from "../src/AuditLog.js"
import * as Capture from "../src/Capture.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import { type Row, runLoggedOk, useProviderServer } from "./capture-helpers.js"

const server = useProviderServer()

const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/

/** A timestamp of our form in microseconds since the epoch. */
const micros = (ts: string): number => {
  expect(ts).toMatch(TS)
  return Date.parse(`${ts.slice(0, 19)}Z`) * 1000 + Number(ts.slice(20, 26))
}

/** The decision's part of the chain, as `type` or `type:what` for the entries that name something. */
const story = (rows: ReadonlyArray<Row & { ts?: string }>) =>
  rows
    .filter((r) => r.type !== "audit_open")
    .map((r) => {
      const p = r.payload
      if (r.type === "tool_call") return `tool_call:${String(p["name"])}`
      if (r.type === "decision_record") return `decision_record:${String(p["step"])}`
      if (r.type === "llm_call") return `llm_call:${String(p["model"])}`
      return r.type
    })

describe("within a decision, the chain shows events in the order they happened", () => {
  for (const asyncStore of [false, true]) {
    it(`an app entry comes after the calls that completed before it (${asyncStore ? "a store that appends asynchronously" : "a store that appends synchronously"}); every call carries started_at and latency_ms`, async () => {
      const hub = Capture.make()
      const openai = new OpenAI({ apiKey: "k", baseURL: `${server().url}/v1`, fetch: hub.fetch, maxRetries: 0 })
      const chat = (model: string, stream = false) =>
        Effect.tryPromise(async () => {
          if (!stream) return void (await openai.chat.completions.create({ model, messages: [{ role: "user", content: "q" }] }))
          for await (const _ of await openai.chat.completions.create({ model, messages: [{ role: "user", content: "q" }], stream: true })) {
            // read to the end
          }
        })
      const lookup = hub.tool("lookup", async (n: number) => n + 1)
      const score = hub.tool("score", async () => 700)
      const { rows } = await runLoggedOk(
        Effect.gen(function* () {
          const log = yield* AuditLog.AuditLog
          yield* log.withDecision({ input: { case: 1 }, actor: "agent" }, (d) =>
            Effect.gen(function* () {
              yield* chat("gpt-4o")
              yield* d.record({ step: 1 })
              yield* Effect.promise(() => lookup(1))
              yield* d.humanOversight({ reviewer: "r", action: "approved" })
              yield* chat("gpt-4o-mini", true)
              yield* AuditLog.flag("checked", { severity: "info" })
              yield* Effect.promise(() => score())
              yield* log.contextAssembly({ model: "gpt-4o", budget: 100, used: 10 })
              yield* chat("gpt-4.1")
              yield* log.withDecision({ input: { case: 2 }, actor: "sub-agent" }, (inner) =>
                Effect.gen(function* () {
                  yield* Effect.promise(() => lookup(2))
                  yield* inner.record({ step: 2 })
                })
              )
              yield* Effect.promise(() => lookup(3))
              yield* log.append("decision_record", { step: 3 })
              yield* chat("gpt-4o")
            })
          )
        }),
        { hub, asyncStore }
      )
      expect(story(rows)).toEqual([
        "decision",
        "llm_call:gpt-4o-2024-08-06",
        "decision_record:1",
        "tool_call:lookup",
        "human_oversight",
        "llm_call:gpt-4o-mini-2024-08-06",
        "policy_flag",
        "tool_call:score",
        "context_assembly",
        "llm_call:gpt-4.1-2024-08-06",
        "decision",
        "tool_call:lookup",
        "decision_record:2",
        "decision_end",
        "tool_call:lookup",
        "decision_record:3",
        "llm_call:gpt-4o-2024-08-06",
        "decision_end"
      ])
      // when each call ran, read from the call itself: it started after the entry before it was
      // written, and it ended before the entry after it was
      const all = rows as ReadonlyArray<Row & { ts: string }>
      for (let i = 1; i < all.length - 1; i++) {
        const r = all[i]!
        if (r.type !== "llm_call" && r.type !== "tool_call") continue
        const started = micros(String(r.payload["started_at"]))
        const latency = r.payload["latency_ms"] as number
        expect(latency).toBeGreaterThanOrEqual(0)
        expect(started).toBeGreaterThanOrEqual(micros(all[i - 1]!.ts))
        // (one microsecond each way: started_at is cut to the microsecond, latency_ms rounded)
        expect(started + Math.round(latency * 1000)).toBeLessThanOrEqual(micros(all[i + 1]!.ts) + 2)
      }
    })
  }

  it("calls still queued when a decision ends come before its decision_end; a stream read after it comes after", async () => {
    const hub = Capture.make()
    const openai = new OpenAI({ apiKey: "k", baseURL: `${server().url}/v1`, fetch: hub.fetch, maxRetries: 0 })
    const { rows } = await runLoggedOk(
      Effect.gen(function* () {
        const log = yield* AuditLog.AuditLog
        const stream = yield* log.withDecision({ input: {}, actor: "agent" }, () =>
          Effect.gen(function* () {
            yield* Effect.tryPromise(() => openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "q" }] }))
            return yield* Effect.tryPromise(() => openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "q" }], stream: true }))
          })
        )
        yield* Effect.promise(async () => {
          for await (const _ of stream) {
            // read after the decision closed
          }
        })
        yield* log.flag("after")
      }),
      { hub }
    )
    expect(story(rows)).toEqual(["decision", "llm_call:gpt-4o-2024-08-06", "decision_end", "llm_call:gpt-4o-mini-2024-08-06", "policy_flag"])
  })
})

describe("started_at", () => {
  it.scoped("is read from the log's Clock, as the entries' ts are (TestClock)", () =>
    Effect.gen(function* () {
      const hub = Capture.make()
      const openai = new OpenAI({ apiKey: "k", baseURL: `${server().url}/v1`, fetch: hub.fetch, maxRetries: 0 })
      yield* Layer.build(
        AuditLog.layer({ system: "clock", riskTier: null }).pipe(
          Layer.provideMerge(Store.layerMemory()),
          Layer.provide(Signer.layerNone),
          Layer.provide(Redactor.layerNoop),
          Layer.provide(Capture.layerHub(hub))
        )
      ).pipe(
        Effect.flatMap((context) =>
          Effect.gen(function* () {
            yield* TestClock.adjust("1500 millis")
            yield* AuditLog.withDecision({ input: {}, actor: "a" }, () =>
              Effect.gen(function* () {
                yield* Effect.tryPromise(() => openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "q" }] }))
                yield* TestClock.adjust("250 millis")
                yield* Effect.promise(() => hub.tool("t", async () => 1)())
              })
            )
            const entries = yield* AuditLog.entries
            const captured = entries.filter((e) => e.type === "llm_call" || e.type === "tool_call")
            expect(captured.map((e) => [e.type, e.payload["started_at"]])).toEqual([
              ["llm_call", "1970-01-01T00:00:01.500000+00:00"],
              ["tool_call", "1970-01-01T00:00:01.750000+00:00"]
            ])
          }).pipe(Effect.provide(context))
        )
      )
    })
  )

  it("payloads keep canonical member order with started_at", () => {
    const llm = Capture.llmPayload({
      provider: "openai",
      model: "gpt-4o",
      usage: null,
      latencyMs: 1.5,
      startedAt: "2026-01-02T03:04:05.678901+00:00",
      finishReason: "stop",
      outcome: "success",
      retry: 1
    })
    const tool = Capture.toolPayload({ name: "t", arguments: { args: [] }, outcome: "failure", latencyMs: 2, startedAt: "2026-01-02T03:04:05.678901+00:00", error: "boom" })
    for (const p of [llm, tool]) {
      expect(Object.keys(p)).toEqual(Object.keys(p).sort())
      expect(p["started_at"]).toBe("2026-01-02T03:04:05.678901+00:00")
    }
  })
})
