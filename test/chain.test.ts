/**
 * The chain's writer under interruption, case by case, over real asynchronous stores (the memory
 * store without its synchronous append: slowed by real timers, or held at a gate the test opens).
 * The randomized version of these cases is test/harness/interrupt.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import type * as Scheduler from "effect/Scheduler"
import type * as Chain from "../src/Chain.js"
import type * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import { closeWithin, gatedMemory, KEY, linesOf, open, padding, pause, random, slowMemory } from "./harness/interrupt-stores.js"

const BOUND = 3_000

/** The markers the store holds, in order, after checking that its lines verify with the key. */
const markersOf = (store: Store.StoreService) =>
  Effect.map(linesOf(store), (lines) => {
    const verdict = Verify.lines(lines, { key: KEY })
    if (Either.isLeft(verdict)) throw new Error(`the store does not verify: ${verdict.left.message}`)
    expect(verdict.right.entries).toBe(lines.length)
    return lines.map((l) => (JSON.parse(l) as { payload: { marker?: string } }).payload.marker)
  })

/** Run `effect` with a bound in real time: `None` when it was still running. */
const within = <A, E>(effect: Effect.Effect<A, E>, millis = BOUND) => Effect.option(Effect.timeout(effect, millis))

/** Wait (in real time, a scheduler turn at a time) until `ready()` holds. */
const until = (ready: () => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 100_000 && !ready(); i++) yield* pause(0)
    expect(ready()).toBe(true)
  })

/**
 * Fail the test for a hang, saying so on stderr at once too: a writer spinning behind a held
 * token would otherwise starve the test runner before it reports.
 */
const hung = (message: string) =>
  Effect.sync(() => process.stderr.write(`HANG: ${message}\n`)).pipe(Effect.zipRight(Effect.dieMessage(message)))

/** A chain over a gated memory store whose first append is forked and held at the store's gate. */
const firstAtTheGate = Effect.gen(function* () {
  const g = yield* gatedMemory()
  const { chain, scope } = yield* open(g.store)
  const first = yield* Effect.fork(chain.append("tool_call", { marker: "first" }))
  yield* until(() => g.waiting() === 1)
  return { g, chain, scope, first }
})

const isInterrupted = (exit: Exit.Exit<unknown, unknown>) => Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)

describe("Chain: the writer's token under interruption", () => {
  // The runtime yields a fiber after `maxOpsBeforeYield` operations, and only while it is yielded
  // can another fiber's interruption reach it. A caller that first runs a fixed padding of its
  // own and then appends, with maxOpsBeforeYield = m, is yielded (and interrupted by the test) at
  // a fixed operation of its append; m runs over every operation of the append's start: before,
  // while and after it takes the writer's token and queues its entry, and into its batch.
  const PAD = 500
  const sweep = (name: string, start: (chain: Chain.ChainService, m: number) => Effect.Effect<unknown, unknown>, marked = true) =>
    it.live(`${name} interrupted at any operation of its start leaves no token held: later appends land and the log closes`, () =>
      Effect.gen(function* () {
        let written = 0
        let withdrawn = 0
        for (let m = 2 * PAD - 40; m < 2 * PAD + 160; m++) {
          const store = yield* slowMemory(random(m), { failRate: 0, maxBatch: 4096 })
          const { chain, scope } = yield* open(store)
          const fiber = yield* Effect.fork(Effect.withMaxOpsBeforeYield(Effect.zipRight(padding(PAD), start(chain, m)), m))
          yield* Effect.yieldNow()
          yield* Fiber.interrupt(fiber)
          // (a hang fails at once, before the close: a close behind a held token spins forever)
          const next = yield* within(chain.append("tool_call", { marker: "next" }))
          if (Option.isNone(next)) return yield* hung(`${name} interrupted at operation ${m}: the next append hung`)
          if (!(yield* closeWithin(scope, BOUND))) return yield* hung(`${name} interrupted at operation ${m}: the log did not close`)
          const markers = yield* markersOf(store)
          expect(markers.at(-1)).toBe("next")
          if (markers.includes(`m${m}`)) written++
          else withdrawn++
        }
        // the sweep reached both sides: entries interrupted before they were taken, and after
        if (marked) {
          expect(written).toBeGreaterThan(0)
          expect(withdrawn).toBeGreaterThan(0)
        }
      })
    )

  sweep("an append", (chain, m) => chain.append("tool_call", { marker: `m${m}` }))
  sweep("an appendAll", (chain, m) => chain.appendAll([{ type: "tool_call", payload: { marker: `m${m}` } }, { type: "tool_call", payload: { marker: `m${m}+` } }]))
  sweep("a snapshot", (chain) => chain.snapshot, false)

  it.live("an append queued behind a batch and interrupted is withdrawn; one already in a batch is written, its caller interrupted", () =>
    Effect.gen(function* () {
      const { g, chain, scope, first } = yield* firstAtTheGate
      // queued behind the first batch, interrupted before any batch takes it: never written
      const queued = yield* Effect.fork(chain.append("tool_call", { marker: "queued" }))
      yield* pause(0)
      yield* Fiber.interrupt(queued)
      expect(isInterrupted(yield* Fiber.await(queued))).toBe(true)
      // taken into the next batch (which waits at the gate), then interrupted: written whole
      const taken = yield* Effect.fork(chain.append("tool_call", { marker: "taken" }))
      yield* pause(0)
      g.release()
      yield* until(() => g.waiting() === 1)
      yield* Fiber.interrupt(taken)
      expect(isInterrupted(yield* Fiber.await(taken))).toBe(true)
      g.release()
      expect(Exit.isSuccess(yield* Fiber.await(first))).toBe(true)
      const last = yield* Effect.fork(chain.append("tool_call", { marker: "last" }))
      yield* until(() => g.waiting() === 1)
      g.release()
      expect((yield* Fiber.join(last)).seq).toBe(2)
      expect(yield* closeWithin(scope, BOUND)).toBe(true)
      expect(yield* markersOf(g.store)).toEqual(["first", "taken", "last"])
    })
  )

  it.live("an appendAll interrupted halfway: the entries in the batch being written land, in order; the ones still queued are withdrawn", () =>
    Effect.gen(function* () {
      const g = yield* gatedMemory({ maxBatch: 4 })
      const { chain, scope } = yield* open(g.store)
      const first = yield* Effect.fork(chain.append("tool_call", { marker: "first" }))
      yield* until(() => g.waiting() === 1)
      const all = yield* Effect.fork(chain.appendAll(Array.from({ length: 10 }, (_, i) => ({ type: "tool_call", payload: { marker: `all${i}` } }))))
      yield* pause(0)
      g.release()
      // the writer took four of the ten into its batch, which now waits at the gate
      yield* until(() => g.waiting() === 1)
      yield* Fiber.interrupt(all)
      expect(isInterrupted(yield* Fiber.await(all))).toBe(true)
      g.openAll()
      expect(Exit.isSuccess(yield* Fiber.await(first))).toBe(true)
      // nothing else is written: the remaining six were withdrawn
      yield* chain.append("tool_call", { marker: "last" })
      expect(yield* closeWithin(scope, BOUND)).toBe(true)
      expect(yield* markersOf(g.store)).toEqual(["first", "all0", "all1", "all2", "all3", "last"])
    })
  )

  it.live("a snapshot request interrupted while queued is withdrawn: the store is not read for it", () =>
    Effect.gen(function* () {
      const { g, chain, scope, first } = yield* firstAtTheGate
      const snap = yield* Effect.fork(chain.snapshot)
      yield* pause(0)
      yield* Fiber.interrupt(snap)
      g.release()
      yield* Fiber.join(first)
      expect(yield* closeWithin(scope, BOUND)).toBe(true)
      expect(g.snapshots()).toBe(0)
    })
  )

  it.live("a store defect in the middle of a batch answers every caller of that batch, and the writer carries on", () =>
    Effect.gen(function* () {
      // the first snapshot after the log opened dies
      const g = yield* gatedMemory({ snapshotDefectAt: 1 })
      const { chain, scope } = yield* open(g.store)
      const first = yield* Effect.fork(chain.append("tool_call", { marker: "first" }))
      yield* until(() => g.waiting() === 1)
      // queued behind the first batch, in this order: one batch for the writer fiber
      const snap = yield* Effect.fork(chain.snapshot)
      yield* pause(0)
      const after = yield* Effect.fork(chain.append("tool_call", { marker: "after" }))
      yield* pause(0)
      g.release()
      const snapExit = yield* within(Fiber.await(snap))
      expect(Option.isSome(snapExit), "the snapshot's caller was never answered").toBe(true)
      expect(Exit.isFailure(snapExit.pipe(Option.getOrThrow)) && Cause.isDie((snapExit.pipe(Option.getOrThrow) as Exit.Failure<unknown, unknown>).cause)).toBe(true)
      const afterExit = yield* within(Fiber.await(after))
      expect(Option.isSome(afterExit), "an append queued behind the defect was never answered").toBe(true)
      // the writer fiber is still there: appends queued behind a batch in progress are written
      const lead = yield* Effect.fork(chain.append("tool_call", { marker: "lead" }))
      yield* until(() => g.waiting() === 1)
      const behind = yield* Effect.fork(chain.append("tool_call", { marker: "behind" }))
      yield* pause(0)
      g.release()
      yield* until(() => g.waiting() === 1)
      g.release()
      expect(Exit.isSuccess(yield* Fiber.await(lead))).toBe(true)
      expect(Option.isSome(yield* within(Fiber.await(behind)))).toBe(true)
      expect(yield* closeWithin(scope, BOUND)).toBe(true)
      expect((yield* markersOf(g.store)).slice(-2)).toEqual(["lead", "behind"])
    })
  )

  it.live("closing while an appender writes waits for it without spinning, then drains the queue; later appends fail with ChainClosed", () =>
    Effect.gen(function* () {
      // count the tasks the fibers hand the scheduler: a writer spinning on yieldNow while it
      // waits for the token would hand it thousands in the time the gate stays shut
      let tasks = 0
      const base = yield* FiberRef.get(FiberRef.currentScheduler)
      const counting: Scheduler.Scheduler = {
        shouldYield: (fiber) => base.shouldYield(fiber),
        scheduleTask: (task, priority, fiber) => {
          tasks++
          base.scheduleTask(task, priority, fiber)
        }
      }
      yield* Effect.gen(function* () {
        const { g, chain, scope, first } = yield* firstAtTheGate
        const queued = yield* Effect.fork(chain.append("tool_call", { marker: "queued" }))
        yield* pause(0)
        const closing = yield* Effect.fork(closeWithin(scope, BOUND))
        yield* pause(0)
        const before = tasks
        // the gate stays shut for a hundred turns of the event loop while the log is closing
        for (let i = 0; i < 100; i++) yield* pause(0)
        const scheduled = tasks - before
        g.openAll()
        expect(yield* Fiber.join(closing)).toBe(true)
        expect(scheduled).toBeLessThan(500)
        expect(Exit.isSuccess(yield* Fiber.await(first))).toBe(true)
        expect(Exit.isSuccess(yield* Fiber.await(queued))).toBe(true)
        const late = yield* Effect.exit(chain.append("tool_call", { marker: "late" }))
        expect(Exit.isFailure(late) && Option.getOrUndefined(Cause.failureOption(late.cause))?._tag).toBe("ChainClosed")
        expect(yield* markersOf(g.store)).toEqual(["first", "queued"])
      }).pipe(Effect.withScheduler(counting))
    })
  )
})
