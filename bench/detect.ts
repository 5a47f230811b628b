/**
 * `npm run bench` (fourth part): the detection engine.
 *
 * - Scan throughput: a 10 MB corpus of realistic payloads (JSON Lines of model-call records:
 *   prose, ids, digests, timestamps, numbers, and now and then an e-mail address, a phone number,
 *   a card number or a key), parsed, then scanned with `Detect.scan` under the default policy.
 *   MB/s of JSON text.
 * - Scan throughput on hostile input: every adversarial input of `test/harness/redos.test.ts`
 *   (repeated prefixes, unterminated blocks, separators, digit runs, near-misses), as many
 *   strings, the same number of MB as the corpus. The worst case an attacker can feed the engine.
 * - Scan throughput on the generic adversarial families of `test/fixtures/redos-families.ts`
 *   (digit runs, separators, `a@a.a.a…`, base64, hex and colons, `password=password=…`, quotes
 *   without ends, …), the built-ins at once, one string per family, the same number of MB.
 * - The redactor's cost on one captured model call (the payload `Capture` writes), per payload.
 * - The cost of redaction on appending: the append benchmark's memory-store run with
 *   `Redactor.layerDefault` against the same run with `Redactor.layerNoop`, alternating (target:
 *   at most 35 % added). This is where it is measured; `bench/append.ts` redacts in every run and
 *   has no run without it.
 * - The external detection benchmark (`../shared/benchmarks/detect-external`: the test cases of
 *   gitleaks, Presidio and detect-secrets), run with its own runner on the built CLI (`npm run
 *   bench` builds first): micro and macro recall, recall per category, the share of negative cases
 *   flagged (with placeholders apart), and what is found in the out-of-scope file by category.
 *   Targets: micro >= 95 %, macro >= 90 %, every category >= 85 %, negatives <= 1.5 %. Without
 *   ../shared it says so and goes on.
 *
 * Each figure is given in wall time, as before, and in processor time (`process.cpuUsage`), which
 * other processes on a shared machine do not stretch: the two agree on an idle machine.
 *
 * Set BENCH_QUICK=1 for a smaller corpus (2 MB instead of 10) and 20,000 appends (not 100,000).
 */
import { NodeFileSystem } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as Detect from "../src/Detect.js"
import * as F from "../src/internal/fixtures.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import { adversarial } from "../test/fixtures/detect-corpus.js"
import * as External from "../test/fixtures/detect-external.js"
import { generic } from "../test/fixtures/redos-families.js"

const QUICK = process.env["BENCH_QUICK"] === "1"
const TARGET_BYTES = (QUICK ? 2 : 10) * 1024 * 1024
const N_APPEND = QUICK ? 20_000 : 100_000

const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** A fixed pseudo-random sequence, so every run scans the same corpus. */
let seed = 0x9e3779b9
const rand = () => {
  seed ^= seed << 13
  seed ^= seed >>> 17
  seed ^= seed << 5
  return (seed >>> 0) / 0x100000000
}
const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(rand() * xs.length)]!
const hex = (n: number) => Array.from({ length: n }, () => "0123456789abcdef"[Math.floor(rand() * 16)]).join("")

const WORDS =
  "the applicant requested a review of the decision regarding the loan amount and the income verification was completed by the underwriter after the bureau returned a score within the expected range so the agent recommended approval subject to the usual conditions".split(
    " "
  )
const prose = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(" ")
const SENSITIVE = ["ana.silva@example.com", "(415) 555-2671", "4111 1111 1111 1111", "sk-proj-abcdefghijklmnopqrstuvwx", "SSN 078-05-1120", "10.0.0.12"]

const record = (i: number) => ({
  id: `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`,
  ts: new Date(Date.UTC(2026, 10, 28) + i * 1000).toISOString(),
  trace: hex(32),
  model: pick(["gpt-4.1-mini", "claude-sonnet-4-5", "gemini-2.5-flash"]),
  usage: { input_tokens: 1000 + Math.floor(rand() * 4000), output_tokens: Math.floor(rand() * 800) },
  latency_ms: Math.round(rand() * 900000) / 1000,
  summary: prose(30 + Math.floor(rand() * 40)) + (rand() < 0.05 ? ` contact ${pick(SENSITIVE)}` : ""),
  tags: ["triage", `v1.${Math.floor(rand() * 9)}.${Math.floor(rand() * 20)}`, `pod-${hex(5)}`],
  amount: Math.round(rand() * 1e7) / 100,
  commit: hex(40)
})

const corpus = (): Array<string> => {
  const lines: Array<string> = []
  let bytes = 0
  for (let i = 0; bytes < TARGET_BYTES; i++) {
    const line = JSON.stringify(record(i))
    lines.push(line)
    bytes += line.length + 1
  }
  return lines
}

/** Wall and processor time, in ms, since `start()`. */
const start = () => {
  const wall = performance.now()
  const cpu = process.cpuUsage()
  return () => {
    const used = process.cpuUsage(cpu)
    return { wall: performance.now() - wall, cpu: (used.user + used.system) / 1000 }
  }
}

/** MB/s, in wall and in processor time. */
const scanRate = (values: ReadonlyArray<unknown>, bytes: number): { readonly wall: number; readonly cpu: number } => {
  const stop = start()
  let found = 0
  for (const v of values) found += Detect.scan(v).length
  const { cpu, wall } = stop()
  if (found === 0) throw new Error("the corpus should hold findings")
  return { wall: (bytes / 1024 / 1024) * (1000 / wall), cpu: (bytes / 1024 / 1024) * (1000 / cpu) }
}

/** Every adversarial input, each family as one string, `TARGET_BYTES` in all. */
const hostile = (): Array<string> => {
  const families = Object.values(adversarial).flat()
  return families.map(([, input]) => input(Math.floor(TARGET_BYTES / families.length)))
}

/** Every generic adversarial family, one string each, `TARGET_BYTES` in all. */
const genericHostile = (): Array<string> => generic.map((f) => f.input(Math.floor(TARGET_BYTES / generic.length)))

/**
 * Where the redactor's cost on appends goes: each built-in detector alone over the append
 * payloads (processor time, best of three, less the same with no detector at all), the costliest
 * first, against all of them at once.
 */
const perDetector = () => {
  const sample = payloads.slice(0, 20_000)
  const cpu = (detectors: ReadonlyArray<Detect.Detector>) => {
    let best = Infinity
    for (let r = 0; r < 4; r++) {
      const used = process.cpuUsage()
      for (const p of sample) Detect.redact(p, Detect.Policy.default, detectors)
      const u = process.cpuUsage(used)
      // the first round warms up
      if (r > 0) best = Math.min(best, (u.user + u.system) / 1000)
    }
    return best
  }
  const none = cpu([])
  const all = cpu(Detect.builtins) - none
  const rows = Detect.builtins.map((d, i) => ({ name: `${d.category}${Detect.builtins.filter((x) => x.category === d.category).length > 1 ? `#${Detect.builtins.slice(0, i + 1).filter((x) => x.category === d.category).length}` : ""}`, ms: cpu([d]) - none }))
  rows.sort((a, b) => b.ms - a.ms)
  console.log(
    `  redaction of ${fmt(sample.length)} append payloads, processor time: ${all.toFixed(0)} ms for the built-ins (${none.toFixed(0)} ms with none); each alone, costliest first: ${rows
      .slice(0, 6)
      .map((r) => `${r.name} ${r.ms.toFixed(0)} ms`)
      .join(", ")}`
  )
}

/**
 * The redactor's cost on a captured model call: the `llm_call` payload `Capture` writes (its model
 * name, `gpt-4o-mini-2024-08-06`, passes the phone number's hint; its start time and cost differ
 * from call to call), processor time per payload, best of four after a warm-up round.
 */
const capturedCall = () => {
  const calls = Array.from({ length: 20_000 }, (_, i) => ({
    cost: `0.000${345 + (i % 500)} USD`,
    decision_id: null,
    finish_reason: "stop",
    latency_ms: 5.553 + (i % 1000) / 1000,
    model: "gpt-4o-mini-2024-08-06",
    outcome: "success",
    provider: "openai",
    replayed: false,
    started_at: new Date(Date.UTC(2026, 11, 5, 8, 0, 0) + i * 7).toISOString().replace("Z", `${String(i % 1000).padStart(3, "0")}+00:00`),
    usage: { cache_write: 0, cached_tokens: 200, input_tokens: 1200, output_tokens: 300, reasoning_tokens: 64 }
  }))
  let best = Infinity
  for (let r = 0; r < 5; r++) {
    const used = process.cpuUsage()
    for (const c of calls) Detect.redact(c)
    const u = process.cpuUsage(used)
    if (r > 0) best = Math.min(best, (u.user + u.system) / 1000)
  }
  console.log(`  redaction of a captured model call's payload, processor time: ${((best * 1000) / calls.length).toFixed(1)} µs (best of 4 rounds of ${fmt(calls.length)})`)
}

/** The external benchmark's figures, or why there are none. */
const external = () => {
  console.log(`\nexternal detection benchmark (${External.BENCHMARK})`)
  if (!External.available()) {
    console.log(`  not run: ${External.BENCHMARK} is missing (it sits in ../shared beside the repository; a clone without it has no external figures)`)
    return
  }
  try {
    const cases = External.readCases(External.CORPUS)
    const report = External.run(External.CORPUS, cases)
    const s = External.score(report, cases)
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`
    console.log(`  ${cases.length} cases, ${report.total.expected} expected instances, ${report.negatives} negative cases`)
    for (const line of External.describeScores(s)) console.log(`  ${line}`)
    console.log(`  recall per category: ${s.perCategory.map((r) => `${r.category} ${pct(r.recall)}`).join(", ")}`)
    const outCases = External.readCases(External.OUT_OF_SCOPE)
    const o = External.outOfScope(External.run(External.OUT_OF_SCOPE, outCases), outCases)
    for (const line of External.describeOutOfScope(o, 10)) console.log(`  ${line}`)
  } catch (e) {
    console.log(`  failed: ${e instanceof Error ? e.message.split("\n")[0] : String(e)} (is the checkout built? npm run build)`)
  }
}

const payloads = Array.from({ length: N_APPEND }, (_, i) => F.llmCall(i).payload)

const appendMs = (redactor: Layer.Layer<Redactor.Redactor>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const log = yield* AuditLog.AuditLog
      const stop = start()
      for (let i = 0; i < N_APPEND; i++) yield* log.append("llm_call", payloads[i]!)
      return stop()
    }).pipe(
      Effect.provide(
        AuditLog.layer({ system: "bench", riskTier: "high" }).pipe(
          Layer.provide(Store.layerMemory()),
          Layer.provide(Signer.layerHmac(Redacted.make("bench-key"))),
          Layer.provide(redactor),
          Layer.provide(NodeFileSystem.layer)
        )
      ),
      Effect.scoped
    )
  )

const main = async () => {
  const lines = corpus()
  const text = lines.join("\n") + "\n"
  const values = lines.map((l) => JSON.parse(l) as unknown)
  console.log(`\ndetection (${(text.length / 1024 / 1024).toFixed(1)} MB corpus, ${fmt(lines.length)} JSON records)`)
  scanRate(values.slice(0, 2000), 1) // warm up
  const report = (what: string, rates: ReadonlyArray<{ readonly wall: number; readonly cpu: number }>, target: string) => {
    const wall = rates.map((r) => r.wall)
    const cpu = rates.map((r) => r.cpu)
    console.log(
      `  ${what.padEnd(41)} ${median(wall).toFixed(1).padStart(7)} MB/s   (median of 5: ${wall.map((x) => x.toFixed(1)).join(" ")}${target}); processor time ${median(cpu).toFixed(1)} MB/s (${cpu.map((x) => x.toFixed(1)).join(" ")})`
    )
  }
  const rates: Array<{ readonly wall: number; readonly cpu: number }> = []
  for (let r = 0; r < 5; r++) rates.push(scanRate(values, text.length))
  report("Detect.scan, default policy", rates, "; target >= 20")
  const attack = hostile()
  const attackBytes = attack.reduce((n, s) => n + s.length, 0)
  const hostileRates: Array<{ readonly wall: number; readonly cpu: number }> = []
  for (let r = 0; r < 5; r++) hostileRates.push(scanRate(attack, attackBytes))
  report(`Detect.scan, hostile input (${(attackBytes / 1024 / 1024).toFixed(1)} MB)`, hostileRates, "")
  const shapes = genericHostile()
  const shapesBytes = shapes.reduce((n, s) => n + s.length, 0)
  const shapesRates: Array<{ readonly wall: number; readonly cpu: number }> = []
  for (let r = 0; r < 5; r++) shapesRates.push(scanRate(shapes, shapesBytes))
  report(`Detect.scan, ${generic.length} generic adversarial families`, shapesRates, "")

  await appendMs(Redactor.layerNoop) // warm up
  await appendMs(Redactor.layerDefault)
  const noop: Array<{ readonly wall: number; readonly cpu: number }> = []
  const withDefault: Array<{ readonly wall: number; readonly cpu: number }> = []
  for (let r = 0; r < 5; r++) {
    noop.push(await appendMs(Redactor.layerNoop))
    withDefault.push(await appendMs(Redactor.layerDefault))
  }
  const added = withDefault.map((d, i) => (d.wall / noop[i]!.wall - 1) * 100)
  const addedCpu = withDefault.map((d, i) => (d.cpu / noop[i]!.cpu - 1) * 100)
  console.log(
    `  append ${fmt(N_APPEND)} llm_call, memory store: noop ${median(noop.map((x) => x.wall)).toFixed(0)} ms, default redactor ${median(withDefault.map((x) => x.wall)).toFixed(0)} ms: added ${median(added).toFixed(1)} % (median of pairs; target <= 35%): ${added.map((x) => x.toFixed(1)).join(" ")}`
  )
  console.log(
    `  the same in processor time: noop ${median(noop.map((x) => x.cpu)).toFixed(0)} ms, default redactor ${median(withDefault.map((x) => x.cpu)).toFixed(0)} ms: added ${median(addedCpu).toFixed(1)} % (median of pairs): ${addedCpu.map((x) => x.toFixed(1)).join(" ")}`
  )
  perDetector()
  capturedCall()
  external()
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
