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
import { ofType, runLoggedOk, until } from "./capture-helpers.js"

/**
 * A Chat Completions server on 127.0.0.1 whose answers wait for the test: with `hold`, a request
 * gets no answer until the test releases it (by its `x-test-tag` header); with `split`,
 * the JSON body is sent in two parts, the second only when the test releases it.
 */
interface SlowServer {
  readonly url: string
  received: number
  /** when the last request reached the server (performance.now) */
  receivedAt: number
  answered: number
  hold: boolean
  split: boolean
  /** Answer the held requests whose decision header `which` accepts (all, by default). */
  release: (which?: (tag: string) => boolean) => void
  close: () => Promise<void>
}

interface Held {
  readonly tag: string
  readonly answer: () => void
}

const USAGE = { prompt_tokens: 1200, completion_tokens: 300, total_tokens: 1500 }

const startSlowServer = async (): Promise<SlowServer> => {
  let held: Array<Held> = []
  const state: SlowServer = {
    url: "",
    received: 0,
    receivedAt: 0,
    answered: 0,
    hold: false,
    split: false,
    release: (which = () => true) => {
      const now = held.filter((h) => which(h.tag))
      held = held.filter((h) => !which(h.tag))
      for (const h of now) h.answer()
    },
    close: async () => {}
  }
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
    if (state.split) held.push({ tag: "rest", answer: rest })
    else rest()
  }
  const http = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      state.received++
      state.receivedAt = performance.now()
      const model = String((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { model?: unknown }).model)
      // (the decision header never reaches a server: the test names its requests apart)
      const tag = String(req.headers["x-test-tag"] ?? "")
      if (state.hold) held.push({ tag, answer: () => answer(res, model) })
      else answer(res, model)
    })
  })
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
  return Object.assign(state, {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        held = []
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
  server.release()
  server.received = 0
  server.answered = 0
  server.hold = false
  server.split = false
})

const ask = (hub: Capture.Hub, model = "gpt-4o", headers: Record<string, string> = {}) =>
  hub.fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "q" }] })
  })

/** A call named `tag`: in the decision `tag` (header), and known to the server by it. */
const tagged = (tag: string) => ({ [Capture.DECISION_HEADER]: tag, "x-test-tag": tag })

describe("a call in flight when its log closes", () => {
  it("is recorded in that log as pending (usage null, the request's model, latency so far); nothing of it lands in the next log on the hub; the stats count it", async () => {
    const hub = Capture.make()
    server.hold = true
    let inFlight: Promise<Response> | undefined
    let decisionId = ""
    // how long the call was certainly in flight: from the moment the server had it (the library
    // started timing it before that) to the end of the log's body (the log closes after that)
    let heldFor = 0
    const a = await runLoggedOk(
      Effect.gen(function* () {
        const log = yield* AuditLog.AuditLog
        yield* log.withDecision({ input: {}, actor: "agent" }, (d) =>
          Effect.sync(() => {
            decisionId = d.id
            inFlight = ask(hub)
          })
        )
        // the provider has the call, and answers only when the test says so
        yield* Effect.promise(() => until(() => server.received === 1, "the request at the server"))
        // (held a while longer, so the latency it must reach is not next to nothing)
        yield* Effect.sleep("30 millis")
        heldFor = performance.now() - server.receivedAt
      }),
      { hub }
    )
    expect(server.answered).toBe(0)
    const [call, ...more] = ofType(a.rows, "llm_call")
    expect(more).toEqual([])
    expect(call?.payload).toMatchObject({ decision_id: decisionId, outcome: "pending", usage: null, cost: null, model: "gpt-4o", provider: "openai" })
    // its latency runs until the log closed: at least as long as the provider held it before
    // the log's body ended (1 ms for the two clocks' rounding)
    expect(call?.payload["latency_ms"]).toBeGreaterThanOrEqual(heldFor - 1)
    expect(typeof call?.payload["started_at"]).toBe("string")
    expect(hub.stats()).toMatchObject({ pendingAtClose: 1, open: 0 })

    // a log opened later on the same hub: the app gets its answer, the log gets nothing of it
    const b = await runLoggedOk(
      Effect.promise(async () => {
        server.release()
        const response = await inFlight!
        expect((await response.json()) as unknown).toMatchObject({ usage: USAGE })
        // (its landing is counted at once: nothing of it is queued for this log to write)
        expect(hub.stats()).toMatchObject({ lateResponses: 1, emitted: 1 })
      }),
      { hub }
    )
    expect(ofType(b.rows, "llm_call")).toEqual([])
    expect(b.text).not.toContain(decisionId)
    expect(hub.stats()).toMatchObject({ pendingAtClose: 1, lateResponses: 1, open: 0, emitted: 1, written: 1 })
  })

  it("of many calls, some answered before the close and some after: each is recorded once, in the log it was made in", async () => {
    const hub = Capture.make()
    server.hold = true
    const calls: Array<Promise<Response>> = []
    const answered = (i: number) => i % 2 === 0
    const a = await runLoggedOk(
      Effect.promise(async () => {
        for (let i = 0; i < 30; i++) calls.push(ask(hub, "gpt-4o", tagged(`a-${i}`)).then(async (r) => (await r.json(), r)))
        await until(() => server.received === 30, "the 30 requests at the server")
        // half are answered (and read) before the log closes, the others after
        server.release((tag) => answered(Number(tag.slice(2))))
        await Promise.all(calls.filter((_, i) => answered(i)))
      }),
      { hub }
    )
    const inA = ofType(a.rows, "llm_call")
    expect(inA).toHaveLength(30)
    expect(inA.map((r) => [r.payload["decision_id"], r.payload["outcome"]]).sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => [`a-${i}`, answered(i) ? "success" : "pending"]).sort()
    )
    const b = await runLoggedOk(
      Effect.promise(async () => {
        server.release()
        server.hold = false
        await Promise.all(calls)
        for (let i = 0; i < 5; i++) await (await ask(hub, "gpt-4o", tagged(`b-${i}`))).json()
      }),
      { hub }
    )
    expect(ofType(b.rows, "llm_call").map((r) => r.payload["decision_id"])).toEqual(["b-0", "b-1", "b-2", "b-3", "b-4"])
    expect(hub.stats()).toMatchObject({ pendingAtClose: 15, lateResponses: 15 })
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
        // (counted as it lands: nothing of it is queued for this log)
        expect(hub.stats()).toMatchObject({ lateResponses: 1, emitted: 1 })
      }),
      { hub }
    )
    expect(ofType(b.rows, "tool_call")).toEqual([])
    expect(hub.stats()).toMatchObject({ pendingAtClose: 1, lateResponses: 1 })
  })

  it("a call made while no log is open, naming a decision or not, is passed through and counted, and written into no log that opens later", async () => {
    const hub = Capture.make()
    await (await Capture.runInDecision("elsewhere", () => ask(hub))).json()
    await (await ask(hub)).json()
    expect(server.received).toBe(2)
    expect(hub.stats()).toMatchObject({ unrouted: 2, emitted: 0, open: 0 })
    const { rows } = await runLoggedOk(Effect.void, { hub })
    expect(ofType(rows, "llm_call")).toEqual([])
  })
})

describe("a JSON body the app cancels", () => {
  it("is aborted whether it was partly read first or not", async () => {
    const hub = Capture.make()
    // the body's second part waits for the test, which never sends it
    server.split = true
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
    expect(server.answered).toBe(0)
  })
})
