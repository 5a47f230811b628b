import { afterAll, beforeAll, beforeEach } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
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
  const store: Store.StoreService = setup.asyncStore === true ? { ...memory, append: (lines) => memory.append(lines) } : memory
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
