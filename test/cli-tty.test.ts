/**
 * The CLI at a terminal and on a pipe (issue 16, items 4 and 5): a progress line on stderr for
 * inputs that take a while, only on a terminal and never with --quiet, wiped before the result;
 * colour in help only on a terminal without NO_COLOR. The terminal is a real pseudo-terminal
 * (util-linux `script`), the pipe a real pipe; the progress module is also driven directly with a
 * stream that says it is a terminal, to hold its timing rules.
 */
import { spawnSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as F from "../src/internal/fixtures.js"
import { lineEstimator, linesIn, progressLine, start } from "../src/internal/progress.js"
import { BIN, tempDir } from "./helpers.js"

const tmp = tempDir()
afterAll(() => tmp.cleanup())

const ESC = "\u001b"
const KEY = "tty-test-key"
const hasScript = spawnSync("script", ["-qec", "true", "/dev/null"]).status === 0

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** `sh -c line` under a pseudo-terminal (stdin, stdout and stderr on it, unless the line redirects): all it wrote, `\r\n` as written. */
const onTerminal = (line: string, env: Record<string, string> = {}) => {
  const script = join(tmp.dir, `run-${Math.random().toString(36).slice(2)}.sh`)
  writeFileSync(script, line + "\n")
  const r = spawnSync("script", ["-qec", `sh ${q(script)}`, "/dev/null"], { encoding: "utf8", env: { ...process.env, ACTTRACE_KEY: "", NO_COLOR: "", ...env }, timeout: 120_000 })
  return { code: r.status, out: r.stdout }
}

/** `sh -c line` with stdout and stderr on pipes. */
const onPipe = (line: string, env: Record<string, string> = {}) => {
  const r = spawnSync("sh", ["-c", line], { encoding: "utf8", env: { ...process.env, ACTTRACE_KEY: "", NO_COLOR: "", ...env }, timeout: 120_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const node = q(process.execPath)
const bin = q(BIN)
let pack = ""
let keyFile = ""
/** the pack through a pipe in two parts, a second apart: a verification that takes a while, whatever the machine */
let slowly = ""

beforeAll(() => {
  pack = join(tmp.dir, "big.jsonl")
  keyFile = join(tmp.dir, "audit.key")
  writeFileSync(keyFile, KEY + "\n")
  const c = F.chain(F.mixed(20_000), { key: KEY })
  writeFileSync(pack, c.lines.join("\n") + "\n")
  slowly = `(head -c 3000000 ${q(pack)}; sleep 1; tail -c +3000001 ${q(pack)})`
})

/** The progress text: the label, an amount of bytes, a rate. */
const PROGRESS = /verify {2}\d+(?:\.\d)? (?:B|kB|MB|GB) .*entries\/s/

describe.runIf(hasScript)("verify at a terminal: a progress line on stderr, wiped before the verdict", () => {
  it("standard input that takes a while: the line appears, is redrawn, and is wiped before ok:", () => {
    const r = onTerminal(`${slowly} | ${node} ${bin} verify - --key-file ${q(keyFile)}`)
    expect(r.code, r.out).toBe(0)
    expect(r.out).toMatch(PROGRESS)
    const ok = r.out.indexOf("ok: 20000 entries")
    expect(ok, r.out).toBeGreaterThan(0)
    const before = r.out.slice(0, ok)
    // redrawn while the input comes (a second's pause at ten draws a second at most)
    expect(before.match(/\rverify  /g)?.length ?? 0).toBeGreaterThanOrEqual(3)
    // the last thing written before the verdict wipes the line: carriage return, spaces, carriage return
    expect(before).toMatch(/\r {20,}\r$/)
    // no progress after the verdict, and none of it is an escape sequence (no colour, nothing for NO_COLOR to turn off)
    expect(r.out.slice(ok)).not.toMatch(/entries\/s/)
    expect(r.out.includes(ESC)).toBe(false)
    // never wider than the terminal (script gives 80 columns when it knows no other)
    for (const part of before.split("\r").filter((p) => p.startsWith("verify"))) expect(part.length).toBeLessThan(80)
  })

  it("a regular file that takes a while: bytes of the total, a bar, the percentage and the time left", () => {
    // --jitless: without a JIT and WebAssembly the same verification is slow on any machine
    const r = onTerminal(`${node} --jitless --no-warnings ${bin} verify ${q(pack)} --key-file ${q(keyFile)}`)
    expect(r.code, r.out).toBe(0)
    expect(r.out).toMatch(/verify {2}\d+\.\d \/ 10\.0 MB \[[#-]{16}\] +\d+%  [\d,]+ entries\/s  \d+ s left/)
    expect(r.out).toMatch(/\r {20,}\rok: 20000 entries/)
  })

  it("--quiet (and -q): no progress line", () => {
    for (const flag of ["--quiet", "-q"]) {
      const r = onTerminal(`${slowly} | ${node} ${bin} verify - --key-file ${q(keyFile)} ${flag}`)
      expect(r.code, r.out).toBe(0)
      expect(r.out).not.toMatch(/entries\/s/)
      expect(r.out).not.toContain("\r ")
      expect(r.out).toMatch(/^ok: 20000 entries/)
    }
  })

  it("export at a terminal: a progress line, wiped before the result", () => {
    const out = join(tmp.dir, "big.pack.jsonl")
    const r = onTerminal(`${node} --jitless --no-warnings ${bin} export ${q(pack)} --out ${q(out)} --key-file ${q(keyFile)}`)
    expect(r.code, r.out).toBe(0)
    expect(r.out).toMatch(/export {2}\d+\.\d \/ 10\.0 MB \[[#-]{16}\]/)
    expect(r.out).toMatch(/\r {20,}\rexported 20000 entries/)
  })
})

describe("on a pipe: nothing but the result", () => {
  it("verify of an input that takes a while: no progress, no carriage return, on stderr or stdout", () => {
    const r = onPipe(`${slowly} | ${node} ${bin} verify - --key-file ${q(keyFile)}`)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe("")
    expect(r.stdout).toMatch(/^ok: 20000 entries, head [0-9a-f]{12}… \(signatures verified; completeness: none\)\n$/)
  })

  it.runIf(hasScript)("stderr on a pipe while stdout is a terminal: still nothing (the line is drawn only where a person reads it)", () => {
    const err = join(tmp.dir, "stderr.txt")
    const r = onTerminal(`${slowly} | ${node} ${bin} verify - --key-file ${q(keyFile)} 2>${q(err)}; cat ${q(err)} | od -c | grep -c '\\\\r' || true`)
    expect(r.out).toMatch(/ok: 20000 entries/)
    // od shows no \r in what went to the file
    expect(r.out.trim().split(/\r?\n/).pop()).toBe("0")
  })
})

describe.runIf(hasScript)("help at a terminal: bold headers unless NO_COLOR; plain on a pipe", () => {
  it("every kind of help", () => {
    for (const args of ["--help", "verify --help", "scan -h", "help export"]) {
      const tty = onTerminal(`${node} ${bin} ${args}`)
      expect(tty.code, args).toBe(0)
      expect(tty.out.includes(`${ESC}[1m`), args).toBe(true)
      const noColour = onTerminal(`${node} ${bin} ${args}`, { NO_COLOR: "1" })
      expect(noColour.out.includes(ESC), args).toBe(false)
      expect(noColour.out.replace(/\r\n/g, "\n")).toBe(tty.out.replace(/\r\n/g, "\n").replace(/\u001b\[(?:1|22)m/g, ""))
      const pipe = onPipe(`${node} ${bin} ${args}`)
      expect(pipe.stdout.includes(ESC), args).toBe(false)
      expect(pipe.stdout).toMatch(/^acttrace /)
    }
  })
})

/** A stream that says it is a terminal, and keeps what is written to it. */
const terminal = (columns = 100) => {
  const writes: Array<string> = []
  return { isTTY: true, columns, write: (t: string) => void writes.push(t), writes }
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms))

describe("the progress line", () => {
  it("draws nothing on a stream that is not a terminal, or with quiet", async () => {
    for (const stream of [{ isTTY: false, write: () => {} }, { write: () => {} }]) {
      const writes: Array<string> = []
      const p = start({ label: "verify", quiet: false, delayMs: 0, stream: { ...stream, write: (t) => void writes.push(t) } })
      expect(p.active).toBe(false)
      p.advance(1000, 10)
      await sleep(250)
      p.done()
      expect(writes).toEqual([])
    }
    const t = terminal()
    const p = start({ label: "verify", quiet: true, delayMs: 0, stream: t })
    expect(p.active).toBe(false)
    p.advance(1000, 10)
    await sleep(250)
    p.done()
    expect(t.writes).toEqual([])
  })

  it("nothing for a job that ends before the delay: no flicker on small inputs", async () => {
    const t = terminal()
    const p = start({ label: "verify", quiet: false, totalBytes: 1000, stream: t })
    p.advance(1000, 3)
    await sleep(150)
    p.done()
    expect(t.writes).toEqual([])
  })

  it("after the delay: redrawn at most ten times a second, never wider than the terminal, wiped by done, silent after", async () => {
    const t = terminal(60)
    const p = start({ label: "verify", quiet: false, totalBytes: 50_000_000, delayMs: 0, stream: t })
    const feed = setInterval(() => p.advance(10_000, 30), 1)
    await sleep(1000)
    clearInterval(feed)
    const drawn = t.writes.length
    expect(drawn).toBeGreaterThanOrEqual(5)
    expect(drawn).toBeLessThanOrEqual(11)
    for (const w of t.writes) {
      expect(w.startsWith("\r")).toBe(true)
      expect(w.length - 1).toBeLessThan(60)
      expect(w.includes("\n")).toBe(false)
    }
    expect(t.writes.at(-1)).toMatch(/^\rverify {2}[\d.]+ \/ 50\.0 MB /)
    p.done()
    expect(t.writes.at(-1)).toMatch(/^\r +\r$/)
    // the wipe covers the longest line drawn
    expect(t.writes.at(-1)!.length - 2).toBeGreaterThanOrEqual(Math.max(...t.writes.slice(0, -1).map((w) => w.trimEnd().length - 1)))
    p.advance(1, 1)
    p.done()
    await sleep(250)
    expect(t.writes.length).toBe(drawn + 1)
  })

  it("its text: bytes of the total, a bar, the percentage, entries per second, the time left; without a total the entries read", () => {
    expect(progressLine("verify", 25_000_000, 50_000, 100_000_000, 2000)).toBe("verify  25.0 / 100.0 MB [####------------]  25%  25,000 entries/s  6 s left")
    expect(progressLine("export", 100_000_000, 1, 100_000_000, 1000)).toMatch(/\[#{16}\] 100% .* 0 s left$/)
    // a second pass over the input never passes the end
    expect(progressLine("export", 150_000_000, 1, 100_000_000, 1000)).toMatch(/ 100\.0 \/ 100\.0 MB \[#{16}\] 100%/)
    // fits an 80-column terminal with a large pack and a high rate
    expect(progressLine("verify", 512_300_000, 1_234_567, 1_080_000_000, 1000, 79).length).toBeLessThanOrEqual(79)
    expect(progressLine("verify", 512_300_000, 1_234_567, 1_080_000_000, 1000, 79)).toContain("[")
    expect(progressLine("verify", 1_500_000, 4321, undefined, 1000)).toBe("verify  1.5 MB  4,321 entries/s  (4,321 entries)")
    // a terminal too narrow for the bar: the numbers without it
    expect(progressLine("verify", 69_200_000, 68_368, 100_400_000, 1000, 50)).toBe("verify  69.2 / 100.4 MB  68%  68,368 entries/s  1 s left")
    expect(progressLine("report", 10, 1, 4_000_000_000, 500_000)).toMatch(/ 0\.00 \/ 4\.00 GB .* \d+ h \d\d min left$/)
  })

  it("estimates the lines of most chunks from those it counts: exact for the first ones, close over a whole pack", () => {
    const text = Buffer.from(F.chain(F.mixed(3000)).lines.join("\n") + "\n")
    const estimate = lineEstimator()
    let sum = 0
    const chunk = 16 * 1024
    for (let at = 0, k = 0; at < text.length; at += chunk, k++) {
      const part = text.subarray(at, at + chunk)
      const n = estimate(part)
      if (k < 8) expect(n).toBe(linesIn(part))
      sum += n
    }
    expect(Math.abs(sum - 3000) / 3000).toBeLessThan(0.05)
  })

  it("counts the lines a chunk ends", () => {
    expect(linesIn(new Uint8Array())).toBe(0)
    expect(linesIn(Buffer.from("a\nb\nc"))).toBe(2)
    expect(linesIn(new Uint8Array(Buffer.from("\n\n\n")).subarray(1))).toBe(2)
  })
})
