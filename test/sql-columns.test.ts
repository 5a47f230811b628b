/**
 * The snapshot's check of a row's query columns against its line (`statesColumns`) by the text
 * alone: whenever it says the columns are the line's, they are what `rowOf` derives with
 * JSON.parse; and on the lines our writer gives, with the columns it stores, it says so (the fast
 * path is taken). Generated lines, then lines cut and spliced with the fragments that could fool a
 * text check (a second `payload` or `decision_id` key, escapes, quotes, members after the tail),
 * and columns edited, injected with quotes, or taken from another line.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { rowOf, statesColumns } from "../src/internal/sql.js"

type Columns = { ts: string | null; type: string | null; decision_id: string | null; hash: string | null }

const HEX = "0123456789abcdef"
const hex = fc.array(fc.constantFrom(...HEX), { minLength: 64, maxLength: 64 }).map((a) => a.join(""))
/** strings with the characters a text check must get right */
const tricky = fc.oneof(
  fc.string({ maxLength: 12 }),
  // the JSON text's own characters inside strings, with no quote: read by a text check as structure if it does not skip strings
  fc.stringMatching(/^[a-z0-9{}[\],: ]{0,8}$/),
  fc.stringMatching(/^[a-z0-9{}[\],: ]{0,8}$/),
  fc.constantFrom('"', "\\", '\\"', "}", "{", "]", "[", ",", ":", '","decision_id":"x', 'x","type":"llm_call', "decision_id", "\\u0041", "\n", "é😀")
)
const scalar = fc.oneof(tricky, fc.integer(), fc.constant(null), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }))
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: "small" }, scalar, fc.array(tie("v"), { maxLength: 3 }), fc.dictionary(fc.oneof(tricky, fc.constantFrom("decision_id", "ts", "type", "hash", "payload")), tie("v"), { maxKeys: 3 }))
})).v
const key = fc.oneof(tricky, fc.constantFrom("decision_id", "ts", "type", "hash", "payload"))
const payload = fc.record(
  { decision_id: fc.oneof(fc.constant(undefined), fc.constant(undefined), fc.constant(null), tricky, hex.map((h) => h.slice(0, 32)), fc.integer()), rest: fc.dictionary(key, value, { maxKeys: 4 }) },
  { requiredKeys: ["decision_id", "rest"] }
).map(({ decision_id, rest }) => {
  const out: Record<string, unknown> = { ...rest }
  if (decision_id !== undefined) out["decision_id"] = decision_id
  return out
})

/** A line in the writer's layout. */
const lineOf = (seq: number, p: unknown, ts: string, type: string, prev: string, hash: string, sig: string | undefined) =>
  `{"payload":${JSON.stringify(p)},"seq":${seq},"ts":${JSON.stringify(ts)},"type":${JSON.stringify(type)},"prev_hash":${JSON.stringify(prev)},"hash":${JSON.stringify(hash)}${sig === undefined ? "" : `,"sig":${JSON.stringify(sig)}`}}`

const entry = fc.record({
  seq: fc.nat({ max: 1_000_000 }),
  payload,
  ts: fc.oneof(fc.constant("2026-12-05T02:31:56.262695+00:00"), fc.constant("2026-12-05T02:31:56.262695+00:00"), tricky),
  type: fc.oneof(fc.constantFrom("llm_call", "decision_record", "tool_call"), tricky),
  prev: fc.oneof(hex, hex, tricky),
  hash: fc.oneof(hex, hex, tricky),
  sig: fc.oneof(fc.constant(undefined), hex, hex, tricky)
})

const derived = (seq: number, line: string): Columns | undefined => {
  const r = rowOf("c", seq, line)
  return "line" in r ? { ts: r.ts, type: r.type, decision_id: r.decision_id, hash: r.hash } : undefined
}
const isJson = (line: string) => {
  try {
    JSON.parse(line)
    return true
  } catch {
    return false
  }
}

/** The property: the text check never accepts columns JSON.parse would not give. */
const sound = (seq: number, line: string, columns: Columns) => {
  if (!statesColumns(seq, { ...columns, line }) || !isJson(line)) return
  expect(columns).toEqual(derived(seq, line))
}

/**
 * The same, with each column in turn set to every value the line spells after that column's key
 * anywhere (a nested `decision_id`, a `ts` inside the payload, a second member): the values a
 * text check could take for the column by mistake.
 */
const soundAgainstLookalikes = (seq: number, line: string, columns: Columns) => {
  for (const field of ["ts", "type", "decision_id", "hash"] as const) {
    for (const m of line.matchAll(new RegExp(`"${field}":"((?:[^"\\\\]|\\\\.)*)"`, "g"))) {
      let text: unknown
      try {
        text = JSON.parse(`"${m[1]}"`)
      } catch {
        continue
      }
      sound(seq, line, { ...columns, [field]: text as string })
    }
  }
}

const fragments = fc.constantFrom('"decision_id":"a",', '"decision_id" :"a",', '"decision_id":null,', ',"payload":{"decision_id":"evil"}', '"decision_id":"evil",', ',"decision_id":"evil"', '\\u0064', '\\"', '"', "\\", "}", "{", ',"seq":1', ',"ts":"x"', ',"type":"x"', ',"hash":"x"', ',"sig":"x"', ',"x":1')

describe("the snapshot's column check (statesColumns)", () => {
  it.prop("on the writer's lines with the columns it stores: accepted, and what JSON.parse gives", [entry], ([e]) => {
    const line = lineOf(e.seq, e.payload, e.ts, e.type, e.prev, e.hash, e.sig)
    const columns = derived(e.seq, line)
    if (columns === undefined) return
    sound(e.seq, line, columns)
    soundAgainstLookalikes(e.seq, line, columns)
    // the fast path holds for plain entries (no quote or backslash anywhere, no escape)
    if (!/["\\\n]|\\u/.test(JSON.stringify([e.ts, e.type, e.prev, e.hash, e.sig ?? ""])) && !line.includes("\\")) {
      expect(statesColumns(e.seq, { ...columns, line })).toBe(true)
    }
  }, { fastCheck: { numRuns: 3000 } })

  it.prop("columns edited, injected or from another line: never accepted unless JSON.parse agrees", [entry, entry, fc.nat(), tricky], ([e, other, pick, text]) => {
    const line = lineOf(e.seq, e.payload, e.ts, e.type, e.prev, e.hash, e.sig)
    const columns = derived(e.seq, line)
    if (columns === undefined) return
    const otherLine = lineOf(other.seq, other.payload, other.ts, other.type, other.prev, other.hash, other.sig)
    const theirs = derived(other.seq, otherLine) ?? columns
    const field = (["ts", "type", "decision_id", "hash"] as const)[pick % 4]!
    sound(e.seq, line, { ...columns, [field]: text })
    sound(e.seq, line, { ...columns, [field]: theirs[field] })
    sound(e.seq, line, { ...columns, [field]: null })
    sound(e.seq + 1, line, columns)
  }, { fastCheck: { numRuns: 3000 } })

  it.prop("lines spliced with what could fool a text check: never accepted unless JSON.parse agrees", [entry, fc.array(fc.tuple(fc.nat(), fragments, fc.nat({ max: 3 })), { minLength: 1, maxLength: 3 })], ([e, splices]) => {
    let line = lineOf(e.seq, e.payload, e.ts, e.type, e.prev, e.hash, e.sig)
    const columns = derived(e.seq, line)
    if (columns === undefined) return
    for (const [at, fragment, cut] of splices) {
      // at a boundary of the JSON text (after a bracket, a comma or a colon, or before a
      // bracket or comma), where a fragment reads as members rather than as a string's text
      const bounds = [...line.matchAll(/[{}[\],:]/g)].flatMap((m) => [m.index, m.index + 1])
      const i = bounds[at % bounds.length]!
      line = line.slice(0, i) + fragment + line.slice(i + cut)
    }
    sound(e.seq, line, columns)
    sound(e.seq, line, { ...columns, decision_id: "a" })
    soundAgainstLookalikes(e.seq, line, columns)
    // and with the columns the spliced line itself gives
    const own = derived(e.seq, line)
    if (own !== undefined) sound(e.seq, line, { ...own, decision_id: columns.decision_id })
  }, { fastCheck: { numRuns: 4000 } })

  it("a second payload member, a payload decision id nested deeper, members after the tail", () => {
    const tail = `,"seq":3,"ts":"t","type":"x","prev_hash":"p","hash":"h"}`
    const cols = { ts: "t", type: "x", hash: "h" }
    expect(statesColumns(3, { ...cols, decision_id: "a", line: `{"payload":{"decision_id":"a"}${tail}` })).toBe(true)
    // the payload JSON.parse keeps is the second one
    expect(statesColumns(3, { ...cols, decision_id: "a", line: `{"payload":{"decision_id":"a"},"payload":{"decision_id":"b"}${tail}` })).toBe(false)
    // two decision ids in the payload: JSON.parse keeps the second
    expect(statesColumns(3, { ...cols, decision_id: "a", line: `{"payload":{"decision_id":"a","decision_id":"b"}${tail}` })).toBe(false)
    // a key written with a space before its colon is the same key to JSON.parse: no fast answer
    expect(statesColumns(3, { ...cols, decision_id: null, line: `{"payload":{"decision_id" :"a"}${tail}` })).toBe(false)
    expect(statesColumns(3, { ...cols, decision_id: "a", line: `{"payload":{"decision_id" :"a"}${tail}` })).toBe(false)
    // a decision id below the payload's first level is not the payload's
    expect(statesColumns(3, { ...cols, decision_id: "a", line: `{"payload":{"x":{"decision_id":"a"}}${tail}` })).toBe(false)
    expect(statesColumns(3, { ...cols, decision_id: null, line: `{"payload":{"x":{"decision_id":"a"}}${tail}` })).toBe(true)
    // a string holding braces and an escaped quote is skipped whole
    expect(statesColumns(3, { ...cols, decision_id: "a", line: `{"payload":{"s":"}{\\"]","decision_id":"a"}${tail}` })).toBe(true)
    // a quote injected in a column is not read as the line's text (JSON.parse gives hash "h")
    expect(statesColumns(3, { ...cols, hash: 'h","x":"y', decision_id: null, line: `{"payload":{},"seq":3,"ts":"t","type":"x","prev_hash":"p","hash":"h","x":"y","sig":"s"}` })).toBe(false)
    expect(statesColumns(3, { ...cols, ts: 't","type":"x', decision_id: null, line: `{"payload":{},"seq":3,"ts":"t","type":"x","type":"x","prev_hash":"p","hash":"h"}` })).toBe(false)
  })
})
