// Random ways of reading a model call's response, and of not reading it, against the real
// loopback provider server: each call's response is cloned 0 to 2 times, and each copy is read
// whole (by any of the body's readers), streamed (by any of the stream's ways), read partly and
// cancelled, read partly and left, cancelled at once, left alone, or read only after the hub's
// grace period. Whatever the mix, every request the server received has exactly one `llm_call`,
// with the outcome the reads call for, and the hub's counts agree. FUZZ_LONG=1 runs more logs;
// CAPTURE_SEED=n runs the log of that seed alone (each test names its seed, and so does a failure).
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Capture from "../../src/Capture.js"
import { ofType, runLoggedOk, until } from "../capture-helpers.js"
import { startProviderServer, type ProviderServer } from "../fixtures/provider-server.js"

const LONG = process.env["FUZZ_LONG"] === "1"
const LOGS = LONG ? 60 : 3
const SEED = process.env["CAPTURE_SEED"] === undefined ? undefined : Number(process.env["CAPTURE_SEED"])
const CALLS_PER_LOG = 24
const GROUP = 4
const GRACE_MS = 80

let server: ProviderServer
beforeAll(async () => {
  server = await startProviderServer()
})
afterAll(() => server.close())

/** mulberry32: a seeded generator, so a failing mix can be run again */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

type Action = "none" | "whole" | "stream" | "partial-cancel" | "partial-left" | "cancel" | "late"
const ACTIONS: ReadonlyArray<Action> = ["none", "whole", "stream", "partial-cancel", "partial-left", "cancel", "late"]

interface Plan {
  readonly tag: string
  readonly stream: boolean
  /** the response's copies: [0] the response itself, then its clones */
  readonly actions: ReadonlyArray<Action>
  /** which copy each clone is made from */
  readonly cloneOf: ReadonlyArray<number>
  /** which whole reader or stream way each copy uses */
  readonly way: ReadonlyArray<number>
}

const WHOLE: ReadonlyArray<(r: Response) => Promise<unknown>> = [
  (r) => r.text(),
  (r) => r.arrayBuffer(),
  (r) => r.blob().then((b) => b.text()),
  (r) => (r as Response & { bytes: () => Promise<Uint8Array> }).bytes(),
  (r) => r.formData().catch(() => null),
  // (JSON bodies only: an event stream read by json() is recorded as a failure, as the app's read is)
  (r) => r.json()
]

const STREAM: ReadonlyArray<(r: Response) => Promise<unknown>> = [
  async (r) => {
    const reader = r.body!.getReader()
    while (!(await reader.read()).done) {
      // on
    }
  },
  async (r) => {
    for await (const _ of r.body as unknown as AsyncIterable<Uint8Array>) {
      // on
    }
  },
  (r) => r.body!.pipeTo(new WritableStream()),
  (r) => new Response(r.body).text(),
  (r) => r.body!.pipeThrough(new TextDecoderStream()).pipeTo(new WritableStream())
]

const act = async (r: Response, action: Action, way: number, stream: boolean): Promise<void> => {
  switch (action) {
    case "none":
      return
    case "whole":
    case "late":
      await WHOLE[way % (WHOLE.length - (stream ? 1 : 0))]!(r)
      return
    case "stream":
      await STREAM[way % STREAM.length]!(r)
      return
    case "partial-cancel":
    case "partial-left": {
      const reader = r.body!.getReader()
      await reader.read()
      // (not awaited: a tee branch's cancel settles only once the other branches are done)
      if (action === "partial-cancel") void reader.cancel()
      else reader.releaseLock()
      return
    }
    case "cancel":
      void r.body!.cancel()
      return
  }
}

const plan = (random: () => number, tag: string): Plan => {
  const copies = 1 + Math.floor(random() * 3)
  const pick = () => ACTIONS[Math.floor(random() * ACTIONS.length)]!
  return {
    tag,
    stream: random() < 0.5,
    actions: Array.from({ length: copies }, pick),
    cloneOf: Array.from({ length: copies - 1 }, (_, i) => Math.floor(random() * (i + 1))),
    way: Array.from({ length: copies }, () => Math.floor(random() * 30))
  }
}

/** The outcomes a plan allows, whether the call is still open after the grace period, and whether it counts as a late read. */
const expected = (p: Plan): { outcomes: ReadonlyArray<string>; open: boolean; late: boolean; unread: boolean } => {
  const first = p.actions.filter((a) => a !== "late")
  const full = first.some((a) => a === "whole" || a === "stream")
  const left = first.includes("partial-left")
  const late = p.actions.includes("late")
  if (full) return { outcomes: ["success"], open: false, late: false, unread: false }
  if (left) return { outcomes: late ? ["success"] : ["aborted", "success"], open: true, late: false, unread: false }
  if (first.some((a) => a === "partial-cancel" || a === "cancel")) {
    return { outcomes: first.includes("partial-cancel") ? ["aborted", "success"] : ["aborted"], open: false, late: false, unread: false }
  }
  return { outcomes: ["unread"], open: false, late, unread: true }
}

describe("capture harness: random reads of responses and their clones", () => {
  const seeds = SEED === undefined ? Array.from({ length: LOGS }, (_, log) => 0x5eed0000 + log) : [SEED]
  for (const [log, seed] of seeds.entries()) {
    it(`log ${log + 1} of ${seeds.length} (seed ${seed}): every request the server received has exactly one llm_call, with the outcome its reads call for`, async () => {
      const random = rng(seed)
      const hub = Capture.make({ unreadAfter: `${GRACE_MS} millis` })
      const plans = Array.from({ length: CALLS_PER_LOG }, (_, i) => plan(random, `h${log}-${i}`))
      const received = server.received.length
      const lateCopies: Array<() => Promise<void>> = []
      const { rows } = await runLoggedOk(
        Effect.promise(async () => {
          const run = async (p: Plan) => {
            const response = await hub.fetch(`${server.url}/v1/chat/completions`, {
              method: "POST",
              headers: { "content-type": "application/json", [Capture.DECISION_HEADER]: p.tag },
              body: JSON.stringify({
                model: "gpt-4o",
                messages: [{ role: "user", content: "q" }],
                ...(p.stream ? { stream: true, stream_options: { include_usage: true } } : {})
              })
            })
            // clones first: a body being read cannot be cloned
            const copies = [response]
            for (const from of p.cloneOf) copies.push(copies[from]!.clone())
            const now: Array<Promise<void>> = []
            copies.forEach((c, i) => {
              const action = p.actions[i]!
              if (action === "late") lateCopies.push(() => act(c, action, p.way[i]!, p.stream))
              else now.push(act(c, action, p.way[i]!, p.stream))
            })
            await Promise.all(now)
          }
          for (let i = 0; i < plans.length; i += GROUP) await Promise.all(plans.slice(i, i + GROUP).map(run))
          // past the grace period, only the calls with a body left mid-read are still open
          const stillOpen = plans.filter((p) => expected(p).open).length
          await until(() => hub.stats().open === stillOpen, `${stillOpen} calls left open (seed ${seed})`)
          for (const read of lateCopies) await read()
        }),
        { hub }
      )
      const calls = ofType(rows, "llm_call")
      expect(server.received.length - received).toBe(plans.length)
      expect(calls).toHaveLength(plans.length)
      const wrong: Array<string> = []
      for (const p of plans) {
        const mine = calls.filter((c) => c.payload["decision_id"] === p.tag)
        const want = expected(p)
        const outcome = mine[0]?.payload["outcome"]
        if (mine.length !== 1 || !want.outcomes.includes(String(outcome))) {
          wrong.push(`${p.tag} ${p.stream ? "sse" : "json"} ${JSON.stringify(p.actions)} clones of ${JSON.stringify(p.cloneOf)}: ${mine.length} records, ${String(outcome)}; want one of ${want.outcomes.join("/")}`)
        } else if (outcome === "success" && (mine[0]?.payload["usage"] as { input_tokens?: number } | null)?.input_tokens !== 1200) {
          wrong.push(`${p.tag}: success without the usage read`)
        }
      }
      expect(wrong, `seed ${seed}`).toEqual([])
      expect(hub.stats()).toMatchObject({
        open: 0,
        unread: plans.filter((p) => expected(p).unread).length,
        lateReads: plans.filter((p) => expected(p).late).length
      })
    })
  }
})
