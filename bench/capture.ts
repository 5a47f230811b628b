/**
 * `npm run bench` (third part): what auto-capture costs.
 *
 * - Per model call: Chat Completions calls with the real `openai` client against the local
 *   provider server (a separate process on 127.0.0.1), made from one Effect program with
 *   `Effect.tryPromise`, with the AuditLog layer open (signed memory store, default redaction,
 *   pricing). Blocks of 100 calls alternate between arms, 1,000 calls per arm:
 *   - plain: the client's own `fetch`, nothing recorded;
 *   - captured: `Capture` fetch, every call chained (before the program ends: the scope drains);
 *   - captured in decisions: the same, ten calls per decision, so the calls are tagged (async
 *     context tracking is on while a decision is open) and each decision adds its own two entries.
 * - Burst: 100,000 `llm_call` events emitted from plain JavaScript at once, timed until the last
 *   is chained in a memory store.
 *
 * Set BENCH_QUICK=1 for smaller counts.
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import OpenAI from "openai"
import * as AuditLog from "../src/AuditLog.js"
import * as Capture from "../src/Capture.js"
import * as F from "../src/internal/fixtures.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"

const QUICK = process.env["BENCH_QUICK"] === "1"
const ROUNDS = QUICK ? 3 : 5
const BURST = QUICK ? 20_000 : 100_000

const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const startServer = () =>
  new Promise<{ url: string; stop: () => void }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, "provider-child.js")], { stdio: ["ignore", "pipe", "inherit"] })
    child.once("error", reject)
    child.stdout.once("data", (d: Buffer) => resolve({ url: d.toString().trim(), stop: () => child.kill() }))
  })

const logLayer = (hub: Capture.Hub) =>
  AuditLog.layer({ system: "bench", riskTier: "high" }).pipe(
    Layer.provide(Store.layerMemory()),
    Layer.provide(Signer.layerHmac(Redacted.make("bench-key"))),
    Layer.provide(Redactor.layerDefault),
    Layer.provide(NodeFileSystem.layer),
    Layer.provide(Capture.layerHub(hub))
  )

const BLOCK = 100
const BLOCKS = QUICK ? 5 : 10

const block = (client: OpenAI, offset: number, n = BLOCK) =>
  Effect.gen(function* () {
    for (let i = 0; i < n; i++) {
      yield* Effect.tryPromise(() =>
        client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `Classify ticket ${offset + i}: the card was charged twice.` }] })
      )
    }
  })

/** Milliseconds per arm, summed over alternating blocks, all in one program under the log. */
const perCall = (url: string) => {
  const hub = Capture.make()
  const plain = new OpenAI({ apiKey: "k", baseURL: `${url}/v1`, maxRetries: 0 })
  const captured = new OpenAI({ apiKey: "k", baseURL: `${url}/v1`, maxRetries: 0, fetch: hub.fetch })
  return Effect.runPromise(
    Effect.gen(function* () {
      const log = yield* AuditLog.AuditLog
      const timed = <E>(effect: Effect.Effect<void, E>) =>
        Effect.gen(function* () {
          const start = performance.now()
          yield* effect
          // every call of the block is chained before the block counts as done
          yield* Capture.flush(hub)
          return performance.now() - start
        })
      const inDecisions = (offset: number) =>
        Effect.forEach(
          Array.from({ length: BLOCK / 10 }, (_, d) => d),
          (d) => log.withDecision({ input: { ticket: offset + d }, actor: "bench" }, () => block(captured, offset + d * 10, 10)),
          { discard: true }
        )
      // warm up every arm
      for (let w = 0; w < 3; w++) {
        yield* timed(block(plain, 0))
        yield* timed(block(captured, 0))
        yield* timed(inDecisions(0))
      }
      const t = { plain: 0, captured: 0, decisions: 0 }
      for (let b = 0; b < BLOCKS; b++) {
        t.plain += yield* timed(block(plain, b * BLOCK))
        t.captured += yield* timed(block(captured, b * BLOCK))
        t.plain += yield* timed(block(plain, b * BLOCK))
        t.decisions += yield* timed(inDecisions(b * BLOCK))
      }
      const n = BLOCK * BLOCKS
      return { plain: t.plain / 2 / n, captured: t.captured / n, decisions: t.decisions / n, entries: (yield* log.position).entries }
    }).pipe(Effect.provide(logLayer(hub)))
  )
}

const burst = async (): Promise<number> => {
  const hub = Capture.make()
  const payloads = Array.from({ length: BURST }, (_, i) => {
    const { decision_id: _d, cost: _c, ...rest } = F.llmCall(i).payload
    return rest
  })
  let start = 0
  await Effect.runPromise(
    Effect.gen(function* () {
      start = performance.now()
      for (const payload of payloads) hub.emit({ type: "llm_call", decisionId: null, span: null, payload })
      yield* Capture.flush(hub)
    }).pipe(Effect.provide(logLayer(hub)))
  )
  return BURST / ((performance.now() - start) / 1000)
}

const main = async () => {
  const server = await startServer()
  try {
    console.log(`\nauto-capture (openai chat calls against a local server; ${fmt(BLOCK * BLOCKS)} calls per arm, alternating blocks of ${BLOCK})`)
    const runs: Array<Awaited<ReturnType<typeof perCall>>> = []
    for (let r = 0; r < ROUNDS; r++) runs.push(await perCall(server.url))
    const pct = (x: number, base: number) => (x / base - 1) * 100
    const captured = runs.map((r) => pct(r.captured, r.plain))
    const decisions = runs.map((r) => pct(r.decisions, r.plain))
    const us = (ms: number) => (ms * 1000).toFixed(0)
    const mid = runs.map((r) => r.plain).sort((a, b) => a - b)[Math.floor(runs.length / 2)]!
    console.log(`  plain call                                 ${us(mid).padStart(6)} µs   (median of ${ROUNDS} runs)`)
    console.log(
      `  captured, outside decisions         added ${median(captured).toFixed(1).padStart(6)} %    median of ${ROUNDS} runs (target <= 5%): ${captured.map((x) => x.toFixed(1)).join(" ")}`
    )
    console.log(
      `  captured, in decisions (10 per decision) added ${median(decisions).toFixed(1).padStart(6)} %    ${decisions.map((x) => x.toFixed(1)).join(" ")} (async context tracking on, plus the decisions' own entries)`
    )
    await burst() // warm up
    const rates: Array<number> = []
    for (let r = 0; r < 3; r++) rates.push(await burst())
    console.log(`  burst of ${fmt(BURST)} captured events, drained ${fmt(median(rates)).padStart(9)} entries/s (median of 3: ${rates.map(fmt).join(" ")}; target >= 30,000)`)
  } finally {
    server.stop()
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
