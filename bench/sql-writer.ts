/**
 * One writer process of `bench/sql.ts`'s many-writers run (forked with an IPC channel): opens the
 * log on the shared chain, appends a warm-up, says `ready`, waits for `go`, appends its entries
 * with `BENCH_CONCURRENCY` callers, and sends back how long that took and each append's latency.
 * Connecting, migrating, opening the chain and warming up are left out of the timed part: the
 * parent times from the moment every writer is ready to the moment the last one is done.
 *
 * Environment: DATABASE_URL, BENCH_CHAIN, BENCH_PREFIX, BENCH_INDEX, BENCH_COUNT, BENCH_WARMUP,
 * BENCH_CONCURRENCY, BENCH_KEY.
 */
import { NodeFileSystem } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as F from "../src/internal/fixtures.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"

/** What the writer sends its parent. */
export type Message =
  | { readonly ready: true }
  | { readonly done: true; readonly seconds: number; readonly latencies: ReadonlyArray<number> }
  | { readonly failed: string }

const env = (name: string): string => {
  const v = process.env[name]
  if (v === undefined || v === "") throw new Error(`sql-writer: ${name} is not set`)
  return v
}

const send = (m: Message) => new Promise<void>((ok) => process.send!(m, undefined, {}, () => ok()))

const main = async () => {
  const url = env("DATABASE_URL")
  const index = Number(env("BENCH_INDEX"))
  const count = Number(env("BENCH_COUNT"))
  const warmup = Number(env("BENCH_WARMUP"))
  const concurrency = Number(env("BENCH_CONCURRENCY"))
  // payloads of their own per writer (the redactor and the hash see different bytes)
  const payloads = Array.from({ length: warmup + count }, (_, i) => F.llmCall(index * 1_000_000 + i).payload)
  const go = new Promise<void>((ok) => process.once("message", () => ok()))
  const layer = AuditLog.layer({ system: "bench", riskTier: "high" }).pipe(
    Layer.provide(Store.layerSqlUrl(url, { chain: env("BENCH_CHAIN"), tablePrefix: env("BENCH_PREFIX") })),
    Layer.provide(Signer.layerHmac(Redacted.make(env("BENCH_KEY")))),
    Layer.provide(Redactor.layerDefault),
    Layer.provideMerge(NodeFileSystem.layer)
  )
  const result = await Effect.runPromise(
    Effect.gen(function* () {
      const log = yield* AuditLog.AuditLog
      yield* Effect.forEach(payloads.slice(0, warmup), (p) => log.append("llm_call", p), { concurrency, discard: true })
      yield* Effect.promise(() => send({ ready: true }))
      yield* Effect.promise(() => go)
      const latencies = new Float64Array(count)
      const start = performance.now()
      yield* Effect.forEach(
        payloads.slice(warmup),
        (p, i) =>
          Effect.suspend(() => {
            const t = performance.now()
            return Effect.map(log.append("llm_call", p), () => {
              latencies[i] = performance.now() - t
            })
          }),
        { concurrency, discard: true }
      )
      return { seconds: (performance.now() - start) / 1000, latencies: Array.from(latencies) }
    }).pipe(Effect.provide(layer), Effect.scoped)
  )
  await send({ done: true, ...result })
}

main().then(
  () => process.exit(0),
  async (e: unknown) => {
    await send({ failed: e instanceof Error ? e.message : String(e) }).catch(() => undefined)
    process.exit(1)
  }
)
