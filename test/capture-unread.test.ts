/**
 * Every model call that reached the provider is recorded, however its response body is read (or
 * not): through a clone, by any of the body's readers, through the SDKs' own paths, or never.
 * All against the real loopback provider server.
 */
import Anthropic, { type Middleware } from "@anthropic-ai/sdk"
import { Readable } from "node:stream"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import OpenAI from "openai"
import * as AuditLog from "../src/AuditLog.js"
import * as Capture from "../src/Capture.js"
import { ofType, type Row, runLoggedOk, until, useProviderServer } from "./capture-helpers.js"
import { RESPONSE_TEXT } from "./fixtures/provider-server.js"

const server = useProviderServer()

const decode = (b: ArrayBuffer | Uint8Array) => new TextDecoder().decode(b)

/** Everything a stream holds, as text. */
const drain = async (stream: ReadableStream<Uint8Array>): Promise<string> => {
  const reader = stream.getReader()
  let text = ""
  const decoder = new TextDecoder()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return text + decoder.decode()
    text += decoder.decode(value, { stream: true })
  }
}

/** A Chat Completions call by plain fetch, tagged with `tag` through the decision header. */
const ask = (hub: Capture.Hub, tag: string, stream: boolean, model = "gpt-4o") =>
  hub.fetch(`${server().url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", [Capture.DECISION_HEADER]: tag },
    body: JSON.stringify({
      model,
      messages: [{ role: "user", content: "q" }],
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {})
    })
  })

const byTag = (rows: ReadonlyArray<Row>) => {
  const m = new Map<string, Array<Record<string, unknown>>>()
  for (const r of ofType(rows, "llm_call")) {
    const tag = String(r.payload["decision_id"])
    m.set(tag, [...(m.get(tag) ?? []), r.payload])
  }
  return m
}

/**
 * Ways an app reads a response body; each gives back what it read (null: the reader itself
 * refuses this body, as `formData()` does a JSON one, but it consumed it).
 */
const readers: ReadonlyArray<readonly [string, (r: Response) => Promise<string | null>, "json-only"?]> = [
  ["text()", (r) => r.text()],
  ["json()", async (r) => JSON.stringify(await r.json()), "json-only"],
  ["arrayBuffer()", async (r) => decode(await r.arrayBuffer())],
  ["bytes()", async (r) => decode(await (r as Response & { bytes: () => Promise<Uint8Array> }).bytes())],
  ["blob()", async (r) => (await r.blob()).text()],
  ["formData()", (r) => r.formData().then(() => null, () => null)],
  ["body.getReader()", (r) => drain(r.body!)],
  [
    "for await over body",
    async (r) => {
      let t = ""
      for await (const c of r.body as unknown as AsyncIterable<Uint8Array>) t += decode(c)
      return t
    }
  ],
  [
    "body.pipeTo()",
    async (r) => {
      const parts: Array<Uint8Array> = []
      await r.body!.pipeTo(new WritableStream({ write: (c) => void parts.push(c) }))
      return decode(Buffer.concat(parts))
    }
  ],
  [
    "body.pipeThrough(TextDecoderStream)",
    async (r) => {
      let t = ""
      const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return t
        t += value
      }
    }
  ],
  [
    "body.tee(), both branches",
    async (r) => {
      const [a, b] = r.body!.tee()
      const [x, y] = await Promise.all([drain(a), drain(b)])
      expect(x).toBe(y)
      return x
    }
  ],
  [
    "Readable.fromWeb(body)",
    async (r) => {
      let t = ""
      for await (const c of Readable.fromWeb(r.body as never)) t += decode(c as Uint8Array)
      return t
    }
  ],
  ["new Response(body).text()", (r) => new Response(r.body).text()],
  [
    "body looked at, then text()",
    (r) => {
      expect(r.body).not.toBeNull()
      return r.text()
    }
  ],
  [
    "body looked at, then cloned (as an SDK middleware does), the clone read",
    (r) => {
      expect(r.body).not.toBeNull()
      return r.clone().text()
    }
  ],
  ["clone().text() only", (r) => r.clone().text()],
  ["clone().body only", (r) => drain(r.clone().body!)],
  ["clone().clone().text() only", (r) => r.clone().clone().text()],
  [
    "clone and original read together",
    async (r) => {
      const c = r.clone()
      const [a, b] = await Promise.all([c.text(), r.text()])
      expect(a).toBe(b)
      return a
    }
  ],
  [
    "original read, then its clone",
    async (r) => {
      const c = r.clone()
      const a = await r.text()
      expect(await c.text()).toBe(a)
      return a
    }
  ],
  [
    "original cancelled, clone read",
    async (r) => {
      const c = r.clone()
      // not awaited: a tee branch's cancel settles only once the other branch is done too
      void r.body!.cancel()
      return c.text()
    }
  ],
  [
    "clone cancelled, original read",
    async (r) => {
      const c = r.clone()
      void c.body!.cancel()
      return drain(r.body!)
    }
  ]
]

describe("however a response body is read, the call is recorded once, with what was read", () => {
  for (const stream of [false, true]) {
    it(`${stream ? "server-sent events" : "JSON"}: every reader, clones included`, async () => {
      const hub = Capture.make()
      const cases = readers.filter(([, , only]) => !(stream && only === "json-only"))
      const wrong: Array<string> = []
      const { rows } = await runLoggedOk(
        Effect.promise(async () => {
          for (const [name, read] of cases) {
            try {
              const got = await read(await ask(hub, name, stream))
              // the app reads what the provider sent
              if (got !== null && !got.includes(stream ? "[DONE]" : RESPONSE_TEXT)) wrong.push(`${name}: the app read ${got.slice(0, 80)}`)
            } catch (e) {
              wrong.push(`${name}: the app's read threw ${String(e)}`)
            }
          }
        }),
        { hub }
      )
      const tagged = byTag(rows)
      for (const [name] of cases) {
        const calls = tagged.get(name) ?? []
        const c = calls[0]
        const ok =
          calls.length === 1 &&
          c?.["outcome"] === "success" &&
          c["model"] === "gpt-4o-2024-08-06" &&
          (c["usage"] as { input_tokens?: number } | null)?.input_tokens === 1200
        if (!ok) wrong.push(`${name}: ${JSON.stringify(calls.map((p) => [p["outcome"], p["model"], p["usage"] === null ? null : "usage"]))}`)
      }
      expect(wrong).toEqual([])
      expect(ofType(rows, "llm_call")).toHaveLength(cases.length)
      expect(hub.stats()).toMatchObject({ open: 0, unread: 0 })
    })
  }
})

describe("a response and its clones", () => {
  it("a stream read to its final event and cancelled is recorded at once, though a clone of it was never read", async () => {
    const hub = Capture.make({ unreadAfter: "1 hour" })
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        const r = await ask(hub, "final-then-cancel", true)
        const logged = r.clone()
        const reader = r.body!.getReader()
        let text = ""
        while (!text.includes("[DONE]")) text += decode((await reader.read()).value!)
        void reader.cancel()
        // recorded on the cancel, not on a grace period (an hour) nor the log's closing
        await until(() => hub.stats().open === 0, "the call recorded")
        expect(hub.stats().unread).toBe(0)
        expect(logged.bodyUsed).toBe(false)
      }),
      { hub }
    )
    expect(byTag(rows).get("final-then-cancel")).toMatchObject([{ outcome: "success", usage: { input_tokens: 1200 } }])
  })
})

describe("a response never read", () => {
  it("is recorded as unread (usage and cost null, the request's model) after the hub's grace period, and counted; a body being read is not cut short", async () => {
    const hub = Capture.make({ unreadAfter: "100 millis" })
    let arrivedWithin = 0
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        // a body being read when its grace period ends is not cut short: the app reads one chunk
        // of a stream that arrived first, and reads on only once a call that arrived after it
        // was recorded as unread (so the stream's own grace period is over too)
        const slow = await ask(hub, "read-slowly", true)
        const reader = slow.body!.getReader()
        await reader.read()
        const before = performance.now()
        const r = await ask(hub, "never-read", false)
        arrivedWithin = performance.now() - before
        expect(r.ok).toBe(true)
        expect(hub.stats().open).toBe(2)
        await until(() => hub.stats().unread === 1, "the unread call recorded")
        // recorded (and written) without the log closing
        await until(() => hub.pending() === 0, "the unread call written")
        expect(hub.stats()).toMatchObject({ unread: 1, open: 1, lateReads: 0 })
        while (!(await reader.read()).done) {
          // to the end
        }
        expect(hub.stats()).toMatchObject({ unread: 1, open: 0 })
      }),
      { hub }
    )
    const [call, slow] = ofType(rows, "llm_call")
    expect(call?.payload).toMatchObject({ decision_id: "never-read", outcome: "unread", model: "gpt-4o", usage: null, cost: null, finish_reason: null, provider: "openai" })
    // an unread call's latency is its response's: not the grace period
    expect(call?.payload["latency_ms"]).toBeLessThanOrEqual(arrivedWithin)
    expect(slow?.payload).toMatchObject({ decision_id: "read-slowly", outcome: "success", usage: { input_tokens: 1200 } })
    expect(ofType(rows, "llm_call")).toHaveLength(2)
  })

  it("is recorded as unread when the log closes before the grace period ends", async () => {
    const hub = Capture.make({ unreadAfter: "1 hour" })
    const { rows, warnings } = await runLoggedOk(
      Effect.promise(async () => {
        await ask(hub, "json", false)
        await ask(hub, "sse", true)
      }),
      { hub }
    )
    // and the log's closing says so
    expect(warnings.filter((w) => w.includes("unread"))).toEqual([
      `acttrace: 2 model calls were recorded as unread: the app never read the response body (outcome "unread", usage unknown)`
    ])
    const tagged = byTag(rows)
    expect(tagged.get("json")).toMatchObject([{ outcome: "unread", usage: null, model: "gpt-4o" }])
    expect(tagged.get("sse")).toMatchObject([{ outcome: "unread", usage: null, model: "gpt-4o" }])
    expect(hub.stats()).toMatchObject({ unread: 2, open: 0 })
  })

  it("read after it was recorded as unread: the app gets the body, nothing is recorded twice, lateReads counts it", async () => {
    const hub = Capture.make({ unreadAfter: "50 millis" })
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        const late = await ask(hub, "late", false)
        const lateClone = await ask(hub, "late-clone", true)
        await until(() => hub.stats().unread === 2, "both calls recorded as unread")
        expect(await late.text()).toContain(RESPONSE_TEXT)
        expect(await drain(lateClone.clone().body!)).toContain("[DONE]")
        expect(hub.stats()).toMatchObject({ unread: 2, lateReads: 2 })
      }),
      { hub }
    )
    const tagged = byTag(rows)
    expect(tagged.get("late")).toMatchObject([{ outcome: "unread", usage: null }])
    expect(tagged.get("late-clone")).toMatchObject([{ outcome: "unread", usage: null }])
    expect(ofType(rows, "llm_call")).toHaveLength(2)
  })

  it("a stream started in a decision and left unread keeps the decision's id; one read after the decision closed is not unread", async () => {
    // (the one left is recorded when the log closes: a decision's end does not make it unread)
    const hub = Capture.make({ unreadAfter: "1 hour" })
    const openai = new OpenAI({ apiKey: "k", baseURL: `${server().url}/v1`, fetch: hub.fetch, maxRetries: 0 })
    let id = ""
    const { rows } = await runLoggedOk(
      Effect.gen(function* () {
        const log = yield* AuditLog.AuditLog
        const [left, read] = yield* log.withDecision({ input: {}, actor: "agent" }, (d) =>
          Effect.gen(function* () {
            id = d.id
            const create = () => openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "q" }], stream: true })
            return [yield* Effect.tryPromise(create), yield* Effect.tryPromise(create)] as const
          })
        )
        yield* Effect.promise(async () => {
          for await (const _ of read) {
            // read after the decision ended
          }
          // the decision's end recorded neither
          expect(hub.stats()).toMatchObject({ open: 1, unread: 0 })
        })
        expect(left).toBeDefined()
      }),
      { hub }
    )
    const calls = ofType(rows, "llm_call")
    expect(calls.map((c) => [c.payload["decision_id"], c.payload["outcome"]]).sort()).toEqual([
      [id, "success"],
      [id, "unread"]
    ])
    const endAt = rows.findIndex((r) => r.type === "decision_end")
    for (const c of calls) expect(rows.indexOf(c)).toBeGreaterThan(endAt)
  })

  it("a stream left mid-read (its reader released, never cancelled) is recorded when the log closes, with the usage seen", async () => {
    const hub = Capture.make({ unreadAfter: "1 hour" })
    const anthropic = new Anthropic({ apiKey: "k", baseURL: server().url, fetch: hub.fetch, maxRetries: 0 })
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        // `metadata` makes the test server stall after its first events
        const response = await anthropic.messages
          .create({ model: "claude-haiku-4-5", max_tokens: 64, metadata: { user_id: "u" }, messages: [{ role: "user", content: "q" }], stream: true })
          .asResponse()
        const reader = response.body!.getReader()
        let seen = ""
        while (!seen.includes("message_start")) seen += decode((await reader.read()).value!)
        reader.releaseLock()
      }),
      { hub }
    )
    const [call] = ofType(rows, "llm_call")
    expect(call?.payload).toMatchObject({ provider: "anthropic", model: "claude-haiku-4-5", outcome: "aborted", error: "the log closed before the response was read to its end" })
    expect((call?.payload["usage"] as { input_tokens: number }).input_tokens).toBe(100)
  })
})

describe("the SDKs' own paths", () => {
  it("openai: asResponse() never read and streams never iterated are unread; withResponse(), tee(), toReadableStream(), the stream helper and Responses streams are recorded once; an abort through the controller is aborted", async () => {
    const hub = Capture.make({ unreadAfter: "1 hour" })
    const openai = new OpenAI({ apiKey: "k", baseURL: `${server().url}/v1`, fetch: hub.fetch, maxRetries: 0 })
    const tagged = (tag: string) => ({ headers: { [Capture.DECISION_HEADER]: tag } })
    const body = { model: "gpt-4o", messages: [{ role: "user" as const, content: "q" }] }
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        const raw = await openai.chat.completions.create(body, tagged("asResponse")).asResponse()
        expect(raw.status).toBe(200)
        await openai.chat.completions.create({ ...body, stream: true }, tagged("stream-left"))
        const { data, response } = await openai.chat.completions.create(body, tagged("withResponse")).withResponse()
        expect(data.choices[0]?.message.content).toBe(RESPONSE_TEXT)
        expect(response.bodyUsed).toBe(true)
        const [a, b] = (await openai.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }, tagged("tee"))).tee()
        let n = 0
        for await (const _ of a) n++
        for await (const _ of b) n--
        expect(n).toBe(0)
        // the SDK's stream as a web stream (the shape a server hands on to a browser)
        const web = (await openai.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }, tagged("toReadableStream"))).toReadableStream()
        expect(await new Response(web).text()).toContain("chatcmpl")
        // the streaming helper, read to its end
        const helper = openai.chat.completions.stream({ ...body, stream_options: { include_usage: true } }, tagged("helper"))
        expect((await helper.finalChatCompletion()).choices[0]?.message.content?.trim()).toBe(RESPONSE_TEXT)
        // a stream stopped through its controller after the first chunk
        const stopped = await openai.chat.completions.create({ ...body, stream: true, metadata: { slow: "1" } }, tagged("controller.abort"))
        for await (const _ of stopped) {
          stopped.controller.abort()
        }
        // Responses: a stream iterated, one left
        for await (const _ of await openai.responses.create({ model: "gpt-4.1", input: "q", stream: true }, tagged("responses-read"))) {
          // to the end
        }
        await openai.responses.create({ model: "gpt-4.1", input: "q", stream: true }, tagged("responses-left"))
      }),
      { hub }
    )
    const t = byTag(rows)
    expect(t.get("asResponse")).toMatchObject([{ outcome: "unread", usage: null, model: "gpt-4o" }])
    expect(t.get("stream-left")).toMatchObject([{ outcome: "unread", usage: null, model: "gpt-4o" }])
    expect(t.get("withResponse")).toMatchObject([{ outcome: "success", model: "gpt-4o-2024-08-06" }])
    expect(t.get("tee")).toMatchObject([{ outcome: "success", usage: { input_tokens: 1200 } }])
    expect(t.get("toReadableStream")).toMatchObject([{ outcome: "success", usage: { input_tokens: 1200 } }])
    expect(t.get("helper")).toMatchObject([{ outcome: "success", usage: { input_tokens: 1200 } }])
    expect(t.get("controller.abort")).toMatchObject([{ outcome: "aborted", model: "gpt-4o-2024-08-06" }])
    expect(t.get("responses-read")).toMatchObject([{ outcome: "success", usage: { input_tokens: 800 } }])
    expect(t.get("responses-left")).toMatchObject([{ outcome: "unread", usage: null, model: "gpt-4.1" }])
    expect(ofType(rows, "llm_call")).toHaveLength(9)
  })

  it("@anthropic-ai/sdk middleware: ctx.parse() (a clone) beside the client's read, a response replaced by its clone's text, a retry that drops the first response", async () => {
    const hub = Capture.make({ unreadAfter: "1 hour" })
    const seen: Array<unknown> = []
    const client = (tag: string, middleware: Middleware) =>
      new Anthropic({ apiKey: "k", baseURL: server().url, fetch: hub.fetch, maxRetries: 0, defaultHeaders: { [Capture.DECISION_HEADER]: tag }, middleware: [middleware] })
    const parsing = client("parse", async (request, next, ctx) => {
      const response = await next(request)
      const parsed = await ctx.parse<unknown>(response)
      if (ctx.options?.stream === true) {
        // the middleware's own copy, abandoned after one event while the client reads on (in
        // the background: a tee branch's cancel settles only once the other branch is done)
        void (async () => {
          for await (const e of parsed as AsyncIterable<unknown>) {
            seen.push(e)
            break
          }
        })()
      } else seen.push(parsed)
      return response
    })
    const replacing = client("replace", async (request, next) => {
      const response = await next(request)
      return new Response(await response.clone().text(), response)
    })
    const retrying = client("retry", async (request, next) => {
      await next(request)
      return next(request)
    })
    const params = { model: "claude-haiku-4-5", max_tokens: 64, messages: [{ role: "user" as const, content: "q" }] }
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        await parsing.messages.create(params)
        const final = await parsing.messages.stream(params).finalMessage()
        expect(final.usage.output_tokens).toBe(200)
        const m = await replacing.messages.create(params)
        expect(m.content[0]?.type === "text" && m.content[0].text).toBe(RESPONSE_TEXT)
        await retrying.messages.create(params)
      }),
      { hub }
    )
    expect(seen).toHaveLength(2)
    const t = byTag(rows)
    const success = { outcome: "success", model: "claude-haiku-4-5", usage: { input_tokens: 100, output_tokens: 200 } }
    expect(t.get("parse")).toMatchObject([success, success])
    expect(t.get("replace")).toMatchObject([success])
    expect(t.get("retry")?.map((p) => p["outcome"]).sort()).toEqual(["success", "unread"])
    expect(ofType(rows, "llm_call")).toHaveLength(5)
    expect(server().received).toHaveLength(5)
  })

  it("@anthropic-ai/sdk: a break reaches the provider at once (aborted); a MessageStream aborted; a stream taken withResponse() and left unread", async () => {
    const hub = Capture.make({ unreadAfter: "1 hour" })
    const anthropic = new Anthropic({ apiKey: "k", baseURL: server().url, fetch: hub.fetch, maxRetries: 0 })
    const tagged = (tag: string) => ({ headers: { [Capture.DECISION_HEADER]: tag } })
    // `metadata` makes the test server stall after its first events
    const params = { model: "claude-haiku-4-5", max_tokens: 64, metadata: { user_id: "u" }, messages: [{ role: "user" as const, content: "q" }] }
    const { rows } = await runLoggedOk(
      Effect.promise(async () => {
        const stream = await anthropic.messages.create({ ...params, stream: true }, tagged("break"))
        let n = 0
        for await (const _ of stream) if (++n === 3) break
        // the server sees the connection close (it would go on sending otherwise)
        await server().cancellations(1)
        expect(server().cancelled).toBe(1)
        const helper = anthropic.messages.stream(params, tagged("MessageStream.abort"))
        await new Promise<void>((resolve) => helper.once("streamEvent", () => resolve()))
        helper.abort()
        await helper.done().catch(() => undefined)
        const { data } = await anthropic.messages.create({ ...params, stream: true }, tagged("withResponse")).withResponse()
        expect(data).toBeDefined()
      }),
      { hub }
    )
    const t = byTag(rows)
    expect(t.get("break")).toMatchObject([{ outcome: "aborted", usage: { input_tokens: 100 } }])
    expect(t.get("MessageStream.abort")).toMatchObject([{ outcome: "aborted", model: "claude-haiku-4-5" }])
    expect(t.get("withResponse")).toMatchObject([{ outcome: "unread", usage: null, model: "claude-haiku-4-5" }])
    expect(ofType(rows, "llm_call")).toHaveLength(3)
  })
})
