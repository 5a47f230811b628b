/**
 * A store double sees every write: a test layer made from a real store with only `append`
 * replaced (`{ ...real, append: double }`) is called for every line the chain writes, whichever
 * way the entry came in (`append`, `appendAll`, `appendAllNow`, the capture hub's batches), over
 * the memory store and over the file store with `blocking: true` (the two synchronous stores,
 * whose fast path used to go around `append`).
 */
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { join } from "node:path"
import * as AuditLog from "../src/AuditLog.js"
import * as Capture from "../src/Capture.js"
import * as Chain from "../src/Chain.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import { tempDir } from "./helpers.js"

/** The real store with only `append` replaced by one that records the lines it is given. */
const recording = (real: Store.StoreService) => {
  const seen: Array<string> = []
  const store: Store.StoreService = {
    ...real,
    append: (lines) => Effect.suspend(() => (seen.push(...lines), real.append(lines)))
  }
  return { store, seen }
}

/** The lines a store holds, read back through its snapshot. */
const linesIn = (store: Store.StoreService) =>
  Effect.gen(function* () {
    const bytes = yield* Effect.flatMap(store.snapshot, Stream.runCollect)
    const text = Buffer.concat(Chunk.toArray(bytes)).toString("utf8")
    return text === "" ? [] : text.slice(0, -1).split("\n")
  })

/** The real synchronous stores: memory, and a file written with `blocking: true`. */
const stores: ReadonlyArray<readonly [string, (dir: string) => Effect.Effect<Store.StoreService, unknown, Scope.Scope>]> = [
  ["the memory store", () => Store.makeMemory()],
  ["the blocking file store", (dir) => Store.makeFile(join(dir, "audit.jsonl"), { blocking: true }).pipe(Effect.provide(NodeFileSystem.layer))]
]

const entries = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ type: "tool_call", payload: { tag, i } }))

describe("Store: a double that replaces only append sees every write", () => {
  for (const [name, open] of stores) {
    it.scoped(`${name}: append, appendAll, appendAllNow and concurrent appends all reach the double`, () =>
      Effect.gen(function* () {
        const { dir, cleanup } = tempDir()
        yield* Effect.addFinalizer(() => Effect.sync(cleanup))
        const real = yield* open(dir)
        const { store, seen } = recording(real)
        const chain = yield* Chain.make.pipe(
          Effect.provideService(Store.Store, store),
          Effect.provide(Signer.layerNone),
          Effect.provide(Redactor.layerNoop)
        )
        yield* chain.append("decision_record", { n: 1 })
        yield* chain.appendAll(entries(5, "all"))
        // declining (undefined) is allowed; writing past the double is not
        const now = chain.appendAllNow(entries(4, "now"))
        if (now === undefined) yield* chain.appendAll(entries(4, "now"))
        else expect(now.every(Exit.isSuccess)).toBe(true)
        yield* Effect.all(
          Array.from({ length: 20 }, (_, i) => chain.append("tool_call", { tag: "concurrent", i })),
          { concurrency: "unbounded" }
        )
        const held = yield* linesIn(real)
        expect(held.length).toBe(1 + 5 + 4 + 20)
        expect(seen).toEqual(held)
      })
    )

    it.live(`${name}: the capture hub's batches, written through the log, reach the double`, () =>
      Effect.gen(function* () {
        const { dir, cleanup } = tempDir()
        yield* Effect.addFinalizer(() => Effect.sync(cleanup))
        const real = yield* open(dir)
        const { store, seen } = recording(real)
        const hub = Capture.make()
        const lookup = hub.tool("lookup", async (x: number) => x * 2)
        const layer = AuditLog.layer({ system: "double-test", riskTier: "minimal", tagPromiseCalls: false }).pipe(
          Layer.provide(Layer.succeed(Store.Store, store)),
          Layer.provide(Signer.layerNone),
          Layer.provide(Redactor.layerNoop),
          Layer.provide(Capture.layerHub(hub))
        )
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* AuditLog.AuditLog
            for (let round = 0; round < 3; round++) {
              yield* Effect.promise(() => Promise.all([lookup(round), lookup(round + 10), lookup(round + 20)]))
              // the hub writes a batch as soon as it is due, in its own callback
              yield* Capture.flush(hub)
            }
          }).pipe(Effect.provide(layer))
        )
        const held = yield* linesIn(real)
        const calls = held.filter((l) => (JSON.parse(l) as { type: string }).type === "tool_call")
        expect(calls.length).toBe(9)
        expect(seen).toEqual(held)
      }).pipe(Effect.scoped)
    )

    it.scoped(`${name}: the real store keeps its fast path, and so does a double made with synchronousAppend, which still sees every write`, () =>
      Effect.gen(function* () {
        const { dir, cleanup } = tempDir()
        yield* Effect.addFinalizer(() => Effect.sync(cleanup))
        const real = yield* open(dir)
        const realNow = Store.appendNow(real.append)
        expect(realNow).toBeDefined()
        const seen: Array<string> = []
        const store: Store.StoreService = {
          ...real,
          append: Store.synchronousAppend((lines) => (seen.push(...lines), realNow!(lines)))
        }
        const chain = yield* Chain.make.pipe(
          Effect.provideService(Store.Store, store),
          Effect.provide(Signer.layerNone),
          Effect.provide(Redactor.layerNoop)
        )
        // written here and now, through the double's own synchronous write
        const now = chain.appendAllNow(entries(4, "now"))
        expect(now?.every(Exit.isSuccess)).toBe(true)
        yield* chain.append("decision_record", { n: 1 })
        yield* Effect.all(
          Array.from({ length: 10 }, (_, i) => chain.append("tool_call", { tag: "concurrent", i })),
          { concurrency: "unbounded" }
        )
        const held = yield* linesIn(real)
        expect(held.length).toBe(4 + 1 + 10)
        expect(seen).toEqual(held)
      })
    )
  }

  it("a double's own function, a bound copy, an Object.assign copy or a Proxy of a synchronous append has no synchronous form", () => {
    const real = Effect.runSync(Store.makeMemory())
    const append = real.append
    expect(Store.appendNow(append)).toBeDefined()
    expect(Store.appendNow((lines) => append(lines))).toBeUndefined()
    expect(Store.appendNow(append.bind(undefined))).toBeUndefined()
    expect(Store.appendNow(Object.assign((lines: ReadonlyArray<string>) => append(lines), append))).toBeUndefined()
    expect(Store.appendNow(new Proxy(append, {}))).toBeUndefined()
  })
})
