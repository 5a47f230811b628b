/**
 * A hostile review of the public-key evidence the writer produces (issue 13): a careless user and
 * an adversary try to make the log, its checkpoints and its packs say something false. Each test
 * holds one guarantee; the writer side refuses what only the library may write, keeps a rotation
 * confirmable across a crash, and keeps a log's checkpoint origin fixed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type * as FileSystem from "@effect/platform/FileSystem"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as AuditLog from "../src/AuditLog.js"
import * as Chain from "../src/Chain.js"
import * as Entry from "../src/Entry.js"
import * as Pack from "../src/Pack.js"
import * as merkle from "../src/internal/merkle.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import { HMAC, type Key, layerSigner, makeKey, openChain, type Row } from "./checkpoint-writer-helpers.js"

const dir = mkdtempSync(join(tmpdir(), "acttrace-attack-checkpoints-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const next = (name: string) => join(dir, `${++files}-${name}`)

type Work<A, E> = Effect.Effect<A, E, AuditLog.AuditLog | Chain.Chain | FileSystem.FileSystem>

/** Open the log at `path` as `system` with `signer`, run `f`, close it. */
const session = <A, E>(path: string, signer: Layer.Layer<Signer.Signer>, f: Work<A, E>, system = "attack", every = 4) =>
  Effect.scoped(
    Effect.flatMap(
      Layer.build(
        AuditLog.layer({ system, riskTier: "high" }).pipe(
          Layer.provide(Store.layerFile(path)),
          Layer.provide(signer),
          Layer.provide(Redactor.layerNoop),
          Layer.provide(Chain.layerCheckpointPolicy({ every, interval: Duration.infinity })),
          Layer.provideMerge(NodeFileSystem.layer)
        )
      ),
      (context) => Effect.provide(f, context)
    )
  )

const notes = (n: number): Work<void, Chain.AppendError> =>
  Effect.gen(function* () {
    const log = yield* AuditLog.AuditLog
    for (let i = 0; i < n; i++) yield* log.append("note", { i })
  })

/** Ed25519 checkpoints alone (no HMAC: anyone can recompute the hash chain). */
const ed25519Only = (key: Key, options: { readonly origin?: string; readonly previous?: Key } = {}) =>
  Layer.effect(
    Signer.Signer,
    Signer.makeEd25519(Redacted.make(key.signerKey), {
      ...(options.origin === undefined ? {} : { origin: options.origin }),
      ...(options.previous === undefined ? {} : { previous: Redacted.make(options.previous.signerKey) })
    }).pipe(Effect.orDie)
  )
/** HMAC and Ed25519, with an origin override. */
const withOrigin = (key: Key, origin: string) =>
  Layer.effect(Signer.Signer, Signer.makeEd25519(Redacted.make(key.signerKey), { hmac: HMAC, origin }).pipe(Effect.orDie))

const rowsAt = (path: string): Array<Row> =>
  readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Row)
const linesAt = (path: string): Array<string> => readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0)

const verdict = (path: string, options: Verify.Options) =>
  Effect.map(Effect.either(Verify.file(path, options)), (r) => (Either.isRight(r) ? "ok" : r.left._tag))

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

describe("(1) reserved entry types", () => {
  it.effect("AuditLog.append, a decision's record and Chain.append refuse checkpoint, key_rotation (and AuditLog audit_open) with ReservedType; nothing is written", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(41)
      const path = next("reserved.jsonl")
      const tries = yield* session(
        path,
        layerSigner(a),
        Effect.gen(function* () {
          const log = yield* AuditLog.AuditLog
          const chain = yield* Chain.Chain
          yield* notes(2)
          const before = (yield* chain.position).entries
          const forged = { size: 3, root: "AAAA", head: "00", note: "x" }
          const out = [
            yield* Effect.exit(log.append("checkpoint", forged)),
            yield* Effect.exit(log.append("key_rotation", { alg: "ed25519", key: "evil+01234567+AAAA", previous: a.verifierKey })),
            yield* Effect.exit(log.append("audit_open", { system: "attack", checkpoints: { alg: "ed25519", key: "evil+01234567+AAAA", origin: "o" } })),
            yield* Effect.exit(chain.append("checkpoint", forged)),
            yield* Effect.exit(chain.append("key_rotation", { key: "evil" }))
          ]
          // in a batch, the reserved one is refused and the others are written
          const all = yield* chain.appendAll([{ type: "note", payload: { i: 100 } }, { type: "checkpoint", payload: forged }, { type: "note", payload: { i: 101 } }])
          const after = (yield* chain.position).entries
          return { out, all, written: after - before }
        }),
        "attack",
        1000
      )
      for (const exit of tries.out) expect(failureOf(exit)).toMatchObject({ _tag: "ReservedType" })
      expect((failureOf(tries.out[0]!) as { message: string }).message).toContain("checkpoint")
      expect(tries.all.map((e) => (Exit.isSuccess(e) ? "ok" : failureOf(e)?._tag))).toEqual(["ok", "ReservedType", "ok"])
      expect(tries.written).toBe(2)
      // the log holds only the library's own checkpoints and verifies under the public key
      expect(yield* verdict(path, { key: HMAC, publicKeys: [a.verifierKey] })).toBe("ok")
      expect(rowsAt(path).filter((r) => r.type === "key_rotation")).toEqual([])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("a forged key_rotation to an attacker's key, written into an Ed25519-only log with a checkpoint under the attacker's key, is not trusted", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(42)
      const x = yield* makeKey(43, "attacker")
      const path = next("forged-rotation.jsonl")
      yield* session(path, ed25519Only(a), notes(5))
      // the attacker holds no secret: the hash chain of an Ed25519-only log is public
      const rows = rowsAt(path)
      const lines = linesAt(path)
      let prev = rows[rows.length - 1]!.hash
      let seq = rows.length
      const hashes = rows.map((r) => Buffer.from(r.hash, "hex"))
      const add = (type: string, payload: Record<string, unknown>) => {
        const sealed = Either.getOrThrow(Entry.seal({ prevHash: prev, seq, ts: "2026-01-01T00:00:00.000000+00:00", type, payload }, () => ""))
        lines.push(sealed.line)
        hashes.push(Buffer.from(sealed.hash, "hex"))
        prev = sealed.hash
        seq++
      }
      add("key_rotation", { alg: "ed25519", key: x.verifierKey, previous: a.verifierKey })
      // alone, the rotation is an unsealed tail: nothing vouches for it
      writeFileSync(path, lines.join("\n") + "\n")
      const report = yield* Verify.file(path, { publicKeys: [a.verifierKey] })
      expect(report.unsealedTail).toBe(1)
      // the attacker cannot sign a confirming checkpoint under A; one under X does not confirm it
      const root = merkle.root(hashes)
      const body = Chain.checkpointBody(`acttrace/attack`, seq, root, prev)
      add("checkpoint", { size: seq, root: Buffer.from(root).toString("base64"), head: prev, note: x.checkpoint.signNote(body) })
      writeFileSync(path, lines.join("\n") + "\n")
      expect(yield* verdict(path, { publicKeys: [a.verifierKey] })).toBe("CheckpointUntrusted")
      expect(yield* verdict(path, { publicKeys: [a.verifierKey, x.verifierKey] })).toBe("CheckpointUntrusted")
      // the writer (holding A) refuses to go on: the log does not verify under its keys
      const exit = yield* Effect.exit(session(path, ed25519Only(a), notes(1)))
      expect(failureOf(exit)).toMatchObject({ _tag: "LogInvalid" })
      expect((failureOf(exit) as { message: string }).message).toContain("CheckpointUntrusted")
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

const textOf = (store: Store.StoreService) =>
  Effect.map(Effect.flatMap(Effect.flatMap(store.snapshot, Stream.runCollect), (c) => Effect.succeed(Chunk.toArray(c))), (chunks) =>
    Buffer.concat(chunks.map((c) => Buffer.from(c))).toString("utf8")).pipe(Effect.orDie)

/** The log at `path` without its last `n` lines (a crash that wrote only part of the last batch, then `acttrace repair`). */
const dropLast = (path: string, n: number) => {
  const lines = linesAt(path)
  writeFileSync(path, lines.slice(0, lines.length - n).join("\n") + "\n")
}

describe("(4) resume after a crash, and rotations", () => {
  it.effect("a rotation whose confirming checkpoint was lost in a crash is confirmed on the next open with the previous key; without it, the open is refused", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(51, "alpha")
      const b = yield* makeKey(52, "beta", a)
      const bAlone = yield* makeKey(52, "beta")
      const path = next("torn-rotation.jsonl")
      yield* session(path, layerSigner(a), notes(5))
      yield* session(path, layerSigner(b), Effect.void)
      expect(rowsAt(path).slice(-2).map((r) => r.type)).toEqual(["key_rotation", "checkpoint"])
      // the store wrote the key_rotation line of the batch, not the checkpoint after it
      dropLast(path, 1)
      const cut = linesAt(path)
      // without the previous key, nothing can confirm the rotation: refused, nothing written
      const refused = yield* Effect.exit(session(path, layerSigner(bAlone), notes(1)))
      expect(failureOf(refused)).toMatchObject({ _tag: "LogMismatch", field: "previous checkpoint key", expected: a.verifierKey, found: "none" })
      expect(linesAt(path)).toEqual(cut)
      // with it, the confirming checkpoint (signed by A) comes first
      yield* session(path, layerSigner(b), notes(5))
      const rows = rowsAt(path)
      const at = rows.findIndex((r) => r.type === "key_rotation")
      expect(rows[at + 1]!.type).toBe("checkpoint")
      expect(rows[at + 1]!.payload["note"]).toContain("— alpha ")
      const report = yield* Verify.file(path, { key: HMAC, publicKeys: [a.verifierKey] })
      expect(report).toMatchObject({ checkpoints: "verified", unsealedTail: 0 })
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("a log file whose rotation is unconfirmed is not exported under the new key by Pack.write (the CLI's export): ExportError saying how to confirm it", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(55, "alpha")
      const b = yield* makeKey(56, "beta", a)
      const path = next("unconfirmed-export.jsonl")
      yield* session(path, layerSigner(a), notes(5))
      yield* session(path, layerSigner(b), Effect.void)
      dropLast(path, 1)
      for (const previous of [undefined, a]) {
        const signer = yield* Signer.makeEd25519(Redacted.make(b.signerKey), { hmac: HMAC, ...(previous === undefined ? {} : { previous: Redacted.make(previous.signerKey) }) }).pipe(Effect.orDie)
        const out = next("unconfirmed-export.pack.jsonl")
        const exit = yield* Effect.exit(Pack.write(Effect.succeed(Stream.make(readFileSync(path))), path, out, { signer, framework: null }))
        expect(failureOf(exit)).toMatchObject({ _tag: "ExportError" })
        expect((failureOf(exit) as { message: string }).message).toContain("not confirmed")
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("a store failing on the rotation's batch: the open fails with StoreError, nothing is written, and the next open rotates", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(53, "alpha")
      const b = yield* makeKey(54, "beta", a)
      const store = yield* Store.makeMemory()
      const first = yield* openChain(store, a, { every: 1000, interval: Duration.infinity })
      yield* first.chain.append("audit_open", { system: "attack", signing: { alg: "hmac-sha256", key_id: Signer.hmacKeyId(HMAC) }, checkpoints: { alg: "ed25519", key: a.verifierKey, origin: "acttrace/attack" } })
      for (let i = 0; i < 3; i++) yield* first.chain.append("note", { i })
      yield* first.close
      const before = yield* textOf(store)
      let fail = true
      const failing: Store.StoreService = {
        ...store,
        append: (lines) => (fail ? Effect.fail(new Store.StoreError({ path: "memory", operation: "append", reason: "disk full" })) : store.append(lines))
      }
      const exit = yield* Effect.exit(openChain(failing, b, { every: 1000, interval: Duration.infinity }))
      expect(failureOf(exit)).toMatchObject({ _tag: "StoreError" })
      expect(yield* textOf(store)).toBe(before)
      fail = false
      const second = yield* openChain(failing, b, { every: 1000, interval: Duration.infinity })
      yield* second.chain.append("note", { i: 9 })
      yield* second.close
      const text = yield* textOf(store)
      const types = text.split("\n").filter((l) => l.length > 0).map((l) => (JSON.parse(l) as Row).type)
      expect(types.slice(5)).toEqual(["key_rotation", "checkpoint", "note", "checkpoint"])
      const report = Either.getOrThrow(Verify.lines(text.split("\n").filter((l) => l.length > 0), { key: HMAC, publicKeys: [a.verifierKey] }))
      expect(report).toMatchObject({ checkpoints: "verified", unsealedTail: 0 })
    }))
})

/** The origin line of every checkpoint note in the log at `path`. */
const originsAt = (path: string) => [...new Set(rowsAt(path).filter((r) => r.type === "checkpoint").map((r) => String(r.payload["note"]).split("\n")[0]))]

describe("(7) origins", () => {
  it.effect("an origin override that differs from the one a log states is refused on resume (LogMismatch, checkpoint origin); none keeps the log's", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(71)
      const path = next("origin-override.jsonl")
      yield* session(path, withOrigin(a, "example.com/prod-a"), notes(3))
      const before = linesAt(path)
      const exit = yield* Effect.exit(session(path, withOrigin(a, "example.com/prod-b"), notes(1)))
      expect(failureOf(exit)).toMatchObject({ _tag: "LogMismatch", field: "checkpoint origin", expected: "example.com/prod-b", found: "example.com/prod-a" })
      expect(linesAt(path)).toEqual(before)
      // the same origin, or none at all, goes on under the log's
      yield* session(path, withOrigin(a, "example.com/prod-a"), notes(2))
      yield* session(path, layerSigner(a), notes(2))
      expect(originsAt(path)).toEqual(["example.com/prod-a"])
      expect(yield* verdict(path, { key: HMAC, publicKeys: [a.verifierKey] })).toBe("ok")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("a log whose first key came by rotation (previous null) keeps the origin of its checkpoints across sessions and exports", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(72)
      const path = next("origin-rotated-in.jsonl")
      // an HMAC-only log, then given a checkpoint key with an origin of its own
      yield* session(path, layerSigner(undefined), notes(3))
      yield* session(path, withOrigin(a, "example.com/late"), notes(5))
      // resumed without the override: the log's checkpoints already name their origin
      yield* session(path, layerSigner(a), notes(5))
      expect(originsAt(path)).toEqual(["example.com/late"])
      // another override is refused as above
      const exit = yield* Effect.exit(session(path, withOrigin(a, "example.com/other"), notes(1)))
      expect(failureOf(exit)).toMatchObject({ _tag: "LogMismatch", field: "checkpoint origin", found: "example.com/late" })
      // an export (through the log, and by Pack.write as the CLI does) names it too
      const out = next("origin-rotated-in.pack.jsonl")
      yield* session(path, layerSigner(a), Effect.flatMap(AuditLog.AuditLog, (log) => Effect.flatMap(log.append("note", {}), () => log.export(out))))
      const meta = (JSON.parse(linesAt(out)[0]!) as { _meta: { checkpoint: string } })._meta
      expect(meta.checkpoint.split("\n")[0]).toBe("example.com/late")
      const signer = yield* Signer.makeEd25519(Redacted.make(a.signerKey), { hmac: HMAC }).pipe(Effect.orDie)
      const out2 = next("origin-rotated-in.cli.pack.jsonl")
      const exported = yield* Pack.write(Effect.succeed(Stream.make(readFileSync(path))), path, out2, { signer, framework: null })
      expect(Option.getOrThrow(exported.checkpoint).split("\n")[0]).toBe("example.com/late")
      expect(yield* verdict(path, { key: HMAC, publicKeys: [a.verifierKey] })).toBe("ok")
      expect(yield* verdict(out, { key: HMAC, publicKeys: [a.verifierKey], requireComplete: true })).toBe("ok")
      expect(yield* verdict(out2, { key: HMAC, publicKeys: [a.verifierKey], requireComplete: true })).toBe("ok")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("huge and odd system names (10 KB, unicode, slashes, newlines, NUL, plus) give origins every checkpoint and pack note carries and the verifier accepts", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(73)
      const names = ["é/../ü 😀 /x?y#z&" .repeat(600), "line\nbreak\u0000nul+plus", "a".repeat(10_240)]
      for (const system of names) {
        const path = next("odd.jsonl")
        yield* session(path, layerSigner(a), notes(5), system)
        yield* session(path, layerSigner(a), notes(3), system)
        const out = next("odd.pack.jsonl")
        yield* session(path, layerSigner(a), Effect.flatMap(AuditLog.AuditLog, (log) => log.export(out)), system)
        expect(originsAt(path)).toEqual([Signer.checkpointOrigin(system)])
        expect(yield* verdict(path, { key: HMAC, publicKeys: [a.verifierKey] })).toBe("ok")
        expect(yield* verdict(out, { key: HMAC, publicKeys: [a.verifierKey], requireComplete: true })).toBe("ok")
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

interface PackFile {
  readonly meta: Record<string, unknown>
  readonly rows: Array<string>
}
const readPack = (path: string): PackFile => {
  const [head, ...rows] = linesAt(path)
  return { meta: (JSON.parse(head!) as { _meta: Record<string, unknown> })._meta, rows }
}
const writePack = (path: string, pack: PackFile) => writeFileSync(path, [JSON.stringify({ _meta: pack.meta }), ...pack.rows].join("\n") + "\n")
const exportTo = (out: string) => Effect.flatMap(AuditLog.AuditLog, (log) => log.export(out))

describe("(2) replayed and cut-back packs, (3) two systems under one key", () => {
  it.effect("a pack cut back (to an earlier export, to an in-chain checkpoint, or anywhere) with its _meta rewritten in any way fails --require-complete under the public key", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(81)
      const signer = ed25519Only(a)
      const log = next("cut.jsonl")
      const p1 = next("cut-1.pack.jsonl")
      const p2 = next("cut-2.pack.jsonl")
      yield* session(log, signer, Effect.zipRight(notes(5), exportTo(p1)))
      // (a flag: the later pack's summary differs from the earlier one's)
      yield* session(log, signer, Effect.zipRight(Effect.zipRight(notes(6), AuditLog.flag("late")), exportTo(p2)))
      const options = { publicKeys: [a.verifierKey], requireComplete: true }
      expect(yield* verdict(p1, options)).toBe("ok")
      expect(yield* verdict(p2, options)).toBe("ok")
      const one = readPack(p1)
      const two = readPack(p2)
      // replaying the older genuine export as the latest: it verifies alone (nothing in it can
      // know of later entries), and fails against the later export's published note
      expect(yield* verdict(p1, { ...options, since: String(two.meta["checkpoint"]) })).toBe("HistoryRewritten")
      const rowOf = (line: string) => JSON.parse(line) as Row
      const checkpoints = two.rows.map(rowOf).filter((r) => r.type === "checkpoint")
      const attempts: Array<[string, PackFile]> = []
      const n1 = one.rows.length
      const cut = two.rows.slice(0, n1)
      const headOf = (rows: Array<string>) => rowOf(rows[rows.length - 1]!).hash
      attempts.push(["rows cut, _meta as it was", { meta: two.meta, rows: cut }])
      attempts.push(["rows cut, entries and head_hash rewritten", { meta: { ...two.meta, entries: n1, head_hash: headOf(cut) }, rows: cut }])
      attempts.push(["rows cut, _meta.checkpoint removed", { meta: { ...two.meta, entries: n1, head_hash: headOf(cut), checkpoint: undefined }, rows: cut }])
      attempts.push(["the later rows under the earlier export's note", { meta: { ...two.meta, checkpoint: one.meta["checkpoint"] }, rows: two.rows }])
      attempts.push(["rows cut, the earlier export's note, counts rewritten", { meta: { ...two.meta, entries: n1, head_hash: headOf(cut), checkpoint: one.meta["checkpoint"] }, rows: cut }])
      for (const cp of checkpoints) {
        const rows = two.rows.slice(0, cp.seq)
        const meta = { ...two.meta, entries: rows.length, head_hash: headOf(rows), checkpoint: cp.payload["note"] }
        attempts.push([`cut to the in-chain checkpoint at seq ${cp.seq}, its note as _meta.checkpoint`, { meta, rows }])
        attempts.push([`cut to the in-chain checkpoint at seq ${cp.seq} (kept), its note as _meta.checkpoint`, { meta: { ...meta, entries: cp.seq + 1, head_hash: cp.hash }, rows: two.rows.slice(0, cp.seq + 1) }])
      }
      for (const [what, pack] of attempts) {
        const path = next("cut-attempt.pack.jsonl")
        writePack(path, pack)
        const v = yield* verdict(path, options)
        expect(v, what).not.toBe("ok")
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("two systems signed with the same key (default origins, or one shared origin): neither's notes or header pass for the other's", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(82)
      for (const signer of [ed25519Only(a), ed25519Only(a, { origin: "example.com/shared" })]) {
        const [l1, l2, p1, p2] = [next("sys1.jsonl"), next("sys2.jsonl"), next("sys1.pack.jsonl"), next("sys2.pack.jsonl")]
        yield* session(l1, signer, Effect.zipRight(notes(6), exportTo(p1)), "system one")
        yield* session(l2, signer, Effect.zipRight(notes(6), exportTo(p2)), "system two")
        const options = { publicKeys: [a.verifierKey], requireComplete: true }
        const one = readPack(p1)
        const two = readPack(p2)
        // the other system's published notes: export note and in-chain checkpoints
        const noteOf2 = String(two.meta["checkpoint"])
        expect(yield* verdict(p1, { ...options, since: noteOf2 })).toBe("HistoryRewritten")
        for (const r of two.rows.map((l) => JSON.parse(l) as Row).filter((r) => r.type === "checkpoint")) {
          expect(yield* verdict(p1, { ...options, since: String(r.payload["note"]) })).toBe("HistoryRewritten")
        }
        // system two's header (all of it, or its checkpoint) over system one's rows, and the reverse
        for (const pack of [{ meta: two.meta, rows: one.rows }, { meta: { ...one.meta, checkpoint: two.meta["checkpoint"] }, rows: one.rows }, { meta: { ...two.meta, system: "system one" }, rows: two.rows }]) {
          const path = next("sys-swap.pack.jsonl")
          writePack(path, pack)
          expect(yield* verdict(path, options)).not.toBe("ok")
        }
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

describe("(4) rotations in a row, (6) exports of an unsealed tail", () => {
  it.effect("A → B → C, back to A, and B with previous A on a log already at B: every step verifies with only A trusted", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(91, "alpha")
      const b = yield* makeKey(92, "beta", a)
      const c = yield* makeKey(93, "gamma", b)
      const aAgain = yield* makeKey(91, "alpha", c)
      const path = next("rotations.jsonl")
      yield* session(path, layerSigner(a), notes(3))
      yield* session(path, layerSigner(b), notes(3))
      yield* session(path, layerSigner(b), notes(3)) // already at B: no second rotation
      yield* session(path, layerSigner(c), notes(3))
      yield* session(path, layerSigner(aAgain), notes(3))
      const rotations = rowsAt(path).filter((r) => r.type === "key_rotation").map((r) => [r.payload["previous"], r.payload["key"]])
      expect(rotations).toEqual([[a.verifierKey, b.verifierKey], [b.verifierKey, c.verifierKey], [c.verifierKey, a.verifierKey]])
      const report = yield* Verify.file(path, { key: HMAC, publicKeys: [a.verifierKey] })
      expect(report).toMatchObject({ checkpoints: "verified", unsealedTail: 0 })
      // B without a previous key, on a log now at A again, is refused
      const bAlone = yield* makeKey(92, "beta")
      const exit = yield* Effect.exit(session(path, layerSigner(bAlone), notes(1)))
      expect(failureOf(exit)).toMatchObject({ _tag: "LogMismatch", field: "checkpoint key" })
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("a log left with an unsealed tail by a crash exports a pack complete by its signed checkpoint, through the log and by Pack.write", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(94)
      const path = next("tail.jsonl")
      yield* session(path, ed25519Only(a), notes(6), "attack", 1000)
      dropLast(path, 1) // the closing checkpoint never made it
      expect(rowsAt(path).at(-1)!.type).toBe("note")
      const raw = yield* Verify.file(path, { publicKeys: [a.verifierKey] })
      expect(raw.unsealedTail).toBe(7)
      const cli = next("tail-cli.pack.jsonl")
      const signer = yield* Signer.makeEd25519(Redacted.make(a.signerKey)).pipe(Effect.orDie)
      yield* Pack.write(Effect.succeed(Stream.make(readFileSync(path))), path, cli, { signer, framework: null })
      const out = next("tail.pack.jsonl")
      yield* session(path, ed25519Only(a), exportTo(out), "attack", 1000)
      for (const p of [cli, out]) {
        const report = yield* Verify.file(p, { publicKeys: [a.verifierKey], requireComplete: true })
        expect(report).toMatchObject({ completeness: "signed-checkpoint", unsealedTail: 0 })
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

/**
 * An Ed25519-only log rewritten by someone without any secret: entry `at` edited and every later
 * hash recomputed (its checkpoint entries kept as they were, so they no longer match the tree).
 */
const rewriteFrom = (path: string, at: number) => {
  const rows = rowsAt(path)
  const out: Array<string> = []
  let prev = ""
  for (const r of rows) {
    if (r.seq < at) {
      out.push(linesAt(path)[r.seq]!)
      prev = r.hash
      continue
    }
    const payload = r.seq === at ? { ...r.payload, i: "forged" } : r.payload
    const e = r as Row & { ts: string }
    const sealed = Either.getOrThrow(Entry.seal({ prevHash: prev, seq: r.seq, ts: e.ts, type: r.type, payload }, () => ""))
    out.push(sealed.line)
    prev = sealed.hash
  }
  writeFileSync(path, out.join("\n") + "\n")
}

describe("(8) the writer never signs over a history its own checkpoints contradict", () => {
  it.effect("an Ed25519-only log rewritten under its checkpoints is refused on resume (LogInvalid) and on export (ExportError), so no new note vouches for the forgery", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(101, "alpha")
      const b = yield* makeKey(102, "beta", a)
      const path = next("rewritten.jsonl")
      yield* session(path, ed25519Only(a), notes(10))
      rewriteFrom(path, 2)
      const forged = linesAt(path)
      // the hash chain holds (anyone can recompute it); the checkpoints do not
      expect(yield* verdict(path, {})).toBe("ok")
      expect(yield* verdict(path, { publicKeys: [a.verifierKey] })).toBe("CheckpointInvalid")
      for (const signer of [ed25519Only(a), ed25519Only(b, { previous: a })]) {
        const exit = yield* Effect.exit(session(path, signer, notes(1)))
        expect(failureOf(exit)).toMatchObject({ _tag: "LogInvalid" })
        expect((failureOf(exit) as { message: string }).message).toContain("CheckpointInvalid")
        expect(linesAt(path)).toEqual(forged)
      }
      const signer = yield* Signer.makeEd25519(Redacted.make(a.signerKey)).pipe(Effect.orDie)
      const out = next("rewritten.pack.jsonl")
      const exit = yield* Effect.exit(Pack.write(Effect.succeed(Stream.make(readFileSync(path))), path, out, { signer, framework: null }))
      expect(failureOf(exit)).toMatchObject({ _tag: "ExportError" })
      // a log with no checkpoint key yet may still be given one: nothing of it is contradicted
      const plain = next("plain.jsonl")
      yield* session(plain, layerSigner(undefined), notes(3))
      yield* session(plain, layerSigner(a), notes(3))
      expect(yield* verdict(plain, { key: HMAC, publicKeys: [a.verifierKey] })).toBe("ok")
      // and rotated on from that first key, then opened with the new key alone
      yield* session(plain, layerSigner(b), notes(3))
      const bAlone = yield* makeKey(102, "beta")
      yield* session(plain, layerSigner(bAlone), notes(3))
      expect(yield* verdict(plain, { key: HMAC, publicKeys: [a.verifierKey] })).toBe("ok")
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

describe("(5) timer checkpoints racing appends, interrupts, exports and close", () => {
  it.live("with a 1 ms timer: every acknowledged entry is in the log once, the log and every pack verify complete under the public key", () =>
    Effect.gen(function* () {
      const a = yield* makeKey(111)
      const path = next("race.jsonl")
      const rounds = process.env.FUZZ_LONG === "1" ? 20 : 3
      for (let round = 0; round < rounds; round++) {
        const acked: Array<number> = []
        const packs: Array<string> = []
        yield* Effect.scoped(
          Effect.flatMap(
            Layer.build(
              AuditLog.layer({ system: "race", riskTier: null }).pipe(
                Layer.provide(Store.layerFile(path)),
                Layer.provide(layerSigner(a)),
                Layer.provide(Redactor.layerNoop),
                Layer.provide(Chain.layerCheckpointPolicy({ every: 7, interval: Duration.millis(1) })),
                Layer.provideMerge(NodeFileSystem.layer)
              )
            ),
            (context) =>
              Effect.gen(function* () {
                const log = yield* AuditLog.AuditLog
                const appender = (w: number) =>
                  Effect.forEach(Array.from({ length: 40 }, (_, i) => w * 1000 + i + round * 100_000), (n) =>
                    // some callers give up (a timeout): their entry is withdrawn or written, never half
                    log.append("note", { n }).pipe(
                      Effect.timeoutOption(Duration.micros(n % 3 === 0 ? 50n : 1_000_000n)),
                      Effect.tap((r) => Effect.sync(() => Option.isSome(r) && acked.push(n))),
                      Effect.zipLeft(n % 5 === 0 ? Effect.sleep(Duration.millis(1)) : Effect.void)
                    ), { discard: true })
                const exporter = Effect.forEach([0, 1, 2], () => {
                  const out = next("race.pack.jsonl")
                  packs.push(out)
                  return Effect.zipRight(Effect.sleep(Duration.millis(2)), log.export(out))
                }, { discard: true })
                yield* Effect.all([appender(1), appender(2), appender(3), exporter], { concurrency: "unbounded", discard: true })
              }).pipe(Effect.provide(context))
          )
        )
        const rows = rowsAt(path)
        const ns = rows.filter((r) => r.type === "note").map((r) => r.payload["n"] as number)
        expect(new Set(ns).size).toBe(ns.length)
        for (const n of acked) expect(ns).toContain(n)
        expect(rows.at(-1)!.type).toBe("checkpoint")
        const report = yield* Verify.file(path, { key: HMAC, publicKeys: [a.verifierKey] })
        expect(report).toMatchObject({ checkpoints: "verified", unsealedTail: 0 })
        for (const p of packs) {
          const r = yield* Verify.file(p, { key: HMAC, publicKeys: [a.verifierKey], requireComplete: true })
          expect(r).toMatchObject({ completeness: "signed-checkpoint", unsealedTail: 0 })
        }
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)), 120_000)
})
