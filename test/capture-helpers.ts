import { afterAll, beforeAll, beforeEach } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as AuditLog from "../src/AuditLog.js"
import * as Capture from "../src/Capture.js"
import * as Pricing from "../src/Pricing.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import { startProviderServer, type ProviderServer } from "./fixtures/provider-server.js"

export const key = Redacted.make("capture-test-key")

export interface Row {
  readonly seq: number
  readonly type: string
  readonly payload: Record<string, unknown>
}

export interface Run<A, E> {
  readonly exit: Exit.Exit<A, E | unknown>
  readonly rows: ReadonlyArray<Row>
  readonly text: string
  readonly warnings: ReadonlyArray<string>
  readonly errors: ReadonlyArray<string>
}

export interface Setup {
  readonly hub?: Capture.Hub
  readonly interceptors?: ReadonlyArray<Capture.Interceptor<any>>
  readonly pricing?: Layer.Layer<Pricing.Pricing, unknown>
  readonly tagPromiseCalls?: boolean
  /**
   * a store without a synchronous append (as a file store with group commit is): the memory store
   * behind an `append` of its own, which the chain cannot run synchronously
   */
  readonly asyncStore?: boolean
}

/** Run `program` against a fresh signed in-memory log fed by `hub`; the rows once it closed. */
export const runLogged = async <A, E>(
  program: Effect.Effect<A, E, AuditLog.AuditLog | Redactor.Redactor>,
  setup: Setup = {}
): Promise<Run<A, E>> => {
  const memory = Effect.runSync(Store.makeMemory())
  const store: Store.StoreService = setup.asyncStore === true ? withoutSyncAppend(memory) : memory
  const { warnings, errors, logger } = collectLogs()
  const layer = AuditLog.layer({ system: "capture-test", riskTier: "high", tagPromiseCalls: setup.tagPromiseCalls }).pipe(
    Layer.provideMerge(Redactor.layerDefault),
    Layer.provide(Layer.succeed(Store.Store, store)),
    Layer.provide(Signer.layerHmac(key)),
    Layer.provide(Capture.layerHub(setup.hub ?? Capture.make())),
    Layer.provide(Capture.layerInterceptors(...(setup.interceptors ?? []))),
    Layer.provide(setup.pricing ?? Pricing.layer)
  )
  const exit = await Effect.runPromiseExit(program.pipe(Effect.provide(layer), Effect.provide(logger)))
  const bytes = await Effect.runPromise(Effect.flatMap(store.snapshot, Stream.runCollect))
  const text = Buffer.concat(Chunk.toArray(bytes)).toString("utf8")
  const lines = text.split("\n").filter((l) => l.length > 0)
  const verdict = Verify.lines(lines, { key })
  if (verdict._tag === "Left") throw new Error(`the log does not verify: ${verdict.left.message}`)
  return { exit, rows: lines.map((l) => JSON.parse(l) as Row), text, warnings, errors }
}

/** `runLogged` for a program that must succeed: its failure (an `expect` inside it, too) fails the test. */
export const runLoggedOk = async <A, E>(
  program: Effect.Effect<A, E, AuditLog.AuditLog | Redactor.Redactor>,
  setup: Setup = {}
): Promise<Run<A, E>> => {
  const run = await runLogged(program, setup)
  if (Exit.isFailure(run.exit)) throw Cause.squash(run.exit.cause)
  return run
}

export const ofType = (rows: ReadonlyArray<Row>, type: string) => rows.filter((r) => r.type === type)

/**
 * A logger in place of the default one that keeps what is logged at Warning and at Error (the
 * texts, in order) for the test to read, and prints nothing.
 */
export const collectLogs = (): {
  readonly warnings: ReadonlyArray<string>
  readonly errors: ReadonlyArray<string>
  readonly logger: Layer.Layer<never>
} => {
  const warnings: Array<string> = []
  const errors: Array<string> = []
  const logger = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      const text = String(Array.isArray(message) ? message.join(" ") : message)
      if (logLevel._tag === "Warning") warnings.push(text)
      if (logLevel._tag === "Error") errors.push(text)
    })
  )
  return { warnings, errors, logger }
}

/**
 * `store` behind an `append` of its own, as a file store with group commit is: the chain cannot
 * run it synchronously, so the log's consumer fiber writes the captured calls.
 */
export const withoutSyncAppend = (store: Store.StoreService): Store.StoreService => ({ ...store, append: (lines) => store.append(lines) })

/** The rows a memory store holds now, parsed (a memory log read without verifying it). */
export const memoryRows = <R = Row>(memory: Store.StoreService): Effect.Effect<ReadonlyArray<R>, Store.StoreError> =>
  Effect.gen(function* () {
    const bytes = yield* Effect.flatMap(memory.snapshot, Stream.runCollect)
    return Buffer.concat(Chunk.toArray(bytes))
      .toString("utf8")
      .split("\n")
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as R)
  })

export interface OpenLog {
  /** the hub the log subscribes to; the process-wide default hub when not given */
  readonly hub?: Capture.Hub | undefined
  /** the store the log writes through, made from its memory store (a slow one, one that dies); the memory store itself when not given */
  readonly store?: ((memory: Store.StoreService) => Store.StoreService) | undefined
  /** the pricing the log prices calls with; the built-in table when not given */
  readonly pricing?: Pricing.PricingService | undefined
  /** the logger the log's fibers log with (see `collectLogs`) */
  readonly logger?: Layer.Layer<never> | undefined
}

/**
 * An unsigned audit log over a memory store of its own, opened in `scope` (closed with it): the
 * service, `run` to run an effect with its context, its rows as the store holds them, and the
 * memory store itself.
 */
export const openLog = (system: string, scope: Scope.Scope, options: OpenLog = {}) =>
  Effect.gen(function* () {
    const memory = yield* Store.makeMemory()
    let layer = AuditLog.layer({ system, riskTier: null }).pipe(
      Layer.provide(Layer.succeed(Store.Store, options.store?.(memory) ?? memory)),
      Layer.provide(Signer.layerNone),
      Layer.provide(Redactor.layerNoop)
    )
    if (options.hub !== undefined) layer = layer.pipe(Layer.provide(Capture.layerHub(options.hub)))
    if (options.pricing !== undefined) layer = layer.pipe(Layer.provide(Layer.succeed(Pricing.Pricing, options.pricing)))
    if (options.logger !== undefined) layer = layer.pipe(Layer.provide(options.logger))
    const context = yield* Layer.buildWithScope(layer, scope)
    const run = <A, E>(effect: Effect.Effect<A, E, AuditLog.AuditLog>) => Effect.provide(effect, context)
    return { log: Context.get(context, AuditLog.AuditLog), run, rows: memoryRows(memory), memory }
  })


/**
 * The loopback provider server for a test file: started once, closed at the end, its records
 * and failure switch cleared before each test. Returns the running server.
 */
export const useProviderServer = (): (() => ProviderServer) => {
  let server: ProviderServer | undefined
  beforeAll(async () => {
    server = await startProviderServer()
  })
  afterAll(() => server?.close())
  beforeEach(() => {
    server!.received.length = 0
    server!.cancelled = 0
    server!.failWith = null
  })
  return () => server!
}

/**
 * Wait until `what()` holds: the event a test waits for (a batch written, a call recorded), looked
 * at every few milliseconds, never a guess at how long it takes. Fails after `ms`, naming it.
 */
export const until = async (what: () => boolean, label = "the condition", ms = 10_000): Promise<void> => {
  const end = Date.now() + ms
  while (!what()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${label}`)
    await new Promise((r) => setTimeout(r, 2))
  }
}
