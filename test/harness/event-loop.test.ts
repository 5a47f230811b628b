// A server measuring its event-loop delay while it appends: a real HTTP server on loopback, in
// this process, whose handler appends one entry per request to an audit log, driven by a
// separate process sending requests 64 at a time. `monitorEventLoopDelay` measures how late the
// loop runs a 1 ms timer while the load lasts. Three arms alternate in one run: the synchronous
// file store (`blocking: true`, the old default: write + fdatasync on the main thread per
// append), the default file store (the durable write on Node's thread pool), and a memory store,
// the reference for what serving and appending cost the loop without any disk. ACTTRACE_LONG=1
// runs three rounds, FUZZ_LONG=1 more and longer rounds.
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as AuditLog from "../../src/AuditLog.js"
import * as Redactor from "../../src/Redactor.js"
import * as Signer from "../../src/Signer.js"
import * as Store from "../../src/Store.js"
import { ROOT, tempDir, verifyFile } from "../helpers.js"

const LONG = process.env["FUZZ_LONG"] === "1"
const REQUESTS = LONG ? 20_000 : 2_000
const ROUNDS = LONG ? 5 : process.env["ACTTRACE_LONG"] === "1" ? 3 : 2
const CONCURRENCY = 64
const KEY = "event-loop-key"
const LOAD = join(ROOT, "test/fixtures/http-load.mjs")

const tmp = tempDir()
afterAll(tmp.cleanup)
let counter = 0

interface Figures {
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly perSecond: number
}

/** Serve appends over `store` under load; the loop's delay in ms, and throughput. */
const serve = async (arm: Arm): Promise<Figures> => {
  const path = join(tmp.dir, `served-${++counter}.jsonl`)
  const scope = Effect.runSync(Scope.make())
  const live = AuditLog.layer({ system: "event-loop", riskTier: "high" }).pipe(
    Layer.provide(arm === "memory" ? Store.layerMemory() : Store.layerFile(path, arm === "blocking" ? { blocking: true } : {})),
    Layer.provide(Signer.layerHmac(Redacted.make(KEY))),
    Layer.provide(Redactor.layerDefault),
    Layer.provide(NodeFileSystem.layer)
  )
  const runtime = await Effect.runPromise(Layer.toRuntime(live).pipe(Scope.extend(scope)))
  const log = Runtime.runSync(runtime)(AuditLog.AuditLog)
  const server = createServer((req, res) => {
    let body = ""
    req.on("data", (d: Buffer) => (body += d.toString()))
    req.on("end", () => {
      Runtime.runPromise(runtime)(log.append("tool_call", { name: "lookup", arguments: { url: req.url ?? "", size: body.length } })).then(
        (e) => res.end(String(e.seq)),
        (e) => {
          res.statusCode = 500
          res.end(String(e))
        }
      )
    })
  })
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok))
  const port = (server.address() as AddressInfo).port
  const delay = monitorEventLoopDelay({ resolution: 1 })
  delay.enable()
  const out = await new Promise<string>((ok, fail) => {
    const child = spawn(process.execPath, [LOAD, String(port), String(REQUESTS), String(CONCURRENCY)], { stdio: ["ignore", "pipe", "inherit"] })
    let text = ""
    child.stdout.on("data", (d: Buffer) => (text += d.toString()))
    child.on("exit", (code) => (code === 0 ? ok(text) : fail(new Error(`load exited ${code}`))))
  })
  delay.disable()
  await new Promise((ok) => server.close(ok))
  const entries = (await Runtime.runPromise(runtime)(log.position)).entries
  await Effect.runPromise(Scope.close(scope, Exit.void))
  const load = JSON.parse(out) as { requests: number; errors: number; seconds: number }
  expect(load.errors).toBe(0)
  // every request's entry was acknowledged (and, on a file, is there and verifies)
  expect(entries).toBe(REQUESTS + 1)
  if (arm !== "memory") {
    const v = await verifyFile(path, { key: Redacted.make(KEY) })
    if (Either.isLeft(v.result)) throw new Error(v.result.left.message)
    expect(v.result.right.entries).toBe(REQUESTS + 1)
    expect(readFileSync(path, "utf8").split("\n").length).toBe(REQUESTS + 2)
  }
  const ms = (ns: number) => Math.round(ns / 1e4) / 100
  return { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max), perSecond: Math.round(load.requests / load.seconds) }
}

type Arm = "blocking" | "default" | "memory"
const ARMS: ReadonlyArray<Arm> = ["blocking", "default", "memory"]

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

describe("event loop under appending load (harness)", () => {
  it(`the default file store adds far less to the loop's p99 delay than the synchronous store (${ROUNDS} rounds of ${REQUESTS} requests per arm)`, async () => {
    const figures: Record<Arm, Array<Figures>> = { blocking: [], default: [], memory: [] }
    for (let r = 0; r < ROUNDS; r++) {
      // the order of the arms turns each round, so the machine's drift falls on all of them
      for (let k = 0; k < ARMS.length; k++) {
        const arm = ARMS[(r + k) % ARMS.length]!
        figures[arm].push(await serve(arm))
      }
    }
    const show = (f: Figures) => `p50 ${f.p50} ms, p99 ${f.p99} ms, max ${f.max} ms, ${f.perSecond} req/s`
    console.log(
      `event loop delay under ${CONCURRENCY} concurrent appending requests:\n` +
        ARMS.map((arm) => figures[arm].map((f, i) => `  ${arm.padEnd(8)} round ${i}: ${show(f)}`).join("\n")).join("\n")
    )
    // what the disk adds to the delay beyond serving and appending in memory (medians of the
    // rounds): the synchronous store waits for the disk on the loop, the default store does not
    const p99 = (arm: Arm) => median(figures[arm].map((f) => f.p99))
    const added = (arm: Arm) => Math.max(0, p99(arm) - p99("memory"))
    expect(added("default") * 3).toBeLessThan(added("blocking"))
    expect(p99("default") * 2).toBeLessThan(p99("blocking"))
  }, LONG ? 1_800_000 : 180_000)
})
