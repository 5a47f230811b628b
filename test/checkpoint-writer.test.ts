/**
 * The writer's checkpoints (FORMAT B.2): a `checkpoint` entry after every N entries, on the
 * timer, when the log closes and on export, each a signed note over the Merkle root of every
 * entry before it, checked here independently of the writer (note opened under the verifier key,
 * root recomputed naively from the entries' hashes). Real keys, real stores, no mocks.
 */
import { createHash } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type * as FileSystem from "@effect/platform/FileSystem"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as AuditLog from "../src/AuditLog.js"
import * as Canonical from "../src/Canonical.js"
import * as Pack from "../src/Pack.js"
import * as Chain from "../src/Chain.js"
import { sealDigest } from "../src/Hash.js"
import * as merkle from "../src/internal/merkle.js"
import * as note from "../src/internal/note.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import { checkCheckpoints, HMAC, type Key, layerSigner, makeKey, naiveRoot, openChain, rowsOf } from "./checkpoint-writer-helpers.js"
import { gatedMemory } from "./harness/interrupt-stores.js"

const dir = mkdtempSync(join(tmpdir(), "acttrace-checkpoint-writer-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const NO_TIMER = { interval: Duration.infinity }

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")

/** Wait, a scheduler turn at a time, until `ready()` holds. */
const until = (ready: () => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 10_000 && !ready(); i++) yield* Effect.yieldNow()
    expect(ready()).toBe(true)
  })

describe("checkpoint entries", () => {
  it.effect("after every N entries (one append at a time and in batches), each note verifies and its root is the root of the entries before it", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(1)
      for (const batched of [false, true]) {
        const store = yield* Store.makeMemory()
        const { chain, close } = yield* openChain(store, a, { every: 5, ...NO_TIMER })
        const items = Array.from({ length: 12 }, (_, i) => ({ type: "note", payload: { i } }))
        if (batched) yield* chain.appendAll(items)
        else for (const item of items) yield* chain.append(item.type, item.payload)
        const rows = yield* rowsOf(store)
        // 0..4, checkpoint (5), 6..10, checkpoint (11), 12, 13
        expect(rows.map((r) => r.type === "checkpoint" ? r.seq : -1).filter((s) => s >= 0)).toEqual([5, 11])
        const checked = checkCheckpoints(rows, () => a, "acttrace")
        expect(checked.map((c) => c.size)).toEqual([5, 11])
        expect(checked.every((c) => c.signedBy === "key1")).toBe(true)
        // the tree the chain reports is the tree of everything written
        const tree = Option.getOrThrow(yield* chain.tree)
        expect(tree.size).toBe(rows.length)
        expect(b64(tree.root)).toBe(naiveRoot(rows, rows.length))
        yield* close
        // the closing checkpoint covers the entry after the last one
        const after = yield* rowsOf(store)
        expect(after.length).toBe(rows.length + 1)
        expect(checkCheckpoints(after, () => a, "acttrace").map((c) => c.size)).toEqual([5, 11, 14])
        // the whole log still verifies (HMAC)
        expect(Either.isRight(Verify.lines(after.map((r) => JSON.stringify(r)), { key: HMAC }))).toBe(true)
      }
    }))

  it.effect("on the timer (TestClock), only when entries were added since the last checkpoint", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(2)
      const store = yield* Store.makeMemory()
      const { chain, close } = yield* openChain(store, a, { every: 0, interval: Duration.seconds(60) })
      yield* chain.append("note", { i: 0 })
      yield* chain.append("note", { i: 1 })
      yield* chain.append("note", { i: 2 })
      yield* TestClock.adjust(Duration.seconds(59))
      // a snapshot is taken in order with the queue: it sees a checkpoint queued before it
      const lines = () => Effect.flatMap(chain.snapshot, () => rowsOf(store))
      expect((yield* lines()).filter((r) => r.type === "checkpoint")).toEqual([])
      yield* TestClock.adjust(Duration.seconds(1))
      let rows = yield* lines()
      expect(rows.map((r) => r.type)).toEqual(["note", "note", "note", "checkpoint"])
      // nothing added: the next tick writes nothing
      yield* TestClock.adjust(Duration.seconds(60))
      rows = yield* lines()
      expect(rows.length).toBe(4)
      yield* chain.append("note", { i: 3 })
      yield* TestClock.adjust(Duration.seconds(60))
      rows = yield* lines()
      expect(rows.map((r) => r.type)).toEqual(["note", "note", "note", "checkpoint", "note", "checkpoint"])
      expect(checkCheckpoints(rows, () => a, "acttrace").map((c) => c.size)).toEqual([3, 5])
      // closing with the timer running neither hangs nor adds a checkpoint (nothing new)
      yield* close
      expect((yield* rowsOf(store)).length).toBe(6)
    }))

  it.effect("when the log closes, if anything was added since the last checkpoint", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(3)
      const store = yield* Store.makeMemory()
      const first = yield* openChain(store, a, { every: 0, ...NO_TIMER })
      // the log states its checkpoint key (as AuditLog's audit_open does), so reopening it with
      // that key is no rotation
      yield* first.chain.append("audit_open", { system: "test", signing: { alg: "hmac-sha256", key_id: Signer.hmacKeyId(HMAC) }, checkpoints: { alg: "ed25519", key: a.verifierKey, origin: "acttrace/test" } })
      for (let i = 0; i < 2; i++) yield* first.chain.append("note", { i })
      yield* first.close
      let rows = yield* rowsOf(store)
      expect(rows.map((r) => r.type)).toEqual(["audit_open", "note", "note", "checkpoint"])
      expect(checkCheckpoints(rows, () => a, "acttrace/test").map((c) => c.size)).toEqual([3])
      // opened and closed again with nothing added: no checkpoint
      const second = yield* openChain(store, a, { every: 0, ...NO_TIMER })
      yield* second.close
      rows = yield* rowsOf(store)
      expect(rows.length).toBe(4)
    }))

  it.effect("a log whose audit_open states an origin no note can carry is refused when opened with a checkpoint key", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(12)
      const store = yield* Store.makeMemory()
      const first = yield* openChain(store, undefined, { every: 0, ...NO_TIMER })
      yield* first.chain.append("audit_open", { system: "test", signing: { alg: "hmac-sha256", key_id: Signer.hmacKeyId(HMAC) }, checkpoints: { alg: "ed25519", key: a.verifierKey, origin: "bad\torigin" } })
      yield* first.close
      const refused = yield* Effect.flip(openChain(store, a, { every: 1 }))
      expect(refused._tag).toBe("LogInvalid")
      expect(refused.message).toContain("cannot be the first line of a signed note")
      expect((yield* rowsOf(store)).length).toBe(1)
    }))

  it.effect("ChainService.checkpoint appends one now when anything was added, None otherwise; none at all without a key", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(4)
      const store = yield* Store.makeMemory()
      const { chain, close } = yield* openChain(store, a, { every: 0, ...NO_TIMER })
      expect(Option.isNone(yield* chain.checkpoint)).toBe(true)
      yield* chain.append("note", { i: 0 })
      const cp = Option.getOrThrow(yield* chain.checkpoint)
      expect(cp.type).toBe("checkpoint")
      expect(cp.payload["size"]).toBe(1)
      expect(Option.isNone(yield* chain.checkpoint)).toBe(true)
      checkCheckpoints(yield* rowsOf(store), () => a, "acttrace")
      yield* close

      const plain = yield* Store.makeMemory()
      const unsigned = yield* openChain(plain, undefined, { every: 1 })
      yield* unsigned.chain.append("note", { i: 0 })
      yield* unsigned.chain.append("note", { i: 1 })
      expect(Option.isNone(yield* unsigned.chain.checkpoint)).toBe(true)
      expect(Option.isNone(yield* unsigned.chain.tree)).toBe(true)
      yield* unsigned.close
      expect((yield* rowsOf(plain)).map((r) => r.type)).toEqual(["note", "note"])
    }))

  it.effect("a store failure while a checkpoint is appended leaves head and tree unchanged, and the next checkpoint is right", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(5)
      const real = yield* Store.makeMemory()
      let failNext = true
      const store: Store.StoreService = {
        ...real,
        append: (lines) =>
          failNext && lines.some((l) => l.includes(`"type":"checkpoint"`))
            ? Effect.suspend(() => {
              failNext = false
              return Effect.fail(new Store.StoreError({ path: "memory", operation: "append", reason: "injected failure" }))
            })
            : real.append(lines)
      }
      const { chain, close } = yield* openChain(store, a, { every: 0, ...NO_TIMER })
      for (let i = 0; i < 3; i++) yield* chain.append("note", { i })
      const position = yield* chain.position
      const tree = Option.getOrThrow(yield* chain.tree)
      const failed = yield* Effect.exit(chain.checkpoint)
      expect(Exit.isFailure(failed)).toBe(true)
      expect(yield* chain.position).toEqual(position)
      expect(b64(Option.getOrThrow(yield* chain.tree).root)).toBe(b64(tree.root))
      expect((yield* rowsOf(store)).length).toBe(3)
      // the next checkpoint is written, over the same three entries
      yield* chain.append("note", { i: 3 })
      const cp = Option.getOrThrow(yield* chain.checkpoint)
      expect(cp.seq).toBe(4)
      const rows = yield* rowsOf(store)
      expect(checkCheckpoints(rows, () => a, "acttrace").map((c) => c.size)).toEqual([4])
      // and a count-triggered checkpoint that fails takes its batch with it: nothing acknowledged
      failNext = true
      yield* close
      expect((yield* rowsOf(store)).length).toBe(5)
    }))

  /**
   * A chain on a gated store with a 60-second checkpoint timer: one entry written, a second
   * append's batch waiting at the store's gate, and the timer fired, its checkpoint queued behind
   * that batch.
   */
  const timerQueuedBehindBatch = (seed: number) =>
    Effect.gen(function* () {
      const a = yield* makeKey(seed)
      const g = yield* gatedMemory()
      const opened = yield* openChain(g.store, a, { every: 0, interval: Duration.seconds(60) })
      const first = yield* Effect.fork(opened.chain.append("note", { i: 0 }))
      yield* until(() => g.waiting() === 1)
      g.release()
      yield* Fiber.join(first)
      const second = yield* Effect.fork(opened.chain.append("note", { i: 1 }))
      yield* until(() => g.waiting() === 1)
      yield* TestClock.adjust(Duration.seconds(60))
      return { ...opened, a, g, second }
    })

  it.effect("closing while a timer checkpoint is queued behind a batch at the store loses nothing", () =>
    Effect.gen(function* () {
      // the second append waits at the gate; the timer queues its checkpoint behind it
      const { a, g, scope, second } = yield* timerQueuedBehindBatch(6)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Effect.yieldNow()
      g.openAll()
      yield* Fiber.join(closing)
      expect(Exit.isSuccess(yield* Fiber.await(second))).toBe(true)
      const rows = yield* rowsOf(g.store)
      expect(rows.map((r) => r.type)).toEqual(["note", "note", "checkpoint"])
      expect(checkCheckpoints(rows, () => a, "acttrace").map((c) => c.size)).toEqual([2])
    }))

  it.effect("interrupting the callers around a queued timer checkpoint withdraws only their own entries", () =>
    Effect.gen(function* () {
      // the second append's batch waits at the gate; the timer queues a checkpoint behind it, and
      // a third append queues behind that
      const { a, chain, close, g, second } = yield* timerQueuedBehindBatch(13)
      const third = yield* Effect.fork(chain.append("note", { i: 2 }))
      yield* Effect.yieldNow()
      // interrupted: the second is in a batch being written (written with it), the third is
      // withdrawn; the checkpoint, which nobody waits for, stays queued
      yield* Fiber.interrupt(second).pipe(Effect.fork)
      yield* Fiber.interrupt(third)
      g.openAll()
      const rows = () => Effect.flatMap(chain.snapshot, () => rowsOf(g.store))
      expect((yield* rows()).map((r) => r.type)).toEqual(["note", "note", "checkpoint"])
      yield* close
      const after = yield* rowsOf(g.store)
      expect(after.map((r) => r.type)).toEqual(["note", "note", "checkpoint"])
      expect(checkCheckpoints(after, () => a, "acttrace").map((c) => c.size)).toEqual([2])
    }))
})

const runLog = <A, E>(path: string, key: Key | undefined, f: Effect.Effect<A, E, AuditLog.AuditLog | Chain.Chain | FileSystem.FileSystem>, policy: { readonly every?: number } = {}) =>
  Effect.scoped(
    Effect.flatMap(Layer.build(
      AuditLog.layer({ system: "loan triage", riskTier: "high" }).pipe(
        Layer.provide(Store.layerFile(path)),
        Layer.provide(layerSigner(key)),
        Layer.provide(Redactor.layerDefault),
        Layer.provide(Chain.layerCheckpointPolicy({ every: policy.every ?? 1000, interval: Duration.infinity })),
        Layer.provideMerge(NodeFileSystem.layer)
      )
    ), (context) => Effect.provide(f, context))
  )

const fileRows = (path: string) =>
  readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as { seq: number; type: string; payload: Record<string, any>; prev_hash: string; hash: string })

describe("audit_open and export", () => {
  it.live("audit_open names the checkpoint key and origin; an export appends a checkpoint, and _meta.checkpoint covers every entry and the seal digest", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(7)
      const path = join(dir, "export.jsonl")
      const out = join(dir, "export.pack.jsonl")
      const exported = yield* runLog(path, a, Effect.gen(function* () {
        const log = yield* AuditLog.AuditLog
        yield* log.withDecision({ input: { applicant: "A-1" }, actor: "agent" }, (d) => d.record({ score: 0.5 }))
        return yield* log.export(out, { framework: "eu_ai_act" })
      }))
      const rows = fileRows(path)
      expect(rows[0]!.payload["checkpoints"]).toEqual({ alg: "ed25519", key: a.verifierKey, origin: "acttrace/loan%20triage" })
      // the export appended a checkpoint over everything before it (nothing was added after, so
      // closing the log added none)
      expect(rows.at(-1)!.type).toBe("checkpoint")
      expect(checkCheckpoints(rows, () => a, "acttrace/loan%20triage").map((c) => c.size)).toEqual([rows.length - 1])

      const pack = readFileSync(out, "utf8").split("\n").filter((l) => l.length > 0)
      const meta = JSON.parse(pack[0]!)._meta as Record<string, any>
      const packRows = pack.slice(1).map((l) => JSON.parse(l) as { hash: string; controls: unknown })
      expect(packRows.length).toBe(rows.length)
      expect(Option.getOrThrow(exported.checkpoint)).toBe(meta["checkpoint"])
      const opened = Effect.runSync(note.open(meta["checkpoint"], [a.verifier]))
      const body = opened.text.split("\n")
      // the seal digest, recomputed: _meta without sig, seal and checkpoint, and every row's controls
      const { checkpoint: _c, seal: _s, sig: _g, ...rest } = meta
      const controls = Buffer.concat(packRows.map((r) => Buffer.from(Either.getOrThrow(Canonical.encode(r.controls ?? null)) + "\n")))
      const digest = sealDigest(Either.getOrThrow(Canonical.encode(rest)), createHash("sha256").update(controls).digest())
      expect(body).toEqual([
        "acttrace/loan%20triage",
        String(rows.length),
        b64(merkle.root(packRows.map((r) => Buffer.from(r.hash, "hex")))),
        `head ${meta["head_hash"]}`,
        `pack ${digest}`,
        ""
      ])
      // the HMAC seal is unchanged beside it: same digest
      expect(meta["seal"]["digest"]).toBe(digest)
      // (that the pack verifies, HMAC seal and all, is checked through Verify with the key and
      // the public key in checkpoint-verify.test.ts: the seal digest now leaves `checkpoint` out)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.live("a log resumed goes on with its tree: every checkpoint's root equals a fresh computation", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(8)
      const path = join(dir, "resume.jsonl")
      yield* runLog(path, a, Effect.gen(function* () {
        const log = yield* AuditLog.AuditLog
        for (let i = 0; i < 7; i++) yield* log.append("note", { i })
      }), { every: 5 })
      const before = fileRows(path)
      const tree = yield* runLog(path, a, Effect.gen(function* () {
        const chain = yield* Chain.Chain
        const t = Option.getOrThrow(yield* chain.tree)
        const log = yield* AuditLog.AuditLog
        for (let i = 7; i < 15; i++) yield* log.append("note", { i })
        return t
      }), { every: 5 })
      expect(tree.size).toBe(before.length)
      expect(b64(tree.root)).toBe(naiveRoot(before, before.length))
      const rows = fileRows(path)
      // run 1: audit_open 0, notes 1..4, checkpoint 5, notes 6..8, closing checkpoint 9; run 2
      // (the count goes on from the last checkpoint): notes 10..14, checkpoint 15, notes 16..18,
      // closing checkpoint 19
      expect(checkCheckpoints(rows, () => a, "acttrace/loan%20triage").map((c) => c.size)).toEqual([5, 9, 15, 19])
      expect(rows.at(-1)!.type).toBe("checkpoint")
      expect(Either.isRight(Verify.lines(readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0), { key: HMAC }))).toBe(true)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.live("an export under another checkpoint key than the log's is refused; a pack missing its first entries carries no checkpoint", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(9, "alpha")
      const b = yield* makeKey(10, "beta")
      const path = join(dir, "other-key.jsonl")
      yield* runLog(path, a, Effect.flatMap(AuditLog.AuditLog, (log) => log.append("note", { i: 0 })))
      const bytes = Effect.sync(() => Stream.make(new Uint8Array(readFileSync(path))))
      const withB = yield* Signer.makeEd25519(Redacted.make(b.signerKey), { hmac: HMAC })
      const out = join(dir, "other-key.pack.jsonl")
      const refused = yield* Effect.flip(Pack.write(bytes, path, out, { signer: withB }))
      expect(refused._tag).toBe("ExportError")
      expect(refused.message).toContain(`signs its checkpoints with the key ${a.verifierKey}, not ${b.verifierKey}`)
      const withA = yield* Signer.makeEd25519(Redacted.make(a.signerKey), { hmac: HMAC })
      const ok = yield* Pack.write(bytes, path, out, { signer: withA })
      expect(Option.isSome(ok.checkpoint)).toBe(true)

      // a bounded memory log that evicted its first entries: its pack has not the leaves of the
      // log's tree, and claims no checkpoint over them
      const partial = yield* Effect.scoped(
        Effect.flatMap(
          Layer.build(
            AuditLog.layer({ system: "bounded", riskTier: null }).pipe(
              Layer.provide(Store.layerMemory({ capacity: 4 })),
              Layer.provide(layerSigner(a)),
              Layer.provide(Redactor.layerNoop),
              Layer.provide(Chain.layerCheckpointPolicy({ every: 3 }))
            )
          ),
          (context) =>
            Effect.gen(function* () {
              const log = yield* AuditLog.AuditLog
              for (let i = 0; i < 10; i++) yield* log.append("note", { i })
              return yield* log.export(join(dir, "bounded.pack.jsonl"))
            }).pipe(Effect.provide(context))
        )
      )
      expect(partial.missing).toBeGreaterThan(0)
      expect(Option.isNone(partial.checkpoint)).toBe(true)
      expect(JSON.parse(readFileSync(join(dir, "bounded.pack.jsonl"), "utf8").split("\n")[0]!)._meta.checkpoint).toBeUndefined()
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
