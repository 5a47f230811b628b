/**
 * Logs and packs in the exact format of issue 13's design, made with the project's own code
 * (Entry.seal for the entries, the RFC 9162 tree of internal/merkle for roots, C2SP signed notes of
 * internal/note for checkpoint entries and for a pack's `_meta.checkpoint`, whose `pack` line is
 * Hash.sealDigest over `_meta` and the rows' controls), for the proof tests and the proof-file
 * byte mutator (test/proof.test.ts, test/harness/proof-bytes.test.ts).
 */
import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as Canonical from "../src/Canonical.js"
import * as Entry from "../src/Entry.js"
import * as Hash from "../src/Hash.js"
import * as Merkle from "../src/Merkle.js"
import * as Note from "../src/internal/note.js"

export const ORIGIN = "acttrace/proof-test"

export interface Key {
  readonly signer: Note.Signer
  readonly signerKey: string
  readonly verifierKey: string
}

export const keyOf = (name: string, byte: number): Effect.Effect<Key, Note.NoteKeyInvalid> =>
  Effect.gen(function*() {
    const pair = yield* Note.generate(name, { seed: new Uint8Array(32).fill(byte) })
    return { ...pair, signer: yield* Note.parseSignerKey(pair.signerKey) }
  })

export const KEY = Effect.runSync(keyOf("acttrace-test", 7))
export const OTHER = Effect.runSync(keyOf("acttrace-test", 8))
export const STRANGER = Effect.runSync(keyOf("someone-else", 9))

export const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64")

export const rootOfHashes = (hashes: ReadonlyArray<string>, size: number): Uint8Array =>
  Merkle.rootOf(Merkle.appendHexHashes(Merkle.empty, hashes.slice(0, size)))

export const signNote = (body: string, signer: Note.Signer): string => Effect.runSync(Note.sign(body, [signer]))

export const checkpointBody = (size: number, root: Uint8Array, head: string, extra: ReadonlyArray<string> = []): string =>
  Effect.runSync(Note.formatCheckpoint({ origin: ORIGIN, size, root, extensions: [`head ${head}`, ...extra] }))

export interface Log {
  readonly lines: Array<string>
  readonly hashes: Array<string>
  readonly types: Array<string>
}

export interface LogOptions {
  /** a checkpoint entry whenever this many entries precede it since the last one (0: none) */
  readonly every?: number
  /** the key that signs checkpoint entries */
  readonly key?: Key
  /** a different payload at these seqs (a fork of the same log) */
  readonly forkAt?: number
  /** end with a checkpoint entry, as an export or a close does */
  readonly close?: boolean
}

/** The payload of an ordinary entry: numbers whose lexemes a JSON.parse round trip would change. */
export const payloadOf = (seq: number, fork: boolean): Record<string, unknown> => ({
  decision_id: createHash("md5").update(String(seq)).digest("hex"),
  n: seq,
  ratio: new Canonical.Num("1000.0"),
  big: new Canonical.Num("18446744073709551616"),
  small: new Canonical.Num("1e-05"),
  text: fork ? `forked ${seq}` : `entry ${seq} é ✓ \u2028 "quoted"`
})

/** Appends entries to a log (a new one when `log` is undefined) in the writer's exact layout. */
export const extend = (log: Log | undefined, count: number, options: LogOptions = {}): Log => {
  const key = options.key ?? KEY
  const lines = log ? [...log.lines] : []
  const hashes = log ? [...log.hashes] : []
  const types = log ? [...log.types] : []
  const every = options.every ?? 0
  let sinceCheckpoint = 0
  for (let k = types.length - 1; k >= 0 && types[k] !== "checkpoint"; k--) sinceCheckpoint++
  const push = (type: string, payload: unknown) => {
    const seq = hashes.length
    const sealed = Either.getOrThrow(
      Entry.seal(
        { seq, ts: `2026-12-04T10:00:${String(seq % 60).padStart(2, "0")}.000000+00:00`, type, payload, prevHash: hashes[seq - 1] ?? Hash.GENESIS },
        () => ""
      )
    )
    lines.push(sealed.line)
    hashes.push(sealed.hash)
    types.push(type)
  }
  const checkpoint = () => {
    const size = hashes.length
    const root = rootOfHashes(hashes, size)
    const head = hashes[size - 1]!
    push("checkpoint", { size, root: b64(root), head, note: signNote(checkpointBody(size, root, head), key.signer) })
    sinceCheckpoint = 0
  }
  for (let i = 0; i < count; i++) {
    const seq = hashes.length
    if (seq === 0) {
      push("audit_open", {
        system: "proof-test",
        risk_tier: "limited",
        format: "acttrace-chain/1",
        checkpoints: { alg: "ed25519", key: key.verifierKey, origin: ORIGIN }
      })
    } else push("decision_record", payloadOf(seq, options.forkAt !== undefined && seq >= options.forkAt))
    sinceCheckpoint++
    if (every > 0 && sinceCheckpoint >= every) checkpoint()
  }
  if (options.close === true && sinceCheckpoint > 0) checkpoint()
  return { lines, hashes, types }
}

export const logOf = (count: number, options: LogOptions = {}): Log => extend(undefined, count, options)

/** The evidence pack of a log, with `_meta.checkpoint` (the `pack` line: the seal digest). */
export const packOf = (log: Log, key: Key = KEY, edit?: (meta: Record<string, unknown>) => void): string => {
  const rows = log.lines.map((l) => `${l.slice(0, -1)},"controls":["EU-AIA-12"]}`)
  const rowsDigest = createHash("sha256")
  for (let i = 0; i < rows.length; i++) rowsDigest.update('["EU-AIA-12"]\n')
  const entries = log.lines.length
  const head = log.hashes[entries - 1] ?? Hash.GENESIS
  const meta: Record<string, unknown> = {
    system: "proof-test",
    risk_tier: "limited",
    framework: "eu_ai_act",
    controls_covered: ["EU-AIA-12"],
    summary: {},
    head_hash: head,
    entries,
    disclaimer: "Evidence to support compliance — not legal advice."
  }
  const digest = Hash.sealDigest(Either.getOrThrow(Canonical.encode(meta)), rowsDigest.digest())
  meta["checkpoint"] = signNote(checkpointBody(entries, rootOfHashes(log.hashes, entries), head, [`pack ${digest}`]), key.signer)
  edit?.(meta)
  return [JSON.stringify({ _meta: meta }), ...rows].join("\n") + "\n"
}

export const rawOf = (log: Log): string => log.lines.join("\n") + "\n"

/** The bytes of a text as a stream of small chunks, so that lines cross chunk boundaries. */
export const chunked = (text: string, size = 97): Stream.Stream<Uint8Array> => {
  const bytes = Buffer.from(text, "utf8")
  const chunks: Array<Uint8Array> = []
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
  return Stream.fromIterable(chunks)
}

export const keys = [KEY.verifierKey]

/** The failure of an effect (the test fails when it succeeds). */
export const failureOf = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<E> =>
  Effect.flatMap(Effect.exit(effect), (exit) =>
    Exit.isFailure(exit) && exit.cause._tag === "Fail"
      ? Effect.succeed(exit.cause.error)
      : Effect.die(new Error(`expected a typed failure, got ${Exit.isSuccess(exit) ? "success" : String(exit.cause)}`)))

/** The document of a proof file as plain data, for edits that keep every lexeme (a `Canonical.Json`). */
export const docOf = (text: string): Record<string, Canonical.Json> => Either.getOrThrow(Canonical.parse(text)) as Record<string, Canonical.Json>
export const textOf = (doc: unknown): string => Either.getOrThrow(Canonical.encode(doc))
export type JsonObject = Record<string, Canonical.Json>
export const entriesOf = (doc: JsonObject): Array<JsonObject> => doc["entries"] as unknown as Array<JsonObject>
