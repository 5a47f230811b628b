/**
 * Key rotation on open (design-13 "audit_open and key_rotation"): a log is resumed only with its
 * current checkpoint key, or with a new key whose `previous` is that key; the rotation is a
 * `key_rotation` entry and, right after it, a checkpoint signed with the previous key that covers
 * it. Anything else is `LogMismatch` on the field "checkpoint key", and nothing is written.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as AuditLog from "../src/AuditLog.js"
import * as Chain from "../src/Chain.js"
import * as Redactor from "../src/Redactor.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import { checkCheckpoints, HMAC, type Key, layerSigner, makeKey, type Row } from "./checkpoint-writer-helpers.js"

const dir = mkdtempSync(join(tmpdir(), "acttrace-rotation-writer-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let logs = 0
const ORIGIN = "acttrace/rotation"

/** Open the log at `path` with the checkpoint key, append `n` notes, close it. */
const session = (path: string, key: Key | undefined, n: number, every = 4, system = "rotation") =>
  Effect.scoped(
    Effect.flatMap(
      Layer.build(
        AuditLog.layer({ system, riskTier: null }).pipe(
          Layer.provide(Store.layerFile(path)),
          Layer.provide(layerSigner(key)),
          Layer.provide(Redactor.layerNoop),
          Layer.provide(Chain.layerCheckpointPolicy({ every, interval: Duration.infinity })),
          Layer.provide(NodeFileSystem.layer)
        )
      ),
      (context) =>
        Effect.gen(function* () {
          const log = yield* AuditLog.AuditLog
          for (let i = 0; i < n; i++) yield* log.append("note", { i })
        }).pipe(Effect.provide(context))
    )
  )

const rowsAt = (path: string): Array<Row> =>
  readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Row)

const verifies = (path: string) =>
  expect(Either.isRight(Verify.lines(readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0), { key: HMAC }))).toBe(true)

const newLog = () => join(dir, `log-${++logs}.jsonl`)

describe("checkpoint key rotation on open", () => {
  it.effect("A then B (previous A): key_rotation, a checkpoint signed by A covering it, later checkpoints by B", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(11, "alpha")
      const b = yield* makeKey(12, "beta", a)
      const path = newLog()
      yield* session(path, a, 5)
      const before = rowsAt(path).length
      yield* session(path, b, 6)
      const rows = rowsAt(path)
      const rotation = rows[before]!
      expect(rotation.type).toBe("key_rotation")
      expect(rotation.payload).toEqual({ alg: "ed25519", key: b.verifierKey, previous: a.verifierKey })
      const confirm = rows[before + 1]!
      expect(confirm.type).toBe("checkpoint")
      expect(confirm.payload["size"]).toBe(rotation.seq + 1)
      // every checkpoint up to and including the confirming one is A's; the rest B's
      const checked = checkCheckpoints(rows, (seq) => (seq <= confirm.seq ? a : b), ORIGIN)
      expect(checked.filter((c) => c.seq <= confirm.seq).every((c) => c.signedBy === "alpha")).toBe(true)
      const later = checked.filter((c) => c.seq > confirm.seq)
      expect(later.length).toBeGreaterThanOrEqual(2)
      expect(later.every((c) => c.signedBy === "beta")).toBe(true)
      // opened again with B: no second rotation
      const count = rowsAt(path).filter((r) => r.type === "key_rotation").length
      yield* session(path, b, 1)
      expect(rowsAt(path).filter((r) => r.type === "key_rotation").length).toBe(count)
      checkCheckpoints(rowsAt(path), (seq) => (seq <= confirm.seq ? a : b), ORIGIN)
      verifies(path)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("a key that is neither the log's nor a rotation from it is LogMismatch (checkpoint key), and nothing is written", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(21, "alpha")
      const b = yield* makeKey(22, "beta", a)
      const c = yield* makeKey(23, "gamma")
      const d = yield* makeKey(24, "delta", b)
      const path = newLog()
      yield* session(path, a, 3)
      const bytes = readFileSync(path)
      for (const wrong of [c, d]) {
        const exit = yield* Effect.exit(session(path, wrong, 1))
        expect(Exit.isFailure(exit)).toBe(true)
        const error = Exit.isFailure(exit) ? exit.cause : undefined
        expect(String(error)).toContain("LogMismatch")
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
          const e = exit.cause.error as Chain.LogMismatch
          expect(e._tag).toBe("LogMismatch")
          expect(e.field).toBe("checkpoint key")
          expect(e.found).toBe(a.verifierKey)
          expect(e.expected).toBe(wrong.verifierKey)
        } else expect.unreachable(`not a plain failure: ${String(error)}`)
        expect(readFileSync(path).equals(bytes)).toBe(true)
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("opening a log that has a checkpoint key without one is LogMismatch", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(31, "alpha")
      const path = newLog()
      yield* session(path, a, 2)
      const bytes = readFileSync(path)
      const exit = yield* Effect.exit(session(path, undefined, 1))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined).toEqual(
        new Chain.LogMismatch({ store: path, field: "checkpoint key", expected: "none", found: a.verifierKey })
      )
      expect(readFileSync(path).equals(bytes)).toBe(true)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("a log without a checkpoint key given one: key_rotation with previous null, then checkpoints by the new key", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(41, "alpha")
      const path = newLog()
      yield* session(path, undefined, 3)
      const before = rowsAt(path)
      expect(before.some((r) => r.type === "checkpoint")).toBe(false)
      yield* session(path, a, 5)
      const rows = rowsAt(path)
      expect(rows[before.length]!.type).toBe("key_rotation")
      expect(rows[before.length]!.payload).toEqual({ alg: "ed25519", key: a.verifierKey, previous: null })
      const checked = checkCheckpoints(rows, () => a, ORIGIN)
      expect(checked.length).toBeGreaterThanOrEqual(1)
      expect(checked.every((c) => c.signedBy === "alpha")).toBe(true)
      // and from then on the log's key is A: reopening with A adds no rotation
      yield* session(path, a, 1)
      expect(rowsAt(path).filter((r) => r.type === "key_rotation").length).toBe(1)
      verifies(path)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("a log of another system is refused before anything is written, rotation included", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(61, "alpha")
      const b = yield* makeKey(62, "beta", a)
      const path = newLog()
      yield* session(path, a, 2)
      const bytes = readFileSync(path)
      const exit = yield* Effect.exit(session(path, b, 1, 4, "another system"))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined).toEqual(
        new Chain.LogMismatch({ store: path, field: "system", expected: "another system", found: "rotation" })
      )
      expect(readFileSync(path).equals(bytes)).toBe(true)
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
