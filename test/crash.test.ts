/**
 * Crash safety of the file store, with real processes and SIGKILL. One child process
 * (test/fixtures/crash-child.mjs) writes four logs at once, one per way the file store writes
 * (group commit, group commit with a delay, one line per write, blocking), and prints every entry
 * each log acknowledges the moment it does. The test kills it at a point drawn from a seed: when
 * the acknowledgements reach a drawn count, or a drawn number of event-loop turns after it said it
 * is opening its logs (so some kills land while a log is being opened). No wall-clock sleep
 * decides anything; one kill interrupts four writers, each at its own point of a write.
 *
 * After every kill each log must reopen (or say TornTail, and reopen after `Store.repair`),
 * verify with the key, and hold every entry it acknowledged; the next child continues it.
 * ACTTRACE_SEED=n replays a run's kill points (printed on failure); `npm run test:long`
 * (ACTTRACE_LONG=1) runs 100 kills.
 */
import { spawn, spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Store from "../src/Store.js"
import { bundledFixture, LONG, rng, tempDir, testSeed, verifyFile } from "./helpers.js"

const tmp = tempDir()
afterAll(tmp.cleanup)
const KEY = "crash-key"
/** the file store's ways of writing (crash-child.mjs): the default, group commit with a delay, one line per write, blocking */
const MODES = ["append", "append-group", "append-single", "append-blocking"] as const
const KILLS = LONG ? 100 : 10
const SEED = testSeed("crash test", 0xc4a54)

/** The child, bundled (see `bundledFixture`): most of what a round costs is its start. */
let child = ""
beforeAll(() => {
  child = bundledFixture("crash-child.mjs")
})

/** Where the child is killed: after `acks` acknowledgements in all, or `turns` event-loop turns after "opening". */
type KillPoint = { readonly acks: number } | { readonly turns: number }

interface Round {
  /** per log, the seqs it acknowledged, in order */
  readonly acked: Array<Array<number>>
  readonly errors: Array<string>
}

/** Run the child over `paths` and SIGKILL it at `point`; what each log acknowledged. */
const writeThenKill = (paths: ReadonlyArray<string>, point: KillPoint) =>
  new Promise<Round>((ok) => {
    const c = spawn(process.execPath, [child, KEY, ...paths.map((p, i) => `${MODES[i]}=${p}`)], { stdio: ["ignore", "pipe", "pipe"] })
    const acked: Array<Array<number>> = paths.map(() => [])
    const errors: Array<string> = []
    let buffered = ""
    let total = 0
    let killed = false
    const kill = () => {
      if (!killed) c.kill("SIGKILL")
      killed = true
    }
    const afterTurns = (n: number) => (n <= 0 ? kill() : setImmediate(() => afterTurns(n - 1)))
    c.stdout.on("data", (d: Buffer) => {
      buffered += d.toString()
      let at: number
      // only whole lines count: a line cut by the kill was never fully acknowledged
      while ((at = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, at)
        buffered = buffered.slice(at + 1)
        const m = /^(\d+) (\d+)$/.exec(line)
        if (m !== null) {
          acked[Number(m[1])]!.push(Number(m[2]))
          total++
          if ("acks" in point && total >= point.acks) kill()
        } else if (line === "opening") {
          if ("turns" in point) afterTurns(point.turns)
        } else errors.push(line)
      }
    })
    c.stderr.on("data", (d: Buffer) => errors.push(d.toString().trim()))
    c.on("exit", (code, signal) => {
      if (signal !== "SIGKILL") errors.push(`exited with ${code ?? signal} before it was killed`)
      ok({ acked, errors })
    })
  })

const open = (path: string) =>
  Effect.runPromiseExit(Effect.scoped(Layer.build(Store.layerFile(path).pipe(Layer.provide(NodeFileSystem.layer)))))

describe("crash safety", () => {
  it(`keeps every acknowledged entry of four logs through ${KILLS} SIGKILLs at seeded points`, async () => {
    const paths = MODES.map((m) => join(tmp.dir, `crash-${m}.jsonl`))
    const last = paths.map(() => -1)
    const draw = rng(SEED)
    let torn = 0
    let duringOpen = 0
    for (let round = 0; round < KILLS; round++) {
      // one kill in five while the logs are being opened, the others after 1 to 400 acknowledgements
      const point: KillPoint = round % 5 === 4 ? { turns: Math.floor(draw() * 40) } : { acks: 1 + Math.floor(draw() * 400) }
      const where = (i: number) => `round ${round} (${JSON.stringify(point)}), ${MODES[i]} (ACTTRACE_SEED=${SEED})`
      const r = await writeThenKill(paths, point)
      expect(r.errors, where(0)).toEqual([])
      if ("turns" in point && r.acked.every((a) => a.length === 0)) duringOpen++
      for (const [i, path] of paths.entries()) {
        const acked = r.acked[i]!
        if (acked.length > 0) {
          // the child continues the log: its seqs follow what was acknowledged before, one by one
          expect(acked[0]!, where(i)).toBeGreaterThan(last[i]!)
          expect(acked, where(i)).toEqual(acked.map((_, k) => acked[0]! + k))
          last[i] = acked[acked.length - 1]!
        }
        // the log reopens, or says TornTail and reopens after repair
        let opened = await open(path)
        if (Exit.isFailure(opened)) {
          const e = opened.cause._tag === "Fail" ? opened.cause.error : undefined
          expect(e?._tag, `${where(i)}: ${String(opened.cause)}`).toBe("TornTail")
          torn++
          await Effect.runPromise(Store.repair(path).pipe(Effect.provide(NodeFileSystem.layer)))
          opened = await open(path)
        }
        expect(Exit.isSuccess(opened), where(i)).toBe(true)
        const v = await verifyFile(path, { key: Redacted.make(KEY) })
        // killed before it wrote a thing: an empty log, which is fine
        if (last[i]! < 0 && Either.isLeft(v.result) && v.result.left._tag === "MalformedLine" && v.result.left.line === 0) continue
        if (Either.isLeft(v.result)) throw new Error(`${where(i)}: ${v.result.left.message}`)
        // every acknowledged entry is there (seq 0 is audit_open, so entries > the last acked seq)
        expect(v.result.right.entries, where(i)).toBeGreaterThan(last[i]!)
      }
    }
    console.log(
      `crash test (ACTTRACE_SEED=${SEED}): ${KILLS} kills of 4 writers each; entries acknowledged ${last.map((n, i) => `${MODES[i]} ${n + 1}`).join(", ")}; ` +
        `${torn} torn tails repaired; ${duringOpen} kills before any acknowledgement`
    )
    // every writer got going (entries beyond audit_open), and kills came at both kinds of point
    for (const [i, n] of last.entries()) expect(n, MODES[i]).toBeGreaterThan(KILLS / 2)
  }, LONG ? 1_800_000 : 120_000)

  it("fails a write that does not fit with StoreError, in each way of writing, leaving nothing partial", async () => {
    const paths = MODES.map((m) => join(tmp.dir, `full-${m}.jsonl`))
    // a file size limit stands in for a full disk: the write that crosses it is cut short (EFBIG)
    const r = spawnSync("bash", ["-c", `ulimit -f 64; exec "${process.execPath}" "$@"`, "bash", child, KEY, ...paths.map((p, i) => `${MODES[i]}=${p}`)], {
      encoding: "utf8",
      timeout: 60_000
    })
    expect(r.stderr).toBe("")
    expect(r.status).toBe(3)
    const lines = r.stdout.trim().split("\n")
    for (const [i, path] of paths.entries()) {
      const mine = lines.filter((l) => l.startsWith(`${i} `)).map((l) => l.slice(`${i} `.length))
      const acked = mine.filter((l) => /^\d+$/.test(l)).map(Number)
      expect(mine[mine.length - 1], MODES[i]).toMatch(/^error StoreError append .*EFBIG/)
      expect(acked.length, MODES[i]).toBeGreaterThan(10)
      const text = readFileSync(path, "utf8")
      expect(text.endsWith("\n"), MODES[i]).toBe(true)
      const v = await verifyFile(path, { key: Redacted.make(KEY) })
      if (Either.isLeft(v.result)) throw new Error(`${MODES[i]}: ${v.result.left.message}`)
      // every acknowledged entry is there, and nothing else but what the last batch could not add
      expect(v.result.right.entries, MODES[i]).toBe(acked[acked.length - 1]! + 1)
    }
  })
})
