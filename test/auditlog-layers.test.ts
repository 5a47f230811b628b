/**
 * The log's layers as an Effect user composes them: a memory log that needs no file system (it is
 * asked for by `export`, which writes a file), the module-level accessors next to `flag` and
 * `append`, and `AuditLog.layerTest` for an app's own tests.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type * as FileSystem from "@effect/platform/FileSystem"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import OpenAI from "openai"
import * as AuditLog from "../src/AuditLog.js"
import * as Capture from "../src/Capture.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import { useProviderServer } from "./capture-helpers.js"
import { tempDir } from "./helpers.js"

const tmp = tempDir()
afterAll(tmp.cleanup)
const server = useProviderServer()

/** An audit log over a memory store: nothing here names a file system. */
const memoryLog = AuditLog.layer({ system: "memory", riskTier: "minimal" }).pipe(
  Layer.provide(Store.layerMemory()),
  Layer.provide(Signer.layerHmac(Redacted.make("memory-key"))),
  Layer.provide(Redactor.layerDefault)
)

// Checked by the compiler (`tsc --noEmit` covers the tests): the layer's requirements are met, and
// FileSystem is none of them; `export` is the one thing that asks for it.
type Requirements<L> = L extends Layer.Layer<infer _A, infer _E, infer R> ? R : never
const needsNothing: [Requirements<typeof memoryLog>] extends [never] ? true : false = true
type ExportNeeds = Effect.Effect.Context<ReturnType<AuditLog.AuditLogService["export"]>>
const exportNeedsFileSystem: [ExportNeeds] extends [FileSystem.FileSystem] ? ([FileSystem.FileSystem] extends [ExportNeeds] ? true : false) : false = true

describe("a memory log needs no file system", () => {
  it("builds, writes and reads back with no FileSystem anywhere; export asks for one only to write its file", async () => {
    expect([needsNothing, exportNeedsFileSystem]).toEqual([true, true])
    const pack = join(tmp.dir, "memory-pack.jsonl")
    const exit = await Effect.runPromiseExit(
      Effect.gen(function* () {
        yield* AuditLog.withDecision({ input: { n: 1 }, actor: "a" }, (d) => d.record({ ok: true }))
        const entries = yield* AuditLog.entries
        expect(entries.map((e) => e.type)).toEqual(["audit_open", "decision", "decision_record", "decision_end"])
        const log = yield* AuditLog.AuditLog
        // the file system is given to export alone
        const done = yield* log.export(pack, { framework: "gdpr" }).pipe(Effect.provide(NodeFileSystem.layer))
        expect(done.entries).toBe(4)
      }).pipe(Effect.provide(memoryLog))
    )
    expect(exit).toStrictEqual(Exit.void)
    const verdict = Verify.lines(readFileSync(pack, "utf8").split("\n"), { key: Redacted.make("memory-key") })
    expect(verdict._tag).toBe("Right")
  })
})

describe("module-level accessors", () => {
  it.effect("AuditLog.decision (scoped) and AuditLog.withDecision (with the handle, data-first and pipeable) write in the log in context", () =>
    Effect.gen(function* () {
      const ids: Array<string> = []
      yield* Effect.scoped(
        Effect.gen(function* () {
          const d = yield* AuditLog.decision({ input: { form: "scoped" }, actor: "a" })
          ids.push(d.id)
          expect(yield* AuditLog.currentDecisionId).toBe(d.id)
          yield* d.record({ form: "scoped" })
        })
      )
      const value = yield* AuditLog.withDecision({ input: { form: "handle" }, actor: "a" }, (d) =>
        Effect.map(d.record({ form: "handle" }), () => {
          ids.push(d.id)
          return "handle"
        })
      )
      expect(value).toBe("handle")
      const recordHere = Effect.flatMap(AuditLog.currentDecisionId, (id) => Effect.as(AuditLog.append("decision_record", { form: String(id === null ? "none" : "inside") }), id))
      const piped = yield* recordHere.pipe(AuditLog.withDecision({ input: { form: "pipeable" }, actor: "a" }))
      const first = yield* AuditLog.withDecision(recordHere, { input: { form: "data-first" }, actor: "a" })
      ids.push(piped!, first!)
      // a failure inside is the decision's outcome, and the caller's
      const failed = yield* Effect.either(Effect.fail("no").pipe(AuditLog.withDecision({ input: { form: "failing" }, actor: "a" })))
      expect(failed._tag).toBe("Left")
      const entries = yield* AuditLog.entries
      const decisions = entries.filter((e) => e.type === "decision").map((e) => e.payload["decision_id"])
      expect(decisions.slice(0, 4)).toEqual(ids)
      expect(new Set(ids).size).toBe(4)
      for (const id of ids) {
        const mine = entries.filter((e) => e.payload["decision_id"] === id).map((e) => e.type)
        expect(mine).toEqual(["decision", "decision_record", "decision_end"])
      }
      expect(entries.filter((e) => e.type === "decision_end").map((e) => e.payload["outcome"])).toEqual(["success", "success", "success", "success", "failure"])
    }).pipe(Effect.provide(AuditLog.layerTest()))
  )
})

describe("AuditLog.layerTest", () => {
  it.effect("a memory log, unsigned and unredacted, on the TestClock; AuditLog.entries reads back what was written, captured calls included", () =>
    Effect.gen(function* () {
      const log = yield* AuditLog.AuditLog
      yield* TestClock.adjust("2 seconds")
      yield* AuditLog.withDecision({ input: { applicant: "jane.doe@example.com" }, actor: "agent" }, () =>
        Effect.gen(function* () {
          yield* Effect.promise(() => log.capture.tool("lookup", async () => "found")())
          yield* AuditLog.flag("checked", { severity: "info" })
        })
      )
      const entries = yield* AuditLog.entries
      expect(entries.map((e) => e.type)).toEqual(["audit_open", "decision", "tool_call", "policy_flag", "decision_end"])
      expect(entries[0]?.payload).toMatchObject({ system: "test", risk_tier: null })
      expect(entries[0]?.payload).not.toHaveProperty("signing")
      // unredacted, unsigned, stamped by the TestClock
      expect(entries[1]?.payload["input"]).toEqual({ applicant: "jane.doe@example.com" })
      for (const e of entries) expect(e.sig).toBe("")
      expect(entries[2]).toMatchObject({ ts: "1970-01-01T00:00:02.000000+00:00", payload: { name: "lookup", started_at: "1970-01-01T00:00:02.000000+00:00" } })
      expect(entries.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4])
      expect(entries[4]?.prev_hash).toBe(entries[3]?.hash)
    }).pipe(Effect.provide(AuditLog.layerTest()))
  )

  it.effect("takes the store, redactor and signer it is given", () =>
    Effect.gen(function* () {
      for (let i = 0; i < 5; i++) yield* AuditLog.append("decision_record", { note: `mail ${i}@example.com` })
      const entries = yield* AuditLog.entries
      // a ring of three: the oldest are gone
      expect(entries.map((e) => e.seq)).toEqual([8, 9, 10])
      expect(entries.filter((e) => e.type === "decision_record").map((e) => e.payload["note"])).toEqual(["mail <redacted>"])
      expect(entries.every((e) => e.sig.length === 64)).toBe(true)
    }).pipe(
      Effect.provide(
        AuditLog.layerTest({
          system: "swapped",
          store: Store.layerMemory({ capacity: 3 }),
          redactor: Redactor.layerDefault,
          signer: Signer.layerHmac(Redacted.make("k"))
        })
      )
    )
  )

  it.live("has a capture hub of its own: the app's Capture.fetch calls are not in it, its hub's are", () =>
    Effect.gen(function* () {
      const log = yield* AuditLog.AuditLog
      expect(log.capture).not.toBe(Capture.defaultHub)
      const viaOwn = new OpenAI({ apiKey: "k", baseURL: `${server().url}/v1`, fetch: log.capture.fetch, maxRetries: 0 })
      const viaDefault = new OpenAI({ apiKey: "k", baseURL: `${server().url}/v1`, fetch: Capture.fetch, maxRetries: 0 })
      const before = Capture.defaultHub.stats().unrouted
      yield* AuditLog.withDecision({ input: {}, actor: "a" }, () =>
        Effect.gen(function* () {
          yield* Effect.tryPromise(() => viaOwn.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "q" }] }))
          yield* Effect.tryPromise(() => viaDefault.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "q" }] }))
        })
      )
      const entries = yield* AuditLog.entries
      expect(entries.filter((e) => e.type === "llm_call")).toHaveLength(1)
      expect(Capture.defaultHub.stats().unrouted - before).toBe(1)
      expect(server().received).toHaveLength(2)
    }).pipe(Effect.provide(AuditLog.layerTest()))
  )

  it("two test logs side by side keep their entries apart", async () => {
    const count = Effect.map(AuditLog.entries, (es) => es.filter((e) => e.type === "decision_record").length)
    const write = (n: number) =>
      Effect.gen(function* () {
        for (let i = 0; i < n; i++) yield* AuditLog.append("decision_record", { i })
        return yield* count
      }).pipe(Effect.provide(AuditLog.layerTest()))
    expect(await Effect.runPromise(Effect.all([write(2), write(3)], { concurrency: 2 }))).toEqual([2, 3])
  })
})
