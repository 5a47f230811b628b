/**
 * C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and the C2SP `tlog-checkpoint` body
 * they carry (FORMAT B.1–B.2).
 *
 * Key texts are the ones Go's `golang.org/x/mod/sumdb/note` writes, so other C2SP tools read our
 * key files and we read theirs:
 * - verifier key `<name>+<hash>+<base64(0x01 || 32-byte public key)>`
 * - signer key `PRIVATE+KEY+<name>+<hash>+<base64(0x01 || 32-byte seed)>`
 *
 * where `<hash>` (the key id of FORMAT B.1) is 8 hex digits: the first 4 bytes, big-endian, of
 * SHA-256(name || 0x0A || 0x01 || public key). Ed25519 runs on node:crypto; no dependency.
 *
 * Opening a note follows the spec's rules, and tells a caller apart the two outcomes an auditor must
 * not confuse: a note that is *tampered* (a known key's signature does not verify:
 * `NoteSignatureInvalid`; or the note is not well formed: `NoteMalformed`) and one that is merely
 * *untrusted* (well formed, but no signature from a key the caller knows: `NoteUnverified`, naming
 * the keys that did sign).
 *
 * @since 0.1.0
 * @internal
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign as edSign, verify as edVerify } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

/** Signature type byte of Ed25519 in the signed-note spec. */
const ALG_ED25519 = 0x01

/** DER prefixes that wrap a raw 32-byte Ed25519 seed (PKCS#8) or public key (SPKI) for node:crypto. */
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex")
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex")

/**
 * Most signature lines a note may carry. The spec asks verifiers to accept at least 16; Go's
 * reference stops at 100. A bound keeps a hostile note from costing unbounded verification work.
 */
const MAX_SIGNATURES = 100

/** The em dash and space that begin every signature line. */
const SIG_PREFIX = "\u2014 "

/**
 * A key text that cannot be used: which kind of key (`verifier` or `signer`) and why.
 *
 * @since 0.1.0
 * @category errors
 */
export class NoteKeyInvalid extends Schema.TaggedError<NoteKeyInvalid>()("NoteKeyInvalid", {
  kind: Schema.Literal("verifier", "signer"),
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid note ${this.kind} key: ${this.reason}`
  }
}

/**
 * A note that does not follow the signed-note format (so it cannot be opened at all), or a text
 * that cannot be signed.
 *
 * @since 0.1.0
 * @category errors
 */
export class NoteMalformed extends Schema.TaggedError<NoteMalformed>()("NoteMalformed", {
  reason: Schema.String
}) {
  override get message(): string {
    return `malformed signed note: ${this.reason}`
  }
}

/**
 * A signature by a key the caller trusts that does not verify over the note's text: the text (or
 * the signature) was changed after signing. This is tampering, never "unknown key".
 *
 * @since 0.1.0
 * @category errors
 */
export class NoteSignatureInvalid extends Schema.TaggedError<NoteSignatureInvalid>()("NoteSignatureInvalid", {
  // (not `name`: that is the tag an Error prints in front of its message)
  keyName: Schema.String,
  keyId: Schema.String
}) {
  override get message(): string {
    return `the signature of trusted key ${this.keyName}+${this.keyId} does not verify: the note was altered after signing`
  }
}

/**
 * A well-formed note with no signature from any trusted key: it may be genuine, but nobody the
 * caller trusts vouches for it. `signers` names the keys that did sign (`name+keyid`).
 *
 * @since 0.1.0
 * @category errors
 */
export class NoteUnverified extends Schema.TaggedError<NoteUnverified>()("NoteUnverified", {
  signers: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return this.signers.length === 0
      ? "the note carries no signature"
      : `the note is signed only by keys that are not trusted: ${this.signers.join(", ")}`
  }
}

/**
 * A checkpoint body (C2SP tlog-checkpoint) that breaks the format's rules, or values that cannot
 * be written as one.
 *
 * @since 0.1.0
 * @category errors
 */
export class CheckpointInvalid extends Schema.TaggedError<CheckpointInvalid>()("CheckpointInvalid", {
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid checkpoint: ${this.reason}`
  }
}

/**
 * A public key that checks signatures: its name, key hash (as a number and as the 8 lowercase hex
 * digits of its key text) and raw 32-byte Ed25519 public key.
 *
 * @since 0.1.0
 * @category models
 */
export interface Verifier {
  readonly name: string
  readonly keyHash: number
  readonly keyId: string
  readonly publicKey: Uint8Array
  /** Its verifier key text, `name+hash+base64`. */
  readonly text: string
  readonly verify: (message: Uint8Array, signature: Uint8Array) => boolean
}

/**
 * A private key that signs. The seed lives only in the `sign` closure: no property holds it, so
 * neither `util.inspect` nor `JSON.stringify` of a signer prints it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Signer {
  readonly name: string
  readonly keyHash: number
  readonly keyId: string
  /** The verifier that checks this signer's signatures. */
  readonly verifier: Verifier
  readonly sign: (message: Uint8Array) => Uint8Array
}

/**
 * A signature line's key: the name and key hash it claims.
 *
 * @since 0.1.0
 * @category models
 */
export interface SignatureRef {
  readonly name: string
  readonly keyHash: number
  readonly keyId: string
}

/**
 * An opened note: its text (the signed bytes, with their final newline), the trusted keys whose
 * signatures verified, and the signatures by keys the caller does not know (ignored, as the spec
 * asks, but reported).
 *
 * @since 0.1.0
 * @category models
 */
export interface OpenedNote {
  readonly text: string
  readonly verified: ReadonlyArray<SignatureRef>
  readonly unknown: ReadonlyArray<SignatureRef>
}

/**
 * Whether a key name is valid: non-empty, well-formed text, with no Unicode space and no '+'
 * (Go's `isValidName`: `unicode.IsSpace` is the White_Space property, which `\s` matches except
 * U+0085, added here).
 *
 * @since 0.1.0
 * @category names
 */
export const isValidName = (name: string): boolean =>
  name.length > 0 && name.isWellFormed() && !/[\s\u0085+]/u.test(name)

/** The 8 lowercase hex digits of a uint32. */
const hex8 = (n: number): string => n.toString(16).padStart(8, "0")

/** Key hash of a name and an encoded public key (type byte, then key bytes). */
const keyHashOf = (name: string, encodedKey: Uint8Array): number =>
  createHash("sha256").update(name, "utf8").update("\n").update(encodedKey).digest().readUInt32BE(0)

/**
 * Standard base64 (RFC 4648 §4, padded) decoded strictly: only canonical text is accepted, so one
 * byte string has exactly one spelling (node's decoder would skip unknown characters silently).
 */
const decodeBase64 = (text: string): Buffer | undefined => {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined
  const bytes = Buffer.from(text, "base64")
  return bytes.toString("base64") === text ? bytes : undefined
}

const publicKeyObject = (raw: Uint8Array): KeyObject =>
  createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" })

const makeVerifier = (name: string, raw: Uint8Array): Verifier => {
  const publicKey = Uint8Array.from(raw)
  const encoded = Buffer.concat([Buffer.of(ALG_ED25519), publicKey])
  const keyHash = keyHashOf(name, encoded)
  const key = publicKeyObject(publicKey)
  return {
    name,
    keyHash,
    keyId: hex8(keyHash),
    publicKey,
    text: `${name}+${hex8(keyHash)}+${encoded.toString("base64")}`,
    verify: (message, signature) => signature.length === 64 && edVerify(null, message, key, signature)
  }
}

/** The signer of a 32-byte seed; the seed is copied into the key object and not kept. */
const makeSigner = (name: string, seed: Uint8Array): Signer => {
  const der = Buffer.concat([PKCS8_PREFIX, seed])
  const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" })
  der.fill(0)
  const spki = createPublicKey(key).export({ format: "der", type: "spki" })
  const verifier = makeVerifier(name, spki.subarray(SPKI_PREFIX.length))
  return {
    name,
    keyHash: verifier.keyHash,
    keyId: verifier.keyId,
    verifier,
    sign: (message) => edSign(null, message, key)
  }
}

/**
 * Splits `name+hash+base64` (the base64 may itself hold '+', so only the first two count) and
 * checks the parts every key text shares.
 */
const splitKey = (
  kind: "verifier" | "signer",
  text: string
): Effect.Effect<{ readonly name: string; readonly hash: number; readonly key: Buffer }, NoteKeyInvalid> => {
  const fail = (reason: string) => Effect.fail(new NoteKeyInvalid({ kind, reason }))
  const a = text.indexOf("+")
  const b = a < 0 ? -1 : text.indexOf("+", a + 1)
  if (b < 0) return fail("expected name+hash+key")
  const name = text.slice(0, a)
  const hash16 = text.slice(a + 1, b)
  const key64 = text.slice(b + 1)
  // Neither part is quoted: in a text that is not a key (a passphrase given where a key belongs, a
  // signer key with its name left out) they may be key material, and reasons end up in logs.
  if (!isValidName(name)) return fail("the key name is empty or holds a space or '+'")
  if (!/^[0-9a-fA-F]{8}$/.test(hash16)) return fail("the key hash is not 8 hex digits")
  const key = decodeBase64(key64)
  if (key === undefined) return fail("the key is not canonical standard base64")
  if (key.length === 0 || key[0] !== ALG_ED25519) {
    return fail(`unsupported signature type ${key.length === 0 ? "(none)" : `0x${key[0]!.toString(16).padStart(2, "0")}`} (only 0x01, Ed25519)`)
  }
  if (key.length !== 33) return fail(`an Ed25519 key holds 32 bytes, this one ${key.length - 1}`)
  return Effect.succeed({ name, hash: Number.parseInt(hash16, 16), key: key.subarray(1) })
}

/**
 * Parses a verifier key text `name+hash+base64(0x01 || public key)`, checking that the stated hash
 * is the hash of that name and key.
 *
 * @since 0.1.0
 * @category keys
 */
export const parseVerifierKey = (text: string): Effect.Effect<Verifier, NoteKeyInvalid> =>
  Effect.flatMap(splitKey("verifier", text), ({ hash, key, name }) => {
    const verifier = makeVerifier(name, key)
    return verifier.keyHash === hash
      ? Effect.succeed(verifier)
      : Effect.fail(
        new NoteKeyInvalid({
          kind: "verifier",
          reason: `the key hash ${hex8(hash)} does not match the name and key (their hash is ${verifier.keyId})`
        })
      )
  })

/**
 * Parses a signer key text `PRIVATE+KEY+name+hash+base64(0x01 || seed)`, checking that the stated
 * hash is the hash of the name and the public key the seed derives.
 *
 * @since 0.1.0
 * @category keys
 */
export const parseSignerKey = (text: string): Effect.Effect<Signer, NoteKeyInvalid> => {
  if (!text.startsWith("PRIVATE+KEY+")) {
    return Effect.fail(new NoteKeyInvalid({ kind: "signer", reason: "a signer key starts with PRIVATE+KEY+" }))
  }
  // the reasons never quote the key material: they may end up in logs
  return Effect.flatMap(splitKey("signer", text.slice("PRIVATE+KEY+".length)), ({ hash, key, name }) => {
    const signer = makeSigner(name, key)
    key.fill(0)
    return signer.keyHash === hash
      ? Effect.succeed(signer)
      : Effect.fail(
        new NoteKeyInvalid({
          kind: "signer",
          reason: `the key hash ${hex8(hash)} does not match the name and the key's public half (their hash is ${signer.keyId})`
        })
      )
  })
}

/**
 * A new Ed25519 key pair for `name`, as its signer and verifier key texts. `seed` (32 bytes) makes
 * the pair deterministic, for tests; without it the seed comes from the system's CSPRNG.
 *
 * @since 0.1.0
 * @category keys
 */
export const generate = (
  name: string,
  options?: { readonly seed?: Uint8Array | undefined } | undefined
): Effect.Effect<{ readonly signerKey: string; readonly verifierKey: string }, NoteKeyInvalid> =>
  Effect.suspend(() => {
    if (!isValidName(name)) {
      return Effect.fail(
        new NoteKeyInvalid({ kind: "signer", reason: `the key name ${JSON.stringify(name)} is empty or holds a space or '+'` })
      )
    }
    const seed = options?.seed !== undefined ? Buffer.from(options.seed) : randomBytes(32)
    if (seed.length !== 32) {
      return Effect.fail(new NoteKeyInvalid({ kind: "signer", reason: `an Ed25519 seed holds 32 bytes, this one ${seed.length}` }))
    }
    const signer = makeSigner(name, seed)
    const encoded = Buffer.concat([Buffer.of(ALG_ED25519), seed])
    const signerKey = `PRIVATE+KEY+${name}+${signer.keyId}+${encoded.toString("base64")}`
    encoded.fill(0)
    seed.fill(0)
    return Effect.succeed({ signerKey, verifierKey: signer.verifier.text })
  })

/**
 * Why a text cannot be part of a note, if it cannot: signed notes are well-formed UTF-8 with no
 * ASCII control character other than newline.
 */
const badCharacters = (text: string): string | undefined => {
  if (!text.isWellFormed()) return "it is not well-formed UTF-16 text (a lone surrogate)"
  const m = /[\u0000-\u0009\u000b-\u001f]/.exec(text)
  return m === null ? undefined : `it holds the control character U+${m[0].charCodeAt(0).toString(16).padStart(4, "0")} at ${m.index}`
}

/**
 * Signs `text` (which must end in a newline) with every signer: the text, a blank line, then one
 * line per signer `— <name> <base64(4-byte key hash || 64-byte signature)>`.
 *
 * @since 0.1.0
 * @category notes
 */
export const sign = (text: string, signers: ReadonlyArray<Signer>): Effect.Effect<string, NoteMalformed> =>
  Effect.suspend(() => {
    if (!text.endsWith("\n")) return Effect.fail(new NoteMalformed({ reason: "the text does not end in a newline" }))
    const bad = badCharacters(text)
    if (bad !== undefined) return Effect.fail(new NoteMalformed({ reason: `the text cannot be signed: ${bad}` }))
    if (signers.length === 0) return Effect.fail(new NoteMalformed({ reason: "a note needs at least one signer" }))
    if (signers.length > MAX_SIGNATURES) {
      return Effect.fail(new NoteMalformed({ reason: `more than ${MAX_SIGNATURES} signers` }))
    }
    const message = Buffer.from(text, "utf8")
    let out = text + "\n"
    for (const s of signers) {
      const blob = Buffer.alloc(4 + 64)
      blob.writeUInt32BE(s.keyHash, 0)
      blob.set(s.sign(message), 4)
      out += `${SIG_PREFIX}${s.name} ${blob.toString("base64")}\n`
    }
    return Effect.succeed(out)
  })

/**
 * Every way `open` can refuse a note.
 *
 * @since 0.1.0
 * @category errors
 */
export type OpenError = NoteMalformed | NoteSignatureInvalid | NoteUnverified | NoteKeyInvalid

/**
 * A note read against the trusted keys, its signatures not yet checked (see `read`): its text,
 * the trusted keys that claim to have signed it (by name and key hash, each once), the signature
 * lines of other keys, and every signature line of a trusted key (repeats included), to check.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadNote {
  readonly text: string
  readonly signers: ReadonlyArray<SignatureRef>
  readonly unknown: ReadonlyArray<SignatureRef>
  readonly lines: ReadonlyArray<{ readonly verifier: Verifier; readonly signature: Uint8Array }>
}

/** A caller's verifiers by `name+keyid`, or why two of them cannot be told apart. */
const keyring = (verifiers: ReadonlyArray<Verifier>): Map<string, Verifier> | NoteKeyInvalid => {
  const known = new Map<string, Verifier>()
  for (const v of verifiers) {
    const id = `${v.name}+${v.keyId}`
    const other = known.get(id)
    if (other !== undefined && Buffer.compare(other.publicKey, v.publicKey) !== 0) {
      return new NoteKeyInvalid({ kind: "verifier", reason: `two trusted keys are both ${id}: a signature by either cannot be told apart` })
    }
    known.set(id, v)
  }
  return known
}

/**
 * The one reading of a note behind `open` and `read`: with `check`, each trusted signature is
 * verified where its line stands (the order `open` reports problems in); without, the trusted
 * lines are kept for `verifySignatures`.
 */
const scan = (note: string, verifiers: ReadonlyArray<Verifier>, check: boolean): ReadNote | OpenError => {
  const malformed = (reason: string) => new NoteMalformed({ reason })
  const known = keyring(verifiers)
  if (known instanceof NoteKeyInvalid) return known
  const bad = badCharacters(note)
  if (bad !== undefined) return malformed(bad)
  const split = note.lastIndexOf("\n\n")
  if (split < 0) return malformed("no blank line before the signatures")
  const text = note.slice(0, split + 1)
  const block = note.slice(split + 2)
  if (block.length === 0) return malformed("no signature line after the blank line")
  if (!block.endsWith("\n")) return malformed("the last signature line does not end in a newline")
  const lines = block.slice(0, -1).split("\n")
  if (lines.length > MAX_SIGNATURES) return malformed(`more than ${MAX_SIGNATURES} signature lines`)
  const message = check ? Buffer.from(text, "utf8") : undefined
  const signers: Array<SignatureRef> = []
  const unknown: Array<SignatureRef> = []
  const trusted: Array<{ readonly verifier: Verifier; readonly signature: Uint8Array }> = []
  const seenKnown = new Set<string>()
  const seenUnknown = new Set<string>()
  for (const [i, line] of lines.entries()) {
    const where = `signature line ${i + 1}`
    if (!line.startsWith(SIG_PREFIX)) return malformed(`${where} does not start with an em dash and a space`)
    const rest = line.slice(SIG_PREFIX.length)
    const space = rest.indexOf(" ")
    if (space < 0) return malformed(`${where} has no space between key name and signature`)
    const name = rest.slice(0, space)
    const b64 = rest.slice(space + 1)
    if (!isValidName(name)) return malformed(`${where} names no valid key (${JSON.stringify(name)})`)
    const blob = decodeBase64(b64)
    if (blob === undefined || blob.length < 5) return malformed(`${where} does not hold a canonical base64 key hash and signature`)
    const keyHash = blob.readUInt32BE(0)
    const ref: SignatureRef = { name, keyHash, keyId: hex8(keyHash) }
    const id = `${name}+${ref.keyId}`
    const v = known.get(id)
    if (v === undefined) {
      if (!seenUnknown.has(id)) {
        seenUnknown.add(id)
        unknown.push(ref)
      }
      continue
    }
    // Every line of a trusted key is checked, repeats included (the spec: verifiers MUST verify
    // it; Go's reference checks only the first): a forged extra line is tampering, not noise.
    if (message !== undefined) {
      if (!v.verify(message, blob.subarray(4))) return new NoteSignatureInvalid({ keyName: name, keyId: ref.keyId })
    } else {
      trusted.push({ verifier: v, signature: blob.subarray(4) })
    }
    if (seenKnown.has(id)) continue
    seenKnown.add(id)
    signers.push(ref)
  }
  // (with `check`, a trusted signature that does not verify has ended the scan: none is unverified
  // unless no trusted key signed at all, which is decided here alike for both)
  if (signers.length === 0) return new NoteUnverified({ signers: unknown.map((r) => `${r.name}+${r.keyId}`) })
  return { text, signers, unknown, lines: trusted }
}

const isOpenError = (x: ReadNote | OpenError): x is OpenError => "_tag" in x

/**
 * Reads a signed note against the trusted `verifiers` by the rules of `open`, except that no
 * signature is verified yet: a note that is not well formed (`NoteMalformed`), that no trusted key
 * claims to have signed (`NoteUnverified`), or two trusted keys that cannot be told apart
 * (`NoteKeyInvalid`) are found here; `verifySignatures` then does the Ed25519 work. `open` is
 * both in one, except that it reports what it meets first: a note with a trusted signature that
 * does not verify and, after it, a malformed line is `NoteSignatureInvalid` there, `NoteMalformed`
 * here. For a caller that decides when a signature must be checked (a verifier whose later
 * signed checkpoint covers an earlier one), and runs synchronously: no Effect per note.
 *
 * @since 0.1.0
 * @category notes
 */
export const read = (note: string, verifiers: ReadonlyArray<Verifier>): Either.Either<ReadNote, NoteMalformed | NoteUnverified | NoteKeyInvalid> => {
  const r = scan(note, verifiers, false)
  return isOpenError(r) ? Either.left(r as NoteMalformed | NoteUnverified | NoteKeyInvalid) : Either.right(r)
}

/**
 * Verifies every trusted signature line of a note `read` returned, in order: `undefined` when all
 * hold, else the first that does not (`NoteSignatureInvalid`, tampering).
 *
 * @since 0.1.0
 * @category notes
 */
export const verifySignatures = (note: ReadNote): NoteSignatureInvalid | undefined => {
  if (note.lines.length === 0) return undefined
  const message = Buffer.from(note.text, "utf8")
  for (const { signature, verifier } of note.lines) {
    if (!verifier.verify(message, signature)) return new NoteSignatureInvalid({ keyName: verifier.name, keyId: verifier.keyId })
  }
  return undefined
}

/**
 * `open`, synchronously: the opened note, or why it cannot be opened.
 *
 * @since 0.1.0
 * @category notes
 */
export const openSync = (note: string, verifiers: ReadonlyArray<Verifier>): Either.Either<OpenedNote, OpenError> => {
  const r = scan(note, verifiers, true)
  return isOpenError(r) ? Either.left(r) : Either.right({ text: r.text, verified: r.signers, unknown: r.unknown })
}

/**
 * Opens a signed note against the trusted `verifiers`, by the spec's rules:
 * - the note must be well formed (`NoteMalformed`): valid text without control characters other
 *   than newline, a text ending in a newline, a blank line, then only signature lines, each
 *   `— <valid name> <canonical base64 of at least 5 bytes>` and at most 100 of them;
 * - every signature whose name and key hash match a trusted key must verify over the text, or the
 *   whole note is rejected (`NoteSignatureInvalid`): a changed text fails here;
 * - signatures from other keys are ignored (even if they share the name or the hash, not both, with
 *   a trusted key) and reported in `unknown`; a key signing twice is listed once;
 * - at least one trusted signature must verify, or the note is `NoteUnverified` (untrusted, not
 *   tampered), naming its signers.
 *
 * Two trusted keys with the same name and hash cannot be told apart: that is `NoteKeyInvalid`.
 *
 * @since 0.1.0
 * @category notes
 */
export const open = (
  note: string,
  verifiers: ReadonlyArray<Verifier>
): Effect.Effect<OpenedNote, OpenError> => Effect.suspend(() => openSync(note, verifiers))

/**
 * A transparency log checkpoint (C2SP tlog-checkpoint): the log's origin, its tree size, the
 * RFC 6962 root hash at that size (32 bytes), and optional extension lines (ours carries the hex
 * chain head, FORMAT B.2).
 *
 * @since 0.1.0
 * @category models
 */
export interface Checkpoint {
  readonly origin: string
  readonly size: number
  readonly root: Uint8Array
  readonly extensions: ReadonlyArray<string>
}

/** Why a checkpoint line is unusable, if it is (shared by format and parse). */
const lineProblem = (what: string, line: string): string | undefined => {
  if (line.length === 0) return `the ${what} is empty`
  if (line.includes("\n")) return `the ${what} holds a newline`
  const bad = badCharacters(line)
  return bad === undefined ? undefined : `the ${what} cannot be part of a note: ${bad}`
}

/**
 * Writes a checkpoint body: `origin\n<size>\n<base64 root>\n`, then one line per extension.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const formatCheckpoint = (checkpoint: Checkpoint): Effect.Effect<string, CheckpointInvalid> =>
  Effect.suspend(() => {
    const fail = (reason: string) => Effect.fail(new CheckpointInvalid({ reason }))
    const originProblem = lineProblem("origin", checkpoint.origin)
    if (originProblem !== undefined) return fail(originProblem)
    if (!Number.isSafeInteger(checkpoint.size) || checkpoint.size < 0) {
      return fail(`the tree size ${checkpoint.size} is not a whole number from 0 to 2^53-1`)
    }
    if (checkpoint.root.length !== 32) return fail(`the root hash holds ${checkpoint.root.length} bytes, not 32`)
    for (const [i, ext] of checkpoint.extensions.entries()) {
      const p = lineProblem(`extension line ${i + 1}`, ext)
      if (p !== undefined) return fail(p)
    }
    const lines = [checkpoint.origin, String(checkpoint.size), Buffer.from(checkpoint.root).toString("base64"), ...checkpoint.extensions]
    return Effect.succeed(lines.join("\n") + "\n")
  })

/**
 * Reads a checkpoint body (a note's text, final newline included) strictly: at least three
 * non-empty lines, each ending in a newline; a tree size in decimal without a leading zero (or `0`)
 * and at most 2^53-1; a root in canonical base64 of exactly 32 bytes; extension lines non-empty.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const parseCheckpoint = (text: string): Effect.Effect<Checkpoint, CheckpointInvalid> =>
  Effect.suspend(() => parseCheckpointSync(text))

/**
 * `parseCheckpoint`, synchronously.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const parseCheckpointSync = (text: string): Either.Either<Checkpoint, CheckpointInvalid> => {
  const fail = (reason: string) => Either.left(new CheckpointInvalid({ reason }))
  if (!text.endsWith("\n")) return fail("the body does not end in a newline")
  const lines = text.slice(0, -1).split("\n")
  if (lines.length < 3) return fail(`the body has ${lines.length} line(s), a checkpoint needs origin, size and root`)
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...Array<string>]
  const originProblem = lineProblem("origin", origin)
  if (originProblem !== undefined) return fail(originProblem)
  if (!/^(0|[1-9][0-9]*)$/.test(size)) return fail(`the tree size ${JSON.stringify(size)} is not decimal without leading zeros`)
  const n = Number(size)
  if (!Number.isSafeInteger(n)) return fail(`the tree size ${size} is larger than 2^53-1`)
  const bytes = decodeBase64(root)
  if (bytes === undefined) return fail("the root hash is not canonical standard base64")
  if (bytes.length !== 32) return fail(`the root hash holds ${bytes.length} bytes, not 32`)
  for (const [i, ext] of extensions.entries()) {
    const p = lineProblem(`extension line ${i + 1}`, ext)
    if (p !== undefined) return fail(p)
  }
  return Either.right({ origin, size: n, root: Uint8Array.from(bytes), extensions })
}
