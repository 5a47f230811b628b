/**
 * Verification under hostile input: `_meta` members nothing covers (`__proto__` and friends), a
 * seal whose algorithm or key id does not match the key, key material reachable from public
 * values, and lines longer than the configured limit.
 */
import { createHash, randomBytes } from "node:crypto"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { inspect } from "node:util"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as AuditLog from "../src/AuditLog.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import * as F from "../src/internal/fixtures.js"
import { FastHmac } from "../src/internal/hmac.js"
import { Kernel } from "../src/internal/kernel.js"
import { tempDir, verifyFile } from "./helpers.js"

// a key no test data could contain by accident
const KEY = `hardening-${randomBytes(12).toString("hex")}`
const key = Redacted.make(KEY)
const KEY_ID = createHash("sha256").update(KEY).digest("hex").slice(0, 16)
const tmp = tempDir()
afterAll(tmp.cleanup)
let counter = 0
const fresh = (name: string) => join(tmp.dir, `${name}-${++counter}.jsonl`)

const exportPack = (options: { readonly key?: string | undefined; readonly capacity?: number | undefined } = {}) =>
  Effect.gen(function*() {
    const out = fresh("pack")
    const log = yield* AuditLog.AuditLog
    for (let i = 0; i < 6; i++) yield* log.withDecision({ input: { i }, actor: "a" }, (d) => d.record({ i }))
    yield* log.export(out, { framework: "gdpr" })
    return readFileSync(out, "utf8")
  }).pipe(
    Effect.provide(
      AuditLog.layer({ system: "hardening", riskTier: "high" }).pipe(
        Layer.provide(Store.layerMemory(options.capacity === undefined ? {} : { capacity: options.capacity })),
        Layer.provide(options.key === undefined ? Signer.layerNone : Signer.layerHmac(Redacted.make(options.key))),
        Layer.provide(Redactor.layerDefault),
        Layer.provideMerge(NodeFileSystem.layer)
      )
    ),
    Effect.runPromise
  )

/** A sealed pack written by our exporter, made before the tests. */
let sealed = ""
beforeAll(async () => {
  sealed = await exportPack({ key: KEY })
})

/** The verdict of the pack text through a file and through lines in memory, which must agree. */
const check = async (text: string, options: Verify.Options = {}): Promise<string> => {
  const path = fresh("case")
  writeFileSync(path, text)
  const viaFile = await verifyFile(path, options)
  const show = (r: Either.Either<Verify.Report, Verify.VerifyError>) =>
    Either.match(r, { onLeft: (e) => `${e._tag}: ${e.message}`, onRight: (r) => `ok ${r.completeness}` })
  const viaLines = show(Verify.lines(text.split("\n"), options))
  expect(show(viaFile.result)).toBe(viaLines)
  return viaLines
}

/** The pack with its first line (`_meta`) edited. */
const withMeta = (pack: string, edit: (line: string) => string): string => {
  const nl = pack.indexOf("\n")
  const changed = edit(pack.slice(0, nl))
  expect(changed).not.toBe(pack.slice(0, nl))
  return changed + pack.slice(nl)
}
const addFirst = (member: string) => (line: string) => line.replace(/^\{"_meta": ?\{/, (m) => `${m}${member}, `)
const addLast = (member: string) => (line: string) => line.replace(/\}\}$/, `, ${member}}}`)

describe("_meta: every member is covered by the signature and seal, or verification fails", () => {
  // members that a plain object would take for its prototype or its methods, and plain unknowns
  const added = [
    `"__proto__": {"system": "forged", "entries": 1}`,
    `"__proto__": null`,
    `"__proto__": "x"`,
    `"__proto__": [1, 2]`,
    `"constructor": {"name": "x"}`,
    `"toString": "x"`,
    `"hasOwnProperty": 1`,
    `"valueOf": null`,
    `"unknown_member": {"note": "added"}`
  ]

  it("a sealed pack (our exporter) with any added member fails, with or without the key", async () => {
    expect(await check(sealed, { key })).toBe("ok signed-header")
    expect(await check(sealed)).toBe("ok unsigned-header")
    // every case is run and the ones that do not fail as they must are listed together
    const wrong: Array<string> = []
    const expectMatch = (label: string, verdict: string, re: RegExp) => {
      if (!re.test(verdict)) wrong.push(`${label} -> ${verdict}`)
    }
    for (const member of added) {
      for (const [where, edit] of [["first", addFirst(member)], ["last", addLast(member)]] as const) {
        const text = withMeta(sealed, edit)
        expectMatch(`${member} (${where}, key)`, await check(text, { key }), /^HeaderInvalid: /)
        // without a key the seal's digest still covers every member
        expectMatch(`${member} (${where}, no key)`, await check(text), /^HeaderInvalid: /)
      }
      // the same inside a covered value (the summary) and inside the seal itself
      const nested = withMeta(sealed, (l) => l.replace('"summary":{', `"summary":{${member},`))
      expectMatch(`summary.${member} (key)`, await check(nested, { key }), /^HeaderInvalid: /)
      const inSeal = withMeta(sealed, (l) => l.replace('"seal":{', `"seal":{${member},`))
      expectMatch(`seal.${member} (key)`, await check(inSeal, { key }), /^HeaderInvalid: .*_meta\.seal/)
      expectMatch(`seal.${member} (no key)`, await check(inSeal), /^HeaderInvalid: .*_meta\.seal/)
    }
    expect(wrong).toEqual([])
  })

  it("a member given twice is malformed, at any depth, whatever its name", async () => {
    for (const dup of [`"system": "other"`, `"__proto__": 1, "__proto__": 2`, `"entries": 6`, `"seal": null`]) {
      const text = withMeta(sealed, addLast(dup))
      expect(await check(text, { key }), dup).toMatch(/^MalformedLine: .*duplicate key/)
      expect(await check(text), dup).toMatch(/^MalformedLine: .*duplicate key/)
    }
    const inSeal = withMeta(sealed, (l) => l.replace('"seal":{', `"seal":{"sig":"00",`))
    expect(await check(inSeal, { key })).toMatch(/^MalformedLine: .*duplicate key/)
  })

  describe("an unsealed pack in the reference layout", () => {
    const c = F.chain(F.mixed(5), { key: KEY, layout: "reference" })
    const pack = [F.metaLine({ system: "s", riskTier: "high", head: c.head, entries: 5, key: KEY }), ...c.lines].join("\n") + "\n"

    it("with the key: a member beyond FORMAT A.4 is covered by nothing and is HeaderInvalid, named", async () => {
      expect(await check(pack, { key })).toBe("ok signed-header")
      const wrong: Array<string> = []
      for (const member of added) {
        const name = member.slice(0, member.indexOf(":"))
        for (const [where, edit] of [["first", addFirst(member)], ["last", addLast(member)]] as const) {
          const r = await check(withMeta(pack, edit), { key })
          if (!r.startsWith("HeaderInvalid: line 1: ") || !r.includes(name)) wrong.push(`${member} (${where}) -> ${r}`)
        }
      }
      expect(wrong).toEqual([])
    })

    it("without a key the header is unauthenticated: an unknown member is accepted, and never taken for a prototype", async () => {
      for (const member of added) {
        const text = withMeta(pack, addFirst(member))
        expect(await check(text), member).toBe("ok unsigned-header")
        const r = Either.getOrThrow(Verify.lines(text.split("\n")))
        const meta = Option.getOrThrow(r.meta)
        expect(meta.system).toBe("s")
        expect(meta.entries).toBe(5)
        expect(Object.getPrototypeOf(meta)).toBe(Object.prototype)
        expect(Object.keys(meta)).not.toContain("__proto__")
      }
      // a duplicate is still malformed
      expect(await check(withMeta(pack, addLast(`"__proto__": 1, "__proto__": 2`)))).toMatch(/^MalformedLine: .*duplicate key/)
    })
  })

  it("what our exporter writes still verifies: a sealed partial pack and an unsigned one", async () => {
    const partial = await exportPack({ key: KEY, capacity: 4 })
    expect(partial.split("\n")[0]).toContain('"partial"')
    // the pack starts after its evicted entries: the verifier reports the gap at its first row
    expect(await check(partial, { key })).toMatch(/^DeletionDetected/)
    const unsigned = await exportPack()
    expect(await check(unsigned)).toBe("ok unsigned-header")
  })
})

describe("_meta.seal: its algorithm and key id must match the key it is checked with", () => {
  const swap = (field: "alg" | "key_id", value: string) => (line: string) =>
    line.replace(new RegExp(`"${field}":"[^"]*"`), `"${field}":${JSON.stringify(value)}`)

  it("an altered algorithm or key id is HeaderInvalid naming the mismatch", async () => {
    expect(sealed.split("\n")[0]).toContain(`"key_id":"${KEY_ID}"`)
    const alg = await check(withMeta(sealed, swap("alg", "ed25519")), { key })
    expect(alg).toMatch(/^HeaderInvalid: line 1: /)
    expect(alg).toContain('"ed25519"')
    expect(alg).toContain("hmac-sha256")
    const id = await check(withMeta(sealed, swap("key_id", "0000000000000000")), { key })
    expect(id).toMatch(/^HeaderInvalid: line 1: /)
    expect(id).toContain("0000000000000000")
    expect(id).toContain(KEY_ID)
    const both = await check(withMeta(withMeta(sealed, swap("alg", "ed25519")), swap("key_id", "0000000000000000")), { key })
    expect(both).toMatch(/^HeaderInvalid: line 1: /)
    // a key id of the right form but another key's
    const other = createHash("sha256").update("another key").digest("hex").slice(0, 16)
    expect(await check(withMeta(sealed, swap("key_id", other)), { key })).toMatch(/^HeaderInvalid: line 1: .*key id/)
  })

  it("a seal field that is not a string is malformed", async () => {
    expect(await check(withMeta(sealed, (l) => l.replace(/"alg":"[^"]*"/, '"alg":1')), { key })).toMatch(/^MalformedLine: .*_meta\.seal/)
    expect(await check(withMeta(sealed, (l) => l.replace(/"alg":"[^"]*",/, "")), { key })).toMatch(/^MalformedLine: .*_meta\.seal/)
  })
})

// ---------------------------------------------------------------------------------------------
// Key material reachable from public values

const keyBytes = Buffer.from(KEY, "utf8")
const padBlock = (pad: number) => {
  const b = Buffer.alloc(64, pad)
  for (let i = 0; i < keyBytes.length; i++) b[i] = keyBytes[i]! ^ pad
  return b
}
/** Byte strings that reveal the key: the key, its ipad and opad blocks (also word-swapped, as SHA-256 loads them). */
const secrets: ReadonlyArray<Buffer> = (() => {
  const out: Array<Buffer> = [keyBytes]
  for (const pad of [0x36, 0x5c]) {
    const b = padBlock(pad)
    out.push(b.subarray(0, keyBytes.length))
    const swapped = Buffer.from(b)
    swapped.swap32()
    out.push(swapped.subarray(0, keyBytes.length - (keyBytes.length % 4)))
  }
  return out
})()
/** Their text forms: hex, base64 (at each alignment), base64url. */
const secretTexts: ReadonlyArray<string> = secrets.flatMap((s) => {
  const forms = [s.toString("hex"), s.toString("hex").toUpperCase()]
  for (let a = 0; a < 3; a++) {
    const b64 = s.subarray(a).toString("base64").replace(/=+$/, "")
    forms.push(b64.slice(2, -2), s.subarray(a).toString("base64url").slice(2, -2))
  }
  return forms
}).concat([KEY])

const bytesReveal = (b: Uint8Array): boolean => {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  return secrets.some((s) => buf.indexOf(s) >= 0)
}
const textReveals = (s: string): string | undefined => {
  const hit = secretTexts.find((t) => s.includes(t))
  if (hit !== undefined) return hit
  for (const enc of ["latin1", "utf8"] as const) if (bytesReveal(Buffer.from(s, enc))) return `bytes (${enc})`
  return undefined
}

/** Everything reachable through own and prototype properties (getters called), typed arrays read. */
const leaks = (root: unknown): Array<string> => {
  const found: Array<string> = []
  const seen = new Set<unknown>()
  const stop = new Set<unknown>([Object.prototype, Function.prototype, Array.prototype, Error.prototype, null])
  const queue: Array<[unknown, string]> = [[root, "root"]]
  while (queue.length > 0 && seen.size < 200_000) {
    const [v, path] = queue.shift()!
    if (typeof v === "string") {
      const hit = textReveals(v)
      if (hit !== undefined) found.push(`${path}: ${hit}`)
      continue
    }
    if ((typeof v !== "object" && typeof v !== "function") || v === null || seen.has(v)) continue
    seen.add(v)
    if (v instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && v instanceof SharedArrayBuffer)) {
      if (bytesReveal(new Uint8Array(v))) found.push(`${path}: bytes`)
      continue
    }
    if (ArrayBuffer.isView(v)) {
      if (bytesReveal(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))) found.push(`${path}: bytes`)
      queue.push([v.buffer, `${path}.buffer`])
      continue
    }
    if (v instanceof Map) for (const [k, x] of v) queue.push([k, `${path}<key>`], [x, `${path}<value>`])
    if (v instanceof Set) for (const x of v) queue.push([x, `${path}<item>`])
    for (let o: object | null = v as object; o !== null && !stop.has(o); o = Object.getPrototypeOf(o) as object | null) {
      for (const k of Reflect.ownKeys(o)) {
        const d = Object.getOwnPropertyDescriptor(o, k)!
        let x: unknown = d.value
        if (d.get !== undefined) {
          try {
            x = Reflect.get(o, k, v as object)
          } catch {
            continue
          }
        }
        queue.push([x, `${path}.${String(k)}`])
      }
    }
  }
  return found
}

const exposes = (label: string, value: unknown) => {
  const text = inspect(value, { depth: Infinity, showHidden: true, getters: true, maxArrayLength: 100_000, maxStringLength: Infinity })
  expect(textReveals(text), `${label}: util.inspect`).toBeUndefined()
  let json: string | undefined
  try {
    json = JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? String(v) : v))
  } catch (e) {
    json = String(e)
  }
  if (json !== undefined) expect(textReveals(json), `${label}: JSON.stringify`).toBeUndefined()
  expect(leaks(value), `${label}: reachable properties`).toEqual([])
}

describe("no key material is reachable from what verification or a signer exposes", () => {
  const c = F.chain(F.mixed(8), { key: KEY })
  const pack = [F.metaLine({ system: "s", riskTier: "high", head: c.head, entries: 8, key: KEY }), ...c.lines]

  it("states, reports, outcomes and errors of a keyed verification", async () => {
    const s0 = Verify.initial({ key })
    exposes("initial state", s0)
    let s = s0
    for (const l of pack) s = Either.getOrThrow(Verify.step(s, Buffer.from(l)))
    exposes("stepped state", s)
    exposes("report", Verify.finish(s))
    exposes("report (lines)", Verify.lines(pack, { key }))
    const bad = [...pack]
    bad[3] = bad[3]!.replace(/"sig":"[0-9a-f]{4}/, '"sig":"0000')
    const err = Verify.lines(bad, { key })
    expect(Either.isLeft(err)).toBe(true)
    exposes("error", err)
    const path = fresh("keyed")
    writeFileSync(path, [...pack, ""].join("\n"))
    exposes("outcome (file)", await verifyFile(path, { key }))
    // the stream driver makes the WebAssembly kernel (keyed) on first use
    const streamed = Effect.runSync(Effect.either(Verify.stream(Stream.make(Buffer.from(pack.join("\n") + "\n")), { key })))
    exposes("report (stream)", streamed)
    exposes("sealed pack outcome", await (async () => {
      const p = fresh("sealed")
      writeFileSync(p, sealed)
      return verifyFile(p, { key })
    })())
  })

  it.effect("the Signer service and the values of its layers", () =>
    Effect.gen(function*() {
      exposes("makeHmac", yield* Signer.makeHmac(key))
      exposes("layerHmac context", yield* Layer.build(Signer.layerHmac(key)))
      const fromConfig = yield* Layer.build(Signer.layerHmacConfig()).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["ACTTRACE_KEY", KEY]])))
      )
      exposes("layerHmacConfig context", fromConfig)
      exposes("layerNone context", yield* Layer.build(Signer.layerNone))
    }).pipe(Effect.scoped))

  it("the HMAC helper and the kernel hold the key and its pads only where no property reaches", () => {
    const mac = new FastHmac(keyBytes)
    expect(mac.ofHash("a".repeat(64))).toMatch(/^[0-9a-f]{64}$/)
    exposes("FastHmac", mac)
    // a long key is hashed first (RFC 2104); neither form may show
    exposes("FastHmac (long key)", new FastHmac(Buffer.concat([keyBytes, Buffer.alloc(80, 0x41)])))
    const k = Kernel.make(keyBytes)
    if (k !== undefined) {
      expect(k.hmacHex(Buffer.alloc(64, 0x61))).toBe(mac.ofHash("a".repeat(64)))
      expect(leaks(k), "kernel").toEqual([])
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Very long lines

describe("a line longer than maxLineBytes is MalformedLine naming the limit", () => {
  const LIMIT = 4096
  const specs = [...F.mixed(6), { type: "decision_record", payload: { blob: "x".repeat(LIMIT) } }, ...F.mixed(3).slice(1)]
  const c = F.chain(specs, { key: KEY })
  const long = 6 // index of the long entry
  const text = Buffer.from(c.lines.join("\n") + "\n")
  const show = (r: Either.Either<Verify.Report, Verify.VerifyError>) =>
    Either.match(r, { onLeft: (e) => `${e._tag}@${e.line}/${e.seq}: ${e.message}`, onRight: (r) => `ok ${r.entries}` })
  const chunked = (bytes: Buffer, size: number, options: Verify.Options) => {
    const chunks: Array<Uint8Array> = []
    for (let o = 0; o < bytes.length; o += size) chunks.push(bytes.subarray(o, o + size))
    return show(Effect.runSync(Effect.either(Verify.stream(Stream.fromIterable(chunks), options))))
  }

  it("in memory, streamed in any chunking, and from a file", async () => {
    expect(c.lines[long]!.length).toBeGreaterThan(LIMIT)
    expect(c.lines[long]!.length).toBeLessThan(LIMIT + 600)
    const expected = `MalformedLine@${long + 1}/null: line ${long + 1}: line is longer than the limit of ${LIMIT} bytes (maxLineBytes, --max-line-bytes)`
    expect(show(Verify.lines(c.lines, { key, maxLineBytes: LIMIT }))).toBe(expected)
    for (const size of [1, 333, 4096, 5000, 1 << 16, text.length]) expect(chunked(text, size, { key, maxLineBytes: LIMIT }), `chunks of ${size}`).toBe(expected)
    const path = fresh("long")
    writeFileSync(path, text)
    const o = await verifyFile(path, { key, maxLineBytes: LIMIT, chunkSize: 1000 } as Verify.Options)
    expect(show(o.result)).toBe(expected)
    // the default limit is far above any entry
    expect(show(Verify.lines(c.lines, { key }))).toBe(`ok ${c.lines.length}`)
    expect(chunked(text, 1000, { key })).toBe(`ok ${c.lines.length}`)
    // a line exactly at the limit passes
    expect(show(Verify.lines(c.lines, { key, maxLineBytes: Buffer.byteLength(c.lines[long]!) }))).toBe(`ok ${c.lines.length}`)
  })

  it("a failure before the long line is reported first, and a last line without newline counts too", () => {
    const edited = [...c.lines]
    edited[2] = edited[2]!.replace('"seq":2', '"seq":3')
    const t = Buffer.from(edited.join("\n") + "\n")
    for (const size of [100, 4096, t.length]) expect(chunked(t, size, { key, maxLineBytes: LIMIT })).toMatch(/^EditDetected@3\//)
    const unterminated = Buffer.from(c.lines.slice(0, long + 1).join("\n"))
    for (const size of [100, 4096, unterminated.length]) {
      expect(chunked(unterminated, size, { key, maxLineBytes: LIMIT })).toMatch(new RegExp(`^MalformedLine@${long + 1}/null: .*limit of ${LIMIT} bytes`))
    }
  })

  it.prop("any limit, any chunking: the stream's verdict is the in-memory verdict", [fc.integer({ min: 1, max: 6000 }), fc.integer({ min: 1, max: 9000 }), fc.boolean()], ([limit, size, crlf]) => {
    const t = crlf ? Buffer.from(c.lines.join("\r\n") + "\r\n") : text
    const inMemory = show(Verify.lines(t.toString("utf8").split("\n").map((l) => Buffer.from(l)), { key, maxLineBytes: limit }))
    expect(chunked(t, size, { key, maxLineBytes: limit })).toBe(inMemory)
  }, { fastCheck: { numRuns: 300 } })

  it("stops reading a long line at the limit: no more of it is pulled from the source", () => {
    // a 32 MiB line, pulled in 64 KiB chunks
    let pulled = 0
    const chunk = new Uint8Array(1 << 16).fill(0x78)
    const source = Stream.repeatEffect(Effect.sync(() => {
      pulled += chunk.length
      return chunk
    })).pipe(Stream.take(512))
    const r = Effect.runSync(Effect.either(Verify.stream(source, { maxLineBytes: 1 << 20 })))
    expect(show(r)).toMatch(/^MalformedLine@1\/null: .*limit of 1048576 bytes/)
    expect(pulled).toBeLessThanOrEqual((1 << 20) + (1 << 16))
  })
})

// ---------------------------------------------------------------------------------------------
// Deep nesting

describe("nesting: a _meta deeper than MAX_META_DEPTH is MalformedLine, and nothing deep throws", () => {
  /** `depth` arrays, one inside the other: `[[[…]]]`. */
  const arrays = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
  /** `depth` objects, one inside the other: `{"a":{"a":{…}}}`. */
  const objects = (depth: number) => '{"a":'.repeat(depth - 1) + "{}" + "}".repeat(depth - 1)
  const c = F.chain(F.mixed(5), { key: KEY, layout: "reference" })
  const pack = [F.metaLine({ system: "s", riskTier: "high", head: c.head, entries: 5, key: KEY }), ...c.lines].join("\n") + "\n"
  const inSummary = (text: string, value: string) =>
    withMeta(text, (l) => (l.includes('"summary": {}') ? l.replace('"summary": {}', `"summary": {"deep": ${value}}`) : l.replace('"summary":{', `"summary":{"deep":${value},`)))

  it("the limit is 64 levels, counting _meta itself as the first", () => {
    expect(Verify.MAX_META_DEPTH).toBe(64)
  })

  it("5,000 and 100,000 levels in summary, in an unknown member and in the seal: MalformedLine naming the limit, with and without the key", async () => {
    const wrong: Array<string> = []
    for (const depth of [5_000, 100_000]) {
      for (const deep of [arrays(depth), objects(depth)]) {
        const cases: Array<[string, string]> = [
          ["summary, sealed", inSummary(sealed, deep)],
          ["summary, reference", inSummary(pack, deep)],
          ["unknown member", withMeta(pack, addLast(`"x": ${deep}`))],
          ["seal", withMeta(sealed, (l) => l.replace('"seal":{', `"seal":{"deep":${deep},`))],
          ["controls_covered", withMeta(sealed, (l) => l.replace(/"controls_covered":\[/, `"controls_covered":[${deep},`))]
        ]
        for (const [label, text] of cases) {
          for (const options of [{ key }, {}]) {
            let verdict: string
            try {
              verdict = await check(text, options)
            } catch (e) {
              verdict = `threw ${String(e).slice(0, 120)}`
            }
            if (!/^MalformedLine: line 1: _meta is nested more than 64 levels deep/.test(verdict)) {
              wrong.push(`${label} ${depth}${"key" in options ? " (key)" : ""} -> ${verdict.slice(0, 200)}`)
            }
          }
        }
      }
    }
    expect(wrong).toEqual([])
  })

  it("exactly at the limit the header is judged as before; one level more is malformed", async () => {
    // _meta is level 1, summary level 2, so the innermost of 62 arrays is level 64
    expect(await check(inSummary(pack, arrays(62)), {})).toBe("ok unsigned-header")
    expect(await check(inSummary(pack, arrays(62)), { key })).toBe("ok signed-header")
    // the seal covers the summary: the edit is found
    expect(await check(inSummary(sealed, arrays(62)), { key })).toMatch(/^HeaderInvalid: /)
    expect(await check(inSummary(pack, arrays(63)), {})).toMatch(/^MalformedLine: line 1: _meta is nested more than 64 levels deep \(MAX_META_DEPTH\)/)
    expect(await check(inSummary(pack, objects(63)), { key })).toMatch(/^MalformedLine: .*more than 64 levels/)
  })

  it("deep payloads and controls still verify: the limit is the header's only", async () => {
    for (const depth of [5_000, 100_000]) {
      const specs = [...F.mixed(3), { type: "tool_call", payload: { decision_id: null, name: "deep", arguments: { a: JSON.parse(arrays(depth)) as unknown, o: JSON.parse(objects(depth)) as unknown } } }]
      const deepChain = F.chain(specs, { key: KEY })
      expect(await check(deepChain.lines.join("\n") + "\n", { key }), `payload ${depth}`).toBe("ok none")
      expect(await check(deepChain.lines.join("\n") + "\n", { key, fastPath: false }), `payload ${depth}, general reader`).toBe("ok none")
      // controls are not hashed: deep controls on a row of an unsealed pack verify
      const withControls = pack.split("\n").map((l, i) => (i === 2 ? l.replace(/\}$/, `, "controls": ${arrays(depth)}}`) : l)).join("\n")
      expect(await check(withControls, { key }), `controls ${depth}`).toBe("ok signed-header")
      // in a sealed pack the seal's digest covers each row's controls: changed ones are found
      const sealedControls = sealed.split("\n").map((l, i) => (i === 2 ? l.replace(/"controls":\[/, `"controls":[${arrays(depth)},`) : l)).join("\n")
      expect(await check(sealedControls, { key }), `sealed controls ${depth}`).toMatch(/^HeaderInvalid: .*controls/)
    }
  })
})

describe("the header line holds _meta only: any member beside it is MalformedLine, named", () => {
  const c = F.chain(F.mixed(5), { key: KEY, layout: "reference" })
  const pack = [F.metaLine({ system: "s", riskTier: "high", head: c.head, entries: 5, key: KEY }), ...c.lines].join("\n") + "\n"
  const before = (member: string) => (line: string) => line.replace(/^\{/, `{${member}, `)
  const after = (member: string) => (line: string) => line.replace(/\}$/, `, ${member}}`)
  const members: Array<[string, string]> = [
    [`"x": 1`, `"x"`],
    [`"summary": {"decisions": 1}`, `"summary"`],
    [`"__proto__": 1`, `"__proto__"`],
    [`"__proto__": {"_meta": 1}`, `"__proto__"`],
    [`"constructor": null`, `"constructor"`],
    [`"seq": 0`, `"seq"`],
    [`"sig": ""`, `"sig"`],
    [`"x": 1, "y": [2]`, `"x", "y"`]
  ]

  it("before or after _meta, sealed or in the reference layout, with or without the key", async () => {
    expect(await check(pack, { key })).toBe("ok signed-header")
    const wrong: Array<string> = []
    for (const [member, named] of members) {
      for (const [where, edit] of [["before", before(member)], ["after", after(member)]] as const) {
        for (const [label, base] of [["sealed", sealed], ["reference", pack]] as const) {
          for (const options of [{ key }, {}]) {
            const r = await check(withMeta(base, edit), options)
            const expected = `MalformedLine: line 1: the header line holds ${named} beside _meta (a header line holds _meta only)`
            if (r !== expected) wrong.push(`${member} ${where} (${label}${"key" in options ? ", key" : ""}) -> ${r}`)
          }
        }
      }
    }
    expect(wrong).toEqual([])
  })

  it("a duplicate _meta is still a duplicate key", async () => {
    expect(await check(withMeta(pack, after(`"_meta": {}`)), { key })).toMatch(/^MalformedLine: .*duplicate key/)
  })
})

describe("a mistyped or missing _meta member is MalformedLine saying which member and what it must be", () => {
  const c = F.chain(F.mixed(5), { key: KEY, layout: "reference" })
  const pack = [F.metaLine({ system: "s", riskTier: "high", head: c.head, entries: 5, key: KEY }), ...c.lines].join("\n") + "\n"
  const set = (name: string, value: string | undefined) => (line: string) =>
    line.replace(new RegExp(`"${name}": ("[^"]*"|null|\\[\\]|\\{\\}|-?\\d+)(, )?`), (_m, _v, comma: string | undefined) => (value === undefined ? "" : `"${name}": ${value}${comma ?? ""}`))

  it("each member of FORMAT A.4, with and without the key", async () => {
    const cases: Array<[string, string | undefined, string]> = [
      ["controls_covered", "[{}]", "_meta.controls_covered must be an array of strings"],
      ["controls_covered", `"a"`, "_meta.controls_covered must be an array of strings"],
      ["sig", "null", "_meta.sig must be a string"],
      ["system", "1", "_meta.system must be a string"],
      ["system", undefined, "_meta.system is missing"],
      ["risk_tier", "5", "_meta.risk_tier must be a string or null"],
      ["risk_tier", undefined, "_meta.risk_tier is missing"],
      ["framework", "[]", "_meta.framework must be a string or null"],
      ["head_hash", "null", "_meta.head_hash must be a string"],
      ["head_hash", undefined, "_meta.head_hash is missing"],
      ["entries", `"5"`, "_meta.entries must be a non-negative integer (below 2^53)"],
      ["entries", "5.0", "_meta.entries must be a non-negative integer (below 2^53)"],
      ["entries", "-1", "_meta.entries must be a non-negative integer (below 2^53)"],
      ["entries", "123456789012345678901234567890", "_meta.entries must be a non-negative integer (below 2^53)"],
      ["entries", undefined, "_meta.entries is missing"],
      ["disclaimer", "false", "_meta.disclaimer must be a string"]
    ]
    const wrong: Array<string> = []
    for (const [name, value, reason] of cases) {
      for (const options of [{ key }, {}]) {
        const r = await check(withMeta(pack, set(name, value)), options)
        if (r !== `MalformedLine: line 1: ${reason}`) wrong.push(`${name} = ${value} -> ${r}`)
      }
    }
    expect(wrong).toEqual([])
  })

  it("two wrong members: the first in the order of FORMAT A.4 is named", async () => {
    const r = await check(withMeta(withMeta(pack, set("sig", "null")), set("system", "1")), { key })
    expect(r).toBe("MalformedLine: line 1: _meta.system must be a string")
  })
})
