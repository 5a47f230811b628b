/**
 * Ed25519 checkpoint keys as Signer layers (issue 13 item 1): `makeEd25519`, `layerEd25519`,
 * `layerEd25519Config`, the key-file readers and the default checkpoint origin.
 *
 * Keys come from fixed seeds (src/internal/note.ts `generate`), and Go's sumdb/note documentation
 * key stands for "a key another C2SP tool wrote". Files are real files in a temporary directory,
 * read through the platform FileSystem.
 */
import { createHmac } from "node:crypto"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inspect } from "node:util"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Note from "../src/internal/note.js"
import * as Signer from "../src/Signer.js"

const GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
const GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
const GO_SEED = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
const GO_TEXT = "If you think cryptography is the answer to your problem,\n" +
  "then you don't know what your problem is.\n"
const GO_NOTE = GO_TEXT + "\n" +
  "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

const seed = (byte: number) => new Uint8Array(32).fill(byte)
const pair = (name: string, byte: number) => Note.generate(name, { seed: seed(byte) })
/** The base64 key material of a signer key text (everything after the hash). */
const material = (signerKey: string) => signerKey.split("+").slice(4).join("+")

/** A temporary directory, removed when the scope closes. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "acttrace-ed25519-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** Builds `layer` with the given Config map and a real FileSystem; the Exit of the Signer service. */
const buildWith = <E>(layer: Layer.Layer<Signer.Signer, E, any>, env: Record<string, string>) =>
  Effect.exit(
    Effect.map(
      Layer.build(layer).pipe(
        Effect.provide(NodeContext.layer),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
        Effect.scoped
      ),
      (ctx) => Context.get(ctx, Signer.Signer)
    )
  )

/** The failure of an Exit (the test fails if it succeeded or died). */
const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
  return Option.getOrThrow(Cause.failureOption(exit.cause))
}

describe("layerEd25519", () => {
  it.effect("signs checkpoint notes that open under its verifier key; entry signatures stay those of the unsigned signer", () =>
    Effect.gen(function*() {
      const { signerKey, verifierKey } = yield* pair("acme.example/prod", 1)
      const s = yield* Effect.provide(Signer.Signer, Signer.layerEd25519(Redacted.make(signerKey)))
      const cp = Option.getOrThrow(s.checkpoints)
      expect(cp.alg).toBe("ed25519")
      expect(cp.name).toBe("acme.example/prod")
      expect(cp.verifierKey).toBe(verifierKey)
      expect(cp.keyId).toBe(verifierKey.split("+")[1])
      expect(cp.keyId).toMatch(/^[0-9a-f]{8}$/)
      expect(Option.isNone(cp.origin)).toBe(true)
      expect(Option.isNone(cp.previous)).toBe(true)
      const body = "acttrace/prod\n3\n" + Buffer.alloc(32, 7).toString("base64") + "\nhead " + "ab".repeat(32) + "\n"
      const note = cp.signNote(body)
      const opened = yield* Note.open(note, [yield* Note.parseVerifierKey(verifierKey)])
      expect(opened.text).toBe(body)
      expect(opened.verified.map((r) => r.keyId)).toEqual([cp.keyId])
      // another key does not vouch for it: untrusted, not tampered
      const other = yield* pair("acme.example/prod", 2)
      expect((yield* Effect.flip(Note.open(note, [yield* Note.parseVerifierKey(other.verifierKey)])))._tag).toBe("NoteUnverified")
      // entries are not HMAC-signed without an HMAC key
      expect(Option.isNone(s.identity)).toBe(true)
      expect(Option.isNone(s.key)).toBe(true)
      expect(s.sign("a".repeat(64))).toBe("")
      expect(s.verify("a".repeat(64), "")).toBe(false)
    }))

  it.effect("a key Go's sumdb/note wrote signs the published example note byte for byte", () =>
    Effect.gen(function*() {
      const s = yield* Signer.makeEd25519(Redacted.make(GO_SKEY))
      const cp = Option.getOrThrow(s.checkpoints)
      expect(cp.verifierKey).toBe(GO_VKEY)
      expect(cp.signNote(GO_TEXT)).toBe(GO_NOTE)
    }))

  it.effect("a body that cannot be a note text is refused by signNote, never signed", () =>
    Effect.gen(function*() {
      const { signerKey } = yield* pair("k", 1)
      const cp = Option.getOrThrow((yield* Signer.makeEd25519(Redacted.make(signerKey))).checkpoints)
      for (const body of ["no final newline", "a\u0000b\n", "\ud800\n"]) {
        expect(() => cp.signNote(body), JSON.stringify(body)).toThrow(/malformed signed note/)
      }
    }))

  it.effect("with an HMAC key, entry signatures are exactly those of layerHmac, and checkpoints are Ed25519", () =>
    Effect.gen(function*() {
      const { signerKey, verifierKey } = yield* pair("both", 3)
      const hmac = Redacted.make("entry-passphrase")
      const both = yield* Effect.provide(Signer.Signer, Signer.layerEd25519(Redacted.make(signerKey), { hmac }))
      const alone = yield* Effect.provide(Signer.Signer, Signer.layerHmac(hmac))
      const h = "c".repeat(64)
      expect(both.identity).toEqual(alone.identity)
      expect(Redacted.value(Option.getOrThrow(both.key))).toBe("entry-passphrase")
      expect(both.sign(h)).toBe(createHmac("sha256", "entry-passphrase").update(h).digest("hex"))
      expect(both.sign(h)).toBe(alone.sign(h))
      expect(both.signText("header")).toBe(alone.signText("header"))
      expect(both.verify(h, alone.sign(h))).toBe(true)
      expect(both.verify(h, alone.sign("d".repeat(64)))).toBe(false)
      expect(both.verifyText("header", alone.signText("header"))).toBe(true)
      expect(Option.getOrThrow(both.checkpoints).verifierKey).toBe(verifierKey)
      expect(Option.isNone(alone.checkpoints)).toBe(true)
      // a bad HMAC key is still InvalidKey
      expect((yield* Effect.flip(Signer.makeEd25519(Redacted.make(signerKey), { hmac: Redacted.make("") })))._tag).toBe("InvalidKey")
    }))

  it.effect("a previous key (rotation) is a second checkpoint signer; the same key as previous is InvalidKey", () =>
    Effect.gen(function*() {
      const now = yield* pair("acme", 4)
      const old = yield* pair("acme", 5)
      const s = yield* Signer.makeEd25519(Redacted.make(now.signerKey), { previous: Redacted.make(old.signerKey), origin: "example.com/log" })
      const cp = Option.getOrThrow(s.checkpoints)
      const prev = Option.getOrThrow(cp.previous)
      expect(cp.verifierKey).toBe(now.verifierKey)
      expect(prev.verifierKey).toBe(old.verifierKey)
      expect(prev.origin).toEqual(Option.some("example.com/log"))
      expect(Option.isNone(prev.previous)).toBe(true)
      const opened = yield* Note.open(prev.signNote("x\n"), [yield* Note.parseVerifierKey(old.verifierKey)])
      expect(opened.text).toBe("x\n")
      // the same key, and the same key material under another name
      for (const same of [now.signerKey, (yield* pair("other-name", 4)).signerKey]) {
        const e = yield* Effect.flip(Signer.makeEd25519(Redacted.make(now.signerKey), { previous: Redacted.make(same) }))
        expect(e._tag).toBe("InvalidKey")
        expect(e.message).toMatch(/previous/)
        expect(e.message).not.toContain(material(now.signerKey))
      }
      // a broken previous key is a typed error too
      expect((yield* Effect.flip(Signer.makeEd25519(Redacted.make(now.signerKey), { previous: Redacted.make(old.verifierKey) })))._tag).toBe("NoteKeyInvalid")
    }))

  it.effect("no key material is visible in the service: String, JSON and inspect show none", () =>
    Effect.gen(function*() {
      const { signerKey } = yield* pair("visible", 6)
      const old = yield* pair("visible", 7)
      const s = yield* Signer.makeEd25519(Redacted.make(signerKey), { previous: Redacted.make(old.signerKey), hmac: Redacted.make("hmac-pass") })
      const seedHex = Buffer.from(seed(6)).toString("hex")
      for (const shown of [String(s), JSON.stringify(s), inspect(s, { depth: 20, showHidden: true }), String(Option.getOrThrow(s.checkpoints)), JSON.stringify(Option.getOrThrow(s.checkpoints))]) {
        expect(shown).not.toContain(material(signerKey))
        expect(shown).not.toContain(material(old.signerKey))
        expect(shown).not.toContain(seedHex)
        expect(shown).not.toContain("PRIVATE+KEY")
        expect(shown).not.toContain("hmac-pass")
      }
    }))
})

describe("signer key texts", () => {
  it.effect("one trailing newline (LF or CRLF) is accepted, as a key file holds it", () =>
    Effect.gen(function*() {
      for (const text of [GO_SKEY, GO_SKEY + "\n", GO_SKEY + "\r\n"]) {
        const s = yield* Signer.makeEd25519(Redacted.make(text))
        expect(Option.getOrThrow(s.checkpoints).verifierKey).toBe(GO_VKEY)
      }
    }))

  it.effect("wrong, garbled and truncated keys are NoteKeyInvalid, and no reason quotes the key", () =>
    Effect.gen(function*() {
      const cases: Array<[string, RegExp]> = [
        ["", /empty/],
        ["\n", /empty/],
        ["\r\n", /empty/],
        [GO_SKEY + "\n\n", /line/],
        [GO_SKEY + "\n\r\n", /line/],
        [GO_SKEY + "\r", /line/],
        [" " + GO_SKEY, /PRIVATE\+KEY|space/],
        [GO_VKEY, /verifier \(public\) key/],
        [GO_VKEY + "\n", /verifier \(public\) key/],
        [GO_SKEY.slice(0, -4), /32 bytes/],
        [GO_SKEY.slice(0, 20), /name\+hash\+key/],
        [GO_SKEY.replace("c74f20a3", "c74f20a4"), /does not match/],
        [GO_SKEY.replace("AYEK", "AYEk"), /does not match/],
        [GO_SKEY.replace("+AYEK", "+AyEK"), /signature type/],
        // the name dropped: the key material lands where the hash should be
        ["PRIVATE+KEY+c74f20a3+" + GO_SEED, /8 hex digits|name/],
        // an HMAC passphrase given where a signer key belongs
        ["correct horse battery staple", /PRIVATE\+KEY/],
        ["PRIVATE+KEY+my secret+c74f20a3+" + GO_SEED, /key name/]
      ]
      for (const [text, reason] of cases) {
        const e = yield* Effect.flip(Signer.makeEd25519(Redacted.make(text)))
        expect(e._tag, JSON.stringify(text)).toBe("NoteKeyInvalid")
        expect(e.message, JSON.stringify(text)).toMatch(reason)
        for (const secret of [GO_SEED.slice(0, 12), GO_SEED.slice(4, 20), GO_SEED.slice(-12), "horse battery", "my secret"]) {
          expect(e.message, JSON.stringify(text)).not.toContain(secret)
          expect(String(e), JSON.stringify(text)).not.toContain(secret)
        }
      }
    }))

  it.effect("a key whose name holds a control character cannot sign a note: refused when the layer is built", () =>
    Effect.gen(function*() {
      // Go's key names allow it, but a signature line may not hold it (the note would be unsignable)
      const s = Note.generate("ctl\u0001name", { seed: seed(1) })
      const r = yield* Effect.either(s)
      if (r._tag === "Right") {
        const e = yield* Effect.flip(Signer.makeEd25519(Redacted.make(r.right.signerKey)))
        expect(e._tag).toBe("NoteKeyInvalid")
        expect(e.message).toMatch(/control character/)
      } else {
        expect(r.left._tag).toBe("NoteKeyInvalid")
      }
    }))
})

describe("checkpoint origin", () => {
  it("checkpointOrigin is acttrace/ and the URI-encoded system name", () => {
    expect(Signer.checkpointOrigin("prod")).toBe("acttrace/prod")
    expect(Signer.checkpointOrigin("my system+1")).toBe("acttrace/my%20system%2B1")
    expect(Signer.checkpointOrigin("a/b\nc")).toBe("acttrace/a%2Fb%0Ac")
    expect(Signer.checkpointOrigin("système")).toBe("acttrace/syst%C3%A8me")
  })

  it.effect.prop("the default origin of any system name is an origin the layer accepts", [fc.string({ unit: "binary", maxLength: 40 })], ([system]) =>
    Effect.gen(function*() {
      fc.pre(system.isWellFormed())
      const origin = Signer.checkpointOrigin(system)
      const s = yield* Signer.makeEd25519(Redacted.make(GO_SKEY), { origin })
      expect(Option.getOrThrow(s.checkpoints).origin).toEqual(Option.some(origin))
    }), { fastCheck: { numRuns: 40 } })

  it.effect("an origin override that cannot be a checkpoint's first line is InvalidOrigin when the layer is built", () =>
    Effect.gen(function*() {
      for (const origin of ["", "a b", "a+b", "a\nb", "a\u0001b", "a\tb", "\ud800", "a\u00a0b", "a\u0085b", "a\u2028b", "a\u007fb"]) {
        const exit = yield* Effect.exit(Layer.build(Signer.layerEd25519(Redacted.make(GO_SKEY), { origin })).pipe(Effect.scoped))
        const e = failureOf(exit)
        expect(e._tag, JSON.stringify(origin)).toBe("InvalidOrigin")
      }
      const ok = yield* Signer.makeEd25519(Redacted.make(GO_SKEY), { origin: "go.example/log@2026" })
      expect(Option.getOrThrow(ok.checkpoints).origin).toEqual(Option.some("go.example/log@2026"))
    }))
})

describe("key files", () => {
  it.scoped("readSignerKeyFile and readVerifierKeyFile read Go-format key files with one line end", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const write = (name: string, text: string | Uint8Array) => {
        writeFileSync(join(dir, name), text)
        return join(dir, name)
      }
      for (const end of ["\n", "\r\n", ""]) {
        const sk = yield* Signer.readSignerKeyFile(write(`s${end.length}.key`, GO_SKEY + end))
        expect(Redacted.value(sk)).toBe(GO_SKEY)
        expect(String(sk)).not.toContain(GO_SEED)
        expect(yield* Signer.readVerifierKeyFile(write(`v${end.length}.pub`, GO_VKEY + end))).toBe(GO_VKEY)
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("anything else is KeyFileInvalid naming the file, never quoting the key", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      mkdirSync(join(dir, "a-directory"))
      const write = (name: string, text: string | Uint8Array) => {
        writeFileSync(join(dir, name), text)
        return join(dir, name)
      }
      const signerCases: Array<[string, RegExp]> = [
        [write("empty.key", ""), /empty/],
        [write("newline.key", "\n"), /empty|no key/],
        [write("two.key", GO_SKEY + "\n\n"), /line/],
        [write("two-crlf.key", GO_SKEY + "\r\n\r\n"), /line/],
        [write("pub-as-signer.key", GO_VKEY + "\n"), /verifier \(public\) key/],
        [write("truncated.key", GO_SKEY.slice(0, -4) + "\n"), /32 bytes/],
        [write("garbled.key", GO_SKEY.replace("AYEK", "AYEk") + "\n"), /does not match/],
        [write("not-utf8.key", Buffer.concat([Buffer.from(GO_SKEY), Buffer.from([0xff, 0x0a])])), /UTF-8/],
        [write("bom.key", "\ufeff" + GO_SKEY + "\n"), /byte.order mark/],
        [write("huge.key", GO_SKEY + "\n" + "x".repeat(100_000)), /too large|line/],
        [join(dir, "missing.key"), /no such file/],
        [join(dir, "a-directory"), /directory/]
      ]
      for (const [path, reason] of signerCases) {
        const e = yield* Effect.flip(Signer.readSignerKeyFile(path))
        expect(e._tag, path).toBe("KeyFileInvalid")
        expect(e.path).toBe(path)
        expect(e.kind).toBe("signer")
        expect(e.message, path).toContain(path)
        expect(e.message, path).toMatch(reason)
        expect(e.message).not.toContain(GO_SEED.slice(0, 12))
        expect(e.message).not.toContain(GO_SEED.slice(-12))
      }
      const verifierCases: Array<[string, RegExp]> = [
        [write("empty.pub", ""), /empty/],
        [write("newline.pub", "\n"), /empty|no key/],
        [write("two.pub", GO_VKEY + "\n\n"), /line/],
        [write("signer-as-pub.pub", GO_SKEY + "\n"), /signer \(private\) key/],
        [write("truncated.pub", GO_VKEY.slice(0, -4) + "\n"), /32 bytes/],
        [write("hmac.pub", "my hmac passphrase\n"), /name/],
        [join(dir, "missing.pub"), /no such file/]
      ]
      for (const [path, reason] of verifierCases) {
        const e = yield* Effect.flip(Signer.readVerifierKeyFile(path))
        expect(e._tag, path).toBe("KeyFileInvalid")
        expect(e.kind).toBe("verifier")
        expect(e.message, path).toContain(path)
        expect(e.message, path).toMatch(reason)
        expect(e.message).not.toContain(GO_SEED.slice(0, 12))
        expect(e.message).not.toContain("hmac passphrase")
      }
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("layerEd25519Config", () => {
  it.scoped("reads the key text (ACTTRACE_SIGNING_KEY) or a key file (ACTTRACE_SIGNING_KEY_FILE), a previous key and an HMAC key", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const now = yield* pair("cfg", 10)
      const old = yield* pair("cfg", 11)
      writeFileSync(join(dir, "now.key"), now.signerKey + "\n")
      writeFileSync(join(dir, "old.key"), old.signerKey + "\n")
      const layer = Signer.layerEd25519Config()

      const fromText = Exit.getOrElse(yield* buildWith(layer, { ACTTRACE_SIGNING_KEY: now.signerKey }), () => Signer.none)
      expect(Option.getOrThrow(fromText.checkpoints).verifierKey).toBe(now.verifierKey)
      expect(Option.isNone(fromText.identity)).toBe(true)
      expect(Option.isNone(Option.getOrThrow(fromText.checkpoints).previous)).toBe(true)

      // a secret mounted into the environment with its file's newline
      const withNewline = Exit.getOrElse(yield* buildWith(layer, { ACTTRACE_SIGNING_KEY: now.signerKey + "\n" }), () => Signer.none)
      expect(Option.getOrThrow(withNewline.checkpoints).verifierKey).toBe(now.verifierKey)

      const fromFiles = yield* buildWith(layer, {
        ACTTRACE_SIGNING_KEY_FILE: join(dir, "now.key"),
        ACTTRACE_PREVIOUS_SIGNING_KEY_FILE: join(dir, "old.key"),
        ACTTRACE_KEY: "entry-pass"
      })
      expect(Exit.isSuccess(fromFiles)).toBe(true)
      const s = Exit.getOrElse(fromFiles, () => Signer.none)
      const cp = Option.getOrThrow(s.checkpoints)
      expect(cp.verifierKey).toBe(now.verifierKey)
      expect(Option.getOrThrow(cp.previous).verifierKey).toBe(old.verifierKey)
      expect(s.sign("0".repeat(64))).toBe(createHmac("sha256", "entry-pass").update("0".repeat(64)).digest("hex"))

      const prevText = Exit.getOrElse(yield* buildWith(layer, { ACTTRACE_SIGNING_KEY: now.signerKey, ACTTRACE_PREVIOUS_SIGNING_KEY: old.signerKey }), () => Signer.none)
      expect(Option.getOrThrow(Option.getOrThrow(prevText.checkpoints).previous).verifierKey).toBe(old.verifierKey)
    }))

  it.scoped("no key is MissingKey naming both variables; both at once, or a bad key, is a typed error naming where it came from", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const now = yield* pair("cfg", 12)
      writeFileSync(join(dir, "now.key"), now.signerKey + "\n")
      writeFileSync(join(dir, "now.pub"), now.verifierKey + "\n")
      const layer = Signer.layerEd25519Config()

      const missing = failureOf(yield* buildWith(layer, { ACTTRACE_KEY: "only-hmac" }))
      expect(missing._tag).toBe("MissingKey")
      expect(missing.message).toContain("ACTTRACE_SIGNING_KEY")
      expect(missing.message).toContain("ACTTRACE_SIGNING_KEY_FILE")
      expect(missing.message).toMatch(/keygen/)
      expect(missing.message).not.toMatch(/HMAC passphrase/)

      const both = failureOf(yield* buildWith(layer, { ACTTRACE_SIGNING_KEY: now.signerKey, ACTTRACE_SIGNING_KEY_FILE: join(dir, "now.key") }))
      expect(both._tag).toBe("InvalidKey")
      expect(both.message).toMatch(/ACTTRACE_SIGNING_KEY and ACTTRACE_SIGNING_KEY_FILE/)
      expect(both.message).not.toContain(material(now.signerKey))

      const bothPrev = failureOf(yield* buildWith(layer, {
        ACTTRACE_SIGNING_KEY: now.signerKey,
        ACTTRACE_PREVIOUS_SIGNING_KEY: now.signerKey,
        ACTTRACE_PREVIOUS_SIGNING_KEY_FILE: join(dir, "now.key")
      }))
      expect(bothPrev._tag).toBe("InvalidKey")

      const pubAsKey = failureOf(yield* buildWith(layer, { ACTTRACE_SIGNING_KEY_FILE: join(dir, "now.pub") }))
      expect(pubAsKey._tag).toBe("KeyFileInvalid")
      expect(pubAsKey.message).toContain(join(dir, "now.pub"))

      const badText = failureOf(yield* buildWith(layer, { ACTTRACE_SIGNING_KEY: now.verifierKey }))
      expect(badText._tag).toBe("NoteKeyInvalid")
      expect(badText.message).toContain("ACTTRACE_SIGNING_KEY")

      const badPrev = failureOf(yield* buildWith(layer, { ACTTRACE_SIGNING_KEY: now.signerKey, ACTTRACE_PREVIOUS_SIGNING_KEY: "garbage" }))
      expect(badPrev._tag).toBe("NoteKeyInvalid")
      expect(badPrev.message).toContain("ACTTRACE_PREVIOUS_SIGNING_KEY")
      expect(badPrev.message).not.toContain("garbage")

      const samePrev = failureOf(yield* buildWith(layer, { ACTTRACE_SIGNING_KEY: now.signerKey, ACTTRACE_PREVIOUS_SIGNING_KEY_FILE: join(dir, "now.key") }))
      expect(samePrev._tag).toBe("InvalidKey")

      const badHmac = failureOf(yield* buildWith(layer, { ACTTRACE_SIGNING_KEY: now.signerKey, ACTTRACE_KEY: "" }))
      expect(badHmac._tag).toBe("InvalidKey")
    }))

  it.effect("every source is a Config of the caller's choosing; a missing custom key names its own paths", () =>
    Effect.gen(function*() {
      const now = yield* pair("cfg", 13)
      const layer = Signer.layerEd25519Config({
        signingKey: Config.nested(Config.redacted("KEY"), "CHECKPOINT"),
        signingKeyFile: Config.nested(Config.string("KEY_FILE"), "CHECKPOINT"),
        hmac: Config.succeed(Option.none()),
        origin: Config.option(Config.string("ORIGIN"))
      })
      const ok = Exit.getOrElse(yield* buildWith(layer, { "CHECKPOINT.KEY": now.signerKey, ACTTRACE_KEY: "ignored", ORIGIN: "acme.example/audit" }), () => Signer.none)
      const cp = Option.getOrThrow(ok.checkpoints)
      expect(cp.verifierKey).toBe(now.verifierKey)
      expect(cp.origin).toEqual(Option.some("acme.example/audit"))
      expect(Option.isNone(ok.identity)).toBe(true)

      const missing = failureOf(yield* buildWith(layer, { ACTTRACE_SIGNING_KEY: now.signerKey }))
      expect(missing._tag).toBe("MissingKey")
      expect(missing.message).toContain("CHECKPOINT.KEY or CHECKPOINT.KEY_FILE")

      const badOrigin = failureOf(yield* buildWith(layer, { "CHECKPOINT.KEY": now.signerKey, ORIGIN: "has space" }))
      expect(badOrigin._tag).toBe("InvalidOrigin")
    }))
})
