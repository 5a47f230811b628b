/**
 * The verification the report page runs (src/internal/report-verifier.ts) against the library's
 * own: for the same bytes and keys, `acttraceVerify` (evaluated from `VERIFIER_SOURCE` as the page
 * evaluates it, on node's WebCrypto) must say what `acttrace verify --json` says: ok or the error
 * tag, line, seq, entries, head, signatures, completeness (and with public keys the checkpoints).
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { pathToFileURL } from "node:url"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { type BrowserVerdict, type BrowserVerify, VERIFIER_SOURCE } from "../src/internal/report-verifier.js"
import { jsonVerdict } from "../src/internal/cli.js"
import * as Canonical from "../src/Canonical.js"
import { chainHash, GENESIS } from "../src/Hash.js"
import { chain, llmCall, mixed } from "../src/internal/fixtures.js"
import * as Verify from "../src/Verify.js"
import { hasChromium, launch } from "./browser-helpers.js"
import { cliInProcess } from "./cli-in-process.js"
import { CONFORMANCE, FUZZ, hasShared, ROOT, tempDir } from "./helpers.js"

/** The verifier as the page gets it: the source text, evaluated on its own. */
const loadVerifier = (source: string): BrowserVerify => {
  const scope: { acttraceVerify?: BrowserVerify } = {}
  // the source assigns globalThis.acttraceVerify: hand it a globalThis of its own, with the
  // standard objects it uses (node's WebCrypto is the browser's API)
  new Function("globalThis", source)(Object.assign(scope, { crypto: globalThis.crypto }))
  return scope.acttraceVerify!
}
export const acttraceVerify = loadVerifier(VERIFIER_SOURCE)

/** The fields both sides state. */
export interface Said {
  readonly ok: boolean
  readonly result: string
  readonly line?: number | undefined
  readonly seq?: number | undefined
  readonly entries: number
  readonly head: string | null
  readonly signatures: string
  readonly completeness: string
  readonly checkpoints?: string | undefined
  readonly checkpoint_count?: number | undefined
  readonly unsealed_tail?: number | undefined
}

export interface Keys {
  readonly key?: string | undefined
  readonly pubkeys?: ReadonlyArray<string> | undefined
}

/** What `verify --json` prints for these bytes, read back into the common fields. */
export const librarySays = async (bytes: Uint8Array, keys: Keys, fastPath = true): Promise<Said> => {
  const options: Verify.Options = {
    key: keys.key === undefined ? undefined : Redacted.make(keys.key),
    publicKeys: keys.pubkeys === undefined || keys.pubkeys.length === 0 ? undefined : keys.pubkeys,
    fastPath
  }
  const outcome = await Effect.runPromise(Verify.streamOutcome(Stream.make(bytes), options))
  const j = JSON.parse(jsonVerdict(outcome))
  const withCk = options.publicKeys !== undefined
  return j.ok
    ? {
      ok: true,
      result: "Ok",
      entries: j.entries,
      head: j.head,
      signatures: j.signatures,
      completeness: j.completeness,
      ...(withCk ? { checkpoints: j.checkpoints, checkpoint_count: j.checkpoint_count, unsealed_tail: j.unsealed_tail } : {})
    }
    : {
      ok: false,
      result: j.error._tag,
      line: j.error.line,
      seq: j.error.seq ?? undefined,
      entries: j.entries,
      head: j.head,
      signatures: j.signatures,
      completeness: j.completeness
    }
}

export const pageSays = async (bytes: Uint8Array, keys: Keys, asText = true): Promise<Said> => {
  const text = asText ? new TextDecoder("utf-8", { fatal: true }).decode(bytes) : bytes
  const v: BrowserVerdict = await acttraceVerify(text, { key: keys.key, pubkeys: keys.pubkeys })
  const withCk = keys.pubkeys !== undefined && keys.pubkeys.length > 0
  return v.ok
    ? {
      ok: true,
      result: v.result,
      entries: v.entries,
      head: v.head,
      signatures: v.signatures,
      completeness: v.completeness,
      ...(withCk ? { checkpoints: v.checkpoints, checkpoint_count: v.checkpoint_count, unsealed_tail: v.unsealed_tail } : {})
    }
    : {
      ok: false,
      result: v.result,
      line: v.line,
      seq: v.seq,
      entries: v.entries,
      head: v.head,
      signatures: v.signatures,
      completeness: v.completeness
    }
}

const isUtf8 = (b: Uint8Array) => {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(b)
    return true
  } catch {
    return false
  }
}

/**
 * What the verdict is, apart from how far the chain held: on a checkpoint's failure the library's
 * fast path states `entries` and `head` as they were before its batch of lines (see the report), so
 * those are compared with its general reader (`fastPath: false`) instead.
 */
export const core = (s: Said) => ({ ok: s.ok, result: s.result, line: s.line, seq: s.seq, completeness: s.completeness })

/** Both verdicts, the page's given the text when it is UTF-8 (as a page has it) and the bytes otherwise. */
export const both = async (bytes: Uint8Array, keys: Keys) => ({
  library: await librarySays(bytes, keys),
  general: await librarySays(bytes, keys, false),
  page: await pageSays(bytes, keys, isUtf8(bytes))
})

const VECTORS = join(ROOT, "test/fixtures/vectors")
const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((n) => {
    const path = join(dir, n)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })

describe("report verifier: the project's vectors", () => {
  const vectorKeys = JSON.parse(readFileSync(join(VECTORS, "cases.json"), "utf8")).keys as Record<string, string>
  const files = filesUnder(VECTORS).filter((f) => f.endsWith(".jsonl")).sort()
  const keyChoices: Array<string | undefined> = [undefined, ...Object.values(vectorKeys)]
  it("finds the vectors", () => {
    expect(files.length).toBeGreaterThan(100)
  })
  for (const file of files) {
    it(`${relative(VECTORS, file)}: the page says what verify --json says, with each key and without`, async () => {
      const bytes = readFileSync(file)
      for (const key of keyChoices) {
        const { library, page } = await both(bytes, { key })
        expect({ key, ...page }).toEqual({ key, ...library })
      }
    })
  }
})

describe("report verifier: the checkpoint vectors, with public keys", () => {
  const dir = join(VECTORS, "checkpoints")
  const doc = JSON.parse(readFileSync(join(dir, "checkpoint-cases.json"), "utf8")) as { hmac_key: string }
  const pub = (name: string) => readFileSync(join(dir, "keys", `${name}.pub`), "utf8")
  const pubkeyChoices: Array<Array<string>> = [[pub("vectors-a")], [pub("vectors-b")], [pub("vectors-a"), pub("vectors-b")], [pub("vectors-stranger")], [pub("vectors-a"), pub("vectors-stranger")]]
  const files = filesUnder(dir).filter((f) => f.endsWith(".jsonl")).sort()
  let untrusted = 0
  afterAll(() => {
    // the signers were compared at least once
    expect(untrusted).toBeGreaterThan(0)
  })
  for (const file of files) {
    it(`${relative(dir, file)}: the page says what verify --json --pubkey says`, async () => {
      const bytes = readFileSync(file)
      for (const key of [undefined, doc.hmac_key]) {
        for (const pubkeys of pubkeyChoices) {
          const { general, library, page } = await both(bytes, { key, pubkeys })
          expect({ key, pubkeys: pubkeys.length, ...page }).toEqual({ key, pubkeys: pubkeys.length, ...general })
          expect({ key, pubkeys: pubkeys.length, ...core(page) }).toEqual({ key, pubkeys: pubkeys.length, ...core(library) })
          if (page.result === "CheckpointUntrusted") {
            // the keys that signed it, as verify --json names them
            const v = await acttraceVerify(bytes.toString("utf8"), { key, pubkeys })
            const j = JSON.parse(jsonVerdict(await Effect.runPromise(Verify.streamOutcome(Stream.make(bytes), { key: key === undefined ? undefined : Redacted.make(key), publicKeys: pubkeys }))))
            expect(v.signers).toEqual(j.error.signers)
            untrusted++
          }
        }
      }
    })
  }
})

describe("report verifier: the shared conformance cases", () => {
  const present = hasShared()
  it.skipIf(!present)("every case file, with its key, with every other case key, and without", async () => {
    const cases = JSON.parse(readFileSync(join(CONFORMANCE, "cases.json"), "utf8")) as Array<{ file: string; key: string | null }>
    const keys = [undefined, ...new Set(cases.flatMap((c) => (c.key === null ? [] : [c.key])))]
    const files = filesUnder(CONFORMANCE).filter((f) => f.endsWith(".jsonl")).sort()
    // every file a case names is among them
    for (const c of cases) expect(files).toContain(join(CONFORMANCE, c.file))
    for (const file of files) {
      const bytes = readFileSync(file)
      for (const key of keys) {
        const { library, page } = await both(bytes, { key })
        expect({ file: relative(CONFORMANCE, file), key, ...page }).toEqual({ file: relative(CONFORMANCE, file), key, ...library })
      }
    }
  })
})

describe("report verifier: the demo pack and its tampered copies", () => {
  const DEMO_KEY = "acttrace-demo-key"
  it("acttrace demo: every file, with the demo key and without", async () => {
    const { cleanup, dir } = tempDir()
    try {
      const ran = await cliInProcess(["demo", "--out", dir])
      expect(ran.code).toBe(0)
      const files = readdirSync(dir).filter((f) => f.endsWith(".jsonl")).sort()
      expect(files).toEqual(expect.arrayContaining(["loan-triage.pack.jsonl", "edited.pack.jsonl", "deleted.pack.jsonl", "truncated.pack.jsonl"]))
      const seen = new Set<string>()
      for (const f of files) {
        const bytes = readFileSync(join(dir, f))
        for (const key of [DEMO_KEY, undefined, "not-the-demo-key"]) {
          const { library, page } = await both(bytes, { key })
          expect({ f, key, ...page }).toEqual({ f, key, ...library })
          seen.add(page.result)
        }
      }
      // the tampered copies fail, and in more than one way
      expect(seen.has("Ok")).toBe(true)
      expect(seen.size).toBeGreaterThan(2)
    } finally {
      cleanup()
    }
  }, 60_000)

  it("acttrace demo --private-key: every file, with and without the HMAC key and the public key", async () => {
    const { cleanup, dir } = tempDir()
    try {
      expect((await cliInProcess(["keygen", "--name", "report-demo", "--out", join(dir, "keys")])).code).toBe(0)
      const keyFiles = readdirSync(join(dir, "keys"))
      const pub = readFileSync(join(dir, "keys", keyFiles.find((k) => k.endsWith(".pub"))!), "utf8")
      const ran = await cliInProcess(["demo", "--out", join(dir, "demo"), "--private-key", join(dir, "keys", keyFiles.find((k) => k.endsWith(".key"))!)])
      expect(ran.code).toBe(0)
      const files = readdirSync(join(dir, "demo")).filter((f) => f.endsWith(".jsonl")).sort()
      expect(files.length).toBeGreaterThan(3)
      let checkpointsVerified = false
      for (const f of files) {
        const bytes = readFileSync(join(dir, "demo", f))
        for (const key of [DEMO_KEY, undefined]) {
          for (const pubkeys of [[pub], []]) {
            const { general, library, page } = await both(bytes, { key, pubkeys })
            expect({ f, key, ...page }).toEqual({ f, key, ...general })
            expect({ f, key, ...core(page) }).toEqual({ f, key, ...core(library) })
            if (page.checkpoints === "verified") checkpointsVerified = true
          }
        }
      }
      expect(checkpointsVerified).toBe(true)
    } finally {
      cleanup()
    }
  }, 60_000)
})

describe("report verifier: random byte changes of a signed, sealed pack", () => {
  const runs = FUZZ ? 5000 : 250
  const packs = [
    readFileSync(join(VECTORS, "ours/signed.pack.jsonl")),
    readFileSync(join(VECTORS, "py/signed.pack.jsonl"))
  ]
  const vectorKeys = JSON.parse(readFileSync(join(VECTORS, "cases.json"), "utf8")).keys as Record<string, string>
  // bytes that matter to JSON and to the format, and any byte at all
  const INTERESTING = [...'"\\{}[],:0123456789abcdef-.eE+ \t\r\nu/'].map((c) => c.charCodeAt(0))
  const byte = fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 }))
  const change = fc.oneof(
    fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: byte }),
    fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), value: byte }),
    fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), value: fc.constant(0) })
  )
  const apply = (bytes: Uint8Array, changes: ReadonlyArray<{ kind: "set" | "insert" | "delete"; at: number; value: number }>): Uint8Array => {
    let b = Array.from(bytes)
    for (const c of changes) {
      const at = c.at % (b.length + (c.kind === "insert" ? 1 : 0))
      if (c.kind === "set") b[at] = c.value
      else if (c.kind === "insert") b.splice(at, 0, c.value)
      else b.splice(at, 1)
    }
    return Uint8Array.from(b)
  }

  it("the page and verify --json agree on ok or failed, the tag, the line and the seq (and with the general reader on how far the chain held)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: packs.length - 1 }), fc.array(change, { minLength: 1, maxLength: 3 }), fc.constantFrom(undefined, vectorKeys["ours"]!, vectorKeys["py"]!), async (which, changes, key) => {
        const bytes = apply(packs[which]!, changes)
        const { general, library, page } = await both(bytes, { key })
        expect(core(page)).toEqual(core(library))
        expect(page).toEqual(general)
      }),
      { numRuns: runs }
    )
  }, 120_000)
})

describe("report verifier: random changes of whole lines, and of checkpointed packs", () => {
  const runs = FUZZ ? 3000 : 150
  const vectorKeys = JSON.parse(readFileSync(join(VECTORS, "cases.json"), "utf8")).keys as Record<string, string>
  const cpDir = join(VECTORS, "checkpoints")
  const cpKey = (JSON.parse(readFileSync(join(cpDir, "checkpoint-cases.json"), "utf8")) as { hmac_key: string }).hmac_key
  const pubA = readFileSync(join(cpDir, "keys/vectors-a.pub"), "utf8")
  const pubB = readFileSync(join(cpDir, "keys/vectors-b.pub"), "utf8")
  const sources: Array<{ readonly bytes: Buffer; readonly keys: Array<Keys> }> = [
    { bytes: readFileSync(join(VECTORS, "ours/signed.pack.jsonl")), keys: [{}, { key: vectorKeys["ours"] }] },
    { bytes: readFileSync(join(VECTORS, "py/signed.raw.jsonl")), keys: [{}, { key: vectorKeys["py"] }] },
    { bytes: readFileSync(join(cpDir, "pack.jsonl")), keys: [{ pubkeys: [pubA] }, { key: cpKey, pubkeys: [pubA] }] },
    { bytes: readFileSync(join(cpDir, "rotated.pack.jsonl")), keys: [{ pubkeys: [pubA] }, { pubkeys: [pubA, pubB] }] },
    { bytes: readFileSync(join(cpDir, "log.jsonl")), keys: [{ pubkeys: [pubA] }] }
  ]
  const splitLines = (b: Buffer): Array<Buffer> => {
    const out: Array<Buffer> = []
    let start = 0
    for (let i = 0; i < b.length; i++) if (b[i] === 0x0a) (out.push(b.subarray(start, i + 1)), (start = i + 1))
    if (start < b.length) out.push(b.subarray(start))
    return out
  }
  const op = fc.record({ kind: fc.constantFrom("delete", "duplicate", "swap", "move", "blank", "crlf"), a: fc.nat(), b: fc.nat() })

  it("deleted, repeated, swapped and moved lines: the page and verify --json agree", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: sources.length - 1 }), fc.array(op, { minLength: 1, maxLength: 3 }), fc.nat(), async (which, ops, k) => {
        const source = sources[which]!
        const lines = splitLines(source.bytes)
        for (const o of ops) {
          const a = o.a % lines.length
          const b = o.b % lines.length
          if (o.kind === "delete" && lines.length > 1) lines.splice(a, 1)
          else if (o.kind === "duplicate") lines.splice(b, 0, lines[a]!)
          else if (o.kind === "swap") [lines[a], lines[b]] = [lines[b]!, lines[a]!]
          else if (o.kind === "move") lines.splice(b, 0, ...lines.splice(a, 1))
          else if (o.kind === "blank") lines.splice(a, 0, Buffer.from(" \t\n"))
          else if (o.kind === "crlf") lines[a] = Buffer.concat([lines[a]!.subarray(0, lines[a]!.length - 1), Buffer.from("\r\n")])
        }
        const bytes = Buffer.concat(lines)
        const keys = source.keys[k % source.keys.length]!
        const { general, library, page } = await both(bytes, keys)
        expect(core(page)).toEqual(core(library))
        expect(page).toEqual(general)
      }),
      { numRuns: runs }
    )
  }, 120_000)

  it("byte changes of packs with signed checkpoints, verified with the public key", async () => {
    const INTERESTING = [...'"\\{}[],:0123456789abcdef+/=-\n '].map((c) => c.charCodeAt(0))
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: sources.length - 1 }), fc.nat(), fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 })), fc.nat(), async (which, at, value, k) => {
        const source = sources[which]!
        const bytes = Buffer.from(source.bytes)
        bytes[at % bytes.length] = value
        const keys = source.keys[k % source.keys.length]!
        const { general, library, page } = await both(bytes, keys)
        expect(core(page)).toEqual(core(library))
        expect(page).toEqual(general)
      }),
      { numRuns: runs }
    )
  }, 120_000)
})

describe("report verifier: canonical JSON, numbers and strings as the library writes them", () => {
  /** A one-entry log whose payload is `payloadText` as written, hashed by the library's canonical form. */
  const logOf = (payloadText: string): Uint8Array | undefined => {
    const line = `{"seq": 0, "ts": "t", "type": "x", "payload": ${payloadText}, "prev_hash": "${GENESIS}"`
    const body = Canonical.canonicalize(`{"payload": ${payloadText}, "seq": 0, "ts": "t", "type": "x"}`)
    const hash = Either.isRight(body) ? chainHash(GENESIS, body.right) : "0".repeat(64)
    return new TextEncoder().encode(`${line}, "hash": "${hash}"}\n`)
  }
  const lexeme = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => String(x)),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x.toExponential()),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x.toExponential().toUpperCase().replace("E+", "E")),
    fc.tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.nat({ max: 40 }), fc.integer({ min: -400, max: 400 })).map(([m, z, e]) => `${m}.${"0".repeat(z)}5e${e}`),
    fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map((n) => n.toString()),
    fc.constantFrom("-0", "-0.0", "0.0", "1.50", "1E5", "100e-2", "1e400", "-1e400", "5E-324", "1e-400", "01", "1.", ".5", "-", "1e", "2.5e-3")
  )
  const text = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.constantFrom("\\u00e9", "\\ud83d\\ude00", "\\ud800", "\\udc00x", "\\/", "\\u001f", "\\b\\f", "\u2028", "\u007f"))
  const key = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom("～", "😀", "a", "A", "", "\\u0061", "é", "e\u0301"))

  it("number lexemes in any spelling: hashed alike, or refused alike", async () => {
    const seen = new Set<string>()
    await fc.assert(
      fc.asyncProperty(fc.array(lexeme, { minLength: 1, maxLength: 4 }), async (lexemes) => {
        const bytes = logOf(`{"n": [${lexemes.join(", ")}]}`)!
        const { general, library, page } = await both(bytes, {})
        expect(page).toEqual(library)
        expect(page).toEqual(general)
        seen.add(page.result)
      }),
      { numRuns: FUZZ ? 3000 : 300 }
    )
    // both kinds of input came up: some that hash alike, some refused
    expect([...seen].sort()).toEqual(["MalformedLine", "Ok"])
  })

  it("strings and keys in any spelling and order: hashed alike, or refused alike", async () => {
    const seen = new Set<string>()
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, text), { maxLength: 5 }), async (members) => {
        const raw = (s: string) => JSON.stringify(s).replace(/\\\\u/g, "\\u").replace(/\\\\([\/bf])/g, "\\$1")
        const bytes = logOf(`{${members.map(([k, v]) => `${raw(k)}: ${raw(v)}`).join(", ")}}`)!
        const { general, library, page } = await both(bytes, {})
        expect(page).toEqual(library)
        expect(page).toEqual(general)
        seen.add(page.result)
      }),
      { numRuns: FUZZ ? 3000 : 300 }
    )
    // both kinds of input came up: some that hash alike, some refused
    expect([...seen].sort()).toEqual(["MalformedLine", "Ok"])
  })

  it("deep nesting: the page's reader has no recursion limit either", async () => {
    const depth = 20_000
    for (const payload of [`{"a":${"[".repeat(depth)}${"]".repeat(depth)}}`, `{"a":${'{"b":'.repeat(depth)}1${"}".repeat(depth)}}`, `{"a":${"[".repeat(depth)}}`]) {
      const { library, page } = await both(logOf(payload)!, {})
      expect(page).toEqual(library)
    }
  })

  it("the mixed chain of the library's fixtures, in both layouts, signed and not", async () => {
    for (const layout of ["ours", "reference"] as const) {
      for (const key of [undefined, "mixed-key"]) {
        const c = chain(mixed(300), { key, layout })
        const bytes = new TextEncoder().encode(c.lines.join("\r\n") + "\n")
        const { library, page } = await both(bytes, { key })
        expect(page).toEqual(library)
        expect(page).toMatchObject({ ok: true, entries: 300, head: c.head })
      }
    }
  })
})

describe("report verifier: the source itself", () => {
  it("is plain JavaScript a page can inline: no import, no network, no end of a script element", () => {
    expect(VERIFIER_SOURCE).not.toMatch(/<\/script|<!--/i)
    expect(VERIFIER_SOURCE).not.toMatch(/\bimport\b|\brequire\s*\(|\bfetch\s*\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon|\beval\s*\(|new Function|document\.|window\./)
    // it parses as a script (not a module), in strict mode
    expect(() => new Function(VERIFIER_SOURCE)).not.toThrow()
  })

  it("yields to the event loop and reports progress on a large pack", async () => {
    const c = chain([{ type: "audit_open", payload: { system: "s", risk_tier: "high" } }, ...Array.from({ length: 6000 }, (_, i) => llmCall(i + 1))], { key: "progress-key" })
    const text = c.lines.join("\n") + "\n"
    const progress: Array<[number, number]> = []
    let worst = 0
    let last = performance.now()
    const timer = setInterval(() => {
      const now = performance.now()
      worst = Math.max(worst, now - last)
      last = now
    }, 1)
    const v = await acttraceVerify(text, { key: "progress-key", onProgress: (entries, bytes) => progress.push([entries, bytes]) })
    clearInterval(timer)
    expect(v).toMatchObject({ ok: true, entries: 6001, head: c.head, signatures: "verified" })
    // progress came in steps, growing to every entry and every byte
    expect(progress.length).toBeGreaterThan(5)
    expect(progress.at(-1)).toEqual([6001, Buffer.byteLength(text)])
    for (let i = 1; i < progress.length; i++) expect(progress[i]![1]).toBeGreaterThan(progress[i - 1]![1])
    // timers ran while it worked: no turn of the event loop took long (a busy 2-core machine allowed for)
    expect(worst).toBeLessThan(1000)
  })

  it("a pack that is not UTF-8 is verified from its bytes; as text, a lone surrogate is a line that is not UTF-8", async () => {
    const c = chain([{ type: "audit_open", payload: { system: "s", risk_tier: "high" } }, { type: "decision", payload: { x: "é" } }])
    const bytes = Buffer.from(c.lines.join("\n") + "\n", "utf8")
    const at = bytes.indexOf(Buffer.from("é"))
    bytes[at] = 0xff
    expect(await pageSays(bytes, {}, false)).toEqual(await librarySays(bytes, {}))
    const text = c.lines[0] + "\n" + c.lines[1]!.replace("é", "\ud800") + "\n"
    expect(await acttraceVerify(text)).toMatchObject({ ok: false, result: "MalformedLine", line: 2, entries: 1 })
  })

  /**
   * The mutation check: each rule of the format broken in a copy of the source makes the copy
   * disagree with the library on the vectors (so the comparisons above would catch it).
   */
  const crafted = {
    /** the second entry links to the first and hashes right, but says seq 5 */
    seqJump: (): Uint8Array => {
      const first = chain([{ type: "audit_open", payload: { system: "s", risk_tier: "high" } }])
      const second = chain([{ type: "decision", payload: { d: 1 } }], { seq: 5, prevHash: first.head })
      return new TextEncoder().encode(first.lines[0] + "\n" + second.lines[0] + "\n")
    }
  }
  const mutations: Array<{
    readonly rule: string
    readonly from: string
    readonly to: string
    readonly files: string
    readonly pubkeys?: ReadonlyArray<string>
    readonly input?: () => Uint8Array
  }> = [
    { rule: "a swap told from a deletion", from: "seq > p.lastSeq && seq < p.seq", to: "seq > p.lastSeq && seq > p.seq", files: "reorder-adjacent" },
    { rule: "keys sorted by code point", from: "if (d > 0) sorted = false;", to: "", files: "py/" },
    { rule: "doubles written as Python writes them", from: "} else if (!isShortFixed(p, i)) {", to: "} else if (false) {", files: "respelled" },
    { rule: "the seal's digest", from: "if (digest !== seal.digest) return invalid", to: "if (false) return invalid", files: "header-summary" },
    { rule: "the header's completeness claim", from: "if (header.headHash !== s.head || header.entries !== s.entries) {", to: "if (false) {", files: "truncate-tail" },
    { rule: "seq follows the entry before", from: 'if (seq !== expectedSeq) return new Failure("EditDetected"', to: 'if (false) return new Failure("EditDetected"', files: "edit-seq", input: crafted.seqJump },
    { rule: "entry signatures under the key", from: "if (!equalConstantTime(r.sig, it.expectedSig)) {", to: "if (false) {", files: "bad-sig" },
    { rule: "a lone surrogate escape is malformed", from: 'fail("lone surrogate escape (no UTF-8 form)");', to: "void 0;", files: "lone-surrogate" },
    { rule: "_meta on the first line only", from: "if (s.entries > 0 || s.pending !== undefined || s.header !== undefined) return", to: "if (false) return", files: "meta-later" },
    {
      rule: "a checkpoint is signed by the log's checkpoint key",
      from: "if (this.key !== undefined && read.signers.indexOf(this.key.id) < 0) {",
      to: "if (false) {",
      files: "cp-stranger",
      pubkeys: ["vectors-a", "vectors-stranger"]
    }
  ]
  for (const m of mutations) {
    it(`mutation check: breaking "${m.rule}" in a copy of the source is caught`, async () => {
      expect(VERIFIER_SOURCE.split(m.from).length - 1).toBeGreaterThanOrEqual(1)
      const broken = loadVerifier(VERIFIER_SOURCE.replaceAll(m.from, m.to))
      const vectorKeys = JSON.parse(readFileSync(join(VECTORS, "cases.json"), "utf8")).keys as Record<string, string>
      const cpDoc = JSON.parse(readFileSync(join(VECTORS, "checkpoints/checkpoint-cases.json"), "utf8")) as { hmac_key: string }
      const pubkeys = m.pubkeys?.map((name) => readFileSync(join(VECTORS, "checkpoints/keys", `${name}.pub`), "utf8"))
      const files = filesUnder(VECTORS).filter((f) => f.endsWith(".jsonl") && relative(VECTORS, f).includes(m.files))
      expect(files.length).toBeGreaterThan(0)
      const inputs: Array<[string, Uint8Array]> = m.input !== undefined ? [["crafted", m.input()]] : files.map((f) => [relative(VECTORS, f), readFileSync(f)])
      // the source as it is agrees on a crafted input (the vectors are held above)
      if (m.input !== undefined) expect(await pageSays(m.input(), {})).toEqual(await librarySays(m.input(), {}))
      let caught: string | undefined
      for (const [name, bytes] of inputs) {
        for (const key of [undefined, vectorKeys["ours"], vectorKeys["py"], cpDoc.hmac_key]) {
          const keys = { key, pubkeys }
          const library = core(await librarySays(bytes, keys))
          const v = await broken(isUtf8(bytes) ? new TextDecoder().decode(bytes) : bytes, keys)
          const page = core({ ...v, line: v.ok ? undefined : v.line, seq: v.ok ? undefined : v.seq })
          if (JSON.stringify(page) !== JSON.stringify(library)) caught ??= `${name}: page ${JSON.stringify(page)}, library ${JSON.stringify(library)}`
        }
        if (caught !== undefined) break
      }
      expect(caught).toBeDefined()
    })
  }
})

describe("report verifier: speed", () => {
  // 100,000 entries (about 64 MB): run with REPORT_VERIFIER_BENCH=1 (or FUZZ_LONG=1); it prints its times
  const bench = process.env["REPORT_VERIFIER_BENCH"] === "1" || FUZZ
  it.skipIf(!bench)("100,000 entries in node: the verdict of verify --json, in seconds", async () => {
    const specs = [{ type: "audit_open", payload: { system: "bench", risk_tier: "high" } }, ...Array.from({ length: 99_999 }, (_, i) => llmCall(i + 1))]
    const c = chain(specs, { key: "bench-key" })
    const text = c.lines.join("\n") + "\n"
    const bytes = new TextEncoder().encode(text)
    for (const key of [undefined, "bench-key"]) {
      const started = performance.now()
      const cpu = process.cpuUsage()
      const v = await acttraceVerify(text, { key })
      const used = process.cpuUsage(cpu)
      const seconds = (performance.now() - started) / 1000
      console.log(`report verifier: ${v.entries} entries, ${(bytes.length / 1e6).toFixed(1)} MB, ${key === undefined ? "no key" : "with the key"}: ${seconds.toFixed(2)} s (${((used.user + used.system) / 1e6).toFixed(2)} s of CPU)`)
      expect(v).toMatchObject({ ok: true, entries: 100_000, head: c.head })
      expect(await pageSays(bytes, { key })).toEqual(await librarySays(bytes, { key }))
    }
  }, 600_000)
})

describe("report verifier: speed in Chromium", () => {
  const bench = process.env["REPORT_VERIFIER_BENCH"] === "1" || FUZZ
  it.skipIf(!bench || !hasChromium())("100,000 entries embedded in a page as the report embeds them: seconds, and the longest task", async () => {
    const specs = [{ type: "audit_open", payload: { system: "bench", risk_tier: "high" } }, ...Array.from({ length: 99_999 }, (_, i) => llmCall(i + 1))]
    const c = chain(specs, { key: "bench-key" })
    const text = c.lines.join("\n") + "\n"
    const { cleanup, dir } = tempDir()
    const browser = await launch()
    try {
      const html = join(dir, "bench.html")
      const embedded = JSON.stringify(text).replace(/</g, "\\u003c")
      writeFileSync(html, `<!doctype html><meta charset="utf-8"><script type="application/json" id="pack">${embedded}</script><script>${VERIFIER_SOURCE}</script>`)
      const page = await browser.newPage()
      await page.goto(pathToFileURL(html).href)
      for (const key of [undefined, "bench-key"]) {
        const r = await page.evaluate(async (key) => {
          const doc = (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }).document
          const verify = (globalThis as unknown as { acttraceVerify: BrowserVerify }).acttraceVerify
          const text = JSON.parse(doc.getElementById("pack").textContent) as string
          let last = performance.now(), worst = 0, ticking = true
          const tick = () => {
            const now = performance.now()
            worst = Math.max(worst, now - last)
            last = now
            if (ticking) setTimeout(tick, 0)
          }
          setTimeout(tick, 0)
          const started = performance.now()
          const v = await verify(text, key === null ? {} : { key })
          ticking = false
          return { seconds: (performance.now() - started) / 1000, longestTaskMs: worst, entries: v.entries, ok: v.ok, head: v.head }
        }, key ?? null)
        console.log(`report verifier in Chromium: ${r.entries} entries, ${(Buffer.byteLength(text) / 1e6).toFixed(1)} MB, ${key === undefined ? "no key" : "with the key"}: ${r.seconds.toFixed(2)} s, longest task ${Math.round(r.longestTaskMs)} ms`)
        expect(r).toMatchObject({ ok: true, entries: 100_000, head: c.head })
      }
    } finally {
      await browser.close()
      cleanup()
    }
  }, 600_000)
})

describe("report verifier: a line past the limit", () => {
  it("a line longer than 64 MiB is MalformedLine in both, after the lines before it verified", async () => {
    // an entry that links and hashes, but whose line is past the limit
    const c = chain([{ type: "audit_open", payload: { system: "s", risk_tier: "high" } }, { type: "decision", payload: { d: 1 } }, { type: "decision_record", payload: { x: "a".repeat(64 * 1024 * 1024) } }])
    const bytes = new TextEncoder().encode(c.lines.join("\n") + "\n")
    const { library, page } = await both(bytes, {})
    expect(page).toEqual(library)
    expect(page).toMatchObject({ ok: false, result: "MalformedLine", line: 3, entries: 2 })
  }, 120_000)
})

describe("report verifier: in real Chromium", () => {
  const present = hasChromium()
  it.skipIf(!present)("the browser's own WebCrypto (SHA-256, HMAC, Ed25519) gives verify --json's verdict on every vector", async () => {
    const { cleanup, dir } = tempDir()
    const browser = await launch()
    try {
      // a page from file: (a secure context, as a report opened from disk is: WebCrypto is there)
      const html = join(dir, "verifier.html")
      writeFileSync(html, `<!doctype html><meta charset="utf-8"><title>verifier</title><script>${VERIFIER_SOURCE}</script>`)
      const page = await browser.newPage()
      await page.goto(pathToFileURL(html).href)
      const vectorKeys = JSON.parse(readFileSync(join(VECTORS, "cases.json"), "utf8")).keys as Record<string, string>
      const cpDir = join(VECTORS, "checkpoints")
      const cpKey = (JSON.parse(readFileSync(join(cpDir, "checkpoint-cases.json"), "utf8")) as { hmac_key: string }).hmac_key
      const pub = (name: string) => readFileSync(join(cpDir, "keys", `${name}.pub`), "utf8")
      const runs: Array<{ readonly name: string; readonly bytes: Buffer; readonly keys: Keys }> = []
      for (const file of filesUnder(VECTORS).filter((f) => f.endsWith(".jsonl")).sort()) {
        const bytes = readFileSync(file)
        const name = relative(VECTORS, file)
        if (name.startsWith("checkpoints/")) {
          for (const keys of [{ pubkeys: [pub("vectors-a")] }, { key: cpKey, pubkeys: [pub("vectors-a"), pub("vectors-b")] }, { pubkeys: [pub("vectors-a"), pub("vectors-stranger")] }]) runs.push({ name, bytes, keys })
        } else {
          for (const key of [undefined, vectorKeys["ours"], vectorKeys["py"]]) runs.push({ name, bytes, keys: { key } })
        }
      }
      const said: Array<BrowserVerdict> = await page.evaluate(
        async (all) => {
          const verify = (globalThis as unknown as { acttraceVerify: BrowserVerify }).acttraceVerify
          const out: Array<BrowserVerdict> = []
          for (const r of all) out.push(await verify(r.text ?? Uint8Array.from(r.bytes!), r.keys))
          return out
        },
        runs.map((r) => ({ text: isUtf8(r.bytes) ? r.bytes.toString("utf8") : undefined, bytes: isUtf8(r.bytes) ? undefined : Array.from(r.bytes), keys: r.keys }))
      )
      let checkpointsVerified = 0
      for (const [i, r] of runs.entries()) {
        const v = said[i]!
        const withCk = r.keys.pubkeys !== undefined
        const page = v.ok
          ? { ok: true, result: v.result, entries: v.entries, head: v.head, signatures: v.signatures, completeness: v.completeness, ...(withCk ? { checkpoints: v.checkpoints, checkpoint_count: v.checkpoint_count, unsealed_tail: v.unsealed_tail } : {}) }
          : { ok: false, result: v.result, line: v.line, seq: v.seq ?? undefined, entries: v.entries, head: v.head, signatures: v.signatures, completeness: v.completeness }
        expect({ name: r.name, ...page }).toEqual({ name: r.name, ...(await librarySays(r.bytes, r.keys, false)) })
        expect({ name: r.name, ...core(page) }).toEqual({ name: r.name, ...core(await librarySays(r.bytes, r.keys)) })
        if (v.checkpoints === "verified") checkpointsVerified++
      }
      expect(checkpointsVerified).toBeGreaterThan(5)
    } finally {
      await browser.close()
      cleanup()
    }
  }, 120_000)
})
