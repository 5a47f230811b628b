/**
 * Real stores for the interruption tests of the chain: the memory store, made asynchronous (no
 * synchronous write, so every append goes through the chain's writer: the leading caller, the
 * writer fiber, the queue), either slowed by turns of the event loop and failing now and then, or
 * held at a gate the test opens. Plus what every such test needs: a chain opened in a scope of its
 * own, closed within a bound, and the store's lines read back.
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Chain from "../../src/Chain.js"
import * as Redactor from "../../src/Redactor.js"
import * as Signer from "../../src/Signer.js"
import * as Store from "../../src/Store.js"

export const KEY = Redacted.make("interrupt-harness-key")

/** A small seeded generator (mulberry32), so a failing round can be run again. */
export { rng as random } from "../helpers.js"

/**
 * A pause of `n` turns of the event loop (`setImmediate`): other fibers and the store's callbacks
 * run meanwhile, as they would during a slow write, but how far they get depends on the turns
 * taken, not on the wall clock or the machine's load.
 */
export const turns = (n: number): Effect.Effect<void> =>
  n <= 0
    ? Effect.void
    : Effect.zipRight(
      Effect.async<void>((resume) => {
        const h = setImmediate(() => resume(Effect.void))
        return Effect.sync(() => clearImmediate(h))
      }),
      Effect.suspend(() => turns(n - 1))
    )

/** A pause of 1 to 6 turns of the event loop, chosen by `r` in [0, 1) (most often one). */
export const pause = (r: number): Effect.Effect<void> => turns(r < 0.4 ? 1 : 1 + Math.floor(((r - 0.4) / 0.6) * 6))

/**
 * A clock whose `sleep` of n milliseconds is n turns of the event loop (its time is the real
 * time): under it `Effect.timeout(program, n)` interrupts after n turns, not after n ms of a busy
 * machine.
 */
export const turnClock: Clock.Clock = {
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => Date.now(),
  currentTimeMillis: Effect.sync(() => Date.now()),
  unsafeCurrentTimeNanos: () => process.hrtime.bigint(),
  currentTimeNanos: Effect.sync(() => process.hrtime.bigint()),
  sleep: (d) => turns(Math.ceil(Duration.toMillis(d)))
}

/**
 * About 2n operations of nothing: run before a call, it moves the point where the runtime yields
 * the fiber (after `maxOpsBeforeYield` operations, and only then can an interruption from another
 * fiber reach it) to a chosen operation of the call.
 */
export const padding = (n: number): Effect.Effect<void> => (n <= 0 ? Effect.void : Effect.flatMap(Effect.void, () => padding(n - 1)))

/** The memory store without its synchronous append: the chain must take the asynchronous path. */
const asynchronous = (mem: Store.StoreService, append: Store.StoreService["append"], maxBatch: number): Store.StoreService => ({
  name: mem.name,
  path: mem.path,
  // (a plain function, not made with Store.synchronousAppend: the chain cannot write at once)
  append,
  snapshot: mem.snapshot,
  evicted: mem.evicted,
  batching: { maxBatch, maxDelayMillis: 0 }
})

/**
 * A memory store whose every append takes a random pause first (turns of the event loop), then fails (writing
 * nothing, as a store failure must) with probability `failRate`.
 */
export const slowMemory = (rand: () => number, options: { readonly failRate: number; readonly maxBatch: number }) =>
  Effect.map(Store.makeMemory(), (mem) =>
    asynchronous(
      mem,
      (lines) =>
        Effect.zipRight(
          pause(rand()),
          Effect.suspend(() =>
            rand() < options.failRate ? Effect.fail(new Store.StoreError({ path: "memory", operation: "append", reason: "injected failure" })) : mem.append(lines)
          )
        ),
      options.maxBatch
    )
  )

/**
 * A memory store whose appends wait at a gate: `appendsStarted` counts the appends that reached
 * it, `release()` lets the oldest waiting one write, `snapshots` counts snapshot calls after open.
 */
export interface Gated {
  readonly store: Store.StoreService
  readonly appendsStarted: () => number
  readonly waiting: () => number
  readonly release: () => void
  /** release every waiting append, and let every later one through at once */
  readonly openAll: () => void
  readonly snapshots: () => number
}

export const gatedMemory = (options: { readonly maxBatch?: number; readonly snapshotDefectAt?: number } = {}): Effect.Effect<Gated> =>
  Effect.map(Store.makeMemory(), (mem) => {
    const gate: Array<() => void> = []
    let opened = false
    let started = 0
    let snapshots = 0
    const store: Store.StoreService = {
      ...asynchronous(
        mem,
        (lines) =>
          Effect.zipRight(
            Effect.async<void>((resume) => {
              started++
              if (opened) resume(Effect.void)
              else gate.push(() => resume(Effect.void))
            }),
            mem.append(lines)
          ),
        options.maxBatch ?? 4096
      ),
      snapshot: Effect.suspend(() => {
        snapshots++
        // the chain takes one snapshot of the store when it opens; the n-th read after that dies
        if (options.snapshotDefectAt !== undefined && snapshots - 1 === options.snapshotDefectAt) return Effect.die(new Error("store defect"))
        return mem.snapshot
      })
    }
    return {
      store,
      appendsStarted: () => started,
      waiting: () => gate.length,
      release: () => gate.shift()?.(),
      openAll: () => {
        opened = true
        for (const go of gate.splice(0)) go()
      },
      snapshots: () => Math.max(0, snapshots - 1)
    }
  })

/** The chain over `store` (signed, no redaction), in a scope of its own. */
export const open = (store: Store.StoreService) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      Chain.layer.pipe(
        Layer.provide(Layer.succeed(Store.Store, store)),
        Layer.provide(Signer.layerHmac(KEY)),
        Layer.provide(Redactor.layerNoop)
      ),
      scope
    )
    return { chain: Context.get(context, Chain.Chain), scope }
  })

/**
 * Close the chain's scope in a fiber of its own and wait for it at most `millis` (real time).
 * `true` when it closed; `false` when it was still closing (a hang or a spin), left running.
 */
export const closeWithin = (scope: Scope.CloseableScope, millis: number) =>
  Effect.gen(function* () {
    const closing = yield* Effect.forkDaemon(Scope.close(scope, Exit.void))
    const done = yield* Fiber.await(closing).pipe(Effect.timeout(millis), Effect.option)
    return Option.isSome(done)
  })

/** The lines the store holds, in order. */
export const linesOf = (store: Store.StoreService) =>
  Effect.gen(function* () {
    const chunks = yield* Effect.flatMap(store.snapshot, Stream.runCollect)
    return Buffer.concat(Chunk.toArray(chunks).map((c) => Buffer.from(c)))
      .toString("utf8")
      .split("\n")
      .filter((l) => l.length > 0)
  }).pipe(Effect.orDie)
