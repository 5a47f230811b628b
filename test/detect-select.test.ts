/**
 * Selecting detectors (issue 15, item 4): `Detect.select(base, spec)` and `Policy.detectors` turn
 * opt-in detectors on and categories off, honoured by `Detect.redact`, `Redactor.layerPolicy` and
 * `fromPolicy`, and `Guard`; an unknown name is a typed error that lists the known ones.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as Detect from "../src/Detect.js"
import * as Guard from "../src/Guard.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"

const NINO = "NI AB 12 34 56 C"
const AADHAAR = "2341 2341 2346"
const IP = "10.20.30.40"
const text = `nino ${NINO}, aadhaar ${AADHAAR}, host ${IP}, mail a@example.com`

const categoriesOf = (ds: ReadonlyArray<{ readonly category: string }>) => ds.map((d) => d.category)
const selected = (base: ReadonlyArray<Detect.Detector>, spec: ReadonlyArray<string> | string) => Either.getOrThrow(Detect.select(base, spec))

describe("Detect.select", () => {
  it("+name adds the opt-in detectors of a category, -name removes a category; the list or the comma string", () => {
    const set = selected(Detect.builtins, ["+uk_nino", "+aadhaar", "-ipv4"])
    expect(categoriesOf(set)).toContain("uk_nino")
    expect(categoriesOf(set)).toContain("aadhaar")
    expect(categoriesOf(set)).not.toContain("ipv4")
    expect(set.filter((d) => !Detect.builtins.includes(d))).toEqual([Detect.optIn.ukNino, Detect.optIn.aadhaar])
    // the same set from the string form, remembered (the engine's joined hints are built once)
    expect(selected(Detect.builtins, "+uk_nino, +aadhaar,-ipv4")).toBe(set)
    expect(selected(Detect.builtins, ["+uk_nino,+aadhaar", "-ipv4"])).toBe(set)
    expect(categoriesOf(Detect.scan(text, Detect.Policy.flagOnly, set)).sort()).toEqual(["aadhaar", "email", "uk_nino"])
    expect(categoriesOf(Detect.scan(text, Detect.Policy.flagOnly)).sort()).toEqual(["email", "ipv4"])
  })

  it("a bare name is +name; an opt-in takes its place before phone, high_entropy goes last", () => {
    const set = selected(Detect.builtins, "aadhaar,high_entropy")
    const cats = categoriesOf(set)
    expect(cats.at(-1)).toBe("high_entropy")
    if (cats.includes("phone")) expect(cats.indexOf("aadhaar")).toBeLessThan(cats.indexOf("phone"))
    // high_entropy with its defaults: 32 characters of 4.5 bits or more, mixed case and digits
    expect(categoriesOf(Detect.scan("blob Zq8vK2mN7xR4pL9wT3yH6jB1cF5gD0sAeUiOo", Detect.Policy.flagOnly, set))).toContain("high_entropy")
  })

  it("what changes nothing gives the base itself; -name then +name puts a built-in back in its place", () => {
    expect(selected(Detect.builtins, [])).toBe(Detect.builtins)
    expect(selected(Detect.builtins, ", ,")).toBe(Detect.builtins)
    expect(selected(Detect.builtins, "+email")).toBe(Detect.builtins)
    expect(selected(Detect.builtins, "-email,+email")).toBe(Detect.builtins)
    expect(selected(Detect.builtins, "-uk_nino")).toBe(Detect.builtins)
    expect(categoriesOf(selected(Detect.builtins, "+uk_nino,-uk_nino"))).toEqual(categoriesOf(Detect.builtins))
  })

  it("the categories of the base count as known: a custom detector can be removed and put back", () => {
    const employee: Detect.Detector = { category: "employee_id", group: "pii", severity: "warning", pattern: /\bEMP-\d{6}\b/g }
    const base = [...Detect.builtins, employee]
    expect(categoriesOf(selected(base, "-employee_id"))).not.toContain("employee_id")
    expect(selected(base, "-employee_id,+employee_id")).toBe(base)
  })

  it("an unknown name fails with UnknownDetector, which lists the known categories and the opt-in ones", () => {
    for (const spec of ["+uk_nio", "-ip4", "Email", "+", "-"]) {
      const r = Detect.select(Detect.builtins, `+aadhaar,${spec}`)
      expect(Either.isLeft(r), spec).toBe(true)
      const e = Either.getLeft(r).pipe((o) => (o._tag === "Some" ? o.value : null))!
      expect(e).toBeInstanceOf(Detect.UnknownDetector)
      expect(e.detector).toBe(spec)
      expect(e.optIn).toEqual(["uk_nino", "aadhaar", "high_entropy"])
      for (const c of [...Detect.builtins.map((d) => d.category), "uk_nino", "aadhaar", "high_entropy"]) expect(e.known).toContain(c)
      expect(e.message).toMatch(new RegExp(`^unknown detector ${JSON.stringify(spec).replace(/[+]/g, "\\+")}: the categories are .*email.*; opt-in \\(add with \\+NAME\\): uk_nino, aadhaar, high_entropy$`))
    }
  })
})

describe("Policy.detectors", () => {
  const hr: Detect.Policy = { name: "hr", default: "redact", detectors: ["+uk_nino", "+aadhaar", "-ipv4"] }

  it("Detect.redact and scan honour it; an unknown name is thrown as UnknownDetector", () => {
    const out = Detect.redact(text, hr)
    expect(out.value).toBe(`nino NI <redacted>, aadhaar <redacted>, host ${IP}, mail <redacted>`)
    expect(categoriesOf(Detect.scan(text, hr))).toEqual(["aadhaar", "email", "uk_nino"])
    expect(() => Detect.scan(text, { ...hr, detectors: ["+nino"] })).toThrow(Detect.UnknownDetector)
  })

  it("Redactor.fromPolicy honours it, and throws an unknown name when the redactor is made", () => {
    expect(Redactor.fromPolicy(hr).redact(text).value).toBe(`nino NI <redacted>, aadhaar <redacted>, host ${IP}, mail <redacted>`)
    expect(() => Redactor.fromPolicy({ ...hr, detectors: ["-ipv9"] })).toThrow(/unknown detector "-ipv9"/)
  })

  it.effect("Redactor.layerPolicy honours it over the set in use, and fails with UnknownDetector", () =>
    Effect.gen(function* () {
      const employee: Detect.Detector = { category: "employee_id", group: "pii", severity: "warning", pattern: /\bEMP-\d{6}\b/g }
      const redactor = yield* Effect.provide(Redactor.Redactor, Redactor.layerPolicy(hr).pipe(Layer.provide(Detect.layerAdd(employee))))
      expect(redactor.redact(`${text} EMP-004211`).findings.map((f) => f.category)).toEqual(["aadhaar", "email", "employee_id", "uk_nino"])
      const failed = yield* Effect.exit(Effect.provide(Redactor.Redactor, Redactor.layerPolicy({ ...hr, detectors: ["+nino"] })))
      expect(Exit.isFailure(failed) && failed.cause._tag === "Fail" && failed.cause.error).toBeInstanceOf(Detect.UnknownDetector)
    })
  )
})

const log = AuditLog.layer({ system: "select", riskTier: "high" }).pipe(
  Layer.provideMerge(Store.layerMemory()),
  Layer.provide(Signer.layerHmac(Redacted.make("select-key"))),
  Layer.provideMerge(Redactor.layerDefault)
)
const toolCall = (args: unknown) => ({ kind: "tool" as const, provider: null, model: null, system: null, messages: null, tool: "lookup", arguments: args, decisionId: null })

describe("Guard: detectors", () => {
  it.effect("Guard options.detectors: opt-ins act, removed categories do not; an unknown name fails the call", () =>
    Effect.gen(function* () {
      const guard = Guard.interceptor({ categories: { uk_nino: "block" }, detectors: ["+uk_nino", "-email"] })
      const refused = yield* Effect.either(guard(toolCall({ q: `owner ${NINO}` })))
      expect(Either.isLeft(refused) && refused.left.message).toBe("blocked the tool call lookup before it was sent: uk_nino ×1")
      const sent = yield* guard(toolCall({ q: "mail a@example.com" }))
      expect(sent.arguments).toEqual({ q: "mail a@example.com" })
      const unknown = yield* Effect.either(Guard.interceptor({ detectors: ["+nino"] })(toolCall({ q: "x" })))
      expect(Either.isLeft(unknown) && unknown.left._tag).toBe("UnknownDetector")
    }).pipe(Effect.provide(log), Effect.scoped)
  )
})
