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
const ROUNDS = QUICK ? 2 : 5
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

const BLOCK = 50
const BLOCKS = QUICK ? 10 : 20

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
      // each captured block is compared with the plain blocks just before and after it, so a
      // drift of the machine's speed (which is large here) falls on both sides of a pair
      const t = { plain: 0, captured: 0, decisions: 0 }
      const pairs = { captured: [] as Array<number>, decisions: [] as Array<number> }
      let before = yield* timed(block(plain, 0))
      for (let b = 0; b < BLOCKS; b++) {
        const c = yield* timed(block(captured, b * BLOCK))
        const mid = yield* timed(block(plain, b * BLOCK))
        const d = yield* timed(inDecisions(b * BLOCK))
        const after = yield* timed(block(plain, b * BLOCK))
        pairs.captured.push(c / ((before + mid) / 2))
        pairs.decisions.push(d / ((mid + after) / 2))
        t.plain += mid
        t.captured += c
        t.decisions += d
        before = after
      }
      // the target's own measure: 1,000 calls in a row each way, the captured ones all chained
      // before the time is taken
      const thousand: Array<number> = []
      for (let r = 0; r < 2; r++) {
        const p1 = yield* timed(block(plain, 0, 1000))
        const c = yield* timed(block(captured, 0, 1000))
        const p2 = yield* timed(block(plain, 0, 1000))
        thousand.push(c / ((p1 + p2) / 2))
      }
      const n = BLOCK * BLOCKS
      return { plain: t.plain / n, captured: t.captured / n, decisions: t.decisions / n, pairs, thousand, entries: (yield* log.position).entries }
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
    const pct = (ratio: number) => (ratio - 1) * 100
    const quartiles = (xs: Array<number>) => {
      const s = [...xs].sort((a, b) => a - b)
      return [s[Math.floor(s.length / 4)]!, s[Math.floor(s.length / 2)]!, s[Math.floor((3 * s.length) / 4)]!].map(pct)
    }
    const captured = quartiles(runs.flatMap((r) => r.pairs.captured))
    const decisions = quartiles(runs.flatMap((r) => r.pairs.decisions))
    const perRun = runs.map((r) => pct(median(r.pairs.captured)).toFixed(1)).join(" ")
    const us = (ms: number) => (ms * 1000).toFixed(0)
    const mid = median(runs.map((r) => r.plain))
    const n = runs.length * BLOCKS
    console.log(`  plain call                                 ${us(mid).padStart(6)} µs   (median of ${ROUNDS} runs)`)
    const thousand = runs.flatMap((r) => r.thousand)
    console.log(
      `  1,000 calls captured vs 1,000 plain   added ${pct(median(thousand)).toFixed(1).padStart(6)} %    median of ${thousand.length} (target <= 5%): ${thousand.map((x) => pct(x).toFixed(1)).join(" ")}`
    )
    console.log(
      `  blocks of ${BLOCK}, each chained at its end  added ${captured[1]!.toFixed(1).padStart(6)} %    median of ${n} block pairs; quartiles ${captured[0]!.toFixed(1)} / ${captured[2]!.toFixed(1)}; per run ${perRun} (no overlap with I/O: the CPU cost)`
    )
    console.log(
      `  captured, in decisions (10 per decision) added ${decisions[1]!.toFixed(1).padStart(6)} %    quartiles ${decisions[0]!.toFixed(1)} / ${decisions[2]!.toFixed(1)} (async context tracking on, plus the decisions' own entries)`
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
