/**
 * Shared by the checkpoint writer tests: real Ed25519 checkpoint keys (internal/note), signers
 * that carry them, the chain over a store in a scope of its own, and an independent check of
 * every checkpoint entry a log holds (note opened under the verifier key, body parsed, root
 * recomputed naively from the entries' hashes).
 */
import { expect } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Chain from "../src/Chain.js"
import * as merkle from "../src/internal/merkle.js"
import * as note from "../src/internal/note.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"

export const HMAC = Redacted.make("checkpoint-writer-key")

export interface Key {
  /** the checkpoint signer made here from internal/note (for direct use) */
  readonly checkpoint: Signer.CheckpointSigner
  readonly verifier: note.Verifier
  readonly verifierKey: string
  readonly signerKey: string
  readonly previous: Key | undefined
}

/** A real Ed25519 checkpoint key (deterministic from `seed`), rotating away from `previous`. */
export const makeKey = (seed: number, name = `key${seed}`, previous?: Key): Effect.Effect<Key> =>
  Effect.gen(function* () {
    const pair = yield* note.generate(name, { seed: new Uint8Array(32).fill(seed) })
    const signer = yield* note.parseSignerKey(pair.signerKey)
    const checkpoint: Signer.CheckpointSigner = {
      alg: "ed25519",
      name: signer.name,
      keyId: signer.keyId,
      verifierKey: pair.verifierKey,
      origin: Option.none(),
      signNote: (body) => Effect.runSync(note.sign(body, [signer])),
      previous: Option.fromNullable(previous?.checkpoint)
    }
    return { checkpoint, verifier: signer.verifier, verifierKey: pair.verifierKey, signerKey: pair.signerKey, previous } satisfies Key
  }).pipe(Effect.orDie)

/**
 * The signer of a log with HMAC entry signatures and, when given, the Ed25519 checkpoint key (and
 * the key it rotates away from): `Signer.makeEd25519`, as an app builds it.
 */
export const signerWith = (key: Key | undefined): Effect.Effect<Signer.SignerService> =>
  (key === undefined
    ? Signer.makeHmac(HMAC)
    : Signer.makeEd25519(Redacted.make(key.signerKey), {
      hmac: HMAC,
      previous: key.previous === undefined ? undefined : Redacted.make(key.previous.signerKey)
    })).pipe(Effect.orDie)

export const layerSigner = (key: Key | undefined) => Layer.effect(Signer.Signer, signerWith(key))

/** The chain over `store` with the checkpoint key and policy, in a scope of its own. */
export const openChain = (store: Store.StoreService, key: Key | undefined, policy: { readonly every?: number; readonly interval?: Duration.DurationInput } = {}) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      Chain.layer.pipe(
        Layer.provide(Layer.succeed(Store.Store, store)),
        Layer.provide(layerSigner(key)),
        Layer.provide(Redactor.layerNoop),
        Layer.provide(Chain.layerCheckpointPolicy(policy))
      ),
      scope
    )
    return { chain: Context.get(context, Chain.Chain), scope, close: Scope.close(scope, Exit.void) }
  })

export interface Row {
  readonly seq: number
  readonly type: string
  readonly payload: Record<string, any>
  readonly prev_hash: string
  readonly hash: string
}

export const rowsOf = (store: Store.StoreService) =>
  Effect.gen(function* () {
    const chunks = yield* Effect.flatMap(store.snapshot, Stream.runCollect)
    return Buffer.concat(Chunk.toArray(chunks).map((c) => Buffer.from(c)))
      .toString("utf8")
      .split("\n")
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Row)
  }).pipe(Effect.orDie)

/** The naive root over the first `size` entries' hashes. */
export const naiveRoot = (rows: ReadonlyArray<{ readonly hash: string }>, size: number): string =>
  Buffer.from(merkle.root(rows.slice(0, size).map((r) => Buffer.from(r.hash, "hex")))).toString("base64")

export interface Checked {
  readonly seq: number
  readonly size: number
  /** the key name whose signature verified */
  readonly signedBy: string
  readonly body: string
}

/**
 * Check every checkpoint entry of `rows` independently: its note opens under the key
 * `keyFor(seq)` says, its body is origin / size / root / `head <hex>`, size is its seq, head its
 * prev_hash, root the naive root of the entries before it, and the payload repeats the note.
 */
export const checkCheckpoints = (rows: ReadonlyArray<Row>, keyFor: (seq: number) => Key, origin: string): Array<Checked> => {
  const out: Array<Checked> = []
  for (const row of rows) {
    if (row.type !== "checkpoint") continue
    const p = row.payload
    expect(Object.keys(p).sort()).toEqual(["head", "note", "root", "size"])
    expect(p["size"]).toBe(row.seq)
    expect(p["head"]).toBe(row.prev_hash)
    expect(p["root"]).toBe(naiveRoot(rows, row.seq))
    const key = keyFor(row.seq)
    const opened = Effect.runSync(note.open(p["note"] as string, [key.verifier]))
    const cp = Effect.runSync(note.parseCheckpoint(opened.text))
    expect(cp.origin).toBe(origin)
    expect(cp.size).toBe(row.seq)
    expect(Buffer.from(cp.root).toString("base64")).toBe(p["root"])
    expect(cp.extensions).toEqual([`head ${row.prev_hash}`])
    out.push({ seq: row.seq, size: cp.size, signedBy: opened.verified.map((v) => v.name).join(","), body: opened.text })
  }
  return out
}
