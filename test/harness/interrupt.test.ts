/**
 * Interrupted appenders, over many rounds. Each round opens a chain over a slow asynchronous
 * store (the memory store with pauses of a few event-loop turns before each append, failing now
 * and then, no synchronous append), starts several callers (`append`, `appendAll`, `snapshot`),
 * interrupts some of them at random points (`Fiber.interrupt` after a random number of scheduler
 * or event-loop turns, or `Effect.timeout` on a clock that counts turns), sometimes closes the log
 * while they run, and then holds the round
 * to the chain's promises:
 *
 * - no caller hangs, and the log closes, each within a bound;
 * - the store's lines verify with the key, `seq` from 0 without a gap;
 * - an acknowledged entry is in the store with the `seq` and hash it was answered with;
 * - an entry that failed with a typed error (`StoreError`, `ChainClosed`, `CanonicalError`) is not;
 * - an interrupted caller's entry is either absent or present once (it may have been in a batch
 *   already being written when the interruption came; that batch is written whole);
 * - a snapshot's bytes verify and end at the position it reports.
 *
 * Interruptions reach a running fiber only when the runtime yields it, after `maxOpsBeforeYield`
 * operations: the callers run with a random `maxOpsBeforeYield` (16 to 2048, the default), or
 * start with a random padding of about 2,048 operations and are interrupted at their first
 * yield, so interruptions land between any two steps of a call, not only where it waits.
 *
 * Every choice comes from a seed (fixed in the normal suite, fresh under FUZZ_LONG=1, printed on a
 * failure; ACTTRACE_SEED=n replays it), and no pause is wall-clock time: only the bounds that call
 * a caller or a close hung are real time. ACTTRACE_LONG=1 runs 2,000 rounds, FUZZ_LONG=1 10,000.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Chain from "../../src/Chain.js"
import * as Verify from "../../src/Verify.js"
import { testSeed } from "../helpers.js"
import { closeWithin, KEY, linesOf, open, padding, pause, random, slowMemory, turnClock } from "./interrupt-stores.js"

const LONG = process.env["FUZZ_LONG"] === "1"
const ROUNDS = LONG ? 10_000 : process.env["ACTTRACE_LONG"] === "1" ? 2_000 : 400
const SEED = testSeed("interrupt harness", 0x1e7a11)
/** how long any caller, or the close, may take before the round counts it as hung (real time) */
const HANG_MILLIS = 5_000

type Outcome =
  | { readonly kind: "landed"; readonly seq: number; readonly hash: string }
  | { readonly kind: "refused"; readonly tag: string }
  | { readonly kind: "interrupted" }

interface Tally {
  landed: number
  refused: number
  interruptedPresent: number
  interruptedAbsent: number
  snapshots: number
  closedWhileRunning: number
}

const TYPED = new Set(["StoreError", "ChainClosed", "CanonicalError"])

/** What became of one entry, from its Exit (a timeout counts as an interruption). */
const outcomeOf = (exit: Exit.Exit<Chain.Chained, unknown>, where: string): Outcome => {
  if (Exit.isSuccess(exit)) return { kind: "landed", seq: exit.value.seq, hash: exit.value.hash }
  if (Cause.isInterruptedOnly(exit.cause)) return { kind: "interrupted" }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const tag = (failure.value as { _tag?: string })._tag ?? "?"
    if (tag === "TimeoutException") return { kind: "interrupted" }
    if (TYPED.has(tag)) return { kind: "refused", tag }
  }
  throw new Error(`${where}: an untyped failure: ${Cause.pretty(exit.cause)}`)
}

/**
 * Fail the run for a hang, saying so on stderr at once too: a writer spinning behind a held
 * token would otherwise starve the test runner before it reports.
 */
const hung = (message: string) =>
  Effect.sync(() => process.stderr.write(`HANG: ${message}\n`)).pipe(Effect.zipRight(Effect.dieMessage(message)))

const round = (n: number, tally: Tally) =>
  Effect.gen(function* () {
    const rand = random(SEED + n * 7919)
    const pick = <T>(xs: ReadonlyArray<T>): T => xs[Math.floor(rand() * xs.length)]!
    const where = `round ${n} (ACTTRACE_SEED=${SEED})`
    const store = yield* slowMemory(rand, { failRate: 0.05, maxBatch: pick([1, 2, 3, 4096]) })
    const { chain, scope } = yield* open(store)

    // the callers: each one operation, its entries marked so the store can be searched for them
    const entries: Array<{ marker: string; outcome: () => Outcome }> = []
    const snapshots: Array<() => Exit.Exit<unknown, unknown>> = []
    const callers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
    const interrupters: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
    const count = 2 + Math.floor(rand() * 7)
    for (let i = 0; i < count; i++) {
      const kind = pick(["append", "append", "appendAll", "snapshot"] as const)
      const stop = pick(["none", "none", "op", "yields", "delay", "timeout"] as const)
      const bad = rand() < 0.05
      let program: Effect.Effect<unknown, unknown>
      if (kind === "append") {
        const marker = `${n}/${i}`
        let exit: Exit.Exit<Chain.Chained, unknown> = Exit.interrupt(FiberId.none)
        program = Effect.exit(chain.append("tool_call", bad ? { marker, f: () => 1 } : { marker })).pipe(Effect.tap((e) => Effect.sync(() => (exit = e))))
        entries.push({ marker, outcome: () => outcomeOf(exit, `${where}, ${marker}`) })
        // a caller cut short before its Exit was recorded counts as interrupted (the default)
      } else if (kind === "appendAll") {
        const size = 1 + Math.floor(rand() * 6)
        const markers = Array.from({ length: size }, (_, j) => `${n}/${i}.${j}`)
        const badAt = bad ? Math.floor(rand() * size) : -1
        let exits: ReadonlyArray<Exit.Exit<Chain.Chained, unknown>> | undefined
        program = chain.appendAll(markers.map((marker, j) => ({ type: "tool_call", payload: j === badAt ? { marker, f: () => 1 } : { marker } }))).pipe(
          Effect.tap((e) => Effect.sync(() => (exits = e)))
        )
        markers.forEach((marker, j) =>
          entries.push({ marker, outcome: () => (exits === undefined ? { kind: "interrupted" } : outcomeOf(exits[j]!, `${where}, ${marker}`)) })
        )
      } else {
        let exit: Exit.Exit<unknown, unknown> = Exit.interrupt(FiberId.none)
        program = Effect.exit(
          Effect.flatMap(chain.snapshot, (s) =>
            Effect.map(Stream.runCollect(s.bytes), (chunks) => ({ position: s.position, lines: Chunk.toArray(chunks).map((c) => Buffer.from(c).toString("utf8")) }))
          )
        ).pipe(Effect.tap((e) => Effect.sync(() => (exit = e))))
        snapshots.push(() => exit)
      }
      // (0 to 3 "ms" of a clock that counts turns of the event loop, not real time)
      if (stop === "timeout") program = Effect.withClock(Effect.timeout(program, Math.floor(rand() * 4)), turnClock)
      let fiber: Fiber.RuntimeFiber<unknown, unknown>
      if (stop === "op") {
        // The runtime yields a fiber after 2,048 operations (the default), and only then can
        // another fiber's interruption reach it while it runs: a caller that first runs a random
        // padding of about that many operations, interrupted at its first yield, is interrupted
        // at a random operation of the start of its call.
        fiber = yield* Effect.fork(Effect.zipRight(padding(990 + Math.floor(rand() * 60)), program))
        interrupters.push(yield* Effect.fork(Fiber.interrupt(fiber)))
      } else {
        const maxOps = Math.round(Math.exp(Math.log(16) + rand() * (Math.log(2048) - Math.log(16))))
        fiber = yield* Effect.fork(Effect.withMaxOpsBeforeYield(program, maxOps))
      }
      callers.push(fiber)
      if (stop === "yields") {
        const turns = Math.floor(rand() * 40)
        interrupters.push(yield* Effect.fork(Effect.zipRight(Effect.repeatN(Effect.yieldNow(), turns), Fiber.interrupt(fiber))))
      } else if (stop === "delay") {
        const r = rand()
        interrupters.push(yield* Effect.fork(Effect.zipRight(pause(r), Fiber.interrupt(fiber))))
      }
    }

    // sometimes the log closes while its callers are still at it
    let closing: Fiber.RuntimeFiber<boolean> | undefined
    if (rand() < 0.2) {
      tally.closedWhileRunning++
      const r = rand()
      closing = yield* Effect.fork(Effect.zipRight(pause(r), closeWithin(scope, HANG_MILLIS)))
    }

    for (const [i, fiber] of callers.entries()) {
      const done = yield* Fiber.await(fiber).pipe(Effect.timeout(HANG_MILLIS), Effect.option)
      if (Option.isNone(done)) return yield* hung(`${where}: caller ${i} hung`)
    }
    for (const fiber of interrupters) {
      const done = yield* Fiber.await(fiber).pipe(Effect.timeout(HANG_MILLIS), Effect.option)
      if (Option.isNone(done)) return yield* hung(`${where}: an interrupter hung`)
    }
    const closed = closing !== undefined ? yield* Fiber.join(closing) : yield* closeWithin(scope, HANG_MILLIS)
    if (!closed) return yield* hung(`${where}: the log did not close within ${HANG_MILLIS} ms`)

    // the store, after the close
    const lines = yield* linesOf(store)
    // (an empty log is no chain to the verifier: every caller of the round was refused or cut short)
    if (lines.length > 0) {
      const verdict = Verify.lines(lines, { key: KEY })
      if (Either.isLeft(verdict)) return yield* Effect.dieMessage(`${where}: the store does not verify: ${verdict.left.message}`)
      expect(verdict.right.entries, where).toBe(lines.length)
    }
    const rows = lines.map((l) => JSON.parse(l) as { seq: number; hash: string; payload: { marker?: string } })
    const byMarker = new Map<string, { seq: number; hash: string }>()
    rows.forEach((row, i) => {
      expect(row.seq, where).toBe(i)
      const marker = row.payload.marker
      if (marker === undefined) return
      expect(byMarker.has(marker), `${where}: ${marker} written twice`).toBe(false)
      byMarker.set(marker, row)
    })
    for (const { marker, outcome } of entries) {
      const o = outcome()
      const row = byMarker.get(marker)
      if (o.kind === "landed") {
        expect(row, `${where}: acknowledged ${marker} is missing`).toBeDefined()
        expect([row!.seq, row!.hash], `${where}: ${marker} as acknowledged`).toEqual([o.seq, o.hash])
        tally.landed++
      } else if (o.kind === "refused") {
        expect(row, `${where}: ${marker} failed with ${o.tag} but was written`).toBeUndefined()
        tally.refused++
      } else if (row === undefined) tally.interruptedAbsent++
      else tally.interruptedPresent++
    }
    for (const s of snapshots) {
      const exit = s() as Exit.Exit<{ position: Chain.Position; lines: Array<string> }, unknown>
      if (Exit.isFailure(exit)) {
        if (Cause.isInterruptedOnly(exit.cause)) continue
        const failure = Cause.failureOption(exit.cause)
        const tag = Option.isSome(failure) ? (failure.value as { _tag?: string })._tag : undefined
        if (tag === "ChainClosed" || tag === "TimeoutException") continue
        return yield* Effect.dieMessage(`${where}: a snapshot failed: ${Cause.pretty(exit.cause)}`)
      }
      const text = exit.value.lines.join("").split("\n").filter((l) => l.length > 0)
      expect(text.length, `${where}: a snapshot's position`).toBe(exit.value.position.entries)
      tally.snapshots++
      // (an empty log is no chain to the verifier)
      if (text.length === 0) continue
      const v = Verify.lines(text, { key: KEY })
      if (Either.isLeft(v)) return yield* Effect.dieMessage(`${where}: a snapshot does not verify: ${v.left.message}`)
      expect((JSON.parse(text.at(-1)!) as { hash: string }).hash, `${where}: a snapshot's head`).toBe(exit.value.position.head)
    }
    // closed means closed
    const after = yield* Effect.exit(chain.append("tool_call", { marker: "after" }))
    expect(Exit.isFailure(after) && Option.getOrUndefined(Cause.failureOption(after.cause))?._tag, where).toBe("ChainClosed")
  })

describe("harness: interrupted appenders", () => {
  it.live(`${ROUNDS} rounds over a slow asynchronous store: every append lands or fails typed, none hangs, the log verifies and closes`, () =>
    Effect.gen(function* () {
      const tally: Tally = { landed: 0, refused: 0, interruptedPresent: 0, interruptedAbsent: 0, snapshots: 0, closedWhileRunning: 0 }
      const started = performance.now()
      for (let n = 0; n < ROUNDS; n++) yield* round(n, tally)
      console.log(
        `interrupt harness (ACTTRACE_SEED=${SEED}): ${ROUNDS} rounds in ${((performance.now() - started) / 1000).toFixed(1)} s; entries landed ${tally.landed}, ` +
          `refused ${tally.refused}, interrupted and written ${tally.interruptedPresent}, interrupted and withdrawn ${tally.interruptedAbsent}; ` +
          `snapshots checked ${tally.snapshots}; rounds closed while callers ran ${tally.closedWhileRunning}`
      )
      // the rounds did reach every case
      expect(tally.landed).toBeGreaterThan(0)
      expect(tally.refused).toBeGreaterThan(0)
      expect(tally.interruptedPresent).toBeGreaterThan(0)
      expect(tally.interruptedAbsent).toBeGreaterThan(0)
    })
  )
})
