/**
 * The cost of checkpoints to the writer: append throughput (AuditLog, realistic `llm_call`
 * payloads, HMAC-signed, default redaction, memory store) with an Ed25519 checkpoint key and the
 * default policy (a checkpoint every 1,000 entries) against the same log without one, in
 * alternating rounds of the same run; and the tree alone (a key, no count or timer trigger).
 * Target: checkpoints every 1,000 entries cost at most 10 % (issue 13).
 *
 * Set BENCH_QUICK=1 for smaller counts.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as Chain from "../src/Chain.js"
import * as F from "../src/internal/fixtures.js"
import * as note from "../src/internal/note.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"

const QUICK = process.env["BENCH_QUICK"] === "1"
const N = QUICK ? 20_000 : 100_000
const ROUNDS = QUICK ? 3 : 5
const HMAC = Redacted.make("bench-key")
const payloads = Array.from({ length: N }, (_, i) => F.llmCall(i).payload)
const { signerKey } = Effect.runSync(note.generate("bench", { seed: new Uint8Array(32).fill(7) }))

type Variant = "hmac only" | "checkpoints every 1000" | "tree only (no trigger)"

const layerOf = (variant: Variant) =>
  AuditLog.layer({ system: "bench", riskTier: "high" }).pipe(
    Layer.provide(Store.layerMemory()),
    Layer.provide(variant === "hmac only" ? Signer.layerHmac(HMAC) : Signer.layerEd25519(Redacted.make(signerKey), { hmac: HMAC })),
    Layer.provide(Redactor.layerDefault),
    Layer.provide(Chain.layerCheckpointPolicy(variant === "tree only (no trigger)" ? { every: 0, interval: Duration.infinity } : {}))
  )

/**
 * Entries per second of CPU time (this process's user and system time: on a shared machine wall
 * time mostly measures the neighbours) appending `N` payloads with `concurrency` callers.
 */
const rate = (variant: Variant, concurrency: number) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const log = yield* AuditLog.AuditLog
      const start = process.cpuUsage()
      if (concurrency === 1) for (let i = 0; i < N; i++) yield* log.append("llm_call", payloads[i]!)
      else yield* Effect.forEach(payloads, (p) => log.append("llm_call", p), { concurrency, discard: true })
      const used = process.cpuUsage(start)
      return N / ((used.user + used.system) / 1e6)
    }).pipe(Effect.provide(layerOf(variant)), Effect.scoped)
  )

const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
const best = (xs: ReadonlyArray<number>) => Math.max(...xs)

const main = async () => {
  console.log(`\ncheckpoint cost to the writer (entries per CPU second, memory store, ${fmt(N)} llm_call entries, best of ${ROUNDS} alternating rounds)`)
  const variants: ReadonlyArray<Variant> = ["hmac only", "checkpoints every 1000", "tree only (no trigger)"]
  for (const concurrency of [1, 64]) {
    for (const v of variants) await rate(v, concurrency) // warm up
    const rates = new Map<Variant, Array<number>>(variants.map((v) => [v, []]))
    for (let r = 0; r < ROUNDS; r++) for (const v of variants) rates.get(v)!.push(await rate(v, concurrency))
    const base = best(rates.get("hmac only")!)
    for (const v of variants) {
      const m = best(rates.get(v)!)
      const cost = ((base / m - 1) * 100).toFixed(1)
      console.log(`  ${String(concurrency).padStart(2)} caller(s), ${v.padEnd(24)} ${fmt(m).padStart(9)}   ${v === "hmac only" ? "(baseline)" : `${cost}% more time per entry${v === "checkpoints every 1000" ? " (target <= 10%)" : ""}`}`)
    }
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
