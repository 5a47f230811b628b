import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as AuditLog from "../src/AuditLog.js"
import * as Chain from "../src/Chain.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import { tempDir, verifyFile } from "./helpers.js"
import { memoryRows } from "./capture-helpers.js"

const KEY = "auditlog-test-key"
const key = Redacted.make(KEY)
const tmp = tempDir()
afterAll(tmp.cleanup)
let counter = 0
const freshPath = (name = "log") => join(tmp.dir, `${name}-${++counter}.jsonl`)

/** An audit log over `store`, signed, default redaction; the Store stays visible to the test. */
const logOver = (store: Layer.Layer<Store.Store, unknown>, options: { system?: string; key?: string | undefined } = {}) =>
  AuditLog.layer({ system: options.system ?? "test-system", riskTier: "high" }).pipe(
    Layer.provideMerge(store),
    Layer.provide("key" in options && options.key === undefined ? Signer.layerNone : Signer.layerHmac(Redacted.make(options.key ?? KEY))),
    Layer.provide(Redactor.layerDefault),
    Layer.provideMerge(NodeFileSystem.layer)
  )

const fileStore = (path: string, options: Store.FileOptions = {}) => Store.layerFile(path, options).pipe(Layer.provide(NodeFileSystem.layer))

interface Row {
  readonly seq: number
  readonly ts: string
  readonly type: string
  readonly payload: Record<string, unknown>
  readonly hash: string
  readonly prev_hash: string
}

/** The rows the store holds, parsed. */
const rows = Effect.flatMap(Store.Store, (s) => memoryRows<Row>(s))

/** The store's content through the verifier, with the test key. */
const verifyStore = Effect.flatMap(Store.Store, (s) => Effect.flatMap(s.snapshot, (b) => Effect.either(Verify.stream(b, { key }))))

const log = AuditLog.AuditLog

describe("AuditLog: writing", () => {
  it.effect("opens a new log with audit_open and stamps ts from the Clock (TestClock)", () =>
    Effect.gen(function* () {
      const l = yield* log
      yield* TestClock.adjust("1500 millis")
      const e = yield* l.append("decision_record", { note: "x" })
      const all = yield* rows
      expect(all[0]).toMatchObject({
        seq: 0,
        ts: "1970-01-01T00:00:00.000000+00:00",
        type: "audit_open",
        payload: { system: "test-system", risk_tier: "high", format: "acttrace-chain/1", producer: "acttrace/0.1.0", signing: { alg: "hmac-sha256" } }
      })
      expect(e).toMatchObject({ seq: 1, ts: "1970-01-01T00:00:01.500000+00:00", type: "decision_record", prevHash: all[0]!.hash })
      expect(e.payload).toEqual({ decision_id: null, note: "x" })
      expect(Either.isRight(yield* verifyStore)).toBe(true)
    }).pipe(Effect.provide(logOver(Store.layerMemory())))
  )

  it.effect("carries the tracing span's ids inside a span, and none outside", () =>
    Effect.gen(function* () {
      const l = yield* log
      const outside = yield* l.append("tool_call", { name: "t", arguments: {} })
      expect(outside.payload).not.toHaveProperty("otel_trace_id")
      const span = yield* Effect.gen(function* () {
        const span = yield* Effect.currentSpan
        yield* l.withDecision({ input: {}, actor: "a" }, (d) => d.record({ x: 1 }))
        return span
      }).pipe(Effect.withSpan("triage"))
      const rows_ = (yield* rows).filter((r) => r.type === "decision" || r.type === "decision_record" || r.type === "decision_end")
      expect(rows_).toHaveLength(3)
      for (const r of rows_) expect(r.payload).toMatchObject({ otel_trace_id: span.traceId, otel_span_id: span.spanId })
      expect(span.traceId).toMatch(/^[0-9a-f]{32}$/)
    }).pipe(Effect.provide(logOver(Store.layerMemory())))
  )

  it.effect("refuses what is not JSON with a typed error and writes nothing", () =>
    Effect.gen(function* () {
      const l = yield* log
      const before = yield* l.position
      const cyclic: Record<string, unknown> = { a: 1 }
      cyclic["self"] = cyclic
      const bad: ReadonlyArray<Record<string, unknown>> = [
        { f: () => 1 },
        { s: Symbol("x") },
        cyclic,
        { n: Number.NaN },
        { i: [1, Number.POSITIVE_INFINITY] },
        { m: new Map([[1, 2]]) },
        { deep: { er: [{ x: -Infinity }] } }
      ]
      for (const payload of bad) {
        const r = yield* Effect.either(l.append("decision_record", payload))
        expect(Either.isLeft(r) && r.left._tag).toBe("CanonicalError")
      }
      expect(yield* l.position).toEqual(before)
      // JSON's own rules otherwise: undefined members dropped, a Date as its ISO text
      const ok = yield* l.append("decision_record", { gone: undefined, when: new Date(Date.UTC(2026, 0, 2)), n: 2n ** 64n })
      expect(ok.payload).toEqual({ decision_id: null, when: "2026-01-02T00:00:00.000Z", n: 2n ** 64n })
      expect(Either.isRight(yield* verifyStore)).toBe(true)
    }).pipe(Effect.provide(logOver(Store.layerMemory())))
  )

  it.effect("reads bytes (Buffer, Uint8Array, ArrayBuffer) as their UTF-8 text, so the redactor sees them, and refuses bytes that are not text", () =>
    Effect.gen(function* () {
      const l = yield* log
      const env = "DB_PASSWORD=Kx9mQ2zzP\nAWS_ACCESS_KEY_ID=AKIAQ3EGWXK7N2PZ5RT4\n"
      const u8 = new TextEncoder().encode(env)
      for (const bytes of [Buffer.from(env), u8, u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength)]) {
        const e = yield* l.append("tool_result", { stdout: bytes, nested: [{ chunk: bytes }] })
        expect(e.payload["stdout"]).toBe("DB_PASSWORD=<redacted>\nAWS_ACCESS_KEY_ID=<redacted>\n")
        expect(e.payload["nested"]).toEqual([{ chunk: "DB_PASSWORD=<redacted>\nAWS_ACCESS_KEY_ID=<redacted>\n" }])
      }
      const before = yield* l.position
      const r = yield* Effect.either(l.append("tool_result", { stdout: Buffer.from([0x50, 0x4b, 0x03, 0x04, 0xff, 0xfe]) }))
      expect(Either.isLeft(r) && r.left._tag).toBe("CanonicalError")
      expect(Either.isLeft(r) && r.left.message).toContain("6 bytes of binary data that are not UTF-8 text")
      expect(yield* l.position).toEqual(before)
      expect(Either.isRight(yield* verifyStore)).toBe(true)
    }).pipe(Effect.provide(logOver(Store.layerMemory())))
  )

  it.effect("writes, then advances: a failed store write leaves the head where it was", () => {
    let calls = 0
    const failing = Layer.effect(
      Store.Store,
      Effect.map(Store.makeMemory(), (inner) => ({
        ...inner,
        append: (lines: ReadonlyArray<string>) =>
          Effect.suspend(() => (++calls === 3 ? Effect.fail(new Store.StoreError({ path: "memory", operation: "append", reason: "injected failure" })) : inner.append(lines)))
      }))
    )
    return Effect.gen(function* () {
      const l = yield* log
      const a = yield* l.append("decision_record", { n: 1 })
      const before = yield* l.position
      const failed = yield* Effect.either(l.append("decision_record", { n: 2 }))
      expect(Either.isLeft(failed) && failed.left).toMatchObject({ _tag: "StoreError", reason: "injected failure" })
      expect(yield* l.position).toEqual(before)
      const c = yield* l.append("decision_record", { n: 3 })
      expect(c).toMatchObject({ seq: 2, prevHash: a.hash })
      const v = yield* verifyStore
      expect(Either.isRight(v) && v.right.entries).toBe(3)
    }).pipe(Effect.provide(logOver(failing)))
  })

  it.effect("group commit: concurrent appends share fsyncs and are each acknowledged once on disk", () => {
    const path = freshPath()
    let appends = 0
    const counted = Layer.scoped(
      Store.Store,
      Effect.map(Store.makeFile(path, { groupCommit: { maxBatch: 64 } }), (inner) => ({
        ...inner,
        append: (lines: ReadonlyArray<string>) => Effect.suspend(() => (appends++, inner.append(lines)))
      }))
    ).pipe(Layer.provide(NodeFileSystem.layer))
    return Effect.gen(function* () {
      const l = yield* log
      const done = yield* Effect.all(
        Array.from({ length: 300 }, (_, i) => l.append("tool_call", { name: "t", arguments: { i } })),
        { concurrency: "unbounded" }
      )
      expect(new Set(done.map((e) => e.seq)).size).toBe(300)
      expect(appends).toBeLessThan(300)
      // every acknowledged entry is in the file now
      const onDisk = readFileSync(path, "utf8").trim().split("\n").length
      expect(onDisk).toBe(301)
    }).pipe(Effect.provide(logOver(counted)), Effect.scoped)
  })
})

describe("Chain.formatTimestamp", () => {
  // the form spelt out in BigInt arithmetic, as FORMAT A.1 states it
  const reference = (nanos: bigint): string => {
    const micros = nanos / 1000n
    const seconds = micros >= 0n ? micros / 1_000_000n : (micros - 999_999n) / 1_000_000n
    const frac = micros - seconds * 1_000_000n
    return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${frac.toString().padStart(6, "0")}+00:00`
  }
  it.prop("UTC with microseconds and +00:00, exact to the microsecond from 1938 to 2255", [fc.bigInt({ min: -(10n ** 18n), max: 9_007_199_254_740_991_000n })], ([nanos]) => {
    expect(Chain.formatTimestamp(nanos)).toBe(reference(nanos))
  }, { fastCheck: { numRuns: 5000 } })
  it("at the edges of a second", () => {
    for (const nanos of [0n, 999n, 1000n, 999_999_999n, 1_000_000_000n, 1_764_000_000_999_999_999n, -1n, -1000n, -1_000_000_000n, 9_007_199_254_740_991_000n]) {
      expect(Chain.formatTimestamp(nanos)).toBe(reference(nanos))
    }
    expect(Chain.formatTimestamp(1_764_000_000_000_001_000n)).toBe("2025-11-24T16:00:00.000001+00:00")
  })
})

describe("Chain.appendAll", () => {
  const batch = (n: number, bad: number | null) =>
    Array.from({ length: n }, (_, i) => ({ type: "tool_call", payload: i === bad ? { f: () => i } : { name: "t", arguments: { i } } }))

  for (const [name, store] of [
    ["memory (synchronous store)", () => Store.layerMemory()],
    ["file with group commit (asynchronous store)", () => fileStore(freshPath("appendall"), { groupCommit: true })]
  ] as const) {
    it.effect(`${name}: in order, one refused entry does not stop the others, and the log verifies`, () =>
      Effect.gen(function* () {
        const chain = yield* Chain.Chain
        const exits = yield* chain.appendAll(batch(40, 7), { flagRedactions: true })
        expect(exits.map((e) => e._tag)).toEqual(Array.from({ length: 40 }, (_, i) => (i === 7 ? "Failure" : "Success")))
        const all = (yield* rows).filter((r) => r.type === "tool_call")
        expect(all.map((r) => (r.payload["arguments"] as { i: number }).i)).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((i) => i !== 7))
        expect(Either.isRight(yield* verifyStore)).toBe(true)
        // concurrent single appends interleave only between batches
        yield* Effect.all([chain.appendAll(batch(30, null)), chain.append("decision_record", { x: 1 }), chain.appendAll(batch(30, null))], { concurrency: "unbounded" })
        const after = (yield* rows).slice(-61).map((r) => r.type)
        const firstRecord = after.indexOf("decision_record")
        expect([0, 30, 60]).toContain(firstRecord)
        expect(Either.isRight(yield* verifyStore)).toBe(true)
      }).pipe(Effect.provide(logOver(store())))
    )
  }

  it.effect("appendAllNow writes at once with a synchronous store, with the same answers as appendAll", () =>
    Effect.gen(function* () {
      const chain = yield* Chain.Chain
      const before = (yield* chain.position).entries
      const exits = chain.appendAllNow(batch(10, 3), { flagRedactions: true })
      // nothing in between: written before this line runs on
      expect(exits?.map((e) => e._tag)).toEqual(Array.from({ length: 10 }, (_, i) => (i === 3 ? "Failure" : "Success")))
      expect((yield* chain.position).entries).toBe(before + 9)
      const all = (yield* rows).filter((r) => r.type === "tool_call")
      expect(all.map((r) => (r.payload["arguments"] as { i: number }).i)).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9])
      expect(Either.isRight(yield* verifyStore)).toBe(true)
    }).pipe(Effect.provide(logOver(Store.layerMemory())))
  )

  it.effect("appendAllNow declines (writing nothing) while a batch is being written, and with an asynchronous store", () =>
    Effect.gen(function* () {
      const chain = yield* Chain.Chain
      const before = (yield* chain.position).entries
      expect(chain.appendAllNow(batch(3, null))).toBeUndefined()
      // the group-commit store writes asynchronously: while its batch is in flight, nothing now
      const fiber = yield* Effect.fork(chain.appendAll(batch(5, null)))
      yield* Effect.yieldNow()
      expect(chain.appendAllNow(batch(3, null))).toBeUndefined()
      yield* Fiber.join(fiber)
      expect((yield* chain.position).entries).toBe(before + 5)
    }).pipe(Effect.provide(logOver(fileStore(freshPath("appendallnow"), { groupCommit: true }))))
  )
})

describe("AuditLog: closing", () => {
  it("drains what is queued when its scope ends, then refuses appends with ChainClosed", async () => {
    const path = freshPath()
    const { service, done } = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const l = yield* log
          // queued appends in flight when the scope begins to close
          const fibers = yield* Effect.forEach(Array.from({ length: 50 }, (_, i) => i), (i) => Effect.fork(l.append("tool_call", { name: "t", arguments: { i } })))
          return { service: l, done: fibers }
        }).pipe(Effect.provide(logOver(fileStore(path, { groupCommit: true }))))
      )
    )
    const results = await Effect.runPromise(Effect.forEach(done, (f) => Effect.exit(Fiber.join(f))))
    // each is either written (and in the file) or refused; none is lost silently
    const written = results.filter(Exit.isSuccess).length
    const refused = results.filter((e) => Exit.isFailure(e) && e.cause._tag === "Fail" && e.cause.error._tag === "ChainClosed").length
    expect(written + refused).toBe(50)
    expect(readFileSync(path, "utf8").trim().split("\n").length).toBe(1 + written)
    const after = await Effect.runPromise(Effect.either(service.append("tool_call", { name: "late", arguments: {} })))
    expect(Either.isLeft(after) && after.left._tag).toBe("ChainClosed")
  })
})

describe("AuditLog: decisions", () => {
  const provide = Effect.provide(logOver(Store.layerMemory()))

  it.effect("record the outcome of their scope: success, failure, interruption", () =>
    Effect.gen(function* () {
      const l = yield* log
      const value = yield* l.withDecision({ input: { case: 1 }, actor: "agent" }, (d) =>
        Effect.gen(function* () {
          yield* d.record({ score: 0.5 })
          yield* TestClock.adjust("250 millis")
          return "done"
        })
      )
      expect(value).toBe("done")
      const failed = yield* Effect.either(l.withDecision({ input: { case: 2 }, actor: "agent" }, () => Effect.fail(new Error("bureau timed out"))))
      expect(Either.isLeft(failed)).toBe(true)
      const fiber = yield* Effect.fork(l.withDecision({ input: { case: 3 }, actor: "agent" }, () => Effect.never))
      yield* TestClock.adjust("10 millis")
      yield* Fiber.interrupt(fiber)
      const ends = (yield* rows).filter((r) => r.type === "decision_end").map((r) => r.payload)
      expect(ends).toHaveLength(3)
      expect(ends[0]).toMatchObject({ outcome: "success", duration_ms: 250 })
      expect(ends[0]).not.toHaveProperty("error")
      expect(ends[1]).toMatchObject({ outcome: "failure", error: "bureau timed out" })
      expect(ends[2]).toMatchObject({ outcome: "interrupted" })
      expect(Either.isRight(yield* verifyStore)).toBe(true)
    }).pipe(provide)
  )

  it.effect("nest: entries carry the innermost decision's id, and inner ends before outer", () =>
    Effect.gen(function* () {
      const l = yield* log
      const ids = yield* l.withDecision({ input: "outer", actor: "a" }, (outer) =>
        Effect.gen(function* () {
          const inner = yield* l.withDecision({ input: "inner", actor: "a" }, (inner) =>
            Effect.gen(function* () {
              yield* l.append("tool_call", { name: "lookup", arguments: {} })
              yield* inner.record({ where: "inner" })
              expect(yield* AuditLog.currentDecisionId).toBe(inner.id)
              return inner.id
            })
          )
          yield* outer.record({ where: "outer" })
          yield* l.flag("looked odd", { action: "flagged", severity: "warning" })
          return { outer: outer.id, inner }
        })
      )
      yield* l.flag("outside")
      const seen = (yield* rows).slice(1).map((r) => [r.type, r.payload["decision_id"], r.payload["parent_decision_id"]])
      expect(seen).toEqual([
        ["decision", ids.outer, undefined],
        ["decision", ids.inner, ids.outer],
        ["tool_call", ids.inner, undefined],
        ["decision_record", ids.inner, undefined],
        ["decision_end", ids.inner, undefined],
        ["decision_record", ids.outer, undefined],
        ["policy_flag", ids.outer, undefined],
        ["decision_end", ids.outer, undefined],
        ["policy_flag", null, undefined]
      ])
      expect(ids.outer).toMatch(/^[0-9a-f]{32}$/)
    }).pipe(provide)
  )

  it.effect("keep concurrent fibers' decisions apart", () =>
    Effect.gen(function* () {
      const l = yield* log
      const ids = yield* Effect.all(
        Array.from({ length: 8 }, (_, i) =>
          l.withDecision({ input: i, actor: "a" }, (d) =>
            Effect.gen(function* () {
              yield* Effect.yieldNow()
              yield* l.append("tool_call", { name: "t", arguments: { i } })
              return { id: d.id, i }
            })
          )
        ),
        { concurrency: "unbounded" }
      )
      const calls = (yield* rows).filter((r) => r.type === "tool_call")
      for (const { id, i } of ids) {
        expect(calls.find((c) => (c.payload["arguments"] as { i: number }).i === i)!.payload["decision_id"]).toBe(id)
      }
    }).pipe(provide)
  )

  it.effect("write oversight and flags through the handle, each returning the chained entry", () =>
    Effect.gen(function* () {
      const l = yield* log
      yield* l.withDecision({ input: {}, actor: "a" }, (d) =>
        Effect.gen(function* () {
          const h = yield* d.humanOversight({ reviewer: "r.ng", action: "approved", note: "ok" })
          expect(h).toMatchObject({ type: "human_oversight", payload: { decision_id: d.id, reviewer: "r.ng", action: "approved", note: "ok" } })
          const f = yield* d.flag("income unverified", { action: "blocked", severity: "critical", data: { group: "financial" } })
          expect(f.payload).toEqual({ decision_id: d.id, reason: "income unverified", action: "blocked", severity: "critical", data: { group: "financial" } })
          expect(f.hash).toMatch(/^[0-9a-f]{64}$/)
        })
      )
    }).pipe(provide)
  )
})

describe("AuditLog: redaction before hashing", () => {
  const secrets: Record<string, string> = {
    email: "jane.doe@example.com",
    api_key: "sk-abcdefghijklmnopqrstuvwx1234",
    api_key_ant: "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345",
    api_key_proj: "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789",
    aws_key: "AKIAIOSFODNN7EXAMPLE",
    google_api_key: "AIzaSyA1234567890abcdefghijklmnopqrstuv",
    jwt: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    bearer_token: "Bearer abcdefghijklmnopqrstuvwx.yz012",
    github_token: "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    slack_token: "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx",
    private_key: "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAzVgQx1\nqkHw9Ty9YpPLxZq3Q8u==\n-----END RSA PRIVATE KEY-----"
  }

  it.effect("one automatic flag per action: blocked, redacted (info), flagged (the findings' highest severity)", () =>
    Effect.gen(function* () {
      const l = yield* log
      const e = yield* l.append("decision_record", { note: "card 4111 1111 1111 1111, mail a@example.com, call (415) 555-2671 from 10.0.0.12, diabetes" })
      expect(e.payload["note"]).toBe("card <redacted>, mail <redacted>, call <redacted> from 10.0.0.12, diabetes")
      const flags = (yield* rows).filter((r) => r.type === "policy_flag")
      expect(flags.map((f) => [f.payload["action"], f.payload["severity"], (f.payload["data"] as { categories: Array<string> }).categories])).toEqual([
        ["blocked", "critical", ["credit_card"]],
        ["redacted", "info", ["email", "phone"]],
        ["flagged", "critical", ["ipv4", "special_category"]]
      ])
      for (const f of flags) expect(f.payload).toMatchObject({ auto: true, data: { entry_seq: e.seq } })
    }).pipe(
      Effect.provide(
        AuditLog.layer({ system: "test-system", riskTier: "high" }).pipe(
          Layer.provideMerge(Store.layerMemory()),
          Layer.provide(Signer.layerHmac(key)),
          Layer.provide(Redactor.layerPolicy({ name: "test", default: "flag", groups: { financial: "block" }, categories: { email: "redact", phone: "redact" } })),
          Layer.provideMerge(NodeFileSystem.layer)
        )
      )
    )
  )

  it.effect("removes every listed category from values and keys at any depth, and flags it", () => {
    const path = freshPath()
    return Effect.gen(function* () {
      const l = yield* log
      yield* l.withDecision({ input: { contact: `write to ${secrets["email"]} please` }, actor: "a" }, (d) =>
        Effect.gen(function* () {
          yield* d.record({ nested: { deeper: [Object.values(secrets).join(" | ")] }, [secrets["email"]!]: "as a key" })
          yield* l.append("tool_call", { name: "send", arguments: { auth: secrets["bearer_token"], pem: JSON.stringify({ key: secrets["private_key"] }) } })
        })
      )
      const text = readFileSync(path, "utf8")
      for (const [what, raw] of Object.entries(secrets)) {
        // the distinctive part of each secret is nowhere in the file
        const core = what === "private_key" ? "MIIEowIBAAKCAQEAzVgQx1" : what === "bearer_token" ? "abcdefghijklmnopqrstuvwx.yz012" : raw
        expect(text, what).not.toContain(core)
      }
      expect(text).toContain("<redacted>")
      const all = yield* rows
      const record = all.findIndex((r) => r.type === "decision_record")
      const flag = all[record + 1]!
      expect(flag.type).toBe("policy_flag")
      expect(flag.payload).toMatchObject({ action: "redacted", severity: "info", auto: true, data: { entry_seq: all[record]!.seq, entry_type: "decision_record" } })
      expect((flag.payload["data"] as { categories: Array<string> }).categories).toEqual([
        "api_key", "aws_key", "bearer_token", "email", "github_token", "google_api_key", "jwt", "private_key", "slack_token"
      ])
      // the key was scrubbed too
      expect(Object.keys(all[record]!.payload)).toContain("<redacted>")
      // the decision entry and the tool call were flagged as well
      expect(all[all.findIndex((r) => r.type === "decision") + 1]!.payload).toMatchObject({ auto: true, data: { categories: ["email"] } })
      const tool = all.findIndex((r) => r.type === "tool_call")
      expect((all[tool + 1]!.payload["data"] as { categories: Array<string> }).categories).toEqual(["bearer_token", "private_key"])
      expect(Either.isRight(yield* verifyStore)).toBe(true)
    }).pipe(Effect.provide(logOver(fileStore(path))), Effect.scoped)
  })

  it.effect("leaves flagging to a custom redactor", () =>
    Effect.gen(function* () {
      const l = yield* AuditLog.AuditLog
      yield* l.append("decision_record", { secret: "hunter2" })
      const all = yield* rows
      expect(all.map((r) => r.type)).toEqual(["audit_open", "decision_record"])
      expect(all[1]!.payload["secret"]).toBe("[gone]")
    }).pipe(
      Effect.provide(
        AuditLog.layer({ system: "s", riskTier: null }).pipe(
          Layer.provideMerge(Store.layerMemory()),
          Layer.provide(Signer.layerNone),
          Layer.provide(Redactor.layer((v) => ({ value: JSON.parse(JSON.stringify(v).replace("hunter2", "[gone]")), findings: [{ category: "password", group: "credential", count: 1 }] }))),
          Layer.provideMerge(NodeFileSystem.layer)
        )
      )
    )
  )
})

describe("AuditLog: resuming a log", () => {
  const write = (path: string, n: number, options: { system?: string; key?: string | undefined } = {}) =>
    Effect.runPromiseExit(
      Effect.gen(function* () {
        const l = yield* log
        const out: Array<Chain.Chained> = []
        for (let i = 0; i < n; i++) out.push(yield* l.append("decision_record", { i }))
        return out
      }).pipe(Effect.provide(logOver(fileStore(path), options)), Effect.scoped)
    )

  it("continues the sequence after checking the log, without a second audit_open", async () => {
    const path = freshPath()
    const first = await write(path, 3)
    const second = await write(path, 2)
    expect(Exit.isSuccess(first) && Exit.isSuccess(second)).toBe(true)
    if (Exit.isSuccess(second) && Exit.isSuccess(first)) {
      expect(second.value[0]).toMatchObject({ seq: 4, prevHash: first.value[2]!.hash })
    }
    const text = readFileSync(path, "utf8")
    expect(text.match(/"type":"audit_open"/g)).toHaveLength(1)
    const v = await verifyFile(path, { key })
    expect(Either.isRight(v.result) && v.result.right.entries).toBe(6)
  })

  it("refuses another system, another key, or a log that does not verify, with typed errors", async () => {
    const path = freshPath()
    await write(path, 2)
    const tag = (e: Exit.Exit<unknown, unknown>) => (Exit.isFailure(e) && e.cause._tag === "Fail" ? e.cause.error : undefined)
    expect(tag(await write(path, 1, { system: "other" }))).toMatchObject({ _tag: "LogMismatch", field: "system", found: "test-system" })
    expect(tag(await write(path, 1, { key: "another-key" }))).toMatchObject({ _tag: "LogMismatch", field: "signing key id" })
    expect(tag(await write(path, 1, { key: undefined }))).toMatchObject({ _tag: "LogMismatch", field: "signing key id", expected: "none" })
    writeFileSync(path, readFileSync(path, "utf8").replace('"i":1', '"i":7'))
    expect(tag(await write(path, 1))).toMatchObject({ _tag: "LogInvalid" })
    expect(String((tag(await write(path, 1)) as { message: string }).message)).toMatch(/EditDetected at line 3/)
  })
})

describe("AuditLog: export", () => {
  it.effect("writes a verified, annotated, sealed pack atomically", () => {
    const path = freshPath()
    const pack = freshPath("pack")
    return Effect.gen(function* () {
      const l = yield* log
      yield* l.withDecision({ input: { a: 1 }, actor: "agent" }, (d) =>
        Effect.gen(function* () {
          yield* l.append("llm_call", { provider: "openai", model: "gpt-4.1", usage: null, cost: null, latency_ms: 3, replayed: false })
          yield* d.humanOversight({ reviewer: "r", action: "approved" })
          yield* d.flag("card number in input", { action: "redacted", severity: "warning", data: { group: "financial" } })
        })
      )
      const done = yield* l.export(pack, { framework: "eu_ai_act" })
      expect(done).toMatchObject({ entries: 6, signed: true, framework: "eu_ai_act", missing: 0 })
      expect(done.summary).toMatchObject({ decisions: 1, llm_calls: 1, human_oversight: 1, policy_flags: 1, flags_by_action: { redacted: 1 }, flags_by_severity: { warning: 1 } })
      // FORMAT B.4 (2026-12-03): no framework outside the four, so the card flag adds no PCI-DSS reference
      expect(done.controlsCovered).toContain("Art.12(2)(a) situations presenting a risk")
      expect(done.controlsCovered.filter((c) => /PCI/.test(c))).toEqual([])
      const lines = readFileSync(pack, "utf8").trim().split("\n").map((x) => JSON.parse(x))
      expect(lines[0]._meta).toMatchObject({ system: "test-system", risk_tier: "high", entries: 6, head_hash: done.head, disclaimer: "Evidence to support compliance — not legal advice." })
      expect(lines[0]._meta.seal).toMatchObject({ alg: "hmac-sha256" })
      expect(lines.find((r) => r.type === "human_oversight").controls).toEqual(["Art.14(4) human oversight measures", "Art.26(2) oversight assigned by the deployer"])
      expect(lines.find((r) => r.type === "llm_call").controls).toEqual([
        "Art.12(1) automatic recording of events",
        "Art.12(2)(b) post-market monitoring (Art.72)",
        "Art.12(2)(c) monitoring of operation (Art.26(5))"
      ])
      expect(readdirSync(tmp.dir).filter((n) => n.includes(".tmp-"))).toEqual([])
      const v = yield* Effect.promise(() => verifyFile(pack, { key }))
      expect(Either.isRight(v.result) && v.result.right.completeness).toBe("signed-header")
      // exporting again, for another framework, over the same path
      const again = yield* l.export(pack, { framework: "nist_rmf" })
      expect(again.controlsCovered).toContain("MANAGE-4.1")
    }).pipe(Effect.provide(logOver(fileStore(path))), Effect.scoped)
  })

  it.effect("refuses an unknown framework (listing the four) and the live log's own path", () => {
    const path = freshPath()
    return Effect.gen(function* () {
      const l = yield* log
      const unknown = yield* Effect.either(l.export(freshPath("pack"), { framework: "sox" as never }))
      expect(Either.isLeft(unknown) && unknown.left.message).toBe('unknown framework "sox": use one of eu_ai_act, iso_42001, gdpr, nist_rmf')
      const onto = yield* Effect.either(l.export(path, { framework: "gdpr" }))
      expect(Either.isLeft(onto) && onto.left._tag).toBe("ExportError")
      expect(readFileSync(path, "utf8")).not.toContain("_meta")
    }).pipe(Effect.provide(logOver(fileStore(path))), Effect.scoped)
  })

  it.effect("says what a bounded memory log lacks", () =>
    Effect.gen(function* () {
      const l = yield* log
      for (let i = 0; i < 9; i++) yield* l.append("decision_record", { i })
      const pack = freshPath("pack")
      const done = yield* l.export(pack, { framework: "gdpr" })
      expect(done).toMatchObject({ entries: 4, missing: 6 })
      const meta = JSON.parse(readFileSync(pack, "utf8").split("\n")[0]!)._meta
      expect(meta.partial).toEqual({ evicted: 6, first_seq: 6 })
    }).pipe(Effect.provide(logOver(Store.layerMemory({ capacity: 4 }))))
  )

  it("detects edits to what the header signature does not cover, through the seal", async () => {
    const path = freshPath()
    const pack = freshPath("pack")
    await Effect.runPromise(
      Effect.gen(function* () {
        const l = yield* log
        yield* l.withDecision({ input: {}, actor: "a" }, (d) => d.record({ x: 1 }))
        yield* l.export(pack, { framework: "iso_42001" })
      }).pipe(Effect.provide(logOver(fileStore(path))), Effect.scoped)
    )
    const original = readFileSync(pack, "utf8")
    const check = async (text: string, k = key) => {
      const p = freshPath("tampered")
      writeFileSync(p, text)
      const v = await verifyFile(p, { key: k })
      return Either.isRight(v.result) ? "ok" : `${v.result.left._tag}: ${v.result.left.message}`
    }
    expect(await check(original)).toBe("ok")
    expect(await check(original.replace('"A.8.2 information for users"]', '"A.8.2 information for users","A.9.2 responsible use"]'))).toMatch(/^HeaderInvalid: .*seal/)
    expect(await check(original.replace('"decisions":1', '"decisions":0'))).toMatch(/^HeaderInvalid: .*seal/)
    expect(await check(original.replace('"framework":"iso_42001"', '"framework":"gdpr"'))).toMatch(/^HeaderInvalid: .*seal/)
    const lines = original.split("\n")
    const meta = JSON.parse(lines[0]!)
    delete meta._meta.seal
    const stripped = [JSON.stringify(meta), ...lines.slice(1)].join("\n")
    expect(await check(stripped)).toMatch(/^HeaderInvalid: .*seal is missing/)
  })
})
