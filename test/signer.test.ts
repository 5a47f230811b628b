import { createHmac, createHash } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeContext } from "@effect/platform-node"
import * as PlatformConfigProvider from "@effect/platform/PlatformConfigProvider"
import { describe, expect, it, layer } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Signer from "../src/Signer.js"
import { FastHmac } from "../src/internal/hmac.js"

describe("HMAC", () => {
  it.prop("FastHmac equals createHmac for any key and message", [fc.string({ minLength: 1, maxLength: 200 }), fc.hexaString({ minLength: 64, maxLength: 64 }), fc.string()], ([key, hash, text]) => {
    fc.pre(key.isWellFormed() && text.isWellFormed())
    const k = Buffer.from(key, "utf8")
    const mac = new FastHmac(k)
    expect(mac.ofHash(hash)).toBe(createHmac("sha256", k).update(hash).digest("hex"))
    expect(mac.hex(text)).toBe(createHmac("sha256", k).update(text).digest("hex"))
  })
})

describe("Signer", () => {
  layer(Signer.layerHmac(Redacted.make("conformance-passphrase")))((it) => {
    it.effect("signs, verifies and names its key", () =>
      Effect.gen(function*() {
        const s = yield* Signer.Signer
        const h = "c".repeat(64)
        const sig = s.sign(h)
        expect(sig).toBe(createHmac("sha256", "conformance-passphrase").update(h).digest("hex"))
        expect(s.verify(h, sig)).toBe(true)
        expect(s.verify(h, sig.replace(/.$/, (c) => (c === "0" ? "1" : "0")))).toBe(false)
        expect(s.verify(h, "")).toBe(false)
        expect(Option.getOrThrow(s.identity)).toEqual({
          alg: "hmac-sha256",
          keyId: createHash("sha256").update("conformance-passphrase").digest("hex").slice(0, 16)
        })
      }))
  })

  it.effect("layerNone signs nothing", () =>
    Effect.gen(function*() {
      const s = yield* Signer.Signer
      expect(s.sign("a".repeat(64))).toBe("")
      expect(Option.isNone(s.identity)).toBe(true)
    }).pipe(Effect.provide(Signer.layerNone)))

  it.effect("layerHmacConfig reads ACTTRACE_KEY through Config", () =>
    Effect.gen(function*() {
      const s = yield* Signer.Signer
      expect(s.sign("0".repeat(64))).toBe(createHmac("sha256", "from-config").update("0".repeat(64)).digest("hex"))
    }).pipe(
      Effect.provide(Signer.layerHmacConfig().pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["ACTTRACE_KEY", "from-config"]]))))))
    ))

  it.effect("a missing or empty key is a typed error", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.exit(Layer.build(Signer.layerHmacConfig()).pipe(Effect.scoped, Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))
      expect(Exit.isFailure(missing)).toBe(true)
      const empty = yield* Effect.flip(Signer.makeHmac(Redacted.make("")))
      expect(empty._tag).toBe("InvalidKey")
      const lone = yield* Effect.flip(Signer.makeHmac(Redacted.make("\ud800")))
      expect(lone._tag).toBe("InvalidKey")
      expect(String(Redacted.make("secret"))).not.toContain("secret")
    }))

  it.effect("a key holding U+FFFD (what bytes that are not UTF-8 become when decoded) is InvalidKey", () =>
    Effect.gen(function*() {
      for (const k of ["k\ufffd\ufffd", "\ufffd", "pass\ufffdword"]) {
        const e = yield* Effect.flip(Signer.makeHmac(Redacted.make(k)))
        expect(e._tag).toBe("InvalidKey")
        expect(e.message).toMatch(/^invalid signing key: the key holds U\+FFFD/)
      }
    }))

  it.effect("layerHmacConfig over key files (a Config file tree): bytes that are not UTF-8 are InvalidKey, not a lossy key", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "acttrace-signer-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const fromFiles = (bytes: Buffer) =>
        Effect.gen(function*() {
          writeFileSync(join(dir, "ACTTRACE_KEY"), bytes)
          return yield* Effect.exit(Layer.build(Signer.layerHmacConfig()).pipe(
            Effect.provide(PlatformConfigProvider.layerFileTree({ rootDirectory: dir })),
            Effect.provide(NodeContext.layer)
          ))
        })
      // the secret file of a container, with bytes that are not UTF-8 (each would read as U+FFFD)
      for (const bytes of [Buffer.from([0x6b, 0xff, 0xfe]), Buffer.from([0x6b, 0x80, 0x81])]) {
        const exit = yield* fromFiles(bytes)
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("InvalidKey")
      }
      // a UTF-8 key file signs with its text
      const ok = yield* fromFiles(Buffer.from("clé ☕\n"))
      expect(Exit.isSuccess(ok)).toBe(true)
      if (Exit.isSuccess(ok)) {
        const s = Context.get(ok.value, Signer.Signer)
        expect(s.sign("0".repeat(64))).toBe(createHmac("sha256", "clé ☕").update("0".repeat(64)).digest("hex"))
      }
    }).pipe(Effect.scoped))
})
