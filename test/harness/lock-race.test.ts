// Lock takers racing in real processes: each round, eight processes try at once to open one log
// whose lock is stale (its holder was killed with SIGKILL, or it names a dead process), unreadable
// (garbage or empty, older than the grace period) or absent. Exactly one may win each round; the
// others are refused with LockHeld naming the lock file, and nothing of the takeover is left
// beside the log. FUZZ_LONG=1 runs 200 rounds.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { basename, join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Store from "../../src/Store.js"
import { ROOT, tempDir } from "../helpers.js"

const LONG = process.env["FUZZ_LONG"] === "1"
const TAKERS = 8
const ROUNDS = LONG ? 200 : 15
const CHILD = join(ROOT, "test/fixtures/lock-child.mjs")

const tmp = tempDir()
const takers: Array<Taker> = []
afterAll(() => {
  for (const t of takers) t.child.kill("SIGKILL")
  tmp.cleanup()
})

/** A child process that opens the log when told to, and answers one line per command. */
class Taker {
  readonly child: ChildProcessWithoutNullStreams
  private buffered = ""
  private readonly lines: Array<string> = []
  private waiting: ((line: string) => void) | undefined
  constructor(path: string) {
    this.child = spawn(process.execPath, [CHILD, path], { stdio: ["pipe", "pipe", "pipe"] })
    const take = (d: Buffer) => {
      this.buffered += d.toString()
      let at: number
      while ((at = this.buffered.indexOf("\n")) >= 0) {
        const line = this.buffered.slice(0, at)
        this.buffered = this.buffered.slice(at + 1)
        const w = this.waiting
        if (w !== undefined) {
          this.waiting = undefined
          w(line)
        } else this.lines.push(line)
      }
    }
    this.child.stdout.on("data", take)
    this.child.stderr.on("data", (d: Buffer) => take(Buffer.from(`stderr ${d.toString().replace(/\n/g, " ")}\n`)))
  }
  get pid(): number {
    return this.child.pid!
  }
  next(ms = 60_000): Promise<string> {
    const line = this.lines.shift()
    if (line !== undefined) return Promise.resolve(line)
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`taker ${this.pid}: no answer in ${ms} ms`)), ms)
      this.waiting = (l) => {
        clearTimeout(timer)
        ok(l)
      }
    })
  }
  send(command: string): void {
    this.child.stdin.write(`${command}\n`)
  }
  async kill(): Promise<void> {
    const exited = new Promise((ok) => this.child.once("exit", ok))
    this.child.kill("SIGKILL")
    await exited
  }
}

const deadPid = (): number => Number(spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" }).stdout.trim())

const HOUR_AGO = new Date(Date.now() - 3_600_000)

type Kind = "killed holder" | "garbage" | "empty" | "dead pid" | "none"
const KINDS: ReadonlyArray<Kind> = ["killed holder", "garbage", "killed holder", "empty", "dead pid", "none"]

describe("lock takeover race (harness)", () => {
  it(`exactly one of ${TAKERS} processes wins each of ${ROUNDS} rounds`, async () => {
    const path = join(tmp.dir, "race.jsonl")
    const lock = Store.lockPath(path)
    for (let i = 0; i < TAKERS; i++) takers.push(new Taker(path))
    for (const t of takers) expect(await t.next()).toBe("ready")
    let holder: Taker | undefined
    const tally: Record<string, number> = {}
    for (let round = 0; round < ROUNDS; round++) {
      const kind = KINDS[round % KINDS.length]!
      if (holder !== undefined) {
        if (kind === "killed holder") {
          // the holder dies holding the log: its lock stays behind, naming a dead process
          await holder.kill()
          const fresh = new Taker(path)
          takers[takers.indexOf(holder)] = fresh
          expect(await fresh.next()).toBe("ready")
        } else {
          holder.send("release")
          expect(await holder.next()).toBe("released")
        }
      }
      if (kind === "garbage" || kind === "empty" || kind === "dead pid") {
        writeFileSync(
          lock,
          kind === "garbage"
            ? randomBytes(1 + (round % 40))
            : kind === "empty"
            ? ""
            : JSON.stringify({ pid: deadPid(), host: hostname(), since: HOUR_AGO.toISOString(), token: `dead-${round}` })
        )
        utimesSync(lock, HOUR_AGO, HOUR_AGO)
      }
      // all at once
      for (const t of takers) t.send("go")
      const answers = await Promise.all(takers.map(async (t) => ({ t, line: await t.next() })))
      const winners = answers.filter((a) => a.line.startsWith("won "))
      expect(winners.map((w) => w.t.pid), `round ${round} (${kind}): ${answers.map((a) => a.line).join(" | ")}`).toHaveLength(1)
      for (const a of answers) {
        if (a.line.startsWith("won ")) continue
        expect(a.line, `round ${round} (${kind})`).toMatch(/^lost LockHeld /)
        expect(a.line, `round ${round} (${kind})`).toContain(lock)
      }
      holder = winners[0]!.t
      // the lock is the winner's, and nothing of the takeover is left beside the log
      expect(JSON.parse(readFileSync(lock, "utf8")), `round ${round} (${kind})`).toMatchObject({ pid: holder.pid, host: hostname() })
      expect(readdirSync(tmp.dir).sort(), `round ${round} (${kind})`).toEqual([basename(path), basename(lock)])
      tally[kind] = (tally[kind] ?? 0) + 1
    }
    console.log(`lock race: ${ROUNDS} rounds of ${TAKERS} takers, one winner each (${JSON.stringify(tally)})`)
  }, LONG ? 1_800_000 : 180_000)
})
