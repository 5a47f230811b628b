// Keys given in each other's place: the Ed25519 signing key is never taken for an HMAC passphrase
// (every HMAC verifier would hold it), nor for a verifier key; each mix-up is a typed error that
// never quotes the key.
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Chain from "../src/Chain.js"
import * as Note from "../src/internal/note.js"
import * as Signer from "../src/Signer.js"
import * as Verify from "../src/Verify.js"
import * as F from "../src/internal/fixtures.js"

const keys = Effect.runSync(Note.generate("mixup"))
const secretPart = keys.signerKey.split("+").slice(4).join("+")

describe("key mix-ups", () => {
  it.effect("an Ed25519 signing key is refused as an HMAC passphrase (makeHmac, layerEd25519's hmac)", () =>
    Effect.gen(function*() {
      for (const text of [keys.signerKey, keys.signerKey + "\n"]) {
        const e = yield* Effect.flip(Signer.makeHmac(Redacted.make(text)))
        expect(e._tag).toBe("InvalidKey")
        expect(e.message).toMatch(/Ed25519 signing key/)
        expect(e.message).not.toContain(secretPart)
      }
      const other = Effect.runSync(Note.generate("other"))
      const both = yield* Effect.flip(Signer.makeEd25519(Redacted.make(other.signerKey), { hmac: Redacted.make(keys.signerKey) }))
      expect(both._tag).toBe("InvalidKey")
      expect(both.message).not.toContain(secretPart)
    }))

  it("a signing key given as a public key is PublicKeyInvalid saying so, never quoting it", () => {
    const c = F.chain(F.mixed(3), {})
    const r = Effect.runSync(Effect.either(Verify.lines(c.lines, { publicKeys: [keys.signerKey] })))
    expect(Either.isLeft(r)).toBe(true)
    if (Either.isLeft(r)) {
      expect(r.left._tag).toBe("PublicKeyInvalid")
      expect(r.left.message).toMatch(/signer \(private\) key/)
      expect(r.left.message).not.toContain(secretPart)
    }
  })

  it("LogMismatch says what the log was written with and what it is being opened with", () => {
    const e = new Chain.LogMismatch({ store: "audit.jsonl", field: "checkpoint key", expected: "new+00000001", found: "old+00000002" })
    expect(e.message).toBe("audit.jsonl was written with checkpoint key old+00000002, but is being opened with new+00000001")
  })
})
