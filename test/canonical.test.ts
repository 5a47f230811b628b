import { spawnSync } from "node:child_process"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Canonical from "../src/Canonical.js"
import { formatDouble } from "../src/internal/number.js"

const canon = (text: string | Uint8Array): string => {
  const r = Canonical.canonicalize(text)
  if (Either.isLeft(r)) throw new Error(r.left.message)
  return Buffer.from(r.right).toString("utf8")
}
const reason = (text: string | Uint8Array): string => {
  const r = Canonical.canonicalize(text)
  return Either.isLeft(r) ? r.left.reason : "ok"
}
const enc = (v: unknown): string => Either.getOrThrow(Canonical.encode(v))
const encReason = (v: unknown): string => Either.match(Canonical.encode(v), { onLeft: (e) => e.reason, onRight: () => "ok" })

/** Random JSON text with random whitespace, key order and number spellings. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom("null", "true", "false"),
    fc.oneof(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String), fc.double({ noNaN: true, noDefaultInfinity: true }).map(formatDouble)),
    fc.constantFrom("1.50", "1E5", "-0", "0.0001", "1e-5", "1e400".slice(0, 3), "12.5e0", "-0.0"),
    fc.string({ unit: "grapheme" }).map((s) => JSON.stringify(s)),
    fc.constantFrom('"\\u00e9\\/\\ud83d\\ude00\\u0001\\u001F"', '"tab\\tnl\\n"', '"\\u2028"'),
    fc.array(tie("value"), { maxLength: 4 }).chain((xs) => fc.constantFrom(" ", "", "\n ").map((w) => `[${w}${xs.join(`,${w}`)}${w}]`)),
    fc.uniqueArray(fc.tuple(fc.string({ unit: "binary", maxLength: 4 }), tie("value")), { selector: (kv) => kv[0], maxLength: 5 })
      .chain((kvs) => fc.constantFrom(" ", "").map((w) => `{${w}${kvs.map(([k, v]) => `${JSON.stringify(k)}${w}:${w}${v}`).join(`,${w}`)}${w}}`))
  )
})).value.filter((s) => !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, "")))

const codePointCompare = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))

describe("Canonical", () => {
  it("writes FORMAT A.2 forms", () => {
    expect(canon('{"b" : 1 , "a":[1.50, 1E5, -0, 1e-5, 1e16, 123456789012345678.0, 1e21, 5e-324, -0.0, 2.0, 1000.0]}'))
      .toBe('{"a":[1.5,100000.0,0,1e-05,1e+16,1.2345678901234568e+17,1e+21,5e-324,-0.0,2.0,1000.0],"b":1}')
    expect(canon('"\\u00e9\\/\\u0001\\u001F\\ud83d\\ude00\\b\\f\\n\\r\\t\\u0022\\u005c\\u2028\u007f"')).toBe('"é/\\u0001\\u001f😀\\b\\f\\n\\r\\t\\"\\\\\u2028\u007f"')
    expect(canon("18446744073709551616")).toBe("18446744073709551616")
    expect(enc({ z: [1.5, 100000, -0, 1e-5, 1e16, 12.5, 2n ** 64n, 0.1 + 0.2], a: "ctl \u0001\t" }))
      .toBe('{"a":"ctl \\u0001\\t","z":[1.5,100000,0,1e-05,10000000000000000,12.5,18446744073709551616,0.30000000000000004]}')
  })

  it("refuses what has no canonical form", () => {
    expect(reason('{"a":1,"a":2}')).toBe("DuplicateKey")
    expect(reason('{"a":{"x":1,"y":2,"x":3}}')).toBe("DuplicateKey")
    expect(reason('{"a":1,"\\u0061":2}')).toBe("DuplicateKey")
    expect(reason('{"a":NaN}')).toBe("NonFinite")
    expect(reason('[Infinity]')).toBe("NonFinite")
    expect(reason("1e400")).toBe("NonFinite")
    expect(reason('"\\ud800"')).toBe("LoneSurrogate")
    expect(reason('"\\udc00x"')).toBe("LoneSurrogate")
    expect(reason(Buffer.from([0x22, 0xff, 0x22]))).toBe("InvalidUtf8")
    expect(reason("01")).toBe("Syntax")
    expect(reason('{"a":1,}')).toBe("Syntax")
    expect(reason('"raw\u0001"')).toBe("Syntax")
    expect(reason("[1] x")).toBe("Syntax")
    expect(encReason(NaN)).toBe("NonFinite")
    expect(encReason({ a: [Infinity] })).toBe("NonFinite")
    expect(encReason({ f: () => 1 })).toBe("Unserializable")
    expect(encReason({ s: Symbol("x") })).toBe("Unserializable")
    expect(encReason({ d: new Date(0) })).toBe("Unserializable")
    expect(encReason(["a", undefined])).toBe("Unserializable")
    expect(encReason("\ud800")).toBe("LoneSurrogate")
    expect(encReason({ ["\udc00"]: 1 })).toBe("LoneSurrogate")
    const cyc: Record<string, unknown> = {}
    cyc["self"] = [cyc]
    expect(encReason(cyc)).toBe("Cycle")
    // shared but acyclic references are fine
    const shared = { x: 1 }
    expect(enc({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}')
    expect(enc({ keep: 1, drop: undefined })).toBe('{"keep":1}')
  })

  it("treats __proto__ as an ordinary key", () => {
    const tree = Either.getOrThrow(Canonical.parse('{"__proto__":{"polluted":1},"b":2}')) as Record<string, unknown>
    expect(Object.keys(tree)).toEqual(["__proto__", "b"])
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
    expect(enc(tree)).toBe('{"__proto__":{"polluted":1},"b":2}')
  })

  it("survives 10,000-deep nesting and a 50 MB string without a stack overflow", () => {
    const arr = "[".repeat(10_000) + "]".repeat(10_000)
    expect(canon(arr)).toBe(arr)
    const obj = '{"k": '.repeat(10_000) + "1" + "}".repeat(10_000)
    const c = canon(obj)
    expect(c.length).toBe(obj.length - 10_000)
    const tree = Either.getOrThrow(Canonical.parse(obj))
    expect(enc(tree)).toBe(c)
    const big = JSON.stringify({ s: "x".repeat(50 * 1024 * 1024) })
    expect(canon(big).length).toBe(big.length)
  })

  it.prop("canonical output is stable under re-reading", [jsonText], ([text]) => {
    const once = canon(text)
    expect(canon(once)).toBe(once)
    expect(enc(Either.getOrThrow(Canonical.parse(text)))).toBe(once)
  }, { fastCheck: { numRuns: 400 } })

  it.prop("object keys come out in code-point order (astral after U+FFFF)", [
    fc.uniqueArray(fc.string({ unit: fc.oneof(fc.constantFrom("～", "\uffff", "\ue000", "😀", "𝄞", "a", "B", "é", "1"), fc.fullUnicode()), maxLength: 3 }), { maxLength: 12 })
  ], ([keys]) => {
    const obj: Record<string, number> = {}
    keys.forEach((k, i) => (obj[k] = i))
    const expected = [...keys].sort(codePointCompare)
    // (compare text: Object.keys would list integer-like keys first)
    const expectedText = `{${expected.map((k) => `${enc(k)}:${obj[k]}`).join(",")}}`
    expect(enc(obj)).toBe(expectedText)
    // the byte scanner agrees with the writer, whatever order the text had
    const shuffled = `{${[...keys].reverse().map((k) => `${JSON.stringify(k)}:${obj[k]}`).join(",")}}`
    expect(canon(shuffled)).toBe(enc(obj))
    expect([...keys].sort(Canonical.compareKeys)).toEqual(expected)
  })

  // values built in canonical key order take the native writer; the byte scanner, written apart,
  // must agree with whatever path a value took
  const keyUnit = fc.oneof(fc.constantFrom("a", "b", "_", "1", "0", "9", "é", "\ue000", "😀", "𝄞", "\uffff"), fc.fullUnicode())
  const plainValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.constantFrom(null, true, false, -0, 0.0001, 1e16 - 2, 0.00009999, 1e-7, 123.456),
      fc.integer(),
      fc.double({ min: -(2 ** 53), max: 2 ** 53, noNaN: true }),
      fc.string({ unit: fc.oneof(fc.fullUnicode(), fc.constantFrom("\u2028", "\u0001", '"', "\\", "\u007f")) }),
      fc.array(tie("value"), { maxLength: 4 }),
      fc
        .tuple(fc.uniqueArray(fc.tuple(fc.string({ unit: keyUnit, maxLength: 3 }), tie("value")), { selector: (kv) => kv[0], maxLength: 5 }), fc.boolean())
        .map(([kvs, sorted]) => {
          const o: Record<string, unknown> = {}
          for (const [k, v] of sorted ? [...kvs].sort((x, y) => Canonical.compareKeys(x[0], y[0])) : kvs) o[k] = v
          return o
        })
    )
  })).value
  it.prop("encode agrees with the byte scanner on every plain value, in or out of canonical order", [plainValue], ([v]) => {
    expect(enc(v)).toBe(canon(JSON.stringify(v)))
  }, { fastCheck: { numRuns: Number(process.env["PROP_RUNS"] ?? 2000) } })

  it("what JSON.stringify would write differently is never taken from it", () => {
    // integer-like keys, which objects list first; numbers written apart; a toJSON; a lone surrogate
    expect(enc({ "1": 1, "10": 2, "2": 3 })).toBe('{"1":1,"10":2,"2":3}')
    expect(enc({ a: 1e-5, b: 1e16, c: 2 ** 60, d: 1.5 })).toBe('{"a":1e-05,"b":10000000000000000,"c":1152921504606846976,"d":1.5}')
    expect(encReason({ a: { toJSON: () => 1 } })).toBe("Unserializable")
    expect(encReason({ a: "\ud800" })).toBe("LoneSurrogate")
    expect(enc({ "\ue000": 1, "😀": 2 })).toBe('{"\ue000":1,"😀":2}')
    expect(enc({ "😀": 2, "\ue000": 1 })).toBe('{"\ue000":1,"😀":2}')
  })

  it.prop("numbers survive read -> write unchanged", [
    fc.oneof(
      fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(formatDouble),
      fc.constant("-0.0")
    )
  ], ([lexeme]) => {
    expect(canon(lexeme)).toBe(lexeme)
    expect(canon(`{"v":[${lexeme}]}`)).toBe(`{"v":[${lexeme}]}`)
    expect(enc(Either.getOrThrow(Canonical.parse(lexeme)))).toBe(lexeme)
  }, { fastCheck: { numRuns: 2000 } })
})

describe("Python repr agreement", () => {
  const python = spawnSync("python3", ["--version"], { encoding: "utf8" }).status === 0
  if (!python && process.env["CI"] === "true") throw new Error("CI=true but python3 is missing: the repr oracle needs it")
  if (!python) console.warn("SKIPPED: python3 not found; the Python repr oracle test needs it")
  it.runIf(python)("formatDouble matches python3 repr on 8,000 random doubles", () => {
    const xs = fc.sample(fc.double({ noNaN: true, noDefaultInfinity: true }), { numRuns: 4_950, seed: 42 })
    xs.push(1e-5, 1.5e-7, 1e16, 1e15, 123456789.125, 0.0001, 9e-7, 5e-324, 1.7976931348623157e308, -0, 0.1, 2 ** 53 + 2, 1e22, 1e-4, 0.00011)
    // the range where the shortest digits are written as they are (latencies, prices, scores)
    xs.push(...fc.sample(fc.double({ min: 1e-4, max: 1e16, noNaN: true }), { numRuns: 2_000, seed: 7 }))
    xs.push(...fc.sample(fc.integer({ min: 0, max: 10_000_000 }), { numRuns: 1_000, seed: 8 }).map((n) => -n / 1000))
    xs.push(9.999999999999999e15, 1e16 - 2, 0.00009999999999999999, 1.0000000000000002e-4)
    const script = "import sys,json\nfor l in sys.stdin.read().split():\n  print(repr(float.fromhex(l)))"
    const input = xs.map((x) => hexFloat(x)).join("\n")
    const r = spawnSync("python3", ["-c", script], { input, encoding: "utf8" })
    expect(r.status).toBe(0)
    const py = r.stdout.trim().split("\n")
    xs.forEach((x, i) => expect(formatDouble(x), `${x}`).toBe(py[i]))
  })
})

/** Exact hex form of a double (Python's float.hex input), so the oracle sees the same bits. */
function hexFloat(x: number): string {
  if (Object.is(x, -0)) return "-0x0p+0"
  if (x === 0) return "0x0p+0"
  const b = new DataView(new ArrayBuffer(8))
  b.setFloat64(0, x)
  const bits = b.getBigUint64(0)
  const sign = bits >> 63n ? "-" : ""
  const exp = Number((bits >> 52n) & 0x7ffn)
  const mant = bits & ((1n << 52n) - 1n)
  if (exp === 0) return `${sign}0x0.${mant.toString(16).padStart(13, "0")}p-1022`
  return `${sign}0x1.${mant.toString(16).padStart(13, "0")}p${exp - 1023}`
}
