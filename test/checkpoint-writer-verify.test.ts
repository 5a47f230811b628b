/**
 * What the writer produces, checked through `Verify` with public keys: logs with checkpoints
 * (count, close, resume, rotation) and exported packs (with and without HMAC) verify with only
 * the first key trusted, and an export's `_meta.checkpoint` makes the pack's completeness
 * `signed-checkpoint`.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type * as FileSystem from "@effect/platform/FileSystem"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as Chain from "../src/Chain.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import { HMAC, type Key, layerSigner, makeKey } from "./checkpoint-writer-helpers.js"

const dir = mkdtempSync(join(tmpdir(), "acttrace-checkpoint-writer-verify-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const next = (name: string) => join(dir, `${++files}-${name}`)

const session = <A, E>(
  path: string,
  signer: Layer.Layer<Signer.Signer>,
  f: Effect.Effect<A, E, AuditLog.AuditLog | FileSystem.FileSystem>,
  every = 4
) =>
  Effect.scoped(
    Effect.flatMap(
      Layer.build(
        AuditLog.layer({ system: "verify me", riskTier: "high" }).pipe(
          Layer.provide(Store.layerFile(path)),
          Layer.provide(signer),
          Layer.provide(Redactor.layerDefault),
          Layer.provide(Chain.layerCheckpointPolicy({ every, interval: Duration.infinity })),
          Layer.provideMerge(NodeFileSystem.layer)
        )
      ),
      (context) => Effect.provide(f, context)
    )
  )

const notes = (n: number) =>
  Effect.gen(function* () {
    const log = yield* AuditLog.AuditLog
    for (let i = 0; i < n; i++) yield* log.append("note", { i })
  })

const ed25519Only = (key: Key) => Layer.effect(Signer.Signer, Signer.makeEd25519(Redacted.make(key.signerKey)).pipe(Effect.orDie))

describe("the writer's checkpoints through Verify with public keys", () => {
  it.effect("a log written over three sessions verifies with its key: every checkpoint checked, nothing unsealed after close", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(51, "alpha")
      const path = next("log.jsonl")
      for (const n of [6, 3, 9]) yield* session(path, layerSigner(a), notes(n))
      const report = yield* Verify.file(path, { key: HMAC, publicKeys: [a.verifierKey] })
      expect(report.checkpoints).toBe("verified")
      expect(report.checkpointCount).toBe(readFileSync(path, "utf8").split(`"type":"checkpoint"`).length - 1)
      expect(report.checkpointCount).toBeGreaterThanOrEqual(6)
      expect(report.unsealedTail).toBe(0)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("a log rotated from A to B verifies with only A trusted", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(52, "alpha")
      const b = yield* makeKey(53, "beta", a)
      const path = next("rotated.jsonl")
      yield* session(path, layerSigner(a), notes(5))
      yield* session(path, layerSigner(b), notes(7))
      const report = yield* Verify.file(path, { key: HMAC, publicKeys: [a.verifierKey] })
      expect(report.checkpoints).toBe("verified")
      expect(report.unsealedTail).toBe(0)
      // and B alone cannot vouch for the checkpoints signed before the rotation
      const untrusted = yield* Effect.either(Verify.file(path, { key: HMAC, publicKeys: [b.verifierKey] }))
      expect(untrusted._tag).toBe("Left")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("an exported pack (HMAC and Ed25519) is complete by its signed checkpoint; one with Ed25519 alone too", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(54, "alpha")
      for (const [label, signer, key] of [
        ["both", layerSigner(a), HMAC],
        ["ed25519", ed25519Only(a), undefined]
      ] as const) {
        const path = next(`${label}.jsonl`)
        const out = next(`${label}.pack.jsonl`)
        const exported = yield* session(path, signer, Effect.zipRight(notes(10), Effect.flatMap(AuditLog.AuditLog, (log) => log.export(out, { framework: "eu_ai_act" }))))
        expect(Option.isSome(exported.checkpoint)).toBe(true)
        const report = yield* Verify.file(out, { key, publicKeys: [a.verifierKey], requireComplete: true })
        expect(report.completeness).toBe("signed-checkpoint")
        expect(report.checkpoints).toBe("verified")
        expect(report.unsealedTail).toBe(0)
        expect(report.entries).toBe(exported.entries)
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
