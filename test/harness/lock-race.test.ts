// Lock takers racing in real processes: each round, eight processes try at once to open one log
// whose lock is stale (its holder was killed with SIGKILL, or it names a dead process), unreadable
// (garbage or empty, older than the grace period) or absent. Exactly one may win each round; the
// others are refused with LockHeld naming the lock file, and nothing of the takeover is left
// beside the log. The takers name the log three ways (its path, a symlink to it, and its path
// through a symlinked directory): the lock is the file's, however it is spelled.
// ACTTRACE_LONG=1 runs 40 rounds, FUZZ_LONG=1 200.
import { spawnSync } from "node:child_process"
import { mkdirSync, readdirSync, realpathSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { basename, join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Store from "../../src/Store.js"
import { Taker } from "../fixtures/lock-taker.js"
import { rng, tempDir, testSeed } from "../helpers.js"

const LONG = process.env["FUZZ_LONG"] === "1"
const TAKERS = 8
const ROUNDS = LONG ? 200 : process.env["ACTTRACE_LONG"] === "1" ? 40 : 15

const tmp = tempDir()
const takers: Array<Taker> = []
afterAll(() => {
  for (const t of takers) t.child.kill("SIGKILL")
  tmp.cleanup()
})

const deadPid = (): number => Number(spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" }).stdout.trim())

const HOUR_AGO = new Date(Date.now() - 3_600_000)
const draw = rng(testSeed("lock race", 0x10c4))
/** Bytes for an unreadable lock file, from the seed. */
const garbage = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(draw() * 256)))

type Kind = "killed holder" | "garbage" | "empty" | "dead pid" | "none"
const KINDS: ReadonlyArray<Kind> = ["killed holder", "garbage", "killed holder", "empty", "dead pid", "none"]

describe("lock takeover race (harness)", () => {
  it(`exactly one of ${TAKERS} processes wins each of ${ROUNDS} rounds`, async () => {
    // the real path: the lock is named after it whichever way a taker spells the log
    const path = join(realpathSync(tmp.dir), "race.jsonl")
    const lock = Store.lockPath(path)
    // the log exists: the store refuses to create one at the far end of a symlink
    writeFileSync(path, "")
    const links = join(tmp.dir, "links")
    mkdirSync(links)
    symlinkSync("../race.jsonl", join(links, "s.jsonl"))
    symlinkSync("..", join(links, "d"))
    const spellings = [path, join(links, "s.jsonl"), join(links, "d", "race.jsonl")]
    const spelling = (i: number) => spellings[i % spellings.length]!
    for (let i = 0; i < TAKERS; i++) takers.push(new Taker(spelling(i)))
    for (const t of takers) expect(await t.next()).toBe("ready")
    let holder: Taker | undefined
    const tally: Record<string, number> = {}
    for (let round = 0; round < ROUNDS; round++) {
      const kind = KINDS[round % KINDS.length]!
      if (holder !== undefined) {
        if (kind === "killed holder") {
          // the holder dies holding the log: its lock stays behind, naming a dead process
          await holder.kill()
          const at = takers.indexOf(holder)
          const fresh = new Taker(spelling(at))
          takers[at] = fresh
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
            ? garbage(1 + (round % 40))
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
      expect(readdirSync(tmp.dir).sort(), `round ${round} (${kind})`).toEqual([basename(path), basename(lock), "links"].sort())
      tally[kind] = (tally[kind] ?? 0) + 1
    }
    console.log(`lock race: ${ROUNDS} rounds of ${TAKERS} takers, one winner each (${JSON.stringify(tally)})`)
  }, LONG ? 1_800_000 : 180_000)
})
