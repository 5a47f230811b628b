/**
 * `keygen` (src/internal/keygen.ts, issue 13 item 1): a new Ed25519 key pair written as the C2SP
 * signed-note key files Go's sumdb/note writes, the private one mode 0600 and never overwritten.
 *
 * The files are read back two ways: by our own readers, and by a check written here from the
 * signed-note specification alone with node:crypto (what another C2SP tool does with them).
 */
import { createHash, createPrivateKey, createPublicKey, sign as edSign, verify as edVerify } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { keygen } from "../src/internal/keygen.js"
import * as Note from "../src/internal/note.js"
import * as Signer from "../src/Signer.js"

/** A temporary directory, removed when the scope closes. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "acttrace-keygen-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const mode = (path: string) => statSync(path).mode & 0o777

/** Runs `f` with the process umask set to `mask`, restoring it after. */
const withUmask = <A, E, R>(mask: number, f: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(Effect.sync(() => process.umask(mask)), () => f, (old) => Effect.sync(() => process.umask(old)))

/**
 * A key pair read as the signed-note spec describes it, with no code of ours: the verifier key's
 * hash is SHA-256(name || "\n" || 0x01 || public key)[:4], and the signer key's seed derives that
 * public key; a signature by the seed verifies under the public key.
 */
const specCheck = (signerText: string, verifierText: string) => {
  expect(signerText.startsWith("PRIVATE+KEY+")).toBe(true)
  const [sName, sHash, ...sRest] = signerText.slice("PRIVATE+KEY+".length).split("+")
  const [vName, vHash, ...vRest] = verifierText.split("+")
  const vKey = Buffer.from(vRest.join("+"), "base64")
  const seedBytes = Buffer.from(sRest.join("+"), "base64")
  expect(sName).toBe(vName)
  expect(sHash).toBe(vHash)
  expect(vKey[0]).toBe(0x01)
  expect(seedBytes[0]).toBe(0x01)
  expect(vKey.length).toBe(33)
  expect(seedBytes.length).toBe(33)
  const hash = createHash("sha256").update(Buffer.concat([Buffer.from(vName + "\n"), vKey])).digest("hex").slice(0, 8)
  expect(vHash).toBe(hash)
  const priv = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seedBytes.subarray(1)]), format: "der", type: "pkcs8" })
  const pub = createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), vKey.subarray(1)]), format: "der", type: "spki" })
  const msg = Buffer.from("hello\n")
  expect(edVerify(null, msg, pub, edSign(null, msg, priv))).toBe(true)
}

describe("keygen", () => {
  it.scoped("writes NAME.key (0600) and NAME.pub (0644) in Go's formats, each with one newline; other C2SP readers read them", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const out = yield* keygen({ out: dir })
      expect(out.signerKeyPath).toBe(join(dir, "acttrace.key"))
      expect(out.verifierKeyPath).toBe(join(dir, "acttrace.pub"))
      const signerText = readFileSync(out.signerKeyPath, "utf8")
      const verifierText = readFileSync(out.verifierKeyPath, "utf8")
      expect(signerText).toMatch(/^PRIVATE\+KEY\+acttrace\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/)
      expect(verifierText).toMatch(/^acttrace\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/)
      expect(verifierText).toBe(out.verifierKey + "\n")
      expect(mode(out.signerKeyPath)).toBe(0o600)
      expect(mode(out.verifierKeyPath)).toBe(0o644)
      // read back by the spec alone, and by ours
      specCheck(signerText.slice(0, -1), verifierText.slice(0, -1))
      const signer = yield* Note.parseSignerKey(signerText.slice(0, -1))
      expect(signer.verifier.text).toBe(out.verifierKey)
      const s = yield* Signer.makeEd25519(yield* Signer.readSignerKeyFile(out.signerKeyPath))
      const note = Option.getOrThrow(s.checkpoints).signNote("acttrace/x\n0\n" + Buffer.alloc(32).toString("base64") + "\n")
      const opened = yield* Note.open(note, [yield* Note.parseVerifierKey(yield* Signer.readVerifierKeyFile(out.verifierKeyPath))])
      expect(opened.verified.map((r) => r.name)).toEqual(["acttrace"])
      // what keygen returns holds nothing of the private key
      const seed64 = signerText.slice(0, -1).split("+").slice(4).join("+")
      const shown = JSON.stringify(out) + String(out)
      expect(shown).not.toContain(seed64)
      expect(shown).not.toContain("PRIVATE")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("the modes are exact whatever the umask (0 and 077)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const open = yield* withUmask(0o000, keygen({ out: dir, name: "open-umask" }))
      expect(mode(open.signerKeyPath)).toBe(0o600)
      expect(mode(open.verifierKeyPath)).toBe(0o644)
      const tight = yield* withUmask(0o077, keygen({ out: dir, name: "tight-umask" }))
      expect(mode(tight.signerKeyPath)).toBe(0o600)
      expect(mode(tight.verifierKeyPath)).toBe(0o644)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("--name names the key and its files; two runs give two different keys", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const a = yield* keygen({ out: dir, name: "acme-prod-2026" })
      expect(a.signerKeyPath).toBe(join(dir, "acme-prod-2026.key"))
      expect(a.verifierKey).toMatch(/^acme-prod-2026\+[0-9a-f]{8}\+/)
      const b = yield* keygen({ out: dir, name: "acme-prod-2027" })
      expect(b.verifierKey.split("+")[2]).not.toBe(a.verifierKey.split("+")[2])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("an existing key file is never overwritten: KeygenError, and the file is unchanged", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const first = yield* keygen({ out: dir })
      const before = readFileSync(first.signerKeyPath, "utf8")
      const beforePub = readFileSync(first.verifierKeyPath, "utf8")
      const e = yield* Effect.flip(keygen({ out: dir }))
      expect(e._tag).toBe("KeygenError")
      expect(e.message).toContain(first.signerKeyPath)
      expect(e.message).toMatch(/exists/)
      expect(readFileSync(first.signerKeyPath, "utf8")).toBe(before)
      expect(readFileSync(first.verifierKeyPath, "utf8")).toBe(beforePub)
      expect(mode(first.signerKeyPath)).toBe(0o600)

      // only the .pub there: refused, and no .key is left behind
      writeFileSync(join(dir, "lonely.pub"), "someone else's key\n")
      const pubOnly = yield* Effect.flip(keygen({ out: dir, name: "lonely" }))
      expect(pubOnly._tag).toBe("KeygenError")
      expect(pubOnly.message).toContain(join(dir, "lonely.pub"))
      expect(existsSync(join(dir, "lonely.key"))).toBe(false)
      expect(readFileSync(join(dir, "lonely.pub"), "utf8")).toBe("someone else's key\n")

      // a symbolic link where the key would go (to a file, or to nowhere) is not followed
      writeFileSync(join(dir, "target"), "precious\n")
      symlinkSync(join(dir, "target"), join(dir, "linked.key"))
      symlinkSync(join(dir, "nowhere"), join(dir, "dangling.key"))
      expect((yield* Effect.flip(keygen({ out: dir, name: "linked" })))._tag).toBe("KeygenError")
      expect((yield* Effect.flip(keygen({ out: dir, name: "dangling" })))._tag).toBe("KeygenError")
      expect(readFileSync(join(dir, "target"), "utf8")).toBe("precious\n")
      expect(existsSync(join(dir, "nowhere"))).toBe(false)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a missing directory, a file as --out, or an unwritable directory is KeygenError; a bad name is NoteKeyInvalid; nothing is written", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const missing = yield* Effect.flip(keygen({ out: join(dir, "nope") }))
      expect(missing._tag).toBe("KeygenError")
      expect(missing.message).toContain(join(dir, "nope"))
      expect(missing.message).toMatch(/does not exist/)
      writeFileSync(join(dir, "file"), "")
      const file = yield* Effect.flip(keygen({ out: join(dir, "file") }))
      expect(file._tag).toBe("KeygenError")
      expect(file.message).toMatch(/not a directory/)
      for (const name of ["", "a b", "a+b", "a/b", "a\\b", "ctl\u0001", "\ud800", "nl\n"]) {
        const e = yield* Effect.flip(keygen({ out: dir, name }))
        expect(e._tag, JSON.stringify(name)).toBe("NoteKeyInvalid")
      }
      if (process.getuid?.() !== 0) {
        mkdirSync(join(dir, "ro"))
        chmodSync(join(dir, "ro"), 0o500)
        const ro = yield* Effect.flip(keygen({ out: join(dir, "ro") }))
        expect(ro._tag).toBe("KeygenError")
        expect(ro.message).toMatch(/permission denied/)
        chmodSync(join(dir, "ro"), 0o700)
        expect(existsSync(join(dir, "ro", "acttrace.key"))).toBe(false)
      }
      expect(existsSync(join(dir, "acttrace.key"))).toBe(false)
    }).pipe(Effect.provide(NodeContext.layer)))
})
