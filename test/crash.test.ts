import { spawn, spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Store from "../src/Store.js"
import { ROOT, tempDir, verifyFile } from "./helpers.js"

const tmp = tempDir()
afterAll(tmp.cleanup)
const CHILD = join(ROOT, "test/fixtures/writer-child.mjs")
const KEY = "crash-key"
/** the file store's ways of writing (writer-child.mjs): the default, group commit with a delay, one line per write, blocking */
const MODES = ["append", "append-group", "append-single", "append-blocking"] as const

/** Run the appending child and kill it with SIGKILL; the seqs it acknowledged. */
const appendThenKill = (path: string, mode: string, ms: number, fromSpawn: boolean) =>
  new Promise<{ acked: Array<number>; errors: Array<string> }>((ok) => {
    const child = spawn(process.execPath, [CHILD, path, mode, KEY], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    // the clock starts at the first acknowledgement (loading the library takes a while), except
    // with `fromSpawn`, which may kill while the log is still being opened
    let timer: NodeJS.Timeout | undefined = fromSpawn ? setTimeout(() => child.kill("SIGKILL"), ms) : undefined
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString()
      timer ??= setTimeout(() => child.kill("SIGKILL"), ms)
    })
    child.stderr.on("data", (d: Buffer) => (err += d.toString()))
    child.on("exit", () => {
      clearTimeout(timer)
      // a line cut by the kill was never fully printed: only whole lines count
      const lines = out.split("\n").slice(0, -1)
      ok({
        acked: lines.filter((l) => /^\d+$/.test(l)).map(Number),
        errors: [...lines.filter((l) => l.startsWith("error")), ...(err.trim() ? [err.trim()] : [])]
      })
    })
  })

const open = (path: string) =>
  Effect.runPromiseExit(Effect.scoped(Layer.build(Store.layerFile(path).pipe(Layer.provide(NodeFileSystem.layer)))))

describe("crash safety", () => {
  it("keeps every acknowledged entry through 30 SIGKILLs at random moments", async () => {
    const path = join(tmp.dir, "crash.jsonl")
    let acked = -1
    let torn = 0
    let kills = 0
    for (let round = 0; round < 30; round++) {
      const fromSpawn = round % 5 === 4
      const r = await appendThenKill(path, MODES[round % MODES.length]!, Math.floor(Math.random() * (fromSpawn ? 1200 : 300)), fromSpawn)
      kills++
      expect(r.errors, `round ${round}`).toEqual([])
      if (r.acked.length > 0) {
        // the child continues the log: its seqs follow what was acknowledged before
        expect(r.acked[0]!, `round ${round}`).toBeGreaterThan(acked)
        acked = r.acked[r.acked.length - 1]!
      }
      // the log reopens, or says TornTail and reopens after repair
      let opened = await open(path)
      if (Exit.isFailure(opened)) {
        const e = opened.cause._tag === "Fail" ? opened.cause.error : undefined
        expect(e?._tag, `round ${round}: ${String(opened.cause)}`).toBe("TornTail")
        torn++
        await Effect.runPromise(Store.repair(path).pipe(Effect.provide(NodeFileSystem.layer)))
        opened = await open(path)
      }
      expect(Exit.isSuccess(opened), `round ${round}`).toBe(true)
      const v = await verifyFile(path, { key: Redacted.make(KEY) })
      // killed before it wrote a thing: an empty log, which is fine
      if (acked < 0 && Either.isLeft(v.result) && v.result.left._tag === "MalformedLine" && v.result.left.line === 0) continue
      if (Either.isLeft(v.result)) throw new Error(`round ${round}: ${v.result.left.message}`)
      // every acknowledged entry is there (seq 0 is audit_open, so entries > the last acked seq)
      expect(v.result.right.entries, `round ${round}`).toBeGreaterThan(acked)
    }
    expect(kills).toBe(30)
    expect(acked).toBeGreaterThan(30)
    console.log(`crash test: 30 kills, ${acked + 1} entries acknowledged in all, ${torn} torn tails repaired`)
  }, 120_000)

  it.each(MODES)("fails a write that does not fit (%s) with StoreError, leaving nothing partial", async (mode) => {
    const path = join(tmp.dir, `full-${mode}.jsonl`)
    // a file size limit stands in for a full disk: the write that crosses it is cut short (EFBIG)
    const r = spawnSync("bash", ["-c", `ulimit -f 64; exec "${process.execPath}" "${CHILD}" "${path}" ${mode} ${KEY}`], { encoding: "utf8", timeout: 60_000 })
    const lines = r.stdout.trim().split("\n")
    const acked = lines.filter((l) => /^\d+$/.test(l)).map(Number)
    expect(lines[lines.length - 1]).toMatch(/^error StoreError append .*EFBIG/)
    expect(r.status).toBe(3)
    expect(acked.length).toBeGreaterThan(10)
    const text = readFileSync(path, "utf8")
    expect(text.endsWith("\n")).toBe(true)
    const v = await verifyFile(path, { key: Redacted.make(KEY) })
    if (Either.isLeft(v.result)) throw new Error(v.result.left.message)
    // every acknowledged entry is there, and nothing else but what the last batch could not add
    expect(v.result.right.entries).toBe(acked[acked.length - 1]! + 1)
  })
})
