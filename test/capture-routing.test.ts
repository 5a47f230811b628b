/**
 * Several audit logs open at once in one process, on the default capture hub: each call is
 * written in the log of the decision it was made in, else in the only open log; with no log open
 * (or several and no decision of theirs) it is passed through, counted, and written nowhere,
 * never into a log that opens later. Against the real loopback provider server.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import OpenAI from "openai"
import * as AuditLog from "../src/AuditLog.js"
import * as Capture from "../src/Capture.js"
import * as CaptureAi from "../src/CaptureAi.js"
import { openLog as openLogWith, type Row, useProviderServer } from "./capture-helpers.js"

const server = useProviderServer()

/** An audit log over a memory store of its own, on the default hub unless `hub` is given, opened in `scope`. */
const openLog = (system: string, scope: Scope.Scope, hub?: Capture.Hub) => openLogWith(system, scope, { hub })

const calls = (rows: ReadonlyArray<Row>) => rows.filter((r) => r.type === "llm_call" || r.type === "tool_call")

/** The content of each request the server received, in order. */
const sent = () => server().received.map((r) => (r.body["messages"] as Array<{ content: string }>)[0]?.content)

describe("two audit logs open at once, both on the default hub", () => {
  it.live("each captures the calls of its own decisions; a call in no decision goes to the only open log, or with several open is passed through and counted", () =>
    Effect.gen(function* () {
      const openai = new OpenAI({ apiKey: "k", baseURL: `${server().url}/v1`, fetch: Capture.fetch, maxRetries: 0 })
      const ask = (content: string) => Effect.tryPromise(() => openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content }] }))
      const lookup = Capture.tool("lookup", async (n: number) => n * 2)
      const before = Capture.defaultHub.stats()

      const scopeA = yield* Scope.make()
      const scopeB = yield* Scope.make()
      const a = yield* openLog("log-a", scopeA)
      // (a second log on the default hub failed with CaptureInUse)
      const b = yield* openLog("log-b", scopeB)
      const ids: Record<string, string> = {}
      yield* a.run(AuditLog.withDecision({ input: {}, actor: "agent" }, (d) => Effect.zipRight(Effect.sync(() => (ids["a"] = d.id)), ask("in a"))))
      // a decision of b held open by a fiber of its own, while this fiber is in no decision
      const opened = yield* Deferred.make<void>()
      const done = yield* Deferred.make<void>()
      const inB = yield* Effect.fork(
        b.run(
          AuditLog.withDecision({ input: {}, actor: "agent" }, (d) =>
            Effect.gen(function* () {
              ids["b"] = d.id
              yield* ask("in b")
              expect(yield* Effect.promise(() => lookup(21))).toBe(42)
              yield* Deferred.succeed(opened, undefined)
              yield* Deferred.await(done)
            })
          )
        )
      )
      yield* Deferred.await(opened)
      expect(yield* AuditLog.currentDecisionId).toBeNull()
      // two logs open and no decision: which log it belongs to is unknown
      yield* ask("in no decision, two logs open")
      expect(Capture.defaultHub.stats().unrouted - before.unrouted).toBe(1)
      // a decision named explicitly is routed to the log holding it
      yield* Effect.promise(() => Capture.runInDecision(ids["b"]!, () => lookup(1)))
      yield* Deferred.succeed(done, undefined)
      yield* Fiber.join(inB)
      // once it ended, a call naming it is still b's (the hub remembers whose it was), even with
      // two logs open
      yield* Effect.promise(() => Capture.runInDecision(ids["b"]!, () => lookup(2)))

      yield* Scope.close(scopeB, Exit.void)
      // one log open: a call in no decision is that log's
      yield* ask("in no decision, only a open")
      yield* Scope.close(scopeA, Exit.void)
      // no log open: passed through, counted, written nowhere
      yield* ask("no log open")
      const scopeC = yield* Scope.make()
      const c = yield* openLog("log-c", scopeC)
      yield* Scope.close(scopeC, Exit.void)
      const rowsC = yield* c.rows

      // every request reached the provider
      expect(sent()).toEqual(["in a", "in b", "in no decision, two logs open", "in no decision, only a open", "no log open"])
      expect(calls(yield* a.rows).map((r) => [r.type, r.payload["decision_id"]])).toEqual([
        ["llm_call", ids["a"]],
        ["llm_call", null]
      ])
      expect(calls(yield* b.rows).map((r) => [r.type, r.payload["decision_id"]])).toEqual([
        ["llm_call", ids["b"]],
        ["tool_call", ids["b"]],
        ["tool_call", ids["b"]],
        ["tool_call", ids["b"]]
      ])
      expect(calls(rowsC)).toEqual([])
      const after = Capture.defaultHub.stats()
      expect(after.unrouted - before.unrouted).toBe(2)
      expect(after.emitted - before.emitted).toBe(6)
      expect(after.written - before.written).toBe(6)
      expect(after.dropped - before.dropped).toBe(0)
    })
  )

  it.live("CaptureAi: a model built over one log records a call in the log of the decision it was made in, and a call in no decision in its own log", () =>
    Effect.gen(function* () {
      const local = LanguageModel.make({
        generateText: () =>
          Effect.succeed<Array<Response.PartEncoded>>([
            { type: "text", text: "ok" },
            { type: "finish", reason: "stop", usage: { inputTokens: 3, outputTokens: 1, totalTokens: 4 } }
          ]),
        streamText: () => Stream.empty
      })
      const scopeA = yield* Scope.make()
      const scopeB = yield* Scope.make()
      const a = yield* openLog("ai-a", scopeA)
      const b = yield* openLog("ai-b", scopeB)
      const model = yield* a.run(Effect.flatMap(local, (inner) => CaptureAi.decorate(inner, { provider: "local", model: "m" })))
      let idB = ""
      yield* b.run(AuditLog.withDecision({ input: {}, actor: "agent" }, (d) => Effect.zipRight(Effect.sync(() => (idB = d.id)), model.generateText({ prompt: "x" }))))
      yield* model.generateText({ prompt: "y" })
      yield* Scope.close(scopeB, Exit.void)
      yield* Scope.close(scopeA, Exit.void)
      expect(calls(yield* b.rows).map((r) => r.payload["decision_id"])).toEqual([idB])
      expect(calls(yield* a.rows).map((r) => r.payload["decision_id"])).toEqual([null])
    })
  )

  it.live("a log with a hub of its own (Capture.layerHub) beside one on the default hub: each hub's calls go to its own logs", () =>
    Effect.gen(function* () {
      const own = Capture.make()
      const viaOwn = new OpenAI({ apiKey: "k", baseURL: `${server().url}/v1`, fetch: own.fetch, maxRetries: 0 })
      const viaDefault = new OpenAI({ apiKey: "k", baseURL: `${server().url}/v1`, fetch: Capture.fetch, maxRetries: 0 })
      const create = (client: OpenAI, content: string) => Effect.tryPromise(() => client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content }] }))
      const scope = yield* Scope.make()
      const mine = yield* openLog("own-hub", scope, own)
      const app = yield* openLog("default-hub", scope)
      yield* create(viaOwn, "own")
      yield* create(viaDefault, "default")
      yield* Scope.close(scope, Exit.void)
      expect(calls(yield* mine.rows)).toHaveLength(1)
      expect(calls(yield* app.rows)).toHaveLength(1)
      expect(own.stats()).toMatchObject({ emitted: 1, written: 1, unrouted: 0 })
    })
  )
})

describe("one log closing while another stays open", () => {
  it.live("records its own open calls (unread, pending) and leaves the other log's alone", () =>
    Effect.gen(function* () {
      const hub = Capture.make({ unreadAfter: "1 hour" })
      const openai = new OpenAI({ apiKey: "k", baseURL: `${server().url}/v1`, fetch: hub.fetch, maxRetries: 0 })
      const stream = (content: string) =>
        Effect.tryPromise(() => openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content }], stream: true, stream_options: { include_usage: true } }))
      let release = () => {}
      const slowTool = hub.tool("slow", () => new Promise<string>((resolve) => (release = () => resolve("done"))))
      const scopeA = yield* Scope.make()
      const scopeB = yield* Scope.make()
      const a = yield* openLog("closing", scopeA, hub)
      const b = yield* openLog("staying", scopeB, hub)
      yield* a.run(AuditLog.withDecision({ input: {}, actor: "agent" }, () => stream("a")))
      const [inB, running] = yield* b.run(
        AuditLog.withDecision({ input: {}, actor: "agent" }, () => Effect.zip(stream("b"), Effect.sync(() => slowTool())))
      )
      expect(hub.stats().open).toBe(2)
      yield* Scope.close(scopeA, Exit.void)
      // a's unread call is recorded in a; b's response and b's running tool are still open
      expect(hub.stats()).toMatchObject({ open: 1, unread: 1, pendingAtClose: 0 })
      for (const r of calls(yield* a.rows)) expect(r.payload).toMatchObject({ outcome: "unread" })
      yield* Effect.promise(async () => {
        for await (const _ of inB) {
          // read in b, after a closed
        }
      })
      release()
      expect(yield* Effect.promise(() => running)).toBe("done")
      yield* Scope.close(scopeB, Exit.void)
      expect(calls(yield* a.rows)).toHaveLength(1)
      expect(calls(yield* b.rows).map((r) => [r.type, r.payload["outcome"]])).toEqual([
        ["llm_call", "success"],
        ["tool_call", "success"]
      ])
      expect(hub.stats()).toMatchObject({ open: 0, unread: 1, pendingAtClose: 0, lateResponses: 0, dropped: 0 })
    })
  )
})

describe("calls made while no log is open", () => {
  it.live("are passed through and counted, never buffered, and never written into a log that opens later", () =>
    Effect.gen(function* () {
      const hub = Capture.make()
      const openai = new OpenAI({ apiKey: "k", baseURL: `${server().url}/v1`, fetch: hub.fetch, maxRetries: 0 })
      const r = yield* Effect.tryPromise(() => openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "early" }] }))
      expect(r.model).toBe("gpt-4o-2024-08-06")
      expect(yield* Effect.promise(() => hub.tool("early_tool", async () => "ran")())).toBe("ran")
      for (let i = 0; i < 10_000; i++) hub.emit({ type: "tool_call", decisionId: null, span: null, payload: { name: "burst", arguments: { i } } })
      // nothing held for a log to come
      expect(hub.pending()).toBe(0)
      expect(hub.stats()).toMatchObject({ emitted: 0, unrouted: 10_002, open: 0 })
      const scope = yield* Scope.make()
      const later = yield* openLog("later", scope, hub)
      yield* Capture.flush(hub)
      yield* Scope.close(scope, Exit.void)
      expect(calls(yield* later.rows)).toEqual([])
      expect(server().received).toHaveLength(1)
    })
  )
})
