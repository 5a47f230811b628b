/**
 * Several logs on one hub, as an adversarial app uses them: decisions of two logs nested in one
 * fiber, fibers and promises that outlive the decision (and the log) they were started in, a log
 * rebuilt on the same hub, calls an app emits by hand with odd payloads, and the clock a test
 * runs on. Each entry names only decisions of its own log, a call is written in the log of its
 * decision or nowhere, and nothing an app emits can stop a log from writing.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { setFlagsFromString } from "node:v8"
import { NodeFileSystem } from "@effect/platform-node"
import { runInNewContext } from "node:vm"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as AuditLog from "../src/AuditLog.js"
import * as Capture from "../src/Capture.js"
import * as CaptureAi from "../src/CaptureAi.js"
import * as Pricing from "../src/Pricing.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import { collectLogs, type OpenLog, openLog as openLogOn, type Row, until, withoutSyncAppend } from "./capture-helpers.js"
import { tempDir } from "./helpers.js"

const tmp = tempDir()
afterAll(tmp.cleanup)

/** An audit log over a memory store of its own on `hub`, opened in `scope`. */
const openLog = (system: string, scope: Scope.Scope, hub: Capture.Hub, options: Omit<OpenLog, "hub"> = {}) =>
  openLogOn(system, scope, { ...options, hub })

/** Two logs, "a" and "b", on one new hub, both opened in one scope (the test closes it). */
const twoLogs = Effect.gen(function* () {
  const hub = Capture.make()
  const scope = yield* Scope.make()
  const a = yield* openLog("a", scope, hub)
  const b = yield* openLog("b", scope, hub)
  return { hub, scope, a, b }
})

/** Each entry as `[type, decision_id]`, with `parent_decision_id` when it has one. */
const tags = (rows: ReadonlyArray<Row>) =>
  rows.map((r) => {
    const parent = r.payload["parent_decision_id"]
    return parent === undefined ? [r.type, r.payload["decision_id"]] : [r.type, r.payload["decision_id"], parent]
  })

describe("two logs, decisions nested across them in one fiber", () => {
  it.live("each log's entries name only its own decisions: the innermost of that log, never one the other log holds", () =>
    Effect.gen(function* () {
      const { hub, scope, a, b } = yield* twoLogs
      const tool = hub.tool("t", async () => 1)
      const ids = { a: "", b: "", a2: "" }
      yield* a.log.withDecision({ input: {}, actor: "x" }, (da) =>
        Effect.gen(function* () {
          ids.a = da.id
          yield* b.log.withDecision({ input: {}, actor: "y" }, (db) =>
            Effect.gen(function* () {
              ids.b = db.id
              // written in a, inside b's decision: a's innermost decision is da
              yield* a.log.flag("in b's decision, written in a")
              yield* a.log.append("decision_record", { step: 1 })
              // the call is made in b's decision: b's
              yield* Effect.promise(() => tool())
              // a decision of a opened inside b's: its parent is a's decision da
              yield* a.log.withDecision({ input: {}, actor: "z" }, (da2) =>
                Effect.gen(function* () {
                  ids.a2 = da2.id
                  yield* b.log.flag("in a's inner decision, written in b")
                  yield* Effect.promise(() => tool())
                })
              )
            })
          )
        })
      )
      yield* Scope.close(scope, Exit.void)
      expect(tags(yield* a.rows)).toEqual([
        ["audit_open", undefined],
        ["decision", ids.a],
        ["policy_flag", ids.a],
        ["decision_record", ids.a],
        ["decision", ids.a2, ids.a],
        ["tool_call", ids.a2],
        ["decision_end", ids.a2],
        ["decision_end", ids.a]
      ])
      expect(tags(yield* b.rows)).toEqual([
        ["audit_open", undefined],
        ["decision", ids.b],
        ["tool_call", ids.b],
        ["policy_flag", ids.b],
        ["decision_end", ids.b]
      ])
    })
  )
})

describe("two logs, decisions interleaved across fibers", () => {
  it.live("promise-based calls of two fibers, each in a decision of its own log, interleaving turn by turn, land each in its own log and decision", () =>
    Effect.gen(function* () {
      const { hub, scope, a, b } = yield* twoLogs
      const tool = hub.tool("step", async (n: number) => n)
      // plain JavaScript: awaits between calls, so the two fibers' promises interleave
      const agent = () =>
        Effect.promise(async () => {
          for (let i = 0; i < 20; i++) {
            await tool(i)
            await new Promise((r) => setImmediate(r))
          }
        })
      const ids: Record<string, string> = {}
      yield* Effect.all(
        [
          a.log.withDecision({ input: {}, actor: "a" }, (d) => Effect.zipRight(Effect.sync(() => (ids["a"] = d.id)), agent())),
          b.log.withDecision({ input: {}, actor: "b" }, (d) => Effect.zipRight(Effect.sync(() => (ids["b"] = d.id)), agent()))
        ],
        { concurrency: 2 }
      )
      yield* Scope.close(scope, Exit.void)
      for (const [name, log] of [["a", a], ["b", b]] as const) {
        const calls = (yield* log.rows).filter((r) => r.type === "tool_call")
        expect(calls.map((r) => r.payload["decision_id"])).toEqual(Array(20).fill(ids[name]))
        expect(calls.map((r) => (r.payload["arguments"] as { args: Array<number> }).args[0])).toEqual([...Array(20).keys()])
      }
      expect(hub.stats()).toMatchObject({ unrouted: 0, dropped: 0, written: 40 })
    })
  )
})

describe("a call made after its decision ended", () => {
  it.live("goes to the log of its decision while that log is open, with two logs open (not passed through)", () =>
    Effect.gen(function* () {
      const { hub, scope, a, b } = yield* twoLogs
      const tool = hub.tool("late", async () => 1)
      const go = yield* Deferred.make<void>()
      let id = ""
      // a fiber forked in b's decision, outliving it
      const late = yield* b.log.withDecision({ input: {}, actor: "x" }, (d) =>
        Effect.sync(() => (id = d.id)).pipe(Effect.zipRight(Effect.forkDaemon(Effect.zipRight(Deferred.await(go), Effect.promise(() => tool())))))
      )
      yield* Deferred.succeed(go, undefined)
      yield* Fiber.join(late)
      // and plain code naming it
      yield* Effect.promise(() => Capture.runInDecision(id, () => tool()))
      yield* Scope.close(scope, Exit.void)
      expect(tags(yield* b.rows).slice(1)).toEqual([
        ["decision", id],
        ["decision_end", id],
        ["tool_call", id],
        ["tool_call", id]
      ])
      expect(tags(yield* a.rows)).toEqual([["audit_open", undefined]])
      expect(hub.stats()).toMatchObject({ unrouted: 0, dropped: 0, written: 2 })
    })
  )

  it.live("of a log since closed is written nowhere (counted as dropped), not into a log opened later on the same hub", () =>
    Effect.gen(function* () {
      const hub = Capture.make()
      const tool = hub.tool("stale", async () => 1)
      const first = yield* Scope.make()
      const old = yield* openLog("app", first, hub)
      const go = yield* Deferred.make<void>()
      let id = ""
      const late = yield* old.log.withDecision({ input: {}, actor: "x" }, (d) =>
        Effect.sync(() => (id = d.id)).pipe(Effect.zipRight(Effect.forkDaemon(Effect.zipRight(Deferred.await(go), Effect.promise(() => tool())))))
      )
      yield* Scope.close(first, Exit.void)
      // the layer built again: a new log on the same hub, the only one open
      const second = yield* Scope.make()
      const fresh = yield* openLog("app", second, hub)
      yield* Deferred.succeed(go, undefined)
      yield* Fiber.join(late)
      yield* Effect.promise(() => Capture.runInDecision(id, () => tool()))
      // a call of no decision is the new log's
      yield* Effect.promise(() => tool())
      yield* Scope.close(second, Exit.void)
      expect(tags(yield* fresh.rows)).toEqual([
        ["audit_open", undefined],
        ["tool_call", null]
      ])
      expect(hub.stats()).toMatchObject({ dropped: 2, unrouted: 0 })
    })
  )
})

describe("what an app emits by hand", () => {
  it.live("a call with a model that is no string is recorded (cost null), and the log goes on writing (an app entry does not wait forever)", () =>
    Effect.gen(function* () {
      const hub = Capture.make()
      const { logger } = collectLogs()
      const scope = yield* Scope.make()
      const a = yield* Effect.provide(openLog("a", scope, hub), logger)
      // type-correct: a payload is any record
      hub.emit({ type: "llm_call", decisionId: null, span: null, payload: { provider: "openai", model: 4, usage: null } })
      hub.emit({ type: "tool_call", decisionId: null, span: null, payload: { name: "after", arguments: {} } })
      const flagged = yield* a.log.flag("after the odd call").pipe(Effect.timeout("5 seconds"), Effect.either)
      expect(flagged._tag).toBe("Right")
      hub.emit({ type: "tool_call", decisionId: null, span: null, payload: { name: "later", arguments: {} } })
      yield* Scope.close(scope, Exit.void)
      const rows = yield* a.rows
      expect(rows.map((r) => [r.type, r.payload["name"] ?? r.payload["model"] ?? r.payload["reason"]])).toEqual([
        ["audit_open", undefined],
        ["llm_call", 4],
        ["tool_call", "after"],
        ["policy_flag", "after the odd call"],
        ["tool_call", "later"]
      ])
      expect(rows[1]!.payload["cost"]).toBeNull()
      expect(hub.stats()).toMatchObject({ emitted: 3, written: 3 })
    })
  )

  it.live("a store that dies writing a batch of calls: said, and the log goes on writing (an app entry does not wait forever)", () =>
    Effect.gen(function* () {
      const hub = Capture.make()
      const { errors, logger } = collectLogs()
      let dying = true
      const scope = yield* Scope.make()
      const { log } = yield* openLog("a", scope, hub, {
        logger,
        // (no synchronous append: the consumer fiber writes the calls)
        store: (memory) => ({
          ...memory,
          append: (lines) => (dying && lines.some((l) => l.includes('"tool_call"')) ? Effect.die(new Error("the disk is gone")) : memory.append(lines))
        })
      })
      yield* Effect.promise(() => hub.tool("lost", async () => 1)())
      const flagged = yield* log.flag("after the lost call").pipe(Effect.timeout("5 seconds"), Effect.either)
      expect(flagged._tag).toBe("Right")
      dying = false
      yield* Effect.promise(() => hub.tool("kept", async () => 1)())
      const entries = yield* log.entries.pipe(Effect.timeout("5 seconds"))
      yield* Scope.close(scope, Exit.void)
      expect(entries.map((e) => [e.type, e.payload["name"] ?? e.payload["reason"]])).toEqual([
        ["audit_open", undefined],
        ["policy_flag", "after the lost call"],
        ["tool_call", "kept"]
      ])
      expect(errors.join("\n")).toMatch(/captured tool_call could not be written: .*the disk is gone/)
    })
  )

  it.live("a pricing service that dies on a call: said, the call written unpriced, and the log goes on writing (an app entry does not wait forever)", () =>
    Effect.gen(function* () {
      const hub = Capture.make()
      const { errors, logger } = collectLogs()
      // an app's own table: it knows no model, and its warning for one dies
      const pricing: Pricing.PricingService = {
        price: () => Option.none(),
        quote: () => ({ cost: null, known: false }),
        cost: () => Effect.die(new Error("the price list is gone"))
      }
      const scope = yield* Scope.make()
      // (no synchronous append, as a file with group commit: the consumer fiber writes the calls)
      const { log } = yield* openLog("a", scope, hub, { store: withoutSyncAppend, pricing, logger })
      hub.emit({ type: "llm_call", decisionId: null, span: null, payload: { provider: "acme", model: "m-1", usage: null } })
      const flagged = yield* log.flag("after the call").pipe(Effect.timeout("5 seconds"), Effect.either)
      expect(flagged._tag).toBe("Right")
      hub.emit({ type: "tool_call", decisionId: null, span: null, payload: { name: "kept", arguments: {} } })
      const entries = yield* log.entries.pipe(Effect.timeout("5 seconds"))
      yield* Scope.close(scope, Exit.void)
      // the call is written all the same, unpriced
      expect(entries.map((e) => [e.type, e.payload["cost"]])).toEqual([
        ["audit_open", undefined],
        ["llm_call", null],
        ["policy_flag", undefined],
        ["tool_call", undefined]
      ])
      expect(errors.join("\n")).toMatch(/the pricing service failed .*the price list is gone/)
    })
  )
})

describe("a call's time, on the log's clock", () => {
  it.effect("under TestClock, started_at, latency_ms and ts tell one story: a call over which the clock moved 250 ms took 250 ms, and one over which it stood still took 0", () =>
    Effect.gen(function* () {
      const log = yield* AuditLog.AuditLog
      let release = () => {}
      const slow = log.capture.tool("slow", () => new Promise<number>((resolve) => (release = () => resolve(1))))
      // real time passes during this one, the test's clock does not
      const still = log.capture.tool("still", () => new Promise<number>((resolve) => setTimeout(() => resolve(2), 30)))
      yield* TestClock.adjust("1 second")
      yield* AuditLog.withDecision({ input: {}, actor: "a" }, () =>
        Effect.gen(function* () {
          const running = yield* Effect.sync(() => slow())
          yield* TestClock.adjust("250 millis")
          release()
          yield* Effect.promise(() => running)
          yield* Effect.promise(() => still())
          yield* AuditLog.flag("after")
        })
      )
      const entries = yield* AuditLog.entries
      const calls = entries.filter((e) => e.type === "tool_call").map((e) => [e.payload["name"], e.payload["started_at"], e.payload["latency_ms"]])
      expect(calls).toEqual([
        ["slow", "1970-01-01T00:00:01.000000+00:00", 250],
        ["still", "1970-01-01T00:00:01.250000+00:00", 0]
      ])
      expect(entries.find((e) => e.type === "policy_flag")?.ts).toBe("1970-01-01T00:00:01.250000+00:00")
    }).pipe(Effect.provide(AuditLog.layerTest()))
  )

  it.effect("CaptureAi: a model call that took 300 ms of the test's clock has latency_ms 300", () =>
    Effect.gen(function* () {
      const inner = yield* LanguageModel.make({
        generateText: () =>
          Effect.as(Effect.sleep("300 millis"), [
            { type: "text", text: "ok" },
            { type: "finish", reason: "stop", usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } }
          ] as Array<Response.PartEncoded>),
        streamText: () => Stream.empty
      })
      const model = yield* CaptureAi.decorate(inner, { provider: "local", model: "m" })
      yield* TestClock.adjust("2 seconds")
      const running = yield* Effect.fork(model.generateText({ prompt: "x" }))
      yield* TestClock.adjust("300 millis")
      yield* Fiber.join(running)
      const call = (yield* AuditLog.entries).find((e) => e.type === "llm_call")
      expect(call?.payload).toMatchObject({ started_at: "1970-01-01T00:00:02.000000+00:00", latency_ms: 300 })
      expect(call?.ts).toBe("1970-01-01T00:00:02.300000+00:00")
    }).pipe(Effect.provide(AuditLog.layerTest()))
  )
})

describe("AuditLog.entries", () => {
  it.effect("gives back what the chain holds: a number no double holds exactly (an integer written as a bigint) as a bigint, every other number as a number", () =>
    Effect.gen(function* () {
      // made anew for the append and for the comparison: the value the log was given is not the one
      // it is compared with, so a change the append made to it would not go unseen
      const numbers = () => ({
        big: 9007199254740993n,
        huge: -(2n ** 70n + 1n),
        pow: 2 ** 60,
        safe: 9007199254740991,
        float: 0.1,
        tiny: 5e-324,
        large: 1e21,
        nested: [{ id: 12345678901234567890n }]
      })
      yield* AuditLog.append("decision_record", numbers())
      const entries = yield* AuditLog.entries
      expect(entries[1]?.payload).toEqual({ decision_id: null, ...numbers() })
      // seq and the other fields stay numbers
      expect(entries.map((e) => e.seq)).toEqual([0, 1])
    }).pipe(Effect.provide(AuditLog.layerTest()))
  )
})

describe("a slow store", () => {
  it.live("an app entry waits for the calls before it; interrupted while it waits, it is not written, and nothing else is lost or written twice", () =>
    Effect.gen(function* () {
      const hub = Capture.make()
      let open: () => void = () => {}
      let gate: Promise<void> = Promise.resolve()
      const hold = () => (gate = new Promise<void>((resolve) => (open = resolve)))
      const scope = yield* Scope.make()
      const { log } = yield* openLog("slow", scope, hub, {
        // appends asynchronously, and only when the test opens the gate
        store: (memory) => ({ ...memory, append: (lines) => Effect.zipRight(Effect.promise(() => gate), memory.append(lines)) })
      })
      hold()
      yield* Effect.promise(() => hub.tool("first", async () => 1)())
      // waits for "first", which waits for the store
      const waiting = yield* Effect.fork(log.flag("interrupted while waiting"))
      yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
      yield* Effect.yieldNow()
      expect(hub.stats().written).toBe(0)
      yield* Fiber.interrupt(waiting)
      yield* Effect.promise(() => hub.tool("second", async () => 2)())
      const after = yield* Effect.fork(log.flag("after"))
      yield* Effect.yieldNow()
      open()
      yield* Fiber.join(after)
      const entries = yield* log.entries
      yield* Scope.close(scope, Exit.void)
      expect(entries.map((e) => [e.type, e.payload["name"] ?? e.payload["reason"]])).toEqual([
        ["audit_open", undefined],
        ["tool_call", "first"],
        ["tool_call", "second"],
        ["policy_flag", "after"]
      ])
      expect(hub.stats()).toMatchObject({ emitted: 2, written: 2 })
    })
  )
  it.live("an app entry written while the log is closing still comes after the calls that completed before it", () =>
    Effect.gen(function* () {
      const hub = Capture.make()
      let open: () => void = () => {}
      let gate: Promise<void> = Promise.resolve()
      let appends = 0
      const scope = yield* Scope.make()
      const { log, rows: logRows } = yield* openLog("closing", scope, hub, {
        store: (memory) => ({ ...memory, append: (lines) => Effect.zipRight(Effect.promise(() => ((appends += 1), gate)), memory.append(lines)) })
      })
      gate = new Promise<void>((resolve) => (open = resolve))
      // the first call's batch is taken and waits for the store; the second waits in the queue
      hub.emit({ type: "tool_call", decisionId: null, span: null, payload: { name: "first", arguments: {} } })
      yield* Effect.fork(Capture.flush(hub))
      const before = appends
      yield* Effect.promise(() => until(() => appends > before, "the first batch at the store"))
      hub.emit({ type: "tool_call", decisionId: null, span: null, payload: { name: "second", arguments: {} } })
      // a second log on the hub: once the first begins to close, a call of no decision is its
      const sentinelScope = yield* Scope.make()
      const sentinel = yield* openLog("sentinel", sentinelScope, hub)
      // the log begins to close (a shutdown) while a request still writes its record
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Effect.promise(() =>
        until(() => {
          hub.emit({ type: "tool_call", decisionId: null, span: null, payload: { name: "probe", arguments: {} } })
          return hub.stats().emitted > 2
        }, "the log closing")
      )
      const late = yield* Effect.fork(Effect.either(log.flag("written during the close")))
      yield* Effect.yieldNow()
      open()
      yield* Fiber.join(closing)
      yield* Fiber.join(late)
      const story = (yield* logRows).map((r) => r.payload["name"] ?? r.payload["reason"] ?? r.type)
      yield* Scope.close(sentinelScope, Exit.void)
      expect((yield* sentinel.rows).every((r) => r.type === "audit_open" || r.payload["name"] === "probe")).toBe(true)
      // the flag, if it was written at all, comes after both calls
      if (story.includes("written during the close")) expect(story).toEqual(["audit_open", "first", "second", "written during the close"])
      else expect(story).toEqual(["audit_open", "first", "second"])
    })
  )
})

describe("AuditLog.layerTest twice in one test", () => {
  it.effect("each build is a new, empty log with its own hub, the same layer value built twice included; nested, the inner log is the one in context", () =>
    Effect.gen(function* () {
      const Test = AuditLog.layerTest()
      const write = (n: number) => Effect.zipRight(AuditLog.append("decision_record", { n }), AuditLog.entries)
      const first = yield* Effect.provide(write(1), Test)
      const second = yield* Effect.provide(write(2), Test)
      expect(first.map((e) => e.payload["n"])).toEqual([undefined, 1])
      expect(second.map((e) => e.payload["n"])).toEqual([undefined, 2])
      const [outer, inner, outerAfter] = yield* Effect.gen(function* () {
        const outerLog = yield* AuditLog.AuditLog
        yield* AuditLog.append("decision_record", { n: "outer" })
        const inner = yield* Effect.gen(function* () {
          const innerLog = yield* AuditLog.AuditLog
          expect(innerLog.capture).not.toBe(outerLog.capture)
          yield* Effect.promise(() => innerLog.capture.tool("t", async () => 1)())
          yield* AuditLog.append("decision_record", { n: "inner" })
          return yield* AuditLog.entries
        }).pipe(Effect.provide(AuditLog.layerTest({ system: "inner" })))
        yield* Effect.promise(() => outerLog.capture.tool("t", async () => 1)())
        return [yield* AuditLog.entries, inner, yield* outerLog.entries] as const
      }).pipe(Effect.provide(AuditLog.layerTest({ system: "outer" })))
      expect(inner.map((e) => e.type)).toEqual(["audit_open", "tool_call", "decision_record"])
      expect(inner[0]?.payload["system"]).toBe("inner")
      expect(outer.map((e) => e.type)).toEqual(["audit_open", "decision_record", "tool_call"])
      expect(outerAfter).toEqual(outer)
    })
  )
})

describe("a hub remembering closed logs", () => {
  it.live("keeps nothing of what a closed log wrote with alive (its memory store can be collected while the hub lives on)", () =>
    Effect.gen(function* () {
      // (every other test here closes its logs: while one is open, async context tracking is on,
      // and a finished fiber can be held a while by the promises and timers made while it ran)
      setFlagsFromString("--expose-gc")
      const gc = runInNewContext("gc") as () => void
      const hub = Capture.make()
      let id = ""
      // the store, held only weakly from here on
      const opened = yield* Effect.gen(function* () {
        const scope = yield* Scope.make()
        const { log, memory } = yield* openLog("gone", scope, hub)
        yield* log.withDecision({ input: {}, actor: "a" }, (d) => Effect.zipRight(Effect.sync(() => (id = d.id)), d.record({ blob: "x".repeat(1 << 20) })))
        yield* Scope.close(scope, Exit.void)
        return new WeakRef(memory)
      })
      for (let i = 0; i < 5 && opened.deref() !== undefined; i++) {
        yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
        gc()
      }
      expect(opened.deref()).toBeUndefined()
      // the hub still knows the closed log's decision: a late call of it is dropped, not written
      // in a log opened since
      const scope = yield* Scope.make()
      const next = yield* openLog("next", scope, hub)
      yield* Effect.promise(() => Capture.runInDecision(id, () => hub.tool("late", async () => 1)()))
      yield* Scope.close(scope, Exit.void)
      expect(hub.stats().dropped).toBe(1)
      expect((yield* next.rows).map((r) => r.type)).toEqual(["audit_open"])
    })
  )
})

describe("a file log with group commit (appends off the event loop)", () => {
  it.live("two logs, concurrent decisions of each: in each file, every decision's calls come before the entry the app wrote after them, and before its end", () =>
    Effect.gen(function* () {
      const hub = Capture.make()
      const tool = hub.tool("step", async (n: number) => n)
      const scope = yield* Scope.make()
      const open = (name: string) =>
        Effect.map(
          Layer.buildWithScope(
            AuditLog.layer({ system: name, riskTier: null }).pipe(
              Layer.provide(Store.layerFile(join(tmp.dir, `${name}.jsonl`))),
              Layer.provide(Signer.layerNone),
              Layer.provide(Redactor.layerNoop),
              Layer.provide(Capture.layerHub(hub)),
              Layer.provide(NodeFileSystem.layer)
            ),
            scope
          ),
          (context) => Context.get(context, AuditLog.AuditLog)
        )
      const logs = [yield* open("group-a"), yield* open("group-b")]
      // four decisions in each log at once, each: a call, a record, a call, a record
      const decision = (log: AuditLog.AuditLogService, k: number) =>
        log.withDecision({ input: { k }, actor: "agent" }, (d) =>
          Effect.gen(function* () {
            for (let step = 0; step < 2; step++) {
              yield* Effect.promise(() => tool(k * 10 + step))
              yield* d.record({ step })
            }
          })
        )
      yield* Effect.all(
        logs.flatMap((log) => [0, 1, 2, 3].map((k) => decision(log, k))),
        { concurrency: "unbounded" }
      )
      yield* Scope.close(scope, Exit.void)
      for (const name of ["group-a", "group-b"]) {
        const rows = readFileSync(join(tmp.dir, `${name}.jsonl`), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Row)
        const ids = [...new Set(rows.filter((r) => r.type === "decision").map((r) => r.payload["decision_id"] as string))]
        expect(ids).toHaveLength(4)
        for (const id of ids) {
          const story = rows
            .filter((r) => r.payload["decision_id"] === id)
            .map((r) => (r.type === "tool_call" ? "call" : r.type === "decision_record" ? `record:${String(r.payload["step"])}` : r.type))
          expect(story).toEqual(["decision", "call", "record:0", "call", "record:1", "decision_end"])
        }
      }
      expect(hub.stats()).toMatchObject({ emitted: 16, written: 16, unrouted: 0, dropped: 0 })
    })
  )
})
