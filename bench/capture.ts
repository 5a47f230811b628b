/**
 * `npm run bench` (third part): what auto-capture costs.
 *
 * - Per model call: Chat Completions calls with the real `openai` client against the local
 *   provider server (a separate process on 127.0.0.1), made from one Effect program with
 *   `Effect.tryPromise`, with the AuditLog layer open (signed memory store, default redaction,
 *   pricing). Three arms:
 *   - plain: the client's own `fetch`, nothing recorded;
 *   - captured: `Capture` fetch, every call chained;
 *   - captured in decisions: the same, ten calls per decision, so the calls are tagged (async
 *     context tracking is on while a decision is open) and each decision adds its own two entries.
 * - The target's measure, "added wall time at 1,000 calls": rounds of 1,000 plain and 1,000
 *   captured calls, made alternately call by call (which one goes first alternates too), so the
 *   machine's drift, tens of percent within a second here, falls on both arms alike. The hub
 *   writes its batches as it does in an app (due 100 ms after a call), in its own timer callback,
 *   which runs during whichever call is in flight; the hub's `stats().writeMillis`, read around
 *   every call, takes that time out of the call it fell in and charges it to the captured arm.
 *   A round ends with a flush, also charged to it. A round's ratio is (captured calls + all the
 *   writing) / plain calls; the report gives the pooled ratio of all rounds, their median and a
 *   95 % interval for the mean.
 * - In decisions (informational): blocks of 50 calls, ten per decision, against blocks of 50 plain
 *   calls, alternating.
 * - For comparison, the literal form: 1,000 plain calls in a row, then 1,000 captured, then 1,000
 *   plain (noisy: the drift falls between the runs).
 * - Burst: 100,000 `llm_call` events emitted from plain JavaScript at once, timed until the last
 *   is chained in a memory store.
 *
 * Set BENCH_QUICK=1 for smaller counts.
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
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
/** runs (each with a log of its own), and 1,000-call rounds per run */
const RUNS = QUICK ? 2 : 5
const ROUNDS = QUICK ? 1 : 3
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
    Layer.provide(Capture.layerHub(hub))
  )

const BLOCK = 50
const CALLS = 1000

const block = (client: OpenAI, offset: number, n = BLOCK) =>
  Effect.gen(function* () {
    for (let i = 0; i < n; i++) {
      yield* Effect.tryPromise(() =>
        client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `Classify ticket ${offset + i}: the card was charged twice.` }] })
      )
    }
  })

interface Round {
  readonly plain: number
  /** the captured calls and all the writing */
  readonly captured: number
  /** the hub's writing alone */
  readonly writing: number
  /** each pair's captured call minus its plain call (writing taken out), in milliseconds */
  readonly differences: Array<number>
}

/** One log: 1,000-pair rounds, blocks in decisions against plain blocks, and one literal triple. */
const perCall = (url: string) => {
  const hub = Capture.make()
  const plain = new OpenAI({ apiKey: "k", baseURL: `${url}/v1`, maxRetries: 0 })
  const captured = new OpenAI({ apiKey: "k", baseURL: `${url}/v1`, maxRetries: 0, fetch: hub.fetch })
  const call = (client: OpenAI, i: number) =>
    Effect.tryPromise(() => client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `Classify ticket ${i}: the card was charged twice.` }] }))
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
      const round = Effect.gen(function* () {
        const t = { plain: 0, captured: 0, writing: 0, differences: [] as Array<number> }
        let written = hub.stats().writeMillis
        /** a call's own time: without the hub's writing that fell in it (charged to capture) */
        const own = (start: number) => {
          const now = performance.now()
          const w = hub.stats().writeMillis
          const wrote = w - written
          written = w
          t.captured += wrote
          t.writing += wrote
          return now - start - wrote
        }
        for (let i = 0; i < CALLS; i++) {
          const plainFirst = i % 2 === 0
          const t0 = performance.now()
          yield* call(plainFirst ? plain : captured, i)
          const a = own(t0)
          const t1 = performance.now()
          yield* call(plainFirst ? captured : plain, i)
          const b = own(t1)
          t.plain += plainFirst ? a : b
          t.captured += plainFirst ? b : a
          t.differences.push(plainFirst ? b - a : a - b)
        }
        const f = performance.now()
        yield* Capture.flush(hub)
        // the flush's whole time: its writing (added by `own`) and the rest
        t.captured += own(f)
        return t
      })
      // warm up every arm
      yield* round
      for (let w = 0; w < 3; w++) {
        yield* timed(block(plain, 0))
        yield* timed(inDecisions(0))
      }
      const rounds: Array<Round> = []
      for (let r = 0; r < ROUNDS; r++) rounds.push(yield* round)
      // in decisions, blocks of 50 against plain blocks of 50
      const decisions = { plain: 0, captured: 0 }
      for (let b = 0; b < (QUICK ? 4 : 10); b++) {
        decisions.plain += yield* timed(block(plain, b * BLOCK))
        decisions.captured += yield* timed(inDecisions(b * BLOCK))
      }
      // the literal form: 1,000 calls in a row each way, the captured ones all chained before the
      // time is taken
      const p1 = yield* timed(block(plain, 0, CALLS))
      const c = yield* timed(block(captured, 0, CALLS))
      const p2 = yield* timed(block(plain, 0, CALLS))
      return { rounds, decisions, literal: c / ((p1 + p2) / 2) }
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
    console.log(`\nauto-capture (openai chat calls against a local server; ${RUNS * ROUNDS} rounds of ${fmt(CALLS)} plain and ${fmt(CALLS)} captured calls, alternating call by call; the hub's writing charged to capture)`)
    const runs: Array<Awaited<ReturnType<typeof perCall>>> = []
    for (let r = 0; r < RUNS; r++) runs.push(await perCall(server.url))
    const rounds = runs.flatMap((r) => r.rounds)
    const pct = (ratio: number) => (ratio - 1) * 100
    const ratios = rounds.map((r) => r.captured / r.plain)
    const pooled = rounds.reduce((a, r) => a + r.captured, 0) / rounds.reduce((a, r) => a + r.plain, 0)
    const mean = ratios.reduce((a, x) => a + x, 0) / ratios.length
    const sd = Math.sqrt(ratios.reduce((a, x) => a + (x - mean) ** 2, 0) / Math.max(1, ratios.length - 1))
    // two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom, then the normal one
    const T = [12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.2, 2.18, 2.16, 2.14, 2.13, 2.12, 2.11, 2.1, 2.09, 2.09, 2.08, 2.07, 2.07, 2.06, 2.06, 2.06, 2.05, 2.05, 2.05, 2.04]
    const half = ((T[ratios.length - 2] ?? 1.96) * sd) / Math.sqrt(ratios.length)
    const us = (ms: number) => ((ms * 1000) / CALLS).toFixed(0)
    const plainTotal = rounds.reduce((a, r) => a + r.plain, 0)
    const writing = rounds.reduce((a, r) => a + r.writing, 0)
    console.log(`  plain call                                 ${us(median(rounds.map((r) => r.plain))).padStart(6)} µs   (median of ${rounds.length} rounds)`)
    console.log(
      `  1,000 calls captured vs 1,000 plain   added ${pct(pooled).toFixed(1).padStart(6)} %    pooled over ${rounds.length} rounds (target <= 5%); median ${pct(median(ratios)).toFixed(1)} %, 95 % interval of the mean ${pct(mean - half).toFixed(1)} .. ${pct(mean + half).toFixed(1)} %; rounds: ${ratios.map((x) => pct(x).toFixed(1)).join(" ")}`
    )
    console.log(
      `    of which the hub's writing            ${((writing / plainTotal) * 100).toFixed(1).padStart(6)} %    ${((writing * 1000) / (rounds.length * CALLS)).toFixed(1)} µs per call; the rest is the fetch wrapper, in the calls`
    )
    // the calls' part, robustly: the median pair difference is not moved by the stalls of tens of
    // milliseconds that this machine gives one call now and then
    const wrapper = median(rounds.flatMap((r) => r.differences))
    const robust = (wrapper * rounds.length * CALLS + writing) / plainTotal
    console.log(
      `    the wrapper, median pair difference   ${((wrapper * rounds.length * CALLS * 100) / plainTotal).toFixed(1).padStart(6)} %    ${(wrapper * 1000).toFixed(1)} µs per call; with the writing: ${(robust * 100).toFixed(1)} % added`
    )
    const d = runs.map((r) => r.decisions.captured / r.decisions.plain)
    console.log(
      `  captured, in decisions (10 per decision) added ${pct(median(d)).toFixed(1).padStart(6)} %    median of ${d.length} runs of alternating blocks of ${BLOCK}: ${d.map((x) => pct(x).toFixed(1)).join(" ")} (async context tracking on, plus the decisions' own entries)`
    )
    const literal = runs.map((r) => r.literal)
    console.log(
      `  literal form, 1,000 in a row each way  added ${pct(median(literal)).toFixed(1).padStart(6)} %    median of ${literal.length}: ${literal.map((x) => pct(x).toFixed(1)).join(" ")} (the machine's drift falls between the runs)`
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
