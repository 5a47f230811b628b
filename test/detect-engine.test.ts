/**
 * The engine's per-string work (issue 15, the cost of the detectors on every append and every
 * captured model call): what it reads of a string, counted, never timed (the timings are in
 * `bench/detect.ts` and `bench/capture.ts`; the per-string bound under adversarial input is in
 * `test/harness/redos.test.ts`).
 *
 * - Which hints a string passes is read once and kept with it: a string that recurs (a model
 *   name, an outcome, a key) costs a lookup, not a test of every detector's hint; a field's key is
 *   read once, not once per string under it.
 * - A payload whose hinted strings hold no match is answered by the first pass, which searches
 *   its short strings under the key each is judged by (a pair's name, a wrapper's field): those
 *   keys must be the ones the full pass uses, or a finding would be lost.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Detect from "../src/Detect.js"

/** A regular expression that counts the strings it is run on (`test` runs `exec`). */
class Counted extends RegExp {
  readonly seen: Array<string> = []
  override exec(s: string): RegExpExecArray | null {
    this.seen.push(s)
    return super.exec(s)
  }
}

const REDACT_ALL: Detect.Policy = { name: "redact-all", default: "redact" }

/** An employee-id detector whose hint (and, when asked, pattern) counts what it reads. */
const employeeId = (hint: RegExp, pattern: RegExp = /EMP-\d{6}/g): Detect.Detector => ({ category: "employee_id", group: "pii", severity: "warning", pattern, hint })

describe("Detect engine: hints are read once per string", () => {
  it("a string that recurs is tested against each distinct hint once, whichever detectors share it", () => {
    const hint = new Counted("EMP-")
    // the same hint object on two detectors that do not stand together, and a third detector with
    // an equal hint of its own: one distinct hint
    const set: ReadonlyArray<Detect.Detector> = [
      employeeId(hint),
      { category: "badge", group: "pii", severity: "warning", pattern: /BADGE-\d{4}/g, hint: /BADGE-/ },
      employeeId(new Counted("EMP-"), /EMP-\d{8}/g),
      { ...employeeId(hint), category: "employee_id_2" }
    ]
    const value = { note: Array.from({ length: 500 }, () => "EMP-123456 BADGE-1234") }
    const out = Detect.redact(value, REDACT_ALL, set)
    expect(out.findings.map((f) => [f.category, f.count])).toEqual([
      ["badge", 500],
      ["employee_id", 500]
    ])
    // read once for the string and once for the key (before: once per detector per string, 1,000
    // times, and the twin hint as often)
    expect(hint.seen.filter((s) => s === "EMP-123456 BADGE-1234")).toHaveLength(1)
    expect((set[2]!.hint as Counted).seen).toEqual([])
  })

  it("a field's key is read once, not once per string under it", () => {
    const hint = new Counted("EMP-")
    const key = "EMP-ids"
    // 300 distinct strings, none passing the hint: each is judged under the key, which passes it
    const value = { [key]: Array.from({ length: 300 }, (_, i) => `id ${i}`) }
    const out = Detect.redact(value, Detect.Policy.flagOnly, [employeeId(hint, /id \d+/g)])
    expect(out.findings).toEqual([{ category: "employee_id", group: "pii", severity: "warning", action: "flag", count: 300 }])
    // before: the key was tested again for every string (300 times)
    expect(hint.seen.filter((s) => s === key).length).toBeLessThanOrEqual(1)
  })

  it("a string that passes no hint, under a key that passes none, runs no detector's pattern", () => {
    const pattern = new Counted("EMP-\\d{6}", "g")
    const hint = new Counted("EMP-")
    const out = Detect.redact({ note: ["nothing here", "nor here"], other: { deeper: "still nothing" } }, REDACT_ALL, [employeeId(hint, pattern)])
    expect(out.findings).toEqual([])
    expect(pattern.seen).toEqual([])
  })

  it("a hint written with the g flag passes every string it matches (its lastIndex is not carried from one string to the next)", () => {
    const out = Detect.redact({ a: "EMP-123456", b: "EMP-654321", c: "EMP-111111", d: ["EMP-222222", "EMP-333333"] }, REDACT_ALL, [employeeId(/EMP-/g)])
    expect(out.findings).toEqual([{ category: "employee_id", group: "pii", severity: "warning", action: "redact", count: 5 }])
    expect(out.value).toEqual({ a: "<redacted>", b: "<redacted>", c: "<redacted>", d: ["<redacted>", "<redacted>"] })
  })
})

describe("Detect engine: a payload with nothing to find", () => {
  it("a captured model call whose model name passes the phone hint is returned as it is, with no finding", () => {
    const payload = {
      cost: "0.000345 USD",
      decision_id: null,
      finish_reason: "stop",
      latency_ms: 5.553,
      model: "gpt-4o-mini-2024-08-06",
      outcome: "success",
      provider: "openai",
      replayed: false,
      started_at: "2026-12-05T08:46:06.062906+00:00",
      usage: { cache_write: 0, cached_tokens: 200, input_tokens: 1200, output_tokens: 300, reasoning_tokens: 64 }
    }
    const out = Detect.redact(payload)
    expect(out.findings).toEqual([])
    expect(out.value).toBe(payload)
  })

  it("the first pass judges each string under the key the full pass does: a pair's name, a wrapper's field, an array's field", () => {
    const found = (value: unknown) => Detect.scan(value, Detect.Policy.flagOnly).map((f) => f.category)
    // none of these strings is hinted on its own, nor is the key that holds it
    expect(found({ name: "DB_PASSWORD", value: "Tr0ub4dor&3x" })).toEqual(["password"])
    expect(found({ ParameterKey: "DbPassword", ParameterValue: "Tr0ub4dor&3x" })).toEqual(["password"])
    expect(found({ password: { value: "Tr0ub4dor&3x" } })).toEqual(["password"])
    expect(found({ password: ["Tr0ub4dor&3x"] })).toEqual(["password"])
    expect(found({ password: 73914825 })).toEqual(["password"])
    // a long value (past what the first pass searches) under a key that passes a hint
    expect(found({ password: `Tr0ub4dor&3x${"k".repeat(300)}` })).toEqual(["password"])
    // and the finding after many hinted strings that hold none
    expect(found({ models: Array.from({ length: 200 }, (_, i) => `gpt-4o-2024-08-${String(i % 28 + 1).padStart(2, "0")}`), contact: "ana.silva@example.com" })).toEqual(["email"])
  })
})
