import { createHmac, createHash } from "node:crypto"
import { describe, expect, it, layer } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
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
})
