/**
 * `npm run bench` (second part): append throughput of the AuditLog, with realistic `llm_call`
 * payloads, signed, default redaction, against baselines measured in the same run.
 *
 * - memory store: 100,000 entries, one caller (every append waits for the one before), and 64
 *   concurrent callers;
 * - file store as it comes (group commit, the durable write on Node's thread pool): 100,000
 *   entries from 256 concurrent callers, each acknowledged only after the write that carries it
 *   is on disk;
 * - file store, one caller (every append waits for its own durable write): the default store,
 *   and the synchronous opt-in (`blocking: true`, which blocks the event loop), each against a
 *   plain Node loop that writes and fsyncs the same lines one by one, in alternating rounds;
 * - checkpoints (FORMAT B.2): the memory store, one caller and 64, with an Ed25519 checkpoint key
 *   and a signed checkpoint every 1,000 entries (the Merkle tree kept as entries go), against the
 *   same log without a checkpoint key, in alternating rounds (target: at most 10 % slower).
 *
 * Set BENCH_QUICK=1 for smaller counts.
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as AuditLog from "../src/AuditLog.js"
import * as Chain from "../src/Chain.js"
import * as F from "../src/internal/fixtures.js"
import * as Note from "../src/internal/note.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"

const QUICK = process.env["BENCH_QUICK"] === "1"
const N = QUICK ? 20_000 : 100_000
const N_SYNC = QUICK ? 2_000 : 5_000
const ROUNDS_SYNC = 5
const dir = mkdtempSync(join(tmpdir(), "acttrace-bench-append-"))
let files = 0

const payloads = Array.from({ length: N }, (_, i) => F.llmCall(i).payload)

const hmacSigner = Signer.layerHmac(Redacted.make("bench-key"))

const layerOver = (store: Layer.Layer<Store.Store, unknown>, signer: Layer.Layer<Signer.Signer, unknown> = hmacSigner) =>
  AuditLog.layer({ system: "bench", riskTier: "high" }).pipe(
    Layer.provide(store),
    Layer.provide(signer),
    Layer.provide(Redactor.layerDefault),
    Layer.provideMerge(NodeFileSystem.layer)
  )

/** Entries per second appending `n` payloads with `concurrency` callers. */
const appendRate = (
  store: Layer.Layer<Store.Store, unknown>,
  n: number,
  concurrency: number,
  signer: Layer.Layer<Signer.Signer, unknown> = hmacSigner,
  policy: Layer.Layer<never> = Layer.empty
) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const log = yield* AuditLog.AuditLog
      const start = performance.now()
      const cpu = process.cpuUsage()
      if (concurrency === 1) for (let i = 0; i < n; i++) yield* log.append("llm_call", payloads[i]!)
      else yield* Effect.forEach(payloads.slice(0, n), (p) => log.append("llm_call", p), { concurrency, discard: true })
      const used = process.cpuUsage(cpu)
      cpuRate = n / ((used.user + used.system) / 1e6)
      return n / ((performance.now() - start) / 1000)
    }).pipe(Effect.provide(layerOver(store, signer)), Effect.provide(policy), Effect.scoped)
  )
/** Entries per second of this process's CPU time in the last `appendRate` (see `checkpoints`). */
let cpuRate = 0

/**
 * Checkpoints: the same appends with an Ed25519 checkpoint key (entries still HMAC-signed) and a
 * checkpoint every 1,000 entries, against no checkpoint key, in alternating rounds. The timer
 * trigger stays at its default (60 s), as a user would have it.
 */
const checkpoints = async () => {
  const { signerKey } = await Effect.runPromise(Note.generate("bench"))
  const ed25519 = Signer.layerEd25519(Redacted.make(signerKey), { hmac: Redacted.make("bench-key") })
  const every1000 = Chain.layerCheckpointPolicy({ every: 1000, interval: Duration.seconds(60) })
  const rounds = QUICK ? 3 : 5
  console.log(`\ncheckpoints: Ed25519 checkpoint every 1,000 entries vs no checkpoint key (memory store, ${fmt(N)} entries, best of ${rounds} alternating rounds)`)
  // the checkpoints really are there (and the log without a key has none)
  const count = await Effect.runPromise(
    Effect.gen(function* () {
      const log = yield* AuditLog.AuditLog
      for (let i = 0; i < 2500; i++) yield* log.append("llm_call", payloads[i]!)
      const store = yield* Store.Store
      const text = yield* Stream.mkString(Stream.decodeText(yield* store.snapshot))
      return text.split("\n").filter((l) => l.includes('"type":"checkpoint"')).length
    }).pipe(
      Effect.provide(
        AuditLog.layer({ system: "bench", riskTier: "high" }).pipe(
          Layer.provideMerge(Store.layerMemory()),
          Layer.provide(ed25519),
          Layer.provide(Redactor.layerDefault)
        )
      ),
      Effect.provide(every1000),
      Effect.scoped
    )
  )
  if (count !== 2) throw new Error(`expected 2 checkpoint entries in 2,500 appends, found ${count}`)
  for (const concurrency of [1, 64]) {
    const plain: Array<number> = []
    const signed: Array<number> = []
    const plainCpu: Array<number> = []
    const signedCpu: Array<number> = []
    await appendRate(Store.layerMemory(), Math.min(N, 20_000), concurrency, ed25519, every1000) // warm up
    // the order alternates round by round (what ran before a round, its garbage included, weighs
    // on it: the same variant first every time would carry that weight every time)
    const runPlain = async () => {
      plain.push(await appendRate(Store.layerMemory(), N, concurrency))
      plainCpu.push(cpuRate)
    }
    const runSigned = async () => {
      signed.push(await appendRate(Store.layerMemory(), N, concurrency, ed25519, every1000))
      signedCpu.push(cpuRate)
    }
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        await runPlain()
        await runSigned()
      } else {
        await runSigned()
        await runPlain()
      }
    }
    const best = (xs: Array<number>) => Math.max(...xs)
    const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    const cost = (ours: number, base: number) => (base / ours - 1) * 100
    const pairs = signed.map((s, i) => cost(s, plain[i]!))
    const wall = cost(best(signed), best(plain))
    // Judged like the other targets here, on the best wall time of each; CPU time (this process's
    // user and system time: a memory store does all its work in it) is shown beside it, the view
    // a shared machine's neighbours disturb least.
    const cpu = cost(best(signedCpu), best(plainCpu))
    const label = concurrency === 1 ? "one caller " : "64 callers "
    console.log(`  ${label} no checkpoint key        ${fmt(best(plain)).padStart(9)}   (${fmt(best(plainCpu))} per CPU second)`)
    console.log(
      `  ${label} checkpoint every 1,000  ${fmt(best(signed)).padStart(9)}   (${fmt(best(signedCpu))} per CPU second)   cost ${wall.toFixed(1)}% (target <= 10%: ${wall <= 10 ? "met" : "NOT MET"}); ${cpu.toFixed(1)}% by CPU time; median of pairs ${median(pairs).toFixed(1)}% (${pairs.map((x) => x.toFixed(1)).join(" ")})`
    )
  }
}

const fileStore = (options: Store.FileOptions = {}) => {
  const path = join(dir, `log-${++files}.jsonl`)
  return { path, layer: Store.layerFile(path, options).pipe(Layer.provide(NodeFileSystem.layer)) }
}

/** The baseline: write and fsync each line, one by one, with plain Node. */
const plainLoop = (lines: ReadonlyArray<Buffer>): number => {
  const path = join(dir, `plain-${++files}.jsonl`)
  const fd = openSync(path, "a")
  const start = performance.now()
  for (const l of lines) {
    writeSync(fd, l)
    fsyncSync(fd)
  }
  const rate = lines.length / ((performance.now() - start) / 1000)
  closeSync(fd)
  return rate
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US")

const main = async () => {
  console.log(`\nappend throughput (entries/s; llm_call payloads, signed, default redaction)`)
  await appendRate(Store.layerMemory(), Math.min(N, 20_000), 1) // warm up
  const mem1 = await appendRate(Store.layerMemory(), N, 1)
  const mem64 = await appendRate(Store.layerMemory(), N, 64)
  console.log(`  memory store, ${fmt(N)} entries, one caller       ${fmt(mem1).padStart(9)}   (target >= 50,000)`)
  console.log(`  memory store, ${fmt(N)} entries, 64 callers       ${fmt(mem64).padStart(9)}`)

  const group = fileStore()
  const g = await appendRate(group.layer, N, 256)
  console.log(`  file store as it comes (group commit), 256 callers ${fmt(g).padStart(9)}   (target >= 20,000; each entry on disk before it is acknowledged)`)

  const best = (xs: Array<number>) => Math.max(...xs)
  const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  for (const [label, options, target] of [
    ["file store as it comes, one caller               ", {}, ""],
    ["file store, blocking: true, one caller           ", { blocking: true }, " (target >= 80%)"]
  ] as const) {
    const ours: Array<number> = []
    const plain: Array<number> = []
    // one round to warm up the file path (not counted)
    await appendRate(fileStore(options).layer, Math.min(N_SYNC, 1_000), 1)
    for (let r = 0; r < ROUNDS_SYNC; r++) {
      const single = fileStore(options)
      ours.push(await appendRate(single.layer, N_SYNC, 1))
      // the same lines our run wrote, written and fsynced one by one
      const lines = readFileSync(single.path, "utf8").split("\n").filter((l) => l.length > 0).map((l) => Buffer.from(l + "\n"))
      plain.push(plainLoop(lines))
    }
    const ratios = ours.map((o, i) => o / plain[i]!)
    console.log(`  plain Node write + fsync loop, same lines          ${fmt(best(plain)).padStart(9)}   (best of ${ROUNDS_SYNC} rounds of ${fmt(N_SYNC)})`)
    console.log(
      `  ${label}${fmt(best(ours)).padStart(9)}   ${((best(ours) / best(plain)) * 100).toFixed(0)}% of the plain loop${target}; median of pairs ${(median(ratios) * 100).toFixed(0)}% (${ratios.map((x) => (x * 100).toFixed(0)).join(" ")})`
    )
  }
  await checkpoints()
  rmSync(dir, { recursive: true, force: true })
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
