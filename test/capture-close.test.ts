/**
 * A call is recorded in the log that was open when it was made, and never in another: what is in
 * flight when a log closes is recorded in that log then (`pending` when its response has not
 * arrived), and whatever arrives for it later is left out of capture and counted. Against a real
 * loopback server that answers when the test says so.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { createServer, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import * as Effect from "effect/Effect"
import * as AuditLog from "../src/AuditLog.js"
import * as Capture from "../src/Capture.js"
import { ofType, runLoggedOk } from "./capture-helpers.js"

/**
 * A Chat Completions server on 127.0.0.1 whose answers wait for the test: `delayMs` before the
 * headers, and a JSON body sent in two parts with `splitMs` between them.
 */
interface SlowServer {
  readonly url: string
  received: number
  answered: number
  delayMs: number
  splitMs: number
  close: () => Promise<void>
}

const USAGE = { prompt_tokens: 1200, completion_tokens: 300, total_tokens: 1500 }

const startSlowServer = async (): Promise<SlowServer> => {
  const state: SlowServer = { url: "", received: 0, answered: 0, delayMs: 0, splitMs: 0, close: async () => {} }
  const answer = (res: ServerResponse, model: string) => {
    const body = JSON.stringify({
      id: "chatcmpl-slow",
      object: "chat.completion",
      created: 1764000000,
      model: `${model}-2024-08-06`,
      choices: [{ index: 0, message: { role: "assistant", content: "ok", refusal: null }, logprobs: null, finish_reason: "stop" }],
      usage: USAGE,
      // padding, so the body's first part is no JSON text on its own
      padding: "x".repeat(2048)
    })
    res.writeHead(200, { "content-type": "application/json" })
    const half = body.length >> 1
    res.write(body.slice(0, half))
    const rest = () => {
      res.end(body.slice(half))
      state.answered++
    }
    if (state.splitMs > 0) setTimeout(rest, state.splitMs)
    else rest()
  }
  const http = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      state.received++
      const model = String((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { model?: unknown }).model)
      if (state.delayMs > 0) setTimeout(() => answer(res, model), state.delayMs)
      else answer(res, model)
    })
  })
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
  return Object.assign(state, {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections()
        http.close(() => resolve())
      })
  })
}

let server: SlowServer
beforeAll(async () => {
  server = await startSlowServer()
})
afterAll(() => server.close())
beforeEach(() => {
  server.received = 0
  server.answered = 0
  server.delayMs = 0
  server.splitMs = 0
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const until = async (what: () => boolean, ms = 5000) => {
  const end = Date.now() + ms
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out waiting")
    await sleep(5)
  }
}

const ask = (hub: Capture.Hub, model = "gpt-4o", headers: Record<string, string> = {}) =>
  hub.fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "q" }] })
  })

describe("a call in flight when its log closes", () => {
  it("is recorded in that log as pending (usage null, the request's model, latency so far); nothing of it lands in the next log on the hub; the stats count it", async () => {
    const hub = Capture.make()
    server.delayMs = 300
    let inFlight: Promise<Response> | undefined
    let decisionId = ""
    let started = 0
    let closedAfter = 0
    const a = await runLoggedOk(
      Effect.gen(function* () {
        const log = yield* AuditLog.AuditLog
        yield* log.withDecision({ input: {}, actor: "agent" }, (d) =>
          Effect.sync(() => {
            decisionId = d.id
            started = performance.now()
            inFlight = ask(hub)
          })
        )
        // the provider has the call; its answer is 300 ms away
        yield* Effect.promise(() => until(() => server.received === 1))
        closedAfter = performance.now() - started
      }),
      { hub }
    )
    expect(server.answered).toBe(0)
    const [call, ...more] = ofType(a.rows, "llm_call")
    expect(more).toEqual([])
    expect(call?.payload).toMatchObject({ decision_id: decisionId, outcome: "pending", usage: null, cost: null, model: "gpt-4o", provider: "openai" })
    expect(call?.payload["latency_ms"]).toBeGreaterThanOrEqual(closedAfter * 0.5)
    expect(call?.payload["latency_ms"]).toBeLessThan(300)
    // the call is recorded before the log's end
    expect(a.rows.findIndex((r) => r === call)).toBeLessThan(a.rows.length)
    expect(hub.stats()).toMatchObject({ pendingAtClose: 1, open: 0 })

    // a log opened later on the same hub: the app gets its answer, the log gets nothing of it
    const b = await runLoggedOk(
      Effect.promise(async () => {
        const response = await inFlight!
        expect((await response.json()) as unknown).toMatchObject({ usage: USAGE })
        // past the hub's batch delay
        await sleep(250)
      }),
      { hub }
    )
    expect(ofType(b.rows, "llm_call")).toEqual([])
    expect(b.text).not.toContain(decisionId)
    expect(hub.stats()).toMatchObject({ pendingAtClose: 1, lateResponses: 1, open: 0 })
  })

  it("of many calls, some answered before the close and some after: each is recorded once, in the log it was made in", async () => {
    const hub = Capture.make()
    server.delayMs = 150
    const calls: Array<Promise<Response>> = []
    const a = await runLoggedOk(
      Effect.promise(async () => {
        for (let i = 0; i < 30; i++) {
          calls.push(ask(hub, "gpt-4o", { [Capture.DECISION_HEADER]: `a-${i}` }).then(async (r) => (await r.json(), r)))
          // the first calls are answered (and read) before the log closes, the last are not
          await sleep(10)
        }
      }),
      { hub }
    )
    const inA = ofType(a.rows, "llm_call")
    expect(inA).toHaveLength(30)
    expect(new Set(inA.map((r) => r.payload["decision_id"])).size).toBe(30)
    const pending = inA.filter((r) => r.payload["outcome"] === "pending").length
    expect(pending).toBeGreaterThan(0)
    expect(inA.filter((r) => r.payload["outcome"] === "success").length).toBe(30 - pending)
    const b = await runLoggedOk(
      Effect.promise(async () => {
        await Promise.all(calls)
        for (let i = 0; i < 5; i++) await (await ask(hub, "gpt-4o", { [Capture.DECISION_HEADER]: `b-${i}` })).json()
      }),
      { hub }
    )
    expect(ofType(b.rows, "llm_call").map((r) => r.payload["decision_id"])).toEqual(["b-0", "b-1", "b-2", "b-3", "b-4"])
    expect(hub.stats()).toMatchObject({ pendingAtClose: pending, lateResponses: pending })
  })

  it("a tool call still running when its log closes is recorded there as pending; its result is not written anywhere", async () => {
    const hub = Capture.make()
    let release = () => {}
    const slow = hub.tool("slow_lookup", () => new Promise<string>((resolve) => (release = () => resolve("done"))))
    let running: Promise<string> | undefined
    const a = await runLoggedOk(
      Effect.sync(() => {
        running = slow()
      }),
      { hub }
    )
    expect(ofType(a.rows, "tool_call").map((r) => [r.payload["name"], r.payload["outcome"]])).toEqual([["slow_lookup", "pending"]])
    const b = await runLoggedOk(
      Effect.promise(async () => {
        release()
        expect(await running).toBe("done")
        await sleep(250)
      }),
      { hub }
    )
    expect(ofType(b.rows, "tool_call")).toEqual([])
    expect(hub.stats()).toMatchObject({ pendingAtClose: 1, lateResponses: 1 })
  })

  it("a call made while no log is open that names a decision is not written into the next log; one that names none still is", async () => {
    const hub = Capture.make()
    await (await Capture.runInDecision("elsewhere", () => ask(hub))).json()
    await (await ask(hub)).json()
    const { rows } = await runLoggedOk(Effect.promise(() => sleep(150)), { hub })
    expect(ofType(rows, "llm_call").map((r) => r.payload["decision_id"])).toEqual([null])
    expect(hub.stats().dropped).toBe(1)
  })
})

describe("a JSON body the app cancels", () => {
  it("is aborted whether it was partly read first or not", async () => {
    const hub = Capture.make()
    server.splitMs = 200
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        const partly = await ask(hub, "gpt-4o", { [Capture.DECISION_HEADER]: "read-then-cancel" })
        const reader = partly.body!.getReader()
        const first = await reader.read()
        expect(first.done).toBe(false)
        await reader.cancel()
        const untouched = await ask(hub, "gpt-4o", { [Capture.DECISION_HEADER]: "cancel" })
        await untouched.body!.cancel()
      }),
      { hub }
    )
    const calls = ofType(rows, "llm_call").map((r) => [r.payload["decision_id"], r.payload["outcome"], r.payload["error"]])
    expect(calls).toEqual([
      ["read-then-cancel", "aborted", undefined],
      ["cancel", "aborted", undefined]
    ])
  })
})
