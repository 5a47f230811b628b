/**
 * The guard reads tool arguments as the client would send them (issue 15, the fourth review): a
 * secret inside `Headers`, a `URL`, `URLSearchParams`, `FormData`, a `Map`, a `Set`, an error, a
 * class instance or an object with `toJSON` was read as nothing and reached the tool. Blocked now;
 * personal data the guard would redact inside such a value blocks the call (the value cannot be
 * rewritten as the object the tool expects), and in plain parts is still redacted.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Capture from "../src/Capture.js"
import * as Guard from "../src/Guard.js"
import { readable } from "../src/internal/readable.js"
import { ofType, runLogged } from "./capture-helpers.js"

const GH = "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"

class Creds {
  constructor(readonly user: string, private readonly token: string) {}
  get masked() {
    return `${this.user}:***`
  }
  secret() {
    return this.token
  }
}

const holders: ReadonlyArray<readonly [string, () => ReadonlyArray<unknown>]> = [
  ["Headers", () => ["https://api.github.com/user", { headers: new Headers({ Authorization: `token ${GH}` }) }]],
  ["URL", () => [new URL(`https://x-access-token:${GH}@github.com/o/r.git`)]],
  ["URLSearchParams", () => ["https://h/", { body: new URLSearchParams({ token: GH }) }]],
  ["FormData", () => { const f = new FormData(); f.append("token", GH); return ["https://h/", { body: f }] }],
  ["Map", () => [new Map([["Authorization", `token ${GH}`]])]],
  ["Set", () => [new Set([`token ${GH}`])]],
  ["Error", () => [new Error(`the call with ${GH} failed`)]],
  ["an instance", () => [new Creds("bob", GH)]],
  ["toJSON", () => [{ toJSON: () => ({ token: GH }) }]],
  ["a boxed string", () => [{ a: new String(`token ${GH}`) }]],
  ["a Map in a cycle", () => { const m = new Map<string, unknown>([["token", GH]]); m.set("self", m); return [m] }]
]

const call = (make: () => ReadonlyArray<unknown>, interceptor = Guard.interceptor()) => {
  const hub = Capture.make()
  const received: Array<unknown> = []
  const tool = hub.tool("http_get", async (...a: ReadonlyArray<unknown>) => {
    received.push(a)
    return "ok"
  })
  return runLogged(Effect.tryPromise({ try: () => tool(...make()), catch: (e) => e }), { hub, interceptors: [interceptor] }).then((run) => ({ ...run, received }))
}

describe("the guard reads what a tool is given, whatever the object", () => {
  for (const [name, make] of holders) {
    it(`a token in ${name}: blocked before the tool runs, the flag names it`, async () => {
      const { exit, received, rows, text } = await call(make)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(received).toEqual([])
      const flags = ofType(rows, "policy_flag")
      expect(flags.map((f) => f.payload["action"])).toEqual(["blocked"])
      expect(JSON.stringify(flags[0]!.payload)).toContain("github_token")
      expect(text).not.toContain(GH.slice(4))
    })
  }

  it("an e-mail address (redacted by default) inside Headers blocks the call: the guard cannot rebuild it", async () => {
    const { exit, received, rows } = await call(() => [{ headers: new Headers({ "X-User": "jane.doe@example.com" }) }])
    expect(Exit.isFailure(exit)).toBe(true)
    expect(received).toEqual([])
    expect(ofType(rows, "policy_flag").map((f) => f.payload["data"] as Record<string, unknown>).map((d) => typeof d["reason"])).toEqual(["string"])
  })

  it("an e-mail address in a plain part beside a URL is redacted, and the URL goes as the object it was", async () => {
    const url = new URL("https://api.example.com/v1/users")
    const { exit, received } = await call(() => [url, { to: "jane.doe@example.com" }])
    expect(Exit.isSuccess(exit)).toBe(true)
    const [args] = received as Array<ReadonlyArray<unknown>>
    expect(args![0]).toBe(url)
    expect(JSON.stringify(args![1])).not.toContain("jane.doe")
  })

  it("nothing to find: the arguments reach the tool as they were (the same objects)", async () => {
    const headers = new Headers({ Accept: "application/json" })
    const { exit, received } = await call(() => ["https://api.example.com/", { headers }])
    expect(Exit.isSuccess(exit)).toBe(true)
    expect((received[0] as ReadonlyArray<{ headers?: unknown }>)[1]!.headers).toBe(headers)
  })
})

describe("readable", () => {
  it("plain values are returned as they are, not copied", () => {
    const v = { a: [1, "x", { b: null }], c: new Uint8Array([1]) }
    expect(readable(v)).toEqual({ view: v, converted: false })
    expect(readable(v).view).toBe(v)
  })
  it("objects are read as what they send; cycles stay cycles; a throwing getter is nothing", () => {
    const m = new Map<string, unknown>([["k", "v"]])
    m.set("self", m)
    const o = { get boom(): string { throw new Error("no") }, ok: 1 }
    const { view, converted } = readable({ u: new URL("https://h/p?q=1"), m, o: Object.create(o) as object, d: new Date(0) })
    expect(converted).toBe(true)
    const r = view as { u: string; m: Array<Record<string, unknown>>; d: Date }
    expect(r.u).toBe("https://h/p?q=1")
    expect(r.m[0]).toEqual({ k: "v" })
    expect(r.m[1]!["self"]).toBe(r.m)
    expect(r.d).toBeInstanceOf(Date)
  })
  it("reads in order: keys keep their order, toJSON stands for its object, an error's cause and a pair of non-string keys", () => {
    const err = new Error("outer", { cause: new Map([["token", "t"]]) })
    const { view } = readable({ z: 1, a: { toJSON: () => ({ inner: new Set(["s"]) }) }, m: new Map<unknown, unknown>([[1, new URL("https://h/")], ["k", () => 1]]), err, fn: () => 1, y: [undefined, () => 1, new Set([1])] })
    const r = view as Record<string, unknown>
    expect(Object.keys(r)).toEqual(["z", "a", "m", "err", "y"])
    expect(r["a"]).toEqual({ inner: ["s"] })
    expect(r["m"]).toEqual([[1, "https://h/"], { k: undefined }])
    expect((r["err"] as Record<string, unknown>)["cause"]).toEqual([{ token: "t" }])
    expect(r["y"]).toEqual([undefined, undefined, [1]])
  })
  it("a value nested 100,000 levels deep, a Map at the bottom, is read (no stack overflow), and the guard blocks the token in it", async () => {
    const deep = (): unknown => {
      let v: unknown = new Map([["Authorization", `token ${GH}`]])
      for (let i = 0; i < 100_000; i++) v = i % 2 === 0 ? { next: v } : [v]
      return v
    }
    let r = readable(deep()).view
    for (let i = 0; i < 100_000; i++) r = i % 2 === 0 ? (r as Array<unknown>)[0] : (r as { next: unknown }).next
    expect(r).toEqual([{ Authorization: `token ${GH}` }])
    const { exit, received, rows } = await call(() => [deep()])
    expect(Exit.isFailure(exit)).toBe(true)
    expect(received).toEqual([])
    expect(JSON.stringify(ofType(rows, "policy_flag")[0]!.payload)).toContain("github_token")
  })
})
