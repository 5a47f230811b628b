/**
 * Logs and packs with Ed25519 checkpoints (design 13, FORMAT B.2–B.3), built with the project's
 * own code (Entry.seal, internal/merkle, internal/note, Hash.sealDigest), for the checkpoint,
 * `since` and rotation tests of Verify. Everything is in the layout and format our writer uses;
 * hooks let a test forge a checkpoint (re-signed with the real key) or sign with another key.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import * as Canonical from "../src/Canonical.js"
import * as Controls from "../src/Controls.js"
import * as Entry from "../src/Entry.js"
import { GENESIS, sealDigest } from "../src/Hash.js"
import * as F from "../src/internal/fixtures.js"
import { FastHmac } from "../src/internal/hmac.js"
import * as Merkle from "../src/internal/merkle.js"
import * as Note from "../src/internal/note.js"
import * as Verify from "../src/Verify.js"
import { NodeFileSystem } from "@effect/platform-node"

export interface Key {
  readonly signer: Note.Signer
  readonly signerKey: string
  readonly verifierKey: string
}

/** A deterministic Ed25519 key named `name`. */
export const keyOf = (name: string, seedByte: number): Key => {
  const { signerKey, verifierKey } = Effect.runSync(Note.generate(name, { seed: new Uint8Array(32).fill(seedByte) }))
  return { signer: Effect.runSync(Note.parseSignerKey(signerKey)), signerKey, verifierKey }
}

export const A = keyOf("alice-log", 1)
export const B = keyOf("bob-log", 2)
export const C = keyOf("carol-log", 3)

export const SYSTEM = "loan-desk"
export const ORIGIN = `acttrace/${encodeURIComponent(SYSTEM)}`

/** What a checkpoint entry says, before it is signed (a test may change any of it). */
export interface CheckpointFacts {
  /** the note's body lines */
  origin: string
  size: number
  root: Uint8Array
  extensions: Array<string>
  /** the payload beside the note */
  payload: { size: unknown; root: unknown; head: unknown }
  /** who signs the note */
  signers: ReadonlyArray<Note.Signer>
  /** the note text, after signing (a test may edit it) */
  edit?: (note: string) => string
}

export type Item =
  | { readonly kind: "entry"; readonly spec: F.Spec }
  | { readonly kind: "checkpoint"; readonly forge?: (facts: CheckpointFacts, seq: number) => void }
  | { readonly kind: "rotation"; readonly to: Key; readonly previous: Key | null }

export interface Built {
  readonly lines: Array<string>
  readonly hashes: Array<string>
  readonly head: string
  /** the in-chain checkpoint notes, in order, with the seq of their entry */
  readonly notes: Array<{ readonly seq: number; readonly note: string }>
}

export const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64")
const raw = (hex: string): Uint8Array => Buffer.from(hex, "hex")

export const rootOver = (hashes: ReadonlyArray<string>): Uint8Array => Merkle.root(hashes.map(raw))

export const signNote = (body: string, signers: ReadonlyArray<Note.Signer>): string => Effect.runSync(Note.sign(body, signers))

export const checkpointBody = (c: { readonly origin: string; readonly size: number; readonly root: Uint8Array; readonly extensions: ReadonlyArray<string> }): string =>
  Effect.runSync(Note.formatCheckpoint(c))

/**
 * A log: `audit_open` naming checkpoint key `key` (none: no `checkpoints` member), then `items`.
 * Checkpoints are signed by the log's current key (after a rotation: its confirming checkpoint by
 * the previous key, when `confirm` is left on).
 */
export const build = (options: {
  readonly key: Key | null
  readonly items: ReadonlyArray<Item>
  readonly hmac?: string | undefined
  readonly origin?: string | undefined
}): Built => {
  const origin = options.origin ?? ORIGIN
  const mac = options.hmac === undefined ? undefined : new FastHmac(Buffer.from(options.hmac, "utf8"))
  const sign = (h: string) => (mac === undefined ? "" : mac.ofHash(h))
  const lines: Array<string> = []
  const hashes: Array<string> = []
  const notes: Array<{ seq: number; note: string }> = []
  let current: Key | null = options.key
  const add = (type: string, payload: Record<string, unknown>) => {
    const seq = hashes.length
    const prevHash = seq === 0 ? GENESIS : hashes[seq - 1]!
    const sealed = Either.getOrThrow(Entry.seal({ prevHash, seq, ts: F.timestamp(seq), type, payload }, sign))
    lines.push(sealed.line)
    hashes.push(sealed.hash)
  }
  const open: Record<string, unknown> = { system: SYSTEM, risk_tier: "high", producer: "acttrace/0.1.0", format: "acttrace-chain/1" }
  if (options.key !== null) open["checkpoints"] = { alg: "ed25519", key: options.key.verifierKey, origin }
  add("audit_open", open)
  for (const item of options.items) {
    if (item.kind === "entry") add(item.spec.type, item.spec.payload)
    else if (item.kind === "rotation") {
      add("key_rotation", { alg: "ed25519", key: item.to.verifierKey, previous: item.previous === null ? null : item.previous.verifierKey })
      current = item.to
    } else {
      const seq = hashes.length
      const root = rootOver(hashes)
      const head = hashes[seq - 1]!
      const facts: CheckpointFacts = {
        origin,
        size: seq,
        root,
        extensions: [`head ${head}`],
        payload: { size: seq, root: b64(root), head },
        signers: current === null ? [] : [current.signer]
      }
      item.forge?.(facts, seq)
      let note = signNote(checkpointBody(facts), facts.signers)
      if (facts.edit !== undefined) note = facts.edit(note)
      notes.push({ seq, note })
      add("checkpoint", { ...facts.payload, note })
    }
  }
  return { lines, hashes, head: hashes[hashes.length - 1]!, notes }
}

/** `n` llm_call entries (varied with `from`). */
export const calls = (n: number, from = 0): Array<Item> =>
  Array.from({ length: n }, (_, i) => ({ kind: "entry", spec: F.llmCall(from + i) }) as const)

/** `n` entries with a checkpoint after every `every` of them. */
export const checkpointed = (n: number, every: number, from = 0): Array<Item> => {
  const out: Array<Item> = []
  for (let i = 0; i < n; i++) {
    out.push({ kind: "entry", spec: F.llmCall(from + i) })
    if ((i + 1) % every === 0) out.push({ kind: "checkpoint" })
  }
  return out
}

const encode = (v: unknown): string => Either.getOrThrow(Canonical.encode(v))

/** What a pack's export note and seal digest are computed over (a test may edit it first). */
export interface PackParts {
  meta: Record<string, unknown>
  rows: Array<string>
  /** the pack line's digest, when a test wants another one */
  digest?: string
  signers: ReadonlyArray<Note.Signer>
  size?: number
  root?: Uint8Array
  head?: string
}

/**
 * The evidence pack of a log as our exporter writes it under an Ed25519 key (FORMAT B.3, design
 * 13): `_meta` with summary and controls, `_meta.checkpoint` the export note over every entry
 * (`pack` line: the seal digest over `_meta` without `sig`, `seal`, `checkpoint`, and every
 * row's controls). `hmac` adds `_meta.sig` and the HMAC seal over the same digest.
 */
export const pack = (
  log: Built,
  options: {
    readonly key: Key | null
    readonly framework?: Controls.Framework | null | undefined
    readonly hmac?: string | undefined
    readonly origin?: string | undefined
    /** change what is signed before the note is made */
    readonly before?: (parts: PackParts) => void
    /** change the pack after it is signed (a forger without the key) */
    readonly after?: (meta: Record<string, unknown>, rows: Array<string>) => void
  }
): Array<string> => {
  const framework = options.framework === undefined ? "gdpr" : options.framework
  const rows = log.lines.map((line) => {
    if (framework === null) return line
    const row = JSON.parse(line) as { type: string; payload: unknown }
    return `${line.slice(0, -1)},"controls":${encode(Controls.forRow(framework, row.type, row.payload))}}`
  })
  const covered = new Set<string>()
  if (framework !== null) for (const l of log.lines) {
    const row = JSON.parse(l) as { type: string; payload: unknown }
    for (const c of Controls.forRow(framework, row.type, row.payload)) covered.add(c)
  }
  const meta: Record<string, unknown> = {
    system: SYSTEM,
    risk_tier: "high",
    framework,
    controls_covered: [...covered].sort(),
    summary: { decisions: 0, llm_calls: log.lines.length - 1, tool_calls: 0, context_assemblies: 0, human_oversight: 0, policy_flags: 0, flags_by_action: {}, flags_by_severity: {} },
    head_hash: log.head,
    entries: log.lines.length,
    disclaimer: "Evidence to support compliance — not legal advice."
  }
  const parts: PackParts = { meta, rows, signers: options.key === null ? [] : [options.key.signer] }
  options.before?.(parts)
  const controlsDigest = createHash("sha256")
  for (const r of parts.rows) {
    const c = (JSON.parse(r) as { controls?: unknown }).controls
    controlsDigest.update(encode(c === undefined ? null : c) + "\n")
  }
  const digest = sealDigest(encode(parts.meta), controlsDigest.digest())
  const m = parts.meta
  if (options.hmac !== undefined) {
    const mac = new FastHmac(Buffer.from(options.hmac, "utf8"))
    m["sig"] = mac.hex(encode({ entries: m["entries"], head_hash: m["head_hash"], risk_tier: m["risk_tier"], system: m["system"] }))
    m["seal"] = { alg: "hmac-sha256", key_id: createHash("sha256").update(options.hmac).digest("hex").slice(0, 16), digest, sig: mac.hex(digest) }
  }
  if (parts.signers.length > 0) {
    const size = parts.size ?? (m["entries"] as number)
    const body = checkpointBody({
      origin: options.origin ?? ORIGIN,
      size,
      root: parts.root ?? rootOver(log.hashes.slice(0, size)),
      extensions: [`head ${parts.head ?? (m["head_hash"] as string)}`, `pack ${parts.digest ?? digest}`]
    })
    m["checkpoint"] = signNote(body, parts.signers)
  }
  options.after?.(m, parts.rows)
  return [JSON.stringify({ _meta: m }), ...parts.rows]
}

/** Verify a file through the library (chunks of `chunkSize`, so lines cross chunks and kernel runs). */
export const verifyFile = (path: string, options: Verify.Options & { readonly chunkSize?: number | undefined }) =>
  Effect.runPromise(Verify.fileOutcome(path, options).pipe(Effect.provide(NodeFileSystem.layer)))

/** The report of a verdict that must be a success (a failure throws, naming it). */
export const report = (r: Either.Either<Verify.Report, Verify.VerifyError>): Verify.Report => {
  if (Either.isLeft(r)) throw new Error(`expected success, got ${r.left._tag}: ${r.left.message}`)
  return r.right
}

/** The error of a verdict that must be a failure (a success throws). */
export const failure = (r: Either.Either<Verify.Report, Verify.VerifyError>): Verify.VerifyError => {
  if (Either.isRight(r)) throw new Error("expected a failure, the input verified")
  return r.left
}
