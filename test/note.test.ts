/**
 * C2SP signed notes and tlog-checkpoint bodies (src/internal/note.ts, issue 13 items 1 and 3).
 *
 * The anchor is the example of Go's golang.org/x/mod/sumdb/note package documentation (the
 * reference implementation of c2sp.org/signed-note): its key pair, its signed note, and the
 * doubly signed note with the EnochRoot key of Go's note_test.go. Ed25519 is deterministic, so
 * signing the example text with the example signer key must give the published note byte for byte.
 * Every other key comes from a fixed seed.
 */
import { createHash } from "node:crypto"
import { inspect } from "node:util"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Note from "../src/internal/note.js"

const GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
const GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
const ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
const GO_TEXT = "If you think cryptography is the answer to your problem,\n" +
  "then you don't know what your problem is.\n"
const PETER_LINE = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
const ENOCH_LINE = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
const GO_NOTE = GO_TEXT + "\n" + PETER_LINE
const GO_NOTE_TWO = GO_NOTE + ENOCH_LINE

const seed = (byte: number) => new Uint8Array(32).fill(byte)

/** A signer and verifier generated from a fixed seed. */
const keyPair = (name: string, byte: number) =>
  Effect.gen(function*() {
    const { signerKey, verifierKey } = yield* Note.generate(name, { seed: seed(byte) })
    return { signer: yield* Note.parseSignerKey(signerKey), verifier: yield* Note.parseVerifierKey(verifierKey), signerKey, verifierKey }
  })

/** Replaces the first occurrence of `from` in `s`, failing the test if there is none. */
const replaceOnce = (s: string, from: string, to: string): string => {
  expect(s.includes(from)).toBe(true)
  return s.replace(from, to)
}

describe("signed note: the Go sumdb/note documentation example", () => {
  it.effect("the example verifier key parses, and its hash is SHA-256(name || \\n || 0x01 || key)[:4]", () =>
    Effect.gen(function*() {
      const v = yield* Note.parseVerifierKey(GO_VKEY)
      expect(v.name).toBe("PeterNeumann")
      expect(v.keyId).toBe("c74f20a3")
      expect(v.keyHash).toBe(0xc74f20a3)
      expect(v.text).toBe(GO_VKEY)
      const expected = createHash("sha256")
        .update(Buffer.concat([Buffer.from("PeterNeumann\n"), Buffer.of(0x01), Buffer.from(v.publicKey)]))
        .digest("hex")
        .slice(0, 8)
      expect(expected).toBe("c74f20a3")
    }))

  it.effect("the example signer key derives the example verifier key", () =>
    Effect.gen(function*() {
      const s = yield* Note.parseSignerKey(GO_SKEY)
      expect(s.name).toBe("PeterNeumann")
      expect(s.keyId).toBe("c74f20a3")
      expect(s.verifier.text).toBe(GO_VKEY)
    }))

  it.effect("signing the example text with the example key gives the published note byte for byte", () =>
    Effect.gen(function*() {
      const s = yield* Note.parseSignerKey(GO_SKEY)
      expect(yield* Note.sign(GO_TEXT, [s])).toBe(GO_NOTE)
    }))

  it.effect("the published note opens under the example verifier key", () =>
    Effect.gen(function*() {
      const opened = yield* Note.open(GO_NOTE, [yield* Note.parseVerifierKey(GO_VKEY)])
      expect(opened.text).toBe(GO_TEXT)
      expect(opened.verified).toEqual([{ name: "PeterNeumann", keyHash: 0xc74f20a3, keyId: "c74f20a3" }])
      expect(opened.unknown).toEqual([])
    }))

  it.effect("the doubly signed example opens with both keys; with one trusted, the other is reported unknown", () =>
    Effect.gen(function*() {
      const peter = yield* Note.parseVerifierKey(GO_VKEY)
      const enoch = yield* Note.parseVerifierKey(ENOCH_VKEY)
      const both = yield* Note.open(GO_NOTE_TWO, [peter, enoch])
      expect(both.verified.map((r) => `${r.name}+${r.keyId}`)).toEqual(["PeterNeumann+c74f20a3", "EnochRoot+af0cfe78"])
      const one = yield* Note.open(GO_NOTE_TWO, [peter])
      expect(one.verified.map((r) => r.name)).toEqual(["PeterNeumann"])
      expect(one.unknown).toEqual([{ name: "EnochRoot", keyHash: 0xaf0cfe78, keyId: "af0cfe78" }])
    }))
})

describe("signed note: generated keys", () => {
  it.effect("a fixed seed gives the same key texts, in Go's formats, and they parse back", () =>
    Effect.gen(function*() {
      const a = yield* Note.generate("example.com/log", { seed: seed(7) })
      const b = yield* Note.generate("example.com/log", { seed: seed(7) })
      expect(a).toEqual(b)
      expect(a.verifierKey).toMatch(/^example\.com\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/)
      expect(a.signerKey).toMatch(/^PRIVATE\+KEY\+example\.com\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/)
      // the seed is the key material after the type byte 0x01
      expect(Buffer.from(a.signerKey.split("+").slice(4).join("+"), "base64")).toEqual(Buffer.concat([Buffer.of(1), Buffer.from(seed(7))]))
      const s = yield* Note.parseSignerKey(a.signerKey)
      const v = yield* Note.parseVerifierKey(a.verifierKey)
      expect(s.verifier.text).toBe(a.verifierKey)
      expect(v.keyId).toBe(a.verifierKey.split("+")[1])
      // a different seed is a different key
      const c = yield* Note.generate("example.com/log", { seed: seed(8) })
      expect(c.verifierKey).not.toBe(a.verifierKey)
    }))

  it.effect("a generated key without a seed round-trips too", () =>
    Effect.gen(function*() {
      const { signerKey, verifierKey } = yield* Note.generate("acttrace.example/fresh")
      const s = yield* Note.parseSignerKey(signerKey)
      const note = yield* Note.sign("fresh\n", [s])
      const opened = yield* Note.open(note, [yield* Note.parseVerifierKey(verifierKey)])
      expect(opened.text).toBe("fresh\n")
    }))

  it.effect("sign then open round-trips texts with blank lines, non-ASCII and two signers", () =>
    Effect.gen(function*() {
      const a = yield* keyPair("a.example/log", 1)
      const b = yield* keyPair("b.example/witness", 2)
      for (const text of ["one line\n", "\n", "para one\n\npara two\n", "Ognuno sta solo — ed è subito sera. 🌅\n", "ends with blank\n\n"]) {
        const note = yield* Note.sign(text, [a.signer, b.signer])
        const opened = yield* Note.open(note, [a.verifier, b.verifier])
        expect(opened.text).toBe(text)
        expect(opened.verified.map((r) => r.name)).toEqual(["a.example/log", "b.example/witness"])
      }
    }))

  it.effect.prop("any signable text round-trips", [fc.string({ unit: "grapheme", maxLength: 200 })], ([body]) =>
    Effect.gen(function*() {
      const text = body.replace(/[\u0000-\u0009\u000b-\u001f]/g, "") + "\n"
      const { signer, verifier } = yield* keyPair("prop.example/log", 3)
      const opened = yield* Note.open(yield* Note.sign(text, [signer]), [verifier])
      expect(opened.text).toBe(text)
    }), { fastCheck: { seed: 1313, numRuns: 200 } })

  it.effect("the seed is not reachable from a parsed signer (inspect, JSON)", () =>
    Effect.gen(function*() {
      const { signer, signerKey } = yield* keyPair("secret.example/log", 9)
      const seed64 = signerKey.split("+").slice(4).join("+")
      const seedHex = Buffer.from(seed(9)).toString("hex")
      for (const shown of [inspect(signer, { depth: 10, showHidden: true }), JSON.stringify(signer)]) {
        expect(shown).not.toContain(seed64)
        expect(shown).not.toContain(seedHex)
      }
    }))
})

describe("signed note: rejections", () => {
  it.effect("an altered text is tampering (NoteSignatureInvalid), never unknown", () =>
    Effect.gen(function*() {
      const peter = yield* Note.parseVerifierKey(GO_VKEY)
      for (const altered of [
        replaceOnce(GO_NOTE, "problem,", "problem;"),
        replaceOnce(GO_NOTE, "If you", "If  you"),
        "x" + GO_NOTE,
        replaceOnce(GO_NOTE, "is.\n", "is.\n\n") // a blank line added to the end of the text
      ]) {
        const e = yield* Effect.flip(Note.open(altered, [peter]))
        expect(e._tag).toBe("NoteSignatureInvalid")
        expect(e.message).toContain("PeterNeumann+c74f20a3")
      }
    }))

  it.effect("a flipped bit in the signature is tampering", () =>
    Effect.gen(function*() {
      const peter = yield* Note.parseVerifierKey(GO_VKEY)
      const blob = Buffer.from("x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=", "base64")
      for (const at of [4, 20, 67]) {
        const bad = Buffer.from(blob)
        bad[at] = bad[at]! ^ 1
        const note = GO_TEXT + "\n— PeterNeumann " + bad.toString("base64") + "\n"
        expect((yield* Effect.flip(Note.open(note, [peter])))._tag).toBe("NoteSignatureInvalid")
      }
    }))

  it.effect("an extra signature line: malformed, forged under a trusted key, or from an unknown key", () =>
    Effect.gen(function*() {
      const peter = yield* Note.parseVerifierKey(GO_VKEY)
      const other = yield* keyPair("PeterNeumann", 4)
      // not a signature line at all
      for (const extra of ["hello\n", "- PeterNeumann x08go/ZJku\n", "—PeterNeumann AAAAAAA=\n", "— PeterNeumann\n", "— Peter Neumann AAAAAAA=\n", "— PeterNeumann AAAA\n", "— PeterNeumann AAAAAAA\n", "\n"]) {
        const e = yield* Effect.flip(Note.open(GO_NOTE + extra, [peter]))
        expect(e._tag, JSON.stringify(extra)).toBe("NoteMalformed")
      }
      // a second line under the trusted key whose signature is over another text: forged
      const elsewhere = yield* Note.sign("another text\n", [yield* Note.parseSignerKey(GO_SKEY)])
      const forged = elsewhere.slice(elsewhere.indexOf("— "))
      expect((yield* Effect.flip(Note.open(GO_NOTE + forged, [peter])))._tag).toBe("NoteSignatureInvalid")
      // the same signature line twice verifies, and the key is listed once
      const twice = yield* Note.open(GO_NOTE + PETER_LINE, [peter])
      expect(twice.verified).toHaveLength(1)
      // a line from a key the caller does not know (same name, other key and hash) is ignored, and reported
      const fromOther = yield* Note.sign(GO_TEXT, [other.signer])
      const opened = yield* Note.open(GO_NOTE + fromOther.slice(fromOther.indexOf("— ")), [peter])
      expect(opened.verified.map((r) => r.keyId)).toEqual(["c74f20a3"])
      expect(opened.unknown.map((r) => `${r.name}+${r.keyId}`)).toEqual([`PeterNeumann+${other.verifier.keyId}`])
    }))

  it.effect("a missing signature line: none left is malformed; one of two gone is visible in `verified`", () =>
    Effect.gen(function*() {
      const peter = yield* Note.parseVerifierKey(GO_VKEY)
      const enoch = yield* Note.parseVerifierKey(ENOCH_VKEY)
      for (const cut of [GO_TEXT + "\n", GO_TEXT, GO_NOTE.slice(0, -1), ""]) {
        expect((yield* Effect.flip(Note.open(cut, [peter])))._tag, JSON.stringify(cut.slice(-20))).toBe("NoteMalformed")
      }
      const onlyPeter = yield* Note.open(GO_TEXT + "\n" + PETER_LINE, [peter, enoch])
      expect(onlyPeter.verified.map((r) => r.name)).toEqual(["PeterNeumann"])
      const onlyEnoch = yield* Note.open(GO_TEXT + "\n" + ENOCH_LINE, [peter, enoch])
      expect(onlyEnoch.verified.map((r) => r.name)).toEqual(["EnochRoot"])
      // with only the missing key trusted, the note is untrusted
      expect((yield* Effect.flip(Note.open(GO_TEXT + "\n" + ENOCH_LINE, [peter])))._tag).toBe("NoteUnverified")
    }))

  it.effect("a signature whose key hash does not match the trusted key is not accepted (untrusted, named)", () =>
    Effect.gen(function*() {
      const peter = yield* Note.parseVerifierKey(GO_VKEY)
      const blob = Buffer.from("x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=", "base64")
      blob[3] = blob[3]! ^ 1
      const note = GO_TEXT + "\n— PeterNeumann " + blob.toString("base64") + "\n"
      const e = yield* Effect.flip(Note.open(note, [peter]))
      expect(e._tag).toBe("NoteUnverified")
      if (e._tag === "NoteUnverified") expect(e.signers).toEqual(["PeterNeumann+c74f20a2"])
      // the right hash under another name is another key too
      const renamed = replaceOnce(GO_NOTE, "— PeterNeumann", "— PeterNeuman")
      const r = yield* Effect.flip(Note.open(renamed, [peter]))
      expect(r._tag).toBe("NoteUnverified")
      expect(r.message).toContain("PeterNeuman+c74f20a3")
    }))

  it.effect("a signature from an unknown key is reported as unknown, not invalid", () =>
    Effect.gen(function*() {
      const stranger = yield* keyPair("stranger.example/log", 5)
      const peter = yield* Note.parseVerifierKey(GO_VKEY)
      const note = yield* Note.sign(GO_TEXT, [stranger.signer])
      const e = yield* Effect.flip(Note.open(note, [peter]))
      expect(e._tag).toBe("NoteUnverified")
      if (e._tag === "NoteUnverified") expect(e.signers).toEqual([`stranger.example/log+${stranger.verifier.keyId}`])
      // no trusted keys at all: the same
      expect((yield* Effect.flip(Note.open(GO_NOTE, [])))._tag).toBe("NoteUnverified")
      // an unknown signature over an altered text is still only unknown: it cannot be checked
      const altered = replaceOnce(note, "problem,", "problem;")
      expect((yield* Effect.flip(Note.open(altered, [peter])))._tag).toBe("NoteUnverified")
    }))

  it.effect("notes with control characters, CR line ends or lone surrogates are malformed", () =>
    Effect.gen(function*() {
      const peter = yield* Note.parseVerifierKey(GO_VKEY)
      for (const bad of [GO_NOTE.replace(/\n/g, "\r\n"), "\t" + GO_NOTE, GO_NOTE.replace("If", "If\u0000"), "\ud800" + GO_NOTE]) {
        expect((yield* Effect.flip(Note.open(bad, [peter])))._tag).toBe("NoteMalformed")
      }
    }))

  it.effect("more than 100 signature lines are refused before any is checked", () =>
    Effect.gen(function*() {
      const peter = yield* Note.parseVerifierKey(GO_VKEY)
      expect((yield* Note.open(GO_NOTE + PETER_LINE.repeat(99), [peter])).verified).toHaveLength(1)
      expect((yield* Effect.flip(Note.open(GO_NOTE + PETER_LINE.repeat(100), [peter])))._tag).toBe("NoteMalformed")
    }))

  it.effect("two trusted keys with the same name and hash are refused as ambiguous", () =>
    Effect.gen(function*() {
      const peter = yield* Note.parseVerifierKey(GO_VKEY)
      const clash: Note.Verifier = { ...peter, publicKey: new Uint8Array(32) }
      const e = yield* Effect.flip(Note.open(GO_NOTE, [peter, clash]))
      expect(e._tag).toBe("NoteKeyInvalid")
      // the same key twice is fine
      expect((yield* Note.open(GO_NOTE, [peter, peter])).verified).toHaveLength(1)
    }))

  it.effect("sign refuses a text without a final newline, with control characters, or without signers", () =>
    Effect.gen(function*() {
      const s = yield* Note.parseSignerKey(GO_SKEY)
      for (const text of ["no newline", "", "tab\there\n", "cr\r\n"]) {
        expect((yield* Effect.flip(Note.sign(text, [s])))._tag).toBe("NoteMalformed")
      }
      expect((yield* Effect.flip(Note.sign(GO_TEXT, [])))._tag).toBe("NoteMalformed")
    }))
})

describe("signed note: key texts", () => {
  it.effect("malformed verifier keys are NoteKeyInvalid with a reason", () =>
    Effect.gen(function*() {
      const cases: Array<[string, RegExp]> = [
        ["", /name\+hash\+key/],
        ["PeterNeumann", /name\+hash\+key/],
        ["PeterNeumann+c74f20a3", /name\+hash\+key/],
        ["+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /key name/],
        ["Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /key name/],
        ["PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /8 hex digits/],
        ["PeterNeumann+c74f20g3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /8 hex digits/],
        ["PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /does not match/],
        ["PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX", /does not match|base64/],
        ["PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", /base64/],
        [GO_VKEY + "\n", /base64/],
        [GO_VKEY + "=", /base64/],
        ["PeterNeumann+c74f20a3+Alpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /signature type 0x02/],
        ["PeterNeumann+c74f20a3+" + Buffer.concat([Buffer.of(1), Buffer.alloc(31)]).toString("base64"), /32 bytes/],
        ["PeterNeumann+c74f20a3+" + Buffer.concat([Buffer.of(1), Buffer.alloc(64)]).toString("base64"), /32 bytes/],
        ["PeterNeumann+c74f20a3+", /signature type/],
        [GO_SKEY, /key name|8 hex digits/]
      ]
      for (const [text, reason] of cases) {
        const e = yield* Effect.flip(Note.parseVerifierKey(text))
        expect(e._tag, text).toBe("NoteKeyInvalid")
        expect(e.kind).toBe("verifier")
        expect(e.reason, text).toMatch(reason)
      }
    }))

  it.effect("every deletion of a substring of the example verifier key is refused (as Go's TestNewVerifier)", () =>
    Effect.gen(function*() {
      for (let i = 0; i < GO_VKEY.length; i++) {
        for (let j = i + 1; j <= GO_VKEY.length; j++) {
          const mangled = GO_VKEY.slice(0, i) + GO_VKEY.slice(j)
          const r = yield* Effect.either(Note.parseVerifierKey(mangled))
          expect(r._tag, mangled).toBe("Left")
        }
      }
    }))

  it.effect("malformed signer keys are NoteKeyInvalid, and their reasons never quote the key", () =>
    Effect.gen(function*() {
      const seedPart = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
      const cases: Array<[string, RegExp]> = [
        [GO_VKEY, /PRIVATE\+KEY/],
        ["PRIVATE+KEY+PeterNeumann+c74f20a4+" + seedPart, /does not match/],
        ["PRIVATE+KEY+EnochRoot+c74f20a3+" + seedPart, /does not match/],
        ["PRIVATE+KEY+PeterNeumann+c74f20a3+" + seedPart.slice(0, -4), /32 bytes/],
        ["PRIVATE+KEY+PeterNeumann+c74f20a3+" + seedPart + "\n", /base64/],
        ["PRIVATE+KEY+PeterNeumann+c74f20a3+Ag" + seedPart.slice(2), /signature type 0x02/],
        ["private+key+PeterNeumann+c74f20a3+" + seedPart, /PRIVATE\+KEY/],
        ["PRIVATE+KEY+PeterNeumann", /name\+hash\+key/]
      ]
      for (const [text, reason] of cases) {
        const e = yield* Effect.flip(Note.parseSignerKey(text))
        expect(e._tag, text).toBe("NoteKeyInvalid")
        expect(e.reason, text).toMatch(reason)
        expect(e.message).not.toContain(seedPart.slice(4, 20))
      }
    }))

  it.effect("generate refuses invalid names and seeds of the wrong length", () =>
    Effect.gen(function*() {
      for (const name of ["", "a b", "a+b", "tab\t", "nbsp\u00a0", "nel\u0085", "line\u2028"]) {
        expect((yield* Effect.flip(Note.generate(name, { seed: seed(1) })))._tag, JSON.stringify(name)).toBe("NoteKeyInvalid")
      }
      expect((yield* Effect.flip(Note.generate("ok", { seed: new Uint8Array(31) })))._tag).toBe("NoteKeyInvalid")
      expect(Note.isValidName("example.com/log42")).toBe(true)
      expect(Note.isValidName("Ünïcødé—ok")).toBe(true)
    }))
})

describe("checkpoint body (C2SP tlog-checkpoint)", () => {
  const root = new Uint8Array(32).map((_, i) => i * 7)

  it.effect("the tlog-checkpoint specification's example body parses", () =>
    Effect.gen(function*() {
      const cp = yield* Note.parseCheckpoint("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
      expect(cp.origin).toBe("example.com/behind-the-sofa")
      expect(cp.size).toBe(20852163)
      expect(Buffer.from(cp.root).toString("base64")).toBe("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
      expect(cp.extensions).toEqual([])
    }))

  it.effect("format writes origin, decimal size, base64 root and extension lines, each ending in a newline", () =>
    Effect.gen(function*() {
      const text = yield* Note.formatCheckpoint({ origin: "acttrace.example/log", size: 1000, root, extensions: ["head " + "ab".repeat(32)] })
      expect(text).toBe(`acttrace.example/log\n1000\n${Buffer.from(root).toString("base64")}\nhead ${"ab".repeat(32)}\n`)
      expect(yield* Note.parseCheckpoint(text)).toEqual({ origin: "acttrace.example/log", size: 1000, root, extensions: ["head " + "ab".repeat(32)] })
      expect(yield* Note.formatCheckpoint({ origin: "o", size: 0, root, extensions: [] })).toBe(`o\n0\n${Buffer.from(root).toString("base64")}\n`)
    }))

  it.effect.prop(
    "format then parse is the identity",
    [
      fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/[\u0000-\u001f]/.test(s) && s.isWellFormed()),
      fc.maxSafeNat(),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.array(fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !/[\u0000-\u001f]/.test(s) && s.isWellFormed()), { maxLength: 3 })
    ],
    ([origin, size, rootBytes, extensions]) =>
      Effect.gen(function*() {
        const cp = { origin, size, root: rootBytes, extensions }
        const parsed = yield* Note.parseCheckpoint(yield* Note.formatCheckpoint(cp))
        expect(parsed.origin).toBe(origin)
        expect(parsed.size).toBe(size)
        expect(Buffer.from(parsed.root)).toEqual(Buffer.from(rootBytes))
        expect(parsed.extensions).toEqual(extensions)
      }),
    { fastCheck: { seed: 1313, numRuns: 300 } }
  )

  it.effect("parse refuses every deviation from the strict form", () =>
    Effect.gen(function*() {
      const r64 = Buffer.from(root).toString("base64")
      const cases: Array<[string, RegExp]> = [
        [`o\n1\n${r64}`, /newline/],
        [`o\n1\n${r64}\n\n`, /extension line 1 is empty/],
        [`o\n1\n${r64}\next\n\n`, /extension line 2 is empty/],
        [`o\n1\n`, /line/],
        [``, /newline/],
        [`\n1\n${r64}\n`, /origin is empty/],
        [`o\n01\n${r64}\n`, /leading zeros/],
        [`o\n00\n${r64}\n`, /leading zeros/],
        [`o\n+1\n${r64}\n`, /leading zeros/],
        [`o\n-1\n${r64}\n`, /leading zeros/],
        [`o\n1.0\n${r64}\n`, /leading zeros/],
        [`o\n 1\n${r64}\n`, /leading zeros/],
        [`o\n1e3\n${r64}\n`, /leading zeros/],
        [`o\n\n${r64}\n`, /leading zeros/],
        [`o\n9007199254740992\n${r64}\n`, /2\^53-1/],
        [`o\n1\n${Buffer.alloc(31).toString("base64")}\n`, /31 bytes/],
        [`o\n1\n${Buffer.alloc(33).toString("base64")}\n`, /33 bytes/],
        [`o\n1\n${r64.slice(0, -1)}\n`, /base64/],
        [`o\n1\n${r64.replace(/=$/, "")}\n`, /base64/],
        [`o\n1\n${Buffer.from(root).toString("base64url")}\n`, /base64/],
        [`o\r\n1\n${r64}\n`, /control character/],
        [`o\n1\n${r64}\r\n`, /base64/],
        [`o\n1\n${r64}\nex\u0001t\n`, /control character/]
      ]
      for (const [text, reason] of cases) {
        const e = yield* Effect.flip(Note.parseCheckpoint(text))
        expect(e._tag, JSON.stringify(text)).toBe("CheckpointInvalid")
        expect(e.reason, JSON.stringify(text)).toMatch(reason)
      }
      // the largest exact size is accepted
      expect((yield* Note.parseCheckpoint(`o\n9007199254740991\n${r64}\n`)).size).toBe(Number.MAX_SAFE_INTEGER)
    }))

  it.effect("format refuses values that cannot be written as a checkpoint", () =>
    Effect.gen(function*() {
      const ok = { origin: "o", size: 1, root, extensions: [] as Array<string> }
      for (const bad of [
        { ...ok, origin: "" },
        { ...ok, origin: "a\nb" },
        { ...ok, size: -1 },
        { ...ok, size: 1.5 },
        { ...ok, size: Number.NaN },
        { ...ok, size: 2 ** 53 },
        { ...ok, root: new Uint8Array(31) },
        { ...ok, extensions: [""] },
        { ...ok, extensions: ["a\nb"] },
        { ...ok, extensions: ["tab\t"] }
      ]) {
        expect((yield* Effect.flip(Note.formatCheckpoint(bad)))._tag).toBe("CheckpointInvalid")
      }
    }))

  it.effect("a signed checkpoint opens under its key and its body parses back", () =>
    Effect.gen(function*() {
      const { signer, verifier } = yield* keyPair("acttrace.example/log", 11)
      const cp = { origin: "acttrace.example/log", size: 12, root, extensions: ["head " + "cd".repeat(32)] }
      const note = yield* Note.sign(yield* Note.formatCheckpoint(cp), [signer])
      const opened = yield* Note.open(note, [verifier])
      expect(yield* Note.parseCheckpoint(opened.text)).toEqual(cp)
      // a size changed after signing is tampering
      const truncated = replaceOnce(note, "\n12\n", "\n11\n")
      expect((yield* Effect.flip(Note.open(truncated, [verifier])))._tag).toBe("NoteSignatureInvalid")
    }))
})
