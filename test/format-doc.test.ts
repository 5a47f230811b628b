/**
 * docs/format.md is written for someone implementing a verifier in another language from it alone.
 * Every worked example in it (a fenced block after an `<!-- example: NAME -->` marker) is
 * recomputed here twice: with the project's own code, and with a minimal independent
 * implementation written below from the document's words (node:crypto only: its own JSON reader
 * that keeps number tokens, canonical writer, Python-repr numbers, SHA-256, HMAC, RFC 9162 leaf and
 * node hashing and proof checks, the C2SP key hash and Ed25519). A stated value that either one
 * does not reproduce fails the test, and so does an example marker with no check here (or a check
 * whose example is gone).
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, verify as edVerify } from "node:crypto"
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import * as Stream from "effect/Stream"
import * as Canonical from "../src/Canonical.js"
import * as Controls from "../src/Controls.js"
import * as Pack from "../src/Pack.js"
import * as Hash from "../src/Hash.js"
import * as Merkle from "../src/Merkle.js"
import * as Proof from "../src/Proof.js"
import * as Signer from "../src/Signer.js"
import * as Entry from "../src/Entry.js"
import * as Verify from "../src/Verify.js"
import * as Note from "../src/internal/note.js"

// ---------------------------------------------------------------------------------------------
// The document and its examples

const DOC = readFileSync(new URL("../docs/format.md", import.meta.url), "utf8")

interface Example {
  readonly lang: string
  /** the block's text, without the fence lines (no final newline) */
  readonly text: string
}

/** Every `<!-- example: NAME -->` followed by a fenced block; a marker without one is an error. */
const parseExamples = (doc: string): Map<string, Example> => {
  const markers = [...doc.matchAll(/<!-- example: ([^\s]+) -->/g)].map((m) => m[1]!)
  const blocks = new Map<string, Example>()
  for (const m of doc.matchAll(/<!-- example: ([^\s]+) -->\n```([a-z]*)\n([\s\S]*?)\n```\n/g)) {
    if (blocks.has(m[1]!)) throw new Error(`example ${m[1]} appears twice`)
    blocks.set(m[1]!, { lang: m[2]!, text: m[3]! })
  }
  for (const name of markers) if (!blocks.has(name)) throw new Error(`example marker ${name} is not followed by a fenced block`)
  if (markers.length !== blocks.size) throw new Error("an example name is used by more than one marker")
  return blocks
}

const EXAMPLES = parseExamples(DOC)

const example = (name: string): Example => {
  const e = EXAMPLES.get(name)
  if (e === undefined) throw new Error(`docs/format.md has no example ${name}`)
  return e
}

/** `name: value` lines of a text block (the value is everything after the first ": "). */
const values = (name: string): Map<string, string> => {
  const out = new Map<string, string>()
  for (const line of example(name).text.split("\n")) {
    const at = line.indexOf(": ")
    if (at < 0) throw new Error(`${name}: line without "name: value": ${line}`)
    out.set(line.slice(0, at), line.slice(at + 2))
  }
  return out
}

const value = (name: string, key: string): string => {
  const v = values(name).get(key)
  if (v === undefined) throw new Error(`${name} states no ${key}`)
  return v
}

const jsonlLines = (name: string): Array<string> => example(name).text.split("\n")

// ---------------------------------------------------------------------------------------------
// The independent implementation, from the document's words (node:crypto only)

type J =
  | null
  | boolean
  | string
  | { readonly num: string }
  | ReadonlyArray<J>
  | { readonly members: ReadonlyArray<readonly [string, J]> }

const isNum = (v: J): v is { readonly num: string } => v !== null && typeof v === "object" && "num" in v
const isObj = (v: J): v is { readonly members: ReadonlyArray<readonly [string, J]> } =>
  v !== null && typeof v === "object" && "members" in v

/** Section 1: strict JSON, number tokens kept, duplicate keys and lone surrogates refused. */
const readJson = (text: string): J => {
  let i = 0
  const fail = (why: string): never => {
    throw new Error(`${why} at ${i}`)
  }
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++
  }
  const str = (): string => {
    i++ // "
    let out = ""
    for (;;) {
      if (i >= text.length) fail("unterminated string")
      const c = text.charCodeAt(i)
      if (c === 0x22) {
        i++
        break
      }
      if (c < 0x20) fail("raw control character")
      if (c !== 0x5c) {
        out += text[i++]
        continue
      }
      const e = text[i + 1]
      i += 2
      const simple: Record<string, string> = { "\"": "\"", "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" }
      if (e !== undefined && e in simple) out += simple[e]
      else if (e === "u") {
        const hex = text.slice(i, i + 4)
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape")
        out += String.fromCharCode(parseInt(hex, 16))
        i += 4
      } else fail("bad escape")
    }
    if (!out.isWellFormed()) fail("lone surrogate")
    return out
  }
  const val = (): J => {
    ws()
    const c = text[i]
    if (c === "{") {
      i++
      const members: Array<readonly [string, J]> = []
      const seen = new Set<string>()
      ws()
      if (text[i] === "}") {
        i++
        return { members }
      }
      for (;;) {
        ws()
        if (text[i] !== "\"") fail("expected a key")
        const k = str()
        if (seen.has(k)) fail("duplicate key")
        seen.add(k)
        ws()
        if (text[i++] !== ":") fail("expected :")
        members.push([k, val()])
        ws()
        const d = text[i++]
        if (d === "}") return { members }
        if (d !== ",") fail("expected , or }")
      }
    }
    if (c === "[") {
      i++
      const items: Array<J> = []
      ws()
      if (text[i] === "]") {
        i++
        return items
      }
      for (;;) {
        items.push(val())
        ws()
        const d = text[i++]
        if (d === "]") return items
        if (d !== ",") fail("expected , or ]")
      }
    }
    if (c === "\"") return str()
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length
        return v
      }
    }
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i))
    if (m === null) return fail("not JSON")
    i += m[0].length
    return { num: m[0] }
  }
  const v = val()
  ws()
  if (i !== text.length) fail("trailing text")
  return v
}

/** Section 2, numbers: integers as written (-0 as 0), others as Python's repr of the double. */
const numberText = (token: string): string => {
  if (!/[.eE]/.test(token)) return token === "-0" ? "0" : token
  const x = Number(token)
  if (!Number.isFinite(x)) throw new Error(`${token} overflows a double`)
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0"
  // the shortest digits that read back as x, and their exponent: d1.d2…dn × 10^e
  const [mantissa, expText] = Math.abs(x).toExponential().split("e") as [string, string]
  const digits = mantissa.replace(".", "")
  const e = Number(expText)
  const sign = x < 0 ? "-" : ""
  if (e >= -4 && e < 16) {
    if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`
    const whole = digits.slice(0, e + 1).padEnd(e + 1, "0")
    const frac = digits.slice(e + 1)
    return `${sign}${whole}.${frac === "" ? "0" : frac}`
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
  return `${sign}${m}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`
}

/** Section 2, strings: the escape table, everything else raw. */
const stringText = (s: string): string => {
  let out = "\""
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    if (ch === "\"") out += "\\\""
    else if (ch === "\\") out += "\\\\"
    else if (c === 8) out += "\\b"
    else if (c === 9) out += "\\t"
    else if (c === 10) out += "\\n"
    else if (c === 12) out += "\\f"
    else if (c === 13) out += "\\r"
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, "0")}`
    else out += ch
  }
  return out + "\""
}

/** Key order: code points, compared as UTF-8 bytes. */
const byCodePoint = (a: string, b: string): number => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))

const canonical = (v: J): string => {
  if (v === null) return "null"
  if (v === true) return "true"
  if (v === false) return "false"
  if (typeof v === "string") return stringText(v)
  if (isNum(v)) return numberText(v.num)
  if (isObj(v)) {
    const members = [...v.members].sort((a, b) => byCodePoint(a[0], b[0]))
    return `{${members.map(([k, x]) => `${stringText(k)}:${canonical(x)}`).join(",")}}`
  }
  return `[${(v as ReadonlyArray<J>).map(canonical).join(",")}]`
}

const member = (v: J, key: string): J => {
  if (!isObj(v)) throw new Error("not an object")
  const m = v.members.find(([k]) => k === key)
  if (m === undefined) throw new Error(`no member ${key}`)
  return m[1]
}
const hasMember = (v: J, key: string): boolean => isObj(v) && v.members.some(([k]) => k === key)
const str = (v: J): string => {
  if (typeof v !== "string") throw new Error("not a string")
  return v
}
const obj = (members: Array<readonly [string, J]>): J => ({ members })

const sha256 = (data: string | Buffer): Buffer => createHash("sha256").update(data).digest()
const hmacHex = (key: string, message: string): string => createHmac("sha256", Buffer.from(key, "utf8")).update(message, "utf8").digest("hex")
const GENESIS = "0".repeat(64)

/** Section 3: the body of an entry and its hash. */
const bodyOf = (entry: J): string =>
  canonical(obj([["payload", member(entry, "payload")], ["seq", member(entry, "seq")], ["ts", member(entry, "ts")], ["type", member(entry, "type")]]))
const hashOf = (prevHash: string, body: string): string => sha256(prevHash + body).toString("hex")

/** Section 8. */
const leaf = (data: Buffer): Buffer => sha256(Buffer.concat([Buffer.of(0), data]))
const node = (l: Buffer, r: Buffer): Buffer => sha256(Buffer.concat([Buffer.of(1), l, r]))
const mth = (leaves: ReadonlyArray<Buffer>): Buffer => {
  if (leaves.length === 0) return sha256(Buffer.alloc(0))
  if (leaves.length === 1) return leaf(leaves[0]!)
  let k = 1
  while (k * 2 < leaves.length) k *= 2
  return node(mth(leaves.slice(0, k)), mth(leaves.slice(k)))
}
const verifyInclusion = (leafHash: Buffer, index: number, size: number, proof: ReadonlyArray<Buffer>, root: Buffer): boolean => {
  if (index >= size) return false
  let fn = index
  let sn = size - 1
  let r = leafHash
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r)
      if (fn % 2 === 0) {
        while (!(fn % 2 === 1 || fn === 0)) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else r = node(r, p)
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && r.equals(root)
}
const verifyConsistency = (first: number, second: number, root1: Buffer, root2: Buffer, proof0: ReadonlyArray<Buffer>): boolean => {
  if (first === second) return proof0.length === 0 && root1.equals(root2)
  if (first === 0 || first > second || proof0.length === 0 && first !== second) return first === 0 && proof0.length === 0
  const proof = (first & (first - 1)) === 0 ? [root1, ...proof0] : [...proof0]
  let fn = first - 1
  let sn = second - 1
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  let fr = proof[0]!
  let sr = proof[0]!
  for (const c of proof.slice(1)) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      fr = node(c, fr)
      sr = node(c, sr)
      if (fn % 2 === 0) {
        while (!(fn % 2 === 1 || fn === 0)) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else sr = node(sr, c)
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && fr.equals(root1) && sr.equals(root2)
}

/** Section 9: the key hash of a name and an Ed25519 public key. */
const keyHash = (name: string, publicKey: Buffer): string =>
  sha256(Buffer.concat([Buffer.from(name, "utf8"), Buffer.of(0x0a, 0x01), publicKey])).subarray(0, 4).toString("hex")
const ed25519Public = (raw: Buffer) =>
  createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]), format: "der", type: "spki" })

/** Section 9: a note's text and its signature lines, each signature checked under `publicKey`. */
const openNote = (note: string, name: string, publicKey: Buffer): { text: string; lines: Array<string> } => {
  const split = note.lastIndexOf("\n\n")
  expect(split).toBeGreaterThan(0)
  const text = note.slice(0, split + 1)
  const block = note.slice(split + 2)
  expect(block.endsWith("\n")).toBe(true)
  const kh = keyHash(name, publicKey)
  let verified = 0
  for (const line of block.slice(0, -1).split("\n")) {
    expect(line.startsWith("\u2014 ")).toBe(true)
    const [who, b64] = line.slice(2).split(" ") as [string, string]
    const blob = Buffer.from(b64, "base64")
    expect(blob.toString("base64")).toBe(b64)
    if (who !== name || blob.subarray(0, 4).toString("hex") !== kh) continue
    expect(blob.length).toBe(68)
    expect(edVerify(null, Buffer.from(text, "utf8"), ed25519Public(publicKey), blob.subarray(4))).toBe(true)
    verified++
  }
  expect(verified).toBeGreaterThan(0)
  return { text, lines: text.slice(0, -1).split("\n") }
}

// ---------------------------------------------------------------------------------------------
// Shared facts of the examples

const KEY = () => value("chain-values", "key")
const chainLines = () => jsonlLines("chain")
const threeLines = () => [...chainLines(), ...jsonlLines("chain-third-entry")]
const entryHashes = () => threeLines().map((l) => str(member(readJson(l), "hash")))
const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64")
const hexList = (s: string): Array<Buffer> => s.split(" ").map((h) => Buffer.from(h, "hex"))
const ok = <A, E>(e: Either.Either<A, E>): A => {
  if (Either.isLeft(e)) throw new Error(`expected success, got ${String(e.left)}`)
  return e.right
}

// ---------------------------------------------------------------------------------------------
// One check per example

const checks: Record<string, () => void | Promise<void>> = {
  "canonical-numbers": () => {
    const rows = example("canonical-numbers").text.split("\n").map((l) => l.trim().split(/\s+/) as [string, string])
    expect(rows.length).toBeGreaterThan(20)
    for (const [token, stated] of rows) {
      expect(canonical(readJson(token)), `independent: ${token}`).toBe(stated)
      expect(Buffer.from(ok(Canonical.canonicalize(token))).toString("utf8"), `project: ${token}`).toBe(stated)
      // and inside an object, where it is hashed
      expect(Buffer.from(ok(Canonical.canonicalize(`{"v": ${token}}`))).toString("utf8")).toBe(`{"v":${stated}}`)
    }
  },

  "canonical-strings": () => {
    const lines = example("canonical-strings").text.split("\n")
    expect(lines.length % 2).toBe(0)
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i]!.startsWith("in:  ") && lines[i + 1]!.startsWith("out: ")).toBe(true)
      const input = lines[i]!.slice(5)
      const stated = lines[i + 1]!.slice(5)
      expect(canonical(readJson(input)), `independent: ${input}`).toBe(stated)
      expect(Buffer.from(ok(Canonical.canonicalize(input))).toString("utf8"), `project: ${input}`).toBe(stated)
    }
  },

  chain: () => {
    const lines = chainLines()
    expect(lines).toHaveLength(2)
    // independent: every hash recomputes, every link holds, every sig is the HMAC of the hash
    let prev = GENESIS
    for (const [i, line] of lines.entries()) {
      const e = readJson(line)
      expect(numberText((member(e, "seq") as { num: string }).num)).toBe(String(i))
      expect(str(member(e, "prev_hash"))).toBe(prev)
      const h = hashOf(prev, bodyOf(e))
      expect(str(member(e, "hash"))).toBe(h)
      expect(str(member(e, "sig"))).toBe(hmacHex(KEY(), h))
      prev = h
    }
    // each line is exactly what the project's writer lays out (section 1): body first, then the rest
    const signer = Effect.runSync(Signer.makeHmac(Redacted.make(KEY())))
    let before = GENESIS
    for (const line of lines) {
      const p = ok(Canonical.parse(line)) as Record<string, Canonical.Json>
      const sealed = ok(Entry.seal({ seq: (p["seq"] as Canonical.Num).toNumber(), ts: p["ts"] as string, type: p["type"] as string, payload: p["payload"], prevHash: before }, signer.signText))
      expect(sealed.line).toBe(line)
      before = sealed.hash
    }
    // the project's verifier
    const report = ok(Verify.lines(lines, { key: Redacted.make(KEY()) }))
    expect([report.entries, report.head, report.signatures, report.completeness]).toEqual([2, prev, "verified", "none"])
  },

  "chain-values": () => {
    const v = values("chain-values")
    const key = KEY()
    expect(v.get("key_id")).toBe(sha256(Buffer.from(key, "utf8")).toString("hex").slice(0, 16))
    expect(v.get("key_id")).toBe(Signer.hmacKeyId(Redacted.make(key)))
    const signer = Effect.runSync(Signer.makeHmac(Redacted.make(key)))
    let prev = GENESIS
    for (const [i, line] of chainLines().entries()) {
      const e = readJson(line)
      const body = bodyOf(e)
      expect(v.get(`body ${i}`)).toBe(body)
      const parsed = ok(Canonical.parse(line)) as Record<string, Canonical.Json>
      expect(ok(Hash.body({ seq: i, ts: parsed["ts"] as string, type: parsed["type"] as string, payload: parsed["payload"] }))).toBe(body)
      expect(v.get(`hash ${i}`)).toBe(hashOf(prev, body))
      expect(v.get(`hash ${i}`)).toBe(Hash.chainHash(prev, body))
      expect(v.get(`sig ${i}`)).toBe(hmacHex(key, v.get(`hash ${i}`)!))
      expect(v.get(`sig ${i}`)).toBe(signer.signText(v.get(`hash ${i}`)!))
      prev = v.get(`hash ${i}`)!
    }
    expect(v.get("head")).toBe(prev)
  },

  "chain-tampered": () => {
    const tampered = jsonlLines("chain-tampered")
    const original = chainLines()
    // the same file but one token: the line differs from the original, its values do not to JSON.parse
    expect(tampered[0]).toBe(original[0])
    expect(tampered[1]).not.toBe(original[1])
    expect(JSON.parse(tampered[1]!)).toEqual(JSON.parse(original[1]!))
  },

  "chain-tampered-verdict": () => {
    const v = values("chain-tampered-verdict")
    const lines = jsonlLines("chain-tampered")
    // independent: the first line whose link holds but whose recomputed hash differs
    let prev = GENESIS
    let found: { line: number; seq: string; hash: string } | undefined
    for (const [i, line] of lines.entries()) {
      const e = readJson(line)
      const h = hashOf(prev, bodyOf(e))
      expect(str(member(e, "prev_hash"))).toBe(prev)
      if (h !== str(member(e, "hash"))) {
        found = { line: i + 1, seq: numberText((member(e, "seq") as { num: string }).num), hash: h }
        break
      }
      prev = h
    }
    expect(found).toEqual({ line: Number(v.get("line")), seq: v.get("seq"), hash: v.get("recomputed hash 1") })
    // the project's verifier, with and without the key
    for (const options of [{ key: Redacted.make(KEY()) }, {}]) {
      const r = Verify.lines(lines, options)
      expect(Either.isLeft(r)).toBe(true)
      const e = (r as Either.Left<Verify.VerifyError, Verify.Report>).left
      expect([e._tag, e.line, e.seq]).toEqual([v.get("result"), Number(v.get("line")), Number(v.get("seq"))])
    }
  },

  pack: async () => {
    const lines = jsonlLines("pack")
    const key = KEY()
    const meta = member(readJson(lines[0]!), "_meta")
    const rows = lines.slice(1).map(readJson)
    // the rows are the chain's entries (plus controls)
    let prev = GENESIS
    for (const row of rows) {
      const h = hashOf(prev, bodyOf(row))
      expect(str(member(row, "hash"))).toBe(h)
      expect(str(member(row, "sig"))).toBe(hmacHex(key, h))
      prev = h
    }
    // the completeness claim, the header signature, the seal
    expect(str(member(meta, "head_hash"))).toBe(prev)
    expect(canonical(member(meta, "entries"))).toBe(String(rows.length))
    const signed = canonical(obj([["entries", member(meta, "entries")], ["head_hash", member(meta, "head_hash")], ["risk_tier", member(meta, "risk_tier")], ["system", member(meta, "system")]]))
    expect(str(member(meta, "sig"))).toBe(hmacHex(key, signed))
    const rest = obj((meta as { members: ReadonlyArray<readonly [string, J]> }).members.filter(([k]) => k !== "sig" && k !== "seal" && k !== "checkpoint"))
    const rowsText = rows.map((r) => (hasMember(r, "controls") ? canonical(member(r, "controls")) : "null") + "\n").join("")
    const digest = sha256(Buffer.concat([Buffer.from(`acttrace-seal/1\n${canonical(rest)}\n`, "utf8"), sha256(rowsText)])).toString("hex")
    const seal = member(meta, "seal")
    expect(str(member(seal, "digest"))).toBe(digest)
    expect(str(member(seal, "sig"))).toBe(hmacHex(key, digest))
    expect(str(member(seal, "alg"))).toBe("hmac-sha256")
    expect(str(member(seal, "key_id"))).toBe(sha256(Buffer.from(key, "utf8")).toString("hex").slice(0, 16))
    // the project's verifier: intact, signed header; an edit of the summary breaks the seal
    const report = ok(Verify.lines(lines, { key: Redacted.make(key) }))
    expect([report.entries, report.head, report.signatures, report.completeness]).toEqual([2, prev, "verified", "signed-header"])
    // each row's controls are the mapping's (docs/controls.md) for its type
    for (const row of JSON.parse(`[${lines.slice(1).join(",")}]`) as Array<{ type: string; payload: unknown; controls: unknown }>) {
      expect(row.controls).toEqual(Controls.forRow("eu_ai_act", row.type, row.payload))
    }
    const edited = [lines[0]!.replace("\"decisions\":1", "\"decisions\":2"), ...lines.slice(1)]
    for (const options of [{ key: Redacted.make(key) }, {}]) {
      const r = Verify.lines(edited, options)
      expect(Either.isLeft(r) && [r.left._tag, r.left.line]).toEqual(["HeaderInvalid", 1])
    }
    // byte for byte what the project's export writes from the chain example (as the text says)
    expect(DOC).toContain("`acttrace export chain.jsonl --out pack.jsonl --framework eu_ai_act --key-file demo.key`")
    const dir = mkdtempSync(join(tmpdir(), "acttrace-format-doc-"))
    try {
      const signer = Effect.runSync(Signer.makeHmac(Redacted.make(key)))
      const bytes = Effect.succeed(Stream.succeed(Buffer.from(chainLines().join("\n") + "\n", "utf8")))
      const out = join(dir, "pack.jsonl")
      await Effect.runPromise(Pack.write(bytes, "chain.jsonl", out, { framework: "eu_ai_act", signer }).pipe(Effect.provide(NodeFileSystem.layer)))
      expect(readFileSync(out, "utf8")).toBe(lines.join("\n") + "\n")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  },

  "pack-values": () => {
    const v = values("pack-values")
    const key = v.get("key")!
    expect(key).toBe(KEY())
    const lines = jsonlLines("pack")
    const meta = member(readJson(lines[0]!), "_meta")
    const signer = Effect.runSync(Signer.makeHmac(Redacted.make(key)))
    const signed = canonical(obj([["entries", member(meta, "entries")], ["head_hash", member(meta, "head_hash")], ["risk_tier", member(meta, "risk_tier")], ["system", member(meta, "system")]]))
    expect(v.get("sig message")).toBe(signed)
    expect(v.get("sig")).toBe(hmacHex(key, signed))
    expect(v.get("sig")).toBe(signer.signText(signed))
    expect(v.get("sig")).toBe(str(member(meta, "sig")))
    const rest = obj((meta as { members: ReadonlyArray<readonly [string, J]> }).members.filter(([k]) => k !== "sig" && k !== "seal" && k !== "checkpoint"))
    expect(v.get("canonical meta'")).toBe(canonical(rest))
    const projectMeta = { ...(JSON.parse(lines[0]!) as { _meta: Record<string, unknown> })._meta }
    delete projectMeta["sig"]
    delete projectMeta["seal"]
    expect(v.get("canonical meta'")).toBe(ok(Canonical.encode(projectMeta)))
    const rows = lines.slice(1).map(readJson)
    rows.forEach((r, i) => expect(v.get(`rows line ${i + 1}`)).toBe(canonical(member(r, "controls"))))
    const rowsText = rows.map((r) => canonical(member(r, "controls")) + "\n").join("")
    expect(v.get("rows_hash")).toBe(sha256(rowsText).toString("hex"))
    const digest = sha256(Buffer.concat([Buffer.from(`acttrace-seal/1\n${v.get("canonical meta'")}\n`, "utf8"), sha256(rowsText)])).toString("hex")
    expect(v.get("digest")).toBe(digest)
    expect(v.get("digest")).toBe(Hash.sealDigest(v.get("canonical meta'")!, sha256(rowsText)))
    expect(v.get("seal sig")).toBe(hmacHex(key, digest))
    expect(v.get("seal sig")).toBe(signer.signText(digest))
  },

  "chain-third-entry": () => {
    const lines = threeLines()
    const third = readJson(lines[2]!)
    const prev = str(member(readJson(lines[1]!), "hash"))
    expect(str(member(third, "prev_hash"))).toBe(prev)
    const h = hashOf(prev, bodyOf(third))
    expect(str(member(third, "hash"))).toBe(h)
    expect(str(member(third, "sig"))).toBe(hmacHex(KEY(), h))
    const report = ok(Verify.lines(lines, { key: Redacted.make(KEY()) }))
    expect([report.entries, report.head]).toEqual([3, h])
  },

  merkle: () => {
    const v = values("merkle")
    const hashes = entryHashes()
    const data = hashes.map((h) => Buffer.from(h, "hex"))
    data.forEach((d, i) => {
      expect(v.get(`leaf data ${i}`)).toBe(hashes[i])
      expect(v.get(`leaf hash ${i}`)).toBe(leaf(d).toString("hex"))
      expect(v.get(`leaf hash ${i}`)).toBe(Buffer.from(Merkle.leafHash(d)).toString("hex"))
    })
    for (const n of [2, 3]) {
      const root = mth(data.slice(0, n))
      expect(v.get(`root of ${n}`)).toBe(root.toString("hex"))
      expect(v.get(`root of ${n} base64`)).toBe(b64(root))
      expect(v.get(`root of ${n}`)).toBe(Buffer.from(Merkle.root(data.slice(0, n))).toString("hex"))
    }
    const root3 = Buffer.from(v.get("root of 3")!, "hex")
    const root2 = Buffer.from(v.get("root of 2")!, "hex")
    for (const i of [1, 2]) {
      const proof = hexList(v.get(`inclusion of leaf ${i} in 3`)!)
      expect(proof.map((p) => p.toString("hex"))).toEqual(Merkle.inclusionProof(data, i).map((p) => Buffer.from(p).toString("hex")))
      expect(verifyInclusion(leaf(data[i]!), i, 3, proof, root3)).toBe(true)
      expect(Merkle.verifyInclusion(leaf(data[i]!), i, 3, proof, root3)).toBe(true)
      // at another index it does not verify
      expect(verifyInclusion(leaf(data[i]!), i - 1, 3, proof, root3)).toBe(false)
    }
    const consistency = hexList(v.get("consistency from 2 to 3")!)
    expect(consistency.map((p) => p.toString("hex"))).toEqual(Merkle.consistencyProof(data, 2).map((p) => Buffer.from(p).toString("hex")))
    expect(verifyConsistency(2, 3, root2, root3, consistency)).toBe(true)
    expect(Merkle.verifyConsistency(2, 3, root2, root3, consistency)).toBe(true)
    expect(verifyConsistency(2, 3, root3, root3, consistency)).toBe(false)
  },

  "ed25519-key": () => {
    const v = values("ed25519-key")
    const seed = Buffer.from(v.get("seed")!, "hex")
    expect(seed.equals(sha256("acttrace docs/format.md test key"))).toBe(true)
    // independent: the public key of the seed, the key hash, both key texts
    const priv = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" })
    const pub = (createPublicKey(priv).export({ format: "der", type: "spki" }) as Buffer).subarray(12)
    expect(v.get("public key")).toBe(pub.toString("hex"))
    const name = v.get("verifier key")!.split("+")[0]!
    expect(v.get("key hash")).toBe(keyHash(name, pub))
    expect(v.get("verifier key")).toBe(`${name}+${keyHash(name, pub)}+${b64(Buffer.concat([Buffer.of(1), pub]))}`)
    expect(v.get("signer key")).toBe(`PRIVATE+KEY+${name}+${keyHash(name, pub)}+${b64(Buffer.concat([Buffer.of(1), seed]))}`)
    // the project's key generation from the same seed
    const keys = Effect.runSync(Note.generate(name, { seed }))
    expect([keys.signerKey, keys.verifierKey]).toEqual([v.get("signer key"), v.get("verifier key")])
    expect(Effect.runSync(Note.parseVerifierKey(v.get("verifier key")!)).keyId).toBe(v.get("key hash"))
  },

  "checkpoint-note": () => {
    const note = example("checkpoint-note").text + "\n"
    const key = values("ed25519-key")
    const pub = Buffer.from(key.get("public key")!, "hex")
    const name = key.get("verifier key")!.split("+")[0]!
    // independent: the signature over the text, and the body describes the three-entry tree
    const { lines } = openNote(note, name, pub)
    const hashes = entryHashes()
    expect(lines).toEqual(["acttrace/loan-triage", "3", b64(mth(hashes.map((h) => Buffer.from(h, "hex")))), `head ${hashes[2]}`])
    // the project: the note opens under the key, its body parses to the same tree
    const verifier = Effect.runSync(Note.parseVerifierKey(key.get("verifier key")!))
    const opened = ok(Note.openSync(note, [verifier]))
    expect(opened.verified.map((r) => `${r.name}+${r.keyId}`)).toEqual([`${name}+${key.get("key hash")}`])
    const body = ok(Note.parseCheckpointSync(opened.text))
    expect([body.origin, body.size, b64(body.root), body.extensions]).toEqual(["acttrace/loan-triage", 3, values("merkle").get("root of 3 base64"), [`head ${hashes[2]}`]])
    // Ed25519 is deterministic: the project's signer makes the very same note
    const signer = Effect.runSync(Note.parseSignerKey(key.get("signer key")!))
    expect(Effect.runSync(Note.sign(opened.text, [signer]))).toBe(note)
    // a changed text is tampering, not an unknown key
    const altered = ok(Either.flip(Note.openSync(note.replace("\n3\n", "\n4\n"), [verifier])))
    expect(altered._tag).toBe("NoteSignatureInvalid")
  },

  "pack-checkpoint": async () => {
    const lines = jsonlLines("pack-checkpoint")
    const key = values("ed25519-key")
    const pub = Buffer.from(key.get("public key")!, "hex")
    const name = key.get("verifier key")!.split("+")[0]!
    // independent: the rows are the three-entry log, the note covers them, the header and the rows
    expect(lines.slice(1)).toEqual(threeLines())
    const meta = member(readJson(lines[0]!), "_meta")
    expect(hasMember(meta, "sig") || hasMember(meta, "seal")).toBe(false)
    const note = openNote(str(member(meta, "checkpoint")), name, pub).lines
    const hashes = entryHashes()
    const rest = obj((meta as { members: ReadonlyArray<readonly [string, J]> }).members.filter(([k]) => k !== "sig" && k !== "seal" && k !== "checkpoint"))
    const rows = lines.slice(1).map(readJson).map((r) => (hasMember(r, "controls") ? canonical(member(r, "controls")) : "null") + "\n").join("")
    const digest = sha256(Buffer.concat([Buffer.from(`acttrace-seal/1\n${canonical(rest)}\n`, "utf8"), sha256(rows)])).toString("hex")
    expect(note).toEqual([`acttrace/${encodeURIComponent(str(member(meta, "system")))}`, "3", b64(mth(hashes.map((h) => Buffer.from(h, "hex")))), `head ${hashes[2]}`, `pack ${digest}`])
    expect([str(member(meta, "head_hash")), canonical(member(meta, "entries"))]).toEqual([hashes[2], "3"])
    // the project: the export writes these bytes, and the public key alone verifies them
    const dir = mkdtempSync(join(tmpdir(), "acttrace-format-doc-"))
    try {
      const signer = Effect.runSync(Signer.makeEd25519(Redacted.make(key.get("signer key")!)))
      const out = join(dir, "pack.jsonl")
      const bytes = Effect.succeed(Stream.succeed(Buffer.from(threeLines().join("\n") + "\n", "utf8")))
      await Effect.runPromise(Pack.write(bytes, "log.jsonl", out, { framework: null, signer }).pipe(Effect.provide(NodeFileSystem.layer)))
      expect(readFileSync(out, "utf8")).toBe(lines.join("\n") + "\n")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    const report = ok(Verify.lines(lines, { publicKeys: [key.get("verifier key")!] }))
    expect([report.entries, report.completeness, report.signatures, report.checkpoints]).toEqual([3, "signed-checkpoint", "not-checked", "verified"])
    const edited = [lines[0]!.replace("\"decisions\":1", "\"decisions\":2"), ...lines.slice(1)]
    expect(Either.isLeft(Verify.lines(edited, { publicKeys: [key.get("verifier key")!] }))).toBe(true)
  },

  "pack-checkpoint-values": () => {
    const v = values("pack-checkpoint-values")
    const lines = jsonlLines("pack-checkpoint")
    const meta = member(readJson(lines[0]!), "_meta")
    const rest = obj((meta as { members: ReadonlyArray<readonly [string, J]> }).members.filter(([k]) => k !== "checkpoint"))
    expect(v.get("canonical meta'")).toBe(canonical(rest))
    const projectMeta = { ...(JSON.parse(lines[0]!) as { _meta: Record<string, unknown> })._meta }
    delete projectMeta["checkpoint"]
    expect(v.get("canonical meta'")).toBe(ok(Canonical.encode(projectMeta)))
    const rows = "null\n".repeat(lines.length - 1)
    expect(v.get("rows_hash")).toBe(sha256(rows).toString("hex"))
    expect(v.get("digest")).toBe(sha256(Buffer.concat([Buffer.from(`acttrace-seal/1\n${canonical(rest)}\n`, "utf8"), sha256(rows)])).toString("hex"))
    expect(v.get("digest")).toBe(Hash.sealDigest(v.get("canonical meta'")!, sha256(rows)))
    expect(str(member(meta, "checkpoint"))).toContain(`\npack ${v.get("digest")}\n\n`)
  },

  "proof-file": async () => {
    const text = example("proof-file").text + "\n"
    const key = values("ed25519-key")
    const pub = Buffer.from(key.get("public key")!, "hex")
    const name = key.get("verifier key")!.split("+")[0]!
    // independent
    const doc = readJson(text)
    expect(str(member(doc, "format"))).toBe("acttrace-proof/1")
    const { lines } = openNote(str(member(doc, "checkpoint")), name, pub)
    const size = Number(lines[1])
    expect(canonical(member(doc, "size"))).toBe(String(size))
    const root = Buffer.from(lines[2]!, "base64")
    const entries = member(doc, "entries") as ReadonlyArray<J>
    expect(entries).toHaveLength(1)
    for (const item of entries) {
      const entry = member(item, "entry")
      const hash = hashOf(str(member(entry, "prev_hash")), bodyOf(entry))
      expect(str(member(entry, "hash"))).toBe(hash)
      const seq = Number(numberText((member(entry, "seq") as { num: string }).num))
      const proof = (member(item, "proof") as ReadonlyArray<J>).map((p) => Buffer.from(str(p), "base64"))
      expect(verifyInclusion(leaf(Buffer.from(hash, "hex")), seq, size, proof, root)).toBe(true)
      // the entry is the chain's entry 1, every member but controls (none in a log)
      expect(canonical(entry)).toBe(canonical(readJson(chainLines()[seq]!)))
    }
    // the project
    const proven = await Effect.runPromise(Proof.verifyProof(text, { publicKeys: [key.get("verifier key")!], origin: "acttrace/loan-triage" }))
    expect([proven.size, proven.entries.map((e) => e.seq), proven.signers]).toEqual([3, [1], [`${name}+${key.get("key hash")}`]])
  },

  "consistency-file": async () => {
    const text = example("consistency-file").text + "\n"
    const key = values("ed25519-key")
    const pub = Buffer.from(key.get("public key")!, "hex")
    const name = key.get("verifier key")!.split("+")[0]!
    // independent
    const doc = readJson(text)
    expect(str(member(doc, "format"))).toBe("acttrace-consistency/1")
    const old = openNote(str(member(doc, "old")), name, pub).lines
    const neu = openNote(str(member(doc, "new")), name, pub).lines
    expect(old[0]).toBe(neu[0])
    const hashes = entryHashes()
    const data = hashes.map((h) => Buffer.from(h, "hex"))
    expect(old.slice(1)).toEqual(["2", b64(mth(data.slice(0, 2))), `head ${hashes[1]}`])
    expect(neu).toEqual(example("checkpoint-note").text.split("\n").slice(0, 4))
    const proof = (member(doc, "proof") as ReadonlyArray<J>).map((p) => Buffer.from(str(p), "base64"))
    expect(verifyConsistency(2, 3, Buffer.from(old[2]!, "base64"), Buffer.from(neu[2]!, "base64"), proof)).toBe(true)
    // the project
    const checked = await Effect.runPromise(Proof.verifyConsistencyDocument(text, { publicKeys: [key.get("verifier key")!] }))
    expect([checked.old.size, checked.new.size]).toEqual([2, 3])
  }
}

describe("docs/format.md", () => {
  it("every example marker has a check here, and every check an example", () => {
    expect([...EXAMPLES.keys()].sort()).toEqual(Object.keys(checks).sort())
  })

  it("the FORMAT anchor value it quotes", () => {
    const body = "{\"payload\":{\"risk_tier\":\"limited\",\"system\":\"s\"},\"seq\":0,\"ts\":\"2026-07-05T12:00:00+00:00\",\"type\":\"audit_open\"}"
    expect(DOC).toContain(body)
    const stated = "9b7e886733b448dc9d47173807292346e88ee308deccad81ccbbb32b03d1dda0"
    expect(DOC).toContain(stated)
    expect(hashOf(GENESIS, canonical(readJson(body)))).toBe(stated)
    expect(Hash.chainHash(GENESIS, body)).toBe(stated)
  })

  it("names every error the verifier and the proof checks can report, in its results and exit code tables", () => {
    const tagsOf = (module: object) =>
      Object.values(module).flatMap((v) => (typeof v === "function" && v.prototype instanceof Error && typeof (v as { _tag?: unknown })._tag === "string" ? [(v as unknown as { _tag: string })._tag] : []))
    const verify = tagsOf(Verify)
    expect(verify.length).toBeGreaterThanOrEqual(12)
    const results = DOC.slice(DOC.indexOf("## 11."), DOC.indexOf("## 12."))
    for (const tag of verify) expect(results, tag).toContain(`| \`${tag}\` |`)
    const exits = DOC.slice(DOC.indexOf("## 12."))
    expect(tagsOf(Proof).length).toBeGreaterThanOrEqual(8)
    for (const tag of new Set([...tagsOf(Proof).filter((t) => !verify.includes(t))])) {
      expect(exits, tag).toContain(`\`${tag}\``)
    }
  })

  for (const name of Object.keys(checks)) {
    it(`example ${name}`, async () => {
      await checks[name]!()
    })
  }
})

describe("the independent implementation is not a copy of the project's", () => {
  // the helpers above must find what the document says is wrong, or agreeing proves little
  it("refuses what section 1 refuses", () => {
    for (const bad of ["{\"a\":1,\"a\":2}", "{\"a\":\"\\ud800\"}", "{\"a\":NaN}", "{\"a\":\"x\ny\"}", "[1,]", "[1e400]"]) {
      expect(() => canonical(readJson(bad)), bad).toThrow()
      // and so does the project
      expect(Either.isLeft(Canonical.canonicalize(bad)), bad).toBe(true)
    }
  })

  it("is sensitive to every rule of section 2", () => {
    // UTF-16 order would put the emoji first
    expect(canonical(readJson("{\"\\ud83d\\ude00\":1,\"\\uff5e\":2}"))).toBe("{\"～\":2,\"😀\":1}")
    expect(["😀", "～"].sort()).toEqual(["😀", "～"])
    expect(canonical(readJson("[1000.0,1e-05,18446744073709551616,-0,-0.0]"))).toBe("[1000.0,1e-05,18446744073709551616,0,-0.0]")
    expect(JSON.stringify(JSON.parse("[1000.0,1e-05,18446744073709551616]"))).toBe("[1000,0.00001,18446744073709552000]")
  })
})
